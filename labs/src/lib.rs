//! # The labs: write one of Kafka's rules yourself
//!
//! Each file of this crate is one lab: a rule of Kafka's with its signature,
//! what Kafka calls it, what it must do, and a body of `todo!()`. Replace the
//! body with your version and run
//!
//! ```sh
//! cargo run --release -- lab check NAME
//! ```
//!
//! The check runs the lab's unit tests against your function, then the whole
//! model (brokers, controller, producers, consumers) with your function in
//! place of Kafka's, over many seeds of a scenario with faults, and shows the
//! first counterexample shrunk to the few faults that matter. `kafkasim lab
//! list` shows every lab and where it stands. The model's own version of each
//! rule is named at the end of its file: read it after your attempt.
//!
//! | lab | file | the rule |
//! |---|---|---|
//! | `partitioner` | `partitioner.rs` | murmur2 and the partition of a key |
//! | `high-watermark` | `high_watermark.rs` | the leader's high watermark |
//! | `truncation` | `truncation.rs` | where a follower cuts its log after `OffsetsForLeaderEpoch` |
//! | `range-assignor` | `range_assignor.rs` | the range assignor's split of a topic |
//! | `sequence-check` | `sequence_check.rs` | the idempotent producer's duplicate and sequence check |
//!
//! The files compile as shipped: a `todo!()` body compiles and panics when
//! called, which `lab check` reports as "not implemented yet". The parameters
//! of a body still to write are unused, so that warning is off here.
#![allow(unused_variables)]

pub mod high_watermark;
pub mod partitioner;
pub mod range_assignor;
pub mod sequence_check;
pub mod truncation;
