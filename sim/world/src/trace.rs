//! The run's trace: every delivered message, every node event, every fault.
//!
//! The trace is the determinism witness: two runs of one seed must produce the same
//! trace, byte for byte, so the CLI prints a hash of it. The hash takes a
//! delivered message's and a node event's fields (their `Hash`), the other
//! lines' text. The lines themselves are kept only when asked for (`kafkasim
//! replay`), since formatting every message costs time, and read as
//! [`TraceLines`] says: in Kafka's words (`text`), or every field as Rust's
//! `Debug` prints it. Neither form reaches the hash.
//! The *timeline* is the short, human story of the run that `kafkasim run` prints.
//!
//! A trace can also *capture* typed events ([`Captured`]: delivered messages, node
//! events, faults, timeline entries) for `kafkasim run --report`. Capture is
//! chosen when the trace is made and never changes the hash or the lines; a trace
//! that does not capture skips it without taking its lock.

use kafkasim::ids::NodeId;
use kafkasim::protocol::Message;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

mod capture;
mod lines;
mod text;
pub use capture::{
    Captured, Direction, FaultEvent, MessageEvent, NodeEvent, Phase, RecordAt, TimelineEvent,
};
use lines::line_start;
pub use lines::{Passage, TraceLines};
pub use text::EventText;

/// The trace hash: 64 bits over the trace's bytes, taken eight at a time (as
/// little-endian words, each mixed in by a folded multiply) and finished with
/// MurmurHash3's 64-bit mixer. It depends
/// on the bytes alone: not on the Rust version, the machine, or how the bytes
/// were cut into writes. A fingerprint for telling runs apart, not a defence
/// against anyone crafting collisions.
#[derive(Debug, Clone, Copy)]
pub struct TraceHash {
    state: u64,
    /// Bytes not yet making a whole word, in the low `tail_len` bytes.
    tail: u64,
    tail_len: u32,
    len: u64,
}

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash {
            state: 0x243f_6a88_85a3_08d3, // the first hex digits of pi's fraction
            tail: 0,
            tail_len: 0,
            len: 0,
        }
    }
}

impl TraceHash {
    pub fn write(&mut self, mut bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u64);
        while self.tail_len > 0 && !bytes.is_empty() {
            self.push_byte(bytes[0]);
            bytes = &bytes[1..];
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        for &b in words.remainder() {
            self.push_byte(b);
        }
    }

    pub fn finish(&self) -> u64 {
        let mut end = *self;
        if end.tail_len > 0 {
            end.mix(end.tail);
        }
        end.mix(end.len);
        let mut h = end.state;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn push_byte(&mut self, b: u8) {
        self.tail |= (b as u64) << (8 * self.tail_len);
        self.tail_len += 1;
        if self.tail_len == 8 {
            self.mix(self.tail);
            self.tail = 0;
            self.tail_len = 0;
        }
    }

    /// A folded multiply: the 128-bit product's halves xored, so a changed bit
    /// anywhere in the word reaches every bit of the state.
    fn mix(&mut self, word: u64) {
        let product = ((self.state ^ word) as u128) * 0x9e37_79b9_7f4a_7c15_u128;
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

/// Feeds a value's fields (its `Hash`) into a [`TraceHash`]: each integer as one
/// little-endian word (`usize` as 64 bits, so the machine's word size does not
/// matter), byte strings eight bytes at a time. Cheaper than formatting the
/// value and hashing the text, and as deterministic.
struct Fields<'a>(&'a mut TraceHash);

impl Hasher for Fields<'_> {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.0
                .mix(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.0
                .mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.0.mix(i as u64);
    }

    fn write_u16(&mut self, i: u16) {
        self.0.mix(i as u64);
    }

    fn write_u32(&mut self, i: u32) {
        self.0.mix(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.0.mix(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.0.mix(i as u64);
    }

    fn write_i8(&mut self, i: i8) {
        self.0.mix(i as i64 as u64);
    }

    fn write_i16(&mut self, i: i16) {
        self.0.mix(i as i64 as u64);
    }

    fn write_i32(&mut self, i: i32) {
        self.0.mix(i as i64 as u64);
    }

    fn write_i64(&mut self, i: i64) {
        self.0.mix(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.0.mix(i as i64 as u64);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

pub use crate::narrate::Tone;

/// One line of the human timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub time_ms: u64,
    pub node: String,
    pub tone: Tone,
    pub text: String,
}

#[derive(Debug, Default)]
struct TraceState {
    hash: TraceHash,
    events: u64,
    messages: u64,
    /// The trace's lines, kept only when asked for, and how they read.
    lines: Option<(TraceLines, Vec<String>)>,
    timeline: Vec<TimelineEntry>,
    /// How often each "sometimes" goal was reached (see `goals`).
    goals: BTreeMap<&'static str, u64>,
    scratch: String,
    /// Typed events, in the order they happened (only when capturing).
    captured: Vec<Captured>,
    /// The machine each client node runs on (`client-3` → `producer`), when capturing.
    machines: BTreeMap<String, String>,
    /// The replica and group invariants, fed every node event.
    invariants: kafkasim_check::invariants::Invariants,
    /// Findings application code reported (a wait that timed out, …).
    reported: Vec<kafkasim_check::Finding>,
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
    /// A trace that also keeps every line in Kafka's words, for `kafkasim replay`.
    pub fn keeping_lines() -> Self {
        Trace::new(Some(TraceLines::Readable), false)
    }

    /// A trace that also captures typed events, for `kafkasim run --report`.
    pub fn keeping_events() -> Self {
        Trace::new(None, true)
    }

    /// A trace that keeps its lines (read as `keep_lines` says) and/or
    /// captures typed events.
    pub fn new(keep_lines: Option<TraceLines>, capture: bool) -> Self {
        let trace = Trace {
            state: Arc::default(),
            capturing: capture,
        };
        if let Some(form) = keep_lines {
            trace.lock().lines = Some((form, Vec::new()));
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

    /// Records what became of a message (`passage`) at `node`: one it received
    /// from `peer`, or one it sent `peer`. The hash takes the message's fields;
    /// its text is made only when lines are kept.
    pub fn record_message(
        &self,
        time_ms: u64,
        node: NodeId,
        passage: Passage,
        peer: NodeId,
        message: &Message,
    ) {
        let word = passage.word();
        self.record_fields(time_ms, node, (word, peer, message), |form| match form {
            TraceLines::Readable => {
                let (arrow, what) = passage.readable();
                let peer = peer.to_string();
                format!("{arrow} {peer:<10} {what}{}", text::message(message))
            }
            TraceLines::Debug => format!("{word} {peer} {message:?}"),
        });
    }

    /// Records an event a node emitted, hashed by its fields like a message.
    pub fn record_event<E: Hash + std::fmt::Debug + EventText>(
        &self,
        time_ms: u64,
        node: NodeId,
        event: &E,
    ) {
        self.record_fields(time_ms, node, ("event", event), |form| match form {
            TraceLines::Readable => format!("event: {}", event.text()),
            TraceLines::Debug => format!("event {event:?}"),
        });
    }

    fn record_fields(
        &self,
        time_ms: u64,
        node: NodeId,
        fields: impl Hash,
        text: impl FnOnce(TraceLines) -> String,
    ) {
        let mut state = self.lock();
        let state = &mut *state;
        (time_ms, node, fields).hash(&mut Fields(&mut state.hash));
        state.events += 1;
        if let Some((form, lines)) = state.lines.as_mut() {
            let form = *form;
            lines.push(line_start(form, time_ms, node) + &text(form));
        }
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
        if let Some((form, lines)) = state.lines.as_mut() {
            lines.push(match form {
                TraceLines::Readable => line_start(*form, time_ms, node) + &what.to_string(),
                TraceLines::Debug => state.scratch.clone(),
            });
        }
    }

    pub fn count_message(&self) {
        self.lock().messages += 1;
    }

    /// Adds a line to the human timeline (also part of the trace).
    pub fn timeline(&self, time_ms: u64, node: impl Into<String>, text: impl Into<String>) {
        self.timeline_toned(time_ms, node, Tone::Plain, text);
    }

    /// A timeline line of a given [`Tone`] (the tone is not part of the hash).
    pub fn timeline_toned(
        &self,
        time_ms: u64,
        node: impl Into<String>,
        tone: Tone,
        text: impl Into<String>,
    ) {
        let entry = TimelineEntry {
            time_ms,
            node: node.into(),
            tone,
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

    /// The invariant violations seen so far (see `kafkasim_check::invariants`).
    pub fn invariant_violations(&self) -> Vec<kafkasim_check::Finding> {
        self.state
            .lock()
            .expect("trace lock")
            .invariants
            .violations()
    }

    /// Keeps a finding application code reported, for the judge.
    pub fn report(&self, finding: kafkasim_check::Finding) {
        self.lock().reported.push(finding);
    }

    /// The findings application code reported, in order.
    pub fn reported(&self) -> Vec<kafkasim_check::Finding> {
        self.lock().reported.clone()
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
        (self.lock().lines.as_ref()).map_or(vec![], |(_, lines)| lines.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED_EMPTY: u64 = 17000207419819880712;
    const PINNED_LINE: u64 = 12795556003888922613;

    fn hash(chunks: &[&[u8]]) -> u64 {
        let mut h = TraceHash::default();
        for chunk in chunks {
            h.write(chunk);
        }
        h.finish()
    }

    #[test]
    fn the_trace_hash_is_pinned() {
        // A change here changes every seed's printed hash: on purpose only.
        assert_eq!(hash(&[]), PINNED_EMPTY);
        assert_eq!(hash(&[b"0 broker-1 recv client-1 Request"]), PINNED_LINE);
    }

    #[test]
    fn how_the_lines_read_never_changes_the_hash() {
        use kafkasim::event::ClusterEvent;
        use kafkasim::protocol::{MetadataRequest, Request};
        let message = Message::Request {
            correlation_id: 0,
            request: Request::Metadata(MetadataRequest { topics: None }),
        };
        let traced = |form: Option<TraceLines>| {
            let trace = Trace::new(form, false);
            let (broker, client) = (NodeId::Broker(1), NodeId::Client(2));
            trace.record_message(12, broker, Passage::Received, client, &message);
            trace.record_message(13, broker, Passage::Stalled, client, &message);
            trace.record_event(14, broker, &ClusterEvent::BrokerFenced { broker: 3 });
            trace.record(15, broker, format_args!("cannot connect broker-2"));
            (trace.hash(), trace.lines())
        };
        let (plain, none) = traced(None);
        let (readable, lines) = traced(Some(TraceLines::Readable));
        let (debug, debug_lines) = traced(Some(TraceLines::Debug));
        assert_eq!((readable, debug), (plain, plain));
        assert!(none.is_empty());
        assert_eq!(
            lines,
            [
                "      12 ms  broker-1 ← client-2   Metadata request (correlation 0): all topics",
                "      13 ms  broker-1 → client-2   held, the link stalled: Metadata request \
                 (correlation 0): all topics",
                "      14 ms  broker-1 event: broker-3 fenced: no heartbeat within the session \
                 timeout",
                "      15 ms  broker-1 cannot connect broker-2",
            ]
        );
        assert_eq!(
            debug_lines[0],
            "      12 broker-1 recv client-2 Request { correlation_id: 0, request: \
             Metadata(MetadataRequest { topics: None }) }"
        );
    }

    #[test]
    fn the_trace_hash_does_not_depend_on_how_bytes_were_written() {
        let text = b"12 broker-1 recv client-3 Request { api: Produce }\n";
        let whole = hash(&[text]);
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(hash(&[a, b]), whole, "cut at {cut}");
            assert_eq!(
                hash(&[a, &[], b]),
                whole,
                "cut at {cut}, with an empty write"
            );
        }
    }

    #[test]
    fn the_trace_hash_tells_apart_nearby_texts() {
        let base: &[u8] = b"100 broker-2 recv broker-1 FetchResponse";
        let mut seen = std::collections::BTreeSet::new();
        seen.insert(hash(&[base]));
        // Every single-bit change, and a trailing zero byte, give a new hash.
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut changed = base.to_vec();
                changed[i] ^= 1 << bit;
                assert!(seen.insert(hash(&[&changed])), "byte {i} bit {bit}");
            }
        }
        assert!(seen.insert(hash(&[base, &[0]])));
        assert!(seen.insert(hash(&[&base[..base.len() - 1]])));
    }
}
