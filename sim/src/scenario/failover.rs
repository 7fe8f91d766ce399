//! Failure scenarios: explicit fault schedules that replay how Kafka behaves when
//! brokers crash, and the famous ways it lost data before its rules changed.
//!
//! Each scenario runs a fixed schedule (the seed varies only latencies) and
//! ends with the final read. Its clients record the history, and the one judge
//! decides: an anomaly Kafka's promises forbid under the scenario's settings
//! fails the run; one they allow (an `acks=1` write lost in a failover, a write
//! lost to an unclean election or a power loss) is reported with the reason.

use super::story::{crash, end, link_cut, power_loss, send, start};
use super::{Scenario, StoryFuture};
use kafkasim::client::admin::NewTopic;
use kafkasim::config::Truncation;
use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim::protocol::ElectionType;
use kafkasim_check::fault::{Action, Target};
use kafkasim_check::Finding;
use kafkasim_sim::time::{now_ms, sleep_ms};
use kafkasim_sim::{Cluster, ClusterSpec};
use std::future::Future;

/// The partition every failure scenario writes to.
const TOPIC: &str = "orders";

fn orders() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// Every failure scenario, in the order the built-in list has them.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::code(
            "leader-crash-acks-all",
            "RF 3, min.insync.replicas 2, acks=all: the leader crashes mid-stream; no acknowledged write is lost",
            ClusterSpec::default,
            |c| story(c, leader_crash_acks_all),
        ),
        Scenario::code(
            "preferred-leader-returns",
            "3 partitions, RF 3: broker-1 leads one and follows two, crashes and returns; leadership comes back when asked",
            ClusterSpec::default,
            |c| story(c, preferred_leader_returns),
        ),
        Scenario::code(
            "acks-1-failover",
            "acks=1: the leader acknowledges a write and crashes before any follower fetched it; the write is gone",
            ClusterSpec::default,
            |c| story(c, acks_1_failover),
        ),
        Scenario::code(
            "unclean-election",
            "unclean.leader.election.enable=true: the only in-sync replica dies and a lagging one takes over; acknowledged writes are lost and their offsets reused",
            two_brokers,
            |c| story(c, |c| unclean_election(c, true)),
        ),
        Scenario::code(
            "unclean-election-disabled",
            "the same schedule with unclean election off (Kafka's default): the partition stays offline until the in-sync replica returns, and nothing is lost",
            two_brokers,
            |c| story(c, |c| unclean_election(c, false)),
        ),
        Scenario::code(
            "split-brain-old-leader",
            "the leader is cut off from the controller and the followers but not from producers: acks=1 writes to it are acknowledged then truncated, acks=all writes time out",
            ClusterSpec::default,
            |c| story(c, split_brain_old_leader),
        ),
        Scenario::code(
            "controller-crash",
            "the single controller crashes, then a partition leader: nobody notices, nobody elects, writes stall until the controller returns",
            ClusterSpec::default,
            |c| story(c, controller_crash),
        ),
        Scenario::code(
            "lost-produce-response",
            "enable.idempotence=false: the leader appends a batch, the answer is lost, the producer retries; the record is written twice",
            ClusterSpec::default,
            |c| story(c, |c| lost_produce_response(c, false)),
        ),
        Scenario::code(
            "lost-produce-response-idempotent",
            "the same lost answer with the idempotent producer (Kafka's default): the retry is recognised and answered with the first offset",
            ClusterSpec::default,
            |c| story(c, |c| lost_produce_response(c, true)),
        ),
        Scenario::code(
            "kip-101",
            "KIP-101's schedule with leader epochs (Kafka 0.11+): the follower keeps the acknowledged m2",
            two_brokers,
            |c| story(c, kip_101),
        ),
        Scenario::code(
            "kip-101-high-watermark-truncation",
            "KIP-101's schedule with pre-0.11 truncation to the high watermark: the acknowledged m2 is lost",
            two_brokers_high_watermark_truncation,
            |c| story(c, kip_101),
        ),
        Scenario::code(
            "last-replica-power-loss",
            "RF 2, min.insync.replicas 2: the ISR shrinks to one broker, which then loses power; an acks=all write is lost",
            two_brokers,
            |c| story(c, |c| last_replica(c, true)),
        ),
        Scenario::code(
            "last-replica-process-crash",
            "the same schedule with a process crash instead of a power loss: nothing is lost",
            two_brokers,
            |c| story(c, |c| last_replica(c, false)),
        ),
    ]
}

/// Runs a story; one that cannot go on stops, its finding reported.
fn story<F, Fut>(cluster: Cluster, body: F) -> StoryFuture
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Finding>> + Send + 'static,
{
    Box::pin(async move {
        let _ = body(cluster).await;
    })
}

fn two_brokers() -> ClusterSpec {
    ClusterSpec {
        brokers: 2,
        ..ClusterSpec::default()
    }
}

fn two_brokers_high_watermark_truncation() -> ClusterSpec {
    ClusterSpec {
        truncation: Truncation::HighWatermark,
        ..two_brokers()
    }
}

fn producer(cluster: &Cluster, name: &str, settings: &[(&str, &str)]) -> kafkasim_sim::Producer {
    cluster
        .producer_named(name, settings)
        .unwrap_or_else(|e| panic!("a story's producer config is valid: {e}"))
}

fn in_sync(replicas: usize) -> impl Fn(&kafkasim::metadata::PartitionInfo) -> bool {
    move |p| p.isr.len() == replicas
}

fn led_by_other_than(old: BrokerId) -> impl Fn(&kafkasim::metadata::PartitionInfo) -> bool {
    move |p| p.leader.is_some_and(|l| l != old)
}

// ---- leader-crash-acks-all ---------------------------------------------------------

async fn leader_crash_acks_all(cluster: Cluster) -> Result<(), Finding> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let first_leader = cluster.create_topic_in_sync(topic).await?.replicas[0];
    let producer = producer(&cluster, "producer", &[("acks", "all")]);
    let mut down = None;
    for i in 0..10 {
        if i == 4 {
            down = start(&cluster, crash(first_leader));
        }
        send(&cluster, &producer, TOPIC, &format!("v{i}")).await;
    }
    end(&cluster, down);
    (cluster.wait_for(&orders(), "the old leader back in the ISR", in_sync(3))).await?;
    cluster.read_back().await;
    Ok(())
}

// ---- preferred-leader-returns ------------------------------------------------------

async fn preferred_leader_returns(cluster: Cluster) -> Result<(), Finding> {
    cluster.create_topic(NewTopic::new(TOPIC, 3, 3)).await?;
    let partitions: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new(TOPIC, p)).collect();
    let leaders = |cluster: &Cluster| -> Vec<Option<BrokerId>> {
        let image = cluster.metadata();
        (partitions.iter())
            .map(|tp| image.partition(tp).and_then(|p| p.leader))
            .collect()
    };
    let preferred = leaders(&cluster);
    let trace = cluster.trace().clone();
    let tell = |text: String| trace.timeline(now_ms(), "app", text);
    tell(format!("leaders of {TOPIC}-0,1,2: {preferred:?}"));
    let producer = producer(&cluster, "producer", &[("acks", "all")]);
    send(&cluster, &producer, TOPIC, "before").await;

    let down = start(&cluster, crash(1));
    (cluster.wait_for(&orders(), "a new leader", led_by_other_than(1))).await?;
    tell(format!(
        "leaders while broker-1 is down: {:?}",
        leaders(&cluster)
    ));
    send(&cluster, &producer, TOPIC, "during").await;

    end(&cluster, down);
    for tp in &partitions {
        let back = |p: &kafkasim::metadata::PartitionInfo| p.isr.contains(&1);
        cluster
            .wait_for(tp, "broker-1 back in the ISR", back)
            .await?;
    }
    tell(format!(
        "leaders after broker-1 caught up: {:?}",
        leaders(&cluster)
    ));
    // ANCHOR: preferred_election
    let admin = cluster.admin();
    let results = admin.elect_leaders(ElectionType::Preferred, None).await;
    // ANCHOR_END: preferred_election
    for r in results.unwrap_or_default() {
        let answer = r.error_message.unwrap_or_else(|| "leader moved".into());
        let text = format!("preferred election of {}: {answer}", r.partition);
        trace.timeline(now_ms(), "admin", text);
    }
    sleep_ms(2_000).await;
    tell(format!(
        "leaders after the preferred election: {:?}",
        leaders(&cluster)
    ));
    for (tp, leader) in partitions.iter().zip(preferred) {
        let what = format!("its preferred leader {leader:?} back");
        cluster.wait_for(tp, &what, |p| p.leader == leader).await?;
    }
    cluster.read_back().await;
    Ok(())
}

// ---- kip-101 -----------------------------------------------------------------------

/// RF 2, leader B (broker-1), follower A (broker-2). A fetches m2 and B
/// acknowledges it, but A learns the new high watermark only on its next fetch.
/// Before that, A crashes and restarts, and B crashes. A becomes the leader.
async fn kip_101(cluster: Cluster) -> Result<(), Finding> {
    let p = cluster
        .create_topic_in_sync(NewTopic::new(TOPIC, 1, 2))
        .await?;
    // ANCHOR: kip_101_schedule
    let (b, a) = (p.replicas[0], p.replicas[1]);
    // Kafka before 0.11 had no idempotent producer.
    let settings = [("acks", "all"), ("enable.idempotence", "false")];
    let producer = producer(&cluster, "producer", &settings);
    send(&cluster, &producer, TOPIC, "m1").await;
    send(&cluster, &producer, TOPIC, "m2").await;
    // Within the follower's fetch wait: A has m2, but its high watermark is 1.
    let a_down = start(&cluster, crash(a));
    end(&cluster, a_down);
    let b_down = start(&cluster, crash(b));
    // ANCHOR_END: kip_101_schedule
    let a_leads = move |p: &kafkasim::metadata::PartitionInfo| p.leader == Some(a);
    cluster
        .wait_for(&orders(), "broker A as leader", a_leads)
        .await?;
    send(&cluster, &producer, TOPIC, "m3").await;
    end(&cluster, b_down);
    (cluster.wait_for(&orders(), "B back in the ISR", in_sync(2))).await?;
    cluster.read_back().await;
    Ok(())
}

// ---- last-replica-power-loss / last-replica-process-crash ---------------------------

async fn last_replica(cluster: Cluster, lose_power: bool) -> Result<(), Finding> {
    let topic = NewTopic::new(TOPIC, 1, 2).config("min.insync.replicas", "2");
    let p = cluster.create_topic_in_sync(topic).await?;
    let (leader, follower) = (p.replicas[0], p.replicas[1]);
    let producer = producer(&cluster, "producer", &[("acks", "all")]);
    send(&cluster, &producer, TOPIC, "w1").await;
    // ANCHOR: last_replica_schedule
    let follower_down = start(&cluster, crash(follower));
    let alone = move |p: &kafkasim::metadata::PartitionInfo| p.isr == vec![leader];
    (cluster.wait_for(&orders(), "the ISR down to the leader", alone)).await?;
    let leader_down = match lose_power {
        true => start(&cluster, power_loss(leader)),
        false => start(&cluster, crash(leader)),
    };
    sleep_ms(1_000).await;
    end(&cluster, follower_down);
    end(&cluster, leader_down);
    // ANCHOR_END: last_replica_schedule
    let both = |p: &kafkasim::metadata::PartitionInfo| p.leader.is_some() && p.isr.len() == 2;
    (cluster.wait_for(&orders(), "both replicas in sync again", both)).await?;
    cluster.read_back().await;
    Ok(())
}

// ---- acks-1-failover ---------------------------------------------------------------

async fn acks_1_failover(cluster: Cluster) -> Result<(), Finding> {
    let p = cluster
        .create_topic_in_sync(NewTopic::new(TOPIC, 1, 3))
        .await?;
    let leader = p.replicas[0];
    let followers: Vec<BrokerId> = p.replicas[1..].to_vec();
    let producer = producer(&cluster, "producer", &[("acks", "1")]);
    send(&cluster, &producer, TOPIC, "before").await;
    sleep_ms(1_000).await; // the followers fetch it
    let cuts: Vec<_> = (followers.iter())
        .map(|&f| start(&cluster, link_cut(leader, f)))
        .collect();
    send(&cluster, &producer, TOPIC, "acked-then-lost").await;
    let down = start(&cluster, crash(leader));
    (cluster.wait_for(&orders(), "a new leader", led_by_other_than(leader))).await?;
    for cut in cuts {
        end(&cluster, cut);
    }
    send(&cluster, &producer, TOPIC, "after").await;
    end(&cluster, down);
    (cluster.wait_for(&orders(), "the old leader back in the ISR", in_sync(3))).await?;
    cluster.read_back().await;
    Ok(())
}

// ---- unclean-election / unclean-election-disabled ------------------------------------

/// RF 2, leader L, follower F. The link between them breaks; after
/// `replica.lag.time.max.ms` L drops F from the ISR and keeps acknowledging
/// writes alone. Then L crashes.
async fn unclean_election(cluster: Cluster, unclean: bool) -> Result<(), Finding> {
    let topic = NewTopic::new(TOPIC, 1, 2).config(
        "unclean.leader.election.enable",
        if unclean { "true" } else { "false" },
    );
    let p = cluster.create_topic_in_sync(topic).await?;
    let (leader, follower) = (p.replicas[0], p.replicas[1]);
    let settings = [
        ("acks", "all"),
        ("request.timeout.ms", "5000"),
        ("delivery.timeout.ms", "10000"),
    ];
    let producer = producer(&cluster, "producer", &settings);
    send(&cluster, &producer, TOPIC, "before").await;
    let cut = start(&cluster, link_cut(leader, follower));
    let alone = move |p: &kafkasim::metadata::PartitionInfo| p.isr == vec![leader];
    (cluster.wait_for(&orders(), "the ISR down to the leader", alone)).await?;
    send(&cluster, &producer, TOPIC, "a").await;
    send(&cluster, &producer, TOPIC, "b").await;
    let down = start(&cluster, crash(leader));
    end(&cluster, cut);
    if unclean {
        let lagging = move |p: &kafkasim::metadata::PartitionInfo| p.leader == Some(follower);
        (cluster.wait_for(&orders(), "the lagging replica as leader", lagging)).await?;
        // The new leader's log ends before a and b: the idempotent producer's next
        // sequence leaves a gap there, which is how a producer can notice the loss.
        // It then starts a new producer epoch, and d takes a's old offset.
        send(&cluster, &producer, TOPIC, "c").await;
        send(&cluster, &producer, TOPIC, "d").await;
        end(&cluster, down);
    } else {
        // Fenced after the session timeout: no eligible leader, so no leader.
        let offline = |p: &kafkasim::metadata::PartitionInfo| p.leader.is_none();
        (cluster.wait_for(&orders(), "the partition offline", offline)).await?;
        send(&cluster, &producer, TOPIC, "c").await;
        end(&cluster, down);
        let back = move |p: &kafkasim::metadata::PartitionInfo| p.leader == Some(leader);
        let what = "the in-sync replica back as leader";
        cluster.wait_for(&orders(), what, back).await?;
        send(&cluster, &producer, TOPIC, "d").await;
    }
    (cluster.wait_for(&orders(), "both replicas in sync again", in_sync(2))).await?;
    cluster.read_back().await;
    Ok(())
}

// ---- split-brain-old-leader ------------------------------------------------------------

async fn split_brain_old_leader(cluster: Cluster) -> Result<(), Finding> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let p = cluster.create_topic_in_sync(topic).await?;
    let old_leader = p.replicas[0];
    let short = [
        ("request.timeout.ms", "5000"),
        ("delivery.timeout.ms", "5000"),
    ];
    let acks_1 = producer(&cluster, "acks=1", &[&[("acks", "1")][..], &short].concat());
    let acks_all = producer(
        &cluster,
        "acks=all",
        &[&[("acks", "all")][..], &short].concat(),
    );
    send(&cluster, &acks_1, TOPIC, "w1").await;
    send(&cluster, &acks_all, TOPIC, "w2").await;

    let isolated = Action::Isolate {
        node: Target::Broker(old_leader),
    };
    let isolation = start(&cluster, isolated);
    send(&cluster, &acks_1, TOPIC, "s1").await;
    send(&cluster, &acks_1, TOPIC, "s2").await;
    send(&cluster, &acks_all, TOPIC, "s3").await;
    (cluster.wait_for(&orders(), "a new leader", led_by_other_than(old_leader))).await?;
    end(&cluster, isolation);
    (cluster.wait_for(&orders(), "the old leader back in the ISR", in_sync(3))).await?;
    cluster.read_back().await;
    Ok(())
}

// ---- lost-produce-response / lost-produce-response-idempotent --------------------------

async fn lost_produce_response(cluster: Cluster, idempotent: bool) -> Result<(), Finding> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let p = cluster.create_topic_in_sync(topic).await?;
    let idempotence = if idempotent { "true" } else { "false" };
    let settings = [("acks", "all"), ("enable.idempotence", idempotence)];
    let producer = producer(&cluster, "producer", &settings);
    // ANCHOR: lost_response
    send(&cluster, &producer, TOPIC, "r1").await;
    let lose = Action::LostResponse {
        node: Target::Broker(p.replicas[0]),
        api: "Produce".into(),
    };
    let armed = start(&cluster, lose);
    send(&cluster, &producer, TOPIC, "r2").await;
    send(&cluster, &producer, TOPIC, "r3").await;
    // ANCHOR_END: lost_response
    end(&cluster, armed);
    cluster.read_back().await;
    Ok(())
}

// ---- controller-crash ----------------------------------------------------------------

async fn controller_crash(cluster: Cluster) -> Result<(), Finding> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let p = cluster.create_topic_in_sync(topic).await?;
    let leader = p.replicas[0];
    let settings = [
        ("acks", "all"),
        ("request.timeout.ms", "5000"),
        ("delivery.timeout.ms", "15000"),
    ];
    let producer = producer(&cluster, "producer", &settings);
    send(&cluster, &producer, TOPIC, "a").await;
    let controller = Action::Crash {
        node: Target::Controller,
    };
    let controller_down = start(&cluster, controller);
    let leader_down = start(&cluster, crash(leader));
    // Far past the session timeout: with no controller, nobody fences the dead
    // leader and nobody elects a new one.
    send(&cluster, &producer, TOPIC, "b").await;
    if let Some(frozen) = cluster.partition(&orders()) {
        let text = format!(
            "controller still down: {TOPIC}-0 leader {:?}, ISR {:?}",
            frozen.leader, frozen.isr
        );
        cluster.trace().timeline(now_ms(), "app", text);
    }
    end(&cluster, controller_down);
    (cluster.wait_for(&orders(), "a new leader", led_by_other_than(leader))).await?;
    send(&cluster, &producer, TOPIC, "c").await;
    end(&cluster, leader_down);
    (cluster.wait_for(&orders(), "all replicas in sync again", in_sync(3))).await?;
    cluster.read_back().await;
    Ok(())
}
