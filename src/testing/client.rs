//! A fake client: sends requests, keeps the answers.
//!
//! Scenario and property tests talk to the cluster the way an admin tool would:
//! one request, then look at the answer. A real client core (producer, consumer)
//! would bring retries, metadata and batching the test does not want, so the
//! network keeps, for every `NodeId::Client` that sends, just this: the next
//! correlation id, and the answers not yet taken. A fake client has no timers and
//! ignores broken connections; a request lost on the way is simply never answered.

use crate::ids::CorrelationId;
use crate::protocol::Response;
use std::collections::BTreeMap;

/// Answers a fake client holds before it calls the test a leak: a test that
/// never takes its answers still stays far below it (a few hundred requests).
pub const ANSWERS_KEPT_MAX: usize = 100_000;

/// What the network remembers of one fake client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeClient {
    next_correlation_id: CorrelationId,
    answers: BTreeMap<CorrelationId, Response>,
}

impl FakeClient {
    /// The correlation id of the client's next request: 0, 1, 2, …
    pub fn next_correlation_id(&mut self) -> CorrelationId {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        correlation_id
    }

    /// An answer arrived.
    pub fn on_response(&mut self, correlation_id: CorrelationId, response: Response) {
        assert!(
            correlation_id < self.next_correlation_id,
            "an answer to request {correlation_id}, which this client never sent"
        );
        assert!(self.answers.len() < ANSWERS_KEPT_MAX, "answers never taken");
        let earlier = self.answers.insert(correlation_id, response);
        assert!(
            earlier.is_none(),
            "request {correlation_id} was answered twice"
        );
    }

    /// Whether the answer to `correlation_id` came and was not taken yet.
    pub fn has_answer(&self, correlation_id: CorrelationId) -> bool {
        self.answers.contains_key(&correlation_id)
    }

    /// Takes the answer to `correlation_id`, if it came.
    pub fn take_answer(&mut self, correlation_id: CorrelationId) -> Option<Response> {
        self.answers.remove(&correlation_id)
    }
}
