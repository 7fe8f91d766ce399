//! Group membership, Kafka's classic protocol seen from the member: its state,
//! and what drives it.
//!
//! A subscribed consumer is in one of Kafka's `MemberState`s: unjoined, preparing a
//! rebalance (JoinGroup sent), completing it (SyncGroup sent), or stable. Work is
//! split as in Kafka's Java client: what the application's thread does runs in
//! [`ConsumerCore::group_poll`], only while a poll is under way (applying an
//! assignment, preparing and starting a join, auto-commit); what the heartbeat
//! thread and the network client do runs in [`ConsumerCore::group_tick`], on every
//! tick. Joining and syncing are in `join.rs`; heartbeats, leaving and closing in
//! `heartbeat.rs`.

use super::{exclusive, ConsumerCore, GroupMetadata, Mode};
use crate::client::ClientError;
use crate::error::ErrorCode;
use crate::ids::TopicPartition;
use crate::protocol::*;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MemberState {
    /// Not in the group (never joined, left, or reset after an error).
    Unjoined,
    /// JoinGroup sent, waiting for the group to form.
    PreparingRebalance,
    /// Joined; SyncGroup sent, waiting for the assignment.
    CompletingRebalance,
    /// In the group with an assignment.
    Stable,
}

/// Kafka's `Generation`: what identifies a member in one generation of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Generation {
    pub generation_id: i32,
    pub member_id: String,
    pub protocol_name: Option<String>,
}

impl Generation {
    pub fn none() -> Self {
        Generation {
            generation_id: NO_GENERATION,
            member_id: UNKNOWN_MEMBER_ID.to_string(),
            protocol_name: None,
        }
    }

    /// The member lost its generation (and maybe its id): it must rejoin, and
    /// its partitions count as lost.
    pub fn is_reset(&self) -> bool {
        self.generation_id == NO_GENERATION || self.member_id.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Membership {
    pub state: MemberState,
    pub generation: Generation,
    /// Kafka's `rejoinNeeded`: join (again) at the next poll.
    pub rejoin_needed: bool,
    /// Kafka's `needsJoinPrepare`: commit and revoke before the next JoinGroup.
    pub needs_join_prepare: bool,
    /// The join-prepare commit was started (and must finish before joining).
    pub prepare_committed: bool,
    /// After a failed join, the next JoinGroup waits until then (0: now).
    pub join_retry_at_ms: u64,
    /// The leader waits for topic metadata before it assigns: the JoinGroup
    /// answer, and when it stops waiting and assigns with what it knows.
    pub leader_waiting: Option<(JoinGroupResponse, u64)>,
    /// SyncGroup's answer, applied by the next poll.
    pub completed: Option<Vec<TopicPartition>>,
    /// The last assignment received, and its generation: the `sticky` assignor's
    /// user data (Kafka's eager `StickyAssignor` carries it in its subscription).
    pub last_assignment: (Vec<TopicPartition>, i32),
    /// Heartbeat thread: the next heartbeat is due then …
    pub next_heartbeat_ms: u64,
    /// … and without a successful one by then, the coordinator is presumed dead.
    pub session_deadline_ms: u64,
    /// The last time the application was in `poll` (for `max.poll.interval.ms`).
    pub last_poll_ms: u64,
}

impl Membership {
    pub fn new() -> Self {
        Membership {
            state: MemberState::Unjoined,
            generation: Generation::none(),
            rejoin_needed: true,
            needs_join_prepare: true,
            prepare_committed: false,
            join_retry_at_ms: 0,
            leader_waiting: None,
            completed: None,
            last_assignment: (Vec::new(), NO_GENERATION),
            next_heartbeat_ms: 0,
            session_deadline_ms: 0,
            last_poll_ms: 0,
        }
    }

    /// Kafka's `resetStateAndRejoin`: out of the group, rejoin at the next poll;
    /// `ILLEGAL_GENERATION` keeps the member id, which may still be valid.
    pub fn reset(&mut self, reset_member_id: bool) {
        self.state = MemberState::Unjoined;
        self.generation = if reset_member_id {
            Generation::none()
        } else {
            Generation {
                member_id: self.generation.member_id.clone(),
                ..Generation::none()
            }
        };
        self.rejoin_needed = true;
        self.needs_join_prepare = true;
        self.leader_waiting = None;
        self.completed = None;
    }

    /// Whether Kafka's heartbeat thread runs: once joined, until reset.
    pub fn heartbeat_enabled(&self) -> bool {
        matches!(
            self.state,
            MemberState::CompletingRebalance | MemberState::Stable
        )
    }

    pub fn assert_not_member(&self) {
        assert_eq!(
            self.state,
            MemberState::Unjoined,
            "only a subscribed consumer is a member"
        );
        assert!(self.completed.is_none() && self.leader_waiting.is_none());
    }

    pub fn invariants(&self) {
        if self.state != MemberState::Unjoined {
            assert!(
                !self.generation.member_id.is_empty()
                    || self.state == MemberState::PreparingRebalance,
                "a joined member has a member id"
            );
        }
        if self.heartbeat_enabled() {
            assert!(
                self.generation.generation_id >= 0,
                "a joined member has a generation"
            );
        }
        if self.completed.is_some() {
            assert_eq!(
                self.state,
                MemberState::Stable,
                "an assignment arrives with the stable state"
            );
        }
        if self.leader_waiting.is_some() {
            assert_eq!(
                self.state,
                MemberState::CompletingRebalance,
                "only a joined leader assigns"
            );
        }
    }
}

impl ConsumerCore {
    /// The application's side of group work, done while a poll is under way.
    pub(super) fn group_poll(&mut self, now_ms: u64) {
        self.membership.last_poll_ms = now_ms;
        if let Some(error) = self.poll_error.take() {
            return self.finish_poll(Err(error));
        }
        if let Some(error) = self.missing_subscribed_topic() {
            return self.finish_poll(Err(error));
        }
        if matches!(self.mode, Mode::Subscribed(_)) {
            self.apply_completed_assignment();
            self.join_group_if_needed(now_ms);
        }
        if !self.rebalancing() {
            // Kafka's poll auto-commits only outside a rebalance.
            self.maybe_auto_commit(now_ms);
        }
    }

    /// A subscribed topic the metadata says does not exist, as an error for the
    /// poll. The cached answer is dropped and the metadata asked again, so the
    /// next poll waits for a fresh answer (and stops failing once the topic exists)
    /// instead of failing at once, over and over, without time passing.
    fn missing_subscribed_topic(&mut self) -> Option<ClientError> {
        let metadata = &self.network.metadata;
        let missing = self.subscribed_topics()?.iter().find(|t| {
            metadata.partition_count(t) == Some(Err(ErrorCode::UnknownTopicOrPartition))
        })?;
        let missing = missing.clone();
        self.network.metadata.topics.remove(&missing);
        self.network.request_metadata_update();
        Some(ClientError::Broker {
            code: ErrorCode::UnknownTopicOrPartition,
            message: format!(
                "subscribed topic '{missing}' does not exist (the model's brokers never \
                 create topics automatically)"
            ),
        })
    }

    /// Kafka's `rejoinNeededOrPending`: a subscribed member's rebalance is wanted
    /// or under way, up to the poll that applies its outcome.
    pub(super) fn rebalancing(&self) -> bool {
        let m = &self.membership;
        matches!(self.mode, Mode::Subscribed(_))
            && (m.rejoin_needed
                || m.leader_waiting.is_some()
                || m.completed.is_some()
                || self.join_in_flight())
    }

    /// The background side of group work, done on every tick (Kafka's heartbeat
    /// thread and network client).
    pub(super) fn group_tick(&mut self, now_ms: u64) {
        if self.closed {
            return;
        }
        self.heartbeat_tick(now_ms);
        self.maybe_find_coordinator(now_ms);
        if now_ms >= self.coordinator_retry_at_ms {
            self.coordinator_retry_at_ms = 0;
        }
        self.expire_commits(now_ms);
        self.send_commits(now_ms);
        self.maybe_assign_as_leader(now_ms);
        self.advance_close(now_ms);
    }

    /// The earliest time group work wants a tick.
    pub(super) fn group_deadline_ms(&self) -> Option<u64> {
        if self.closed {
            return None;
        }
        let polling = self.pending_poll.is_some();
        let join = (polling && self.membership.join_retry_at_ms > 0)
            .then_some(self.membership.join_retry_at_ms);
        let auto_commit = (polling && self.config.auto_commit() && !self.rebalancing())
            .then_some(self.commits.next_auto_commit_ms)
            .flatten();
        let leader = self.membership.leader_waiting.as_ref().map(|(_, d)| *d);
        let close = self.closing.as_ref().map(|c| c.deadline_ms);
        [
            self.coordinator_deadline_ms(),
            self.heartbeat_deadline_ms(),
            self.commits.deadline_ms(self.coordinator.is_some()),
            join,
            auto_commit,
            leader,
            close,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// The application's group calls.
impl ConsumerCore {
    /// Joins the group (at the next `poll`) to read these topics. Needs a
    /// `group.id`; refused after `assign`. An empty list unsubscribes.
    pub fn subscribe(&mut self, now_ms: u64, topics: Vec<String>) -> Result<(), ClientError> {
        if self.config.group_id.is_none() {
            return Err(ClientError::Invalid {
                message: "To use the group management or offset commit APIs, you must provide a \
                          valid group.id in the consumer configuration."
                    .into(),
            });
        }
        if self.mode == Mode::Manual {
            return Err(exclusive());
        }
        if topics.iter().any(|t| t.trim().is_empty()) {
            return Err(ClientError::Invalid {
                message: "Topic collection to subscribe to cannot contain null or empty topic"
                    .into(),
            });
        }
        if topics.is_empty() {
            self.unsubscribe(now_ms);
            return Ok(());
        }
        let topics: BTreeSet<String> = topics.into_iter().collect();
        for topic in &topics {
            self.network.want_topic(topic);
        }
        if self.mode != Mode::Subscribed(topics.clone()) {
            // Kafka's `needRejoin`: the subscription changed since the last join.
            self.membership.rejoin_needed = true;
        }
        self.mode = Mode::Subscribed(topics);
        Ok(())
    }

    /// Leaves the group (revoking its partitions) or drops the manual assignment.
    pub fn unsubscribe(&mut self, now_ms: u64) {
        if matches!(self.mode, Mode::Subscribed(_)) {
            self.leave_prepare();
            self.maybe_leave_group(now_ms);
            self.membership.rejoin_needed = false;
        }
        self.assigned.clear();
        self.mode = Mode::Idle;
    }

    /// The topics subscribed to (empty when not subscribed).
    pub fn subscription(&self) -> Vec<String> {
        match &self.mode {
            Mode::Subscribed(topics) => topics.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The membership commits are made under; `None` without a `group.id`.
    pub fn group_metadata(&self) -> Option<GroupMetadata> {
        let group_id = self.config.group_id.clone()?;
        let generation = &self.membership.generation;
        Some(GroupMetadata {
            group_id,
            generation_id: generation.generation_id,
            member_id: generation.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
        })
    }
}
