//! Jepsen's own Kafka checker tests, as kafkasim's: the histories of the
//! non-transactional cases of `jepsen/test/jepsen/tests/kafka_test.clj`
//! (Jepsen's `jepsen.tests.kafka` checker), written in kafkasim's vocabulary
//! and judged by kafkasim's checkers under the safe configuration.
//!
//! Each test's first line names the Jepsen case it mirrors: its `deftest`, and
//! its `testing` block or assertion when there are several (`sub-y`,
//! `assign-xy`, … are the names Jepsen's test gives the operations it puts
//! between two others). The test then says what Jepsen's test expects, and
//! asserts every kind kafkasim reports, in order. Where
//! kafkasim's answer differs, the test asserts kafkasim's and its comment says
//! why: that comment is the documentation of the difference.
//!
//! ## How a Jepsen history becomes a kafkasim one
//!
//! - A Jepsen *key* is a partition: key `x` is `x-0` (a topic of one partition).
//! - A Jepsen *process* both sends and polls; its sends are `producer-N`'s and
//!   its polls `consumer-N`'s.
//! - A Jepsen `send` operation of several sends is one producer issuing them
//!   all, in flight together, and each then ending. A send Jepsen gives an
//!   offset is acknowledged there (`ok`), even in an operation that ended
//!   `info`: without transactions, a send whose future returned an offset is
//!   written, whatever became of the operation's other sends. A send without
//!   an offset in an `info` (or an offsetless `ok`) operation is unanswered
//!   (`info`); in a `fail` operation it failed.
//! - A Jepsen `poll` operation of several polls is as many polls.
//! - `subscribe`/`assign` become what moves a consumer's position: a partition
//!   it no longer reads is `Revoked` (its position is given up), a partition it
//!   starts reading is `Assigned`; a partition it keeps is not named, because
//!   its position carries on (as Kafka's `assign` and a cooperative rebalance
//!   keep it). The history's events say which positions start afresh, which is
//!   what Jepsen's checker reads from its subscribe and assign operations.
//!   (kafkasim's simulated consumer records a manual `assign` as `Assigned` of
//!   every partition, kept ones too, which makes the checkers start those
//!   afresh: more lenient than the history's vocabulary allows.)
//!
//! ## The cases
//!
//! 32 cases; Jepsen's transactional ones (`g0-test`, `g1c-pure-wr-test`,
//! `g1c-ww-wr-test`, `precommitted-read-test`, the `poll-skip-test` "txn
//! abort" cases), its tests of helper functions (`op->max-offsets-test`,
//! `log->last-index->values-test`, `log->value->first-index-test`) and of its
//! generator (`gen-poll-unseen-test`) have no counterpart here. "Jepsen" lists
//! what Jepsen's test asserts; "kafkasim" every kind kafkasim reports.
//!
//! | Jepsen case | Jepsen | kafkasim | |
//! |---|---|---|---|
//! | `version-orders-test` | inconsistent-offsets | inconsistent-offsets, duplicate, lost-write, unseen | same (1) |
//! | `version-orders-test` "a real-world example" | inconsistent-offsets | inconsistent-offsets, unseen ×2 | same (2) |
//! | `inconsistent-offsets-test` "info conflicts", no poll | nothing | inconsistent-offsets, unseen ×2 | different (3) |
//! | `inconsistent-offsets-test` "info conflicts", with the poll | inconsistent-offsets | inconsistent-offsets, unseen ×2 | same (2) |
//! | `g1a-test` | G1a | aborted-read | same, kafkasim's name |
//! | `lost-write-test` "consistent" | lost-write ×2 | lost-write ×2, unseen | same (2) |
//! | `lost-write-test` "inconsistent" | lost-write | inconsistent-offsets, lost-write | same (2) |
//! | `lost-write-test` "atomic", without the poll of a | nothing | lost-write | different (4) |
//! | `lost-write-test` "atomic", with the poll of a | lost-write | lost-write | same |
//! | `poll-skip-test` | poll-skip ×2 | lost-write, poll-skip ×2 | same (2) |
//! | `poll-skip-test` subscribe/assign y | nothing | lost-write | same (2) |
//! | `poll-skip-test` subscribe/assign x y | poll-skip ×2 | lost-write, poll-skip ×2 | same (2) |
//! | `nonmonotonic-poll-test` "together" | nonmonotonic-poll | nonmonotonic-poll | same |
//! | `nonmonotonic-poll-test` subscribe y | nothing | nothing | same |
//! | `nonmonotonic-poll-test` assign y | nothing | nothing | same |
//! | `nonmonotonic-poll-test` subscribe x y | nonmonotonic-poll | nonmonotonic-poll | same |
//! | `nonmonotonic-poll-test` assign x y | nonmonotonic-poll | nonmonotonic-poll | same |
//! | `nonmonotonic-send-test` | nonmonotonic-send | unseen ×4, nonmonotonic-send ×2 | same (5) |
//! | `nonmonotonic-send-test` subscribe y | nothing | unseen ×4, nonmonotonic-send ×2 | different (6) |
//! | `nonmonotonic-send-test` assign y | nothing | unseen ×4, nonmonotonic-send ×2 | different (6) |
//! | `nonmonotonic-send-test` subscribe x y | nonmonotonic-send | unseen ×4, nonmonotonic-send ×2 | same (5) |
//! | `nonmonotonic-send-test` assign x y | nonmonotonic-send | unseen ×4, nonmonotonic-send ×2 | same (5) |
//! | `int-poll-skip-test` | int-poll-skip ×2 | poll-skip ×2, nonmonotonic-poll ×2 | same, kafkasim's name (7) |
//! | `int-send-skip-test` | int-send-skip | lost-write | different (8) |
//! | `int-nonmonotonic-poll-test` | int-nonmonotonic-poll ×2 | nonmonotonic-poll ×2 | same, kafkasim's name (7) |
//! | `int-nonmonotonic-send-test` | int-nonmonotonic-send ×2 | unseen ×2, int-nonmonotonic-send ×2 | same (2) |
//! | `duplicate-test` "basic" | duplicate | duplicate | same |
//! | `duplicate-test` "hash-insensitive" | inconsistent-offsets ×2, duplicate ×10 | inconsistent-offsets ×2, duplicate ×10, nonmonotonic-poll ×9 | same (2) |
//! | `duplicate-test` "aborted txns" | duplicate | duplicate, aborted-read | different (9) |
//! | `realtime-lag-test` | (lags only) | nonmonotonic-send | same (10) |
//! | `empty-history-test` | invalid (Elle's empty-transaction-graph) | empty-history | same |
//! | `unseen-test` | nothing unseen at the end | nothing | same |
//!
//! 1. kafkasim's translation acknowledges the sends Jepsen gives offsets, so
//!    it also reports what those acknowledgements imply: `b` at two offsets,
//!    `c` overwritten at an offset a poll reached (`lost-write`: the poll
//!    reached offset 1 and found `b` there), `d` never polled.
//! 2. Beside what Jepsen's test asserts, kafkasim reports acknowledged sends
//!    no poll returned (`unseen`, or `lost-write` when a poll went past them)
//!    and other anomalies the same history holds; Jepsen's test looks at one
//!    kind of error only.
//! 3. Stricter: the send Jepsen gives offset 0 in an `info` operation was
//!    answered with that offset, so without transactions it is written, and
//!    its offset conflicts with another acknowledged send at once. Jepsen
//!    waits for a read proving its operation committed.
//! 4. Stricter, for the same reason: `b` was acknowledged at y@0, and a poll
//!    went past it; whether `a`, sent with it to another partition, was
//!    written is no promise of Kafka's without a transaction.
//! 5. kafkasim compares each send with the highest acknowledged before it was
//!    issued, so both `a` and `b` of the later operation are reported, where
//!    Jepsen compares an operation's first send with the previous one's last.
//! 6. Stricter, and right: a consumer's subscription has nothing to do with a
//!    producer's order. Jepsen's client is producer and consumer in one, and
//!    its checker forgets a process's sends when it subscribes or assigns.
//! 7. A kafkasim poll is one `poll()` call, and the records within a poll and
//!    across a consumer's consecutive polls are compared alike, so kafkasim
//!    has no `int-` kinds for polls: Jepsen's operations hold several polls
//!    (and transactions), kafkasim's do not. The nonmonotonic polls between
//!    operations are what Jepsen's `nonmonotonic-poll` finds there too.
//! 8. kafkasim has no `int-send-skip`: another producer's record between two
//!    of one producer's sends is how Kafka interleaves producers, and Jepsen's
//!    checker always allows the kind (`allowed-error-types`). With a single
//!    writer, a skip needs one of the producer's own records in between, which
//!    lands out of order (`nonmonotonic-send`, `int-nonmonotonic-send`) or
//!    twice (`duplicate`), kinds kafkasim has. `a`, acknowledged at x@1 and
//!    never polled though a poll went past it, is a `lost-write` in both.
//! 9. Jepsen's poll is inside an aborted transaction, which kafkasim does not
//!    model; a kafkasim poll that fails returns nothing. Translated as a poll
//!    that returned the records, the value whose send failed is polled: an
//!    `aborted-read`, rightly.
//! 10. Jepsen's test measures how far consumers lag, which kafkasim does not
//!     measure. Its history ends with a send reordered below two sends its
//!     producer had acknowledged: a `nonmonotonic-send`, which Jepsen's
//!     checker (counting `info` sends a poll placed) reports too.

use super::{judge, Judgement};
use crate::allowed::Config;
use crate::finding::Kind;
use crate::history::{ClientEvent, History, OpId, Operation, Outcome, PolledRecord};
use kafkasim::ids::{Offset, TopicPartition};
use std::cell::Cell;

mod log;
mod order;

/// How one send of a Jepsen operation ended.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Acknowledged at this offset.
    At(Offset),
    /// Unanswered: it may or may not be in the log.
    Info,
    /// Definitely not written.
    Fail,
}

/// A history built the way Jepsen's tests write theirs: one entry after
/// another, each a millisecond after the last.
struct Jepsen {
    history: History,
    clock_ms: Cell<u64>,
}

/// Jepsen's key `key` is kafkasim's partition `key`-0.
fn tp(key: &str) -> TopicPartition {
    TopicPartition::new(key, 0)
}

impl Jepsen {
    fn new() -> Jepsen {
        Jepsen {
            history: History::new(),
            clock_ms: Cell::new(0),
        }
    }

    fn tick(&self) -> u64 {
        self.clock_ms.set(self.clock_ms.get() + 1);
        self.clock_ms.get()
    }

    /// One Jepsen `send` operation: `producer` issues every send (key, value),
    /// in flight together, then each ends as given, in order.
    fn send(&self, producer: &str, sends: &[(&str, &str, End)]) {
        let ops: Vec<OpId> = (sends.iter())
            .map(|&(key, value, _)| {
                let send = Operation::Send {
                    topic: key.into(),
                    value: value.into(),
                };
                self.history.invoke(self.tick(), producer, send)
            })
            .collect();
        for (op, &(key, _, end)) in ops.into_iter().zip(sends) {
            let outcome = match end {
                End::At(offset) => Outcome::sent(tp(key), offset),
                End::Info => Outcome::Info {
                    error: "timed out".into(),
                },
                End::Fail => Outcome::Fail {
                    error: "refused".into(),
                },
            };
            self.history.complete(op, self.tick(), outcome);
        }
    }

    /// One poll of `consumer`, returning these records (key, offset, value).
    fn poll(&self, consumer: &str, records: &[(&str, Offset, &str)]) {
        let mut partitions: Vec<TopicPartition> = records.iter().map(|r| tp(r.0)).collect();
        partitions.dedup();
        let op = self
            .history
            .invoke(self.tick(), consumer, Operation::Poll { partitions });
        let records = (records.iter())
            .map(|&(key, offset, value)| PolledRecord {
                partition: tp(key),
                offset,
                leader_epoch: 0,
                value: value.into(),
                send: None,
            })
            .collect();
        self.history
            .complete(op, self.tick(), Outcome::polled(records));
    }

    /// `consumer` starts reading `keys` from a position it fetched or chose.
    fn assigned(&self, consumer: &str, keys: &[&str]) {
        let partitions = keys.iter().map(|k| tp(k)).collect();
        let event = ClientEvent::Assigned { partitions };
        self.history.event(self.tick(), consumer, event);
    }

    /// `consumer` gives up its position in `keys`.
    fn revoked(&self, consumer: &str, keys: &[&str]) {
        let partitions = keys.iter().map(|k| tp(k)).collect();
        let event = ClientEvent::Revoked { partitions };
        self.history.event(self.tick(), consumer, event);
    }

    /// The judgement under the safe configuration, which allows nothing (as
    /// Jepsen's checker allows none of these kinds but `int-send-skip`).
    fn judged(&self) -> Judgement {
        judge(&self.history.entries(), &Config::safe(), vec![])
    }

    /// The kind of every finding, in the order the judge lists them.
    fn kinds(&self) -> Vec<Kind> {
        self.judged().findings.iter().map(|f| f.kind).collect()
    }

    /// The values each finding of `kind` names.
    fn values(&self, kind: Kind) -> Vec<Vec<String>> {
        let judged = self.judged();
        let found = judged.findings.iter().filter(|f| f.kind == kind);
        found.map(|f| f.values()).collect()
    }
}
