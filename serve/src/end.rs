//! What a stopping server can judge on its own: each partition as the
//! controller and the replicas left it, and `kafkasim-check`'s findings.
//!
//! When `kafkasim serve` stops, every node hands over what it holds (`hub`'s
//! `Control::Stop`): the brokers their disks, the controller its metadata
//! image. From those this module builds an [`End`]: the partitions (leader,
//! ISR, and each replica's log end offset and high watermark) and a
//! [`Judgement`] made of what the checking crate finds without a client
//! history: the replica and group invariants, fed every node event while the
//! server ran (`kafkasim_check::invariants`, as the simulator's trace feeds
//! them), and the replicas that disagree with their leader below its high
//! watermark (`kafkasim_check::divergence::divergent_replicas`, the
//! function the end of a simulated run calls). No rule is made here.
//!
//! What it leaves out: the history checkers (`lost-write`, `poll-skip`, …)
//! need what the clients saw, and a real client's history never reaches the
//! server. And where the simulator compares the replicas after a liveness
//! phase has put every one back in sync, a server stopped at any moment may
//! hold a follower that has not yet truncated after a leader change; the
//! comparison below the high watermark keeps a follower that merely lags from
//! being reported, but one stopped in the middle of its truncation can be.
//! The kinds found here are allowed under no settings (`kafkasim_check::
//! allowed`), so the judgement needs no configuration.

use kafkasim::disk::Disk;
use kafkasim::group::offsets_topic::OFFSETS_TOPIC;
use kafkasim::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::MetadataImage;
use kafkasim_check::divergence::{divergent_replicas, ReplicaLogs};
use kafkasim_check::{Finding, Judgement, Verdict};
use std::collections::BTreeMap;
use std::fmt;

/// One replica's log when the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEnd {
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
}

/// One assigned replica of a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaEnd {
    pub broker: BrokerId,
    /// `None`: the broker was down, or holds no log of the partition.
    pub log: Option<LogEnd>,
}

/// One partition, as the controller's metadata and its replicas left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionEnd {
    pub partition: TopicPartition,
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub replicas: Vec<ReplicaEnd>,
}

/// What the server saw of itself when it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    /// Milliseconds since the server started.
    pub at_ms: u64,
    /// Every partition, in order; `None` when the controller was down, so no
    /// metadata says which partitions there are.
    pub partitions: Option<Vec<PartitionEnd>>,
    /// The nodes whose process was down.
    pub down: Vec<NodeId>,
    /// The invariants' violations, then the divergent replicas.
    pub judgement: Judgement,
}

impl End {
    /// The verdict of what the server could judge: `ok` or `correctness`.
    pub fn verdict(&self) -> Verdict {
        self.judgement.verdict()
    }
}

/// The brokers' logs as they handed them over.
struct StoppedLogs(BTreeMap<BrokerId, BTreeMap<TopicPartition, Log>>);

impl ReplicaLogs for StoppedLogs {
    fn with_log<R>(
        &self,
        broker: BrokerId,
        tp: &TopicPartition,
        read: impl FnOnce(&Log) -> R,
    ) -> Option<R> {
        self.0.get(&broker)?.get(tp).map(read)
    }
}

/// Builds the end from what each node handed over (`None`: its process was
/// down) and the invariants' violations seen while serving.
pub(crate) fn build(
    at_ms: u64,
    image: Option<&MetadataImage>,
    disks: BTreeMap<NodeId, Option<Disk>>,
    violations: Vec<Finding>,
) -> End {
    let down: Vec<NodeId> = (disks.iter())
        .filter(|(_, disk)| disk.is_none())
        .map(|(&node, _)| node)
        .collect();
    let logs = StoppedLogs(
        (disks.into_iter())
            .filter_map(|(node, disk)| match (node, disk) {
                (NodeId::Broker(id), Some(disk)) => Some((id, disk.logs)),
                _ => None,
            })
            .collect(),
    );
    let mut findings = violations;
    if let Some(image) = image {
        findings.extend(
            divergent_replicas(image, &logs)
                .into_iter()
                .map(Finding::from),
        );
    }
    let partitions = image.map(|image| partitions(image, &logs));
    End {
        at_ms,
        partitions,
        down,
        judgement: Judgement { findings },
    }
}

fn partitions(image: &MetadataImage, logs: &StoppedLogs) -> Vec<PartitionEnd> {
    (image.partitions())
        .map(|(tp, info)| PartitionEnd {
            replicas: (info.replicas.iter())
                .map(|&broker| ReplicaEnd {
                    broker,
                    log: logs.with_log(broker, &tp, |log| LogEnd {
                        log_start_offset: log.log_start_offset(),
                        log_end_offset: log.log_end_offset(),
                        high_watermark: log.high_watermark(),
                    }),
                })
                .collect(),
            partition: tp,
            leader: info.leader,
            leader_epoch: info.leader_epoch,
            isr: info.isr.clone(),
        })
        .collect()
}

/// The end as lines for a person: the partitions of the user's topics (the
/// internal `__consumer_offsets` ones counted, not listed), then the verdict
/// and each finding's sentence.
impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "stopped after {:.3}s", self.at_ms as f64 / 1000.0)?;
        for node in &self.down {
            writeln!(f, "{node} was down")?;
        }
        match &self.partitions {
            None => writeln!(f, "partitions: unknown, the controller was down")?,
            Some(partitions) => write_partitions(f, partitions)?,
        }
        let failing = self.judgement.failing().count();
        write!(
            f,
            "judged from the server side (invariants, replica divergence; no client history): {}",
            self.verdict()
        )?;
        if failing > 0 {
            write!(f, ", {failing} finding(s)")?;
        }
        for finding in &self.judgement.findings {
            write!(f, "\n  {finding}")?;
        }
        Ok(())
    }
}

fn write_partitions(f: &mut fmt::Formatter<'_>, partitions: &[PartitionEnd]) -> fmt::Result {
    let internal = |p: &&PartitionEnd| p.partition.topic == OFFSETS_TOPIC;
    if partitions.is_empty() {
        writeln!(f, "no topics")?;
    }
    for p in partitions.iter().filter(|p| !internal(p)) {
        match p.leader {
            Some(leader) => write!(f, "{}: leader broker-{leader}", p.partition)?,
            None => write!(f, "{}: no leader", p.partition)?,
        }
        writeln!(f, ", leader epoch {}, isr {:?}", p.leader_epoch, p.isr)?;
        for replica in &p.replicas {
            match replica.log {
                Some(log) => writeln!(
                    f,
                    "  broker-{}: log end offset {}, high watermark {}{}",
                    replica.broker,
                    log.log_end_offset,
                    log.high_watermark,
                    match log.log_start_offset {
                        0 => String::new(),
                        start => format!(", log start offset {start}"),
                    }
                )?,
                None => writeln!(
                    f,
                    "  broker-{}: no log (down or not created)",
                    replica.broker
                )?,
            }
        }
    }
    let hidden = partitions.iter().filter(internal).count();
    if hidden > 0 {
        writeln!(f, "{OFFSETS_TOPIC}: {hidden} partition(s), not listed")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkasim::config::TopicConfig;
    use kafkasim::metadata::{PartitionInfo, TopicInfo};
    use kafkasim::record::RecordBatch;
    use kafkasim_check::divergence::Divergence;
    use kafkasim_check::{Detail, Kind};

    fn disk(values: &[&str], leader_epoch: LeaderEpoch, high_watermark: Offset) -> Option<Disk> {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(values), leader_epoch, 0);
        log.set_high_watermark(high_watermark);
        let mut disk = Disk::default();
        disk.logs.insert(TopicPartition::new("t", 0), log);
        Some(disk)
    }

    fn image(leader: BrokerId, replicas: Vec<BrokerId>) -> MetadataImage {
        let partition = PartitionInfo {
            partition: 0,
            isr: replicas.clone(),
            replicas,
            elr: vec![],
            leader: Some(leader),
            leader_epoch: 1,
            partition_epoch: 1,
        };
        let topic = TopicInfo {
            name: "t".into(),
            config: TopicConfig::default(),
            partitions: vec![partition],
        };
        let mut image = MetadataImage::default();
        image.topics.insert("t".into(), topic);
        image
    }

    #[test]
    fn two_replicas_that_disagree_below_the_high_watermark_are_a_correctness_finding() {
        let disks = BTreeMap::from([
            (NodeId::Controller, Some(Disk::default())),
            (NodeId::Broker(1), disk(&["m1", "m3"], 1, 2)),
            (NodeId::Broker(2), disk(&["m1", "m2"], 0, 1)),
        ]);
        let end = build(10, Some(&image(1, vec![1, 2])), disks, vec![]);
        assert_eq!(end.verdict(), Verdict::Correctness);
        assert_eq!(
            end.judgement.findings,
            vec![Finding::new(
                Kind::DivergentReplicas,
                Detail::Divergence(Divergence {
                    partition: TopicPartition::new("t", 0),
                    leader: 1,
                    replica: 2,
                    offset: 1,
                    replica_value: "m2".into(),
                    leader_value: "m3".into(),
                })
            )]
        );
        let partitions = end.partitions.expect("the controller was up");
        let logs: Vec<_> = partitions[0].replicas.iter().map(|r| r.log).collect();
        assert_eq!(
            logs,
            vec![
                Some(LogEnd {
                    log_start_offset: 0,
                    log_end_offset: 2,
                    high_watermark: 2
                }),
                Some(LogEnd {
                    log_start_offset: 0,
                    log_end_offset: 2,
                    high_watermark: 1
                }),
            ]
        );
    }

    #[test]
    fn a_down_follower_is_listed_as_down_and_not_compared() {
        let disks = BTreeMap::from([
            (NodeId::Controller, Some(Disk::default())),
            (NodeId::Broker(1), disk(&["m1", "m3"], 1, 2)),
            (NodeId::Broker(2), None),
        ]);
        let end = build(10, Some(&image(1, vec![1, 2])), disks, vec![]);
        assert_eq!(end.verdict(), Verdict::Ok);
        assert_eq!(end.down, vec![NodeId::Broker(2)]);
        let partitions = end.partitions.expect("the controller was up");
        assert_eq!(partitions[0].replicas[1].log, None);
    }
}
