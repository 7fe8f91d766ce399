//! The network: hosts nodes, carries their messages, keeps the clock.
//!
//! A [`Network`] owns the nodes it hosts (any one type `N` of [`Node`]; an enum
//! hosts several kinds, as [`Server`](crate::testing::Server) does) and a fake
//! client for every `NodeId::Client` that sends through it. It runs a node only
//! through [`Network::act`], which checks the node's invariants, queues what it
//! sent and records what it emitted, then tells the observer: so nothing a node
//! does escapes the test.
//!
//! Connections follow TCP's shape: each ordered pair (opener, acceptor) has one
//! connection, opened by the first request between them; answers go back on the
//! connection their request came on. A cut or a crash breaks the connections it
//! touches, and the next request opens a new one with a new id; an answer on a
//! broken connection is lost, since the requester's end is gone. Messages wait in
//! one queue, in send order; [`delivery`] says which one
//! goes next.
//!
//! What it leaves out, and what the madsim driver does instead: there is no
//! latency (a message moves when the test or a settle carries it), a node learns
//! of a crash even if it had no connection to the crashed node (the driver tells
//! only the nodes connected to it), and a request sent across a cut is lost
//! silently, with no failed connect to report it.

mod clock;
mod links;

use crate::ids::{CorrelationId, NodeId};
use crate::node::{Effect, Node, Peer};
use crate::protocol::{Message, Request, Response};
use crate::testing::client::FakeClient;
use crate::testing::delivery::{self, Delivery};
use crate::testing::observer::Observer;
use links::Connections;
pub use links::Link;
use std::collections::{BTreeMap, VecDeque};

/// Messages in flight at once before the network calls it a flood: a settled
/// cluster of a few nodes has a handful, a busy one a few hundred.
pub const IN_FLIGHT_MAX: usize = 100_000;
/// Events a network keeps: a minute of a busy five-node cluster emits a few
/// thousand.
pub const EVENTS_KEPT_MAX: usize = 1_000_000;

/// A message on its way, with the connection it travels on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender, and the connection the message travels on.
    pub from: Peer,
    pub to: NodeId,
    pub message: Message,
}

/// A deterministic in-memory network of sans-IO nodes.
pub struct Network<N: Node> {
    now_ms: u64,
    nodes: BTreeMap<NodeId, N>,
    /// What crashed nodes left behind, until they restart.
    stopped: BTreeMap<NodeId, N>,
    clients: BTreeMap<NodeId, FakeClient>,
    queue: VecDeque<Envelope>,
    /// How a settle picks the next message.
    order: Delivery,
    /// Faulty links, by unordered pair of nodes; a missing pair is healthy.
    links: BTreeMap<(NodeId, NodeId), Link>,
    connections: Connections,
    /// The last millisecond each node was ticked: at most one tick per millisecond.
    ticked_at_ms: BTreeMap<NodeId, u64>,
    events: Vec<N::Event>,
}

impl<N: Node> Default for Network<N> {
    fn default() -> Self {
        Network::new()
    }
}

impl<N: Node> Network<N> {
    /// An empty network at time 0 that carries messages in send order.
    pub fn new() -> Self {
        Network {
            now_ms: 0,
            nodes: BTreeMap::new(),
            stopped: BTreeMap::new(),
            clients: BTreeMap::new(),
            queue: VecDeque::new(),
            order: Delivery::Oldest,
            links: BTreeMap::new(),
            connections: Connections::default(),
            ticked_at_ms: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// The order in which settles carry messages from now on.
    pub fn set_order(&mut self, order: Delivery) {
        self.order = order;
    }

    // ---- Hosting nodes ------------------------------------------------------------

    /// Starts hosting `node` as `id`, and carries out what it did on starting
    /// (a broker asks to register at once, say).
    pub fn insert<O: Observer<N>>(
        &mut self,
        id: NodeId,
        node: N,
        observer: &mut O,
    ) -> Result<(), O::Error> {
        assert!(!self.clients.contains_key(&id), "{id:?} is a fake client");
        assert!(
            !self.stopped.contains_key(&id),
            "{id:?} crashed: restart it"
        );
        let earlier = self.nodes.insert(id, node);
        assert!(earlier.is_none(), "{id:?} is already running");
        self.act(id, observer, |_, _| {})
    }

    /// Crashes the running node `id`: what was in flight to or from it is lost,
    /// its connections break, `remains` turns it into what it leaves behind
    /// (its disk, say), kept as [`Network::stopped`]; then every running node
    /// hears `on_disconnect`.
    pub fn crash<O: Observer<N>>(
        &mut self,
        id: NodeId,
        observer: &mut O,
        remains: impl FnOnce(N) -> N,
    ) -> Result<(), O::Error> {
        let node = self.nodes.remove(&id).expect("only a running node crashes");
        self.stopped.insert(id, remains(node));
        self.ticked_at_ms.remove(&id);
        self.lose_where(observer, |e| e.to == id || e.from.node == id);
        self.connections.break_all_of(id);
        let others: Vec<NodeId> = self.nodes.keys().copied().collect();
        for other in others {
            self.act(other, observer, |node, now_ms| {
                node.on_disconnect(now_ms, id)
            })?;
        }
        Ok(())
    }

    /// Starts the crashed node `id` again: `start` builds the new node from what
    /// the old one left behind, at the current time.
    pub fn restart<O: Observer<N>>(
        &mut self,
        id: NodeId,
        observer: &mut O,
        start: impl FnOnce(N, u64) -> N,
    ) -> Result<(), O::Error> {
        let remains = self
            .stopped
            .remove(&id)
            .expect("only a crashed node restarts");
        let node = start(remains, self.now_ms);
        self.insert(id, node, observer)
    }

    /// Runs `action` on the running node `id` at the current time, then does
    /// what every handler is followed by: the node's invariants, its messages
    /// queued, its events recorded, the observer told.
    pub fn act<O: Observer<N>, R>(
        &mut self,
        id: NodeId,
        observer: &mut O,
        action: impl FnOnce(&mut N, u64) -> R,
    ) -> Result<R, O::Error> {
        observer.before(self, id);
        let now_ms = self.now_ms;
        let node = self.nodes.get_mut(&id).expect("only a running node acts");
        let result = action(node, now_ms);
        node.invariants();
        let effects = node.take_effects();
        let first_event = self.events.len();
        for effect in effects {
            match effect {
                Effect::Send { to, message } => {
                    let connection = self.connections.open(id, to);
                    self.post(
                        Peer {
                            node: id,
                            connection,
                        },
                        to,
                        message,
                    );
                }
                Effect::Reply { to, message } => {
                    let from = Peer {
                        node: id,
                        connection: to.connection,
                    };
                    self.post(from, to.node, message);
                }
                Effect::Emit(event) => self.events.push(event),
            }
        }
        assert!(self.events.len() <= EVENTS_KEPT_MAX, "events flood");
        self.invariants();
        observer.after(self, id, &self.events[first_event..])?;
        Ok(result)
    }

    /// What holds between any two handlers.
    pub fn invariants(&self) {
        for id in self.nodes.keys() {
            assert!(!self.stopped.contains_key(id), "{id:?} runs and is crashed");
            assert!(
                !self.clients.contains_key(id),
                "{id:?} runs and is a fake client"
            );
        }
        for (id, ticked_ms) in &self.ticked_at_ms {
            assert!(*ticked_ms <= self.now_ms, "{id:?} was ticked in the future");
        }
        // A cut or a crash loses what was in flight on the connections it breaks,
        // so a request waiting in the queue always has its connection.
        for envelope in &self.queue {
            if let Message::Request { .. } = envelope.message {
                assert!(self.connections.is_open(envelope.from.connection));
            }
        }
    }

    fn post(&mut self, from: Peer, to: NodeId, message: Message) {
        assert!(self.queue.len() < IN_FLIGHT_MAX, "messages flood");
        self.queue.push_back(Envelope { from, to, message });
    }

    // ---- Fake clients -------------------------------------------------------------

    /// Sends `request` from the fake client `client` to `to`. It only joins the
    /// queue: a settle or a delivery carries it. Returns its correlation id.
    pub fn send(&mut self, client: NodeId, to: NodeId, request: Request) -> CorrelationId {
        assert!(
            matches!(client, NodeId::Client(_)),
            "{client:?} is no client"
        );
        assert!(
            !self.nodes.contains_key(&client),
            "{client:?} is a hosted node"
        );
        let correlation_id = self
            .clients
            .entry(client)
            .or_default()
            .next_correlation_id();
        let connection = self.connections.open(client, to);
        let message = Message::Request {
            correlation_id,
            request,
        };
        self.post(
            Peer {
                node: client,
                connection,
            },
            to,
            message,
        );
        correlation_id
    }

    /// Takes the answer to the fake client's request, if it came.
    pub fn answer(&mut self, client: NodeId, correlation_id: CorrelationId) -> Option<Response> {
        self.clients.get_mut(&client)?.take_answer(correlation_id)
    }

    pub fn client(&self, client: NodeId) -> Option<&FakeClient> {
        self.clients.get(&client)
    }

    // ---- Carrying messages ---------------------------------------------------------

    /// Carries one message, chosen by `delivery`; false when none can move.
    pub fn deliver_one<O: Observer<N>>(
        &mut self,
        delivery: Delivery,
        observer: &mut O,
    ) -> Result<bool, O::Error> {
        let can_move = |e: &Envelope| self.link(e.from.node, e.to) != Some(Link::Stalled);
        let Some(index) = delivery::choose(&self.queue, delivery, can_move) else {
            return Ok(false);
        };
        let envelope = self.queue.remove(index).expect("a chosen message");
        if !self.arrives(&envelope) {
            observer.on_loss(&envelope);
            return Ok(true);
        }
        observer.on_delivery(self, &envelope)?;
        let Envelope { from, to, message } = envelope;
        if self.nodes.contains_key(&to) {
            self.act(to, observer, |node, now_ms| {
                node.on_message(now_ms, from, message)
            })?;
        } else {
            let Message::Response {
                correlation_id,
                response,
            } = message
            else {
                panic!("{from:?} sent a request to the fake client {to:?}");
            };
            let client = self.clients.get_mut(&to).expect("an arriving message");
            client.on_response(correlation_id, response);
        }
        Ok(true)
    }

    /// Whether a message leaving the queue reaches anyone: its link is not cut,
    /// someone is there, and an answer's connection still stands.
    fn arrives(&self, envelope: &Envelope) -> bool {
        let reachable = self.link(envelope.from.node, envelope.to) != Some(Link::Cut);
        let someone_there =
            self.nodes.contains_key(&envelope.to) || self.clients.contains_key(&envelope.to);
        let connected = match envelope.message {
            Message::Request { .. } => true,
            Message::Response { .. } => self.connections.is_open(envelope.from.connection),
        };
        reachable && someone_there && connected
    }

    /// Drops every message in flight that `lost` picks.
    fn lose_where<O: Observer<N>>(&mut self, observer: &mut O, lost: impl Fn(&Envelope) -> bool) {
        let (gone, kept) = std::mem::take(&mut self.queue)
            .into_iter()
            .partition::<Vec<_>, _>(|e| lost(e));
        self.queue = kept.into();
        for envelope in &gone {
            observer.on_loss(envelope);
        }
    }

    // ---- What tests look at --------------------------------------------------------

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes.get(&id)
    }

    /// What the crashed node `id` left behind, until it restarts.
    pub fn stopped(&self, id: NodeId) -> Option<&N> {
        self.stopped.get(&id)
    }

    /// The crashed nodes' ids, in order.
    pub fn crashed(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.stopped.keys().copied()
    }

    /// The running nodes' ids, in order.
    pub fn running(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.keys().copied()
    }

    /// Messages in flight, oldest first.
    pub fn in_flight(&self) -> impl Iterator<Item = &Envelope> {
        self.queue.iter()
    }

    /// Everything the nodes emitted, in order.
    pub fn events(&self) -> &[N::Event] {
        &self.events
    }
}
