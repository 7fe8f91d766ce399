//! Offset commits: synchronous, asynchronous, automatic.
//!
//! A commit goes to the group's coordinator with the committing member's
//! generation and member id (or, with manual assignment, generation `-1` and no
//! member id: Kafka's "simple" commit). `commit_sync` retries retriable errors
//! until `default.api.timeout.ms`; an asynchronous commit is sent once and its
//! outcome queued for [`ConsumerCore::take_commit_results`]. With
//! `enable.auto.commit`, each poll commits the positions left by the polls before
//! it once `auto.commit.interval.ms` has passed, so a record is committed only
//! after a later poll: processing between polls makes that at-least-once. Before a
//! rebalance and on close the consumer commits too, and waits for the answer.
//!
//! A commit from a member the group no longer knows fails for good
//! (`UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION`, `REBALANCE_IN_PROGRESS`): its
//! partitions may already belong to someone else. Kafka's `CommitFailedException`.
//!
//! Simplification: commits carry no leader epoch. Kafka commits the epoch of the
//! last record read (KIP-320), so a consumer restarting from a commit can detect a
//! log that was truncated under it.

use super::Generation;
use super::{CommitOutcome, CommitResult, ConsumerCore, ConsumerOutcome, Mode, Purpose};
use crate::client::{ClientError, Token};
use crate::error::ErrorCode;
use crate::ids::{NodeId, Offset, TopicPartition};
use crate::node::Node;
use crate::protocol::*;
use std::collections::BTreeMap;

use super::commit_queue::{retriable_failure, CommitKind, PendingCommit};
use super::group::MemberState;

/// Kafka's `CommitFailedException` message.
pub(super) const COMMIT_FAILED: &str = "Commit cannot be completed since the group has already \
rebalanced and assigned the partitions to another member. This means that the time between \
subsequent calls to poll() was longer than the configured max.poll.interval.ms, which typically \
implies that the poll loop is spending too much time message processing. You can address this \
either by increasing max.poll.interval.ms or by reducing the maximum size of batches returned in \
poll() with max.poll.records.";

impl ConsumerCore {
    /// Starts a commit; an empty one succeeds at once, as in Kafka.
    pub(super) fn start_commit(
        &mut self,
        now_ms: u64,
        kind: CommitKind,
        offsets: BTreeMap<TopicPartition, Offset>,
    ) {
        if let CommitKind::Sync(_) = kind {
            assert!(
                !self
                    .commits
                    .pending
                    .iter()
                    .any(|c| matches!(c.kind, CommitKind::Sync(_))),
                "a consumer is not thread-safe: one commit_sync at a time"
            );
        }
        if let Some((tp, offset)) = offsets.iter().find(|(_, o)| **o < 0) {
            let error = ClientError::Invalid {
                message: format!("Invalid offset: {offset} for partition {tp}"),
            };
            return self.finish_commit(now_ms, kind, offsets, Err(error));
        }
        if offsets.is_empty() {
            if matches!(kind, CommitKind::Sync(_) | CommitKind::Async) {
                self.finish_commit(now_ms, kind, offsets, Ok(()));
            }
            return;
        }
        let deadline_ms = now_ms
            + match kind {
                CommitKind::Sync(_) => self.config.default_api_timeout_ms,
                CommitKind::JoinPrepare => self.config.max_poll_interval_ms,
                CommitKind::Close => self.closing.as_ref().map_or(0, |c| c.deadline_ms - now_ms),
                CommitKind::Async | CommitKind::Auto => self.config.request_timeout_ms,
            };
        let id = self.commits.next_id;
        self.commits.next_id += 1;
        self.commits.pending.push(PendingCommit {
            id,
            kind,
            offsets,
            deadline_ms,
            retry_at_ms: 0,
            in_flight: false,
        });
        self.send_commits(now_ms);
    }

    /// Completes a commit: the call's completion, or a queued result.
    fn finish_commit(
        &mut self,
        now_ms: u64,
        kind: CommitKind,
        offsets: BTreeMap<TopicPartition, Offset>,
        outcome: CommitOutcome,
    ) {
        match kind {
            CommitKind::Sync(token) => self.complete(token, ConsumerOutcome::Commit(outcome)),
            _ => {
                let retriable = matches!(&outcome, Err(ClientError::Broker { code, .. }) if code.is_retriable());
                if kind == CommitKind::Auto && retriable {
                    // Kafka tries again sooner than the interval after a retriable failure.
                    let soon = now_ms + self.config.retry_backoff_ms;
                    let next = self.commits.next_auto_commit_ms.get_or_insert(soon);
                    *next = (*next).min(soon);
                }
                self.commits.record(kind.auto(), offsets, outcome);
            }
        }
    }

    /// The generation a commit is made in, or why it cannot be made now.
    fn commit_generation(&self) -> Result<Generation, ClientError> {
        if !matches!(self.mode, Mode::Subscribed(_)) {
            return Ok(Generation::none());
        }
        match self.membership.state {
            MemberState::Stable => Ok(self.membership.generation.clone()),
            MemberState::PreparingRebalance | MemberState::CompletingRebalance => {
                Err(ClientError::Broker {
                    code: ErrorCode::RebalanceInProgress,
                    message:
                        "Offset commit cannot be completed since the consumer is undergoing a \
                          rebalance for auto partition assignment. You can try completing the \
                          rebalance by calling poll() and then retry the operation."
                            .into(),
                })
            }
            MemberState::Unjoined => {
                let code = if self.membership.generation.member_id.is_empty() {
                    ErrorCode::UnknownMemberId
                } else {
                    ErrorCode::IllegalGeneration
                };
                let message = "Offset commit cannot be completed since the consumer is not part \
                               of an active group for auto partition assignment; it is likely \
                               that the consumer was kicked out of the group.";
                Err(ClientError::Broker {
                    code,
                    message: message.into(),
                })
            }
        }
    }

    /// Sends the commits that are due, if the coordinator is known.
    pub(super) fn send_commits(&mut self, now_ms: u64) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let due: Vec<u64> = self
            .commits
            .pending
            .iter()
            .filter(|c| !c.in_flight && now_ms >= c.retry_at_ms)
            .map(|c| c.id)
            .collect();
        for id in due {
            let generation = match self.commit_generation() {
                Ok(generation) => generation,
                Err(error) => {
                    let commit = self.commits.remove(id).expect("listed");
                    self.finish_commit(now_ms, commit.kind, commit.offsets, Err(error));
                    continue;
                }
            };
            let commit = self
                .commits
                .pending
                .iter_mut()
                .find(|c| c.id == id)
                .expect("listed");
            commit.in_flight = true;
            commit.retry_at_ms = 0;
            // An offset at the position carries the leader epoch of the
            // record before it, as `commitSync()` commits `allConsumed()`
            // (KIP-320): whoever resumes from it can check it against the
            // leader's log. An offset chosen by hand carries none.
            let assigned = &self.assigned;
            let partitions = commit
                .offsets
                .iter()
                .map(|(tp, offset)| OffsetCommitRequestPartition {
                    partition: tp.clone(),
                    committed_offset: *offset,
                    committed_leader_epoch: (assigned.get(tp))
                        .filter(|s| s.position == Some(*offset))
                        .and_then(|s| s.position_epoch),
                    committed_metadata: None,
                })
                .collect();
            let subscribed = matches!(self.mode, Mode::Subscribed(_));
            let request = Request::OffsetCommit(OffsetCommitRequest {
                group_id: self.config.group_id.clone().expect("a group has an id"),
                generation_id: generation.generation_id,
                member_id: generation.member_id.clone(),
                group_instance_id: self.config.group_instance_id.clone().filter(|_| subscribed),
                partitions,
            });
            let purpose = Purpose::OffsetCommit {
                commit_id: id,
                generation,
            };
            self.network.send(
                now_ms,
                NodeId::Broker(coordinator),
                request,
                purpose,
                &mut self.effects,
            );
        }
    }

    /// Fails commits past their deadline (a commit_sync's `default.api.timeout.ms`).
    pub(super) fn expire_commits(&mut self, now_ms: u64) {
        let expired: Vec<u64> = self
            .commits
            .pending
            .iter()
            .filter(|c| now_ms >= c.deadline_ms)
            .map(|c| c.id)
            .collect();
        for id in expired {
            let commit = self.commits.remove(id).expect("listed");
            let error = if commit.kind.retries() {
                ClientError::Timeout {
                    message: format!(
                        "Timeout expired before successfully committing offsets {:?}",
                        commit.offsets
                    ),
                }
            } else {
                retriable_failure(ErrorCode::CoordinatorNotAvailable)
            };
            self.finish_commit(now_ms, commit.kind, commit.offsets, Err(error));
        }
    }

    pub(super) fn on_offset_commit_response(
        &mut self,
        now_ms: u64,
        commit_id: u64,
        sent: Generation,
        response: OffsetCommitResponse,
    ) {
        let code = response
            .partitions
            .iter()
            .map(|p| p.error_code)
            .find(|c| *c != ErrorCode::None)
            .unwrap_or(ErrorCode::None);
        let subscribed = matches!(self.mode, Mode::Subscribed(_));
        let error = |code: ErrorCode, message: &str| ClientError::Broker {
            code,
            message: message.into(),
        };
        let outcome = match code {
            ErrorCode::None => Ok(()),
            ErrorCode::CoordinatorNotAvailable
            | ErrorCode::NotCoordinator
            | ErrorCode::RequestTimedOut => {
                self.mark_coordinator_unknown();
                return self.on_commit_retriable(now_ms, commit_id, code);
            }
            code if code.is_retriable() => {
                return self.on_commit_retriable(now_ms, commit_id, code)
            }
            ErrorCode::RebalanceInProgress => {
                if subscribed {
                    self.membership.rejoin_needed = true;
                }
                Err(error(
                    code,
                    "Offset commit cannot be completed since the consumer group is \
                    executing a rebalance at the moment. You can try completing the rebalance by \
                    calling poll() and then retry commit again",
                ))
            }
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                let unchanged = self.membership.generation == sent;
                if subscribed
                    && !unchanged
                    && self.membership.state == MemberState::PreparingRebalance
                {
                    Err(error(
                        ErrorCode::RebalanceInProgress,
                        "Offset commit cannot be completed \
                        since the consumer member's generation is already stale, meaning it has \
                        already participated another rebalance and got a new generation. You can \
                        try completing the rebalance by calling poll() and then retry commit again",
                    ))
                } else {
                    if subscribed && unchanged {
                        self.membership.reset(code != ErrorCode::IllegalGeneration);
                    }
                    Err(error(code, COMMIT_FAILED))
                }
            }
            code => Err(error(code, "Unexpected error in commit")),
        };
        if let Some(commit) = self.commits.remove(commit_id) {
            self.finish_commit(now_ms, commit.kind, commit.offsets, outcome);
        }
    }

    /// A commit failed in a way worth retrying: retry it (if it retries) after
    /// the backoff, or fail it.
    pub(super) fn on_commit_retriable(&mut self, now_ms: u64, commit_id: u64, code: ErrorCode) {
        let Some(commit) = self.commits.pending.iter_mut().find(|c| c.id == commit_id) else {
            return; // already timed out
        };
        if commit.kind.retries() {
            commit.in_flight = false;
            commit.retry_at_ms = now_ms + self.config.retry_backoff_ms;
            return;
        }
        let commit = self.commits.remove(commit_id).expect("found");
        self.finish_commit(
            now_ms,
            commit.kind,
            commit.offsets,
            Err(retriable_failure(code)),
        );
    }

    /// A closed consumer gives up the commits still under way: they may or may
    /// not have reached the coordinator.
    pub(super) fn abandon_commits(&mut self, now_ms: u64) {
        for commit in std::mem::take(&mut self.commits.pending) {
            let error = ClientError::Timeout {
                message: "the consumer closed before the commit completed".into(),
            };
            self.finish_commit(now_ms, commit.kind, commit.offsets, Err(error));
        }
    }

    /// Auto-commit at the start of a poll: the positions the earlier polls left.
    pub(super) fn maybe_auto_commit(&mut self, now_ms: u64) {
        if !self.config.auto_commit() {
            return;
        }
        let interval_ms = self.config.auto_commit_interval_ms;
        let next = *self
            .commits
            .next_auto_commit_ms
            .get_or_insert(now_ms + interval_ms);
        if now_ms < next {
            return;
        }
        self.commits.next_auto_commit_ms = Some(now_ms + interval_ms);
        let offsets = self.consumed_offsets();
        self.start_commit(now_ms, CommitKind::Auto, offsets);
    }
}

/// The application's commit calls.
impl ConsumerCore {
    /// Commits `offsets` (`None`: the positions of every partition read now),
    /// retrying retriable errors for up to `default.api.timeout.ms`.
    pub fn commit_sync(
        &mut self,
        now_ms: u64,
        token: Token,
        offsets: Option<BTreeMap<TopicPartition, Offset>>,
    ) {
        if let Some(error) = self.refuse_call().or_else(|| self.refuse_commit()) {
            return self.complete(token, ConsumerOutcome::Commit(Err(error)));
        }
        let offsets = offsets.unwrap_or_else(|| self.consumed_offsets());
        self.start_commit(now_ms, CommitKind::Sync(token), offsets);
        self.on_tick(now_ms);
    }

    /// Commits without waiting or retrying; the outcome appears in
    /// [`ConsumerCore::take_commit_results`].
    pub fn commit_async(&mut self, now_ms: u64, offsets: Option<BTreeMap<TopicPartition, Offset>>) {
        let offsets = offsets.unwrap_or_else(|| self.consumed_offsets());
        if let Some(error) = self.refuse_call().or_else(|| self.refuse_commit()) {
            return self.commits.record(false, offsets, Err(error));
        }
        self.start_commit(now_ms, CommitKind::Async, offsets);
        self.on_tick(now_ms);
    }

    /// Outcomes of asynchronous commits since the last call, in order.
    pub fn take_commit_results(&mut self) -> Vec<CommitResult> {
        self.commits.take_results()
    }

    pub(super) fn refuse_commit(&self) -> Option<ClientError> {
        self.config
            .group_id
            .is_none()
            .then(|| ClientError::Invalid {
                message: "To use the group management or offset commit APIs, you must provide a \
                      valid group.id in the consumer configuration."
                    .into(),
            })
    }
}
