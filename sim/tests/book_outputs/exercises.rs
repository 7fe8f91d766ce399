//! The exercises at the end of every chapter: the outputs their answers show,
//! and the facts their answers state, checked against the runs.
//!
//! Each exercise runs the `kafkasim` binary from the repository's root, as a
//! reader does, on a built-in scenario, a file of `sim/scenarios/exercises/`, or
//! a copy of a file edited the way the exercise says (`sed`, made here with the
//! same edit). Each producer writes the excerpt its answer includes and asserts
//! what the answer says, read from the run's JSON (`--json`) or its report
//! (`--report`), never from the prose: if the model changed, the assertion
//! fails before the answer could go wrong.

use kafkasim::group::offsets_topic::partition_for_group;
use kafkasim::partitioner::partition_for_key;
use kafkasim_tools::scenario::quickstart;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one `kafkasim` command did.
pub(crate) struct Out {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `kafkasim ARGS` at the top of the repository.
pub(crate) fn kafkasim(args: &[&str]) -> Out {
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the kafkasim binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("kafkasim prints UTF-8");
    Out {
        code: output.status.code(),
        stdout: text(output.stdout),
        stderr: text(output.stderr),
    }
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh scratch directory for one exercise.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("book-exercises")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// `kafkasim ARGS --json`, parsed.
pub(crate) fn json(args: &[&str]) -> Value {
    let mut with = args.to_vec();
    with.push("--json");
    let out = kafkasim(&with);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("kafkasim {} --json: {e}: {}", args.join(" "), out.stderr))
}

/// `kafkasim ARGS --report DIR`: the report's `summary.json` and the lines of
/// its `history.jsonl`.
fn report(args: &[&str], name: &str) -> (Value, Vec<Value>) {
    let dir = scratch(&format!("{name}.report"));
    let path = dir.to_str().expect("a UTF-8 path");
    let mut with = args.to_vec();
    with.extend(["--report", path]);
    let out = kafkasim(&with);
    assert!(
        out.code.is_some(),
        "kafkasim {}: {}",
        with.join(" "),
        out.stderr
    );
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).expect("a report file");
    let summary = serde_json::from_str(&read("summary.json")).expect("summary.json is JSON");
    let history = (read("history.jsonl").lines())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (summary, history)
}

/// A command line as the reader types it (`$ …`), then the lines it prints.
pub(crate) fn shell_excerpt(
    command: &str,
    lines: impl IntoIterator<Item = impl std::fmt::Display>,
) -> String {
    let mut text = format!("$ {command}\n");
    for line in lines {
        let _ = writeln!(text, "{line}");
    }
    text
}

/// Single-quotes `text` for a shell command line.
fn quoted(text: &str) -> String {
    assert!(
        !text.contains('\''),
        "a shown pattern holds no single quote"
    );
    format!("'{text}'")
}

/// `$ kafkasim ARGS | grep -F -e …` and the lines of `text` it keeps.
pub(crate) fn grep(args: &[&str], text: &str, patterns: &[&str]) -> String {
    let flags: Vec<String> = patterns
        .iter()
        .map(|p| format!("-e {}", quoted(p)))
        .collect();
    let mut out = format!(
        "$ kafkasim {} | grep -F {}\n",
        args.join(" "),
        flags.join(" ")
    );
    for line in text
        .lines()
        .filter(|l| patterns.iter().any(|p| l.contains(p)))
    {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `kafkasim ARGS | grep -F -e …`: runs it and shows what it keeps.
fn run_grep(args: &[&str], patterns: &[&str]) -> String {
    grep(args, &kafkasim(args).stdout, patterns)
}

/// A copy of the file at `from_file` with `old` replaced by `new` on the one
/// line holding it, written to `dir/to_file`: what `sed 's/OLD/NEW/'` does.
/// Returns the command line that shows it.
fn sed(from_file: &str, old: &str, new: &str, dir: &Path, to_file: &str) -> String {
    let special = |s: &str, chars: &str| s.chars().any(|c| chars.contains(c));
    assert!(
        !special(old, "[]*^$\\/&'") && !special(new, "\\/&'"),
        "a pattern sed reads as itself"
    );
    let text = std::fs::read_to_string(root().join(from_file)).expect("the file to edit");
    assert_eq!(
        text.lines().filter(|l| l.contains(old)).count(),
        1,
        "{from_file} has one line holding {old}"
    );
    std::fs::write(dir.join(to_file), text.replacen(old, new, 1)).expect("a scratch file");
    format!("$ sed 's/{old}/{new}/' {from_file} > {to_file}\n")
}

/// A copy of `from_file` with `line` added after the line `after`, as
/// `sed '/^AFTER$/a LINE'` does.
fn sed_append(from_file: &str, after: &str, line: &str, dir: &Path, to_file: &str) -> String {
    let text = std::fs::read_to_string(root().join(from_file)).expect("the file to edit");
    assert_eq!(text.lines().filter(|l| *l == after).count(), 1, "{after}");
    let edited: String = text
        .lines()
        .flat_map(|l| {
            let added = (l == after).then_some(line);
            std::iter::once(l).chain(added)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join(to_file), edited).expect("a scratch file");
    format!("$ sed '/^{after}$/a {line}' {from_file} > {to_file}\n")
}

/// A file of `dir`, as a path `kafkasim` (run at the top) can open.
fn at(dir: &Path, file: &str) -> String {
    dir.join(file).to_str().expect("a UTF-8 path").to_string()
}

/// Runs `kafkasim ARGS` where `ARGS` name `dir/file` by its full path, and
/// shows the output with the path as the reader typed it, `file`.
pub(crate) fn shown(dir: &Path, text: &str) -> String {
    text.replace(&format!("{}/", dir.to_str().expect("UTF-8")), "")
}

// Findings and reports, read as data.

pub(crate) fn verdict(run: &Value) -> &str {
    run["verdict"]["kind"].as_str().expect("a verdict kind")
}

/// The findings of `kind`.
fn findings<'a>(run: &'a Value, kind: &str) -> Vec<&'a Value> {
    (run["findings"].as_array().expect("findings"))
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// The first value each finding of `kind` names: the record it is about.
fn found_values(run: &Value, kind: &str) -> BTreeSet<String> {
    findings(run, kind)
        .iter()
        .map(|f| f["values"][0].as_str().expect("a value").to_string())
        .collect()
}

fn allowed(finding: &Value) -> bool {
    !finding["allowed"].as_array().expect("allowed").is_empty()
}

/// The history's lines of `kind` for the record `value`.
fn sends<'a>(history: &'a [Value], kind: &str, value: &str) -> Vec<&'a Value> {
    history
        .iter()
        .filter(|l| l["kind"] == kind && l["value"] == value)
        .collect()
}

/// The values a partition's leader holds at the end, in offset order.
fn log_values(summary: &Value, partition: &str) -> Vec<String> {
    let p = (summary["partitions"].as_array().expect("partitions"))
        .iter()
        .find(|p| p["partition"] == partition)
        .expect("the partition");
    let leader = &p["leader"];
    let log = (p["logs"].as_array().expect("logs"))
        .iter()
        .find(|l| &l["broker"] == leader)
        .expect("the leader's log");
    (log["records"].as_array().expect("records"))
        .iter()
        .map(|r| r["value"].as_str().expect("a value").to_string())
        .collect()
}

/// The leader of `partition` at the end of a `--json` run.
fn leader(run: &Value, partition: &str) -> u64 {
    (run["partitions"].as_array().expect("partitions"))
        .iter()
        .find(|p| p["partition"] == partition)
        .and_then(|p| p["leader"].as_u64())
        .unwrap_or_else(|| panic!("{partition} has a leader"))
}

// Introduction.

const KIP_101_OLD: &str = "kip-101-high-watermark-truncation";

pub(crate) fn exit_code() -> String {
    let args = ["run", "--seed", "1", "--scenario", KIP_101_OLD];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(1), "a correctness failure exits with 1");
    assert_eq!(verdict(&json(&args)), "correctness");
    let mut text = format!("$ kafkasim {} > /dev/null; echo $?\n", args.join(" "));
    let _ = writeln!(text, "{}", out.code.expect("an exit code"));
    text + &grep(&args, &out.stdout, &["verdict:"])
}

pub(crate) fn misspelled_scenario() -> String {
    let args = ["run", "--seed", "7", "--scenario", "quickstrat"];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(2), "a usage error exits with 2");
    assert!(out.stdout.is_empty(), "nothing runs");
    assert!(
        out.stderr.contains("quickstart"),
        "the error lists the names"
    );
    format!(
        "$ kafkasim {}; echo $?\n{}{}\n",
        args.join(" "),
        out.stderr,
        out.code.expect("an exit code")
    )
}

pub(crate) fn default_scenario() -> String {
    let args = ["run", "--seed", "7"];
    let run = json(&args);
    assert_eq!(run["scenario"], "replicated");
    assert_eq!(verdict(&run), "ok");
    let out = kafkasim(&args);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut text = format!("$ kafkasim {} | head -n 1\n{}\n", args.join(" "), lines[0]);
    let _ = write!(
        text,
        "{}",
        grep(&args, &out.stdout, &["crashed", "restarted", "verdict:"])
    );
    text
}

// Brokers, producers and consumers.

const IDLE: &str = "sim/scenarios/exercises/idle-consumer.toml";
/// The consumer's client node in the idle-consumer runs.
const IDLE_CONSUMER: &str = "client-6";

/// How many Fetch requests the idle consumer's broker received from it.
fn consumer_fetches(scenario: &str) -> usize {
    let out = kafkasim(&["replay", "--seed", "1", "--scenario", scenario]);
    (out.stdout.lines())
        .filter(|l| l.contains(&format!("← {IDLE_CONSUMER}")) && l.contains("Fetch request"))
        .count()
}

fn fetch_count_command(file: &str) -> String {
    format!(
        "$ kafkasim replay --seed 1 --scenario {file} | grep -F '← {IDLE_CONSUMER}' | grep -c -F 'Fetch request'\n"
    )
}

pub(crate) fn fetch_max_wait() -> String {
    let dir = scratch("fetch-max-wait");
    let slow = consumer_fetches(IDLE);
    let mut text = fetch_count_command(IDLE);
    let _ = writeln!(text, "{slow}");
    text += &sed(
        IDLE,
        "\"fetch.max.wait.ms\" = 500",
        "\"fetch.max.wait.ms\" = 100",
        &dir,
        "fast.toml",
    );
    let fast = consumer_fetches(&at(&dir, "fast.toml"));
    text += &fetch_count_command("fast.toml");
    let _ = writeln!(text, "{fast}");
    // The answer: several times as many, but less than five times, since the
    // fetches a record answers early are the same in both runs.
    assert!(
        slow > 0 && fast >= 3 * slow && fast < 5 * slow,
        "{slow} and {fast}"
    );
    text
}

const RF_1: &str = "sim/scenarios/exercises/replication-factor-1.toml";

pub(crate) fn replication_factor_1() -> String {
    let args = ["run", "--seed", "1", "--scenario", RF_1];
    let (summary, history) = report(&args, "replication-factor-1");
    let bob = sends(&history, "send_failed", "Bob");
    assert_eq!(bob.len(), 1, "Bob's send fails");
    assert_eq!(
        bob[0]["ambiguous"], true,
        "a timeout: it may have been written"
    );
    assert_eq!(log_values(&summary, "users-0"), ["Alice"], "Alice survives");
    assert!(sends(&history, "sent", "Bob").is_empty());
    run_grep(
        &args,
        &["producer", "crashed", "restarted", "users-0:", "final read"],
    )
}

pub(crate) fn metadata_fetch_gaps() -> String {
    let args = ["replay", "--seed", "1", "--scenario", IDLE];
    let out = kafkasim(&args);
    let times: Vec<u64> = (out.stdout.lines())
        .filter(|l| l.contains("controller ← broker-1") && l.contains("ClusterMetadataFetch"))
        .take(8)
        .map(|l| {
            l.split_whitespace()
                .next()
                .expect("a time")
                .parse()
                .expect("ms")
        })
        .collect();
    // Once the topics exist nothing changes, and each fetch is held 500 ms.
    let quiet = &times[4..];
    for pair in quiet.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((500..=515).contains(&gap), "{times:?}");
    }
    let command = format!(
        "kafkasim {} | grep -F 'controller ← broker-1' | grep -F ClusterMetadataFetch | head -n 8 | awk '{{print $1}}'",
        args.join(" ")
    );
    shell_excerpt(&command, times)
}

// Topics, partitions and offsets.

pub(crate) fn lowercase_names() -> String {
    assert_eq!(quickstart::partition_for_name("Alice"), 0);
    assert_eq!(
        quickstart::partition_for_name("alice"),
        1,
        "'a' sorts after 'N'"
    );
    assert_eq!(
        quickstart::partition_for_name("Émile"),
        1,
        "'É' sorts after 'N'"
    );
    let mut out = String::from("name      A-M/N-Z rule   murmur2 key hash (2 partitions)\n");
    for name in ["Alice", "alice", "Zoe", "zoe", "Émile"] {
        let _ = writeln!(
            out,
            "{name:<9} {:<14} {}",
            quickstart::partition_for_name(name),
            partition_for_key(name.as_bytes(), 2)
        );
    }
    out
}

/// How many of the quickstart's names move when `users` grows to 3 partitions.
const NAMES_MOVED_TO_3: usize = 8;

pub(crate) fn third_partition() -> String {
    let mut out = String::from("name      2 partitions   3 partitions\n");
    let mut moved = 0;
    for name in quickstart::NAMES {
        let (two, three) = (
            partition_for_key(name.as_bytes(), 2),
            partition_for_key(name.as_bytes(), 3),
        );
        moved += usize::from(two != three);
        let _ = writeln!(out, "{name:<9} {two:<14} {three}");
    }
    assert_eq!(moved, NAMES_MOVED_TO_3, "the answer's count");
    out
}

pub(crate) fn seed_8_partitions() -> String {
    let (seven, eight) = (
        crate::quickstart_run(7, false),
        crate::quickstart_run(8, false),
    );
    assert_ne!(seven.run.trace_hash, eight.run.trace_hash, "other timings");
    let values = |r: &kafkasim_tools::run::RunReport| -> Vec<Vec<String>> {
        r.run.partitions.iter().map(|p| p.values.clone()).collect()
    };
    assert_eq!(values(&seven), values(&eight), "the same logs");
    let args = ["run", "--seed", "8", "--scenario", "quickstart"];
    let out = kafkasim(&args);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = (lines.iter())
        .position(|l| l.starts_with("partitions at the end"))
        .expect("the partitions");
    let command = format!(
        "kafkasim {} | grep -A 2 'partitions at the end'",
        args.join(" ")
    );
    shell_excerpt(&command, &lines[at..=at + 2])
}

// Leaders and followers.

const TWO_TOPICS: &str = "sim/scenarios/exercises/two-topics.toml";

pub(crate) fn two_topics() -> String {
    let args = ["run", "--seed", "1", "--scenario", TWO_TOPICS];
    let run = json(&args);
    for (partition, broker) in [("payments-0", 2), ("payments-1", 3), ("payments-2", 1)] {
        assert_eq!(leader(&run, partition), broker, "{partition}");
    }
    run_grep(&args, &["created:", "payments:"])
}

const PREFERRED: &str = "sim/scenarios/stories/preferred-leader-returns.toml";

pub(crate) fn no_preferred_election() -> String {
    let dir = scratch("no-preferred-election");
    let mut text = sed(
        PREFERRED,
        "elect = \"preferred\"",
        "sleep_ms = 2000",
        &dir,
        "no-election.toml",
    );
    let path = at(&dir, "no-election.toml");
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(3), "a liveness failure");
    let run = json(&args);
    assert_eq!(verdict(&run), "liveness");
    assert_eq!(findings(&run, "wait-timed-out").len(), 1);
    assert_eq!(leader(&run, "orders-0"), 2, "broker-2 keeps orders-0");
    let _ = writeln!(
        text,
        "$ kafkasim run --seed 1 --scenario no-election.toml | grep -F -e 'preferred election' -e wait-timed-out -e verdict; echo $?"
    );
    let kept = out.stdout.lines().filter(|l| {
        l.contains("preferred election") || l.contains("wait-timed-out") || l.contains("verdict")
    });
    for line in kept {
        let _ = writeln!(text, "{}", shown(&dir, line));
    }
    let _ = writeln!(text, "{}", out.code.expect("an exit code"));
    text
}

const LEADER_CRASH: &str = "sim/scenarios/stories/leader-crash-acks-all.toml";

pub(crate) fn acks_1_latency() -> String {
    let dir = scratch("acks-1-latency");
    let ack_time = |history: &[Value]| {
        let v0 = sends(history, "sent", "v0");
        v0[0]["time_ms"].as_u64().expect("a time")
    };
    let all_args = ["run", "--seed", "1", "--scenario", "leader-crash-acks-all"];
    let (_, all) = report(&all_args, "acks-1-latency-all");
    let mut text = run_grep(&all_args, &["v0 acknowledged"]);
    text += &sed(
        LEADER_CRASH,
        "acks = \"all\"",
        "acks = \"1\"",
        &dir,
        "acks-1.toml",
    );
    let path = at(&dir, "acks-1.toml");
    let one_args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let (_, one) = report(&one_args, "acks-1-latency-1");
    let out = kafkasim(&one_args);
    text += &shown(&dir, &grep(&one_args, &out.stdout, &["v0 acknowledged"]));
    let (all_ms, one_ms) = (ack_time(&all), ack_time(&one));
    assert!(one_ms < all_ms, "acks=1 answers before the followers fetch");
    text.replace(&path, "acks-1.toml")
}

// The controller.

const CONTROLLER_DOWN: &str = "sim/scenarios/exercises/controller-down.toml";

pub(crate) fn controller_down() -> String {
    let args = ["run", "--seed", "1", "--scenario", CONTROLLER_DOWN];
    let (summary, history) = report(&args, "controller-down");
    for value in ["during-1", "during-2", "during-3"] {
        assert_eq!(
            sends(&history, "sent", value).len(),
            1,
            "{value} is acknowledged"
        );
    }
    assert_eq!(log_values(&summary, "orders-0").len(), 4);
    run_grep(&args, &["producer", "crashed", "restarted"])
}

const FROZEN_ISR: &str = "sim/scenarios/exercises/frozen-isr.toml";

pub(crate) fn frozen_isr() -> String {
    let args = ["run", "--seed", "1", "--scenario", FROZEN_ISR];
    let (summary, history) = report(&args, "frozen-isr");
    let w2 = sends(&history, "send_failed", "w2");
    assert_eq!(w2.len(), 1, "w2 is not acknowledged");
    assert_eq!(w2[0]["ambiguous"], true);
    assert_eq!(
        log_values(&summary, "orders-0"),
        ["w1", "w2", "w3"],
        "w2 is kept"
    );
    run_grep(
        &args,
        &["producer", "crashed", "restarted", "ISR now", "final read"],
    )
}

// acks, ISR and durability.

const NOT_ENOUGH: &str = "sim/scenarios/exercises/not-enough-replicas.toml";

pub(crate) fn not_enough_replicas() -> String {
    let args = ["run", "--seed", "1", "--scenario", NOT_ENOUGH];
    let (summary, history) = report(&args, "not-enough-replicas");
    let w2 = sends(&history, "send_failed", "w2");
    assert_eq!(w2.len(), 1);
    let error = w2[0]["error"].as_str().expect("an error");
    assert!(error.contains("NOT_ENOUGH_REPLICAS"), "{error}");
    assert_eq!(
        log_values(&summary, "orders-0"),
        ["w1", "w3"],
        "w2 was never appended"
    );
    run_grep(&args, &["producer", " fenced:", "ISR now", "final read"])
}

/// Which built-in stories lose an acknowledged write on seed 1, and whether
/// their settings allow it.
const LOSSES: &[(&str, bool)] = &[
    ("leader-crash-acks-all", false),
    ("acks-1-failover", true),
    ("lost-produce-response", false),
    ("unclean-election", true),
    ("unclean-election-disabled", false),
    ("last-replica-power-loss", true),
    ("last-replica-process-crash", false),
];

pub(crate) fn which_settings_lose() -> String {
    let names: Vec<&str> = LOSSES.iter().map(|(n, _)| *n).collect();
    let mut text = format!(
        "$ for s in {}; do printf '%s: ' $s; kafkasim run --seed 1 --scenario $s | grep -c '^  lost-write:'; done\n",
        names.join(" ")
    );
    for (name, loses) in LOSSES {
        let args = ["run", "--seed", "1", "--scenario", name];
        let run = json(&args);
        let lost = findings(&run, "lost-write");
        assert_eq!(!lost.is_empty(), *loses, "{name}");
        assert!(lost.iter().all(|f| allowed(f)), "{name}: Kafka allows it");
        assert_eq!(verdict(&run), "ok", "{name}");
        let shown_count = (kafkasim(&args).stdout.lines())
            .filter(|l| l.starts_with("  lost-write:"))
            .count();
        assert_eq!(shown_count, lost.len(), "{name}");
        let _ = writeln!(text, "{name}: {shown_count}");
    }
    text
}

const ACKS_1_FAILOVER: &str = "sim/scenarios/stories/acks-1-failover.toml";

pub(crate) fn acks_0() -> String {
    let dir = scratch("acks-0");
    let mut text = sed(
        ACKS_1_FAILOVER,
        "acks = \"1\"",
        "acks = \"0\"",
        &dir,
        "acks-0.toml",
    );
    let path = at(&dir, "acks-0.toml");
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let run = json(&args);
    let lost = found_values(&run, "lost-write");
    assert_eq!(
        lost,
        BTreeSet::from(["acked-then-lost".into(), "after".into()])
    );
    assert!(findings(&run, "lost-write").iter().all(|f| allowed(f)));
    let out = kafkasim(&args);
    text += &grep(
        &args,
        &out.stdout,
        &["producer", "final read", "lost-write:"],
    );
    shown(&dir, &text)
}

// When brokers crash.

const POWER_LOSS: &str = "sim/scenarios/stories/last-replica-power-loss.toml";

/// `last-replica-power-loss` with one more line in its `[cluster]`: `w1`
/// survives.
fn power_loss_with(line: &str, name: &str) -> String {
    let dir = scratch(name);
    let file = format!("{name}.toml");
    let mut text = sed_append(POWER_LOSS, "brokers = 2", line, &dir, &file);
    let path = at(&dir, &file);
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let run = json(&args);
    assert!(
        findings(&run, "lost-write").is_empty(),
        "{name}: w1 survives"
    );
    let (summary, _) = report(&args, name);
    assert_eq!(log_values(&summary, "orders-0"), ["w1"]);
    let out = kafkasim(&args);
    text += &grep(
        &args,
        &out.stdout,
        &["producer", "power loss", "final read", "verdict:"],
    );
    shown(&dir, &text)
}

pub(crate) fn flush_every_message() -> String {
    power_loss_with("\"log.flush.interval.messages\" = 1", "flush-every-message")
}

pub(crate) fn dirty_expire() -> String {
    power_loss_with("\"vm.dirty_expire_centisecs\" = 100", "dirty-expire")
}

const UNCLEAN: &str = "sim/scenarios/stories/unclean-election.toml";

pub(crate) fn unclean_with_min_isr() -> String {
    let dir = scratch("unclean-min-isr");
    let mut text = sed(
        UNCLEAN,
        "\"unclean.leader.election.enable\" = true }",
        "\"unclean.leader.election.enable\" = true, \"min.insync.replicas\" = 2 }",
        &dir,
        "unclean-min-isr.toml",
    );
    let path = at(&dir, "unclean-min-isr.toml");
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let run = json(&args);
    assert!(
        findings(&run, "lost-write").is_empty(),
        "nothing acknowledged is lost"
    );
    assert_eq!(run["acknowledged"], 1, "only `before`");
    assert_eq!(
        run["goals"]["unclean election"], 1,
        "the election still happens"
    );
    let out = kafkasim(&args);
    text += &grep(
        &args,
        &out.stdout,
        &["producer", "ISR now", "UNCLEAN", "final read"],
    );
    shown(&dir, &text)
}

// Queue or pub/sub: consumer groups.

const THREE: &str = "sim/scenarios/exercises/three-consumers.toml";

/// Each generation of the report's first group: member id → partitions.
fn generations(summary: &Value) -> Vec<(u64, BTreeMap<String, Vec<String>>)> {
    (summary["groups"][0]["generations"]
        .as_array()
        .expect("generations"))
    .iter()
    .map(|g| {
        let members = serde_json::from_value(g["members"].clone()).expect("members");
        (g["start_ms"].as_u64().expect("a start"), members)
    })
    .collect()
}

/// The client machine (`consumer-3`) of a member id (`client-7-2`).
fn machine(summary: &Value, member: &str) -> String {
    let node = member.rsplit_once('-').expect("node-counter").0;
    (summary["nodes"].as_array().expect("nodes"))
        .iter()
        .find(|n| n["id"] == node)
        .and_then(|n| n["machine"].as_str())
        .expect("a client machine")
        .to_string()
}

pub(crate) fn third_consumer() -> String {
    let args = ["run", "--seed", "1", "--scenario", THREE];
    let (summary, _) = report(&args, "third-consumer");
    let first = &generations(&summary)[0].1;
    assert_eq!(first.len(), 3, "three members");
    let idle: Vec<&String> = first
        .iter()
        .filter(|(_, p)| p.is_empty())
        .map(|(m, _)| m)
        .collect();
    assert_eq!(idle.len(), 1, "one member gets nothing");
    assert_eq!(machine(&summary, idle[0]), "consumer-1");
    run_grep(&args, &["generation 1", "assigned"])
}

pub(crate) fn billing_coordinator() -> String {
    let dir = scratch("billing");
    let mut text = sed(
        THREE,
        "id = \"group-1\"",
        "id = \"billing\"",
        &dir,
        "billing.toml",
    );
    let path = at(&dir, "billing.toml");
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let run = json(&args);
    let partition = partition_for_group("billing", 3);
    assert_eq!(partition, 1);
    let used: Vec<&Value> = (run["partitions"].as_array().expect("partitions"))
        .iter()
        .filter(|p| {
            let name = p["partition"].as_str().expect("a name");
            name.starts_with("__consumer_offsets") && p["log_end_offset"].as_u64() > Some(0)
        })
        .collect();
    assert_eq!(used.len(), 1);
    assert_eq!(
        used[0]["partition"],
        format!("__consumer_offsets-{partition}")
    );
    assert_eq!(
        leader(&run, "__consumer_offsets-1"),
        3,
        "broker-3 coordinates"
    );
    let out = kafkasim(&args);
    text += &grep(
        &args,
        &out.stdout,
        &["group billing: generation 1", "  __consumer_offsets-"],
    );
    shown(&dir, &text)
}

const TWO_GROUPS: &str = "sim/scenarios/exercises/two-groups.toml";

pub(crate) fn two_groups() -> String {
    let args = ["run", "--seed", "1", "--scenario", TWO_GROUPS];
    let run = json(&args);
    let acknowledged = run["acknowledged"].as_u64().expect("a count");
    assert!(acknowledged > 0);
    assert_eq!(
        run["processed"].as_u64(),
        Some(2 * acknowledged),
        "each group, each record"
    );
    let (summary, _) = report(&args, "two-groups");
    for group in summary["groups"].as_array().expect("groups") {
        let members = group["generations"][0]["members"]
            .as_object()
            .expect("members");
        assert_eq!(members.len(), 1, "one consumer");
        let owned = members
            .values()
            .next()
            .expect("one")
            .as_array()
            .expect("partitions");
        assert_eq!(owned.len(), 2, "it owns both partitions");
    }
    run_grep(&args, &["generation 1", "processed all"])
}

// Rebalancing, generations and zombies.

const ZOMBIE: &str = "sim/scenarios/minimal/zombie-consumer.toml";

pub(crate) fn longer_session() -> String {
    let dir = scratch("longer-session");
    let mut text = sed_append(
        ZOMBIE,
        "commit = \"after-processing\"",
        "configs = { \"session.timeout.ms\" = 30000 }",
        &dir,
        "long-session.toml",
    );
    let path = at(&dir, "long-session.toml");
    let args = ["run", "--scenario", path.as_str()];
    let run = json(&args);
    assert!(findings(&run, "processed-again").is_empty(), "no zombie");
    assert_eq!(run["expect"]["reproduced"], false);
    let out = kafkasim(&args);
    text += &grep(
        &args,
        &out.stdout,
        &["consumer-1", "generation", "expected"],
    );
    shown(&dir, &text)
}

pub(crate) fn consumer_3_crashes() -> String {
    let args = ["run", "--seed", "1", "--scenario", THREE];
    let (summary, _) = report(&args, "consumer-3-crashes");
    let gens = generations(&summary);
    assert_eq!(gens.len(), 2, "one rebalance");
    let owner = |members: &BTreeMap<String, Vec<String>>, p: &str| {
        let (member, _) = (members.iter())
            .find(|(_, ps)| ps.iter().any(|x| x == p))
            .expect("an owner");
        machine(&summary, member)
    };
    assert_eq!(owner(&gens[0].1, "users-1"), "consumer-3");
    assert_eq!(
        owner(&gens[1].1, "users-1"),
        "consumer-1",
        "the idle member"
    );
    assert_eq!(owner(&gens[1].1, "users-0"), "consumer-2", "range keeps it");
    run_grep(&args, &["crash", "generation", "assigned", "revoked"])
}

pub(crate) fn session_after_crash() -> String {
    let args = ["run", "--seed", "1", "--scenario", THREE];
    let (summary, _) = report(&args, "session-after-crash");
    let crash_ms = summary["faults"][0]["start_ms"]
        .as_u64()
        .expect("the crash");
    let generation_1 = &summary["groups"][0]["generations"][0];
    let rebalance_ms = generation_1["end_ms"].as_u64().expect("a rebalance");
    // session.timeout.ms (10 s in the workload's consumers) counts from the
    // last heartbeat, which came up to heartbeat.interval.ms (1 s) before the crash.
    let gap = rebalance_ms - crash_ms;
    assert!((9_000..=10_000).contains(&gap), "{gap}");
    run_grep(
        &args,
        &["crashed", "SessionTimeout", "rebalance", "generation 2"],
    )
}

// Committed offsets and delivery semantics.

pub(crate) fn never_processed() -> String {
    let args = [
        "run",
        "--seed",
        "1",
        "--scenario",
        "commit-before-processing",
    ];
    let run = json(&args);
    let never = found_values(&run, "never-processed");
    assert_eq!(never, BTreeSet::from(["p8".into(), "p9".into()]));
    assert!(findings(&run, "never-processed").iter().all(|f| allowed(f)));
    assert!(findings(&run, "processed-again").is_empty());
    run_grep(&args, &["never-processed:", "verdict:"])
}

pub(crate) fn processed_again() -> String {
    let args = [
        "run",
        "--seed",
        "1",
        "--scenario",
        "commit-after-processing",
    ];
    let run = json(&args);
    let again = found_values(&run, "processed-again");
    assert_eq!(
        again,
        BTreeSet::from(["p5".into(), "p6".into(), "p7".into()])
    );
    assert!(findings(&run, "processed-again").iter().all(|f| allowed(f)));
    assert!(findings(&run, "never-processed").is_empty());
    run_grep(&args, &["processed-again:", "verdict:"])
}

pub(crate) fn zombie_commits_first() -> String {
    let dir = scratch("zombie-commits-first");
    let mut text = sed(
        ZOMBIE,
        "commit = \"after-processing\"",
        "commit = \"before-processing\"",
        &dir,
        "commit-first.toml",
    );
    let path = at(&dir, "commit-first.toml");
    let args = ["run", "--scenario", path.as_str()];
    let run = json(&args);
    let again = findings(&run, "processed-again");
    assert_eq!(again.len(), 1, "the zombie still processes a record again");
    assert!(allowed(again[0]));
    let out = kafkasim(&args);
    text += &grep(&args, &out.stdout, &["commit failed", "processed-again:"]);
    shown(&dir, &text)
}

// Reading a report.

pub(crate) fn report_keeps_the_hash() -> String {
    let dir = scratch("report-hash");
    let path = at(&dir, "r");
    let plain = ["run", "--seed", "1", "--scenario", "acks-1-failover"];
    let with = [
        "run",
        "--seed",
        "1",
        "--scenario",
        "acks-1-failover",
        "--report",
        path.as_str(),
    ];
    let (a, b) = (kafkasim(&plain), kafkasim(&with));
    let line = |out: &Out| -> String {
        (out.stdout.lines())
            .find(|l| l.starts_with("run:"))
            .expect("a run line")
            .to_string()
    };
    assert_eq!(line(&a), line(&b), "capturing changes nothing");
    let mut text = grep(&plain, &a.stdout, &["run:"]);
    text += &grep(&with, &b.stdout, &["run:"]);
    shown(&dir, &text)
}

pub(crate) fn removed_records() -> String {
    let dir = scratch("removed-records");
    let path = at(&dir, "r");
    let args = [
        "run",
        "--seed",
        "1",
        "--scenario",
        "acks-1-failover",
        "--report",
        path.as_str(),
    ];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(0));
    let summary_text = std::fs::read_to_string(dir.join("r/summary.json")).expect("summary");
    let summary: Value = serde_json::from_str(&summary_text).expect("JSON");
    let logs = summary["partitions"][0]["logs"].as_array().expect("logs");
    let removed: Vec<(u64, String)> = logs
        .iter()
        .flat_map(|log| {
            let broker = log["broker"].as_u64().expect("a broker");
            (log["removed"].as_array().expect("removed").iter())
                .map(move |r| (broker, r["value"].as_str().expect("a value").to_string()))
        })
        .collect();
    assert_eq!(
        removed,
        [(1, "acked-then-lost".to_string())],
        "broker-1 alone lost it"
    );
    // What `grep -o '"removed":\[[^]]*\]'` prints: every removed list, in order.
    let mut text =
        String::from("$ kafkasim run --seed 1 --scenario acks-1-failover --report r > /dev/null\n");
    text.push_str("$ grep -o '\"removed\":\\[[^]]*\\]' r/summary.json\n");
    let mut rest = summary_text.as_str();
    while let Some(i) = rest.find("\"removed\":[") {
        let end = i + rest[i..].find(']').expect("a closing bracket");
        let _ = writeln!(text, "{}", &rest[i..=end]);
        rest = &rest[end + 1..];
    }
    text
}

pub(crate) fn report_check_cut_file() -> String {
    let dir = scratch("report-check");
    let path = at(&dir, "r");
    let out = kafkasim(&[
        "run",
        "--seed",
        "1",
        "--scenario",
        "acks-1-failover",
        "--report",
        &path,
    ]);
    assert_eq!(out.code, Some(0));
    let history = dir.join("r/history.jsonl");
    let text = std::fs::read_to_string(&history).expect("history");
    let kept: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(&history, kept).expect("the cut file");
    let check = kafkasim(&["report-check", &path]);
    assert_eq!(check.code, Some(2), "a report that does not check out");
    assert!(check.stdout.is_empty());
    let mut shown_text = String::from(
        "$ kafkasim run --seed 1 --scenario acks-1-failover --report r > /dev/null\n\
         $ head -n 5 r/history.jsonl > cut; mv cut r/history.jsonl\n\
         $ kafkasim report-check r; echo $?\n",
    );
    shown_text += &check.stderr.replace(&path, "r");
    let _ = writeln!(shown_text, "{}", check.code.expect("an exit code"));
    shown_text
}

// Finding bugs with seeds.

pub(crate) fn sweep_acks_1() -> String {
    let file = "sim/scenarios/acks-1.toml";
    let args = [
        "sweep",
        "--seeds",
        "1..=4",
        "--jobs",
        "1",
        "--scenario",
        file,
    ];
    let out = kafkasim(&args);
    assert_eq!(out.code, Some(0), "allowed anomalies do not fail a sweep");
    let summary = json(&args);
    assert_eq!(summary["verdicts"]["ok"], 4);
    let lost = summary["allowed_anomalies"]["lost-write"]
        .as_u64()
        .expect("lost writes");
    assert!(lost > 0, "some seed loses an acks=1 write");
    let command = format!(
        "kafkasim {} 2> /dev/null | grep -v 'wall time'",
        args.join(" ")
    );
    shell_excerpt(
        &command,
        out.stdout.lines().filter(|l| !l.contains("wall time")),
    )
}

pub(crate) fn min_isr_above_replicas() -> String {
    let dir = scratch("min-isr-above");
    let mut text = sed(
        NOT_ENOUGH,
        "\"min.insync.replicas\" = 2",
        "\"min.insync.replicas\" = 4",
        &dir,
        "four.toml",
    );
    let path = at(&dir, "four.toml");
    let out = kafkasim(&["run", "--seed", "1", "--scenario", &path]);
    assert_eq!(out.code, Some(2), "refused before anything runs");
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("min.insync.replicas"), "{}", out.stderr);
    let _ = writeln!(
        text,
        "$ kafkasim run --seed 1 --scenario four.toml; echo $?"
    );
    text += &shown(&dir, &out.stderr);
    let _ = writeln!(text, "{}", out.code.expect("an exit code"));
    text
}

pub(crate) fn minimal_without_seed() -> String {
    let file = "sim/scenarios/minimal/unclean-election.toml";
    let args = ["run", "--scenario", file];
    let run = json(&args);
    assert_eq!(run["seed"], 2, "the file's own seed");
    assert_eq!(run["expect"]["kind"], "lost-write");
    assert_eq!(run["expect"]["reproduced"], true);
    let out = kafkasim(&args);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let command = format!("kafkasim {} | tail -n 3", args.join(" "));
    shell_excerpt(&command, &lines[lines.len() - 3..])
}

// Sweeping at scale.

pub(crate) fn shard_seeds() -> String {
    let args = [
        "sweep",
        "--seeds",
        "1..=10",
        "--scenario",
        "quickstart",
        "--shard",
        "2/3",
        "--json",
    ];
    let summary: Value = serde_json::from_str(&kafkasim(&args).stdout).expect("JSON");
    let seeds: Vec<u64> = (summary["runs"].as_array().expect("runs"))
        .iter()
        .map(|r| r["seed"].as_u64().expect("a seed"))
        .collect();
    let expected: Vec<u64> = (1..=10).filter(|s| (s - 1) % 3 == 1).collect();
    assert_eq!(seeds, expected);
    assert_eq!(seeds, [2, 5, 8]);
    let command = format!(
        "kafkasim {} 2> /dev/null | grep -o '\"seed\":[0-9]*,\"verdict\"'",
        args.join(" ")
    );
    let lines = seeds
        .iter()
        .map(|seed| format!("\"seed\":{seed},\"verdict\""));
    shell_excerpt(&command, lines)
}

pub(crate) fn overlapping_merge() -> String {
    let dir = scratch("overlapping-merge");
    let mut text = String::new();
    for (seeds, file) in [("1..=4", "a.json"), ("3..=6", "b.json")] {
        let args = [
            "sweep",
            "--seeds",
            seeds,
            "--scenario",
            "quickstart",
            "--json",
        ];
        let out = kafkasim(&args);
        std::fs::write(dir.join(file), out.stdout).expect("a summary");
        let _ = writeln!(text, "$ kafkasim {} > {file} 2> /dev/null", args.join(" "));
    }
    let (a, b) = (at(&dir, "a.json"), at(&dir, "b.json"));
    let out = kafkasim(&["merge", &a, &b]);
    assert_eq!(out.code, Some(2), "a seed run twice refuses the merge");
    assert!(out.stdout.is_empty(), "nothing is printed on an error");
    assert!(
        out.stderr.contains('3') && out.stderr.contains('4'),
        "{}",
        out.stderr
    );
    let _ = writeln!(text, "$ kafkasim merge a.json b.json; echo $?");
    text += &shown(&dir, &out.stderr);
    let _ = writeln!(text, "{}", out.code.expect("an exit code"));
    text
}

pub(crate) fn jobs_change_nothing() -> String {
    let summary = |jobs: &str| -> Vec<String> {
        let args = [
            "sweep",
            "--seeds",
            "1..=6",
            "--scenario",
            "quickstart",
            "--jobs",
            jobs,
        ];
        let out = kafkasim(&args);
        (out.stdout.lines())
            .filter(|l| !l.contains("wall time"))
            .map(str::to_string)
            .collect()
    };
    let (one, two) = (summary("1"), summary("2"));
    assert_eq!(one, two, "the summary depends on the seeds alone");
    let hashes = |jobs: &str| -> Vec<Value> {
        let args = [
            "sweep",
            "--seeds",
            "1..=6",
            "--scenario",
            "quickstart",
            "--jobs",
            jobs,
            "--json",
        ];
        let summary: Value = serde_json::from_str(&kafkasim(&args).stdout).expect("JSON");
        summary["runs"].as_array().expect("runs").clone()
    };
    assert_eq!(
        hashes("1"),
        hashes("2"),
        "each seed's run, trace hash and all"
    );
    let sweep = |jobs: &str| {
        format!("<(kafkasim sweep --seeds 1..=6 --scenario quickstart --jobs {jobs} 2> /dev/null | grep -v 'wall time')")
    };
    format!("$ diff {} {} && echo same\nsame\n", sweep("1"), sweep("2"))
}

// Writing your own fault test.

const ISOLATED: &str = "sim/scenarios/exercises/isolated-leader.toml";

pub(crate) fn isolated_leader_story() -> String {
    let args = ["run", "--seed", "1", "--scenario", ISOLATED];
    let run = json(&args);
    let lost = findings(&run, "lost-write");
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["values"][0], "during");
    assert_eq!(lost[0]["allowed"][0], "leader-only-acks");
    assert_eq!(verdict(&run), "ok");
    run_grep(
        &args,
        &["producer", "final read", "lost-write:", "verdict:"],
    )
}

/// The isolated-leader story with one line changed.
fn isolated_leader_with(old: &str, new: &str, name: &str) -> (String, Value, Vec<Value>) {
    let dir = scratch(name);
    let file = format!("{name}.toml");
    let mut text = sed(ISOLATED, old, new, &dir, &file);
    let path = at(&dir, &file);
    let args = ["run", "--seed", "1", "--scenario", path.as_str()];
    let run = json(&args);
    let (_, history) = report(&args, name);
    let out = kafkasim(&args);
    text += &grep(&args, &out.stdout, &["producer", "final read", "verdict:"]);
    (shown(&dir, &text), run, history)
}

pub(crate) fn isolated_leader_acks_all() -> String {
    let (text, run, history) =
        isolated_leader_with("acks = \"1\"", "acks = \"all\"", "isolated-acks-all");
    assert!(
        run["findings"].as_array().expect("findings").is_empty(),
        "nothing found"
    );
    let during = sends(&history, "send_failed", "during");
    assert_eq!(during.len(), 1);
    assert_eq!(during[0]["ambiguous"], true, "a timeout");
    text
}

pub(crate) fn crashed_leader() -> String {
    let (text, run, history) =
        isolated_leader_with("fault = \"isolate\"", "fault = \"crash\"", "crashed-leader");
    assert!(
        findings(&run, "lost-write").is_empty(),
        "nothing acknowledged is lost"
    );
    assert_eq!(
        sends(&history, "send_failed", "during").len(),
        1,
        "during is not acknowledged"
    );
    text
}

// Kafka's famous bugs, replayed.

pub(crate) fn switch_or_story() -> String {
    let on = [
        "run",
        "--seed",
        "1",
        "--scenario",
        "kip-101",
        "--bug",
        "kip-101",
    ];
    let story = ["run", "--seed", "1", "--scenario", KIP_101_OLD];
    let (a, b) = (json(&on), json(&story));
    assert_eq!(a["trace_hash"], b["trace_hash"], "the same run");
    assert_eq!(verdict(&a), "correctness");
    run_grep(&on, &["verdict:", "trace hash"]) + &run_grep(&story, &["verdict:", "trace hash"])
}

pub(crate) fn unrelated_switch() -> String {
    let off = ["run", "--seed", "1", "--scenario", "leader-crash-acks-all"];
    let on = [
        "run",
        "--seed",
        "1",
        "--scenario",
        "leader-crash-acks-all",
        "--bug",
        "kip-903",
    ];
    let (a, b) = (json(&off), json(&on));
    assert_eq!(
        a["trace_hash"], b["trace_hash"],
        "the switch's rule is never reached"
    );
    assert_eq!(b["bugs"][0], "kip-903");
    run_grep(&off, &["run:"]) + &run_grep(&on, &["bugs switched on", "run:"])
}

pub(crate) fn elr_switched_off() -> String {
    let args = [
        "run",
        "--seed",
        "1",
        "--scenario",
        "last-replica-isolated-elr",
        "--bug",
        "kip-966",
    ];
    let run = json(&args);
    assert_eq!(verdict(&run), "correctness");
    let lost = findings(&run, "lost-write");
    assert!(
        !lost.is_empty() && lost.iter().all(|f| !allowed(f)),
        "a failure, not allowed"
    );
    assert_eq!(
        found_values(&run, "lost-write"),
        BTreeSet::from(["w1".to_string()])
    );
    run_grep(&args, &["bugs switched on", "lost-write:", "verdict:"])
}
