//! The end of a run: each partition as its leader has it, each replica's log
//! for a report, and the replicas compared (divergent replicas are findings).
//!
//! The logs are read in place, on the brokers that hold them: copying every
//! replica's log at the end of every run cost more than the comparison itself.

use crate::cluster::Cluster;
use kafkasim::ids::{BrokerId, Offset, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::PartitionInfo;
use kafkasim_check::divergence::{divergent_replicas, ReplicaLogs};
use kafkasim_check::history::value_text;
use kafkasim_check::Finding;

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
                        .flat_map(|b| b.records.iter().map(|r| value_text(&r.value)))
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
    let found = divergent_replicas(&cluster.metadata(), cluster);
    found.into_iter().map(Finding::from).collect()
}

/// The brokers' logs, read in place.
impl ReplicaLogs for Cluster {
    fn with_log<R>(
        &self,
        broker: BrokerId,
        tp: &TopicPartition,
        read: impl FnOnce(&Log) -> R,
    ) -> Option<R> {
        Cluster::with_log(self, broker, tp, read)
    }
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
