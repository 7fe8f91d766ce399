//! The consumer's fetcher: manual assignment, positions, and records.
//!
//! `assign` chooses partitions by hand (exclusive with `subscribe`); `seek` sets
//! a position.
//! A partition with no position and no committed offset to wait for asks its
//! leader for one with ListOffsets, following `auto.offset.reset`. A partition
//! with a position and an empty buffer is fetched, one Fetch per leader at a time
//! as Kafka's fetcher does. Answers for a partition the consumer no longer reads,
//! or that moved to another position meanwhile (a `seek`, a new assignment), are
//! dropped.

use super::{exclusive, Assigned, ConsumerCore, ConsumerRecord, Mode, Purpose};
use crate::bugs::Bug;
use crate::client::ClientError;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::protocol::*;
use std::collections::BTreeMap;

use super::OffsetReset;

impl ConsumerCore {
    /// Replaces the manual assignment. Partitions kept keep their position.
    /// Refused while subscribed: Kafka's subscription types are exclusive.
    pub fn assign(&mut self, partitions: Vec<TopicPartition>) -> Result<(), ClientError> {
        if matches!(self.mode, Mode::Subscribed(_)) {
            return Err(exclusive());
        }
        let awaiting_committed = self.config.group_id.is_some();
        let mut next = BTreeMap::new();
        for tp in partitions {
            self.network.want_topic(&tp.topic);
            let state = self.assigned.remove(&tp).unwrap_or(Assigned {
                awaiting_committed,
                ..Assigned::default()
            });
            next.insert(tp, state);
        }
        self.mode = if next.is_empty() {
            Mode::Idle
        } else {
            Mode::Manual
        };
        self.assigned = next;
        Ok(())
    }

    /// The partitions this consumer reads now: assigned by hand or owned in the group.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assigned.keys().cloned().collect()
    }

    /// Sets the next offset `poll` returns for a partition.
    pub fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<(), ClientError> {
        let state = self
            .assigned
            .get_mut(tp)
            .ok_or_else(|| ClientError::Invalid {
                message: format!("No current assignment for partition {tp}"),
            })?;
        state.position = Some(offset);
        state.position_epoch = None;
        state.validated_epoch = None;
        state.awaiting_committed = false;
        state.buffered.clear();
        Ok(())
    }

    pub fn position(&self, tp: &TopicPartition) -> Option<Offset> {
        self.assigned.get(tp).and_then(|s| s.position)
    }

    /// How far the position is behind the partition's high watermark, as the
    /// last fetch from it said: Kafka's `KafkaConsumer.currentLag` (KIP-695,
    /// Kafka 3.0). `None` until a fetch of the partition has answered, or
    /// without a position. Zero with an empty buffer means the consumer has
    /// read everything committed to the partition as of that fetch.
    pub fn current_lag(&self, tp: &TopicPartition) -> Option<i64> {
        let state = self.assigned.get(tp)?;
        Some(state.high_watermark? - state.position?)
    }

    /// Buffered records follow their position in order; a committed offset is
    /// awaited only by a group's partition that has no position yet.
    pub(super) fn partition_invariants(&self) {
        for (tp, state) in &self.assigned {
            let mut expected = state.position;
            for record in &state.buffered {
                assert_eq!(&record.partition, tp);
                assert!(
                    expected.is_none_or(|e| record.offset >= e),
                    "buffered records are in offset order"
                );
                expected = Some(record.offset + 1);
            }
            if state.awaiting_committed {
                assert!(
                    state.position.is_none(),
                    "a committed offset is awaited only without a position"
                );
                assert!(
                    self.config.group_id.is_some(),
                    "only a group has committed offsets"
                );
            }
        }
    }

    /// Returns buffered records, partition by partition, up to `max.poll.records`.
    pub(super) fn drain_buffered(&mut self) -> Vec<ConsumerRecord> {
        let mut records = Vec::new();
        for state in self.assigned.values_mut() {
            while records.len() < self.config.max_poll_records {
                let Some(record) = state.buffered.pop_front() else {
                    break;
                };
                state.position = Some(record.offset + 1);
                state.position_epoch = (record.leader_epoch >= 0).then_some(record.leader_epoch);
                records.push(record);
            }
        }
        records
    }

    fn leader_of(&self, tp: &TopicPartition) -> Option<(BrokerId, i32)> {
        let view = self.network.metadata.leader(tp)?;
        Some((view.leader?, view.leader_epoch))
    }

    /// Partitions with a request in flight about their position or records.
    pub(super) fn requested(&self) -> Vec<TopicPartition> {
        self.network
            .in_flight()
            .flat_map(|p| match p {
                Purpose::Fetch(tps) => tps.iter().map(|(tp, _)| tp.clone()).collect(),
                Purpose::ListOffsets(tps) | Purpose::OffsetFetch(tps) => tps.clone(),
                Purpose::ValidatePositions(tps) => {
                    tps.iter().map(|(tp, _, _)| tp.clone()).collect()
                }
                _ => vec![],
            })
            .collect()
    }

    /// Partitions ready for a request: idle, past their backoff, leader known.
    fn idle_by_leader(
        &mut self,
        now_ms: u64,
        want_position: bool,
    ) -> BTreeMap<BrokerId, Vec<(TopicPartition, i32)>> {
        let requested = self.requested();
        let mut by_leader: BTreeMap<BrokerId, Vec<(TopicPartition, i32)>> = BTreeMap::new();
        let mut missing_leader = false;
        for (tp, state) in &self.assigned {
            let wanted = state.position.is_some() == want_position
                && state.buffered.is_empty()
                && !state.awaiting_committed
                && !(want_position && self.needs_validation(tp, state));
            if !wanted || requested.contains(tp) || now_ms < state.retry_at_ms {
                continue;
            }
            match self.leader_of(tp) {
                Some((leader, epoch)) => by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp.clone(), epoch)),
                None => missing_leader = true,
            }
        }
        if missing_leader {
            self.network.request_metadata_update();
        }
        by_leader
    }

    pub(super) fn send_list_offsets(&mut self, now_ms: u64) {
        let timestamp = match self.config.auto_offset_reset {
            OffsetReset::Earliest => EARLIEST_TIMESTAMP,
            OffsetReset::Latest => LATEST_TIMESTAMP,
            OffsetReset::None => {
                let undefined: Vec<String> = self
                    .assigned
                    .iter()
                    .filter(|(_, s)| s.position.is_none() && !s.awaiting_committed)
                    .map(|(tp, _)| tp.to_string())
                    .collect();
                if !undefined.is_empty() && self.pending_poll.is_some() {
                    let message = format!(
                        "Undefined offset with no reset policy for partitions: [{}]",
                        undefined.join(", ")
                    );
                    self.finish_poll(Err(ClientError::Invalid { message }));
                }
                return;
            }
        };
        for (leader, tps) in self.idle_by_leader(now_ms, false) {
            let partitions = tps
                .iter()
                .map(|(tp, epoch)| ListOffsetsPartition {
                    partition: tp.clone(),
                    current_leader_epoch: Some(*epoch),
                    timestamp,
                })
                .collect();
            let request = Request::ListOffsets(ListOffsetsRequest {
                replica_id: CONSUMER_REPLICA_ID,
                partitions,
            });
            let purpose = Purpose::ListOffsets(tps.into_iter().map(|(tp, _)| tp).collect());
            self.network.send(
                now_ms,
                NodeId::Broker(leader),
                request,
                purpose,
                &mut self.effects,
            );
        }
    }

    /// Whether `tp`'s position must be checked against a new leader's log
    /// before the next fetch (KIP-320): the metadata names a leader epoch newer
    /// than the one the position was last valid under, and the epoch of the
    /// record before the position is known.
    fn needs_validation(&self, tp: &TopicPartition, state: &Assigned) -> bool {
        // Before Kafka 2.1 (KIP-320) a consumer never validated its position:
        // it fetched on from it, whatever the new leader's log held there.
        if self.config.bugs.on(Bug::Kip320Consumer) {
            return false;
        }
        let current = self.leader_of(tp).map(|(_, epoch)| epoch);
        let (Some(current), Some(validated)) = (current, state.validated_epoch) else {
            return false;
        };
        state.position.is_some() && state.position_epoch.is_some() && current > validated
    }

    /// Asks each new leader where the epoch of each position ended in its log
    /// (`OffsetsForLeaderEpoch`, as a consumer: KIP-320), for the positions that
    /// need it.
    pub(super) fn send_validations(&mut self, now_ms: u64) {
        let requested = self.requested();
        let mut by_leader: BTreeMap<BrokerId, Vec<(TopicPartition, Offset, LeaderEpoch)>> =
            BTreeMap::new();
        let mut partitions = Vec::new();
        for (tp, state) in &self.assigned {
            if !self.needs_validation(tp, state)
                || requested.contains(tp)
                || now_ms < state.retry_at_ms
            {
                continue;
            }
            let Some((leader, epoch)) = self.leader_of(tp) else {
                continue;
            };
            let position = state.position.expect("checked");
            let position_epoch = state.position_epoch.expect("checked");
            by_leader
                .entry(leader)
                .or_default()
                .push((tp.clone(), position, epoch));
            partitions.push((
                leader,
                OffsetForLeaderPartition {
                    partition: tp.clone(),
                    current_leader_epoch: epoch,
                    leader_epoch: position_epoch,
                },
            ));
        }
        for (leader, checked) in by_leader {
            let request = Request::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                replica_id: CONSUMER_REPLICA_ID,
                partitions: (partitions.iter())
                    .filter(|(l, _)| *l == leader)
                    .map(|(_, p)| p.clone())
                    .collect(),
            });
            self.network.send(
                now_ms,
                NodeId::Broker(leader),
                request,
                Purpose::ValidatePositions(checked),
                &mut self.effects,
            );
        }
    }

    /// Where each checked position's epoch ended in the new leader's log. An
    /// end before the position means the log was truncated under it: the
    /// position moves back to the end, the first offset known to diverge (with
    /// `auto.offset.reset=none`, the poll fails instead, as Kafka's
    /// `LogTruncationException` does).
    pub(super) fn on_validation_response(
        &mut self,
        now_ms: u64,
        checked: Vec<(TopicPartition, Offset, LeaderEpoch)>,
        response: OffsetsForLeaderEpochResponse,
    ) {
        for answer in response.partitions {
            let Some((_, position, epoch)) =
                checked.iter().find(|(tp, _, _)| *tp == answer.partition)
            else {
                continue;
            };
            let reset = self.config.auto_offset_reset;
            let Some(state) = self.assigned.get_mut(&answer.partition) else {
                continue; // no longer read here
            };
            if state.position != Some(*position) {
                continue; // the position moved while the request was out
            }
            if answer.error_code != ErrorCode::None {
                self.back_off(now_ms, &answer.partition, answer.error_code);
                continue;
            }
            state.validated_epoch = Some(*epoch);
            let undefined = answer.end_offset == UNDEFINED_EPOCH_OFFSET
                || answer.leader_epoch == UNDEFINED_EPOCH;
            if undefined {
                state.position = None; // reset by auto.offset.reset
                state.position_epoch = None;
            } else if answer.end_offset < *position {
                match reset {
                    OffsetReset::None => {
                        let message = format!(
                            "Truncated partition(s): {} (the first offset known to diverge is {})",
                            answer.partition, answer.end_offset
                        );
                        state.validated_epoch = None;
                        if self.pending_poll.is_some() {
                            self.finish_poll(Err(ClientError::Invalid { message }));
                        }
                    }
                    _ => {
                        state.position = Some(answer.end_offset);
                        state.position_epoch = Some(answer.leader_epoch);
                        state.buffered.clear();
                    }
                }
            }
        }
    }

    pub(super) fn send_fetches(&mut self, now_ms: u64) {
        for (leader, tps) in self.idle_by_leader(now_ms, true) {
            // One fetch per broker at a time, as Kafka's fetcher. Group requests do
            // not count: Kafka sends them on a connection of their own, so a
            // JoinGroup the coordinator holds never holds a fetch back.
            let busy = self
                .network
                .in_flight_to_where(NodeId::Broker(leader), |p| !p.to_coordinator());
            if busy > 0 {
                continue;
            }
            let fetched: Vec<(TopicPartition, Offset)> = tps
                .iter()
                .map(|(tp, _)| {
                    let position = self.assigned[tp].position;
                    (
                        tp.clone(),
                        position.expect("fetching from a known position"),
                    )
                })
                .collect();
            for (tp, epoch) in &tps {
                if let Some(state) = self.assigned.get_mut(tp) {
                    state.fetch_epoch = Some(*epoch);
                }
            }
            let partitions = tps
                .iter()
                .zip(&fetched)
                .map(|((tp, epoch), (_, offset))| FetchPartition {
                    partition: tp.clone(),
                    current_leader_epoch: Some(*epoch),
                    fetch_offset: *offset,
                    partition_max_bytes: self.config.max_partition_fetch_bytes,
                })
                .collect();
            let request = Request::Fetch(FetchRequest {
                replica_id: CONSUMER_REPLICA_ID,
                replica_epoch: -1,
                max_wait_ms: self.config.fetch_max_wait_ms,
                min_bytes: self.config.fetch_min_bytes,
                max_bytes: self.config.fetch_max_bytes,
                partitions,
            });
            self.network.send(
                now_ms,
                NodeId::Broker(leader),
                request,
                Purpose::Fetch(fetched),
                &mut self.effects,
            );
        }
    }

    /// A partition's request failed: refresh metadata if useful, back off.
    pub(super) fn back_off(&mut self, now_ms: u64, tp: &TopicPartition, code: ErrorCode) {
        if code.invalidates_metadata() {
            self.network.request_metadata_update();
        }
        if let Some(state) = self.assigned.get_mut(tp) {
            state.retry_at_ms = now_ms + self.config.retry_backoff_ms;
        }
    }

    pub(super) fn on_fetch_response(
        &mut self,
        now_ms: u64,
        fetched: Vec<(TopicPartition, Offset)>,
        response: FetchResponse,
    ) {
        for part in response.responses {
            let fetch_offset = fetched
                .iter()
                .find(|(tp, _)| *tp == part.partition)
                .map(|(_, offset)| *offset);
            let Some(state) = self.assigned.get_mut(&part.partition) else {
                continue; // no longer read here
            };
            if state.position.is_none() || state.position != fetch_offset {
                continue; // the position moved while the fetch was out
            }
            match part.error_code {
                ErrorCode::None => {
                    state.high_watermark = Some(part.high_watermark);
                    state.validated_epoch = state.fetch_epoch.or(state.validated_epoch);
                    buffer(state, &part);
                }
                ErrorCode::OffsetOutOfRange => {
                    // The position no longer exists: reset it per auto.offset.reset.
                    state.position = None;
                }
                code => self.back_off(now_ms, &part.partition, code),
            }
        }
    }

    pub(super) fn on_list_offsets_response(&mut self, now_ms: u64, response: ListOffsetsResponse) {
        for part in response.partitions {
            let Some(state) = self.assigned.get_mut(&part.partition) else {
                continue;
            };
            if state.awaiting_committed {
                continue; // reassigned meanwhile: the committed offset comes first
            }
            if part.error_code == ErrorCode::None {
                if state.position.is_none() {
                    state.position = Some(part.offset);
                    state.position_epoch = (part.leader_epoch >= 0).then_some(part.leader_epoch);
                }
            } else {
                self.back_off(now_ms, &part.partition, part.error_code);
            }
        }
    }
}

/// Buffers a fetched partition's records from the position on.
fn buffer(state: &mut Assigned, part: &FetchablePartitionResponse) {
    let position = state.position.expect("fetched from a known position");
    let records = (part.records.iter()).flat_map(|b| {
        b.offset_records()
            .map(move |(o, r)| (o, r, b.partition_leader_epoch))
    });
    for (offset, record, batch_epoch) in records.filter(|(o, _, _)| *o >= position) {
        state.buffered.push_back(ConsumerRecord {
            partition: part.partition.clone(),
            offset,
            leader_epoch: batch_epoch,
            key: record.key.clone(),
            value: record.value.clone(),
            headers: record.headers.clone(),
            timestamp_ms: record.timestamp_ms,
        });
    }
}
