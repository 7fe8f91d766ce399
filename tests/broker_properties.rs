//! Replication properties of the real broker and controller state machines,
//! driven directly with messages through random schedules.
//!
//! The shared test network (`kafkasim::testing`) carries the messages of one
//! controller and three brokers (no madsim: every node is the plain sans-IO state
//! machine). Each case
//! creates topic `orders` (one partition, replication factor 2 or 3, a random
//! `min.insync.replicas`) and runs a random list of steps: produces (`acks=1` or
//! `acks=all`, to the leader or to any broker), consumer reads, deliveries of one
//! message chosen among the connections (so messages of different connections
//! overtake each other), time moving on (heartbeats, fetch long polls, fencing,
//! ISR shrinks), crashes and restarts of the leader or a follower (a process crash
//! or a power loss), cut links between any two nodes and isolated brokers (messages
//! stall until the cut heals, as on a clogged madsim link) and preferred-leader
//! elections. At the end every cut heals, every broker restarts and the cluster
//! gets a minute to settle.
//!
//! After every message and every timer the test checks, from outside the nodes:
//! - every replica's log has dense, ordered offsets (non-empty batches, each
//!   starting where the previous ended);
//! - the *committed prefix* never changes: the records below any replica's high
//!   watermark are the same records (value and leader epoch) at the same offsets on
//!   every replica, at every moment (`committed-prefix-agreement`);
//! - the leader of the current epoch holds the whole committed prefix, and its high
//!   watermark is at most the log end offset of every in-sync replica (the HW rule);
//! - no truncation drops a committed record or goes below the truncating replica's
//!   own high watermark;
//! - every Fetch answer (a follower's or a consumer's) is a contiguous, in-order
//!   slice starting at the requested offset; a consumer's lies below the high
//!   watermark and holds committed records;
//! - every `acks=all` acknowledgement names records of the committed prefix.
//!
//! After the final minute every replica holds the same log, the high watermark
//! covers all of it, and the ISR is every replica again.
//!
//! The rules under test are Kafka's safe ones: leader-epoch truncation (KIP-101),
//! clean elections, and a flush after every message, so that a power loss keeps
//! what a process crash keeps. The checks are shown to bite: KIP-101's two
//! schedules (the lost write, and the divergence after a double power loss) break
//! them under the pre-0.11 truncation rule and not under leader epochs, and a
//! seeded search over random schedules finds a counterexample, shrunk to a few
//! steps, as soon as followers truncate to their high watermark or brokers never
//! flush. Another test checks that the random schedules do reach failovers,
//! truncations, ISR changes and acknowledged writes.
//!
//! Cases: 64 by default (CI); `PROPTEST_CASES=5000 cargo test -p kafkasim --test
//! broker_properties` searches deeper. Failing cases are saved to
//! `tests/broker_properties.proptest-regressions` and replayed first on every run.

use kafkasim::config::{BrokerConfig, Truncation};
use kafkasim::disk::CrashKind;
use kafkasim::error::ErrorCode;
use kafkasim::event::ClusterEvent;
use kafkasim::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId, Offset, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::PartitionInfo;
use kafkasim::protocol::*;
use kafkasim::record::RecordBatch;
use kafkasim::testing::{Cluster, Delivery, Envelope, Observer, Server};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::collections::{BTreeMap, BTreeSet};

const BROKERS: BrokerId = 3;
const TOPIC: &str = "orders";
const CLIENT: NodeId = NodeId::Client(1);
/// How long the cluster gets to settle once every fault is healed.
const FINAL_SETTLE_MS: u64 = 60_000;

fn orders_0() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// The cases to run: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---- The rules and the steps ------------------------------------------------------------

/// What the brokers run with.
#[derive(Debug, Clone, Copy)]
struct Rules {
    truncation: Truncation,
    /// Each broker's `log.flush.interval.messages`.
    flush_interval: fn(BrokerId) -> Option<u64>,
}

/// Leader epochs, and a flush after every message, so that a power loss loses
/// nothing a process crash would keep.
const SAFE: Rules = Rules {
    truncation: Truncation::LeaderEpoch,
    flush_interval: |_| Some(1),
};

/// A broker named by its role when the step runs.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// The leader the controller names, if it is running.
    Leader,
    /// The n-th running replica that is not the leader.
    Follower(u8),
    /// Broker `1 + n % 3`.
    Broker(u8),
}

#[derive(Debug, Clone)]
enum Step {
    /// A Produce of `records` new values.
    Produce {
        to: Who,
        acks_all: bool,
        records: u8,
    },
    /// A consumer's Fetch from this fraction (per mille) of the target's log end.
    Read {
        to: Who,
        from_per_mille: u16,
    },
    /// Delivers the first message waiting on the `pick`-th connection.
    DeliverOne {
        pick: u8,
    },
    /// Delivers everything deliverable at this instant.
    Settle,
    /// Moves the clock on.
    Advance {
        ms: u32,
    },
    Crash {
        who: Who,
        power_loss: bool,
    },
    /// Restarts the `pick`-th crashed broker.
    Restart {
        pick: u8,
    },
    /// Cuts the link between two nodes (0 is the controller, 1..=3 the brokers).
    Cut {
        a: u8,
        b: u8,
    },
    /// Cuts a broker off from the controller and the other brokers (clients
    /// still reach it).
    Isolate {
        who: Who,
    },
    HealAll,
    /// An admin asks for preferred-leader elections.
    ElectPreferred,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::Leader),
        2 => (0..3u8).prop_map(Who::Follower),
        1 => (0..3u8).prop_map(Who::Broker),
    ]
}

/// Where a produce goes: mostly the leader, sometimes a broker that is not.
fn produce_target() -> impl Strategy<Value = Who> {
    prop_oneof![
        8 => Just(Who::Leader),
        1 => (0..3u8).prop_map(Who::Follower),
        1 => (0..3u8).prop_map(Who::Broker),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (produce_target(), any::<bool>(), 1..4u8)
            .prop_map(|(to, acks_all, records)| Step::Produce { to, acks_all, records }),
        2 => (produce_target(), 0..=1000u16).prop_map(|(to, from_per_mille)| Step::Read { to, from_per_mille }),
        4 => any::<u8>().prop_map(|pick| Step::DeliverOne { pick }),
        2 => Just(Step::Settle),
        5 => prop_oneof![
            3 => 1..1_000u32,
            2 => 1_000..12_000u32,
            1 => 12_000..35_000u32,
        ]
        .prop_map(|ms| Step::Advance { ms }),
        2 => (who(), any::<bool>()).prop_map(|(who, power_loss)| Step::Crash { who, power_loss }),
        2 => any::<u8>().prop_map(|pick| Step::Restart { pick }),
        1 => (0..=3u8, 0..=3u8).prop_map(|(a, b)| Step::Cut { a, b }),
        1 => who().prop_map(|who| Step::Isolate { who }),
        1 => Just(Step::HealAll),
        1 => Just(Step::ElectPreferred),
    ]
}

/// A topic's shape: replication factor and `min.insync.replicas`.
fn topic() -> impl Strategy<Value = (i16, i32)> {
    (2..=3i16).prop_flat_map(|rf| (Just(rf), 1..=rf as i32))
}

// ---- The cluster and what the properties remember ----------------------------------------

/// What a request asked, kept until its answer comes.
#[derive(Debug, Clone)]
enum Asked {
    /// A Fetch of `orders-0` from this offset, by a consumer or a follower.
    Fetch {
        offset: Offset,
        consumer: bool,
    },
    Produce {
        acks_all: bool,
        values: Vec<String>,
    },
}

/// A record as the properties compare it: its value and the epoch that wrote it.
type Entry = (String, LeaderEpoch);

fn entries(log: &Log) -> Vec<Entry> {
    log.batches()
        .iter()
        .flat_map(|b| {
            b.records
                .iter()
                .map(move |r| (r.value.clone(), b.partition_leader_epoch))
        })
        .collect()
}

/// The cluster under test, on the shared test network, with the checker that
/// watches every handler and every delivery.
struct Net {
    cluster: Cluster,
    checker: Checker,
    next_value: usize,
}

/// What the properties remember, checked after every message and every timer.
struct Checker {
    /// Requests delivered and not answered yet: (requester, responder, id).
    asked: BTreeMap<(NodeId, NodeId, CorrelationId), Asked>,
    /// The committed prefix: every record ever below some replica's HW.
    committed: Vec<Entry>,
    /// The epoch each running broker acts as leader in, from its events.
    acting_leader: BTreeMap<BrokerId, LeaderEpoch>,
    /// The log of the broker about to handle something, as (entries, HW): what
    /// a truncation is checked against.
    before: Option<(Vec<Entry>, Offset)>,
    reached: Reached,
    /// Off for schedules that break the properties on purpose and look at the
    /// outcome themselves.
    checking: bool,
}

/// What a case got to exercise, so that a test can tell the schedules reach the
/// interesting parts (a checker that never fires proves nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Reached {
    /// Leaders elected after the first.
    leader_changes: u32,
    /// Truncations that dropped records.
    truncations: u32,
    /// ISR changes the controller accepted.
    isr_changes: u32,
    /// `acks=all` acknowledgements checked against the committed prefix.
    acks_all: u32,
    /// Records of consumer fetches checked.
    consumer_records: u32,
    /// Records of follower fetches checked.
    follower_records: u32,
    /// The longest committed prefix.
    committed: u32,
}

impl Reached {
    fn add(&mut self, other: Reached) {
        self.leader_changes += other.leader_changes;
        self.truncations += other.truncations;
        self.isr_changes += other.isr_changes;
        self.acks_all += other.acks_all;
        self.consumer_records += other.consumer_records;
        self.follower_records += other.follower_records;
        self.committed = self.committed.max(other.committed);
    }
}

type Checked = Result<(), String>;

/// `orders-0` as the controller has it.
fn partition(cluster: &Cluster) -> Option<PartitionInfo> {
    cluster.controller().image().partition(&orders_0()).cloned()
}

/// A broker's log of `orders-0`: a running broker's, else what a crashed
/// broker's disk kept.
fn log_of(cluster: &Cluster, broker: BrokerId) -> Option<&Log> {
    match cluster.broker(broker) {
        Some(b) => b.log(&orders_0()),
        None => cluster.crashed_disk(broker)?.logs.get(&orders_0()),
    }
}

impl Net {
    fn broker_config(rules: Rules, id: BrokerId) -> BrokerConfig {
        let mut config = BrokerConfig::new(id);
        config.truncation = rules.truncation;
        config.log_flush_interval_messages = (rules.flush_interval)(id);
        config
    }

    /// A controller and three brokers, registered, with `orders` created.
    fn start(
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

    fn now_ms(&self) -> u64 {
        self.cluster.now_ms()
    }

    fn partition(&self) -> Option<PartitionInfo> {
        partition(&self.cluster)
    }

    fn log_of(&self, broker: BrokerId) -> Option<&Log> {
        log_of(&self.cluster, broker)
    }

    /// Delivers every deliverable message and runs every due timer at this instant.
    fn settle(&mut self) -> Checked {
        self.cluster.settle(&mut self.checker)
    }

    fn advance_by(&mut self, ms: u64) -> Checked {
        self.cluster.advance_by(ms, &mut self.checker)
    }

    fn send(&mut self, to: NodeId, request: Request) {
        self.cluster.send(CLIENT, to, request);
    }

    // ---- Faults -----------------------------------------------------------------------------

    /// Crashes `broker` if it runs. It stops acting as a leader at once, and
    /// nothing asked of it or by it will be answered.
    fn crash(&mut self, broker: BrokerId, kind: CrashKind) -> Checked {
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
    fn restart(&mut self, broker: BrokerId) -> Checked {
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

    fn run_step(&mut self, step: &Step) -> Checked {
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
    fn heal_and_settle(&mut self) -> Checked {
        self.cluster.heal_all();
        let crashed: Vec<BrokerId> = self.cluster.crashed_brokers().collect();
        for broker in crashed {
            self.restart(broker)?;
        }
        self.advance_by(FINAL_SETTLE_MS)
    }

    /// After the final settling: one log everywhere, all of it committed, every
    /// replica in sync.
    fn check_converged(&self) -> Checked {
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

impl Observer<Server> for Checker {
    type Error = String;

    fn before(&mut self, cluster: &Cluster, node: NodeId) {
        self.before = match node {
            NodeId::Broker(b) => log_of(cluster, b).map(|l| (entries(l), l.high_watermark())),
            _ => None,
        };
    }

    fn after(&mut self, cluster: &Cluster, _node: NodeId, events: &[ClusterEvent]) -> Checked {
        let before = self.before.take();
        if !self.checking {
            return Ok(());
        }
        for event in events {
            self.on_event(event, before.as_ref())?;
        }
        self.observe(cluster)
    }

    /// Remembers what a request asked, and checks an answer against it.
    fn on_delivery(&mut self, _cluster: &Cluster, envelope: &Envelope) -> Checked {
        let (from, to) = (envelope.from.node, envelope.to);
        match &envelope.message {
            Message::Request {
                correlation_id,
                request,
            } => {
                if let Some(asked) = asked(request) {
                    self.asked.insert((from, to, *correlation_id), asked);
                }
            }
            Message::Response {
                correlation_id,
                response,
            } => {
                let asked = self.asked.remove(&(to, from, *correlation_id));
                if let Some(asked) = asked.filter(|_| self.checking) {
                    self.check_answer(to, from, &asked, response)?;
                }
            }
        }
        Ok(())
    }
}

impl Checker {
    fn new() -> Self {
        Checker {
            asked: BTreeMap::new(),
            committed: Vec::new(),
            acting_leader: BTreeMap::new(),
            before: None,
            reached: Reached::default(),
            checking: true,
        }
    }

    // ---- The properties -----------------------------------------------------------------------

    fn on_event(&mut self, event: &ClusterEvent, before: Option<&(Vec<Entry>, Offset)>) -> Checked {
        match event {
            ClusterEvent::BecameLeader {
                broker,
                partition,
                leader_epoch,
            } if *partition == orders_0() => {
                self.acting_leader.insert(*broker, *leader_epoch);
                if *leader_epoch > 0 {
                    self.reached.leader_changes += 1;
                }
            }
            ClusterEvent::IsrChanged { partition, .. } if *partition == orders_0() => {
                self.reached.isr_changes += 1;
            }
            ClusterEvent::BecameFollower {
                broker, partition, ..
            } if *partition == orders_0() => {
                self.acting_leader.remove(broker);
            }
            ClusterEvent::Truncated {
                broker,
                partition,
                log_end_offset,
                records,
            } if *partition == orders_0() => {
                let Some((entries, high_watermark)) = before else {
                    return Err(format!("broker-{broker} truncated a log it did not have"));
                };
                if *records > 0 {
                    self.reached.truncations += 1;
                }
                if log_end_offset < high_watermark {
                    return Err(format!(
                        "broker-{broker} truncated orders-0 to {log_end_offset}, below its high \
                         watermark {high_watermark}"
                    ));
                }
                let cut = *log_end_offset as usize..(*log_end_offset + records) as usize;
                for offset in cut {
                    if entries.get(offset).is_some()
                        && entries.get(offset) == self.committed.get(offset)
                    {
                        return Err(format!(
                            "broker-{broker} truncated the committed record {:?} at orders-0@{offset}",
                            entries[offset]
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What must hold after every message and every timer.
    fn observe(&mut self, cluster: &Cluster) -> Checked {
        let running = cluster.running().filter_map(|id| match id {
            NodeId::Broker(b) => Some((b, cluster.broker(b)?)),
            _ => None,
        });
        for (id, broker) in running {
            let Some(log) = broker.log(&orders_0()) else {
                continue;
            };
            let mut expected = log.log_start_offset();
            for batch in log.batches() {
                if batch.records.is_empty() || batch.base_offset != expected {
                    return Err(format!(
                        "broker-{id}: batch at {} after offset {expected}: offsets not dense",
                        batch.base_offset
                    ));
                }
                expected = batch.next_offset();
            }
            // The model keeps every log from offset 0 (no retention): entry i is offset i.
            let below_hw = entries(log).into_iter().take(log.high_watermark() as usize);
            for (offset, entry) in below_hw.enumerate() {
                match self.committed.get(offset) {
                    Some(committed) if *committed != entry => {
                        return Err(format!(
                            "broker-{id} has {entry:?} at orders-0@{offset} below its high \
                             watermark {}, but {committed:?} was committed there",
                            log.high_watermark()
                        ));
                    }
                    Some(_) => {}
                    None => self.committed.push(entry),
                }
            }
        }
        self.reached.committed = self.committed.len() as u32;
        let Some(p) = partition(cluster) else {
            return Ok(());
        };
        let Some(leader) = p.leader else {
            return Ok(());
        };
        if self.acting_leader.get(&leader) != Some(&p.leader_epoch) {
            return Ok(()); // not yet told it leads this epoch
        }
        let log = log_of(cluster, leader).expect("a running leader has the log");
        let entries = entries(log);
        if !entries.starts_with(&self.committed) {
            return Err(format!(
                "the leader broker-{leader} (epoch {}) lacks committed records: it has {entries:?}, \
                 the committed prefix is {:?}",
                p.leader_epoch, self.committed
            ));
        }
        for &member in &p.isr {
            let end = log_of(cluster, member).map_or(0, |l| l.log_end_offset());
            if log.high_watermark() > end {
                return Err(format!(
                    "the leader broker-{leader}'s high watermark {} passed the log end {end} of \
                     broker-{member} in the ISR {:?}",
                    log.high_watermark(),
                    p.isr
                ));
            }
        }
        Ok(())
    }

    /// Checks an answer against its request.
    fn check_answer(
        &mut self,
        requester: NodeId,
        responder: NodeId,
        asked: &Asked,
        response: &Response,
    ) -> Checked {
        match (asked, response) {
            (Asked::Fetch { offset, consumer }, Response::Fetch(r)) => {
                for part in r.responses.iter().filter(|p| p.partition == orders_0()) {
                    if part.error_code != ErrorCode::None {
                        continue;
                    }
                    let mut next = *offset;
                    for batch in &part.records {
                        for (o, record) in batch.offset_records() {
                            if o != next {
                                return Err(format!(
                                    "{responder:?} answered {requester:?}'s fetch from {offset} \
                                     with offset {o} where {next} was due"
                                ));
                            }
                            next += 1;
                            if !*consumer {
                                self.reached.follower_records += 1;
                            } else {
                                self.reached.consumer_records += 1;
                                if o >= part.high_watermark {
                                    return Err(format!(
                                        "a consumer read orders-0@{o}, at or above the high \
                                         watermark {}",
                                        part.high_watermark
                                    ));
                                }
                                let entry = (record.value.clone(), batch.partition_leader_epoch);
                                if self.committed.get(o as usize) != Some(&entry) {
                                    return Err(format!(
                                        "a consumer read {entry:?} at orders-0@{o}, which is not \
                                         the committed record {:?}",
                                        self.committed.get(o as usize)
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            (
                Asked::Produce {
                    acks_all: true,
                    values,
                },
                Response::Produce(r),
            ) => {
                for part in r.responses.iter().filter(|p| p.partition == orders_0()) {
                    if part.error_code != ErrorCode::None {
                        continue;
                    }
                    self.reached.acks_all += 1;
                    for (i, value) in values.iter().enumerate() {
                        let offset = part.base_offset as usize + i;
                        let committed = self.committed.get(offset).map(|(v, _)| v);
                        if committed != Some(value) {
                            return Err(format!(
                                "{value} was acknowledged (acks=all) at orders-0@{offset}, but \
                                 the committed record there is {committed:?}"
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn asked(request: &Request) -> Option<Asked> {
    match request {
        Request::Fetch(r) => {
            let p = r.partitions.iter().find(|p| p.partition == orders_0())?;
            Some(Asked::Fetch {
                offset: p.fetch_offset,
                consumer: r.replica_id == CONSUMER_REPLICA_ID,
            })
        }
        Request::Produce(r) => {
            let p = r.partitions.iter().find(|p| p.partition == orders_0())?;
            Some(Asked::Produce {
                acks_all: r.acks == Acks::All,
                values: p.records.records.iter().map(|r| r.value.clone()).collect(),
            })
        }
        _ => None,
    }
}

/// Runs one case: the steps, then healing, checking the properties throughout.
/// Returns what the case reached.
fn run(rules: Rules, (rf, min_isr): (i16, i32), steps: &[Step]) -> Result<Reached, String> {
    let mut net = Net::start(rules, rf, min_isr)?;
    for (i, step) in steps.iter().enumerate() {
        net.run_step(step)
            .map_err(|e| format!("at step {i} ({step:?}), {} ms: {e}", net.now_ms()))?;
    }
    net.heal_and_settle()
        .map_err(|e| format!("while healing: {e}"))?;
    net.check_converged()?;
    Ok(net.checker.reached)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn replication_keeps_the_committed_prefix_under_any_schedule_of_faults(
        topic in topic(),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        if let Err(why) = run(SAFE, topic, &steps) {
            return Err(TestCaseError::fail(why));
        }
    }
}

// ---- The famous failures the properties guard against --------------------------------

/// KIP-101's schedule as steps: a follower fetches m2 and the leader acknowledges
/// it; the follower restarts before learning the new high watermark, then the
/// leader crashes and the follower takes over.
fn kip_101_steps() -> Vec<Step> {
    let produce = Step::Produce {
        to: Who::Leader,
        acks_all: true,
        records: 1,
    };
    vec![
        produce.clone(),
        Step::Advance { ms: 1_000 },
        produce,
        Step::Settle,
        Step::Crash {
            who: Who::Follower(0),
            power_loss: false,
        },
        Step::Restart { pick: 0 },
        Step::Crash {
            who: Who::Leader,
            power_loss: false,
        },
        Step::Advance { ms: 12_000 },
    ]
}

/// Kafka before 0.11: followers truncate to their own high watermark.
const OLD_TRUNCATION_RULE: Rules = Rules {
    truncation: Truncation::HighWatermark,
    ..SAFE
};

#[test]
fn kip_101_s_schedule_keeps_the_committed_prefix_with_leader_epochs() {
    let reached = run(SAFE, (2, 1), &kip_101_steps()).expect("no property broken");
    assert_eq!(reached.leader_changes, 1, "{reached:?}");
    assert_eq!(
        reached.committed, 2,
        "m1 and m2 committed, and kept: {reached:?}"
    );
}

#[test]
fn kip_101_s_schedule_breaks_the_properties_with_the_pre_0_11_truncation_rule() {
    let why = run(OLD_TRUNCATION_RULE, (2, 1), &kip_101_steps()).expect_err("KIP-101's lost write");
    assert!(
        why.contains("truncated the committed record (\"v1\", 0) at orders-0@1"),
        "{why}"
    );
}

/// KIP-101's second schedule (replica divergence after a double crash), with RF 2
/// on brokers A (the leader, flushing every message) and B (flushing every second
/// message): m0 and m1 are on both disks, B fetched m2 but has not flushed it. Both
/// lose power; B comes back first and leads, and writes m3 at offset 2; then A comes
/// back and follows. Returns (A's log, B's log) as values.
fn double_power_loss(truncation: Truncation) -> (Vec<String>, Vec<String>) {
    let rules = Rules {
        truncation,
        flush_interval: |broker| Some(if broker == 1 { 1 } else { 2 }),
    };
    let mut net = Net::start(rules, 2, 1).expect("started");
    net.checker.checking = false; // B's power loss loses a committed record on purpose
    let p = net.partition().expect("orders-0");
    assert_eq!(p.replicas, [1, 2], "A is broker-1, B broker-2");
    let produce = |net: &mut Net, acks_all| {
        net.run_step(&Step::Produce {
            to: Who::Leader,
            acks_all,
            records: 1,
        })
        .expect("sent")
    };
    for _ in 0..2 {
        produce(&mut net, true);
        net.advance_by(1_000)
            .expect("m0, m1 replicated and flushed");
    }
    produce(&mut net, false);
    net.settle().expect("B fetched m2");
    assert_eq!(net.log_of(1).map(|l| l.high_watermark()), Some(3));
    assert_eq!(net.log_of(2).map(|l| l.high_watermark()), Some(2));
    net.crash(1, CrashKind::PowerLoss).expect("A loses power");
    net.crash(2, CrashKind::PowerLoss).expect("B loses power");
    net.restart(2).expect("B comes back first");
    net.advance_by(12_000).expect("A fenced, B elected");
    assert_eq!(net.partition().and_then(|p| p.leader), Some(2));
    produce(&mut net, false);
    net.advance_by(1_000).expect("m3 appended");
    net.restart(1).expect("A comes back");
    net.advance_by(FINAL_SETTLE_MS).expect("settled");
    let values = |broker| {
        let log = net.log_of(broker).expect("a replica");
        entries(log).into_iter().map(|(v, _)| v).collect::<Vec<_>>()
    };
    (values(1), values(2))
}

#[test]
fn kip_101_s_double_power_loss_leaves_the_replicas_diverged_for_good_with_the_pre_0_11_rule() {
    let (a, b) = double_power_loss(Truncation::HighWatermark);
    assert_eq!(a, ["v0", "v1", "v2"], "A kept m2 below its high watermark");
    assert_eq!(b, ["v0", "v1", "v3"], "B wrote m3 at the same offset");
}

#[test]
fn kip_101_s_double_power_loss_leaves_the_replicas_in_agreement_with_leader_epochs() {
    let (a, b) = double_power_loss(Truncation::LeaderEpoch);
    assert_eq!(a, ["v0", "v1", "v3"], "A cut m2, the end of epoch 0 on B");
    assert_eq!(b, a);
}

/// A search over random schedules with a broken rule: the seeded runner must
/// find a case that breaks a property, and shrink it. Returns the reason and the
/// smallest case found.
fn search(rules: Rules) -> (String, Vec<Step>) {
    use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 1_000,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let case = (topic(), proptest::collection::vec(step(), 1..80));
    let result = runner.run(&case, |(topic, steps)| {
        run(rules, topic, &steps)
            .map(|_| ())
            .map_err(TestCaseError::fail)
    });
    match result {
        Err(TestError::Fail(why, (_, steps))) => (why.to_string(), steps),
        other => panic!("the search found no broken property: {other:?}"),
    }
}

#[test]
fn a_search_over_random_schedules_finds_the_lost_write_of_the_pre_0_11_truncation_rule() {
    let (why, steps) = search(OLD_TRUNCATION_RULE);
    assert!(why.contains("truncated the committed record"), "{why}");
    assert!(
        steps.len() <= 15,
        "shrunk to {} steps: {steps:?}",
        steps.len()
    );
}

#[test]
fn a_search_over_random_schedules_finds_the_loss_of_an_in_sync_replica_s_unflushed_tail() {
    let never_flush = Rules {
        flush_interval: |_| None,
        ..SAFE
    };
    let (why, steps) = search(never_flush);
    assert!(
        steps.iter().any(|s| matches!(
            s,
            Step::Crash {
                power_loss: true,
                ..
            }
        )),
        "{why}: {steps:?}"
    );
    assert!(
        steps.len() <= 15,
        "shrunk to {} steps: {steps:?}",
        steps.len()
    );
}

/// The random schedules are worth something only if they reach failovers,
/// truncations, ISR changes and acknowledged writes: 64 cases drawn from a fixed
/// seed must reach each of them.
#[test]
fn the_random_schedules_reach_failovers_truncations_and_acknowledged_writes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let case = (topic(), proptest::collection::vec(step(), 1..80));
    let mut total = Reached::default();
    for _ in 0..64 {
        let (topic, steps) = case.new_tree(&mut runner).expect("a case").current();
        total.add(run(SAFE, topic, &steps).expect("the property holds"));
    }
    let Reached {
        leader_changes,
        truncations,
        isr_changes,
        acks_all,
        consumer_records,
        follower_records,
        committed,
    } = total;
    eprintln!("reached over 64 cases: {total:?}");
    assert!(leader_changes >= 20, "{total:?}");
    assert!(truncations >= 3, "{total:?}");
    assert!(isr_changes >= 20, "{total:?}");
    assert!(acks_all >= 50, "{total:?}");
    assert!(consumer_records >= 50, "{total:?}");
    assert!(follower_records >= 100, "{total:?}");
    assert!(committed >= 15, "{total:?}");
}
