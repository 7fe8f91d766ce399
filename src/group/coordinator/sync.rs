//! SyncGroup: the leader's assignment is persisted, then handed out (Kafka's
//! `handleSyncGroup`, `setAndPropagateAssignment`).

use super::group::Group;
use super::outbox::{store_group_error, sync_error, Ctx, Parked, PendingAppend};
use super::{GroupCoordinator, GroupEvent, GroupState};
use crate::error::ErrorCode;
use crate::protocol::*;
use std::collections::BTreeMap;

impl GroupCoordinator {
    pub(super) fn on_sync_group(&mut self, now_ms: u64, parked: Parked, r: SyncGroupRequest) {
        if let Some(error) = self.group_status_error(&r.group_id, false) {
            return self.out.reply(&parked, sync_error(error));
        }
        let Some(group) = self.groups.get_mut(&r.group_id) else {
            return self
                .out
                .reply(&parked, sync_error(ErrorCode::UnknownMemberId));
        };
        let mut cx = Ctx {
            now_ms,
            config: &self.config,
            out: &mut self.out,
        };
        group.on_sync(&mut cx, parked, r);
    }
}

impl Group {
    fn on_sync(&mut self, cx: &mut Ctx, parked: Parked, r: SyncGroupRequest) {
        let error = self
            .validate_current_member(&r.member_id, r.group_instance_id.as_deref())
            .or((r.generation_id != self.generation_id).then_some(ErrorCode::IllegalGeneration));
        if let Some(error) = error {
            return cx.out.reply(&parked, sync_error(error));
        }
        match self.state {
            GroupState::Empty => cx
                .out
                .reply(&parked, sync_error(ErrorCode::UnknownMemberId)),
            GroupState::PreparingRebalance => cx
                .out
                .reply(&parked, sync_error(ErrorCode::RebalanceInProgress)),
            GroupState::CompletingRebalance => {
                // Parked until the leader's assignment is persisted (a sync already
                // parked for the member is replaced, as in Kafka).
                let member = self
                    .members
                    .get_mut(&r.member_id)
                    .expect("validated member");
                member.awaiting_sync = Some(parked);
                self.remove_pending_sync(&r.member_id);
                if self.is_leader(&r.member_id) {
                    self.store_assignment(cx, r.assignments);
                }
            }
            GroupState::Stable => {
                self.remove_pending_sync(&r.member_id);
                let member = self
                    .members
                    .get_mut(&r.member_id)
                    .expect("validated member");
                member.session_deadline_ms = cx.now_ms + member.session_timeout_ms;
                let response = SyncGroupResponse {
                    error_code: ErrorCode::None,
                    assignment: member.assignment.clone(),
                };
                cx.out.reply(&parked, Response::SyncGroup(response));
            }
            GroupState::Dead => unreachable!("dead groups are forgotten"),
        }
    }

    /// Appends the leader's assignment as the group's metadata record; members it
    /// left out get an empty assignment, ids that are not members are ignored.
    fn store_assignment(&mut self, cx: &mut Ctx, assignments: Vec<SyncGroupRequestAssignment>) {
        let mut given: BTreeMap<String, Assignment> = assignments
            .into_iter()
            .map(|a| (a.member_id, a.assignment))
            .collect();
        let assignment: BTreeMap<String, Assignment> = self
            .members
            .keys()
            .map(|id| (id.clone(), given.remove(id).unwrap_or_default()))
            .collect();
        let record = self.metadata_record(cx.now_ms, &assignment);
        let waiter = PendingAppend::Assignment {
            group_id: self.group_id.clone(),
            generation_id: self.generation_id,
            assignment,
        };
        cx.out.append(self.partition, vec![record], waiter);
    }

    /// The assignment's append is done. If the group moved on meanwhile (another
    /// rebalance started), the outcome no longer matters.
    pub(super) fn on_assignment_appended(
        &mut self,
        cx: &mut Ctx,
        generation_id: i32,
        assignment: BTreeMap<String, Assignment>,
        result: Result<(), ErrorCode>,
    ) {
        if self.state != GroupState::CompletingRebalance || self.generation_id != generation_id {
            return;
        }
        if let Err(append_error) = result {
            self.reset_and_propagate_assignment_error(cx, store_group_error(append_error));
            let reason =
                format!("Error {append_error} when storing group assignment during SyncGroup");
            return self.maybe_prepare_rebalance(cx, reason);
        }
        for (member_id, member) in self.members.iter_mut() {
            member.assignment = assignment.get(member_id).cloned().unwrap_or_default();
        }
        self.propagate_assignment(cx, ErrorCode::None);
        self.state = GroupState::Stable;
        cx.out.emit(GroupEvent::GenerationStarted {
            group: self.group_id.clone(),
            generation_id: self.generation_id,
            leader: self.leader_id.clone().expect("a generation has a leader"),
            members: self
                .members
                .values()
                .map(|m| (m.member_id.clone(), m.assignment.partitions.clone()))
                .collect(),
        });
    }

    /// Clears every assignment and answers the parked syncs with `error`.
    pub(super) fn reset_and_propagate_assignment_error(&mut self, cx: &mut Ctx, error: ErrorCode) {
        assert_eq!(self.state, GroupState::CompletingRebalance);
        for member in self.members.values_mut() {
            member.assignment = Assignment::default();
        }
        self.propagate_assignment(cx, error);
    }

    /// Answers every parked sync, and restarts those members' session timers: they
    /// were not expected to heartbeat while waiting.
    fn propagate_assignment(&mut self, cx: &mut Ctx, error: ErrorCode) {
        for member in self.members.values_mut() {
            if let Some(sync) = member.awaiting_sync.take() {
                let response = SyncGroupResponse {
                    error_code: error,
                    assignment: member.assignment.clone(),
                };
                cx.out.reply(&sync, Response::SyncGroup(response));
                member.session_deadline_ms = cx.now_ms + member.session_timeout_ms;
            }
        }
    }
}
