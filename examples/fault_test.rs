//! A fault test of your own: the two tests below are what a test file in your
//! crate looks like (`tests/leader_isolation.rs`, with `kafkasim`,
//! `kafkasim-check` and `kafkasim-sim` as dev-dependencies). Each builds a
//! cluster, cuts the leader of a partition off while a producer writes, and
//! asserts on the typed findings the judge makes of the run.
//!
//! `cargo test --example fault_test` runs the tests; `cargo run --example
//! fault_test [-- --seed N]` prints the two judgements. The book's chapter
//! "Writing your own fault test" walks through it.

use kafkasim::client::admin::NewTopic;
use kafkasim::client::producer::ProducerRecord;
use kafkasim_check::{Action, Judgement, Target};
#[cfg(test)]
use kafkasim_check::{Allowance, Kind, Verdict};
use kafkasim_sim::time::sleep_ms;
use kafkasim_sim::{simulate, ClusterSpec, Options};

// ANCHOR: isolated_leader
/// Writes `before`, cuts the leader of orders-0 off from the other servers
/// (clients still reach it), writes `during`, waits past the controller's
/// session timeout (a new leader is elected), heals, and reads everything back.
fn isolated_leader(seed: u64, acks: &'static str) -> Judgement {
    let run = simulate(
        seed,
        ClusterSpec::default(),
        &Options::default(),
        move |cluster| async move {
            let topic = NewTopic::new("orders", 1, 3).config("min.insync.replicas", "2");
            cluster
                .create_topic_in_sync(topic)
                .await
                .expect("a fresh cluster creates it");
            let settings = [
                ("acks", acks),
                ("request.timeout.ms", "4000"),
                ("delivery.timeout.ms", "5000"),
            ];
            let producer = cluster.producer(&settings);
            let producer = producer.expect("valid settings");
            producer
                .send(ProducerRecord::new("orders", "before"))
                .await
                .ok();
            let cut = Action::Isolate {
                node: Target::leader_of("orders", 0),
            };
            let cut = cluster.start_fault(&cut).expect("orders-0 has a leader");
            producer
                .send(ProducerRecord::new("orders", "during"))
                .await
                .ok();
            sleep_ms(12_000).await;
            cluster.end_fault(cut);
            cluster.wait_until_in_sync(&["orders"]).await.ok();
            cluster.read_back().await;
        },
    );
    run.judge()
}
// ANCHOR_END: isolated_leader

// ANCHOR: tests
#[test]
fn acks_all_keeps_every_acknowledged_write_when_the_leader_is_cut_off() {
    let judgement = isolated_leader(1, "all");
    assert_eq!(judgement.verdict(), Verdict::Ok, "{judgement}");
    assert!(judgement.findings.is_empty(), "{judgement}");
}

#[test]
fn acks_1_loses_what_the_cut_off_leader_acknowledged_and_kafka_allows_it() {
    let judgement = isolated_leader(1, "1");
    assert_eq!(judgement.verdict(), Verdict::Ok, "allowed: {judgement}");
    let lost: Vec<_> = judgement
        .allowed()
        .filter(|f| f.kind == Kind::LostWrite)
        .collect();
    assert_eq!(lost.len(), 1, "{judgement}");
    assert_eq!(lost[0].values()[0], "during");
    assert_eq!(lost[0].allowed, [Allowance::LeaderOnlyAcks]);
}
// ANCHOR_END: tests

fn main() {
    let seed = std::env::args()
        .skip_while(|arg| arg != "--seed")
        .nth(1)
        .map_or(1, |n| n.parse().expect("--seed takes a number"));
    for acks in ["all", "1"] {
        println!(
            "acks={acks}, seed {seed}:\n{}\n",
            isolated_leader(seed, acks)
        );
    }
}
