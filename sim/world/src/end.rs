//! The end of a run: each partition as its leader has it, each replica's log
//! for a report, and the replicas compared (divergent replicas are findings).
//!
//! The logs are read in place, on the brokers that hold them: copying every
//! replica's log at the end of every run cost more than the comparison itself.

use crate::cluster::Cluster;
use kafkasim::ids::{BrokerId, Offset, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::PartitionInfo;
use kafkasim_check::divergence::replica_divergence;
use kafkasim_check::{Detail, Finding, Kind};

/// What one partition looks like on its leader at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSummary {
    pub partition: TopicPartition,
    pub leader: Option<BrokerId>,
    pub log_start_offset: Offset,
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
    pub values: Vec<String>,
}

/// One partition at the end of a run: the controller's view and every replica's log.
#[derive(Debug, Clone)]
pub struct PartitionLogs {
    pub partition: TopicPartition,
    pub info: PartitionInfo,
    /// Each assigned replica's log (`None`: the broker has none, or is down).
    pub replicas: Vec<(BrokerId, Option<Log>)>,
}

/// Every partition as its leader has it now (empty when it has no leader).
pub fn summarize(cluster: &Cluster) -> Vec<PartitionSummary> {
    let image = cluster.metadata();
    image
        .partitions()
        .map(|(tp, p)| {
            let empty = PartitionSummary {
                partition: tp.clone(),
                leader: p.leader,
                log_start_offset: 0,
                high_watermark: 0,
                log_end_offset: 0,
                values: vec![],
            };
            let on_leader = p.leader.and_then(|leader| {
                cluster.with_log(leader, &tp, |log| PartitionSummary {
                    log_start_offset: log.log_start_offset(),
                    high_watermark: log.high_watermark(),
                    log_end_offset: log.log_end_offset(),
                    values: (log.batches().iter())
                        .flat_map(|b| b.records.iter().map(|r| r.value.clone()))
                        .collect(),
                    ..empty.clone()
                })
            });
            on_leader.unwrap_or(empty)
        })
        .collect()
}

/// Every replica that disagrees with its partition's leader below the leader's
/// high watermark, as a `divergent-replicas` finding.
pub fn divergence_findings(cluster: &Cluster) -> Vec<Finding> {
    let image = cluster.metadata();
    let mut findings = Vec::new();
    for (tp, p) in image.partitions() {
        let Some(leader) = p.leader else {
            continue;
        };
        let found = cluster.with_log(leader, &tp, |leader_log| {
            let mut found = Vec::new();
            for &follower in p.replicas.iter().filter(|&&b| b != leader) {
                cluster.with_log(follower, &tp, |log| {
                    found.extend(replica_divergence(
                        &tp,
                        (leader, leader_log),
                        &[(follower, log)],
                    ))
                });
            }
            found
        });
        let divergent = found.unwrap_or_default().into_iter();
        findings.extend(
            divergent.map(|d| Finding::new(Kind::DivergentReplicas, Detail::Divergence(d))),
        );
    }
    findings
}

/// Every replica's log of every partition, for a report.
pub fn replica_logs(cluster: &Cluster) -> Vec<PartitionLogs> {
    let image = cluster.metadata();
    image
        .partitions()
        .map(|(tp, info)| PartitionLogs {
            replicas: (info.replicas.iter())
                .map(|&b| (b, cluster.log(b, &tp)))
                .collect(),
            info: info.clone(),
            partition: tp,
        })
        .collect()
}
