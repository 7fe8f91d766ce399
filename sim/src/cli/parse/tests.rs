//! What the command line parses to, and the one-line errors it refuses with.

use super::*;
use crate::sweep::{SeedRange, Shard};
use kafkasim_check::Kind;

fn builtin(name: &str) -> crate::scenario::Scenario {
    crate::scenario::builtin(name).expect("a built-in scenario")
}

fn parse_words(words: &str) -> Result<Command, UsageError> {
    parse(words.split_whitespace())
}

fn help_page(words: &str) -> String {
    match parse_words(words) {
        Ok(Command::Help(page)) => page,
        other => panic!("{words}: not a help page: {other:?}"),
    }
}

#[test]
fn run_takes_a_seed_and_a_scenario() {
    assert_eq!(
        parse_words("run --seed 7 --scenario quickstart"),
        Ok(Command::Run {
            seed: Some(7),
            scenario: builtin("quickstart"),
            report: None,
            safety_phase_ms: None,
            json: false,
        })
    );
    assert_eq!(
        parse_words("run --seed=7"),
        Ok(Command::Run {
            seed: Some(7),
            scenario: builtin("replicated"),
            report: None,
            safety_phase_ms: None,
            json: false,
        })
    );
}

#[test]
fn run_takes_a_report_directory_and_a_longer_safety_phase() {
    assert_eq!(
        parse_words(
            "run --seed 3 --scenario standard --report out --force --safety-phase-s 240 --json"
        ),
        Ok(Command::Run {
            seed: Some(3),
            scenario: builtin("standard"),
            report: Some(ReportTarget {
                dir: PathBuf::from("out"),
                force: true
            }),
            safety_phase_ms: Some(240_000),
            json: true,
        })
    );
    assert_eq!(
        parse_words("report-check out"),
        Ok(Command::ReportCheck {
            dir: PathBuf::from("out")
        })
    );
}

#[test]
fn sweep_takes_a_range_a_scenario_jobs_a_shard_and_json() {
    assert_eq!(
        parse_words("sweep --seeds 1..=9 --scenario kip-101 --jobs 3 --shard 2/4 --json"),
        Ok(Command::Sweep {
            scenario: builtin("kip-101"),
            selection: Selection {
                range: SeedRange { start: 1, end: 10 },
                shard: Some(Shard { index: 2, count: 4 }),
            },
            jobs: Some(3),
            json: true,
            report: None,
        })
    );
    assert_eq!(
        parse_words("sweep --seeds=0..5"),
        Ok(Command::Sweep {
            scenario: builtin("replicated"),
            selection: Selection {
                range: SeedRange { start: 0, end: 5 },
                shard: None,
            },
            jobs: None,
            json: false,
            report: None,
        })
    );
}

#[test]
fn shrink_takes_a_seed_and_defaults_to_the_standard_scenario() {
    assert_eq!(
        parse_words("shrink --seed 4"),
        Ok(Command::Shrink(ShrinkArgs {
            seed: 4,
            scenario: builtin("standard"),
            kind: None,
            max_runs: crate::shrink::MAX_RUNS_DEFAULT,
            out: None,
            force: false,
        }))
    );
    assert_eq!(
        parse_words("shrink --seed 4 --kind lost-write --max-runs 9 --out min.toml"),
        Ok(Command::Shrink(ShrinkArgs {
            seed: 4,
            scenario: builtin("standard"),
            kind: Some(Kind::LostWrite),
            max_runs: 9,
            out: Some("min.toml".into()),
            force: false,
        }))
    );
    assert_eq!(
        parse_words("shrink --seed 4 --force"),
        Err(UsageError("--force goes with --out FILE".into()))
    );
}

#[test]
fn seed_ranges_are_capped_before_any_seed_runs() {
    let err = parse_words("sweep --seeds 1..1000000000000").unwrap_err();
    assert!(
        err.0
            .contains("selects 999999999999 seeds; a sweep runs at most 1000000"),
        "{}",
        err.0
    );
    // Sharded, the same range is split: each shard's share counts.
    assert!(parse_words("sweep --seeds 1..=2000000 --shard 1/2").is_ok());
    assert!(parse_words("sweep --seeds 1..=2000001 --shard 1/2").is_err());
    let err = parse_words("bench --seeds 0..18446744073709551615").unwrap_err();
    assert!(err.0.contains("the bench runs at most 10000"), "{}", err.0);
    assert!(parse_words("bench --seeds 1..=10000").is_ok());
}

#[test]
fn merge_takes_files_and_json_and_bench_takes_seeds_and_json() {
    assert_eq!(
        parse_words("merge a.json --json shards/b.json"),
        Ok(Command::Merge {
            files: vec!["a.json".into(), "shards/b.json".into()],
            json: true,
            allow_gaps: false,
        })
    );
    assert_eq!(
        parse_words("bench"),
        Ok(Command::Bench {
            seeds: crate::bench::DEFAULT_SEEDS,
            json: false,
        })
    );
    assert_eq!(
        parse_words("bench --seeds=3..=4 --json"),
        Ok(Command::Bench {
            seeds: SeedRange { start: 3, end: 5 },
            json: true,
        })
    );
    assert_eq!(parse_words("scenarios"), Ok(Command::Scenarios));
}

#[test]
fn every_way_of_asking_for_help_gives_the_command_s_page() {
    assert_eq!(help_page(""), help_page("--help"));
    assert_eq!(help_page("-h"), help_page("help"));
    assert_eq!(help_page("help merge"), help_page("merge --help"));
    assert_eq!(help_page("bench -h"), help_page("help bench"));
    assert!(help_page("help merge").starts_with("Merge the JSON summaries"));
}

#[test]
fn the_help_names_the_bounds_the_parser_enforces() {
    let run = help_page("run --help");
    assert!(run.contains(&format!("1 to {}", crate::cli::SAFETY_PHASE_S_MAX)));
    let sweep = help_page("sweep --help");
    assert!(sweep.contains(&format!("1 to {}", crate::cli::JOBS_MAX)));
}

#[test]
fn serve_refuses_a_broker_count_outside_1_to_9_naming_the_flag() {
    for bad in ["0", "10", "+3", "x"] {
        let words = format!("serve --brokers {bad}");
        let err = parse_words(&words).expect_err(&words);
        assert_eq!(
            err.0,
            format!("--brokers must be a whole number from 1 to 9, got '{bad}'")
        );
    }
}

#[test]
fn numbers_are_plain_digits_within_their_bounds() {
    let jobs_max = crate::cli::JOBS_MAX;
    match parse_words(&format!("sweep --seeds 1..2 --jobs {jobs_max}")) {
        Ok(Command::Sweep { jobs, .. }) => assert_eq!(jobs, Some(jobs_max)),
        other => panic!("{other:?}"),
    }
    for bad in [
        "run --seed +5",
        "run --seed 18446744073709551616",
        "run --seed 0x10",
        "run --seed 1_000",
        "run --seed=",
        "run --seed=+5",
        "sweep --seeds 1..2 --jobs +2",
        &format!("sweep --seeds 1..2 --jobs {}", jobs_max + 1),
        "shrink --seed 1 --max-runs +3",
        "run --scenario standard --safety-phase-s +60",
    ] {
        let err = parse_words(bad).expect_err(bad);
        assert!(err.0.contains("digits only"), "{bad}: {}", err.0);
    }
}

#[test]
fn a_flag_given_twice_is_a_usage_error_not_the_last_one_winning() {
    for twice in [
        "run --seed 1 --seed 2",
        "run --json --json",
        "sweep --seeds 1..3 --seeds 4..6",
        "shrink --seed 1 --kind lost-write --kind duplicate",
        "bench --seeds 1..2 --seeds=1..3",
    ] {
        let err = parse_words(twice).expect_err(twice);
        assert!(err.0.contains("more than once"), "{twice}: {}", err.0);
    }
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_is_a_usage_error() {
    use std::os::unix::ffi::OsStringExt as _;
    let bad = OsString::from_vec(vec![b'o', 0xff, b'k']);
    for args in [
        vec![
            OsString::from("run"),
            OsString::from("--report"),
            bad.clone(),
        ],
        vec![OsString::from("merge"), bad.clone()],
        vec![bad],
    ] {
        let err = parse(args).expect_err("not UTF-8");
        assert_eq!(err.0, "argument 'o\u{fffd}k' is not valid UTF-8");
    }
}

#[test]
fn bad_input_is_a_one_line_usage_error() {
    for bad in [
        "run --seed x",
        "run --seed -1",
        "run --scenario nope",
        "run --bogus",
        "frobnicate",
        "help frobnicate",
        "--bogus",
        "run --seed",
        "replay",
        "sweep",
        "sweep --seeds 1-5",
        "sweep --seeds 10..3",
        "sweep --seeds 3..3",
        "sweep --seeds 1..4 --scenario nope",
        "sweep --seeds 1..4 --jobs 0",
        "sweep --seeds 1..4 --jobs x",
        "sweep --seeds 1..4 --shard 0/3",
        "sweep --seeds 1..4 --shard 4/3",
        "sweep --seeds 1..4 --shard x/y",
        "sweep --seeds 1..4 --json=yes",
        "merge",
        "merge --json",
        "merge a.json --bogus",
        "merge a.json --json=yes",
        "bench --seeds 10..3",
        "bench --seeds",
        "bench --jobs 2",
        "bench --json=yes",
        "run --force",
        "run --report",
        "run --report=",
        "run --report out --force=yes",
        "run --scenario quickstart --safety-phase-s 60",
        "run --json=yes",
        "run --json=",
        "replay --seed 1 --json",
        "run --scenario standard --safety-phase-s 0",
        "run --scenario standard --safety-phase-s 3601",
        "run --scenario standard --safety-phase-s x",
        "replay --seed 1 --report out",
        "sweep --seeds 1..4 --force",
        "shrink --seed 1 --max-runs 0",
        "scenarios extra",
        "report-check",
        "report-check a b",
        "--version",
    ] {
        let err = parse_words(bad).expect_err(bad);
        assert!(!err.0.contains('\n'), "{bad}: {}", err.0);
        assert!(!err.0.is_empty(), "{bad}");
    }
}

#[test]
fn every_help_page_states_its_exit_codes() {
    let commands = (Cli::command().get_subcommands())
        .map(|c| c.get_name().to_string())
        .collect::<Vec<_>>();
    assert_eq!(commands.len(), 13, "{commands:?}");
    for command in std::iter::once(String::new()).chain(commands) {
        let page = help_page(&format!("help {command}"));
        assert!(
            page.to_lowercase().contains("exit code"),
            "kafkasim help {command}:\n{page}"
        );
    }
}
