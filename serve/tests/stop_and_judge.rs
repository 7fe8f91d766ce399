//! Stopping a server judges what it can see of itself: a 3-broker server, a
//! topic of replication factor 3 written with `acks=all` over Kafka's wire
//! protocol, then `Server::stop` (what `kafkasim serve` calls on Ctrl-C):
//! every replica holds the records, the leader's high watermark covers them,
//! and neither the invariants nor the replica comparison found anything.
//! A topic deleted before the stop (DeleteTopics over the wire) is refused
//! by the broker and missing from the partitions the stop lists.

mod common;

use common::wait_for;

use common::wire::Wire;
use kafkasim::event::ClusterEvent;
use kafkasim::ids::TopicPartition;
use kafkasim_check::Verdict;
use kafkasim_serve::end::LogEnd;
use kafkasim_serve::{Event, ServeConfig, Server};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_after_acks_all_writes_is_judged_clean() {
    let config = ServeConfig {
        port: 0,
        brokers: 3,
        ..ServeConfig::default()
    };
    let mut server = Server::start(&config).await.expect("port 0 binds");
    let mut unfenced = BTreeSet::new();
    wait_for(&mut server, "every broker unfenced", |e| {
        if let Event::Cluster(ClusterEvent::BrokerUnfenced { broker }) = e {
            unfenced.insert(*broker);
        }
        unfenced.len() == 3
    })
    .await;

    let mut admin = Wire::connect(server.addrs()[&1]).await;
    assert_eq!(admin.create_topic("judged", 1, 3).await, 0, "NONE");
    let tp = TopicPartition::new("judged", 0);
    let mut leader = None;
    wait_for(&mut server, "a leader of judged-0", |e| match e {
        Event::Cluster(ClusterEvent::BecameLeader {
            broker, partition, ..
        }) if *partition == tp => {
            leader = Some(*broker);
            true
        }
        _ => false,
    })
    .await;
    let leader = leader.expect("set above");
    let mut producer = Wire::connect(server.addrs()[&leader]).await;
    assert_eq!(producer.produce("judged", 0, -1, &["a", "b"]).await, (0, 0));
    assert_eq!(producer.produce("judged", 0, -1, &["c"]).await, (0, 2));

    let end = server.stop().await;
    assert_eq!(end.verdict(), Verdict::Ok, "{end}");
    assert!(end.judgement.findings.is_empty(), "{end}");
    assert!(end.down.is_empty(), "{end}");
    let partitions = end.partitions.as_ref().expect("the controller was up");
    let judged = (partitions.iter())
        .find(|p| p.partition == tp)
        .expect("judged-0 is listed");
    assert_eq!(judged.leader, Some(leader));
    assert_eq!(judged.isr.len(), 3, "{end}");
    for replica in &judged.replicas {
        let log = replica.log.expect("every broker holds a replica");
        assert_eq!(log.log_end_offset, 3, "broker-{}: {end}", replica.broker);
        if replica.broker == leader {
            let full = LogEnd {
                log_start_offset: 0,
                log_end_offset: 3,
                high_watermark: 3,
            };
            assert_eq!(log, full, "{end}");
        }
    }
    let text = end.to_string();
    assert!(
        text.contains(&format!("judged-0: leader broker-{leader}")),
        "{text}"
    );
    assert!(text.ends_with(": ok"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_topic_is_refused_and_missing_from_the_partitions_at_the_stop() {
    let config = ServeConfig {
        port: 0,
        brokers: 1,
        ..ServeConfig::default()
    };
    let mut server = Server::start(&config).await.expect("port 0 binds");
    wait_for(&mut server, "broker-1 unfenced", |e| {
        matches!(
            e,
            Event::Cluster(ClusterEvent::BrokerUnfenced { broker: 1 })
        )
    })
    .await;
    let mut client = Wire::connect(server.addrs()[&1]).await;
    assert_eq!(client.create_topic("kept", 1, 1).await, 0);
    assert_eq!(client.create_topic("doomed", 1, 1).await, 0);
    let doomed = TopicPartition::new("doomed", 0);
    wait_for(&mut server, "broker-1 leading doomed-0", |e| {
        matches!(e, Event::Cluster(ClusterEvent::BecameLeader { partition, .. }) if *partition == doomed)
    })
    .await;
    assert_eq!(client.produce("doomed", 0, -1, &["x"]).await, (0, 0));
    assert_eq!(client.delete_topic("doomed").await, 0, "NONE");
    wait_for(&mut server, "doomed deleted", |e| {
        matches!(e, Event::Cluster(ClusterEvent::TopicDeleted { topic, .. }) if topic == "doomed")
    })
    .await;
    assert_eq!(
        client.delete_topic("doomed").await,
        3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    // The broker learns of the deletion when it next pulls the metadata,
    // which may come after the controller's answer: produce until it
    // refuses, a bounded number of times.
    let mut refused = None;
    for _ in 0..100 {
        let (code, _) = client.produce("doomed", 0, 1, &["y"]).await;
        if code != 0 {
            refused = Some(code);
            break;
        }
    }
    assert_eq!(
        refused,
        Some(3),
        "UNKNOWN_TOPIC_OR_PARTITION once the broker knows"
    );

    let end = server.stop().await;
    assert_eq!(end.verdict(), Verdict::Ok, "{end}");
    let partitions = end.partitions.as_ref().expect("the controller was up");
    let names: Vec<String> = partitions.iter().map(|p| p.partition.to_string()).collect();
    assert_eq!(names, ["kept-0"], "{end}");
}
