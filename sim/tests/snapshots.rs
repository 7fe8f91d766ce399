//! What users read, pinned: the checker report `kafkasim run` prints for each
//! famous failure of Kafka (kafka-model.md §7) and for its safe counterpart, on
//! seed 1, exactly as the built binary prints it.
//!
//! The snapshots live in `sim/tests/snapshots/`. After an intended change, review
//! the new output and accept it with
//! `INSTA_UPDATE=always cargo test -p kafkasim-sim --test snapshots` (or
//! `cargo insta review`).
//!
//! Pinned elsewhere, and only cross-checked here: `kafkasim run --seed 7` (the
//! quickstart) is `book/src/generated/quickstart-seed-7.txt`, which
//! `book_outputs.rs` keeps fresh, and the `--help` texts and the scenario list are
//! pinned by `cli.rs`.

mod common;
use common::{kafkasim, stdout};

/// `kafkasim run --seed 1 --scenario NAME`: its stdout, with the exit code it
/// must have (0 ok, 1 a correctness failure).
fn report(scenario: &str, exit_code: i32) -> String {
    let output = kafkasim(&["run", "--seed", "1", "--scenario", scenario]);
    assert_eq!(
        output.status.code(),
        Some(exit_code),
        "{scenario}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
}

/// One test per scenario, each with its own snapshot named after the scenario.
macro_rules! pinned_report {
    ($($test:ident: $scenario:literal exits $code:literal;)*) => {$(
        #[test]
        fn $test() {
            insta::assert_snapshot!($scenario, report($scenario, $code));
        }
    )*};
}

pinned_report! {
    // 1. High-watermark truncation (KIP-101), and leader epochs.
    kip_101_high_watermark_truncation: "kip-101-high-watermark-truncation" exits 1;
    kip_101: "kip-101" exits 0;
    // 3. Unclean election, and the partition staying offline instead.
    unclean_election: "unclean-election" exits 0;
    unclean_election_disabled: "unclean-election-disabled" exits 0;
    // 4. acks=1 failover loss, and acks=all through a leader crash.
    acks_1_failover: "acks-1-failover" exits 0;
    leader_crash_acks_all: "leader-crash-acks-all" exits 0;
    // 5. Split-brain old leader.
    split_brain_old_leader: "split-brain-old-leader" exits 0;
    // 6. Last replica standing loses power, or only its process.
    last_replica_power_loss: "last-replica-power-loss" exits 0;
    last_replica_process_crash: "last-replica-process-crash" exits 0;
    // 6b. The same with eligible leader replicas (KIP-966), and an isolated
    // follower: lost without them, kept with them.
    last_replica_power_loss_elr: "last-replica-power-loss-elr" exits 0;
    last_replica_isolated: "last-replica-isolated" exits 0;
    last_replica_isolated_elr: "last-replica-isolated-elr" exits 0;
    // 6c. A replaced disk refetches everything before it rejoins the ISR.
    replaced_disk: "replaced-disk" exits 0;
    // 6d. A follower's power loss, then the other two crash: nothing lost.
    follower_power_loss_then_crashes: "follower-power-loss-then-crashes" exits 0;
    // 7. Retry duplicates without idempotence, none with it.
    lost_produce_response: "lost-produce-response" exits 0;
    lost_produce_response_idempotent: "lost-produce-response-idempotent" exits 0;
    // 9. Zombie consumer, and a consumer that really died.
    zombie_consumer: "zombie-consumer" exits 0;
    consumer_crash: "consumer-crash" exits 0;
    // 10. Commit strategy: after processing, before processing.
    commit_after_processing: "commit-after-processing" exits 0;
    commit_before_processing: "commit-before-processing" exits 0;
}

#[test]
fn the_quickstart_output_is_the_one_the_book_pins() {
    let output = kafkasim(&["run", "--seed", "7", "--scenario", "quickstart"]);
    assert_eq!(output.status.code(), Some(0));
    let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src/generated/quickstart-seed-7.txt");
    let pinned = std::fs::read_to_string(&book).expect("the book's quickstart output");
    assert_eq!(stdout(&output), pinned, "refresh it with book_outputs.rs");
}

/// What the README's first command prints: the default scenario, `replicated`.
#[test]
fn the_default_run_is_pinned() {
    let output = kafkasim(&["run", "--seed", "7"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("default_run_seed_7", stdout(&output));
}

#[test]
fn the_scenarios_help_is_pinned() {
    insta::assert_snapshot!(
        "scenarios_help",
        stdout(&kafkasim(&["scenarios", "--help"]))
    );
}

/// Every way of asking for help prints the text `cli.rs` pins for `--help` or
/// for the command's `--help`.
#[test]
fn every_way_of_asking_for_help_prints_the_same_text() {
    let same: [(&[&str], &[&str]); 8] = [
        (&[], &["--help"]),
        (&["-h"], &["--help"]),
        (&["help"], &["--help"]),
        (&["help", "run"], &["run", "--help"]),
        (&["run", "-h"], &["run", "--help"]),
        (&["replay", "--help"], &["help", "replay"]),
        (&["help", "sweep"], &["sweep", "--help"]),
        (&["help", "scenarios"], &["scenarios", "--help"]),
    ];
    for (asked, pinned) in same {
        let (a, b) = (kafkasim(asked), kafkasim(pinned));
        assert_eq!(a.status.code(), Some(0), "{asked:?}");
        assert_eq!(stdout(&a), stdout(&b), "{asked:?} and {pinned:?}");
    }
}
