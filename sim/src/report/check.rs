//! Reads a report back (`kafkasim report-check DIR`) and checks every file
//! against its documented shape; the first problem is named with its file and
//! line (`trace.jsonl line 17: missing field `time_ms``).

use super::html::{OVERVIEW_ID, SUMMARY_ID};
use super::{HistoryLine, Summary, TraceLine, FORMAT};
use std::io::BufRead as _;
use std::path::Path;

/// What a report that checks out holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedReport {
    pub summary: Summary,
    pub trace_lines: u64,
    pub history_lines: u64,
}

/// Reads the JSON lines of `name` in `dir`; `check` sees each parsed line with
/// its number (from 1) and may refuse it.
fn read_lines<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    mut check: impl FnMut(u64, &T) -> Result<(), String>,
) -> Result<u64, String> {
    let path = dir.join(name);
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut count = 0;
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let number = index as u64 + 1;
        let at = |what: String| format!("{} line {number}: {what}", path.display());
        let line = line.map_err(|e| at(e.to_string()))?;
        let parsed: T = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        check(number, &parsed).map_err(at)?;
        count = number;
    }
    Ok(count)
}

/// Checks the report in `dir`: `summary.json`, every line of `trace.jsonl` and
/// `history.jsonl`, and that `index.html` embeds the data.
pub fn check_report(dir: &Path) -> Result<CheckedReport, String> {
    let summary_path = dir.join("summary.json");
    let text = std::fs::read_to_string(&summary_path)
        .map_err(|e| format!("{}: {e}", summary_path.display()))?;
    let summary: Summary =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", summary_path.display()))?;
    if summary.format != FORMAT {
        return Err(format!(
            "{}: format is {:?}, this kafkasim reads {FORMAT:?}",
            summary_path.display(),
            summary.format
        ));
    }
    let mut last_ms = 0;
    let trace_lines = read_lines(dir, "trace.jsonl", |number, line: &TraceLine| {
        if line.seq != number - 1 {
            return Err(format!("seq is {}, expected {}", line.seq, number - 1));
        }
        let time_ms = line.event.time_ms();
        if time_ms < last_ms {
            return Err(format!(
                "time_ms {time_ms} is before the previous line's {last_ms}"
            ));
        }
        last_ms = time_ms;
        Ok(())
    })?;
    let mut last_ms = 0;
    let history_lines = read_lines(dir, "history.jsonl", |_, line: &HistoryLine| {
        let time_ms = line.time_ms();
        if time_ms < last_ms {
            return Err(format!(
                "time_ms {time_ms} is before the previous line's {last_ms}"
            ));
        }
        last_ms = time_ms;
        Ok(())
    })?;
    for (name, lines, expected) in [
        ("trace.jsonl", trace_lines, summary.trace_lines),
        ("history.jsonl", history_lines, summary.history_lines),
    ] {
        if lines != expected {
            return Err(format!(
                "{}: {lines} line(s), but summary.json says {expected} (a truncated file?)",
                dir.join(name).display()
            ));
        }
    }
    for anomaly in &summary.anomalies {
        if let Some(seq) = anomaly.events.iter().find(|&&s| s >= trace_lines) {
            return Err(format!(
                "{}: anomaly {:?} links trace event {seq}, past the trace's end",
                summary_path.display(),
                anomaly.kind
            ));
        }
    }
    let index = dir.join("index.html");
    let page = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    super::check_chunks(dir, trace_lines)?;
    for id in [SUMMARY_ID, OVERVIEW_ID] {
        if !page.contains(&format!("id=\"{id}\"")) {
            return Err(format!("{}: no element {id}", index.display()));
        }
    }
    Ok(CheckedReport {
        summary,
        trace_lines,
        history_lines,
    })
}
