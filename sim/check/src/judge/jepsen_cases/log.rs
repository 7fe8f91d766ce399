//! Jepsen's cases about the log itself: what is at which offset, what was
//! written and never read, and whether there was anything to judge.

use super::End::{At, Fail, Info};
use super::Jepsen;
use crate::finding::Kind::{
    AbortedRead, Duplicate, EmptyHistory, InconsistentOffsets, LostWrite, NonmonotonicPoll, Unseen,
};
use crate::judge::Verdict;

fn strings(values: &[&[&str]]) -> Vec<Vec<String>> {
    (values.iter())
        .map(|vs| vs.iter().map(|v| v.to_string()).collect())
        .collect()
}

/// Mirrors `version-orders-test`, its first assertion.
///
/// The history: a poll reads a, b at x@0, x@1; an `info` operation sent c, b, d
/// with offsets 1, 3, 4. Jepsen: c's write at 1 conflicts with the read of b
/// there (`inconsistent-offsets`). kafkasim agrees, and its translation
/// acknowledges c, b and d, so it also finds b at two offsets, c overwritten at
/// an offset the poll reached, and d never polled.
#[test]
fn version_orders() {
    let j = Jepsen::new();
    j.poll("consumer-0", &[("x", 0, "a"), ("x", 1, "b")]);
    let sends = [("x", "c", At(1)), ("x", "b", At(3)), ("x", "d", At(4))];
    j.send("producer-1", &sends);
    assert_eq!(
        j.kinds(),
        [InconsistentOffsets, Duplicate, LostWrite, Unseen]
    );
    // Sightings at one offset come in the order of their sends (b's record
    // names the send of b, issued after c's).
    assert_eq!(j.values(InconsistentOffsets), strings(&[&["c", "b"]]));
    assert_eq!(j.values(LostWrite), strings(&[&["c", "b"]]));
}

/// Mirrors `version-orders-test` "a real-world example".
///
/// The history: two processes' sends are both acknowledged at offset 537 of key
/// 11. Jepsen: `inconsistent-offsets`. kafkasim agrees; neither send was
/// polled, so both are also `unseen`.
#[test]
fn version_orders_a_real_world_example() {
    let j = Jepsen::new();
    j.send("producer-379", &[("k11", "641", At(537))]);
    j.send("producer-363", &[("k11", "645", At(537))]);
    assert_eq!(j.kinds(), [InconsistentOffsets, Unseen, Unseen]);
    assert_eq!(j.values(InconsistentOffsets), strings(&[&["641", "645"]]));
}

/// The history of `inconsistent-offsets-test` "info conflicts": an `info`
/// operation sends x1 (offset 0) and y1 (no offset); another sends x2, acked
/// at offset 0; `poll_y1` adds a poll that reads y1.
fn info_conflicts(poll_y1: bool) -> Jepsen {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "x1", At(0)), ("y", "y1", Info)]);
    j.send("producer-1", &[("x", "x2", At(0))]);
    if poll_y1 {
        j.poll("consumer-2", &[("y", 5, "y1")]);
    }
    j
}

/// Mirrors `inconsistent-offsets-test` "info conflicts", without the poll.
///
/// Jepsen: nothing, as the `info` operation may not have committed. kafkasim
/// differs, stricter: x1's send was answered with offset 0, and without
/// transactions an answered send is written, whatever became of its operation's
/// other send; two acknowledged sends at x@0 are `inconsistent-offsets` at
/// once.
#[test]
fn inconsistent_offsets_info_conflicts_without_a_poll() {
    let j = info_conflicts(false);
    assert_eq!(j.kinds(), [InconsistentOffsets, Unseen, Unseen]);
}

/// Mirrors `inconsistent-offsets-test` "info conflicts", with the poll.
///
/// Jepsen: the read proves the operation committed, so x@0 holds x1 and x2
/// (`inconsistent-offsets`). kafkasim agrees (and had no need of the read).
#[test]
fn inconsistent_offsets_info_conflicts_with_a_poll() {
    let j = info_conflicts(true);
    assert_eq!(j.kinds(), [InconsistentOffsets, Unseen, Unseen]);
    assert_eq!(j.values(InconsistentOffsets), strings(&[&["x1", "x2"]]));
}

/// Mirrors `g1a-test`.
///
/// The history: a failed operation sent x2 and y3; a poll reads x2 at x@0.
/// Jepsen: `G1a`, an aborted read. kafkasim agrees: `aborted-read`.
#[test]
fn g1a() {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "x2", Fail), ("y", "y3", Fail)]);
    j.poll("consumer-1", &[("x", 0, "x2")]);
    assert_eq!(j.kinds(), [AbortedRead]);
}

/// Mirrors `lost-write-test` "consistent".
///
/// The history: a, b, d acked at x@0, x@1, x@3; c sent without an answer; a
/// poll reads only c, at x@2. Jepsen: a and b are lost (`lost-write` ×2).
/// kafkasim agrees, and d, past the poll, is `unseen`.
#[test]
fn lost_write_consistent() {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "a", At(0))]);
    j.send("producer-0", &[("x", "b", At(1)), ("x", "d", At(3))]);
    j.send("producer-1", &[("x", "c", Info)]);
    j.poll("consumer-0", &[("x", 2, "c")]);
    assert_eq!(j.kinds(), [LostWrite, LostWrite, Unseen]);
    assert_eq!(j.values(LostWrite), strings(&[&["a", "c"], &["b", "c"]]));
}

/// Mirrors `lost-write-test` "inconsistent".
///
/// The history: a acked at x@0, then b at x@0 and c at x@2; a poll reads b and
/// c. Jepsen: a is lost (`lost-write`). kafkasim agrees, and names the conflict
/// at x@0 too (`inconsistent-offsets`).
#[test]
fn lost_write_inconsistent() {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "a", At(0))]);
    j.send("producer-0", &[("x", "b", At(0)), ("x", "c", At(2))]);
    j.poll("consumer-0", &[("x", 0, "b"), ("x", 2, "c")]);
    assert_eq!(j.kinds(), [InconsistentOffsets, LostWrite]);
    assert_eq!(j.values(LostWrite), strings(&[&["a", "c"]]));
}

/// The history of `lost-write-test` "atomic": an `info` operation sends a to
/// x (no offset) and b to y (offset 0); c is sent to y without an answer; a
/// poll reads c at y@1; `poll_a` adds a poll that reads a at x@0 first.
fn atomic(poll_a: bool) -> Jepsen {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "a", Info), ("y", "b", At(0))]);
    j.send("producer-1", &[("y", "c", Info)]);
    if poll_a {
        j.poll("consumer-2", &[("x", 0, "a")]);
    }
    j.poll("consumer-3", &[("y", 1, "c")]);
    j
}

/// Mirrors `lost-write-test` "atomic", without the poll of a.
///
/// Jepsen: nothing, as nothing proves the operation committed. kafkasim
/// differs, stricter: b was acknowledged at y@0 and a poll went past it, so it
/// is lost; that a, sent with it to another partition, may not have been
/// written changes nothing without a transaction (Kafka promises no atomicity
/// across partitions).
#[test]
fn lost_write_atomic_without_the_poll_of_a() {
    let j = atomic(false);
    assert_eq!(j.kinds(), [LostWrite]);
    assert_eq!(j.values(LostWrite), strings(&[&["b", "c"]]));
}

/// Mirrors `lost-write-test` "atomic", with the poll of a.
///
/// Jepsen: b is lost (`lost-write`). kafkasim agrees.
#[test]
fn lost_write_atomic_with_the_poll_of_a() {
    let j = atomic(true);
    assert_eq!(j.kinds(), [LostWrite]);
    assert_eq!(j.values(LostWrite), strings(&[&["b", "c"]]));
}

/// Mirrors `duplicate-test` "basic".
///
/// The history: a acked at x@1, b sent without an answer, a poll reads b at x@2
/// and a at x@3. Jepsen: a is at two offsets (`duplicate`). kafkasim agrees.
#[test]
fn duplicate_basic() {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "a", At(1))]);
    j.send("producer-1", &[("x", "b", Info)]);
    j.poll("consumer-2", &[("x", 2, "b"), ("x", 3, "a")]);
    assert_eq!(j.kinds(), [Duplicate]);
    assert_eq!(j.values(Duplicate), strings(&[&["a"]]));
}

/// Mirrors `duplicate-test` "hash-insensitive".
///
/// The history: ten values, each acked at x@0 and polled at x@1. Jepsen: every
/// value is a `duplicate`, and both offsets are `inconsistent-offsets`.
/// kafkasim agrees, and also finds the consumer reading x@1 again and again
/// with no seek or reassignment (`nonmonotonic-poll` ×9).
#[test]
fn duplicate_hash_insensitive() {
    let j = Jepsen::new();
    let values = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    for value in values {
        j.send("producer-0", &[("x", value, At(0))]);
        j.poll("consumer-1", &[("x", 1, value)]);
    }
    let mut expected = vec![InconsistentOffsets; 2];
    expected.extend([Duplicate; 10]);
    expected.extend([NonmonotonicPoll; 9]);
    assert_eq!(j.kinds(), expected);
    let duplicated: Vec<Vec<String>> = values.iter().map(|v| vec![v.to_string()]).collect();
    assert_eq!(j.values(Duplicate), duplicated);
}

/// Mirrors `duplicate-test` "aborted txns".
///
/// The history: 0 acked at x@1; 1 refused (Jepsen's failed operation still has
/// its offset, 2); a poll in an aborted transaction reads 0 at x@11 and 1 at
/// x@12. Jepsen: 0 is a `duplicate`, and 1 is nothing, its write having never
/// happened. kafkasim differs: it has no transactions, and a kafkasim poll that
/// fails returns nothing, so the poll is translated as one that returned both
/// records; then 1, whose send definitely failed, was polled: an
/// `aborted-read`, rightly.
#[test]
fn duplicate_aborted_txns() {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "0", At(1))]);
    j.send("producer-0", &[("x", "1", Fail)]);
    j.poll("consumer-1", &[("x", 11, "0"), ("x", 12, "1")]);
    assert_eq!(j.kinds(), [Duplicate, AbortedRead]);
    assert_eq!(j.values(Duplicate), strings(&[&["0"]]));
}

/// Mirrors `empty-history-test`.
///
/// The history: one assignment, and no send or poll. Jepsen: not valid (Elle
/// finds an `empty-transaction-graph`). kafkasim agrees: `empty-history`, a
/// liveness failure, for a run that operated nothing must not pass for one
/// that operated correctly.
#[test]
fn empty_history() {
    let j = Jepsen::new();
    j.assigned("consumer-0", &["x"]);
    assert_eq!(j.kinds(), [EmptyHistory]);
    assert_eq!(j.judged().verdict(), Verdict::Liveness);
}

/// Mirrors `unseen-test`.
///
/// The history: an empty poll, a and b acked at x@0 and x@1, then polls of a
/// and of b. Jepsen: nothing is unseen at the end. kafkasim agrees: no finding
/// at all.
#[test]
fn unseen() {
    let j = Jepsen::new();
    j.poll("consumer-0", &[]);
    j.send("producer-0", &[("x", "a", At(0)), ("x", "b", At(1))]);
    j.poll("consumer-0", &[("x", 0, "a")]);
    j.poll("consumer-0", &[("x", 1, "b")]);
    assert_eq!(j.kinds(), []);
    assert_eq!(j.judged().verdict(), Verdict::Ok);
}
