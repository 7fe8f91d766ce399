//! The madsim driver: runs one sans-IO node on one simulated machine.
//!
//! The driver owns the node's connections and its single timer, and makes no
//! protocol decision. It feeds the node every delivered message, every broken
//! connection and every deadline, then carries out the node's effects.
//!
//! Connections use madsim's reliable ordered channel (`Endpoint::connect1`, the
//! primitive its simulated TCP is built on), so they have TCP's semantics: order
//! is kept per connection, a clogged link stalls instead of dropping, and a crashed
//! peer breaks the connection. Messages travel as Rust values, not bytes.

use crate::trace::Trace;
use kafkasim::ids::NodeId;
use kafkasim::node::{Effect, Node, Peer};
use kafkasim::protocol::Message;
use madsim::net::{Endpoint, Receiver, Sender};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The port brokers listen on, as in the crash course.
pub const BROKER_PORT: u16 = 9092;
/// The port of KRaft's controller listener.
pub const CONTROLLER_PORT: u16 = 9093;

/// What travels on a simulated connection: the sender's id (Kafka's request header
/// carries a client id) and the message.
#[derive(Debug)]
struct Envelope {
    from: NodeId,
    message: Message,
}

/// Simulated milliseconds since the run started.
pub fn now_ms() -> u64 {
    madsim::time::TimeHandle::current().elapsed().as_millis() as u64
}

/// The simulated machine's IP for a node.
pub fn ip_of(node: NodeId) -> IpAddr {
    match node {
        NodeId::Controller => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
        NodeId::Broker(id) => IpAddr::V4(Ipv4Addr::new(10, 0, 1, id as u8)),
        NodeId::Client(id) => IpAddr::V4(Ipv4Addr::new(10, 0, 2, id as u8)),
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

enum Inbound<N> {
    Message {
        from: Peer,
        message: Message,
    },
    Closed {
        peer: Option<NodeId>,
        connection: u64,
    },
    Command(Command<N>),
}

struct Connections {
    endpoint: Arc<Endpoint>,
    outgoing: BTreeMap<NodeId, (u64, Sender)>,
    incoming: Arc<Mutex<BTreeMap<u64, Sender>>>,
    next_connection: Arc<Mutex<u64>>,
}

fn allocate(counter: &Mutex<u64>) -> u64 {
    let mut next = counter.lock().expect("counter lock");
    *next += 1;
    *next
}

/// Runs `cell`'s node until the simulated machine is killed.
/// `on_event` sees every event the node emits.
pub async fn run_node<N, F>(
    me: NodeId,
    cell: NodeCell<N>,
    trace: Trace,
    mut on_event: F,
    commands: Option<mpsc::UnboundedReceiver<Command<N>>>,
) where
    N: Node + Send + 'static,
    N::Event: std::fmt::Debug,
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
    };
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
    let unreachable = carry_out(me, &mut conns, &trace, &inbox_tx, startup, &mut on_event).await;
    if let Some(node) = cell.lock().expect("node lock").as_mut() {
        for peer in unreachable {
            node.on_disconnect(now_ms(), peer);
        }
    }
    let mut last_tick_ms = None;
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
                Some(at) => {
                    madsim::time::sleep(Duration::from_millis(at.saturating_sub(now))).await
                }
                None => std::future::pending::<()>().await,
            }
        };
        let inbound = tokio::select! {
            inbound = inbox.recv() => inbound,
            _ = sleep => None,
        };
        let now = now_ms();
        let effects = {
            let mut guard = cell.lock().expect("node lock");
            let Some(node) = guard.as_mut() else { return };
            match inbound {
                Some(Inbound::Message { from, message }) => {
                    trace.record(now, me, format_args!("recv {} {:?}", from.node, message));
                    trace.count_message();
                    node.on_message(now, from, message);
                }
                Some(Inbound::Closed { peer, connection }) => {
                    let outgoing = conns
                        .outgoing
                        .iter()
                        .find(|(_, (c, _))| *c == connection)
                        .map(|(p, _)| *p);
                    if let Some(peer) = outgoing {
                        conns.outgoing.remove(&peer);
                    }
                    conns
                        .incoming
                        .lock()
                        .expect("conn lock")
                        .remove(&connection);
                    if let Some(peer) = outgoing.or(peer) {
                        trace.record(now, me, format_args!("disconnected {peer}"));
                        node.on_disconnect(now, peer);
                    }
                }
                Some(Inbound::Command(command)) => command(node, now),
                None => {
                    last_tick_ms = Some(now);
                    node.on_tick(now);
                }
            }
            node.invariants();
            node.take_effects()
        };
        let broken = carry_out(me, &mut conns, &trace, &inbox_tx, effects, &mut on_event).await;
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
            let again = carry_out(me, &mut conns, &trace, &inbox_tx, effects, &mut on_event).await;
            let mut guard = cell.lock().expect("node lock");
            if let Some(node) = guard.as_mut() {
                for peer in again {
                    node.on_disconnect(now, peer);
                }
            }
        }
    }
}

/// Carries out effects; returns peers that could not be reached.
async fn carry_out<N, F>(
    me: NodeId,
    conns: &mut Connections,
    trace: &Trace,
    inbox: &mpsc::UnboundedSender<Inbound<N>>,
    effects: Vec<Effect<N::Event>>,
    on_event: &mut F,
) -> Vec<NodeId>
where
    N: Node + Send + 'static,
    N::Event: std::fmt::Debug,
    F: FnMut(u64, N::Event),
{
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
                let (_, sender) = &conns.outgoing[&to];
                if sender
                    .send(Box::new(Envelope { from: me, message }))
                    .await
                    .is_err()
                {
                    conns.outgoing.remove(&to);
                    unreachable.push(to);
                }
            }
            Effect::Reply { to, message } => {
                let incoming = conns.incoming.lock().expect("conn lock");
                if let Some(sender) = incoming.get(&to.connection) {
                    // A reply on a connection that just broke is lost, as in TCP.
                    let _ = futures_send(sender, Envelope { from: me, message });
                }
            }
            Effect::Emit(event) => {
                let now = now_ms();
                trace.record(now, me, format_args!("event {event:?}"));
                on_event(now, event);
            }
        }
    }
    unreachable
}

/// `Sender::send` is async in signature but completes at once; poll it in place
/// so no lock is held across an await.
fn futures_send(sender: &Sender, envelope: Envelope) -> bool {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(sender.send(Box::new(envelope)));
    let mut cx = Context::from_waker(Waker::noop());
    matches!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(())))
}

async fn connect<N: Send + 'static>(
    to: NodeId,
    conns: &mut Connections,
    inbox: &mpsc::UnboundedSender<Inbound<N>>,
) -> bool {
    let Some(addr) = listen_addr(to) else {
        return false;
    };
    let Ok((sender, receiver)) = conns.endpoint.connect1(addr).await else {
        return false;
    };
    let connection = allocate(&conns.next_connection);
    conns.outgoing.insert(to, (connection, sender));
    madsim::task::spawn(read_loop(receiver, connection, Some(to), inbox.clone()));
    true
}

async fn accept_loop<N: Send + 'static>(
    endpoint: Arc<Endpoint>,
    incoming: Arc<Mutex<BTreeMap<u64, Sender>>>,
    next: Arc<Mutex<u64>>,
    inbox: mpsc::UnboundedSender<Inbound<N>>,
) {
    while let Ok((sender, receiver, _addr)) = endpoint.accept1().await {
        let connection = allocate(&next);
        incoming
            .lock()
            .expect("conn lock")
            .insert(connection, sender);
        madsim::task::spawn(read_loop(receiver, connection, None, inbox.clone()));
    }
}

/// Forwards what arrives on one connection to the node's inbox, then reports
/// the connection closed.
async fn read_loop<N: Send + 'static>(
    mut receiver: Receiver,
    connection: u64,
    mut peer: Option<NodeId>,
    inbox: mpsc::UnboundedSender<Inbound<N>>,
) {
    while let Ok(payload) = receiver.recv().await {
        let envelope = payload
            .downcast::<Envelope>()
            .expect("only envelopes travel on kafkasim connections");
        peer = Some(envelope.from);
        let from = Peer {
            node: envelope.from,
            connection,
        };
        if inbox
            .send(Inbound::Message {
                from,
                message: envelope.message,
            })
            .is_err()
        {
            return;
        }
    }
    let _ = inbox.send(Inbound::Closed { peer, connection });
}
