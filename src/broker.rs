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
use crate::ids::{BrokerId, CorrelationId, NodeId, TopicPartition};
use crate::log::Log;
use crate::metadata::{MetadataImage, PartitionInfo};
use crate::node::{Effect, Node, Peer};
use crate::protocol::*;
use std::collections::BTreeMap;

mod controller_link;
mod follower;
mod groups;
mod leader;
mod purgatory;
mod requests;

use crate::group::coordinator::{GroupCoordinator, GroupCoordinatorConfig};
use controller_link::ControllerLink;
use follower::{Following, ReplicaFetcher};
use groups::PendingGroupAppend;
use leader::{FollowerProgress, Leadership};
use purgatory::{ParkedFetch, ParkedProduce};

#[derive(Debug)]
pub struct Broker {
    config: BrokerConfig,
    broker_id: BrokerId,
    disk: Disk,
    /// The broker's latest copy of the cluster metadata.
    image: MetadataImage,
    link: ControllerLink,
    leading: BTreeMap<TopicPartition, Leadership>,
    /// What this broker knew of each partition's followers when it last led
    /// it: kept only with the follower state reset guard switched off
    /// ([`crate::bugs::Bug::FollowerStateResetGuard`]), empty otherwise.
    former_followers: BTreeMap<TopicPartition, BTreeMap<BrokerId, FollowerProgress>>,
    following: BTreeMap<TopicPartition, Following>,
    fetcher: ReplicaFetcher,
    /// Producer ids handed out since registration (`InitProducerId`).
    producer_ids_issued: i64,
    /// The group coordinator for the `__consumer_offsets` partitions led here.
    groups: GroupCoordinator,
    group_appends: Vec<PendingGroupAppend>,
    /// When this broker last asked for `__consumer_offsets` to be created.
    offsets_topic_requested_ms: Option<u64>,
    parked_fetches: Vec<ParkedFetch>,
    parked_produces: Vec<ParkedProduce>,
    effects: Vec<Effect<ClusterEvent>>,
}

impl Broker {
    /// Which start of its process this broker is (see [`Broker::new`]).
    pub fn incarnation_id(&self) -> u64 {
        self.link.incarnation_id()
    }

    /// Starts a broker on `disk` (empty on first boot). A restarted broker rebuilds
    /// its in-memory state from what the disk kept, then registers again.
    /// `incarnation_id` is new at every start of the process (Kafka draws a
    /// random UUID; the harness counts starts): the controller refuses a new
    /// incarnation while the old one's session is still valid.
    pub fn new(config: BrokerConfig, mut disk: Disk, now_ms: u64, incarnation_id: u64) -> Self {
        for log in disk.logs.values_mut() {
            log.recover();
        }
        let broker_id = config.node_id;
        let offsets_topic_partitions = config.offsets_topic_num_partitions;
        let mut broker = Broker {
            link: ControllerLink::new(broker_id, incarnation_id, &config),
            config,
            broker_id,
            disk,
            image: MetadataImage::default(),
            leading: BTreeMap::new(),
            former_followers: BTreeMap::new(),
            following: BTreeMap::new(),
            fetcher: ReplicaFetcher::default(),
            producer_ids_issued: 0,
            groups: GroupCoordinator::new(GroupCoordinatorConfig {
                offsets_topic_num_partitions: offsets_topic_partitions,
                ..GroupCoordinatorConfig::default()
            }),
            group_appends: Vec::new(),
            offsets_topic_requested_ms: None,
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

    /// The configuration the broker was started with (a restart reuses it).
    pub fn config(&self) -> &BrokerConfig {
        &self.config
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

    /// Adopts a newer metadata image: lead, follow, or drop each partition.
    fn on_metadata_image(&mut self, now_ms: u64, image: MetadataImage) {
        if image.version <= self.image.version {
            return;
        }
        self.image = image;
        let coordinating = self.led_offsets_partitions();
        let me = self.broker_id;
        let mine: Vec<(TopicPartition, PartitionInfo)> = self
            .image
            .partitions()
            .filter(|(_, p)| p.replicas.contains(&me))
            .map(|(tp, p)| (tp, p.clone()))
            .collect();
        let assigned: Vec<&TopicPartition> = mine.iter().map(|(tp, _)| tp).collect();
        self.leading.retain(|tp, _| assigned.contains(&tp));
        self.following.retain(|tp, _| assigned.contains(&tp));
        self.drop_deleted_topics();
        for (tp, p) in &mine {
            match p.leader {
                Some(leader) if leader == me => {
                    let same_epoch = self
                        .leading
                        .get(tp)
                        .is_some_and(|l| l.leader_epoch == p.leader_epoch);
                    if same_epoch {
                        self.refresh_leadership(now_ms, tp, p);
                    } else {
                        self.become_leader(now_ms, tp, p);
                    }
                }
                Some(leader) => {
                    let same_epoch = self
                        .following
                        .get(tp)
                        .is_some_and(|f| f.leader_epoch == p.leader_epoch && f.leader == leader);
                    if !same_epoch {
                        self.become_follower(tp, leader, p.leader_epoch);
                    }
                }
                None => {
                    // Offline: nobody to follow, nothing to lead.
                    self.leading.remove(tp);
                    self.following.remove(tp);
                }
            }
        }
        self.move_group_coordination(now_ms, &coordinating);
        self.complete_parked(now_ms);
        self.drive_fetchers(now_ms);
    }

    /// Deletes the replicas of topics the metadata no longer lists (a
    /// DeleteTopics), as a KRaft broker deletes a partition when its
    /// metadata delta removes the topic. The controller keeps every topic on
    /// a disk it fsyncs, so no other image ever lacks a topic a log is of.
    fn drop_deleted_topics(&mut self) {
        let topics = &self.image.topics;
        let deleted = |tp: &TopicPartition| !topics.contains_key(&tp.topic);
        self.disk.logs.retain(|tp, _| !deleted(tp));
        self.former_followers.retain(|tp, _| !deleted(tp));
    }

    /// Acts on what the controller link finished: AlterPartition answers.
    fn after_link(&mut self, now_ms: u64) {
        let outcomes = self.link.take_alter_outcomes();
        if !outcomes.is_empty() {
            self.on_alter_partition_outcomes(now_ms, outcomes);
        }
    }

    /// Answers parked requests that can now be answered.
    fn complete_parked(&mut self, now_ms: u64) {
        self.complete_parked_produces(now_ms);
        if !self.group_appends.is_empty() {
            self.complete_group_appends(now_ms);
        }
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
                Request::DeleteTopics(req) => {
                    self.on_delete_topics(now_ms, from, correlation_id, req)
                }
                Request::Produce(req) => self.on_produce(now_ms, from, correlation_id, req),
                Request::Fetch(req) => self.on_fetch(now_ms, from, correlation_id, req),
                Request::ListOffsets(req) => self.on_list_offsets(from, correlation_id, req),
                Request::OffsetsForLeaderEpoch(req) => {
                    self.on_offsets_for_leader_epoch(from, correlation_id, req)
                }
                Request::InitProducerId(req) => self.on_init_producer_id(from, correlation_id, req),
                Request::FindCoordinator(req) => {
                    self.on_find_coordinator(now_ms, from, correlation_id, req)
                }
                request @ (Request::JoinGroup(_)
                | Request::SyncGroup(_)
                | Request::Heartbeat(_)
                | Request::LeaveGroup(_)
                | Request::OffsetCommit(_)
                | Request::OffsetFetch(_)) => {
                    self.on_group_request(now_ms, from, correlation_id, request)
                }
                Request::ElectLeaders(req) => self.link.forward_elect_leaders(
                    now_ms,
                    from,
                    correlation_id,
                    req,
                    &mut self.effects,
                ),
                other => panic!(
                    "{} is a controller API; brokers never receive it",
                    other.api_name()
                ),
            },
            Message::Response {
                correlation_id,
                response,
            } => match from.node {
                NodeId::Controller => {
                    let outcome =
                        self.link
                            .on_response(now_ms, correlation_id, response, &mut self.effects);
                    if let Some(image) = outcome.image {
                        self.on_metadata_image(now_ms, image);
                    }
                    self.after_link(now_ms);
                }
                NodeId::Broker(leader) => {
                    self.on_fetcher_response(now_ms, leader, correlation_id, response)
                }
                NodeId::Client(_) => {} // clients send no responses
            },
        }
        self.drive_fetchers(now_ms);
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) {
        match peer {
            NodeId::Controller => {
                self.link.on_disconnect(now_ms, &mut self.effects);
                self.after_link(now_ms);
            }
            NodeId::Broker(leader) => self.on_leader_disconnect(now_ms, leader),
            NodeId::Client(_) => {}
        }
        self.parked_fetches.retain(|p| p.from.node != peer);
        self.parked_produces.retain(|p| p.from.node != peer);
        self.drive_fetchers(now_ms);
    }

    fn on_tick(&mut self, now_ms: u64) {
        self.link
            .on_tick(now_ms, self.image.version, &mut self.effects);
        self.after_link(now_ms);
        self.expire_fetcher_requests(now_ms);
        self.shrink_isrs(now_ms);
        self.groups.on_tick(now_ms);
        self.drain_group_effects(now_ms);
        self.complete_parked(now_ms);
        self.drive_fetchers(now_ms);
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let parked = self.parked_fetches.iter().map(|p| p.deadline_ms);
        let produces = self.parked_produces.iter().map(|p| p.deadline_ms);
        let lag_max_ms = self.config.replica_lag_time_max_ms;
        // An unregistered broker cannot propose ISR changes: no shrink to wake for.
        let registered = self.link.broker_epoch().is_some();
        let shrinks = self
            .leading
            .iter()
            .filter(|_| registered)
            .filter_map(|(tp, l)| {
                let leader_leo = self.disk.logs.get(tp).map_or(0, |log| log.log_end_offset());
                l.next_shrink_check_ms(lag_max_ms, leader_leo)
            });
        parked
            .chain(produces)
            .chain(shrinks)
            .chain(self.link.next_deadline_ms())
            .chain(self.fetcher_deadline_ms())
            .chain(self.groups.next_deadline_ms())
            .min()
    }

    fn take_effects(&mut self) -> Vec<Effect<ClusterEvent>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        self.groups.invariants();
        for log in self.disk.logs.values() {
            log.invariants();
        }
        for tp in self.leading.keys() {
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
        // All three maps are sorted by partition: one walk of each suffices.
        let logs = self.disk.logs.keys();
        assert!(
            sorted_subset(self.leading.keys(), logs.clone()),
            "a leader has a log"
        );
        assert!(
            sorted_subset(self.following.keys(), logs),
            "a follower has a log"
        );
        assert!(
            sorted_disjoint(self.leading.keys(), self.following.keys()),
            "a broker never leads and follows the same partition"
        );
    }
}

/// Whether every item of `small` is in `big`, both in ascending order.
fn sorted_subset<'a, T: Ord + 'a>(
    small: impl Iterator<Item = &'a T>,
    big: impl Iterator<Item = &'a T>,
) -> bool {
    let mut big = big.peekable();
    small.into_iter().all(|item| {
        while big.next_if(|b| *b < item).is_some() {}
        big.next_if(|b| *b == item).is_some()
    })
}

/// Whether no item is in both, both in ascending order.
fn sorted_disjoint<'a, T: Ord + 'a>(
    a: impl Iterator<Item = &'a T>,
    b: impl Iterator<Item = &'a T>,
) -> bool {
    let mut b = b.peekable();
    a.into_iter().all(|item| {
        while b.next_if(|x| *x < item).is_some() {}
        b.peek() != Some(&item)
    })
}

#[cfg(test)]
mod tests;
