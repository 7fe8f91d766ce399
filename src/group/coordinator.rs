//! The group coordinator: Kafka's classic consumer group protocol, as a sans-IO
//! state machine that runs inside a broker.
//!
//! Every broker runs one. It is the coordinator of the groups whose
//! `__consumer_offsets` partition it leads (see [`super::offsets_topic`]); a
//! request for any other group answers `NOT_COORDINATOR`, and the client asks
//! `FindCoordinator` again. Everything the coordinator must not forget (committed
//! offsets, each generation's members and assignment) it appends to that
//! partition, and it answers only once the append is committed, so a new leader of
//! the partition rebuilds the same groups by replaying it.
//!
//! **The protocol.** A consumer sends `JoinGroup` with its subscription and the
//! assignors it supports. The coordinator collects the members' joins, then starts a
//! new *generation*: it picks one assignor every member supports and one member as
//! the *leader*, and answers every join (only the leader's answer lists the members
//! and their subscriptions). The leader computes the assignment on the client side
//! and sends it in `SyncGroup`; every member's `SyncGroup` is answered with its own
//! share once the assignment is persisted. Members then `Heartbeat` to stay alive and
//! learn of rebalances, `OffsetCommit` their progress and `LeaveGroup` on close.
//!
//! **States** (Kafka's names):
//! - `Empty`: no members (maybe committed offsets). A join starts a rebalance.
//! - `PreparingRebalance`: joins are parked until every known member has rejoined or
//!   the rebalance timeout (the largest `max.poll.interval.ms` of the members)
//!   expires; dynamic members that did not rejoin are removed (static ones keep
//!   their place). A group leaving Empty first waits
//!   `group.initial.rebalance.delay.ms`, so a crowd of consumers starting together
//!   forms one generation instead of many.
//! - `CompletingRebalance`: the generation is chosen; syncs are parked until the
//!   leader's assignment is persisted. Members that do not sync within the
//!   rebalance timeout are removed.
//! - `Stable`: every member has its assignment; heartbeats answer `NONE`.
//! - `Dead`: the group is gone from this coordinator (its partition moved away);
//!   the model forgets such a group at once.
//!
//! **Fencing.** A request names its member id and generation. An unknown member id
//! answers `UNKNOWN_MEMBER_ID`, a stale generation `ILLEGAL_GENERATION`, a static
//! member's replaced id `FENCED_INSTANCE_ID`; either way the client must rejoin.
//! A member silent for `session.timeout.ms` is removed and the group rebalances.
//! Kafka fences *commits* this way, never fetches, and checks neither that the
//! committer owns the partition nor that offsets only grow: a zombie consumer keeps
//! reading until it next talks to the coordinator.
//!
//! **The code**: `group` holds one group's state and the rules that need only it;
//! `join` (JoinGroup, rebalances), `static_members`, `sync` (SyncGroup),
//! `heartbeat` (Heartbeat, LeaveGroup, expiries) and `offsets` (OffsetCommit,
//! OffsetFetch) handle the requests; `partitions` loads and unloads
//! `__consumer_offsets` partitions and takes append outcomes; `outbox` collects
//! effects; `invariants` says what always holds.
//!
//! **Simplifications**, and what Kafka does instead:
//! - Only the classic protocol: no KIP-848 consumer protocol, no share or streams
//!   groups, no DescribeGroups, ListGroups, DeleteGroups or OffsetDelete.
//! - No transactional offset commits (`TxnOffsetCommit`), so no
//!   `UNSTABLE_OFFSET_COMMIT`; no offset expiry (`offsets.retention.minutes`), so
//!   an Empty group stays forever.
//! - Loading a partition is instant, so `COORDINATOR_LOAD_IN_PROGRESS` never
//!   happens; Kafka reads the partition in the background and answers it meanwhile.
//! - No `group.max.size` (Kafka's default has no limit in practice), no
//!   `offset.metadata.max.bytes`.
//! - Member ids are `<client or group.instance.id>-<counter>`, not `…-<UUID>`.
//!   Where Kafka picks "any" member (a new leader, a tie between assignors) from
//!   hash-map order, the model picks deterministically (smallest member id, the
//!   leader's preference).
//! - `LeaveGroup` answers with one error code (the first member's error), as
//!   LeaveGroup v0–v2 did; later versions answer per member.
//! - A member removed while its SyncGroup is parked gets `UNKNOWN_MEMBER_ID`; Kafka
//!   never answers it. (As in Kafka, a second JoinGroup or SyncGroup from a member
//!   whose first is still parked replaces it, and the first goes unanswered.)

use crate::error::ErrorCode;
use crate::ids::{CorrelationId, Offset, TopicPartition};
use crate::node::Peer;
use crate::protocol::{Assignment, Request, Response};
use crate::record::Record;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

mod group;
mod heartbeat;
mod invariants;
mod join;
mod offsets;
mod outbox;
mod partitions;
mod static_members;
mod sync;

use group::Group;
use outbox::Outbox;

/// The broker settings the coordinator reads, with Kafka's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCoordinatorConfig {
    /// `offsets.topic.num.partitions` (Kafka: 50; the model: 3).
    pub offsets_topic_num_partitions: i32,
    /// `group.min.session.timeout.ms`.
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`.
    pub group_max_session_timeout_ms: u64,
    /// `group.initial.rebalance.delay.ms`.
    pub group_initial_rebalance_delay_ms: u64,
}

impl Default for GroupCoordinatorConfig {
    fn default() -> Self {
        GroupCoordinatorConfig {
            offsets_topic_num_partitions: 3,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
        }
    }
}

/// What the coordinator asks its broker to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorEffect {
    /// Answer a request on the connection it came in on.
    Reply {
        to: Peer,
        correlation_id: CorrelationId,
        response: Response,
    },
    /// Append these records as leader to partition `partition` of
    /// `__consumer_offsets`; the broker later calls `on_append_done(token, result)`
    /// once the high watermark covers them (`Ok`) or the append failed or
    /// leadership was lost (`Err(code)`).
    Append {
        partition: i32,
        records: Vec<Record>,
        token: u64,
    },
    /// Something worth recording happened.
    Emit(GroupEvent),
}

/// Why a member left a group.
#[derive(Debug, Clone, Copy, PartialEq, Hash, Eq, Serialize, Deserialize)]
pub enum RemovalReason {
    /// No heartbeat (or other request) within `session.timeout.ms`.
    SessionTimeout,
    /// The member sent `LeaveGroup` (or an admin removed its `group.instance.id`).
    LeaveGroup,
    /// The member did not rejoin before the rebalance timeout.
    RebalanceTimeout,
    /// The member joined but did not send `SyncGroup` within the rebalance timeout.
    SyncTimeout,
}

/// Facts for timelines and checkers.
#[derive(Debug, Clone, PartialEq, Hash, Eq, Serialize, Deserialize)]
pub enum GroupEvent {
    /// The coordinator took over a partition and rebuilt these groups from it.
    PartitionLoaded { partition: i32, groups: Vec<String> },
    /// The partition moved away; its groups are Dead here.
    PartitionUnloaded { partition: i32, groups: Vec<String> },
    MemberAdded {
        group: String,
        member_id: String,
        group_instance_id: Option<String>,
    },
    /// A static member rejoined with a new member id; the old one is fenced and the
    /// new one takes its place (and its assignment).
    StaticMemberReplaced {
        group: String,
        group_instance_id: String,
        old_member_id: String,
        new_member_id: String,
    },
    MemberRemoved {
        group: String,
        member_id: String,
        reason: RemovalReason,
    },
    /// The group entered PreparingRebalance; `generation_id` is the one ending.
    RebalanceStarted {
        group: String,
        generation_id: i32,
        reason: String,
    },
    /// The join phase ended: a new generation with these members (none: the group
    /// is now Empty).
    JoinCompleted {
        group: String,
        generation_id: i32,
        protocol_name: Option<String>,
        leader: Option<String>,
        members: Vec<String>,
    },
    /// The leader's assignment is persisted: the group is Stable in this generation.
    GenerationStarted {
        group: String,
        generation_id: i32,
        leader: String,
        members: BTreeMap<String, Vec<TopicPartition>>,
    },
    /// An offset commit is persisted (`member_id` empty and generation `-1` for a
    /// commit from outside group management).
    OffsetCommitted {
        group: String,
        member_id: String,
        generation_id: i32,
        partition: TopicPartition,
        offset: Offset,
    },
    /// An offset commit was refused before anything was written (fencing).
    CommitRejected {
        group: String,
        member_id: String,
        generation_id: i32,
        error: ErrorCode,
    },
    /// An offset commit's append failed: it may or may not be in the log.
    CommitAppendFailed {
        group: String,
        member_id: String,
        generation_id: i32,
        error: ErrorCode,
    },
}

/// A group's state, with Kafka's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A member as `describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub assignment: Assignment,
}

/// A group as `describe` shows it (a little like Kafka's DescribeGroups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub group_id: String,
    pub state: GroupState,
    pub generation_id: i32,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<MemberSummary>,
}

/// The group coordinator of one broker.
#[derive(Debug, Clone)]
pub struct GroupCoordinator {
    config: GroupCoordinatorConfig,
    /// The `__consumer_offsets` partitions this broker leads and has loaded.
    led_partitions: BTreeSet<i32>,
    groups: BTreeMap<String, Group>,
    /// Replies, appends and events not yet taken, and appends not yet done.
    out: Outbox,
    /// Suffix of the next generated member id.
    next_member_suffix: u64,
}

impl GroupCoordinator {
    pub fn new(config: GroupCoordinatorConfig) -> Self {
        assert!(config.offsets_topic_num_partitions > 0);
        assert!(config.group_min_session_timeout_ms <= config.group_max_session_timeout_ms);
        GroupCoordinator {
            config,
            led_partitions: BTreeSet::new(),
            groups: BTreeMap::new(),
            out: Outbox::default(),
            next_member_suffix: 0,
        }
    }

    /// Handles a group request: JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
    /// OffsetCommit, OffsetFetch. (The broker answers FindCoordinator itself.)
    pub fn on_request(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        request: Request,
    ) {
        let parked = outbox::Parked {
            from,
            correlation_id,
        };
        match request {
            Request::JoinGroup(r) => self.on_join_group(now_ms, parked, r),
            Request::SyncGroup(r) => self.on_sync_group(now_ms, parked, r),
            Request::Heartbeat(r) => self.on_heartbeat(now_ms, parked, r),
            Request::LeaveGroup(r) => self.on_leave_group(now_ms, parked, r),
            Request::OffsetCommit(r) => self.on_offset_commit(now_ms, parked, r),
            Request::OffsetFetch(r) => self.on_offset_fetch(parked, r),
            other => panic!(
                "the broker routed a {} request to the group coordinator",
                other.api_name()
            ),
        }
    }

    /// Replies, appends and events produced since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<CoordinatorEffect> {
        std::mem::take(&mut self.out.effects)
    }

    /// The earliest session, join or sync deadline of any group.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.groups
            .values()
            .filter_map(Group::next_deadline_ms)
            .min()
    }

    /// Runs every timer that is due: session expiries, rebalance and sync timeouts.
    pub fn on_tick(&mut self, now_ms: u64) {
        let due: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.next_deadline_ms().is_some_and(|d| d <= now_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for group_id in due {
            let group = self.groups.get_mut(&group_id).expect("listed above");
            let mut cx = outbox::Ctx {
                now_ms,
                config: &self.config,
                out: &mut self.out,
            };
            group.on_tick(&mut cx);
        }
    }

    /// A group's state name, generation and members, if this coordinator has it.
    pub fn describe(&self, group_id: &str) -> Option<GroupSummary> {
        self.groups.get(group_id).map(Group::summary)
    }

    /// Which partition of `__consumer_offsets` holds `group_id`.
    pub fn partition_for(&self, group_id: &str) -> i32 {
        super::offsets_topic::partition_for_group(
            group_id,
            self.config.offsets_topic_num_partitions,
        )
    }

    /// The error a request for `group_id` gets before the group is even looked at
    /// (Kafka's `validateGroupStatus`). OffsetCommit and OffsetFetch accept the
    /// empty group id, for backward compatibility, as Kafka does.
    fn group_status_error(&self, group_id: &str, allow_empty_id: bool) -> Option<ErrorCode> {
        if group_id.is_empty() && !allow_empty_id {
            Some(ErrorCode::InvalidGroupId)
        } else if !self.led_partitions.contains(&self.partition_for(group_id)) {
            Some(ErrorCode::NotCoordinator)
        } else {
            None
        }
    }

    /// Asserts the coordinator's internal consistency; drivers call it after every
    /// handler.
    pub fn invariants(&self) {
        for (id, group) in &self.groups {
            assert_eq!(&group.group_id, id, "a group is filed under its own id");
            assert_eq!(
                group.partition,
                self.partition_for(id),
                "group {id} placement"
            );
            assert!(
                self.led_partitions.contains(&group.partition),
                "group {id} lives on a partition this broker does not lead"
            );
            group.invariants();
        }
        self.out.invariants(&self.led_partitions);
        for (partition, waiter) in self.out.pending.values() {
            let group = self.groups.get(waiter.group_id());
            assert_eq!(
                group.map(|g| g.partition),
                Some(*partition),
                "an append waits for a group of its partition"
            );
        }
        // Every member id was generated here or loaded (which moves the counter past
        // it), so the counter never hands out an id that is in use.
        for group in self.groups.values() {
            for member_id in group.members.keys().chain(group.pending_members.keys()) {
                if let Some(suffix) = outbox::member_id_suffix(member_id) {
                    assert!(
                        suffix < self.next_member_suffix,
                        "member id {member_id} would be generated again"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
