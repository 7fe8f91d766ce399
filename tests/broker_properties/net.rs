//! The cluster under test in `broker_properties`: three brokers and the
//! controller on the test network, and the steps run on them.

use super::checker::{entries, log_of, partition, Checked, Checker};
use super::{orders_0, Rules, Step, Who, BROKERS, CLIENT, FINAL_SETTLE_MS, TOPIC};
use kafkasim::config::BrokerConfig;
use kafkasim::disk::CrashKind;
use kafkasim::ids::{BrokerId, NodeId};
use kafkasim::log::Log;
use kafkasim::metadata::PartitionInfo;
use kafkasim::protocol::*;
use kafkasim::record::RecordBatch;
use kafkasim::testing::{Cluster, Delivery};
use std::collections::BTreeSet;

/// The cluster under test, on the shared test network, with the checker that
/// watches every handler and every delivery.
pub(super) struct Net {
    cluster: Cluster,
    pub(super) checker: Checker,
    next_value: usize,
}

impl Net {
    fn broker_config(rules: Rules, id: BrokerId) -> BrokerConfig {
        let mut config = BrokerConfig::new(id);
        config.bugs = rules.bugs;
        config.log_flush_interval_messages = (rules.flush_interval)(id);
        config
    }

    /// A controller and three brokers, registered, with `orders` created.
    pub(super) fn start(
        rules: Rules,
        replication_factor: i16,
        min_insync_replicas: i32,
    ) -> Result<Self, String> {
        let configs = (1..=BROKERS).map(|id| Net::broker_config(rules, id));
        let mut net = Net {
            cluster: Cluster::start(configs.collect()),
            checker: Checker::new(),
            next_value: 0,
        };
        let create = Request::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: TOPIC.into(),
                num_partitions: 1,
                replication_factor,
                configs: [(
                    "min.insync.replicas".to_string(),
                    min_insync_replicas.to_string(),
                )]
                .into_iter()
                .collect(),
            }],
            timeout_ms: 30_000,
        });
        net.cluster.send(CLIENT, NodeId::Controller, create);
        net.advance_by(1_000)?;
        if net.partition().is_none() {
            return Err("orders-0 was not created".into());
        }
        Ok(net)
    }

    pub(super) fn now_ms(&self) -> u64 {
        self.cluster.now_ms()
    }

    pub(super) fn partition(&self) -> Option<PartitionInfo> {
        partition(&self.cluster)
    }

    pub(super) fn log_of(&self, broker: BrokerId) -> Option<&Log> {
        log_of(&self.cluster, broker)
    }

    /// Delivers every deliverable message and runs every due timer at this instant.
    pub(super) fn settle(&mut self) -> Checked {
        self.cluster.settle(&mut self.checker)
    }

    pub(super) fn advance_by(&mut self, ms: u64) -> Checked {
        self.cluster.advance_by(ms, &mut self.checker)
    }

    fn send(&mut self, to: NodeId, request: Request) {
        self.cluster.send(CLIENT, to, request);
    }

    // ---- Faults -----------------------------------------------------------------------------

    /// Crashes `broker` if it runs. It stops acting as a leader at once, and
    /// nothing asked of it or by it will be answered.
    pub(super) fn crash(&mut self, broker: BrokerId, kind: CrashKind) -> Checked {
        if self.cluster.broker(broker).is_none() {
            return Ok(());
        }
        let me = NodeId::Broker(broker);
        self.checker.acting_leader.remove(&broker);
        self.checker
            .asked
            .retain(|(a, b, _), _| *a != me && *b != me);
        self.cluster.crash_broker(broker, kind, &mut self.checker)
    }

    /// Restarts `broker` if it crashed.
    pub(super) fn restart(&mut self, broker: BrokerId) -> Checked {
        if self.cluster.crashed_disk(broker).is_none() {
            return Ok(());
        }
        self.cluster.restart_broker(broker, &mut self.checker)
    }

    // ---- Who is who -------------------------------------------------------------------------

    fn resolve(&self, who: Who) -> Option<BrokerId> {
        let p = self.partition()?;
        match who {
            Who::Leader => p.leader.filter(|&l| self.cluster.broker(l).is_some()),
            Who::Follower(n) => {
                let followers: Vec<BrokerId> = p
                    .replicas
                    .iter()
                    .copied()
                    .filter(|&r| Some(r) != p.leader && self.cluster.broker(r).is_some())
                    .collect();
                followers.get(n as usize % followers.len().max(1)).copied()
            }
            Who::Broker(n) => Some(1 + n as BrokerId % BROKERS),
        }
    }

    // ---- Steps --------------------------------------------------------------------------------

    pub(super) fn run_step(&mut self, step: &Step) -> Checked {
        match *step {
            Step::Produce {
                to,
                acks_all,
                records,
            } => {
                let Some(broker) = self.resolve(to) else {
                    return Ok(());
                };
                let values: Vec<String> = (0..records)
                    .map(|i| format!("v{}", self.next_value + i as usize))
                    .collect();
                self.next_value += records as usize;
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let request = Request::Produce(ProduceRequest {
                    acks: if acks_all { Acks::All } else { Acks::Leader },
                    timeout_ms: 30_000,
                    partitions: vec![PartitionProduceData {
                        partition: orders_0(),
                        current_leader_epoch: None,
                        records: RecordBatch::from_values(&refs),
                    }],
                });
                self.send(NodeId::Broker(broker), request);
            }
            Step::Read { to, from_per_mille } => {
                let Some(broker) = self.resolve(to) else {
                    return Ok(());
                };
                let end = self.log_of(broker).map_or(0, |l| l.log_end_offset());
                let request = Request::Fetch(FetchRequest {
                    replica_id: CONSUMER_REPLICA_ID,
                    replica_epoch: -1,
                    max_wait_ms: 0,
                    min_bytes: 0,
                    max_bytes: 1_048_576,
                    partitions: vec![FetchPartition {
                        partition: orders_0(),
                        current_leader_epoch: None,
                        fetch_offset: end * from_per_mille as i64 / 1000,
                        partition_max_bytes: 1_048_576,
                    }],
                });
                self.send(NodeId::Broker(broker), request);
            }
            Step::DeliverOne { pick } => {
                let delivery = Delivery::NthStream(pick as usize);
                self.cluster.deliver_one(delivery, &mut self.checker)?;
            }
            Step::Settle => self.settle()?,
            Step::Advance { ms } => self.advance_by(ms as u64)?,
            Step::Crash { who, power_loss } => {
                if let Some(broker) = self.resolve(who) {
                    let kind = if power_loss {
                        CrashKind::PowerLoss
                    } else {
                        CrashKind::ProcessCrash
                    };
                    self.crash(broker, kind)?;
                }
            }
            Step::Restart { pick } => {
                let crashed: Vec<BrokerId> = self.cluster.crashed_brokers().collect();
                if let Some(&broker) = crashed.get(pick as usize % crashed.len().max(1)) {
                    self.restart(broker)?;
                }
            }
            Step::Cut { a, b } => {
                let node = |n: u8| match n {
                    0 => NodeId::Controller,
                    n => NodeId::Broker(n as BrokerId),
                };
                if a != b {
                    self.cluster.stall(node(a), node(b));
                }
            }
            Step::Isolate { who } => {
                if let Some(broker) = self.resolve(who) {
                    let me = NodeId::Broker(broker);
                    for other in (0..=BROKERS).map(|n| match n {
                        0 => NodeId::Controller,
                        n => NodeId::Broker(n),
                    }) {
                        if other != me {
                            self.cluster.stall(me, other);
                        }
                    }
                }
            }
            Step::HealAll => self.cluster.heal_all(),
            Step::ElectPreferred => {
                let request = Request::ElectLeaders(ElectLeadersRequest {
                    election_type: ElectionType::Preferred,
                    partitions: None,
                    timeout_ms: 30_000,
                });
                self.send(NodeId::Controller, request);
            }
        }
        Ok(())
    }

    /// Heals everything, restarts every broker and lets the cluster settle.
    pub(super) fn heal_and_settle(&mut self) -> Checked {
        self.cluster.heal_all();
        let crashed: Vec<BrokerId> = self.cluster.crashed_brokers().collect();
        for broker in crashed {
            self.restart(broker)?;
        }
        self.advance_by(FINAL_SETTLE_MS)
    }

    /// After the final settling: one log everywhere, all of it committed, every
    /// replica in sync.
    pub(super) fn check_converged(&self) -> Checked {
        let p = self.partition().expect("the partition exists");
        let Some(leader) = p.leader else {
            return Err(format!("no leader after healing: {p:?}"));
        };
        let leader_log = self.log_of(leader).expect("the leader has the log");
        let leader_entries = entries(leader_log);
        if leader_log.high_watermark() != leader_log.log_end_offset() {
            return Err(format!(
                "after healing the leader's high watermark {} is below its log end {}",
                leader_log.high_watermark(),
                leader_log.log_end_offset()
            ));
        }
        for &replica in &p.replicas {
            let log = self.log_of(replica).expect("every replica has the log");
            if entries(log) != leader_entries || log.high_watermark() != leader_log.high_watermark()
            {
                return Err(format!(
                    "after healing broker-{replica} has {:?} (HW {}), the leader broker-{leader} \
                     {leader_entries:?} (HW {})",
                    entries(log),
                    log.high_watermark(),
                    leader_log.high_watermark()
                ));
            }
        }
        let isr: BTreeSet<BrokerId> = p.isr.iter().copied().collect();
        let replicas: BTreeSet<BrokerId> = p.replicas.iter().copied().collect();
        if isr != replicas {
            return Err(format!(
                "after healing the ISR is {:?} of {:?}",
                p.isr, p.replicas
            ));
        }
        Ok(())
    }
}
