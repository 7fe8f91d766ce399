//! Divergent replicas: two copies of a partition that disagree below the leader's
//! high watermark.
//!
//! Every replica of a partition must hold the same committed prefix (the
//! `committed-prefix-agreement` rule of `checkers.md`): what is below the high
//! watermark was acknowledged under the ISR rules, and no rule of Kafka's lets a
//! replica keep another value there. The check reads the logs at the end of a
//! run, after the liveness phase put every replica back in sync, so a follower
//! that has not truncated yet is not mistaken for a divergent one.
//!
//! Two drivers read the logs: the simulator in place on its brokers, and
//! `kafkasim serve` from the copies its brokers hand over when it stops. Both
//! compare them through [`divergent_replicas`], over [`ReplicaLogs`].

use crate::history::value_text;
use kafkasim::ids::{BrokerId, Offset, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::MetadataImage;
use kafkasim::record::Data;
use serde::{Deserialize, Serialize};

/// One replica that disagrees with the leader at `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Divergence {
    pub partition: TopicPartition,
    pub leader: BrokerId,
    pub replica: BrokerId,
    /// The first offset where they differ.
    pub offset: Offset,
    /// The replica's value there.
    pub replica_value: String,
    /// The leader's value there.
    pub leader_value: String,
}

/// Where each follower disagrees with the leader's committed records: one entry
/// per divergent follower, at the first offset where they differ.
pub fn replica_divergence(
    partition: &TopicPartition,
    leader: (BrokerId, &Log),
    followers: &[(BrokerId, &Log)],
) -> Vec<Divergence> {
    fn values(log: &Log) -> Vec<&Option<Data>> {
        log.batches()
            .iter()
            .flat_map(|b| b.records.iter().map(|r| &r.value))
            .collect()
    }
    let (leader_id, leader_log) = leader;
    let committed = values(leader_log);
    let high_watermark = leader_log.high_watermark() as usize;
    let mut found = Vec::new();
    for (id, log) in followers {
        let theirs = values(log);
        let end = high_watermark.min(theirs.len()).min(committed.len());
        if let Some(offset) = (0..end).find(|&o| theirs[o] != committed[o]) {
            found.push(Divergence {
                partition: partition.clone(),
                leader: leader_id,
                replica: *id,
                offset: offset as Offset,
                replica_value: value_text(theirs[offset]),
                leader_value: value_text(committed[offset]),
            });
        }
    }
    found
}

/// Where the replicas' logs are read at the end of a run.
pub trait ReplicaLogs {
    /// Reads `broker`'s log of `tp`: `None` when the broker is down, unknown
    /// or holds no log of `tp`.
    fn with_log<R>(
        &self,
        broker: BrokerId,
        tp: &TopicPartition,
        read: impl FnOnce(&Log) -> R,
    ) -> Option<R>;
}

/// Every replica of every partition in `image` that disagrees with its
/// partition's leader below the leader's high watermark. A partition without
/// a leader, or whose leader's log cannot be read, is not compared.
pub fn divergent_replicas(image: &MetadataImage, logs: &impl ReplicaLogs) -> Vec<Divergence> {
    let mut found = Vec::new();
    for (tp, p) in image.partitions() {
        let Some(leader) = p.leader else {
            continue;
        };
        let on_leader = logs.with_log(leader, &tp, |leader_log| {
            let mut found = Vec::new();
            for &follower in p.replicas.iter().filter(|&&b| b != leader) {
                logs.with_log(follower, &tp, |log| {
                    found.extend(replica_divergence(
                        &tp,
                        (leader, leader_log),
                        &[(follower, log)],
                    ))
                });
            }
            found
        });
        found.extend(on_leader.unwrap_or_default());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkasim::record::RecordBatch;

    #[test]
    fn replicas_that_disagree_below_the_high_watermark_are_divergent() {
        let tp = TopicPartition::new("t", 0);
        let mut leader = Log::default();
        leader.append_as_leader(RecordBatch::from_values(&["m1", "m3"]), 1, 0);
        leader.set_high_watermark(2);
        let mut same = Log::default();
        same.append_as_leader(RecordBatch::from_values(&["m1", "m3"]), 1, 0);
        let mut other = Log::default();
        other.append_as_leader(RecordBatch::from_values(&["m1", "m2"]), 0, 0);
        assert_eq!(
            replica_divergence(&tp, (2, &leader), &[(3, &same), (1, &other)]),
            vec![Divergence {
                partition: tp.clone(),
                leader: 2,
                replica: 1,
                offset: 1,
                replica_value: "m2".into(),
                leader_value: "m3".into(),
            }]
        );
    }

    #[test]
    fn a_follower_that_lacks_the_tail_is_not_divergent() {
        let tp = TopicPartition::new("t", 0);
        let mut leader = Log::default();
        leader.append_as_leader(RecordBatch::from_values(&["m1", "m2"]), 0, 0);
        leader.set_high_watermark(2);
        let mut behind = Log::default();
        behind.append_as_leader(RecordBatch::from_values(&["m1"]), 0, 0);
        assert!(replica_divergence(&tp, (1, &leader), &[(2, &behind)]).is_empty());
    }
}
