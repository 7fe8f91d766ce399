//! The bug hunts at the end of "Kafka's famous bugs, replayed": a scenario
//! file with one switch on and `hunt = true`, whose runs do not name it. Each
//! answer shows the first failing seed of a short sweep, and this checks what
//! the answer says: the header hides the switch, the seed fails, the same seed
//! passes with the switch taken out, and the switch is the one the answer names.

use std::path::Path;
use std::process::{Command, Output};

/// `kafkasim ARGS` at the top of the repository, as the book's reader runs it.
fn kafkasim(args: &[&str]) -> Output {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(top)
        .output()
        .expect("the kafkasim binary runs")
}

fn text(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("kafkasim prints UTF-8")
}

/// One hunt: its file, a seed that fails with the switch (with `exit_code`)
/// and passes without it, and the switch the answer names.
fn hunt(file: &str, seed: u64, answer: &str, exit_code: i32) -> String {
    let path = format!("sim/scenarios/hunts/{file}");
    let seed = seed.to_string();
    let on = kafkasim(&["run", "--seed", &seed, "--scenario", &path]);
    let on_text = text(&on);
    assert!(
        on_text.contains("bugs switched on: hidden"),
        "{file}: the header hides the switch:\n{on_text}"
    );
    assert!(!on_text.contains(answer), "{file}: the run names {answer}");
    assert_eq!(
        on.status.code(),
        Some(exit_code),
        "{file}: seed {seed} fails"
    );
    // The switch the answer names is the file's, and the one that breaks it.
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&path);
    let source = std::fs::read_to_string(&full).expect("the hunt file");
    assert!(
        source.contains(&format!("bugs = [\"{answer}\"]")),
        "{file}: the answer names the file's switch"
    );
    let fixed: String = (source.lines())
        .filter(|l| !l.starts_with("bugs = [") && !l.starts_with("hunt = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("book-{file}"));
    std::fs::write(&scratch, fixed).expect("a scratch file");
    let off = kafkasim(&[
        "run",
        "--seed",
        &seed,
        "--scenario",
        scratch.to_str().expect("UTF-8"),
    ]);
    assert_eq!(
        off.status.code(),
        Some(0),
        "{file}: seed {seed} passes without the switch:\n{}",
        text(&off)
    );
    // What the answer shows: the header, the failing findings, the verdict.
    let mut out = format!(
        "$ kafkasim run --seed {seed} --scenario {path} | awk '/^bugs|^verdict/; /^findings that fail/,/^$/'\n"
    );
    let mut failing = false;
    for line in on_text.lines() {
        if line.starts_with("bugs") || line.starts_with("verdict") {
            out.push_str(line);
            out.push('\n');
        }
        failing |= line.starts_with("findings that fail");
        if failing {
            out.push_str(line);
            out.push('\n');
            failing = !line.is_empty();
        }
    }
    out
}

pub(crate) fn hunt_1() -> String {
    hunt("hunt-1.toml", 5, "kip-106", 1)
}

pub(crate) fn hunt_2() -> String {
    hunt("hunt-2.toml", 2, "kip-341", 1)
}

pub(crate) fn hunt_3() -> String {
    hunt("hunt-3.toml", 2, "kip-279", 1)
}

pub(crate) fn hunt_4() -> String {
    hunt("hunt-4.toml", 14, "kip-101", 1)
}

pub(crate) fn hunt_5() -> String {
    hunt("hunt-5.toml", 2, "kip-320-consumer", 3)
}

pub(crate) fn hunt_6() -> String {
    hunt("hunt-6.toml", 70, "kafka-7164", 1)
}

pub(crate) fn hunt_7() -> String {
    hunt("hunt-7.toml", 21, "kip-966", 1)
}

pub(crate) fn hunt_8() -> String {
    hunt("hunt-8.toml", 61, "kafka-15583", 1)
}

pub(crate) fn hunt_9() -> String {
    hunt("hunt-9.toml", 1, "registration-incarnation-guard", 1)
}
