//! Famous failures whose safe counterpart needs the very same fault schedule:
//! the schedule runs twice, once under the unsafe setting (the symptom shows) and
//! once under the safe one (it does not).
//!
//! The other famous failures of kafka-model.md §7 have their pairs as built-in
//! scenarios (`tests/failover.rs`, `tests/groups.rs`) or as schedules of the
//! replication property harness (`tests/broker_properties.rs`).

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim_check::fault::{Action, Target};
use kafkasim_sim::time::{sleep_ms, spawn};
use kafkasim_sim::{run_app, Admin, Cluster, ClusterSpec, Producer};

fn orders() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

/// Waits (up to a minute) until `orders-0` satisfies `ready`.
async fn wait_for(
    cluster: &Cluster,
    what: &str,
    ready: impl Fn(&kafkasim::metadata::PartitionInfo) -> bool,
) {
    for _ in 0..600 {
        if cluster.metadata().partition(&orders()).is_some_and(&ready) {
            return;
        }
        sleep_ms(100).await;
    }
    panic!("orders-0 never reached: {what}");
}

/// What the clients of one run saw: each send's value and acknowledged offset
/// (`None`: the send failed), and the final log of `orders-0` on its leader; and
/// the truncations the timeline told.
#[derive(Debug)]
struct Seen {
    sends: Vec<(String, Option<i64>)>,
    log: Vec<String>,
    truncations: Vec<String>,
}

/// Kafka-model.md §7.4, acks=1 failover loss. RF 3: `before` reaches every
/// replica; the leader is cut off from its followers, a producer still reaching it
/// sends `during`, and 50 ms later the leader crashes; a follower takes over,
/// the links heal, `after` is sent and the old leader returns.
fn leader_cut_off_then_crashed(acks: &str) -> Seen {
    let acks = acks.to_string();
    run_app(1, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        admin
            .create_topics(vec![NewTopic::new("orders", 1, 3)])
            .await
            .expect("created");
        wait_for(&cluster, "all three replicas in sync", |p| p.isr.len() == 3).await;
        let p = cluster
            .metadata()
            .partition(&orders())
            .cloned()
            .expect("orders-0");
        let leader = p.leader.expect("a leader");
        let followers: Vec<BrokerId> = p
            .replicas
            .iter()
            .copied()
            .filter(|&r| r != leader)
            .collect();
        let mut config = ProducerConfig::new(cluster.bootstrap());
        config.set("acks", &acks).expect("valid");
        let producer = Producer::new(&cluster, config).expect("a valid config");
        let send = |value: &'static str| {
            let record = ProducerRecord::new("orders", value);
            let producer = &producer;
            async move {
                let offset = producer.send(record).await.ok().map(|m| m.offset);
                (value.to_string(), offset)
            }
        };
        let mut sends = vec![send("before").await];
        sleep_ms(1_000).await; // the followers fetch it
        let cut = |f: BrokerId| Action::LinkCut {
            nodes: [Target::Broker(leader), Target::Broker(f)],
        };
        let cuts: Vec<_> = (followers.iter())
            .filter_map(|&f| cluster.start_fault(&cut(f)))
            .collect();
        let crasher = cluster.clone();
        let crashed = spawn(async move {
            sleep_ms(50).await;
            let node = Target::Broker(leader);
            crasher.start_fault(&Action::Crash { node })
        });
        sends.push(send("during").await);
        wait_for(&cluster, "a new leader", |p| {
            p.leader.is_some_and(|l| l != leader)
        })
        .await;
        for cut in cuts {
            cluster.end_fault(cut);
        }
        sends.push(send("after").await);
        let down = crashed.await.expect("the crash task ends");
        cluster.end_fault(down.expect("the leader crashed"));
        wait_for(&cluster, "the old leader back in the ISR", |p| {
            p.isr.len() == 3
        })
        .await;
        let now = cluster
            .metadata()
            .partition(&orders())
            .cloned()
            .expect("orders-0");
        let log = cluster
            .log(now.leader.expect("a leader"), &orders())
            .expect("the leader's log");
        let log = log
            .batches()
            .iter()
            .flat_map(|b| b.records.iter().map(|r| r.value_text()))
            .collect();
        let truncations = cluster
            .trace()
            .timeline_entries()
            .into_iter()
            .filter(|e| e.text.contains("truncated orders-0"))
            .map(|e| e.text)
            .collect();
        Seen {
            sends,
            log,
            truncations,
        }
    })
    .expect("the simulation runs")
}

#[test]
fn with_acks_1_the_write_the_cut_off_leader_acknowledged_is_gone_after_failover() {
    let seen = leader_cut_off_then_crashed("1");
    let during = &seen.sends[1];
    assert_eq!(
        during,
        &("during".to_string(), Some(1)),
        "acknowledged at once"
    );
    assert_eq!(seen.log, ["before", "after"], "{seen:?}");
    assert_eq!(
        seen.truncations,
        ["broker-1 truncated orders-0 to offset 1, dropping 1 record(s)"],
        "the old leader dropped it when it came back"
    );
}

#[test]
fn with_acks_all_the_same_schedule_loses_no_acknowledged_write() {
    let seen = leader_cut_off_then_crashed("all");
    for (value, offset) in &seen.sends {
        let offset =
            offset.unwrap_or_else(|| panic!("{value} is retried until acknowledged: {seen:?}"));
        assert_eq!(
            seen.log.get(offset as usize),
            Some(value),
            "{value} acknowledged at {offset}: {seen:?}"
        );
    }
    assert_eq!(
        seen.log,
        ["before", "during", "after"],
        "each once, in order"
    );
    assert_eq!(
        seen.truncations,
        ["broker-1 truncated orders-0 to offset 1, dropping 1 record(s)"],
        "the old leader's unacknowledged copy went; the producer's retry to the new \
         leader is the one kept"
    );
}
