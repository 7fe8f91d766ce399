//! The ranges of a report's fields, and how its summary agrees with itself and
//! with the trace. Each error names the field (`verdict.exit_code is 99, …`);
//! the caller adds the file.

use super::super::{HistoryLine, Summary, FORMAT};
use crate::render::replay_in;
use kafkasim_check::{FaultKind, Kind, Verdict};
use std::collections::BTreeSet;
use std::str::FromStr as _;

/// Whether `replay` is the command that runs the summary's seed again: the
/// plain command (or a lab's, `lab run NAME`, for a run with a lab's rules),
/// perhaps a longer safety phase, then each added `--bug`.
fn replays(summary: &Summary) -> bool {
    let lab = (summary
        .replay
        .strip_prefix("cargo run --release -- lab run "))
    .and_then(|rest| rest.split(' ').next())
    .filter(|name| is_lab_name(name));
    let plain = replay_in(lab, &summary.scenario, summary.seed, None);
    let Some(mut rest) = summary.replay.strip_prefix(&plain) else {
        return false;
    };
    if let Some(longer) = rest.strip_prefix(" --safety-phase-s ") {
        let digits = longer.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &longer[digits..];
    }
    let flags: String = (summary.added_bugs.iter())
        .map(|bug| format!(" --bug {bug}"))
        .collect();
    rest == flags
}

/// Whether `name` has the form of a lab's name (`high-watermark`): a report
/// is read without the list of labs, which may have grown since it was written.
fn is_lab_name(name: &str) -> bool {
    !name.is_empty()
        && (name.bytes()).all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every check of `summary.json` that needs no other file.
pub(super) fn check_summary(summary: &Summary) -> Result<(), String> {
    if summary.format != FORMAT {
        return Err(format!(
            "format is {:?}, this kafkasim reads {FORMAT:?}",
            summary.format
        ));
    }
    check_verdict(summary)?;
    crate::input::hex_digits("trace_hash", &summary.trace_hash)?;
    if let Some(bug) = summary.added_bugs.iter().find(|b| !summary.bugs.on(*b)) {
        return Err(format!("added_bugs holds {bug}, which bugs does not"));
    }
    if !replays(summary) {
        return Err(format!(
            "replay is {:?}, not the command that runs seed {} of {}",
            summary.replay, summary.seed, summary.scenario
        ));
    }
    if let Some((goal, _)) = summary.goals.iter().find(|(_, &times)| times == 0) {
        return Err(format!(
            "goals.{goal:?} is 0: a goal is listed once reached"
        ));
    }
    check_nodes(summary)?;
    check_faults(summary)?;
    check_anomalies(summary)?;
    check_partitions(summary)?;
    check_groups(summary)
}

/// The verdict's kind is one of the judge's, its exit code the one that verdict
/// exits with, and its failing kinds (each a finding kind, once) give it.
fn check_verdict(summary: &Summary) -> Result<(), String> {
    let verdict = &summary.verdict;
    let kind = Verdict::ALL
        .into_iter()
        .find(|v| v.name() == verdict.kind)
        .ok_or_else(|| format!("verdict.kind is {:?}, not a verdict", verdict.kind))?;
    if verdict.exit_code != kind.exit_code() {
        return Err(format!(
            "verdict.exit_code is {}, but a run with verdict {kind} exits with {}",
            verdict.exit_code,
            kind.exit_code()
        ));
    }
    let mut failing: Vec<Kind> = Vec::new();
    for name in &verdict.failing_kinds {
        let found = Kind::from_str(name).map_err(|why| format!("verdict.failing_kinds: {why}"))?;
        if failing.contains(&found) {
            return Err(format!("verdict.failing_kinds lists {found} twice"));
        }
        failing.push(found);
    }
    let implied = Verdict::of_failing(failing.iter().copied());
    if implied != kind {
        return Err(format!(
            "verdict.kind is {kind}, but its failing_kinds make it {implied}"
        ));
    }
    Ok(())
}

/// The lanes: each once, its kind the one its name says, and every broker of
/// the cluster there.
fn check_nodes(summary: &Summary) -> Result<(), String> {
    let mut ids = BTreeSet::new();
    for (index, node) in summary.nodes.iter().enumerate() {
        let id = node.id.as_str();
        let numbered = |prefix: &str| {
            id.strip_prefix(prefix)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        let kind = match id {
            "controller" => "controller",
            _ if numbered("broker-") => "broker",
            _ => "client",
        };
        if node.kind != kind {
            return Err(format!(
                "nodes[{index}].kind is {:?}, but {id} is a {kind}",
                node.kind
            ));
        }
        if !ids.insert(id) {
            return Err(format!("nodes[{index}]: {id} is listed twice"));
        }
    }
    let brokers = (1..=summary.brokers).map(|b| format!("broker-{b}"));
    for id in std::iter::once("controller".to_string()).chain(brokers) {
        if !ids.contains(id.as_str()) {
            return Err(format!(
                "nodes lacks {id}, a lane of a cluster of {} broker(s)",
                summary.brokers
            ));
        }
    }
    Ok(())
}

fn check_faults(summary: &Summary) -> Result<(), String> {
    for (index, fault) in summary.faults.iter().enumerate() {
        let at = |what: String| Err(format!("faults[{index}].{what}"));
        if !FaultKind::ALL.iter().any(|k| k.name() == fault.kind) {
            return at(format!("kind is {:?}, not a fault kind", fault.kind));
        }
        match (fault.end_ms, fault.end_seq) {
            (None, None) => {}
            (Some(end_ms), Some(end_seq)) => {
                if end_ms < fault.start_ms || end_seq < fault.start_seq {
                    return at(format!(
                        "end_ms {end_ms} (seq {end_seq}) is before its start_ms {} (seq {})",
                        fault.start_ms, fault.start_seq
                    ));
                }
            }
            _ => return at("end_ms and end_seq: one is null, the other not".into()),
        }
    }
    Ok(())
}

/// Each anomaly of a finding kind, its times in order; the failing ones are
/// the verdict's failing kinds.
fn check_anomalies(summary: &Summary) -> Result<(), String> {
    let mut failing = BTreeSet::new();
    for (index, anomaly) in summary.anomalies.iter().enumerate() {
        let at = |what: String| format!("anomalies[{index}].{what}");
        let kind = Kind::from_str(&anomaly.kind).map_err(|why| at(format!("kind: {why}")))?;
        let times = [
            anomaly.start_ms,
            anomaly.focus_start_ms,
            anomaly.focus_end_ms,
            anomaly.end_ms,
        ];
        if times.windows(2).any(|w| w[0] > w[1]) {
            return Err(at(format!(
                "start_ms..end_ms: {} <= {} <= {} <= {} (start, focus start, focus end, end) does not hold",
                times[0], times[1], times[2], times[3]
            )));
        }
        if !anomaly.allowed {
            failing.insert(kind.name());
        }
    }
    let kinds: BTreeSet<&str> = summary
        .verdict
        .failing_kinds
        .iter()
        .map(String::as_str)
        .collect();
    if failing != kinds {
        return Err(format!(
            "anomalies that fail the run are of kinds {failing:?}, but verdict.failing_kinds is {kinds:?}"
        ));
    }
    Ok(())
}

/// Every replica's offsets in order: log start <= high watermark <= log end,
/// its records inside its log, in offset order.
fn check_partitions(summary: &Summary) -> Result<(), String> {
    for (p, partition) in summary.partitions.iter().enumerate() {
        for (r, log) in partition.logs.iter().enumerate() {
            let at = |what: String| Err(format!("partitions[{p}].logs[{r}].{what}"));
            let (start, hw, end) = (log.log_start_offset, log.high_watermark, log.log_end_offset);
            if !(0 <= start && start <= end && 0 <= hw && hw <= end) {
                return at(format!(
                    "high_watermark: log_start_offset {start}, high_watermark {hw}, log_end_offset {end} are out of order"
                ));
            }
            let mut next = start;
            for (i, record) in log.records.iter().enumerate() {
                if record.offset < next || record.offset >= end {
                    return at(format!(
                        "records[{i}].offset is {}, outside {next}..{end} (in order, inside the log)",
                        record.offset
                    ));
                }
                next = record.offset + 1;
            }
        }
    }
    Ok(())
}

/// Each generation ends after it starts.
fn check_groups(summary: &Summary) -> Result<(), String> {
    for (g, group) in summary.groups.iter().enumerate() {
        for (i, generation) in group.generations.iter().enumerate() {
            if generation
                .end_ms
                .is_some_and(|end| end < generation.start_ms)
            {
                return Err(format!(
                    "groups[{g}].generations[{i}].end_ms is before its start_ms {}",
                    generation.start_ms
                ));
            }
        }
    }
    Ok(())
}

/// Every `seq` the summary names is a line of a trace of `trace_lines` lines.
pub(super) fn check_links(summary: &Summary, trace_lines: u64) -> Result<(), String> {
    let past = |field: String, seq: u64| {
        Err(format!(
            "{field} links trace event {seq}, past the trace's end ({trace_lines} lines)"
        ))
    };
    for (index, anomaly) in summary.anomalies.iter().enumerate() {
        if let Some(&seq) = anomaly.events.iter().find(|&&s| s >= trace_lines) {
            return past(format!("anomalies[{index}] ({})", anomaly.kind), seq);
        }
    }
    for (index, fault) in summary.faults.iter().enumerate() {
        for seq in std::iter::once(fault.start_seq).chain(fault.end_seq) {
            if seq >= trace_lines {
                return past(format!("faults[{index}]"), seq);
            }
        }
    }
    for (g, group) in summary.groups.iter().enumerate() {
        let generations = group.generations.iter().map(|x| ("generations", x.seq));
        let commits = group.commits.iter().map(|x| ("commits", x.seq));
        for (field, seq) in generations.chain(commits) {
            if seq >= trace_lines {
                return past(format!("groups[{g}].{field}"), seq);
            }
        }
    }
    Ok(())
}

/// A line of `history.jsonl` beyond its types: `acks` one of Kafka's, offsets
/// not negative, an operation's entry a history entry of its own time and
/// process.
pub(super) fn check_history_line(line: &HistoryLine) -> Result<(), String> {
    match line {
        HistoryLine::Sent { acks, offset, .. } => {
            if !["0", "1", "all"].contains(&acks.as_str()) {
                return Err(format!("acks is {acks:?}, not \"0\", \"1\" or \"all\""));
            }
            not_negative("offset", *offset)
        }
        HistoryLine::Consumed { offset, .. } => not_negative("offset", *offset),
        HistoryLine::SendFailed { .. } => Ok(()),
        HistoryLine::Operation {
            time_ms,
            process,
            entry,
        } => {
            let entry = super::history_entry(entry)?;
            if entry.time_ms() != *time_ms || entry.process() != process {
                return Err(format!(
                    "entry is of process {:?} at {} ms, the line of {process:?} at {time_ms} ms",
                    entry.process(),
                    entry.time_ms()
                ));
            }
            Ok(())
        }
    }
}

fn not_negative(field: &str, value: i64) -> Result<(), String> {
    if value < 0 {
        return Err(format!("{field} is {value}, below 0"));
    }
    Ok(())
}
