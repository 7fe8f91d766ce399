//! Renders a run report as the text `kafkasim run` prints.
//!
//! On a terminal (and without `NO_COLOR`, see <https://no-color.org>), `run`
//! prints the same text with colours: each timeline line's node by its kind
//! (controller, broker, client, network), faults and their undoing highlighted,
//! the verdict green or red. Anywhere else (a pipe, a file, a test) the text is
//! plain, byte for byte what [`render`] returns.

use crate::run::RunReport;
use kafkasim::bugs::Bugs;
use kafkasim_check::history::{ClientEvent, Entry, Operation, Outcome, Reply};
use kafkasim_check::{Finding, Kind, Verdict};
use kafkasim_sim::trace::Tone;
use std::fmt::Write as _;

/// The replay command for a run, as printed under every report.
pub fn replay_command(report: &RunReport) -> String {
    let (scenario, seed) = (&report.scenario, report.seed());
    let mut command = replay_in(report.lab, scenario, seed, report.safety_phase_ms);
    for bug in report.added_bugs.iter() {
        let _ = write!(command, " --bug {bug}");
    }
    command
}

/// The command that runs `scenario` with `seed` again.
pub fn replay(scenario: &str, seed: u64, safety_phase_ms: Option<u64>) -> String {
    replay_in(None, scenario, seed, safety_phase_ms)
}

/// The command that runs `scenario` with `seed` again, with the rules of
/// `lab` when it had a lab's (`kafkasim lab run NAME`).
pub fn replay_in(
    lab: Option<&str>,
    scenario: &str,
    seed: u64,
    safety_phase_ms: Option<u64>,
) -> String {
    let longer = safety_phase_ms.map_or(String::new(), |ms| {
        format!(" --safety-phase-s {}", ms / 1000)
    });
    let command = match lab {
        Some(lab) => format!("lab run {lab}"),
        None => "run".to_string(),
    };
    format!("cargo run --release -- {command} --seed {seed} --scenario {scenario}{longer}")
}

/// `bugs: kip-101 (KIP-101, KAFKA-1211; fixed in 0.11)`: the switches a run had
/// on, one line, or nothing when none was.
fn bugs_line(bugs: Bugs) -> Option<String> {
    if bugs.is_empty() {
        return None;
    }
    let each: Vec<String> = (bugs.iter())
        .map(|bug| {
            let about = bug.about();
            let when = match about.fixed_in {
                Some(version) => format!("fixed in {version}"),
                None => "a guard removed".to_string(),
            };
            format!("{} ({}; {when})", about.name, about.source)
        })
        .collect();
    Some(format!("bugs switched on: {}", each.join(", ")))
}

/// Plain text, or text with ANSI colours for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

impl Style {
    /// Colours when `terminal` and the `NO_COLOR` variable (`no_color`) is unset
    /// or empty.
    pub fn choose(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        if terminal && no_color.is_none_or(|v| v.is_empty()) {
            Style::Color
        } else {
            Style::Plain
        }
    }

    /// `text` in the SGR colour `code`; `text` itself when plain.
    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Style::Plain => text.to_string(),
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

const DIM: &str = "2";
const RED: &str = "1;31";
const YELLOW: &str = "33";
const GREEN: &str = "32";
const BLUE: &str = "34";
const MAGENTA: &str = "35";
const CYAN: &str = "36";

/// The colour of a timeline line's node column, by the node's kind.
fn node_color(node: &str) -> &'static str {
    if node == "controller" {
        MAGENTA
    } else if node.starts_with("broker-") {
        BLUE
    } else if node == "network" || node == "nemesis" {
        YELLOW
    } else {
        GREEN
    }
}

/// The colour of a timeline line's text, by its tone: faults red, their
/// undoing cyan, what the cluster did about them (truncations, fencing,
/// unclean elections) and the nemesis's plan yellow.
fn tone_color(tone: Tone) -> Option<&'static str> {
    match tone {
        Tone::Plain => None,
        Tone::Fault => Some(RED),
        Tone::Recovery => Some(CYAN),
        Tone::Notice => Some(YELLOW),
    }
}

/// A partition holding more records than this is shown by its first and last.
const SHOWN_VALUES_MAX: usize = 20;

/// A partition's records as the report lists them. The coordinator's records
/// in internal topics (`__consumer_offsets`) are counted, not printed; a long
/// partition shows its first and last records around a count.
fn shown_values(p: &kafkasim_sim::end::PartitionSummary) -> String {
    let values = &p.values;
    if p.partition.topic.starts_with("__") {
        format!("{} coordinator records", values.len())
    } else if values.len() > SHOWN_VALUES_MAX {
        let edge = SHOWN_VALUES_MAX / 4;
        format!(
            "{}, … {} more …, {}",
            values[..edge].join(", "),
            values.len() - 2 * edge,
            values[values.len() - edge..].join(", ")
        )
    } else {
        values.join(", ")
    }
}

/// The text `kafkasim run` prints, plain.
pub fn render(report: &RunReport) -> String {
    render_styled(report, Style::Plain)
}

/// At most this many findings of each sort are listed; the JSON has them all.
const FINDINGS_SHOWN_MAX: usize = 20;

/// The text `kafkasim run` prints, in `style`.
pub fn render_styled(report: &RunReport, style: Style) -> String {
    let run = &report.run;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kafkasim: scenario {}, seed {}",
        report.scenario, run.seed
    );
    let brokers: Vec<String> = (1..=run.brokers)
        .map(|b| format!("broker-{b}:9092"))
        .collect();
    let _ = writeln!(out, "cluster: controller:9093, {}", brokers.join(", "));
    if report.bugs_hidden {
        let line = "bugs switched on: hidden (a bug hunt: which of `kafkasim bugs` is it?)";
        let _ = writeln!(out, "{}", style.paint(YELLOW, line));
    } else if let Some(line) = bugs_line(report.bugs) {
        let _ = writeln!(out, "{}", style.paint(YELLOW, &line));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "timeline (simulated time):");
    for entry in &run.timeline {
        let time = style.paint(DIM, &format!("{:>8} ms", entry.time_ms));
        let node = style.paint(node_color(&entry.node), &format!("{:<10}", entry.node));
        let text = match tone_color(entry.tone) {
            Some(color) => style.paint(color, &entry.text),
            None => entry.text.clone(),
        };
        let _ = writeln!(out, "{time}  {node}  {text}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "partitions at the end:");
    for p in &run.partitions {
        let leader = p
            .leader
            .map_or("none".to_string(), |l| format!("broker-{l}"));
        let _ = writeln!(
            out,
            "  {:<10} leader {:<9} offsets {}..{}  high watermark {}  [{}]",
            p.partition.to_string(),
            leader,
            p.log_start_offset,
            p.log_end_offset,
            p.high_watermark,
            shown_values(p)
        );
    }
    let _ = writeln!(out);
    let judgement = &report.judgement;
    let allowed: Vec<&Finding> = judgement.allowed().collect();
    if !allowed.is_empty() {
        let _ = writeln!(out, "anomalies Kafka allows here:");
        for finding in shown(&allowed) {
            let reasons: Vec<String> = finding.allowed.iter().map(ToString::to_string).collect();
            let line = format!("{finding} (allowed: {})", reasons.join("; "));
            let _ = writeln!(out, "  {}", style.paint(YELLOW, &line));
        }
        more(&mut out, allowed.len());
        let _ = writeln!(out);
    }
    let failing: Vec<&Finding> = judgement.failing().collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "findings that fail the run:");
        for finding in shown(&failing) {
            let _ = writeln!(out, "  {}", style.paint(RED, &finding.to_string()));
        }
        more(&mut out, failing.len());
        let _ = writeln!(out);
    }
    if !run.goals.is_empty() {
        let reached: Vec<String> = run
            .goals
            .iter()
            .map(|(goal, times)| format!("{goal} ×{times}"))
            .collect();
        let _ = writeln!(out, "reached: {}", reached.join(", "));
    }
    let _ = writeln!(out, "verdict: {}", verdict_line(report, style));
    let _ = writeln!(
        out,
        "run: {} messages delivered, {} trace events, {:.3} s simulated, trace hash {:016x}",
        run.messages,
        run.trace_events,
        run.simulated_ms as f64 / 1000.0,
        run.trace_hash
    );
    let _ = writeln!(out, "replay: {}", replay_command(report));
    out
}

/// The first findings of a list, as many as are shown.
fn shown<'a>(findings: &'a [&'a Finding]) -> impl Iterator<Item = &'a Finding> {
    findings.iter().take(FINDINGS_SHOWN_MAX).copied()
}

fn more(out: &mut String, count: usize) {
    if count > FINDINGS_SHOWN_MAX {
        let _ = writeln!(
            out,
            "  … and {} more (all of them in --json)",
            count - FINDINGS_SHOWN_MAX
        );
    }
}

/// `ok: every check passed`, or the failure's class and the kinds that fail it.
fn verdict_line(report: &RunReport, style: Style) -> String {
    let verdict = report.verdict();
    if verdict == Verdict::Ok {
        return style.paint(GREEN, "ok: every check passed");
    }
    let kinds: Vec<&str> = (report.judgement.failing_kinds().into_iter())
        .map(Kind::name)
        .collect();
    style.paint(RED, &format!("FAILED ({verdict}): {}", kinds.join(", ")))
}

/// What a run's clients did, counted from its history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Sends acknowledged (`acks=0` sends included).
    pub acknowledged: usize,
    /// Sends refused or of unknown outcome.
    pub failed_sends: usize,
    /// Records the consumer groups' applications processed.
    pub processed: usize,
    /// Records the final read returned.
    pub read_back: usize,
}

impl Counts {
    pub fn of(history: &[Entry]) -> Counts {
        let mut counts = Counts::default();
        for entry in history {
            match entry {
                Entry::Complete {
                    op,
                    outcome,
                    process,
                    ..
                } => {
                    let is_send = matches!(
                        &history[op.index()],
                        Entry::Invoke {
                            operation: Operation::Send { .. },
                            ..
                        }
                    );
                    match outcome {
                        Outcome::Ok(Reply::Sent { .. }) => counts.acknowledged += 1,
                        Outcome::Ok(Reply::Polled { records }) if process == "reader" => {
                            counts.read_back += records.len()
                        }
                        Outcome::Fail { .. } | Outcome::Info { .. } if is_send => {
                            counts.failed_sends += 1
                        }
                        _ => {}
                    }
                }
                Entry::Event {
                    event: ClientEvent::Processed { .. },
                    ..
                } => counts.processed += 1,
                _ => {}
            }
        }
        counts
    }
}

/// A finding as JSON: its fields, the facts derived from them, and its text.
pub fn finding_json(finding: &Finding) -> serde_json::Value {
    let reasons: Vec<String> = finding.allowed.iter().map(ToString::to_string).collect();
    serde_json::json!({
        "kind": finding.kind,
        "class": finding.kind.class(),
        "allowed": finding.allowed,
        "reasons": reasons,
        "text": finding.to_string(),
        "partitions": finding.partitions().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "offsets": finding.offsets(),
        "values": finding.values(),
        "nodes": finding.nodes(),
        "span_ms": finding.span_ms(),
        "detail": finding.detail,
    })
}

/// `kafkasim run --json`: the run report as one JSON object on one line, for
/// scripts. `expect` is a scenario file's expectation and whether the run
/// reproduced it.
///
/// Fields: `seed`, `scenario`, `verdict` {`kind` (ok, correctness, liveness,
/// crash), `failing_kinds` (the kinds that fail it), `exit_code`}, `trace_hash`
/// (16 hex digits), `messages`, `trace_events`, `simulated_ms`, `goals` {goal:
/// times reached}, `findings` [{`kind`, `class`, `allowed` (the allowances'
/// names; empty: it fails the run), `reasons`, `text`, `partitions`, `offsets`,
/// `values`, `nodes`, `span_ms`, `detail`}], `partitions` [{`partition`,
/// `leader`, `log_start_offset`, `high_watermark`, `log_end_offset`}],
/// `acknowledged`, `failed_sends`, `processed`, `read_back` (counts), `schedule`
/// (the faults a workload carried out, or null), `expect` ({`kind`,
/// `reproduced`} or null), `replay` (the command).
pub fn render_json(report: &RunReport, expect: Option<(Kind, bool)>) -> String {
    let run = &report.run;
    let verdict = report.verdict();
    let partitions: Vec<serde_json::Value> = (run.partitions.iter())
        .map(|p| {
            serde_json::json!({
                "partition": p.partition.to_string(),
                "leader": p.leader,
                "log_start_offset": p.log_start_offset,
                "high_watermark": p.high_watermark,
                "log_end_offset": p.log_end_offset,
            })
        })
        .collect();
    let findings: Vec<serde_json::Value> =
        report.judgement.findings.iter().map(finding_json).collect();
    let counts = Counts::of(&run.history);
    let value = serde_json::json!({
        "seed": run.seed,
        "scenario": report.scenario,
        "bugs": report.bugs,
        "verdict": {
            "kind": verdict,
            "failing_kinds": report.judgement.failing_kinds(),
            "exit_code": verdict.exit_code(),
        },
        "trace_hash": format!("{:016x}", run.trace_hash),
        "messages": run.messages,
        "trace_events": run.trace_events,
        "simulated_ms": run.simulated_ms,
        "goals": run.goals,
        "findings": findings,
        "partitions": partitions,
        "acknowledged": counts.acknowledged,
        "failed_sends": counts.failed_sends,
        "processed": counts.processed,
        "read_back": counts.read_back,
        "schedule": report.schedule,
        "expect": expect.map(|(kind, reproduced)| serde_json::json!({"kind": kind, "reproduced": reproduced})),
        "replay": replay_command(report),
    });
    let mut line = serde_json::to_string(&value).expect("a run report is plain data");
    line.push('\n');
    line
}

/// `1 job`, `2 jobs`: a count and its noun, in the plural but for one.
pub fn counted(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests;
