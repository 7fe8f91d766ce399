//! Joining the group: prepare, JoinGroup, the leader's assignment, SyncGroup,
//! and applying the assignment.
//!
//! During a poll, a member that must (re)join first prepares (Kafka's
//! `onJoinPrepare`): with auto-commit it commits and waits for the answer; then
//! an eager member revokes every partition it owns, a cooperative one only those
//! of topics it no longer wants, and a member that lost its membership reports
//! its partitions lost instead. It sends JoinGroup, the first time with no member
//! id: the coordinator answers `MEMBER_ID_REQUIRED` with one, and the member joins
//! again with it. Once the group has formed, the coordinator answers every
//! member; the leader member runs the group's assignor over everyone's
//! subscription (`assignment.rs`) and sends the result in its SyncGroup, the
//! others send none. SyncGroup's answer is the member's assignment, which the next
//! poll applies (Kafka's `onJoinComplete`). A cooperative member then revokes what
//! moved away and joins again at once, so a partition changes hands in two
//! rebalances (KIP-429).

use super::assignment::{run_assignor, Member};
use super::commit_queue::CommitKind;
use super::group::{Generation, MemberState};
use super::{ConsumerCore, Mode, Purpose, RebalanceEvent};
use crate::client::ClientError;
use crate::error::ErrorCode;
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::*;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's `JoinGroupRequest` protocol type for consumers.
const CONSUMER_PROTOCOL_TYPE: &str = "consumer";
/// Kafka's `JOIN_GROUP_TIMEOUT_LAPSE`: a JoinGroup may wait this much longer than
/// the rebalance timeout, for which the coordinator may hold it.
const JOIN_GROUP_TIMEOUT_LAPSE_MS: u64 = 5_000;

impl ConsumerCore {
    /// A JoinGroup or SyncGroup is out.
    pub(super) fn join_in_flight(&self) -> bool {
        self.network
            .in_flight()
            .any(|p| matches!(p, Purpose::JoinGroup | Purpose::SyncGroup(_)))
    }

    /// Kafka's `joinGroupIfNeeded`, one step: prepare, then send JoinGroup.
    pub(super) fn join_group_if_needed(&mut self, now_ms: u64) {
        if now_ms < self.membership.join_retry_at_ms {
            return; // backing off after a failed join
        }
        self.membership.join_retry_at_ms = 0;
        let m = &self.membership;
        if !m.rejoin_needed
            || self.coordinator.is_none()
            || self.join_in_flight()
            || m.leader_waiting.is_some()
        {
            return;
        }
        if self.membership.needs_join_prepare {
            if !self.join_prepare(now_ms) {
                return; // waiting for the commit before the rebalance
            }
            self.membership.needs_join_prepare = false;
        }
        self.send_join_group(now_ms);
    }

    /// Kafka's `onJoinPrepare`; false while its commit is still under way.
    fn join_prepare(&mut self, now_ms: u64) -> bool {
        if self.membership.generation.is_reset() {
            let owned = self.assignment();
            self.drop_partitions(owned, RebalanceEvent::Lost);
            return true;
        }
        if self.config.auto_commit() && !self.membership.prepare_committed {
            self.membership.prepare_committed = true;
            let offsets = self.consumed_offsets();
            self.start_commit(now_ms, CommitKind::JoinPrepare, offsets);
        }
        if self.commits.has(CommitKind::JoinPrepare) {
            return false;
        }
        self.membership.prepare_committed = false;
        let subscribed = self.subscribed_topics().cloned().unwrap_or_default();
        let revoked: Vec<TopicPartition> = self
            .assignment()
            .into_iter()
            .filter(|tp| !self.config.cooperative() || !subscribed.contains(&tp.topic))
            .collect();
        self.drop_partitions(revoked, RebalanceEvent::Revoked);
        true
    }

    /// Stops reading `partitions` and tells the listener how they went.
    pub(super) fn drop_partitions(
        &mut self,
        partitions: Vec<TopicPartition>,
        event: fn(Vec<TopicPartition>) -> RebalanceEvent,
    ) {
        if partitions.is_empty() {
            return;
        }
        for tp in &partitions {
            self.assigned.remove(tp);
        }
        self.push_event(event(partitions));
    }

    /// What the member tells the group for one assignor.
    fn subscription_for(&self, protocol: &str) -> Subscription {
        let topics = self.subscribed_topics().expect("joining means subscribed");
        let (owned_partitions, generation_id) = if protocol == "sticky" {
            self.membership.last_assignment.clone()
        } else {
            (self.assignment(), self.membership.generation.generation_id)
        };
        Subscription {
            topics: topics.iter().cloned().collect(),
            owned_partitions,
            generation_id,
        }
    }

    fn send_join_group(&mut self, now_ms: u64) {
        let coordinator = self.coordinator.expect("joining needs the coordinator");
        let protocols = self
            .config
            .partition_assignment_strategy
            .iter()
            .map(|name| JoinGroupRequestProtocol {
                name: name.clone(),
                metadata: self.subscription_for(name),
            })
            .collect();
        let request = Request::JoinGroup(JoinGroupRequest {
            group_id: self.config.group_id.clone().expect("a group has an id"),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            member_id: self.membership.generation.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            protocol_type: CONSUMER_PROTOCOL_TYPE.into(),
            protocols,
        });
        let timeout_ms = (self.config.max_poll_interval_ms + JOIN_GROUP_TIMEOUT_LAPSE_MS)
            .max(self.config.request_timeout_ms);
        self.membership.state = MemberState::PreparingRebalance;
        self.network.send_with_timeout(
            now_ms,
            NodeId::Broker(coordinator),
            request,
            Purpose::JoinGroup,
            timeout_ms,
            &mut self.effects,
        );
    }

    /// A JoinGroup or SyncGroup got no answer: find the coordinator, retry later.
    pub(super) fn on_join_failed(&mut self, now_ms: u64) {
        self.mark_coordinator_unknown();
        self.retry_join(now_ms + self.config.retry_backoff_ms);
    }

    /// Joins again at `at_ms` (`now` for at once), keeping the generation.
    fn retry_join(&mut self, at_ms: u64) {
        self.membership.rejoin_needed = true;
        self.membership.join_retry_at_ms = at_ms;
    }

    pub(super) fn on_join_group_response(&mut self, now_ms: u64, response: JoinGroupResponse) {
        if self.membership.state != MemberState::PreparingRebalance {
            return; // left or reset meanwhile; the next poll joins afresh if still subscribed
        }
        let backoff_ms = now_ms + self.config.retry_backoff_ms;
        match response.error_code {
            ErrorCode::None => self.on_joined(now_ms, response),
            ErrorCode::MemberIdRequired => {
                self.membership.generation = Generation {
                    member_id: response.member_id,
                    ..Generation::none()
                };
                self.retry_join(now_ms);
            }
            ErrorCode::UnknownMemberId => {
                self.membership.reset(true);
                self.retry_join(now_ms);
            }
            ErrorCode::CoordinatorLoadInProgress | ErrorCode::RebalanceInProgress => {
                self.retry_join(backoff_ms)
            }
            ErrorCode::CoordinatorNotAvailable | ErrorCode::NotCoordinator => {
                self.mark_coordinator_unknown();
                self.retry_join(backoff_ms);
            }
            code => {
                // FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT,
                // GROUP_MAX_SIZE_REACHED, …: Kafka throws them from poll; the next poll retries.
                self.poll_error = Some(ClientError::Broker {
                    code,
                    message: self.join_error_message(code),
                });
                self.retry_join(backoff_ms);
            }
        }
    }

    /// What the application is told when the coordinator refuses its JoinGroup.
    fn join_error_message(&self, code: ErrorCode) -> String {
        match code {
            // Kafka's `InvalidSessionTimeoutException` text, with the value sent.
            ErrorCode::InvalidSessionTimeout => format!(
                "JoinGroup failed: the session timeout is not within the range allowed by the \
                 broker (as configured by group.min.session.timeout.ms and \
                 group.max.session.timeout.ms): session.timeout.ms={}",
                self.config.session_timeout_ms
            ),
            _ => format!("JoinGroup failed: {code}"),
        }
    }

    /// Joined: start heartbeating, then assign (leader) or just sync (follower).
    fn on_joined(&mut self, now_ms: u64, response: JoinGroupResponse) {
        self.membership.state = MemberState::CompletingRebalance;
        self.membership.generation = Generation {
            generation_id: response.generation_id,
            member_id: response.member_id.clone(),
            protocol_name: response.protocol_name.clone(),
        };
        self.start_heartbeats(now_ms);
        if response.leader == response.member_id {
            let topics: BTreeSet<String> = response
                .members
                .iter()
                .flat_map(|m| m.metadata.topics.iter().cloned())
                .collect();
            for topic in &topics {
                self.network.want_topic(topic);
            }
            let deadline_ms = now_ms + self.config.max_poll_interval_ms;
            self.membership.leader_waiting = Some((response, deadline_ms));
            self.maybe_assign_as_leader(now_ms);
        } else {
            self.send_sync_group(now_ms, Vec::new());
        }
    }

    /// The leader assigns once it knows every subscribed topic's partition count
    /// (Kafka's leader refreshes its metadata first), or at the wait's end with
    /// what it knows: a topic without metadata is then left unassigned.
    pub(super) fn maybe_assign_as_leader(&mut self, now_ms: u64) {
        let Some((response, deadline_ms)) = &self.membership.leader_waiting else {
            return;
        };
        let topics: BTreeSet<&String> = response
            .members
            .iter()
            .flat_map(|m| &m.metadata.topics)
            .collect();
        let metadata = &self.network.metadata;
        let known = topics.iter().all(|t| metadata.partition_count(t).is_some());
        if !known && now_ms < *deadline_ms {
            return;
        }
        let partitions_per_topic: BTreeMap<String, i32> = topics
            .iter()
            .filter_map(|t| Some(((*t).clone(), metadata.partition_count(t)?.ok()?)))
            .collect();
        let members: BTreeMap<String, Member> = response
            .members
            .iter()
            .map(|m| {
                let member = Member {
                    group_instance_id: m.group_instance_id.clone(),
                    subscription: m.metadata.clone(),
                };
                (m.member_id.clone(), member)
            })
            .collect();
        let protocol = response.protocol_name.clone().unwrap_or_default();
        self.membership.leader_waiting = None;
        match run_assignor(
            &self.config.rules,
            &protocol,
            &members,
            &partitions_per_topic,
            self.config.bugs,
        ) {
            Ok(assignment) => {
                let assignments = assignment
                    .into_iter()
                    .map(|(member_id, partitions)| SyncGroupRequestAssignment {
                        member_id,
                        assignment: Assignment { partitions },
                    })
                    .collect();
                self.send_sync_group(now_ms, assignments);
            }
            Err(message) => {
                self.poll_error = Some(ClientError::Invalid { message });
                self.retry_join(now_ms + self.config.retry_backoff_ms);
            }
        }
    }

    fn send_sync_group(&mut self, now_ms: u64, assignments: Vec<SyncGroupRequestAssignment>) {
        let Some(coordinator) = self.coordinator else {
            return self.retry_join(now_ms + self.config.retry_backoff_ms);
        };
        let generation = self.membership.generation.clone();
        let request = Request::SyncGroup(SyncGroupRequest {
            group_id: self.config.group_id.clone().expect("a group has an id"),
            generation_id: generation.generation_id,
            member_id: generation.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            assignments,
        });
        self.network.send(
            now_ms,
            NodeId::Broker(coordinator),
            request,
            Purpose::SyncGroup(generation),
            &mut self.effects,
        );
    }

    pub(super) fn on_sync_group_response(
        &mut self,
        now_ms: u64,
        sent: Generation,
        response: SyncGroupResponse,
    ) {
        if !matches!(self.mode, Mode::Subscribed(_)) {
            return; // unsubscribed or closed meanwhile
        }
        let backoff_ms = now_ms + self.config.retry_backoff_ms;
        match response.error_code {
            ErrorCode::None => {
                if self.membership.state != MemberState::CompletingRebalance
                    || self.membership.generation != sent
                {
                    return self.retry_join(now_ms); // reset meanwhile: rejoin at once
                }
                self.membership.state = MemberState::Stable;
                self.membership.rejoin_needed = false;
                self.membership.completed = Some(response.assignment.partitions);
            }
            ErrorCode::RebalanceInProgress => self.retry_join(now_ms),
            code @ (ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration) => {
                if self.membership.generation == sent {
                    self.membership.reset(code == ErrorCode::UnknownMemberId);
                }
                self.retry_join(now_ms);
            }
            ErrorCode::CoordinatorNotAvailable | ErrorCode::NotCoordinator => {
                self.mark_coordinator_unknown();
                self.retry_join(backoff_ms);
            }
            code => {
                self.poll_error = Some(ClientError::Broker {
                    code,
                    message: format!("SyncGroup failed: {code}"),
                });
                self.retry_join(backoff_ms);
            }
        }
    }

    /// Kafka's `onJoinComplete`, run by a poll: take the new assignment, tell
    /// the listener, and with the cooperative protocol give up what moved away.
    pub(super) fn apply_completed_assignment(&mut self) {
        let Some(partitions) = self.membership.completed.take() else {
            return;
        };
        let subscribed = self.subscribed_topics().cloned().unwrap_or_default();
        self.membership.needs_join_prepare = true;
        if partitions.iter().any(|tp| !subscribed.contains(&tp.topic)) {
            // Kafka: "assigned partitions do not match subscription": join again.
            self.membership.rejoin_needed = true;
            return;
        }
        let assigned: BTreeSet<TopicPartition> = partitions.iter().cloned().collect();
        let owned: BTreeSet<TopicPartition> = self.assigned.keys().cloned().collect();
        let revoked: Vec<TopicPartition> = owned.difference(&assigned).cloned().collect();
        if !revoked.is_empty() {
            // Eager members own nothing here; a cooperative one gives these up
            // and rejoins so the group can hand them to their new owner.
            self.drop_partitions(revoked, RebalanceEvent::Revoked);
            self.membership.rejoin_needed = true;
        }
        let added: Vec<TopicPartition> = assigned.difference(&owned).cloned().collect();
        for tp in &added {
            let state = super::Assigned {
                awaiting_committed: true,
                ..super::Assigned::default()
            };
            self.assigned.insert(tp.clone(), state);
        }
        self.membership.last_assignment = (partitions, self.membership.generation.generation_id);
        self.push_event(RebalanceEvent::Assigned(added));
    }
}
