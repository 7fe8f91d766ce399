//! The shape every node shares: messages and time in, effects out.
//!
//! A node never awaits, never reads a clock or an RNG and never touches a socket.
//! A driver (the madsim one in `sim/`, a real-network one later) owns connections
//! and timers and calls these methods; it makes no protocol decisions.
//! Time is always an argument, and the node says when it next wants to be woken
//! (`next_deadline_ms`), in the style of quinn-proto.

use crate::ids::NodeId;
use crate::protocol::Message;

/// Which connection a message arrived on, so a response can go back on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Peer {
    pub node: NodeId,
    /// Chosen by the driver; only meaningful to it.
    pub connection: u64,
}

/// What a node asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect<E> {
    /// Send a request to a node over this node's own connection to it.
    Send { to: NodeId, message: Message },
    /// Answer on the connection a request came in on.
    Reply { to: Peer, message: Message },
    /// Something worth recording happened (a leader changed, a send completed, …).
    Emit(E),
}

/// A sans-IO state machine.
pub trait Node {
    /// What the node reports to the outside world.
    type Event;

    fn on_message(&mut self, now_ms: u64, from: Peer, message: Message);

    /// The connection to or from `peer` broke (the peer crashed or closed it).
    /// Requests in flight on it will never be answered.
    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId);

    /// Called when `now_ms` reaches `next_deadline_ms`.
    fn on_tick(&mut self, now_ms: u64);

    /// The earliest time the node wants `on_tick`, if any.
    fn next_deadline_ms(&self) -> Option<u64>;

    /// Effects produced since the last call, in order.
    fn take_effects(&mut self) -> Vec<Effect<Self::Event>>;

    /// Asserts internal consistency; drivers call it after every handler.
    fn invariants(&self);
}
