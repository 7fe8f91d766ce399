//! The trace as the page reads it: cut into chunks, with an overview of the
//! whole run.
//!
//! A long run's trace is hundreds of megabytes, more than a browser parses in
//! one piece. So the page embeds only an [`Overview`] (where each chunk starts
//! and ends, messages per time bucket, the elections and ISR changes, the
//! events anomalies link to) and the first chunk; every chunk is also a file
//! `chunks/NNNN.js` that the page loads with a `<script src>` element when the
//! diagram's window reaches it. A script element, not `fetch`, because a page
//! opened from disk (`file://`) may run scripts beside it but not read them.
//!
//! A chunk file is JavaScript with one trace line per line, so that
//! `report-check` reads it without a JavaScript parser:
//!
//! ```text
//! kafkasimLoaded("chunks/0007", [
//! {"seq":70213,"time_ms":41500,"type":"message",…},
//! {"seq":70214,…}
//! ]);
//! ```
//!
//! Every `<` in it is written `\u003c`, as in the page.

use super::check::{as_written, REPORT_FILE_BYTES_MAX};
use super::html::embed;
use super::{io_error, ReportError, TraceLine};
use crate::input::{Lines as InputLines, LINE_BYTES_MAX};
use kafkasim_sim::trace::{Captured, NodeEvent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;

/// A chunk closes once it holds this many bytes of JSON (it may exceed them by
/// its last line): small enough for a browser to parse in a blink, large
/// enough that a 3,600 s run needs a few hundred of them.
pub const CHUNK_BYTES_MAX: usize = 2 << 20;

/// The overview counts messages in at most this many time buckets.
pub const BUCKETS_MAX: u64 = 2000;

/// The overview lists at most this many elections, ISR changes and the like.
pub const MARKS_MAX: usize = 20_000;

/// The overview holds at most this many of the trace lines anomalies link
/// to (a run with thousands of findings would otherwise carry them all).
pub const LINKED_MAX: usize = 20_000;

/// The folder of the chunk files, inside the report's directory.
pub const CHUNKS_DIR: &str = "chunks";

/// The name the page knows chunk `n` by; its file is this name plus `.js`.
pub fn chunk_key(n: usize) -> String {
    format!("{CHUNKS_DIR}/{n:04}")
}

/// One chunk: the trace lines `first_seq .. first_seq + lines`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInfo {
    pub first_seq: u64,
    pub lines: u64,
    /// The first and the last line's `time_ms`.
    pub start_ms: u64,
    pub end_ms: u64,
}

/// A server event the overview shows over the whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub seq: u64,
    pub time_ms: u64,
    pub node: String,
    pub kind: String,
    pub partitions: Vec<String>,
}

/// The whole run in little: what the page knows before it loads any chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub chunks: Vec<ChunkInfo>,
    /// The width of a time bucket, and the messages delivered in each.
    pub bucket_ms: u64,
    pub messages: Vec<u64>,
    /// Messages of each kind (`Produce`, `Fetch`, …) over the whole run.
    pub kinds: BTreeMap<String, u64>,
    /// Every partition a trace line names.
    pub partitions: BTreeSet<String>,
    /// Elections, ISR changes, truncations and the like (`MARKS_MAX` at most;
    /// `marks_left_out` says how many more there were).
    pub marks: Vec<Mark>,
    pub marks_left_out: u64,
    /// The trace lines anomalies link to, without their records and model
    /// event, so an anomaly's list reads the same before its chunk is loaded
    /// (the first `LINKED_MAX`; the page lists those it has).
    pub linked: BTreeMap<u64, serde_json::Value>,
}

/// The node events the overview marks: those the diagram draws large.
fn is_mark(kind: &str) -> bool {
    matches!(
        kind,
        "LeaderElected"
            | "IsrChanged"
            | "Truncated"
            | "BrokerFenced"
            | "BrokerUnfenced"
            | "GenerationStarted"
            | "RebalanceStarted"
            | "MemberRemoved"
    )
}

/// What `write_trace` leaves for the page: the overview and the first chunk's
/// JSON array.
pub struct Trace {
    pub overview: Overview,
    pub first_chunk: String,
}

/// Writes `trace.jsonl` and the chunk files, one line at a time, so the
/// writer never holds more than a chunk; `linked` are the `seq`s anomalies
/// link to, `end_ms` where the run ends.
pub fn write_trace(
    dir: &Path,
    events: &[Captured],
    end_ms: u64,
    linked: &BTreeSet<u64>,
) -> Result<Trace, ReportError> {
    let chunks_dir = dir.join(CHUNKS_DIR);
    super::write::make_folder(&chunks_dir)?;
    let trace_path = dir.join("trace.jsonl");
    let mut trace = Lines::create(&trace_path)?;
    let bucket_ms = end_ms.div_ceil(BUCKETS_MAX).max(1);
    let mut overview = Overview {
        chunks: vec![],
        bucket_ms,
        messages: vec![0; (end_ms / bucket_ms + 1) as usize],
        kinds: BTreeMap::new(),
        partitions: BTreeSet::new(),
        marks: vec![],
        marks_left_out: 0,
        linked: BTreeMap::new(),
    };
    let mut chunk = Chunk::default();
    let mut first_chunk = None;
    for (seq, event) in events.iter().enumerate() {
        let line = TraceLine {
            seq: seq as u64,
            event: event.clone(),
        };
        let json = serde_json::to_string(&line).expect("a trace line is plain data");
        trace.line(&json)?;
        overview.count(&line);
        if linked.contains(&line.seq) && overview.linked.len() < LINKED_MAX {
            overview.linked.insert(line.seq, stripped(&line));
        }
        chunk.push(&line, &json);
        if chunk.json.len() >= CHUNK_BYTES_MAX {
            let done = std::mem::take(&mut chunk);
            first_chunk.get_or_insert_with(|| done.json.clone());
            overview
                .chunks
                .push(done.write(&chunks_dir, overview.chunks.len())?);
        }
    }
    if chunk.info.lines > 0 || overview.chunks.is_empty() {
        first_chunk.get_or_insert_with(|| chunk.json.clone());
        overview
            .chunks
            .push(chunk.write(&chunks_dir, overview.chunks.len())?);
    }
    trace.finish()?;
    Ok(Trace {
        overview,
        first_chunk: format!("[{}]", first_chunk.unwrap_or_default()),
    })
}

impl Overview {
    fn count(&mut self, line: &TraceLine) {
        match &line.event {
            Captured::Message(m) => {
                let bucket = (m.time_ms / self.bucket_ms) as usize;
                if bucket >= self.messages.len() {
                    self.messages.resize(bucket + 1, 0);
                }
                self.messages[bucket] += 1;
                *self.kinds.entry(m.kind.clone()).or_default() += 1;
                self.partitions.extend(m.partitions.iter().cloned());
            }
            Captured::Node(n) => {
                self.partitions.extend(n.partitions.iter().cloned());
                if is_mark(&n.kind) {
                    self.mark(line.seq, n);
                }
            }
            Captured::Fault(_) | Captured::Timeline(_) => {}
        }
    }

    fn mark(&mut self, seq: u64, event: &NodeEvent) {
        if self.marks.len() >= MARKS_MAX {
            self.marks_left_out += 1;
            return;
        }
        self.marks.push(Mark {
            seq,
            time_ms: event.time_ms,
            node: event.node.clone(),
            kind: event.kind.clone(),
            partitions: event.partitions.clone(),
        });
    }
}

/// A trace line without what only its details show (records, the model's
/// event), for the overview's `linked`.
fn stripped(line: &TraceLine) -> serde_json::Value {
    let mut value = serde_json::to_value(line).expect("a trace line is plain data");
    if let Some(object) = value.as_object_mut() {
        for bulky in ["records", "event", "high_watermarks"] {
            object.remove(bulky);
        }
    }
    value
}

/// The chunk being filled: its lines as the inside of a JSON array.
#[derive(Default)]
struct Chunk {
    info: ChunkInfo,
    json: String,
}

impl Chunk {
    fn push(&mut self, line: &TraceLine, json: &str) {
        let time_ms = line.event.time_ms();
        if self.info.lines == 0 {
            self.info.first_seq = line.seq;
            self.info.start_ms = time_ms;
        } else {
            self.json.push_str(",\n");
        }
        self.info.lines += 1;
        self.info.end_ms = time_ms;
        embed(json, &mut self.json);
    }

    /// Writes `chunks/NNNN.js`; returns what the overview says of it.
    fn write(self, chunks_dir: &Path, n: usize) -> Result<ChunkInfo, ReportError> {
        let key = chunk_key(n);
        let path = chunks_dir.join(format!("{n:04}.js"));
        let lines = if self.json.is_empty() {
            String::new()
        } else {
            self.json + "\n"
        };
        let text = format!("kafkasimLoaded(\"{key}\", [\n{lines}]);\n");
        crate::files::write(&path, text.as_bytes(), true).map_err(io_error(&path))?;
        Ok(self.info)
    }
}

/// A JSON-lines file written one line at a time.
pub struct Lines {
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl Lines {
    pub fn create(path: &Path) -> Result<Lines, ReportError> {
        let file = crate::files::create(path, true).map_err(io_error(path))?;
        Ok(Lines {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
        })
    }

    pub fn line(&mut self, json: &str) -> Result<(), ReportError> {
        (self.out.write_all(json.as_bytes()))
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(io_error(&self.path))
    }

    pub fn finish(mut self) -> Result<(), ReportError> {
        self.out.flush().map_err(io_error(&self.path))
    }
}

/// Checks that the chunk files hold the trace exactly once, in order: chunk
/// `n` continues where chunk `n - 1` ended, every line parses as a trace line
/// with the `seq` that follows, and the last ends at `trace_lines`.
pub fn check_chunks(dir: &Path, trace_lines: u64) -> Result<u64, String> {
    let chunks_dir = dir.join(CHUNKS_DIR);
    let mut next_seq = 0;
    let mut n = 0;
    loop {
        let path = chunks_dir.join(format!("{n:04}.js"));
        if !path.exists() {
            break;
        }
        next_seq = check_chunk(&path, n, next_seq)?;
        n += 1;
    }
    if n == 0 {
        return Err(format!("{}: no chunk file", chunks_dir.display()));
    }
    if next_seq != trace_lines {
        return Err(format!(
            "{}: the chunks hold {next_seq} trace line(s), but trace.jsonl holds {trace_lines}",
            chunks_dir.display()
        ));
    }
    Ok(n as u64)
}

/// Checks one chunk file, whose first line must have `seq` `first_seq`;
/// returns the `seq` the next chunk starts with.
fn check_chunk(path: &Path, n: usize, first_seq: u64) -> Result<u64, String> {
    let mut lines = InputLines::open(path, REPORT_FILE_BYTES_MAX, LINE_BYTES_MAX)?;
    let mut read = |_: usize| match lines.next() {
        Some(Ok((_, line))) => Ok(Some(line)),
        Some(Err((number, why))) => Err(format!("{} line {number}: {why}", path.display())),
        None => Ok(None),
    };
    let header = format!("kafkasimLoaded(\"{}\", [", chunk_key(n));
    if read(1)?.as_deref() != Some(header.as_str()) {
        return Err(format!("{} line 1: expected {header}", path.display()));
    }
    let mut seq = first_seq;
    let mut number = 2;
    let mut closed = false;
    while let Some(line) = read(number)? {
        let at = |what: String| format!("{} line {number}: {what}", path.display());
        if closed {
            return Err(at("text after the chunk's end".into()));
        }
        if line == "]);" {
            closed = true;
        } else {
            let json = line.strip_suffix(',').unwrap_or(&line);
            let parsed: TraceLine = as_written(json).map_err(at)?;
            if parsed.seq != seq {
                return Err(at(format!("seq is {}, expected {seq}", parsed.seq)));
            }
            seq += 1;
        }
        number += 1;
    }
    if !closed {
        return Err(format!("{}: cut short (no closing `]);`)", path.display()));
    }
    Ok(seq)
}
