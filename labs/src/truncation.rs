//! Lab `truncation`: where a follower cuts its log when it meets a new leader.
//!
//! A follower may hold records the new leader never had: the tail its old
//! leader appended but did not replicate before it failed. Before fetching,
//! it must cut its log back to where the two logs agree. Since Kafka 0.11
//! (KIP-101) it finds that point with leader epochs: every batch carries the
//! epoch of the leader that appended it, and each replica keeps where each
//! epoch starts in its log. The follower asks the leader
//! `OffsetsForLeaderEpoch(its latest epoch)`; the leader answers with the
//! largest epoch it has at or below that one (`leader_epoch`) and where that
//! epoch ends in the leader's log (`leader_end_offset`). Then
//! (`AbstractFetcherThread.truncateToEpochEndOffsets`):
//!
//! - if the leader has none of our epochs (`leader_epoch` is
//!   `UNDEFINED_EPOCH`, -1): keep only what is committed, cut to our own high
//!   watermark;
//! - if our log has the epoch the leader answered with: both logs agree up to
//!   where the shorter copy of that epoch ends, cut to the smaller of
//!   `leader_end_offset` and our own end of that epoch;
//! - if our log does not have that epoch (it came and went while we led in an
//!   epoch of our own), the largest epoch we have below it is where we can
//!   still agree: cut to our own end of it and **ask again** (KIP-279), since
//!   one answer is not enough to know;
//! - if every epoch we have is newer than the leader's answer: cut to our log
//!   start.
//!
//! Before 0.11 a follower cut to its own high watermark instead: KIP-101 shows
//! how that loses acknowledged writes (`kafkasim bugs`, `kip-101`).
//!
//! `Log::end_offset_for_epoch(epoch)` answers for our own log what the leader
//! answered for its own: the largest epoch at or below `epoch` in this log,
//! and where it ends (`None` if every epoch here is newer, or there is none).
//! `Log::high_watermark()` and `Log::log_start_offset()` are the others you
//! need.
//!
//! Check it: `cargo run --release -- lab check truncation`.
//! The model's version: `truncation_point` in
//! `src/replication.rs`.

use kafkasim::ids::{LeaderEpoch, Offset};
use kafkasim::log::Log;
use kafkasim::rules::Truncation;

/// The leader epoch a leader answers with when it has none of the asked
/// epochs (Kafka's `UNDEFINED_EPOCH`).
pub use kafkasim::protocol::UNDEFINED_EPOCH;

/// Where the follower owning `log` cuts it, after the leader answered
/// `OffsetsForLeaderEpoch` with `leader_epoch` ending at `leader_end_offset`;
/// and whether it asks again before fetching.
pub fn truncation_point(
    leader_epoch: LeaderEpoch,
    leader_end_offset: Offset,
    log: &Log,
) -> Truncation {
    todo!("compare the leader's answer with this log's own end of that epoch")
}
