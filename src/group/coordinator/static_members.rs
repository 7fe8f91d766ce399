//! Static membership (`group.instance.id`, KIP-345): a consumer that restarts
//! with the same instance id takes its old place back instead of causing a
//! rebalance, and the instance's previous member id is fenced (FENCED_INSTANCE_ID).

use super::group::Group;
use super::outbox::{
    join_error, store_group_error, sync_error, Ctx, Parked, PendingAppend, StaticReplacement,
};
use super::{GroupEvent, GroupState};
use crate::error::ErrorCode;
use crate::protocol::*;

impl Group {
    /// A static member joined with no member id while its `group.instance.id` is
    /// held by `old_member_id` (typically: the consumer restarted). The new id takes
    /// over; the old one is fenced. A Stable group whose assignor does not change
    /// skips the rebalance: the new id inherits the old one's assignment once the
    /// change is persisted (KIP-345).
    pub(super) fn replace_static_member_and_rebalance(
        &mut self,
        cx: &mut Ctx,
        instance: &str,
        old_member_id: String,
        new_member_id: String,
        parked: Parked,
        r: JoinGroupRequest,
    ) {
        let leader_before = self.leader_id.clone();
        self.replace_static_member(cx, instance, &old_member_id, &new_member_id);
        let member = self.members.get_mut(&new_member_id).expect("just replaced");
        let previous = (
            std::mem::replace(&mut member.protocols, r.protocols),
            std::mem::replace(&mut member.rebalance_timeout_ms, r.rebalance_timeout_ms),
            std::mem::replace(&mut member.session_timeout_ms, r.session_timeout_ms),
        );
        member.session_deadline_ms = cx.now_ms + member.session_timeout_ms;
        let reason = format!(
            "Updating metadata for static member {new_member_id} with instance id {instance}"
        );
        match self.state {
            GroupState::Stable
                if self.protocol_name.as_deref() == Some(&self.select_protocol()) =>
            {
                let record = self.metadata_record(cx.now_ms, &self.current_assignment());
                let replacement = StaticReplacement {
                    group_instance_id: instance.to_string(),
                    old_member_id,
                    new_member_id,
                    previous,
                    leader_before,
                    reply: parked,
                };
                let group_id = self.group_id.clone();
                cx.out.append(
                    self.partition,
                    vec![record],
                    PendingAppend::StaticReplacement {
                        group_id,
                        replacement,
                    },
                );
            }
            GroupState::Stable
            | GroupState::CompletingRebalance
            | GroupState::PreparingRebalance => {
                let member = self.members.get_mut(&new_member_id).expect("just replaced");
                member.awaiting_join = Some(parked);
                self.maybe_prepare_rebalance(cx, reason);
            }
            GroupState::Empty | GroupState::Dead => {
                unreachable!("a group with a static member has members")
            }
        }
    }

    /// Moves a static member to a new member id; requests parked under the old id
    /// are answered FENCED_INSTANCE_ID.
    fn replace_static_member(&mut self, cx: &mut Ctx, instance: &str, old: &str, new: &str) {
        let mut member = self
            .members
            .remove(old)
            .expect("the instance's current member");
        if let Some(join) = member.awaiting_join.take() {
            cx.out
                .reply(&join, join_error(old, ErrorCode::FencedInstanceId));
        }
        if let Some(sync) = member.awaiting_sync.take() {
            cx.out.reply(&sync, sync_error(ErrorCode::FencedInstanceId));
        }
        member.member_id = new.to_string();
        self.members.insert(new.to_string(), member);
        self.static_members
            .insert(instance.to_string(), new.to_string());
        if self.is_leader(old) {
            self.leader_id = Some(new.to_string());
        }
        if self.pending_sync_members.remove(old) {
            self.pending_sync_members.insert(new.to_string());
        }
        cx.out.emit(GroupEvent::StaticMemberReplaced {
            group: self.group_id.clone(),
            group_instance_id: instance.to_string(),
            old_member_id: old.to_string(),
            new_member_id: new.to_string(),
        });
    }

    /// A static member's replacement in a Stable group is done: answer its join
    /// with the current generation (naming the leader from before the replacement,
    /// so the new id does not think it must assign), or undo the replacement.
    pub(super) fn on_static_replacement_appended(
        &mut self,
        cx: &mut Ctx,
        replacement: StaticReplacement,
        result: Result<(), ErrorCode>,
    ) {
        let StaticReplacement {
            group_instance_id,
            old_member_id,
            new_member_id,
            previous,
            leader_before,
            reply,
        } = replacement;
        let response = match result {
            Ok(()) => Response::JoinGroup(JoinGroupResponse {
                error_code: ErrorCode::None,
                generation_id: self.generation_id,
                protocol_name: self.protocol_name.clone(),
                leader: leader_before.unwrap_or_default(),
                member_id: new_member_id,
                members: Vec::new(),
            }),
            Err(append_error) => {
                let still_current =
                    self.static_members.get(&group_instance_id) == Some(&new_member_id);
                if still_current {
                    self.replace_static_member(
                        cx,
                        &group_instance_id,
                        &new_member_id,
                        &old_member_id,
                    );
                    let member = self.members.get_mut(&old_member_id).expect("just restored");
                    (
                        member.protocols,
                        member.rebalance_timeout_ms,
                        member.session_timeout_ms,
                    ) = previous;
                    member.session_deadline_ms = cx.now_ms + member.session_timeout_ms;
                }
                join_error(UNKNOWN_MEMBER_ID, store_group_error(append_error))
            }
        };
        cx.out.reply(&reply, response);
    }
}
