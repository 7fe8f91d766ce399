//! What the coordinator hands back to its broker (replies, appends, events), the
//! appends still waiting for `on_append_done`, and the shapes of error answers.

use super::{CoordinatorEffect, GroupCoordinatorConfig, GroupEvent};
use crate::error::ErrorCode;
use crate::ids::{CorrelationId, TopicPartition};
use crate::node::Peer;
use crate::protocol::*;
use crate::record::Record;
use std::collections::{BTreeMap, BTreeSet};

/// A request waiting for its answer: where to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Parked {
    pub from: Peer,
    pub correlation_id: CorrelationId,
}

/// A committed offset as the coordinator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: Option<i32>,
    pub metadata: Option<String>,
}

/// A static member's replacement in a Stable group, undone if it cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StaticReplacement {
    pub group_instance_id: String,
    pub old_member_id: String,
    pub new_member_id: String,
    /// The member's protocols and timeouts before its new JoinGroup.
    pub previous: (Vec<JoinGroupRequestProtocol>, u64, u64),
    /// The leader before the replacement: the joiner's answer names it, so a
    /// replaced leader does not run the assignor for a group that stays Stable.
    pub leader_before: Option<String>,
    pub reply: Parked,
}

/// What waits for an append to `__consumer_offsets` to be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PendingAppend {
    /// The leader's SyncGroup: the assignment of `generation_id`.
    Assignment {
        group_id: String,
        generation_id: i32,
        assignment: BTreeMap<String, Assignment>,
    },
    /// The group became Empty; nothing waits (Kafka only logs a failure).
    EmptyGroup { group_id: String },
    StaticReplacement {
        group_id: String,
        replacement: StaticReplacement,
    },
    /// An OffsetCommit, answered when the append is done.
    Offsets {
        group_id: String,
        member_id: String,
        generation_id: i32,
        reply: Parked,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    },
}

impl PendingAppend {
    pub fn group_id(&self) -> &str {
        match self {
            PendingAppend::Assignment { group_id, .. }
            | PendingAppend::EmptyGroup { group_id }
            | PendingAppend::StaticReplacement { group_id, .. }
            | PendingAppend::Offsets { group_id, .. } => group_id,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Outbox {
    pub effects: Vec<CoordinatorEffect>,
    /// Appends handed to the broker and not yet done: token → (partition, waiter).
    pub pending: BTreeMap<u64, (i32, PendingAppend)>,
    next_token: u64,
}

impl Outbox {
    pub fn reply(&mut self, to: &Parked, response: Response) {
        self.effects.push(CoordinatorEffect::Reply {
            to: to.from,
            correlation_id: to.correlation_id,
            response,
        });
    }

    pub fn emit(&mut self, event: GroupEvent) {
        self.effects.push(CoordinatorEffect::Emit(event));
    }

    pub fn append(&mut self, partition: i32, records: Vec<Record>, waiter: PendingAppend) {
        let token = self.next_token;
        self.next_token += 1;
        self.pending.insert(token, (partition, waiter));
        self.effects.push(CoordinatorEffect::Append {
            partition,
            records,
            token,
        });
    }

    /// Whether `token` was handed out (it may be done since).
    pub fn issued(&self, token: u64) -> bool {
        token < self.next_token
    }

    pub fn invariants(&self, led_partitions: &BTreeSet<i32>) {
        for (token, (partition, _)) in &self.pending {
            assert!(*token < self.next_token, "tokens are handed out in order");
            assert!(
                led_partitions.contains(partition),
                "an append to partition {partition} is pending although it is not led"
            );
        }
    }
}

/// The coordinator's view of one call: the time, the settings and the outbox.
pub(super) struct Ctx<'a> {
    pub now_ms: u64,
    pub config: &'a GroupCoordinatorConfig,
    pub out: &'a mut Outbox,
}

/// Kafka's `JoinGroupResult(memberId, error)`: an answer carrying only an error.
pub(super) fn join_error(member_id: &str, error: ErrorCode) -> Response {
    Response::JoinGroup(JoinGroupResponse {
        error_code: error,
        generation_id: NO_GENERATION,
        protocol_name: None,
        leader: String::new(),
        member_id: member_id.to_string(),
        members: Vec::new(),
    })
}

pub(super) fn sync_error(error: ErrorCode) -> Response {
    Response::SyncGroup(SyncGroupResponse {
        error_code: error,
        assignment: Assignment::default(),
    })
}

/// Kafka's translation of a failed group metadata append into the error the
/// members see (`GroupMetadataManager.storeGroup`).
pub(super) fn store_group_error(append_error: ErrorCode) -> ErrorCode {
    match append_error {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend
        | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
        other => other,
    }
}

/// Kafka's translation of a failed offset commit append (`storeOffsets`); unlike a
/// group append, a timeout stays `REQUEST_TIMED_OUT`.
pub(super) fn commit_error(append_error: ErrorCode) -> ErrorCode {
    match append_error {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
        other => other,
    }
}

/// The counter at the end of a generated member id (`client-1-7` → 7).
pub(super) fn member_id_suffix(member_id: &str) -> Option<u64> {
    member_id.rsplit_once('-')?.1.parse().ok()
}
