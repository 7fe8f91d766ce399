//! Renders a run report as the text `kafkasim run` prints.
//!
//! On a terminal (and without `NO_COLOR`, see <https://no-color.org>), `run`
//! prints the same text with colours: each timeline line's node by its kind
//! (controller, broker, client, network), faults and their undoing highlighted,
//! the verdict green or red. Anywhere else (a pipe, a file, a test) the text is
//! plain, byte for byte what [`render`] returns.

use crate::run::{RunReport, Verdict};
use std::fmt::Write as _;

/// The replay command for a run, as printed under every report.
pub fn replay_command(report: &RunReport) -> String {
    let longer = report.safety_phase_ms.map_or(String::new(), |ms| {
        format!(" --safety-phase-s {}", ms / 1000)
    });
    format!(
        "cargo run --release -- run --seed {} --scenario {}{longer}",
        report.seed, report.scenario
    )
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

/// The colour of a timeline line's text: faults red, their undoing cyan, what
/// the cluster did about them (truncations, fencing, unclean elections) yellow.
fn text_color(node: &str, text: &str) -> Option<&'static str> {
    let starts = |words: &[&str]| words.iter().any(|w| text.starts_with(w));
    if starts(&["crashed", "paused"])
        || (node == "network" && (text.contains("cut off") || text.contains("lost")))
    {
        Some(RED)
    } else if starts(&["restarted", "resumed"])
        || (node == "network" && text.contains("reconnected"))
    {
        Some(CYAN)
    } else if node == "nemesis"
        || [" truncated ", " fenced:", "UNCLEAN", "no leader available"]
            .iter()
            .any(|w| text.contains(w))
    {
        Some(YELLOW)
    } else {
        None
    }
}

/// A partition holding more records than this is shown by its first and last.
const SHOWN_VALUES_MAX: usize = 20;

/// A partition's records as the report lists them. The coordinator's records
/// in internal topics (`__consumer_offsets`) are counted, not printed; a long
/// partition shows its first and last records around a count.
fn shown_values(p: &crate::run::PartitionSummary) -> String {
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

/// The text `kafkasim run` prints, in `style`.
pub fn render_styled(report: &RunReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kafkasim: scenario {}, seed {}",
        report.scenario, report.seed
    );
    let brokers: Vec<String> = (1..=report.brokers)
        .map(|b| format!("broker-{b}:9092"))
        .collect();
    let _ = writeln!(out, "cluster: controller:9093, {}", brokers.join(", "));
    let _ = writeln!(out);
    let _ = writeln!(out, "timeline (simulated time):");
    for entry in &report.timeline {
        let time = style.paint(DIM, &format!("{:>8} ms", entry.time_ms));
        let node = style.paint(node_color(&entry.node), &format!("{:<10}", entry.node));
        let text = match text_color(&entry.node, &entry.text) {
            Some(color) => style.paint(color, &entry.text),
            None => entry.text.clone(),
        };
        let _ = writeln!(out, "{time}  {node}  {text}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "partitions at the end:");
    for p in &report.partitions {
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
        for line in &p.divergence {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out);
    if !report.outcome.allowed_anomalies.is_empty() {
        let _ = writeln!(out, "anomalies Kafka allows here:");
        for anomaly in &report.outcome.allowed_anomalies {
            let _ = writeln!(out, "  {}", style.paint(YELLOW, anomaly));
        }
        let _ = writeln!(out);
    }
    if !report.goals.is_empty() {
        let reached: Vec<String> = report
            .goals
            .iter()
            .map(|(goal, times)| format!("{goal} ×{times}"))
            .collect();
        let _ = writeln!(out, "reached: {}", reached.join(", "));
    }
    let verdict = match &report.verdict {
        Verdict::Ok => style.paint(GREEN, "ok: every check passed"),
        Verdict::Failed(why) => style.paint(RED, &format!("FAILED (correctness): {why}")),
        Verdict::Stuck(why) => style.paint(RED, &format!("FAILED (liveness): {why}")),
        Verdict::Crash(why) => style.paint(RED, &format!("FAILED (crash): {why}")),
    };
    let _ = writeln!(out, "verdict: {verdict}");
    let _ = writeln!(
        out,
        "run: {} messages delivered, {} trace events, {:.3} s simulated, trace hash {:016x}",
        report.messages,
        report.trace_events,
        report.simulated_ms as f64 / 1000.0,
        report.trace_hash
    );
    let _ = writeln!(out, "replay: {}", replay_command(report));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert_eq!(Style::choose(true, None), Style::Color);
        assert_eq!(Style::choose(true, Some(OsStr::new(""))), Style::Color);
        assert_eq!(Style::choose(true, Some(OsStr::new("1"))), Style::Plain);
        assert_eq!(Style::choose(false, None), Style::Plain);
    }

    #[test]
    fn plain_paint_is_the_text_itself() {
        assert_eq!(Style::Plain.paint(RED, "crashed"), "crashed");
        assert_eq!(
            Style::Color.paint(RED, "crashed"),
            "\x1b[1;31mcrashed\x1b[0m"
        );
    }
}

/// `kafkasim run --json`: the run report as one JSON object on one line, for
/// scripts. `expect` is a scenario file's expectation and whether the run
/// reproduced it.
///
/// Fields: `seed`, `scenario`, `verdict` {`kind` (ok, correctness, liveness,
/// crash), `reason` (string or null), `exit_code`}, `trace_hash` (16 hex digits),
/// `messages`, `trace_events`, `simulated_ms`, `goals` {goal: times reached},
/// `allowed_anomalies` [string], `checks` (the history checkers' `failing` and
/// `allowed` anomalies, or null for a scenario without a history), `partitions`
/// [{`partition`, `leader`, `log_start_offset`, `high_watermark`,
/// `log_end_offset`, `divergence`}], `acknowledged`, `failed_sends`, `consumed`
/// (counts), `expect` ({`kind`, `reproduced`} or null), `replay` (the command).
pub fn render_json(report: &RunReport, expect: Option<(&str, bool)>) -> String {
    use crate::sweep::VerdictKind;
    let kind = VerdictKind::of(&report.verdict);
    let reason = match &report.verdict {
        Verdict::Ok => None,
        Verdict::Failed(why) | Verdict::Stuck(why) | Verdict::Crash(why) => Some(why.clone()),
    };
    let partitions: Vec<serde_json::Value> = (report.partitions.iter())
        .map(|p| {
            serde_json::json!({
                "partition": p.partition.to_string(),
                "leader": p.leader,
                "log_start_offset": p.log_start_offset,
                "high_watermark": p.high_watermark,
                "log_end_offset": p.log_end_offset,
                "divergence": p.divergence,
            })
        })
        .collect();
    let outcome = &report.outcome;
    let value = serde_json::json!({
        "seed": report.seed,
        "scenario": report.scenario,
        "verdict": {
            "kind": kind.name(),
            "reason": reason,
            "exit_code": crate::cli::exit_code(&report.verdict),
        },
        "trace_hash": format!("{:016x}", report.trace_hash),
        "messages": report.messages,
        "trace_events": report.trace_events,
        "simulated_ms": report.simulated_ms,
        "goals": report.goals,
        "allowed_anomalies": outcome.allowed_anomalies,
        "checks": outcome.checks,
        "partitions": partitions,
        "acknowledged": outcome.sent.len(),
        "failed_sends": outcome.failed.len(),
        "consumed": outcome.consumed.len(),
        "expect": expect.map(|(kind, reproduced)| serde_json::json!({"kind": kind, "reproduced": reproduced})),
        "replay": replay_command(report),
    });
    let mut line = serde_json::to_string(&value).expect("a run report is plain data");
    line.push('\n');
    line
}
