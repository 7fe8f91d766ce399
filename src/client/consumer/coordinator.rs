//! Finding the group's coordinator, and reading the group's committed offsets.
//!
//! Any broker answers FindCoordinator with the broker leading the group's
//! `__consumer_offsets` partition. A failed lookup is retried after
//! `retry.backoff.ms`. The coordinator is forgotten (and looked up again) when it
//! answers `NOT_COORDINATOR` or `COORDINATOR_NOT_AVAILABLE`, when its connection
//! breaks, or when no heartbeat has been answered for `session.timeout.ms`.
//! Simplification: Kafka also closes its connection to a coordinator it forgets,
//! failing what was in flight; the model lets those answers arrive, and each
//! handler judges them by the generation they were sent in.
//!
//! A partition the consumer starts reading with a `group.id` first asks the
//! coordinator for the group's committed offset (OffsetFetch); `-1` (none) leaves
//! the position to `auto.offset.reset`.

use super::{ConsumerCore, Mode, Purpose};
use crate::client::ClientError;
use crate::error::ErrorCode;
use crate::ids::{NodeId, TopicPartition};
use crate::protocol::*;

impl ConsumerCore {
    /// Whether anything needs the coordinator now: a subscribed poll, a member's
    /// heartbeats, a committed offset to read, a commit, or a close.
    fn coordinator_needed(&self) -> bool {
        let polling = self.pending_poll.is_some();
        let subscribed = matches!(self.mode, Mode::Subscribed(_));
        let awaiting = self.assigned.values().any(|s| s.awaiting_committed);
        (polling && (subscribed || awaiting))
            || self.membership.heartbeat_enabled()
            || !self.commits.is_empty()
            || self.closing.is_some()
    }

    fn lookup_in_flight(&self) -> bool {
        self.network
            .in_flight()
            .any(|p| matches!(p, Purpose::FindCoordinator))
    }

    /// Sends FindCoordinator to any broker if the coordinator is needed and unknown.
    pub(super) fn maybe_find_coordinator(&mut self, now_ms: u64) {
        if self.coordinator.is_some()
            || self.lookup_in_flight()
            || now_ms < self.coordinator_retry_at_ms
            || !self.coordinator_needed()
        {
            return;
        }
        let key = self.config.group_id.clone().expect("a group has an id");
        let to = self.network.any_broker();
        let request = Request::FindCoordinator(FindCoordinatorRequest { key });
        self.network.send(
            now_ms,
            to,
            request,
            Purpose::FindCoordinator,
            &mut self.effects,
        );
    }

    /// When the next lookup may go, if one is wanted.
    pub(super) fn coordinator_deadline_ms(&self) -> Option<u64> {
        let wanted =
            self.coordinator.is_none() && !self.lookup_in_flight() && self.coordinator_needed();
        wanted.then_some(self.coordinator_retry_at_ms)
    }

    pub(super) fn on_find_coordinator_response(
        &mut self,
        now_ms: u64,
        response: FindCoordinatorResponse,
    ) {
        if response.error_code != ErrorCode::None {
            return self.on_find_coordinator_failed(now_ms, response.error_code);
        }
        self.coordinator = Some(response.node_id);
        // Kafka restarts the session timer on discovery: the member has not
        // been able to heartbeat while it had no coordinator.
        self.membership.session_deadline_ms = now_ms + self.config.session_timeout_ms;
    }

    /// A lookup failed: retry after the backoff, and fail the asynchronous
    /// commits that were waiting for it (as Kafka's lookup listener does).
    pub(super) fn on_find_coordinator_failed(&mut self, now_ms: u64, code: ErrorCode) {
        self.coordinator_retry_at_ms = now_ms + self.config.retry_backoff_ms;
        self.commits.fail_async_waiting(code);
    }

    /// Forgets the coordinator; the next step that needs it looks it up again.
    pub(super) fn mark_coordinator_unknown(&mut self) {
        self.coordinator = None;
    }

    /// Asks the coordinator for the committed offsets of partitions that wait
    /// for them (one OffsetFetch in flight at a time).
    pub(super) fn send_offset_fetch(&mut self, now_ms: u64) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if self
            .network
            .in_flight()
            .any(|p| matches!(p, Purpose::OffsetFetch(_)))
        {
            return;
        }
        let requested = self.requested();
        let partitions: Vec<TopicPartition> = self
            .assigned
            .iter()
            .filter(|(tp, s)| {
                s.awaiting_committed && now_ms >= s.retry_at_ms && !requested.contains(tp)
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        if partitions.is_empty() {
            return;
        }
        let request = Request::OffsetFetch(OffsetFetchRequest {
            group_id: self.config.group_id.clone().expect("a group has an id"),
            partitions: Some(partitions.clone()),
        });
        self.network.send(
            now_ms,
            NodeId::Broker(coordinator),
            request,
            Purpose::OffsetFetch(partitions),
            &mut self.effects,
        );
    }

    pub(super) fn on_offset_fetch_response(
        &mut self,
        now_ms: u64,
        asked: Vec<TopicPartition>,
        response: OffsetFetchResponse,
    ) {
        match response.error_code {
            ErrorCode::None => {}
            code => {
                if matches!(
                    code,
                    ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable
                ) {
                    self.mark_coordinator_unknown();
                } else if !code.is_retriable() {
                    self.poll_error = Some(ClientError::Broker {
                        code,
                        message: "Unexpected error in fetch offset response".into(),
                    });
                }
                for tp in &asked {
                    self.back_off(now_ms, tp, code);
                }
                return;
            }
        }
        for part in response.partitions {
            let Some(state) = self.assigned.get_mut(&part.partition) else {
                continue;
            };
            if !state.awaiting_committed {
                continue;
            }
            if part.error_code != ErrorCode::None {
                self.back_off(now_ms, &part.partition, part.error_code);
                continue;
            }
            state.awaiting_committed = false;
            if part.committed_offset >= 0 {
                // A committed offset with its leader epoch is a position to
                // check against the current leader before fetching from it
                // (KIP-320: `seekUnvalidated`), if the leader epoch moved on.
                state.position = Some(part.committed_offset);
                state.position_epoch = part.committed_leader_epoch;
                state.validated_epoch = part.committed_leader_epoch;
            }
        }
    }
}
