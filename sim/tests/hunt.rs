//! `kafkasim hunt`: the swarm finds a bug switch, shrinks it, and says so; a
//! bug it cannot find in the seeds given is listed as not found.

mod common;
use common::{kafkasim, stderr, stdout};

#[test]
fn the_hunt_finds_kip_101_and_shrinks_it() {
    let out = kafkasim(&[
        "hunt",
        "--bug",
        "kip-101",
        "--max-seeds",
        "20",
        "--shrink-runs",
        "8",
        "--jobs",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let row = (table.lines())
        .find(|l| l.starts_with("kip-101"))
        .unwrap_or_else(|| panic!("a row for kip-101:\n{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    // bug, ground, median seeds, found, kind, before, ->, after, wall
    assert_eq!(
        cells[1], "sim/scenarios/high-watermark-truncation.toml",
        "{row}"
    );
    assert_eq!(
        cells[2], "14",
        "the lowest seed that fails only with the switch: {row}"
    );
    assert_eq!(cells[3], "1/1", "{row}");
    assert_eq!(cells[4], "inconsistent-offsets", "{row}");
    let (before, after): (usize, usize) = (cells[5].parse().unwrap(), cells[7].parse().unwrap());
    assert!(after < before, "shrunk: {row}");
    assert!(stderr(&out).contains("hunt kip-101: seed 14 shows inconsistent-offsets"));
}

#[test]
fn a_bug_not_found_in_the_seeds_given_is_reported_and_fails_the_hunt() {
    let out = kafkasim(&[
        "hunt",
        "--bug",
        "kafka-15583",
        "--max-seeds",
        "2",
        "--jobs",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("not found: kafka-15583 in 1 of 1 rounds of 2 seeds on sim/scenarios/replication-elr.toml"),
        "{table}"
    );
    let usage = kafkasim(&["hunt", "--rounds", "0"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("--rounds must be a whole number from 1 to 100"));
}
