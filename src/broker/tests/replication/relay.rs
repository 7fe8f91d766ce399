//! The replication tests' cluster, and the words they share.
//!
//! A [`Relay`] is a [`Cluster`] (the real controller and brokers on the
//! deterministic in-memory network of [`crate::testing`]) that settles after
//! every step, so a test reads as a list of steps and their exact outcomes.
//! Faults are cuts (messages lost, connections broken) and crashes; a fake
//! client, `NodeId::Client(1)`, sends requests and collects the answers. Nothing
//! is random: a test is one fixed interleaving, so it can expect exact offsets
//! and exact times.

use crate::config::BrokerConfig;
use crate::controller::Controller;
use crate::disk::CrashKind;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, CorrelationId, NodeId, Offset, TopicPartition};
use crate::log::Log;
use crate::metadata::PartitionInfo;
use crate::protocol::*;
use crate::record::RecordBatch;
use crate::testing::{Cluster, Envelope, Network, Observer, Server};
use std::collections::BTreeMap;
use std::convert::Infallible;

pub const CLIENT: NodeId = NodeId::Client(1);
pub const TOPIC: &str = "orders";
/// The produce timeout the tests use unless they say otherwise.
pub const PRODUCE_TIMEOUT_MS: u64 = 60_000;

/// The one partition the tests watch.
pub fn orders_0() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// What the tests ask of the network besides the nodes' state.
#[derive(Default)]
struct Watch {
    /// When each node (first) last received a message from another (second).
    last_heard_ms: BTreeMap<(NodeId, NodeId), u64>,
    /// Requests the network lost, with sender and intended receiver.
    lost: Vec<(NodeId, NodeId, Request)>,
}

impl Observer<Server> for Watch {
    type Error = Infallible;

    fn on_delivery(
        &mut self,
        network: &Network<Server>,
        envelope: &Envelope,
    ) -> Result<(), Infallible> {
        let heard = (envelope.to, envelope.from.node);
        self.last_heard_ms.insert(heard, network.now_ms());
        Ok(())
    }

    fn on_loss(&mut self, envelope: &Envelope) {
        if let Message::Request { request, .. } = &envelope.message {
            self.lost
                .push((envelope.from.node, envelope.to, request.clone()));
        }
    }
}

pub struct Relay {
    cluster: Cluster,
    watch: Watch,
}

impl Relay {
    /// Starts the controller and one broker per config at time 0, and lets them
    /// register and heartbeat until every broker is live.
    pub fn start(configs: Vec<BrokerConfig>) -> Self {
        Relay {
            cluster: Cluster::start(configs),
            watch: Watch::default(),
        }
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
        self.cluster.now_ms()
    }

    /// Moves the clock to `target_ms`, waking every node whose deadline comes on
    /// the way and carrying every message sent meanwhile.
    pub fn advance_to(&mut self, target_ms: u64) {
        let Ok(()) = self.cluster.advance_to(target_ms, &mut self.watch);
    }

    pub fn advance_by(&mut self, ms: u64) {
        self.advance_to(self.now_ms() + ms);
    }

    /// Carries everything that can happen at this instant.
    fn settle(&mut self) {
        let Ok(()) = self.cluster.settle(&mut self.watch);
    }

    /// When `receiver` last got a message from `sender`.
    pub fn last_heard_ms(&self, receiver: NodeId, sender: NodeId) -> u64 {
        self.watch.last_heard_ms[&(receiver, sender)]
    }

    /// Requests `from` sent to `to` that the network lost, oldest first.
    pub fn dropped_requests(&self, from: NodeId, to: NodeId) -> Vec<&Request> {
        self.watch
            .lost
            .iter()
            .filter(|(f, t, _)| *f == from && *t == to)
            .map(|(_, _, request)| request)
            .collect()
    }

    // ---- Faults ---------------------------------------------------------------------

    /// `a` and `b` can no longer reach each other; their connection breaks.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        let Ok(()) = self.cluster.cut(a, b, &mut self.watch);
        self.settle();
    }

    /// Cuts `broker` off from the controller and every other broker; clients
    /// still reach it.
    pub fn isolate(&mut self, broker: BrokerId) {
        let me = NodeId::Broker(broker);
        let others: Vec<NodeId> = self.cluster.running().filter(|&n| n != me).collect();
        for other in others {
            self.cut(me, other);
        }
    }

    /// `a` and `b` reach each other again (new connections; nothing lost returns).
    pub fn heal(&mut self, a: NodeId, b: NodeId) {
        self.cluster.heal(a, b);
    }

    /// Heals every cut.
    pub fn heal_all(&mut self) {
        self.cluster.heal_all();
    }

    /// `broker` goes down with `kind`; every node connected to it sees the
    /// connection break.
    pub fn crash(&mut self, broker: BrokerId, kind: CrashKind) {
        let Ok(()) = self.cluster.crash_broker(broker, kind, &mut self.watch);
        self.settle();
    }

    /// Starts a crashed broker again on what its disk kept, and lets time pass
    /// until the controller has taken its new incarnation: at once if the old
    /// one was already fenced, else once its session is over (the controller
    /// refuses the new incarnation until then).
    pub fn restart(&mut self, broker: BrokerId) {
        let Ok(()) = self.cluster.restart_broker(broker, &mut self.watch);
        self.settle();
        let deadline_ms = self.now_ms() + 20_000;
        while !self.registered_live(broker) && self.now_ms() < deadline_ms {
            self.advance_by(100);
        }
        assert!(self.registered_live(broker), "broker-{broker} came back");
    }

    /// Whether the controller has `broker`'s running incarnation, unfenced.
    fn registered_live(&self, broker: BrokerId) -> bool {
        let Some(Server::Broker(running)) = self.cluster.node(NodeId::Broker(broker)) else {
            return false;
        };
        let image = self.cluster.controller().image();
        image
            .brokers
            .get(&broker)
            .is_some_and(|b| b.incarnation_id == running.incarnation_id() && !b.fenced)
    }

    // ---- The client ---------------------------------------------------------------

    /// Sends `request` from the client to `to` and carries what follows at this
    /// instant. Returns the request's correlation id.
    pub fn send(&mut self, to: NodeId, request: Request) -> CorrelationId {
        let correlation_id = self.cluster.send(CLIENT, to, request);
        self.settle();
        correlation_id
    }

    /// Takes the answer to the client's request, if it came.
    pub fn answer(&mut self, correlation_id: CorrelationId) -> Option<Response> {
        self.cluster.answer(CLIENT, correlation_id)
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

    /// A consumer's `ListOffsets` for `orders-0` at `broker`: (error, offset).
    pub fn list_offsets(&mut self, broker: BrokerId, timestamp: i64) -> (ErrorCode, Offset) {
        let request = Request::ListOffsets(ListOffsetsRequest {
            replica_id: CONSUMER_REPLICA_ID,
            partitions: vec![ListOffsetsPartition {
                partition: orders_0(),
                current_leader_epoch: None,
                timestamp,
            }],
        });
        let correlation_id = self.send(NodeId::Broker(broker), request);
        let Some(Response::ListOffsets(r)) = self.answer(correlation_id) else {
            panic!("ListOffsets is answered at once");
        };
        assert_eq!(r.partitions.len(), 1);
        (r.partitions[0].error_code, r.partitions[0].offset)
    }

    // ---- What the tests look at ------------------------------------------------------------

    pub fn controller(&self) -> &Controller {
        self.cluster.controller()
    }

    /// `orders-0` as the controller has it.
    pub fn partition(&self) -> PartitionInfo {
        self.controller()
            .image()
            .partition(&orders_0())
            .expect("orders-0 exists")
            .clone()
    }

    /// `broker`'s log of `orders-0`.
    pub fn log(&self, broker: BrokerId) -> &Log {
        self.cluster
            .broker(broker)
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
            .flat_map(|b| b.offset_records().map(|(o, r)| (o, r.value_text())))
            .collect()
    }

    /// Everything the nodes reported, in order.
    pub fn events(&self) -> &[ClusterEvent] {
        self.cluster.events()
    }

    /// The ISR changes the controller accepted: (ISR, partition epoch).
    pub fn isr_changes(&self) -> Vec<(Vec<BrokerId>, i32)> {
        self.events()
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
        self.events()
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
