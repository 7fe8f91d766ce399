//! What must hold of a group after every step; `GroupCoordinator::invariants`
//! checks it for every group.

use super::group::Group;
use super::GroupState;
use std::collections::BTreeMap;

impl Group {
    pub fn invariants(&self) {
        let id = &self.group_id;
        assert_ne!(
            self.state,
            GroupState::Dead,
            "dead groups are forgotten at once"
        );
        assert!(self.generation_id >= 0);
        assert_eq!(
            self.leader_id.is_some(),
            !self.members.is_empty(),
            "{id}: a leader iff members"
        );
        if let Some(leader) = &self.leader_id {
            assert!(
                self.members.contains_key(leader),
                "{id}: the leader is a member"
            );
        }
        let statics: BTreeMap<&String, &String> = self
            .members
            .values()
            .filter_map(|m| m.group_instance_id.as_ref().map(|i| (i, &m.member_id)))
            .collect();
        assert_eq!(
            statics,
            self.static_members.iter().collect(),
            "{id}: static member map"
        );
        for (member_id, member) in &self.members {
            assert_eq!(&member.member_id, member_id);
            assert!(
                !self.pending_members.contains_key(member_id),
                "{id}: pending or member"
            );
            if member.awaiting_join.is_some() {
                assert_eq!(
                    self.state,
                    GroupState::PreparingRebalance,
                    "{id}: joins park only then"
                );
            }
            if member.awaiting_sync.is_some() {
                assert_eq!(
                    self.state,
                    GroupState::CompletingRebalance,
                    "{id}: syncs park only then"
                );
            }
        }
        assert_eq!(
            self.state == GroupState::PreparingRebalance,
            self.join_timer.is_some()
        );
        assert!(self
            .pending_sync_members
            .iter()
            .all(|m| self.members.contains_key(m)));
        assert_eq!(
            self.sync_deadline_ms.is_some(),
            !self.pending_sync_members.is_empty()
        );
        match self.state {
            GroupState::Empty => {
                assert!(self.members.is_empty(), "{id}: Empty has no members");
                assert!(self.protocol_name.is_none());
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                let protocol = self
                    .protocol_name
                    .as_deref()
                    .expect("a generation has a protocol");
                assert!(self.generation_id > 0);
                assert!(!self.members.is_empty(), "{id}: a generation has members");
                assert!(self.members.values().all(|m| m.supports(protocol)));
            }
            GroupState::PreparingRebalance | GroupState::Dead => {
                assert!(self.pending_sync_members.is_empty());
            }
        }
    }
}
