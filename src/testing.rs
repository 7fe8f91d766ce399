//! A deterministic in-memory network for tests: the real nodes, no simulator.
//!
//! Tests of a protocol want the real state machines talking to each other, one
//! exact interleaving at a time, with no runtime in between: no madsim, no async,
//! no threads, no randomness. This module is that driver. A [`Network`] hosts any
//! kind of [`Node`](crate::node::Node), carries their messages one at a time,
//! keeps a clock that moves only when the test moves it and wakes each node whose
//! `next_deadline_ms` has come, as the madsim driver in `sim/` does. Like that
//! driver it makes no protocol decision; unlike it, it is plain data (`BTreeMap`s,
//! a queue) that a test can step through and look into.
//!
//! - [`network`]: the network itself: hosting, connections, links, the clock.
//! - [`delivery`]: which message goes next: in send order, or the one a test picks,
//!   so that a property test can choose interleavings.
//! - [`observer`]: what a test sees while the network runs: every handler, every
//!   delivery, every loss. Checkers of properties are observers.
//! - [`client`]: a fake client that sends requests and keeps the answers.
//! - [`cluster`]: a controller and brokers on a network, crashed and restarted with
//!   their disks.
//! - [`coordinator`]: a group coordinator hosted as a node by itself, with perfect
//!   `__consumer_offsets` logs whose appends the test acknowledges or fails.
//!
//! What it leaves out: latency (a message arrives when the test or a settle carries
//! it, never later by itself), message loss other than cuts and crashes, and bytes
//! (messages travel as Rust values). For those, and for faults drawn from a seed,
//! there is the simulation in `sim/`.

pub mod client;
pub mod cluster;
pub mod coordinator;
pub mod delivery;
pub mod network;
pub mod observer;

#[cfg(test)]
mod tests;

pub use client::FakeClient;
pub use cluster::{Cluster, Server};
pub use coordinator::CoordinatorNode;
pub use delivery::Delivery;
pub use network::{Envelope, Link, Network};
pub use observer::{Observer, Quiet};
