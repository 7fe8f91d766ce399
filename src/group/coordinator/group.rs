//! One group's state (Kafka's `GroupMetadata` / `ClassicGroup`) and the rules that
//! need nothing but that state: membership, leader and protocol choice, deadlines.

use super::outbox::{CommittedOffset, Ctx, Parked};
use super::{GroupState, GroupSummary, MemberSummary};
use crate::error::ErrorCode;
use crate::group::offsets_topic::{OffsetsRecord, StoredGroup, StoredMember};
use crate::ids::TopicPartition;
use crate::protocol::*;
use crate::record::Record;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's `NewMemberJoinTimeoutMs`: a new member whose JoinGroup is parked is
/// dropped after this long, since it has no member id to heartbeat with yet.
pub(super) const NEW_MEMBER_JOIN_TIMEOUT_MS: u64 = 5 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    /// Assignors with subscriptions, in the member's order of preference.
    pub protocols: Vec<JoinGroupRequestProtocol>,
    pub assignment: Assignment,
    /// Its JoinGroup, parked while the group prepares a rebalance.
    pub awaiting_join: Option<Parked>,
    /// Its SyncGroup, parked until the leader's assignment is persisted.
    pub awaiting_sync: Option<Parked>,
    pub session_deadline_ms: u64,
    /// Joined during the current rebalance and not yet part of a generation.
    pub is_new: bool,
}

impl Member {
    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|p| p.name == protocol)
    }

    /// The member's subscription for the group's chosen assignor.
    pub fn subscription(&self, protocol: &str) -> &Subscription {
        &self
            .protocols
            .iter()
            .find(|p| p.name == protocol)
            .expect("the chosen protocol is supported by every member")
            .metadata
    }

    /// When the member expires. Kafka does not expect heartbeats from a member whose
    /// join or sync is parked (it is waiting on the coordinator), except from a new
    /// member, which gets `NEW_MEMBER_JOIN_TIMEOUT_MS`.
    pub fn expiry_ms(&self) -> Option<u64> {
        let waiting = self.awaiting_join.is_some() || self.awaiting_sync.is_some();
        (self.is_new || !waiting).then_some(self.session_deadline_ms)
    }
}

/// The timer of a group in PreparingRebalance (Kafka's delayed join operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JoinTimer {
    /// `InitialDelayedJoin`: a group leaving Empty waits `delay_ms`, and again while
    /// new members keep arriving, for at most `remaining_ms` more in total.
    Initial {
        deadline_ms: u64,
        delay_ms: u64,
        remaining_ms: u64,
    },
    /// `DelayedJoin`: completes early once every member has rejoined, at the
    /// rebalance timeout otherwise.
    Regular { deadline_ms: u64 },
}

impl JoinTimer {
    pub fn deadline_ms(&self) -> u64 {
        match *self {
            JoinTimer::Initial { deadline_ms, .. } | JoinTimer::Regular { deadline_ms } => {
                deadline_ms
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Group {
    pub group_id: String,
    /// Its `__consumer_offsets` partition.
    pub partition: i32,
    pub state: GroupState,
    pub protocol_type: Option<String>,
    pub generation_id: i32,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// `group.instance.id` → the member id that holds it now.
    pub static_members: BTreeMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet joined (KIP-394),
    /// with the time they expire.
    pub pending_members: BTreeMap<String, u64>,
    /// Members of this generation that have not sent SyncGroup yet …
    pub pending_sync_members: BTreeSet<String>,
    /// … and when they will be removed for it.
    pub sync_deadline_ms: Option<u64>,
    pub join_timer: Option<JoinTimer>,
    /// A member joined during the initial delay (only counted in generation 0).
    pub new_member_added: bool,
    pub offsets: BTreeMap<TopicPartition, CommittedOffset>,
}

impl Group {
    pub fn new(group_id: String, partition: i32) -> Self {
        Group {
            group_id,
            partition,
            state: GroupState::Empty,
            protocol_type: None,
            generation_id: 0,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            pending_sync_members: BTreeSet::new(),
            sync_deadline_ms: None,
            join_timer: None,
            new_member_added: false,
            offsets: BTreeMap::new(),
        }
    }

    /// The group metadata record of the current generation, with `assignment`
    /// (members missing from it get an empty one).
    pub fn metadata_record(
        &self,
        now_ms: u64,
        assignment: &BTreeMap<String, Assignment>,
    ) -> Record {
        let members = self
            .members
            .values()
            .map(|m| StoredMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                subscription: m
                    .subscription(
                        self.protocol_name
                            .as_deref()
                            .expect("members imply a protocol"),
                    )
                    .clone(),
                assignment: assignment.get(&m.member_id).cloned().unwrap_or_default(),
            })
            .collect();
        let state = StoredGroup {
            protocol_type: self.protocol_type.clone(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_id.clone(),
            members,
        };
        OffsetsRecord::GroupMetadata {
            group: self.group_id.clone(),
            state,
        }
        .to_record(now_ms)
    }

    pub fn current_assignment(&self) -> BTreeMap<String, Assignment> {
        self.members
            .iter()
            .map(|(id, m)| (id.clone(), m.assignment.clone()))
            .collect()
    }

    pub fn summary(&self) -> GroupSummary {
        GroupSummary {
            group_id: self.group_id.clone(),
            state: self.state,
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_id.clone(),
            members: self
                .members
                .values()
                .map(|m| MemberSummary {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    /// The longest `max.poll.interval.ms` of the members: how long a rebalance
    /// waits for them.
    pub fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Kafka's `generateMemberId`, with a counter in place of a UUID.
    pub fn generate_member_id(&self, prefix: &str, next_suffix: &mut u64) -> String {
        let member_id = format!("{prefix}-{next_suffix}");
        *next_suffix += 1;
        assert!(
            !self.members.contains_key(&member_id)
                && !self.pending_members.contains_key(&member_id),
            "generated member ids are never reused"
        );
        member_id
    }

    /// Kafka's `supportsProtocols`: an Empty group takes any consumer; otherwise the
    /// joiner must speak the group's protocol type and share an assignor with
    /// every current member.
    pub fn supports_protocols(
        &self,
        protocol_type: &str,
        protocols: &[JoinGroupRequestProtocol],
    ) -> bool {
        if self.state == GroupState::Empty {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|p| self.members.values().all(|m| m.supports(&p.name)))
    }

    /// Kafka's `selectProtocol`: each member votes for its most preferred assignor
    /// among those every member supports; most votes wins. (Kafka breaks a tie by
    /// hash-map order; the model by the leader's preference.)
    pub fn select_protocol(&self) -> String {
        assert!(
            !self.members.is_empty(),
            "cannot select a protocol for an empty group"
        );
        let supported_by_all = |name: &str| self.members.values().all(|m| m.supports(name));
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            let vote = member
                .protocols
                .iter()
                .find(|p| supported_by_all(&p.name))
                .expect("members share a protocol: joins without one are refused");
            *votes.entry(&vote.name).or_default() += 1;
        }
        let most = *votes.values().max().expect("at least one vote");
        let leader = &self.members[self.leader_id.as_deref().expect("members imply a leader")];
        leader
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .find(|name| votes.get(name) == Some(&most))
            .expect("the winner is supported by the leader too")
            .to_string()
    }

    /// Adds a member; the first member sets the protocol type and leads.
    pub fn add_member(&mut self, protocol_type: &str, member: Member) {
        assert!(!self.members.contains_key(&member.member_id));
        if self.members.is_empty() {
            self.protocol_type = Some(protocol_type.to_string());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            let previous = self
                .static_members
                .insert(instance.clone(), member.member_id.clone());
            assert!(
                previous.is_none(),
                "static member {instance} is already in the group"
            );
        }
        self.pending_members.remove(&member.member_id);
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member (and its pending sync); a removed leader hands over to the
    /// first remaining member.
    pub fn remove_member(&mut self, member_id: &str) -> Member {
        let member = self
            .members
            .remove(member_id)
            .expect("removing a member of the group");
        if let Some(instance) = &member.group_instance_id {
            self.static_members.remove(instance);
        }
        if self.is_leader(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        self.remove_pending_sync(member_id);
        member
    }

    pub fn remove_pending_sync(&mut self, member_id: &str) {
        self.pending_sync_members.remove(member_id);
        if self.pending_sync_members.is_empty() {
            self.sync_deadline_ms = None;
        }
    }

    /// Kafka's `maybeElectNewJoinedLeader`: keep the leader if it rejoined, else the
    /// first member that did. False if nobody rejoined (or the group is empty).
    pub fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = &self.leader_id else {
            return false;
        };
        if self.members[leader].awaiting_join.is_some() {
            return true;
        }
        match self.members.values().find(|m| m.awaiting_join.is_some()) {
            Some(joined) => {
                self.leader_id = Some(joined.member_id.clone());
                true
            }
            None => false,
        }
    }

    /// Every member has rejoined and no member id handed out is still unused.
    pub fn has_all_members_joined(&self) -> bool {
        self.members.values().all(|m| m.awaiting_join.is_some()) && self.pending_members.is_empty()
    }

    /// Kafka's `validateCurrentMember`: a static member's instance id must map to the
    /// member id it sends (else it was replaced: FENCED_INSTANCE_ID), and the member
    /// id must be in the group.
    pub fn validate_current_member(
        &self,
        member_id: &str,
        instance: Option<&str>,
    ) -> Option<ErrorCode> {
        if let Some(instance) = instance {
            match self.static_members.get(instance) {
                Some(current) if current != member_id => return Some(ErrorCode::FencedInstanceId),
                Some(_) => {}
                None => return Some(ErrorCode::UnknownMemberId),
            }
        }
        (!self.members.contains_key(member_id)).then_some(ErrorCode::UnknownMemberId)
    }

    /// The earliest of the group's session, join and sync deadlines.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        let sessions = self.members.values().filter_map(Member::expiry_ms);
        let pending = self.pending_members.values().copied();
        let timers = self
            .sync_deadline_ms
            .into_iter()
            .chain(self.join_timer.map(|t| t.deadline_ms()));
        sessions.chain(pending).chain(timers).min()
    }

    /// Runs the group's due timers, in a fixed order.
    pub fn on_tick(&mut self, cx: &mut Ctx) {
        self.expire_pending_members(cx);
        self.expire_sessions(cx);
        self.expire_pending_syncs(cx);
        if self
            .join_timer
            .is_some_and(|t| t.deadline_ms() <= cx.now_ms)
        {
            self.on_join_timer(cx);
        }
    }
}
