//! Replication properties of the real broker and controller state machines,
//! driven directly with messages through random schedules.
//!
//! The shared test network (`kafkasim::testing`) carries the messages of one
//! controller and three brokers (no madsim: every node is the plain sans-IO state
//! machine). Each case
//! creates topic `orders` (one partition, replication factor 2 or 3, a random
//! `min.insync.replicas`) and runs a random list of steps: produces (`acks=1` or
//! `acks=all`, to the leader or to any broker), consumer reads, deliveries of one
//! message chosen among the connections (so messages of different connections
//! overtake each other), time moving on (heartbeats, fetch long polls, fencing,
//! ISR shrinks), crashes and restarts of the leader or a follower (a process crash
//! or a power loss), cut links between any two nodes and isolated brokers (messages
//! stall until the cut heals, as on a clogged madsim link) and preferred-leader
//! elections. At the end every cut heals, every broker restarts and the cluster
//! gets a minute to settle.
//!
//! After every message and every timer the test checks, from outside the nodes:
//! - every replica's log has dense, ordered offsets (non-empty batches, each
//!   starting where the previous ended);
//! - the *committed prefix* never changes: the records below any replica's high
//!   watermark are the same records (value and leader epoch) at the same offsets on
//!   every replica, at every moment (`committed-prefix-agreement`);
//! - the leader of the current epoch holds the whole committed prefix, and its high
//!   watermark is at most the log end offset of every in-sync replica (the HW rule);
//! - no truncation drops a committed record or goes below the truncating replica's
//!   own high watermark;
//! - every Fetch answer (a follower's or a consumer's) is a contiguous, in-order
//!   slice starting at the requested offset; a consumer's lies below the high
//!   watermark and holds committed records;
//! - every `acks=all` acknowledgement names records of the committed prefix.
//!
//! After the final minute every replica holds the same log, the high watermark
//! covers all of it, and the ISR is every replica again.
//!
//! The rules under test are Kafka's safe ones: leader-epoch truncation (KIP-101),
//! clean elections, and a flush after every message, so that a power loss keeps
//! what a process crash keeps. The checks are shown to bite: KIP-101's two
//! schedules (the lost write, and the divergence after a double power loss) break
//! them under the pre-0.11 truncation rule and not under leader epochs, and a
//! seeded search over random schedules finds a counterexample, shrunk to a few
//! steps, as soon as followers truncate to their high watermark or brokers never
//! flush. Another test checks that the random schedules do reach failovers,
//! truncations, ISR changes and acknowledged writes.
//!
//! Cases: 64 by default (CI); `PROPTEST_CASES=5000 cargo test -p kafkasim --test
//! broker_properties` searches deeper. Failing cases are saved to
//! `tests/broker_properties.proptest-regressions` and replayed first on every run.

use kafkasim::bugs::{Bug, Bugs};
use kafkasim::disk::CrashKind;
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const BROKERS: BrokerId = 3;
const TOPIC: &str = "orders";
const CLIENT: NodeId = NodeId::Client(1);
/// How long the cluster gets to settle once every fault is healed.
const FINAL_SETTLE_MS: u64 = 60_000;

fn orders_0() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// The cases to run: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// The cluster under test and its steps; the checker of the properties.
#[path = "broker_properties/checker.rs"]
mod checker;
#[path = "broker_properties/net.rs"]
mod net;

use checker::{entries, Reached};
use net::Net;

// ---- The rules and the steps ------------------------------------------------------------

/// What the brokers run with.
#[derive(Debug, Clone, Copy)]
struct Rules {
    bugs: Bugs,
    /// Each broker's `log.flush.interval.messages`.
    flush_interval: fn(BrokerId) -> Option<u64>,
}

/// Leader epochs, and a flush after every message, so that a power loss loses
/// nothing a process crash would keep.
const SAFE: Rules = Rules {
    bugs: Bugs::NONE,
    flush_interval: |_| Some(1),
};

/// A broker named by its role when the step runs.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// The leader the controller names, if it is running.
    Leader,
    /// The n-th running replica that is not the leader.
    Follower(u8),
    /// Broker `1 + n % 3`.
    Broker(u8),
}

#[derive(Debug, Clone)]
enum Step {
    /// A Produce of `records` new values.
    Produce {
        to: Who,
        acks_all: bool,
        records: u8,
    },
    /// A consumer's Fetch from this fraction (per mille) of the target's log end.
    Read {
        to: Who,
        from_per_mille: u16,
    },
    /// Delivers the first message waiting on the `pick`-th connection.
    DeliverOne {
        pick: u8,
    },
    /// Delivers everything deliverable at this instant.
    Settle,
    /// Moves the clock on.
    Advance {
        ms: u32,
    },
    Crash {
        who: Who,
        power_loss: bool,
    },
    /// Restarts the `pick`-th crashed broker.
    Restart {
        pick: u8,
    },
    /// Cuts the link between two nodes (0 is the controller, 1..=3 the brokers).
    Cut {
        a: u8,
        b: u8,
    },
    /// Cuts a broker off from the controller and the other brokers (clients
    /// still reach it).
    Isolate {
        who: Who,
    },
    HealAll,
    /// An admin asks for preferred-leader elections.
    ElectPreferred,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::Leader),
        2 => (0..3u8).prop_map(Who::Follower),
        1 => (0..3u8).prop_map(Who::Broker),
    ]
}

/// Where a produce goes: mostly the leader, sometimes a broker that is not.
fn produce_target() -> impl Strategy<Value = Who> {
    prop_oneof![
        8 => Just(Who::Leader),
        1 => (0..3u8).prop_map(Who::Follower),
        1 => (0..3u8).prop_map(Who::Broker),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (produce_target(), any::<bool>(), 1..4u8)
            .prop_map(|(to, acks_all, records)| Step::Produce { to, acks_all, records }),
        2 => (produce_target(), 0..=1000u16).prop_map(|(to, from_per_mille)| Step::Read { to, from_per_mille }),
        4 => any::<u8>().prop_map(|pick| Step::DeliverOne { pick }),
        2 => Just(Step::Settle),
        5 => prop_oneof![
            3 => 1..1_000u32,
            2 => 1_000..12_000u32,
            1 => 12_000..35_000u32,
        ]
        .prop_map(|ms| Step::Advance { ms }),
        2 => (who(), any::<bool>()).prop_map(|(who, power_loss)| Step::Crash { who, power_loss }),
        2 => any::<u8>().prop_map(|pick| Step::Restart { pick }),
        1 => (0..=3u8, 0..=3u8).prop_map(|(a, b)| Step::Cut { a, b }),
        1 => who().prop_map(|who| Step::Isolate { who }),
        1 => Just(Step::HealAll),
        1 => Just(Step::ElectPreferred),
    ]
}

/// A topic's shape: replication factor and `min.insync.replicas`.
fn topic() -> impl Strategy<Value = (i16, i32)> {
    (2..=3i16).prop_flat_map(|rf| (Just(rf), 1..=rf as i32))
}

/// Runs one case: the steps, then healing, checking the properties throughout.
/// Returns what the case reached.
fn run(rules: Rules, (rf, min_isr): (i16, i32), steps: &[Step]) -> Result<Reached, String> {
    let mut net = Net::start(rules, rf, min_isr)?;
    for (i, step) in steps.iter().enumerate() {
        net.run_step(step)
            .map_err(|e| format!("at step {i} ({step:?}), {} ms: {e}", net.now_ms()))?;
    }
    net.heal_and_settle()
        .map_err(|e| format!("while healing: {e}"))?;
    net.check_converged()?;
    Ok(net.checker.reached)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn replication_keeps_the_committed_prefix_under_any_schedule_of_faults(
        topic in topic(),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        if let Err(why) = run(SAFE, topic, &steps) {
            return Err(TestCaseError::fail(why));
        }
    }
}

// ---- The famous failures the properties guard against --------------------------------

/// A KIP-101 schedule as steps, on three replicas: both followers fetch m2 and
/// the leader acknowledges it; the leader crashes before they learn the new
/// high watermark. The first follower is elected; the second, cut off from it,
/// becomes its follower (and, under the old rule, truncates to its high
/// watermark); then the new leader crashes too and the second is elected.
fn kip_101_steps() -> Vec<Step> {
    let produce = Step::Produce {
        to: Who::Leader,
        acks_all: true,
        records: 1,
    };
    vec![
        produce.clone(),
        Step::Advance { ms: 1_000 },
        produce,
        Step::Settle,
        Step::Crash {
            who: Who::Leader,
            power_loss: false,
        },
        Step::Cut { a: 2, b: 3 },
        Step::Advance { ms: 12_000 },
        Step::Crash {
            who: Who::Leader,
            power_loss: false,
        },
        Step::Advance { ms: 12_000 },
    ]
}

/// Kafka before 0.11: followers truncate to their own high watermark.
const OLD_TRUNCATION_RULE: Rules = Rules {
    bugs: Bugs::NONE.with(Bug::Kip101),
    ..SAFE
};

#[test]
fn kip_101_s_schedule_keeps_the_committed_prefix_with_leader_epochs() {
    let reached = run(SAFE, (3, 1), &kip_101_steps()).expect("no property broken");
    assert_eq!(reached.leader_changes, 2, "{reached:?}");
    assert_eq!(
        reached.committed, 2,
        "m1 and m2 committed, and kept: {reached:?}"
    );
}

#[test]
fn kip_101_s_schedule_breaks_the_properties_with_the_pre_0_11_truncation_rule() {
    let why = run(OLD_TRUNCATION_RULE, (3, 1), &kip_101_steps()).expect_err("KIP-101's lost write");
    assert!(
        why.contains("truncated the committed record (\"v1\", 0) at orders-0@1"),
        "{why}"
    );
}

/// KIP-101's second schedule (replica divergence after a double crash), with RF 2
/// on brokers A (the leader, flushing every message) and B (flushing every second
/// message): m0 and m1 are on both disks, B fetched m2 but has not flushed it. Both
/// lose power; B comes back first and leads, and writes m3 at offset 2; then A comes
/// back and follows. Returns (A's log, B's log) as values.
fn double_power_loss(bugs: Bugs) -> (Vec<String>, Vec<String>) {
    let rules = Rules {
        bugs,
        flush_interval: |broker| Some(if broker == 1 { 1 } else { 2 }),
    };
    let mut net = Net::start(rules, 2, 1).expect("started");
    net.checker.checking = false; // B's power loss loses a committed record on purpose
    let p = net.partition().expect("orders-0");
    assert_eq!(p.replicas, [1, 2], "A is broker-1, B broker-2");
    let produce = |net: &mut Net, acks_all| {
        net.run_step(&Step::Produce {
            to: Who::Leader,
            acks_all,
            records: 1,
        })
        .expect("sent")
    };
    for _ in 0..2 {
        produce(&mut net, true);
        net.advance_by(1_000)
            .expect("m0, m1 replicated and flushed");
    }
    produce(&mut net, false);
    net.settle().expect("B fetched m2");
    assert_eq!(net.log_of(1).map(|l| l.high_watermark()), Some(3));
    assert_eq!(net.log_of(2).map(|l| l.high_watermark()), Some(2));
    net.crash(1, CrashKind::PowerLoss).expect("A loses power");
    net.crash(2, CrashKind::PowerLoss).expect("B loses power");
    net.restart(2).expect("B comes back first");
    net.advance_by(12_000).expect("A fenced, B elected");
    assert_eq!(net.partition().and_then(|p| p.leader), Some(2));
    produce(&mut net, false);
    net.advance_by(1_000).expect("m3 appended");
    net.restart(1).expect("A comes back");
    net.advance_by(FINAL_SETTLE_MS).expect("settled");
    let values = |broker| {
        let log = net.log_of(broker).expect("a replica");
        entries(log).into_iter().map(|(v, _)| v).collect::<Vec<_>>()
    };
    (values(1), values(2))
}

#[test]
fn kip_101_s_double_power_loss_leaves_the_replicas_diverged_for_good_with_the_pre_0_11_rule() {
    let (a, b) = double_power_loss(Bugs::NONE.with(Bug::Kip101));
    assert_eq!(a, ["v0", "v1", "v2"], "A kept m2 below its high watermark");
    assert_eq!(b, ["v0", "v1", "v3"], "B wrote m3 at the same offset");
}

#[test]
fn kip_101_s_double_power_loss_leaves_the_replicas_in_agreement_with_leader_epochs() {
    let (a, b) = double_power_loss(Bugs::NONE);
    assert_eq!(a, ["v0", "v1", "v3"], "A cut m2, the end of epoch 0 on B");
    assert_eq!(b, a);
}

/// A search over random schedules with a broken rule: the seeded runner must
/// find a case that breaks a property, and shrink it. Returns the reason and the
/// smallest case found.
fn search(rules: Rules) -> (String, Vec<Step>) {
    use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 1_000,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let case = (topic(), proptest::collection::vec(step(), 1..80));
    let result = runner.run(&case, |(topic, steps)| {
        run(rules, topic, &steps)
            .map(|_| ())
            .map_err(TestCaseError::fail)
    });
    match result {
        Err(TestError::Fail(why, (_, steps))) => (why.to_string(), steps),
        other => panic!("the search found no broken property: {other:?}"),
    }
}

#[test]
fn a_search_over_random_schedules_finds_the_lost_write_of_the_pre_0_11_truncation_rule() {
    let (why, steps) = search(OLD_TRUNCATION_RULE);
    assert!(why.contains("truncated the committed record"), "{why}");
    assert!(
        steps.len() <= 15,
        "shrunk to {} steps: {steps:?}",
        steps.len()
    );
}

#[test]
fn a_search_over_random_schedules_finds_the_loss_of_an_in_sync_replica_s_unflushed_tail() {
    let never_flush = Rules {
        flush_interval: |_| None,
        ..SAFE
    };
    let (why, steps) = search(never_flush);
    assert!(
        steps.iter().any(|s| matches!(
            s,
            Step::Crash {
                power_loss: true,
                ..
            }
        )),
        "{why}: {steps:?}"
    );
    assert!(
        steps.len() <= 15,
        "shrunk to {} steps: {steps:?}",
        steps.len()
    );
}

/// The random schedules are worth something only if they reach failovers,
/// truncations, ISR changes and acknowledged writes: 64 cases drawn from a fixed
/// seed must reach each of them.
#[test]
fn the_random_schedules_reach_failovers_truncations_and_acknowledged_writes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let case = (topic(), proptest::collection::vec(step(), 1..80));
    let mut total = Reached::default();
    for _ in 0..64 {
        let (topic, steps) = case.new_tree(&mut runner).expect("a case").current();
        total.add(run(SAFE, topic, &steps).expect("the property holds"));
    }
    let Reached {
        leader_changes,
        truncations,
        isr_changes,
        acks_all,
        consumer_records,
        follower_records,
        committed,
    } = total;
    eprintln!("reached over 64 cases: {total:?}");
    assert!(leader_changes >= 20, "{total:?}");
    assert!(truncations >= 3, "{total:?}");
    assert!(isr_changes >= 20, "{total:?}");
    assert!(acks_all >= 50, "{total:?}");
    assert!(consumer_records >= 50, "{total:?}");
    assert!(follower_records >= 100, "{total:?}");
    assert!(committed >= 15, "{total:?}");
}
