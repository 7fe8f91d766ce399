//! Hostile input, generated: mutated scenario files and command lines.
//!
//! Every input is made from a seed, so a failure names the case that replays
//! it. Two generators:
//!
//! - **Scenario files.** Each file in `scenarios/` is mutated (a line dropped,
//!   doubled or swapped; a number or a string replaced by an edge value; the
//!   text cut short; a byte flipped). Every mutant must be accepted or refused
//!   with one line, never a panic; a sample of the accepted ones is run, and
//!   none may crash or fail to set up (what validation lets through must run).
//! - **Command lines.** Arguments are drawn from what each command takes, with
//!   edge values, garbage, repeated and unknown flags and non-UTF-8 bytes. Each
//!   must parse or be refused with one line; a sample is run by the binary and
//!   must exit 0 to 4 with no panic message, within a generous bound.
//!
//! The default sizes keep `cargo test` quick; the larger run the README gives
//! sets `KAFKASIM_FUZZ_FILES`, `KAFKASIM_FUZZ_FILE_RUNS`,
//! `KAFKASIM_FUZZ_COMMANDS` and `KAFKASIM_FUZZ_COMMAND_RUNS`.

mod common;

use kafkasim_check::Verdict;
use kafkasim_tools::cli::parse;
use kafkasim_tools::run::{run_scenario, RunOptions};
use kafkasim_tools::scenario::workload::file;
use kafkasim_tools::scenario::Scenario;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A size from the environment, or the default.
fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every scenario file shipped, with its text.
fn scenario_files() -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![PathBuf::from("scenarios")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("scenarios/ is readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("a scenario file");
                found.push((path, text));
            }
        }
    }
    found.sort();
    assert!(found.len() >= 20, "the shipped scenario files");
    found
}

const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "255",
    "256",
    "1000",
    "1001",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "1e9",
    "0.5",
    "nan",
    "inf",
    "true",
    "\"\"",
    "[]",
    "{}",
];

const EDGE_STRINGS: &[&str] = &[
    "",
    " ",
    ".",
    "..",
    "a b",
    "a/b",
    "__consumer_offsets",
    "\\u001b[2J",
    "\\n",
    "\u{e9}t\u{e9}",
    "broker-0",
    "broker-99",
    "leader of nowhere-0",
    "controller",
    "crash",
    "schedule",
    "swarm",
    "high-watermark",
    "after-processing",
    "lost-write",
];

/// One mutation of `text`, drawn by `rng`.
fn mutate(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let i = rng.gen_range(0..lines.len());
    match rng.gen_range(0..9) {
        0 => {
            lines.remove(i);
        }
        1 => {
            let line = lines[i].clone();
            lines.insert(i, line);
        }
        2 => {
            let j = rng.gen_range(0..lines.len());
            lines.swap(i, j);
        }
        3 | 4 => {
            // A value replaced by an edge number.
            if let Some((key, _)) = lines[i].split_once('=') {
                let value = EDGE_NUMBERS.choose(rng).expect("numbers");
                lines[i] = format!("{key}= {value}");
            }
        }
        5 | 6 => {
            if let Some((key, _)) = lines[i].split_once('=') {
                let value = EDGE_STRINGS.choose(rng).expect("strings");
                lines[i] = format!("{key}= \"{value}\"");
            }
        }
        7 => {
            let cut = rng.gen_range(0..=text.len());
            return String::from_utf8_lossy(&text.as_bytes()[..cut]).into_owned();
        }
        _ => {
            // A table or a key that does not belong.
            let extra = [
                "[[topic]]",
                "[[producer]]",
                "[[group]]",
                "[faults]",
                "[[faults.schedule]]",
                "[[step]]",
                "[cluster]",
                "[phases]",
                "count = 1000",
                "consumers = 1000",
                "partitions = 64",
                "brokers = 9",
                "rate = 1000",
                "at_ms = 0",
                "for_ms = 300000",
                "configs = { \"group.instance.id\" = \"x\" }",
                "configs = { \"session.timeout.ms\" = 1 }",
                "configs = { \"delivery.timeout.ms\" = 1 }",
            ];
            lines.insert(i, extra.choose(rng).expect("extras").to_string());
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Parses `text` as a scenario file, catching a panic as a failure to report.
fn parse_file(
    text: &str,
) -> Result<Result<kafkasim_tools::scenario::workload::Workload, String>, String> {
    let owned = text.to_string();
    std::panic::catch_unwind(move || file::parse(&owned)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}

#[test]
fn mutated_scenario_files_are_accepted_or_refused_in_one_line_and_accepted_ones_run() {
    let files = scenario_files();
    let cases = size("KAFKASIM_FUZZ_FILES", 600);
    let runs = size("KAFKASIM_FUZZ_FILE_RUNS", 6);
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let (mut accepted, mut refused, mut ran) = (Vec::new(), 0, 0);
    for case in 0..cases {
        let (path, text) = &files[case % files.len()];
        let mut mutant = text.clone();
        for _ in 0..rng.gen_range(1..=3) {
            mutant = mutate(&mutant, &mut rng);
        }
        match parse_file(&mutant) {
            Err(panic) => panic!(
                "case {case} (a mutant of {}) panicked: {panic}\n--- the file ---\n{mutant}",
                path.display()
            ),
            Ok(Err(why)) => {
                assert!(
                    !why.trim().is_empty() && !why.contains('\n'),
                    "case {case}: not one line: {why:?}"
                );
                assert!(
                    !why.chars().any(|c| c.is_control()),
                    "case {case}: a control character in: {why:?}"
                );
                refused += 1;
            }
            Ok(Ok(workload)) => accepted.push((case, path.clone(), workload)),
        }
    }
    // Run a spread of the accepted ones: each must set up and must not crash.
    let step = (accepted.len() / runs.max(1)).max(1);
    for (case, path, workload) in accepted.iter().step_by(step).take(runs) {
        let scenario = Scenario::workload(&format!("case-{case}.toml"), workload.clone());
        let report = run_scenario(1, &scenario, &RunOptions::default());
        let kinds = report.judgement.failing_kinds();
        assert!(
            report.verdict() != Verdict::Crash
                && !kinds.contains(&kafkasim_check::Kind::SetupFailed),
            "case {case} (a mutant of {}) was accepted but {}: {}",
            path.display(),
            report.verdict(),
            report.judgement
        );
        ran += 1;
    }
    eprintln!(
        "fuzz: {cases} mutated scenario files: {} accepted, {refused} refused, {ran} run, no panic",
        accepted.len()
    );
    assert!(
        refused > 0 && !accepted.is_empty(),
        "the mutations reach both sides"
    );
}

/// A scratch place for the paths command lines name.
struct Places {
    root: PathBuf,
}

impl Places {
    fn new() -> Places {
        let root = std::env::temp_dir().join(format!("kafkasim-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("full")).unwrap();
        std::fs::write(root.join("full").join("mine.txt"), "mine").unwrap();
        std::fs::write(root.join("file.txt"), "not a directory").unwrap();
        std::fs::write(root.join("garbage.json"), "{\"scenario\": 5").unwrap();
        std::fs::write(root.join("bad.toml"), "[[topic]]\nname = 5\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/dev/zero", root.join("zero.toml")).unwrap();
        Places { root }
    }

    /// A path for an output: new, existing, a file, nested under a file.
    fn output(&self, rng: &mut ChaCha8Rng, n: usize) -> OsString {
        let name = match rng.gen_range(0..5) {
            0 => format!("new-{n}"),
            1 => "full".into(),
            2 => "file.txt".into(),
            3 => "file.txt/below".into(),
            _ => format!("new-{n}/deeper/still"),
        };
        self.root.join(name).into_os_string()
    }

    fn scenario(&self, rng: &mut ChaCha8Rng) -> OsString {
        let names = [
            "replicated",
            "standard",
            "quickstart",
            "groups",
            "consumer-crash",
            "kip-101",
            "no-such-scenario",
            "scenarios/minimal/kip-101.toml",
            "scenarios/minimal/zombie-consumer.toml",
            "/dev/null",
            ".",
            "",
        ];
        match rng.gen_range(0..4) {
            0 => self.root.join("bad.toml").into_os_string(),
            1 => self.root.join("zero.toml").into_os_string(),
            _ => names.choose(rng).expect("names").into(),
        }
    }
}

/// A value for a flag: mostly sensible and small (so that a command that is
/// accepted finishes soon), sometimes an edge or garbage.
fn value(flag: &str, rng: &mut ChaCha8Rng) -> OsString {
    let pool: &[&str] = match flag {
        "--seed" => &[
            "1",
            "7",
            "0",
            "18446744073709551615",
            "18446744073709551616",
            "+5",
            "-1",
            "x",
            "",
        ],
        "--seeds" => &[
            "1..3",
            "0..=1",
            "5..5",
            "3..1",
            "1..1000000000000",
            "0..18446744073709551615",
            "1..=18446744073709551615",
            "a..b",
            "-1..2",
            "1...3",
        ],
        "--jobs" => &["1", "2", "0", "257", "100000", "-3", "x"],
        "--shard" => &[
            "1/2",
            "2/2",
            "5/2",
            "0/1",
            "1/0",
            "x",
            "1/18446744073709551615",
        ],
        "--safety-phase-s" => &["1", "2", "0", "3601", "x"],
        "--max-runs" => &["1", "2", "0", "-1", "99999999999999999999"],
        "--kind" => &[
            "lost-write",
            "processed-again",
            "nothing-acknowledged",
            "lost write",
            "",
        ],
        "--bug" => &["kip-101", "kip-966", "kafka-15583", "kip-1", "KIP-101", ""],
        "--rounds" => &["1", "0", "101", "x"],
        "--max-seeds" => &["1", "2", "0", "100001", "-1"],
        "--shrink-runs" => &["1", "2", "0"],
        _ => &["x"],
    };
    if rng.gen_ratio(1, 12) {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt as _;
            return OsString::from_vec(vec![b'1', 0xff, 0xfe]);
        }
    }
    pool.choose(rng).expect("a pool").into()
}

/// One command line, drawn by `rng`.
fn command_line(rng: &mut ChaCha8Rng, places: &Places, n: usize) -> Vec<OsString> {
    let commands: &[(&str, &[&str])] = &[
        (
            "run",
            &[
                "--seed",
                "--scenario",
                "--json",
                "--report",
                "--force",
                "--safety-phase-s",
            ],
        ),
        ("replay", &["--seed", "--scenario"]),
        (
            "sweep",
            &[
                "--seeds",
                "--scenario",
                "--jobs",
                "--shard",
                "--json",
                "--report",
                "--force",
            ],
        ),
        (
            "shrink",
            &[
                "--seed",
                "--scenario",
                "--kind",
                "--max-runs",
                "--out",
                "--force",
                "--bug",
            ],
        ),
        ("merge", &["--json"]),
        ("bench", &["--seeds", "--json"]),
        ("scenarios", &[]),
        ("bugs", &[]),
        (
            "hunt",
            &[
                "--bug",
                "--rounds",
                "--max-seeds",
                "--jobs",
                "--shrink-runs",
            ],
        ),
        ("report-check", &[]),
        ("help", &[]),
        ("bogus", &["--bogus"]),
    ];
    let (name, flags) = commands.choose(rng).expect("commands");
    let mut args: Vec<OsString> = vec![name.into()];
    for _ in 0..rng.gen_range(0..=5) {
        let Some(flag) = flags.choose(rng) else { break };
        args.push(flag.into());
        match *flag {
            "--json" | "--force" => {}
            "--scenario" => args.push(places.scenario(rng)),
            "--report" | "--out" => args.push(places.output(rng, n)),
            flag => args.push(value(flag, rng)),
        }
    }
    match *name {
        "merge" => {
            for _ in 0..rng.gen_range(0..=2) {
                args.push(places.root.join("garbage.json").into_os_string());
            }
        }
        "report-check" => args.push(places.output(rng, n)),
        _ => {}
    }
    if rng.gen_ratio(1, 10) {
        args.push("--unknown".into());
    }
    if rng.gen_ratio(1, 10) {
        args.truncate(rng.gen_range(0..=args.len()));
    }
    // Shrinks and hunts stay short: their runs are many.
    if args.first().is_some_and(|a| a == "shrink") && !args.iter().any(|a| a == "--max-runs") {
        args.extend(["--max-runs".into(), "2".into()]);
    }
    if args.first().is_some_and(|a| a == "hunt") {
        for (flag, small) in [
            ("--max-seeds", "2"),
            ("--rounds", "1"),
            ("--shrink-runs", "2"),
        ] {
            if let Some(at) = args.iter().position(|a| a == flag) {
                // The flag and the value after it go; the small one replaces them.
                args.drain(at..(at + 2).min(args.len()));
            }
            args.extend([flag.into(), small.into()]);
        }
    }
    args
}

#[test]
fn generated_command_lines_parse_or_are_refused_in_one_line_and_run_without_a_panic() {
    let places = Places::new();
    let cases = size("KAFKASIM_FUZZ_COMMANDS", 600);
    let runs = size("KAFKASIM_FUZZ_COMMAND_RUNS", 16);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let lines: Vec<Vec<OsString>> = (0..cases)
        .map(|n| command_line(&mut rng, &places, n))
        .collect();
    let (mut parsed, mut refused) = (Vec::new(), 0);
    for (case, args) in lines.iter().enumerate() {
        let owned = args.clone();
        match std::panic::catch_unwind(move || parse(owned)) {
            Err(_) => panic!("case {case}: parsing {args:?} panicked"),
            Ok(Ok(_)) => parsed.push(case),
            Ok(Err(error)) => {
                assert!(
                    !error.0.trim().is_empty() && !error.0.contains('\n'),
                    "case {case}: {args:?}: not one line: {:?}",
                    error.0
                );
                refused += 1;
            }
        }
    }
    // A spread of the accepted ones and one refused in ten, run by the binary
    // as a user would (the refused ones were all checked above, in-process);
    // all of them when as many runs as cases are asked for.
    let step = (parsed.len() / runs.max(1)).max(1);
    let accepted = parsed.iter().copied().step_by(step).take(runs);
    let others = (0..cases).filter(|c| !parsed.contains(c));
    let chosen: Vec<usize> = match runs >= cases {
        true => (0..cases).collect(), // every one of them
        false => (accepted.chain(others.step_by(10).take(runs / 10 + 1))).collect(),
    };
    let mut codes = std::collections::BTreeMap::new();
    for case in chosen {
        let args = &lines[case];
        let code = run_bounded(args, Duration::from_secs(600))
            .unwrap_or_else(|why| panic!("case {case}: {args:?}: {why}"));
        *codes.entry(code).or_insert(0) += 1;
    }
    let _ = std::fs::remove_dir_all(&places.root);
    eprintln!(
        "fuzz: {cases} command lines: {} parsed, {refused} refused; {} run, exit codes {codes:?}",
        parsed.len(),
        codes.values().sum::<usize>()
    );
    assert!(
        !parsed.is_empty() && refused > 0,
        "the generator reaches both sides"
    );
}

/// Runs the binary with `args`; its exit code, or why it is not acceptable: a
/// code outside 0 to 4, a panic or an abort, or still running after `bound`
/// (a hang: every command is given small work).
fn run_bounded(args: &[OsString], bound: Duration) -> Result<i32, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Read as it comes, so a chatty command never blocks on a full pipe.
    let mut pipe = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        use std::io::Read as _;
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            return Err(format!("still running after {} s", bound.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap_or_default();
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        return Err(format!("a panic: {stderr}"));
    }
    match status.code() {
        Some(code @ 0..=4) => Ok(code),
        Some(code) => Err(format!("exit code {code}: {stderr}")),
        None => Err(format!("killed by a signal: {stderr}")),
    }
}
