//! What Kafka's heartbeat thread does, and leaving the group.
//!
//! Once joined, a member sends a Heartbeat every `heartbeat.interval.ms`. The
//! answer `REBALANCE_IN_PROGRESS` asks it to rejoin at its next poll;
//! `UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION` or `FENCED_INSTANCE_ID` mean it is no
//! longer in the group: it resets its generation (and, except after
//! `ILLEGAL_GENERATION`, its member id), and its next poll reports its partitions
//! lost and joins again. `FENCED_INSTANCE_ID` is also thrown from that poll.
//! Without a successful heartbeat for `session.timeout.ms` the member presumes
//! the coordinator dead and looks for it again.
//!
//! If the application does not poll for `max.poll.interval.ms`, the member
//! leaves the group on its own (a static member, with `group.instance.id`, only
//! forgets its generation and lets the session time out). All of this needs a
//! running machine: a paused consumer sends nothing, and learns only when it
//! wakes that the group went on without it.

use super::commit_queue::CommitKind;
use super::{Closing, ConsumerCore, Mode, Purpose, RebalanceEvent};
use crate::client::{ClientError, Token};
use crate::error::ErrorCode;
use crate::ids::NodeId;
use crate::node::Node;
use crate::protocol::*;

use super::group::{Generation, MemberState};
use super::ConsumerOutcome;

impl ConsumerCore {
    /// Joined: Kafka's `resetTimeouts` when the heartbeat thread is enabled.
    pub(super) fn start_heartbeats(&mut self, now_ms: u64) {
        let m = &mut self.membership;
        m.next_heartbeat_ms = now_ms + self.config.heartbeat_interval_ms;
        m.session_deadline_ms = now_ms + self.config.session_timeout_ms;
        m.last_poll_ms = now_ms;
    }

    fn heartbeat_in_flight(&self) -> bool {
        self.network
            .in_flight()
            .any(|p| matches!(p, Purpose::Heartbeat(_)))
    }

    /// One turn of Kafka's heartbeat thread.
    pub(super) fn heartbeat_tick(&mut self, now_ms: u64) {
        if !self.membership.heartbeat_enabled() {
            return;
        }
        let Some(coordinator) = self.coordinator else {
            return; // the lookup comes next
        };
        let m = &self.membership;
        if now_ms >= m.session_deadline_ms {
            // No heartbeat answered for a session: is the coordinator still there?
            return self.mark_coordinator_unknown();
        }
        if self.pending_poll.is_none()
            && now_ms >= m.last_poll_ms + self.config.max_poll_interval_ms
        {
            // "consumer poll timeout has expired": the application stalled.
            return self.maybe_leave_group(now_ms);
        }
        if self.heartbeat_in_flight() || now_ms < m.next_heartbeat_ms {
            return;
        }
        self.membership.next_heartbeat_ms = now_ms + self.config.heartbeat_interval_ms;
        let generation = self.membership.generation.clone();
        let request = Request::Heartbeat(HeartbeatRequest {
            group_id: self.config.group_id.clone().expect("a group has an id"),
            generation_id: generation.generation_id,
            member_id: generation.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
        });
        self.network.send(
            now_ms,
            NodeId::Broker(coordinator),
            request,
            Purpose::Heartbeat(generation),
            &mut self.effects,
        );
    }

    /// When the heartbeat thread next has something to do.
    pub(super) fn heartbeat_deadline_ms(&self) -> Option<u64> {
        if !self.membership.heartbeat_enabled() || self.coordinator.is_none() {
            return None;
        }
        let m = &self.membership;
        let heartbeat = (!self.heartbeat_in_flight()).then_some(m.next_heartbeat_ms);
        let poll_timeout = self
            .pending_poll
            .is_none()
            .then_some(m.last_poll_ms + self.config.max_poll_interval_ms);
        [Some(m.session_deadline_ms), heartbeat, poll_timeout]
            .into_iter()
            .flatten()
            .min()
    }

    pub(super) fn on_heartbeat_response(
        &mut self,
        now_ms: u64,
        sent: Generation,
        response: HeartbeatResponse,
    ) {
        let m = &mut self.membership;
        match response.error_code {
            ErrorCode::None => m.session_deadline_ms = now_ms + self.config.session_timeout_ms,
            ErrorCode::RebalanceInProgress => {
                // Heartbeats go on during a rebalance; a stable member must rejoin.
                m.session_deadline_ms = now_ms + self.config.session_timeout_ms;
                if m.state == MemberState::Stable {
                    m.rejoin_needed = true;
                }
            }
            ErrorCode::CoordinatorNotAvailable | ErrorCode::NotCoordinator => {
                self.mark_coordinator_unknown();
                self.on_heartbeat_failed(now_ms);
            }
            code @ (ErrorCode::IllegalGeneration
            | ErrorCode::UnknownMemberId
            | ErrorCode::FencedInstanceId) => {
                if m.generation != sent {
                    return; // about an older generation: ignored, as Kafka does
                }
                m.reset(code != ErrorCode::IllegalGeneration);
                if code == ErrorCode::FencedInstanceId {
                    self.poll_error = Some(ClientError::Broker {
                        code,
                        message:
                            "The broker rejected this static consumer since another consumer with \
                             the same group.instance.id has registered with a different member.id."
                                .into(),
                    });
                }
            }
            _ => self.on_heartbeat_failed(now_ms),
        }
    }

    /// A heartbeat failed: try again after `retry.backoff.ms`.
    pub(super) fn on_heartbeat_failed(&mut self, now_ms: u64) {
        self.membership.next_heartbeat_ms = now_ms + self.config.retry_backoff_ms;
    }

    /// Kafka's `maybeLeaveGroup`: a dynamic member in the group sends LeaveGroup
    /// (once, without retrying); every member then forgets its generation.
    pub(super) fn maybe_leave_group(&mut self, now_ms: u64) {
        let m = &self.membership;
        let dynamic = self.config.group_instance_id.is_none();
        if let (true, Some(coordinator), false) =
            (dynamic, self.coordinator, m.generation.member_id.is_empty())
        {
            if m.state != MemberState::Unjoined {
                let request = Request::LeaveGroup(LeaveGroupRequest {
                    group_id: self.config.group_id.clone().expect("a group has an id"),
                    members: vec![MemberIdentity {
                        member_id: m.generation.member_id.clone(),
                        group_instance_id: None,
                    }],
                });
                self.network.send(
                    now_ms,
                    NodeId::Broker(coordinator),
                    request,
                    Purpose::LeaveGroup,
                    &mut self.effects,
                );
            }
        }
        self.membership.reset(true);
    }

    /// Kafka's `onLeavePrepare`: give up every owned partition before leaving;
    /// lost rather than revoked if the membership is already gone or changing.
    pub(super) fn leave_prepare(&mut self) {
        let owned = self.assignment();
        let m = &self.membership;
        let lost = m.generation.generation_id == NO_GENERATION
            || matches!(
                m.state,
                MemberState::PreparingRebalance | MemberState::CompletingRebalance
            );
        let event = if lost {
            RebalanceEvent::Lost
        } else {
            RebalanceEvent::Revoked
        };
        self.drop_partitions(owned, event);
    }

    /// Moves a `close` on: after its commit, leave; once the coordinator has
    /// answered (or the timeout passed), done.
    pub(super) fn advance_close(&mut self, now_ms: u64) {
        let Some(closing) = &self.closing else {
            return;
        };
        let timed_out = now_ms >= closing.deadline_ms;
        if !closing.left {
            if self.commits.has(CommitKind::Close) && !timed_out {
                return;
            }
            if matches!(self.mode, Mode::Subscribed(_)) {
                self.leave_prepare();
                self.maybe_leave_group(now_ms);
                self.membership.rejoin_needed = false;
            }
            self.closing.as_mut().expect("closing").left = true;
        }
        let waiting = self
            .network
            .in_flight()
            .any(|p| matches!(p, Purpose::LeaveGroup | Purpose::OffsetCommit { .. }));
        if waiting && !timed_out {
            return;
        }
        let closing = self.closing.take().expect("closing");
        self.abandon_commits(now_ms);
        self.closed = true;
        self.assigned.clear();
        self.mode = Mode::Idle;
        if self.pending_poll.is_some() {
            self.finish_poll(Err(ClientError::Invalid {
                message: "This consumer has already been closed.".into(),
            }));
        }
        self.complete(closing.token, ConsumerOutcome::Close);
    }
}

/// Closing the consumer.
impl ConsumerCore {
    /// Commits (with auto-commit on), gives the partitions up, leaves the group
    /// and waits up to `timeout_ms` for the coordinator to hear it.
    pub fn close(&mut self, now_ms: u64, token: Token, timeout_ms: u64) {
        if self.closed || self.closing.is_some() {
            return self.complete(token, ConsumerOutcome::Close);
        }
        if self.config.group_id.is_none() {
            // Nothing to commit and no group to leave.
            self.closed = true;
            self.assigned.clear();
            self.mode = Mode::Idle;
            return self.complete(token, ConsumerOutcome::Close);
        }
        self.closing = Some(Closing {
            token,
            deadline_ms: now_ms + timeout_ms,
            left: false,
        });
        if self.config.auto_commit() {
            let offsets = self.consumed_offsets();
            self.start_commit(now_ms, CommitKind::Close, offsets);
        }
        self.on_tick(now_ms);
    }
}
