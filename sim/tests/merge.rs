//! `kafkasim merge`, as a user meets it: the shards of a sweep, merged, give the
//! sweep of the whole range; files that cannot be merged are refused by name.

mod common;
use common::{kafkasim, stderr, stdout};

use std::path::{Path, PathBuf};

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("merge-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Runs `kafkasim sweep ARGS --json` (of `quickstart` unless ARGS name a
/// scenario), writes its stdout to `dir/name`, returns the path.
fn sweep_to(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let mut all = vec!["sweep"];
    all.extend(args);
    if !args.contains(&"--scenario") {
        all.extend(["--scenario", "quickstart"]);
    }
    all.push("--json");
    let output = kafkasim(&all);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{all:?}: {}",
        stderr(&output)
    );
    let path = dir.join(name);
    std::fs::write(&path, &output.stdout).expect("the summary is written");
    path
}

/// A summary's JSON without its `timing`.
fn untimed(text: &str) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_str(text).expect("one JSON object");
    json.as_object_mut()
        .unwrap()
        .remove("timing")
        .expect("timing");
    json
}

#[test]
fn the_merge_of_four_shards_is_the_sweep_of_the_whole_range_but_for_timing() {
    let dir = scratch("four-shards");
    let shards: Vec<PathBuf> = (1..=4)
        .map(|i| {
            let shard = format!("{i}/4");
            sweep_to(
                &dir,
                &format!("shard-{i}.json"),
                &["--seeds", "1..=8", "--shard", &shard],
            )
        })
        .collect();
    let whole = kafkasim(&[
        "sweep",
        "--seeds",
        "1..=8",
        "--scenario",
        "quickstart",
        "--json",
    ]);
    let mut args = vec![Path::new("merge").to_path_buf()];
    args.extend(shards.iter().cloned());
    args.push("--json".into());
    let merged = kafkasim(&args);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    assert!(stderr(&merged).is_empty(), "{}", stderr(&merged));
    assert_eq!(untimed(&stdout(&merged)), untimed(&stdout(&whole)));
    let timing: serde_json::Value = serde_json::from_str(&stdout(&merged)).unwrap();
    for field in ["jobs", "wall_time_s", "seeds_per_s"] {
        assert!(timing["timing"][field].is_number(), "timing.{field}");
    }

    // The text: the sweep's, but for its first two lines.
    let text = stdout(&kafkasim(&args[..5]));
    assert!(
        text.starts_with("merge: scenario quickstart, seeds 1..9, 4 files\nseeds run: 8 ("),
        "{text}"
    );
    let tail = |t: &str| t.lines().skip(2).map(String::from).collect::<Vec<_>>();
    let whole_text = stdout(&kafkasim(&[
        "sweep",
        "--seeds",
        "1..=8",
        "--scenario",
        "quickstart",
    ]));
    assert_eq!(tail(&text), tail(&whole_text));

    // A merge merges again.
    let half = |name: &str, files: &[PathBuf]| {
        let mut args = vec![PathBuf::from("merge"), PathBuf::from("--json")];
        args.extend(files.iter().cloned());
        let output = kafkasim(&args);
        let path = dir.join(name);
        std::fs::write(&path, &output.stdout).unwrap();
        path
    };
    let halves = [half("a.json", &shards[..2]), half("b.json", &shards[2..])];
    let again = kafkasim(&[
        Path::new("merge"),
        &halves[0],
        &halves[1],
        Path::new("--json"),
    ]);
    assert_eq!(untimed(&stdout(&again)), untimed(&stdout(&whole)));
}

#[test]
fn a_merge_exits_with_the_worst_verdict_and_warns_of_missing_seeds() {
    let dir = scratch("verdicts");
    let scenario = "kip-101-high-watermark-truncation";
    let first = sweep_to(
        &dir,
        "first.json",
        &["--seeds", "1..7", "--shard", "1/3", "--scenario", scenario],
    );
    let third = sweep_to(
        &dir,
        "third.json",
        &["--seeds", "1..7", "--shard", "3/3", "--scenario", scenario],
    );
    let output = kafkasim(&[Path::new("merge"), &first, &third]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "warning: the files do not cover seeds 1..7: 2 missing: 2, 5\n"
    );
    let text = stdout(&output);
    assert!(
        text.contains("verdicts: 0 ok, 4 correctness, 0 liveness, 0 crash\n"),
        "{text}"
    );
    assert!(
        text.contains("    replay: cargo run --release -- run --seed 3 --scenario kip-101-high-watermark-truncation\n"),
        "{text}"
    );
    let clean = sweep_to(&dir, "clean.json", &["--seeds", "1..3"]);
    assert_eq!(
        kafkasim(&[Path::new("merge"), &clean]).status.code(),
        Some(0)
    );
}

#[test]
fn files_that_share_seeds_are_refused_with_both_names_and_exit_code_2() {
    let dir = scratch("overlap");
    let low = sweep_to(&dir, "low.json", &["--seeds", "1..6"]);
    let high = sweep_to(&dir, "high.json", &["--seeds", "4..9"]);
    let output = kafkasim(&[Path::new("merge"), &low, &high]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: {} and {} both ran 2 seeds: 4, 5;",
            low.display(),
            high.display()
        )),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_summary_is_refused_with_its_name_and_exit_code_2() {
    let dir = scratch("garbage");
    let good = sweep_to(&dir, "good.json", &["--seeds", "1..3"]);
    let garbage = dir.join("garbage.json");
    std::fs::write(
        &garbage,
        "{\"scenario\": \"quickstart\",\n  \"seeds\": oops}\n",
    )
    .unwrap();
    let output = kafkasim(&[Path::new("merge"), &good, &garbage]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    assert_eq!(
        err,
        format!(
            "error: {} is not a sweep summary (the JSON of `kafkasim sweep --json`): expected value at line 2 column 12\n",
            garbage.display()
        )
    );
    let missing = dir.join("missing.json");
    let output = kafkasim(&[Path::new("merge"), &missing]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with(&format!("error: cannot read {}: ", missing.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_merge_input_gives_one_line_and_exit_code_2() {
    let cases: [(&[&str], &str); 3] = [
        (&["merge"], "merge needs <FILE>..."),
        (&["merge", "a.json", "--all"], "unknown option '--all'"),
        (&["merge", "--json=yes", "a.json"], "--json takes no value"),
    ];
    for (args, message) in cases {
        let output = kafkasim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn the_merge_help_is_pinned() {
    insta::assert_snapshot!("merge_help", stdout(&kafkasim(&["merge", "--help"])));
}
