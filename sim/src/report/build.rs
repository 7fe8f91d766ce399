//! From a captured run to `summary.json`: lanes, fault periods, every replica's
//! log with the records it lost, consumer group generations, and each anomaly
//! linked to the trace events that show it.

use super::{
    AnomalySummary, Commit, FaultPeriod, Generation, GroupReport, LogRecord, NodeSummary,
    PartitionReport, RemovedRecord, ReplicaReport, Summary, VerdictSummary, FORMAT,
};
use crate::render::replay_command;
use crate::run::RunReport;
use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::GroupEvent;
use kafkasim::log::Log;
use kafkasim_check::history::value_text;
use kafkasim_check::{Finding, Kind};
use kafkasim_sim::end::PartitionLogs;
use kafkasim_sim::runtime::Capture as RunCapture;
use kafkasim_sim::trace::{Captured, Direction, Phase, TimelineEvent};
use std::collections::{BTreeMap, BTreeSet};

/// An anomaly links at most this many trace events.
const LINKED_EVENTS_MAX: usize = 300;

/// Builds the summary of a captured run whose history has `history_lines` lines.
pub fn build_summary(report: &RunReport, capture: &RunCapture, history_lines: u64) -> Summary {
    let events = &capture.events;
    let run = &report.run;
    let verdict = report.verdict();
    Summary {
        format: FORMAT.to_string(),
        seed: run.seed,
        scenario: report.scenario.to_string(),
        brokers: run.brokers,
        bugs: report.bugs,
        added_bugs: report.added_bugs,
        verdict: VerdictSummary {
            kind: verdict.name().to_string(),
            failing_kinds: (report.judgement.failing_kinds().iter())
                .map(|k| k.name().to_string())
                .collect(),
            exit_code: verdict.exit_code(),
        },
        replay: replay_command(report),
        messages: run.messages,
        trace_events: run.trace_events,
        simulated_ms: run.simulated_ms,
        trace_hash: format!("{:016x}", run.trace_hash),
        trace_lines: events.len() as u64,
        history_lines,
        goals: (run.goals.iter())
            .map(|(goal, n)| (goal.to_string(), *n))
            .collect(),
        nodes: nodes(run.brokers, capture),
        faults: fault_periods(events),
        anomalies: anomalies(report, capture),
        partitions: partitions(report, capture),
        groups: groups(events),
        timeline: (run.timeline.iter())
            .map(|e| TimelineEvent {
                time_ms: e.time_ms,
                node: e.node.clone(),
                text: e.text.clone(),
            })
            .collect(),
    }
}

/// Sorts node names as lanes: the controller, brokers, then clients, by number.
fn lane_order(name: &str) -> (u8, u64, String) {
    let number = |prefix: &str| name.strip_prefix(prefix).and_then(|n| n.parse().ok());
    if name == "controller" {
        (0, 0, String::new())
    } else if let Some(n) = number("broker-") {
        (1, n, String::new())
    } else if let Some(n) = number("client-") {
        (2, n, String::new())
    } else {
        (3, 0, name.to_string())
    }
}

fn nodes(brokers: u32, capture: &RunCapture) -> Vec<NodeSummary> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.insert("controller".into());
    names.extend((1..=brokers).map(|b| format!("broker-{b}")));
    for event in &capture.events {
        match event {
            Captured::Message(m) => {
                names.insert(m.from.clone());
                names.insert(m.to.clone());
            }
            Captured::Node(n) => {
                names.insert(n.node.clone());
            }
            Captured::Fault(f) => names.extend(f.nodes.iter().cloned()),
            Captured::Timeline(_) => {}
        }
    }
    names.extend(capture.machines.keys().cloned());
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort_by_key(|n| lane_order(n));
    names
        .into_iter()
        .map(|id| {
            let kind = match lane_order(&id).0 {
                0 => "controller",
                1 => "broker",
                _ => "client",
            };
            NodeSummary {
                machine: capture.machines.get(&id).cloned(),
                kind: kind.to_string(),
                id,
            }
        })
        .collect()
}

/// Each fault from its start to its end (they share the fault's id); a fault
/// with no end in the trace (a client crash, a loss that hit its response)
/// lasts to the end.
fn fault_periods(events: &[Captured]) -> Vec<FaultPeriod> {
    let mut periods: Vec<FaultPeriod> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (seq, event) in events.iter().enumerate() {
        let Captured::Fault(fault) = event else {
            continue;
        };
        match fault.phase {
            Phase::Start => {
                open.insert(fault.id, periods.len());
                periods.push(FaultPeriod {
                    kind: fault.action.kind().name().to_string(),
                    nodes: fault.nodes.clone(),
                    client: fault.client.clone(),
                    start_ms: fault.time_ms,
                    end_ms: None,
                    start_seq: seq as u64,
                    end_seq: None,
                    text: fault.text.clone(),
                });
            }
            Phase::End => {
                if let Some(index) = open.remove(&fault.id) {
                    periods[index].end_ms = Some(fault.time_ms);
                    periods[index].end_seq = Some(seq as u64);
                }
            }
        }
    }
    periods
}

/// What one replica's log held over the run, as far as the trace shows it.
#[derive(Default)]
struct Shadow {
    held: BTreeMap<i64, (i32, String)>,
    removed: Vec<RemovedRecord>,
    high_watermarks: Vec<(u64, i64)>,
}

impl Shadow {
    fn put(&mut self, offset: i64, epoch: i32, value: &str, time_ms: u64) {
        if let Some((old_epoch, old_value)) = self.held.get(&offset) {
            if old_value == value {
                return;
            }
            self.removed.push(RemovedRecord {
                offset,
                epoch: *old_epoch,
                value: old_value.clone(),
                time_ms: Some(time_ms),
            });
        }
        self.held.insert(offset, (epoch, value.to_string()));
    }

    fn follower_high_watermark(&mut self, time_ms: u64, high_watermark: i64) {
        if self.high_watermarks.last().map(|&(_, hw)| hw) != Some(high_watermark) {
            self.high_watermarks.push((time_ms, high_watermark));
        }
    }

    fn truncate(&mut self, from: i64, records: i64, time_ms: u64) {
        let gone = self.held.split_off(&from);
        for offset in from..from + records {
            let (epoch, value) = gone.get(&offset).cloned().unwrap_or((-1, "?".to_string()));
            self.removed.push(RemovedRecord {
                offset,
                epoch,
                value,
                time_ms: Some(time_ms),
            });
        }
    }
}

type ReplicaKey = (i32, String);

/// Replays the trace's appends, replica fetches and truncations per replica.
fn shadows(events: &[Captured]) -> BTreeMap<ReplicaKey, Shadow> {
    let mut shadows: BTreeMap<ReplicaKey, Shadow> = BTreeMap::new();
    let mut produced: BTreeMap<ReplicaKey, Vec<String>> = BTreeMap::new();
    let mut epochs: BTreeMap<ReplicaKey, i32> = BTreeMap::new();
    let broker_of = |node: &str| node.strip_prefix("broker-").and_then(|b| b.parse().ok());
    for event in events {
        match event {
            Captured::Message(m) => {
                let Some(broker) = broker_of(&m.to) else {
                    continue;
                };
                match (m.kind.as_str(), m.dir) {
                    ("Produce", Direction::Request) => {
                        for p in &m.partitions {
                            let values = (m.records.iter())
                                .filter(|r| &r.partition == p)
                                .map(|r| r.value.clone())
                                .collect();
                            produced.insert((broker, p.clone()), values);
                        }
                    }
                    ("Fetch", Direction::Response) if broker_of(&m.from).is_some() => {
                        for r in &m.records {
                            (shadows.entry((broker, r.partition.clone())).or_default())
                                .put(r.offset, r.epoch, &r.value, m.time_ms);
                        }
                        // A follower's high watermark: the leader's, capped by
                        // its own log end (Kafka's follower does the same).
                        for (p, &hw) in &m.high_watermarks {
                            let shadow = shadows.entry((broker, p.clone())).or_default();
                            let end = shadow.held.keys().next_back().map_or(0, |o| o + 1);
                            shadow.follower_high_watermark(m.time_ms, hw.min(end));
                        }
                    }
                    _ => {}
                }
            }
            Captured::Node(n) => match &n.event {
                ClusterEvent::BecameLeader {
                    broker,
                    partition,
                    leader_epoch,
                } => {
                    epochs.insert((*broker, partition.to_string()), *leader_epoch);
                }
                ClusterEvent::Appended {
                    broker,
                    partition,
                    base_offset,
                    records,
                } => {
                    let key = (*broker, partition.to_string());
                    let values = produced.remove(&key).unwrap_or_default();
                    if values.len() as i64 == *records {
                        let epoch = epochs.get(&key).copied().unwrap_or(-1);
                        let shadow = shadows.entry(key).or_default();
                        for (i, value) in values.iter().enumerate() {
                            shadow.put(base_offset + i as i64, epoch, value, n.time_ms);
                        }
                    }
                }
                ClusterEvent::Truncated {
                    broker,
                    partition,
                    log_end_offset,
                    records,
                } => {
                    (shadows.entry((*broker, partition.to_string())).or_default()).truncate(
                        *log_end_offset,
                        *records,
                        n.time_ms,
                    );
                }
                ClusterEvent::HighWatermark {
                    broker,
                    partition,
                    high_watermark,
                } => {
                    (shadows.entry((*broker, partition.to_string())).or_default())
                        .high_watermarks
                        .push((n.time_ms, *high_watermark));
                }
                _ => {}
            },
            Captured::Fault(_) | Captured::Timeline(_) => {}
        }
    }
    shadows
}

fn records_of(log: &Log) -> Vec<LogRecord> {
    log.batches()
        .iter()
        .flat_map(|batch| {
            batch.offset_records().map(|(offset, record)| LogRecord {
                offset,
                epoch: batch.partition_leader_epoch,
                value: value_text(&record.value),
            })
        })
        .collect()
}

fn partitions(report: &RunReport, capture: &RunCapture) -> Vec<PartitionReport> {
    let mut shadows = shadows(&capture.events);
    let mut divergence: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finding in &report.judgement.findings {
        if finding.kind == Kind::DivergentReplicas {
            for p in finding.partitions() {
                divergence
                    .entry(p.to_string())
                    .or_default()
                    .push(finding.to_string());
            }
        }
    }
    (capture.logs.iter())
        .map(|p: &PartitionLogs| {
            let name = p.partition.to_string();
            let logs: Vec<ReplicaReport> = (p.replicas.iter())
                .map(|(broker, log)| {
                    let shadow = shadows.remove(&(*broker, name.clone())).unwrap_or_default();
                    replica_report(*broker, log.as_ref(), shadow)
                })
                .collect();
            let leader_log = p
                .info
                .leader
                .and_then(|l| logs.iter().find(|r| r.broker == l && r.present));
            PartitionReport {
                leader: p.info.leader,
                leader_epoch: p.info.leader_epoch,
                isr: p.info.isr.clone(),
                replicas: p.info.replicas.clone(),
                high_watermark: leader_log.map_or(0, |l| l.high_watermark),
                log_end_offset: leader_log.map_or(0, |l| l.log_end_offset),
                divergence: divergence.get(&name).cloned().unwrap_or_default(),
                partition: name,
                logs,
            }
        })
        .collect()
}

fn replica_report(broker: i32, log: Option<&Log>, shadow: Shadow) -> ReplicaReport {
    let records = log.map(records_of).unwrap_or_default();
    let mut removed = shadow.removed;
    // What the trace says the replica held and its log no longer has (a power
    // loss drops unflushed records without an event): removed at an unknown time.
    let now: BTreeMap<i64, &LogRecord> = records.iter().map(|r| (r.offset, r)).collect();
    for (offset, (epoch, value)) in &shadow.held {
        let kept = now.get(offset).is_some_and(|r| &r.value == value);
        let known = removed
            .iter()
            .any(|r| r.offset == *offset && &r.value == value);
        if !kept && !known {
            removed.push(RemovedRecord {
                offset: *offset,
                epoch: *epoch,
                value: value.clone(),
                time_ms: None,
            });
        }
    }
    // A record removed and then fetched again is not lost: drop those.
    removed.retain(|r| now.get(&r.offset).is_none_or(|n| n.value != r.value));
    removed.sort_by_key(|r| (r.offset, r.time_ms));
    removed.dedup();
    ReplicaReport {
        broker,
        present: log.is_some(),
        log_start_offset: log.map_or(0, Log::log_start_offset),
        log_end_offset: log.map_or(0, Log::log_end_offset),
        high_watermark: log.map_or(0, Log::high_watermark),
        records,
        removed,
        high_watermarks: shadow.high_watermarks,
    }
}

fn groups(events: &[Captured]) -> Vec<GroupReport> {
    let mut groups: BTreeMap<String, GroupReport> = BTreeMap::new();
    fn group<'a>(groups: &'a mut BTreeMap<String, GroupReport>, name: &str) -> &'a mut GroupReport {
        groups
            .entry(name.to_string())
            .or_insert_with(|| GroupReport {
                group: name.to_string(),
                generations: vec![],
                commits: vec![],
            })
    }
    fn close(report: &mut GroupReport, time_ms: u64) {
        if let Some(last) = report.generations.last_mut() {
            if last.end_ms.is_none() {
                last.end_ms = Some(time_ms);
            }
        }
    }
    for (seq, event) in events.iter().enumerate() {
        let Captured::Node(node) = event else {
            continue;
        };
        let ClusterEvent::Group(event) = &node.event else {
            continue;
        };
        let t = node.time_ms;
        match event {
            GroupEvent::GenerationStarted {
                group: name,
                generation_id,
                leader,
                members,
            } => {
                let report = group(&mut groups, name);
                close(report, t);
                report.generations.push(Generation {
                    generation_id: *generation_id,
                    leader: leader.clone(),
                    members: (members.iter())
                        .map(|(m, parts)| {
                            (m.clone(), parts.iter().map(|p| p.to_string()).collect())
                        })
                        .collect(),
                    start_ms: t,
                    end_ms: None,
                    seq: seq as u64,
                });
            }
            GroupEvent::RebalanceStarted { group: name, .. } => close(group(&mut groups, name), t),
            GroupEvent::JoinCompleted {
                group: name,
                members,
                ..
            } if members.is_empty() => close(group(&mut groups, name), t),
            GroupEvent::OffsetCommitted {
                group: name,
                member_id,
                generation_id,
                partition,
                offset,
            } => group(&mut groups, name).commits.push(Commit {
                time_ms: t,
                member_id: member_id.clone(),
                generation_id: *generation_id,
                partition: partition.to_string(),
                offset: *offset,
                seq: seq as u64,
            }),
            _ => {}
        }
    }
    groups.into_values().collect()
}

/// Linked events further apart than this belong to different episodes.
const EPISODE_GAP_MS: u64 = 1000;

/// Where an anomaly shows best: of the episodes its events form (runs of
/// events with no gap over `EPISODE_GAP_MS`), the one with the most faults,
/// elections and truncations; the earliest on a tie.
fn focus(events: &[Captured], seqs: &BTreeSet<u64>) -> (u64, u64) {
    let mut best: Option<(usize, u64, u64)> = None;
    let mut episode: Option<(usize, u64, u64)> = None;
    let key = |event: &Captured| match event {
        Captured::Fault(_) => true,
        Captured::Node(n) => matches!(n.kind.as_str(), "LeaderElected" | "Truncated"),
        _ => false,
    };
    let mut close = |episode: Option<(usize, u64, u64)>| {
        if let Some(e) = episode {
            if best.is_none_or(|b| e.0 > b.0) {
                best = Some(e);
            }
        }
    };
    for &seq in seqs {
        let event = &events[seq as usize];
        let t = event.time_ms();
        let weight = usize::from(key(event));
        episode = match episode {
            Some((w, from, to)) if t <= to + EPISODE_GAP_MS => Some((w + weight, from, t)),
            other => {
                close(other);
                Some((weight, t, t))
            }
        };
    }
    close(episode);
    best.map_or((0, 0), |(_, from, to)| (from, to))
}

/// The text of a finding as the page shows it: allowed ones say why.
fn finding_text(finding: &Finding) -> String {
    if !finding.is_allowed() {
        return finding.to_string();
    }
    let reasons: Vec<String> = finding.allowed.iter().map(ToString::to_string).collect();
    format!("{finding} (allowed: {})", reasons.join("; "))
}

/// Every finding of the run, the failing first, each linked to the trace
/// events that show it: the messages carrying its records' values, and what
/// happened to its partitions meanwhile.
fn anomalies(report: &RunReport, capture: &RunCapture) -> Vec<AnomalySummary> {
    let events = &capture.events;
    let judgement = &report.judgement;
    let findings: Vec<&Finding> = judgement.failing().chain(judgement.allowed()).collect();
    let mut found: Vec<AnomalySummary> = Vec::new();
    let mut wanted: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, finding) in findings.iter().enumerate() {
        let values = finding.values();
        for value in &values {
            wanted.entry(value.clone()).or_default().push(index);
        }
        found.push(AnomalySummary {
            kind: finding.kind.name().to_string(),
            allowed: finding.is_allowed(),
            text: finding_text(finding),
            values,
            partitions: finding
                .partitions()
                .iter()
                .map(ToString::to_string)
                .collect(),
            start_ms: 0,
            end_ms: 0,
            focus_start_ms: 0,
            focus_end_ms: 0,
            events: vec![],
        });
    }
    // One pass over the trace: the messages carrying each finding's values.
    let mut linked: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); found.len()];
    if !wanted.is_empty() {
        for (seq, event) in events.iter().enumerate() {
            let Captured::Message(m) = event else {
                continue;
            };
            for record in &m.records {
                for &i in wanted.get(&record.value).into_iter().flatten() {
                    if linked[i].len() < LINKED_EVENTS_MAX {
                        linked[i].insert(seq as u64);
                    }
                }
            }
        }
    }
    let last_ms = events.last().map_or(0, Captured::time_ms);
    for ((anomaly, mut seqs), finding) in found.iter_mut().zip(linked).zip(&findings) {
        let times = seqs.iter().map(|&s| events[s as usize].time_ms());
        let span = match (times.clone().min(), times.max(), finding.span_ms()) {
            (Some(a), Some(b), Some((c, d))) => (a.min(c), b.max(d)),
            (Some(a), Some(b), None) => (a, b),
            (None, None, Some(span)) => span,
            _ => (0, last_ms),
        };
        related_events(events, anomaly, span, &mut seqs);
        if seqs.is_empty() && !events.is_empty() {
            // Nothing names it (a crash, a stuck run): the run's last events.
            let start = events.len().saturating_sub(20);
            seqs.extend((start..events.len()).map(|s| s as u64));
        }
        let times = seqs.iter().map(|&s| events[s as usize].time_ms());
        anomaly.start_ms = times.clone().min().unwrap_or(0);
        anomaly.end_ms = times.max().unwrap_or(0);
        (anomaly.focus_start_ms, anomaly.focus_end_ms) = focus(events, &seqs);
        anomaly.events = seqs.into_iter().collect();
    }
    found
}

/// What happened to a finding's partitions within its time span: elections,
/// ISR changes, truncations, and the faults that caused them.
fn related_events(
    events: &[Captured],
    anomaly: &AnomalySummary,
    span: (u64, u64),
    seqs: &mut BTreeSet<u64>,
) {
    let (from, to) = span;
    for (seq, event) in events.iter().enumerate() {
        if seqs.len() >= LINKED_EVENTS_MAX * 2 {
            break;
        }
        let t = event.time_ms();
        if t < from || t > to {
            continue;
        }
        let related = match event {
            Captured::Node(n) => {
                matches!(
                    n.kind.as_str(),
                    "LeaderElected" | "IsrChanged" | "Truncated" | "BecameLeader"
                ) && n.partitions.iter().any(|p| anomaly.partitions.contains(p))
            }
            Captured::Fault(_) => true,
            _ => false,
        };
        if related {
            seqs.insert(seq as u64);
        }
    }
}
