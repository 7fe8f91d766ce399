//! JoinGroup and the rebalance it drives: PreparingRebalance, the join timers, and
//! the start of a generation (Kafka's `handleJoinGroup`, `prepareRebalance`,
//! `onCompleteJoin`).

use super::group::{Group, JoinTimer, Member, NEW_MEMBER_JOIN_TIMEOUT_MS};
use super::outbox::{join_error, Ctx, Parked, PendingAppend};
use super::{GroupCoordinator, GroupEvent, GroupState, RemovalReason};
use crate::error::ErrorCode;
use crate::protocol::*;
use std::collections::BTreeMap;

impl GroupCoordinator {
    pub(super) fn on_join_group(&mut self, now_ms: u64, parked: Parked, r: JoinGroupRequest) {
        if let Some(error) = self.group_status_error(&r.group_id, false) {
            return self.out.reply(&parked, join_error(&r.member_id, error));
        }
        let allowed =
            self.config.group_min_session_timeout_ms..=self.config.group_max_session_timeout_ms;
        if !allowed.contains(&r.session_timeout_ms) {
            return self.out.reply(
                &parked,
                join_error(&r.member_id, ErrorCode::InvalidSessionTimeout),
            );
        }
        let is_new_member = r.member_id == UNKNOWN_MEMBER_ID;
        // A group comes into being with its first member's join; a member id for a
        // group that does not exist is unknown.
        if !self.groups.contains_key(&r.group_id) {
            if !is_new_member {
                return self.out.reply(
                    &parked,
                    join_error(&r.member_id, ErrorCode::UnknownMemberId),
                );
            }
            let group = Group::new(r.group_id.clone(), self.partition_for(&r.group_id));
            self.groups.insert(r.group_id.clone(), group);
        }
        let group = self.groups.get_mut(&r.group_id).expect("created above");
        let mut cx = Ctx {
            now_ms,
            config: &self.config,
            out: &mut self.out,
        };
        if is_new_member {
            group.new_member_join(&mut cx, &mut self.next_member_suffix, parked, r);
        } else {
            group.current_member_join(&mut cx, parked, r);
        }
        if group.state == GroupState::PreparingRebalance {
            group.try_complete_join(&mut cx);
        }
    }
}

impl Group {
    /// A join without a member id: a dynamic member gets an id and must join again
    /// with it (MEMBER_ID_REQUIRED, KIP-394); a static member joins at once.
    fn new_member_join(
        &mut self,
        cx: &mut Ctx,
        next_suffix: &mut u64,
        parked: Parked,
        r: JoinGroupRequest,
    ) {
        if !self.supports_protocols(&r.protocol_type, &r.protocols) {
            return cx.out.reply(
                &parked,
                join_error(UNKNOWN_MEMBER_ID, ErrorCode::InconsistentGroupProtocol),
            );
        }
        let prefix = match &r.group_instance_id {
            Some(instance) => instance.clone(),
            None => parked.from.node.to_string(),
        };
        let member_id = self.generate_member_id(&prefix, next_suffix);
        match r.group_instance_id.clone() {
            None => {
                self.pending_members
                    .insert(member_id.clone(), cx.now_ms + r.session_timeout_ms);
                cx.out
                    .reply(&parked, join_error(&member_id, ErrorCode::MemberIdRequired));
            }
            Some(instance) => match self.static_members.get(&instance).cloned() {
                Some(old_member_id) => self.replace_static_member_and_rebalance(
                    cx,
                    &instance,
                    old_member_id,
                    member_id,
                    parked,
                    r,
                ),
                None => self.add_member_and_rebalance(cx, member_id, parked, r),
            },
        }
    }

    /// A join with a member id: a pending member's second join, or a known member
    /// rejoining.
    fn current_member_join(&mut self, cx: &mut Ctx, parked: Parked, r: JoinGroupRequest) {
        let member_id = r.member_id.clone();
        if !self.supports_protocols(&r.protocol_type, &r.protocols) {
            return cx.out.reply(
                &parked,
                join_error(&member_id, ErrorCode::InconsistentGroupProtocol),
            );
        }
        if self.pending_members.contains_key(&member_id) && r.group_instance_id.is_none() {
            return self.add_member_and_rebalance(cx, member_id, parked, r);
        }
        if let Some(error) =
            self.validate_current_member(&member_id, r.group_instance_id.as_deref())
        {
            return cx.out.reply(&parked, join_error(&member_id, error));
        }
        let unchanged = self.members[&member_id].protocols == r.protocols;
        match self.state {
            GroupState::PreparingRebalance => {
                let reason = format!("Member {member_id} joining group during PreparingRebalance");
                self.update_member_and_rebalance(cx, parked, r, reason);
            }
            // The member lost its JoinGroup answer: answer it again.
            GroupState::CompletingRebalance if unchanged => {
                cx.out.reply(&parked, self.join_response(&member_id));
            }
            // A follower with nothing new: it may go on to SyncGroup.
            GroupState::Stable if unchanged && !self.is_leader(&member_id) => {
                cx.out.reply(&parked, self.join_response(&member_id));
            }
            // A changed subscription, or the leader asking for a rebalance (it does
            // so when topic metadata changes what it would assign).
            GroupState::CompletingRebalance | GroupState::Stable => {
                let reason = if unchanged {
                    format!(
                        "Leader {member_id} re-joining group during {}",
                        self.state.name()
                    )
                } else {
                    format!(
                        "Updating metadata for member {member_id} during {}",
                        self.state.name()
                    )
                };
                self.update_member_and_rebalance(cx, parked, r, reason);
            }
            GroupState::Empty | GroupState::Dead => {
                cx.out
                    .reply(&parked, join_error(&member_id, ErrorCode::UnknownMemberId));
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        cx: &mut Ctx,
        member_id: String,
        parked: Parked,
        r: JoinGroupRequest,
    ) {
        // Extends the initial delay only while the group forms its first generation.
        if self.state == GroupState::PreparingRebalance && self.generation_id == 0 {
            self.new_member_added = true;
        }
        let member = Member {
            member_id: member_id.clone(),
            group_instance_id: r.group_instance_id.clone(),
            session_timeout_ms: r.session_timeout_ms,
            rebalance_timeout_ms: r.rebalance_timeout_ms,
            protocols: r.protocols,
            assignment: Assignment::default(),
            awaiting_join: Some(parked),
            awaiting_sync: None,
            session_deadline_ms: cx.now_ms + NEW_MEMBER_JOIN_TIMEOUT_MS,
            is_new: true,
        };
        self.add_member(&r.protocol_type, member);
        cx.out.emit(GroupEvent::MemberAdded {
            group: self.group_id.clone(),
            member_id: member_id.clone(),
            group_instance_id: r.group_instance_id,
        });
        self.maybe_prepare_rebalance(cx, format!("Adding new member {member_id}"));
    }

    /// Records the member's new subscription and parks its join (a join already
    /// parked is replaced and never answered, as in Kafka).
    fn update_member_and_rebalance(
        &mut self,
        cx: &mut Ctx,
        parked: Parked,
        r: JoinGroupRequest,
        reason: String,
    ) {
        let member = self
            .members
            .get_mut(&r.member_id)
            .expect("validated member");
        member.protocols = r.protocols;
        member.rebalance_timeout_ms = r.rebalance_timeout_ms;
        member.session_timeout_ms = r.session_timeout_ms;
        member.awaiting_join = Some(parked);
        self.maybe_prepare_rebalance(cx, reason);
    }

    /// Kafka's `canRebalance`: Stable, CompletingRebalance and Empty groups may
    /// start a rebalance; one already preparing just goes on.
    pub(super) fn maybe_prepare_rebalance(&mut self, cx: &mut Ctx, reason: String) {
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(cx, reason);
        }
    }

    pub(super) fn prepare_rebalance(&mut self, cx: &mut Ctx, reason: String) {
        // Members waiting for an assignment must rejoin instead.
        if self.state == GroupState::CompletingRebalance {
            self.reset_and_propagate_assignment_error(cx, ErrorCode::RebalanceInProgress);
        }
        self.pending_sync_members.clear();
        self.sync_deadline_ms = None;
        let rebalance_timeout_ms = self.rebalance_timeout_ms();
        let timer = if self.state == GroupState::Empty {
            let delay_ms = cx.config.group_initial_rebalance_delay_ms;
            self.new_member_added = false;
            JoinTimer::Initial {
                deadline_ms: cx.now_ms + delay_ms,
                delay_ms,
                remaining_ms: rebalance_timeout_ms.saturating_sub(delay_ms),
            }
        } else {
            JoinTimer::Regular {
                deadline_ms: cx.now_ms + rebalance_timeout_ms,
            }
        };
        self.join_timer = Some(timer);
        self.state = GroupState::PreparingRebalance;
        cx.out.emit(GroupEvent::RebalanceStarted {
            group: self.group_id.clone(),
            generation_id: self.generation_id,
            reason,
        });
        self.try_complete_join(cx);
    }

    /// Completes the join phase early once every member has rejoined (never during
    /// the initial delay, whose point is to wait for members not known yet).
    pub(super) fn try_complete_join(&mut self, cx: &mut Ctx) {
        if self.state == GroupState::PreparingRebalance
            && matches!(self.join_timer, Some(JoinTimer::Regular { .. }))
            && self.has_all_members_joined()
        {
            self.complete_join(cx);
        }
    }

    // ANCHOR: initial_delay
    pub(super) fn on_join_timer(&mut self, cx: &mut Ctx) {
        match self.join_timer {
            Some(JoinTimer::Initial {
                delay_ms,
                remaining_ms,
                ..
            }) if self.new_member_added && remaining_ms != 0 => {
                self.new_member_added = false;
                let delay = cx.config.group_initial_rebalance_delay_ms.min(remaining_ms);
                self.join_timer = Some(JoinTimer::Initial {
                    deadline_ms: cx.now_ms + delay,
                    delay_ms: delay,
                    remaining_ms: remaining_ms.saturating_sub(delay_ms),
                });
            }
            Some(_) => self.complete_join(cx),
            None => unreachable!("a join timer fired"),
        }
    }
    // ANCHOR_END: initial_delay

    /// Kafka's `onCompleteJoin`: drop dynamic members that did not rejoin, then
    /// start the next generation and answer every parked join.
    fn complete_join(&mut self, cx: &mut Ctx) {
        let not_rejoined: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in not_rejoined {
            self.remove_member(&member_id);
            cx.out.emit(GroupEvent::MemberRemoved {
                group: self.group_id.clone(),
                member_id,
                reason: RemovalReason::RebalanceTimeout,
            });
        }
        // Only static members are left and none rejoined: wait for them (or for
        // their sessions to expire) for another rebalance timeout (at least 1 ms,
        // so the clock moves on even if a client asked for a zero timeout).
        if !self.maybe_elect_new_joined_leader() && !self.members.is_empty() {
            self.join_timer = Some(JoinTimer::Regular {
                deadline_ms: cx.now_ms + self.rebalance_timeout_ms().max(1),
            });
            return;
        }
        self.join_timer = None;
        self.new_member_added = false;
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.state = GroupState::Empty;
            let record = self.metadata_record(cx.now_ms, &BTreeMap::new());
            let group_id = self.group_id.clone();
            cx.out.append(
                self.partition,
                vec![record],
                PendingAppend::EmptyGroup { group_id },
            );
        } else {
            self.protocol_name = Some(self.select_protocol());
            self.state = GroupState::CompletingRebalance;
            let member_ids: Vec<String> = self.members.keys().cloned().collect();
            for member_id in &member_ids {
                let response = self.join_response(member_id);
                let member = self.members.get_mut(member_id).expect("listed above");
                if let Some(join) = member.awaiting_join.take() {
                    cx.out.reply(&join, response);
                }
                member.session_deadline_ms = cx.now_ms + member.session_timeout_ms;
                member.is_new = false;
                self.pending_sync_members.insert(member_id.clone());
            }
            self.sync_deadline_ms = Some(cx.now_ms + self.rebalance_timeout_ms());
        }
        cx.out.emit(GroupEvent::JoinCompleted {
            group: self.group_id.clone(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_id.clone(),
            members: self.members.keys().cloned().collect(),
        });
    }

    /// The answer to a member's join in the current generation; only the leader's
    /// lists the members with their subscriptions.
    pub(super) fn join_response(&self, member_id: &str) -> Response {
        let protocol = self
            .protocol_name
            .clone()
            .expect("a generation has a protocol");
        let members = if self.is_leader(member_id) {
            self.members
                .values()
                .map(|m| JoinGroupResponseMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: m.subscription(&protocol).clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        Response::JoinGroup(JoinGroupResponse {
            error_code: ErrorCode::None,
            generation_id: self.generation_id,
            protocol_name: Some(protocol),
            leader: self.leader_id.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members,
        })
    }
}
