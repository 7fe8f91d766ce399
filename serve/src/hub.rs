//! The real-time driver: each node on a task of its own, fed in order.
//!
//! This mirrors `sim/world`'s driver with real time instead of simulated time.
//! A node's task owns the node; it feeds it every message and broken connection
//! from its inbox, calls `on_tick` when `next_deadline_ms` comes, checks
//! `invariants()` after every handler, and carries out the effects. It makes no
//! protocol decision.
//!
//! Simplification: the controller and the brokers live in one process, so the
//! connections between them are in-process channels (order kept per pair, as
//! TCP keeps it), not sockets; Kafka runs them over TCP. Only clients come in
//! over real TCP (`connection`). Nothing here crashes or restarts a node: a
//! node that panics takes the server down, as a bug should.

use kafkasim::event::ClusterEvent;
use kafkasim::ids::NodeId;
use kafkasim::node::{Effect, Node, Peer};
use kafkasim::protocol::Message;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

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

/// The connection id of the in-process links between nodes: each pair of
/// nodes has one link, so the id only has to be the same for every message.
const NODE_LINK: u64 = 0;

/// Where every message goes: the nodes' inboxes and the client connections'.
#[derive(Default)]
pub(crate) struct Routes {
    nodes: BTreeMap<NodeId, Inbox>,
    /// A std Mutex, not a tokio one: nothing awaits while it is held.
    clients: Mutex<BTreeMap<u64, mpsc::UnboundedSender<Message>>>,
}

impl Routes {
    pub(crate) fn new(nodes: BTreeMap<NodeId, Inbox>) -> Routes {
        Routes {
            nodes,
            clients: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn node(&self, node: NodeId) -> Option<&Inbox> {
        self.nodes.get(&node)
    }

    pub(crate) fn add_client(&self, connection: u64, replies: mpsc::UnboundedSender<Message>) {
        let mut clients = self.clients.lock().expect("no task panics holding it");
        clients.insert(connection, replies);
    }

    pub(crate) fn remove_client(&self, connection: u64) {
        let mut clients = self.clients.lock().expect("no task panics holding it");
        clients.remove(&connection);
    }

    /// Delivers `message` from `from` to `to`; a gone peer's messages are
    /// dropped, as bytes written to a closed socket are.
    fn deliver(&self, from: NodeId, to: Peer, message: Message) {
        match to.node {
            NodeId::Client(_) => {
                let clients = self.clients.lock().expect("no task panics holding it");
                if let Some(replies) = clients.get(&to.connection) {
                    let _ = replies.send(message);
                }
            }
            node => {
                if let Some(inbox) = self.nodes.get(&node) {
                    let from = Peer {
                        node: from,
                        connection: NODE_LINK,
                    };
                    let _ = inbox.send(Inbound::Message { from, message });
                }
            }
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

/// Runs `node` until its inbox closes. `events` hears what it emits.
pub(crate) async fn run_node<N>(
    me: NodeId,
    mut node: N,
    mut inbox: mpsc::UnboundedReceiver<Inbound>,
    routes: Arc<Routes>,
    clock: Clock,
    events: mpsc::UnboundedSender<(u64, ClusterEvent)>,
) where
    N: Node<Event = ClusterEvent>,
{
    // What the node did while starting (a broker registers with the controller).
    carry_out(me, node.take_effects(), &routes, &events, clock.now_ms());
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
            inbound = inbox.recv() => match inbound {
                Some(inbound) => Some(inbound),
                None => return,
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
        carry_out(me, node.take_effects(), &routes, &events, now);
    }
}

fn carry_out(
    me: NodeId,
    effects: Vec<Effect<ClusterEvent>>,
    routes: &Routes,
    events: &mpsc::UnboundedSender<(u64, ClusterEvent)>,
    now_ms: u64,
) {
    for effect in effects {
        match effect {
            Effect::Send { to, message } => {
                let to = Peer {
                    node: to,
                    connection: NODE_LINK,
                };
                routes.deliver(me, to, message);
            }
            Effect::Reply { to, message } => routes.deliver(me, to, message),
            Effect::Emit(event) => {
                let _ = events.send((now_ms, event));
            }
        }
    }
}
