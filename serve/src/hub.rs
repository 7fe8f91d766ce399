//! The real-time driver: each node on a task of its own, fed in order, and
//! the faults a person starts while the server runs (`control`).
//!
//! This mirrors `sim/world`'s driver with real time instead of simulated time.
//! A node's task owns the node; it feeds it every message and broken connection
//! from its inbox, calls `on_tick` when `next_deadline_ms` comes, checks
//! `invariants()` after every handler, and carries out the effects. It makes no
//! protocol decision.
//!
//! Crashes are the simulator's: a crashed node's task drops the node and
//! keeps only its disk (`into_disk`); every other node hears that its
//! connection to it broke, the clients' connections to it close, and what is
//! sent to it is lost, as bytes sent to a dead process are. A restart builds a
//! new node, a new incarnation, from the disk after the crash kind has taken
//! its share (`Disk::crash`): the model's own recovery, as in simulation.
//! An isolated node's links to the other nodes stall, as a cut link does in
//! the simulator: what is sent over them waits, in order, for the heal. A
//! split stalls the links between its minority of brokers and every other
//! server, and a flaky link stalls and flows by turns (`control` times it).
//!
//! A slow network delays every message by its extra milliseconds of real
//! time, stamped when the message is sent, as the simulator draws a
//! message's latency when it is sent: between nodes, and between a client
//! connection and its broker (a client's request and its disconnect enter
//! the hub through `client_sends` and `client_closed`; the broker's answer
//! leaves it through the connection's reply channel). Each direction of
//! each link is one queue (`Links::in_flight`), so nothing overtakes what
//! was sent before it on the same link, as TCP keeps a connection's bytes
//! in order: a message sent after the heal waits behind one sent during
//! the slow network, and a crashed node's broken connection is heard after
//! what it sent before it died. One task (`carry_in_flight`) delivers each
//! item when it is due; with no slow network on and nothing queued a
//! message goes straight to its inbox, as before.
//!
//! Simplification: the controller and the brokers live in one process, so the
//! connections between them are in-process channels (order kept per pair, as
//! TCP keeps it), not sockets; Kafka runs them over TCP. A node's link to each
//! other node counts as one connection per incarnation of the sender, so an
//! answer to a request of a crashed incarnation never reaches the next one.
//! Only clients come in over real TCP (`connection`). A node that panics takes
//! the server down, as a bug should.

use kafkasim::controller::Controller;
use kafkasim::disk::{CrashKind, Disk, PageCache};
use kafkasim::event::ClusterEvent;
use kafkasim::ids::{BrokerId, NodeId};
use kafkasim::metadata::MetadataImage;
use kafkasim::node::{Effect, Node, Peer};
use kafkasim::protocol::Message;
use kafkasim_check::invariants::Invariants;
use kafkasim_check::Finding;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

/// What reaches a node's task.
#[derive(Debug)]
pub(crate) enum Inbound {
    Message {
        from: Peer,
        message: Message,
    },
    /// The connection to or from this peer broke.
    Disconnect(NodeId),
}

/// A node's inbox. Unbounded, as the madsim driver's: a node never waits on
/// another node, so two nodes sending to each other cannot deadlock. What
/// bounds it is that each client connection has at most one request in
/// flight (see `connection`) and the nodes' own bounded retries.
pub(crate) type Inbox = mpsc::UnboundedSender<Inbound>;

/// What the fault controls tell a node's task, ahead of its inbox.
#[derive(Debug)]
pub(crate) enum Control {
    /// The process dies; `kind` decides what its disk keeps at the restart
    /// (of several crashes while down, the one that takes most).
    Crash {
        kind: CrashKind,
        at_ms: u64,
    },
    /// Start again from the disk. Nothing happens to a node that is up.
    Restart,
    /// The controller's metadata image now, to resolve a role (`leader of
    /// orders-0`); a broker or a down controller answers nothing.
    Image(oneshot::Sender<MetadataImage>),
    /// The server is stopping: hand over what the node holds, and end.
    Stop(oneshot::Sender<Stopped>),
    /// Stop the world (a long GC pause, a stalled VM): no message is handled
    /// and no timer fires until `Resume`; what arrives waits, in order.
    Pause,
    Resume,
}

/// What a node left when the server stopped.
#[derive(Debug)]
pub(crate) struct Stopped {
    /// Its disk, or `None` when its process was down (as the simulator, the
    /// end of a run reads no log of a down broker).
    pub(crate) disk: Option<Disk>,
    /// The controller's metadata image; `None` for a broker or a down controller.
    pub(crate) image: Option<MetadataImage>,
}

/// What a node is made of, besides `Node`: its disk, and what a role is
/// resolved against.
pub(crate) trait Server: Node<Event = ClusterEvent> + Send + 'static {
    fn into_disk(self) -> Disk;
    fn image(&self) -> Option<MetadataImage> {
        None
    }
}

impl Server for kafkasim::broker::Broker {
    fn into_disk(self) -> Disk {
        kafkasim::broker::Broker::into_disk(self)
    }
}

impl Server for Controller {
    fn into_disk(self) -> Disk {
        Controller::into_disk(self)
    }
    fn image(&self) -> Option<MetadataImage> {
        Some(Controller::image(self).clone())
    }
}

/// What the driver itself tells the timeline, beside the nodes' events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverEvent {
    /// A node's process went down.
    Crashed { node: NodeId, kind: CrashKind },
    /// A node started again from its disk, as incarnation `incarnation`.
    Restarted { node: NodeId, incarnation: u64 },
    /// A restarted broker could not listen on its port again (something
    /// else took it while the broker was down): the broker runs, reached by
    /// the other servers but by no client, and the port is tried again
    /// every `RELISTEN_EVERY` until it is free.
    ListenFailed {
        broker: BrokerId,
        addr: SocketAddr,
        error: std::io::ErrorKind,
    },
    /// A broker listens on its port again, after `ListenFailed`.
    ListeningAgain { broker: BrokerId, addr: SocketAddr },
}

/// Everything the timeline hears: the nodes' events and the driver's.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Cluster(ClusterEvent),
    Driver(DriverEvent),
    /// A fault started or ended through the controls: its line, made there.
    Fault(String),
}

/// Where every event goes: the timeline's channel and, on the way, the
/// replica and group invariants of `kafkasim-check`, fed every node event and
/// every broker restart as the simulator's trace feeds them. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Events {
    timeline: mpsc::UnboundedSender<(u64, Event)>,
    /// A std Mutex: nothing awaits while it is held.
    invariants: Arc<Mutex<Invariants>>,
}

impl Events {
    pub(crate) fn new() -> (Events, mpsc::UnboundedReceiver<(u64, Event)>) {
        let (timeline, rx) = mpsc::unbounded_channel();
        let invariants = Arc::default();
        (
            Events {
                timeline,
                invariants,
            },
            rx,
        )
    }

    /// Checks `event` against the invariants, then puts it on the timeline.
    pub(crate) fn send(&self, at_ms: u64, event: Event) {
        {
            let mut invariants = self.invariants.lock().expect("no task panics holding it");
            match &event {
                Event::Cluster(event) => invariants.observe(at_ms, event),
                Event::Driver(DriverEvent::Restarted {
                    node: NodeId::Broker(broker),
                    ..
                }) => invariants.restarted(*broker),
                _ => {}
            }
        }
        // Nobody reading the timeline (a test that only stops the server) is fine.
        let _ = self.timeline.send((at_ms, event));
    }

    /// The invariants' violations so far.
    pub(crate) fn violations(&self) -> Vec<Finding> {
        let invariants = self.invariants.lock().expect("no task panics holding it");
        invariants.violations()
    }
}

/// One node's place in the routes: its inbox, its controls, whether it is up.
pub(crate) struct Slot {
    inbox: Inbox,
    pub(crate) control: mpsc::UnboundedSender<Control>,
    /// Whether the node's process runs; a connection closes when it turns false.
    pub(crate) up: watch::Sender<bool>,
    /// Its incarnation now: the connection id of its links (see the header).
    incarnation: AtomicU64,
}

/// The links between nodes as the faults left them: who is isolated, which
/// directions of which links are cut (`link-cut` cuts both, `one-way` one;
/// each fault counted, so two must both heal), the splits and flaky links
/// on, how much slower the slow networks make every message, what waits on
/// a cut link, and what is on its way on a slowed one.
#[derive(Default)]
struct Links {
    isolated: BTreeMap<NodeId, u32>,
    directed: BTreeMap<(NodeId, NodeId), u32>,
    /// The minority of each split on: cut from every server outside it.
    splits: Vec<BTreeSet<NodeId>>,
    /// The flaky links on, by id: each a link (in `NodeId` order) and
    /// whether it is clogged now.
    flaky: BTreeMap<u64, ((NodeId, NodeId), bool)>,
    next_flaky: u64,
    /// The extra delay of each slow network on, in ms: they add up.
    slow: Vec<u64>,
    held: BTreeMap<(NodeId, NodeId), Vec<Held>>,
    /// What each link carries and has not yet delivered, in the order sent,
    /// each item due no earlier than the one before it.
    in_flight: BTreeMap<(NodeId, NodeId), VecDeque<InFlight>>,
}

/// A message waiting on a cut link, for the incarnation it was sent to.
struct Held {
    incarnation: u64,
    from: Peer,
    message: Message,
}

/// What a slowed link carries: due to arrive at `due`, at `to`.
struct InFlight {
    due: Instant,
    to: Destination,
    inbound: Inbound,
}

/// Where something sent on a link arrives.
#[derive(Debug, Clone, Copy)]
enum Destination {
    /// A node, only while it is the incarnation it was sent to: what was
    /// sent to a process that died since is lost with it.
    Node { node: NodeId, incarnation: u64 },
    /// A client connection, while it is open.
    Client { connection: u64 },
}

impl Links {
    /// Whether what server `a` sends server `b` waits. Clients are never cut
    /// here (`client-cut` holds a connection in `connection`).
    fn cut(&self, a: NodeId, b: NodeId) -> bool {
        if matches!(a, NodeId::Client(_)) || matches!(b, NodeId::Client(_)) {
            return false;
        }
        let link = (a.min(b), a.max(b));
        self.isolated.contains_key(&a)
            || self.isolated.contains_key(&b)
            || self.directed.contains_key(&(a, b))
            || (self.splits.iter()).any(|minority| minority.contains(&a) != minority.contains(&b))
            || (self.flaky.values()).any(|&(flaky, clogged)| clogged && flaky == link)
    }

    /// How much later than sent every message arrives now.
    fn extra(&self) -> Duration {
        Duration::from_millis(self.slow.iter().sum())
    }
}

/// Takes back one count of `key` in `counts`; whether there was one.
fn take_back<K: Ord>(counts: &mut BTreeMap<K, u32>, key: K) -> bool {
    match counts.get_mut(&key) {
        None => return false,
        Some(1) => {
            counts.remove(&key);
        }
        Some(n) => *n -= 1,
    }
    true
}

/// One client connection: where its answers go, and whether a `client-cut`
/// holds its traffic (`connection` waits on it before passing a request on
/// and before writing an answer).
pub(crate) struct ClientLink {
    replies: mpsc::UnboundedSender<Message>,
    broker: BrokerId,
    peer: Option<SocketAddr>,
    cut: watch::Sender<bool>,
}

/// An open client connection, as `clients` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub connection: u64,
    pub broker: BrokerId,
    pub peer: Option<SocketAddr>,
    pub cut: bool,
}

/// Where every message goes: the nodes' inboxes and the client connections'.
pub(crate) struct Routes {
    nodes: BTreeMap<NodeId, Slot>,
    /// A std Mutex, not a tokio one: nothing awaits while it is held. Taken
    /// after `links` when both are.
    clients: Mutex<BTreeMap<u64, ClientLink>>,
    links: Mutex<Links>,
    paused: Mutex<BTreeSet<NodeId>>,
    /// Wakes `carry_in_flight` when a slowed link gets something to carry.
    wake: Notify,
}

impl Routes {
    /// The routes to `nodes`, each up, and each one's control receiver.
    pub(crate) fn new(
        nodes: BTreeMap<NodeId, Inbox>,
    ) -> (Routes, BTreeMap<NodeId, mpsc::UnboundedReceiver<Control>>) {
        let mut controls = BTreeMap::new();
        let nodes = nodes
            .into_iter()
            .map(|(node, inbox)| {
                let (control, rx) = mpsc::unbounded_channel();
                controls.insert(node, rx);
                let slot = Slot {
                    inbox,
                    control,
                    up: watch::Sender::new(true),
                    incarnation: AtomicU64::new(1),
                };
                (node, slot)
            })
            .collect();
        let routes = Routes {
            nodes,
            clients: Mutex::new(BTreeMap::new()),
            links: Mutex::default(),
            paused: Mutex::default(),
            wake: Notify::new(),
        };
        (routes, controls)
    }

    /// Every node, the controller first.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.keys().copied()
    }

    pub(crate) fn slot(&self, node: NodeId) -> Option<&Slot> {
        self.nodes.get(&node)
    }

    /// Registers a client connection to `broker`; the receiver says whether
    /// its traffic is cut.
    pub(crate) fn add_client(
        &self,
        connection: u64,
        broker: BrokerId,
        peer: Option<SocketAddr>,
        replies: mpsc::UnboundedSender<Message>,
    ) -> watch::Receiver<bool> {
        let (cut, cut_rx) = watch::channel(false);
        let link = ClientLink {
            replies,
            broker,
            peer,
            cut,
        };
        let mut clients = self.clients.lock().expect("no task panics holding it");
        clients.insert(connection, link);
        cut_rx
    }

    /// The open client connections, in order.
    pub(crate) fn clients(&self) -> Vec<ClientInfo> {
        let clients = self.clients.lock().expect("no task panics holding it");
        (clients.iter())
            .map(|(&connection, link)| ClientInfo {
                connection,
                broker: link.broker,
                peer: link.peer,
                cut: *link.cut.borrow(),
            })
            .collect()
    }

    /// Holds (`true`) or lets flow again (`false`) the traffic of client
    /// connection `connection`; the broker it is connected to, or why not.
    pub(crate) fn set_client_cut(&self, connection: u64, cut: bool) -> Option<BrokerId> {
        let clients = self.clients.lock().expect("no task panics holding it");
        let link = clients.get(&connection)?;
        link.cut.send_replace(cut);
        Some(link.broker)
    }

    pub(crate) fn remove_client(&self, connection: u64) {
        let mut clients = self.clients.lock().expect("no task panics holding it");
        clients.remove(&connection);
    }

    /// Client connection `connection` sends `message` to `broker`, on its
    /// link; whether the broker's task still runs.
    pub(crate) fn client_sends(&self, connection: u64, broker: BrokerId, message: Message) -> bool {
        let client = NodeId::Client(connection as u32);
        let from = Peer {
            node: client,
            connection,
        };
        let inbound = Inbound::Message { from, message };
        self.send_from_client(client, broker, inbound)
    }

    /// Client connection `connection` to `broker` closed: the broker hears
    /// it after whatever the connection sent before.
    pub(crate) fn client_closed(&self, connection: u64, broker: BrokerId) {
        let client = NodeId::Client(connection as u32);
        self.send_from_client(client, broker, Inbound::Disconnect(client));
    }

    fn send_from_client(&self, client: NodeId, broker: BrokerId, inbound: Inbound) -> bool {
        let node = NodeId::Broker(broker);
        let Some(slot) = self.nodes.get(&node) else {
            return false;
        };
        let to = Destination::Node {
            node,
            incarnation: slot.incarnation.load(Ordering::Relaxed),
        };
        let slowed = matches!(inbound, Inbound::Message { .. });
        self.send(client, node, to, inbound, slowed);
        !slot.inbox.is_closed()
    }

    /// Delivers `message` from `from` to `to`; a gone peer's messages are
    /// dropped, as bytes written to a closed socket are, and an answer to a
    /// past incarnation of a node with it; on a slowed link they take longer,
    /// and on a cut link they wait.
    fn deliver(&self, from: NodeId, to: Peer, message: Message) {
        let destination = match to.node {
            NodeId::Client(_) => Destination::Client {
                connection: to.connection,
            },
            node => {
                let Some(slot) = self.nodes.get(&node) else {
                    return;
                };
                let incarnation = slot.incarnation.load(Ordering::Relaxed);
                let is_reply = matches!(message, Message::Response { .. });
                if is_reply && to.connection != incarnation {
                    return;
                }
                Destination::Node { node, incarnation }
            }
        };
        let sender = Peer {
            node: from,
            connection: self.nodes[&from].incarnation.load(Ordering::Relaxed),
        };
        let inbound = Inbound::Message {
            from: sender,
            message,
        };
        self.send(from, to.node, destination, inbound, true);
    }

    /// Puts `inbound` on the link from `from` to `to`: late by the slow
    /// networks' extra delay when `slowed`, and in any case behind what the
    /// link carries already, as one TCP connection keeps its bytes in order.
    fn send(&self, from: NodeId, to: NodeId, at: Destination, inbound: Inbound, slowed: bool) {
        let mut links = self.links.lock().expect("no task panics holding it");
        if self.send_locked(&mut links, (from, to), at, inbound, slowed) {
            self.wake.notify_one();
        }
    }

    /// `send`, under the lock; whether something now waits to be carried.
    fn send_locked(
        &self,
        links: &mut Links,
        link: (NodeId, NodeId),
        to: Destination,
        inbound: Inbound,
        slowed: bool,
    ) -> bool {
        let extra = match slowed {
            true => links.extra(),
            false => Duration::ZERO,
        };
        if extra.is_zero() && !links.in_flight.contains_key(&link) {
            self.arrive(links, link.0, to, inbound);
            return false;
        }
        let queue = links.in_flight.entry(link).or_default();
        let mut due = Instant::now() + extra;
        if let Some(last) = queue.back() {
            due = due.max(last.due);
        }
        queue.push_back(InFlight { due, to, inbound });
        true
    }

    /// `inbound`, sent by `from`, reaches `to`: a node's inbox, unless the
    /// link is cut (then it waits there) or the node has restarted since it
    /// was sent; or a client connection, if it is still open.
    fn arrive(&self, links: &mut Links, from: NodeId, to: Destination, inbound: Inbound) {
        match to {
            Destination::Client { connection } => {
                // Nodes send a client only messages; it hears no disconnect.
                let Inbound::Message { message, .. } = inbound else {
                    return;
                };
                let clients = self.clients.lock().expect("no task panics holding it");
                if let Some(link) = clients.get(&connection) {
                    let _ = link.replies.send(message);
                }
            }
            Destination::Node { node, incarnation } => {
                let slot = &self.nodes[&node];
                if slot.incarnation.load(Ordering::Relaxed) != incarnation {
                    return;
                }
                match inbound {
                    Inbound::Message {
                        from: sender,
                        message,
                    } if links.cut(from, node) => {
                        let held = Held {
                            incarnation,
                            from: sender,
                            message,
                        };
                        links.held.entry((from, node)).or_default().push(held);
                    }
                    inbound => {
                        let _ = slot.inbox.send(inbound);
                    }
                }
            }
        }
    }

    /// Carries what the slowed links hold, each item when it is due, for as
    /// long as the server runs.
    pub(crate) async fn carry_in_flight(self: Arc<Self>) {
        loop {
            let next = self.arrive_due(Instant::now());
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Delivers, link by link and in order, what is due by `now`; when the
    /// next item is due.
    fn arrive_due(&self, now: Instant) -> Option<Instant> {
        let mut links = self.links.lock().expect("no task panics holding it");
        let mut next: Option<Instant> = None;
        let carrying: Vec<(NodeId, NodeId)> = links.in_flight.keys().copied().collect();
        for link in carrying {
            loop {
                let queue = links.in_flight.get_mut(&link).expect("listed above");
                match queue.front() {
                    None => {
                        links.in_flight.remove(&link);
                        break;
                    }
                    Some(first) if first.due > now => {
                        next = Some(next.map_or(first.due, |n| n.min(first.due)));
                        break;
                    }
                    Some(_) => {
                        let first = queue.pop_front().expect("seen above");
                        self.arrive(&mut links, link.0, first.to, first.inbound);
                    }
                }
            }
        }
        next
    }

    /// `node` crashed: the other nodes' connections to it break (each after
    /// what it sent them before), and what waited on a cut link or was on
    /// its way to it is lost with it.
    fn crashed(&self, node: NodeId) {
        self.set_paused(node, false);
        let mut links = self.links.lock().expect("no task panics holding it");
        links.held.retain(|&(_, to), _| to != node);
        for queue in links.in_flight.values_mut() {
            queue.retain(|f| !matches!(f.to, Destination::Node { node: n, .. } if n == node));
        }
        let mut carrying = false;
        for (&other, slot) in &self.nodes {
            if other != node {
                let to = Destination::Node {
                    node: other,
                    incarnation: slot.incarnation.load(Ordering::Relaxed),
                };
                let disconnect = Inbound::Disconnect(node);
                carrying |= self.send_locked(&mut links, (node, other), to, disconnect, false);
            }
        }
        if carrying {
            self.wake.notify_one();
        }
    }

    /// Cuts `node` off from every other node (`true`) or takes back one such
    /// cut (`false`); a link whose cuts are all healed delivers what waited on
    /// it, in order. Whether anything changed.
    pub(crate) fn set_isolated(&self, node: NodeId, isolated: bool) -> bool {
        let mut links = self.links.lock().expect("no task panics holding it");
        if isolated {
            *links.isolated.entry(node).or_default() += 1;
            return true;
        }
        let changed = take_back(&mut links.isolated, node);
        self.release(&mut links);
        changed
    }

    /// Cuts what `from` sends `to` (`true`) or takes back one such cut
    /// (`false`), as `set_isolated` does for a whole node. Whether anything
    /// changed.
    pub(crate) fn set_direction_cut(&self, from: NodeId, to: NodeId, cut: bool) -> bool {
        let mut links = self.links.lock().expect("no task panics holding it");
        if cut {
            *links.directed.entry((from, to)).or_default() += 1;
            return true;
        }
        let changed = take_back(&mut links.directed, (from, to));
        self.release(&mut links);
        changed
    }

    /// Cuts `minority` off from every server outside it (`true`), or takes
    /// back one such split (`false`). Whether anything changed.
    pub(crate) fn set_split(&self, minority: &[NodeId], split: bool) -> bool {
        let minority: BTreeSet<NodeId> = minority.iter().copied().collect();
        let mut links = self.links.lock().expect("no task panics holding it");
        if split {
            links.splits.push(minority);
            return true;
        }
        let Some(i) = links.splits.iter().position(|m| *m == minority) else {
            return false;
        };
        links.splits.remove(i);
        self.release(&mut links);
        true
    }

    /// A new flaky link between `a` and `b`, clogged for now; the id that
    /// `set_flaky_clogged` and `remove_flaky` take.
    pub(crate) fn add_flaky(&self, a: NodeId, b: NodeId) -> u64 {
        let mut links = self.links.lock().expect("no task panics holding it");
        let id = links.next_flaky;
        links.next_flaky += 1;
        links.flaky.insert(id, ((a.min(b), a.max(b)), true));
        id
    }

    /// Clogs or opens flaky link `id`; `false` once it is gone.
    pub(crate) fn set_flaky_clogged(&self, id: u64, clogged: bool) -> bool {
        let mut links = self.links.lock().expect("no task panics holding it");
        let Some((_, now)) = links.flaky.get_mut(&id) else {
            return false;
        };
        *now = clogged;
        self.release(&mut links);
        true
    }

    /// Ends flaky link `id`: it is steady, open, again. Whether it was on.
    pub(crate) fn remove_flaky(&self, id: u64) -> bool {
        let mut links = self.links.lock().expect("no task panics holding it");
        let removed = links.flaky.remove(&id).is_some();
        self.release(&mut links);
        removed
    }

    /// Makes every message, between any two nodes and between a client and
    /// its broker, take `extra_ms` longer to arrive (`true`), or takes back
    /// one such slow network (`false`); what is on its way already arrives
    /// when it was due. Whether anything changed.
    pub(crate) fn set_slow(&self, extra_ms: u64, slow: bool) -> bool {
        let mut links = self.links.lock().expect("no task panics holding it");
        if slow {
            links.slow.push(extra_ms);
            return true;
        }
        let Some(i) = links.slow.iter().position(|&e| e == extra_ms) else {
            return false;
        };
        links.slow.remove(i);
        true
    }

    /// Delivers, in order, what waited on every link that is no longer cut.
    fn release(&self, links: &mut Links) {
        let open: BTreeSet<(NodeId, NodeId)> = (links.held.keys())
            .filter(|&&(a, b)| !links.cut(a, b))
            .copied()
            .collect();
        for pair in open {
            let held = links.held.remove(&pair).expect("listed above");
            let slot = &self.nodes[&pair.1];
            for Held {
                incarnation,
                from,
                message,
            } in held
            {
                if slot.incarnation.load(Ordering::Relaxed) == incarnation {
                    let _ = slot.inbox.send(Inbound::Message { from, message });
                }
            }
        }
    }

    /// Marks `node` paused or not; whether that changed anything.
    pub(crate) fn set_paused(&self, node: NodeId, paused: bool) -> bool {
        let mut set = self.paused.lock().expect("no task panics holding it");
        match paused {
            true => set.insert(node),
            false => set.remove(&node),
        }
    }
}

/// Milliseconds since the server started: the nodes' clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: std::time::Instant,
}

impl Clock {
    pub(crate) fn start() -> Clock {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn instant_at(&self, at_ms: u64) -> Instant {
        Instant::from_std(self.start + Duration::from_millis(at_ms))
    }
}

/// How one incarnation of a node ended.
enum Ended<N> {
    /// The server is stopping.
    Closed,
    /// The server is stopping and wants what the node holds.
    Stopped {
        node: N,
        reply: oneshot::Sender<Stopped>,
    },
    Crashed {
        node: N,
        kind: CrashKind,
        at_ms: u64,
    },
}

/// Runs a server from an empty disk: each incarnation `make(disk, now_ms,
/// incarnation)`, until its inbox closes; crashes and restarts as its
/// controls say.
pub(crate) async fn run_server<N: Server>(
    me: NodeId,
    make: impl Fn(Disk, u64, u64) -> N + Send + 'static,
    mut inbox: mpsc::UnboundedReceiver<Inbound>,
    mut control: mpsc::UnboundedReceiver<Control>,
    routes: Arc<Routes>,
    clock: Clock,
    events: Events,
) {
    let mut disk = Disk::default();
    let mut incarnation = 1;
    loop {
        let node = make(disk, clock.now_ms(), incarnation);
        let ended = run_incarnation(me, node, &mut inbox, &mut control, &routes, clock, &events);
        let slot = routes.slot(me).expect("every node has a slot");
        let (node, mut kind, at_ms) = match ended.await {
            Ended::Closed => return,
            Ended::Stopped { node, reply } => {
                slot.up.send_replace(false);
                let image = node.image();
                let disk = Some(node.into_disk());
                let _ = reply.send(Stopped { disk, image });
                return;
            }
            Ended::Crashed { node, kind, at_ms } => (node, kind, at_ms),
        };
        slot.up.send_replace(false);
        routes.crashed(me);
        let crashed = DriverEvent::Crashed { node: me, kind };
        events.send(clock.now_ms(), Event::Driver(crashed));
        disk = node.into_disk();
        // Down: what arrives is lost, until the restart.
        loop {
            tokio::select! {
                biased;
                c = control.recv() => match c {
                    Some(Control::Restart) => break,
                    Some(Control::Crash { kind: worse, .. }) => kind = kind.max(worse),
                    Some(Control::Image(_) | Control::Pause | Control::Resume) => {}
                    Some(Control::Stop(reply)) => {
                        let _ = reply.send(Stopped { disk: None, image: None });
                        return;
                    }
                    None => return,
                },
                inbound = inbox.recv() => if inbound.is_none() {
                    return;
                },
            }
        }
        disk.crash(kind, at_ms, PageCache::default());
        incarnation += 1;
        slot.incarnation.store(incarnation, Ordering::Relaxed);
        slot.up.send_replace(true);
        let restarted = DriverEvent::Restarted {
            node: me,
            incarnation,
        };
        events.send(clock.now_ms(), Event::Driver(restarted));
    }
}

/// Runs one incarnation of `node` until its inbox closes or it crashes.
async fn run_incarnation<N: Server>(
    me: NodeId,
    mut node: N,
    inbox: &mut mpsc::UnboundedReceiver<Inbound>,
    control: &mut mpsc::UnboundedReceiver<Control>,
    routes: &Routes,
    clock: Clock,
    events: &Events,
) -> Ended<N> {
    // What the node did while starting (a broker registers with the controller).
    carry_out(me, node.take_effects(), routes, events, clock.now_ms());
    let mut last_tick_ms = None;
    loop {
        let now = clock.now_ms();
        // A deadline already handled at this very millisecond waits one more, so
        // a node reporting a past deadline it cannot act on never spins.
        let wake_ms = node.next_deadline_ms().map(|d| {
            if last_tick_ms == Some(now) {
                d.max(now + 1)
            } else {
                d
            }
        });
        let sleep = async {
            match wake_ms {
                Some(at) => tokio::time::sleep_until(clock.instant_at(at)).await,
                None => std::future::pending::<()>().await,
            }
        };
        let inbound = tokio::select! {
            biased;
            c = control.recv() => match c {
                Some(Control::Crash { kind, at_ms }) => return Ended::Crashed { node, kind, at_ms },
                Some(Control::Stop(reply)) => return Ended::Stopped { node, reply },
                Some(Control::Restart | Control::Resume) => continue,
                Some(Control::Image(reply)) => {
                    if let Some(image) = node.image() {
                        let _ = reply.send(image);
                    }
                    continue;
                }
                Some(Control::Pause) => {
                    // Stopped: only the controls are read; messages wait in
                    // the inbox and timers fire late, at the resume.
                    loop {
                        match control.recv().await {
                            Some(Control::Resume) => break,
                            Some(Control::Crash { kind, at_ms }) => {
                                return Ended::Crashed { node, kind, at_ms }
                            }
                            Some(Control::Stop(reply)) => return Ended::Stopped { node, reply },
                            Some(_) => {}
                            None => return Ended::Closed,
                        }
                    }
                    continue;
                }
                None => return Ended::Closed,
            },
            inbound = inbox.recv() => match inbound {
                Some(inbound) => Some(inbound),
                None => return Ended::Closed,
            },
            _ = sleep => None,
        };
        let now = clock.now_ms();
        match inbound {
            Some(Inbound::Message { from, message }) => node.on_message(now, from, message),
            Some(Inbound::Disconnect(peer)) => node.on_disconnect(now, peer),
            None => {
                node.on_tick(now);
                last_tick_ms = Some(now);
            }
        }
        node.invariants();
        carry_out(me, node.take_effects(), routes, events, now);
    }
}

fn carry_out(
    me: NodeId,
    effects: Vec<Effect<ClusterEvent>>,
    routes: &Routes,
    events: &Events,
    now_ms: u64,
) {
    for effect in effects {
        match effect {
            Effect::Send { to, message } => {
                // A request opens (or uses) the link; its id is filled in by `deliver`.
                let to = Peer {
                    node: to,
                    connection: 0,
                };
                routes.deliver(me, to, message);
            }
            Effect::Reply { to, message } => routes.deliver(me, to, message),
            Effect::Emit(event) => {
                events.send(now_ms, Event::Cluster(event));
            }
        }
    }
}

#[cfg(test)]
mod tests;
