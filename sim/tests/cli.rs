//! The `kafkasim` command line, as a user meets it: output, exit codes, errors.

mod common;
use common::{kafkasim, stderr, stdout};

#[test]
fn run_prints_the_timeline_and_the_same_output_twice() {
    let first = kafkasim(&["run", "--seed", "7"]);
    let second = kafkasim(&["run", "--seed", "7"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(stdout(&first), stdout(&second));
    let text = stdout(&first);
    for expected in [
        "kafkasim: scenario replicated, seed 7",
        "topic orders created: orders-0 on [1,2,3]",
        "at 10.000 s: crash broker-1, restart after 12.000 s",
        "orders-0: leader broker-2, leader epoch 1, ISR [2,3]",
        "verdict: ok",
        "trace hash ",
        "replay: cargo run --release -- run --seed 7 --scenario replicated",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn another_seed_gives_another_trace_hash() {
    let hash = |seed: &str| {
        let text = stdout(&kafkasim(&["run", "--seed", seed]));
        text.lines()
            .find(|l| l.starts_with("run: "))
            .expect("a run line")
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_ne!(hash("7"), hash("8"));
}

#[test]
fn without_a_seed_run_picks_one_and_prints_how_to_replay_it() {
    let output = kafkasim(&["run"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    let seed = text
        .lines()
        .next()
        .unwrap()
        .strip_prefix("no --seed given: picked seed ")
        .expect("says which seed");
    assert!(text.contains(&format!(
        "replay: cargo run --release -- run --seed {seed} --scenario replicated"
    )));
}

#[test]
fn bad_input_gives_one_line_and_exit_code_2() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["run", "--seed", "seven"],
            "--seed must be a whole number, digits only, got 'seven'",
        ),
        (
            &["run", "--seed", "+5"],
            "--seed must be a whole number, digits only, got '+5'",
        ),
        (
            &["run", "--scenario", "nope"],
            "unknown scenario 'nope'; built-in scenarios: replicated, quickstart",
        ),
        (&["run", "--verbose"], "unknown option '--verbose'"),
        (&["run", "--seed"], "--seed <N> needs a value"),
        (&["launch"], "no such command 'launch'"),
        (&["replay"], "replay needs --seed <N>"),
    ];
    for (args, message) in cases {
        let output = kafkasim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
}

/// Runs `kafkasim ARGS`, which must refuse them: exit code 2, one line on
/// stderr containing `message`, nothing on stdout.
fn refused<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], message: &str) {
    let output = kafkasim(args);
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(message), "{args:?}: {err}");
    assert!(stdout(&output).is_empty(), "{args:?}");
}

#[test]
fn a_flag_given_twice_is_refused_rather_than_the_last_one_winning() {
    refused(
        &["run", "--seed", "1", "--seed", "2"],
        "--seed <N> is given more than once",
    );
    refused(
        &["sweep", "--seeds", "1..3", "--json", "--json"],
        "--json is given more than once",
    );
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_is_refused_without_a_panic() {
    use std::os::unix::ffi::OsStrExt as _;
    let bad = std::ffi::OsStr::from_bytes(b"out\xff");
    refused(
        &[
            std::ffi::OsStr::new("run"),
            std::ffi::OsStr::new("--report"),
            bad,
        ],
        "is not valid UTF-8",
    );
    refused(&[std::ffi::OsStr::new("merge"), bad], "is not valid UTF-8");
}

#[test]
fn a_scenario_path_that_is_not_a_regular_file_is_refused_as_such() {
    refused(
        &["run", "--scenario", "scenarios"],
        "--scenario scenarios is a directory, not a regular file",
    );
    #[cfg(unix)]
    {
        refused(
            &["run", "--scenario", "/dev/null"],
            "--scenario /dev/null is a device, not a regular file",
        );
        // A FIFO nobody writes to: opening it to read would wait forever.
        let fifo = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-scenario.fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(
            made.expect("mkfifo runs").success(),
            "mkfifo {}",
            fifo.display()
        );
        let fifo_path = fifo.to_str().expect("a UTF-8 path");
        refused(
            &["sweep", "--seeds", "1..2", "--scenario", fifo_path],
            "is a FIFO (named pipe), not a regular file",
        );
        std::fs::remove_file(&fifo).expect("the FIFO is removed");
    }
}

#[test]
fn replay_prints_every_message_and_ends_with_the_run_s_hash() {
    let quickstart = ["--seed", "7", "--scenario", "quickstart"];
    let replay = stdout(&kafkasim(&[&["replay"], &quickstart[..]].concat()));
    let run = stdout(&kafkasim(&[&["run"], &quickstart[..]].concat()));
    let hash = run
        .lines()
        .find(|l| l.starts_with("run: "))
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    assert!(
        replay.trim_end().ends_with(&format!("trace hash {hash}")),
        "{}",
        replay.lines().last().unwrap()
    );
    assert!(
        replay.lines().any(
            |l| l.contains(" ← client-3   Produce request (correlation ")
                && l.contains("): acks=all, timeout 30000 ms, users-")
        ),
        "the replay shows the producer's requests as the brokers received them"
    );
}

#[test]
fn replay_with_debug_prints_every_field_and_the_same_hash() {
    let quickstart = ["--seed", "7", "--scenario", "quickstart"];
    let readable = stdout(&kafkasim(&[&["replay"], &quickstart[..]].concat()));
    let debug = stdout(&kafkasim(
        &[&["replay", "--debug"], &quickstart[..]].concat(),
    ));
    assert_eq!(
        readable.lines().count(),
        debug.lines().count(),
        "one line per message or event, either way"
    );
    assert_eq!(readable.lines().last(), debug.lines().last(), "the hash");
    assert!(
        debug
            .lines()
            .any(|l| l.contains("recv client-3 Request { correlation_id: ")
                && l.contains("request: Produce(ProduceRequest { acks: All")),
        "--debug shows the model's values, field by field"
    );
    for line in readable.lines() {
        assert!(!line.contains("Some(") && !line.contains('{'), "{line}");
    }
}

#[test]
fn help_texts_are_pinned() {
    insta::assert_snapshot!("help", stdout(&kafkasim(&["--help"])));
    insta::assert_snapshot!("run_help", stdout(&kafkasim(&["run", "--help"])));
    insta::assert_snapshot!("replay_help", stdout(&kafkasim(&["help", "replay"])));
    insta::assert_snapshot!("sweep_help", stdout(&kafkasim(&["sweep", "--help"])));
    insta::assert_snapshot!("shrink_help", stdout(&kafkasim(&["shrink", "--help"])));
    insta::assert_snapshot!("scenarios", stdout(&kafkasim(&["scenarios"])));
    insta::assert_snapshot!(
        "report_check_help",
        stdout(&kafkasim(&["report-check", "--help"]))
    );
}

/// `kafkasim ARGS` with stdout set to `stdout`; stderr is captured.
fn kafkasim_with_stdout(args: &[&str], stdout: std::process::Stdio) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

#[test]
fn a_reader_that_leaves_early_ends_the_output_quietly_with_the_run_s_exit_code() {
    use std::io::BufRead as _;
    // A replay prints megabytes, far more than a pipe holds: the reader leaves
    // while kafkasim is still writing.
    let mut child = kafkasim_with_stdout(&["replay", "--seed", "1"], std::process::Stdio::piped());
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("a first line");
    assert!(first.contains(" ← "), "{first}");
    drop(reader);
    let output = child.wait_with_output().expect("kafkasim ends");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no panic, no message");
}

#[cfg(target_os = "linux")]
#[test]
fn a_stdout_that_cannot_be_written_is_exit_code_2_with_one_line() {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens");
    let child = kafkasim_with_stdout(
        &["run", "--seed", "1", "--scenario", "quickstart", "--json"],
        full.into(),
    );
    let output = child.wait_with_output().expect("kafkasim ends");
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot write to stdout: "), "{err}");
}

#[test]
fn serve_stops_when_its_piped_stdin_closes_and_prints_what_it_judged() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(["serve", "--port", "0", "--brokers", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("a first line");
    assert!(first.starts_with("kafkasim serve: "), "{first}");
    drop(child.stdin.take());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).expect("the rest of stdout");
    let output = child.wait_with_output().expect("kafkasim ends");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(rest.contains("stopping (stdin closed)\n"), "{rest}");
    let last = rest.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "judged from the server side (invariants, replica divergence; no client history): ok"
    );
}

// ---- sweep ---------------------------------------------------------------------------

/// The lines of a text summary that start with `prefix`, without it.
fn lines_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .collect()
}

#[test]
fn a_sweep_of_quickstart_lists_every_seed_ok_and_keeps_progress_off_stdout() {
    let output = kafkasim(&[
        "sweep",
        "--seeds",
        "1..=4",
        "--jobs",
        "2",
        "--scenario",
        "quickstart",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "sweep: scenario quickstart, seeds 1..5\n",
        "seeds run: 4 (2 jobs), wall time ",
        " seeds/s\n",
        "verdicts: 4 ok, 0 correctness, 0 liveness, 0 crash\n",
        "allowed anomalies: none\n",
        "failing seeds: none\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Not a terminal: no progress redraws, one final line on stderr.
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("swept 4 seeds in "), "{err}");
}

#[test]
fn a_failing_sweep_exits_1_and_its_replay_commands_give_the_same_verdict() {
    let scenario = "kip-101-high-watermark-truncation";
    let output = kafkasim(&["sweep", "--seeds", "1..3", "--scenario", scenario]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("verdicts: 0 ok, 2 correctness, 0 liveness, 0 crash\n"),
        "{text}"
    );
    let reasons = lines_after(&text, "  seed ");
    let replays = lines_after(&text, "    replay: cargo run --release -- ");
    assert_eq!((reasons.len(), replays.len()), (2, 2), "{text}");
    for (seed, (reason, replay)) in (1..3).zip(reasons.iter().zip(&replays)) {
        let reason = reason
            .strip_prefix(&format!("{seed}: correctness: "))
            .expect("seed, verdict, reason");
        assert_eq!(*replay, format!("run --seed {seed} --scenario {scenario}"));
        let args: Vec<&str> = replay.split(' ').collect();
        let replayed = kafkasim(&args);
        assert_eq!(replayed.status.code(), Some(1), "{replay}");
        // The sweep names the run's first failing finding, which the run lists.
        let replayed = stdout(&replayed);
        let listed = format!("findings that fail the run:\n  {reason}\n");
        assert!(replayed.contains(&listed), "{replay}: {listed}");
        let kind = reason.split(':').next().expect("a kind");
        let verdict = format!("verdict: FAILED (correctness): {kind}");
        assert!(replayed.contains(&verdict), "{replay}: {verdict}");
    }
}

/// A sweep's JSON without its `timing`, the one part that may differ between runs.
fn sweep_json(args: &[&str]) -> serde_json::Value {
    let output = kafkasim(args);
    let mut json: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("stdout is one JSON object");
    let timing = json
        .as_object_mut()
        .unwrap()
        .remove("timing")
        .expect("timing");
    for field in ["jobs", "wall_time_s", "seeds_per_s"] {
        assert!(timing[field].is_number(), "timing.{field} in {timing}");
    }
    json
}

#[test]
fn a_sweep_s_json_does_not_depend_on_the_number_of_jobs() {
    let args = |jobs| {
        [
            "sweep",
            "--seeds",
            "1..5",
            "--scenario",
            "unclean-election",
            "--json",
            "--jobs",
            jobs,
        ]
    };
    let one = sweep_json(&args("1"));
    let two = sweep_json(&args("2"));
    assert_eq!(one, two);
    assert_eq!(one["seeds_run"], 4);
    assert_eq!(one["worst_verdict"], "ok");
    let seeds: Vec<u64> = (one["runs"].as_array().unwrap().iter())
        .map(|run| run["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds, [1, 2, 3, 4]);
    assert!(one["runs"][0]["trace_hash"].as_str().unwrap().len() == 16);
    assert_eq!(one["allowed_anomalies"]["lost-write"], 4, "{one}");
}

#[test]
fn the_shards_of_a_sweep_together_run_the_whole_range_once() {
    let runs = |json: &serde_json::Value| json["runs"].as_array().unwrap().clone();
    let whole = runs(&sweep_json(&["sweep", "--seeds", "0..5", "--json"]));
    let mut sharded: Vec<serde_json::Value> = ["1/2", "2/2"]
        .iter()
        .flat_map(|shard| {
            runs(&sweep_json(&[
                "sweep", "--seeds", "0..5", "--shard", shard, "--json",
            ]))
        })
        .collect();
    sharded.sort_by_key(|run| run["seed"].as_u64());
    assert_eq!(sharded, whole);
}

#[test]
fn bad_sweep_input_gives_one_line_and_exit_code_2() {
    let cases: [(&[&str], &str); 10] = [
        (&["sweep"], "sweep needs --seeds <A..B>"),
        (
            &["sweep", "--seeds", "1-5"],
            "--seeds must look like A..B or A..=B",
        ),
        (&["sweep", "--seeds", "10..3"], "--seeds 10..3 is empty"),
        (
            &["sweep", "--seeds", "1..4", "--scenario", "nope"],
            "unknown scenario 'nope'",
        ),
        (
            &["sweep", "--seeds", "1..4", "--jobs", "0"],
            "--jobs must be a whole number from 1 to 256",
        ),
        (
            &["sweep", "--seeds", "1..4", "--jobs", "257"],
            "--jobs must be a whole number from 1 to 256",
        ),
        (
            &["sweep", "--seeds", "1..4", "--shard", "0/3"],
            "--shard must look like I/N",
        ),
        (&["sweep", "--seeds", "1..4", "--shard", "4/3"], "got '4/3'"),
        (&["sweep", "--seeds", "1..4", "--shard", "x/y"], "got 'x/y'"),
        (
            &["sweep", "--seeds", "1..4", "--verbose"],
            "unknown option '--verbose'",
        ),
    ];
    for (args, message) in cases {
        let output = kafkasim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
}

#[test]
fn run_json_is_one_object_with_the_verdict_the_text_gives() {
    let out = kafkasim(&[
        "run",
        "--seed",
        "1",
        "--scenario",
        "kip-101-high-watermark-truncation",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let run: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(run["seed"], 1);
    assert_eq!(run["verdict"]["kind"], "correctness");
    assert_eq!(run["verdict"]["exit_code"], 1);
    let failing = run["verdict"]["failing_kinds"].as_array().unwrap();
    assert!(failing.contains(&"lost-write".into()), "{failing:?}");
    let findings = run["findings"].as_array().unwrap();
    let lost = (findings.iter())
        .find(|f| f["kind"] == "lost-write")
        .expect("the lost write is a finding");
    assert_eq!(lost["allowed"], serde_json::json!([]));
    assert!(lost["text"]
        .as_str()
        .unwrap()
        .starts_with("lost-write: m2 acked"));
    let plain = stdout(&kafkasim(&[
        "run",
        "--seed",
        "1",
        "--scenario",
        "kip-101-high-watermark-truncation",
    ]));
    let hash = run["trace_hash"].as_str().unwrap();
    assert!(
        plain.contains(&format!("trace hash {hash}")),
        "the same run as the text one"
    );
    let file = kafkasim(&[
        "run",
        "--scenario",
        "scenarios/minimal/zombie-consumer.toml",
        "--json",
    ]);
    let file: serde_json::Value = serde_json::from_str(&stdout(&file)).expect("JSON");
    assert_eq!(file["expect"]["kind"], "processed-again");
    assert_eq!(file["expect"]["reproduced"], true);
    assert_eq!(file["verdict"]["kind"], "ok");
    let findings = file["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        (findings.iter()).all(|f| f["allowed"] != serde_json::json!([])),
        "every finding allowed: {findings:?}"
    );
}

#[test]
fn an_unknown_lab_is_a_usage_error_that_lists_the_labs() {
    let output = kafkasim(&["lab", "check", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    for lab in [
        "partitioner",
        "high-watermark",
        "truncation",
        "range-assignor",
        "sequence-check",
    ] {
        assert!(err.contains(lab), "{err}");
    }
}

#[test]
fn every_lab_help_page_states_its_exit_codes() {
    for command in ["lab", "lab list", "lab check", "lab run"] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let output = kafkasim(&args);
        assert_eq!(output.status.code(), Some(0), "{command}");
        let page = stdout(&output);
        assert!(
            page.to_lowercase().contains("exit code"),
            "{command}:\n{page}"
        );
    }
}

#[test]
fn lab_run_replays_a_seed_with_the_labs_rules() {
    // As shipped, a lab's function is todo!(): a run that reaches it crashes
    // (exit code 4), and says which function is not implemented yet.
    let output = kafkasim(&["lab", "run", "range-assignor", "--seed", "1"]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("not yet implemented"), "{text}");
    assert!(
        text.contains("replay: cargo run --release -- lab run range-assignor --seed 1"),
        "{text}"
    );
}
