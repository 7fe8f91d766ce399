//! The driver's connections: madsim reliable channels with TCP's semantics.
//!
//! Each node keeps one outgoing connection per peer (as Kafka's network client
//! does) and accepts any number of incoming ones. A reader task per connection
//! forwards what arrives to the node's inbox and reports the close; dropping a
//! `Link` closes its connection on both ends.

use super::{listen_addr, Command};
use kafkasim::ids::NodeId;
use kafkasim::node::Peer;
use kafkasim::protocol::Message;
use madsim::net::{Endpoint, Receiver, Sender};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// What travels on a simulated connection: the sender's id (Kafka's request header
/// carries a client id) and the message.
#[derive(Debug)]
pub(super) struct Envelope {
    pub(super) from: NodeId,
    pub(super) message: Message,
    /// When it was sent, for traces that capture events (0 when they do not).
    pub(super) sent_ms: u64,
}

pub(super) enum Inbound<N> {
    Message {
        from: Peer,
        message: Message,
        sent_ms: u64,
    },
    /// The peer closed the connection, or its machine went away.
    Closed {
        peer: Option<NodeId>,
        connection: u64,
    },
    /// This driver reset an incoming connection from `peer` (a lost response).
    Reset {
        peer: NodeId,
    },
    Command(Command<N>),
    /// A stall ended: send what it kept.
    StallEnded,
}

/// Where a message a stall holds was going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// A request, on this node's connection `connection` to `to`.
    Outgoing { to: NodeId, connection: u64 },
    /// A response, on the connection the request came in on.
    Incoming(Peer),
}

impl Route {
    pub(super) fn peer(&self) -> NodeId {
        match self {
            Route::Outgoing { to, .. } => *to,
            Route::Incoming(peer) => peer.node,
        }
    }
}

/// A message a stall holds, until it ends.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) stall: u64,
    pub(super) route: Route,
    pub(super) envelope: Envelope,
}

/// One open connection: the sending half, and the reader task's stop signal.
/// Dropping a `Link` closes the connection: the peer's reader sees end-of-stream
/// and the local reader stops, dropping whatever was still on its way in.
pub(super) struct Link {
    pub(super) connection: u64,
    pub(super) sender: Sender,
    pub(super) _stop: oneshot::Sender<()>,
}

pub(super) struct Connections {
    pub(super) endpoint: Arc<Endpoint>,
    /// Connections this node opened, one per peer, as Kafka's network client keeps.
    pub(super) outgoing: BTreeMap<NodeId, Link>,
    /// Connections peers opened to this node, by connection number.
    pub(super) incoming: Arc<Mutex<BTreeMap<u64, Link>>>,
    pub(super) next_connection: Arc<Mutex<u64>>,
    /// The messages stalls hold, in the order they were sent.
    pub(super) held: Vec<Held>,
}

impl Connections {
    /// Whether a connection is still open at this end.
    pub(super) fn is_open(&self, connection: u64) -> bool {
        self.outgoing.values().any(|l| l.connection == connection)
            || self
                .incoming
                .lock()
                .expect("conn lock")
                .contains_key(&connection)
    }

    /// Forgets a connection that closed. Returns `None` when it was already
    /// forgotten (this end closed it first), else the peer if it is known.
    pub(super) fn forget(&mut self, connection: u64) -> Option<Option<NodeId>> {
        let outgoing = self
            .outgoing
            .iter()
            .find(|(_, l)| l.connection == connection)
            .map(|(peer, _)| *peer);
        if let Some(peer) = outgoing {
            self.outgoing.remove(&peer);
            return Some(Some(peer));
        }
        let incoming = self.incoming.lock().expect("conn lock").remove(&connection);
        incoming.map(|_| None)
    }
}

pub(super) fn allocate(counter: &Mutex<u64>) -> u64 {
    let mut next = counter.lock().expect("counter lock");
    *next += 1;
    *next
}

/// `Sender::send` is async in signature but completes at once; poll it in place
/// so no lock is held across an await.
pub(super) fn futures_send(sender: &Sender, envelope: Envelope) -> bool {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(sender.send(Box::new(envelope)));
    let mut cx = Context::from_waker(Waker::noop());
    matches!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(())))
}

pub(super) async fn connect<N: Send + 'static>(
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
    let (stop, stopped) = oneshot::channel();
    let link = Link {
        connection,
        sender,
        _stop: stop,
    };
    conns.outgoing.insert(to, link);
    madsim::task::spawn(read_loop(
        receiver,
        connection,
        Some(to),
        stopped,
        inbox.clone(),
    ));
    true
}

pub(super) async fn accept_loop<N: Send + 'static>(
    endpoint: Arc<Endpoint>,
    incoming: Arc<Mutex<BTreeMap<u64, Link>>>,
    next: Arc<Mutex<u64>>,
    inbox: mpsc::UnboundedSender<Inbound<N>>,
) {
    while let Ok((sender, receiver, _addr)) = endpoint.accept1().await {
        let connection = allocate(&next);
        let (stop, stopped) = oneshot::channel();
        let link = Link {
            connection,
            sender,
            _stop: stop,
        };
        incoming.lock().expect("conn lock").insert(connection, link);
        madsim::task::spawn(read_loop(
            receiver,
            connection,
            None,
            stopped,
            inbox.clone(),
        ));
    }
}

/// Forwards what arrives on one connection to the node's inbox, then reports
/// the connection closed. Stops silently when this end closes the connection
/// (its `Link` is dropped), dropping the receiver and what was still queued in it.
pub(super) async fn read_loop<N: Send + 'static>(
    mut receiver: Receiver,
    connection: u64,
    mut peer: Option<NodeId>,
    mut stopped: oneshot::Receiver<()>,
    inbox: mpsc::UnboundedSender<Inbound<N>>,
) {
    loop {
        let received = tokio::select! {
            biased;
            _ = &mut stopped => return,
            received = receiver.recv() => received,
        };
        let Ok(payload) = received else { break };
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
                sent_ms: envelope.sent_ms,
            })
            .is_err()
        {
            return;
        }
    }
    let _ = inbox.send(Inbound::Closed { peer, connection });
}
