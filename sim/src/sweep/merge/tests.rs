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
            "missing field `seeds` at line 1 column 23",
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
        "unknown variant `fine`, expected one of `ok`, `correctness`, `liveness`, `crash` at line 1 column 597",
    );
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
fn a_summary_that_does_not_hold_together_is_refused() {
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
            "seed 9 is outside its seeds 1..3",
        ),
        ("{\"seed\":2,", "{\"seed\":1,", "seed 1 is listed twice"),
    ] {
        assert!(text.contains(from), "{from} in {text}");
        let bad = Input {
            name: "edited.json".into(),
            text: text.replace(from, to),
        };
        assert_eq!(
            merge(&[bad]).unwrap_err(),
            format!("edited.json is not a consistent sweep summary: {expected}")
        );
    }
}

#[test]
fn summaries_of_different_scenarios_are_refused() {
    let other = sweep_json(&swept(10, 12, None, 1)).replace("planted", "standard");
    let inputs = [
        input("a.json", &swept(1, 3, None, 1)),
        Input {
            name: "b.json".into(),
            text: other,
        },
    ];
    assert_eq!(
        merge(&inputs).unwrap_err(),
        "the files are of different scenarios: a.json is of planted, b.json of standard"
    );
}

#[test]
fn nothing_to_merge_is_refused() {
    assert!(merge(&[]).unwrap_err().starts_with("nothing to merge"));
}
