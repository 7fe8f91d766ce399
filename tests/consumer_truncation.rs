//! A consumer after an unclean election (KIP-320): the new leader's log is
//! shorter than what the consumer read, and the consumer moves back to where the
//! logs diverge instead of starting the partition over from its beginning.

use kafkasim::client::admin::NewTopic;
use kafkasim::client::producer::ProducerRecord;
use kafkasim::ids::TopicPartition;
use kafkasim_check::{Action, Target};
use kafkasim_sim::time::now_ms;
use kafkasim_sim::{simulate, ClusterSpec, Consumer, Options};

/// Polls until a record with `value` comes; returns every (value, offset) polled.
async fn poll_until(consumer: &Consumer, value: &str) -> Vec<(String, i64)> {
    let deadline_ms = now_ms() + 60_000;
    let mut polled = Vec::new();
    while now_ms() < deadline_ms {
        let records = consumer.poll(1_000).await.unwrap_or_default();
        polled.extend(records.iter().map(|r| (r.value_text(), r.offset)));
        if polled.iter().any(|(v, _)| v == value) {
            break;
        }
    }
    polled
}

#[test]
fn after_an_unclean_election_a_consumer_resumes_where_the_logs_diverge_not_at_0() {
    let spec = ClusterSpec {
        brokers: 2,
        ..ClusterSpec::default()
    };
    let run = simulate(1, spec, &Options::default(), |cluster| async move {
        let orders = TopicPartition::new("orders", 0);
        let topic = NewTopic::new("orders", 1, 2).config("unclean.leader.election.enable", "true");
        cluster.create_topic_in_sync(topic).await.expect("created");
        let producer = cluster.producer(&[("acks", "all")]).expect("valid");
        let consumer = cluster
            .consumer(&[("auto.offset.reset", "earliest")])
            .expect("valid");
        consumer.assign(vec![orders.clone()]);
        producer
            .send(ProducerRecord::new("orders", "before"))
            .await
            .expect("acked");
        assert_eq!(
            poll_until(&consumer, "before").await,
            [("before".into(), 0)]
        );

        // broker-1 leads alone: broker-2, cut off, misses a and leaves the
        // ISR, which acknowledges a; a and b are read.
        let nodes = [Target::Broker(1), Target::Broker(2)];
        let cut = cluster
            .start_fault(&Action::LinkCut { nodes })
            .expect("a cut");
        for value in ["a", "b"] {
            producer
                .send(ProducerRecord::new("orders", value))
                .await
                .expect("acked");
        }
        let alone = |p: &kafkasim::metadata::PartitionInfo| p.isr == vec![1];
        cluster
            .wait_for(&orders, "the ISR down to broker-1", alone)
            .await
            .expect("shrunk");
        let read = poll_until(&consumer, "b").await;
        assert_eq!(read, [("a".into(), 1), ("b".into(), 2)]);

        // broker-1 crashes; broker-2, which never had a or b, is elected.
        cluster.start_fault(&Action::Crash {
            node: Target::Broker(1),
        });
        cluster.end_fault(cut);
        let lagging = |p: &kafkasim::metadata::PartitionInfo| p.leader == Some(2);
        cluster
            .wait_for(&orders, "broker-2 as leader", lagging)
            .await
            .expect("unclean");
        producer
            .send(ProducerRecord::new("orders", "c"))
            .await
            .expect("acked");
        poll_until(&consumer, "c").await
    });
    let after = run.value.expect("the run finished");
    assert_eq!(
        after,
        [("c".to_string(), 1)],
        "it resumed at offset 1, where the new leader's log diverges, and did not read before@0 again"
    );
}
