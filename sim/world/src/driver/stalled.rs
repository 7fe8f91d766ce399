//! Stalled APIs: a fault the drivers carry out themselves.
//!
//! A stall is armed by its fault (the `faults` module) for one server and one
//! API. While it is on, the server's driver keeps every message of that API it
//! is about to send (a request it makes or a response it gives) instead of
//! sending it; the node believes it sent it. When the fault ends, the driver
//! is woken and sends what it kept, in order, on the connections they were
//! meant for; a message whose connection broke meanwhile is gone, as on TCP.
//!
//! The rest of the server's messages flow meanwhile, so a held message can
//! arrive after messages sent later on the same connection. That is what
//! Kafka shows when the API has a connection of its own: a broker sends
//! AlterPartition on a channel apart from its heartbeats, and each replica
//! fetcher thread keeps its own connection to its leader.

use kafkasim::ids::NodeId;
use std::sync::{Arc, Mutex};

/// At most this many stalls may be on at once.
pub const STALLS_ON_MAX: usize = 64;

/// Wakes a driver so that it sends what a stall that ended kept.
pub(crate) type Waker = Box<dyn Fn() + Send>;

/// Every `api` message `node` sends stalls while fault `id` is on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stall {
    id: u64,
    node: NodeId,
    api: String,
}

#[derive(Default)]
struct Stalls {
    on: Vec<Stall>,
    /// Each running driver's waker, by the server it runs (the latest start).
    wakers: Vec<(NodeId, Waker)>,
}

/// The stalls on, shared by every driver of a cluster. Cheap to clone.
#[derive(Clone, Default)]
pub struct StalledApis(Arc<Mutex<Stalls>>);

impl std::fmt::Debug for StalledApis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stalls = self.0.lock().expect("stalls lock");
        f.debug_list().entries(stalls.on.iter()).finish()
    }
}

impl StalledApis {
    /// Stalls every `api` message `node` sends; `false` when too many stalls
    /// are on already (the fault then does nothing).
    pub(crate) fn stall(&self, id: u64, node: NodeId, api: &str) -> bool {
        let mut stalls = self.0.lock().expect("stalls lock");
        if stalls.on.len() >= STALLS_ON_MAX {
            return false;
        }
        let api = api.to_string();
        stalls.on.push(Stall { id, node, api });
        true
    }

    /// Ends stall `id` and wakes the driver of its server; `false` when it
    /// was not on.
    pub(crate) fn end(&self, id: u64) -> bool {
        let mut stalls = self.0.lock().expect("stalls lock");
        let Some(at) = stalls.on.iter().position(|s| s.id == id) else {
            return false;
        };
        let stall = stalls.on.remove(at);
        if let Some((_, wake)) = stalls.wakers.iter().find(|(n, _)| *n == stall.node) {
            wake();
        }
        true
    }

    /// The stall that holds the `api` message `from` is about to send, if one does.
    pub fn holding(&self, from: NodeId, api: &str) -> Option<u64> {
        let stalls = self.0.lock().expect("stalls lock");
        let stall = stalls.on.iter().find(|s| s.node == from && s.api == api);
        stall.map(|s| s.id)
    }

    /// Whether stall `id` is still on.
    pub fn is_on(&self, id: u64) -> bool {
        let stalls = self.0.lock().expect("stalls lock");
        stalls.on.iter().any(|s| s.id == id)
    }

    /// How a freshly started driver of `node` is woken; it replaces the
    /// waker of the server's previous start, whose driver is gone.
    pub(crate) fn wake_with(&self, node: NodeId, waker: Waker) {
        let mut stalls = self.0.lock().expect("stalls lock");
        stalls.wakers.retain(|(n, _)| *n != node);
        stalls.wakers.push((node, waker));
    }
}
