//! The broker: leads the partitions the controller placed on it.
//!
//! Requests from clients (Metadata, Produce, Fetch, ListOffsets, CreateTopics) are
//! answered from the broker's own logs and its copy of the cluster metadata, which it
//! pulls from the controller. Fetches long-poll: a fetch that finds less than
//! `fetch.min.bytes` is parked ("purgatory" in Kafka) until data arrives or
//! `fetch.max.wait.ms` passes. `acks=all` produces are parked the same way until the
//! high watermark covers them.
//!
//! CreateTopics sent to a broker is forwarded to the controller, as KRaft brokers do.

use crate::config::BrokerConfig;
use crate::disk::Disk;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::log::Log;
use crate::metadata::MetadataImage;
use crate::node::{Effect, Node, Peer};
use crate::protocol::*;
use std::collections::BTreeMap;

mod controller_link;
mod purgatory;
mod requests;

use controller_link::ControllerLink;
use purgatory::{ParkedFetch, ParkedProduce};

/// What a broker knows about a partition it currently leads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leadership {
    leader_epoch: LeaderEpoch,
    /// Log end offsets of the other ISR members, as last reported by their fetches.
    follower_leo: BTreeMap<BrokerId, Offset>,
}

#[derive(Debug)]
pub struct Broker {
    config: BrokerConfig,
    broker_id: BrokerId,
    disk: Disk,
    /// The broker's latest copy of the cluster metadata.
    image: MetadataImage,
    link: ControllerLink,
    leading: BTreeMap<TopicPartition, Leadership>,
    parked_fetches: Vec<ParkedFetch>,
    parked_produces: Vec<ParkedProduce>,
    effects: Vec<Effect<ClusterEvent>>,
}

impl Broker {
    /// Starts a broker on `disk` (empty on first boot). A restarted broker rebuilds
    /// its in-memory state from what the disk kept, then registers again.
    pub fn new(config: BrokerConfig, mut disk: Disk, now_ms: u64) -> Self {
        for log in disk.logs.values_mut() {
            log.recover();
        }
        let broker_id = config.node_id;
        let mut broker = Broker {
            link: ControllerLink::new(broker_id, &config),
            config,
            broker_id,
            disk,
            image: MetadataImage::default(),
            leading: BTreeMap::new(),
            parked_fetches: Vec::new(),
            parked_produces: Vec::new(),
            effects: Vec::new(),
        };
        broker.link.start(now_ms, &mut broker.effects);
        broker
    }

    pub fn broker_id(&self) -> BrokerId {
        self.broker_id
    }

    pub fn log(&self, tp: &TopicPartition) -> Option<&Log> {
        self.disk.logs.get(tp)
    }

    /// Hands the disk back to the harness (the node is going away).
    pub fn into_disk(self) -> Disk {
        self.disk
    }

    fn reply(&mut self, to: Peer, correlation_id: CorrelationId, response: Response) {
        let message = Message::Response {
            correlation_id,
            response,
        };
        self.effects.push(Effect::Reply { to, message });
    }

    fn emit(&mut self, event: ClusterEvent) {
        self.effects.push(Effect::Emit(event));
    }

    /// Adopts a newer metadata image: take up or give up leadership.
    fn on_metadata_image(&mut self, now_ms: u64, image: MetadataImage) {
        if image.version <= self.image.version {
            return;
        }
        self.image = image;
        let me = self.broker_id;
        let should_lead: BTreeMap<TopicPartition, LeaderEpoch> = self
            .image
            .partitions()
            .filter(|(_, p)| p.leader == Some(me))
            .map(|(tp, p)| (tp, p.leader_epoch))
            .collect();
        self.leading
            .retain(|tp, l| should_lead.get(tp) == Some(&l.leader_epoch));
        for (tp, leader_epoch) in should_lead {
            if self.leading.contains_key(&tp) {
                continue;
            }
            self.disk.logs.entry(tp.clone()).or_default();
            self.leading.insert(
                tp.clone(),
                Leadership {
                    leader_epoch,
                    follower_leo: BTreeMap::new(),
                },
            );
            self.emit(ClusterEvent::BecameLeader {
                broker: me,
                partition: tp.clone(),
                leader_epoch,
            });
            self.maybe_advance_high_watermark(&tp);
        }
        self.complete_parked(now_ms);
    }

    /// HW = min LEO over the ISR; it never moves back on a leader.
    fn maybe_advance_high_watermark(&mut self, tp: &TopicPartition) {
        let Some(leadership) = self.leading.get(tp) else {
            return;
        };
        let Some(partition) = self.image.partition(tp) else {
            return;
        };
        let log = self.disk.logs.get_mut(tp).expect("a leader has a log");
        let min_isr_leo = partition
            .isr
            .iter()
            .map(|b| {
                if *b == self.broker_id {
                    log.log_end_offset()
                } else {
                    leadership.follower_leo.get(b).copied().unwrap_or(0)
                }
            })
            .min()
            .expect("the ISR is never empty");
        if min_isr_leo > log.high_watermark() {
            log.set_high_watermark(min_isr_leo);
            let event = ClusterEvent::HighWatermark {
                broker: self.broker_id,
                partition: tp.clone(),
                high_watermark: min_isr_leo,
            };
            self.emit(event);
        }
    }

    /// Answers parked requests that can now be answered.
    fn complete_parked(&mut self, now_ms: u64) {
        self.complete_parked_produces(now_ms);
        self.complete_parked_fetches(now_ms);
    }
}

impl Node for Broker {
    type Event = ClusterEvent;

    fn on_message(&mut self, now_ms: u64, from: Peer, message: Message) {
        match message {
            Message::Request {
                correlation_id,
                request,
            } => match request {
                Request::Metadata(req) => self.on_metadata(from, correlation_id, req),
                Request::CreateTopics(req) => {
                    self.on_create_topics(now_ms, from, correlation_id, req)
                }
                Request::Produce(req) => self.on_produce(now_ms, from, correlation_id, req),
                Request::Fetch(req) => self.on_fetch(now_ms, from, correlation_id, req),
                Request::ListOffsets(req) => self.on_list_offsets(from, correlation_id, req),
                other => panic!(
                    "{} is a controller API; brokers never receive it",
                    other.api_name()
                ),
            },
            Message::Response {
                correlation_id,
                response,
            } => {
                if from.node == NodeId::Controller {
                    let outcome =
                        self.link
                            .on_response(now_ms, correlation_id, response, &mut self.effects);
                    if let Some(image) = outcome.image {
                        self.on_metadata_image(now_ms, image);
                    }
                }
            }
        }
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) {
        if peer == NodeId::Controller {
            self.link.on_disconnect(now_ms, &mut self.effects);
        }
        self.parked_fetches.retain(|p| p.from.node != peer);
        self.parked_produces.retain(|p| p.from.node != peer);
    }

    fn on_tick(&mut self, now_ms: u64) {
        self.link
            .on_tick(now_ms, self.image.version, &mut self.effects);
        self.complete_parked(now_ms);
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let parked = self.parked_fetches.iter().map(|p| p.deadline_ms);
        let produces = self.parked_produces.iter().map(|p| p.deadline_ms);
        parked
            .chain(produces)
            .chain(self.link.next_deadline_ms())
            .min()
    }

    fn take_effects(&mut self) -> Vec<Effect<ClusterEvent>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        for (tp, log) in &self.disk.logs {
            log.invariants();
            if self.leading.contains_key(tp) {
                let p = self
                    .image
                    .partition(tp)
                    .expect("led partitions are in the metadata");
                assert_eq!(
                    p.leader,
                    Some(self.broker_id),
                    "{tp}: leading without the controller's word"
                );
            }
        }
        assert!(
            self.leading
                .keys()
                .all(|tp| self.disk.logs.contains_key(tp)),
            "a leader has a log"
        );
    }
}

#[cfg(test)]
mod tests;
