//! How a trace's kept lines read: in Kafka's words or every field
//! ([`TraceLines`]), and what became of the message a line tells ([`Passage`]).

use kafkasim::ids::NodeId;

/// How the lines a trace keeps read (`kafkasim replay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceLines {
    /// One line per message or event in Kafka's words: `Fetch request
    /// (correlation 3): replica 2 …`, the same text a report's `trace.jsonl` has.
    #[default]
    Readable,
    /// Every field of every message and event, as Rust's `Debug` prints it
    /// (`kafkasim replay --debug`).
    Debug,
}

/// What happened to a message a trace line tells: received, or held, sent or
/// dropped by a stall or a closed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passage {
    /// Delivered to the node that reads it.
    Received,
    /// Arrived on a connection the node had already closed.
    Discarded,
    /// Held by the sender while its link is stalled.
    Stalled,
    /// Sent on, once the stall that held it ended.
    Unstalled,
    /// Dropped: the stalled link held as many messages as it may.
    DroppedStallFull,
    /// Dropped: its connection broke while a stall held it.
    DroppedConnectionGone,
}

impl Passage {
    /// The word the trace hash takes (and `--debug` prints). Hashes of runs made
    /// before the lines were readable took the same words.
    pub(super) fn word(self) -> &'static str {
        match self {
            Passage::Received => "recv",
            Passage::Discarded => "discard",
            Passage::Stalled => "stall",
            Passage::Unstalled => "unstall",
            Passage::DroppedStallFull => "drop (stall full)",
            Passage::DroppedConnectionGone => "drop (connection gone)",
        }
    }

    /// The arrow from the node (`←` it reads, `→` it sends) and what came of
    /// the message, for a readable line.
    pub(super) fn readable(self) -> (&'static str, &'static str) {
        match self {
            Passage::Received => ("←", ""),
            Passage::Discarded => ("←", "discarded, its connection closed: "),
            Passage::Stalled => ("→", "held, the link stalled: "),
            Passage::Unstalled => ("→", "sent, the stall over: "),
            Passage::DroppedStallFull => ("→", "dropped, the stalled link full: "),
            Passage::DroppedConnectionGone => ("→", "dropped, its connection gone: "),
        }
    }
}

/// The start of a kept line: the time and the node it happened on.
pub(super) fn line_start(form: TraceLines, time_ms: u64, node: NodeId) -> String {
    match form {
        TraceLines::Readable => format!("{time_ms:>8} ms  {node} "),
        // `NodeId`'s `Display` ignores the width: the old lines have one space.
        TraceLines::Debug => format!("{time_ms:>8} {node:<12} "),
    }
}
