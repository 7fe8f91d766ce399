//! Kafka under broker crashes and network faults: each test runs one built-in
//! failure scenario (an explicit fault schedule) on a fixed seed and asserts what
//! the clients saw: which writes were acknowledged where, which failed and how,
//! and what a final read of the partition returned.

use kafkasim_check::views;
use kafkasim_check::{Allowance, Kind, Verdict};
use kafkasim_tools::run::{run_seed, RunReport};
use kafkasim_tools::scenario::builtin;

fn run(scenario: &str) -> RunReport {
    let scenario = builtin(scenario).unwrap_or_else(|| panic!("scenario {scenario} exists"));
    run_seed(1, &scenario)
}

/// Acknowledged sends as `value@offset`, in acknowledgement order.
fn acked(report: &RunReport) -> Vec<String> {
    (views::acked(&report.run.history).iter())
        .map(|s| format!("{}@{}", s.value, s.offset))
        .collect()
}

/// The final read as `value@offset`.
fn read(report: &RunReport) -> Vec<String> {
    (views::polled_by(&report.run.history, "reader").iter())
        .map(|c| format!("{}@{}", c.value, c.offset))
        .collect()
}

/// Failed sends as `value: ambiguous|definite: error`.
fn failed(report: &RunReport) -> Vec<String> {
    (views::refused(&report.run.history).iter())
        .map(|f| {
            let kind = if f.ambiguous { "ambiguous" } else { "definite" };
            format!("{}: {kind}: {}", f.value, f.error)
        })
        .collect()
}

/// The allowed findings, each as its kind and the reasons that allow it.
fn allowed(report: &RunReport) -> Vec<(Kind, Vec<Allowance>)> {
    (report.judgement.allowed())
        .map(|f| (f.kind, f.allowed.clone()))
        .collect()
}

fn timeline_has(report: &RunReport, text: &str) -> bool {
    report.run.timeline.iter().any(|e| e.text.contains(text))
}

#[test]
fn a_leader_crash_with_acks_all_rf_3_and_min_isr_2_loses_no_acknowledged_write() {
    let report = run("leader-crash-acks-all");
    assert_eq!(report.verdict(), Verdict::Ok);
    let all: Vec<String> = (0..10).map(|i| format!("v{i}@{i}")).collect();
    assert_eq!(acked(&report), all, "every send was acknowledged");
    assert_eq!(
        read(&report),
        all,
        "each acknowledged record read once, in order"
    );
    assert!(timeline_has(&report, "crashed"));
    assert!(timeline_has(&report, "orders-0: leader broker-"));
}

#[test]
fn an_acks_1_write_the_leader_acknowledged_before_any_follower_fetched_it_is_gone_after_failover() {
    let report = run("acks-1-failover");
    assert_eq!(acked(&report), ["before@0", "acked-then-lost@1", "after@1"]);
    assert_eq!(read(&report), ["before@0", "after@1"]);
    assert_eq!(
        report.verdict(),
        Verdict::Ok,
        "acks=1 promises nothing here"
    );
    let acks_1 = vec![Allowance::LeaderOnlyAcks];
    assert_eq!(
        allowed(&report),
        [
            (Kind::InconsistentOffsets, acks_1.clone()),
            (Kind::LostWrite, acks_1)
        ]
    );
    assert_eq!(
        report.judgement.findings[0].values(),
        ["acked-then-lost", "after"]
    );
    assert!(timeline_has(&report, "truncated orders-0 to offset 1"));
}

#[test]
fn an_unclean_election_of_a_lagging_follower_loses_acknowledged_writes_and_reuses_their_offsets() {
    let report = run("unclean-election");
    assert_eq!(acked(&report), ["before@0", "a@1", "b@2", "c@1", "d@2"]);
    assert_eq!(read(&report), ["before@0", "c@1", "d@2"]);
    assert_eq!(
        failed(&report),
        Vec::<String>::new(),
        "the producer's sequence gap is refused, and it recovers by itself: no client hears of the loss"
    );
    assert!(timeline_has(&report, "(UNCLEAN election)"));
    assert_eq!(
        report.verdict(),
        Verdict::Ok,
        "unclean election promises nothing"
    );
    let lost: Vec<(Kind, Vec<String>)> = (report.judgement.allowed())
        .map(|f| (f.kind, f.values()))
        .collect();
    let values = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        lost,
        [
            (Kind::InconsistentOffsets, values(&["a", "c"])),
            (Kind::InconsistentOffsets, values(&["b", "d"])),
            (Kind::LostWrite, values(&["a", "d"])),
            (Kind::LostWrite, values(&["b", "d"])),
            // c was sent after b was acknowledged at 2, and landed at 1.
            (Kind::NonmonotonicSend, values(&["b", "c"])),
        ]
    );
    assert!(report
        .judgement
        .allowed()
        .all(|f| f.allowed == [Allowance::UncleanElection]));
}

#[test]
fn with_unclean_election_off_the_partition_stays_offline_instead_and_loses_nothing() {
    let report = run("unclean-election-disabled");
    assert!(timeline_has(&report, "orders-0: no leader available"));
    assert_eq!(failed(&report).len(), 1);
    assert!(
        failed(&report)[0].starts_with("c: ambiguous: timeout: Expiring 1 record(s)"),
        "{:?}",
        failed(&report)
    );
    assert_eq!(read(&report), ["before@0", "a@1", "b@2", "d@3"]);
    assert_eq!(report.verdict(), Verdict::Ok);
    assert!(report.judgement.findings.is_empty(), "{}", report.judgement);
}

#[test]
fn the_kip_101_schedule_loses_the_acknowledged_write_when_followers_truncate_to_their_high_watermark(
) {
    let report = run("kip-101-high-watermark-truncation");
    assert_eq!(acked(&report), ["m1@0", "m2@1", "m3@1"]);
    assert_eq!(read(&report), ["m1@0", "m3@1"]);
    assert_eq!(
        report.verdict(),
        Verdict::Correctness,
        "a lost acks=all write fails the run"
    );
    assert_eq!(
        report.judgement.failing_kinds(),
        [
            Kind::InconsistentOffsets,
            Kind::LostWrite,
            Kind::DivergentReplicas
        ]
    );
    let divergence = (report.judgement.failing())
        .find(|f| f.kind == Kind::DivergentReplicas)
        .expect("the replicas disagree");
    assert_eq!(
        divergence.to_string(),
        "divergent-replicas: broker-1 has m2 at orders-0@1, the leader broker-3 has m3",
        "the old leader kept m2 below its own high watermark: the replicas disagree for good"
    );
}

#[test]
fn the_kip_101_schedule_loses_nothing_with_leader_epochs() {
    let report = run("kip-101");
    assert_eq!(acked(&report), ["m1@0", "m2@1", "m3@2"]);
    assert_eq!(read(&report), ["m1@0", "m2@1", "m3@2"]);
    assert_eq!(report.verdict(), Verdict::Ok);
    assert!(report.judgement.findings.is_empty(), "{}", report.judgement);
}

#[test]
fn a_power_loss_of_the_last_isr_member_loses_an_acks_all_write() {
    let report = run("last-replica-power-loss");
    assert_eq!(acked(&report), ["w1@0"]);
    assert_eq!(read(&report), Vec::<String>::new());
    assert_eq!(
        allowed(&report),
        [(Kind::LostWrite, vec![Allowance::PowerLoss])]
    );
    assert_eq!(report.judgement.findings[0].values(), ["w1"]);
    assert!(timeline_has(&report, "orders-0: ISR now [1]"));
}

#[test]
fn without_elr_the_last_isr_member_back_from_a_power_loss_is_elected_and_loses_a_write() {
    let report = run("last-replica-isolated");
    assert_eq!(acked(&report), ["w1@0"]);
    assert_eq!(read(&report), Vec::<String>::new());
    assert_eq!(
        allowed(&report),
        [(Kind::LostWrite, vec![Allowance::PowerLoss])]
    );
    assert!(timeline_has(
        &report,
        "orders-0: leader broker-1, leader epoch 2, ISR [1]"
    ));
}

#[test]
fn with_elr_the_follower_that_kept_the_write_is_elected_and_nothing_is_lost() {
    let report = run("last-replica-isolated-elr");
    assert_eq!(acked(&report), ["w1@0"]);
    assert_eq!(read(&report), ["w1@0"]);
    assert_eq!(report.verdict(), Verdict::Ok);
    assert!(report.judgement.findings.is_empty(), "{}", report.judgement);
    assert!(timeline_has(&report, "orders-0: ISR now [1], ELR [2]"));
    assert!(timeline_has(
        &report,
        "orders-0: leader broker-2, leader epoch 2, ISR [2]"
    ));
}

#[test]
fn with_elr_a_partition_whose_replicas_all_restarted_waits_offline() {
    let report = run("last-replica-power-loss-elr");
    assert_eq!(acked(&report), ["w1@0"]);
    assert!(timeline_has(
        &report,
        "orders-0: no leader available (leader epoch 1, ISR [], ELR [1])"
    ));
    assert!(timeline_has(
        &report,
        "after both restarts: orders-0 without a leader, ISR []"
    ));
    assert!(
        !timeline_has(&report, "truncated"),
        "no replica was told to drop w1"
    );
}

#[test]
fn a_leader_whose_disk_is_replaced_refetches_everything_and_nothing_is_lost() {
    let report = run("replaced-disk");
    assert_eq!(acked(&report), ["w1@0", "w2@1", "w3@2"]);
    assert_eq!(read(&report), ["w1@0", "w2@1", "w3@2"]);
    assert_eq!(report.verdict(), Verdict::Ok);
    assert!(timeline_has(&report, "restarted after a disk replacement"));
    assert!(timeline_has(&report, "orders-0: ISR now [2,3,1]"));
}

/// The schedule that lost acknowledged writes in every seed while a
/// restarted broker kept its ISR places.
#[test]
fn a_follower_power_loss_then_crashes_of_the_other_two_lose_nothing() {
    let scenario = builtin("follower-power-loss-then-crashes").expect("built in");
    for seed in 1..=5 {
        let report = run_seed(seed, &scenario);
        assert_eq!(acked(&report), ["w1@0", "w2@1", "w3@2"], "seed {seed}");
        assert_eq!(read(&report), ["w1@0", "w2@1", "w3@2"], "seed {seed}");
        assert_eq!(report.verdict(), Verdict::Ok, "seed {seed}");
    }
}

#[test]
fn a_process_crash_of_the_last_isr_member_loses_nothing() {
    let report = run("last-replica-process-crash");
    assert_eq!(read(&report), ["w1@0"]);
    assert_eq!(report.verdict(), Verdict::Ok);
    assert!(report.judgement.findings.is_empty(), "{}", report.judgement);
}

#[test]
fn a_split_brain_old_leader_acknowledges_acks_1_writes_that_are_truncated_and_times_out_acks_all() {
    let report = run("split-brain-old-leader");
    assert_eq!(acked(&report), ["w1@0", "w2@1", "s1@2", "s2@3"]);
    let failed = failed(&report);
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].starts_with("s3: ambiguous: timeout:"),
        "{failed:?}"
    );
    assert_eq!(read(&report), ["w1@0", "w2@1"]);
    assert!(timeline_has(
        &report,
        "truncated orders-0 to offset 2, dropping 3 record(s)"
    ));
    let lost: Vec<Kind> = allowed(&report).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        lost,
        [Kind::LostWrite, Kind::LostWrite],
        "s1 and s2, past the new log's end"
    );
    assert_eq!(report.verdict(), Verdict::Ok);
}

#[test]
fn a_lost_produce_response_and_a_retry_write_the_record_twice_without_idempotence() {
    let report = run("lost-produce-response");
    assert!(timeline_has(&report, "Produce response from broker-1"));
    assert_eq!(acked(&report), ["r1@0", "r2@2", "r3@3"]);
    assert_eq!(read(&report), ["r1@0", "r2@1", "r2@2", "r3@3"]);
    assert_eq!(
        allowed(&report),
        [(Kind::Duplicate, vec![Allowance::NoIdempotence])]
    );
    assert_eq!(report.judgement.findings[0].offsets(), [1, 2]);
}

#[test]
fn with_idempotence_the_retry_is_answered_with_the_original_offset_and_written_once() {
    let report = run("lost-produce-response-idempotent");
    assert!(timeline_has(&report, "Produce response from broker-1"));
    assert_eq!(acked(&report), ["r1@0", "r2@1", "r3@2"]);
    assert_eq!(read(&report), ["r1@0", "r2@1", "r3@2"]);
    assert_eq!(report.verdict(), Verdict::Ok);
    assert!(report.judgement.findings.is_empty(), "{}", report.judgement);
}

#[test]
fn a_broker_that_leads_one_partition_and_follows_two_crashes_returns_and_gets_leadership_back_when_asked(
) {
    let report = run("preferred-leader-returns");
    assert_eq!(report.verdict(), Verdict::Ok);
    let lines = |prefix: &str| -> Vec<String> {
        (report.run.timeline.iter())
            .filter(|e| e.text.starts_with(prefix))
            .map(|e| e.text.clone())
            .collect()
    };
    assert_eq!(
        lines("leaders"),
        [
            "leaders at first: orders-0 led by broker-1, ISR [1,2,3]; orders-1 led by broker-2, ISR [2,3,1]; orders-2 led by broker-3, ISR [3,1,2]",
            "leaders while broker-1 is down: orders-0 led by broker-2, ISR [2,3]; orders-1 led by broker-2, ISR [2,3]; orders-2 led by broker-3, ISR [3,2]",
            "leaders after broker-1 caught up: orders-0 led by broker-2, ISR [2,3,1]; orders-1 led by broker-2, ISR [2,3,1]; orders-2 led by broker-3, ISR [3,2,1]",
            "leaders after the preferred election: orders-0 led by broker-1, ISR [2,3,1]; orders-1 led by broker-2, ISR [2,3,1]; orders-2 led by broker-3, ISR [3,2,1]",
        ]
    );
    let leaders: Vec<Option<i32>> = report.run.partitions.iter().map(|p| p.leader).collect();
    assert_eq!(leaders, [Some(1), Some(2), Some(3)]);
    let mut read = read(&report);
    read.sort();
    assert_eq!(read, ["before@0", "during@1"]);
}

#[test]
fn a_fault_scenario_replays_byte_for_byte_from_its_seed() {
    let scenario = builtin("split-brain-old-leader").expect("exists");
    let first = run_seed(3, &scenario);
    let second = run_seed(3, &scenario);
    assert_eq!(first.run.trace_hash, second.run.trace_hash);
    assert_eq!(first.run.timeline, second.run.timeline);
    let other = run_seed(4, &scenario);
    assert_ne!(first.run.trace_hash, other.run.trace_hash);
}

#[test]
fn while_the_controller_is_down_a_dead_leader_is_neither_fenced_nor_replaced() {
    let report = run("controller-crash");
    assert!(timeline_has(
        &report,
        "controller still down: orders-0 led by broker-1, ISR [1,2,3]"
    ));
    assert_eq!(acked(&report), ["a@0", "c@1"]);
    assert_eq!(failed(&report).len(), 1);
    assert!(failed(&report)[0].starts_with("b: ambiguous: timeout"));
    let fenced = (report.run.timeline.iter())
        .find(|e| e.text == "broker-1 fenced: no heartbeat within the session timeout")
        .expect("the restarted controller fences the dead leader");
    let restarted = (report.run.timeline.iter())
        .find(|e| e.node == "controller" && e.text.starts_with("restarted"))
        .expect("the controller restarts");
    assert!(
        fenced.time_ms >= restarted.time_ms + 9_000,
        "a full session timeout after its restart"
    );
    assert_eq!(read(&report), ["a@0", "c@1"]);
    assert_eq!(report.verdict(), Verdict::Ok);
}
