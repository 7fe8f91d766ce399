//! Consumer groups end to end: one group shares the partitions like a queue.

use kafkasim::client::admin::NewTopic;
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim_sim::{run_app, ClusterSpec, Consumer, Producer};
use std::collections::BTreeSet;

#[test]
fn two_consumers_of_one_group_split_the_partitions_and_read_every_record_once() {
    let (per_consumer, all) = run_app(5, ClusterSpec::default(), |cluster| async move {
        cluster
            .create_topic(NewTopic::new("users", 2, 3))
            .await
            .expect("created");
        let producer = Producer::new(&cluster, ProducerConfig::new(cluster.bootstrap()))
            .expect("a valid config");
        for i in 0..10 {
            let record = ProducerRecord::new("users", format!("u{i}")).partition(i % 2);
            producer.send(record).await.expect("acknowledged");
        }
        let consumer = || {
            let mut config = ConsumerConfig::new(cluster.bootstrap());
            config.set("group.id", "group-1").expect("valid");
            config.set("auto.offset.reset", "earliest").expect("valid");
            Consumer::new(&cluster, config).expect("a valid config")
        };
        let (a, b) = (consumer(), consumer());
        a.subscribe(vec!["users".into()]).await.expect("subscribed");
        b.subscribe(vec!["users".into()]).await.expect("subscribed");
        let mut seen: Vec<BTreeSet<(i32, String)>> = vec![BTreeSet::new(), BTreeSet::new()];
        for _ in 0..40 {
            for (i, c) in [&a, &b].into_iter().enumerate() {
                for r in c.poll(500).await.unwrap_or_default() {
                    seen[i].insert((r.partition.partition, r.value_text()));
                }
            }
        }
        let all: BTreeSet<String> = seen.iter().flatten().map(|(_, v)| v.clone()).collect();
        (seen, all)
    })
    .expect("the simulation runs");
    assert_eq!(all.len(), 10, "every record read: {all:?}");
    let partitions: Vec<BTreeSet<i32>> = per_consumer
        .iter()
        .map(|s| s.iter().map(|(p, _)| *p).collect())
        .collect();
    assert_eq!(partitions[0].len(), 1, "{per_consumer:?}");
    assert_eq!(partitions[1].len(), 1, "{per_consumer:?}");
    assert_ne!(partitions[0], partitions[1], "each partition has one owner");
}

mod scenarios {
    //! The group scenarios, each on a fixed seed, asserted through what the
    //! consumers processed and what the coordinator reported.

    use kafkasim_check::Verdict;
    use kafkasim_tools::render::Counts;
    use kafkasim_tools::run::{run_seed, RunReport};
    use kafkasim_tools::scenario::builtin;
    use std::collections::BTreeSet;

    fn run(name: &str) -> RunReport {
        run_seed(1, &builtin(name).expect("a built-in scenario"))
    }

    fn processed(report: &RunReport) -> usize {
        Counts::of(&report.run.history).processed
    }

    fn lines(report: &RunReport, needle: &str) -> Vec<String> {
        (report.run.timeline.iter())
            .map(|e| format!("{}: {}", e.node, e.text))
            .filter(|line| line.contains(needle))
            .collect()
    }

    /// Each generation's assignment, from the coordinator's timeline lines:
    /// for every generation, the partitions each member got.
    fn generations(report: &RunReport) -> Vec<Vec<Vec<String>>> {
        lines(report, "group group-1: generation ")
            .iter()
            .map(|line| {
                let owners = line.split("): ").nth(1).expect("an assignment");
                owners
                    .split("], ")
                    .map(|owner| {
                        let list = owner.split('[').nth(1).unwrap_or("").trim_end_matches(']');
                        list.split(',')
                            .filter(|p| !p.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn assert_one_owner_per_partition_per_generation(report: &RunReport) {
        for members in generations(report) {
            let all: Vec<&String> = members.iter().flatten().collect();
            let distinct: BTreeSet<&String> = all.iter().copied().collect();
            assert_eq!(
                all.len(),
                distinct.len(),
                "a partition has two owners: {members:?}"
            );
        }
    }

    #[test]
    fn a_crashed_consumers_partition_moves_after_the_session_timeout_and_nothing_is_processed_twice(
    ) {
        let report = run("consumer-crash");
        assert_eq!(report.verdict(), Verdict::Ok);
        assert_eq!(lines(&report, "removed (SessionTimeout)").len(), 1);
        let gens = generations(&report);
        assert_eq!(gens.len(), 2);
        assert_eq!(gens[0].len(), 2, "two members share the topic first");
        assert_eq!(
            gens[1],
            vec![vec!["users-0".to_string(), "users-1".to_string()]]
        );
        assert_eq!(processed(&report), 20, "every record processed once");
        assert_one_owner_per_partition_per_generation(&report);
    }

    #[test]
    fn a_member_joining_mid_stream_gets_a_partition_in_a_new_generation() {
        let report = run("member-joins");
        assert_eq!(report.verdict(), Verdict::Ok);
        let gens = generations(&report);
        assert_eq!(gens.len(), 2);
        assert_eq!(gens[0].len(), 1, "one member owns everything at first");
        assert_eq!(gens[1].len(), 2, "then the partitions are split");
        assert_one_owner_per_partition_per_generation(&report);
        assert_eq!(processed(&report), 20);
    }

    #[test]
    fn a_zombie_consumer_processes_records_another_member_owns_and_its_commit_is_refused() {
        let report = run("zombie-consumer");
        assert_eq!(report.verdict(), Verdict::Ok, "Kafka allows this");
        assert_eq!(
            anomalies(&report),
            ["processed-again: group group-1 processed b1 (users-1@5) 2 times"]
        );
        assert_eq!(
            lines(&report, "rejected: UNKNOWN_MEMBER_ID").len(),
            1,
            "the coordinator refuses the zombie's commit"
        );
        assert_eq!(
            lines(&report, "consumer-2: commit failed: UNKNOWN_MEMBER_ID").len(),
            1
        );
        assert_one_owner_per_partition_per_generation(&report);
    }

    #[test]
    fn after_the_coordinators_broker_crashes_the_group_keeps_its_committed_offsets() {
        let report = run("coordinator-crash");
        let crashed = lines(&report, "group-1 is coordinated by broker-");
        assert_eq!(crashed.len(), 1);
        let old = crashed[0]
            .split("broker-")
            .nth(1)
            .unwrap()
            .chars()
            .next()
            .unwrap();
        let loaded = lines(&report, "loaded group(s) group-1");
        assert_eq!(loaded.len(), 1, "{loaded:?}");
        assert!(
            !loaded[0].starts_with(&format!("broker-{old}")),
            "a new coordinator: {loaded:?}"
        );
        assert_eq!(
            report.verdict(),
            Verdict::Ok,
            "nothing processed twice or never"
        );
        assert_eq!(processed(&report), 20);
    }

    /// The allowed findings, as they read (none fails: the verdict is ok).
    fn anomalies(report: &RunReport) -> Vec<String> {
        assert_eq!(report.verdict(), Verdict::Ok, "{}", report.judgement);
        report
            .judgement
            .allowed()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn committing_after_processing_redelivers_what_a_crash_interrupted() {
        let report = run("commit-after-processing");
        assert_eq!(
            anomalies(&report),
            [
                "processed-again: group group-1 processed p5 (users-0@5) 2 times",
                "processed-again: group group-1 processed p6 (users-0@6) 2 times",
                "processed-again: group group-1 processed p7 (users-0@7) 2 times",
            ]
        );
    }

    #[test]
    fn committing_before_processing_loses_what_a_crash_interrupted() {
        let report = run("commit-before-processing");
        assert_eq!(
            anomalies(&report),
            [
                "never-processed: p8 (users-0@8) was acknowledged, but group group-1 never processed it",
                "never-processed: p9 (users-0@9) was acknowledged, but group group-1 never processed it",
            ]
        );
    }
}
