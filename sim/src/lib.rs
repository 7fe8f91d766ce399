//! # kafkasim-tools: running scenarios, sweeping seeds, shrinking failures
//!
//! The tools a user runs kafkasim with, and the `kafkasim` binary. They run the
//! model in the simulated world (`kafkasim-sim`) and judge every run with the
//! one judge (`kafkasim-check`); they never touch madsim themselves.
//!
//! - [`scenario`]: scenarios as data (workloads, scenario files) or, where a
//!   story needs it, code; the built-in ones.
//! - [`nemesis`]: a fault mix and schedule drawn from the seed, before the run.
//! - [`run`]: one seeded run of a scenario, judged ([`run::RunReport`]).
//! - [`render`]: a run as the text `kafkasim run` prints, or as JSON.
//! - [`report`]: a run as files a browser shows (`kafkasim run --report DIR`).
//! - [`sweep`]: many seeds of one scenario on worker threads, and their summary.
//! - [`shrink`]: a failing seed reduced to a minimal scenario file.
//! - [`lab`]: a learner's version of one of Kafka's rules (`labs/src/`), checked
//!   by unit tests, a sweep and a shrunk counterexample.
//! - [`bench`](mod@bench): how fast the `standard` scenario runs, against madsim alone.
//! - [`demo`]: the crash course's queue vs. pub/sub, run with consumer groups.
//! - [`input`]: reading the files a user hands in: regular files only, bounded.
//! - [`cli`]: the `kafkasim` command line.

pub mod bench;
pub mod bugs;
pub mod cli;
pub mod demo;
pub mod files;
pub mod hunt;
pub mod input;
pub mod lab;
pub mod nemesis;
pub mod render;
pub mod report;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod sweep;
