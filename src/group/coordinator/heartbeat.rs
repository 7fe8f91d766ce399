//! Liveness: Heartbeat, LeaveGroup, and the removal of members that went silent
//! (Kafka's `handleHeartbeat`, `handleLeaveGroup`, `onExpireHeartbeat`,
//! `onExpirePendingSync`).

use super::group::Group;
use super::outbox::{join_error, sync_error, Ctx, Parked};
use super::{GroupCoordinator, GroupEvent, GroupState, RemovalReason};
use crate::error::ErrorCode;
use crate::protocol::*;

impl GroupCoordinator {
    pub(super) fn on_heartbeat(&mut self, now_ms: u64, parked: Parked, r: HeartbeatRequest) {
        let error = match self.group_status_error(&r.group_id, false) {
            Some(error) => error,
            None => match self.groups.get_mut(&r.group_id) {
                None => ErrorCode::UnknownMemberId,
                Some(group) => group.on_heartbeat(now_ms, &r),
            },
        };
        let response = Response::Heartbeat(HeartbeatResponse { error_code: error });
        self.out.reply(&parked, response);
    }

    pub(super) fn on_leave_group(&mut self, now_ms: u64, parked: Parked, r: LeaveGroupRequest) {
        let error = match self.group_status_error(&r.group_id, false) {
            Some(error) => error,
            None => match self.groups.get_mut(&r.group_id) {
                None if r.members.is_empty() => ErrorCode::None,
                None => ErrorCode::UnknownMemberId,
                Some(group) => {
                    let mut cx = Ctx {
                        now_ms,
                        config: &self.config,
                        out: &mut self.out,
                    };
                    // One answer for all: the first member's error, as LeaveGroup
                    // v0–v2 (later versions answer per member).
                    let errors: Vec<ErrorCode> =
                        r.members.iter().map(|m| group.leave(&mut cx, m)).collect();
                    errors
                        .into_iter()
                        .find(|e| *e != ErrorCode::None)
                        .unwrap_or(ErrorCode::None)
                }
            },
        };
        let response = Response::LeaveGroup(LeaveGroupResponse { error_code: error });
        self.out.reply(&parked, response);
    }
}

impl Group {
    // ANCHOR: heartbeat_answer
    fn on_heartbeat(&mut self, now_ms: u64, r: &HeartbeatRequest) -> ErrorCode {
        let error = self
            .validate_current_member(&r.member_id, r.group_instance_id.as_deref())
            .or((r.generation_id != self.generation_id).then_some(ErrorCode::IllegalGeneration));
        if let Some(error) = error {
            return error;
        }
        let answer = match self.state {
            GroupState::Empty => return ErrorCode::UnknownMemberId,
            // The member has its join answer and may heartbeat before it syncs.
            GroupState::CompletingRebalance | GroupState::Stable => ErrorCode::None,
            // Tells the member to rejoin.
            GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
            GroupState::Dead => unreachable!("dead groups are forgotten"),
        };
        let member = self
            .members
            .get_mut(&r.member_id)
            .expect("validated member");
        member.session_deadline_ms = now_ms + member.session_timeout_ms;
        answer
    }
    // ANCHOR_END: heartbeat_answer

    /// Removes one leaving member; an empty member id with a `group.instance.id`
    /// removes whoever holds that instance id (an admin's removal).
    fn leave(&mut self, cx: &mut Ctx, who: &MemberIdentity) -> ErrorCode {
        if who.member_id == UNKNOWN_MEMBER_ID {
            let current = who
                .group_instance_id
                .as_ref()
                .and_then(|i| self.static_members.get(i))
                .cloned();
            return match current {
                Some(member_id) => {
                    self.remove_member_and_update_group(cx, &member_id, RemovalReason::LeaveGroup);
                    ErrorCode::None
                }
                None => ErrorCode::UnknownMemberId,
            };
        }
        if self.pending_members.remove(&who.member_id).is_some() {
            self.try_complete_join(cx);
            return ErrorCode::None;
        }
        match self.validate_current_member(&who.member_id, who.group_instance_id.as_deref()) {
            Some(error) => error,
            None => {
                self.remove_member_and_update_group(cx, &who.member_id, RemovalReason::LeaveGroup);
                ErrorCode::None
            }
        }
    }

    /// Kafka's `removeMemberAndUpdateGroup`: a member leaves; a Stable or
    /// CompletingRebalance group rebalances, a preparing one may now complete.
    pub(super) fn remove_member_and_update_group(
        &mut self,
        cx: &mut Ctx,
        member_id: &str,
        reason: RemovalReason,
    ) {
        let member = self.remove_member(member_id);
        if let Some(join) = member.awaiting_join {
            cx.out.reply(
                &join,
                join_error(UNKNOWN_MEMBER_ID, ErrorCode::UnknownMemberId),
            );
        }
        // Kafka leaves such a sync unanswered; the model answers every parked request.
        if let Some(sync) = member.awaiting_sync {
            cx.out.reply(&sync, sync_error(ErrorCode::UnknownMemberId));
        }
        cx.out.emit(GroupEvent::MemberRemoved {
            group: self.group_id.clone(),
            member_id: member_id.to_string(),
            reason,
        });
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                let why = match reason {
                    RemovalReason::LeaveGroup => "on LeaveGroup",
                    _ => "on heartbeat expiration",
                };
                self.maybe_prepare_rebalance(cx, format!("Removing member {member_id} {why}"));
            }
            GroupState::PreparingRebalance => self.try_complete_join(cx),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Member ids handed out with MEMBER_ID_REQUIRED that were not used within the
    /// session timeout stop holding up the rebalance.
    pub(super) fn expire_pending_members(&mut self, cx: &mut Ctx) {
        let expired: Vec<String> = self
            .pending_members
            .iter()
            .filter(|(_, deadline)| **deadline <= cx.now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for member_id in expired {
            self.pending_members.remove(&member_id);
            self.try_complete_join(cx);
        }
    }

    /// Members silent past their session timeout are removed.
    pub(super) fn expire_sessions(&mut self, cx: &mut Ctx) {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.expiry_ms().is_some_and(|d| d <= cx.now_ms))
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in expired {
            // An earlier removal may have completed a join and restarted the timer.
            let still_expired = self
                .members
                .get(&member_id)
                .and_then(|m| m.expiry_ms())
                .is_some_and(|d| d <= cx.now_ms);
            if still_expired {
                self.remove_member_and_update_group(cx, &member_id, RemovalReason::SessionTimeout);
            }
        }
    }

    /// Members that got their join answer but did not sync within the rebalance
    /// timeout are removed, and the group rebalances without them.
    pub(super) fn expire_pending_syncs(&mut self, cx: &mut Ctx) {
        if self.sync_deadline_ms.is_none_or(|d| d > cx.now_ms) {
            return;
        }
        let late: Vec<String> = std::mem::take(&mut self.pending_sync_members)
            .into_iter()
            .collect();
        self.sync_deadline_ms = None;
        for member_id in &late {
            self.remove_member(member_id);
            cx.out.emit(GroupEvent::MemberRemoved {
                group: self.group_id.clone(),
                member_id: member_id.clone(),
                reason: RemovalReason::SyncTimeout,
            });
        }
        let reason = format!("Removing {late:?} on pending sync request expiration");
        self.prepare_rebalance(cx, reason);
    }
}
