//! "Kafka's famous bugs, replayed": the switches, and each replay with its
//! switch on and off, from the `kafkasim` binary.

use kafkasim_tools::bugs::Replay;
use std::fmt::Write as _;
use std::process::Command;

/// What `kafkasim ARGS` prints on stdout, run at the top of the repository
/// as the book's reader runs it.
fn kafkasim(args: &[&str]) -> String {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(top)
        .output()
        .expect("the kafkasim binary runs");
    String::from_utf8(output.stdout).expect("kafkasim prints UTF-8")
}

/// `kafkasim bugs`, whole.
pub(crate) fn bugs_listing() -> String {
    format!("$ kafkasim bugs\n{}", kafkasim(&["bugs"]))
}

/// The lines of a run's text the chapter shows, as
/// `awk '/^bugs|^verdict/; /^findings that fail/,/^$/'` prints them: the
/// switches, the verdict, and the findings that fail the run (not the
/// anomalies the settings allow).
fn shown(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut failing = false;
    for line in text.lines() {
        if line.starts_with("bugs") || line.starts_with("verdict") {
            lines.push(line);
        }
        if line.starts_with("findings that fail") {
            failing = true;
        }
        if failing {
            lines.push(line);
            failing = !line.is_empty();
        }
    }
    lines
}

/// The replay with its switch on, then the same seed with the switch off:
/// the lines `shown` keeps of each.
pub(crate) fn bug_replay(replay: &Replay) -> String {
    let seed = replay.seed.to_string();
    let base = [
        "run",
        "--seed",
        seed.as_str(),
        "--scenario",
        replay.scenario.name(),
    ];
    let bug = replay.bug.to_string();
    let mut on = base.to_vec();
    on.extend(["--bug", bug.as_str()]);
    let mut out = String::new();
    let filter = " | awk '/^bugs|^verdict/; /^findings that fail/,/^$/'";
    let _ = writeln!(out, "$ kafkasim {}{filter}", on.join(" "));
    let text = kafkasim(&on);
    for line in shown(&text) {
        let _ = writeln!(out, "{line}");
    }
    // Off: the same schedule and seed with the rule as Kafka fixed it. A file
    // that switches the bug on itself is shown with it taken out by `sed`.
    let off_text = match replay.scenario.text() {
        Some(file) if file.contains("bugs = [") => {
            let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("book-bug-off-{}.toml", replay.bug));
            let fixed: String = (file.lines())
                .filter(|l| !l.starts_with("bugs = ["))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&scratch, fixed).expect("a scratch file");
            let _ = writeln!(
                out,
                "$ sed '/^bugs = /d' {} > fixed.toml; kafkasim run --seed {seed} --scenario fixed.toml | grep '^verdict'",
                replay.scenario.name()
            );
            kafkasim(&[
                "run",
                "--seed",
                &seed,
                "--scenario",
                scratch.to_str().expect("UTF-8"),
            ])
        }
        _ => {
            let _ = writeln!(out, "$ kafkasim {} | grep '^verdict'", base.join(" "));
            kafkasim(&base)
        }
    };
    for line in off_text.lines().filter(|l| l.starts_with("verdict:")) {
        let _ = writeln!(out, "{line}");
    }
    out
}
