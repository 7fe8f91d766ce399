//! What every client core shares: requests in flight and cached cluster metadata.
//!
//! Kafka's `NetworkClient` numbers requests with correlation ids, fails those whose
//! connection breaks or which get no answer within `request.timeout.ms`, and keeps
//! a metadata cache it refreshes on demand (after `NOT_LEADER_OR_FOLLOWER`, unknown
//! topics, timeouts), never more often than `retry.backoff.ms`. This module does the
//! same for the model's clients.
//!
//! When every broker the cached metadata names has become unreachable (its
//! connection broke or timed out since the last metadata answer), the client
//! *rebootstraps*: it asks the `bootstrap.servers` again, as Kafka's clients do
//! with `metadata.recovery.strategy=rebootstrap`, the default since Kafka 4.0
//! (KIP-899, KIP-1102). Without it a client whose metadata named only brokers
//! that are gone would ask them forever, though others are back. Simplification:
//! KIP-1102's second trigger, no metadata for
//! `metadata.recovery.rebootstrap.trigger.ms` (5 minutes), is not modelled, nor
//! `metadata.recovery.strategy=none`.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId, TopicPartition};
use crate::node::Effect;
use crate::protocol::*;
use std::collections::{BTreeMap, BTreeSet};

/// A partition's leader as the client last heard it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderView {
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
}

/// The client's cached metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataCache {
    pub brokers: BTreeSet<BrokerId>,
    /// Per known topic, its partitions' leaders; an error for topics the cluster
    /// said it does not know.
    pub topics: BTreeMap<String, Result<Vec<LeaderView>, ErrorCode>>,
}

impl MetadataCache {
    pub fn partition_count(&self, topic: &str) -> Option<Result<i32, ErrorCode>> {
        self.topics
            .get(topic)
            .map(|t| t.as_ref().map(|p| p.len() as i32).map_err(|e| *e))
    }

    pub fn leader(&self, tp: &TopicPartition) -> Option<LeaderView> {
        let partitions = self.topics.get(&tp.topic)?.as_ref().ok()?;
        partitions.get(usize::try_from(tp.partition).ok()?).copied()
    }

    /// Takes in a metadata response. A broker whose own metadata is behind (it
    /// was cut off from the controller, or just restarted) can answer with a
    /// partition's older leader: like Kafka's clients since KIP-320, the cache
    /// keeps a partition's view when the answer's leader epoch is older than the
    /// one it has, so a client never goes back to a leader it already saw
    /// replaced.
    fn update(&mut self, response: &MetadataResponse) {
        self.brokers = response.brokers.iter().map(|b| b.node_id).collect();
        for topic in &response.topics {
            let cached = match self.topics.get(&topic.name) {
                Some(Ok(views)) => views.as_slice(),
                _ => &[],
            };
            let entry = if topic.error_code == ErrorCode::None {
                let views = topic
                    .partitions
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let heard = LeaderView {
                            leader: p.leader_id,
                            leader_epoch: p.leader_epoch,
                        };
                        match cached.get(i) {
                            Some(known) if known.leader_epoch > heard.leader_epoch => *known,
                            _ => heard,
                        }
                    })
                    .collect();
                Ok(views)
            } else {
                Err(topic.error_code)
            };
            self.topics.insert(topic.name.clone(), entry);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight<P> {
    to: NodeId,
    sent_ms: u64,
    /// How long the request may wait for its answer: `request.timeout.ms`, or
    /// longer for a request the broker may hold on purpose (a JoinGroup).
    timeout_ms: u64,
    purpose: P,
}

/// A request that got no answer: its connection broke or it timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed<P> {
    pub purpose: P,
    pub to: NodeId,
    pub code: ErrorCode,
}

/// Which of a client's connections to a broker a request travels on.
///
/// Kafka's consumer talks to its group coordinator over a connection of its own
/// (`AbstractCoordinator` gives the coordinator the node id
/// `Integer.MAX_VALUE - id`), so closing one of the two connections to a broker
/// leaves the other open.
pub trait Connection {
    /// Whether the request goes on the connection to the group coordinator.
    fn to_group_coordinator(&self) -> bool {
        false
    }
}

/// The admin client's calls, each named by its token.
impl Connection for crate::client::Token {}
#[cfg(test)]
impl Connection for () {}
#[cfg(test)]
impl Connection for &str {}

/// Requests in flight and cached metadata, for one client core.
///
/// `P` is what the core remembers about each request (which batches a produce
/// carried, which call a metadata request serves, …).
#[derive(Debug)]
pub struct NetworkClient<P> {
    bootstrap: Vec<BrokerId>,
    request_timeout_ms: u64,
    retry_backoff_ms: u64,
    next_correlation_id: CorrelationId,
    in_flight: BTreeMap<CorrelationId, InFlight<P>>,
    pub metadata: MetadataCache,
    /// Topics the core wants metadata for (`None`: all topics).
    interesting_topics: BTreeSet<String>,
    metadata_update_wanted: bool,
    metadata_in_flight: Option<CorrelationId>,
    last_metadata_attempt_ms: Option<u64>,
    /// Rotates metadata requests over the known brokers.
    metadata_attempts: usize,
    /// Brokers whose connection broke or timed out since the last metadata
    /// answer: when they are all the metadata names, the client rebootstraps.
    unreachable: BTreeSet<BrokerId>,
}

impl<P: Clone + Connection> NetworkClient<P> {
    pub fn new(bootstrap: Vec<BrokerId>, request_timeout_ms: u64, retry_backoff_ms: u64) -> Self {
        assert!(
            !bootstrap.is_empty(),
            "bootstrap.servers names at least one broker"
        );
        NetworkClient {
            bootstrap,
            request_timeout_ms,
            retry_backoff_ms,
            next_correlation_id: 0,
            in_flight: BTreeMap::new(),
            metadata: MetadataCache::default(),
            interesting_topics: BTreeSet::new(),
            metadata_update_wanted: false,
            metadata_in_flight: None,
            last_metadata_attempt_ms: None,
            metadata_attempts: 0,
            unreachable: BTreeSet::new(),
        }
    }

    /// Sends a request and remembers why.
    pub fn send<E>(
        &mut self,
        now_ms: u64,
        to: NodeId,
        request: Request,
        purpose: P,
        effects: &mut Vec<Effect<E>>,
    ) -> CorrelationId {
        let timeout_ms = self.request_timeout_ms;
        self.send_with_timeout(now_ms, to, request, purpose, timeout_ms, effects)
    }

    /// Sends a request that may wait `timeout_ms` for its answer instead of
    /// `request.timeout.ms` (Kafka's client does this for JoinGroup, which the
    /// coordinator holds for up to the rebalance timeout).
    pub fn send_with_timeout<E>(
        &mut self,
        now_ms: u64,
        to: NodeId,
        request: Request,
        purpose: P,
        timeout_ms: u64,
        effects: &mut Vec<Effect<E>>,
    ) -> CorrelationId {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        self.in_flight.insert(
            correlation_id,
            InFlight {
                to,
                sent_ms: now_ms,
                timeout_ms,
                purpose,
            },
        );
        effects.push(Effect::Send {
            to,
            message: Message::Request {
                correlation_id,
                request,
            },
        });
        correlation_id
    }

    /// Sends a request nobody will answer (a produce with `acks=0`).
    pub fn send_without_response<E>(
        &mut self,
        to: NodeId,
        request: Request,
        effects: &mut Vec<Effect<E>>,
    ) {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        effects.push(Effect::Send {
            to,
            message: Message::Request {
                correlation_id,
                request,
            },
        });
    }

    /// Matches a response to its request. `None` for a request already given up.
    pub fn complete(&mut self, correlation_id: CorrelationId) -> Option<P> {
        self.in_flight.remove(&correlation_id).map(|f| f.purpose)
    }

    pub fn in_flight_to(&self, to: NodeId) -> usize {
        self.in_flight.values().filter(|f| f.to == to).count()
    }

    /// Requests in flight to `to` whose purpose matches `pred`.
    pub fn in_flight_to_where(&self, to: NodeId, pred: impl Fn(&P) -> bool) -> usize {
        self.in_flight
            .values()
            .filter(|f| f.to == to && pred(&f.purpose))
            .count()
    }

    pub fn in_flight(&self) -> impl Iterator<Item = &P> {
        self.in_flight.values().map(|f| &f.purpose)
    }

    /// Requests lost with a broken connection. Like Kafka's
    /// `handleServerDisconnect`, a lost connection asks for fresh metadata: the
    /// broker may be gone or no longer lead.
    pub fn on_disconnect(&mut self, peer: NodeId) -> Vec<Failed<P>> {
        let failed = self.fail_where(|f| f.to == peer, ErrorCode::NetworkException);
        if !failed.is_empty() {
            self.metadata_update_wanted = true;
            self.mark_unreachable(peer);
        }
        failed
    }

    // ANCHOR: request_timeout
    /// Requests on connections (see [`Connection`]) where one went unanswered
    /// for `request.timeout.ms` (or its own longer timeout). As Kafka's
    /// `NetworkClient.handleTimedOutRequests` does, the client closes each such
    /// connection, which fails *every* request in flight on it, and asks for
    /// fresh metadata. The answers may still have been written, so callers see
    /// timeouts; a response arriving later on the closed connection is dropped.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Failed<P>> {
        let connection = |f: &InFlight<P>| (f.to, f.purpose.to_group_coordinator());
        let closed: BTreeSet<(NodeId, bool)> = (self.in_flight.values())
            .filter(|f| now_ms >= f.sent_ms + f.timeout_ms)
            .map(connection)
            .collect();
        if closed.is_empty() {
            return Vec::new();
        }
        self.metadata_update_wanted = true;
        for &(peer, _) in &closed {
            self.mark_unreachable(peer);
        }
        self.fail_where(
            |f| closed.contains(&connection(f)),
            ErrorCode::RequestTimedOut,
        )
    }
    // ANCHOR_END: request_timeout

    fn fail_where(
        &mut self,
        pred: impl Fn(&InFlight<P>) -> bool,
        code: ErrorCode,
    ) -> Vec<Failed<P>> {
        let ids: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| pred(f))
            .map(|(&c, _)| c)
            .collect();
        let mut failed = Vec::new();
        for id in ids {
            let f = self.in_flight.remove(&id).expect("just listed");
            if self.metadata_in_flight == Some(id) {
                self.metadata_in_flight = None;
                self.metadata_update_wanted = true;
            }
            failed.push(Failed {
                purpose: f.purpose,
                to: f.to,
                code,
            });
        }
        failed
    }

    pub fn next_timeout_ms(&self) -> Option<u64> {
        self.in_flight
            .values()
            .map(|f| f.sent_ms + f.timeout_ms)
            .min()
    }

    fn mark_unreachable(&mut self, peer: NodeId) {
        if let NodeId::Broker(broker) = peer {
            self.unreachable.insert(broker);
        }
    }

    /// The brokers this client may talk to: the ones metadata named, else
    /// bootstrap; bootstrap again when every one metadata named is unreachable
    /// (a rebootstrap, see the module's header).
    pub fn brokers(&self) -> Vec<BrokerId> {
        let known = &self.metadata.brokers;
        if known.is_empty() || known.is_subset(&self.unreachable) {
            self.bootstrap.clone()
        } else {
            known.iter().copied().collect()
        }
    }

    /// A broker for a request that any broker can answer, rotating on each call
    /// so a dead broker is not asked forever.
    pub fn any_broker(&mut self) -> NodeId {
        let brokers = self.brokers();
        let pick = brokers[self.metadata_attempts % brokers.len()];
        self.metadata_attempts += 1;
        NodeId::Broker(pick)
    }

    pub fn want_topic(&mut self, topic: &str) {
        if self.interesting_topics.insert(topic.to_string()) {
            self.metadata_update_wanted = true;
        }
    }

    /// Asks for a metadata refresh at the next opportunity.
    pub fn request_metadata_update(&mut self) {
        self.metadata_update_wanted = true;
    }

    /// Sends a Metadata request if one is wanted, none is in flight and the
    /// backoff since the last attempt has passed. `purpose` tags the request.
    pub fn maybe_update_metadata<E>(
        &mut self,
        now_ms: u64,
        purpose: P,
        effects: &mut Vec<Effect<E>>,
    ) {
        if !self.metadata_update_wanted || self.metadata_in_flight.is_some() {
            return;
        }
        if self
            .last_metadata_attempt_ms
            .is_some_and(|t| now_ms < t + self.retry_backoff_ms)
        {
            return;
        }
        self.metadata_update_wanted = false;
        self.last_metadata_attempt_ms = Some(now_ms);
        let topics = Some(self.interesting_topics.iter().cloned().collect());
        let to = self.any_broker();
        let id = self.send(
            now_ms,
            to,
            Request::Metadata(MetadataRequest { topics }),
            purpose,
            effects,
        );
        self.metadata_in_flight = Some(id);
    }

    /// When a wanted metadata update may next be sent.
    pub fn next_metadata_attempt_ms(&self) -> Option<u64> {
        if !self.metadata_update_wanted || self.metadata_in_flight.is_some() {
            return None;
        }
        Some(
            self.last_metadata_attempt_ms
                .map_or(0, |t| t + self.retry_backoff_ms),
        )
    }

    /// Takes in a Metadata response (the caller has matched its correlation id).
    pub fn on_metadata_response(
        &mut self,
        correlation_id: CorrelationId,
        response: &MetadataResponse,
    ) {
        if self.metadata_in_flight == Some(correlation_id) {
            self.metadata_in_flight = None;
        }
        if response.brokers.is_empty() {
            // A broker that has just started and holds no metadata yet answers
            // with an empty cluster. Like Kafka's NetworkClient, ignore such an
            // answer and ask again after the backoff: taken in, it would make
            // every topic unknown and leave the client waiting for nothing.
            self.metadata_update_wanted = true;
            return;
        }
        self.metadata.update(response);
        self.unreachable.clear();
        // Keep asking until every wanted topic is known and every partition has
        // a leader (Kafka requests another update after any topic or partition
        // error that invalidates metadata).
        let incomplete = response.topics.iter().any(|t| {
            (t.error_code != ErrorCode::None && self.interesting_topics.contains(&t.name))
                || t.partitions.iter().any(|p| p.leader_id.is_none())
        });
        if incomplete {
            self.metadata_update_wanted = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(leader: BrokerId, leader_epoch: LeaderEpoch) -> MetadataResponse {
        MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                node_id: leader,
                listener: "PLAINTEXT".into(),
            }],
            topics: vec![MetadataResponseTopic {
                error_code: ErrorCode::None,
                name: "events".into(),
                partitions: vec![MetadataResponsePartition {
                    error_code: ErrorCode::None,
                    partition_index: 0,
                    leader_id: Some(leader),
                    leader_epoch,
                    replica_nodes: vec![1, 2, 3],
                    isr_nodes: vec![leader],
                }],
            }],
            metadata_version: 0,
        }
    }

    fn client() -> NetworkClient<()> {
        NetworkClient::new(vec![1, 2, 3], 30_000, 100)
    }

    fn metadata_request() -> Request {
        Request::Metadata(MetadataRequest { topics: None })
    }

    /// A request tagged with the connection it travels on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Via {
        coordinator: bool,
    }

    impl Connection for Via {
        fn to_group_coordinator(&self) -> bool {
            self.coordinator
        }
    }

    #[test]
    fn a_client_whose_known_brokers_are_all_unreachable_rebootstraps() {
        let mut network = client();
        let mut effects: Vec<Effect<()>> = Vec::new();
        // The cluster's answer names broker-1 alone (the others were fenced).
        network.on_metadata_response(0, &answer(1, 0));
        assert_eq!(network.brokers(), [1]);
        // broker-1's connection breaks: the metadata names no reachable broker,
        // and the client asks its bootstrap servers again.
        network.send(0, NodeId::Broker(1), metadata_request(), (), &mut effects);
        network.on_disconnect(NodeId::Broker(1));
        assert_eq!(network.brokers(), [1, 2, 3]);
        // The next answer is the client's metadata again.
        network.on_metadata_response(1, &answer(2, 1));
        assert_eq!(network.brokers(), [2]);

        // A timed-out connection counts as unreachable too; a broker still
        // reachable keeps the client on its metadata.
        let mut network = client();
        let mut two = answer(1, 0);
        two.brokers.push(MetadataResponseBroker {
            node_id: 3,
            listener: "PLAINTEXT".into(),
        });
        network.on_metadata_response(0, &two);
        network.send(0, NodeId::Broker(1), metadata_request(), (), &mut effects);
        network.expire(30_000);
        assert_eq!(network.brokers(), [1, 3], "broker-3 is still reachable");
        network.send(
            30_000,
            NodeId::Broker(3),
            metadata_request(),
            (),
            &mut effects,
        );
        network.expire(60_000);
        assert_eq!(network.brokers(), [1, 2, 3]);
    }

    #[test]
    fn a_timeout_on_the_coordinator_connection_leaves_the_other_connection_open() {
        let mut network: NetworkClient<Via> = NetworkClient::new(vec![1], 30_000, 100);
        let mut effects: Vec<Effect<()>> = Vec::new();
        let (heartbeat, fetch) = (Via { coordinator: true }, Via { coordinator: false });
        let b1 = NodeId::Broker(1);
        network.send(0, b1, metadata_request(), heartbeat, &mut effects);
        network.send(1_000, b1, metadata_request(), fetch, &mut effects);
        let failed = network.expire(30_000);
        assert_eq!(
            failed.iter().map(|f| f.purpose).collect::<Vec<_>>(),
            vec![heartbeat]
        );
        assert_eq!(
            network.in_flight().copied().collect::<Vec<_>>(),
            vec![fetch]
        );
    }

    #[test]
    fn a_timed_out_request_closes_its_connection_and_fails_all_in_flight_on_it() {
        let mut network: NetworkClient<&str> = NetworkClient::new(vec![1, 2, 3], 30_000, 100);
        let mut effects: Vec<Effect<()>> = Vec::new();
        let (b1, b2) = (NodeId::Broker(1), NodeId::Broker(2));
        network.send(0, b1, metadata_request(), "answered", &mut effects);
        network.send(
            20_000,
            b1,
            metadata_request(),
            "recent on broker-1",
            &mut effects,
        );
        network.send(500, b2, metadata_request(), "on broker-2", &mut effects);
        network.send(
            1_000,
            b1,
            metadata_request(),
            "old on broker-1",
            &mut effects,
        );
        assert_eq!(network.complete(0), Some("answered"));
        assert!(
            network.expire(30_499).is_empty(),
            "nothing has waited 30 s yet"
        );
        assert_eq!(
            network.next_metadata_attempt_ms(),
            None,
            "no refresh wanted"
        );

        // broker-2's request times out: only its connection closes.
        let failed = network.expire(30_500);
        let failed: Vec<_> = failed.iter().map(|f| (f.purpose, f.to, f.code)).collect();
        assert_eq!(
            failed,
            vec![("on broker-2", b2, ErrorCode::RequestTimedOut)]
        );
        // broker-1's old request times out, taking the recent one with it.
        let failed = network.expire(31_000);
        let failed: Vec<_> = failed.iter().map(|f| f.purpose).collect();
        assert_eq!(failed, vec!["recent on broker-1", "old on broker-1"]);
        assert_eq!(network.in_flight().count(), 0);
        assert_eq!(network.complete(1), None, "a late answer is dropped");
        assert!(
            network.next_metadata_attempt_ms().is_some(),
            "metadata is refreshed"
        );
    }

    #[test]
    fn an_empty_answer_from_a_starting_broker_is_ignored_and_asked_again() {
        let mut network = client();
        network.want_topic("events");
        let mut effects: Vec<Effect<()>> = Vec::new();
        network.maybe_update_metadata(0, (), &mut effects);
        network.on_metadata_response(0, &answer(2, 3));
        assert!(
            network.next_metadata_attempt_ms().is_none(),
            "nothing more wanted"
        );
        network.request_metadata_update();
        network.maybe_update_metadata(1_000, (), &mut effects);
        let empty = MetadataResponse {
            brokers: vec![],
            topics: vec![MetadataResponseTopic {
                error_code: ErrorCode::UnknownTopicOrPartition,
                name: "events".into(),
                partitions: vec![],
            }],
            metadata_version: 0,
        };
        network.on_metadata_response(1, &empty);
        let view = network.metadata.leader(&TopicPartition::new("events", 0));
        assert_eq!(view.map(|v| v.leader), Some(Some(2)), "the cache is kept");
        assert_eq!(
            network.next_metadata_attempt_ms(),
            Some(1_100),
            "asked again after the backoff"
        );
    }

    #[test]
    fn an_unknown_wanted_topic_is_asked_for_again() {
        let mut network = client();
        network.want_topic("events");
        let mut effects: Vec<Effect<()>> = Vec::new();
        network.maybe_update_metadata(0, (), &mut effects);
        let mut unknown = answer(2, 3);
        unknown.topics[0].error_code = ErrorCode::UnknownTopicOrPartition;
        unknown.topics[0].partitions.clear();
        network.on_metadata_response(0, &unknown);
        assert_eq!(network.next_metadata_attempt_ms(), Some(100));
    }

    #[test]
    fn metadata_with_an_older_leader_epoch_does_not_replace_a_newer_one() {
        let tp = TopicPartition::new("events", 0);
        let mut cache = MetadataCache::default();
        cache.update(&answer(2, 3));
        // A broker cut off from the controller still believes broker-1 leads, in epoch 1.
        cache.update(&answer(1, 1));
        let view = cache.leader(&tp).expect("known");
        assert_eq!((view.leader, view.leader_epoch), (Some(2), 3));
        cache.update(&answer(3, 4));
        let view = cache.leader(&tp).expect("known");
        assert_eq!(
            (view.leader, view.leader_epoch),
            (Some(3), 4),
            "a newer epoch replaces it"
        );
    }
}
