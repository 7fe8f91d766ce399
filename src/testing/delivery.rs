//! Which message a network carries next.
//!
//! The network keeps every message in flight in one queue, in the order the
//! messages were sent. Each message travels on a *stream*: everything one node
//! sends to another. A stream keeps its order, as a TCP connection does; streams
//! do not wait for each other. Streams are coarser than connections: a node's
//! requests to a peer and its answers to that peer's requests share one stream
//! and stay in order, where two TCP connections could reorder them.
//!
//! A test chooses the order with [`Delivery`]: in send order (one FIFO queue for
//! the whole network, the default), or the head of the stream it names, so that
//! a property test can draw interleavings as numbers and shrink them.

use crate::ids::NodeId;
use crate::testing::network::Envelope;
use std::collections::{BTreeSet, VecDeque};

/// How the network picks the next message among those that can move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Delivery {
    /// The oldest message that can move: the whole network as one queue.
    #[default]
    Oldest,
    /// The oldest message of the `n`-th stream that can move, counting streams
    /// by their oldest message and wrapping around (so any number picks one).
    NthStream(usize),
}

/// The sender and receiver of a stream.
fn stream(envelope: &Envelope) -> (NodeId, NodeId) {
    (envelope.from.node, envelope.to)
}

/// The position in `queue` of the message to carry next, if any can move.
/// `can_move` is false for a message held up on its way (a stalled link); a
/// stream whose head cannot move holds back all of it.
pub(super) fn choose(
    queue: &VecDeque<Envelope>,
    delivery: Delivery,
    can_move: impl Fn(&Envelope) -> bool,
) -> Option<usize> {
    let mut seen: BTreeSet<(NodeId, NodeId)> = BTreeSet::new();
    let mut heads = queue
        .iter()
        .enumerate()
        .filter(|(_, envelope)| seen.insert(stream(envelope)) && can_move(envelope))
        .map(|(index, _)| index);
    match delivery {
        Delivery::Oldest => heads.next(),
        Delivery::NthStream(n) => {
            let heads: Vec<usize> = heads.collect();
            (!heads.is_empty()).then(|| heads[n % heads.len()])
        }
    }
}
