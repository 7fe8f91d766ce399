//! Whole clusters under generated fault schedules: proptest draws a small safe
//! workload and an explicit fault schedule, the simulator runs it with a
//! generated seed, and the history checkers must find nothing.
//!
//! The workload: 3 brokers; topic `events` with 2 to 6 partitions, RF 3 and
//! `min.insync.replicas` 2; 1 or 2 idempotent `acks=all` producers at 5 to 20
//! records a second; perhaps a group of 1 to 3 consumers committing after
//! processing; a safety phase of 10 to 30 s, then up to 60 s to recover. The
//! schedule: up to 6 faults of the kinds under which Kafka keeps its promise
//! (process crashes, pauses, isolations, link cuts, a controller crash, client
//! cuts and client pauses), never two server faults at once, as
//! `Profile::SAFE` draws them. Faults are generated freely and then repaired
//! ([`Draft::schedule`]): a server fault that would overlap the one before it
//! starts 500 ms after that one ends, and one pushed out of the safety phase is
//! dropped. The repair runs on every candidate, so shrinking (fewer faults,
//! shorter faults, earlier faults, a smaller workload) always yields a valid
//! schedule.
//!
//! The property: the workload validates, the run's verdict is ok, and the log
//! and delivery checkers found no anomaly, not even an allowed one. A group's
//! at-least-once reprocessing ("processed 2 times", judged apart from the
//! checkers) is what committing after processing allows, and is fine. A
//! failure prints the workload as a scenario file with its seed: save it and
//! replay it with `kafkasim run --scenario FILE --seed S`, or shrink it further
//! with `kafkasim shrink`. That the property can fail at all is shown on the
//! minimal KIP-101 schedule with followers that truncate to their high
//! watermark (it loses a write; the same run with leader epochs does not).
//!
//! Each case is a whole simulation (about 0.2 s in a debug build), so the
//! default is 24 cases, drawn from a fixed RNG seed: `cargo test` runs the same
//! cases every time, so a failure is never the luck of the draw.
//! `PROPTEST_CASES=400 PROPTEST_RNG_SEED=N cargo test -p kafkasim --test
//! cluster_properties` searches deeper and elsewhere (about 75 s). Failing cases
//! are saved to `tests/cluster_properties.proptest-regressions` and replayed
//! first. One case found that way is kept below with the answer the model gives
//! today, an open question: [`an_idempotent_producers_later_batch_lands_first_across_an_isolated_leader`].

use kafkasim::bugs::{Bug, Bugs};
use kafkasim::ids::BrokerId;
use kafkasim_check::fault::{Action, Fault, Schedule, Target};
use kafkasim_check::{views, Verdict};
use kafkasim_sim::ClusterSpec;
use kafkasim_tools::run::run_seed;
use kafkasim_tools::scenario::worker::Commit;
use kafkasim_tools::scenario::workload::file::{parse, to_toml};
use kafkasim_tools::scenario::workload::{FaultPlan, GroupSpec, ProducerSpec, TopicSpec, Workload};
use kafkasim_tools::scenario::Scenario;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use std::collections::BTreeMap;

const BROKERS: BrokerId = 3;
const TOPIC: &str = "events";
/// After a server fault is undone, the next one waits this long at least (as
/// the nemesis draws them).
const SETTLE_MS: u64 = 500;
const LIVENESS_MS: u64 = 60_000;

/// The cases to run: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `PROPTEST_RNG_SEED` when set, else a fixed seed: the same cases every run.
fn rng_seed() -> RngSeed {
    match std::env::var_os("PROPTEST_RNG_SEED") {
        Some(_) => ProptestConfig::default().rng_seed,
        None => RngSeed::Fixed(20_261_205),
    }
}

// ---- The workload ------------------------------------------------------------------------

/// The workload's shape, as generated. The last three fields are the safe
/// settings every generated shape keeps; only the can-fail test changes them.
#[derive(Debug, Clone)]
struct Shape {
    partitions: i32,
    producers: u32,
    /// Records a second, each producer.
    rate: u64,
    /// The group's consumers; 0: no group.
    consumers: u32,
    safety_ms: u64,
    replication_factor: i16,
    min_insync_replicas: i32,
    bugs: Bugs,
}

fn shape() -> impl Strategy<Value = Shape> {
    (2..=6i32, 1..=2u32, 5..=20u64, 0..=3u32, 10..=30u64).prop_map(
        |(partitions, producers, rate, consumers, safety_s)| Shape {
            partitions,
            producers,
            rate,
            consumers,
            safety_ms: safety_s * 1000,
            replication_factor: 3,
            min_insync_replicas: 2,
            bugs: Bugs::NONE,
        },
    )
}

impl Shape {
    /// The workload without faults; client names are the scenario files' own.
    fn workload(&self) -> Workload {
        let pairs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            (pairs.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let producers = (1..=self.producers)
            .map(|n| ProducerSpec {
                name: format!("producer-{n}"),
                topic: TOPIC.into(),
                interval_ms: 1000 / self.rate,
                keys: 24,
                settings: pairs(&[("acks", "all"), ("enable.idempotence", "true")]),
            })
            .collect();
        let groups = match self.consumers {
            0 => vec![],
            n => vec![GroupSpec {
                id: "group-1".into(),
                topics: vec![TOPIC.into()],
                consumers: (1..=n).map(|c| format!("consumer-{c}")).collect(),
                commit: Commit::AfterProcessing,
                settings: vec![],
            }],
        };
        let cluster = ClusterSpec {
            brokers: BROKERS as u32,
            bugs: self.bugs,
            ..ClusterSpec::default()
        };
        Workload {
            summary: "a generated case of tests/cluster_properties.rs".into(),
            expect: None,
            cluster,
            topics: vec![TopicSpec {
                name: TOPIC.into(),
                partitions: self.partitions,
                replication_factor: self.replication_factor,
                configs: BTreeMap::from([(
                    "min.insync.replicas".into(),
                    self.min_insync_replicas.to_string(),
                )]),
            }],
            producers,
            groups,
            faults: FaultPlan::None,
            safety_ms: self.safety_ms,
            liveness_ms: LIVENESS_MS,
            steps: Vec::new(),
            hunt: false,
        }
    }
}

// ---- The faults --------------------------------------------------------------------------

/// A fault as generated, before it meets a workload: when it starts (in ms
/// from the start of the safety phase, wrapping around a phase shorter than
/// that) and what it does. A client is an index into the workload's clients
/// (wrapping around too).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Draft {
    at_ms: u64,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    Crash {
        broker: BrokerId,
        ms: u64,
    },
    Pause {
        broker: BrokerId,
        ms: u64,
    },
    Isolate {
        broker: BrokerId,
        ms: u64,
    },
    /// `broker` and the one `1..=2` after it (around the ring of 3).
    LinkCut {
        broker: BrokerId,
        step: BrokerId,
        ms: u64,
    },
    ControllerCrash {
        ms: u64,
    },
    ClientCut {
        client: usize,
        broker: BrokerId,
        ms: u64,
    },
    ClientPause {
        client: usize,
        ms: u64,
    },
}

/// The kinds, with the durations the nemesis draws them with (a duration
/// shrinks toward the shortest).
fn what() -> impl Strategy<Value = What> {
    let broker = || 1..=BROKERS;
    prop_oneof![
        (broker(), 1_000..=15_000u64).prop_map(|(broker, ms)| What::Crash { broker, ms }),
        (broker(), 500..=15_000u64).prop_map(|(broker, ms)| What::Pause { broker, ms }),
        (broker(), 2_000..=20_000u64).prop_map(|(broker, ms)| What::Isolate { broker, ms }),
        (broker(), 1..=2, 2_000..=40_000u64).prop_map(|(broker, step, ms)| What::LinkCut {
            broker,
            step,
            ms
        }),
        (1_000..=10_000u64).prop_map(|ms| What::ControllerCrash { ms }),
        (0..5usize, broker(), 2_000..=20_000u64).prop_map(|(client, broker, ms)| What::ClientCut {
            client,
            broker,
            ms
        }),
        (0..5usize, 2_000..=20_000u64).prop_map(|(client, ms)| What::ClientPause { client, ms }),
    ]
}

fn drafts() -> impl Strategy<Value = Vec<Draft>> {
    let draft = (0..30_000u64, what()).prop_map(|(at_ms, what)| Draft { at_ms, what });
    proptest::collection::vec(draft, 0..=6)
}

impl Draft {
    /// The fault this draft is, at `at_ms`.
    fn fault(&self, at_ms: u64, clients: &[String]) -> Fault {
        let client = |i: usize| clients[i % clients.len()].clone();
        let b = Target::Broker;
        let (action, for_ms) = match self.what {
            What::Crash { broker, ms } => (Action::Crash { node: b(broker) }, ms),
            What::Pause { broker, ms } => (Action::Pause { node: b(broker) }, ms),
            What::Isolate { broker, ms } => (Action::Isolate { node: b(broker) }, ms),
            What::LinkCut { broker, step, ms } => {
                let other = (broker - 1 + step) % BROKERS + 1;
                let nodes = [b(broker.min(other)), b(broker.max(other))];
                (Action::LinkCut { nodes }, ms)
            }
            What::ControllerCrash { ms } => (
                Action::Crash {
                    node: Target::Controller,
                },
                ms,
            ),
            What::ClientCut {
                client: i,
                broker,
                ms,
            } => (
                Action::ClientCut {
                    client: client(i),
                    node: b(broker),
                },
                ms,
            ),
            What::ClientPause { client: i, ms } => (Action::ClientPause { client: client(i) }, ms),
        };
        Fault {
            at_ms,
            action,
            for_ms,
        }
    }

    /// The drafts as a schedule for `workload`, repaired as `Profile::SAFE`
    /// would have drawn it: at most one server fault on at a time, each
    /// starting `SETTLE_MS` after the one before ends; a client fault does not
    /// overlap one on the same client (a pause) or client link (a cut); a
    /// fault pushed out of the safety phase is dropped.
    fn schedule(drafts: &[Draft], workload: &Workload) -> Schedule {
        let phase_ms = workload.safety_ms;
        let clients = workload.clients();
        let mut wanted: Vec<Fault> = (drafts.iter())
            .map(|d| d.fault(d.at_ms % phase_ms, &clients))
            .collect();
        wanted.sort_by_key(|f| f.at_ms);
        let mut placed: Vec<Fault> = Vec::new();
        let brokers: Vec<i32> = (1..=BROKERS).collect();
        for mut timed in wanted {
            let in_the_way = |p: &Fault| match (&p.action, &timed.action) {
                (Action::ClientCut { client, node }, Action::ClientCut { client: c, node: n }) => {
                    client == c && node == n
                }
                (Action::ClientPause { client }, Action::ClientPause { client: c }) => client == c,
                (p, t) => !p.servers(&brokers).is_empty() && !t.servers(&brokers).is_empty(),
            };
            let free_from = (placed.iter())
                .filter(|p| in_the_way(p))
                .map(|p| p.end_ms() + SETTLE_MS)
                .max();
            if let Some(free_from) = free_from {
                timed.at_ms = timed.at_ms.max(free_from);
            }
            if timed.at_ms < phase_ms {
                placed.push(timed);
            }
        }
        placed.sort_by_key(|f| f.at_ms);
        Schedule {
            phase_ms,
            faults: placed,
        }
    }
}

/// The workload of `shape` with the drafts' schedule.
fn case(shape: &Shape, drafts: &[Draft]) -> Workload {
    let mut workload = shape.workload();
    workload.faults = FaultPlan::Schedule(Draft::schedule(drafts, &workload));
    workload
}

// ---- The property ------------------------------------------------------------------------

/// Runs `workload` with `seed`: `Err` says why it broke the property, followed
/// by the scenario file that replays it.
fn holds(seed: u64, workload: &Workload) -> Result<(), String> {
    let file = to_toml(
        workload,
        &[format!(
            "A failing case of tests/cluster_properties.rs; replay: kafkasim run --scenario FILE --seed {seed}"
        )],
        &[],
    );
    let fail = |why: String| Err(format!("seed {seed}: {why}\n\n{file}"));
    if let Err(e) = workload.validate() {
        return fail(format!("the workload does not validate: {e}"));
    }
    // What runs is what the file says, so the printed file replays this run.
    let replayed = match parse(&file) {
        Ok(replayed) => replayed,
        Err(e) => return fail(format!("the scenario file does not read back: {e}")),
    };
    let scenario = Scenario::workload("cluster-properties", replayed);
    let report = run_seed(seed, &scenario);
    if report.verdict() != Verdict::Ok {
        let failing = report.judgement.failing_kinds();
        return fail(format!(
            "verdict {}: {failing:?}\n{}",
            report.verdict(),
            report.judgement
        ));
    }
    if views::acked(&report.run.history).is_empty() {
        return fail("no send was acknowledged".into());
    }
    // Processing a record again is the group's at-least-once, not an anomaly.
    let anomalies: Vec<String> = (report.judgement.findings.iter())
        .filter(|f| f.kind != kafkasim_check::Kind::ProcessedAgain)
        .map(ToString::to_string)
        .collect();
    if !anomalies.is_empty() {
        return fail(format!(
            "a safe configuration showed anomalies:\n{}",
            anomalies.join("\n")
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(24),
        rng_seed: rng_seed(),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_safe_cluster_keeps_every_acknowledged_record_under_any_safe_schedule(
        shape in shape(),
        drafts in drafts(),
        seed in 0..1_000_000u64,
    ) {
        let workload = case(&shape, &drafts);
        if let Err(why) = holds(seed, &workload) {
            prop_assert!(false, "{}", why);
        }
    }
}

// ---- The property can fail ---------------------------------------------------------------

/// `sim/scenarios/minimal/kip-101.toml` as a shape: RF 3, one producer, and
/// followers that truncate to their high watermark (Kafka before 0.11).
fn kip_101_shape(bugs: Bugs) -> Shape {
    Shape {
        partitions: 1,
        producers: 1,
        rate: 1,
        consumers: 0,
        safety_ms: 15_000,
        replication_factor: 3,
        min_insync_replicas: 1,
        bugs,
    }
}

/// The minimal KIP-101 schedule: broker-1 is isolated at 3.037 s for
/// 6.869 s, and broker-2 at 7.765 s for 5.367 s, while broker-1 is still cut
/// off. Two server faults at once: the repair would move the second after the
/// first, and with one server fault at a time high-watermark truncation lost
/// nothing in 250 generated cases, so it is written out here, unrepaired.
fn kip_101(bugs: Bugs) -> Workload {
    let mut workload = kip_101_shape(bugs).workload();
    let isolate = |at_ms, broker, for_ms| Fault {
        at_ms,
        action: Action::Isolate {
            node: Target::Broker(broker),
        },
        for_ms,
    };
    workload.faults = FaultPlan::Schedule(Schedule {
        phase_ms: workload.safety_ms,
        faults: vec![isolate(3_037, 1, 6_869), isolate(7_765, 2, 5_367)],
    });
    workload
}

#[test]
fn the_property_fails_when_followers_truncate_to_their_high_watermark() {
    let why = holds(71, &kip_101(Bugs::NONE.with(Bug::Kip101)))
        .expect_err("high-watermark truncation loses acknowledged writes");
    assert!(why.contains("lost-write"), "{why}");
    assert!(why.contains("bugs = [\"kip-101\"]"), "{why}");
    assert!(
        why.contains("at_ms = 7765"),
        "the file shows the schedule: {why}"
    );
    // The same schedule and seed with leader epochs (KIP-101) keeps every write.
    holds(71, &kip_101(Bugs::NONE)).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn the_repair_keeps_one_server_fault_on_at_a_time() {
    let mut shape = kip_101_shape(Bugs::NONE);
    shape.safety_ms = 20_000;
    shape.consumers = 2;
    let at = |at_ms, what| Draft { at_ms, what };
    let drafts = vec![
        at(48_000, What::ControllerCrash { ms: 1_000 }),
        at(
            2_000,
            What::Crash {
                broker: 1,
                ms: 5_000,
            },
        ),
        at(
            3_000,
            What::LinkCut {
                broker: 3,
                step: 2,
                ms: 2_000,
            },
        ),
        at(
            3_000,
            What::ClientPause {
                client: 2,
                ms: 3_000,
            },
        ),
        at(
            4_000,
            What::ClientPause {
                client: 5,
                ms: 3_000,
            },
        ),
        at(
            4_000,
            What::ClientCut {
                client: 0,
                broker: 1,
                ms: 3_000,
            },
        ),
        at(
            19_000,
            What::Isolate {
                broker: 2,
                ms: 2_000,
            },
        ),
    ];
    let FaultPlan::Schedule(schedule) = case(&shape, &drafts).faults else {
        unreachable!("a case has a schedule")
    };
    let told: Vec<String> = schedule.faults.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        told,
        [
            "at 2.000 s: crash broker-1, restart after 5.000 s",
            // consumer-2: producer-1 is client 0, consumer-1 client 1.
            "at 3.000 s: pause consumer-2 for 3.000 s",
            // Client faults come on top of a server fault.
            "at 4.000 s: cut producer-1 off from broker-1 for 3.000 s",
            // The same client (5 wraps around to 2): after the first pause.
            "at 6.500 s: pause consumer-2 for 3.000 s",
            // After the crash, and 500 ms more.
            "at 7.500 s: cut broker-2 and broker-3 apart for 2.000 s",
            // 48 s wraps around to 8 s, and waits for the link cut.
            "at 10.000 s: crash the controller, restart after 1.000 s",
            // Free: the controller is back since 11 s.
            "at 19.000 s: isolate broker-2 for 2.000 s",
        ]
    );
}

/// Found by a random draw of the property above (seed 4584): broker-1, leading
/// `events-0`, is isolated from 114 ms for 8.386 s and broker-3 crashes at 9 s
/// for 1 s. The idempotent producer's first batches to `events-0` wait on the
/// isolated leader; a later batch (`p1-13`) goes to the new leader, broker-2,
/// which holds no state for the producer and so takes any sequence number
/// (the rule since KIP-360); the earlier batches then answer
/// `OUT_OF_ORDER_SEQUENCE_NUMBER` until two expire, the producer bumps its
/// epoch and renumbers the rest (`p1-5`, `p1-7`, `p1-9`), which land after
/// `p1-13`: `int-nonmonotonic-send`. Whether Kafka 4.x's producer sends that
/// later batch to the new leader while earlier ones are unanswered (its
/// accumulator drains a batch without a sequence to any ready leader), making
/// this Kafka's behaviour for the judge to allow, or holds it, making it the
/// model's bug, is still to be settled. The test pins what the model does
/// today (that one finding, and nothing lost), so that a change to the
/// producer or the judge shows here and settles the question one way.
#[test]
fn an_idempotent_producers_later_batch_lands_first_across_an_isolated_leader() {
    let shape = Shape {
        partitions: 4,
        producers: 1,
        rate: 10,
        consumers: 2,
        safety_ms: 17_000,
        replication_factor: 3,
        min_insync_replicas: 2,
        bugs: Bugs::NONE,
    };
    let mut workload = shape.workload();
    let fault = |at_ms, action, for_ms| Fault {
        at_ms,
        action,
        for_ms,
    };
    let broker = Target::Broker;
    workload.faults = FaultPlan::Schedule(Schedule {
        phase_ms: workload.safety_ms,
        faults: vec![
            fault(114, Action::Isolate { node: broker(1) }, 8_386),
            fault(9_000, Action::Crash { node: broker(3) }, 1_000),
        ],
    });
    let why = holds(4584, &workload).expect_err("the model reorders here today");
    assert!(
        why.contains("verdict correctness: [IntNonmonotonicSend]"),
        "only the reordering, nothing lost: {why}"
    );
    assert!(why.contains("p1-13 landed at events-0@0"), "{why}");
}
