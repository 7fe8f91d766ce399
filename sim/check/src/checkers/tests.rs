//! One minimal history per checker that makes it fire, with the exact report;
//! one clean history that passes them all; and how configurations split findings.

use super::*;
use crate::history::{ConsumerEvent, History, Operation, Outcome, PolledRecord};
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
            partition: users(),
            value: value.into(),
        },
    );
    h.complete(op, at_ms, outcome);
}

/// `process` polls users-0 at `at_ms` and gets `records` (offset, value).
fn poll(h: &History, at_ms: u64, process: &str, records: &[(Offset, &str)]) {
    let op = h.invoke(
        at_ms,
        process,
        Operation::Poll {
            partitions: vec![users()],
        },
    );
    let records = records
        .iter()
        .map(|&(offset, value)| PolledRecord {
            partition: users(),
            offset,
            value: value.into(),
        })
        .collect();
    h.complete(op, at_ms, Outcome::polled(records));
}

fn sighting(
    evidence: Evidence,
    value: &str,
    offset: Offset,
    process: &str,
    time_ms: u64,
) -> Sighting {
    Sighting {
        evidence,
        value: value.into(),
        offset: Some(offset),
        process: process.into(),
        time_ms,
    }
}

fn lines(anomalies: &[Anomaly]) -> Vec<String> {
    anomalies.iter().map(|a| a.to_string()).collect()
}

#[test]
fn an_offset_acked_with_one_value_and_polled_with_another_is_inconsistent() {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(0));
    poll(&h, 400, "consumer-1", &[(0, "b")]);
    let found = inconsistent_offsets(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["inconsistent-offsets: users-0@0 was seen holding 2 values: a (acked to producer-1 at 100 ms), b (polled by consumer-1 at 400 ms)"]
    );
    assert_eq!(found[0].partition, users());
    assert_eq!(
        found[0].sightings,
        [
            sighting(Evidence::Acked, "a", 0, "producer-1", 100),
            sighting(Evidence::Polled, "b", 0, "consumer-1", 400),
        ]
    );
}

#[test]
fn a_value_acked_at_one_offset_and_polled_at_another_is_a_duplicate() {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(0));
    poll(&h, 500, "consumer-1", &[(0, "a"), (1, "a")]);
    let found = duplicate(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["duplicate: a is at 2 offsets: users-0@0 (acked to producer-1 at 100 ms), users-0@1 (polled by consumer-1 at 500 ms)"]
    );
    assert_eq!(found[0].offsets(), [0, 1]);
    assert_eq!(found[0].processes(), ["producer-1", "consumer-1"]);
}

#[test]
fn an_acked_send_never_polled_though_a_poll_went_past_it_is_a_lost_write() {
    let h = History::new();
    send(&h, 350, "producer-1", "v7", Outcome::sent(12));
    poll(&h, 900, "consumer-2", &[(15, "v10")]);
    let found = lost_write(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["lost-write: v7 acked at users-0@12 by producer-1 at 350 ms was never polled, though consumer-2 polled users-0 up to offset 15 at 900 ms"]
    );
    let lost = &found[0];
    assert_eq!(lost.kind, AnomalyKind::LostWrite);
    assert_eq!(lost.partition, users());
    assert_eq!(lost.offsets(), [12, 15]);
    assert_eq!(lost.values(), ["v7", "v10"]);
    assert_eq!(lost.times_ms(), [350, 900]);
    assert_eq!(lost.processes(), ["producer-1", "consumer-2"]);
    assert_eq!(unseen(&Facts::of(&h.entries())), []);
}

#[test]
fn an_acked_send_no_poll_reached_is_unseen_not_lost() {
    let h = History::new();
    poll(&h, 700, "consumer-2", &[(15, "v10")]);
    send(&h, 800, "producer-1", "v9", Outcome::sent(20));
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
    send(&h, 800, "producer-1", "v9", Outcome::sent(0));
    assert_eq!(
        lines(&unseen(&Facts::of(&h.entries()))),
        ["unseen: v9 acked at users-0@0 by producer-1 at 800 ms was never polled; no consumer polled users-0 at all (lost, or not consumed yet)"]
    );
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
            Outcome::sent(offset as Offset),
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
    assert_eq!(found[0].processes(), ["consumer-1", "producer-1"]);
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
            Outcome::sent(offset as Offset),
        );
    }
    poll(&h, 200, "consumer-1", &[(0, "a")]);
    h.event(
        250,
        "consumer-1",
        ConsumerEvent::Seek {
            partition: users(),
            offset: 2,
        },
    );
    poll(&h, 300, "consumer-1", &[(2, "c")]);
    h.event(
        350,
        "consumer-1",
        ConsumerEvent::Assigned {
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
        found[0].sightings,
        [
            sighting(Evidence::Polled, "f", 5, "consumer-1", 200),
            sighting(Evidence::Polled, "d", 3, "consumer-1", 300),
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
        ConsumerEvent::Revoked {
            partitions: revoked.clone(),
        },
    );
    h.event(
        250,
        "consumer-2",
        ConsumerEvent::Assigned {
            partitions: revoked.clone(),
        },
    );
    poll(&h, 300, "consumer-2", &[(0, "a"), (1, "b"), (2, "c")]);
    // And back to consumer-1, from the committed offset 1.
    h.event(
        350,
        "consumer-2",
        ConsumerEvent::Lost {
            partitions: revoked.clone(),
        },
    );
    h.event(
        350,
        "consumer-1",
        ConsumerEvent::Assigned {
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
            partition: users(),
            value: "a".into(),
        },
    );
    h.complete(a, 150, Outcome::sent(7));
    let b = h.invoke(
        200,
        "producer-1",
        Operation::Send {
            partition: users(),
            value: "b".into(),
        },
    );
    h.complete(b, 300, Outcome::sent(5));
    let found = nonmonotonic_send(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["nonmonotonic-send: producer-1 sent b after a was acked at users-0@7 at 150 ms, yet b was acked at the lower offset users-0@5 at 300 ms"]
    );
    assert_eq!(found[0].offsets(), [7, 5]);
}

#[test]
fn sends_in_flight_together_may_land_in_either_order() {
    let h = History::new();
    let send = |at_ms, value: &str| {
        h.invoke(
            at_ms,
            "producer-1",
            Operation::Send {
                partition: users(),
                value: value.into(),
            },
        )
    };
    let a = send(100, "a");
    let b = send(110, "b");
    h.complete(a, 150, Outcome::sent(7));
    h.complete(b, 160, Outcome::sent(5));
    assert_eq!(nonmonotonic_send(&Facts::of(&h.entries())), []);
}

#[test]
fn a_polled_value_whose_send_definitely_failed_is_an_aborted_read() {
    let h = History::new();
    let refused = Outcome::Fail {
        error: "NOT_LEADER_OR_FOLLOWER".into(),
    };
    send(&h, 300, "producer-1", "c", refused);
    poll(&h, 500, "consumer-1", &[(4, "c")]);
    let found = aborted_read(&Facts::of(&h.entries()));
    assert_eq!(
        lines(&found),
        ["aborted-read: c was refused to producer-1 at 300 ms (NOT_LEADER_OR_FOLLOWER), yet consumer-1 polled it at users-0@4 at 500 ms"]
    );
    assert_eq!(found[0].offsets(), [4]);
    assert_eq!(found[0].sightings[0].evidence, Evidence::Failed);
}

/// Two producers, a send of unknown outcome that did land, a refused send that
/// did not, an empty poll, and a partition that changes owner.
fn clean_history() -> History {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(0));
    send(&h, 110, "producer-2", "b", Outcome::sent(1));
    let timeout = Outcome::Info {
        error: "request timed out".into(),
    };
    send(&h, 120, "producer-1", "c", timeout);
    let refused = Outcome::Fail {
        error: "NOT_ENOUGH_REPLICAS".into(),
    };
    send(&h, 130, "producer-2", "d", refused);
    send(&h, 140, "producer-1", "e", Outcome::sent(3));
    h.event(
        150,
        "consumer-1",
        ConsumerEvent::Assigned {
            partitions: vec![users()],
        },
    );
    poll(&h, 200, "consumer-1", &[(0, "a"), (1, "b")]);
    poll(&h, 210, "consumer-1", &[]);
    h.event(
        250,
        "consumer-1",
        ConsumerEvent::Revoked {
            partitions: vec![users()],
        },
    );
    h.event(
        250,
        "consumer-2",
        ConsumerEvent::Assigned {
            partitions: vec![users()],
        },
    );
    poll(&h, 300, "consumer-2", &[(1, "b"), (2, "c"), (3, "e")]);
    h
}

#[test]
fn a_clean_history_passes_every_checker() {
    let report = check_all(&clean_history(), &AllowedAnomalies::none());
    assert_eq!(report, CheckReport::default());
    assert!(report.passed());
    assert_eq!(report.failure(), None);
    assert_eq!(report.to_string(), "no anomalies\n");
}

/// A retry appended twice, and a write lost in a failover (acks=1) whose offset
/// the next write took.
fn lost_and_duplicated() -> History {
    let h = History::new();
    send(&h, 100, "producer-1", "a", Outcome::sent(0));
    send(&h, 200, "producer-1", "b", Outcome::sent(1));
    poll(&h, 300, "consumer-1", &[(0, "a"), (1, "b"), (2, "b")]);
    send(&h, 400, "producer-1", "v7", Outcome::sent(3));
    poll(&h, 500, "consumer-1", &[(3, "v8"), (4, "v9")]);
    h
}

#[test]
fn the_safe_config_allows_nothing_and_fails_on_every_anomaly() {
    let allowed = AllowedAnomalies::for_config(&Config::safe());
    assert_eq!(allowed, AllowedAnomalies::none());
    let report = check_all(&lost_and_duplicated(), &allowed);
    let kinds: Vec<AnomalyKind> = report.failing.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AnomalyKind::InconsistentOffsets,
            AnomalyKind::Duplicate,
            AnomalyKind::LostWrite
        ]
    );
    assert_eq!(report.failure(), Some(FailureKind::Correctness));
}

#[test]
fn acks_1_expects_a_lost_write_but_fails_a_duplicate() {
    let config = Config {
        acks: Acks::Leader,
        ..Config::safe()
    };
    let report = check_all(
        &lost_and_duplicated(),
        &AllowedAnomalies::for_config(&config),
    );
    assert_eq!(
        report.to_string(),
        "FAILS duplicate: b is at 2 offsets: users-0@1 (acked to producer-1 at 200 ms), users-0@2 (polled by consumer-1 at 300 ms)\n\
         expected for this config (acks=1 acknowledges a write only the leader has, and a failover can lose it): \
         inconsistent-offsets: users-0@3 was seen holding 2 values: v7 (acked to producer-1 at 400 ms), v8 (polled by consumer-1 at 500 ms)\n\
         expected for this config (acks=1 acknowledges a write only the leader has, and a failover can lose it): \
         lost-write: v7 acked at users-0@3 by producer-1 at 400 ms was never polled, though consumer-1 polled users-0 up to offset 4 at 500 ms\n"
    );
}

#[test]
fn acks_1_without_idempotence_expects_both() {
    let config = Config {
        acks: Acks::Leader,
        idempotence: false,
        ..Config::safe()
    };
    let report = check_all(
        &lost_and_duplicated(),
        &AllowedAnomalies::for_config(&config),
    );
    assert!(report.passed());
    let kinds: Vec<AnomalyKind> = report.allowed.iter().map(|a| a.anomaly.kind).collect();
    assert_eq!(
        kinds,
        [
            AnomalyKind::InconsistentOffsets,
            AnomalyKind::Duplicate,
            AnomalyKind::LostWrite
        ]
    );
    assert_eq!(
        report.allowed[1].reason,
        "without idempotence a retried send can be appended twice"
    );
}

#[test]
fn an_unseen_write_alone_fails_for_liveness() {
    let h = History::new();
    send(&h, 800, "producer-1", "v9", Outcome::sent(0));
    let report = check_all(&h, &AllowedAnomalies::for_config(&Config::safe()));
    assert_eq!(report.failure(), Some(FailureKind::Liveness));
}

#[test]
fn a_consumer_group_does_not_excuse_a_consumer_going_back_on_its_own() {
    let config = Config {
        group: Some(DeliveryMode::AtLeastOnce),
        ..Config::safe()
    };
    let allowed = AllowedAnomalies::for_config(&config);
    assert_eq!(allowed.reason(AnomalyKind::NonmonotonicPoll), None);
    let h = History::new();
    poll(&h, 200, "consumer-1", &[(0, "a"), (1, "b")]);
    poll(&h, 300, "consumer-1", &[(0, "a")]);
    let failing: Vec<AnomalyKind> = check_all(&h, &allowed)
        .failing
        .iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(failing, [AnomalyKind::NonmonotonicPoll]);
}

#[test]
fn an_unclean_election_expects_truncation_anomalies_and_a_refused_retry_of_a_polled_send() {
    let config = Config {
        unclean_leader_election: true,
        ..Config::safe()
    };
    let allowed = AllowedAnomalies::for_config(&config);
    let expected: Vec<AnomalyKind> = AnomalyKind::ALL
        .into_iter()
        .filter(|&k| allowed.reason(k).is_some())
        .collect();
    assert_eq!(
        expected,
        [
            AnomalyKind::InconsistentOffsets,
            AnomalyKind::Duplicate,
            AnomalyKind::LostWrite,
            AnomalyKind::Unseen,
            AnomalyKind::NonmonotonicPoll,
            AnomalyKind::NonmonotonicSend,
            AnomalyKind::AbortedRead,
        ]
    );
}
