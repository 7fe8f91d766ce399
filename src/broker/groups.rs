//! The broker as group coordinator: FindCoordinator, and the glue between the
//! group coordinator state machine and this broker's `__consumer_offsets` logs.
//!
//! Every broker runs a [`GroupCoordinator`]; it serves the groups whose
//! `__consumer_offsets` partition this broker leads. When the broker becomes
//! leader of such a partition, the coordinator rebuilds those groups from the
//! partition's records; when leadership moves away, it forgets them. The
//! coordinator's writes (offset commits, group metadata) are appended here as
//! leader and confirmed to it once the high watermark covers them, so a commit is
//! answered only when it is replicated to the ISR, as Kafka does.
//!
//! `__consumer_offsets` is created on the first FindCoordinator, as Kafka's brokers
//! do, with `offsets.topic.num.partitions` and `offsets.topic.replication.factor`.

use super::Broker;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::group::coordinator::CoordinatorEffect;
use crate::group::offsets_topic::{partition_for_group, OFFSETS_TOPIC};
use crate::ids::{CorrelationId, LeaderEpoch, Offset, TopicPartition};
use crate::node::Peer;
use crate::protocol::*;
use crate::record::RecordBatch;
use std::collections::{BTreeMap, BTreeSet};

/// How long a broker waits before asking the controller again to create
/// `__consumer_offsets`.
const OFFSETS_TOPIC_CREATION_RETRY_MS: u64 = 1_000;

/// A coordinator write waiting for the high watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PendingGroupAppend {
    partition: TopicPartition,
    required: Offset,
    leader_epoch: LeaderEpoch,
    token: u64,
}

impl Broker {
    pub(super) fn on_find_coordinator(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: FindCoordinatorRequest,
    ) {
        let answer = |error_code, node_id, message: &str| FindCoordinatorResponse {
            error_code,
            error_message: (!message.is_empty()).then(|| message.to_string()),
            node_id,
        };
        let response = if req.key.is_empty() {
            answer(ErrorCode::InvalidGroupId, -1, "the group id is empty")
        } else {
            match self.image.topics.get(OFFSETS_TOPIC) {
                None => {
                    self.request_offsets_topic(now_ms);
                    answer(
                        ErrorCode::CoordinatorNotAvailable,
                        -1,
                        "__consumer_offsets does not exist yet; creating it",
                    )
                }
                Some(topic) => {
                    let partition = partition_for_group(&req.key, topic.partitions.len() as i32);
                    match topic.partitions[partition as usize].leader {
                        Some(leader) => answer(ErrorCode::None, leader, ""),
                        None => answer(
                            ErrorCode::CoordinatorNotAvailable,
                            -1,
                            "the group's __consumer_offsets partition has no leader",
                        ),
                    }
                }
            }
        };
        self.reply(from, correlation_id, Response::FindCoordinator(response));
    }

    fn request_offsets_topic(&mut self, now_ms: u64) {
        if self
            .offsets_topic_requested_ms
            .is_some_and(|at| now_ms < at + OFFSETS_TOPIC_CREATION_RETRY_MS)
        {
            return;
        }
        self.offsets_topic_requested_ms = Some(now_ms);
        let topic = CreatableTopic {
            name: OFFSETS_TOPIC.to_string(),
            num_partitions: self.config.offsets_topic_num_partitions,
            replication_factor: self.config.offsets_topic_replication_factor,
            configs: BTreeMap::new(),
        };
        self.link
            .create_internal_topic(now_ms, topic, &mut self.effects);
    }

    /// A JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit or OffsetFetch.
    pub(super) fn on_group_request(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        request: Request,
    ) {
        self.groups
            .on_request(now_ms, from, correlation_id, request);
        self.drain_group_effects(now_ms);
    }

    /// Carries out what the coordinator asked for, until it asks nothing more.
    pub(super) fn drain_group_effects(&mut self, now_ms: u64) {
        loop {
            let effects = self.groups.take_effects();
            if effects.is_empty() {
                return;
            }
            for effect in effects {
                match effect {
                    CoordinatorEffect::Reply {
                        to,
                        correlation_id,
                        response,
                    } => self.reply(to, correlation_id, response),
                    CoordinatorEffect::Emit(event) => self.emit(ClusterEvent::Group(event)),
                    CoordinatorEffect::Append {
                        partition,
                        records,
                        token,
                    } => self.append_for_group(now_ms, partition, records, token),
                }
            }
        }
    }

    fn append_for_group(
        &mut self,
        now_ms: u64,
        partition: i32,
        records: Vec<crate::record::Record>,
        token: u64,
    ) {
        let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
        let Some(leader_epoch) = self.leading.get(&tp).map(|l| l.leader_epoch) else {
            self.groups
                .on_append_done(now_ms, token, Err(ErrorCode::NotLeaderOrFollower));
            return;
        };
        let batch = RecordBatch::new(records);
        let required = self.leader_append(now_ms, &tp, batch.clone()) + batch.len();
        self.group_appends.push(PendingGroupAppend {
            partition: tp,
            required,
            leader_epoch,
            token,
        });
        // Followers' fetches parked at this leader take the new records now, as
        // they do after a Produce, so the write commits within a round trip.
        self.complete_parked_fetches(now_ms);
        self.complete_group_appends(now_ms);
    }

    /// Confirms coordinator writes the high watermark now covers, and fails
    /// those whose leadership moved.
    pub(super) fn complete_group_appends(&mut self, now_ms: u64) {
        let pending = std::mem::take(&mut self.group_appends);
        let mut done = Vec::new();
        for append in pending {
            let leading = self
                .leading
                .get(&append.partition)
                .filter(|l| l.leader_epoch == append.leader_epoch);
            match leading {
                None => done.push((append.token, Err(ErrorCode::NotLeaderOrFollower))),
                Some(_)
                    if self.disk.logs[&append.partition].high_watermark() >= append.required =>
                {
                    done.push((append.token, Ok(())))
                }
                Some(_) => self.group_appends.push(append),
            }
        }
        for (token, result) in done {
            self.groups.on_append_done(now_ms, token, result);
        }
        self.drain_group_effects(now_ms);
    }

    /// `__consumer_offsets` partitions led now, with their leader epochs.
    pub(super) fn led_offsets_partitions(&self) -> BTreeSet<(i32, LeaderEpoch)> {
        self.leading
            .iter()
            .filter(|(tp, _)| tp.topic == OFFSETS_TOPIC)
            .map(|(tp, l)| (tp.partition, l.leader_epoch))
            .collect()
    }

    /// After leadership changed: the coordinator loads the `__consumer_offsets`
    /// partitions this broker now leads and forgets those it no longer leads.
    pub(super) fn move_group_coordination(
        &mut self,
        now_ms: u64,
        before: &BTreeSet<(i32, LeaderEpoch)>,
    ) {
        let after = self.led_offsets_partitions();
        for &(partition, _) in before.difference(&after) {
            self.groups.on_partition_lost(partition);
        }
        for &(partition, _) in after.difference(before) {
            let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
            // Kafka's coordinator reads the partition to its end when it loads.
            let records: Vec<crate::record::Record> = self.disk.logs[&tp]
                .batches()
                .iter()
                .flat_map(|b| b.records.iter().cloned())
                .collect();
            self.groups.on_partition_led(now_ms, partition, &records);
        }
        self.complete_group_appends(now_ms);
    }
}
