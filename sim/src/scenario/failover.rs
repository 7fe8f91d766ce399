//! Failure scenarios: explicit fault schedules that replay how Kafka behaves when
//! brokers crash, and the famous ways it lost data before its rules changed.
//!
//! Each scenario runs a fixed schedule (the seed varies only latencies), ends with
//! a final read of the partition, and judges what the clients saw with
//! [`crate::check::write_anomalies`]. An anomaly Kafka's promises forbid under the
//! scenario's settings fails the run; one they allow (an `acks=1` write lost in a
//! failover, a write lost to an unclean election) is reported with the reason.

use super::toolkit::{
    create_in_sync, create_topic, partition, pause, producer, read_back, send, wait_for,
};
use super::{Body, Scenario, ScenarioFuture, ScenarioOutcome};
use crate::check::write_anomalies;
use crate::client::Admin;
use crate::cluster::{Cluster, ClusterSpec};
use crate::driver::now_ms;
use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::config::Truncation;
use kafkasim::disk::CrashKind;
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use kafkasim::protocol::ElectionType;
use std::future::Future;

/// Every failure scenario, in the order the book meets them.
pub const ALL: &[Scenario] = &[
    LEADER_CRASH_ACKS_ALL,
    PREFERRED_LEADER_RETURNS,
    KIP_101,
    KIP_101_HIGH_WATERMARK_TRUNCATION,
    LAST_REPLICA_POWER_LOSS,
    LAST_REPLICA_PROCESS_CRASH,
    ACKS_1_FAILOVER,
    UNCLEAN_ELECTION,
    UNCLEAN_ELECTION_DISABLED,
    SPLIT_BRAIN_OLD_LEADER,
    LOST_PRODUCE_RESPONSE,
    LOST_PRODUCE_RESPONSE_IDEMPOTENT,
    CONTROLLER_CRASH,
];

/// The partition every failure scenario writes to.
const TOPIC: &str = "orders";

fn orders() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// Runs a scenario body on a client machine named `app`; a body that cannot go
/// on returns `Err`, which becomes the run's failure.
fn on_app<F, Fut>(cluster: Cluster, body: F) -> ScenarioFuture
where
    F: FnOnce(Cluster, ScenarioOutcome) -> Fut + Send + 'static,
    Fut: Future<Output = Result<ScenarioOutcome, (ScenarioOutcome, String)>> + Send + 'static,
{
    Box::pin(async move {
        let app = cluster.clone();
        let result = cluster
            .spawn_client(
                "app",
                async move { body(app, ScenarioOutcome::default()).await },
            )
            .await
            .expect("the app task finishes");
        match result {
            Ok(outcome) => outcome,
            Err((mut outcome, why)) => {
                outcome.failure = Some(why);
                outcome
            }
        }
    })
}

/// Judges the final read: anomalies fail the run when `promised`, else they are
/// reported as allowed, with `why_allowed`.
fn judge(outcome: &mut ScenarioOutcome, promised: bool, why_allowed: &str) {
    let anomalies = write_anomalies(outcome);
    if anomalies.is_empty() {
        return;
    }
    let lines: Vec<String> = anomalies.iter().map(ToString::to_string).collect();
    if promised {
        outcome.failure = Some(lines.join("; "));
    } else {
        outcome.allowed_anomalies.extend(
            lines
                .into_iter()
                .map(|l| format!("{l} (allowed: {why_allowed})")),
        );
    }
}

/// Shorthand for a step that may fail the scenario.
macro_rules! step {
    ($outcome:ident, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(why) => return Err(($outcome, why)),
        }
    };
}

// ---- leader-crash-acks-all ---------------------------------------------------------

pub const LEADER_CRASH_ACKS_ALL: Scenario = Scenario {
    name: "leader-crash-acks-all",
    summary: "RF 3, min.insync.replicas 2, acks=all: the leader crashes mid-stream; no acknowledged write is lost",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, leader_crash_acks_all),
    },
};

async fn leader_crash_acks_all(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let first_leader = step!(outcome, create_in_sync(&cluster, topic).await).replicas[0];
    let producer = producer(&cluster, &[("acks", "all")]);
    for i in 0..10 {
        if i == 4 {
            cluster.crash_broker(first_leader, CrashKind::ProcessCrash);
        }
        send(
            &cluster,
            "producer",
            &producer,
            TOPIC,
            &format!("v{i}"),
            &mut outcome,
        )
        .await;
    }
    cluster.restart_broker(first_leader);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "the old leader back in the ISR", |p| p
            .isr
            .len()
            == 3)
        .await
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(&mut outcome, true, "");
    Ok(outcome)
}

// ---- preferred-leader-returns ------------------------------------------------------

pub const PREFERRED_LEADER_RETURNS: Scenario = Scenario {
    name: "preferred-leader-returns",
    summary: "3 partitions, RF 3: broker-1 leads one and follows two, crashes and returns; leadership comes back when asked",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, preferred_leader_returns),
    },
};

async fn preferred_leader_returns(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    step!(
        outcome,
        create_topic(&cluster, NewTopic::new(TOPIC, 3, 3)).await
    );
    let partitions: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new(TOPIC, p)).collect();
    let leaders = |cluster: &Cluster| -> Vec<Option<BrokerId>> {
        let image = cluster.metadata();
        partitions
            .iter()
            .map(|tp| image.partition(tp).and_then(|p| p.leader))
            .collect()
    };
    let preferred = leaders(&cluster);
    let trace = cluster.trace().clone();
    trace.timeline(
        now_ms(),
        "app",
        format!("leaders of {TOPIC}-0,1,2: {preferred:?}"),
    );
    let producer = producer(&cluster, &[("acks", "all")]);
    send(
        &cluster,
        "producer",
        &producer,
        TOPIC,
        "before",
        &mut outcome,
    )
    .await;

    cluster.crash_broker(1, CrashKind::ProcessCrash);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "a new leader", |p| p
            .leader
            .is_some_and(|l| l != 1))
        .await
    );
    trace.timeline(
        now_ms(),
        "app",
        format!("leaders while broker-1 is down: {:?}", leaders(&cluster)),
    );
    send(
        &cluster,
        "producer",
        &producer,
        TOPIC,
        "during",
        &mut outcome,
    )
    .await;

    cluster.restart_broker(1);
    for tp in &partitions {
        step!(
            outcome,
            wait_for(&cluster, tp, "broker-1 back in the ISR", |p| p
                .isr
                .contains(&1))
            .await
        );
    }
    trace.timeline(
        now_ms(),
        "app",
        format!("leaders after broker-1 caught up: {:?}", leaders(&cluster)),
    );
    // ANCHOR: preferred_election
    let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
    let results = step!(
        outcome,
        admin
            .elect_leaders(ElectionType::Preferred, None)
            .await
            .map_err(|e| format!("elect_leaders failed: {e}"))
    );
    // ANCHOR_END: preferred_election
    for r in &results {
        let answer = r
            .error_message
            .clone()
            .unwrap_or_else(|| "leader moved".into());
        trace.timeline(
            now_ms(),
            "admin",
            format!("preferred election of {}: {answer}", r.partition),
        );
    }
    pause(2_000).await;
    let after = leaders(&cluster);
    trace.timeline(
        now_ms(),
        "app",
        format!("leaders after the preferred election: {after:?}"),
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(&mut outcome, true, "");
    if after != preferred && outcome.failure.is_none() {
        outcome.failure = Some(format!(
            "leaders {after:?} after the preferred election, expected {preferred:?}"
        ));
    }
    Ok(outcome)
}

// ---- kip-101 -----------------------------------------------------------------------

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

pub const KIP_101: Scenario = Scenario {
    name: "kip-101",
    summary: "KIP-101's schedule with leader epochs (Kafka 0.11+): the follower keeps the acknowledged m2",
    body: Body::Code {
        cluster: two_brokers,
        run: |cluster| on_app(cluster, kip_101),
    },
};

pub const KIP_101_HIGH_WATERMARK_TRUNCATION: Scenario = Scenario {
    name: "kip-101-high-watermark-truncation",
    summary: "KIP-101's schedule with pre-0.11 truncation to the high watermark: the acknowledged m2 is lost",
    body: Body::Code {
        cluster: two_brokers_high_watermark_truncation,
        run: |cluster| on_app(cluster, kip_101),
    },
};

/// RF 2, leader B (broker-1), follower A (broker-2). A fetches m2 and B
/// acknowledges it, but A learns the new high watermark only on its next fetch.
/// Before that, A crashes and restarts, and B crashes. A becomes the leader.
async fn kip_101(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let p = step!(
        outcome,
        create_in_sync(&cluster, NewTopic::new(TOPIC, 1, 2)).await
    );
    // ANCHOR: kip_101_schedule
    let (b, a) = (p.replicas[0], p.replicas[1]);
    // Kafka before 0.11 had no idempotent producer.
    let producer = producer(
        &cluster,
        &[("acks", "all"), ("enable.idempotence", "false")],
    );
    send(&cluster, "producer", &producer, TOPIC, "m1", &mut outcome).await;
    send(&cluster, "producer", &producer, TOPIC, "m2", &mut outcome).await;
    // Within the follower's fetch wait: A has m2, but its high watermark is 1.
    cluster.crash_broker(a, CrashKind::ProcessCrash);
    cluster.restart_broker(a);
    cluster.crash_broker(b, CrashKind::ProcessCrash);
    // ANCHOR_END: kip_101_schedule
    step!(
        outcome,
        wait_for(&cluster, &orders(), "broker A as leader", |p| p.leader
            == Some(a))
        .await
    );
    send(&cluster, "producer", &producer, TOPIC, "m3", &mut outcome).await;
    cluster.restart_broker(b);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "B back in the ISR", |p| p.isr.len()
            == 2)
        .await
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(&mut outcome, true, "");
    Ok(outcome)
}

// ---- last-replica-power-loss / last-replica-process-crash ---------------------------

pub const LAST_REPLICA_POWER_LOSS: Scenario = Scenario {
    name: "last-replica-power-loss",
    summary: "RF 2, min.insync.replicas 2: the ISR shrinks to one broker, which then loses power; an acks=all write is lost",
    body: Body::Code {
        cluster: two_brokers,
        run: |cluster| on_app(cluster, |c, o| last_replica(c, o, CrashKind::PowerLoss)),
    },
};

pub const LAST_REPLICA_PROCESS_CRASH: Scenario = Scenario {
    name: "last-replica-process-crash",
    summary: "the same schedule with a process crash instead of a power loss: nothing is lost",
    body: Body::Code {
        cluster: two_brokers,
        run: |cluster| on_app(cluster, |c, o| last_replica(c, o, CrashKind::ProcessCrash)),
    },
};

async fn last_replica(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
    kind: CrashKind,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let topic = NewTopic::new(TOPIC, 1, 2).config("min.insync.replicas", "2");
    let p = step!(outcome, create_in_sync(&cluster, topic).await);
    let (leader, follower) = (p.replicas[0], p.replicas[1]);
    let producer = producer(&cluster, &[("acks", "all")]);
    send(&cluster, "producer", &producer, TOPIC, "w1", &mut outcome).await;
    // ANCHOR: last_replica_schedule
    cluster.crash_broker(follower, CrashKind::ProcessCrash);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "the ISR down to the leader", |p| p.isr
            == vec![leader])
        .await
    );
    cluster.crash_broker(leader, kind);
    pause(1_000).await;
    cluster.restart_broker(follower);
    cluster.restart_broker(leader);
    // ANCHOR_END: last_replica_schedule
    step!(
        outcome,
        wait_for(&cluster, &orders(), "both replicas in sync again", |p| p
            .leader
            .is_some()
            && p.isr.len() == 2)
        .await
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(
        &mut outcome,
        kind == CrashKind::ProcessCrash,
        "the last in-sync replica lost its unflushed tail; Kafka acknowledges from the page \
         cache and promises durability only while an in-sync copy keeps the write",
    );
    Ok(outcome)
}

// ---- acks-1-failover ---------------------------------------------------------------

pub const ACKS_1_FAILOVER: Scenario = Scenario {
    name: "acks-1-failover",
    summary: "acks=1: the leader acknowledges a write and crashes before any follower fetched it; the write is gone",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, acks_1_failover),
    },
};

async fn acks_1_failover(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let p = step!(
        outcome,
        create_in_sync(&cluster, NewTopic::new(TOPIC, 1, 3)).await
    );
    let leader = p.replicas[0];
    let followers: Vec<BrokerId> = p.replicas[1..].to_vec();
    let producer = producer(&cluster, &[("acks", "1")]);
    send(
        &cluster,
        "producer",
        &producer,
        TOPIC,
        "before",
        &mut outcome,
    )
    .await;
    pause(1_000).await; // the followers fetch it
    for &f in &followers {
        cluster.cut_link(NodeId::Broker(leader), NodeId::Broker(f));
    }
    send(
        &cluster,
        "producer",
        &producer,
        TOPIC,
        "acked-then-lost",
        &mut outcome,
    )
    .await;
    cluster.crash_broker(leader, CrashKind::ProcessCrash);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "a new leader", |p| p
            .leader
            .is_some_and(|l| l != leader))
        .await
    );
    for &f in &followers {
        cluster.restore_link(NodeId::Broker(leader), NodeId::Broker(f));
    }
    send(
        &cluster,
        "producer",
        &producer,
        TOPIC,
        "after",
        &mut outcome,
    )
    .await;
    cluster.restart_broker(leader);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "the old leader back in the ISR", |p| p
            .isr
            .len()
            == 3)
        .await
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(
        &mut outcome,
        false,
        "acks=1 acknowledges after the leader's own append, before any follower has the write",
    );
    Ok(outcome)
}

// ---- unclean-election / unclean-election-disabled ------------------------------------

pub const UNCLEAN_ELECTION: Scenario = Scenario {
    name: "unclean-election",
    summary: "unclean.leader.election.enable=true: the only in-sync replica dies and a lagging one takes over; acknowledged writes are lost and their offsets reused",
    body: Body::Code {
        cluster: two_brokers,
        run: |cluster| on_app(cluster, |c, o| unclean_election(c, o, true)),
    },
};

pub const UNCLEAN_ELECTION_DISABLED: Scenario = Scenario {
    name: "unclean-election-disabled",
    summary: "the same schedule with unclean election off (Kafka's default): the partition stays offline until the in-sync replica returns, and nothing is lost",
    body: Body::Code {
        cluster: two_brokers,
        run: |cluster| on_app(cluster, |c, o| unclean_election(c, o, false)),
    },
};

/// RF 2, leader L, follower F. The link between them breaks; after
/// `replica.lag.time.max.ms` L drops F from the ISR and keeps acknowledging
/// writes alone. Then L crashes.
async fn unclean_election(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
    unclean: bool,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let topic = NewTopic::new(TOPIC, 1, 2).config(
        "unclean.leader.election.enable",
        if unclean { "true" } else { "false" },
    );
    let p = step!(outcome, create_in_sync(&cluster, topic).await);
    let (leader, follower) = (p.replicas[0], p.replicas[1]);
    let producer = producer(
        &cluster,
        &[
            ("acks", "all"),
            ("request.timeout.ms", "5000"),
            ("delivery.timeout.ms", "10000"),
        ],
    );
    send(
        &cluster,
        "producer",
        &producer,
        TOPIC,
        "before",
        &mut outcome,
    )
    .await;
    cluster.cut_link(NodeId::Broker(leader), NodeId::Broker(follower));
    step!(
        outcome,
        wait_for(&cluster, &orders(), "the ISR down to the leader", |p| p.isr
            == vec![leader])
        .await
    );
    send(&cluster, "producer", &producer, TOPIC, "a", &mut outcome).await;
    send(&cluster, "producer", &producer, TOPIC, "b", &mut outcome).await;
    cluster.crash_broker(leader, CrashKind::ProcessCrash);
    cluster.restore_link(NodeId::Broker(leader), NodeId::Broker(follower));
    if unclean {
        step!(
            outcome,
            wait_for(&cluster, &orders(), "the lagging replica as leader", |p| p
                .leader
                == Some(follower))
            .await
        );
        // The new leader's log ends before a and b: the idempotent producer's next
        // sequence leaves a gap there, which is how a producer can notice the loss.
        // It then starts a new producer epoch, and d takes a's old offset.
        send(&cluster, "producer", &producer, TOPIC, "c", &mut outcome).await;
        send(&cluster, "producer", &producer, TOPIC, "d", &mut outcome).await;
    } else {
        // Fenced after the session timeout: no eligible leader, so no leader.
        step!(
            outcome,
            wait_for(&cluster, &orders(), "the partition offline", |p| p
                .leader
                .is_none())
            .await
        );
        send(&cluster, "producer", &producer, TOPIC, "c", &mut outcome).await;
        cluster.restart_broker(leader);
        step!(
            outcome,
            wait_for(
                &cluster,
                &orders(),
                "the in-sync replica back as leader",
                |p| p.leader == Some(leader)
            )
            .await
        );
        send(&cluster, "producer", &producer, TOPIC, "d", &mut outcome).await;
    }
    if unclean {
        cluster.restart_broker(leader);
    }
    step!(
        outcome,
        wait_for(&cluster, &orders(), "both replicas in sync again", |p| p
            .isr
            .len()
            == 2)
        .await
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(
        &mut outcome,
        !unclean,
        "an unclean election makes an out-of-sync replica leader; it never had these writes",
    );
    Ok(outcome)
}

// ---- split-brain-old-leader ------------------------------------------------------------

pub const SPLIT_BRAIN_OLD_LEADER: Scenario = Scenario {
    name: "split-brain-old-leader",
    summary: "the leader is cut off from the controller and the followers but not from producers: acks=1 writes to it are acknowledged then truncated, acks=all writes time out",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, split_brain_old_leader),
    },
};

async fn split_brain_old_leader(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let p = step!(outcome, create_in_sync(&cluster, topic).await);
    let old_leader = p.replicas[0];
    let short = [
        ("request.timeout.ms", "5000"),
        ("delivery.timeout.ms", "5000"),
    ];
    let acks_1 = producer(&cluster, &[&[("acks", "1")][..], &short].concat());
    let acks_all = producer(&cluster, &[&[("acks", "all")][..], &short].concat());
    send(&cluster, "acks=1", &acks_1, TOPIC, "w1", &mut outcome).await;
    send(&cluster, "acks=all", &acks_all, TOPIC, "w2", &mut outcome).await;

    cluster.isolate_broker(old_leader);
    send(&cluster, "acks=1", &acks_1, TOPIC, "s1", &mut outcome).await;
    send(&cluster, "acks=1", &acks_1, TOPIC, "s2", &mut outcome).await;
    send(&cluster, "acks=all", &acks_all, TOPIC, "s3", &mut outcome).await;
    step!(
        outcome,
        wait_for(&cluster, &orders(), "a new leader", |p| p
            .leader
            .is_some_and(|l| l != old_leader))
        .await
    );
    cluster.heal_broker(old_leader);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "the old leader back in the ISR", |p| p
            .isr
            .len()
            == 3)
        .await
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(
        &mut outcome,
        false,
        "acks=1 trusts the leader alone, and an isolated old leader still believes it leads",
    );
    Ok(outcome)
}

// ---- lost-produce-response / lost-produce-response-idempotent --------------------------

pub const LOST_PRODUCE_RESPONSE: Scenario = Scenario {
    name: "lost-produce-response",
    summary: "enable.idempotence=false: the leader appends a batch, the answer is lost, the producer retries; the record is written twice",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, |c, o| lost_produce_response(c, o, false)),
    },
};

pub const LOST_PRODUCE_RESPONSE_IDEMPOTENT: Scenario = Scenario {
    name: "lost-produce-response-idempotent",
    summary: "the same lost answer with the idempotent producer (Kafka's default): the retry is recognised and answered with the first offset",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, |c, o| lost_produce_response(c, o, true)),
    },
};

async fn lost_produce_response(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
    idempotent: bool,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let p = step!(outcome, create_in_sync(&cluster, topic).await);
    let idempotence = if idempotent { "true" } else { "false" };
    let producer = producer(
        &cluster,
        &[("acks", "all"), ("enable.idempotence", idempotence)],
    );
    // ANCHOR: lost_response
    send(&cluster, "producer", &producer, TOPIC, "r1", &mut outcome).await;
    cluster.drop_next_response("Produce", NodeId::Broker(p.replicas[0]));
    send(&cluster, "producer", &producer, TOPIC, "r2", &mut outcome).await;
    send(&cluster, "producer", &producer, TOPIC, "r3", &mut outcome).await;
    // ANCHOR_END: lost_response
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(
        &mut outcome,
        idempotent,
        "without idempotence the broker cannot tell a retry from a new batch",
    );
    Ok(outcome)
}

// ---- controller-crash ----------------------------------------------------------------

pub const CONTROLLER_CRASH: Scenario = Scenario {
    name: "controller-crash",
    summary: "the single controller crashes, then a partition leader: nobody notices, nobody elects, writes stall until the controller returns",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, controller_crash),
    },
};

async fn controller_crash(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
) -> Result<ScenarioOutcome, (ScenarioOutcome, String)> {
    let topic = NewTopic::new(TOPIC, 1, 3).config("min.insync.replicas", "2");
    let p = step!(outcome, create_in_sync(&cluster, topic).await);
    let leader = p.replicas[0];
    let producer = producer(
        &cluster,
        &[
            ("acks", "all"),
            ("request.timeout.ms", "5000"),
            ("delivery.timeout.ms", "15000"),
        ],
    );
    send(&cluster, "producer", &producer, TOPIC, "a", &mut outcome).await;
    cluster.crash_controller();
    cluster.crash_broker(leader, CrashKind::ProcessCrash);
    // Far past the session timeout: with no controller, nobody fences the dead
    // leader and nobody elects a new one.
    send(&cluster, "producer", &producer, TOPIC, "b", &mut outcome).await;
    let frozen = partition(&cluster, &orders());
    cluster.trace().timeline(
        now_ms(),
        "app",
        format!(
            "controller still down: {TOPIC}-0 leader {:?}, ISR {:?}",
            frozen.leader, frozen.isr
        ),
    );
    cluster.restart_controller();
    step!(
        outcome,
        wait_for(&cluster, &orders(), "a new leader", |p| p
            .leader
            .is_some_and(|l| l != leader))
        .await
    );
    send(&cluster, "producer", &producer, TOPIC, "c", &mut outcome).await;
    cluster.restart_broker(leader);
    step!(
        outcome,
        wait_for(&cluster, &orders(), "all replicas in sync again", |p| p
            .isr
            .len()
            == 3)
        .await
    );
    read_back(&cluster, TOPIC, &mut outcome).await;
    judge(&mut outcome, true, "");
    Ok(outcome)
}
