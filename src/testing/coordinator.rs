//! A group coordinator hosted as a node by itself.
//!
//! In a cluster the coordinator runs inside the broker that leads its
//! `__consumer_offsets` partitions, and its appends go through that broker's
//! replication. A test of the coordinator's own rules wants none of that: it
//! wants to decide when each append is acknowledged or fails. A
//! [`CoordinatorNode`] is that stand-in broker. It leads every
//! `__consumer_offsets` partition, answers the group requests it receives with
//! the real [`GroupCoordinator`], and keeps the coordinator's appends in flight,
//! oldest first, until the test acknowledges one (its records join the
//! partition's log) or fails it. A failover is a crash and a restart on the
//! network: the new coordinator is rebuilt from the acknowledged records only,
//! as a new partition leader would be.
//!
//! It leaves out FindCoordinator (every request reaches this coordinator) and
//! partitions moving away (`on_partition_lost`).

use crate::error::ErrorCode;
use crate::group::coordinator::{
    CoordinatorEffect, GroupCoordinator, GroupCoordinatorConfig, GroupEvent,
};
use crate::ids::NodeId;
use crate::node::{Effect, Node, Peer};
use crate::protocol::Message;
use crate::record::Record;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Appends waiting for the test before it calls them a leak: a test acknowledges
/// or fails them a few at a time.
pub const APPENDS_IN_FLIGHT_MAX: usize = 10_000;

/// The acknowledged records of each `__consumer_offsets` partition.
pub type OffsetsLog = BTreeMap<i32, Vec<Record>>;

/// An append the coordinator asked for, not yet acknowledged or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub token: u64,
    pub partition: i32,
    pub records: Vec<Record>,
}

/// A group coordinator with a perfect `__consumer_offsets` under it.
pub struct CoordinatorNode {
    coordinator: GroupCoordinator,
    appends: VecDeque<Append>,
    log: OffsetsLog,
}

impl CoordinatorNode {
    /// A coordinator that leads every `__consumer_offsets` partition of `config`
    /// and rebuilds its groups from `log`, at `now_ms`.
    pub fn new(config: GroupCoordinatorConfig, log: OffsetsLog, now_ms: u64) -> Self {
        let partitions = config.offsets_topic_num_partitions;
        let mut coordinator = GroupCoordinator::new(config);
        for partition in 0..partitions {
            let records = log.get(&partition).map_or(&[][..], Vec::as_slice);
            coordinator.on_partition_led(now_ms, partition, records);
        }
        CoordinatorNode {
            coordinator,
            appends: VecDeque::new(),
            log,
        }
    }

    pub fn coordinator(&self) -> &GroupCoordinator {
        &self.coordinator
    }

    /// The acknowledged records, which a failover keeps.
    pub fn log(&self) -> &OffsetsLog {
        &self.log
    }

    pub fn into_log(self) -> OffsetsLog {
        self.log
    }

    /// The appends in flight, oldest first.
    pub fn appends(&self) -> impl Iterator<Item = &Append> {
        self.appends.iter()
    }

    /// Acknowledges the oldest append in flight: its records join the log and
    /// the coordinator hears `Ok`. False when there is none.
    pub fn ack_oldest_append(&mut self, now_ms: u64) -> bool {
        let Some(append) = self.appends.pop_front() else {
            return false;
        };
        let partition = self.log.entry(append.partition).or_default();
        partition.extend(append.records);
        self.coordinator
            .on_append_done(now_ms, append.token, Ok(()));
        true
    }

    /// Fails the oldest append in flight with `error`. False when there is none.
    pub fn fail_oldest_append(&mut self, now_ms: u64, error: ErrorCode) -> bool {
        let Some(append) = self.appends.pop_front() else {
            return false;
        };
        self.coordinator
            .on_append_done(now_ms, append.token, Err(error));
        true
    }
}

impl Node for CoordinatorNode {
    type Event = GroupEvent;

    fn on_message(&mut self, now_ms: u64, from: Peer, message: Message) {
        let Message::Request {
            correlation_id,
            request,
        } = message
        else {
            panic!("the coordinator sends no requests, so {from:?} has nothing to answer");
        };
        self.coordinator
            .on_request(now_ms, from, correlation_id, request);
    }

    /// The coordinator does not watch connections, as in Kafka: a member that
    /// went away is removed when its session expires.
    fn on_disconnect(&mut self, _now_ms: u64, _peer: NodeId) {}

    fn on_tick(&mut self, now_ms: u64) {
        self.coordinator.on_tick(now_ms);
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        self.coordinator.next_deadline_ms()
    }

    /// Answers and events go to the network; appends stay here for the test.
    fn take_effects(&mut self) -> Vec<Effect<GroupEvent>> {
        let mut effects = Vec::new();
        for effect in self.coordinator.take_effects() {
            match effect {
                CoordinatorEffect::Reply {
                    to,
                    correlation_id,
                    response,
                } => {
                    let message = Message::Response {
                        correlation_id,
                        response,
                    };
                    effects.push(Effect::Reply { to, message });
                }
                CoordinatorEffect::Append {
                    partition,
                    records,
                    token,
                } => {
                    assert!(self.appends.len() < APPENDS_IN_FLIGHT_MAX, "appends leak");
                    self.appends.push_back(Append {
                        token,
                        partition,
                        records,
                    });
                }
                CoordinatorEffect::Emit(event) => effects.push(Effect::Emit(event)),
            }
        }
        effects
    }

    fn invariants(&self) {
        self.coordinator.invariants();
        let tokens: BTreeSet<u64> = self.appends.iter().map(|a| a.token).collect();
        assert_eq!(tokens.len(), self.appends.len(), "append tokens are unique");
    }
}
