//! One minimal history per checker that makes it fire, with the exact report;
//! one clean history that passes them all; and how configurations split findings.

use super::{judge, Judgement, Verdict};
use crate::allowed::{Config, DeliveryMode};
use crate::checkers::*;
use crate::finding::{Allowance, Class, Detail, Finding, Kind, Sighting, Source};
use crate::history::{ClientEvent, History, OpId, Operation, Outcome, PolledRecord};
use kafkasim::ids::{Offset, TopicPartition};
use kafkasim::protocol::Acks;

fn users() -> TopicPartition {
    TopicPartition::new("users", 0)
}

/// `process` sends `value` to users-0 at `at_ms`; it ends at once with `outcome`.
fn send(h: &History, at_ms: u64, process: &str, value: &str, outcome: Outcome) {
    let op = h.invoke(
        at_ms,
        process,
        Operation::Send {
            topic: "users".into(),
            value: value.into(),
        },
    );
    h.complete(op, at_ms, outcome);
}

/// `process` polls users-0 at `at_ms` and gets `records` (offset, value).
fn poll(h: &History, at_ms: u64, process: &str, records: &[(Offset, &str)]) {
    let records: Vec<_> = records.iter().map(|&(o, v)| (o, v, None)).collect();
    poll_records(h, at_ms, process, &records);
}

/// `process` polls users-0 at `at_ms` and gets `records` (offset, value, the
/// send id the record carries, if any).
fn poll_records(h: &History, at_ms: u64, process: &str, records: &[(Offset, &str, Option<OpId>)]) {
    let op = h.invoke(
        at_ms,
        process,
        Operation::Poll {
            partitions: vec![users()],
        },
    );
    let records = records
        .iter()
        .map(|&(offset, value, send)| PolledRecord {
            partition: users(),
            offset,
            leader_epoch: 0,
            value: value.into(),
            send,
        })
        .collect();
    h.complete(op, at_ms, Outcome::polled(records));
}

fn sighting(source: Source, value: &str, offset: Offset, process: &str, time_ms: u64) -> Sighting {
    Sighting {
        source,
        value: value.into(),
        offset: Some(offset),
        process: process.into(),
        time_ms,
        // A send's producer is the process; a polled record's is its send's.
        producer: matches!(source, Source::Acked | Source::Ambiguous).then(|| process.into()),
        error: None,
    }
}

fn lines(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|a| a.to_string()).collect()
}

/// The sightings a log or delivery anomaly is made of.
fn sightings(finding: &Finding) -> &[Sighting] {
    match &finding.detail {
        Detail::Sightings { sightings, .. } => sightings,
        other => panic!("not made of sightings: {other:?}"),
    }
}

/// Judges `history` under `config`, with nothing observed besides it.
fn check_all(history: &History, config: &Config) -> Judgement {
    judge(&history.entries(), config, vec![])
}

#[test]
fn an_offset_acked_with_one_value_and_polled_with_another_is_inconsistent() {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    poll(&h, 400, "consumer-1", &[(0, "b")]);
    let found = inconsistent_offsets(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["inconsistent-offsets: users-0@0 was seen holding 2 values: a (acked to producer-1 at 100 ms), b (polled by consumer-1 at 400 ms)"]
    );
    assert_eq!(found[0].partitions(), [users()]);
    assert_eq!(
        sightings(&found[0]),
        [
            sighting(Source::Acked, "a", 0, "producer-1", 100),
            sighting(Source::Polled, "b", 0, "consumer-1", 400),
        ]
    );
}

#[test]
fn a_value_acked_at_one_offset_and_polled_at_another_is_a_duplicate() {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    poll(&h, 500, "consumer-1", &[(0, "a"), (1, "a")]);
    let found = duplicate(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["duplicate: a is at 2 offsets: users-0@0 (acked to producer-1 at 100 ms), users-0@1 (polled by consumer-1 at 500 ms)"]
    );
    assert_eq!(found[0].offsets(), [0, 1]);
    assert_eq!(found[0].nodes(), ["producer-1", "consumer-1"]);
}

/// `process` polls users-0 at `at_ms` and gets `records` (offset, value, the
/// send id the record carries).
fn poll_stamped(h: &History, at_ms: u64, process: &str, records: &[(Offset, &str, OpId)]) {
    let records: Vec<_> = records.iter().map(|&(o, v, s)| (o, v, Some(s))).collect();
    poll_records(h, at_ms, process, &records);
}

#[test]
fn two_sends_of_one_value_are_two_records_told_apart_by_their_ids() {
    let h = History::new();
    let first = issue(&h, 100, "producer-1", "a");
    h.complete(first, 110, Outcome::sent(users(), 0));
    let second = issue(&h, 120, "producer-1", "a");
    h.complete(second, 130, Outcome::sent(users(), 1));
    poll_stamped(&h, 500, "consumer-1", &[(0, "a", first), (1, "a", second)]);
    let judgement = check_all(&h, &Config::safe());
    assert_eq!(lines(&judgement.findings), Vec::<String>::new());
    assert_eq!(judgement.verdict(), Verdict::Ok);

    // Without the ids, a record is taken for the first send of its value:
    // the first send looks duplicated, the second overwritten and unread.
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 120, "producer-1", "a", Outcome::sent(users(), 1));
    poll(&h, 500, "consumer-1", &[(0, "a"), (1, "a")]);
    let kinds: Vec<Kind> = check_all(&h, &Config::safe())
        .findings
        .iter()
        .map(|f| f.kind)
        .collect();
    assert_eq!(
        kinds,
        [Kind::InconsistentOffsets, Kind::Duplicate, Kind::Unseen]
    );
}

#[test]
fn a_send_whose_record_is_polled_at_two_offsets_is_a_duplicate_by_its_id() {
    let h = History::new();
    let retried = issue(&h, 100, "producer-1", "a");
    h.complete(retried, 300, Outcome::sent(users(), 1));
    let other = issue(&h, 310, "producer-1", "b");
    h.complete(other, 320, Outcome::sent(users(), 2));
    poll_stamped(
        &h,
        500,
        "consumer-1",
        &[(0, "a", retried), (1, "a", retried), (2, "b", other)],
    );
    let found = duplicate(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["duplicate: a is at 2 offsets: users-0@0 (polled by consumer-1 at 500 ms), users-0@1 (acked to producer-1 at 300 ms)"]
    );
}

#[test]
fn an_acked_send_never_polled_though_a_poll_went_past_it_is_a_lost_write() {
    let h = History::new();
    send(&h, 350, "producer-1", "v7", Outcome::sent(users(), 12));
    poll(&h, 900, "consumer-2", &[(15, "v10")]);
    let found = lost_write(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["lost-write: v7 acked at users-0@12 by producer-1 at 350 ms was never polled, though consumer-2 polled users-0 up to offset 15 at 900 ms"]
    );
    let lost = &found[0];
    assert_eq!(lost.kind, Kind::LostWrite);
    assert_eq!(lost.partitions(), [users()]);
    assert_eq!(lost.offsets(), [12, 15]);
    assert_eq!(lost.values(), ["v7", "v10"]);
    assert_eq!(lost.span_ms(), Some((350, 900)));
    assert_eq!(lost.nodes(), ["producer-1", "consumer-2"]);
    assert_eq!(unseen(&Facts::of(&h.entries())), []);
}

#[test]
fn an_acked_send_at_an_offset_a_poll_reached_holding_another_value_is_a_lost_write() {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 1));
    // The poll reached offset 1, no further, and found b there.
    poll(&h, 400, "consumer-1", &[(0, "z"), (1, "b")]);
    let entries = h.entries();
    let facts = Facts::of(&entries);
    assert_eq!(
        lines(&lost_write(&facts)),
        ["lost-write: a acked at users-0@1 by producer-1 at 100 ms was never polled, though consumer-1 polled users-0 up to offset 1 at 400 ms"]
    );
    assert_eq!(unseen(&facts), []);
    assert_eq!(inconsistent_offsets(&facts).len(), 1);
}

#[test]
fn an_acked_send_no_poll_reached_is_unseen_not_lost() {
    let h = History::new();
    poll(&h, 700, "consumer-2", &[(15, "v10")]);
    send(&h, 800, "producer-1", "v9", Outcome::sent(users(), 20));
    let found = unseen(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["unseen: v9 acked at users-0@20 by producer-1 at 800 ms was never polled; consumer-2 polled users-0 only up to offset 15 at 700 ms (lost, or not consumed yet)"]
    );
    assert_eq!(found[0].offsets(), [20, 15]);
    assert_eq!(lost_write(&Facts::of(&h.entries())), []);
}

#[test]
fn an_acked_send_to_a_partition_nobody_polled_is_unseen() {
    let h = History::new();
    send(&h, 800, "producer-1", "v9", Outcome::sent(users(), 0));
    assert_eq!(
        lines(&unseen(&Facts::of(&h.entries()))),
        ["unseen: v9 acked at users-0@0 by producer-1 at 800 ms was never polled; no consumer polled users-0 at all (lost, or not consumed yet)"]
    );
}

#[test]
fn an_acked_send_at_or_past_the_end_a_final_read_reached_is_a_lost_write() {
    let h = History::new();
    send(&h, 150, "producer-1", "w1", Outcome::sent(users(), 0));
    send(&h, 160, "producer-1", "w2", Outcome::sent(users(), 1));
    // The partition lost both; the reader found it empty, ending at offset 0.
    let end = ClientEvent::ReadToEnd {
        partition: users(),
        end_offset: 0,
    };
    h.event(9_000, "reader", end);
    let found = lost_write(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        [
            "lost-write: w1 acked at users-0@0 by producer-1 at 150 ms was never polled, and reader read users-0 to its end at 9000 ms: the log ends at offset 0",
            "lost-write: w2 acked at users-0@1 by producer-1 at 160 ms was never polled, and reader read users-0 to its end at 9000 ms: the log ends at offset 0",
        ]
    );
    assert_eq!(unseen(&Facts::of(&h.entries())), []);
    // An end past the acked offset proves nothing: the record may be unread.
    let h = History::new();
    send(&h, 150, "producer-1", "w1", Outcome::sent(users(), 0));
    let end = ClientEvent::ReadToEnd {
        partition: users(),
        end_offset: 1,
    };
    h.event(9_000, "reader", end);
    assert_eq!(lost_write(&Facts::of(&h.entries())), []);
    assert_eq!(unseen(&Facts::of(&h.entries())).len(), 1);
}

#[test]
fn an_acks_0_send_no_poll_returned_is_lost_once_a_read_reached_the_end_and_unseen_before() {
    let h = History::new();
    // acks=0: the producer learns no offset.
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), -1));
    send(&h, 110, "producer-1", "b", Outcome::sent(users(), -1));
    poll(&h, 500, "consumer-1", &[(0, "a")]);
    assert_eq!(
        lines(&unseen(&Facts::of(&h.entries()))),
        ["unseen: b sent with acks=0 by producer-1 at 110 ms was never polled, and no read reached the end of users-0 (lost, or not consumed yet)"]
    );
    assert_eq!(lost_write(&Facts::of(&h.entries())), []);
    let end = ClientEvent::ReadToEnd {
        partition: users(),
        end_offset: 1,
    };
    h.event(900, "reader", end);
    assert_eq!(
        lines(&lost_write(&Facts::of(&h.entries()))),
        ["lost-write: b sent with acks=0 by producer-1 at 110 ms was never polled, and reader read users-0 to its end at 900 ms (offset 1) without it"]
    );
    assert_eq!(unseen(&Facts::of(&h.entries())), []);
    let config = Config {
        acks: Acks::None,
        ..Config::safe()
    };
    let judged = judge(&h.entries(), &config, vec![]);
    assert_eq!(judged.verdict(), Verdict::Ok, "{judged}");
    let allowed: Vec<_> = judged.allowed().map(|f| f.allowed.clone()).collect();
    assert_eq!(allowed, [vec![Allowance::NoAcks]]);
}

#[test]
fn a_consumer_jumping_over_offsets_the_log_has_is_a_poll_skip() {
    let h = History::new();
    for (offset, value) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        send(
            &h,
            100,
            "producer-1",
            value,
            Outcome::sent(users(), offset as Offset),
        );
    }
    poll(&h, 200, "consumer-1", &[(0, "a"), (1, "b")]);
    poll(&h, 300, "consumer-1", &[(4, "e")]);
    let found = poll_skip(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["poll-skip: consumer-1 polled users-0@1 at 200 ms, then users-0@4 at 300 ms, skipping offsets 2, 3 (c, d) with no seek or reassignment between"]
    );
    assert_eq!(found[0].offsets(), [1, 2, 3, 4]);
    assert_eq!(found[0].nodes(), ["consumer-1", "producer-1"]);
}

#[test]
fn a_jump_after_a_seek_or_a_reassignment_is_not_a_poll_skip() {
    let h = History::new();
    for (offset, value) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        send(
            &h,
            100,
            "producer-1",
            value,
            Outcome::sent(users(), offset as Offset),
        );
    }
    poll(&h, 200, "consumer-1", &[(0, "a")]);
    h.event(
        250,
        "consumer-1",
        ClientEvent::Seek {
            partition: users(),
            offset: 2,
        },
    );
    poll(&h, 300, "consumer-1", &[(2, "c")]);
    h.event(
        350,
        "consumer-1",
        ClientEvent::Assigned {
            partitions: vec![users()],
        },
    );
    poll(&h, 400, "consumer-1", &[(4, "e")]);
    assert_eq!(poll_skip(&Facts::of(&h.entries())), []);
}

#[test]
fn a_consumer_polling_again_what_it_already_had_is_a_nonmonotonic_poll() {
    let h = History::new();
    poll(&h, 200, "consumer-1", &[(3, "d"), (4, "e"), (5, "f")]);
    poll(&h, 300, "consumer-1", &[(3, "d")]);
    let found = nonmonotonic_poll(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["nonmonotonic-poll: consumer-1 polled users-0@5 at 200 ms, then users-0@3 at 300 ms, with no seek or reassignment between"]
    );
    assert_eq!(
        sightings(&found[0]),
        [
            sighting(Source::Polled, "f", 5, "consumer-1", 200),
            sighting(Source::Polled, "d", 3, "consumer-1", 300),
        ]
    );
}

#[test]
fn re_polling_after_a_rebalance_or_by_a_new_owner_is_not_nonmonotonic() {
    let h = History::new();
    poll(&h, 200, "consumer-1", &[(0, "a"), (1, "b")]);
    // The partition moves to consumer-2, which starts from the committed offset 0.
    let revoked = vec![users()];
    h.event(
        250,
        "consumer-1",
        ClientEvent::Revoked {
            partitions: revoked.clone(),
        },
    );
    h.event(
        250,
        "consumer-2",
        ClientEvent::Assigned {
            partitions: revoked.clone(),
        },
    );
    poll(&h, 300, "consumer-2", &[(0, "a"), (1, "b"), (2, "c")]);
    // And back to consumer-1, from the committed offset 1.
    h.event(
        350,
        "consumer-2",
        ClientEvent::Lost {
            partitions: revoked.clone(),
        },
    );
    h.event(
        350,
        "consumer-1",
        ClientEvent::Assigned {
            partitions: revoked,
        },
    );
    poll(&h, 400, "consumer-1", &[(1, "b"), (2, "c")]);
    assert_eq!(nonmonotonic_poll(&Facts::of(&h.entries())), []);
}

#[test]
fn a_send_issued_after_an_ack_landing_lower_is_a_nonmonotonic_send() {
    let h = History::new();
    let a = h.invoke(
        100,
        "producer-1",
        Operation::Send {
            topic: "users".into(),
            value: "a".into(),
        },
    );
    h.complete(a, 150, Outcome::sent(users(), 7));
    let b = h.invoke(
        200,
        "producer-1",
        Operation::Send {
            topic: "users".into(),
            value: "b".into(),
        },
    );
    h.complete(b, 300, Outcome::sent(users(), 5));
    let found = nonmonotonic_send(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["nonmonotonic-send: producer-1 sent b after a was acked at users-0@7 at 150 ms, yet b was acked at the lower offset users-0@5 at 300 ms"]
    );
    assert_eq!(found[0].offsets(), [7, 5]);
}

/// `process` issues a send of `value` to users-0 at `at_ms`, left open.
fn issue(h: &History, at_ms: u64, process: &str, value: &str) -> OpId {
    let send = Operation::Send {
        topic: "users".into(),
        value: value.into(),
    };
    h.invoke(at_ms, process, send)
}

#[test]
fn sends_in_flight_together_landing_in_reverse_order_are_an_int_nonmonotonic_send() {
    let h = History::new();
    let a = issue(&h, 100, "producer-1", "a");
    let b = issue(&h, 110, "producer-1", "b");
    h.complete(a, 150, Outcome::sent(users(), 7));
    h.complete(b, 160, Outcome::sent(users(), 5));
    poll(&h, 200, "consumer-1", &[(5, "b"), (7, "a")]);
    let entries = h.entries();
    let facts = Facts::of(&entries);
    assert_eq!(nonmonotonic_send(&facts), [], "b was sent before a's ack");
    let found = int_nonmonotonic_send(&facts);
    assert_eq!(
        lines(&found),
        ["int-nonmonotonic-send: producer-1 sent a and then b before a was acknowledged, yet b landed at users-0@5 (acked to producer-1 at 160 ms), below a at users-0@7 (acked to producer-1 at 150 ms)"]
    );
    assert_eq!(found[0].offsets(), [7, 5]);
    // An idempotent producer promises their order; without idempotence a
    // retry may overtake.
    let safe = check_all(&h, &Config::safe());
    assert_eq!(safe.failing_kinds(), [Kind::IntNonmonotonicSend]);
    assert_eq!(safe.verdict(), Verdict::Correctness);
    let config = Config {
        idempotence: false,
        ..Config::safe()
    };
    let judged = check_all(&h, &config);
    assert_eq!(judged.verdict(), Verdict::Ok);
    assert_eq!(judged.findings[0].allowed, [Allowance::NoIdempotence]);
}

#[test]
fn sends_in_flight_together_landing_in_order_or_from_two_producers_are_fine() {
    let h = History::new();
    let a = issue(&h, 100, "producer-1", "a");
    let b = issue(&h, 110, "producer-1", "b");
    let c = issue(&h, 120, "producer-2", "c");
    // b's ack comes first, but b landed after a: only offsets tell the order.
    h.complete(b, 150, Outcome::sent(users(), 6));
    h.complete(a, 160, Outcome::sent(users(), 5));
    h.complete(c, 170, Outcome::sent(users(), 4));
    assert_eq!(int_nonmonotonic_send(&Facts::of(&h.entries())), []);
}

#[test]
fn an_unanswered_send_a_poll_returned_takes_its_place_among_its_producer_s_sends() {
    let h = History::new();
    let a = issue(&h, 100, "producer-1", "a");
    h.complete(a, 150, Outcome::sent(users(), 3));
    let b = issue(&h, 200, "producer-1", "b");
    let timeout = Outcome::Info {
        error: "request timed out".into(),
    };
    h.complete(b, 300, timeout.clone());
    let c = issue(&h, 400, "producer-1", "c");
    h.complete(c, 450, Outcome::sent(users(), 2));
    poll(&h, 500, "consumer-1", &[(1, "b"), (2, "c"), (3, "a")]);
    let entries = h.entries();
    let facts = Facts::of(&entries);
    // b was sent after a's ack and landed below it; c was sent when b's fate
    // was unknown (it may still have been in flight) and landed above it.
    assert_eq!(
        lines(&nonmonotonic_send(&facts)),
        [
            "nonmonotonic-send: producer-1 sent b after a was acked at users-0@3 at 150 ms, yet b (unanswered to producer-1 at 300 ms) was polled at the lower offset users-0@1",
            "nonmonotonic-send: producer-1 sent c after a was acked at users-0@3 at 150 ms, yet c was acked at the lower offset users-0@2 at 450 ms",
        ]
    );
    assert_eq!(
        sightings(&nonmonotonic_send(&facts)[0])[1],
        sighting(Source::Ambiguous, "b", 1, "producer-1", 300)
    );
    assert_eq!(int_nonmonotonic_send(&facts), []);
    // Sent after b got no answer, d landed below b: b counts as in flight
    // (with a producer that is not idempotent, it may have been).
    let h = History::new();
    let b = issue(&h, 200, "producer-1", "b");
    h.complete(b, 300, timeout);
    let d = issue(&h, 400, "producer-1", "d");
    h.complete(d, 450, Outcome::sent(users(), 0));
    poll(&h, 700, "consumer-2", &[(0, "d"), (1, "b")]);
    assert_eq!(
        lines(&int_nonmonotonic_send(&Facts::of(&h.entries()))),
        ["int-nonmonotonic-send: producer-1 sent b and then d before b was acknowledged, yet d landed at users-0@0 (acked to producer-1 at 450 ms), below b at users-0@1 (unanswered to producer-1 at 300 ms)"]
    );
}

#[test]
fn an_unanswered_send_is_not_lost_when_unread_nor_phantom_when_read() {
    let timeout = Outcome::Info {
        error: "request timed out".into(),
    };
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 110, "producer-1", "b", timeout.clone());
    send(&h, 120, "producer-1", "c", Outcome::sent(users(), 2));
    // No poll returns b, though polls and a read to the end go past every
    // offset it could have: it may never have been written.
    poll(&h, 500, "consumer-1", &[(0, "a"), (2, "c")]);
    let end = ClientEvent::ReadToEnd {
        partition: users(),
        end_offset: 3,
    };
    h.event(600, "reader", end);
    assert_eq!(check_all(&h, &Config::safe()), Judgement::default());
    // A poll returns b: it was written, at the offset the poll found it,
    // and a read of it is no aborted-read.
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 110, "producer-1", "b", timeout.clone());
    send(&h, 120, "producer-1", "c", Outcome::sent(users(), 2));
    poll(&h, 500, "consumer-1", &[(0, "a"), (1, "b"), (2, "c")]);
    assert_eq!(check_all(&h, &Config::safe()), Judgement::default());
    // Written, it takes its place among its producer's sends: b was sent
    // before c, and landing above c, it broke the idempotent producer's order.
    let h = History::new();
    let b = issue(&h, 110, "producer-1", "b");
    let c = issue(&h, 120, "producer-1", "c");
    h.complete(c, 130, Outcome::sent(users(), 1));
    h.complete(b, 200, timeout);
    poll(&h, 500, "consumer-1", &[(1, "c"), (2, "b")]);
    let judged = check_all(&h, &Config::safe());
    assert_eq!(judged.failing_kinds(), [Kind::IntNonmonotonicSend]);
    assert_eq!(judged.findings[0].values(), ["b", "c"]);
}

/// Jepsen's `int-send-skip` (two sends of one operation with other records
/// between them) has no kind here: another producer's record between two of
/// one producer's sends is how Kafka interleaves producers (Jepsen's checker
/// allows the kind always), and a skip over the producer's own record is a
/// reorder or a duplicate, which other kinds report.
#[test]
fn a_skip_over_another_producer_s_record_is_fine_and_over_one_s_own_is_a_reorder() {
    let h = History::new();
    let a = issue(&h, 100, "producer-1", "a");
    let c = issue(&h, 110, "producer-1", "c");
    send(&h, 120, "producer-2", "b", Outcome::sent(users(), 1));
    h.complete(a, 150, Outcome::sent(users(), 0));
    h.complete(c, 160, Outcome::sent(users(), 2));
    poll(&h, 500, "consumer-1", &[(0, "a"), (1, "b"), (2, "c")]);
    assert_eq!(check_all(&h, &Config::safe()), Judgement::default());
    // The record between a and c is producer-1's own d, sent after c.
    let h = History::new();
    let a = issue(&h, 100, "producer-1", "a");
    let c = issue(&h, 110, "producer-1", "c");
    let d = issue(&h, 120, "producer-1", "d");
    h.complete(a, 150, Outcome::sent(users(), 0));
    h.complete(d, 155, Outcome::sent(users(), 1));
    h.complete(c, 160, Outcome::sent(users(), 2));
    poll(&h, 500, "consumer-1", &[(0, "a"), (1, "d"), (2, "c")]);
    let found = int_nonmonotonic_send(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["int-nonmonotonic-send: producer-1 sent c and then d before c was acknowledged, yet d landed at users-0@1 (acked to producer-1 at 155 ms), below c at users-0@2 (acked to producer-1 at 160 ms)"]
    );
}

#[test]
fn a_refused_send_has_no_place_among_its_producer_s_sends() {
    let h = History::new();
    let a = issue(&h, 100, "producer-1", "a");
    h.complete(a, 150, Outcome::sent(users(), 3));
    let refused = Outcome::Fail {
        error: "NOT_ENOUGH_REPLICAS".into(),
    };
    send(&h, 200, "producer-1", "b", refused);
    poll(&h, 500, "consumer-1", &[(1, "b")]);
    let report = check_all(&h, &Config::safe());
    let kinds: Vec<Kind> = report.findings.iter().map(|f| f.kind).collect();
    // No nonmonotonic-send: b never had a place to land at.
    assert_eq!(kinds, [Kind::Unseen, Kind::AbortedRead], "{report}");
}

#[test]
fn a_polled_value_whose_send_definitely_failed_is_an_aborted_read() {
    let h = History::new();
    let refused = Outcome::Fail {
        error: "NOT_ENOUGH_REPLICAS".into(),
    };
    send(&h, 300, "producer-1", "c", refused);
    poll(&h, 500, "consumer-1", &[(4, "c")]);
    let found = aborted_read(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["aborted-read: c was refused to producer-1 at 300 ms (NOT_ENOUGH_REPLICAS), yet consumer-1 polled it at users-0@4 at 500 ms"]
    );
    assert_eq!(found[0].offsets(), [4]);
    assert_eq!(sightings(&found[0])[0].source, Source::Refused);
}

/// Two producers, a send of unknown outcome that did land, a refused send that
/// did not, an empty poll, and a partition that changes owner.
fn clean_history() -> History {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 110, "producer-2", "b", Outcome::sent(users(), 1));
    let timeout = Outcome::Info {
        error: "request timed out".into(),
    };
    send(&h, 120, "producer-1", "c", timeout);
    let refused = Outcome::Fail {
        error: "NOT_ENOUGH_REPLICAS".into(),
    };
    send(&h, 130, "producer-2", "d", refused);
    send(&h, 140, "producer-1", "e", Outcome::sent(users(), 3));
    h.event(
        150,
        "consumer-1",
        ClientEvent::Assigned {
            partitions: vec![users()],
        },
    );
    poll(&h, 200, "consumer-1", &[(0, "a"), (1, "b")]);
    poll(&h, 210, "consumer-1", &[]);
    h.event(
        250,
        "consumer-1",
        ClientEvent::Revoked {
            partitions: vec![users()],
        },
    );
    h.event(
        250,
        "consumer-2",
        ClientEvent::Assigned {
            partitions: vec![users()],
        },
    );
    poll(&h, 300, "consumer-2", &[(1, "b"), (2, "c"), (3, "e")]);
    h
}

#[test]
fn a_clean_history_passes_every_checker() {
    let report = check_all(&clean_history(), &Config::safe());
    assert_eq!(report, Judgement::default());
    assert_eq!(report.verdict(), Verdict::Ok);
    assert_eq!(report.to_string(), "no findings\n");
}

/// A retry appended twice, and a write lost in a failover (acks=1) whose offset
/// the next write took.
fn lost_and_duplicated() -> History {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 200, "producer-1", "b", Outcome::sent(users(), 1));
    poll(&h, 300, "consumer-1", &[(0, "a"), (1, "b"), (2, "b")]);
    send(&h, 400, "producer-1", "v7", Outcome::sent(users(), 3));
    poll(&h, 500, "consumer-1", &[(3, "v8"), (4, "v9")]);
    h
}

#[test]
fn the_safe_config_allows_nothing_and_fails_on_every_anomaly() {
    let report = check_all(&lost_and_duplicated(), &Config::safe());
    assert_eq!(report.allowed().count(), 0);
    let kinds: Vec<Kind> = report.failing().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [Kind::InconsistentOffsets, Kind::Duplicate, Kind::LostWrite]
    );
    assert_eq!(report.verdict(), Verdict::Correctness);
}

#[test]
fn acks_1_expects_a_lost_write_but_fails_a_duplicate() {
    let config = Config {
        acks: Acks::Leader,
        ..Config::safe()
    };
    let report = check_all(&lost_and_duplicated(), &config);
    assert_eq!(
        report.to_string(),
        "FAILS duplicate: b is at 2 offsets: users-0@1 (acked to producer-1 at 200 ms), users-0@2 (polled by consumer-1 at 300 ms)\n\
         expected for this config (acks=1 acknowledges a write only the leader has, and a failover can lose it): \
         inconsistent-offsets: users-0@3 was seen holding 2 values: v7 (acked to producer-1 at 400 ms), v8 (polled by consumer-1 at 500 ms)\n\
         expected for this config (acks=1 acknowledges a write only the leader has, and a failover can lose it): \
         lost-write: v7 acked at users-0@3 by producer-1 at 400 ms was never polled, though consumer-1 polled users-0 up to offset 4 at 500 ms\n"
    );
}

/// producer-1 sends with `acks=1`, producer-2 with `acks=all`; `lost` names
/// the producer whose acknowledged write a failover loses (its offset then
/// holds producer-1's next record, and is polled past).
fn mixed_acks_run_losing_a_write_of(lost: &str) -> History {
    let h = History::new();
    for (process, acks) in [("producer-1", Acks::Leader), ("producer-2", Acks::All)] {
        let settings = ClientEvent::Producer {
            acks,
            idempotence: acks == Acks::All,
        };
        h.event(0, process, settings);
    }
    send(&h, 100, lost, "gone", Outcome::sent(users(), 0));
    // The new leader never had it, and gave its offset to producer-1's next.
    send(&h, 150, "producer-1", "other", Outcome::sent(users(), 0));
    send(&h, 200, "producer-1", "kept", Outcome::sent(users(), 1));
    poll(&h, 300, "consumer-1", &[(0, "other"), (1, "kept")]);
    h
}

#[test]
fn in_a_run_of_mixed_acks_each_write_is_judged_by_its_own_producer_s_promise() {
    // The acks=1 producer's loss is what acks=1 allows.
    let h = mixed_acks_run_losing_a_write_of("producer-1");
    let config = Config::of_history(&h.entries());
    assert_eq!(config.acks, Acks::Leader, "the run's weakest");
    let judged = check_all(&h, &config);
    assert_eq!(judged.verdict(), Verdict::Ok, "{judged}");
    let lost = judged.allowed().find(|f| f.kind == Kind::LostWrite);
    assert_eq!(lost.expect("found").allowed, [Allowance::LeaderOnlyAcks]);

    // The acks=all producer's loss breaks its promise, whatever the other
    // producer's settings.
    let h = mixed_acks_run_losing_a_write_of("producer-2");
    let judged = check_all(&h, &Config::of_history(&h.entries()));
    assert_eq!(judged.verdict(), Verdict::Correctness, "{judged}");
    let failing: Vec<Kind> = judged.failing().map(|f| f.kind).collect();
    assert_eq!(failing, [Kind::LostWrite], "{judged}");
    // The offset that held both records may be the acks=1 record's doing.
    let inconsistent = judged
        .allowed()
        .find(|f| f.kind == Kind::InconsistentOffsets);
    assert!(inconsistent.is_some(), "{judged}");
}

#[test]
fn acks_1_without_idempotence_expects_both() {
    let config = Config {
        acks: Acks::Leader,
        idempotence: false,
        ..Config::safe()
    };
    let report = check_all(&lost_and_duplicated(), &config);
    assert_eq!(report.verdict(), Verdict::Ok);
    let kinds: Vec<Kind> = report.allowed().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [Kind::InconsistentOffsets, Kind::Duplicate, Kind::LostWrite]
    );
    let duplicate = report.allowed().nth(1).expect("three allowed");
    assert_eq!(duplicate.allowed, [Allowance::NoIdempotence]);
    assert_eq!(
        duplicate.allowed[0].to_string(),
        "without idempotence a retried send can be appended twice, or behind a later one"
    );
}

#[test]
fn an_unseen_write_alone_fails_for_liveness() {
    let h = History::new();
    send(&h, 800, "producer-1", "v9", Outcome::sent(users(), 0));
    let report = check_all(&h, &Config::safe());
    assert_eq!(report.verdict(), Verdict::Liveness);
    assert_eq!(report.findings[0].failure(), Some(Class::Liveness));
}

#[test]
fn a_consumer_group_does_not_excuse_a_consumer_going_back_on_its_own() {
    let mut config = Config::safe();
    config
        .groups
        .insert("group-1".into(), DeliveryMode::AtLeastOnce);
    let h = History::new();
    poll(&h, 200, "consumer-1", &[(0, "a"), (1, "b")]);
    poll(&h, 300, "consumer-1", &[(0, "a")]);
    let failing: Vec<Kind> = check_all(&h, &config).failing().map(|a| a.kind).collect();
    assert_eq!(failing, [Kind::NonmonotonicPoll]);
}

#[test]
fn an_unclean_election_expects_truncation_anomalies_and_a_refused_retry_of_a_polled_send() {
    let config = Config {
        unclean_leader_election: true,
        ..Config::safe()
    };
    let expected: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|&kind| {
            let finding = Finding::new(
                kind,
                Detail::Sightings {
                    partition: users(),
                    sightings: vec![],
                },
            );
            !config.allowances(&finding).is_empty()
        })
        .collect();
    assert_eq!(
        expected,
        [
            Kind::InconsistentOffsets,
            Kind::Duplicate,
            Kind::LostWrite,
            Kind::Unseen,
            Kind::NonmonotonicPoll,
            Kind::NonmonotonicSend,
            Kind::IntNonmonotonicSend,
            Kind::AbortedRead,
        ]
    );
}

/// `consumer` joined group-1 and processed `records` (offset, value) of users-0.
fn processed(h: &History, at_ms: u64, consumer: &str, records: &[(Offset, &str)]) {
    for &(offset, value) in records {
        let record = PolledRecord {
            partition: users(),
            offset,
            leader_epoch: 0,
            value: value.into(),
            send: None,
        };
        h.event(at_ms, consumer, ClientEvent::Processed { record });
    }
}

fn subscribed(h: &History, at_ms: u64, consumer: &str) {
    let event = ClientEvent::Subscribed {
        group: "group-1".into(),
        topics: vec!["users".into()],
    };
    h.event(at_ms, consumer, event);
}

#[test]
fn a_record_a_group_processed_twice_or_never_is_found() {
    let h = History::new();
    subscribed(&h, 0, "consumer-1");
    subscribed(&h, 0, "consumer-2");
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 110, "producer-1", "b", Outcome::sent(users(), 1));
    send(&h, 120, "producer-1", "c", Outcome::sent(users(), 2));
    processed(&h, 200, "consumer-1", &[(0, "a"), (1, "b")]);
    processed(&h, 300, "consumer-2", &[(1, "b")]);
    let found = processing(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        [
            "processed-again: group group-1 processed b (users-0@1) 2 times",
            "never-processed: c (users-0@2) was acknowledged, but group group-1 never processed it",
        ]
    );
    assert_eq!(found[0].nodes(), ["group-1", "consumer-1", "consumer-2"]);
}

#[test]
fn a_group_s_delivery_mode_decides_what_processing_allows() {
    let h = History::new();
    subscribed(&h, 0, "consumer-1");
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 110, "producer-1", "b", Outcome::sent(users(), 1));
    poll(&h, 150, "consumer-1", &[(0, "a"), (1, "b")]);
    processed(&h, 200, "consumer-1", &[(0, "a"), (0, "a")]);
    let mut config = Config::of_history(&h.entries());
    let at_least_once = check_all(&h, &config);
    assert_eq!(
        (at_least_once.verdict(), at_least_once.failing_kinds()),
        (Verdict::Liveness, vec![Kind::NeverProcessed])
    );
    config
        .groups
        .insert("group-1".into(), DeliveryMode::AtMostOnce);
    let at_most_once = check_all(&h, &config);
    assert_eq!(at_most_once.verdict(), Verdict::Ok);
    let allowed: Vec<(Kind, Vec<Allowance>)> = (at_most_once.allowed())
        .map(|f| (f.kind, f.allowed.clone()))
        .collect();
    assert_eq!(
        allowed,
        [
            (Kind::ProcessedAgain, vec![Allowance::FailedCommit]),
            (Kind::NeverProcessed, vec![Allowance::AtMostOnce]),
        ]
    );
}

#[test]
fn a_lost_write_is_not_told_again_as_never_processed() {
    let h = History::new();
    subscribed(&h, 0, "consumer-1");
    send(&h, 100, "producer-1", "a", Outcome::sent(users(), 0));
    send(&h, 110, "producer-1", "b", Outcome::sent(users(), 1));
    poll(&h, 150, "consumer-1", &[(1, "b")]);
    processed(&h, 160, "consumer-1", &[(1, "b")]);
    let report = check_all(&h, &Config::of_history(&h.entries()));
    assert_eq!(
        report.kinds().into_iter().collect::<Vec<_>>(),
        [Kind::LostWrite]
    );
}

#[test]
fn the_history_says_which_producers_and_groups_the_config_covers() {
    let h = History::new();
    let strong = ClientEvent::Producer {
        acks: Acks::All,
        idempotence: true,
    };
    let weak = ClientEvent::Producer {
        acks: Acks::Leader,
        idempotence: false,
    };
    h.event(0, "producer-1", strong);
    h.event(0, "producer-2", weak);
    subscribed(&h, 0, "consumer-1");
    let config = Config::of_history(&h.entries());
    assert_eq!(config.acks, Acks::Leader);
    assert!(!config.idempotence);
    assert_eq!(
        config.groups.into_iter().collect::<Vec<_>>(),
        [("group-1".to_string(), DeliveryMode::AtLeastOnce)]
    );
}

#[test]
fn a_history_with_no_send_and_no_poll_checks_nothing_and_fails_for_liveness() {
    let h = History::new();
    let assigned = ClientEvent::Assigned {
        partitions: vec![users()],
    };
    h.event(0, "consumer-1", assigned);
    let report = check_all(&h, &Config::safe());
    assert_eq!(
        report.to_string(),
        "FAILS empty-history: the history holds no send and no poll, one other entry: the checkers had nothing to judge\n"
    );
    assert_eq!(report.verdict(), Verdict::Liveness);
    assert_eq!(
        report.findings[0].detail,
        Detail::EmptyHistory { entries: 1 }
    );
    // A poll that returned nothing, or a send that failed, brings nothing to
    // check either, and the run does not pass.
    poll(&h, 100, "consumer-1", &[]);
    let report = check_all(&h, &Config::safe());
    assert_eq!(
        report.to_string(),
        "FAILS nothing-acknowledged: 0 sends and 1 poll, but no send was acknowledged and no poll returned a record: the checkers had nothing to check\n"
    );
    assert_eq!(report.verdict(), Verdict::Liveness);
    // One record polled is something checked.
    poll(&h, 200, "consumer-1", &[(0, "a")]);
    assert_eq!(check_all(&h, &Config::safe()), Judgement::default());
}

#[test]
fn a_run_cut_short_is_not_also_an_empty_history() {
    let crash = Finding::new(
        Kind::Crash,
        Detail::Crash {
            message: "broker-1 panicked".into(),
        },
    );
    let judged = judge(&[], &Config::safe(), vec![crash]);
    assert_eq!(
        judged.kinds().into_iter().collect::<Vec<_>>(),
        [Kind::Crash]
    );
    let judged = judge(&[], &Config::safe(), vec![]);
    assert_eq!(judged.failing_kinds(), [Kind::EmptyHistory]);
    assert_eq!(
        judged.to_string(),
        "FAILS empty-history: the history is empty: the checkers had nothing to judge\n"
    );
}
