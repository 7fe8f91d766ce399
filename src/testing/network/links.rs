//! Links between nodes, and the connections over them.
//!
//! Two faults are enough for the tests so far, and they differ in what the ends
//! notice:
//! - a **cut** loses every message between two nodes, in flight or sent later,
//!   and breaks their connections, so both ends hear `on_disconnect` at once. As
//!   in a network partition, a request sent over a cut is lost without an error;
//!   only its timeout tells the sender. (A message sent over a cut is lost when
//!   the network would carry it: if the link heals first, it goes through.)
//! - a **stall** holds every message between two nodes until the link heals, and
//!   breaks nothing, as a clogged madsim link does: the ends notice only that
//!   answers are late.

use super::Network;
use crate::ids::NodeId;
use crate::node::Node;
use crate::testing::observer::Observer;
use std::collections::BTreeMap;

/// A faulty link between two nodes (a healthy one has no entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Messages are lost, and connections over the link broke when it was cut.
    Cut,
    /// Messages wait until the link heals.
    Stalled,
}

/// The key of the link between `a` and `b`, whichever way a message goes.
fn unordered(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

/// The open connections, by (opener, acceptor), with their ids.
#[derive(Debug, Default)]
pub(super) struct Connections {
    open: BTreeMap<(NodeId, NodeId), u64>,
    next_id: u64,
}

impl Connections {
    /// The id of the connection `opener` has to `acceptor`, opened if needed.
    pub(super) fn open(&mut self, opener: NodeId, acceptor: NodeId) -> u64 {
        assert_ne!(opener, acceptor, "a node does not connect to itself");
        *self.open.entry((opener, acceptor)).or_insert_with(|| {
            self.next_id += 1;
            self.next_id
        })
    }

    pub(super) fn is_open(&self, id: u64) -> bool {
        self.open.values().any(|&open| open == id)
    }

    /// Breaks the connections between `a` and `b`, both ways.
    fn break_between(&mut self, a: NodeId, b: NodeId) {
        self.open
            .retain(|&(opener, acceptor), _| unordered(opener, acceptor) != unordered(a, b));
    }

    /// Breaks every connection `node` had.
    pub(super) fn break_all_of(&mut self, node: NodeId) {
        self.open
            .retain(|&(opener, acceptor), _| opener != node && acceptor != node);
    }
}

impl<N: Node> Network<N> {
    /// The state of the link between `a` and `b`; `None` when it is healthy.
    pub fn link(&self, a: NodeId, b: NodeId) -> Option<Link> {
        self.links.get(&unordered(a, b)).copied()
    }

    /// Cuts the link between `a` and `b`: what is in flight between them is
    /// lost, their connections break, and each end that runs hears that the
    /// other is gone (`a` first).
    pub fn cut<O: Observer<N>>(
        &mut self,
        a: NodeId,
        b: NodeId,
        observer: &mut O,
    ) -> Result<(), O::Error> {
        assert_ne!(a, b, "a link joins two nodes");
        self.links.insert(unordered(a, b), Link::Cut);
        self.lose_where(observer, |e| {
            unordered(e.from.node, e.to) == unordered(a, b)
        });
        self.connections.break_between(a, b);
        for (me, peer) in [(a, b), (b, a)] {
            if self.nodes.contains_key(&me) {
                self.act(me, observer, |node, now_ms| {
                    node.on_disconnect(now_ms, peer)
                })?;
            }
        }
        Ok(())
    }

    /// Stalls the link between `a` and `b`: messages between them wait until it
    /// heals. (A stall replaces a cut.)
    pub fn stall(&mut self, a: NodeId, b: NodeId) {
        assert_ne!(a, b, "a link joins two nodes");
        self.links.insert(unordered(a, b), Link::Stalled);
    }

    /// The link between `a` and `b` works again. Nothing a cut lost comes back;
    /// what a stall held moves again.
    pub fn heal(&mut self, a: NodeId, b: NodeId) {
        self.links.remove(&unordered(a, b));
    }

    /// Every link works again.
    pub fn heal_all(&mut self) {
        self.links.clear();
    }
}
