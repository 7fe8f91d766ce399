//! The durability table of "acks, ISR and durability", and the runs "Brokers,
//! producers and consumers" measures: batching with `linger.ms`, and a
//! consumer's Fetch held at the broker until a record arrives.
//!
//! The table is made, not typed. Each row is a combination of settings and
//! each column a fault schedule; each cell is a scenario file of
//! `sim/scenarios/durability/` (`ROW/COLUMN.toml`). The test first checks that
//! every file has exactly its row's settings and its column's steps, then runs
//! each with seed 1 (the `kafkasim` binary with `--json`, as a reader would),
//! asserts the cell's claim against the run's findings, and writes what the run
//! found into the cell. A claim the model stops making fails the test before
//! the table could say it.

use kafkasim::protocol::Acks;
use kafkasim_check::{Allowance, Finding, Kind, Verdict};
use kafkasim_sim::trace::{Captured, Direction, MessageEvent};
use kafkasim_sim::TraceLines;
use kafkasim_tools::run::{run_scenario, RunOptions, RunReport};
use kafkasim_tools::scenario::{self, workload::Workload};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The seed of every run in this module.
const SEED: u64 = 1;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh scratch directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("book-durability")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

// The durability table.

/// One row: a combination of settings, and the directory of its files.
struct Row {
    dir: &'static str,
    acks: Acks,
    min_insync_replicas: u32,
    unclean_leader_election: bool,
    idempotent: bool,
    /// `log.flush.interval.messages = 1`; unset: the page cache only.
    flush_every_message: bool,
}

impl Row {
    /// The row's first cell: its settings, as Kafka names them.
    fn label(&self) -> String {
        let acks = match self.acks {
            Acks::None => "`acks=0`",
            Acks::Leader => "`acks=1`",
            Acks::All => "`acks=all`",
        };
        let mut parts = vec![acks.to_string()];
        if self.acks == Acks::All {
            parts.push(format!("min ISR {}", self.min_insync_replicas));
        }
        if self.unclean_leader_election {
            parts.push("unclean election on".into());
        }
        match (self.acks, self.idempotent) {
            (Acks::All, false) => parts.push("idempotence off".into()),
            (Acks::All, true) => {}
            _ => assert!(!self.idempotent, "idempotence needs acks=all"),
        }
        if self.flush_every_message {
            parts.push("flush every message".into());
        }
        parts.join(", ")
    }

    /// Asserts that `workload` has this row's settings, and RF 3 on 3 brokers.
    fn check(&self, workload: &Workload, file: &str) {
        assert_eq!(workload.cluster.brokers, 3, "{file}");
        let flush = workload.cluster.log_flush_interval_messages;
        assert_eq!(flush, self.flush_every_message.then_some(1), "{file}");
        let [topic] = &workload.topics[..] else {
            panic!("{file} has one topic");
        };
        assert_eq!(topic.replication_factor, 3, "{file}");
        let config =
            |key: &str, default: &str| topic.configs.get(key).cloned().unwrap_or(default.into());
        let min_isr = config("min.insync.replicas", "1");
        assert_eq!(min_isr, self.min_insync_replicas.to_string(), "{file}");
        let unclean = config("unclean.leader.election.enable", "false");
        assert_eq!(unclean, self.unclean_leader_election.to_string(), "{file}");
        let [producer] = &workload.producers[..] else {
            panic!("{file} has one producer");
        };
        let producer = workload
            .producer_config(producer)
            .expect("a valid producer");
        assert_eq!(producer.acks, self.acks, "{file}");
        assert_eq!(producer.idempotent(), self.idempotent, "{file}");
    }
}

/// One column: a fault schedule, the same steps in every row.
struct Column {
    file: &'static str,
    header: &'static str,
}

const COLUMNS: [Column; 4] = [
    Column {
        file: "leader-crash",
        header: "leader crashes or loses power ¹",
    },
    Column {
        file: "shrink-crash",
        header: "ISR shrinks to the leader, which crashes",
    },
    Column {
        file: "shrink-power-loss",
        header: "ISR shrinks to the leader, which loses power",
    },
    Column {
        file: "lost-response",
        header: "a Produce response is lost",
    },
];

/// What a cell claims a run of its scenario shows.
enum Claim {
    /// No finding at all: nothing acknowledged is lost, nothing written twice.
    Nothing,
    /// These acknowledged writes are lost, which `because` allows.
    Lost(&'static [&'static str], Allowance),
    /// These writes are in the log twice, which `because` allows.
    Duplicate(&'static [&'static str], Allowance),
}

use Allowance::{LeaderOnlyAcks, NoAcks, NoIdempotence, PowerLoss, UncleanElection};
use Claim::{Duplicate, Lost, Nothing};

/// The table: each row, and its cells' claims in the order of `COLUMNS`.
const TABLE: [(Row, [Claim; 4]); 7] = [
    (
        Row {
            dir: "acks-0",
            acks: Acks::None,
            min_insync_replicas: 1,
            unclean_leader_election: false,
            idempotent: false,
            flush_every_message: false,
        },
        [
            Lost(&["w", "after"], NoAcks),
            Lost(&["w2"], NoAcks),
            Lost(&["w1", "w2"], PowerLoss),
            Nothing,
        ],
    ),
    (
        Row {
            dir: "acks-1",
            acks: Acks::Leader,
            min_insync_replicas: 1,
            unclean_leader_election: false,
            idempotent: false,
            flush_every_message: false,
        },
        [
            Lost(&["w"], LeaderOnlyAcks),
            Nothing,
            Lost(&["w1", "w2"], PowerLoss),
            Duplicate(&["r2"], NoIdempotence),
        ],
    ),
    (
        Row {
            dir: "acks-all",
            acks: Acks::All,
            min_insync_replicas: 1,
            unclean_leader_election: false,
            idempotent: true,
            flush_every_message: false,
        },
        [Nothing, Nothing, Lost(&["w1", "w2"], PowerLoss), Nothing],
    ),
    (
        Row {
            dir: "unclean",
            acks: Acks::All,
            min_insync_replicas: 1,
            unclean_leader_election: true,
            idempotent: true,
            flush_every_message: false,
        },
        [
            Nothing,
            Lost(&["w2"], UncleanElection),
            Lost(&["w2"], UncleanElection),
            Nothing,
        ],
    ),
    (
        Row {
            dir: "no-idempotence",
            acks: Acks::All,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            idempotent: false,
            flush_every_message: false,
        },
        [
            Nothing,
            Nothing,
            Lost(&["w1"], PowerLoss),
            Duplicate(&["r2"], NoIdempotence),
        ],
    ),
    (
        Row {
            dir: "min-isr-2",
            acks: Acks::All,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            idempotent: true,
            flush_every_message: false,
        },
        [Nothing, Nothing, Lost(&["w1"], PowerLoss), Nothing],
    ),
    (
        Row {
            dir: "fsync",
            acks: Acks::All,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            idempotent: true,
            flush_every_message: true,
        },
        [Nothing, Nothing, Nothing, Nothing],
    ),
];

/// A cell's file, as a reader names it from the top of the repository.
fn cell_path(row: &Row, column: &Column) -> String {
    format!("sim/scenarios/durability/{}/{}.toml", row.dir, column.file)
}

/// What `kafkasim run --seed 1 --scenario PATH --json` found, as typed findings.
fn run_findings(path: &str) -> (Verdict, Vec<Finding>) {
    let args = ["run", "--seed", "1", "--scenario", path, "--json"];
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the kafkasim binary runs");
    let run: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        panic!("kafkasim {}: {e}: {stderr}", args.join(" "))
    });
    let verdict = serde_json::from_value(run["verdict"]["kind"].clone()).expect("a verdict");
    let findings = serde_json::from_value(run["findings"].clone()).expect("typed findings");
    (verdict, findings)
}

/// The records the findings of `kind` are about (each finding's first value).
fn values_of(findings: &[Finding], kind: Kind) -> BTreeSet<String> {
    (findings.iter())
        .filter(|f| f.kind == kind)
        .filter_map(|f| f.values().into_iter().next())
        .collect()
}

/// How a cell names the setting or fault that allows what it shows.
fn because(allowance: Allowance) -> &'static str {
    match allowance {
        NoAcks => "acks=0",
        LeaderOnlyAcks => "acks=1",
        PowerLoss => "power loss",
        UncleanElection => "unclean election",
        NoIdempotence => "no idempotence",
        other => panic!("no cell of the table is allowed by {other:?}"),
    }
}

/// Asserts `claim` against a run's findings; returns the cell's text.
fn judge_cell(claim: &Claim, path: &str, verdict: Verdict, findings: &[Finding]) -> String {
    assert_eq!(verdict, Verdict::Ok, "{path}: Kafka allows all it shows");
    let (kind, values, allowance) = match claim {
        Nothing => {
            let kinds: Vec<Kind> = findings.iter().map(|f| f.kind).collect();
            assert!(kinds.is_empty(), "{path} claims nothing, found {kinds:?}");
            return "nothing".into();
        }
        Lost(values, allowance) => (Kind::LostWrite, values, allowance),
        Duplicate(values, allowance) => (Kind::Duplicate, values, allowance),
    };
    let found = values_of(findings, kind);
    let claimed: BTreeSet<String> = values.iter().map(|v| v.to_string()).collect();
    assert_eq!(found, claimed, "{path}: the {kind} findings");
    let other = match kind {
        Kind::LostWrite => Kind::Duplicate,
        _ => Kind::LostWrite,
    };
    assert!(values_of(findings, other).is_empty(), "{path}: no {other}");
    for finding in findings.iter().filter(|f| f.kind == kind) {
        assert!(
            finding.allowed.contains(allowance),
            "{path}: {kind} allowed by {allowance:?}, not only {:?}",
            finding.allowed
        );
    }
    let shown: Vec<String> = found.iter().map(|v| format!("`{v}`")).collect();
    let what = match kind {
        Kind::LostWrite => "lost",
        _ => "duplicate",
    };
    format!("**{what}** {} ({})", shown.join(", "), because(*allowance))
}

/// The leader-crash cell with a power loss instead: a copy of its file.
fn with_power_loss(path: &str, dir: &Path) -> String {
    let crash = "fault = \"crash\"\nnode = \"broker-1\"\nname = \"leader-down\"";
    let text = std::fs::read_to_string(root().join(path)).expect("a cell's file");
    assert_eq!(
        text.matches(crash).count(),
        1,
        "{path} crashes the leader once"
    );
    let copy = dir.join(path.replace('/', "-"));
    let edited = text.replace(crash, &crash.replace("\"crash\"", "\"power-loss\""));
    std::fs::write(&copy, edited).expect("a scratch file");
    copy.to_str().expect("a UTF-8 path").to_string()
}

/// Asserts that every row's files have its settings and every column's files
/// the same steps.
fn check_files() {
    for (c, column) in COLUMNS.iter().enumerate() {
        let mut steps = None;
        for (row, _) in &TABLE {
            let path = cell_path(row, column);
            let file = root().join(&path);
            let scenario = scenario::load_file(file.to_str().expect("UTF-8"))
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let workload = scenario.as_workload().expect("a scenario file");
            row.check(workload, &path);
            let first = steps.get_or_insert_with(|| workload.steps.clone());
            assert_eq!(*first, workload.steps, "{path}: the steps of column {c}");
        }
    }
    let dir = root().join("sim/scenarios/durability");
    let rows: BTreeSet<String> = (std::fs::read_dir(&dir).expect("the durability scenarios"))
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let table: BTreeSet<String> = TABLE.iter().map(|(r, _)| r.dir.to_string()).collect();
    assert_eq!(rows, table, "every directory is a row of the table");
}

/// `book/src/generated/durability-table.md`: the table, each cell from a run.
pub(crate) fn durability_table() -> String {
    check_files();
    let scratch = scratch("power-loss");
    let mut out = String::from("| settings |");
    for column in &COLUMNS {
        let _ = write!(out, " {} |", column.header);
    }
    out.push_str("\n|---|---|---|---|---|\n");
    for (row, claims) in &TABLE {
        let _ = write!(out, "| {} |", row.label());
        for (column, claim) in COLUMNS.iter().zip(claims) {
            let path = cell_path(row, column);
            let (verdict, findings) = run_findings(&path);
            let cell = judge_cell(claim, &path, verdict, &findings);
            if column.file == "leader-crash" {
                // ¹ A power loss of this leader costs what its crash costs.
                let copy = with_power_loss(&path, &scratch);
                let (verdict, findings) = run_findings(&copy);
                assert_eq!(judge_cell(claim, &copy, verdict, &findings), cell);
            }
            let _ = write!(out, " {cell}<br>`{}/{}` |", row.dir, column.file);
        }
        out.push('\n');
    }
    out
}

// Batching: linger.ms and batch.size.

const BATCHING: &str = "sim/scenarios/batching.toml";

/// What one batching run measured.
struct Batching {
    records: usize,
    requests: usize,
    mean_latency_ms: u64,
    max_latency_ms: u64,
}

/// The producer's Produce requests, as the broker received them.
fn produce_requests(report: &RunReport) -> Vec<&MessageEvent> {
    let capture = report.run.capture.as_ref().expect("a captured run");
    let machine = capture.machines.get(BATCHING_PRODUCER).map(String::as_str);
    assert_eq!(
        machine,
        Some("producer-1"),
        "{BATCHING_PRODUCER} is the producer"
    );
    (capture.events.iter())
        .filter_map(|e| match e {
            Captured::Message(m) => Some(m),
            _ => None,
        })
        .filter(|m| m.kind == "Produce" && m.dir == Direction::Request)
        .filter(|m| m.from == BATCHING_PRODUCER)
        .collect()
}

/// Runs a copy of the batching scenario with `configs` as its producer's.
fn measure_batching(configs: &str, file: &Path) -> Batching {
    let text = std::fs::read_to_string(root().join(BATCHING)).expect("the batching file");
    let base = "configs = { acks = \"all\", \"linger.ms\" = 5, \"batch.size\" = 16384 }";
    assert_eq!(text.matches(base).count(), 1, "{BATCHING}'s producer");
    let edited = text.replace(base, &format!("configs = {{ acks = \"all\", {configs} }}"));
    std::fs::write(file, edited).expect("a scratch file");
    let scenario = scenario::load_file(file.to_str().expect("UTF-8")).expect("a valid file");
    let options = RunOptions {
        capture: true,
        ..RunOptions::default()
    };
    let report = run_scenario(SEED, &scenario, &options);
    assert_eq!(report.verdict(), Verdict::Ok);
    let mut latencies = Vec::new();
    let history = &report.run.history;
    for entry in history {
        use kafkasim_check::history::{Entry, Operation, Outcome};
        let Entry::Complete {
            op,
            time_ms,
            outcome: Outcome::Ok(_),
            process,
        } = entry
        else {
            continue;
        };
        if let Entry::Invoke {
            operation: Operation::Send { .. },
            time_ms: sent_ms,
            ..
        } = &history[op.index()]
        {
            assert_eq!(process, "producer-1");
            latencies.push(time_ms - sent_ms);
        }
    }
    let requests = produce_requests(&report);
    let records: usize = requests.iter().map(|m| m.records.len()).sum();
    assert_eq!(
        records,
        latencies.len(),
        "no retries: one request per batch"
    );
    Batching {
        records,
        requests: requests.len(),
        mean_latency_ms: latencies.iter().sum::<u64>() / latencies.len() as u64,
        max_latency_ms: *latencies.iter().max().expect("acknowledged sends"),
    }
}

/// The producer's client node in the batching runs.
const BATCHING_PRODUCER: &str = "client-4";

/// `kafkasim replay … | grep -c`: the Produce requests of the batching file
/// as a reader counts them, which must be `requests`.
fn replay_count_produce(requests: usize) -> String {
    let args = ["replay", "--seed", "1", "--scenario", BATCHING];
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the kafkasim binary runs");
    let replay = String::from_utf8(output.stdout).expect("UTF-8");
    let counted = (replay.lines())
        .filter(|l| l.contains(&format!("← {BATCHING_PRODUCER} ")))
        .filter(|l| l.contains("Produce request"))
        .count();
    assert_eq!(counted, requests, "the replay shows the requests measured");
    format!(
        "$ kafkasim {} | grep -F '← {BATCHING_PRODUCER} ' | grep -c -F 'Produce request'\n{counted}\n",
        args.join(" ")
    )
}

/// `book/src/generated/batching.txt`: the same producer with four settings.
pub(crate) fn batching() -> String {
    let dir = scratch("batching");
    let settings = [
        "\"linger.ms\" = 0, \"batch.size\" = 16384",
        "\"linger.ms\" = 5, \"batch.size\" = 16384",
        "\"linger.ms\" = 50, \"batch.size\" = 16384",
        "\"linger.ms\" = 50, \"batch.size\" = 64",
    ];
    let runs: Vec<Batching> = (settings.iter().enumerate())
        .map(|(i, s)| measure_batching(s, &dir.join(format!("batching-{i}.toml"))))
        .collect();
    let mut out = replay_count_produce(runs[1].requests);
    out.push_str(
        "linger.ms  batch.size  records  Produce requests  records/request  ack latency mean, max\n",
    );
    for (setting, run) in settings.iter().zip(&runs) {
        let numbers: Vec<&str> = (setting.split(", "))
            .map(|kv| kv.split(" = ").nth(1).expect("key = value"))
            .collect();
        let _ = writeln!(
            out,
            "{:>9}  {:>10}  {:>7}  {:>16}  {:>15.1}  {:>8} ms, {:>3} ms",
            numbers[0],
            numbers[1],
            run.records,
            run.requests,
            run.records as f64 / run.requests as f64,
            run.mean_latency_ms,
            run.max_latency_ms
        );
    }
    let [zero, five, fifty, small] = &runs[..] else {
        unreachable!("four settings")
    };
    assert!(runs.iter().all(|r| r.records == zero.records), "same load");
    // linger.ms 0 sends each record as soon as it can: about one request each.
    assert!(zero.requests * 10 >= zero.records * 9, "{}", zero.requests);
    // Waiting longer puts more records in each request, and makes each wait.
    assert!(zero.requests > five.requests && five.requests > fifty.requests);
    assert!(fifty.records >= 5 * fifty.requests, "{}", fifty.requests);
    // 5 ms more to wait costs next to nothing at this rate: the requests it
    // saves were waiting for the followers' fetches anyway.
    assert!(five.mean_latency_ms <= zero.mean_latency_ms + 3);
    assert!(five.mean_latency_ms + 15 < fifty.mean_latency_ms);
    assert!(fifty.max_latency_ms >= 50, "a batch waits out linger.ms");
    // A full batch goes at once, linger or not.
    assert!(small.requests > 2 * fifty.requests);
    // The prose's "two of these small records fill one".
    assert!(
        small.records.abs_diff(2 * small.requests) <= 2,
        "{}",
        small.requests
    );
    assert!(small.mean_latency_ms < fifty.mean_latency_ms);
    out
}

// Long polling.

const IDLE: &str = "sim/scenarios/exercises/idle-consumer.toml";

/// `book/src/generated/long-poll.txt`: the consumer's Fetch, held at the broker
/// until the producer's record arrives, and the next one, held until
/// `fetch.max.wait.ms` runs out.
pub(crate) fn long_poll() -> String {
    let scenario = scenario::load_file(root().join(IDLE).to_str().expect("UTF-8"))
        .expect("the idle-consumer file");
    let options = RunOptions {
        keep_trace: Some(TraceLines::Readable),
        capture: true,
        ..RunOptions::default()
    };
    let report = run_scenario(SEED, &scenario, &options);
    let capture = report.run.capture.as_ref().expect("a captured run");
    let consumer = (capture.machines.iter())
        .find(|(_, machine)| *machine == "consumer-1")
        .map(|(node, _)| node.clone())
        .expect("the consumer's client node");
    let fetches: Vec<&MessageEvent> = (capture.events.iter())
        .filter_map(|e| match e {
            Captured::Message(m) if m.kind == "Fetch" => Some(m),
            _ => None,
        })
        .filter(|m| m.from == consumer || m.to == consumer)
        .collect();
    // The request a response answers.
    let request_of = |at: usize| {
        let answer = fetches[at];
        (fetches[..at].iter())
            .rfind(|m| m.dir == Direction::Request && m.correlation_id == answer.correlation_id)
            .expect("the request it answers")
    };
    // The first Fetch answered with a record that came in the middle of its
    // wait (the consumer's first fetch finds records waiting: no wait at all).
    let (answered_at, answer) = (fetches.iter().enumerate())
        .filter(|(_, m)| m.dir == Direction::Response && !m.records.is_empty())
        .find(|(at, m)| (200..=400).contains(&(m.sent_ms - request_of(*at).time_ms)))
        .expect("a fetch held until a record came");
    let request = request_of(answered_at);
    let next_request = fetches[answered_at + 1..]
        .iter()
        .find(|m| m.dir == Direction::Request)
        .expect("the next fetch");
    let next_answer = fetches[answered_at + 1..]
        .iter()
        .find(|m| m.dir == Direction::Response && m.correlation_id == next_request.correlation_id)
        .expect("its answer");
    // Held, and answered as soon as the record came, before fetch.max.wait.ms.
    let held_ms = answer.sent_ms - request.time_ms;
    assert!(held_ms < 500, "held {held_ms} ms");
    // What answered it was the producer's record, arriving while it waited.
    let produced = (capture.events.iter()).any(|e| match e {
        Captured::Message(m) => {
            m.kind == "Produce"
                && m.dir == Direction::Request
                && (request.time_ms..=answer.sent_ms).contains(&m.time_ms)
                && m.records.first().map(|r| &r.value) == answer.records.first().map(|r| &r.value)
        }
        _ => false,
    });
    assert!(
        produced,
        "the held fetch returns the record produced meanwhile"
    );
    // The next one finds nothing, and is answered when fetch.max.wait.ms is up.
    assert!(next_answer.records.is_empty());
    assert_eq!(next_answer.sent_ms - next_request.time_ms, 500);
    let (from, to) = (request.time_ms, next_answer.time_ms);
    let producer = (capture.machines.iter())
        .find(|(_, machine)| *machine == "producer-1")
        .map(|(node, _)| node.clone())
        .expect("the producer's client node");
    let keep = |line: &&String| {
        let time_ms = line.split_whitespace().next().and_then(|t| t.parse().ok());
        let in_window = time_ms.is_some_and(|t: u64| from <= t && t <= to);
        let api = [
            "Fetch request",
            "Fetch response",
            "Produce request",
            "Produce response",
        ]
        .iter()
        .any(|api| line.contains(api));
        let client = line.contains(&consumer) || line.contains(&producer);
        in_window && api && client
    };
    let mut out = format!(
        "$ kafkasim replay --seed {SEED} --scenario {IDLE} | awk '$1 >= {from} && $1 <= {to}' | grep -E '(Fetch|Produce) (request|response)' | grep -F -e '{consumer}' -e '{producer}'\n"
    );
    for line in report.run.trace_lines.iter().filter(keep) {
        let _ = writeln!(out, "{line}");
    }
    out
}
