//! Lab `high-watermark`: when a write counts as committed.
//!
//! The leader of a partition moves its **high watermark** (HW) as its
//! followers fetch. Offsets below the HW are *committed*: consumers read only
//! below it, and an `acks=all` write is acknowledged once the HW passes it.
//! Kafka's rule (`Partition.maybeIncrementLeaderHW`):
//!
//! - the HW is the smallest log end offset (LEO) among the leader and the
//!   replicas it waits for: every member of the ISR, and a follower that has
//!   just caught up and is about to rejoin it;
//! - a waited-for replica whose LEO the leader does not know yet (an ISR
//!   member that has not fetched since this leader's epoch began) holds the HW
//!   where it is;
//! - the HW never moves back on a leader: if the smallest LEO is not past the
//!   current HW, the HW stays.
//!
//! The model calls this after every follower fetch, every ISR change and
//! every append, with the `current` HW, the leader's own LEO and the LEOs of
//! the replicas it waits for (which replicas those are, and holding the HW
//! still while the ISR is below `min.insync.replicas`, is decided before the
//! call). Return the new HW.
//!
//! Check it: `cargo run --release -- lab check high-watermark`.
//! The model's version: `advance_high_watermark` in
//! `src/replication.rs`.

use kafkasim::ids::Offset;

/// The leader's high watermark after a change.
pub fn high_watermark(
    current: Offset,
    leader_log_end_offset: Offset,
    waited_for: &[Option<Offset>],
) -> Offset {
    todo!("the smallest LEO of the leader and the replicas it waits for, never moving back")
}
