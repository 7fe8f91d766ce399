//! Taking over and giving up `__consumer_offsets` partitions, and the outcome of
//! appends to them (Kafka's `onElection` / `onResignation` and the callbacks of
//! `storeGroup` / `storeOffsets`).

use super::group::{Group, Member};
use super::outbox::{commit_error, join_error, sync_error, CommittedOffset, Ctx, PendingAppend};
use super::{GroupCoordinator, GroupEvent, GroupState};
use crate::error::ErrorCode;
use crate::group::offsets_topic::{OffsetsRecord, StoredGroup};
use crate::ids::TopicPartition;
use crate::protocol::*;
use crate::record::Record;
use std::collections::BTreeMap;

impl GroupCoordinator {
    /// This broker became leader of `__consumer_offsets` partition `partition`:
    /// rebuild its groups by replaying its committed records in order (the latest
    /// metadata per group, offsets, tombstones). Groups with members come back
    /// Stable in their generation, the others Empty.
    ///
    /// Simplification: loading is instant. Kafka loads in the background and
    /// answers COORDINATOR_LOAD_IN_PROGRESS meanwhile. Being told again about a
    /// partition already led changes nothing, as in Kafka.
    pub fn on_partition_led(&mut self, now_ms: u64, partition: i32, records: &[Record]) {
        assert!((0..self.config.offsets_topic_num_partitions).contains(&partition));
        if !self.led_partitions.insert(partition) {
            return;
        }
        let mut metadata: BTreeMap<String, Option<StoredGroup>> = BTreeMap::new();
        let mut offsets: BTreeMap<String, BTreeMap<TopicPartition, CommittedOffset>> =
            BTreeMap::new();
        for record in records {
            let record = OffsetsRecord::parse(record).unwrap_or_else(|e| {
                panic!("unreadable record in __consumer_offsets-{partition}: {e}")
            });
            assert_eq!(
                self.partition_for(record.group()),
                partition,
                "a record of group {} in the wrong partition",
                record.group()
            );
            match record {
                OffsetsRecord::OffsetCommit {
                    group,
                    partition: tp,
                    offset,
                    leader_epoch,
                    metadata,
                } => {
                    let committed = CommittedOffset {
                        offset,
                        leader_epoch,
                        metadata,
                    };
                    offsets.entry(group).or_default().insert(tp, committed);
                }
                OffsetsRecord::OffsetTombstone {
                    group,
                    partition: tp,
                } => {
                    offsets.entry(group).or_default().remove(&tp);
                }
                OffsetsRecord::GroupMetadata { group, state } => {
                    // Member ids this coordinator generates must not repeat any a
                    // previous coordinator handed out.
                    for member in &state.members {
                        if let Some(suffix) = super::outbox::member_id_suffix(&member.member_id) {
                            self.next_member_suffix = self.next_member_suffix.max(suffix + 1);
                        }
                    }
                    metadata.insert(group, Some(state));
                }
                OffsetsRecord::GroupTombstone { group } => {
                    metadata.insert(group, None);
                }
            }
        }
        let mut group_ids: Vec<String> = metadata
            .iter()
            .filter(|(_, stored)| stored.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        group_ids.extend(
            offsets
                .iter()
                .filter(|(_, o)| !o.is_empty())
                .map(|(id, _)| id.clone()),
        );
        group_ids.sort();
        group_ids.dedup();
        for group_id in &group_ids {
            assert!(
                !self.groups.contains_key(group_id),
                "a group of a partition not led yet"
            );
            let stored = metadata.remove(group_id).flatten();
            let group_offsets = offsets.remove(group_id).unwrap_or_default();
            let group = Group::load(group_id.clone(), partition, stored, group_offsets, now_ms);
            self.groups.insert(group_id.clone(), group);
        }
        self.out.emit(GroupEvent::PartitionLoaded {
            partition,
            groups: group_ids,
        });
    }

    /// Leadership of `partition` moved away: its groups die here. Parked joins,
    /// syncs and commits answer NOT_COORDINATOR, so their members go find the new
    /// coordinator.
    pub fn on_partition_lost(&mut self, partition: i32) {
        if !self.led_partitions.remove(&partition) {
            return;
        }
        let unloaded: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.partition == partition)
            .map(|(id, _)| id.clone())
            .collect();
        for group_id in &unloaded {
            let group = self.groups.remove(group_id).expect("listed above");
            for member in group.members.into_values() {
                if let Some(join) = member.awaiting_join {
                    let response = join_error(&member.member_id, ErrorCode::NotCoordinator);
                    self.out.reply(&join, response);
                }
                if let Some(sync) = member.awaiting_sync {
                    self.out.reply(&sync, sync_error(ErrorCode::NotCoordinator));
                }
            }
        }
        let lost_tokens: Vec<u64> = self
            .out
            .pending
            .iter()
            .filter(|(_, (p, _))| *p == partition)
            .map(|(token, _)| *token)
            .collect();
        for token in lost_tokens {
            let (_, waiter) = self.out.pending.remove(&token).expect("listed above");
            self.answer_lost_append(waiter);
        }
        self.out.emit(GroupEvent::PartitionUnloaded {
            partition,
            groups: unloaded,
        });
    }

    /// An append whose partition is no longer led: whoever waits for it learns
    /// NOT_COORDINATOR (the records may still become committed by the new leader).
    fn answer_lost_append(&mut self, waiter: PendingAppend) {
        match waiter {
            PendingAppend::Assignment { .. } | PendingAppend::EmptyGroup { .. } => {}
            PendingAppend::StaticReplacement { replacement, .. } => {
                let response = join_error(UNKNOWN_MEMBER_ID, ErrorCode::NotCoordinator);
                self.out.reply(&replacement.reply, response);
            }
            PendingAppend::Offsets {
                group_id,
                member_id,
                generation_id,
                reply,
                offsets,
            } => {
                let error = commit_error(ErrorCode::NotLeaderOrFollower);
                self.out.emit(GroupEvent::CommitAppendFailed {
                    group: group_id,
                    member_id,
                    generation_id,
                    error,
                });
                let partitions = offsets
                    .into_iter()
                    .map(|(partition, _)| OffsetCommitResponsePartition {
                        partition,
                        error_code: error,
                    })
                    .collect();
                self.out.reply(
                    &reply,
                    Response::OffsetCommit(OffsetCommitResponse { partitions }),
                );
            }
        }
    }

    /// The broker reports on an `Append` effect: `Ok` once the high watermark
    /// covers its records, `Err` if the append failed or leadership was lost. A
    /// token of a partition given up since is ignored: its waiters were answered.
    pub fn on_append_done(&mut self, now_ms: u64, token: u64, result: Result<(), ErrorCode>) {
        if let Err(error) = result {
            assert_ne!(error, ErrorCode::None, "a failed append names its error");
        }
        assert!(
            self.out.issued(token),
            "append token {token} was never handed out"
        );
        let Some((partition, waiter)) = self.out.pending.remove(&token) else {
            return;
        };
        // Groups leave only with their partition, which also drops their appends.
        let group = self
            .groups
            .get_mut(waiter.group_id())
            .expect("the group of a pending append");
        assert_eq!(group.partition, partition);
        assert_ne!(group.state, GroupState::Dead);
        let mut cx = Ctx {
            now_ms,
            config: &self.config,
            out: &mut self.out,
        };
        match waiter {
            PendingAppend::Assignment {
                generation_id,
                assignment,
                ..
            } => group.on_assignment_appended(&mut cx, generation_id, assignment, result),
            // Kafka only logs a failure here: the group has no members to tell, and
            // a new coordinator would load the previous generation, whose members
            // are gone and will time out.
            PendingAppend::EmptyGroup { .. } => {}
            PendingAppend::StaticReplacement { replacement, .. } => {
                group.on_static_replacement_appended(&mut cx, replacement, result)
            }
            PendingAppend::Offsets {
                member_id,
                generation_id,
                reply,
                offsets,
                ..
            } => group.on_offsets_appended(
                &mut cx,
                (member_id, generation_id),
                reply,
                offsets,
                result,
            ),
        }
    }
}

impl Group {
    // ANCHOR: load_group
    /// A group rebuilt from its latest metadata record and its offsets: Stable in
    /// its generation if it has members (who must heartbeat within their session
    /// timeout from now), Empty otherwise.
    pub fn load(
        group_id: String,
        partition: i32,
        stored: Option<StoredGroup>,
        offsets: BTreeMap<TopicPartition, CommittedOffset>,
        now_ms: u64,
    ) -> Self {
        let mut group = Group::new(group_id, partition);
        group.offsets = offsets;
        let Some(stored) = stored else {
            return group;
        };
        group.generation_id = stored.generation_id;
        group.protocol_type = stored.protocol_type;
        group.protocol_name = stored.protocol_name;
        for m in stored.members {
            let protocol = group
                .protocol_name
                .clone()
                .expect("a group with members has a protocol");
            if let Some(instance) = &m.group_instance_id {
                group
                    .static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            let member = Member {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id,
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocols: vec![JoinGroupRequestProtocol {
                    name: protocol,
                    metadata: m.subscription,
                }],
                assignment: m.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                session_deadline_ms: now_ms + m.session_timeout_ms,
                is_new: false,
            };
            group.members.insert(m.member_id, member);
        }
        if !group.members.is_empty() {
            group.state = GroupState::Stable;
            group.leader_id = stored.leader;
        }
        group
    }
    // ANCHOR_END: load_group
}
