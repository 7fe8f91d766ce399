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

    // A merge merges again: each half alone lacks the other half's seeds.
    let half = |name: &str, files: &[PathBuf]| {
        let mut args = ["merge", "--json", "--allow-gaps"]
            .map(PathBuf::from)
            .to_vec();
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
fn missing_seeds_refuse_the_merge_unless_gaps_are_allowed_then_it_warns() {
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
    let refused = kafkasim(&[Path::new("merge"), &first, &third]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stdout(&refused).is_empty());
    assert_eq!(
        stderr(&refused),
        "error: the files do not cover seeds 1..7: 2 missing: 2, 5; pass --allow-gaps to merge them anyway\n"
    );

    let output = kafkasim(&[
        Path::new("merge"),
        &first,
        &third,
        Path::new("--allow-gaps"),
    ]);
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
fn one_scenario_file_under_two_paths_merges_and_two_files_of_one_name_do_not() {
    let dir = scratch("scenario-identity");
    let text = std::fs::read_to_string("scenarios/stories/kip-101.toml").expect("a story file");
    std::fs::write(dir.join("s.toml"), &text).unwrap();
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let changed = text.replacen(
        "brokers = 3",
        "brokers = 3\ntruncation = \"high-watermark\"",
        1,
    );
    assert_ne!(changed, text, "the story has three brokers");
    std::fs::write(other.join("s.toml"), changed).unwrap();

    let path = |p: &Path| p.to_str().unwrap().to_string();
    let plain = path(&dir.join("s.toml"));
    let dotted = path(&dir.join(".").join("s.toml"));
    let low = sweep_to(&dir, "low.json", &["--seeds", "1..3", "--scenario", &plain]);
    let high = sweep_to(
        &dir,
        "high.json",
        &["--seeds", "3..5", "--scenario", &dotted],
    );
    let merged = kafkasim(&[Path::new("merge"), &low, &high, Path::new("--json")]);
    assert!(
        matches!(merged.status.code(), Some(0 | 1)),
        "{}",
        stderr(&merged)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&merged)).unwrap();
    assert_eq!(json["scenario"], plain.as_str(), "the first file's name");
    assert_eq!(json["seeds_run"], 4);

    let elsewhere = path(&other.join("s.toml"));
    let renamed = sweep_to(
        &dir,
        "other.json",
        &["--seeds", "5..7", "--scenario", &elsewhere],
    );
    let refused = kafkasim(&[Path::new("merge"), &low, &renamed]);
    assert_eq!(refused.status.code(), Some(2));
    let err = stderr(&refused);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the files are of different scenarios: "),
        "{err}"
    );
}

/// Runs `kafkasim merge PATHS`, which must refuse with exit code 2 and one
/// line on stderr that contains `expected`.
fn refused(paths: &[&Path], expected: &str) {
    let mut args = vec![Path::new("merge")];
    args.extend(paths);
    let output = kafkasim(&args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(stdout(&output).is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_fifo_a_device_or_a_directory_is_refused_before_it_is_read() {
    let dir = scratch("not-files");
    let fifo = dir.join("fifo.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    refused(
        &[&fifo],
        &format!(
            "cannot read {}: it is a FIFO, not a regular file",
            fifo.display()
        ),
    );
    let zero = dir.join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    refused(
        &[&zero],
        &format!(
            "cannot read {}: it is a device, not a regular file",
            zero.display()
        ),
    );
    refused(&[&dir], "it is a directory, not a regular file");
    // A link to a regular file is followed.
    let good = sweep_to(&dir, "good.json", &["--seeds", "1..3"]);
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    let output = kafkasim(&[Path::new("merge"), &link]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn edited_summaries_are_refused_naming_the_file_and_the_field() {
    let dir = scratch("edited");
    let good = sweep_to(&dir, "good.json", &["--seeds", "1..4"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 7] = [
        (
            "negative-wall.json",
            |j| j["timing"]["wall_time_s"] = (-3.5).into(),
            "timing.wall_time_s is -3.5",
        ),
        (
            "reversed.json",
            |j| j["seeds"] = serde_json::json!({"start": 4, "end": 1}),
            "seeds: 4..1 is empty",
        ),
        (
            "shard-5-of-2.json",
            |j| j["shard"] = serde_json::json!({"index": 5, "count": 2}),
            "shard: 5/2 is not a shard",
        ),
        (
            "hash.json",
            |j| j["runs"][0]["trace_hash"] = "xyz".into(),
            "runs[0]: trace_hash is \"xyz\", not 16 lowercase hex digits",
        ),
        (
            "unknown.json",
            |j| j["extra"] = true.into(),
            "unknown field `extra`",
        ),
        (
            "verdict.json",
            |j| j["runs"][0]["verdict"] = "maybe".into(),
            "unknown variant `maybe`",
        ),
        (
            "failing-ok.json",
            |j| j["first_failing"] = serde_json::json!([{"seed": 1, "verdict": "ok", "kinds": [], "reason": "", "replay": ""}]),
            "first_failing[0]: seed 1 is one too many",
        ),
    ];
    for (name, edit, expected) in cases {
        let mut bad = json.clone();
        edit(&mut bad);
        let path = dir.join(name);
        std::fs::write(&path, bad.to_string()).unwrap();
        refused(&[&path], &format!("{}", path.display()));
        refused(&[&path], expected);
    }
}

#[test]
fn overlapping_shards_and_wrapping_sums_are_refused() {
    let dir = scratch("overlapping-shards");
    let half = sweep_to(&dir, "half.json", &["--seeds", "1..7", "--shard", "1/2"]);
    let third = sweep_to(&dir, "third.json", &["--seeds", "1..7", "--shard", "1/3"]);
    refused(
        &[&half, &third],
        "both ran 1 seed: 1; a seed may come from one file only",
    );

    let low = sweep_to(&dir, "low.json", &["--seeds", "1..3"]);
    let high = sweep_to(&dir, "high.json", &["--seeds", "3..5"]);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&low).unwrap()).unwrap();
    json["timing"]["jobs"] = u64::MAX.into();
    std::fs::write(&low, json.to_string()).unwrap();
    refused(
        &[&low, &high],
        &format!(
            "{}: timing.jobs: the sum over the files is too large to hold",
            high.display()
        ),
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
