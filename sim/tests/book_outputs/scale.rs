//! "Sweeping at scale": a sweep run as two shards, and their merge, from the
//! `kafkasim` binary itself, in a scratch directory, as a reader runs them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEEDS: &str = "1..=4";
const SCENARIO: &str = "standard";
const SHARDS: u64 = 2;

/// Runs `kafkasim ARGS` in `dir`; returns its exit code, stdout and stderr.
fn kafkasim(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the kafkasim binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("kafkasim prints UTF-8");
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

/// The shards' summaries, in a fresh scratch directory.
fn swept_shards() -> (PathBuf, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("book-sweeping-at-scale");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let mut out = String::new();
    for index in 1..=SHARDS {
        let shard = format!("{index}/{SHARDS}");
        let file = format!("shard-{index}.json");
        let args = [
            "sweep",
            "--seeds",
            SEEDS,
            "--scenario",
            SCENARIO,
            "--shard",
            &shard,
            "--json",
        ];
        let (code, summary, _progress) = kafkasim(&dir, &args);
        assert_eq!(code, Some(0), "kafkasim {}", args.join(" "));
        std::fs::write(dir.join(&file), summary).expect("the summary is written");
        let _ = writeln!(out, "$ kafkasim {} > {file} 2> /dev/null", args.join(" "));
    }
    (dir, out)
}

/// Two shards of a sweep, their merge (without its timing line), and the
/// error a merge with a shard missing gives, or with `--allow-gaps` the warning.
pub(crate) fn shards_and_merge() -> String {
    let (dir, mut out) = swept_shards();
    let files: Vec<String> = (1..=SHARDS).map(|i| format!("shard-{i}.json")).collect();
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    let (code, merged, warning) = kafkasim(&dir, &args);
    assert_eq!(code, Some(0), "{warning}");
    assert!(warning.is_empty(), "{warning}");
    let _ = writeln!(out, "$ kafkasim {} | grep -v 'wall time'", args.join(" "));
    for line in merged.lines().filter(|l| !l.contains("wall time")) {
        let _ = writeln!(out, "{line}");
    }
    // A missing shard is an error; with --allow-gaps, a warning. stderr comes
    // first: `merge` prints it before the summary.
    let (code, _, error) = kafkasim(&dir, &["merge", &files[1]]);
    assert_eq!(code, Some(2), "{error}");
    let _ = writeln!(out, "$ kafkasim merge {}", files[1]);
    out.push_str(&error);
    let (_, partial, warning) = kafkasim(&dir, &["merge", "--allow-gaps", &files[1]]);
    let _ = writeln!(
        out,
        "$ kafkasim merge --allow-gaps {} | head -n 1",
        files[1]
    );
    out.push_str(&warning);
    let _ = writeln!(out, "{}", partial.lines().next().expect("a summary"));
    out
}
