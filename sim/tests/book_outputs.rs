//! The book's outputs, kept fresh.
//!
//! Every output the book shows lives in `book/src/generated/` and is produced here,
//! exactly as the `kafkasim` command produces it: through the library API for the
//! first chapters, and by running the `kafkasim` binary itself for the failure
//! scenarios. Excerpts start with the shell command that prints them (a `grep`,
//! `awk` or `head` of a run or a replay), and the filter here does what that command
//! does. This test regenerates each file and fails when the checked-in copy
//! differs, so the book can never show a run the program no longer makes. With
//! `KAFKASIM_UPDATE_BOOK=1` it rewrites the files instead.
//!
//! It also checks that every `{{#include …}}` in the book points at a file that
//! exists and, for `file:anchor`, at an anchor that file still has. `mdbook build`
//! only warns about a missing file and says nothing about a missing anchor: the
//! listing would silently go empty.

use kafkasim::partitioner::partition_for_key;
use kafkasim_tools::cli::scenarios_listing;
use kafkasim_tools::render::render;
use kafkasim_tools::run::{run_scenario, RunOptions, RunReport};
use kafkasim_tools::scenario::{self, quickstart};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// A subdirectory, so that cargo does not build it as a test of its own.
#[path = "book_outputs/failures.rs"]
mod failures;
use failures::{
    acks_1_failover, controller_crash_connects, controller_crash_run, heartbeats, isr_expansion,
    kip_101, kip_101_epoch_end, kip_101_high_watermark, kip_101_high_watermark_truncation_run,
    last_replica_isolated, last_replica_isolated_elr, last_replica_power_loss,
    last_replica_power_loss_elr, last_replica_process_crash, leader_crash_acks_all_run,
    lost_produce_response, lost_produce_response_idempotent, lost_response_reads, metadata_pull,
    preferred_leader_returns_run, preferred_leaders, replication_fetches, split_brain,
    unclean_election, unclean_election_disabled,
};

#[path = "book_outputs/bugs.rs"]
mod bugs_chapter;
use bugs_chapter::{bug_replay, bugs_listing};

#[path = "book_outputs/hunts.rs"]
mod hunts;

#[path = "book_outputs/labs.rs"]
mod labs;
use labs::{lab_check_failing_sweep, lab_check_failing_tests, lab_check_todo, lab_list};

#[path = "book_outputs/scale.rs"]
mod scale;
use scale::shards_and_merge;

#[path = "book_outputs/seeds.rs"]
mod seeds_chapter;
use seeds_chapter::{bad_scenario_file, run_minimal_kip_101, shrink_kip_101, sweep_unsafe_file};

#[path = "book_outputs/capstone.rs"]
mod capstone;
use capstone::{replicated_isr_wait, replicated_run};

#[path = "book_outputs/groups.rs"]
mod groups;
use groups::{
    assignors, commit_after_processing_run, commit_before_processing, commit_record,
    committed_offsets_read, consumer_crash_run, coordinator_crash, coordinator_failover,
    group_coordinators, member_joins_protocol, member_joins_run, zombie_consumer, zombie_fencing,
};

#[path = "book_outputs/exercises.rs"]
mod exercises;

#[path = "book_outputs/exercises_more.rs"]
mod exercises_more;

#[path = "book_outputs/durability.rs"]
mod durability;

const UPDATE_VAR: &str = "KAFKASIM_UPDATE_BOOK";
const REFRESH_COMMAND: &str =
    "KAFKASIM_UPDATE_BOOK=1 cargo test -p kafkasim-tools --test book_outputs";

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

fn quickstart_run(seed: u64, keep_trace: bool) -> RunReport {
    let scenario = scenario::builtin("quickstart").expect("quickstart is built in");
    let options = RunOptions {
        keep_trace: keep_trace.then_some(kafkasim_sim::TraceLines::Readable),
        ..RunOptions::default()
    };
    run_scenario(seed, &scenario, &options)
}

/// `kafkasim run --seed 7`, the run the introduction walks through.
fn quickstart_seed_7() -> String {
    render(&quickstart_run(7, false))
}

/// The last three lines of `kafkasim run` for seeds 7, 7 and 8: equal seeds give
/// equal runs, different seeds give different trace hashes and the same verdict.
fn seeds() -> String {
    let mut out = String::new();
    for seed in [7, 7, 8] {
        let text = render(&quickstart_run(seed, false));
        let lines: Vec<&str> = text.lines().collect();
        let _ = writeln!(
            out,
            "$ kafkasim run --seed {seed} --scenario quickstart | tail -n 3"
        );
        for line in &lines[lines.len() - 3..] {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// `kafkasim run --seed 7 | grep PATTERN`: the lines of the run containing `pattern`.
fn grep_seed_7(pattern: &str) -> String {
    let mut out = format!("$ kafkasim run --seed 7 --scenario quickstart | grep '{pattern}'\n");
    for line in quickstart_seed_7().lines().filter(|l| l.contains(pattern)) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// What the controller did in the run of seed 7.
fn controller_seed_7() -> String {
    grep_seed_7(" controller ")
}

/// What the producer saw in the run of seed 7: each name's partition and offset.
fn producer_seed_7() -> String {
    grep_seed_7(" producer ")
}

/// The `partitions at the end` part of `kafkasim run --seed 7`.
fn partitions_seed_7() -> String {
    let report = quickstart_run(7, false);
    let after = report.run.partitions.len();
    let text = render(&report);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("partitions at the end"))
        .expect("the report lists partitions");
    let mut out = format!(
        "$ kafkasim run --seed 7 --scenario quickstart | grep -A {after} 'partitions at the end'\n"
    );
    for line in &lines[at..=at + after] {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The start and the end of `kafkasim replay --seed 7`.
fn replay_seed_7() -> String {
    let report = quickstart_run(7, true);
    let mut full: Vec<String> = report.run.trace_lines.clone();
    full.push(format!("trace hash {:016x}", report.run.trace_hash));
    let mut out = String::from("$ kafkasim replay --seed 7 --scenario quickstart | head -n 6\n");
    for line in full.iter().take(6) {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("$ kafkasim replay --seed 7 --scenario quickstart | tail -n 1\n");
    let _ = writeln!(out, "{}", full.last().expect("the hash line"));
    out
}

/// The quickstart's names: the partition the crash course's rule picks, and the
/// one Kafka's default partitioner would pick if the name were the record's key.
fn key_partitions() -> String {
    let mut out = String::from("name      A-M/N-Z rule   murmur2 key hash (2 partitions)\n");
    for name in quickstart::NAMES {
        let _ = writeln!(
            out,
            "{name:<9} {:<14} {}",
            quickstart::partition_for_name(name),
            partition_for_key(name.as_bytes(), 2)
        );
    }
    out
}

/// A generated file's name under `book/src/generated/`, and what produces it.
type Generated = (&'static str, fn() -> String);

/// Every generated file.
const GENERATED: &[Generated] = &[
    ("quickstart-seed-7.txt", quickstart_seed_7),
    ("scenarios.txt", scenarios_listing),
    ("controller-seed-7.txt", controller_seed_7),
    ("producer-seed-7.txt", producer_seed_7),
    ("partitions-seed-7.txt", partitions_seed_7),
    ("seeds.txt", seeds),
    ("replay-seed-7.txt", replay_seed_7),
    ("key-partitions.txt", key_partitions),
    // Brokers, producers and consumers: batching and long polling.
    ("batching.txt", durability::batching),
    ("long-poll.txt", durability::long_poll),
    // Leaders and followers.
    (
        "preferred-leader-returns-seed-1.txt",
        preferred_leader_returns_run,
    ),
    ("preferred-leaders-seed-1.txt", preferred_leaders),
    ("replication-fetches-seed-1.txt", replication_fetches),
    ("isr-expansion-seed-1.txt", isr_expansion),
    // The controller.
    ("heartbeats-seed-1.txt", heartbeats),
    ("metadata-pull-seed-1.txt", metadata_pull),
    ("controller-crash-seed-1.txt", controller_crash_run),
    (
        "controller-crash-connects-seed-1.txt",
        controller_crash_connects,
    ),
    // acks, ISR and durability.
    (
        "leader-crash-acks-all-seed-1.txt",
        leader_crash_acks_all_run,
    ),
    ("acks-1-failover-seed-1.txt", acks_1_failover),
    ("split-brain-old-leader-seed-1.txt", split_brain),
    ("lost-produce-response-seed-1.txt", lost_produce_response),
    (
        "lost-produce-response-idempotent-seed-1.txt",
        lost_produce_response_idempotent,
    ),
    ("lost-response-reads-seed-1.txt", lost_response_reads),
    ("durability-table.md", durability::durability_table),
    // When brokers crash.
    (
        "kip-101-high-watermark-truncation-seed-1.txt",
        kip_101_high_watermark_truncation_run,
    ),
    ("kip-101-high-watermark-seed-1.txt", kip_101_high_watermark),
    ("kip-101-seed-1.txt", kip_101),
    ("kip-101-epoch-end-seed-1.txt", kip_101_epoch_end),
    ("unclean-election-seed-1.txt", unclean_election),
    (
        "unclean-election-disabled-seed-1.txt",
        unclean_election_disabled,
    ),
    (
        "last-replica-power-loss-seed-1.txt",
        last_replica_power_loss,
    ),
    (
        "last-replica-process-crash-seed-1.txt",
        last_replica_process_crash,
    ),
    ("last-replica-isolated-seed-1.txt", last_replica_isolated),
    (
        "last-replica-isolated-elr-seed-1.txt",
        last_replica_isolated_elr,
    ),
    (
        "last-replica-power-loss-elr-seed-1.txt",
        last_replica_power_loss_elr,
    ),
    // Queue or pub/sub: consumer groups.
    ("group-coordinators.txt", group_coordinators),
    ("member-joins-seed-1.txt", member_joins_run),
    ("member-joins-protocol-seed-1.txt", member_joins_protocol),
    ("assignors.txt", assignors),
    // Rebalancing, generations and zombies.
    ("consumer-crash-seed-1.txt", consumer_crash_run),
    ("zombie-consumer-seed-1.txt", zombie_consumer),
    ("zombie-fencing-seed-1.txt", zombie_fencing),
    ("coordinator-crash-seed-1.txt", coordinator_crash),
    ("coordinator-failover-seed-1.txt", coordinator_failover),
    // Committed offsets and delivery semantics.
    ("commit-record-seed-1.txt", commit_record),
    (
        "commit-after-processing-seed-1.txt",
        commit_after_processing_run,
    ),
    (
        "commit-before-processing-seed-1.txt",
        commit_before_processing,
    ),
    ("committed-offsets-read-seed-1.txt", committed_offsets_read),
    // Capstone: the default scenario, end to end.
    ("replicated-seed-1.txt", replicated_run),
    ("replicated-isr-wait-seed-1.txt", replicated_isr_wait),
    // Sweeping at scale.
    ("shards-and-merge.txt", shards_and_merge),
    ("sweep-unsafe-file.txt", sweep_unsafe_file),
    ("shrink-kip-101.txt", shrink_kip_101),
    ("run-minimal-kip-101.txt", run_minimal_kip_101),
    ("bad-scenario-file.txt", bad_scenario_file),
    // Kafka's famous bugs, replayed (and `bug-NAME.txt` for each replay).
    ("bugs-listing.txt", bugs_listing),
    ("hunt-1.txt", hunts::hunt_1),
    ("hunt-2.txt", hunts::hunt_2),
    ("hunt-3.txt", hunts::hunt_3),
    ("hunt-4.txt", hunts::hunt_4),
    ("hunt-5.txt", hunts::hunt_5),
    ("hunt-6.txt", hunts::hunt_6),
    ("hunt-7.txt", hunts::hunt_7),
    ("hunt-8.txt", hunts::hunt_8),
    ("hunt-9.txt", hunts::hunt_9),
    // The exercises at the end of each chapter, in the book's order.
    ("exercise-exit-code.txt", exercises::exit_code),
    (
        "exercise-misspelled-scenario.txt",
        exercises::misspelled_scenario,
    ),
    ("exercise-default-scenario.txt", exercises::default_scenario),
    ("exercise-fetch-max-wait.txt", exercises::fetch_max_wait),
    (
        "exercise-replication-factor-1.txt",
        exercises::replication_factor_1,
    ),
    ("exercise-lowercase-names.txt", exercises::lowercase_names),
    ("exercise-third-partition.txt", exercises::third_partition),
    (
        "exercise-seed-8-partitions.txt",
        exercises::seed_8_partitions,
    ),
    ("exercise-two-topics.txt", exercises::two_topics),
    (
        "exercise-no-preferred-election.txt",
        exercises::no_preferred_election,
    ),
    ("exercise-acks-1-latency.txt", exercises::acks_1_latency),
    ("exercise-controller-down.txt", exercises::controller_down),
    ("exercise-frozen-isr.txt", exercises::frozen_isr),
    (
        "exercise-metadata-fetch-gaps.txt",
        exercises::metadata_fetch_gaps,
    ),
    (
        "exercise-not-enough-replicas.txt",
        exercises::not_enough_replicas,
    ),
    (
        "exercise-which-settings-lose.txt",
        exercises::which_settings_lose,
    ),
    ("exercise-acks-0.txt", exercises::acks_0),
    (
        "exercise-flush-every-message.txt",
        exercises::flush_every_message,
    ),
    ("exercise-dirty-expire.txt", exercises::dirty_expire),
    (
        "exercise-unclean-min-isr.txt",
        exercises::unclean_with_min_isr,
    ),
    ("exercise-third-consumer.txt", exercises::third_consumer),
    (
        "exercise-billing-coordinator.txt",
        exercises::billing_coordinator,
    ),
    ("exercise-two-groups.txt", exercises::two_groups),
    ("exercise-longer-session.txt", exercises::longer_session),
    (
        "exercise-consumer-3-crashes.txt",
        exercises::consumer_3_crashes,
    ),
    (
        "exercise-session-after-crash.txt",
        exercises::session_after_crash,
    ),
    ("exercise-never-processed.txt", exercises::never_processed),
    ("exercise-processed-again.txt", exercises::processed_again),
    (
        "exercise-zombie-commits-first.txt",
        exercises::zombie_commits_first,
    ),
    (
        "exercise-report-keeps-the-hash.txt",
        exercises::report_keeps_the_hash,
    ),
    ("exercise-removed-records.txt", exercises::removed_records),
    (
        "exercise-report-check.txt",
        exercises::report_check_cut_file,
    ),
    ("exercise-sweep-acks-1.txt", exercises::sweep_acks_1),
    (
        "exercise-min-isr-above-replicas.txt",
        exercises::min_isr_above_replicas,
    ),
    (
        "exercise-minimal-without-seed.txt",
        exercises::minimal_without_seed,
    ),
    ("exercise-shard-seeds.txt", exercises::shard_seeds),
    (
        "exercise-overlapping-merge.txt",
        exercises::overlapping_merge,
    ),
    (
        "exercise-jobs-change-nothing.txt",
        exercises::jobs_change_nothing,
    ),
    (
        "exercise-isolated-leader.txt",
        exercises::isolated_leader_story,
    ),
    (
        "exercise-isolated-leader-acks-all.txt",
        exercises::isolated_leader_acks_all,
    ),
    ("exercise-crashed-leader.txt", exercises::crashed_leader),
    ("exercise-switch-or-story.txt", exercises::switch_or_story),
    ("exercise-unrelated-switch.txt", exercises::unrelated_switch),
    ("exercise-elr-switched-off.txt", exercises::elr_switched_off),
    // The exercises of the later chapters, in the book's order.
    (
        "exercise-help-exit-codes.txt",
        exercises_more::help_exit_codes,
    ),
    ("exercise-scenario-list.txt", exercises_more::scenario_list),
    ("exercise-json-verdict.txt", exercises_more::json_verdict),
    ("exercise-late-consumer.txt", exercises_more::late_consumer),
    (
        "exercise-offsets-per-partition.txt",
        exercises_more::offsets_per_partition,
    ),
    (
        "exercise-durable-leader-crash.txt",
        exercises_more::durable_leader_crash,
    ),
    (
        "exercise-capstone-broker-2.txt",
        exercises_more::capstone_broker_2,
    ),
    ("exercise-capstone-rf-1.txt", exercises_more::capstone_rf_1),
    (
        "exercise-capstone-short-safety-phase.txt",
        exercises_more::capstone_short_safety_phase,
    ),
    (
        "exercise-same-seed-same-hash.txt",
        exercises_more::same_seed_same_hash,
    ),
    (
        "exercise-faults-from-the-seed.txt",
        exercises_more::faults_from_the_seed,
    ),
    (
        "exercise-simulated-time.txt",
        exercises_more::simulated_time,
    ),
    (
        "exercise-lab-check-partitioner.txt",
        exercises_more::lab_check_partitioner,
    ),
    ("exercise-lab-run-todo.txt", exercises_more::lab_run_todo),
    (
        "exercise-lab-abs-partitioner.txt",
        exercises_more::lab_abs_partitioner,
    ),
    // Labs: write Kafka's rules yourself.
    ("lab-list.txt", lab_list),
    ("lab-check-todo.txt", lab_check_todo),
    ("lab-check-failing-tests.txt", lab_check_failing_tests),
    ("lab-check-failing-sweep.txt", lab_check_failing_sweep),
];

/// Every generated output: the fixed list, then one per bug replay.
fn generated() -> Vec<(String, Box<dyn Fn() -> String>)> {
    let mut all: Vec<(String, Box<dyn Fn() -> String>)> = (GENERATED.iter())
        .map(|(name, produce)| {
            (
                name.to_string(),
                Box::new(*produce) as Box<dyn Fn() -> String>,
            )
        })
        .collect();
    for replay in kafkasim_tools::bugs::REPLAYS {
        all.push((
            format!("bug-{}.txt", replay.bug),
            Box::new(move || bug_replay(replay)),
        ));
    }
    all
}

#[test]
fn generated_book_outputs_match_the_program() {
    let dir = book_src().join("generated");
    let update = std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, produce) in generated() {
        let path = dir.join(&name);
        let fresh = produce();
        // An excerpt whose filter or time window no longer matches the run would
        // show only its command line: the book would quietly lose its evidence.
        let shown = fresh
            .lines()
            .filter(|l| !l.starts_with('$') && !l.trim().is_empty());
        assert!(
            shown.count() > 0,
            "{name} shows nothing but its command: its filter no longer matches the run"
        );
        if update {
            std::fs::create_dir_all(&dir).expect("book/src/generated can be created");
            std::fs::write(&path, &fresh).expect("the generated file can be written");
            println!("{UPDATE_VAR}=1: rewrote book/src/generated/{name}");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(checked_in) if checked_in == fresh => {}
            Ok(checked_in) => stale.push(format!(
                "book/src/generated/{name} is out of date.\n--- checked in\n{checked_in}\n--- the program now prints\n{fresh}"
            )),
            Err(error) => stale.push(format!("book/src/generated/{name} cannot be read: {error}")),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n\nThe book shows outputs the program no longer produces. If the change is intended, refresh them with:\n\n    {REFRESH_COMMAND}\n",
        stale.join("\n\n")
    );
}

/// Excerpts written and checked by another test, which needs what this one
/// cannot assume: real Kafka clients, installed by `.ci/run`.
const CHECKED_ELSEWHERE: &[(&str, &str)] = &[
    ("serve-kafkajs.txt", "serve/tests/kafkajs.rs"),
    ("serve-kafkajs-admin-again.txt", "serve/tests/kafkajs.rs"),
    (
        "serve-kafkajs-alice-lower-case.txt",
        "serve/tests/kafkajs.rs",
    ),
    ("serve-kafkajs-alice-again.txt", "serve/tests/kafkajs.rs"),
];

#[test]
fn excerpts_checked_elsewhere_have_their_test() {
    for (name, test) in CHECKED_ELSEWHERE {
        let text = std::fs::read_to_string(book_src().join("..").join("..").join(test))
            .unwrap_or_else(|e| panic!("{test}: {e}"));
        assert!(text.contains(name), "{test} writes and checks {name}");
    }
}

#[test]
fn every_generated_file_has_a_producer() {
    let dir = book_src().join("generated");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // Nothing generated yet; the test above says how to create them.
    };
    for entry in entries {
        let name = entry.expect("a directory entry").file_name();
        let name = name.to_string_lossy();
        if CHECKED_ELSEWHERE.iter().any(|(known, _)| *known == name) {
            continue;
        }
        assert!(
            generated().iter().any(|(known, _)| *known == name),
            "book/src/generated/{name} is not produced by sim/tests/book_outputs.rs: \
             add it to GENERATED or delete it"
        );
    }
}

#[test]
fn every_book_include_points_at_an_existing_file_and_anchor() {
    let src = book_src();
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("book/src exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    let mut includes = 0;
    for chapter in chapters {
        let text = std::fs::read_to_string(&chapter).expect("a chapter is readable");
        for directive in text.split("{{#include ").skip(1) {
            let target = directive.split("}}").next().expect("split yields one part");
            let (file, anchor) = match target.split_once(':') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target, None),
            };
            let path = src.join(file);
            let shown = chapter.file_name().expect("a file name").to_string_lossy();
            let content = std::fs::read_to_string(&path).unwrap_or_else(|error| {
                panic!("{shown} includes {file}, which cannot be read: {error}")
            });
            // `file:2`, `file:2:10`, `file::10` are line ranges, not anchors.
            let is_range = |a: &str| a.chars().all(|c| c.is_ascii_digit() || c == ':');
            if let Some(anchor) = anchor.filter(|a| !is_range(a)) {
                assert!(
                    content.contains(&format!("ANCHOR: {anchor}"))
                        && content.contains(&format!("ANCHOR_END: {anchor}")),
                    "{shown} includes {file}:{anchor}, but that file has no `// ANCHOR: {anchor}` \
                     … `// ANCHOR_END: {anchor}` pair"
                );
            }
            includes += 1;
        }
    }
    assert!(includes > 0, "the book includes no listings or outputs");
}

/// Configuration values the prose may name in milliseconds without a run
/// showing them (Kafka's defaults the chapters explain).
const CONFIG_MILLISECONDS: &[u64] = &[500, 2_000, 3_000, 5_000, 9_000, 10_000, 30_000, 45_000];

/// A simulated time in a chapter's prose ("at 9011 ms") must appear in one of the
/// outputs that chapter includes, so the prose cannot drift from the runs.
#[test]
fn every_time_the_prose_names_is_in_an_output_of_its_chapter() {
    let src = book_src();
    for entry in std::fs::read_dir(&src).expect("book/src exists") {
        let chapter = entry.expect("a directory entry").path();
        if chapter.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&chapter).expect("a chapter is readable");
        let outputs: String = text
            .split("{{#include ")
            .skip(1)
            .filter_map(|d| d.split("}}").next())
            .filter(|target| target.starts_with("generated/"))
            .map(|file| std::fs::read_to_string(src.join(file)).unwrap_or_default())
            .collect();
        // Numbers as an output prints them: "  9011 ms" on the timeline, or
        // "    9011 ms  broker-1 ← …" in a replay.
        let shown: std::collections::BTreeSet<u64> = outputs
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        let prose: String = text.split("```").step_by(2).collect::<Vec<_>>().join(" ");
        let words: Vec<&str> = prose.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            let unit = words
                .get(i + 1)
                .map(|w| w.trim_end_matches([',', '.', ')', ':', ';']));
            let number = word.trim_start_matches(['(', '*']).trim_end_matches('*');
            let (Some("ms" | "ms**"), Ok(ms)) = (unit, number.parse::<u64>()) else {
                continue;
            };
            // `kafkasim serve`'s flaky link, which real time cannot draw from a seed.
            let serve_flaky = [
                kafkasim_serve::control::FLAKY_CLOGGED,
                kafkasim_serve::control::FLAKY_OPEN,
            ]
            .map(|d| d.as_millis() as u64);
            assert!(
                shown.contains(&ms)
                    || CONFIG_MILLISECONDS.contains(&ms)
                    || serve_flaky.contains(&ms),
                "{} names {ms} ms, which none of its outputs shows: refresh the prose \
                 after regenerating the outputs ({REFRESH_COMMAND})",
                chapter.file_name().expect("a file name").to_string_lossy()
            );
        }
    }
}
