//! The network faults, each on its own in a written schedule against a small
//! safe workload: the fault shows (a fenced broker, a new leader, a shrunk
//! ISR, slower messages, stalled fetches) and the run still keeps every promise.

use kafkasim::client::admin::NewTopic;
use kafkasim::ids::TopicPartition;
use kafkasim_check::fault::{Action, Target};
use kafkasim_check::{views, Verdict};
use kafkasim_sim::trace::{Captured, MessageEvent};
use kafkasim_sim::{run_app, ClusterSpec, TraceLines};
use kafkasim_tools::run::{run_scenario, RunOptions, RunReport};
use kafkasim_tools::scenario::workload::file::parse;
use kafkasim_tools::scenario::Scenario;

/// Three brokers; topic `events` with one partition (on brokers 1, 2, 3: broker-1
/// leads it), RF 3, `min.insync.replicas` 2; one idempotent `acks=all` producer
/// and a group of one. Then `faults`, a `[[faults.schedule]]` table or more.
const WORKLOAD: &str = r#"
[[topic]]
name = "events"
partitions = 1
replication_factor = 3
configs = { "min.insync.replicas" = 2 }

[[producer]]
topic = "events"
rate = 20
keys = 4
configs = { acks = "all", "enable.idempotence" = true }

[[group]]
id = "group-1"
topics = ["events"]
consumers = 1

[faults]
mode = "schedule"
"#;

/// Runs the workload with `faults` (and `safety_ms` of safety phase) with seed 1,
/// capturing events and keeping the trace lines.
fn run(faults: &str, safety_ms: u64) -> RunReport {
    let text =
        format!("{WORKLOAD}{faults}\n[phases]\nsafety_ms = {safety_ms}\nliveness_ms = 60000\n");
    let workload = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let scenario = Scenario::workload("network-faults", workload);
    let options = RunOptions {
        keep_trace: Some(TraceLines::Readable),
        capture: true,
        ..RunOptions::default()
    };
    let report = run_scenario(1, &scenario, &options);
    assert_eq!(
        report.verdict(),
        Verdict::Ok,
        "{}",
        timeline(&report).join("\n")
    );
    let acknowledged = views::acked(&report.run.history).len();
    assert!(
        acknowledged > 100,
        "the producer kept producing ({acknowledged} acknowledged)"
    );
    report
}

fn timeline(report: &RunReport) -> Vec<String> {
    (report.run.timeline.iter())
        .map(|e| format!("{:>8} {:<11} {}", e.time_ms, e.node, e.text))
        .collect()
}

/// When the first timeline line containing `text` was told.
fn told_at(report: &RunReport, text: &str) -> u64 {
    (report.run.timeline.iter())
        .find(|e| e.text.contains(text))
        .map(|e| e.time_ms)
        .unwrap_or_else(|| panic!("no {text:?} in:\n{}", timeline(report).join("\n")))
}

/// Whether a timeline line at or after `from_ms` contains `text`.
fn told_after(report: &RunReport, from_ms: u64, text: &str) -> bool {
    (report.run.timeline.iter()).any(|e| e.time_ms >= from_ms && e.text.contains(text))
}

/// Every message delivered, as captured.
fn messages(report: &RunReport) -> Vec<MessageEvent> {
    let capture = report.run.capture.as_ref().expect("captured");
    (capture.events.iter())
        .filter_map(|e| match e {
            Captured::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn latency(m: &MessageEvent) -> u64 {
    m.time_ms - m.sent_ms
}

#[test]
fn an_isolated_controller_fences_the_brokers_it_stops_hearing() {
    let report = run(
        "[[faults.schedule]]\nat_ms = 5000\nfault = \"isolate\"\nnode = \"controller\"\nfor_ms = 12000\n",
        30_000,
    );
    let cut = told_at(
        &report,
        "controller cut off from broker-1, broker-2, broker-3",
    );
    let fenced = told_at(&report, "fenced: no heartbeat within the session timeout");
    assert!(fenced > cut, "fenced only once cut off");
    let healed = told_at(
        &report,
        "controller reconnected to broker-1, broker-2, broker-3",
    );
    assert!(
        told_after(&report, healed, "unfenced"),
        "and back after the heal"
    );
    assert!(report.run.goals.contains_key("broker fenced"));
}

#[test]
fn an_isolated_leader_loses_its_leadership() {
    let report = run(
        "[[faults.schedule]]\nat_ms = 5000\nfault = \"isolate\"\nnode = \"leader of events-0\"\nfor_ms = 15000\n",
        30_000,
    );
    let cut = told_at(&report, "broker-1, the leader of events-0, cut off from");
    assert!(
        told_after(&report, cut, "events-0: leader broker-2")
            || told_after(&report, cut, "events-0: leader broker-3"),
        "another broker leads events-0:\n{}",
        timeline(&report).join("\n")
    );
    told_at(&report, "broker-1 reconnected to");
    assert!(report.run.goals.contains_key("leader changed"));
}

#[test]
fn a_split_fences_its_minority_and_the_majority_carries_on() {
    let report = run(
        "[[faults.schedule]]\nat_ms = 5000\nfault = \"split\"\nnodes = [\"broker-1\"]\nfor_ms = 15000\n",
        30_000,
    );
    let split = told_at(
        &report,
        "split: broker-1 cut off from controller, broker-2, broker-3",
    );
    assert!(told_after(&report, split, "broker-1 fenced"));
    assert!(
        told_after(&report, split, "events-0: leader broker-2")
            || told_after(&report, split, "events-0: leader broker-3"),
        "the majority elects a leader"
    );
    told_at(&report, "split healed: broker-1 reconnected");
}

#[test]
fn a_follower_whose_fetches_stall_one_way_leaves_the_isr() {
    // broker-2 follows broker-1 on events-0: its fetches stall, and 30 s
    // (replica.lag.time.max.ms) after the last one arrived it leaves the ISR.
    let report = run(
        "[[faults.schedule]]\nat_ms = 5000\nfault = \"one-way\"\nfrom = \"broker-2\"\nto = \"broker-1\"\nfor_ms = 40000\n",
        50_000,
    );
    let cut = told_at(&report, "messages from broker-2 to broker-1 stall");
    let shrunk = told_at(&report, "events-0: ISR now [1,3]");
    assert!(
        shrunk > cut + 25_000,
        "after replica.lag.time.max.ms:\n{}",
        timeline(&report).join("\n")
    );
    let flowing = told_at(&report, "messages from broker-2 to broker-1 flow again");
    assert!(
        told_after(&report, flowing, "events-0: ISR now [1,3,2]"),
        "it catches up and rejoins:\n{}",
        timeline(&report).join("\n")
    );
    // Only one direction stalled: what broker-1 sent broker-2 still arrived.
    let from_1_to_2 = (messages(&report).into_iter())
        .filter(|m| m.from == "broker-1" && m.to == "broker-2")
        .filter(|m| m.sent_ms > cut && m.sent_ms + 1_000 < flowing)
        .count();
    assert!(from_1_to_2 > 0, "broker-1 still reached broker-2");
}

#[test]
fn a_slow_network_delays_every_message_while_it_lasts() {
    let report = run(
        "[[faults.schedule]]\nat_ms = 5000\nfault = \"slow-network\"\nextra_ms = 300\nfor_ms = 10000\n",
        30_000,
    );
    let slow = told_at(&report, "every message takes 300 ms longer to arrive");
    let back = told_at(&report, "the 300 ms of extra latency are gone");
    let messages = messages(&report);
    let before: Vec<&MessageEvent> = (messages.iter()).filter(|m| m.time_ms < slow).collect();
    let during: Vec<&MessageEvent> = (messages.iter())
        .filter(|m| m.sent_ms > slow && m.sent_ms < back)
        .collect();
    assert!(before.len() > 100 && during.len() > 10);
    // madsim's 1-5 ms, and a few ms more where a node was busy connecting.
    let slowest = before.iter().max_by_key(|m| latency(m)).expect("messages");
    assert!(latency(slowest) <= 50, "fast before: {slowest:?}");
    assert!(
        during.iter().all(|m| latency(m) >= 301),
        "301-305 ms during: {:?}",
        during.iter().map(|m| latency(m)).min()
    );
    let after = (messages.iter()).filter(|m| m.sent_ms > back + 2_000);
    assert!(after.clone().count() > 100 && after.clone().all(|m| latency(m) <= 50));
    // The producer's writes were still acknowledged meanwhile, only later.
    let acked_during = (views::acked(&report.run.history).iter())
        .filter(|s| s.time_ms > slow + 1_000 && s.time_ms < back)
        .count();
    assert!(acked_during > 0, "writes were still acknowledged");
}

#[test]
fn a_flaky_link_stalls_the_fetches_across_it_again_and_again() {
    let report = run(
        "[[faults.schedule]]\nat_ms = 5000\nfault = \"flaky-link\"\nnodes = [\"broker-1\", \"broker-2\"]\nfor_ms = 20000\n",
        30_000,
    );
    let flaky = told_at(
        &report,
        "the link between broker-1 and broker-2 turns flaky",
    );
    let steady = told_at(
        &report,
        "the link between broker-1 and broker-2 is steady again",
    );
    let clogs = (report.run.trace_lines.iter())
        .filter(|l| l.contains("flaky link broker-1 - broker-2 clogged"))
        .count();
    assert!(
        (15..=30).contains(&clogs),
        "about one clog a second: {clogs}"
    );
    let between = |m: &&MessageEvent| {
        (m.from == "broker-1" && m.to == "broker-2") || (m.from == "broker-2" && m.to == "broker-1")
    };
    let messages = messages(&report);
    let stalled = (messages.iter())
        .filter(between)
        .filter(|m| m.sent_ms >= flaky && m.sent_ms < steady && latency(m) >= 50)
        .count();
    let on_time = (messages.iter())
        .filter(between)
        .filter(|m| m.sent_ms >= flaky && m.sent_ms < steady && latency(m) <= 5)
        .count();
    assert!(stalled >= 10, "fetches stalled in the clogs: {stalled}");
    assert!(on_time > stalled, "and flowed in between: {on_time}");
    let late = (messages.iter())
        .filter(between)
        .filter(|m| m.sent_ms > steady + 2_000 && latency(m) >= 50)
        .count();
    assert_eq!(late, 0, "steady after the end");
}

#[test]
fn isolating_the_leader_of_a_partition_without_one_does_nothing_and_says_so() {
    let told = run_app(1, ClusterSpec::default(), |cluster| async move {
        let solo = NewTopic::new("solo", 1, 1);
        let info = cluster.create_topic_in_sync(solo).await.expect("created");
        let tp = TopicPartition::new("solo", 0);
        let leader = Target::Broker(info.leader.expect("a fresh partition has a leader"));
        let down = cluster.start_fault(&Action::Crash { node: leader });
        // Fenced after the session timeout: its only replica gone, no leader.
        let offline = |p: &kafkasim::metadata::PartitionInfo| p.leader.is_none();
        cluster
            .wait_for(&tp, "no leader", offline)
            .await
            .expect("offline");
        let isolate = Action::Isolate {
            node: Target::LeaderOf(tp),
        };
        let isolated = cluster.start_fault(&isolate);
        let told = (cluster.trace().timeline_entries().into_iter()).any(|e| {
            e.node == "nemesis"
                && e.text == "isolate the leader of solo-0: solo-0 has no leader; nothing done"
        });
        let nowhere = Action::Isolate {
            node: Target::leader_of("solo", 7),
        };
        let other = cluster.start_fault(&nowhere);
        cluster.end_fault(down.expect("the crash started"));
        (isolated.is_none(), told, other.is_none())
    })
    .expect("the app runs");
    assert!(told.0, "nothing isolated");
    assert!(told.1, "the timeline says so");
    assert!(told.2, "nor for a partition that does not exist");
}
/// The standard workload under faults drawn from the `network` profile: a safe
/// configuration keeps every promise. Seeds 30 and 96 once failed: a broker
/// cut off from the controller answered a client's metadata request with an
/// older leader, the client went back to it (a consumer reset its position, a
/// producer was refused and its stalled send landed anyway); clients now keep a
/// partition's newer leader epoch, as Kafka's do since KIP-320.
#[test]
fn the_network_profile_keeps_a_safe_configuration_s_promises() {
    let path = format!("{}/sim/scenarios/network.toml", env!("CARGO_MANIFEST_DIR"));
    let scenario = kafkasim_tools::scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let seeds: Vec<u64> = (1..=4).chain([30, 96]).collect();
    let failing: Vec<String> = seeds
        .iter()
        .map(|&seed| (seed, kafkasim_tools::run::run_seed(seed, &scenario)))
        .filter(|(_, report)| report.verdict() != Verdict::Ok)
        .map(|(seed, report)| format!("seed {seed}:\n{}", report.judgement))
        .collect();
    assert!(failing.is_empty(), "{failing:#?}");
}
