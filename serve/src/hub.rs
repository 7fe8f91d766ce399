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
//! the simulator: what is sent over them waits, in order, for the heal.
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
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

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
/// each fault counted, so two must both heal) and what waits on a cut link.
#[derive(Default)]
struct Links {
    isolated: BTreeMap<NodeId, u32>,
    directed: BTreeMap<(NodeId, NodeId), u32>,
    held: BTreeMap<(NodeId, NodeId), Vec<(Peer, Message)>>,
}

impl Links {
    /// Whether what `a` sends `b` waits.
    fn cut(&self, a: NodeId, b: NodeId) -> bool {
        self.isolated.contains_key(&a)
            || self.isolated.contains_key(&b)
            || self.directed.contains_key(&(a, b))
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
    /// A std Mutex, not a tokio one: nothing awaits while it is held.
    clients: Mutex<BTreeMap<u64, ClientLink>>,
    links: Mutex<Links>,
    paused: Mutex<BTreeSet<NodeId>>,
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
        };
        (routes, controls)
    }

    pub(crate) fn node(&self, node: NodeId) -> Option<&Inbox> {
        self.nodes.get(&node).map(|slot| &slot.inbox)
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

    /// Delivers `message` from `from` to `to`; a gone peer's messages are
    /// dropped, as bytes written to a closed socket are, and an answer to a
    /// past incarnation of a node with it; on a cut link they wait.
    fn deliver(&self, from: NodeId, to: Peer, message: Message) {
        let node = match to.node {
            NodeId::Client(_) => {
                let clients = self.clients.lock().expect("no task panics holding it");
                if let Some(link) = clients.get(&to.connection) {
                    let _ = link.replies.send(message);
                }
                return;
            }
            node => node,
        };
        let Some(slot) = self.nodes.get(&node) else {
            return;
        };
        let is_reply = matches!(message, Message::Response { .. });
        if is_reply && to.connection != slot.incarnation.load(Ordering::Relaxed) {
            return;
        }
        let sender = Peer {
            node: from,
            connection: self.nodes[&from].incarnation.load(Ordering::Relaxed),
        };
        let mut links = self.links.lock().expect("no task panics holding it");
        if links.cut(from, node) {
            let held = links.held.entry((from, node)).or_default();
            held.push((sender, message));
            return;
        }
        let _ = slot.inbox.send(Inbound::Message {
            from: sender,
            message,
        });
    }

    /// `node` crashed: the other nodes' connections to it break, and what
    /// waited on a cut link for it is lost with them.
    fn crashed(&self, node: NodeId) {
        self.set_paused(node, false);
        let mut links = self.links.lock().expect("no task panics holding it");
        links.held.retain(|&(_, to), _| to != node);
        for (&other, slot) in &self.nodes {
            if other != node {
                let _ = slot.inbox.send(Inbound::Disconnect(node));
            }
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

    /// Delivers, in order, what waited on every link that is no longer cut.
    fn release(&self, links: &mut Links) {
        let open: BTreeSet<(NodeId, NodeId)> = (links.held.keys())
            .filter(|&&(a, b)| !links.cut(a, b))
            .copied()
            .collect();
        for pair in open {
            let held = links.held.remove(&pair).expect("listed above");
            let slot = &self.nodes[&pair.1];
            for (from, message) in held {
                let _ = slot.inbox.send(Inbound::Message { from, message });
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
    start: Instant,
}

impl Clock {
    pub(crate) fn start() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn instant_at(&self, at_ms: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start + Duration::from_millis(at_ms))
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
