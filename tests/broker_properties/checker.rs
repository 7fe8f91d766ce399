//! The checker of `broker_properties`: what the properties remember, and the
//! checks it runs after every handler and on every answer, as an observer of
//! the test network.

use super::orders_0;
use kafkasim::error::ErrorCode;
use kafkasim::event::ClusterEvent;
use kafkasim::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId, Offset};
use kafkasim::log::Log;
use kafkasim::metadata::PartitionInfo;
use kafkasim::protocol::{Acks, Message, Request, Response, CONSUMER_REPLICA_ID};
use kafkasim::testing::{Cluster, Envelope, Observer, Server};
use std::collections::BTreeMap;

/// What a request asked, kept until its answer comes.
#[derive(Debug, Clone)]
pub(super) enum Asked {
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
pub(super) type Entry = (String, LeaderEpoch);

pub(super) fn entries(log: &Log) -> Vec<Entry> {
    log.batches()
        .iter()
        .flat_map(|b| {
            b.records
                .iter()
                .map(move |r| (r.value_text(), b.partition_leader_epoch))
        })
        .collect()
}

/// What the properties remember, checked after every message and every timer.
pub(super) struct Checker {
    /// Requests delivered and not answered yet: (requester, responder, id).
    pub(super) asked: BTreeMap<(NodeId, NodeId, CorrelationId), Asked>,
    /// The committed prefix: every record ever below some replica's HW.
    committed: Vec<Entry>,
    /// The epoch each running broker acts as leader in, from its events.
    pub(super) acting_leader: BTreeMap<BrokerId, LeaderEpoch>,
    /// The log of the broker about to handle something, as (entries, HW): what
    /// a truncation is checked against.
    before: Option<(Vec<Entry>, Offset)>,
    pub(super) reached: Reached,
    /// Off for schedules that break the properties on purpose and look at the
    /// outcome themselves.
    pub(super) checking: bool,
}

/// What a case got to exercise, so that a test can tell the schedules reach the
/// interesting parts (a checker that never fires proves nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Reached {
    /// Leaders elected after the first.
    pub(super) leader_changes: u32,
    /// Truncations that dropped records.
    pub(super) truncations: u32,
    /// ISR changes the controller accepted.
    pub(super) isr_changes: u32,
    /// `acks=all` acknowledgements checked against the committed prefix.
    pub(super) acks_all: u32,
    /// Records of consumer fetches checked.
    pub(super) consumer_records: u32,
    /// Records of follower fetches checked.
    pub(super) follower_records: u32,
    /// The longest committed prefix.
    pub(super) committed: u32,
}

impl Reached {
    pub(super) fn add(&mut self, other: Reached) {
        self.leader_changes += other.leader_changes;
        self.truncations += other.truncations;
        self.isr_changes += other.isr_changes;
        self.acks_all += other.acks_all;
        self.consumer_records += other.consumer_records;
        self.follower_records += other.follower_records;
        self.committed = self.committed.max(other.committed);
    }
}

pub(super) type Checked = Result<(), String>;

/// `orders-0` as the controller has it.
pub(super) fn partition(cluster: &Cluster) -> Option<PartitionInfo> {
    cluster.controller().image().partition(&orders_0()).cloned()
}

/// A broker's log of `orders-0`: a running broker's, else what a crashed
/// broker's disk kept.
pub(super) fn log_of(cluster: &Cluster, broker: BrokerId) -> Option<&Log> {
    match cluster.broker(broker) {
        Some(b) => b.log(&orders_0()),
        None => cluster.crashed_disk(broker)?.logs.get(&orders_0()),
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
    pub(super) fn new() -> Self {
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
                                let entry = (record.value_text(), batch.partition_leader_epoch);
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
                values: p.records.records.iter().map(|r| r.value_text()).collect(),
            })
        }
        _ => None,
    }
}
