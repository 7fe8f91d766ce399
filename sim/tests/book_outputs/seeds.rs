//! "Finding bugs with seeds": a sweep of an unsafe scenario file, the failing
//! seed's verdict, its shrink, and the minimal file's run, from the `kafkasim`
//! binary itself, run from the repository's root as a reader runs them.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const SWEPT: &str = "sim/scenarios/high-watermark-truncation.toml";
const MINIMAL: &str = "sim/scenarios/minimal/kip-101.toml";

/// Runs `kafkasim ARGS` from the repository's root; returns stdout and stderr.
fn kafkasim(args: &[&str]) -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(root)
        .output()
        .expect("the kafkasim binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("kafkasim prints UTF-8");
    (text(output.stdout), text(output.stderr))
}

/// `kafkasim sweep --seeds 71..=80 --scenario …high-watermark-truncation.toml`,
/// without its one line of wall time (the only part that changes between runs).
pub(crate) fn sweep_unsafe_file() -> String {
    let args = [
        "sweep",
        "--seeds",
        "71..=80",
        "--jobs",
        "1",
        "--scenario",
        SWEPT,
    ];
    let (stdout, _) = kafkasim(&args);
    let mut out = format!("$ kafkasim {} | grep -v 'wall time'\n", args.join(" "));
    for line in stdout.lines().filter(|l| !l.contains("wall time")) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `kafkasim shrink --seed 71 …`: its last lines on stderr (each step tried is
/// one line; the file goes to `--out`).
pub(crate) fn shrink_kip_101() -> String {
    let out_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("book-kip-101.toml");
    let out_path = out_file.to_str().expect("a UTF-8 path");
    // shrink --out never replaces a file: the one an earlier test run left goes.
    let _ = std::fs::remove_file(&out_file);
    let args = [
        "shrink",
        "--seed",
        "71",
        "--scenario",
        SWEPT,
        "--kind",
        "lost-write",
        "--out",
        out_path,
    ];
    let (_, stderr) = kafkasim(&args);
    let shown = args.map(|a| if a == out_path { "kip-101.toml" } else { a });
    let mut out = format!("$ kafkasim {} 2>&1 | tail -n 8\n", shown.join(" "));
    let lines: Vec<&str> = stderr.lines().collect();
    for line in &lines[lines.len().saturating_sub(8)..] {
        let _ = writeln!(out, "{}", line.replace(out_path, "kip-101.toml"));
    }
    let written = std::fs::read_to_string(&out_file).expect("shrink wrote its file");
    let checked_in = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/minimal/kip-101.toml"),
    )
    .expect("the checked-in minimal file");
    assert_eq!(
        written, checked_in,
        "sim/scenarios/minimal/kip-101.toml is what shrink writes"
    );
    out
}

/// `kafkasim run --scenario sim/scenarios/minimal/kip-101.toml`, whole.
pub(crate) fn run_minimal_kip_101() -> String {
    let args = ["run", "--scenario", MINIMAL];
    let (stdout, _) = kafkasim(&args);
    format!("$ kafkasim {}\n{stdout}", args.join(" "))
}

/// A scenario file with a mistake, and what `kafkasim run` says of it.
pub(crate) fn bad_scenario_file() -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("book-bad-scenario");
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let text = "[cluster]\nbrokers = 2\n\n[[topic]]\nname = \"events\"\nreplication_factor = 3\n\n[[producer]]\ntopic = \"events\"\n";
    std::fs::write(dir.join("two-brokers.toml"), text).expect("a scratch file");
    let path = dir.join("two-brokers.toml");
    let (_, stderr) = kafkasim(&["run", "--scenario", path.to_str().expect("UTF-8")]);
    let mut out = String::from("$ cat two-brokers.toml\n");
    out.push_str(text);
    out.push_str("$ kafkasim run --scenario two-brokers.toml\n");
    out.push_str(&stderr.replace(path.to_str().expect("UTF-8"), "two-brokers.toml"));
    out
}
