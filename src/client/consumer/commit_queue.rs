//! The consumer's ledger of commits: those under way, in the order they were
//! made, and the outcomes of asynchronous ones the application has not read yet.
//! `commit.rs` decides what to send and what an answer means; this file only
//! keeps the books.

use super::{CommitOutcome, CommitResult, COMMIT_RESULTS_MAX};
use crate::client::{ClientError, Token};
use crate::error::ErrorCode;
use crate::ids::{Offset, TopicPartition};
use std::collections::{BTreeMap, VecDeque};

/// Who asked for a commit, which decides whether it retries and where its
/// outcome goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommitKind {
    /// `commit_sync`: retried, completed with the token.
    Sync(Token),
    /// `commit_async`: sent once, outcome queued.
    Async,
    /// Auto-commit in `poll`: sent once, outcome queued.
    Auto,
    /// Auto-commit before a rebalance: retried up to the rebalance timeout.
    JoinPrepare,
    /// Auto-commit in `close`: retried up to the close timeout.
    Close,
}

impl CommitKind {
    pub fn retries(self) -> bool {
        matches!(
            self,
            CommitKind::Sync(_) | CommitKind::JoinPrepare | CommitKind::Close
        )
    }

    pub fn auto(self) -> bool {
        !matches!(self, CommitKind::Sync(_) | CommitKind::Async)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PendingCommit {
    pub id: u64,
    pub kind: CommitKind,
    pub offsets: BTreeMap<TopicPartition, Offset>,
    /// It fails with a timeout if not done by then.
    pub deadline_ms: u64,
    /// After a retriable error, the next attempt waits until then (0: now).
    pub retry_at_ms: u64,
    pub in_flight: bool,
}

/// The commits under way, in the order they were made.
#[derive(Debug, Default)]
pub(super) struct Commits {
    pub next_id: u64,
    pub pending: Vec<PendingCommit>,
    pub results: VecDeque<CommitResult>,
    /// When the next auto-commit is due; set at the first poll.
    pub next_auto_commit_ms: Option<u64>,
}

impl Commits {
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn has(&self, kind: CommitKind) -> bool {
        self.pending.iter().any(|c| c.kind == kind)
    }

    pub fn record(
        &mut self,
        auto: bool,
        offsets: BTreeMap<TopicPartition, Offset>,
        outcome: CommitOutcome,
    ) {
        if self.results.len() == COMMIT_RESULTS_MAX {
            self.results.pop_front();
        }
        self.results.push_back(CommitResult {
            auto,
            offsets,
            outcome,
        });
    }

    pub fn take_results(&mut self) -> Vec<CommitResult> {
        self.results.drain(..).collect()
    }

    /// A coordinator lookup failed: asynchronous commits waiting for it fail.
    pub fn fail_async_waiting(&mut self, code: ErrorCode) {
        let (failed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|c| !c.kind.retries() && !c.in_flight);
        self.pending = kept;
        for commit in failed {
            let error = retriable_failure(code);
            self.record(commit.kind.auto(), commit.offsets, Err(error));
        }
    }

    pub fn remove(&mut self, id: u64) -> Option<PendingCommit> {
        let at = self.pending.iter().position(|c| c.id == id)?;
        Some(self.pending.remove(at))
    }

    pub fn deadline_ms(&self, coordinator_known: bool) -> Option<u64> {
        self.pending
            .iter()
            .flat_map(|c| {
                let retry = (coordinator_known && !c.in_flight && c.retry_at_ms > 0)
                    .then_some(c.retry_at_ms);
                [Some(c.deadline_ms), retry]
            })
            .flatten()
            .min()
    }

    pub fn invariants(&self) {
        let syncs = self
            .pending
            .iter()
            .filter(|c| matches!(c.kind, CommitKind::Sync(_)))
            .count();
        assert!(syncs <= 1, "one commit_sync at a time");
        for commit in &self.pending {
            assert!(
                !commit.offsets.is_empty(),
                "an empty commit completes at once"
            );
            assert!(
                commit.id < self.next_id,
                "commit ids are handed out in order"
            );
        }
        assert!(self.results.len() <= COMMIT_RESULTS_MAX);
    }
}

/// Kafka's `RetriableCommitFailedException`, for commits that do not retry.
pub(super) fn retriable_failure(code: ErrorCode) -> ClientError {
    ClientError::Broker {
        code,
        message: "Offset commit failed with a retriable exception. You should retry committing \
                  the latest consumed offsets."
            .into(),
    }
}
