//! The words for every message and event a trace records, one line each.
//!
//! `kafkasim replay` prints these lines, a report's `trace.jsonl` keeps the same
//! text in its `text` field, and the report's page shows it: one formatter, so
//! the three always agree. A line speaks Kafka: the API's name and whether it asks
//! or answers (`Fetch request`, `Produce response`), then the fields that matter
//! by Kafka's names (`acks=all`, `fetch_offset`, `high_watermark`,
//! `current_leader_epoch`), error codes by their names (`NOT_LEADER_OR_FOLLOWER`),
//! a metadata image summarized. A field that is absent is left out; a bound
//! that is not one ("wait forever") is said in words, never as the largest
//! integer that stands for it.
//!
//! What a line leaves out: record keys and timestamps, each partition's
//! `partition_max_bytes`, and everything past a bounded number of partitions or
//! record values (counted instead). `kafkasim replay --debug` prints every field.
//!
//! The text is made only here, at the edge: nothing reads it back, and the trace
//! hash never takes it (it takes the messages' fields).

use kafkasim::error::ErrorCode;
use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim::protocol::Message;
use kafkasim::record::{Data, RecordBatch};

mod event;
mod request;
mod response;
#[cfg(test)]
mod tests;

pub use event::EventText;
pub(crate) use request::request;
pub(crate) use response::response;

/// What a message concerns and what it says: the partitions it names (for a
/// report's filters) and its text after the API's name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Told {
    pub partitions: Vec<TopicPartition>,
    pub text: String,
}

impl Told {
    fn new(partitions: Vec<TopicPartition>, text: impl Into<String>) -> Self {
        Told {
            partitions,
            text: text.into(),
        }
    }

    /// Told without naming a partition.
    fn text(text: impl Into<String>) -> Self {
        Told::new(vec![], text)
    }
}

/// A message in one line: `Produce request (correlation 4): acks=all, …`.
pub fn message(message: &Message) -> String {
    match message {
        Message::Request {
            correlation_id,
            request: r,
        } => line(r.api_name(), "request", *correlation_id, &request(r).text),
        Message::Response {
            correlation_id,
            response: r,
        } => line(r.api_name(), "response", *correlation_id, &response(r).text),
    }
}

fn line(api: &str, direction: &str, correlation_id: u64, text: &str) -> String {
    if text.is_empty() {
        format!("{api} {direction} (correlation {correlation_id})")
    } else {
        format!("{api} {direction} (correlation {correlation_id}): {text}")
    }
}

/// At most this many partitions (or topics, or members) are named in one line;
/// the rest are counted.
const ITEMS_SHOWN: usize = 6;

/// At most this many record values are named for one batch or one poll.
const VALUES_SHOWN: usize = 4;

/// A value longer than this is shown as `…`: a line is for reading.
const VALUE_CHARS_MAX: usize = 40;

/// The items joined by `separator`, the first [`ITEMS_SHOWN`] of them named and
/// the rest counted (`+3 more`).
fn listed(items: impl IntoIterator<Item = String>, separator: &str) -> String {
    let mut shown = Vec::new();
    let mut more = 0;
    for item in items {
        if shown.len() < ITEMS_SHOWN {
            shown.push(item);
        } else {
            more += 1;
        }
    }
    if more > 0 {
        shown.push(format!("+{more} more"));
    }
    shown.join(separator)
}

/// Records as a list: `[Alice, Bob +2]`, at most [`VALUES_SHOWN`] named.
fn values(all: impl ExactSizeIterator<Item = String>) -> String {
    let total = all.len();
    let shown: Vec<String> = all.take(VALUES_SHOWN).collect();
    let more = total.saturating_sub(VALUES_SHOWN);
    if more > 0 {
        format!("[{} +{more}]", shown.join(", "))
    } else {
        format!("[{}]", shown.join(", "))
    }
}

/// A record as a line shows it: its value, after its key if it has one
/// (`Alice`, `offset/group-1/users/0: offset=5 …`). Bytes that are not UTF-8
/// show as `Data` shows them (`0x…`), a tombstone as `(tombstone)`.
fn record(key: Option<&Data>, value_data: Option<&Data>) -> String {
    let value_text = match value_data {
        Some(data) => data.to_string(),
        None => "(tombstone)".to_string(),
    };
    match key {
        Some(key) => format!("{}: {}", value(&key.to_string()), value(&value_text)),
        None => value(&value_text).to_string(),
    }
}

fn batch_values(batch: &RecordBatch) -> String {
    values(
        (batch.records.iter())
            .map(|r| record(r.key.as_ref(), r.value.as_ref()))
            .collect::<Vec<_>>()
            .into_iter(),
    )
}

/// `1 record`, `3 records`.
fn records(count: usize) -> String {
    counted(count, "record")
}

/// `1 topic`, `3 topics`: a count and a noun that takes an `s`.
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A value as a line shows it: `…` when it is too long to read there.
fn value(value: &str) -> &str {
    if value.chars().count() > VALUE_CHARS_MAX {
        "…"
    } else {
        value
    }
}

/// Broker ids as Kafka's tools print a replica list: `[1,2,3]`.
fn brokers(ids: &[BrokerId]) -> String {
    let names: Vec<String> = ids.iter().map(|b| b.to_string()).collect();
    format!("[{}]", names.join(","))
}

/// A duration in milliseconds; the largest value stands for "no deadline".
fn duration(ms: u64) -> String {
    if ms == u64::MAX {
        "no deadline".to_string()
    } else {
        format!("{ms} ms")
    }
}

/// `text`, followed by the error's name unless it is `NONE`.
fn with_error(text: impl Into<String>, code: ErrorCode) -> String {
    let text = text.into();
    match (code, text.is_empty()) {
        (ErrorCode::None, _) => text,
        (_, true) => code.name().to_string(),
        (_, false) => format!("{text} {}", code.name()),
    }
}

/// A partition's name and what it says, or only the name when it says nothing.
fn part(partition: &TopicPartition, text: &str) -> String {
    if text.is_empty() {
        partition.to_string()
    } else {
        format!("{partition} {text}")
    }
}
