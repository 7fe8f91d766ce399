//! What a test sees while a network runs.
//!
//! A property test checks its properties after every message and every timer,
//! not only when a step ends; a scenario test wants to know when a node last
//! heard from another, or which requests a cut swallowed. The network calls an
//! observer at each of those moments, and the observer reads the nodes through
//! the network it is handed. A checker is an observer whose `Error` says what
//! broke; the first error stops the network's current call and is returned from
//! it. An observer that never objects uses `Error = Infallible` (as [`Quiet`]
//! does), so `let Ok(()) = network.settle(&mut observer);` needs no `unwrap`.
//!
//! Every method has a default that does nothing, so an observer names only the
//! moments it cares about.

use crate::ids::NodeId;
use crate::node::Node;
use crate::testing::network::{Envelope, Network};
use std::convert::Infallible;

/// Called by a [`Network`] around everything it does.
pub trait Observer<N: Node> {
    /// What a failed check reports.
    type Error;

    /// Before `node` handles anything (a message, a tick, a broken connection or
    /// a test's action): the moment to note its state, to compare after.
    fn before(&mut self, _network: &Network<N>, _node: NodeId) {}

    /// After `node` handled something, its invariants checked and its messages
    /// queued; `events` are the ones it just emitted.
    fn after(
        &mut self,
        _network: &Network<N>,
        _node: NodeId,
        _events: &[N::Event],
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A message reaches a running node or a fake client, just before it is
    /// handled there.
    fn on_delivery(
        &mut self,
        _network: &Network<N>,
        _envelope: &Envelope,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The network lost a message: it was in flight when its link was cut or
    /// one of its ends crashed, it met a cut link, it went to a node that is
    /// not running, or it answered on a connection that broke.
    fn on_loss(&mut self, _envelope: &Envelope) {}
}

/// An observer that looks at nothing and never objects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl<N: Node> Observer<N> for Quiet {
    type Error = Infallible;
}
