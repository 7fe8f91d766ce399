//! Runs application code against a fresh simulated cluster, for examples and tests.
//!
//! `run_app(seed, spec, |cluster| async move { … })` starts a simulator with the
//! seed on a fresh thread, starts the cluster, runs the closure's future on a
//! client machine named `app`, and returns what it returned.

use crate::cluster::{Cluster, ClusterSpec};
use crate::trace::Trace;
use std::future::Future;
use std::time::Duration;

/// Simulated network latency between any two machines.
pub const SEND_LATENCY: std::ops::Range<Duration> =
    Duration::from_millis(1)..Duration::from_millis(5);

/// The project's simulator settings: latencies of 1–5 ms, no packet loss
/// (connections are TCP-like; faults come from the harness, not from noise).
pub fn sim_config() -> madsim::Config {
    let mut config = madsim::Config::default();
    config.net.send_latency = SEND_LATENCY;
    config.net.packet_loss_rate = 0.0;
    config
}

/// A fresh madsim runtime for `seed` with the project's network settings.
pub fn runtime(seed: u64) -> madsim::runtime::Runtime {
    madsim::runtime::Runtime::with_seed_and_config(seed, sim_config())
}

/// Runs `app` on a client machine of a fresh cluster; a panic anywhere in the
/// simulation comes back as `Err` with its message.
pub fn run_app<F, Fut, T>(seed: u64, spec: ClusterSpec, app: F) -> Result<T, String>
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let worker = std::thread::spawn(move || {
        runtime(seed).block_on(async move {
            let cluster = Cluster::start(&spec, Trace::default());
            let handle = cluster.clone();
            cluster
                .spawn_client("app", app(handle))
                .await
                .expect("the app task finishes")
        })
    });
    worker
        .join()
        .map_err(|panic| crate::run::panic_message(&panic))
}

/// Waits for every broker, then creates the crash course's topic `users` with 2
/// partitions: the set-up each example needs on its fresh cluster.
pub async fn create_users_topic(cluster: &Cluster) {
    let admin = crate::client::Admin::new(
        cluster,
        kafkasim::client::admin::AdminConfig::new(cluster.bootstrap()),
    );
    admin.wait_for_brokers(cluster.bootstrap().len()).await;
    let results = admin
        .create_topics(vec![kafkasim::client::admin::NewTopic::new("users", 2, 1)])
        .await;
    let created = results.is_ok_and(|r| {
        r.iter()
            .all(|t| t.error_code == kafkasim::error::ErrorCode::None)
    });
    assert!(created, "a fresh cluster creates topic users");
}

/// Reads an optional `--seed N` from the command line of an example.
pub fn seed_from_args(default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let position = args.iter().position(|a| a == "--seed");
    match position.and_then(|i| args.get(i + 1)) {
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("error: --seed must be a non-negative whole number, got '{text}'");
            std::process::exit(2);
        }),
        None => default,
    }
}
