//! The `kafkasim` command line, as a user meets it: output, exit codes, errors.

use std::process::{Command, Output};

fn kafkasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_prints_the_timeline_and_the_same_output_twice() {
    let first = kafkasim(&["run", "--seed", "7"]);
    let second = kafkasim(&["run", "--seed", "7"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(stdout(&first), stdout(&second));
    let text = stdout(&first);
    for expected in [
        "kafkasim: scenario quickstart, seed 7",
        "topic users created: users-0 on [1], users-1 on [2]",
        "send Alice    -> users-0 at offset 0",
        "Received message Zoe on partition 1",
        "verdict: ok",
        "trace hash ",
        "replay: cargo run --release -- run --seed 7 --scenario quickstart",
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
        "replay: cargo run --release -- run --seed {seed} --scenario quickstart"
    )));
}

#[test]
fn bad_input_gives_one_line_and_exit_code_2() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["run", "--seed", "seven"],
            "--seed must be a non-negative whole number, got 'seven'",
        ),
        (
            &["run", "--scenario", "nope"],
            "unknown scenario 'nope'; built-in scenarios: quickstart",
        ),
        (&["run", "--verbose"], "unknown option '--verbose'"),
        (&["run", "--seed"], "--seed needs a value"),
        (&["launch"], "no such command 'launch'"),
        (&["replay"], "replay needs --seed N"),
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
fn replay_prints_every_message_and_ends_with_the_run_s_hash() {
    let replay = stdout(&kafkasim(&["replay", "--seed", "7"]));
    let run = stdout(&kafkasim(&["run", "--seed", "7"]));
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
        replay
            .lines()
            .any(|l| l.contains("recv client-3 Request { correlation_id: ")
                && l.contains("request: Produce(ProduceRequest { acks: All")),
        "the replay shows the producer's requests as the brokers received them"
    );
}

#[test]
fn help_texts_are_pinned() {
    insta::assert_snapshot!("help", stdout(&kafkasim(&["--help"])));
    insta::assert_snapshot!("run_help", stdout(&kafkasim(&["run", "--help"])));
    insta::assert_snapshot!("replay_help", stdout(&kafkasim(&["help", "replay"])));
    insta::assert_snapshot!("scenarios", stdout(&kafkasim(&["scenarios"])));
}
