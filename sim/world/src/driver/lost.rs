//! Lost responses: a fault the drivers carry out themselves.
//!
//! A lost response is armed by its fault (the `faults` module) and triggered by
//! the driver of the server concerned, when it is about to send that response:
//! it closes the connection on both ends instead. The requester's core sees the
//! broken connection and fails its requests in flight with
//! `NETWORK_EXCEPTION`, while the server has already done the work: Kafka's
//! classic "appended, but the ack was lost".

use kafkasim::ids::NodeId;
use std::sync::{Arc, Mutex};

/// At most this many lost responses may be armed and not yet triggered.
pub const LOST_RESPONSES_ARMED_MAX: usize = 64;

/// The next `api` response `from` sends is lost; `id` names the fault.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Armed {
    id: u64,
    from: NodeId,
    api: String,
}

/// The armed losses, shared by every driver of a cluster. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LostResponses(Arc<Mutex<Vec<Armed>>>);

impl LostResponses {
    /// Arms a loss of the next `api` response `from` sends; `false` when too
    /// many are armed already (the fault then does nothing).
    pub(crate) fn arm(&self, id: u64, from: NodeId, api: &str) -> bool {
        let mut armed = self.0.lock().expect("lost responses lock");
        if armed.len() >= LOST_RESPONSES_ARMED_MAX {
            return false;
        }
        let api = api.to_string();
        armed.push(Armed { id, from, api });
        true
    }

    /// Disarms fault `id`; `true` when it had not hit a response yet.
    pub(crate) fn disarm(&self, id: u64) -> bool {
        let mut armed = self.0.lock().expect("lost responses lock");
        let before = armed.len();
        armed.retain(|a| a.id != id);
        armed.len() < before
    }

    /// Whether the `api` response `from` is about to send must be lost. A `true`
    /// consumes the loss: each armed loss hits exactly one response.
    pub fn take(&self, from: NodeId, api: &str) -> bool {
        let mut armed = self.0.lock().expect("lost responses lock");
        let position = armed.iter().position(|a| a.from == from && a.api == api);
        position.map(|i| armed.remove(i)).is_some()
    }
}
