//! The hub's links as the faults leave them, without sockets: a slowed
//! link keeps its order across the heal, a crashed node's disconnect comes
//! after what it sent, a split and a flaky link hold and release in order.
//! Times are only ever lower bounds: a message is not early, and arrives.

use super::*;
use crate::control::Controls;
use kafkasim::protocol::{MetadataRequest, Request};
use tokio::sync::mpsc::UnboundedReceiver;

const BROKER_1: NodeId = NodeId::Broker(1);
const BROKER_2: NodeId = NodeId::Broker(2);

/// The longest a test waits for something that must arrive.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);

type Inboxes = BTreeMap<NodeId, UnboundedReceiver<Inbound>>;

/// Routes to a controller and two brokers, and what arrives at each.
fn routes() -> (Arc<Routes>, Inboxes) {
    let mut senders = BTreeMap::new();
    let mut inboxes = BTreeMap::new();
    for node in [NodeId::Controller, BROKER_1, BROKER_2] {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.insert(node, tx);
        inboxes.insert(node, rx);
    }
    let (routes, _controls) = Routes::new(senders);
    let routes = Arc::new(routes);
    tokio::spawn(routes.clone().carry_in_flight());
    (routes, inboxes)
}

/// A request numbered `n`, sent on a link (not an answer).
fn request(n: u64) -> Message {
    Message::Request {
        correlation_id: n,
        request: Request::Metadata(MetadataRequest { topics: None }),
    }
}

fn to(node: NodeId) -> Peer {
    Peer {
        node,
        connection: 0,
    }
}

/// What arrives next at `node`: a request's number, or the node whose
/// connection broke, as `Err`.
async fn next(inboxes: &mut Inboxes, node: NodeId) -> Result<u64, NodeId> {
    let inbox = inboxes.get_mut(&node).expect("a node of the test");
    let inbound = tokio::time::timeout(ARRIVAL_TIMEOUT, inbox.recv())
        .await
        .expect("it arrives")
        .expect("the routes live");
    match inbound {
        Inbound::Message {
            message: Message::Request { correlation_id, .. },
            ..
        } => Ok(correlation_id),
        Inbound::Message { message, .. } => panic!("only requests are sent: {message:?}"),
        Inbound::Disconnect(peer) => Err(peer),
    }
}

fn nothing_yet(inboxes: &mut Inboxes, node: NodeId) -> bool {
    inboxes.get_mut(&node).expect("a node").try_recv().is_err()
}

#[tokio::test]
async fn a_message_sent_after_the_heal_waits_behind_one_sent_during_the_slow_network() {
    let (routes, mut inboxes) = routes();
    assert!(routes.set_slow(200, true));
    let sent = Instant::now();
    routes.deliver(NodeId::Controller, to(BROKER_1), request(1));
    assert!(routes.set_slow(200, false));
    assert!(
        !routes.set_slow(200, false),
        "one slow network, healed once"
    );
    routes.deliver(NodeId::Controller, to(BROKER_1), request(2));
    // Another link is not held up by this one.
    routes.deliver(NodeId::Controller, to(BROKER_2), request(3));
    assert_eq!(next(&mut inboxes, BROKER_2).await, Ok(3));
    assert!(
        nothing_yet(&mut inboxes, BROKER_1),
        "the first is on its way"
    );
    assert_eq!(next(&mut inboxes, BROKER_1).await, Ok(1));
    assert!(sent.elapsed() >= Duration::from_millis(200), "not early");
    assert_eq!(next(&mut inboxes, BROKER_1).await, Ok(2), "then the second");
}

#[tokio::test]
async fn slow_networks_add_up_and_a_clients_disconnect_follows_its_request() {
    let (routes, mut inboxes) = routes();
    routes.set_slow(100, true);
    routes.set_slow(150, true);
    let sent = Instant::now();
    assert!(routes.client_sends(7, 1, request(1)));
    routes.client_closed(7, 1);
    assert!(nothing_yet(&mut inboxes, BROKER_1), "both are on their way");
    assert_eq!(next(&mut inboxes, BROKER_1).await, Ok(1));
    assert!(sent.elapsed() >= Duration::from_millis(250), "100 + 150 ms");
    assert_eq!(next(&mut inboxes, BROKER_1).await, Err(NodeId::Client(7)));
}

#[tokio::test]
async fn a_crashed_nodes_disconnect_follows_what_it_sent_and_what_it_was_sent_is_lost() {
    let (routes, mut inboxes) = routes();
    routes.set_slow(100, true);
    routes.deliver(BROKER_1, to(NodeId::Controller), request(1));
    routes.deliver(NodeId::Controller, to(BROKER_1), request(2));
    routes.crashed(BROKER_1);
    // Its restart: a new incarnation, which nothing sent before reaches.
    routes.nodes[&BROKER_1]
        .incarnation
        .fetch_add(1, Ordering::Relaxed);
    routes.set_slow(100, false);
    assert_eq!(next(&mut inboxes, NodeId::Controller).await, Ok(1));
    assert_eq!(next(&mut inboxes, NodeId::Controller).await, Err(BROKER_1));
    assert_eq!(next(&mut inboxes, BROKER_2).await, Err(BROKER_1));
    routes.deliver(NodeId::Controller, to(BROKER_1), request(3));
    assert_eq!(
        next(&mut inboxes, BROKER_1).await,
        Ok(3),
        "the request sent to the dead process never arrives"
    );
}

#[tokio::test]
async fn a_split_holds_what_crosses_it_in_order_and_lets_the_minority_talk_to_clients() {
    let (routes, mut inboxes) = routes();
    routes.set_split(&[BROKER_2], true);
    routes.deliver(BROKER_1, to(BROKER_2), request(1));
    routes.deliver(BROKER_2, to(NodeId::Controller), request(2));
    routes.deliver(BROKER_1, to(BROKER_2), request(3));
    routes.deliver(BROKER_1, to(NodeId::Controller), request(4));
    assert!(routes.client_sends(9, 2, request(5)));
    assert_eq!(next(&mut inboxes, NodeId::Controller).await, Ok(4));
    assert_eq!(next(&mut inboxes, BROKER_2).await, Ok(5), "a client's");
    assert!(nothing_yet(&mut inboxes, BROKER_2));
    assert!(nothing_yet(&mut inboxes, NodeId::Controller));
    assert!(!routes.set_split(&[BROKER_1], false), "no such split");
    assert!(routes.set_split(&[BROKER_2], false));
    assert_eq!(next(&mut inboxes, BROKER_2).await, Ok(1));
    assert_eq!(next(&mut inboxes, BROKER_2).await, Ok(3));
    assert_eq!(next(&mut inboxes, NodeId::Controller).await, Ok(2));
}

#[tokio::test]
async fn a_flaky_link_starts_clogged_opens_by_itself_and_is_steady_after_the_heal() {
    let (routes, mut inboxes) = routes();
    let (events, _timeline) = Events::new();
    let controls = Controls::new(routes.clone(), events, Clock::start());
    let answer = controls.apply("flaky-link controller broker-1").await;
    assert!(answer.is_ok(), "{answer:?}");
    let sent = Instant::now();
    routes.deliver(NodeId::Controller, to(BROKER_1), request(1));
    routes.deliver(BROKER_1, to(NodeId::Controller), request(2));
    routes.deliver(BROKER_2, to(BROKER_1), request(3));
    assert_eq!(next(&mut inboxes, BROKER_1).await, Ok(3), "another link");
    assert_eq!(next(&mut inboxes, BROKER_1).await, Ok(1), "when it opens");
    assert!(sent.elapsed() >= crate::control::FLAKY_CLOGGED);
    assert_eq!(next(&mut inboxes, NodeId::Controller).await, Ok(2));
    let healed = controls.apply("heal controller").await;
    assert_eq!(
        healed.as_deref(),
        Ok("heal the flaky link controller - broker-1: its links flow again")
    );
    for n in 0..50 {
        routes.deliver(NodeId::Controller, to(BROKER_1), request(n));
        assert_eq!(next(&mut inboxes, BROKER_1).await, Ok(n), "steady");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
