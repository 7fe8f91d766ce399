//! The run's trace: every delivered message, every node event, every fault.
//!
//! The trace is the determinism witness: two runs of one seed must produce the same
//! trace, byte for byte, so the CLI prints a hash of it. The full text is kept only
//! when asked for (`kafkasim replay`), since formatting every message costs time.
//! The *timeline* is the short, human story of the run that `kafkasim run` prints.
//!
//! A trace can also *capture* typed events ([`Captured`]: delivered messages, node
//! events, faults, timeline entries) for `kafkasim run --report`. Capture is
//! chosen when the trace is made and never changes the hash or the lines; a trace
//! that does not capture skips it without taking its lock.

use kafkasim::ids::NodeId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

mod capture;
pub use capture::{
    Captured, Direction, FaultEvent, FaultKind, MessageEvent, NodeEvent, RecordAt, TimelineEvent,
};

/// FNV-1a, 64 bit: a stable hash that does not depend on the Rust version.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// One line of the human timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub time_ms: u64,
    pub node: String,
    pub text: String,
}

#[derive(Debug, Default)]
struct TraceState {
    hash: Fnv64,
    events: u64,
    messages: u64,
    /// The full trace text, kept only when `keep_lines` is set.
    lines: Option<Vec<String>>,
    timeline: Vec<TimelineEntry>,
    /// How often each "sometimes" goal was reached (see `goals`).
    goals: BTreeMap<&'static str, u64>,
    scratch: String,
    /// Typed events, in the order they happened (only when capturing).
    captured: Vec<Captured>,
    /// The machine each client node runs on (`client-3` → `producer`), when capturing.
    machines: BTreeMap<String, String>,
    /// The replica and group invariants, fed every node event.
    invariants: crate::checkers::invariants::Invariants,
}

/// A shared handle to the run's trace; cheap to clone into every node.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    state: Arc<Mutex<TraceState>>,
    /// Set once when the trace is made, so a trace that does not capture never
    /// locks for it.
    capturing: bool,
}

impl Trace {
    /// A trace that also keeps every line, for `kafkasim replay`.
    pub fn keeping_lines() -> Self {
        Trace::new(true, false)
    }

    /// A trace that also captures typed events, for `kafkasim run --report`.
    pub fn keeping_events() -> Self {
        Trace::new(false, true)
    }

    /// A trace that keeps its lines and/or captures typed events.
    pub fn new(keep_lines: bool, capture: bool) -> Self {
        let trace = Trace {
            state: Arc::default(),
            capturing: capture,
        };
        if keep_lines {
            trace.lock().lines = Some(Vec::new());
        }
        trace
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TraceState> {
        self.state.lock().expect("trace lock")
    }

    /// Whether this trace captures typed events.
    pub fn is_capturing(&self) -> bool {
        self.capturing
    }

    /// Captures the event `make` builds, only when capturing: the event is not
    /// even built otherwise. Never part of the hash.
    pub fn capture(&self, make: impl FnOnce() -> Captured) {
        if self.capturing {
            let event = make();
            self.lock().captured.push(event);
        }
    }

    /// Notes the machine a client node runs on (when capturing), so a report can
    /// name its lane `client-3 (producer)`.
    pub fn name_machine(&self, node: NodeId, machine: &str) {
        if self.capturing {
            self.lock()
                .machines
                .insert(node.to_string(), machine.to_string());
        }
    }

    /// Every captured event, in order (empty when not capturing).
    pub fn captured(&self) -> Vec<Captured> {
        self.lock().captured.clone()
    }

    /// The machine of each client node named so far (see `name_machine`).
    pub fn machines(&self) -> BTreeMap<String, String> {
        self.lock().machines.clone()
    }

    /// Records one event. `what` is formatted only into a scratch buffer, hashed,
    /// and kept only when lines are kept.
    pub fn record(&self, time_ms: u64, node: NodeId, what: std::fmt::Arguments<'_>) {
        let mut state = self.lock();
        let state = &mut *state;
        state.scratch.clear();
        let _ = write!(state.scratch, "{time_ms:>8} {node:<12} {what}");
        state.hash.write(state.scratch.as_bytes());
        state.hash.write(b"\n");
        state.events += 1;
        if let Some(lines) = state.lines.as_mut() {
            lines.push(state.scratch.clone());
        }
    }

    pub fn count_message(&self) {
        self.lock().messages += 1;
    }

    /// Adds a line to the human timeline (also part of the trace).
    pub fn timeline(&self, time_ms: u64, node: impl Into<String>, text: impl Into<String>) {
        let entry = TimelineEntry {
            time_ms,
            node: node.into(),
            text: text.into(),
        };
        let mut state = self.lock();
        state.hash.write(
            format!("timeline {} {} {}\n", entry.time_ms, entry.node, entry.text).as_bytes(),
        );
        if self.capturing {
            state.captured.push(Captured::Timeline(TimelineEvent {
                time_ms: entry.time_ms,
                node: entry.node.clone(),
                text: entry.text.clone(),
            }));
        }
        state.timeline.push(entry);
    }

    /// Feeds a node's event to the invariant checks.
    pub fn observe(&self, time_ms: u64, event: &kafkasim::event::ClusterEvent) {
        let mut state = self.state.lock().expect("trace lock");
        state.invariants.observe(time_ms, event);
    }

    /// A broker's process restarted: what it led before is over.
    pub fn broker_restarted(&self, broker: kafkasim::ids::BrokerId) {
        let mut state = self.state.lock().expect("trace lock");
        state.invariants.restarted(broker);
    }

    /// The invariant violations seen so far (see `checkers::invariants`).
    pub fn invariant_violations(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("trace lock")
            .invariants
            .violations()
    }

    /// Counts one more reach of a "sometimes" goal.
    pub fn reach_goal(&self, goal: &'static str) {
        *self.lock().goals.entry(goal).or_insert(0) += 1;
    }

    /// Each goal reached, with how often.
    pub fn goals(&self) -> BTreeMap<&'static str, u64> {
        self.lock().goals.clone()
    }

    pub fn hash(&self) -> u64 {
        self.lock().hash.finish()
    }

    pub fn events(&self) -> u64 {
        self.lock().events
    }

    pub fn messages(&self) -> u64 {
        self.lock().messages
    }

    pub fn timeline_entries(&self) -> Vec<TimelineEntry> {
        self.lock().timeline.clone()
    }

    pub fn lines(&self) -> Vec<String> {
        self.lock().lines.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference_values() {
        let mut h = Fnv64::default();
        assert_eq!(h.finish(), 0xcbf29ce484222325);
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63dc4c8601ec8c);
    }
}
