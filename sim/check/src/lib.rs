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
//! - [`fault`]: the one vocabulary of faults: what is done to a cluster, to whom, when.
//! - [`divergence`]: replicas that disagree below the high watermark at the end.
//! - [`finding`]: what the judge found, as typed facts ([`Finding`]).
//! - [`allowed`]: which findings a configuration allows, and why.
//! - [`judge`](mod@judge): the one judge every run goes through ([`judge()`]).
//! - [`views`]: plain views of a history (what was acknowledged, refused, read).

pub mod allowed;
pub mod checkers;
pub mod divergence;
pub mod fault;
pub mod finding;
pub mod history;
pub mod invariants;
pub mod judge;
pub mod views;

pub use allowed::{Config, DeliveryMode};
pub use fault::{Action, Fault, FaultKind, Schedule, Target};
pub use finding::{Allowance, Class, Detail, Finding, Kind};
pub use judge::{judge, Judgement, Verdict};
