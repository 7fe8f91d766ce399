//! The consumer's core: positions, long-polling fetches, consumer groups, commits.
//!
//! The application either `assign`s partitions itself (manual assignment) or
//! `subscribe`s to topics and lets its consumer group share the partitions out.
//! It then `poll`s. A partition without a position first looks for one: with a
//! `group.id`, the group's committed offset (OffsetFetch, `consumer/coordinator.rs`);
//! failing that, `auto.offset.reset` through ListOffsets (`earliest`, `latest`, or
//! `none`: fail the poll). While a poll waits, the core sends one Fetch per leader
//! for the partitions whose buffer is empty; the broker holds it until
//! `fetch.min.bytes` arrive or `fetch.max.wait.ms` passes (`consumer/fetcher.rs`).
//! `poll` returns up to `max.poll.records` and moves the position past them.
//!
//! A subscribed consumer is a member of Kafka's classic group protocol
//! (`consumer/group.rs`): it finds its coordinator, joins, the leader member
//! assigns (`consumer/assignment.rs`), everyone syncs, then heartbeats
//! (`consumer/heartbeat.rs`). Commits (`consumer/commit.rs`) are synchronous,
//! asynchronous or automatic. As in Kafka's Java client, the work Kafka does on the
//! application's thread (starting a rebalance, applying an assignment, running the
//! rebalance listener, auto-committing) happens only while a `poll` is under way,
//! and what Kafka's heartbeat thread does happens on every tick. A consumer whose
//! machine is paused does nothing at all, so it can turn into a zombie.
//!
//! Subscribing to a topic that does not exist: Kafka's consumer (with
//! `allow.auto.create.topics=false`, or brokers that do not create topics) logs
//! `UNKNOWN_TOPIC_OR_PARTITION` and assigns nothing from that topic, so its polls
//! quietly return nothing. kafkasim's brokers never create topics, and its
//! consumer makes the mistake visible instead: while the metadata says a
//! subscribed topic does not exist, `poll` fails with `UNKNOWN_TOPIC_OR_PARTITION`
//! naming the topic. Each failed poll asks the metadata again, so a topic created
//! later is read by the polls after that.
//!
//! Simplifications: no pattern subscriptions, no rack awareness, no `wakeup`;
//! the rebalance listener is a queue of events the application reads
//! ([`ConsumerCore::take_rebalance_events`]) after the fact, not a callback that
//! can block the rebalance.

use super::network::{Connection, Failed, NetworkClient};
use super::{ClientError, Completion, Token};
use crate::config::ConfigError;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::node::{Effect, Node, Peer};
use crate::protocol::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

mod assignment;
mod commit;
mod commit_queue;
mod config;
mod coordinator;
mod fetcher;
mod group;
mod heartbeat;
mod join;
mod outcome;
#[cfg(test)]
mod tests;

use commit_queue::Commits;
pub use config::{ConsumerConfig, OffsetReset, ASSIGNMENT_STRATEGIES};
use group::{Generation, Membership};
pub use outcome::{
    CommitOutcome, CommitResult, ConsumerOutcome, ConsumerRecord, GroupMetadata, PollOutcome,
    RebalanceEvent,
};

/// Kafka's default `close` timeout (`KafkaConsumer.DEFAULT_CLOSE_TIMEOUT_MS`).
pub const DEFAULT_CLOSE_TIMEOUT_MS: u64 = 30_000;
/// Unread rebalance events kept; older ones are dropped past this.
pub const REBALANCE_EVENTS_MAX: usize = 1_024;
/// Unread commit results kept; older ones are dropped past this.
pub const COMMIT_RESULTS_MAX: usize = 1_024;

/// How the consumer's partitions are chosen (Kafka's `SubscriptionType`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Idle,
    /// `assign`: the application chose the partitions.
    Manual,
    /// `subscribe`: the group shares these topics' partitions out.
    Subscribed(BTreeSet<String>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Assigned {
    /// The offset of the next record `poll` returns; `None` until known.
    position: Option<Offset>,
    /// With a `group.id`, the group's committed offset is asked for first.
    awaiting_committed: bool,
    /// Fetched, not yet returned by `poll`.
    buffered: VecDeque<ConsumerRecord>,
    /// After an error, the partition waits until then before the next request.
    retry_at_ms: u64,
    /// The partition's high watermark, as the last fetch from it said.
    high_watermark: Option<Offset>,
    /// The leader epoch of the record before the position (Kafka's
    /// `FetchPosition.offsetEpoch`), when known.
    position_epoch: Option<LeaderEpoch>,
    /// The leader epoch the position is known to be valid under (Kafka's
    /// `FetchPosition.currentLeader`): a newer one in the metadata means a new
    /// leader, whose log the position is checked against first (KIP-320).
    validated_epoch: Option<LeaderEpoch>,
    /// The leader epoch the fetch in flight was sent under.
    fetch_epoch: Option<LeaderEpoch>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    Metadata,
    /// The partitions fetched, each with the offset it was fetched from.
    Fetch(Vec<(TopicPartition, Offset)>),
    ListOffsets(Vec<TopicPartition>),
    FindCoordinator,
    JoinGroup,
    /// The generation the SyncGroup was sent in.
    SyncGroup(Generation),
    Heartbeat(Generation),
    LeaveGroup,
    OffsetCommit {
        commit_id: u64,
        generation: Generation,
    },
    OffsetFetch(Vec<TopicPartition>),
    /// KIP-320: each partition, with the position and the leader epoch the
    /// request checks it under.
    ValidatePositions(Vec<(TopicPartition, Offset, LeaderEpoch)>),
}

impl Connection for Purpose {
    fn to_group_coordinator(&self) -> bool {
        self.to_coordinator()
    }
}

impl Purpose {
    /// Requests that go to the group's coordinator.
    fn to_coordinator(&self) -> bool {
        matches!(
            self,
            Purpose::JoinGroup
                | Purpose::SyncGroup(_)
                | Purpose::Heartbeat(_)
                | Purpose::LeaveGroup
                | Purpose::OffsetCommit { .. }
                | Purpose::OffsetFetch(_)
        )
    }
}

/// A `close` under way: its token, when it stops waiting, whether it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Closing {
    token: Token,
    deadline_ms: u64,
    left: bool,
}

#[derive(Debug)]
pub struct ConsumerCore {
    config: ConsumerConfig,
    network: NetworkClient<Purpose>,
    mode: Mode,
    assigned: BTreeMap<TopicPartition, Assigned>,
    /// The poll waiting for records, with its deadline.
    pending_poll: Option<(Token, u64)>,
    /// The group's coordinator, once found.
    coordinator: Option<BrokerId>,
    /// After a failed lookup, the next FindCoordinator waits until then.
    coordinator_retry_at_ms: u64,
    membership: Membership,
    commits: Commits,
    /// An error for the application, raised by its next poll (Kafka throws it
    /// from `poll`): a fatal JoinGroup answer, a fenced static member, …
    poll_error: Option<ClientError>,
    rebalance_events: VecDeque<RebalanceEvent>,
    closing: Option<Closing>,
    closed: bool,
    effects: Vec<Effect<Completion<ConsumerOutcome>>>,
}

impl ConsumerCore {
    /// A consumer with this configuration, or the reason Kafka would refuse it.
    pub fn new(config: ConsumerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let network = NetworkClient::new(
            config.bootstrap.clone(),
            config.request_timeout_ms,
            config.retry_backoff_ms,
        );
        Ok(ConsumerCore {
            config,
            network,
            mode: Mode::Idle,
            assigned: BTreeMap::new(),
            pending_poll: None,
            coordinator: None,
            coordinator_retry_at_ms: 0,
            membership: Membership::new(),
            commits: Commits::default(),
            poll_error: None,
            rebalance_events: VecDeque::new(),
            closing: None,
            closed: false,
            effects: Vec::new(),
        })
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// Waits up to `timeout_ms` for records; the answer comes as a completion.
    pub fn poll(&mut self, now_ms: u64, token: Token, timeout_ms: u64) {
        assert!(
            self.pending_poll.is_none(),
            "a consumer is not thread-safe: one poll at a time"
        );
        if let Some(error) = self.refuse_call() {
            return self.complete(token, ConsumerOutcome::Poll(Err(error)));
        }
        if self.mode == Mode::Idle {
            let message = "Consumer is not subscribed to any topics or assigned any partitions";
            let error = ClientError::Invalid {
                message: message.into(),
            };
            return self.complete(token, ConsumerOutcome::Poll(Err(error)));
        }
        self.pending_poll = Some((token, now_ms + timeout_ms));
        self.on_tick(now_ms);
    }

    /// The rebalance listener's events since the last call, in order.
    pub fn take_rebalance_events(&mut self) -> Vec<RebalanceEvent> {
        self.rebalance_events.drain(..).collect()
    }

    fn refuse_call(&self) -> Option<ClientError> {
        (self.closed || self.closing.is_some()).then(|| ClientError::Invalid {
            message: "This consumer has already been closed.".into(),
        })
    }

    fn complete(&mut self, token: Token, outcome: ConsumerOutcome) {
        self.effects
            .push(Effect::Emit(Completion { token, outcome }));
    }

    fn finish_poll(&mut self, outcome: PollOutcome) {
        let (token, _) = self.pending_poll.take().expect("a poll is pending");
        self.complete(token, ConsumerOutcome::Poll(outcome));
    }

    fn push_event(&mut self, event: RebalanceEvent) {
        if self.rebalance_events.len() == REBALANCE_EVENTS_MAX {
            self.rebalance_events.pop_front();
        }
        self.rebalance_events.push_back(event);
    }

    /// Kafka's `allConsumed`: the position of every partition that has one.
    fn consumed_offsets(&self) -> BTreeMap<TopicPartition, Offset> {
        self.assigned
            .iter()
            .filter_map(|(tp, s)| Some((tp.clone(), s.position?)))
            .collect()
    }

    fn subscribed_topics(&self) -> Option<&BTreeSet<String>> {
        match &self.mode {
            Mode::Subscribed(topics) => Some(topics),
            _ => None,
        }
    }

    fn on_request_failed(&mut self, now_ms: u64, failed: Failed<Purpose>) {
        match failed.purpose {
            Purpose::Fetch(tps) => {
                for (tp, _) in tps {
                    self.back_off(now_ms, &tp, failed.code);
                }
            }
            Purpose::ListOffsets(tps) => {
                for tp in tps {
                    self.back_off(now_ms, &tp, failed.code);
                }
            }
            Purpose::ValidatePositions(tps) => {
                for (tp, _, _) in tps {
                    self.back_off(now_ms, &tp, failed.code);
                }
            }
            Purpose::Metadata | Purpose::LeaveGroup => {}
            Purpose::FindCoordinator => self.on_find_coordinator_failed(now_ms, failed.code),
            Purpose::JoinGroup | Purpose::SyncGroup(_) => self.on_join_failed(now_ms),
            Purpose::Heartbeat(_) => self.on_heartbeat_failed(now_ms),
            Purpose::OffsetCommit { commit_id, .. } => {
                self.mark_coordinator_unknown();
                self.on_commit_retriable(now_ms, commit_id, failed.code);
            }
            Purpose::OffsetFetch(tps) => {
                self.mark_coordinator_unknown();
                for tp in tps {
                    self.back_off(now_ms, &tp, failed.code);
                }
            }
        }
    }
}

/// Kafka's `IllegalStateException` for mixing `assign` and `subscribe`.
fn exclusive() -> ClientError {
    ClientError::Invalid {
        message: "Subscription to topics, partitions and pattern are mutually exclusive".into(),
    }
}

impl Node for ConsumerCore {
    type Event = Completion<ConsumerOutcome>;

    fn on_message(&mut self, now_ms: u64, _from: Peer, message: Message) {
        let Message::Response {
            correlation_id,
            response,
        } = message
        else {
            return;
        };
        let Some(purpose) = self.network.complete(correlation_id) else {
            return;
        };
        match (purpose, response) {
            (Purpose::Metadata, Response::Metadata(r)) => {
                self.network.on_metadata_response(correlation_id, &r)
            }
            (Purpose::Fetch(tps), Response::Fetch(r)) => self.on_fetch_response(now_ms, tps, r),
            (Purpose::ListOffsets(_), Response::ListOffsets(r)) => {
                self.on_list_offsets_response(now_ms, r)
            }
            (Purpose::ValidatePositions(checked), Response::OffsetsForLeaderEpoch(r)) => {
                self.on_validation_response(now_ms, checked, r)
            }
            (Purpose::FindCoordinator, Response::FindCoordinator(r)) => {
                self.on_find_coordinator_response(now_ms, r)
            }
            (Purpose::JoinGroup, Response::JoinGroup(r)) => self.on_join_group_response(now_ms, r),
            (Purpose::SyncGroup(sent), Response::SyncGroup(r)) => {
                self.on_sync_group_response(now_ms, sent, r)
            }
            (Purpose::Heartbeat(sent), Response::Heartbeat(r)) => {
                self.on_heartbeat_response(now_ms, sent, r)
            }
            (Purpose::LeaveGroup, Response::LeaveGroup(_)) => {}
            (
                Purpose::OffsetCommit {
                    commit_id,
                    generation,
                },
                Response::OffsetCommit(r),
            ) => self.on_offset_commit_response(now_ms, commit_id, generation, r),
            (Purpose::OffsetFetch(tps), Response::OffsetFetch(r)) => {
                self.on_offset_fetch_response(now_ms, tps, r)
            }
            (_, other) => panic!("consumer got an unexpected {} response", other.api_name()),
        }
        self.on_tick(now_ms);
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) {
        for failed in self.network.on_disconnect(peer) {
            self.on_request_failed(now_ms, failed);
        }
        if self.coordinator.is_some_and(|c| NodeId::Broker(c) == peer) {
            self.mark_coordinator_unknown();
        }
        self.on_tick(now_ms);
    }

    fn on_tick(&mut self, now_ms: u64) {
        for failed in self.network.expire(now_ms) {
            // A timeout closed the connection to the coordinator: find it again.
            if failed.purpose.to_coordinator() {
                self.mark_coordinator_unknown();
            }
            self.on_request_failed(now_ms, failed);
        }
        if self.config.group_id.is_some() {
            self.group_tick(now_ms);
        }
        if self.pending_poll.is_some() && self.config.group_id.is_some() {
            self.group_poll(now_ms);
        }
        if let Some((_, deadline_ms)) = self.pending_poll {
            let records = self.drain_buffered();
            if !records.is_empty() || now_ms >= deadline_ms {
                self.finish_poll(Ok(records));
            }
        }
        if self.pending_poll.is_some() {
            self.send_offset_fetch(now_ms);
            self.send_list_offsets(now_ms);
        }
        if self.pending_poll.is_some() {
            self.send_validations(now_ms);
            self.send_fetches(now_ms);
        }
        self.network
            .maybe_update_metadata(now_ms, Purpose::Metadata, &mut self.effects);
        for state in self.assigned.values_mut() {
            if state.retry_at_ms <= now_ms {
                state.retry_at_ms = 0; // backoff over: no longer a reason to wake up
            }
        }
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let poll = self.pending_poll.map(|(_, deadline)| deadline);
        let retries = self
            .pending_poll
            .is_some()
            .then(|| {
                self.assigned
                    .values()
                    .map(|s| s.retry_at_ms)
                    .filter(|&t| t > 0)
                    .min()
            })
            .flatten();
        let group = self
            .config
            .group_id
            .as_ref()
            .and_then(|_| self.group_deadline_ms());
        [
            poll,
            retries,
            self.network.next_timeout_ms(),
            self.network.next_metadata_attempt_ms(),
            group,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn take_effects(&mut self) -> Vec<Effect<Self::Event>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        self.partition_invariants();
        assert!(
            self.assigned.is_empty() || self.mode != Mode::Idle,
            "partitions are assigned by hand or by the group"
        );
        if self.closed {
            assert!(self.assigned.is_empty(), "a closed consumer reads nothing");
        }
        if !matches!(self.mode, Mode::Subscribed(_)) {
            self.membership.assert_not_member();
        }
        self.membership.invariants();
        self.commits.invariants();
    }
}
