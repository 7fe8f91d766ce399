//! The madsim driver: runs one sans-IO node on one simulated machine.
//!
//! The driver owns the node's connections and its single timer, and makes no
//! protocol decision. It feeds the node every delivered message, every broken
//! connection and every deadline, then carries out the node's effects.
//!
//! Connections use madsim's reliable ordered channel (`Endpoint::connect1`, the
//! primitive its simulated TCP is built on), so they have TCP's semantics: order
//! is kept per connection, a clogged link stalls instead of dropping, and a crashed
//! peer breaks the connection (see `network` for what a clog does exactly).
//! Messages travel as Rust values, not bytes.
//!
//! A connection the driver closes is closed on both ends at once, as a TCP reset:
//! the peer reads end-of-stream, and nothing that was still in flight on it, in
//! either direction, reaches a node afterwards. Besides forgetting connections
//! that already broke, the driver closes one only when a fault says a response on
//! it is lost ([`LostResponses`]). A fault may also stall one API's messages
//! ([`StalledApis`]): the driver keeps them until the fault ends.

mod connections;
mod lost;
mod stalled;

pub use lost::LostResponses;
pub use stalled::StalledApis;

/// The faults the drivers carry out themselves, shared by every driver of a
/// cluster. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct DriverFaults {
    pub lost: LostResponses,
    pub stalled: StalledApis,
}

use crate::time::now_ms;
use crate::trace::{EventText, MessageEvent, Passage, Trace};
use connections::{
    accept_loop, connect, futures_send, Connections, Envelope, Held, Inbound, Route,
};
use kafkasim::ids::NodeId;
use kafkasim::node::{Effect, Node, Peer};
use kafkasim::protocol::Message;
use madsim::net::Endpoint;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// At most this many messages a stall holds are kept by one driver.
pub const HELD_MESSAGES_MAX: usize = 1024;

/// The port brokers listen on, as in the crash course.
pub const BROKER_PORT: u16 = 9092;
/// The port of KRaft's controller listener.
pub const CONTROLLER_PORT: u16 = 9093;

/// The simulated machine's IP for a node.
pub fn ip_of(node: NodeId) -> IpAddr {
    match node {
        NodeId::Controller => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
        NodeId::Broker(id) => IpAddr::V4(Ipv4Addr::new(10, 0, 1, id as u8)),
        // Clients from 10.2.0.0 up, 65,536 to a second octet: no two collide.
        NodeId::Client(id) => {
            let [high, mid, low] = [(id >> 16) as u8, (id >> 8) as u8, id as u8];
            IpAddr::V4(Ipv4Addr::new(10, 2u8.saturating_add(high), mid, low))
        }
    }
}

/// Where a node listens; clients listen nowhere.
pub fn listen_addr(node: NodeId) -> Option<SocketAddr> {
    match node {
        NodeId::Controller => Some(SocketAddr::new(ip_of(node), CONTROLLER_PORT)),
        NodeId::Broker(_) => Some(SocketAddr::new(ip_of(node), BROKER_PORT)),
        NodeId::Client(_) => None,
    }
}

/// A node that lives across crashes: the harness keeps the cell, the driver
/// borrows it for every handler call.
pub type NodeCell<N> = Arc<Mutex<Option<N>>>;

/// A call into a client core from application code, run on the driver's task.
pub type Command<N> = Box<dyn FnOnce(&mut N, u64) + Send>;

/// Runs `cell`'s node until the simulated machine is killed.
/// `on_event` sees every event the node emits.
pub async fn run_node<N, F>(
    me: NodeId,
    cell: NodeCell<N>,
    trace: Trace,
    faults: DriverFaults,
    mut on_event: F,
    commands: Option<mpsc::UnboundedReceiver<Command<N>>>,
) where
    N: Node + Send + 'static,
    N::Event: std::fmt::Debug + std::hash::Hash + EventText,
    F: FnMut(u64, N::Event) + Send,
{
    let bind =
        listen_addr(me).unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    let endpoint = Arc::new(
        Endpoint::bind(bind)
            .await
            .expect("a fresh machine can bind its port"),
    );
    let (inbox_tx, mut inbox) = mpsc::unbounded_channel::<Inbound<N>>();
    let mut conns = Connections {
        endpoint: endpoint.clone(),
        outgoing: BTreeMap::new(),
        incoming: Arc::new(Mutex::new(BTreeMap::new())),
        next_connection: Arc::new(Mutex::new(0)),
        held: Vec::new(),
    };
    let wake = inbox_tx.clone();
    let waker = Box::new(move || {
        let _ = wake.send(Inbound::StallEnded);
    });
    faults.stalled.wake_with(me, waker);
    if listen_addr(me).is_some() {
        madsim::task::spawn(accept_loop(
            endpoint,
            conns.incoming.clone(),
            conns.next_connection.clone(),
            inbox_tx.clone(),
        ));
    }
    if let Some(mut commands) = commands {
        let tx = inbox_tx.clone();
        madsim::task::spawn(async move {
            while let Some(command) = commands.recv().await {
                if tx.send(Inbound::Command(command)).is_err() {
                    break;
                }
            }
        });
    }
    // What the node did while starting (a broker registers with the controller).
    let startup = cell
        .lock()
        .expect("node lock")
        .as_mut()
        .map(Node::take_effects)
        .unwrap_or_default();
    let wiring = Wiring {
        me,
        trace: &trace,
        faults: &faults,
        inbox: &inbox_tx,
    };
    let unreachable = carry_out(&wiring, &mut conns, startup, &mut on_event).await;
    if let Some(node) = cell.lock().expect("node lock").as_mut() {
        for peer in unreachable {
            node.on_disconnect(now_ms(), peer);
        }
    }
    let mut last_tick_ms = None;
    let mut alarm = Alarm::default();
    loop {
        let deadline_ms = cell
            .lock()
            .expect("node lock")
            .as_ref()
            .and_then(Node::next_deadline_ms);
        let now = now_ms();
        // A deadline already handled at this very millisecond waits one more, so a
        // node that reports a past deadline it cannot act on never spins.
        let wake_ms = deadline_ms.map(|d| {
            if last_tick_ms == Some(now) {
                d.max(now + 1)
            } else {
                d
            }
        });
        let sleep = async {
            match wake_ms {
                Some(at) => alarm.wait_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        // `biased`: without it, `select!` picks a branch with a random number
        // seeded from a process-wide counter, so a run would depend on how many
        // runs the process made before it.
        let inbound = tokio::select! {
            biased;
            inbound = inbox.recv() => inbound,
            _ = sleep => None,
        };
        if let Some(Inbound::StallEnded) = inbound {
            send_unstalled(&wiring, &mut conns);
            continue;
        }
        let now = now_ms();
        let effects = {
            let mut guard = cell.lock().expect("node lock");
            let Some(node) = guard.as_mut() else { return };
            match inbound {
                Some(inbound) => deliver(me, node, now, inbound, &mut conns, &trace),
                None => {
                    last_tick_ms = Some(now);
                    node.on_tick(now);
                }
            }
            node.invariants();
            node.take_effects()
        };
        let broken = carry_out(&wiring, &mut conns, effects, &mut on_event).await;
        if !broken.is_empty() {
            let effects = {
                let mut guard = cell.lock().expect("node lock");
                let Some(node) = guard.as_mut() else { return };
                for peer in broken {
                    trace.record(now, me, format_args!("cannot connect {peer}"));
                    node.on_disconnect(now, peer);
                }
                node.take_effects()
            };
            // The node retries failed connects itself after its backoff, so one more
            // round is enough here; what fails again is reported and left alone.
            let again = carry_out(&wiring, &mut conns, effects, &mut on_event).await;
            let mut guard = cell.lock().expect("node lock");
            if let Some(node) = guard.as_mut() {
                for peer in again {
                    node.on_disconnect(now, peer);
                }
            }
        }
    }
}

/// Wakes a node's task at its deadline, with one madsim timer per deadline.
///
/// A madsim `Sleep` adds a timer to the simulator each time it is polled while
/// pending, and a timer is never taken back: a fresh sleep for every turn of the
/// loop left a timer, and a spurious wake-up later, behind every message. The
/// alarm arms one timer (a madsim sleep, polled once) when the deadline changes
/// and, woken early, waits on without adding another.
#[derive(Default)]
struct Alarm {
    armed_ms: Option<u64>,
}

impl Alarm {
    fn wait_until(&mut self, at_ms: u64) -> WakeAt<'_> {
        WakeAt { alarm: self, at_ms }
    }
}

struct WakeAt<'a> {
    alarm: &'a mut Alarm,
    at_ms: u64,
}

impl std::future::Future for WakeAt<'_> {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let now = now_ms();
        if now >= self.at_ms {
            return std::task::Poll::Ready(());
        }
        if self.alarm.armed_ms != Some(self.at_ms) {
            // The timer wakes this task (its waker) at `at_ms` or just after:
            // `now` is the clock rounded down to the millisecond.
            let sleep = madsim::time::sleep(Duration::from_millis(self.at_ms - now));
            let pending = std::pin::pin!(sleep).poll(cx).is_pending();
            assert!(pending, "a sleep of at least 1 ms is pending");
            self.alarm.armed_ms = Some(self.at_ms);
        }
        std::task::Poll::Pending
    }
}

/// Hands one inbound event to the node. Messages still in flight on a connection
/// this end already closed are dropped, as a closed socket reads nothing more.
fn deliver<N: Node>(
    me: NodeId,
    node: &mut N,
    now: u64,
    inbound: Inbound<N>,
    conns: &mut Connections,
    trace: &Trace,
) {
    match inbound {
        Inbound::Message {
            from,
            message,
            sent_ms,
        } => {
            if !conns.is_open(from.connection) {
                trace.record_message(now, me, Passage::Discarded, from.node, &message);
                return;
            }
            trace.record_message(now, me, Passage::Received, from.node, &message);
            trace.count_message();
            trace.capture(|| MessageEvent::delivered(now, sent_ms, from.node, me, &message));
            node.on_message(now, from, message);
        }
        Inbound::Closed { peer, connection } => {
            // A connection this end closed first was reported when it closed.
            if let Some(known) = conns.forget(connection) {
                if let Some(peer) = known.or(peer) {
                    trace.record(now, me, format_args!("disconnected {peer}"));
                    node.on_disconnect(now, peer);
                }
            }
        }
        Inbound::Reset { peer } => {
            trace.record(now, me, format_args!("reset connection from {peer}"));
            node.on_disconnect(now, peer);
        }
        Inbound::Command(command) => command(node, now),
        Inbound::StallEnded => unreachable!("the loop sends what a stall kept"),
    }
}

/// What `carry_out` needs besides the connections: who this node is and where
/// its reports go.
struct Wiring<'a, N> {
    me: NodeId,
    trace: &'a Trace,
    faults: &'a DriverFaults,
    inbox: &'a mpsc::UnboundedSender<Inbound<N>>,
}

/// Carries out effects; returns peers that could not be reached.
async fn carry_out<N, F>(
    wiring: &Wiring<'_, N>,
    conns: &mut Connections,
    effects: Vec<Effect<N::Event>>,
    on_event: &mut F,
) -> Vec<NodeId>
where
    N: Node + Send + 'static,
    N::Event: std::fmt::Debug + std::hash::Hash + EventText,
    F: FnMut(u64, N::Event),
{
    let Wiring {
        me, trace, inbox, ..
    } = *wiring;
    // Only a trace that captures events reads the clock for the send time.
    let sent_ms = || if trace.is_capturing() { now_ms() } else { 0 };
    let mut unreachable = Vec::new();
    for effect in effects {
        match effect {
            Effect::Send { to, message } => {
                if unreachable.contains(&to) {
                    continue;
                }
                if !conns.outgoing.contains_key(&to) && !connect(to, conns, inbox).await {
                    unreachable.push(to);
                    continue;
                }
                let link = &conns.outgoing[&to];
                if let Some(stall) = stalled(wiring, &message) {
                    let route = Route::Outgoing {
                        to,
                        connection: link.connection,
                    };
                    keep(wiring, conns, stall, route, message, sent_ms());
                    continue;
                }
                if link
                    .sender
                    .send(Box::new(Envelope {
                        from: me,
                        message,
                        sent_ms: sent_ms(),
                    }))
                    .await
                    .is_err()
                {
                    conns.outgoing.remove(&to);
                    unreachable.push(to);
                }
            }
            Effect::Reply { to, message } => {
                let mut incoming = conns.incoming.lock().expect("conn lock");
                if !incoming.contains_key(&to.connection) {
                    continue; // A reply on a connection that just broke is lost, as in TCP.
                }
                if let Some(api) = lost_response(wiring, &message) {
                    incoming.remove(&to.connection);
                    report_reset(wiring, to, api);
                    continue;
                }
                if let Some(stall) = stalled(wiring, &message) {
                    drop(incoming);
                    let route = Route::Incoming(to);
                    keep(wiring, conns, stall, route, message, sent_ms());
                    continue;
                }
                let link = &incoming[&to.connection];
                let envelope = Envelope {
                    from: me,
                    message,
                    sent_ms: sent_ms(),
                };
                let _ = futures_send(&link.sender, envelope);
            }
            Effect::Emit(event) => {
                let now = now_ms();
                trace.record_event(now, me, &event);
                on_event(now, event);
            }
        }
    }
    unreachable
}

/// The API of this response if a fault says it is lost (consuming the fault).
fn lost_response<N>(wiring: &Wiring<'_, N>, message: &Message) -> Option<&'static str> {
    let Message::Response { response, .. } = message else {
        return None;
    };
    let api = response.api_name();
    wiring.faults.lost.take(wiring.me, api).then_some(api)
}

/// The stall that holds this message, if one does.
fn stalled<N>(wiring: &Wiring<'_, N>, message: &Message) -> Option<u64> {
    let api = match message {
        Message::Request { request, .. } => request.api_name(),
        Message::Response { response, .. } => response.api_name(),
    };
    wiring.faults.stalled.holding(wiring.me, api)
}

/// Keeps a message a stall holds, to send when the stall ends. Past
/// [`HELD_MESSAGES_MAX`] the message is dropped instead, as a connection
/// whose send buffer overflowed would be reset: the trace says so.
fn keep<N>(
    wiring: &Wiring<'_, N>,
    conns: &mut Connections,
    stall: u64,
    route: Route,
    message: Message,
    sent_ms: u64,
) {
    let (now, me) = (now_ms(), wiring.me);
    let to = route.peer();
    if conns.held.len() >= HELD_MESSAGES_MAX {
        wiring
            .trace
            .record_message(now, me, Passage::DroppedStallFull, to, &message);
        return;
    }
    wiring
        .trace
        .record_message(now, me, Passage::Stalled, to, &message);
    let envelope = Envelope {
        from: me,
        message,
        sent_ms,
    };
    conns.held.push(Held {
        stall,
        route,
        envelope,
    });
}

/// Sends, in the order they were kept, the messages whose stall has ended, on
/// the connections they were meant for; a connection that broke meanwhile
/// takes its messages with it.
fn send_unstalled<N>(wiring: &Wiring<'_, N>, conns: &mut Connections) {
    let (now, me) = (now_ms(), wiring.me);
    let stalled = &wiring.faults.stalled;
    let (go, stay): (Vec<Held>, Vec<Held>) = std::mem::take(&mut conns.held)
        .into_iter()
        .partition(|h| !stalled.is_on(h.stall));
    conns.held = stay;
    for held in go {
        let to = held.route.peer();
        let sent = match &held.route {
            Route::Outgoing { to, connection } => (conns.outgoing.get(to))
                .filter(|link| link.connection == *connection)
                .map(|link| futures_send(&link.sender, clone_envelope(&held.envelope))),
            Route::Incoming(peer) => {
                let incoming = conns.incoming.lock().expect("conn lock");
                (incoming.get(&peer.connection))
                    .map(|link| futures_send(&link.sender, clone_envelope(&held.envelope)))
            }
        };
        let what = match sent {
            Some(true) => Passage::Unstalled,
            _ => Passage::DroppedConnectionGone,
        };
        wiring
            .trace
            .record_message(now, me, what, to, &held.envelope.message);
    }
}

fn clone_envelope(envelope: &Envelope) -> Envelope {
    Envelope {
        from: envelope.from,
        message: envelope.message.clone(),
        sent_ms: envelope.sent_ms,
    }
}

/// Reports an incoming connection closed instead of answering `api` on it (its
/// `Link` is already dropped): the requester reads end-of-stream, so its requests
/// in flight fail, this node is told next, and the work the request did stays done.
fn report_reset<N>(wiring: &Wiring<'_, N>, to: Peer, api: &str) {
    let (now, me) = (now_ms(), wiring.me);
    wiring.trace.record(
        now,
        me,
        format_args!("fault lost {api} response to {}, connection reset", to.node),
    );
    wiring.trace.timeline(
        now,
        "network",
        format!(
            "{api} response from {me} to {} lost, connection reset",
            to.node
        ),
    );
    let _ = wiring.inbox.send(Inbound::Reset { peer: to.node });
}
