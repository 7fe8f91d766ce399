//! The cluster metadata image: brokers, topics and partitions with their leaders.
//!
//! The controller is the only writer; brokers and clients hold copies that they pull.
//! Every change bumps `version` (KRaft's metadata offset), so a copy can tell
//! whether it is stale. In Kafka the image is rebuilt from the `__cluster_metadata`
//! log; the model ships whole images, which is simpler and carries the same facts.

use crate::config::TopicConfig;
use crate::ids::{BrokerId, LeaderEpoch, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub broker_id: BrokerId,
    /// Given by the controller at registration; a restarted broker gets a new one.
    pub broker_epoch: i64,
    /// The process start that registered (see `BrokerRegistrationRequest`).
    pub incarnation_id: u64,
    /// `host:port` the broker listens on, for display (the seed's broker is on 9092).
    pub listener: String,
    /// A fenced broker missed heartbeats: it leads nothing and is in no ISR.
    pub fenced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub partition: i32,
    /// Assigned replicas in preference order; `replicas[0]` is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// In-sync replicas. Without eligible leader replicas never empty: the last
    /// member stays even when it is down. With them, empty when no member is left.
    pub isr: Vec<BrokerId>,
    /// Eligible leader replicas (KIP-966): replicas out of the ISR that still
    /// hold every committed record, kept while the ISR is below
    /// `min.insync.replicas`. Empty unless `eligible.leader.replicas.version` is 1.
    #[serde(default)]
    pub elr: Vec<BrokerId>,
    /// `None` when no eligible replica is alive (Kafka's leader `-1`).
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    /// Bumped on every change of this partition (leader or ISR).
    pub partition_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopicInfo {
    pub name: String,
    pub config: TopicConfig,
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    pub fn replication_factor(&self) -> usize {
        self.partitions.first().map_or(0, |p| p.replicas.len())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataImage {
    /// Monotonic: every change the controller makes bumps it.
    pub version: u64,
    pub brokers: BTreeMap<BrokerId, BrokerInfo>,
    pub topics: BTreeMap<String, TopicInfo>,
}

impl MetadataImage {
    pub fn partition(&self, tp: &TopicPartition) -> Option<&PartitionInfo> {
        let topic = self.topics.get(&tp.topic)?;
        usize::try_from(tp.partition)
            .ok()
            .and_then(|p| topic.partitions.get(p))
    }

    pub fn partition_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionInfo> {
        let topic = self.topics.get_mut(&tp.topic)?;
        usize::try_from(tp.partition)
            .ok()
            .and_then(|p| topic.partitions.get_mut(p))
    }

    /// All partitions, in topic then partition order.
    pub fn partitions(&self) -> impl Iterator<Item = (TopicPartition, &PartitionInfo)> {
        self.topics.values().flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|p| (TopicPartition::new(topic.name.clone(), p.partition), p))
        })
    }

    pub fn is_live(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).is_some_and(|b| !b.fenced)
    }

    pub fn live_brokers(&self) -> Vec<BrokerId> {
        self.brokers
            .values()
            .filter(|b| !b.fenced)
            .map(|b| b.broker_id)
            .collect()
    }

    /// Consistency rules every image must keep.
    pub fn invariants(&self) {
        for (tp, p) in self.partitions() {
            assert!(
                !p.isr.is_empty() || !p.elr.is_empty() || p.leader.is_none(),
                "{tp}: a partition with a leader has an ISR"
            );
            assert!(
                p.isr.iter().chain(&p.elr).all(|b| p.replicas.contains(b)),
                "{tp}: ISR and ELR within replicas"
            );
            assert!(
                p.elr.iter().all(|b| !p.isr.contains(b)),
                "{tp}: no replica is in both the ISR and the ELR"
            );
            if let Some(leader) = p.leader {
                assert!(p.isr.contains(&leader), "{tp}: the leader is in the ISR");
            }
        }
    }
}
