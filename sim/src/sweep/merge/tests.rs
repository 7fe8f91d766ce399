//! Merging summaries: the merge of a range's shards is the summary of the whole
//! range, and files that cannot be merged are refused by name.

use super::*;
use crate::sweep::{render_json as sweep_json, render_text as sweep_text};
use crate::sweep::{SeedResult, Selection, Shard, SweepSummary};
use kafkasim_check::Kind;
use std::time::Duration;

/// Seeds ≡ 0 (mod 3) crash, ≡ 1 fail a check, ≡ 2 pass, some with anomalies.
fn result(seed: u64) -> SeedResult {
    let (verdict, failing, reason) = match seed % 3 {
        0 => (
            VerdictKind::Crash,
            vec![Kind::Crash],
            format!("crash: planted crash for seed {seed}"),
        ),
        1 => (
            VerdictKind::Correctness,
            vec![Kind::LostWrite],
            format!("lost-write: m{seed}"),
        ),
        _ => (VerdictKind::Ok, Vec::new(), String::new()),
    };
    let anomalies: &[Kind] = match seed % 4 {
        0 => &[Kind::Duplicate],
        1 => &[Kind::Duplicate, Kind::ProcessedAgain],
        _ => &[],
    };
    SeedResult {
        seed,
        verdict,
        failing,
        reason,
        trace_hash: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        anomaly_kinds: anomalies.iter().copied().collect(),
        goals: match seed % 5 {
            0 => ["leader changed", "ISR changed"].into(),
            1 => ["leader changed"].into(),
            _ => Default::default(),
        },
        replay: format!("cargo run --release -- run --seed {seed} --scenario planted"),
    }
}

/// The summary of a sweep of `range` (or of one shard of it), as it would print.
fn swept(start: u64, end: u64, shard: Option<(u64, u64)>, wall_ms: u64) -> SweepSummary {
    let selection = Selection {
        range: SeedRange { start, end },
        shard: shard.map(|(index, count)| Shard { index, count }),
    };
    SweepSummary {
        scenario: "planted".into(),
        scenario_hash: 0x0123_4567_89ab_cdef,
        selection,
        jobs: 2,
        results: selection.seeds().map(result).collect(),
        wall: Duration::from_millis(wall_ms),
    }
}

fn input(name: &str, summary: &SweepSummary) -> Input {
    Input {
        name: name.into(),
        text: sweep_json(summary),
    }
}

fn shards(start: u64, end: u64, count: u64) -> Vec<Input> {
    (1..=count)
        .map(|index| {
            let summary = swept(start, end, Some((index, count)), 100 * index);
            input(&format!("shard-{index}.json"), &summary)
        })
        .collect()
}

/// A summary's JSON without `timing`.
fn untimed(text: &str) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    json.as_object_mut()
        .unwrap()
        .remove("timing")
        .expect("timing");
    json
}

#[test]
fn a_summary_reads_back_and_prints_byte_for_byte_as_the_sweep_printed_it() {
    let text = sweep_json(&swept(1, 40, Some((2, 3)), 1234));
    let file: SummaryFile = serde_json::from_str(&text).expect("a summary");
    let mut again = serde_json::to_string(&file).unwrap();
    again.push('\n');
    assert_eq!(again, text);
}

#[test]
fn the_merge_of_a_range_s_shards_is_the_summary_of_the_whole_range_but_for_timing() {
    let whole = swept(1, 40, None, 500);
    for count in [1, 2, 3, 4, 7] {
        let merged = merge(&shards(1, 40, count)).expect("shards merge");
        assert_eq!(
            untimed(&render_json(&merged)),
            untimed(&sweep_json(&whole)),
            "{count} shards"
        );
        assert!(merged.missing.is_empty(), "{count} shards");
        assert_eq!(merged.warning(), None);
        assert_eq!(merged.worst(), VerdictKind::Crash);
    }
    let merged = merge(&shards(1, 40, 3)).unwrap();
    assert_eq!(merged.summary.first_failing.len(), FAILING_SHOWN_MAX);
    assert_eq!(
        merged.summary.goals["leader changed"], 15,
        "seeds ≡ 0, 1 (mod 5)"
    );
}

#[test]
fn the_merged_text_is_the_sweep_s_text_after_its_first_two_lines() {
    let merged = merge(&shards(1, 40, 4)).unwrap();
    let text = render_text(&merged);
    let whole = sweep_text(&swept(1, 40, None, 500));
    let tail = |text: &str| text.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(tail(&text), tail(&whole));
    assert!(
        text.starts_with("merge: scenario planted, seeds 1..40, 4 files\n"),
        "{text}"
    );
    // Walls of 100, 200, 300 and 400 ms; 2 jobs each.
    assert!(
        text.contains(
            "seeds run: 39 (8 jobs in all), wall time 1.000 s summed over the files, 39.0 seeds/s\n"
        ),
        "{text}"
    );
}

#[test]
fn timing_is_summed_over_the_files() {
    let merged = merge(&shards(1, 40, 4)).unwrap();
    let timing = &merged.summary.timing;
    assert_eq!(timing.jobs, 8);
    assert!((timing.wall_time_s - 1.0).abs() < 1e-9, "{timing:?}");
    assert!((timing.seeds_per_s - 39.0).abs() < 1e-6, "{timing:?}");
}

#[test]
fn merges_merge_again() {
    let inputs = shards(1, 40, 4);
    let half = |name: &str, files: &[Input]| Input {
        name: name.into(),
        text: render_json(&merge(files).unwrap()),
    };
    let halves = [half("a.json", &inputs[..2]), half("b.json", &inputs[2..])];
    assert!(
        merge(&inputs[..2]).unwrap().warning().is_some(),
        "half a range"
    );
    let twice = merge(&halves).unwrap();
    let once = merge(&inputs).unwrap();
    assert_eq!(twice.summary.runs, once.summary.runs);
    assert_eq!(untimed(&render_json(&twice)), untimed(&render_json(&once)));
    assert_eq!(twice.summary.timing.jobs, 8);
}

#[test]
fn adjacent_ranges_merge_into_one() {
    let inputs = [
        input("low.json", &swept(1, 20, None, 100)),
        input("high.json", &swept(20, 40, None, 100)),
    ];
    let merged = merge(&inputs).unwrap();
    assert_eq!(
        untimed(&render_json(&merged)),
        untimed(&sweep_json(&swept(1, 40, None, 500)))
    );
}

#[test]
fn seeds_no_file_ran_are_told_and_the_merge_goes_on() {
    let mut inputs = shards(1, 13, 4);
    inputs.remove(3);
    let merged = merge(&inputs).expect("a partial merge still merges");
    assert_eq!(merged.missing_seeds(), 3);
    assert_eq!(
        merged.warning().unwrap(),
        "the files do not cover seeds 1..13: 3 missing: 4, 8, 12"
    );
    let gap = [
        input("low.json", &swept(1, 5, None, 100)),
        input("high.json", &swept(10, 15, None, 100)),
    ];
    let merged = merge(&gap).unwrap();
    assert_eq!(
        merged.warning().unwrap(),
        "the files do not cover seeds 1..15: 5 missing: 5..=9"
    );
    assert_eq!(merged.summary.seeds_run, 9);
}

#[test]
fn a_long_list_of_missing_seeds_is_cut() {
    let merged = merge(&shards(0, 100, 2)[..1]).unwrap();
    let warning = merged.warning().unwrap();
    assert!(
        warning.ends_with(": 50 missing: 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, and 40 more"),
        "{warning}"
    );
}

#[test]
fn files_that_share_a_seed_are_refused_with_both_names_and_the_seeds() {
    let inputs = [
        input("a.json", &swept(1, 10, None, 100)),
        input("b.json", &swept(7, 12, None, 100)),
    ];
    let error = merge(&inputs).unwrap_err();
    assert_eq!(
        error,
        "a.json and b.json both ran 3 seeds: 7, 8, 9; a seed may come from one file only"
    );
    let twice = [
        input("x.json", &swept(1, 3, None, 1)),
        input("x.json", &swept(1, 3, None, 1)),
    ];
    assert!(merge(&twice)
        .unwrap_err()
        .starts_with("x.json and x.json both ran 2 seeds: 1, 2;"));
}

#[test]
fn a_file_that_is_not_a_summary_is_refused_with_its_name_and_where_it_went_wrong() {
    let good = input("good.json", &swept(1, 3, None, 1));
    for (text, expected) in [
        ("garbage", "expected value at line 1 column 1"),
        ("", "EOF while parsing a value at line 1 column 0"),
        (
            "{\"scenario\": \"planted\"}",
            "missing field `scenario_hash` at line 1 column 23",
        ),
        ("{\n  \"scenario\": 7\n}", "line 2 column 15"),
    ] {
        refused(&good, text, expected);
    }
    let fine =
        sweep_json(&swept(1, 3, None, 1)).replace("\"verdict\":\"ok\"", "\"verdict\":\"fine\"");
    refused(
        &good,
        &fine,
        "unknown variant `fine`, expected one of `ok`, `correctness`, `liveness`, `crash` at line 1 column 632",
    );
    let unknown = sweep_json(&swept(1, 3, None, 1)).replacen("{", "{\"color\":1,", 1);
    refused(&good, &unknown, "unknown field `color`, expected one of `scenario`, `scenario_hash`, `seeds`, `shard`, `seeds_run`, `verdicts`, `worst_verdict`, `allowed_anomalies`, `goals`, `first_failing`, `runs`, `timing` at line 1 column 8");
    for (path, field) in [
        (&["runs", "0"][..], "trace"),
        (&["first_failing", "0"][..], "why"),
        (&["timing"][..], "cpu_s"),
        (&["seeds"][..], "step"),
        (&["verdicts"][..], "flaky"),
    ] {
        let text = edited(&swept(1, 3, Some((1, 1)), 1), |json| {
            let mut at = json;
            for key in path {
                at = match key.parse::<usize>() {
                    Ok(index) => &mut at[index],
                    Err(_) => &mut at[*key],
                };
            }
            at[field] = 1.into();
        });
        let error = merge(&[Input {
            name: "x.json".into(),
            text,
        }])
        .unwrap_err();
        assert!(
            error.contains(&format!("unknown field `{field}`")),
            "{path:?}: {error}"
        );
    }
}

/// A change to a summary's JSON.
type Edit = fn(&mut serde_json::Value);

/// The JSON of `summary`, edited by `edit`.
fn edited(summary: &SweepSummary, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(&sweep_json(summary)).unwrap();
    edit(&mut json);
    json.to_string()
}

/// The error `merge` gives for the one file `text`, without the file's name.
fn inconsistent(text: String) -> String {
    let error = merge(&[Input {
        name: "edited.json".into(),
        text,
    }])
    .unwrap_err();
    assert!(!error.contains('\n'), "{error}");
    let prefix = "edited.json is not a consistent sweep summary: ";
    (error.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("{error}"))
        .to_string()
}

/// `text` is refused as not a summary, with an error that ends in `expected`.
fn refused(good: &Input, text: &str, expected: &str) {
    let bad = Input {
        name: "shards/bad.json".into(),
        text: text.into(),
    };
    let error = merge(&[good.clone(), bad]).unwrap_err();
    assert!(
        error.starts_with(
            "shards/bad.json is not a sweep summary (the JSON of `kafkasim sweep --json`): "
        ),
        "{error}"
    );
    assert!(error.ends_with(expected), "{text:?}: {error}");
    assert!(!error.contains('\n'), "{error}");
}

#[test]
fn a_summary_that_does_not_hold_together_is_refused_naming_the_field() {
    let text = sweep_json(&swept(1, 3, None, 1));
    for (from, to, expected) in [
        (
            "\"seeds_run\":2",
            "\"seeds_run\":3",
            "seeds_run is 3 but it lists 2 runs",
        ),
        (
            "{\"seed\":2,",
            "{\"seed\":9,",
            "runs[1]: seed 9 is outside its seeds 1..3",
        ),
        (
            "{\"seed\":2,",
            "{\"seed\":1,",
            "runs[1]: seed 1 is listed twice",
        ),
    ] {
        assert!(text.contains(from), "{from} in {text}");
        assert_eq!(inconsistent(text.replace(from, to)), expected);
    }
    let summary = swept(1, 7, None, 1);
    let cases: [(&str, Edit); 9] = [
        (
            "runs[1]: seed 1 comes after seed 2: runs are in seed order",
            |j| j["runs"].as_array_mut().unwrap().swap(0, 1),
        ),
        (
            "runs[0]: trace_hash is \"not-hex!\", not 16 lowercase hex digits",
            |j| j["runs"][0]["trace_hash"] = "not-hex!".into(),
        ),
        (
            "runs[0]: trace_hash is \"00000000000000AB\", not 16 lowercase hex digits",
            |j| j["runs"][0]["trace_hash"] = "00000000000000AB".into(),
        ),
        (
            "scenario_hash is \"123\", not 16 lowercase hex digits",
            |j| j["scenario_hash"] = "123".into(),
        ),
        (
            "runs[0]: verdict is ok but its failing kinds [lost-write] make it correctness",
            |j| j["runs"][0]["verdict"] = "ok".into(),
        ),
        ("runs[1]: failing lists crash twice", |j| {
            j["runs"][1]["failing"] = serde_json::json!(["crash", "crash"])
        }),
        ("verdicts.ok is 5 but 2 of its runs are ok", |j| {
            j["verdicts"]["ok"] = 5.into()
        }),
        (
            "worst_verdict is liveness but the worst of its runs is crash",
            |j| j["worst_verdict"] = "liveness".into(),
        ),
        (
            "allowed_anomalies.duplicate is 9 but 3 of its runs show it",
            |j| j["allowed_anomalies"]["duplicate"] = 9.into(),
        ),
    ];
    for (expected, edit) in cases {
        assert_eq!(inconsistent(edited(&summary, edit)), expected);
    }
    assert_eq!(
        inconsistent(edited(&summary, |j| j["goals"]["leader changed"] = 7.into())),
        "goals.\"leader changed\" is 7: a goal is listed when 1 to all 6 runs reach it"
    );
}

#[test]
fn a_seed_range_must_run_forward_and_a_shard_must_be_one_of_its_count() {
    let summary = swept(1, 7, Some((2, 3)), 1);
    let cases: [(&str, Edit); 5] = [
        (
            "seeds: 9..1 is empty: its end must come after its start",
            |j| j["seeds"] = serde_json::json!({"start": 9, "end": 1}),
        ),
        (
            "seeds: 4..4 is empty: its end must come after its start",
            |j| j["seeds"] = serde_json::json!({"start": 4, "end": 4}),
        ),
        (
            "shard: 5/2 is not a shard: it must be I/N with 1 <= I <= N",
            |j| j["shard"] = serde_json::json!({"index": 5, "count": 2}),
        ),
        (
            "shard: 0/2 is not a shard: it must be I/N with 1 <= I <= N",
            |j| j["shard"] = serde_json::json!({"index": 0, "count": 2}),
        ),
        ("runs[0]: seed 2 is not in its shard 1/3", |j| {
            j["shard"] = serde_json::json!({"index": 1, "count": 3})
        }),
    ];
    for (expected, edit) in cases {
        assert_eq!(inconsistent(edited(&summary, edit)), expected);
    }
    // Shard 2/3 of 1..7 is seeds 2 and 5: a file that lists one is incomplete.
    let missing_one = edited(&summary, |j| {
        j["runs"].as_array_mut().unwrap().pop();
        j["seeds_run"] = 1.into();
        j["verdicts"] = serde_json::json!({"ok": 1, "correctness": 0, "liveness": 0, "crash": 0});
        j["worst_verdict"] = "ok".into();
        j["allowed_anomalies"] = serde_json::json!({});
        j["goals"] = serde_json::json!({});
    });
    assert_eq!(
        inconsistent(missing_one),
        "runs: shard 2/3 of seeds 1..7 has 2 seed(s), but it lists 1 run"
    );
}

#[test]
fn first_failing_must_be_the_first_failing_runs_as_the_runs_say() {
    let summary = swept(1, 7, None, 1);
    let cases: [(&str, Edit); 4] = [
        (
            "first_failing[0]: seed 1 is ok here but correctness in runs (or its kinds differ)",
            |j| j["first_failing"][0]["verdict"] = "ok".into(),
        ),
        (
            "first_failing[0]: seed 2 is not its next failing run, seed 1",
            |j| j["first_failing"][0]["seed"] = 2.into(),
        ),
        (
            "first_failing lists 3 runs but misses seed 6, which failed",
            |j| {
                j["first_failing"].as_array_mut().unwrap().pop();
            },
        ),
        (
            "first_failing[4]: seed 6 is one too many: it lists the first 4 of its failing runs",
            |j| {
                let copy = j["first_failing"][3].clone();
                j["first_failing"].as_array_mut().unwrap().push(copy)
            },
        ),
    ];
    for (expected, edit) in cases {
        assert_eq!(inconsistent(edited(&summary, edit)), expected);
    }
}

#[test]
fn timing_must_be_real_numbers_of_seconds_and_at_least_one_job() {
    let summary = swept(1, 3, None, 1);
    let cases: [(&str, Edit); 3] = [
        (
            "timing.wall_time_s is -1: it must be a finite number, 0 or more",
            |j| j["timing"]["wall_time_s"] = (-1.0).into(),
        ),
        (
            "timing.seeds_per_s is -0.5: it must be a finite number, 0 or more",
            |j| j["timing"]["seeds_per_s"] = (-0.5).into(),
        ),
        ("timing.jobs is 0: a sweep runs on 1 job at least", |j| {
            j["timing"]["jobs"] = 0.into()
        }),
    ];
    for (expected, edit) in cases {
        assert_eq!(inconsistent(edited(&summary, edit)), expected);
    }
    // JSON has no infinity; serde refuses a number too large for an f64.
    let huge = sweep_json(&summary).replace("\"wall_time_s\":0.001", "\"wall_time_s\":1e999");
    assert!(huge.contains("1e999"), "{huge}");
    let error = merge(&[Input {
        name: "huge.json".into(),
        text: huge,
    }])
    .unwrap_err();
    assert!(error.contains("number out of range"), "{error}");
}

/// `file`, with its timing replaced.
fn timed(name: &str, summary: &SweepSummary, jobs: u64, wall_time_s: f64) -> Input {
    Input {
        name: name.into(),
        text: edited(summary, |j| {
            j["timing"]["jobs"] = jobs.into();
            j["timing"]["wall_time_s"] = wall_time_s.into();
        }),
    }
}

#[test]
fn sums_that_would_overflow_are_refused_instead_of_wrapping() {
    let (low, high) = (swept(1, 3, None, 1), swept(3, 5, None, 1));
    let jobs = [
        timed("a.json", &low, u64::MAX, 1.0),
        timed("b.json", &high, 2, 1.0),
    ];
    assert_eq!(
        merge(&jobs).unwrap_err(),
        "b.json: timing.jobs: the sum over the files is too large to hold"
    );
    let wall = [
        timed("a.json", &low, 1, f64::MAX),
        timed("b.json", &high, 1, f64::MAX),
    ];
    assert_eq!(
        merge(&wall).unwrap_err(),
        "b.json: timing.wall_time_s: the sum over the files is too large to hold"
    );
}

#[test]
fn what_merge_writes_always_reads_back() {
    let (low, high) = (swept(1, 3, None, 1), swept(3, 5, None, 1));
    for (jobs, wall_time_s) in [
        (1, 0.0),
        (1, f64::MIN_POSITIVE),
        (u64::MAX / 2, f64::MAX / 4.0),
        (1, 1e300),
    ] {
        let inputs = [
            timed("a.json", &low, jobs, wall_time_s),
            timed("b.json", &high, jobs, wall_time_s),
        ];
        let merged = merge(&inputs).expect("merges");
        let timing = &merged.summary.timing;
        assert!(timing.wall_time_s.is_finite() && timing.seeds_per_s.is_finite());
        let again = Input {
            name: "merged.json".into(),
            text: render_json(&merged),
        };
        assert!(!again.text.contains("null,") || again.text.contains("\"shard\":null"));
        let twice = merge(&[again]).unwrap_or_else(|e| panic!("{jobs} {wall_time_s}: {e}"));
        assert_eq!(twice.summary.runs, merged.summary.runs);
    }
}

#[test]
fn summaries_of_different_scenarios_are_refused_whatever_their_names() {
    let other = edited(&swept(10, 12, None, 1), |j| {
        j["scenario"] = "standard".into();
        j["scenario_hash"] = "00000000000000ff".into();
    });
    let inputs = [
        input("a.json", &swept(1, 3, None, 1)),
        Input {
            name: "b.json".into(),
            text: other,
        },
    ];
    assert_eq!(
        merge(&inputs).unwrap_err(),
        "the files are of different scenarios: a.json is of planted (scenario_hash 0123456789abcdef), b.json of standard (scenario_hash 00000000000000ff)"
    );
    // Two different files both called s.toml are two scenarios.
    let named = |name: &str, summary: &SweepSummary, hash: &str| Input {
        name: name.into(),
        text: edited(summary, |j| {
            j["scenario"] = "s.toml".into();
            j["scenario_hash"] = hash.into();
        }),
    };
    let two_files = [
        named("a.json", &swept(1, 3, None, 1), "0000000000000001"),
        named("b.json", &swept(3, 5, None, 1), "0000000000000002"),
    ];
    assert!(merge(&two_files)
        .unwrap_err()
        .starts_with("the files are of different scenarios: a.json is of s.toml (scenario_hash 0000000000000001), b.json of s.toml"));
}

#[test]
fn one_scenario_under_two_names_merges_under_the_first() {
    let dotted = edited(&swept(3, 5, None, 1), |j| {
        j["scenario"] = "./planted".into()
    });
    let inputs = [
        input("a.json", &swept(1, 3, None, 1)),
        Input {
            name: "b.json".into(),
            text: dotted,
        },
    ];
    let merged = merge(&inputs).expect("one scenario");
    assert_eq!(merged.summary.scenario, "planted");
    assert_eq!(merged.summary.seeds_run, 4);
}

#[test]
fn nothing_to_merge_is_refused() {
    assert!(merge(&[]).unwrap_err().starts_with("nothing to merge"));
}
