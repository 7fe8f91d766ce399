//! Judging a workload's run: the history checkers for what producers and
//! consumers saw, and each group's processing against the acknowledged sends.

use super::{GroupSpec, Workload};
use crate::check::{processing_anomalies, Anomaly as Processing};
use crate::scenario::worker::Commit;
use crate::scenario::{ConsumedRecord, ScenarioOutcome};
use kafkasim::config::TopicConfig;
use kafkasim::ids::{Offset, TopicPartition};
use kafkasim_check::checkers::{check_all, AllowedAnomalies, AnomalyKind, CheckReport, Config};
use kafkasim_check::checkers::{DeliveryMode, FailureKind};
use kafkasim_check::history::History;
use std::collections::BTreeSet;

/// What a run leaves to judge.
pub(super) struct Judged<'a> {
    pub workload: &'a Workload,
    pub history: &'a History,
    /// Each group, with what its workers processed.
    pub processed: &'a [(&'a GroupSpec, Vec<ConsumedRecord>)],
}

/// What the checkers must know of a workload's settings.
pub fn checker_config(workload: &Workload) -> Config {
    let idempotence = (workload.producers.iter())
        .all(|p| workload.producer_config(p).is_ok_and(|c| c.idempotent()));
    let unclean_leader_election = (workload.topics.iter())
        .filter_map(|t| TopicConfig::from_map(&t.configs).ok())
        .any(|c| c.unclean_leader_election_enable);
    Config {
        acks: workload.weakest_acks(),
        idempotence,
        unclean_leader_election,
        power_loss: workload.has_power_loss(),
        group: workload.groups.first().map(|g| delivery_mode(g.commit)),
    }
}

fn delivery_mode(commit: Commit) -> DeliveryMode {
    match commit {
        Commit::AfterProcessing => DeliveryMode::AtLeastOnce,
        Commit::BeforeProcessing => DeliveryMode::AtMostOnce,
    }
}

/// Fills in the outcome's verdict: a failing anomaly of the history is a
/// correctness failure (a liveness one when it is only unseen writes); a record
/// a group never processed, or a bound the run did not make (`stuck`), is a
/// liveness failure.
pub(super) fn judge(outcome: &mut ScenarioOutcome, judged: Judged<'_>, mut stuck: Vec<String>) {
    let config = checker_config(judged.workload);
    let report = check_all(judged.history, &AllowedAnomalies::for_config(&config));
    for allowed in &report.allowed {
        (outcome.allowed_anomalies)
            .push(format!("{} (allowed: {})", allowed.anomaly, allowed.reason));
    }
    let gone = written_off(&report);
    for (group, processed) in judged.processed {
        let view = ScenarioOutcome {
            sent: (outcome.sent.iter())
                .filter(|s| group.topics.contains(&s.partition.topic))
                .cloned()
                .collect(),
            consumed: processed.clone(),
            ..ScenarioOutcome::default()
        };
        let never = judge_processing(outcome, group, &view, &gone);
        if !never.is_empty() {
            let count = never.len();
            let shown: Vec<String> = never.into_iter().take(5).collect();
            stuck.push(format!(
                "group {}: {count} acknowledged record(s) not processed {} s after the heal: {}",
                group.id,
                judged.workload.liveness_ms / 1000,
                shown.join("; ")
            ));
        }
        outcome.consumed.extend(processed.iter().cloned());
    }
    let failing: Vec<String> = report.failing.iter().map(ToString::to_string).collect();
    match report.failure() {
        Some(FailureKind::Correctness) => outcome.failure = Some(failing.join("; ")),
        Some(FailureKind::Liveness) => stuck.insert(0, failing.join("; ")),
        None => {}
    }
    if !stuck.is_empty() {
        outcome.liveness_failure = Some(stuck.join("; "));
    }
    outcome.history = judged.history.entries();
    outcome.checks = Some(report);
}

/// The acknowledged writes the checkers found lost or never seen: a group
/// cannot have processed those, and that is told once, by the checkers.
fn written_off(report: &CheckReport) -> BTreeSet<(TopicPartition, Offset)> {
    let anomalies = (report.failing.iter()).chain(report.allowed.iter().map(|a| &a.anomaly));
    anomalies
        .filter(|a| matches!(a.kind, AnomalyKind::LostWrite | AnomalyKind::Unseen))
        .flat_map(|a| a.offsets().into_iter().map(|o| (a.partition.clone(), o)))
        .collect()
}

/// Sorts one group's processing anomalies: a record processed twice is allowed;
/// a record never processed is allowed when the group commits before
/// processing, and otherwise returned, to be told as a liveness failure.
fn judge_processing(
    outcome: &mut ScenarioOutcome,
    group: &GroupSpec,
    view: &ScenarioOutcome,
    gone: &BTreeSet<(TopicPartition, Offset)>,
) -> Vec<String> {
    let mut never = Vec::new();
    for anomaly in processing_anomalies(view) {
        let allowed = |why: &str| format!("{anomaly} (allowed for {}: {why})", group.id);
        match (&anomaly, group.commit) {
            (Processing::ProcessedAgain { .. }, Commit::AfterProcessing) => {
                outcome.allowed_anomalies.push(allowed(
                    "at-least-once; a rebalance hands a partition over from its last commit",
                ))
            }
            (Processing::ProcessedAgain { .. }, Commit::BeforeProcessing) => {
                outcome.allowed_anomalies.push(allowed(
                    "a failed commit leaves the next owner to start before what was processed",
                ))
            }
            (
                Processing::NotProcessed {
                    partition, offset, ..
                },
                _,
            ) if gone.contains(&(partition.clone(), *offset)) => {}
            (Processing::NotProcessed { .. }, Commit::BeforeProcessing) => {
                outcome.allowed_anomalies.push(allowed(
                    "at-most-once; a commit before processing skips what a rebalance interrupts",
                ))
            }
            _ => never.push(anomaly.to_string()),
        }
    }
    never
}
