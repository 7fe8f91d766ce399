//! Jepsen's cases about order: consumers moving forward through a partition,
//! producers' sends landing in the order they were sent.

use super::End::{At, Info};
use super::Jepsen;
use crate::finding::Kind::{
    IntNonmonotonicSend, LostWrite, NonmonotonicPoll, NonmonotonicSend, PollSkip, Unseen,
};

/// What a Jepsen process does between two operations to what it reads.
#[derive(Debug, Clone, Copy)]
enum Between {
    Nothing,
    /// `subscribe`/`assign` to y alone: x's position is given up.
    DropsX,
    /// `subscribe`/`assign` to x and y: y is new, x's position carries on.
    KeepsX,
}

impl Between {
    fn apply(self, j: &Jepsen, consumer: &str) {
        match self {
            Between::Nothing => {}
            Between::DropsX => {
                j.revoked(consumer, &["x"]);
                j.assigned(consumer, &["y"]);
            }
            Between::KeepsX => j.assigned(consumer, &["y"]),
        }
    }
}

/// The history of `poll-skip-test`: consumer-0 polls a, b at x@1, x@2, then
/// d at x@4, then g at x@7; consumer-1 reads c at x@3; f is acked at x@6;
/// a, b, c, d and g are sent without an answer. `between` happens before
/// consumer-0's second poll and again before f's send (Jepsen's subscribe and
/// its assign).
fn poll_skip_history(between: Between) -> Jepsen {
    let j = Jepsen::new();
    j.poll("consumer-0", &[("x", 1, "a"), ("x", 2, "b")]);
    j.poll("consumer-1", &[("x", 3, "c")]);
    between.apply(&j, "consumer-0");
    j.poll("consumer-0", &[("x", 4, "d")]);
    between.apply(&j, "consumer-0");
    j.send("producer-2", &[("x", "f", At(6))]);
    j.poll("consumer-0", &[("x", 7, "g")]);
    let unanswered = ["a", "b", "c", "d", "g"].map(|v| ("x", v, Info));
    j.send("producer-3", &unanswered);
    j
}

/// Mirrors `poll-skip-test`, its first assertion.
///
/// The history: consumer-0 jumps from x@2 to x@4 over c, and from x@4 to x@7
/// over f. Jepsen: `poll-skip` ×2. kafkasim agrees; f, acked at x@6 and never
/// polled though a poll reached x@7, is also a `lost-write`.
#[test]
fn poll_skip() {
    let j = poll_skip_history(Between::Nothing);
    assert_eq!(j.kinds(), [LostWrite, PollSkip, PollSkip]);
    let skips = j.values(PollSkip);
    assert_eq!(skips, [["b", "c", "d"], ["d", "f", "g"]]);
}

/// Mirrors `poll-skip-test` "with intermediate subscribe": sub-y, assign-y.
///
/// Jepsen: no `poll-skip`, as x's position was given up. kafkasim agrees (f is
/// still a `lost-write`).
#[test]
fn poll_skip_with_a_subscribe_and_an_assign_to_y() {
    let j = poll_skip_history(Between::DropsX);
    assert_eq!(j.kinds(), [LostWrite]);
}

/// Mirrors `poll-skip-test` "with intermediate subscribe": sub-xy, assign-xy.
///
/// Jepsen: `poll-skip` ×2, as x's position carried on. kafkasim agrees.
#[test]
fn poll_skip_with_a_subscribe_and_an_assign_to_x_and_y() {
    let j = poll_skip_history(Between::KeepsX);
    assert_eq!(j.kinds(), [LostWrite, PollSkip, PollSkip]);
}

/// The history of `nonmonotonic-poll-test`: a, b, c, d sent (Jepsen's `ok`
/// operation gives no offsets: unanswered here), consumer-0 polls x@1..3,
/// `between` happens, and it polls x@2..4.
fn nonmonotonic_poll_history(between: Between) -> Jepsen {
    let j = Jepsen::new();
    let sends = ["a", "b", "c", "d"].map(|v| ("x", v, Info));
    j.send("producer-0", &sends);
    j.poll("consumer-0", &[("x", 1, "a"), ("x", 2, "b"), ("x", 3, "c")]);
    between.apply(&j, "consumer-0");
    j.poll("consumer-0", &[("x", 2, "b"), ("x", 3, "c"), ("x", 4, "d")]);
    j
}

/// Mirrors `nonmonotonic-poll-test` "together".
///
/// The history: consumer-0 goes back from c at x@3 to b at x@2. Jepsen:
/// `nonmonotonic-poll`. kafkasim agrees.
#[test]
fn nonmonotonic_poll_together() {
    let j = nonmonotonic_poll_history(Between::Nothing);
    assert_eq!(j.kinds(), [NonmonotonicPoll]);
    assert_eq!(j.values(NonmonotonicPoll), [["c", "b"]]);
}

/// Mirrors `nonmonotonic-poll-test` "with intermediate subscribe": sub-y.
///
/// Jepsen: nothing. kafkasim agrees.
#[test]
fn nonmonotonic_poll_with_a_subscribe_to_y() {
    let j = nonmonotonic_poll_history(Between::DropsX);
    assert_eq!(j.kinds(), []);
}

/// Mirrors `nonmonotonic-poll-test` "with intermediate subscribe": assign-y.
///
/// Jepsen: nothing. kafkasim agrees (a manual assignment that drops x gives up
/// x's position, as the subscription does).
#[test]
fn nonmonotonic_poll_with_an_assign_to_y() {
    let j = nonmonotonic_poll_history(Between::DropsX);
    assert_eq!(j.kinds(), []);
}

/// Mirrors `nonmonotonic-poll-test` "with intermediate subscribe": sub-xy.
///
/// Jepsen: `nonmonotonic-poll`. kafkasim agrees: a cooperative rebalance that
/// adds y leaves x's position where it was.
#[test]
fn nonmonotonic_poll_with_a_subscribe_to_x_and_y() {
    let j = nonmonotonic_poll_history(Between::KeepsX);
    assert_eq!(j.kinds(), [NonmonotonicPoll]);
}

/// Mirrors `nonmonotonic-poll-test` "with intermediate subscribe": assign-xy.
///
/// Jepsen: `nonmonotonic-poll`. kafkasim agrees: Kafka's `assign` keeps the
/// position of a partition that stays assigned, so only y is `Assigned` afresh.
/// (kafkasim's simulated consumer records all of x and y as assigned, which
/// would hide this one: see the module's notes.)
#[test]
fn nonmonotonic_poll_with_an_assign_to_x_and_y() {
    let j = nonmonotonic_poll_history(Between::KeepsX);
    assert_eq!(j.kinds(), [NonmonotonicPoll]);
}

/// The history of `nonmonotonic-send-test`: producer-0 sends c, d (acked at
/// x@3, x@4), `between` happens to its consumer, then it sends a, b (acked
/// at x@1, x@2). Nothing is polled.
fn nonmonotonic_send_history(between: Between) -> Jepsen {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "c", At(3)), ("x", "d", At(4))]);
    between.apply(&j, "consumer-0");
    j.send("producer-0", &[("x", "a", At(1)), ("x", "b", At(2))]);
    j
}

/// What kafkasim finds in each `nonmonotonic-send-test` history: the four
/// sends no poll reached, and a and b each landing below d, which was acked
/// before they were sent (Jepsen compares the later operation's first send
/// with the earlier one's last, so it reports d and a once).
fn assert_nonmonotonic_sends(j: &Jepsen) {
    let mut expected = vec![Unseen; 4];
    expected.extend([NonmonotonicSend; 2]);
    assert_eq!(j.kinds(), expected);
    assert_eq!(j.values(NonmonotonicSend), [["d", "a"], ["d", "b"]]);
}

/// Mirrors `nonmonotonic-send-test`, its first assertion.
///
/// The history: after c and d were acked at x@3 and x@4, the same process's a
/// and b land at x@1 and x@2. Jepsen: `nonmonotonic-send`. kafkasim agrees (and
/// reports b as well as a).
#[test]
fn nonmonotonic_send() {
    assert_nonmonotonic_sends(&nonmonotonic_send_history(Between::Nothing));
}

/// Mirrors `nonmonotonic-send-test` "with intermediate subscribe": sub-y.
///
/// Jepsen: nothing, as its checker forgets a process's sends when the process
/// subscribes or assigns. kafkasim differs, stricter and right: a consumer's
/// subscription has nothing to do with a producer's order (Jepsen's client is
/// both at once; kafkasim's producer and consumer are two clients).
#[test]
fn nonmonotonic_send_with_a_subscribe_to_y() {
    assert_nonmonotonic_sends(&nonmonotonic_send_history(Between::DropsX));
}

/// Mirrors `nonmonotonic-send-test` "with intermediate subscribe": assign-y.
///
/// Jepsen: nothing. kafkasim differs, as with the subscription to y: the
/// assignment is the consumer's, the order the producer's.
#[test]
fn nonmonotonic_send_with_an_assign_to_y() {
    assert_nonmonotonic_sends(&nonmonotonic_send_history(Between::DropsX));
}

/// Mirrors `nonmonotonic-send-test` "with intermediate subscribe": sub-xy.
///
/// Jepsen: `nonmonotonic-send`. kafkasim agrees.
#[test]
fn nonmonotonic_send_with_a_subscribe_to_x_and_y() {
    assert_nonmonotonic_sends(&nonmonotonic_send_history(Between::KeepsX));
}

/// Mirrors `nonmonotonic-send-test` "with intermediate subscribe": assign-xy.
///
/// Jepsen: `nonmonotonic-send`. kafkasim agrees.
#[test]
fn nonmonotonic_send_with_an_assign_to_x_and_y() {
    assert_nonmonotonic_sends(&nonmonotonic_send_history(Between::KeepsX));
}

/// Mirrors `int-poll-skip-test`.
///
/// The history: a, b, d sent without an answer; consumer-0 reads a at x@1 and d
/// at x@4 in one poll, then the same in two polls of one operation; a last poll
/// reads b at x@2. Jepsen: `int-poll-skip` ×2 (b skipped within one operation).
/// kafkasim agrees under its own name, `poll-skip` ×2: a kafkasim poll is one
/// `poll()` call, and records within a poll and across consecutive polls are
/// compared alike. The jumps back between operations, from x@4 to x@1 and from
/// x@4 to x@2, are `nonmonotonic-poll` ×2 (what Jepsen's `nonmonotonic-poll`
/// finds there too).
#[test]
fn int_poll_skip() {
    let j = Jepsen::new();
    j.send("producer-1", &["a", "b", "d"].map(|v| ("x", v, Info)));
    j.poll("consumer-0", &[("x", 1, "a"), ("x", 4, "d")]);
    j.poll("consumer-0", &[("x", 1, "a")]);
    j.poll("consumer-0", &[("x", 4, "d")]);
    j.poll("consumer-0", &[("x", 2, "b")]);
    let skips = [PollSkip, PollSkip];
    assert_eq!(j.kinds(), [&skips[..], &[NonmonotonicPoll; 2]].concat());
    assert_eq!(j.values(PollSkip), [["a", "b", "d"], ["a", "b", "d"]]);
}

/// Mirrors `int-send-skip-test`.
///
/// The history: one operation sends a (acked at x@1) and c (no offset:
/// unanswered here); b is sent without an answer; a poll reads b at x@2 and c
/// at x@3. Jepsen: `int-send-skip` (b between a and c), a kind its checker
/// always allows. kafkasim differs: it has no such kind, because another
/// producer's record between two of one producer's sends is how Kafka
/// interleaves producers, and with a single writer a skip needs one of the
/// producer's own records in between, landed out of order or twice, which
/// `nonmonotonic-send`, `int-nonmonotonic-send` and `duplicate` report. a,
/// acked at x@1 and never polled though the poll went past it, is a
/// `lost-write` (in Jepsen's analysis too).
#[test]
fn int_send_skip() {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "a", At(1)), ("x", "c", Info)]);
    j.send("producer-1", &[("x", "b", Info)]);
    j.poll("consumer-2", &[("x", 2, "b"), ("x", 3, "c")]);
    assert_eq!(j.kinds(), [LostWrite]);
}

/// Mirrors `int-nonmonotonic-poll-test`.
///
/// The history: a, b, c sent without an answer; one poll reads c at x@3 then a
/// at x@1; one operation polls b, c at x@2, x@3, then c at x@3 again. Jepsen:
/// `int-nonmonotonic-poll` ×2. kafkasim agrees under its own name,
/// `nonmonotonic-poll` ×2 (see `int_poll_skip`).
#[test]
fn int_nonmonotonic_poll() {
    let j = Jepsen::new();
    j.send("producer-0", &["a", "b", "c"].map(|v| ("x", v, Info)));
    j.poll("consumer-0", &[("x", 3, "c"), ("x", 1, "a")]);
    j.poll("consumer-0", &[("x", 2, "b"), ("x", 3, "c")]);
    j.poll("consumer-0", &[("x", 3, "c")]);
    assert_eq!(j.kinds(), [NonmonotonicPoll, NonmonotonicPoll]);
    assert_eq!(j.values(NonmonotonicPoll), [vec!["c", "a"], vec!["c"]]);
}

/// Mirrors `int-nonmonotonic-send-test`.
///
/// The history: one operation sends c then a, acked at x@3 and x@1; another
/// sends d then b to y without an answer, and a poll finds them at y@4 and y@2
/// (with another process's yc at y@3). Jepsen: `int-nonmonotonic-send` ×2.
/// kafkasim agrees: sends of one producer in flight together landed in reverse
/// order, which an idempotent producer promises never happens; the unanswered d
/// and b count as written where the poll found them. c and a were never polled
/// (`unseen` ×2).
#[test]
fn int_nonmonotonic_send() {
    let j = Jepsen::new();
    j.send("producer-0", &[("x", "c", At(3)), ("x", "a", At(1))]);
    j.send("producer-0", &[("y", "d", Info), ("y", "b", Info)]);
    j.send("producer-1", &[("y", "yc", Info)]);
    j.poll(
        "consumer-0",
        &[("y", 2, "b"), ("y", 3, "yc"), ("y", 4, "d")],
    );
    assert_eq!(
        j.kinds(),
        [Unseen, Unseen, IntNonmonotonicSend, IntNonmonotonicSend]
    );
    let reversed = j.values(IntNonmonotonicSend);
    assert_eq!(reversed, [["c", "a"], ["d", "b"]]);
}

/// Mirrors `realtime-lag-test` "up to date".
///
/// The history: consumer-0 polls x as a, then c and d (another process's, acked
/// at x@2, x@3) are written, and finally b is sent without an answer, and was
/// polled at x@1. Jepsen's test asserts how far behind each poll was, which
/// kafkasim does not measure. Its history holds one anomaly: b, sent after c
/// and d were acked, landed below them, a `nonmonotonic-send` that Jepsen's
/// checker (counting `info` sends a poll placed) reports too.
#[test]
fn realtime_lag() {
    let j = Jepsen::new();
    j.assigned("consumer-0", &["x"]);
    j.poll("consumer-0", &[]);
    j.send("producer-0", &[("x", "a", At(0))]);
    j.poll("consumer-0", &[]);
    j.send("producer-1", &[("x", "c", At(2)), ("x", "d", At(3))]);
    j.poll("consumer-0", &[]);
    j.poll("consumer-0", &[("x", 0, "a"), ("x", 1, "b")]);
    Between::KeepsX.apply(&j, "consumer-0"); // assign x, y
    j.poll("consumer-0", &[]);
    j.revoked("consumer-0", &["x"]); // assign y
    j.assigned("consumer-0", &["x"]); // assign x
    j.revoked("consumer-0", &["y"]);
    j.poll("consumer-0", &[]);
    j.poll("consumer-0", &[("x", 0, "a"), ("x", 1, "b")]);
    j.poll("consumer-0", &[("x", 2, "c"), ("x", 3, "d")]);
    j.send("producer-1", &[("x", "b", Info)]);
    assert_eq!(j.kinds(), [NonmonotonicSend]);
    assert_eq!(j.values(NonmonotonicSend), [["d", "b"]]);
}
