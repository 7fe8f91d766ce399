//! Run reports: `kafkasim run --report DIR` writes a run as files a browser shows.
//!
//! A report is a directory of these files:
//!
//! - `index.html`: the page (no network access: its script and styles are
//!   inside it) with a message diagram, the partitions' logs, the consumer
//!   groups and the verdict. It works opened from disk (`file://`). It embeds
//!   the summary (without the logs' records and the groups' commits), an
//!   overview of the trace and the trace's first chunk, so it stays a few
//!   megabytes however long the run (a 3,600 s run: under 10 MB); the rest it
//!   loads from the files below with `<script src>` elements, which a page
//!   opened from disk may do. Opened as `index.html#selftest` it checks itself
//!   and writes `PASS …` or `FAIL …` into `<pre id="selftest">`.
//! - `trace.jsonl`: the captured events, one JSON object per line, in the order
//!   they happened.
//! - `chunks/NNNN.js`: the same lines cut into chunks of about 2 MB, numbered
//!   from `0000`, each `kafkasimLoaded("chunks/NNNN", [` then one line per
//!   line (each but the last followed by `,`) then `]);`. Together they hold
//!   every line of `trace.jsonl` once, in order.
//! - `partitions/NNNN.js` and `groups/NNNN.js`: the N-th partition's logs
//!   (`{logs: [{records, removed, high_watermarks}], acked: [values]}`, the
//!   logs in the summary's order, `acked` the values in them a producer saw
//!   acknowledged) and the N-th group's commits (`{commits}`), each
//!   `kafkasimLoaded("partitions/NNNN", {…});` on one line. Those small
//!   enough are inside the page too, so a short run's page needs no other file.
//! - `history.jsonl`: what the scenario's clients saw, one JSON object per line.
//! - `summary.json`: the run, its verdict, its anomalies (each linked to trace
//!   events), faults as time periods, every replica's log at the end, the
//!   consumer groups' generations and commits.
//!
//! In the page and in the script files every `<` inside JSON is written
//! `\u003c`. The overview (`<script type="application/json"
//! id="kafkasim-overview">`, see [`Overview`]) lists the chunks (`{first_seq,
//! lines, start_ms, end_ms}`), the messages delivered per `bucket_ms` of
//! simulated time, the messages of each kind, every partition named, the
//! elections, ISR changes, truncations and rebalances (`marks`), and the trace
//! lines anomalies link to (`linked`, by `seq`, without their records).
//!
//! `kafkasim report-check DIR` reads the data files back and checks every
//! line against the shapes below, naming the first line that fails: each field
//! of its type (an unknown field is refused, at any depth) and its range, as
//! kafkasim writes it (verdicts and finding kinds by `kafkasim_check`'s names,
//! an exit code that is the verdict's, hashes as 16 lowercase hex digits), and
//! the files agreeing with each other (line counts, message count, every
//! `seq` a line of the trace, times within `simulated_ms`, the chunks holding
//! the trace exactly once, in order). It reads regular files only, with
//! bounded lines and sizes (see `check`).
//!
//! ## `trace.jsonl`
//!
//! Every line has `seq` (integer: the line's index, from 0), `time_ms` (integer:
//! simulated milliseconds, never smaller than the line before) and `type`, one of
//! `message`, `node`, `fault`, `timeline`:
//!
//! - `message`, a message delivered: `sent_ms` (integer), `from` and `to` (node
//!   names: `controller`, `broker-N`, `client-N`), `kind` (Kafka's API name:
//!   `Produce`, `Fetch`, …), `dir` (`request` or `response`), `correlation_id`
//!   (integer), `partitions` (array of strings like `users-0`), `text` (string:
//!   the message as `kafkasim replay` prints it, `Produce request (correlation
//!   2): acks=all, …`), and, for Produce requests and Fetch responses only, `records`: an array of
//!   `{partition, offset, epoch, value}` (offset and epoch are -1 in a Produce
//!   request, where the leader has not placed the records yet); optional
//!   `high_watermarks` (`{partition: offset}`), left out when empty.
//! - `node`, something a server did: `node` (string), `kind` (the event's name:
//!   `LeaderElected`, `IsrChanged`, `Truncated`, `Appended`, `HighWatermark`,
//!   `BecameLeader`, `BecameFollower`, `GenerationStarted`, `OffsetCommitted`, …),
//!   `partitions` (array of strings), `text` (string, as `kafkasim replay`
//!   prints the event) and `event` (the model's
//!   `ClusterEvent` as serde writes it, e.g. `{"Truncated":{"broker":2,…}}`).
//! - `fault`, a fault's start or end: `id` (integer: a fault's start and end
//!   share it), `phase` (`start` or `end`), `action` (the fault as a scenario
//!   file writes it, e.g. `{"fault": "crash", "node": "leader of orders-0"}`),
//!   `nodes` (array of the server names it hit: a role resolved when it
//!   started), optional `client` (a client machine's name, e.g. `consumer-2`)
//!   and `text` (string).
//! - `timeline`, a line of the timeline `kafkasim run` prints: `node` and `text`
//!   (strings).
//!
//! ## `history.jsonl`
//!
//! Every line has `time_ms` (integer) and `kind`, in time order; all but
//! `operation` lines have `value` (string):
//! - `operation`: one entry of the client history the checkers read, with
//!   `process` (string) and `entry` (object): `{"invoke": {op, time_ms, process,
//!   operation}}`, `{"complete": {op, time_ms, process, outcome}}` or
//!   `{"event": {time_ms, process, event}}`, as `kafkasim_check::history`
//!   defines them;
//! - `sent`: an acknowledged send, with `partition` (string), `offset` (integer)
//!   and `acks` (`"0"`, `"1"` or `"all"`);
//! - `send_failed`: a send that ended in an error, with `error` (string) and
//!   `ambiguous` (boolean: the write may still have happened);
//! - `consumed`: a record a consumer returned, with `partition` and `offset`.
//!
//! The last three are read from the `operation` lines, for people and the page.
//!
//! ## `summary.json`
//!
//! One object (see [`Summary`] for every field and its type): `format`
//! (`"kafkasim-report/1"`), `seed`, `scenario`, `brokers`, `bugs` and
//! `added_bugs` (the bug switches on, by name, and those `--bug` added: see
//! `kafkasim bugs`), `verdict` (`kind`:
//! `ok`/`correctness`/`liveness`/`crash`, `failing_kinds`: the kinds of the
//! findings that fail it, such as `lost-write`, `exit_code`),
//! `replay`, `messages`, `trace_events`, `simulated_ms`, `trace_hash` (16 hex
//! digits, as `kafkasim run` prints it), `trace_lines` and `history_lines` (how
//! many lines the two other files hold), `goals` (`{goal: times}`), `nodes`
//! (`[{id, kind, machine}]`: every lane of the diagram), `faults` (`[{kind, nodes,
//! client, start_ms, end_ms, start_seq, end_seq, text}]`: `kind` is the fault's
//! kind as a scenario file writes it, `crash`, `power-loss`, `pause`, `isolate`,
//! `link-cut`, `split`, `one-way`, `slow-network`, `flaky-link`,
//! `lost-response`, `stall-api`, `client-cut`, `client-pause` or `client-crash`; `end_ms` is
//! null while it lasts to the end), `anomalies`
//! (`[{kind, allowed, text, values, partitions, start_ms, end_ms, focus_start_ms,
//! focus_end_ms, events}]`: `events` are the `seq`s of the trace lines that show
//! it, `start_ms`..`end_ms` their span, `focus_start_ms`..`focus_end_ms` the
//! episode where it shows best, where a click on it moves the diagram), `partitions`
//! (`[{partition, leader, leader_epoch, isr, replicas, high_watermark,
//! log_end_offset, divergence, logs}]`, each of `logs` being `{broker, present,
//! log_start_offset, log_end_offset, high_watermark, records, removed,
//! high_watermarks}`: `records` `[{offset, epoch, value}]` as the replica holds them
//! at the end, `removed` `[{offset, epoch, value, time_ms}]` the records it held
//! and lost (truncated, or not on its disk after a crash; `time_ms` null when no
//! event says when), `high_watermarks` `[[time_ms, offset]]`), `groups` (`[{group,
//! generations: [{generation_id, leader, members: {member: [partitions]},
//! start_ms, end_ms, seq}], commits: [{time_ms, member_id, generation_id,
//! partition, offset, seq}]}]`) and `timeline` (`[{time_ms, node, text}]`).

mod build;
mod check;
mod chunks;
mod html;
mod write;

pub use build::build_summary;
pub use check::{check_report, CheckedReport};
pub use chunks::{check_chunks, ChunkInfo, Mark, Overview, CHUNK_BYTES_MAX};
pub use write::{write_report, GroupDetail, LogDetail, PartitionDetail, INLINE_BYTES_MAX};

use crate::run::RunReport;
use kafkasim::bugs::Bugs;
use kafkasim_check::history::{ClientEvent, Entry, Operation, Outcome, Reply};
use kafkasim_sim::trace::Captured;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The `format` every summary carries.
pub const FORMAT: &str = "kafkasim-report/1";

/// A line of `trace.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceLine {
    pub seq: u64,
    #[serde(flatten)]
    pub event: Captured,
}

/// A line of `history.jsonl`: what the scenario's clients saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HistoryLine {
    Sent {
        time_ms: u64,
        value: String,
        partition: String,
        offset: i64,
        acks: String,
    },
    SendFailed {
        time_ms: u64,
        value: String,
        error: String,
        ambiguous: bool,
    },
    Consumed {
        time_ms: u64,
        value: String,
        partition: String,
        offset: i64,
    },
    /// One entry of the run's client history (workload scenarios record one):
    /// an invocation, a completion or a consumer event, in Jepsen's shape.
    Operation {
        time_ms: u64,
        process: String,
        entry: serde_json::Value,
    },
}

impl HistoryLine {
    pub fn time_ms(&self) -> u64 {
        match self {
            HistoryLine::Sent { time_ms, .. }
            | HistoryLine::SendFailed { time_ms, .. }
            | HistoryLine::Consumed { time_ms, .. }
            | HistoryLine::Operation { time_ms, .. } => *time_ms,
        }
    }
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub format: String,
    pub seed: u64,
    pub scenario: String,
    pub brokers: u32,
    /// Every bug switch the run had on (`kafkasim bugs`), and those of them
    /// the command line added, which `replay` names again.
    pub bugs: Bugs,
    pub added_bugs: Bugs,
    pub verdict: VerdictSummary,
    pub replay: String,
    pub messages: u64,
    pub trace_events: u64,
    pub simulated_ms: u64,
    pub trace_hash: String,
    pub trace_lines: u64,
    pub history_lines: u64,
    pub goals: BTreeMap<String, u64>,
    pub nodes: Vec<NodeSummary>,
    pub faults: Vec<FaultPeriod>,
    pub anomalies: Vec<AnomalySummary>,
    pub partitions: Vec<PartitionReport>,
    pub groups: Vec<GroupReport>,
    pub timeline: Vec<kafkasim_sim::trace::TimelineEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictSummary {
    /// `ok`, `correctness`, `liveness` or `crash`.
    pub kind: String,
    /// The kinds of the findings that fail the run (empty when it passed).
    pub failing_kinds: Vec<String>,
    pub exit_code: i32,
}

/// A lane of the diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSummary {
    /// `controller`, `broker-N` or `client-N`.
    pub id: String,
    /// `controller`, `broker` or `client`.
    pub kind: String,
    /// The client machine it ran on (`producer`, `consumer-1`), for clients.
    pub machine: Option<String>,
}

/// A fault as a period of time, from its start to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPeriod {
    /// The fault's kind, as a scenario file names it (`crash`, `link-cut`, …).
    pub kind: String,
    pub nodes: Vec<String>,
    pub client: Option<String>,
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    pub start_seq: u64,
    pub end_seq: Option<u64>,
    pub text: String,
}

/// A finding of the run, failing or allowed, with the events that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalySummary {
    /// The finding's kind (`lost-write`, `divergent-replicas`, …).
    pub kind: String,
    /// True for an anomaly Kafka's settings allow; false for a failure.
    pub allowed: bool,
    pub text: String,
    /// The record values it names.
    pub values: Vec<String>,
    pub partitions: Vec<String>,
    /// The span of all its events.
    pub start_ms: u64,
    pub end_ms: u64,
    /// Where it shows best: the episode of its events (a run of them without a
    /// gap of a second) with the most faults, elections and truncations.
    pub focus_start_ms: u64,
    pub focus_end_ms: u64,
    /// The `seq`s of the trace lines that show it.
    pub events: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionReport {
    pub partition: String,
    pub leader: Option<i32>,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    /// The leader's, at the end (0 without a leader).
    pub high_watermark: i64,
    pub log_end_offset: i64,
    pub divergence: Vec<String>,
    pub logs: Vec<ReplicaReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaReport {
    pub broker: i32,
    /// False when the broker had no log for the partition at the end (or was down).
    pub present: bool,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    pub records: Vec<LogRecord>,
    pub removed: Vec<RemovedRecord>,
    /// `[time_ms, high watermark]`, each time it moved.
    pub high_watermarks: Vec<(u64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRecord {
    pub offset: i64,
    pub epoch: i32,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedRecord {
    pub offset: i64,
    pub epoch: i32,
    pub value: String,
    pub time_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupReport {
    pub group: String,
    pub generations: Vec<Generation>,
    pub commits: Vec<Commit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generation {
    pub generation_id: i32,
    pub leader: String,
    pub members: BTreeMap<String, Vec<String>>,
    pub start_ms: u64,
    /// When the next rebalance began (null: it lasted to the end).
    pub end_ms: Option<u64>,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    pub time_ms: u64,
    pub member_id: String,
    pub generation_id: i32,
    pub partition: String,
    pub offset: i64,
    pub seq: u64,
}

/// Why a report could not be written.
#[derive(Debug)]
pub enum ReportError {
    /// The directory exists, holds files, and `--force` was not given.
    NotEmpty(PathBuf),
    /// The file system refused (a path under a regular file, no permission, …).
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The run captured nothing (it was not run with `RunOptions::capture`).
    NotCaptured,
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NotEmpty(dir) => write!(
                f,
                "report directory {} exists and is not empty; pass --force to write into it anyway",
                dir.display()
            ),
            ReportError::Io { path, error } => {
                write!(f, "cannot write the report at {}: {error}", path.display())
            }
            ReportError::NotCaptured => write!(f, "the run captured no events for a report"),
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |error| ReportError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Makes `dir` ready for a report: creates it, or checks it is empty (any
/// content is fine with `force`), and checks a file can be written there.
/// Called before the run, so a bad path fails at once.
pub fn prepare_dir(dir: &Path, force: bool) -> Result<(), ReportError> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(ReportError::Io {
                path: dir.to_path_buf(),
                error: std::io::Error::other("it exists and is not a directory"),
            });
        }
        let mut entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
        if entries.next().is_some() && !force {
            return Err(ReportError::NotEmpty(dir.to_path_buf()));
        }
    } else {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let probe = dir.join(".kafkasim-write-check");
    crate::files::create(&probe, true).map_err(io_error(&probe))?;
    std::fs::remove_file(&probe).map_err(io_error(&probe))?;
    Ok(())
}

/// What a written report holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub index: PathBuf,
    pub trace_lines: u64,
    pub history_lines: u64,
    /// How many chunk files the trace was cut into.
    pub chunks: u64,
    /// The size of `index.html`, in bytes.
    pub html_bytes: u64,
}

/// What the scenario's clients saw, in time order: every history entry, and
/// for the page's convenience its sends, failed sends and the records the
/// groups processed or the final read returned, each as a line of its own.
pub fn history_lines(report: &RunReport) -> Vec<HistoryLine> {
    let mut lines = Vec::new();
    for_each_history_line(report, |line| lines.push(line));
    lines
}

/// `history_lines`, one line at a time, for a writer that should not hold
/// them all.
pub fn for_each_history_line(report: &RunReport, mut emit: impl FnMut(HistoryLine)) {
    let entries = &report.run.history;
    let mut acks: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::Event {
                process,
                event: ClientEvent::Producer { acks: a, .. },
                ..
            } => {
                let text = match a.as_i16() {
                    -1 => "all".to_string(),
                    n => n.to_string(),
                };
                acks.insert(process, text);
            }
            Entry::Event {
                time_ms,
                event: ClientEvent::Processed { record },
                ..
            } => emit(HistoryLine::Consumed {
                time_ms: *time_ms,
                value: record.value.to_string(),
                partition: record.partition.to_string(),
                offset: record.offset,
            }),
            Entry::Complete {
                op,
                time_ms,
                process,
                outcome,
            } => (completed(entries, *op, *time_ms, process, outcome, &acks))
                .into_iter()
                .for_each(&mut emit),
            _ => {}
        }
        emit(HistoryLine::Operation {
            time_ms: entry.time_ms(),
            process: entry.process().to_string(),
            entry: serde_json::to_value(entry).expect("a history entry is plain data"),
        });
    }
}

/// The send or read lines of one completion.
fn completed(
    entries: &[Entry],
    op: kafkasim_check::history::OpId,
    time_ms: u64,
    process: &str,
    outcome: &Outcome,
    acks: &std::collections::BTreeMap<&str, String>,
) -> Vec<HistoryLine> {
    let Entry::Invoke { operation, .. } = &entries[op.index()] else {
        return vec![];
    };
    match (operation, outcome) {
        (Operation::Send { value, .. }, Outcome::Ok(Reply::Sent { partition, offset })) => {
            vec![HistoryLine::Sent {
                time_ms,
                value: value.to_string(),
                partition: partition.to_string(),
                offset: *offset,
                acks: acks.get(process).cloned().unwrap_or_else(|| "all".into()),
            }]
        }
        (Operation::Send { value, .. }, Outcome::Fail { error } | Outcome::Info { error }) => {
            vec![HistoryLine::SendFailed {
                time_ms,
                value: value.to_string(),
                error: error.clone(),
                ambiguous: matches!(outcome, Outcome::Info { .. }),
            }]
        }
        (Operation::Poll { .. }, Outcome::Ok(Reply::Polled { records })) if process == "reader" => {
            (records.iter())
                .map(|r| HistoryLine::Consumed {
                    time_ms,
                    value: r.value.to_string(),
                    partition: r.partition.to_string(),
                    offset: r.offset,
                })
                .collect()
        }
        _ => vec![],
    }
}
