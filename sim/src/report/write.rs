//! Writing a report: every file is written as it is made, a line or a chunk
//! at a time, so the writer holds the run and its summary but never a whole
//! file (a 3,600 s run's trace alone is close to 700 MB of JSON). Each file
//! goes through `crate::files`: one already there is replaced, and a link in
//! its place is replaced by a file, never written through.
//!
//! Besides the trace's chunks, two kinds of detail the page loads when it
//! shows them: `partitions/NNNN.js`, every replica's records, removed records
//! and high watermarks of the N-th partition of `summary.json` with the values
//! a producer saw acknowledged; and `groups/NNNN.js`, the N-th group's
//! commits. Each is `kafkasimLoaded("partitions/0003", {…});` on one line.
//! Those that fit in `INLINE_BYTES_MAX` are inside the page too, so a short
//! run's page needs no other file.

use super::chunks::{self, chunk_key, Lines};
use super::html::{self, embed, Page};
use super::{
    for_each_history_line, io_error, Commit, HistoryLine, LogRecord, RemovedRecord, ReportError,
    Summary, Written,
};
use crate::report::build_summary;
use crate::run::RunReport;
use kafkasim_sim::trace::Captured;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

/// The page embeds partition and group details up to this many bytes of JSON
/// in all; larger ones it loads from their files.
pub const INLINE_BYTES_MAX: usize = 8 << 20;

/// One partition's logs as the page loads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionDetail {
    /// In the order of the partition's `logs` in the summary.
    pub logs: Vec<LogDetail>,
    /// The values in these logs that a producer saw acknowledged.
    pub acked: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogDetail {
    pub records: Vec<LogRecord>,
    pub removed: Vec<RemovedRecord>,
    pub high_watermarks: Vec<(u64, i64)>,
}

/// One group's commits as the page loads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub commits: Vec<Commit>,
}

/// Writes the report of a run made with `RunOptions::capture` into `dir`
/// (made ready by `prepare_dir`); files already there are replaced.
pub fn write_report(dir: &Path, report: &RunReport) -> Result<Written, ReportError> {
    let capture = (report.run.capture.as_ref()).ok_or(ReportError::NotCaptured)?;
    let (history_lines, acked) = write_history(&dir.join("history.jsonl"), report)?;
    let mut summary = build_summary(report, capture, history_lines);
    write_summary(&dir.join("summary.json"), &summary)?;

    let linked: BTreeSet<u64> = (summary.anomalies.iter())
        .flat_map(|a| a.events.iter().copied())
        .collect();
    let last_ms = capture.events.last().map_or(0, Captured::time_ms);
    let end_ms = summary.simulated_ms.max(last_ms).max(1);
    let trace = chunks::write_trace(dir, &capture.events, end_ms, &linked)?;
    let mut inline = vec![(chunk_key(0), trace.first_chunk)];
    write_details(dir, &mut summary, &acked, &mut inline)?;

    let summary_json = serde_json::to_string(&summary).expect("a summary is plain data");
    let overview_json = serde_json::to_string(&trace.overview).expect("an overview is plain data");
    let index = dir.join("index.html");
    let page = Page {
        summary: &summary,
        summary_json: &summary_json,
        overview_json: &overview_json,
        inline: &inline,
    };
    let file = crate::files::create(&index, true).map_err(io_error(&index))?;
    let mut out = std::io::BufWriter::new(file);
    (html::write_page(&mut out, &page))
        .and_then(|()| out.flush())
        .map_err(io_error(&index))?;
    let html_bytes = std::fs::metadata(&index).map_err(io_error(&index))?.len();
    Ok(Written {
        index,
        trace_lines: capture.events.len() as u64,
        history_lines,
        chunks: trace.overview.chunks.len() as u64,
        html_bytes,
    })
}

/// Writes `history.jsonl`; returns how many lines it holds and the values a
/// producer saw acknowledged.
fn write_history(path: &Path, report: &RunReport) -> Result<(u64, BTreeSet<String>), ReportError> {
    let mut file = Lines::create(path)?;
    let mut lines = 0;
    let mut acked = BTreeSet::new();
    let mut result = Ok(());
    for_each_history_line(report, |line| {
        if let HistoryLine::Sent { value, .. } = &line {
            acked.insert(value.clone());
        }
        if result.is_ok() {
            let json = serde_json::to_string(&line).expect("a history line is plain data");
            result = file.line(&json);
            lines += 1;
        }
    });
    result?;
    file.finish()?;
    Ok((lines, acked))
}

fn write_summary(path: &Path, summary: &Summary) -> Result<(), ReportError> {
    let file = crate::files::create(path, true).map_err(io_error(path))?;
    let mut out = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut out, summary)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(io_error(path))
}

/// Moves the partitions' logs and the groups' commits out of `summary` into
/// their detail files, and into `inline` while they fit.
fn write_details(
    dir: &Path,
    summary: &mut Summary,
    acked: &BTreeSet<String>,
    inline: &mut Vec<(String, String)>,
) -> Result<(), ReportError> {
    let mut budget = INLINE_BYTES_MAX;
    for (n, partition) in summary.partitions.iter_mut().enumerate() {
        let logs: Vec<LogDetail> = (partition.logs.iter_mut())
            .map(|log| LogDetail {
                records: std::mem::take(&mut log.records),
                removed: std::mem::take(&mut log.removed),
                high_watermarks: std::mem::take(&mut log.high_watermarks),
            })
            .collect();
        let values = logs.iter().flat_map(|log| {
            (log.records.iter().map(|r| &r.value)).chain(log.removed.iter().map(|r| &r.value))
        });
        let acked: BTreeSet<&String> = values.filter(|v| acked.contains(*v)).collect();
        let detail = PartitionDetail {
            acked: acked.into_iter().cloned().collect(),
            logs,
        };
        write_detail(
            dir,
            &detail_key("partitions", n),
            &detail,
            &mut budget,
            inline,
        )?;
    }
    for (n, group) in summary.groups.iter_mut().enumerate() {
        let detail = GroupDetail {
            commits: std::mem::take(&mut group.commits),
        };
        write_detail(dir, &detail_key("groups", n), &detail, &mut budget, inline)?;
    }
    Ok(())
}

/// The name the page knows a detail by; its file is this name plus `.js`.
pub fn detail_key(folder: &str, n: usize) -> String {
    format!("{folder}/{n:04}")
}

fn write_detail(
    dir: &Path,
    key: &str,
    detail: &impl Serialize,
    budget: &mut usize,
    inline: &mut Vec<(String, String)>,
) -> Result<(), ReportError> {
    let json = serde_json::to_string(detail).expect("a detail is plain data");
    let path = dir.join(format!("{key}.js"));
    if let Some(folder) = path.parent() {
        make_folder(folder)?;
    }
    let mut text = format!("kafkasimLoaded(\"{key}\", ");
    embed(&json, &mut text);
    text.push_str(");\n");
    crate::files::write(&path, text.as_bytes(), true).map_err(io_error(&path))?;
    if json.len() <= *budget {
        *budget -= json.len();
        inline.push((key.to_string(), json));
    }
    Ok(())
}

/// Creates a folder of the report (`chunks`, `partitions`, `groups`) unless it
/// is there; a link in its place is refused, as `crate::files` refuses to
/// write through one.
pub(super) fn make_folder(folder: &Path) -> Result<(), ReportError> {
    match std::fs::symlink_metadata(folder) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(ReportError::Io {
            path: folder.to_path_buf(),
            error: std::io::Error::other("it exists and is not a directory"),
        }),
        Err(_) => std::fs::create_dir(folder).map_err(io_error(folder)),
    }
}
