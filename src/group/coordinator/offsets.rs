//! OffsetCommit and OffsetFetch (Kafka's `handleCommitOffsets`,
//! `handleFetchOffsets`).
//!
//! A commit is fenced by member id and generation only: Kafka checks neither that
//! the committer owns the partition nor that the offset moves forward. Accepted
//! commits are appended to the group's `__consumer_offsets` partition and answered
//! (and become visible to OffsetFetch) once the append is committed.

use super::group::Group;
use super::outbox::{commit_error, CommittedOffset, Ctx, Parked, PendingAppend};
use super::{GroupCoordinator, GroupEvent, GroupState};
use crate::error::ErrorCode;
use crate::group::offsets_topic::OffsetsRecord;
use crate::ids::TopicPartition;
use crate::protocol::*;

impl GroupCoordinator {
    pub(super) fn on_offset_commit(&mut self, now_ms: u64, parked: Parked, r: OffsetCommitRequest) {
        if let Some(error) = self.group_status_error(&r.group_id, true) {
            return self.out.reply(&parked, commit_response(&r, error));
        }
        if !self.groups.contains_key(&r.group_id) {
            // No group: a consumer that assigns partitions itself (generation -1)
            // creates an Empty one; anything else comes from a generation long gone.
            if r.generation_id >= 0 {
                return reject(&mut self.out, parked, &r, ErrorCode::IllegalGeneration);
            }
            let group = Group::new(r.group_id.clone(), self.partition_for(&r.group_id));
            self.groups.insert(r.group_id.clone(), group);
        }
        let group = self
            .groups
            .get_mut(&r.group_id)
            .expect("present or created");
        let mut cx = Ctx {
            now_ms,
            config: &self.config,
            out: &mut self.out,
        };
        group.on_offset_commit(&mut cx, parked, r);
    }

    pub(super) fn on_offset_fetch(&mut self, parked: Parked, r: OffsetFetchRequest) {
        if let Some(error) = self.group_status_error(&r.group_id, true) {
            let response = OffsetFetchResponse {
                error_code: error,
                partitions: Vec::new(),
            };
            return self.out.reply(&parked, Response::OffsetFetch(response));
        }
        // Offsets are answered whatever the group's state: a group may use Kafka
        // to store offsets without using it to assign partitions.
        let group = self.groups.get(&r.group_id);
        let committed = |tp: &TopicPartition| group.and_then(|g| g.offsets.get(tp));
        let partitions: Vec<TopicPartition> = match r.partitions {
            Some(partitions) => partitions,
            None => group.map_or(Vec::new(), |g| g.offsets.keys().cloned().collect()),
        };
        let partitions = partitions
            .into_iter()
            .map(|tp| {
                let found = committed(&tp);
                OffsetFetchResponsePartition {
                    committed_offset: found.map_or(-1, |c| c.offset),
                    committed_leader_epoch: found.and_then(|c| c.leader_epoch),
                    metadata: found.and_then(|c| c.metadata.clone()),
                    error_code: ErrorCode::None,
                    partition: tp,
                }
            })
            .collect();
        let response = OffsetFetchResponse {
            error_code: ErrorCode::None,
            partitions,
        };
        self.out.reply(&parked, Response::OffsetFetch(response));
    }
}

impl Group {
    // ANCHOR: commit_states
    fn on_offset_commit(&mut self, cx: &mut Ctx, parked: Parked, r: OffsetCommitRequest) {
        if let Some(error) = self.validate_offset_commit(&r) {
            return reject(cx.out, parked, &r, error);
        }
        match self.state {
            GroupState::Empty => {}
            // A member of the generation being replaced may still commit what it
            // processed; its next heartbeat tells it to rejoin.
            GroupState::Stable | GroupState::PreparingRebalance => {
                let member = self
                    .members
                    .get_mut(&r.member_id)
                    .expect("validated member");
                member.session_deadline_ms = cx.now_ms + member.session_timeout_ms;
            }
            // The member has its new generation but not its assignment yet.
            GroupState::CompletingRebalance => {
                return reject(cx.out, parked, &r, ErrorCode::RebalanceInProgress);
            }
            GroupState::Dead => unreachable!("dead groups are forgotten"),
        }
        // ANCHOR_END: commit_states
        if r.partitions.is_empty() {
            return cx.out.reply(&parked, commit_response(&r, ErrorCode::None));
        }
        let offsets: Vec<(TopicPartition, CommittedOffset)> = r
            .partitions
            .iter()
            .map(|p| {
                let committed = CommittedOffset {
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.clone(),
                };
                (p.partition.clone(), committed)
            })
            .collect();
        let records = offsets
            .iter()
            .map(|(tp, c)| {
                OffsetsRecord::OffsetCommit {
                    group: self.group_id.clone(),
                    partition: tp.clone(),
                    offset: c.offset,
                    leader_epoch: c.leader_epoch,
                    metadata: c.metadata.clone(),
                }
                .to_record(cx.now_ms)
            })
            .collect();
        let waiter = PendingAppend::Offsets {
            group_id: self.group_id.clone(),
            member_id: r.member_id,
            generation_id: r.generation_id,
            reply: parked,
            offsets,
        };
        cx.out.append(self.partition, records, waiter);
    }

    // ANCHOR: validate_offset_commit
    /// Kafka's `validateOffsetCommit`.
    fn validate_offset_commit(&self, r: &OffsetCommitRequest) -> Option<ErrorCode> {
        if r.generation_id < 0 && self.state == GroupState::Empty {
            // From an admin client or a consumer outside group management.
            None
        } else if r.generation_id >= 0 || !r.member_id.is_empty() || r.group_instance_id.is_some() {
            self.validate_current_member(&r.member_id, r.group_instance_id.as_deref())
                .or((r.generation_id != self.generation_id).then_some(ErrorCode::IllegalGeneration))
        } else {
            // Only members may commit to a group that has members.
            Some(ErrorCode::UnknownMemberId)
        }
    }
    // ANCHOR_END: validate_offset_commit

    /// The commit's append is done: the offsets count from now on, or not at all.
    pub(super) fn on_offsets_appended(
        &mut self,
        cx: &mut Ctx,
        (member_id, generation_id): (String, i32),
        reply: Parked,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
        result: Result<(), ErrorCode>,
    ) {
        let error = match result {
            Ok(()) => ErrorCode::None,
            Err(append_error) => commit_error(append_error),
        };
        if error != ErrorCode::None {
            cx.out.emit(GroupEvent::CommitAppendFailed {
                group: self.group_id.clone(),
                member_id,
                generation_id,
                error,
            });
        } else {
            for (partition, committed) in &offsets {
                cx.out.emit(GroupEvent::OffsetCommitted {
                    group: self.group_id.clone(),
                    member_id: member_id.clone(),
                    generation_id,
                    partition: partition.clone(),
                    offset: committed.offset,
                });
            }
        }
        let partitions = offsets
            .into_iter()
            .map(|(partition, committed)| {
                if error == ErrorCode::None {
                    self.offsets.insert(partition.clone(), committed);
                }
                OffsetCommitResponsePartition {
                    partition,
                    error_code: error,
                }
            })
            .collect();
        let response = OffsetCommitResponse { partitions };
        cx.out.reply(&reply, Response::OffsetCommit(response));
    }
}

fn commit_response(r: &OffsetCommitRequest, error: ErrorCode) -> Response {
    let partitions = r
        .partitions
        .iter()
        .map(|p| OffsetCommitResponsePartition {
            partition: p.partition.clone(),
            error_code: error,
        })
        .collect();
    Response::OffsetCommit(OffsetCommitResponse { partitions })
}

/// Refuses a commit before anything is written, and records the refusal.
fn reject(
    out: &mut super::outbox::Outbox,
    parked: Parked,
    r: &OffsetCommitRequest,
    error: ErrorCode,
) {
    out.emit(GroupEvent::CommitRejected {
        group: r.group_id.clone(),
        member_id: r.member_id.clone(),
        generation_id: r.generation_id,
        error,
    });
    out.reply(&parked, commit_response(r, error));
}
