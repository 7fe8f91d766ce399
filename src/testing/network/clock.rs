//! The network's clock, which moves only when the test moves it.
//!
//! Time stands still while messages are carried: a settle delivers and ticks
//! until nothing is left to do at this instant. Moving the clock wakes, in
//! order, every node whose `next_deadline_ms` comes on the way. A node is ticked
//! at most once per millisecond, as the madsim driver does, so a deadline that a
//! node cannot act on yet (it keeps asking for `now`) moves to the next
//! millisecond instead of spinning.

use super::Network;
use crate::ids::NodeId;
use crate::node::Node;
use crate::testing::observer::Observer;

/// Deliveries and ticks one instant may take before the network calls it a
/// livelock: the busiest instants of the tests take a few hundred.
pub const STEPS_PER_INSTANT_MAX: usize = 100_000;

impl<N: Node> Network<N> {
    /// Carries messages and ticks due nodes until nothing is left to do at this
    /// instant. Panics on a livelock, which is a bug in a node.
    pub fn settle<O: Observer<N>>(&mut self, observer: &mut O) -> Result<(), O::Error> {
        for _ in 0..STEPS_PER_INSTANT_MAX {
            if !self.deliver_one(self.order, observer)? && !self.tick_due_nodes(observer)? {
                return Ok(());
            }
        }
        panic!("the network never settled at {} ms", self.now_ms);
    }

    /// Moves the clock to `target_ms`, waking every node whose deadline comes on
    /// the way and carrying every message sent meanwhile.
    pub fn advance_to<O: Observer<N>>(
        &mut self,
        target_ms: u64,
        observer: &mut O,
    ) -> Result<(), O::Error> {
        assert!(target_ms >= self.now_ms, "the clock never goes back");
        // Each wake moves the clock forward by at least a millisecond, so the
        // loop ends by `target_ms`.
        while self.wake_next(target_ms, observer)? {}
        self.now_ms = target_ms;
        self.settle(observer)
    }

    pub fn advance_by<O: Observer<N>>(
        &mut self,
        ms: u64,
        observer: &mut O,
    ) -> Result<(), O::Error> {
        self.advance_to(self.now_ms + ms, observer)
    }

    /// Settles, then moves the clock to the next time a node wants waking, if
    /// that is no later than `until_ms`, and settles there. Returns whether it
    /// moved: a test that must stop as soon as something happens (an answer
    /// comes) advances one wake at a time.
    pub fn wake_next<O: Observer<N>>(
        &mut self,
        until_ms: u64,
        observer: &mut O,
    ) -> Result<bool, O::Error> {
        self.settle(observer)?;
        let Some(next_ms) = self.next_wake_ms().filter(|&t| t <= until_ms) else {
            return Ok(false);
        };
        assert!(
            next_ms > self.now_ms,
            "a settled network has nothing due now"
        );
        self.now_ms = next_ms;
        self.settle(observer)?;
        Ok(true)
    }

    /// When `id` wants its next tick, at most once per millisecond.
    fn wake_ms(&self, id: NodeId) -> Option<u64> {
        let deadline_ms = self.nodes.get(&id)?.next_deadline_ms()?;
        if self.ticked_at_ms.get(&id) == Some(&self.now_ms) {
            Some(deadline_ms.max(self.now_ms + 1))
        } else {
            Some(deadline_ms)
        }
    }

    fn next_wake_ms(&self) -> Option<u64> {
        self.nodes.keys().filter_map(|&id| self.wake_ms(id)).min()
    }

    /// Ticks every node whose wake has come; false when none has.
    fn tick_due_nodes<O: Observer<N>>(&mut self, observer: &mut O) -> Result<bool, O::Error> {
        let now_ms = self.now_ms;
        let due: Vec<NodeId> = self
            .nodes
            .keys()
            .copied()
            .filter(|&id| self.wake_ms(id).is_some_and(|t| t <= now_ms))
            .collect();
        for &id in &due {
            self.ticked_at_ms.insert(id, now_ms);
            self.act(id, observer, |node, now_ms| node.on_tick(now_ms))?;
        }
        Ok(!due.is_empty())
    }
}
