//! # kafkasim-sim: the Kafka model inside madsim
//!
//! This crate puts the sans-IO nodes of the `kafkasim` crate on simulated
//! machines and gives application code async clients, the way a real cluster
//! would. It is the only crate of the workspace that knows madsim: everything
//! else waits, spawns and injects faults through it.
//!
//! - [`runtime`]: one seeded run on a fresh thread ([`simulate`]), and what it leaves ([`Run`]).
//! - [`time`]: simulated time and tasks for application code.
//! - [`cluster`]: a controller and brokers on their machines, client machines, the history.
//! - [`client`]: async `Admin`, `Producer` and `Consumer` over the client cores;
//!   every call goes into the run's history.
//! - `app`: what application code does with a cluster besides its clients:
//!   create topics, wait for a state, the final read (methods of [`Cluster`]).
//! - [`faults`]: the one entry point that starts and undoes a [`Fault`](kafkasim_check::Fault).
//! - [`schedule`]: a schedule of faults carried out over a safety phase, then healed.
//! - [`end`]: the partitions at the end of a run, and their replicas compared.
//! - [`trace`]: the run's trace, its hash, the timeline and captured events.
//! - [`goals`]: the "sometimes" goals a run reached (leader changed, …).
//! - [`baseline`]: madsim alone, delivering messages: the yardstick `kafkasim bench` uses.
//! - `driver`, `network`, `narrate`: one node on one machine; the links as the
//!   faults left them; cluster events as timeline sentences.
//!
//! Architecture invariant: no protocol decision is made here. If a behaviour is
//! Kafka's, it lives in `kafkasim`; this crate only moves messages and time.
//!
//! A fault test of your own, in a few lines:
//!
//! ```
//! use kafkasim::client::admin::NewTopic;
//! use kafkasim::client::producer::ProducerRecord;
//! use kafkasim_check::{Action, Target, Verdict};
//! use kafkasim_sim::{simulate, ClusterSpec, Options};
//!
//! let run = simulate(7, ClusterSpec::default(), &Options::default(), |cluster| async move {
//!     let topic = NewTopic::new("orders", 1, 3).config("min.insync.replicas", "2");
//!     cluster.create_topic_in_sync(topic).await.expect("a fresh cluster creates it");
//!     let producer = cluster.producer(&[("acks", "all")]).expect("valid settings");
//!     producer.send(ProducerRecord::new("orders", "a")).await.ok();
//!     let leader = Target::leader_of("orders", 0);
//!     let crash = cluster.start_fault(&Action::Crash { node: leader });
//!     producer.send(ProducerRecord::new("orders", "b")).await.ok();
//!     crash.map(|c| cluster.end_fault(c));
//!     cluster.wait_until_in_sync(&["orders"]).await.ok();
//!     cluster.read_back().await;
//! });
//! let judgement = run.judge();
//! assert_eq!(judgement.verdict(), Verdict::Ok, "{judgement}");
//! ```

mod app;
pub mod baseline;
pub mod client;
pub mod cluster;
mod driver;
pub mod end;
pub mod faults;
pub mod goals;
mod narrate;
mod network;
pub mod runtime;
pub mod schedule;
pub mod time;
pub mod trace;

pub use client::{Admin, Consumer, Producer};
pub use cluster::{Cluster, ClusterSpec};
pub use runtime::{run_app, simulate, Options, Run};
pub use trace::TraceLines;
