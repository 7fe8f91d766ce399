//! The sweep's pure parts (ranges, shards, the summary) and one small real sweep of a
//! planted scenario whose verdict depends on the seed.

use super::*;
use kafkasim::ids::TopicPartition;
use kafkasim::protocol::Acks;
use kafkasim_check::history::{ClientEvent, Operation, Outcome, PolledRecord};
use kafkasim_check::{Detail, Finding};
use kafkasim_sim::time::{now_ms, seed};
use kafkasim_sim::{Cluster, ClusterSpec};

fn range(start: u64, end: u64) -> SeedRange {
    SeedRange { start, end }
}

#[test]
fn a_range_is_half_open_or_inclusive_with_an_equals_sign() {
    assert_eq!(SeedRange::parse("1..4"), Ok(range(1, 4)));
    assert_eq!(SeedRange::parse("1..=4"), Ok(range(1, 5)));
    assert_eq!(SeedRange::parse("0..1"), Ok(range(0, 1)));
    assert_eq!(SeedRange::parse("7..=7"), Ok(range(7, 8)));
    assert_eq!(range(1, 4).to_string(), "1..4");
}

#[test]
fn bad_empty_reversed_and_overflowing_ranges_are_refused_in_one_line() {
    for bad in [
        "", "5", "1-5", "a..b", "..5", "5..", "1...5", "1..=2..3", "-1..3", "1 ..3", "10..3",
        "3..3", "3..=2", "+1..3", "1..+3", "1..=+3",
    ] {
        let err = SeedRange::parse(bad).expect_err(bad);
        assert!(
            !err.contains('\n') && err.starts_with("--seeds"),
            "{bad}: {err}"
        );
    }
    assert!(SeedRange::parse("10..3").unwrap_err().contains("empty"));
    let max = format!("1..={}", u64::MAX);
    assert!(SeedRange::parse(&max).is_err(), "the end would overflow");
}

#[test]
fn a_shard_counts_from_one_up_to_its_count() {
    assert_eq!(Shard::parse("1/1"), Ok(Shard { index: 1, count: 1 }));
    assert_eq!(Shard::parse("3/3"), Ok(Shard { index: 3, count: 3 }));
    for bad in [
        "0/3", "4/3", "x/y", "1/0", "0/0", "1", "1/2/3", "/3", "-1/3", "+1/3", "1/+3",
    ] {
        let err = Shard::parse(bad).expect_err(bad);
        assert!(
            err.starts_with("--shard") && !err.contains('\n'),
            "{bad}: {err}"
        );
    }
}

#[test]
fn the_shards_of_a_range_cover_it_exactly_once() {
    for (start, end) in [(0, 1), (1, 4), (3, 20), (10, 11), (5, 105)] {
        let whole: Vec<u64> = (start..end).collect();
        for count in 1..=7 {
            let mut seen = Vec::new();
            for index in 1..=count {
                let selection = Selection {
                    range: range(start, end),
                    shard: Some(Shard { index, count }),
                };
                let seeds: Vec<u64> = selection.seeds().collect();
                assert_eq!(seeds.len() as u64, selection.len());
                assert!(seeds.iter().all(|s| (s - start) % count == index - 1));
                seen.extend(seeds);
            }
            seen.sort_unstable();
            assert_eq!(seen, whole, "{start}..{end} in {count} shards");
        }
    }
}

#[test]
fn without_a_shard_every_seed_of_the_range_is_selected_in_order() {
    let selection = Selection {
        range: range(4, 9),
        shard: None,
    };
    assert_eq!(selection.seeds().collect::<Vec<_>>(), [4, 5, 6, 7, 8]);
    assert_eq!(selection.nth(5), None);
    let near_the_top = Selection {
        range: range(u64::MAX - 2, u64::MAX),
        shard: Some(Shard { index: 3, count: 3 }),
    };
    assert!(
        near_the_top.is_empty(),
        "a shard past the end selects nothing"
    );
}

fn result(seed: u64, verdict: Verdict, reason: &str, anomalies: &[Kind]) -> SeedResult {
    let failing = match verdict {
        Verdict::Ok => vec![],
        Verdict::Correctness => vec![Kind::LostWrite],
        Verdict::Liveness => vec![Kind::NotInSync],
        Verdict::Crash => vec![Kind::Crash],
    };
    SeedResult {
        seed,
        verdict,
        failing,
        reason: reason.into(),
        trace_hash: seed * 0x1111,
        anomaly_kinds: anomalies.iter().copied().collect(),
        goals: if seed % 2 == 0 {
            ["leader changed"].into()
        } else {
            Default::default()
        },
        replay: format!("cargo run --release -- run --seed {seed} --scenario planted"),
    }
}

fn summary(results: Vec<SeedResult>) -> SweepSummary {
    SweepSummary {
        scenario: "planted".into(),
        scenario_hash: 0x0123_4567_89ab_cdef,
        selection: Selection {
            range: range(1, 1 + results.len() as u64),
            shard: None,
        },
        jobs: 2,
        results,
        wall: Duration::from_millis(500),
    }
}

#[test]
fn the_text_summary_counts_verdicts_and_anomalies_and_shows_how_to_replay_failures() {
    let mut results = vec![
        result(1, Verdict::Ok, "", &[Kind::LostWrite, Kind::Duplicate]),
        result(2, Verdict::Correctness, "lost-write: m2\nwas lost", &[]),
        result(3, Verdict::Ok, "", &[Kind::LostWrite]),
    ];
    results.extend((4..=15).map(|seed| result(seed, Verdict::Crash, "boom", &[])));
    let text = render_text(&summary(results));
    for expected in [
        "sweep: scenario planted, seeds 1..16\n",
        "seeds run: 15 (2 jobs), wall time 0.500 s, 30.0 seeds/s\n",
        "verdicts: 2 ok, 1 correctness, 0 liveness, 12 crash\n",
        "  duplicate   1 of 15 runs\n",
        "  lost-write  2 of 15 runs\n",
        "failing seeds (first 10 of 13):\n",
        "  seed 2: correctness: lost-write: m2 was lost\n",
        "    replay: cargo run --release -- run --seed 2 --scenario planted\n",
        "  seed 12: crash: boom\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("seed 13:"),
        "at most 10 failing seeds:\n{text}"
    );
}

#[test]
fn a_clean_sweep_says_so() {
    let text = render_text(&summary(vec![result(1, Verdict::Ok, "", &[])]));
    assert!(text.contains("allowed anomalies: none\n"), "{text}");
    assert!(text.ends_with("failing seeds: none\n"), "{text}");
}

#[test]
fn the_json_holds_every_run_in_seed_order_and_keeps_timing_apart() {
    let results = vec![
        result(1, Verdict::Ok, "", &[Kind::Duplicate]),
        result(2, Verdict::Liveness, "stuck", &[]),
    ];
    let text = render_json(&summary(results));
    assert_eq!(text.lines().count(), 1, "one line");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(json["scenario"], "planted");
    assert_eq!(json["seeds"], serde_json::json!({"start": 1, "end": 3}));
    assert_eq!(json["shard"], serde_json::Value::Null);
    assert_eq!(json["seeds_run"], 2);
    assert_eq!(json["verdicts"]["liveness"], 1);
    assert_eq!(json["worst_verdict"], "liveness");
    assert_eq!(
        json["allowed_anomalies"],
        serde_json::json!({"duplicate": 1})
    );
    assert_eq!(
        json["first_failing"][0]["replay"]
            .as_str()
            .unwrap()
            .split(' ')
            .nth(6),
        Some("2")
    );
    assert_eq!(json["runs"][0]["trace_hash"], "0000000000001111");
    assert_eq!(json["runs"][1]["verdict"], "liveness");
    for field in ["jobs", "wall_time_s", "seeds_per_s"] {
        assert!(json["timing"][field].is_number(), "timing.{field}");
    }
}

#[test]
fn without_a_terminal_progress_is_one_final_line() {
    let sweep = summary(vec![result(1, Verdict::Crash, "boom", &[])]);
    let tally = Tally {
        done: 1,
        total: 1,
        failing: 1,
        elapsed: Duration::from_millis(10),
    };
    let mut plain = Progress::new(Vec::new(), false);
    plain.update(&tally);
    plain.finish(&sweep);
    let plain = String::from_utf8(plain.out).unwrap();
    assert!(plain.starts_with("swept 1 seed in 0.500 s, "), "{plain}");
    assert!(plain.ends_with(" seeds/s, 1 failing\n"), "{plain}");
    let mut drawn = Progress::new(Vec::new(), true);
    drawn.update(&tally);
    let drawn = String::from_utf8(drawn.out).unwrap();
    assert!(drawn.starts_with("\r    1/1 seeds, "), "{drawn:?}");
}

/// Seeds ≡ 0 (mod 3) crash, ≡ 1 fail a check, ≡ 2 pass with an allowed duplicate.
fn planted() -> Scenario {
    Scenario::code(
        "planted",
        "the verdict depends on the seed",
        ClusterSpec::default,
        |cluster| Box::pin(plant(cluster)),
    )
}

async fn plant(cluster: Cluster) {
    let seed = seed();
    match seed % 3 {
        0 => panic!("planted crash for seed {seed}"),
        1 => {
            let what = format!("planted failure for seed {seed}");
            let detail = Detail::SetupFailed { what, time_ms: 0 };
            cluster.report(Finding::new(Kind::SetupFailed, detail));
        }
        _ => {
            // A value polled at two offsets, from a producer without idempotence.
            let (h, now, tp) = (cluster.history(), now_ms(), TopicPartition::new("t", 0));
            let settings = ClientEvent::Producer {
                acks: Acks::All,
                idempotence: false,
            };
            h.event(now, "producer", settings);
            let send = Operation::Send {
                topic: "t".into(),
                value: "v".into(),
            };
            let op = h.invoke(now, "producer", send);
            h.complete(op, now, Outcome::sent(tp.clone(), 0));
            let poll = h.invoke(now, "reader", Operation::Poll { partitions: vec![] });
            let record = |offset| PolledRecord {
                partition: tp.clone(),
                offset,
                leader_epoch: 0,
                value: "v".into(),
                send: None,
            };
            h.complete(poll, now, Outcome::polled(vec![record(0), record(1)]));
        }
    }
}

#[test]
fn a_sweep_reports_every_seed_once_in_seed_order_whatever_the_jobs() {
    let sweep = |jobs| Sweep {
        scenario: planted(),
        selection: Selection {
            range: range(3, 11),
            shard: None,
        },
        jobs,
    };
    let mut tallies = Vec::new();
    let one = run(&sweep(1), &mut |t| tallies.push(t.done));
    let three = run(&sweep(3), &mut |_| {});
    assert_eq!(one.results, three.results);
    assert_eq!(tallies, (1..=8).collect::<Vec<u64>>());
    let seeds: Vec<u64> = three.results.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, (3..11).collect::<Vec<_>>());
    assert_eq!(three.worst(), Verdict::Crash);
    assert_eq!(three.count(Verdict::Crash), 3, "seeds 3, 6, 9");
    assert_eq!(three.count(Verdict::Correctness), 3, "seeds 4, 7, 10");
    let anomaly_runs = three.anomaly_runs();
    assert_eq!(
        anomaly_runs,
        BTreeMap::from([(Kind::Duplicate, 2)]),
        "seeds 5, 8"
    );
    assert!(three.results[0].reason.contains("planted crash for seed 3"));
}

/// Set when the never-ending task of `LEAVES_A_TASK` is dropped.
static LEFT_TASK_DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct SetsFlagOnDrop;

impl Drop for SetsFlagOnDrop {
    fn drop(&mut self) {
        LEFT_TASK_DROPPED.store(true, Ordering::SeqCst);
    }
}

/// Finishes while a client task holding the cluster still waits forever.
fn leaves_a_task() -> Scenario {
    Scenario::code(
        "leaves-a-task",
        "returns while a client task holding the cluster never finishes",
        ClusterSpec::default,
        |cluster| {
            Box::pin(async move {
                let held = (cluster.clone(), SetsFlagOnDrop);
                drop(cluster.spawn_client("idler", async move {
                    let _held = held;
                    std::future::pending::<()>().await;
                }));
            })
        },
    )
}

#[test]
fn a_run_leaves_no_task_behind_so_a_long_sweep_stays_small() {
    let report = run_seed(1, &leaves_a_task());
    // It sends and polls nothing: a history with nothing to judge fails.
    assert_eq!(report.judgement.failing_kinds(), [Kind::EmptyHistory]);
    assert!(
        LEFT_TASK_DROPPED.load(Ordering::SeqCst),
        "the task (and the cluster it holds) outlived its run"
    );
}

#[test]
fn a_scenario_s_hash_follows_what_it_is_not_what_it_is_called() {
    use crate::scenario::{self, workload::file};
    let replicated = scenario::builtin("replicated").expect("built in");
    let text = file::to_toml(replicated.as_workload().expect("a workload"), &[], &[]);
    let commented = format!("# the same workload, under another name\n{text}");
    let copy = Scenario::workload("./copy.toml", file::parse(&commented).expect("reads back"));
    assert_eq!(scenario_hash(&copy), scenario_hash(&replicated));
    let standard = scenario::builtin("standard").expect("built in");
    assert_ne!(scenario_hash(&standard), scenario_hash(&replicated));
    let quickstart = scenario::builtin("quickstart").expect("built in");
    assert_eq!(
        scenario_hash(&quickstart),
        scenario_hash(&quickstart.clone())
    );
    assert_ne!(scenario_hash(&quickstart), scenario_hash(&replicated));
}
