//! # kafkasim-check: judging a run by what its clients saw
//!
//! A run of kafkasim, simulated or over a real network, leaves three things to
//! judge: the **history** of every client operation, the **events** the nodes
//! reported as they went, and the replicas' **logs** at the end. This crate
//! judges them, and knows nothing of how the run was made: it depends on the
//! model (`kafkasim`) and serde, never on madsim or tokio, so any driver can
//! use it.
//!
//! - [`history`]: what clients did, as invocations and completions (Jepsen's history).
//! - [`checkers`]: named anomalies (`lost-write`, `poll-skip`, …) found in a history.
//! - [`invariants`]: replica and group invariants, fed the nodes' events as a run goes.
//! - [`divergence`]: replicas that disagree below the high watermark at the end.

pub mod checkers;
pub mod divergence;
pub mod history;
pub mod invariants;
