//! The history of a run: every client operation as an invocation and a completion.
//!
//! A checker must judge a run by what its clients saw, never by the nodes' insides.
//! The history is that record, in the shape Jepsen gave the field: a client
//! *invokes* an operation (a send, a poll) and later the operation *completes* as
//! - `Ok`: it happened, with what it returned (the acked offset, the polled records);
//! - `Fail`: it definitely did not happen (the client knows the write was refused);
//! - `Info`: nobody knows (a timeout): the write may or may not be in the log.
//!
//! An operation still open when the run ends counts as `Info`. Between operations a
//! client also reports *events*: a producer its settings when it starts, a
//! consumer the group it joins, what moves its position without a poll (a
//! rebalance giving it partitions or taking them away, its own seeks), and each
//! record the application processed.
//!
//! Every entry carries the simulated time and the client process (`producer-1`,
//! `consumer-2`). Entries are kept in the order they were recorded, which in the
//! simulator is also time order: that order is what "between two polls" means.
//!
//! A send is known by its id, the [`OpId`] of its invocation, and a polled
//! record by the send it came from: the simulator's producers stamp each record
//! with its send's id in a header ([`SEND_ID_HEADER`]), as an application
//! stamps a trace id, so two sends of the same value stay two sends. The value
//! is kept beside, as Kafka has it ([`Value`]: optional bytes, `None` for a
//! tombstone), and shown to people as text. A polled record without the
//! header (a history written by hand, or by clients that stamp nothing) names
//! the send of the same value: there values must be unique within the run.
//! Keys, the other headers and timestamps are left out: no checker reads them.

use kafkasim::client::consumer::{ConsumerRecord, RebalanceEvent};
use kafkasim::ids::{LeaderEpoch, Offset, TopicPartition};
use kafkasim::protocol::Acks;
use kafkasim::record::{Data, Header};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Names one operation of a history: the position of its invocation entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpId(pub(crate) usize);

impl OpId {
    /// The position of the operation's invocation among the history's entries.
    pub fn index(self) -> usize {
        self.0
    }
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A producer sends `value` to `topic`. Which partition it goes to is a
    /// fact of its acknowledgement: a producer picks it only once it knows the
    /// topic's partitions.
    Send { topic: String, value: Value },
    /// A consumer polls; `partitions` is its assignment as it knows it when it
    /// polls (empty when it cannot know yet). `Ok` carries the records returned.
    Poll { partitions: Vec<TopicPartition> },
    /// A consumer commits offsets (the next offset to read, per partition);
    /// `None`: the positions its polls reached.
    Commit {
        offsets: Option<Vec<(TopicPartition, Offset)>>,
    },
}

/// One record a poll returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolledRecord {
    pub partition: TopicPartition,
    pub offset: Offset,
    /// The leader epoch that appended it (Kafka's `ConsumerRecord.leaderEpoch`);
    /// `-1` when unknown (a history written before it was recorded).
    #[serde(default = "unknown_epoch")]
    pub leader_epoch: LeaderEpoch,
    pub value: Value,
    /// The send it came from, as its producer stamped it ([`SEND_ID_HEADER`]);
    /// `None` when the record carries no such header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<OpId>,
}

/// The header in which the simulator's producers stamp a record with its
/// send's id: the id's decimal digits, a few bytes more per record.
pub const SEND_ID_HEADER: &str = "send-id";

/// The header that stamps a record with the id of its send.
pub fn send_id_header(send: OpId) -> Header {
    Header {
        key: SEND_ID_HEADER.to_string(),
        value: Some(Data::from(send.0.to_string())),
    }
}

/// The send id a record's headers carry, if one is there and reads as one.
pub fn send_id(headers: &[Header]) -> Option<OpId> {
    let header = headers.iter().find(|h| h.key == SEND_ID_HEADER)?;
    header.value.as_ref()?.as_str()?.parse().ok().map(OpId)
}

/// A record's value as text for people: UTF-8 as it is, other bytes as
/// `Data`'s hex (`0x…`), a tombstone (no value) as empty text.
pub use kafkasim::record::value_text;

/// A record's value as the history keeps it: Kafka's optional bytes, `None`
/// for a tombstone. In JSON, UTF-8 is a string, other bytes `{"hex": …}` and a
/// tombstone `null`; shown to people, it is [`value_text`].
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Value(pub Option<Data>);

impl Value {
    /// The value as text, if it is a present UTF-8 value.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_ref()?.as_str()
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&value_text(&self.0))
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value(Some(Data::from(text)))
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value(Some(Data::from(text)))
    }
}

impl From<&Option<Data>> for Value {
    fn from(value: &Option<Data>) -> Value {
        Value(value.clone())
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, text: &str) -> bool {
        self.as_str() == Some(text)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, text: &&str) -> bool {
        self.as_str() == Some(*text)
    }
}

fn unknown_epoch() -> LeaderEpoch {
    -1
}

/// What an operation that happened returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// A send, acked at `offset` of `partition`. `acks=0` acks without an
    /// offset: Kafka reports `-1` there, and the checkers place such a send nowhere.
    Sent {
        partition: TopicPartition,
        offset: Offset,
    },
    /// A poll, with its records in the order the consumer returned them.
    Polled { records: Vec<PolledRecord> },
    /// A commit the coordinator accepted.
    Committed,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Ok(Reply),
    /// It definitely did not happen; `error` is the client's error, as printed.
    Fail { error: String },
    /// It may or may not have happened (a timeout, a lost response).
    Info { error: String },
}

impl Outcome {
    /// A send acked at `offset` of `partition`.
    pub fn sent(partition: TopicPartition, offset: Offset) -> Outcome {
        Outcome::Ok(Reply::Sent { partition, offset })
    }

    /// A poll that returned `records`.
    pub fn polled(records: Vec<PolledRecord>) -> Outcome {
        Outcome::Ok(Reply::Polled { records })
    }

    /// How a consumer's poll ended: its records, or its error (a poll that
    /// failed returned nothing).
    pub fn of_poll<E: std::fmt::Display>(polled: &Result<Vec<ConsumerRecord>, E>) -> Outcome {
        match polled {
            Ok(records) => Outcome::polled(records.iter().map(PolledRecord::from).collect()),
            Err(error) => Outcome::Fail {
                error: error.to_string(),
            },
        }
    }
}

/// Something a client reports that is not an operation: a producer's settings,
/// a consumer's group, what changes what it polls next, what it processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientEvent {
    /// A producer started with these settings: what its acknowledgements promise.
    Producer { acks: Acks, idempotence: bool },
    /// A consumer subscribed to `topics` as a member of `group`.
    Subscribed { group: String, topics: Vec<String> },
    /// The application said when it commits what it processes (only the
    /// application knows; without it the judge assumes at-least-once).
    Delivery { group: String, mode: DeliveryMode },
    /// The application processed a record it polled (a group's work).
    Processed { record: PolledRecord },
    /// `onPartitionsAssigned` (or a manual `assign`): these partitions start from
    /// a position the consumer fetched or chose, not from where it last polled.
    Assigned { partitions: Vec<TopicPartition> },
    /// `onPartitionsRevoked`: given up in an orderly rebalance.
    Revoked { partitions: Vec<TopicPartition> },
    /// `onPartitionsLost`: taken away while the member was out of the group.
    Lost { partitions: Vec<TopicPartition> },
    /// The application moved its position in `partition` to `offset`.
    Seek {
        partition: TopicPartition,
        offset: Offset,
    },
    /// A consumer read `partition` to its end: its position reached the high
    /// watermark its last fetch reported, `end_offset`, and a poll found nothing
    /// more (a run's final read, after the faults are healed). An acked record
    /// at `end_offset` or past it is no longer in the log.
    ReadToEnd {
        partition: TopicPartition,
        end_offset: Offset,
    },
}

/// When a consumer group's application commits what it polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    /// Commit after processing: a crash in between redelivers (duplicates).
    AtLeastOnce,
    /// Commit before processing: a crash in between skips (losses).
    AtMostOnce,
}

/// One line of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    Invoke {
        op: OpId,
        time_ms: u64,
        process: String,
        operation: Operation,
    },
    Complete {
        op: OpId,
        time_ms: u64,
        process: String,
        outcome: Outcome,
    },
    Event {
        time_ms: u64,
        process: String,
        event: ClientEvent,
    },
}

impl Entry {
    /// The client process the entry is about.
    pub fn process(&self) -> &str {
        match self {
            Entry::Invoke { process, .. }
            | Entry::Complete { process, .. }
            | Entry::Event { process, .. } => process,
        }
    }

    pub fn time_ms(&self) -> u64 {
        match self {
            Entry::Invoke { time_ms, .. }
            | Entry::Complete { time_ms, .. }
            | Entry::Event { time_ms, .. } => *time_ms,
        }
    }
}

#[derive(Debug, Default)]
struct Recorded {
    entries: Vec<Entry>,
    /// Operations invoked and not yet completed.
    open: BTreeSet<OpId>,
}

/// A shared handle to a run's history: clone it into every client task.
///
/// A std `Mutex`, not a tokio one, because no `await` happens while it is held;
/// in the simulator every task runs on one thread, so it is never contended.
#[derive(Debug, Clone, Default)]
pub struct History(Arc<Mutex<Recorded>>);

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Records that `process` asked for `operation` at `time_ms`.
    pub fn invoke(&self, time_ms: u64, process: &str, operation: Operation) -> OpId {
        let mut recorded = self.lock();
        recorded.assert_in_time_order(time_ms);
        if matches!(operation, Operation::Poll { .. }) {
            // A Kafka consumer is not thread-safe: its polls never overlap.
            assert!(
                !recorded
                    .open
                    .iter()
                    .any(|&op| recorded.is_poll_by(op, process)),
                "{process} polls while its previous poll is still open"
            );
        }
        let op = OpId(recorded.entries.len());
        recorded.entries.push(Entry::Invoke {
            op,
            time_ms,
            process: process.to_string(),
            operation,
        });
        recorded.open.insert(op);
        op
    }

    /// Records how `op` ended, at `time_ms`.
    pub fn complete(&self, op: OpId, time_ms: u64, outcome: Outcome) {
        let mut recorded = self.lock();
        recorded.assert_in_time_order(time_ms);
        assert!(
            recorded.open.remove(&op),
            "{op:?} completes once, after its invocation"
        );
        let Entry::Invoke {
            process, operation, ..
        } = &recorded.entries[op.0]
        else {
            unreachable!("an open OpId names an invocation");
        };
        if let Outcome::Ok(reply) = &outcome {
            let matches = matches!(
                (operation, reply),
                (Operation::Send { .. }, Reply::Sent { .. })
                    | (Operation::Poll { .. }, Reply::Polled { .. })
                    | (Operation::Commit { .. }, Reply::Committed)
            );
            assert!(matches, "{op:?} ({operation:?}) cannot return {reply:?}");
        }
        let process = process.clone();
        recorded.entries.push(Entry::Complete {
            op,
            time_ms,
            process,
            outcome,
        });
    }

    /// Records an event of client `process`. Kafka runs the rebalance listener
    /// inside `poll`, so a consumer records the events of a poll *before* that
    /// poll's completion: the poll's records then count as coming after them.
    pub fn event(&self, time_ms: u64, process: &str, event: ClientEvent) {
        let mut recorded = self.lock();
        recorded.assert_in_time_order(time_ms);
        recorded.entries.push(Entry::Event {
            time_ms,
            process: process.to_string(),
            event,
        });
    }

    /// Hands every entry, in the order they were recorded, to `read`, without
    /// copying them (nothing can be recorded meanwhile).
    pub fn with_entries<R>(&self, read: impl FnOnce(&[Entry]) -> R) -> R {
        read(&self.lock().entries)
    }

    /// A copy of every entry, in the order they were recorded.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.0.lock().expect("no thread panics while recording")
    }
}

impl Recorded {
    fn assert_in_time_order(&self, time_ms: u64) {
        let last_ms = self.entries.last().map_or(0, Entry::time_ms);
        assert!(
            time_ms >= last_ms,
            "history entries come in time order ({time_ms} ms after {last_ms} ms)"
        );
    }

    fn is_poll_by(&self, op: OpId, process: &str) -> bool {
        matches!(
            &self.entries[op.0],
            Entry::Invoke { process: p, operation: Operation::Poll { .. }, .. } if p == process
        )
    }
}

/// A history serializes as the list of its entries.
impl Serialize for History {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.lock().entries.serialize(serializer)
    }
}

impl From<&ConsumerRecord> for PolledRecord {
    fn from(record: &ConsumerRecord) -> PolledRecord {
        PolledRecord {
            partition: record.partition.clone(),
            offset: record.offset,
            leader_epoch: record.leader_epoch,
            value: Value::from(&record.value),
            send: send_id(&record.headers),
        }
    }
}

impl From<RebalanceEvent> for ClientEvent {
    fn from(event: RebalanceEvent) -> ClientEvent {
        match event {
            RebalanceEvent::Assigned(partitions) => ClientEvent::Assigned { partitions },
            RebalanceEvent::Revoked(partitions) => ClientEvent::Revoked { partitions },
            RebalanceEvent::Lost(partitions) => ClientEvent::Lost { partitions },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp() -> TopicPartition {
        TopicPartition::new("users", 0)
    }

    #[test]
    fn a_history_records_invocations_completions_and_events_in_order() {
        let history = History::new();
        let send = history.invoke(
            10,
            "producer-1",
            Operation::Send {
                topic: "users".into(),
                value: "a".into(),
            },
        );
        history.event(
            15,
            "consumer-1",
            ClientEvent::Assigned {
                partitions: vec![tp()],
            },
        );
        history.complete(send, 20, Outcome::sent(tp(), 0));
        let entries = history.entries();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[2],
            Entry::Complete {
                op: send,
                time_ms: 20,
                process: "producer-1".into(),
                outcome: Outcome::sent(tp(), 0),
            }
        );
    }

    #[test]
    fn a_history_serializes_as_its_list_of_entries() {
        let history = History::new();
        let poll = history.invoke(
            5,
            "consumer-1",
            Operation::Poll {
                partitions: vec![tp()],
            },
        );
        history.complete(
            poll,
            7,
            Outcome::Info {
                error: "timed out".into(),
            },
        );
        let json = serde_json::to_string(&history).expect("a history is plain data");
        assert_eq!(
            json,
            r#"[{"invoke":{"op":0,"time_ms":5,"process":"consumer-1","operation":{"poll":{"partitions":[{"topic":"users","partition":0}]}}}},{"complete":{"op":0,"time_ms":7,"process":"consumer-1","outcome":{"info":{"error":"timed out"}}}}]"#
        );
    }

    #[test]
    fn values_are_kafka_s_optional_bytes_and_read_back_as_written() {
        let values = [
            (Value::from("Alice"), r#""Alice""#, "Alice"),
            (Value(None), "null", ""),
            (
                Value(Some(Data::new(vec![0x00, 0xff]))),
                r#"{"hex":"00ff"}"#,
                "0x00ff",
            ),
            (Value::from(""), r#""""#, ""),
        ];
        for (value, json, shown) in values {
            let written = serde_json::to_string(&value).expect("plain data");
            assert_eq!(written, json);
            let read: Value = serde_json::from_str(&written).expect("reads back");
            assert_eq!(read, value);
            assert_eq!(value.to_string(), shown);
        }
        // A tombstone is no value, not an empty one.
        assert_ne!(Value(None), Value::from(""));
    }

    #[test]
    fn a_record_names_its_send_by_the_header_its_producer_stamped() {
        let send = OpId(41);
        let mut record = ConsumerRecord {
            partition: tp(),
            offset: 3,
            leader_epoch: 0,
            key: None,
            value: None,
            headers: vec![send_id_header(send)],
            timestamp_ms: 0,
        };
        let polled = PolledRecord::from(&record);
        assert_eq!(polled.send, Some(send));
        assert_eq!(polled.value, Value(None));
        // No header, or one that is not a number: no send named.
        record.headers[0].value = Some(Data::from("x"));
        assert_eq!(PolledRecord::from(&record).send, None);
        record.headers.clear();
        assert_eq!(PolledRecord::from(&record).send, None);
    }

    #[test]
    #[should_panic(expected = "completes once")]
    fn completing_an_operation_twice_is_a_bug() {
        let history = History::new();
        let poll = history.invoke(0, "consumer-1", Operation::Poll { partitions: vec![] });
        history.complete(poll, 1, Outcome::polled(vec![]));
        history.complete(poll, 2, Outcome::polled(vec![]));
    }
}
