//! Renders a run report as the text `kafkasim run` prints.

use crate::run::{RunReport, Verdict};
use std::fmt::Write as _;

/// The replay command for a run, as printed under every report.
pub fn replay_command(report: &RunReport) -> String {
    format!(
        "cargo run --release -- run --seed {} --scenario {}",
        report.seed, report.scenario
    )
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

pub fn render(report: &RunReport) -> String {
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
        let _ = writeln!(
            out,
            "{:>8} ms  {:<10}  {}",
            entry.time_ms, entry.node, entry.text
        );
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
            let _ = writeln!(out, "  {anomaly}");
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
        Verdict::Ok => "ok: every check passed".to_string(),
        Verdict::Failed(why) => format!("FAILED (correctness): {why}"),
        Verdict::Stuck(why) => format!("FAILED (liveness): {why}"),
        Verdict::Crash(why) => format!("FAILED (crash): {why}"),
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
