//! Reads a report back (`kafkasim report-check DIR`) and checks every file
//! against its documented shape; the first problem is named with its file and
//! line (`trace.jsonl line 17: missing field `time_ms``).
//!
//! A report may come from anywhere, so nothing in it is trusted:
//!
//! - Each file must be a regular file (a symbolic link to one is followed); a
//!   FIFO, a device or a directory is refused before it is opened. A file may
//!   hold at most `REPORT_FILE_BYTES_MAX` bytes, a line of the `.jsonl` files at
//!   most `input::LINE_BYTES_MAX` (16 MiB), and `summary.json` at most
//!   `SUMMARY_BYTES_MAX`; nothing past a bound is read.
//! - Every line, and the summary, must be exactly what kafkasim writes: serde
//!   reads it into the report's types (a field unknown to them, or of the
//!   wrong type, is refused), and writing it again must give the same JSON, so
//!   an unknown field even inside the trace's events is refused.
//! - Then every field's range, and how the files agree (see `fields`): the
//!   verdict against its exit code and failing kinds, hashes as 16 hex digits,
//!   times in order, every `seq` a line of the trace, the line counts.

use super::html::{OVERVIEW_ID, SUMMARY_ID};
use super::{HistoryLine, Summary, TraceLine};
use crate::input::{self, Lines, LINE_BYTES_MAX};
use kafkasim_check::history::Entry;
use kafkasim_sim::trace::Captured;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

mod fields;

/// The largest report file (`trace.jsonl`, `history.jsonl`, `index.html`)
/// `report-check` reads: far past a run of the longest phases kafkasim allows.
pub const REPORT_FILE_BYTES_MAX: u64 = 1 << 30;

/// The largest `summary.json` `report-check` reads (one JSON object, one line,
/// read whole and then as a tree of values, so bounded below the other files;
/// a 3,600 s run's summary, every replica's records included, is about 90 MB).
pub const SUMMARY_BYTES_MAX: u64 = 256 << 20;

/// What a report that checks out holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedReport {
    pub summary: Summary,
    pub trace_lines: u64,
    pub history_lines: u64,
}

/// Checks the report in `dir`: `summary.json`, every line of `trace.jsonl` and
/// `history.jsonl`, how they agree, and that `index.html` embeds the data.
pub fn check_report(dir: &Path) -> Result<CheckedReport, String> {
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => return Err(format!("{}: not a directory", dir.display())),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    let summary_path = dir.join("summary.json");
    let in_summary = |why: String| format!("{}: {why}", summary_path.display());
    let text = input::read_text(&summary_path, SUMMARY_BYTES_MAX)?;
    let summary: Summary = as_written(&text).map_err(in_summary)?;
    fields::check_summary(&summary).map_err(in_summary)?;

    let mut last_ms = 0;
    let mut messages = 0;
    let trace_lines = read_lines(dir, "trace.jsonl", |number, line: &TraceLine| {
        if line.seq != number - 1 {
            return Err(format!("seq is {}, expected {}", line.seq, number - 1));
        }
        last_ms = in_time(line.event.time_ms(), last_ms, summary.simulated_ms)?;
        if let Captured::Message(message) = &line.event {
            if message.sent_ms > message.time_ms {
                return Err(format!(
                    "sent_ms {} is after its delivery at time_ms {}",
                    message.sent_ms, message.time_ms
                ));
            }
            messages += 1;
        }
        Ok(())
    })?;
    let mut last_ms = 0;
    let history_lines = read_lines(dir, "history.jsonl", |_, line: &HistoryLine| {
        last_ms = in_time(line.time_ms(), last_ms, summary.simulated_ms)?;
        fields::check_history_line(line)
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
    if messages != summary.messages {
        return Err(in_summary(format!(
            "messages is {}, but trace.jsonl holds {messages} message line(s)",
            summary.messages
        )));
    }
    fields::check_links(&summary, trace_lines).map_err(in_summary)?;
    check_page(dir)?;
    super::check_chunks(dir, trace_lines)?;
    Ok(CheckedReport {
        summary,
        trace_lines,
        history_lines,
    })
}

/// A line's `time_ms`, which must not be before the line before it, nor after
/// the run's end; the new last time.
fn in_time(time_ms: u64, last_ms: u64, simulated_ms: u64) -> Result<u64, String> {
    if time_ms < last_ms {
        return Err(format!(
            "time_ms {time_ms} is before the previous line's {last_ms}"
        ));
    }
    if time_ms > simulated_ms {
        return Err(format!(
            "time_ms {time_ms} is after the run's end, simulated_ms {simulated_ms}"
        ));
    }
    Ok(time_ms)
}

/// `index.html` names the three data elements the page reads.
fn check_page(dir: &Path) -> Result<(), String> {
    let index = dir.join("index.html");
    let page = input::read_text(&index, REPORT_FILE_BYTES_MAX)?;
    for id in [SUMMARY_ID, OVERVIEW_ID] {
        if !page.contains(&format!("id=\"{id}\"")) {
            return Err(format!("{}: no element {id}", index.display()));
        }
    }
    Ok(())
}

/// Reads the JSON lines of `name` in `dir`; `check` sees each parsed line with
/// its number (from 1) and may refuse it.
fn read_lines<T: DeserializeOwned + Serialize>(
    dir: &Path,
    name: &str,
    mut check: impl FnMut(u64, &T) -> Result<(), String>,
) -> Result<u64, String> {
    let path = dir.join(name);
    let mut count = 0;
    for line in Lines::open(&path, REPORT_FILE_BYTES_MAX, LINE_BYTES_MAX)? {
        let (number, text) =
            line.map_err(|(number, why)| format!("{} line {number}: {why}", path.display()))?;
        let at = |what: String| format!("{} line {number}: {what}", path.display());
        let parsed: T = as_written(&text).map_err(at)?;
        check(number, &parsed).map_err(at)?;
        count = number;
    }
    Ok(count)
}

/// Parses `text` as a `T`, and checks that writing it again gives the same
/// JSON: what serde ignored or filled in (an unknown field, even in a type of
/// another crate) shows up as a difference, named by its path.
pub(super) fn as_written<T: DeserializeOwned + Serialize>(text: &str) -> Result<T, String> {
    let read: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let parsed: T = serde_json::from_value(read.clone()).map_err(|e| e.to_string())?;
    let written = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    match difference(&read, &written, "") {
        Some(why) => Err(why),
        None => Ok(parsed),
    }
}

/// An operation line's `entry`, read as the history entry it is.
pub(super) fn history_entry(entry: &Value) -> Result<Entry, String> {
    let parsed: Entry = serde_json::from_value(entry.clone()).map_err(|e| format!("entry: {e}"))?;
    let written = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    match difference(entry, &written, "entry") {
        Some(why) => Err(why),
        None => Ok(parsed),
    }
}

/// The first place where `read` and `written` differ, as a sentence.
fn difference(read: &Value, written: &Value, path: &str) -> Option<String> {
    let at = |key: &str| match path {
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    match (read, written) {
        (Value::Object(read), Value::Object(written)) => {
            if let Some(key) = read.keys().find(|k| !written.contains_key(*k)) {
                return Some(format!("unknown field `{}`", at(key)));
            }
            if let Some(key) = written.keys().find(|k| !read.contains_key(*k)) {
                return Some(format!("missing field `{}`", at(key)));
            }
            (read.iter()).find_map(|(key, value)| difference(value, &written[key], &at(key)))
        }
        (Value::Array(read), Value::Array(written)) if read.len() == written.len() => {
            (read.iter().zip(written).enumerate())
                .find_map(|(i, (r, w))| difference(r, w, &format!("{path}[{i}]")))
        }
        _ if read == written => None,
        _ => Some(format!(
            "`{path}` is {read}, which kafkasim would write as {written}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_serde_would_skip_is_named_by_its_path() {
        let line = r#"{"time_ms":1,"node":"broker-1","text":"t","colour":"red"}"#;
        let error = as_written::<kafkasim_sim::trace::TimelineEvent>(line).unwrap_err();
        assert_eq!(error, "unknown field `colour`");
        let read = serde_json::json!({"a": [{"b": 1}, {"b": 2, "c": 3}]});
        let written = serde_json::json!({"a": [{"b": 1}, {"b": 2}]});
        assert_eq!(
            difference(&read, &written, "").as_deref(),
            Some("unknown field `a[1].c`")
        );
    }
}
