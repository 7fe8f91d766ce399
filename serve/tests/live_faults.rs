//! Faults started over the control port while the server runs: a crashed
//! broker goes down (its clients' connections close, its port refuses
//! connections), and a restart brings it back through the model's own
//! recovery: it registers again with the controller and is unfenced, and
//! its port listens again. A client connection cut off from its broker gets
//! no answer until the heal. A slow network delays every message and keeps
//! each link's order; a split fences its minority, which clients still
//! reach; a timed fault undoes itself. Refusals are answered with `error:`
//! and change nothing. Times are asserted only as lower bounds (a delayed
//! answer is not early) or as generous timeouts for what must happen.

mod common;

use common::{start, EVENT_TIMEOUT};
use kafkasim::disk::CrashKind;
use kafkasim::event::ClusterEvent;
use kafkasim::ids::NodeId;
use kafkasim_serve::control::ctl;
use kafkasim_serve::{DriverEvent, Event, Server};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Waits, on `runtime`, for the first event `wanted` accepts (see
/// [`common::wait_for`]).
fn wait_for(
    runtime: &tokio::runtime::Runtime,
    server: &mut Server,
    what: &str,
    wanted: impl FnMut(&Event) -> bool,
) {
    runtime.block_on(common::wait_for(server, what, wanted));
}

/// Waits until brokers 1 to 3 have each been unfenced, in any order.
fn every_broker_unfenced(runtime: &tokio::runtime::Runtime, server: &mut Server) {
    let seen = std::cell::RefCell::new(std::collections::BTreeSet::new());
    wait_for(runtime, server, "every broker unfenced", |e| {
        if let Event::Cluster(ClusterEvent::BrokerUnfenced { broker }) = e {
            seen.borrow_mut().insert(*broker);
        }
        seen.borrow().len() == 3
    });
}

fn unfenced(broker: i32) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Cluster(ClusterEvent::BrokerUnfenced { broker: b }) if *b == broker)
}

#[test]
fn a_broker_crashed_over_the_control_port_restarts_and_registers_again() {
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    let broker_2 = server.addrs()[&2];
    let mut client = std::net::TcpStream::connect(broker_2).expect("broker-2 listens");

    let answer = ctl(control, "crash broker-2").expect("the control port answers");
    assert_eq!(answer, "ok: crash broker-2");
    wait_for(&runtime, &mut server, "broker-2 down", |e| {
        *e == Event::Driver(DriverEvent::Crashed {
            node: NodeId::Broker(2),
            kind: CrashKind::ProcessCrash,
        })
    });
    // Its client's connection closed: the read ends, with no bytes, or with
    // a reset when the connection was still waiting to be accepted as the
    // port closed (as a dead process's kernel resets them).
    client
        .set_read_timeout(Some(EVENT_TIMEOUT))
        .expect("a timeout");
    let mut byte = [0u8; 1];
    match client.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("closed, not timed out: {other:?}"),
    }

    let refused = ctl(control, "pause broker-2").expect("answered");
    assert_eq!(
        refused, "error: broker-2 is down",
        "a down broker has no world to stop"
    );
    let refused = ctl(control, "stall-api broker-1 Produce").expect("answered");
    assert!(refused.starts_with("error: stall-api"), "{refused}");
    let refused = ctl(control, "restart broker-3").expect("answered");
    assert_eq!(refused, "error: broker-3 is up");

    let answer = ctl(control, "restart broker-2").expect("answered");
    assert_eq!(answer, "ok: restart broker-2");
    wait_for(&runtime, &mut server, "broker-2 restarted", |e| {
        *e == Event::Driver(DriverEvent::Restarted {
            node: NodeId::Broker(2),
            incarnation: 2,
        })
    });
    // The model's recovery: the new incarnation registers, and is unfenced.
    wait_for(
        &runtime,
        &mut server,
        "broker-2 unfenced again",
        unfenced(2),
    );
}

#[test]
fn an_isolated_broker_is_fenced_and_rejoins_after_the_heal() {
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    let answer = ctl(control, "isolate broker-3").expect("answered");
    assert!(answer.starts_with("ok: isolate broker-3"), "{answer}");
    // Its heartbeats wait on the cut link: the controller fences it.
    wait_for(&runtime, &mut server, "broker-3 fenced", |e| {
        matches!(e, Event::Cluster(ClusterEvent::BrokerFenced { broker: 3 }))
    });
    let answer = ctl(control, "heal").expect("answered");
    assert!(answer.starts_with("ok: heal broker-3"), "{answer}");
    wait_for(
        &runtime,
        &mut server,
        "broker-3 unfenced again",
        unfenced(3),
    );
    assert_eq!(
        ctl(control, "heal").expect("answered"),
        "error: nothing is paused, isolated, cut, flaky or slow"
    );
}

#[test]
fn a_cut_client_connection_gets_no_answer_until_the_heal() {
    use common::wire::Wire;
    use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse};
    let (runtime, mut server) = start(1);
    let control = server.control_addr();
    wait_for(&runtime, &mut server, "broker-1 unfenced", unfenced(1));
    let broker_1 = server.addrs()[&1];
    runtime.block_on(async {
        let mut client = Wire::connect(broker_1).await;
        let metadata = MetadataRequest::default();
        let _: MetadataResponse = client.call(ApiKey::Metadata, 9, &metadata).await;
        let listed = ctl(control, "clients").expect("answered");
        let name = listed
            .strip_prefix("ok: ")
            .and_then(|l| l.split(' ').next())
            .expect("one connection listed")
            .to_string();
        assert!(
            listed.contains(&format!("{name} → broker-1 from 127.0.0.1:")),
            "{listed}"
        );
        let refused = ctl(control, &format!("client-cut {name} controller")).expect("answered");
        assert!(refused.starts_with("error: "), "{refused}");

        let answer = ctl(control, &format!("client-cut {name} broker-1")).expect("answered");
        assert!(
            answer.starts_with(&format!("ok: cut {name} off from broker-1")),
            "{answer}"
        );
        client.send(ApiKey::Metadata, 9, &metadata).await;
        let held = tokio::time::timeout(
            Duration::from_millis(500),
            client.receive::<MetadataResponse>(ApiKey::Metadata, 9),
        );
        assert!(held.await.is_err(), "no answer while cut");

        let healed = ctl(control, "heal").expect("answered");
        assert!(healed.starts_with(&format!("ok: heal {name}")), "{healed}");
        let answered = tokio::time::timeout(
            EVENT_TIMEOUT,
            client.receive::<MetadataResponse>(ApiKey::Metadata, 9),
        );
        let response = answered.await.expect("answered after the heal");
        assert_eq!(response.brokers.len(), 1);
    });
}

#[test]
fn a_cut_link_fences_nothing_until_it_separates_a_broker_from_the_controller() {
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    let refused = ctl(control, "link-cut broker-1 broker-1").expect("answered");
    assert!(refused.starts_with("error: "), "{refused}");
    let refused = ctl(control, "one-way leader of users-0 broker-2").expect("answered");
    assert!(
        refused.starts_with("error: "),
        "roles are refused: {refused}"
    );

    // Only what broker-3 sends the controller waits: its heartbeats stop
    // arriving, and the controller fences it once its session runs out.
    let answer = ctl(control, "one-way broker-3 controller").expect("answered");
    assert!(answer.starts_with("ok: "), "{answer}");
    wait_for(&runtime, &mut server, "broker-3 fenced", |e| {
        matches!(e, Event::Cluster(ClusterEvent::BrokerFenced { broker: 3 }))
    });
    let healed = ctl(control, "heal broker-3").expect("answered");
    assert!(
        healed.starts_with("ok: heal broker-3 → controller"),
        "{healed}"
    );
    wait_for(&runtime, &mut server, "broker-3 unfenced", unfenced(3));

    // A link cut both ways between two brokers, healed by a plain `heal`.
    let answer = ctl(control, "link-cut broker-1 broker-2").expect("answered");
    assert!(answer.starts_with("ok: "), "{answer}");
    let healed = ctl(control, "heal").expect("answered");
    assert!(
        healed.contains("broker-1 → broker-2") && healed.contains("broker-2 → broker-1"),
        "{healed}"
    );
    let nothing = ctl(control, "heal").expect("answered");
    assert!(nothing.starts_with("error: nothing"), "{nothing}");
}

#[test]
fn a_paused_broker_is_fenced_and_resumes_at_the_heal() {
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    let answer = ctl(control, "pause broker-2").expect("answered");
    assert!(answer.starts_with("ok: pause broker-2"), "{answer}");
    let again = ctl(control, "pause broker-2").expect("answered");
    assert_eq!(again, "error: broker-2 is paused already");
    // Its heartbeats stop with the rest of its world.
    wait_for(&runtime, &mut server, "broker-2 fenced", |e| {
        matches!(e, Event::Cluster(ClusterEvent::BrokerFenced { broker: 2 }))
    });
    let healed = ctl(control, "heal").expect("answered");
    assert!(
        healed.starts_with("ok: heal broker-2 (resumed)"),
        "{healed}"
    );
    wait_for(&runtime, &mut server, "broker-2 unfenced", unfenced(2));
}

/// Connects to `addr` over and over until `done` accepts the outcome; fails
/// the test, naming `what`, after [`EVENT_TIMEOUT`].
fn connect_until(
    addr: SocketAddr,
    what: &str,
    done: impl Fn(&std::io::Result<TcpStream>) -> bool,
) -> std::io::Result<TcpStream> {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let outcome = TcpStream::connect_timeout(&addr, Duration::from_secs(5));
        if done(&outcome) {
            return outcome;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {EVENT_TIMEOUT:?}: {outcome:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn refused(outcome: &std::io::Result<TcpStream>) -> bool {
    matches!(outcome, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// A Metadata round trip on a new connection to `addr`: the broker answers
/// (a broker just restarted may not know the cluster yet: what it answers
/// is not looked at).
async fn answers(addr: SocketAddr) {
    let mut client = common::wire::Wire::connect(addr).await;
    let metadata = kafka_protocol::messages::MetadataRequest::default();
    let _: kafka_protocol::messages::MetadataResponse = client
        .call(kafka_protocol::messages::ApiKey::Metadata, 9, &metadata)
        .await;
}

#[test]
fn a_down_brokers_port_refuses_connections_until_its_restart() {
    let (runtime, mut server) = start(2);
    let control = server.control_addr();
    wait_for(&runtime, &mut server, "broker-2 unfenced", unfenced(2));
    let broker_2 = server.addrs()[&2];

    let answer = ctl(control, "power-loss broker-2").expect("answered");
    assert_eq!(answer, "ok: power loss on broker-2");
    wait_for(
        &runtime,
        &mut server,
        "broker-2 down",
        |e| matches!(e, Event::Driver(DriverEvent::Crashed { node, .. }) if *node == NodeId::Broker(2)),
    );
    // As a dead process's port: refused, not accepted and closed.
    connect_until(broker_2, "refused connection", refused).expect_err("refused");
    assert!(refused(&TcpStream::connect(broker_2)), "and again");
    runtime.block_on(answers(server.addrs()[&1]));

    let answer = ctl(control, "restart broker-2").expect("answered");
    assert_eq!(answer, "ok: restart broker-2");
    wait_for(
        &runtime,
        &mut server,
        "broker-2 restarted",
        |e| matches!(e, Event::Driver(DriverEvent::Restarted { node, .. }) if *node == NodeId::Broker(2)),
    );
    connect_until(broker_2, "connection after the restart", |o| o.is_ok()).expect("accepted");
    runtime.block_on(answers(broker_2));
}

#[test]
fn a_restarted_broker_whose_port_was_taken_says_so_and_listens_once_it_is_free() {
    let (runtime, mut server) = start(1);
    let control = server.control_addr();
    wait_for(&runtime, &mut server, "broker-1 unfenced", unfenced(1));
    let broker_1 = server.addrs()[&1];
    assert!(ctl(control, "crash broker-1")
        .expect("answered")
        .starts_with("ok: "));
    connect_until(broker_1, "refused connection", refused).expect_err("refused");
    // Someone else takes the port while the broker is down.
    let squatter = std::net::TcpListener::bind(broker_1).expect("the port is free");

    assert_eq!(
        ctl(control, "restart broker-1").expect("answered"),
        "ok: restart broker-1"
    );
    wait_for(&runtime, &mut server, "the port taken", |e| {
        *e == Event::Driver(DriverEvent::ListenFailed {
            broker: 1,
            addr: broker_1,
            error: std::io::ErrorKind::AddrInUse,
        })
    });
    let line = kafkasim_serve::timeline::line(
        0,
        &Event::Driver(DriverEvent::ListenFailed {
            broker: 1,
            addr: broker_1,
            error: std::io::ErrorKind::AddrInUse,
        }),
    )
    .expect("shown");
    assert!(
        line.contains(&format!("broker-1 cannot listen on {broker_1} again")),
        "{line}"
    );
    // The server keeps serving: its controls answer.
    assert!(ctl(control, "clients")
        .expect("answered")
        .starts_with("ok: "));

    drop(squatter);
    wait_for(&runtime, &mut server, "the port bound again", |e| {
        *e == Event::Driver(DriverEvent::ListeningAgain {
            broker: 1,
            addr: broker_1,
        })
    });
    runtime.block_on(answers(broker_1));
}

/// Whether `event` is a fault's line that contains `text`.
fn fault_line(event: &Event, text: &str) -> bool {
    matches!(event, Event::Fault(line) if line.contains(text))
}

#[test]
fn a_timed_crash_restarts_by_itself_and_says_so() {
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    let answer = ctl(control, "crash broker-2 for_ms=300").expect("answered");
    assert_eq!(answer, "ok: crash broker-2, restart after 0.300 s");
    let refused = ctl(control, "restart broker-2 for_ms=300").expect("answered");
    assert!(refused.starts_with("error: for_ms"), "{refused}");
    let (mut over, mut restarted) = (false, false);
    wait_for(
        &runtime,
        &mut server,
        "the crash over and broker-2 restarted",
        |e| {
            over |= fault_line(e, "over after 0.300 s (crash broker-2): restart broker-2");
            restarted |= *e
                == Event::Driver(DriverEvent::Restarted {
                    node: NodeId::Broker(2),
                    incarnation: 2,
                });
            over && restarted
        },
    );
    wait_for(
        &runtime,
        &mut server,
        "broker-2 unfenced again",
        unfenced(2),
    );
    assert_eq!(
        ctl(control, "restart broker-2").expect("answered"),
        "error: broker-2 is up"
    );
}

#[test]
fn a_timed_fault_healed_by_hand_leaves_a_later_fault_alone() {
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    let answer = ctl(control, "isolate broker-2 for_ms=200").expect("answered");
    assert!(
        answer.starts_with("ok: isolate broker-2 for 0.200 s: "),
        "{answer}"
    );
    wait_for(&runtime, &mut server, "the isolation over", |e| {
        fault_line(e, "over after 0.200 s (isolate broker-2): heal broker-2")
    });
    let nothing = ctl(control, "heal").expect("answered");
    assert!(nothing.starts_with("error: nothing"), "{nothing}");

    // Healed by hand before its time; a second isolation, untimed, follows.
    assert!(ctl(control, "isolate broker-3 for_ms=300")
        .expect("answered")
        .starts_with("ok: "));
    assert!(ctl(control, "heal")
        .expect("answered")
        .starts_with("ok: heal broker-3"));
    assert!(ctl(control, "isolate broker-3")
        .expect("answered")
        .starts_with("ok: "));
    // The first one's time runs out meanwhile, and takes nothing back: the
    // second keeps broker-3's heartbeats from the controller until it fences it.
    wait_for(&runtime, &mut server, "broker-3 fenced", |e| {
        matches!(e, Event::Cluster(ClusterEvent::BrokerFenced { broker: 3 }))
    });
    let healed = ctl(control, "heal").expect("answered");
    assert_eq!(healed, "ok: heal broker-3: its links flow again");
    wait_for(&runtime, &mut server, "broker-3 unfenced", unfenced(3));
}

#[test]
fn a_slow_network_delays_every_message_and_keeps_each_links_order() {
    use common::wire::Wire;
    let (runtime, mut server) = start(1);
    let control = server.control_addr();
    wait_for(&runtime, &mut server, "broker-1 unfenced", unfenced(1));
    let broker_1 = server.addrs()[&1];
    let mut client = runtime.block_on(async {
        let mut client = Wire::connect(broker_1).await;
        assert_eq!(client.create_topic("slow", 1, 1).await, 0, "NONE");
        client
    });
    wait_for(&runtime, &mut server, "a leader of slow-0", |e| {
        matches!(e, Event::Cluster(ClusterEvent::BecameLeader { partition, .. })
            if partition.topic == "slow")
    });

    let answer = ctl(control, "slow-network 300").expect("answered");
    assert!(
        answer.starts_with("ok: slow every message down by 300 ms until `heal`"),
        "{answer}"
    );
    let asked = Instant::now();
    runtime.block_on(client.metadata("slow"));
    assert!(
        asked.elapsed() >= Duration::from_millis(600),
        "300 ms to the broker and 300 back: {:?}",
        asked.elapsed()
    );

    // Slow networks add up: 3 s now. A record sent with acks=0 (no answer)
    // is on its way when the heal comes; one sent after the heal, on the
    // same connection, must not overtake it. (The pause lets the server read
    // the first before the heal; were it slower than that, the first would
    // simply not be slowed, and the order would still be the one asserted.)
    let answer = ctl(control, "slow-network extra_ms=2700").expect("answered");
    assert!(answer.starts_with("ok: "), "{answer}");
    runtime.block_on(client.produce_no_ack("slow", 0, &["during"]));
    std::thread::sleep(Duration::from_millis(300));
    let healed = ctl(control, "heal").expect("answered");
    assert!(
        healed.contains("the slow network (+300 ms)")
            && healed.contains("the slow network (+2700 ms)"),
        "{healed}"
    );
    let after = runtime.block_on(client.produce("slow", 0, 1, &["after"]));
    assert_eq!(after, (0, 1), "the record sent after the heal comes second");

    // The heal takes the delay away: with 20 s each way still on, this round
    // trip would take 40 s.
    assert!(ctl(control, "slow-network 20000")
        .expect("answered")
        .starts_with("ok: "));
    assert!(ctl(control, "heal")
        .expect("answered")
        .starts_with("ok: heal "));
    let answered = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), client.metadata("slow")).await
    });
    assert!(answered.is_ok(), "answered without the healed delay");
}

#[test]
fn a_split_minority_is_fenced_while_clients_still_reach_it() {
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    for bad in [
        "split controller",
        "split broker-3 broker-3",
        "split broker-9",
    ] {
        let refused = ctl(control, bad).expect("answered");
        assert!(refused.starts_with("error: "), "{bad}: {refused}");
    }
    let answer = ctl(control, "split broker-3").expect("answered");
    assert!(
        answer.starts_with(
            "ok: split broker-3 off from the other brokers and the controller until `heal`"
        ),
        "{answer}"
    );
    wait_for(&runtime, &mut server, "broker-3 fenced", |e| {
        matches!(e, Event::Cluster(ClusterEvent::BrokerFenced { broker: 3 }))
    });
    runtime.block_on(answers(server.addrs()[&3]));
    let healed = ctl(control, "heal broker-3").expect("answered");
    assert_eq!(
        healed,
        "ok: heal the split of broker-3: its links flow again"
    );
    wait_for(&runtime, &mut server, "broker-3 unfenced", unfenced(3));
}

#[test]
fn a_flaky_link_lets_replication_through_until_the_heal() {
    use common::wire::Wire;
    let (runtime, mut server) = start(3);
    let control = server.control_addr();
    every_broker_unfenced(&runtime, &mut server);
    let refused = ctl(control, "flaky-link broker-1 broker-1").expect("answered");
    assert!(refused.starts_with("error: "), "{refused}");
    let answer = ctl(control, "flaky-link broker-1 broker-2 for_ms=60000").expect("answered");
    assert!(
        answer.contains("clogged for 200 ms, then open for 800 ms, over and over"),
        "{answer}"
    );
    let leader = std::cell::Cell::new(0);
    runtime.block_on(async {
        let mut admin = Wire::connect(server.addrs()[&1]).await;
        assert_eq!(admin.create_topic("flaky", 1, 3).await, 0, "NONE");
    });
    wait_for(&runtime, &mut server, "a leader of flaky-0", |e| match e {
        Event::Cluster(ClusterEvent::BecameLeader {
            broker, partition, ..
        }) if partition.topic == "flaky" => {
            leader.set(*broker);
            true
        }
        _ => false,
    });
    // acks=all waits for every replica in the ISR, across the flaky link.
    runtime.block_on(async {
        let mut producer = Wire::connect(server.addrs()[&leader.get()]).await;
        assert_eq!(producer.produce("flaky", 0, -1, &["a"]).await, (0, 0));
    });
    let healed = ctl(control, "heal broker-2").expect("answered");
    assert_eq!(
        healed,
        "ok: heal the flaky link broker-1 - broker-2: its links flow again"
    );
    let nothing = ctl(control, "heal").expect("answered");
    assert!(nothing.starts_with("error: nothing"), "{nothing}");
}
