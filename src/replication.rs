//! Two of replication's rules as pure functions: the leader's high watermark
//! and where a follower cuts its log after `OffsetsForLeaderEpoch`.
//!
//! The broker decides with them (`src/broker/leader.rs`,
//! `src/broker/follower.rs`), but calls them through the `Rules` its
//! configuration carries, so a lab can put a learner's version in their place;
//! `Rules::KAFKA` (in `rules`) holds these. They know nothing of brokers or messages: only
//! offsets, leader epochs and a log.

use crate::ids::{LeaderEpoch, Offset, UNDEFINED_EPOCH};
use crate::log::Log;

// ANCHOR: high_watermark_rule
/// The leader's high watermark rule (`Partition.maybeIncrementLeaderHW`):
/// the smallest log end offset among the leader and the replicas it waits
/// for, if that is past the `current` high watermark; otherwise the
/// current one, which never moves back on a leader. A waited-for replica
/// whose log end is unknown (`None`) holds it where it is.
pub fn advance_high_watermark(
    current: Offset,
    leader_log_end_offset: Offset,
    waited_for: &[Option<Offset>],
) -> Offset {
    let smallest =
        (waited_for.iter()).try_fold(leader_log_end_offset, |hw, leo| leo.map(|leo| hw.min(leo)));
    match smallest {
        Some(smallest) if smallest > current => smallest,
        _ => current,
    }
}
// ANCHOR_END: high_watermark_rule

/// What a follower does after an `OffsetsForLeaderEpoch` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// The offset that becomes the log's end (nothing is cut if it is at or
    /// past the end already).
    pub offset: Offset,
    /// Whether to ask `OffsetsForLeaderEpoch` again from the new end before
    /// fetching (KIP-279: the leader answered with an epoch this log never had).
    pub ask_again: bool,
}

// ANCHOR: truncation_point
/// Where a follower's log and its leader's agree, from the leader's
/// `OffsetsForLeaderEpoch` answer: the leader's latest epoch at or below
/// the one asked, and where that epoch ends in the leader's log (Kafka's
/// `AbstractFetcherThread.truncateToEpochEndOffsets`, with KIP-279).
pub fn truncation_point(
    leader_epoch: LeaderEpoch,
    leader_end_offset: Offset,
    log: &Log,
) -> Truncation {
    let done = |offset| Truncation {
        offset,
        ask_again: false,
    };
    if leader_epoch == UNDEFINED_EPOCH {
        // The leader has nothing from our epochs: keep only what is committed;
        // a fetch past its end then finds the rest.
        return done(log.high_watermark());
    }
    match log.end_offset_for_epoch(leader_epoch) {
        // We know the epoch the leader answered with: both logs agree
        // up to where the shorter copy of it ends.
        Some((own, own_end)) if own == leader_epoch => done(leader_end_offset.min(own_end)),
        // We never had the leader's epoch (it came and went while we
        // led, uncleanly, in an epoch of our own). Cut back to the end of
        // our last epoch below it and ask again from there: one round
        // could keep records of an epoch the leader never had (KIP-279).
        Some((_, own_end)) => Truncation {
            offset: own_end,
            ask_again: true,
        },
        None => done(log.log_start_offset()),
    }
}
// ANCHOR_END: truncation_point
