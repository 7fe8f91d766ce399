//! What kafkasim writes never goes through a link or over a file without
//! `--force`, and an output path is checked before the work starts.

#![cfg(unix)]

mod common;
use common::{kafkasim, stderr, stdout};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kafkasim-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

#[test]
fn a_forced_report_replaces_links_planted_in_its_directory_and_spares_their_targets() {
    let dir = scratch("planted");
    let report = dir.join("report");
    std::fs::create_dir_all(&report).unwrap();
    let precious = dir.join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    for name in ["trace.jsonl", "index.html", ".kafkasim-write-check"] {
        std::os::unix::fs::symlink(&precious, report.join(name)).unwrap();
    }

    let path = report.to_str().unwrap();
    let out = kafkasim(&["run", "--seed", "7", "--report", path, "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    for name in ["trace.jsonl", "index.html"] {
        let path = report.join(name);
        let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
        assert!(kind.is_file(), "{name} is a file of its own now");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shrink_out_refuses_an_existing_file_or_a_missing_folder_before_any_run() {
    let dir = scratch("shrink");
    let existing = dir.join("min.toml");
    std::fs::write(&existing, "mine").unwrap();
    let missing = dir.join("no-such-folder").join("min.toml");
    for (out, why) in [
        (&existing, "it exists; pass --force to replace it"),
        (&missing, "no-such-folder"),
    ] {
        let run = kafkasim(&["shrink", "--seed", "1", "--out", out.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(2));
        let err = stderr(&run);
        assert!(
            err.contains("cannot write --out") && err.contains(why),
            "{err}"
        );
        assert_eq!(
            err.lines().count(),
            1,
            "refused before the first run: {err}"
        );
        assert!(stdout(&run).is_empty());
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sweep_whose_stdout_fails_exits_2_and_keeps_its_summary_on_stderr() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // no /dev/full on this system: nothing to fill
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args([
            "sweep",
            "--seeds",
            "1..3",
            "--scenario",
            "quickstart",
            "--json",
        ])
        .stdout(full)
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("verdicts: 2 ok, 0 correctness"), "{err}");
    assert!(err.contains("error: cannot write to stdout"), "{err}");
}
