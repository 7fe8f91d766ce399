//! A deterministic in-memory network for one controller and N brokers.
//!
//! Every node is the real sans-IO state machine. The relay carries their messages
//! one at a time, in the order they were sent, and keeps a clock that only moves
//! when a test moves it; when it does, each node whose `next_deadline_ms` has come
//! is ticked, as the madsim driver would. Two faults are enough for replication:
//! - a **cut** between two nodes drops every message between them (in flight or
//!   later) and breaks their connection, so both see `on_disconnect`. Like a
//!   network partition, later requests over the cut are lost without an error and
//!   only their timeouts tell the sender;
//! - a **crash** of a broker keeps its disk (`Disk::crash` decides what survives)
//!   until a restart builds a new broker from it.
//!
//! A fake client, `NodeId::Client(1)`, sends requests to any node and collects
//! the answers. Unlike a simulation run nothing here is random: a test is one fixed
//! interleaving, so it can expect exact offsets and exact times.

use crate::broker::Broker;
use crate::config::{BrokerConfig, ControllerConfig};
use crate::controller::Controller;
use crate::disk::{CrashKind, Disk};
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, CorrelationId, NodeId, Offset, TopicPartition};
use crate::log::Log;
use crate::metadata::PartitionInfo;
use crate::node::{Effect, Node, Peer};
use crate::protocol::*;
use crate::record::RecordBatch;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub const CLIENT: NodeId = NodeId::Client(1);
pub const TOPIC: &str = "orders";
/// The produce timeout the tests use unless they say otherwise.
pub const PRODUCE_TIMEOUT_MS: u64 = 60_000;
/// Deliveries and ticks one instant may take before the relay calls it a livelock.
const STEPS_PER_INSTANT_MAX: usize = 100_000;

type AnyNode = dyn Node<Event = ClusterEvent>;

/// The one partition the tests watch.
pub fn orders_0() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// A message on its way, with the connection it travels on.
struct Envelope {
    to: NodeId,
    from: Peer,
    message: Message,
}

pub struct Relay {
    now_ms: u64,
    controller: Controller,
    brokers: BTreeMap<BrokerId, Broker>,
    configs: BTreeMap<BrokerId, BrokerConfig>,
    /// Disks of crashed brokers, waiting for a restart.
    crashed: BTreeMap<BrokerId, Disk>,
    queue: VecDeque<Envelope>,
    /// Unordered pairs of nodes that cannot reach each other.
    cuts: BTreeSet<(NodeId, NodeId)>,
    /// The last millisecond each node was ticked: at most one tick per millisecond.
    ticked_at_ms: BTreeMap<NodeId, u64>,
    /// When each node (first) last received a message from another (second).
    last_heard_ms: BTreeMap<(NodeId, NodeId), u64>,
    /// Requests lost to cuts, with sender and intended receiver.
    dropped: Vec<(NodeId, NodeId, Request)>,
    events: Vec<ClusterEvent>,
    next_correlation_id: CorrelationId,
    client_inbox: BTreeMap<CorrelationId, Response>,
}

/// Each ordered pair (opener, acceptor) has its own connection, as a TCP connection
/// one node opens to another; replies travel back on it.
fn connection_id(opener: NodeId, acceptor: NodeId) -> u64 {
    fn number(node: NodeId) -> u64 {
        match node {
            NodeId::Controller => 0,
            NodeId::Broker(id) => id as u64,
            NodeId::Client(id) => 900 + id as u64,
        }
    }
    number(opener) * 1_000 + number(acceptor)
}

fn unordered(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

impl Relay {
    /// Starts the controller and one broker per config at time 0, and lets them
    /// register and heartbeat until every broker is live.
    pub fn start(configs: Vec<BrokerConfig>) -> Self {
        let mut relay = Relay {
            now_ms: 0,
            controller: Controller::new(ControllerConfig::default(), Disk::default(), 0),
            brokers: BTreeMap::new(),
            configs: configs.iter().map(|c| (c.node_id, c.clone())).collect(),
            crashed: BTreeMap::new(),
            queue: VecDeque::new(),
            cuts: BTreeSet::new(),
            ticked_at_ms: BTreeMap::new(),
            last_heard_ms: BTreeMap::new(),
            dropped: Vec::new(),
            events: Vec::new(),
            next_correlation_id: 0,
            client_inbox: BTreeMap::new(),
        };
        for config in configs {
            let id = config.node_id;
            relay
                .brokers
                .insert(id, Broker::new(config, Disk::default(), 0));
            relay.on_node(NodeId::Broker(id), |_, _| {});
        }
        relay.settle();
        let live = relay.controller.image().live_brokers();
        assert_eq!(live, relay.configs.keys().copied().collect::<Vec<_>>());
        relay
    }

    /// `count` brokers (ids 1..=count) with Kafka's default configuration.
    pub fn with_brokers(count: BrokerId) -> Self {
        Relay::start((1..=count).map(BrokerConfig::new).collect())
    }

    /// `count` brokers whose configuration `configure` adjusts.
    pub fn with_brokers_configured(count: BrokerId, configure: impl Fn(&mut BrokerConfig)) -> Self {
        let configs = (1..=count)
            .map(|id| {
                let mut config = BrokerConfig::new(id);
                configure(&mut config);
                config
            })
            .collect();
        Relay::start(configs)
    }

    /// Creates topic `orders` with one partition, then lets a second pass so that
    /// every follower is fetching.
    pub fn create_orders(&mut self, replication_factor: i16, configs: &[(&str, &str)]) {
        let request = Request::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: TOPIC.into(),
                num_partitions: 1,
                replication_factor,
                configs: configs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }],
            timeout_ms: 30_000,
        });
        let correlation_id = self.send(NodeId::Controller, request);
        let Some(Response::CreateTopics(r)) = self.answer(correlation_id) else {
            panic!("the controller answers CreateTopics at once");
        };
        assert_eq!(r.topics[0].error_code, ErrorCode::None, "{r:?}");
        self.advance_by(1_000);
    }

    // ---- The clock ---------------------------------------------------------------

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Moves the clock to `target_ms`, waking every node whose deadline comes on
    /// the way and carrying every message sent meanwhile.
    pub fn advance_to(&mut self, target_ms: u64) {
        assert!(target_ms >= self.now_ms, "the clock never goes back");
        self.settle();
        while let Some(next) = self.next_wake_ms().filter(|&t| t <= target_ms) {
            self.now_ms = next;
            self.settle();
        }
        self.now_ms = target_ms;
        self.settle();
    }

    pub fn advance_by(&mut self, ms: u64) {
        self.advance_to(self.now_ms + ms);
    }

    /// Delivers queued messages and ticks due nodes until nothing is left to do
    /// at this instant.
    fn settle(&mut self) {
        for _ in 0..STEPS_PER_INSTANT_MAX {
            if !self.deliver_next() && !self.tick_due_nodes() {
                return;
            }
        }
        panic!("the cluster never settled at {} ms", self.now_ms);
    }

    fn running_nodes(&self) -> Vec<NodeId> {
        let brokers = self.brokers.keys().map(|&id| NodeId::Broker(id));
        std::iter::once(NodeId::Controller).chain(brokers).collect()
    }

    /// When `id` wants its next tick. A node is ticked at most once per
    /// millisecond, as the madsim driver does, so a deadline it cannot act on
    /// yet never spins.
    fn wake_ms(&self, id: NodeId) -> Option<u64> {
        let deadline = self.node(id)?.next_deadline_ms()?;
        if self.ticked_at_ms.get(&id) == Some(&self.now_ms) {
            Some(deadline.max(self.now_ms + 1))
        } else {
            Some(deadline)
        }
    }

    fn next_wake_ms(&self) -> Option<u64> {
        self.running_nodes()
            .into_iter()
            .filter_map(|id| self.wake_ms(id))
            .min()
    }

    fn tick_due_nodes(&mut self) -> bool {
        let now = self.now_ms;
        let due: Vec<NodeId> = self
            .running_nodes()
            .into_iter()
            .filter(|&id| self.wake_ms(id).is_some_and(|t| t <= now))
            .collect();
        for &id in &due {
            self.ticked_at_ms.insert(id, now);
            self.on_node(id, |node, now| node.on_tick(now));
        }
        !due.is_empty()
    }

    // ---- Carrying messages -----------------------------------------------------------

    fn node(&self, id: NodeId) -> Option<&AnyNode> {
        match id {
            NodeId::Controller => Some(&self.controller),
            NodeId::Broker(b) => self.brokers.get(&b).map(|b| b as &AnyNode),
            NodeId::Client(_) => None,
        }
    }

    fn node_mut(&mut self, id: NodeId) -> Option<&mut AnyNode> {
        match id {
            NodeId::Controller => Some(&mut self.controller),
            NodeId::Broker(b) => self.brokers.get_mut(&b).map(|b| b as &mut AnyNode),
            NodeId::Client(_) => None,
        }
    }

    /// Runs `act` on a running node, checks its invariants and carries out what
    /// it asked for.
    fn on_node(&mut self, id: NodeId, act: impl FnOnce(&mut AnyNode, u64)) {
        let now = self.now_ms;
        let Some(node) = self.node_mut(id) else {
            return;
        };
        act(node, now);
        node.invariants();
        for effect in node.take_effects() {
            match effect {
                Effect::Send { to, message } => self.queue.push_back(Envelope {
                    to,
                    from: Peer {
                        node: id,
                        connection: connection_id(id, to),
                    },
                    message,
                }),
                Effect::Reply { to, message } => self.queue.push_back(Envelope {
                    to: to.node,
                    from: Peer {
                        node: id,
                        connection: to.connection,
                    },
                    message,
                }),
                Effect::Emit(event) => self.events.push(event),
            }
        }
    }

    /// Carries the oldest message in flight; false when there is none.
    fn deliver_next(&mut self) -> bool {
        let Some(Envelope { to, from, message }) = self.queue.pop_front() else {
            return false;
        };
        if self.cuts.contains(&unordered(from.node, to)) {
            if let Message::Request { request, .. } = message {
                self.dropped.push((from.node, to, request));
            }
            return true;
        }
        match to {
            NodeId::Client(_) => {
                if let Message::Response {
                    correlation_id,
                    response,
                } = message
                {
                    self.client_inbox.insert(correlation_id, response);
                }
            }
            node if self.node(node).is_some() => {
                self.last_heard_ms.insert((node, from.node), self.now_ms);
                self.on_node(node, |n, now| n.on_message(now, from, message));
            }
            _ => {} // sent to a crashed broker
        }
        true
    }

    /// When `receiver` last got a message from `sender`.
    pub fn last_heard_ms(&self, receiver: NodeId, sender: NodeId) -> u64 {
        self.last_heard_ms[&(receiver, sender)]
    }

    /// Requests `from` sent to `to` that a cut swallowed, oldest first.
    pub fn dropped_requests(&self, from: NodeId, to: NodeId) -> Vec<&Request> {
        self.dropped
            .iter()
            .filter(|(f, t, _)| *f == from && *t == to)
            .map(|(_, _, request)| request)
            .collect()
    }

    // ---- Faults ---------------------------------------------------------------------

    /// `a` and `b` can no longer reach each other; their connection breaks.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        self.cuts.insert(unordered(a, b));
        self.queue
            .retain(|e| unordered(e.from.node, e.to) != unordered(a, b));
        self.on_node(a, |node, now| node.on_disconnect(now, b));
        self.on_node(b, |node, now| node.on_disconnect(now, a));
        self.settle();
    }

    /// Cuts `broker` off from the controller and every other broker; clients
    /// still reach it.
    pub fn isolate(&mut self, broker: BrokerId) {
        let me = NodeId::Broker(broker);
        for other in self.running_nodes() {
            if other != me {
                self.cut(me, other);
            }
        }
    }

    /// `a` and `b` reach each other again (new connections; nothing lost returns).
    pub fn heal(&mut self, a: NodeId, b: NodeId) {
        self.cuts.remove(&unordered(a, b));
    }

    /// Heals every cut.
    pub fn heal_all(&mut self) {
        self.cuts.clear();
    }

    /// `broker` goes down with `kind`; every node connected to it sees the
    /// connection break.
    pub fn crash(&mut self, broker: BrokerId, kind: CrashKind) {
        let me = NodeId::Broker(broker);
        let mut disk = self
            .brokers
            .remove(&broker)
            .expect("only a running broker crashes")
            .into_disk();
        disk.crash(kind);
        self.crashed.insert(broker, disk);
        self.queue.retain(|e| e.to != me && e.from.node != me);
        self.ticked_at_ms.remove(&me);
        for other in self.running_nodes() {
            self.on_node(other, |node, now| node.on_disconnect(now, me));
        }
        self.settle();
    }

    /// Starts a crashed broker again on what its disk kept.
    pub fn restart(&mut self, broker: BrokerId) {
        let disk = self
            .crashed
            .remove(&broker)
            .expect("only a crashed broker restarts");
        let config = self.configs[&broker].clone();
        self.brokers
            .insert(broker, Broker::new(config, disk, self.now_ms));
        self.on_node(NodeId::Broker(broker), |_, _| {});
        self.settle();
    }

    // ---- The client ---------------------------------------------------------------

    /// Sends `request` from the client to `to` and carries what follows at this
    /// instant. Returns the request's correlation id.
    pub fn send(&mut self, to: NodeId, request: Request) -> CorrelationId {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        self.queue.push_back(Envelope {
            to,
            from: Peer {
                node: CLIENT,
                connection: connection_id(CLIENT, to),
            },
            message: Message::Request {
                correlation_id,
                request,
            },
        });
        self.settle();
        correlation_id
    }

    /// Takes the answer to the client's request, if it came.
    pub fn answer(&mut self, correlation_id: CorrelationId) -> Option<Response> {
        self.client_inbox.remove(&correlation_id)
    }

    /// Produces `values` to `orders-0` on `broker`.
    pub fn produce(&mut self, broker: BrokerId, acks: Acks, values: &[&str]) -> CorrelationId {
        let request = Request::Produce(ProduceRequest {
            acks,
            timeout_ms: PRODUCE_TIMEOUT_MS,
            partitions: vec![PartitionProduceData {
                partition: orders_0(),
                current_leader_epoch: None,
                records: RecordBatch::from_values(values),
            }],
        });
        self.send(NodeId::Broker(broker), request)
    }

    /// The answer to a produce, if it came: its error code and base offset.
    pub fn produce_answer(&mut self, correlation_id: CorrelationId) -> Option<(ErrorCode, Offset)> {
        let response = self.answer(correlation_id)?;
        let Response::Produce(r) = response else {
            panic!("not a Produce response: {response:?}");
        };
        assert_eq!(r.responses.len(), 1);
        Some((r.responses[0].error_code, r.responses[0].base_offset))
    }

    /// Produces with `acks=1`, which the broker answers at once.
    pub fn produce_acks_1(&mut self, broker: BrokerId, values: &[&str]) -> (ErrorCode, Offset) {
        let correlation_id = self.produce(broker, Acks::Leader, values);
        self.produce_answer(correlation_id)
            .expect("acks=1 is answered at once")
    }

    /// Asks `broker` where `leader_epoch` ends, as a follower in
    /// `current_leader_epoch` would.
    pub fn offsets_for_leader_epoch(
        &mut self,
        broker: BrokerId,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> EpochEndOffset {
        let request = Request::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
            replica_id: CONSUMER_REPLICA_ID,
            partitions: vec![OffsetForLeaderPartition {
                partition: orders_0(),
                current_leader_epoch,
                leader_epoch,
            }],
        });
        let correlation_id = self.send(NodeId::Broker(broker), request);
        let Some(Response::OffsetsForLeaderEpoch(mut r)) = self.answer(correlation_id) else {
            panic!("OffsetsForLeaderEpoch is answered at once");
        };
        assert_eq!(r.partitions.len(), 1);
        r.partitions.remove(0)
    }

    // ---- What the tests look at ------------------------------------------------------------

    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// `orders-0` as the controller has it.
    pub fn partition(&self) -> PartitionInfo {
        self.controller
            .image()
            .partition(&orders_0())
            .expect("orders-0 exists")
            .clone()
    }

    /// `broker`'s log of `orders-0`.
    pub fn log(&self, broker: BrokerId) -> &Log {
        self.brokers
            .get(&broker)
            .expect("a running broker")
            .log(&orders_0())
            .expect("a replica of orders-0 has a log")
    }

    pub fn high_watermark(&self, broker: BrokerId) -> Offset {
        self.log(broker).high_watermark()
    }

    pub fn log_end_offset(&self, broker: BrokerId) -> Offset {
        self.log(broker).log_end_offset()
    }

    /// Every record in `broker`'s log as (offset, value).
    pub fn records(&self, broker: BrokerId) -> Vec<(Offset, String)> {
        self.log(broker)
            .batches()
            .iter()
            .flat_map(|b| b.offset_records().map(|(o, r)| (o, r.value.clone())))
            .collect()
    }

    /// Everything the nodes reported, in order.
    pub fn events(&self) -> &[ClusterEvent] {
        &self.events
    }

    /// The ISR changes the controller accepted: (ISR, partition epoch).
    pub fn isr_changes(&self) -> Vec<(Vec<BrokerId>, i32)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClusterEvent::IsrChanged {
                    isr,
                    partition_epoch,
                    ..
                } => Some((isr.clone(), *partition_epoch)),
                _ => None,
            })
            .collect()
    }

    /// Every truncation: (broker, new log end offset, records dropped).
    pub fn truncations(&self) -> Vec<(BrokerId, Offset, i64)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClusterEvent::Truncated {
                    broker,
                    log_end_offset,
                    records,
                    ..
                } => Some((*broker, *log_end_offset, *records)),
                _ => None,
            })
            .collect()
    }
}
