//! Faults injected on a schedule: partitions, lost responses, pauses and a
//! controller crash, and what the cluster makes of each.

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim_check::fault::{Action, Target};
use kafkasim_sim::client::{Admin, Producer};
use kafkasim_sim::cluster::{Cluster, ClusterSpec};
use kafkasim_sim::faults::Started;
use kafkasim_sim::run_app;
use kafkasim_sim::time::{now_ms, spawn};
use std::sync::Arc;

async fn sleep_ms(ms: u64) {
    kafkasim_sim::time::sleep_ms(ms).await;
}

/// The brokers the controller has fenced, in order.
fn fenced(cluster: &Cluster) -> Vec<BrokerId> {
    let image = cluster.metadata();
    image
        .brokers
        .values()
        .filter(|b| b.fenced)
        .map(|b| b.broker_id)
        .collect()
}

/// Waits until every broker is up, creates `topic` with one partition and one
/// replica, and returns its leader.
async fn one_partition_topic(cluster: &Cluster, topic: &str) -> BrokerId {
    let admin = Admin::new(cluster, AdminConfig::new(cluster.bootstrap()));
    admin.wait_for_brokers(cluster.bootstrap().len()).await;
    admin
        .create_topics(vec![NewTopic::new(topic, 1, 1)])
        .await
        .expect("created");
    cluster.metadata().topics[topic].partitions[0]
        .leader
        .expect("a fresh partition has a leader")
}

fn acks_1_producer(cluster: &Cluster) -> Producer {
    let mut config = ProducerConfig::new(cluster.bootstrap());
    config.set("acks", "1").expect("valid");
    Producer::new(cluster, config).expect("a valid producer config")
}

/// The values in a broker's log of partition 0 of `topic`.
fn values(cluster: &Cluster, broker: BrokerId, topic: &str) -> Vec<String> {
    let log = cluster
        .log(broker, &TopicPartition::new(topic, 0))
        .expect("the broker has the partition");
    log.batches()
        .iter()
        .flat_map(|b| b.records.iter().map(|r| r.value_text()))
        .collect()
}

/// Starts `action`, which names servers that exist.
fn start(cluster: &Cluster, action: Action) -> Started {
    let text = action.to_string();
    (cluster.start_fault(&action)).unwrap_or_else(|| panic!("{text}: names nobody"))
}

fn timeline_has(cluster: &Cluster, text: &str) -> bool {
    let entries = cluster.trace().timeline_entries();
    entries.iter().any(|e| e.text.contains(text))
}

/// Sends "a" normally, then "b" with its Produce response lost. Returns the
/// leader's log, whether the timeline told the loss, and the trace hash.
fn lost_produce_response(seed: u64) -> (Vec<String>, bool, u64) {
    run_app(seed, ClusterSpec::default(), |cluster| async move {
        let leader = one_partition_topic(&cluster, "events").await;
        let producer = acks_1_producer(&cluster);
        let a = producer.send(ProducerRecord::new("events", "a")).await;
        assert_eq!(a.expect("acknowledged").offset, 0);
        let lost = start(
            &cluster,
            Action::LostResponse {
                node: Target::Broker(leader),
                api: "Produce".into(),
            },
        );
        let b = producer.send(ProducerRecord::new("events", "b")).await;
        // The retry appended "b" a second time; its acknowledgement names the copy.
        assert_eq!(b.expect("acknowledged after a retry").offset, 2);
        cluster.end_fault(lost);
        let unused = "no Produce response from";
        assert!(!timeline_has(&cluster, unused), "the loss was used");
        let told = timeline_has(
            &cluster,
            &format!("Produce response from broker-{leader} to client-"),
        );
        (
            values(&cluster, leader, "events"),
            told,
            cluster.trace().hash(),
        )
    })
    .expect("the simulation runs")
}

#[test]
fn a_lost_produce_response_makes_an_acks_1_producer_retry_and_the_record_is_stored_twice() {
    let (log, told, _) = lost_produce_response(3);
    assert_eq!(log, vec!["a", "b", "b"]);
    assert!(told, "the timeline tells the lost response");
}

#[test]
fn a_fault_schedule_replays_identically_from_its_seed() {
    assert_eq!(lost_produce_response(4), lost_produce_response(4));
}

#[test]
fn an_isolated_broker_is_fenced_after_the_session_timeout_and_unfenced_after_healing() {
    run_app(11, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        let isolated = start(
            &cluster,
            Action::Isolate {
                node: Target::Broker(1),
            },
        );
        // Its last heartbeat is at most one interval (2 s) old: no fencing for 7 s.
        sleep_ms(6_000).await;
        assert_eq!(fenced(&cluster), Vec::<BrokerId>::new());
        sleep_ms(4_000).await;
        assert_eq!(fenced(&cluster), vec![1], "fenced after 9 s of silence");
        cluster.end_fault(isolated);
        // Its stalled heartbeat arrives at the link's next probe, at most 10 s on.
        sleep_ms(12_000).await;
        assert_eq!(fenced(&cluster), Vec::<BrokerId>::new());
        assert!(timeline_has(
            &cluster,
            "broker-1 cut off from controller, broker-2, broker-3"
        ));
        assert!(timeline_has(&cluster, "broker-1 reconnected to controller"));
    })
    .expect("the simulation runs");
}

#[test]
fn an_isolated_leader_still_accepts_writes_from_a_producer_that_reaches_it() {
    run_app(12, ClusterSpec::default(), |cluster| async move {
        let leader = one_partition_topic(&cluster, "events").await;
        let producer = acks_1_producer(&cluster);
        producer
            .send(ProducerRecord::new("events", "a"))
            .await
            .expect("acknowledged");
        start(
            &cluster,
            Action::Isolate {
                node: Target::Broker(leader),
            },
        );
        sleep_ms(12_000).await;
        let partition = cluster.metadata().topics["events"].partitions[0].clone();
        assert_eq!(
            partition.leader, None,
            "the controller took leadership away"
        );
        // The old leader never heard of it, and the producer's metadata is stale.
        let b = producer.send(ProducerRecord::new("events", "b")).await;
        assert_eq!(b.expect("the old leader acknowledges").offset, 1);
        assert_eq!(values(&cluster, leader, "events"), vec!["a", "b"]);
    })
    .expect("the simulation runs");
}

#[test]
fn a_paused_broker_is_fenced_and_comes_back_after_resume() {
    run_app(13, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        let paused = start(
            &cluster,
            Action::Pause {
                node: Target::Broker(2),
            },
        );
        sleep_ms(12_000).await;
        assert_eq!(fenced(&cluster), vec![2]);
        cluster.end_fault(paused);
        // Its next heartbeat is due at once: it wakes with every timer past.
        sleep_ms(1_000).await;
        assert_eq!(fenced(&cluster), Vec::<BrokerId>::new());
        assert!(timeline_has(&cluster, "paused (stop-the-world"));
    })
    .expect("the simulation runs");
}

#[test]
fn a_controller_crash_freezes_metadata_and_after_its_restart_the_dead_broker_is_fenced() {
    run_app(14, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        let controller = start(
            &cluster,
            Action::Crash {
                node: Target::Controller,
            },
        );
        start(
            &cluster,
            Action::Crash {
                node: Target::Broker(3),
            },
        );
        sleep_ms(20_000).await;
        assert_eq!(fenced(&cluster), Vec::<BrokerId>::new(), "nobody noticed");
        cluster.end_fault(controller);
        // The restarted controller gives every broker a fresh session timeout.
        sleep_ms(5_000).await;
        assert_eq!(fenced(&cluster), Vec::<BrokerId>::new());
        sleep_ms(7_000).await;
        assert_eq!(fenced(&cluster), vec![3]);
        assert!(timeline_has(&cluster, "restarted after a process crash"));
    })
    .expect("the simulation runs");
}

#[test]
fn a_cut_between_two_brokers_fences_neither_but_a_cut_from_the_controller_does() {
    run_app(15, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        let nodes = [Target::Broker(1), Target::Broker(2)];
        start(&cluster, Action::LinkCut { nodes });
        sleep_ms(15_000).await;
        assert_eq!(fenced(&cluster), Vec::<BrokerId>::new());
        let nodes = [Target::Broker(1), Target::Controller];
        let from_controller = start(&cluster, Action::LinkCut { nodes });
        sleep_ms(12_000).await;
        assert_eq!(fenced(&cluster), vec![1]);
        cluster.end_fault(from_controller);
        sleep_ms(12_000).await;
        assert_eq!(fenced(&cluster), Vec::<BrokerId>::new());
        assert!(timeline_has(&cluster, "broker-1 and broker-2 cut off"));
    })
    .expect("the simulation runs");
}

#[test]
fn a_client_cut_off_from_the_leader_is_acknowledged_only_after_the_cut_is_restored() {
    run_app(16, ClusterSpec::default(), |cluster| async move {
        let leader = one_partition_topic(&cluster, "events").await;
        let producer = Arc::new(acks_1_producer(&cluster));
        producer
            .send(ProducerRecord::new("events", "a"))
            .await
            .expect("acknowledged");
        // `run_app` runs this code on the client machine named "app".
        let cut = Action::ClientCut {
            client: "app".into(),
            node: Target::Broker(leader),
        };
        let cut = start(&cluster, cut);
        let sending = Arc::clone(&producer);
        let b = spawn(async move {
            let sent = sending.send(ProducerRecord::new("events", "b")).await;
            (sent, now_ms())
        });
        sleep_ms(5_000).await;
        assert_eq!(values(&cluster, leader, "events"), vec!["a"], "stalled");
        let restored_ms = now_ms();
        cluster.end_fault(cut);
        let (sent, acknowledged_ms) = b.await.expect("the send task finishes");
        assert_eq!(sent.expect("acknowledged").offset, 1);
        assert!(acknowledged_ms > restored_ms);
        assert_eq!(values(&cluster, leader, "events"), vec!["a", "b"]);
    })
    .expect("the simulation runs");
}
