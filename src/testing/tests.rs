//! The network's own rules, shown with `Echo`, a node that only records what
//! happens to it: delivery orders, cuts, stalls, broken connections, ticks,
//! crashes and restarts.

use super::*;
use crate::ids::{CorrelationId, NodeId};
use crate::node::{Effect, Node, Peer};
use crate::protocol::{Message, MetadataRequest, MetadataResponse, Request, Response};
use std::convert::Infallible;

const CLIENT: NodeId = NodeId::Client(1);
const ONE: NodeId = NodeId::Broker(1);
const TWO: NodeId = NodeId::Broker(2);

/// A request that carries a label, so a test can tell messages apart.
fn labelled(label: &str) -> Request {
    Request::Metadata(MetadataRequest {
        topics: Some(vec![label.to_string()]),
    })
}

fn label(request: &Request) -> String {
    match request {
        Request::Metadata(MetadataRequest { topics: Some(t) }) => t[0].clone(),
        other => panic!("not a labelled request: {other:?}"),
    }
}

fn answer() -> Response {
    Response::Metadata(MetadataResponse {
        brokers: Vec::new(),
        topics: Vec::new(),
        metadata_version: 0,
    })
}

/// Records every request (sender, label, connection), broken connection and
/// tick; answers at once unless `holding`, else keeps the requests.
#[derive(Default)]
struct Echo {
    heard: Vec<(NodeId, String)>,
    connections: Vec<u64>,
    disconnects: Vec<NodeId>,
    ticks_ms: Vec<u64>,
    /// The deadline stays until the test moves it.
    deadline_ms: Option<u64>,
    holding: bool,
    held: Vec<(Peer, CorrelationId)>,
    effects: Vec<Effect<String>>,
    next_correlation_id: CorrelationId,
}

impl Echo {
    fn send(&mut self, to: NodeId, label: &str) {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let request = labelled(label);
        let message = Message::Request {
            correlation_id,
            request,
        };
        self.effects.push(Effect::Send { to, message });
    }

    fn answer_held(&mut self) {
        for (to, correlation_id) in std::mem::take(&mut self.held) {
            let response = answer();
            let message = Message::Response {
                correlation_id,
                response,
            };
            self.effects.push(Effect::Reply { to, message });
        }
    }
}

impl Node for Echo {
    type Event = String;

    fn on_message(&mut self, _now_ms: u64, from: Peer, message: Message) {
        let Message::Request {
            correlation_id,
            request,
        } = message
        else {
            return;
        };
        self.heard.push((from.node, label(&request)));
        self.connections.push(from.connection);
        self.effects.push(Effect::Emit(label(&request)));
        self.held.push((from, correlation_id));
        if !self.holding {
            self.answer_held();
        }
    }

    fn on_disconnect(&mut self, _now_ms: u64, peer: NodeId) {
        self.disconnects.push(peer);
    }

    fn on_tick(&mut self, now_ms: u64) {
        self.ticks_ms.push(now_ms);
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        self.deadline_ms
    }

    fn take_effects(&mut self) -> Vec<Effect<String>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        assert_eq!(self.heard.len(), self.connections.len());
    }
}

/// Counts the messages the network lost.
#[derive(Default)]
struct Losses(Vec<Envelope>);

impl Observer<Echo> for Losses {
    type Error = Infallible;

    fn on_loss(&mut self, envelope: &Envelope) {
        self.0.push(envelope.clone());
    }
}

fn two_echoes() -> Network<Echo> {
    let mut network = Network::new();
    for id in [ONE, TWO] {
        let Ok(()) = network.insert(id, Echo::default(), &mut Quiet);
    }
    network
}

fn heard(network: &Network<Echo>, id: NodeId) -> Vec<(NodeId, String)> {
    network.node(id).expect("running").heard.clone()
}

fn heard_from(from: NodeId, labels: &[&str]) -> Vec<(NodeId, String)> {
    labels.iter().map(|l| (from, l.to_string())).collect()
}

#[test]
fn a_settle_carries_messages_in_send_order_and_the_client_gets_every_answer() {
    let mut network = two_echoes();
    let a = network.send(CLIENT, ONE, labelled("a"));
    let b = network.send(CLIENT, TWO, labelled("b"));
    let c = network.send(CLIENT, ONE, labelled("c"));
    let Ok(()) = network.settle(&mut Quiet);
    assert_eq!(heard(&network, ONE), heard_from(CLIENT, &["a", "c"]));
    assert_eq!(network.events(), ["a", "b", "c"]);
    for correlation_id in [a, b, c] {
        assert_eq!(network.answer(CLIENT, correlation_id), Some(answer()));
    }
}

#[test]
fn a_test_that_picks_a_stream_overtakes_other_streams_but_never_its_own_order() {
    let mut network = two_echoes();
    network.send(CLIENT, ONE, labelled("a"));
    network.send(CLIENT, ONE, labelled("b"));
    network.send(CLIENT, TWO, labelled("c"));
    // Streams by their oldest message: client→1 (a, b), client→2 (c).
    assert_eq!(
        network.deliver_one(Delivery::NthStream(1), &mut Quiet),
        Ok(true)
    );
    assert_eq!(heard(&network, TWO), heard_from(CLIENT, &["c"]));
    assert_eq!(heard(&network, ONE), []);
    // Any number picks a stream; client→1 gives `a` before `b`.
    assert_eq!(
        network.deliver_one(Delivery::NthStream(4), &mut Quiet),
        Ok(true)
    );
    assert_eq!(heard(&network, ONE), heard_from(CLIENT, &["a"]));
}

#[test]
fn a_cut_loses_what_is_in_flight_and_both_ends_hear_the_connection_break() {
    let mut network = two_echoes();
    let mut losses = Losses::default();
    let Ok(()) = network.act(ONE, &mut losses, |echo, _| echo.send(TWO, "before"));
    let Ok(()) = network.cut(ONE, TWO, &mut losses);
    let Ok(()) = network.act(ONE, &mut losses, |echo, _| echo.send(TWO, "during"));
    let Ok(()) = network.settle(&mut losses);
    assert_eq!(heard(&network, TWO), []);
    let lost: Vec<NodeId> = losses.0.iter().map(|e| e.to).collect();
    assert_eq!(
        lost,
        [TWO, TWO],
        "one in flight at the cut, one sent across it"
    );
    assert_eq!(network.node(ONE).expect("running").disconnects, [TWO]);
    assert_eq!(network.node(TWO).expect("running").disconnects, [ONE]);

    // After healing, a new connection carries what is sent next.
    network.heal(ONE, TWO);
    let Ok(()) = network.act(ONE, &mut losses, |echo, _| echo.send(TWO, "after"));
    let Ok(()) = network.settle(&mut losses);
    assert_eq!(heard(&network, TWO), heard_from(ONE, &["after"]));
    let before = losses.0[0].from.connection;
    assert_ne!(network.node(TWO).expect("running").connections, [before]);
}

#[test]
fn a_stalled_link_holds_messages_until_it_heals_and_breaks_nothing() {
    let mut network = two_echoes();
    network.stall(ONE, TWO);
    let Ok(()) = network.act(ONE, &mut Quiet, |echo, _| echo.send(TWO, "held"));
    let Ok(()) = network.settle(&mut Quiet);
    assert_eq!(heard(&network, TWO), []);
    assert_eq!(network.in_flight().count(), 1);
    network.heal(ONE, TWO);
    let Ok(()) = network.settle(&mut Quiet);
    assert_eq!(heard(&network, TWO), heard_from(ONE, &["held"]));
    assert_eq!(network.node(ONE).expect("running").disconnects, []);
}

#[test]
fn an_answer_on_a_connection_that_broke_is_lost() {
    let mut network = two_echoes();
    let mut losses = Losses::default();
    let Ok(()) = network.act(ONE, &mut losses, |echo, _| echo.holding = true);
    let asked = network.send(CLIENT, ONE, labelled("a"));
    let Ok(()) = network.settle(&mut losses);
    let Ok(()) = network.cut(CLIENT, ONE, &mut losses);
    network.heal(CLIENT, ONE);
    let Ok(()) = network.act(ONE, &mut losses, |echo, _| echo.answer_held());
    let Ok(()) = network.settle(&mut losses);
    assert_eq!(network.answer(CLIENT, asked), None);
    assert_eq!(losses.0.len(), 1);
    assert!(matches!(losses.0[0].message, Message::Response { .. }));
}

#[test]
fn a_node_whose_deadline_stays_is_ticked_once_per_millisecond() {
    let mut network = two_echoes();
    let Ok(()) = network.act(ONE, &mut Quiet, |echo, _| echo.deadline_ms = Some(5));
    let Ok(()) = network.advance_to(8, &mut Quiet);
    assert_eq!(network.node(ONE).expect("running").ticks_ms, [5, 6, 7, 8]);
    assert!(network.node(TWO).expect("running").ticks_ms.is_empty());
    assert_eq!(network.now_ms(), 8);
}

#[test]
fn the_clock_can_move_one_wake_at_a_time() {
    let mut network = two_echoes();
    let Ok(()) = network.act(ONE, &mut Quiet, |echo, _| echo.deadline_ms = Some(5));
    assert_eq!(network.wake_next(100, &mut Quiet), Ok(true));
    assert_eq!(network.now_ms(), 5);
    let Ok(()) = network.act(ONE, &mut Quiet, |echo, _| echo.deadline_ms = None);
    assert_eq!(network.wake_next(100, &mut Quiet), Ok(false));
    assert_eq!(network.now_ms(), 5, "nothing to wake: the clock stays");
}

#[test]
fn a_crashed_node_leaves_its_remains_and_restarts_from_them() {
    let mut network = two_echoes();
    let mut losses = Losses::default();
    network.send(CLIENT, ONE, labelled("a"));
    let Ok(()) = network.settle(&mut losses);
    let Ok(()) = network.act(TWO, &mut losses, |echo, _| echo.send(ONE, "in flight"));
    let Ok(()) = network.crash(ONE, &mut losses, |echo| echo);
    assert_eq!(losses.0.len(), 1, "the message in flight to it is lost");
    assert_eq!(network.node(TWO).expect("running").disconnects, [ONE]);
    assert_eq!(network.crashed().collect::<Vec<_>>(), [ONE]);
    assert_eq!(network.stopped(ONE).expect("crashed").heard.len(), 1);

    let Ok(()) = network.restart(ONE, &mut losses, |old, _| Echo {
        heard: old.heard,
        connections: old.connections,
        ..Echo::default()
    });
    network.send(CLIENT, ONE, labelled("b"));
    let Ok(()) = network.settle(&mut losses);
    assert_eq!(heard(&network, ONE), heard_from(CLIENT, &["a", "b"]));
}
