//! The exercises of the chapters that came later: "What Kafka is for", the
//! capstone, "How the simulator works" and the labs.
//!
//! As in `exercises.rs`, each exercise runs the `kafkasim` binary from the
//! repository's root, as a reader does, writes the excerpt its answer includes,
//! and asserts what the answer says, read from the run's JSON (`--json`) or
//! its report (`--report`), never from the prose. The labs' exercises that
//! need a version of a rule other than the shipped `todo!()` put that version
//! into the rules through the library `kafkasim lab` uses, as `labs.rs` does.

use crate::exercises::{grep, json, kafkasim, root, shown, verdict};
use kafkasim::rules::Rules;
use kafkasim_tools::lab::{self, render as lab_render, CheckOptions, Status, TestOutcome};
use kafkasim_tools::run::{run_scenario, RunOptions};
use kafkasim_tools::sweep::SeedRange;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A fresh scratch directory for one exercise.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("book-exercises-more")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The lines of `history.jsonl` of `kafkasim ARGS --report DIR`.
fn history(args: &[&str], name: &str) -> Vec<Value> {
    let dir = scratch(&format!("{name}.report"));
    let mut with = args.to_vec();
    with.extend(["--report", dir.to_str().expect("a UTF-8 path")]);
    let out = kafkasim(&with);
    assert!(out.code.is_some(), "kafkasim {}", with.join(" "));
    let text = std::fs::read_to_string(dir.join("history.jsonl")).expect("history.jsonl");
    (text.lines())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A copy of `from_file` with each `(old, new)` replaced on the one line
/// holding it, written to `dir/to_file`, as `sed -e 's/OLD/NEW/' …` does.
/// Returns the command line that makes it.
fn sed(from_file: &str, edits: &[(&str, &str)], dir: &Path, to_file: &str) -> String {
    let special = |s: &str, chars: &str| s.chars().any(|c| chars.contains(c));
    let mut text = std::fs::read_to_string(root().join(from_file)).expect("the file to edit");
    let mut command = String::from("$ sed");
    for (old, new) in edits {
        assert!(
            !special(old, "[]*^$\\/&'.") && !special(new, "\\/&'"),
            "a pattern sed reads as itself"
        );
        assert_eq!(
            text.lines().filter(|l| l.contains(old)).count(),
            1,
            "{from_file} has one line holding {old}"
        );
        text = text.replacen(old, new, 1);
        let _ = write!(command, " -e 's/{old}/{new}/'");
    }
    std::fs::write(dir.join(to_file), text).expect("a scratch file");
    format!("{command} {from_file} > {to_file}\n")
}

fn count(run: &Value, field: &str) -> u64 {
    run[field].as_u64().unwrap_or_else(|| panic!("{field}"))
}

/// The leader of `partition` at the end of a `--json` run, if it has one.
fn leader(run: &Value, partition: &str) -> Option<u64> {
    (run["partitions"].as_array().expect("partitions"))
        .iter()
        .find(|p| p["partition"] == partition)
        .unwrap_or_else(|| panic!("{partition} is listed"))["leader"]
        .as_u64()
}

/// The timeline's time of a line, in ms.
fn time_of(line: &str) -> u64 {
    (line.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a timed line: {line}"))
}

// Getting started.

/// `kafkasim help run` ends with the exit codes, the same numbers the
/// verdicts exit with.
pub(crate) fn help_exit_codes() -> String {
    let args = ["help", "run"];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(0));
    let from = out
        .stdout
        .find("Exit codes:")
        .expect("the help names its exit codes");
    let tail = &out.stdout[from..];
    for verdict in kafkasim_check::Verdict::ALL {
        let code = verdict.exit_code();
        assert!(
            tail.contains(&format!("{code} ")),
            "{code} is listed: {tail}"
        );
    }
    assert!(tail.contains("2 usage error"));
    format!("$ kafkasim help run | tail -n 2\n{tail}")
}

/// `kafkasim scenarios` lists the built-ins, the default first; `run`
/// without `--scenario` runs that one.
pub(crate) fn scenario_list() -> String {
    let out = kafkasim(&["scenarios"]);
    let names: Vec<&str> = (out.stdout.lines())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let stderr = kafkasim(&["run", "--scenario", "quickstrat"]).stderr;
    let listed = (stderr.split("built-in scenarios: ").nth(1))
        .and_then(|rest| rest.split(" (or").next())
        .expect("the error lists the built-ins");
    let builtins: Vec<&str> = listed.split(", ").collect();
    assert_eq!(names, builtins, "one line per built-in scenario");
    let default = json(&["run", "--seed", "1"]);
    assert_eq!(default["scenario"], names[0], "the first is the default");
    let mut text = format!(
        "$ kafkasim scenarios | wc -l\n{}\n$ kafkasim scenarios | head -n 2 | cut -c 1-60\n",
        names.len()
    );
    for line in out.stdout.lines().take(2) {
        let cut: String = line.chars().take(60).collect();
        let _ = writeln!(text, "{cut}");
    }
    text
}

/// `--json`: one line a script can read, its verdict beside the exit code.
pub(crate) fn json_verdict() -> String {
    let args = ["run", "--seed", "7", "--scenario", "quickstart", "--json"];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stdout.lines().count(), 1, "one JSON line");
    let run: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(run["verdict"]["kind"], "ok");
    assert_eq!(run["verdict"]["exit_code"], 0);
    assert_eq!(count(&run, "acknowledged"), 10);
    let kind = run["verdict"]["kind"].as_str().expect("a kind");
    let code = &run["verdict"]["exit_code"];
    let acknowledged = count(&run, "acknowledged");
    format!(
        "$ kafkasim {} > run.json; echo \"exit code $?\"\nexit code 0\n\
         $ python3 -c 'import json; r = json.load(open(\"run.json\")); v = r[\"verdict\"]; print(r[\"acknowledged\"], v[\"kind\"], v[\"exit_code\"])'\n\
         {acknowledged} {kind} {code}\n",
        args.join(" ")
    )
}

// What Kafka is for.

/// The history's `sent` lines: what each send was told.
fn sent(history: &[Value]) -> Vec<&Value> {
    history.iter().filter(|l| l["kind"] == "sent").collect()
}

/// The records a history's polls returned, as `(time, partition, offset)`.
fn polled(history: &[Value]) -> Vec<(u64, u64, u64)> {
    let mut records = Vec::new();
    for line in history {
        let entry = &line["entry"]["complete"];
        let Some(batch) = entry["outcome"]["ok"]["polled"]["records"].as_array() else {
            continue;
        };
        for record in batch {
            records.push((
                entry["time_ms"].as_u64().expect("a time"),
                record["partition"]["partition"]
                    .as_u64()
                    .expect("a partition"),
                record["offset"].as_u64().expect("an offset"),
            ));
        }
    }
    records
}

const QUICKSTART: [&str; 5] = ["run", "--seed", "7", "--scenario", "quickstart"];

/// The quickstart's consumer starts after the producer's last record is
/// acknowledged, and still reads every record, each partition from offset 0.
pub(crate) fn late_consumer() -> String {
    let history = history(&QUICKSTART, "late-consumer");
    let sends = sent(&history);
    let last_ack = (sends.iter())
        .map(|s| s["time_ms"].as_u64().expect("a time"))
        .max()
        .expect("sends");
    let assigned = (history.iter())
        .find(|l| l["process"] == "consumer" && !l["entry"]["event"]["event"]["assigned"].is_null())
        .and_then(|l| l["time_ms"].as_u64())
        .expect("the consumer is assigned its partitions");
    assert!(
        assigned >= last_ack,
        "the consumer starts after the producer"
    );
    let records = polled(&history);
    assert_eq!(records.len(), sends.len(), "it reads every record");
    assert!(records.iter().all(|(t, _, _)| *t > last_ack));
    for partition in [0, 1] {
        let offsets: Vec<u64> = (records.iter())
            .filter(|(_, p, _)| *p == partition)
            .map(|(_, _, o)| *o)
            .collect();
        assert_eq!(offsets, [0, 1, 2, 3, 4], "users-{partition} from offset 0");
    }
    let out = kafkasim(&QUICKSTART);
    grep(
        &QUICKSTART,
        &out.stdout,
        &["send Mallory", "send Peggy", "send Zoe", "consumer"],
    )
}

/// Olivia, sent first, and Alice, sent second, both get offset 0: an
/// offset counts within one partition.
pub(crate) fn offsets_per_partition() -> String {
    let history = history(&QUICKSTART, "offsets-per-partition");
    let sends = sent(&history);
    let at = |i: usize| (sends[i]["value"].as_str(), sends[i]["partition"].as_str());
    assert_eq!(at(0), (Some("Olivia"), Some("users-1")));
    assert_eq!(at(1), (Some("Alice"), Some("users-0")));
    assert_eq!(sends[0]["offset"], 0);
    assert_eq!(sends[1]["offset"], 0);
    assert_eq!(sends[2]["offset"], 1, "Bob follows Alice in users-0");
    let out = kafkasim(&QUICKSTART);
    grep(
        &QUICKSTART,
        &out.stdout,
        &["send Olivia", "send Alice", "send Bob"],
    )
}

/// The chapter's run: the leader crashes, and no acknowledged record is lost.
pub(crate) fn durable_leader_crash() -> String {
    let args = ["run", "--seed", "1", "--scenario", "leader-crash-acks-all"];
    let run = json(&args);
    assert_eq!(verdict(&run), "ok");
    assert_eq!(count(&run, "acknowledged"), 10);
    assert_eq!(count(&run, "read_back"), 10, "the final read has them all");
    assert!(run["findings"].as_array().expect("findings").is_empty());
    assert_eq!(leader(&run, "orders-0"), Some(2), "broker-2 took over");
    let out = kafkasim(&args);
    grep(
        &args,
        &out.stdout,
        &["crashed", "orders-0: leader", "final read", "verdict"],
    )
}

// Capstone: the default scenario, end to end.

const REPLICATED: &str = "sim/scenarios/replicated.toml";

/// Broker-2 crashes instead of broker-1: the partitions it led, `orders-1`
/// and `__consumer_offsets-0`, move to broker-3; the group's coordinator
/// stays on broker-1.
pub(crate) fn capstone_broker_2() -> String {
    let dir = scratch("capstone-broker-2");
    let file = "broker-2.toml";
    let mut text = sed(
        REPLICATED,
        &[("node = \"broker-1\"", "node = \"broker-2\"")],
        &dir,
        file,
    );
    let path = dir.join(file).to_str().expect("UTF-8").to_string();
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let run = json(&args);
    assert_eq!(verdict(&run), "ok");
    for (partition, broker) in [
        ("orders-0", 1),
        ("orders-1", 3),
        ("orders-2", 3),
        ("__consumer_offsets-0", 3),
        ("__consumer_offsets-2", 1),
    ] {
        assert_eq!(leader(&run, partition), Some(broker), "{partition}");
    }
    let out = kafkasim(&args);
    let elections: Vec<&str> = (out.stdout.lines())
        .filter(|l| l.contains(": leader broker-") && l.contains("controller"))
        .collect();
    assert_eq!(elections.len(), 2, "two partitions get a new leader");
    assert!(
        !out.stdout.contains("loaded group"),
        "no coordinator moves: group-1 stays with broker-1"
    );
    text += &grep(
        &args,
        &out.stdout,
        &[
            "crashed",
            "fenced",
            ": leader broker-",
            "loaded group",
            "verdict",
        ],
    );
    shown(&dir, &text)
}

/// Replication factor 1: broker-1's crash leaves `orders-0` with no leader
/// until it returns, and the other partitions, which wait for no follower,
/// keep acknowledging; more records are acknowledged than with RF 3.
pub(crate) fn capstone_rf_1() -> String {
    let dir = scratch("capstone-rf-1");
    let file = "rf-1.toml";
    let mut text = sed(
        REPLICATED,
        &[
            ("replication_factor = 3", "replication_factor = 1"),
            ("replicas\" = 2", "replicas\" = 1"),
        ],
        &dir,
        file,
    );
    let path = dir.join(file).to_str().expect("UTF-8").to_string();
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let (rf_1, rf_3) = (json(&args), json(&["run", "--seed", "1"]));
    assert_eq!(verdict(&rf_1), "ok", "nothing acknowledged is lost");
    assert!(
        count(&rf_1, "acknowledged") > count(&rf_3, "acknowledged"),
        "the partitions broker-1 does not hold keep going"
    );
    let out = kafkasim(&args);
    let leaderless: Vec<&str> = (out.stdout.lines())
        .filter(|l| l.contains("no leader available"))
        .collect();
    assert_eq!(leaderless.len(), 1, "{leaderless:?}");
    assert!(leaderless[0].contains("orders-0:"));
    // During the crash orders-1, led by broker-2 alone, keeps acknowledging.
    let history = history(&args, "capstone-rf-1");
    let line = |pattern: &str| {
        (out.stdout.lines())
            .find(|l| l.contains(pattern))
            .map(time_of)
            .unwrap_or_else(|| panic!("{pattern}"))
    };
    let (crash, back) = (
        line("broker-1    crashed"),
        line("orders-0: leader broker-1"),
    );
    let during = |partition: &str| {
        sent(&history)
            .iter()
            .filter(|s| s["partition"] == partition)
            .filter(|s| (crash..back).contains(&s["time_ms"].as_u64().expect("a time")))
            .count()
    };
    assert!(during("orders-1") > 0 && during("orders-2") > 0);
    assert_eq!(during("orders-0"), 0, "orders-0 has no leader to write to");
    text += &grep(
        &args,
        &out.stdout,
        &["created:", "crashed", "orders-0:", "producers stopped"],
    );
    text += &grep(
        &["run", "--seed", "1"],
        &kafkasim(&["run", "--seed", "1"]).stdout,
        &["producers stopped"],
    );
    shown(&dir, &text)
}

/// `--safety-phase-s 5`: the crash, scheduled at 10 s, never happens; 50
/// records in 5 s, and no goal reached.
pub(crate) fn capstone_short_safety_phase() -> String {
    let args = ["run", "--seed", "1", "--safety-phase-s", "5"];
    let run = json(&args);
    assert_eq!(verdict(&run), "ok");
    assert_eq!(count(&run, "acknowledged"), 50);
    assert!(run["goals"].as_object().expect("goals").is_empty());
    assert_eq!(run["schedule"]["phase_ms"], 5000);
    assert_eq!(run["schedule"]["faults"][0]["at_ms"], 10000, "still listed");
    let out = kafkasim(&args);
    assert!(!out.stdout.contains("crashed") && !out.stdout.contains("reached:"));
    grep(
        &args,
        &out.stdout,
        &[
            "nemesis",
            "producers stopped",
            "crashed",
            "reached:",
            "verdict",
        ],
    )
}

// How the simulator works.

/// `run` twice and `replay` once with seed 1, `run` with seed 2: the first
/// three end with the same trace hash, the last with another.
pub(crate) fn same_seed_same_hash() -> String {
    const STORY: &str = "leader-crash-acks-all";
    let hash = |seed: &str| {
        let run = json(&["run", "--seed", seed, "--scenario", STORY]);
        run["trace_hash"].as_str().expect("a hash").to_string()
    };
    let (one, again, two) = (hash("1"), hash("1"), hash("2"));
    assert_eq!(one, again);
    assert_ne!(one, two);
    let mut text = String::new();
    for seed in ["1", "1", "2"] {
        let args = ["run", "--seed", seed, "--scenario", STORY];
        text += &grep(&args, &kafkasim(&args).stdout, &["trace hash"]);
    }
    let args = ["replay", "--seed", "1", "--scenario", STORY];
    let replay = kafkasim(&args);
    let last = replay.stdout.lines().last().expect("a last line");
    assert_eq!(last, format!("trace hash {one}"), "replay is the same run");
    let _ = writeln!(text, "$ kafkasim {} | tail -n 1\n{last}", args.join(" "));
    text
}

/// The swarm's faults come from the seed: seed 1 draws the same schedule
/// twice, seed 2 another.
pub(crate) fn faults_from_the_seed() -> String {
    let schedule = |seed: &str| {
        let args = ["run", "--seed", seed, "--scenario", "standard"];
        let mut with = args.to_vec();
        with.extend(["--safety-phase-s", "10"]);
        json(&with)["schedule"].clone()
    };
    let (one, again, two) = (schedule("1"), schedule("1"), schedule("2"));
    assert_eq!(one, again);
    assert_ne!(one["faults"], two["faults"]);
    let mut text = String::new();
    for seed in ["1", "2"] {
        let args = [
            "run",
            "--seed",
            seed,
            "--scenario",
            "standard",
            "--safety-phase-s",
            "10",
        ];
        let out = kafkasim(&args);
        text += &grep(&args, &out.stdout, &["0 ms  nemesis"]);
    }
    text
}

/// Simulated time jumps: `replicated` simulates about 31 s, and the run
/// takes less wall-clock time than that, even in a debug build.
pub(crate) fn simulated_time() -> String {
    let args = ["run", "--seed", "1"];
    let started = Instant::now();
    let out = kafkasim(&args);
    let wall = started.elapsed();
    let run = json(&args);
    let simulated_ms = count(&run, "simulated_ms");
    assert!(simulated_ms > 30_000, "the safety phase alone is 30 s");
    assert!(
        wall.as_millis() < u128::from(simulated_ms),
        "{wall:?} of wall-clock time for {simulated_ms} ms simulated"
    );
    grep(&args, &out.stdout, &["safety phase over", "run:"])
}

// Labs: write Kafka's rules yourself.

/// `kafkasim lab check partitioner` on the shipped file: every unit test
/// meets the `todo!()`, nothing is swept, exit code 1.
pub(crate) fn lab_check_partitioner() -> String {
    let args = ["lab", "check", "partitioner"];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(1));
    let lab = lab::named("partitioner").expect("a lab");
    let results = lab::run_tests(lab, &lab.learner_rules());
    assert_eq!(Status::of(&results), Status::Todo);
    assert!(!out.stdout.contains("sweep:"), "no sweep");
    format!(
        "$ kafkasim {}\n{}$ echo $?\n{}\n",
        args.join(" "),
        out.stdout,
        out.code.expect("an exit code")
    )
}

/// `kafkasim lab run partitioner` on the shipped file: the producer meets
/// the `todo!()`, and the run ends as a crash, exit code 4.
pub(crate) fn lab_run_todo() -> String {
    let args = ["lab", "run", "partitioner"];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(4), "a crash");
    assert!(out.stdout.contains("verdict: FAILED (crash)"));
    let lines: Vec<&str> = out.stdout.lines().collect();
    let tail = &lines[lines.len() - 6..];
    assert!(tail[1].contains("crash: not yet implemented"), "{tail:?}");
    let mut text = format!(
        "$ kafkasim {} 2>/dev/null | tail -n 6; echo ${{PIPESTATUS[0]}}\n",
        args.join(" ")
    );
    for line in tail {
        let _ = writeln!(text, "{line}");
    }
    let _ = writeln!(text, "{}", out.code.expect("an exit code"));
    text
}

/// `abs` where Kafka clears the sign bit: a hash made positive another way.
fn abs_instead_of_to_positive(key: &[u8], partitions: i32) -> i32 {
    kafkasim::partitioner::murmur2(key).wrapping_abs() % partitions
}

/// The `abs` partitioner fails the unit tests that pin Kafka's partitions
/// and passes the lab's runs: every
/// key still lands in one partition of the topic, only not Kafka's.
pub(crate) fn lab_abs_partitioner() -> String {
    let lab = lab::named("partitioner").expect("a lab");
    let rules = Rules {
        partition_for_key: abs_instead_of_to_positive,
        ..Rules::KAFKA
    };
    let results = lab::run_tests(lab, &rules);
    assert_eq!(Status::of(&results), Status::Failing);
    let failed: Vec<&str> = (results.iter())
        .filter(|(_, o)| !matches!(o, TestOutcome::Passed))
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(
        failed,
        [
            "keys_land_where_kafka_puts_them",
            "a_negative_hash_is_made_positive_by_clearing_the_sign_bit"
        ],
        "the tests that pin Kafka's partitions fail, the others pass"
    );
    // The lab's scenario, with the abs partitioner everywhere: no seed fails.
    let options = CheckOptions {
        seeds: SeedRange { start: 1, end: 4 },
        jobs: 1,
        shrink_runs: 1,
        out: scratch("lab-abs-partitioner"),
    };
    let (sweep, _) = lab::sweep_and_shrink(lab, rules, &options, &mut |_| {});
    assert_eq!(sweep.results.len(), 3);
    assert_eq!(sweep.failing().count(), 0, "the runs keep every promise");
    let mut text = format!(
        "$ kafkasim lab check partitioner\n{}{}",
        lab_render::heading(lab),
        lab_render::tests(lab, &results)
    );
    let report = run_scenario(1, &lab.scenario(rules), &RunOptions::default());
    let run = kafkasim_tools::render::render(&report);
    text += &grep(
        &["lab", "run", "partitioner", "--seed", "1"],
        &run,
        &["verdict"],
    );
    text
}
