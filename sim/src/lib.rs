//! # kafkasim-sim: the Kafka model inside madsim
//!
//! This crate runs the sans-IO nodes of the `kafkasim` crate on simulated machines
//! and gives application code async clients, the way a real cluster would.
//!
//! - [`app`]: run application code against a fresh simulated cluster.
//! - [`bench`]: how fast the `standard` scenario runs, against madsim alone.
//! - [`demo`]: the crash course's queue vs. pub/sub, run with consumer groups.
//! - [`driver`]: runs one node on one simulated machine (connections, timers).
//! - [`cluster`]: a controller and brokers, crash and restart, client machines.
//! - [`faults`]: partitions, lost responses and pauses a scenario injects.
//! - [`nemesis`]: a fault mix and schedule drawn from the seed, and its execution.
//! - [`client`]: async `Admin`, `Producer` and `Consumer` over the client cores.
//! - [`trace`]: the run's trace, its hash, and the human timeline.
//! - [`narrate`]: cluster events as timeline sentences.
//! - [`goals`]: the "sometimes" goals a run reached (leader changed, …).
//! - [`check`]: anomalies in what clients saw and in the replicas.
//! - [`render`]: a run report as the text `kafkasim run` prints.
//! - [`report`]: a run as files a browser shows (`kafkasim run --report DIR`).
//! - [`history`]: what clients did, as invocations and completions (Jepsen's history).
//! - [`checkers`]: named anomalies (`lost-write`, `poll-skip`, …) found in a history.
//! - [`run`]: one seeded run in a fresh simulator, and its report.
//! - [`scenario`]: the built-in scenarios (`quickstart`, …).
//! - [`shrink`]: a failing seed reduced to a minimal scenario file.
//! - [`sweep`]: many seeds of one scenario on worker threads, and their summary.
//! - [`cli`]: the `kafkasim` command line.
//!
//! Architecture invariant: no protocol decision is made here. If a behaviour is
//! Kafka's, it lives in `kafkasim`; this crate only moves messages and time.

pub mod app;
pub mod bench;
pub mod check;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod demo;
pub mod driver;
pub mod faults;
pub mod goals;
pub mod narrate;
pub mod nemesis;
pub mod render;
pub mod report;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod sweep;
pub mod trace;
