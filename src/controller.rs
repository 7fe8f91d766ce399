//! The controller: the single writer of cluster metadata (the seed's "ZooKeeper").
//!
//! Brokers register and heartbeat; a broker silent for `broker.session.timeout.ms`
//! is fenced: it loses leadership and leaves every ISR (the last member stays).
//! CreateTopics places replicas round-robin over live brokers; DeleteTopics removes
//! a topic's partitions from the metadata (KRaft's `RemoveTopicRecord`), and each
//! broker drops its replicas of them when it pulls that image. Brokers pull metadata
//! with long-polling fetches.
//!
//! Simplification: one controller node, as KRaft with a single-voter quorum. Real
//! KRaft runs 3 or 5 controllers replicating `__cluster_metadata` with Raft, and
//! ZooKeeper-era Kafka kept the same facts in ZooKeeper znodes. A crash of this
//! controller freezes metadata until it returns: no elections, no ISR changes.

use crate::bugs::Bug;
use crate::config::{ControllerConfig, TopicConfig};
use crate::disk::Disk;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, CorrelationId, NodeId, TopicPartition};
use crate::metadata::{BrokerInfo, MetadataImage, PartitionInfo, TopicInfo};
use crate::node::{Effect, Node, Peer};
use crate::protocol::*;
use std::collections::BTreeMap;

pub mod election;

/// A broker's metadata fetch, held until the metadata changes or it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ParkedMetadataFetch {
    from: Peer,
    correlation_id: CorrelationId,
    known_version: u64,
    deadline_ms: u64,
}

#[derive(Debug)]
pub struct Controller {
    config: ControllerConfig,
    disk: Disk,
    image: MetadataImage,
    /// Last heartbeat time of each registered broker.
    last_heartbeat_ms: BTreeMap<BrokerId, u64>,
    parked: Vec<ParkedMetadataFetch>,
    effects: Vec<Effect<ClusterEvent>>,
}

impl Controller {
    /// Starts a controller on `disk` (empty on first boot), as if restarted at `now_ms`.
    /// Every registered broker gets a full session timeout of grace.
    pub fn new(config: ControllerConfig, disk: Disk, now_ms: u64) -> Self {
        let image = disk.metadata.clone().unwrap_or_default();
        let last_heartbeat_ms = image.brokers.keys().map(|&id| (id, now_ms)).collect();
        Controller {
            config,
            disk,
            image,
            last_heartbeat_ms,
            parked: Vec::new(),
            effects: Vec::new(),
        }
    }

    pub fn image(&self) -> &MetadataImage {
        &self.image
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

    /// Publishes a change: bump the version, persist, wake waiting brokers.
    fn commit(&mut self, now_ms: u64) {
        self.image.version += 1;
        self.image.invariants();
        self.disk.metadata = Some(self.image.clone());
        self.answer_parked_fetches(now_ms);
    }

    fn answer_parked_fetches(&mut self, now_ms: u64) {
        let version = self.image.version;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|p| p.known_version < version || p.deadline_ms <= now_ms);
        self.parked = waiting;
        for p in ready {
            let image = (p.known_version < version).then(|| self.image.clone());
            let response = Response::ClusterMetadataFetch(ClusterMetadataFetchResponse { image });
            self.reply(p.from, p.correlation_id, response);
        }
    }

    fn on_broker_registration(
        &mut self,
        now_ms: u64,
        from: Peer,
        cid: CorrelationId,
        req: BrokerRegistrationRequest,
    ) {
        // ANCHOR: duplicate_registration
        // A new incarnation of a broker whose session is still valid is refused
        // (Kafka's `ClusterControlManager.registerBroker`): the controller cannot
        // tell a restart from a second broker with the same id. The restarted
        // broker retries until the old session expires and it is fenced.
        let existing = self.image.brokers.get(&req.broker_id);
        // Without the incarnation check a restart looks like the same broker
        // registering again (the registration incarnation guard switched off).
        let restarted = existing.is_some_and(|b| b.incarnation_id != req.incarnation_id)
            && !self.config.bugs.on(Bug::RegistrationIncarnationGuard);
        if restarted && self.has_valid_session(now_ms, req.broker_id) {
            let response = BrokerRegistrationResponse {
                error_code: ErrorCode::DuplicateBrokerRegistration,
                broker_epoch: -1,
            };
            self.reply(from, cid, Response::BrokerRegistration(response));
            return;
        }
        // ANCHOR_END: duplicate_registration
        // A (re-)registering broker starts fenced: it may have lost data or metadata
        // while away, so it leads nothing until its first heartbeat.
        // ANCHOR: broker_epoch
        let broker_epoch = self.image.version as i64 + 1;
        // ANCHOR_END: broker_epoch
        self.image.brokers.insert(
            req.broker_id,
            BrokerInfo {
                broker_id: req.broker_id,
                broker_epoch,
                incarnation_id: req.incarnation_id,
                listener: req.listener,
                fenced: true,
            },
        );
        self.last_heartbeat_ms.insert(req.broker_id, now_ms);
        if restarted {
            self.partition_changes(req.broker_id, election::on_broker_reregistered);
        }
        self.commit(now_ms);
        self.emit(ClusterEvent::BrokerRegistered {
            broker: req.broker_id,
            broker_epoch,
        });
        let response = BrokerRegistrationResponse {
            error_code: ErrorCode::None,
            broker_epoch,
        };
        self.reply(from, cid, Response::BrokerRegistration(response));
    }

    /// Whether `broker` is unfenced and heartbeated within its session timeout
    /// (Kafka's `BrokerHeartbeatManager.hasValidSession`: a fenced broker has none).
    fn has_valid_session(&self, now_ms: u64, broker: BrokerId) -> bool {
        let unfenced = self.image.brokers.get(&broker).is_some_and(|b| !b.fenced);
        let last = self.last_heartbeat_ms.get(&broker).copied().unwrap_or(0);
        unfenced && now_ms < last + self.config.broker_session_timeout_ms
    }

    fn on_broker_heartbeat(
        &mut self,
        now_ms: u64,
        from: Peer,
        cid: CorrelationId,
        req: BrokerHeartbeatRequest,
    ) {
        let error_code = match self.image.brokers.get(&req.broker_id) {
            None => ErrorCode::BrokerIdNotRegistered,
            Some(b) if b.broker_epoch != req.broker_epoch => ErrorCode::StaleBrokerEpoch,
            Some(_) => ErrorCode::None,
        };
        // ANCHOR: heartbeat
        if error_code == ErrorCode::None {
            self.last_heartbeat_ms.insert(req.broker_id, now_ms);
            if self.image.brokers[&req.broker_id].fenced {
                self.unfence(now_ms, req.broker_id);
            }
        }
        // ANCHOR_END: heartbeat
        let is_fenced = self
            .image
            .brokers
            .get(&req.broker_id)
            .is_none_or(|b| b.fenced);
        let response = BrokerHeartbeatResponse {
            error_code,
            is_fenced,
        };
        self.reply(from, cid, Response::BrokerHeartbeat(response));
    }

    fn on_cluster_metadata_fetch(
        &mut self,
        now_ms: u64,
        from: Peer,
        cid: CorrelationId,
        req: ClusterMetadataFetchRequest,
    ) {
        let deadline_ms = now_ms + req.max_wait_ms.min(self.config.metadata_fetch_max_wait_ms);
        self.parked.push(ParkedMetadataFetch {
            from,
            correlation_id: cid,
            known_version: req.known_version,
            deadline_ms,
        });
        self.answer_parked_fetches(now_ms);
    }

    fn on_create_topics(
        &mut self,
        now_ms: u64,
        from: Peer,
        cid: CorrelationId,
        req: CreateTopicsRequest,
    ) {
        let mut results = Vec::new();
        let mut created = false;
        for topic in req.topics {
            let name = topic.name.clone();
            let (error_code, error_message) = match self.create_topic(topic) {
                Ok(()) => {
                    created = true;
                    (ErrorCode::None, None)
                }
                Err((code, message)) => (code, Some(message)),
            };
            results.push(CreatableTopicResult {
                name,
                error_code,
                error_message,
            });
        }
        if created {
            self.commit(now_ms);
        }
        self.reply(
            from,
            cid,
            Response::CreateTopics(CreateTopicsResponse { topics: results }),
        );
    }

    fn on_delete_topics(
        &mut self,
        now_ms: u64,
        from: Peer,
        cid: CorrelationId,
        req: DeleteTopicsRequest,
    ) {
        let mut responses = Vec::new();
        let mut deleted = false;
        for name in req.topic_names {
            let (error_code, error_message) = match self.delete_topic(&name) {
                Ok(()) => {
                    deleted = true;
                    (ErrorCode::None, None)
                }
                Err((code, message)) => (code, Some(message)),
            };
            responses.push(DeletableTopicResult {
                name,
                error_code,
                error_message,
            });
        }
        if deleted {
            self.commit(now_ms);
        }
        let response = Response::DeleteTopics(DeleteTopicsResponse { responses });
        self.reply(from, cid, response);
    }

    /// Removes `name` and its partitions from the metadata. Kafka's controller
    /// answers at once too: the replicas are deleted by the brokers afterwards.
    fn delete_topic(&mut self, name: &str) -> Result<(), (ErrorCode, String)> {
        // `__consumer_offsets` too: Kafka 4.x's controller deletes an internal
        // topic like any other (only `kafka-topics.sh` refuses to ask). Every
        // group's coordinator then unloads, and the next FindCoordinator
        // creates the topic afresh: every committed offset is gone.
        let Some(topic) = self.image.topics.remove(name) else {
            return Err((
                ErrorCode::UnknownTopicOrPartition,
                "This server does not host this topic-partition.".into(),
            ));
        };
        self.emit(ClusterEvent::TopicDeleted {
            topic: topic.name,
            partitions: topic.partitions.len() as i32,
        });
        Ok(())
    }

    fn on_alter_partition(
        &mut self,
        now_ms: u64,
        from: Peer,
        cid: CorrelationId,
        req: AlterPartitionRequest,
    ) {
        let current_epoch = self
            .image
            .brokers
            .get(&req.broker_id)
            .map(|b| b.broker_epoch);
        if current_epoch != Some(req.broker_epoch) {
            let response = AlterPartitionResponse {
                error_code: ErrorCode::StaleBrokerEpoch,
                partitions: vec![],
            };
            self.reply(from, cid, Response::AlterPartition(response));
            return;
        }
        let live = self.image.live_brokers();
        let mut results = Vec::new();
        let mut changes = Vec::new();
        for data in req.partitions {
            let Some(p) = self.image.partition(&data.partition) else {
                results.push(AlterPartitionResult {
                    partition: data.partition,
                    error_code: ErrorCode::UnknownTopicOrPartition,
                    leader_id: None,
                    leader_epoch: -1,
                    isr: vec![],
                    partition_epoch: -1,
                });
                continue;
            };
            let rules = self.rules(&data.partition.topic, &live);
            let registered = |b: BrokerId| self.image.brokers.get(&b).map(|i| i.broker_epoch);
            // Before KIP-903 (3.5) AlterPartition carried no broker epochs:
            // with the switch on, they are read as absent (-1).
            let unchecked = vec![-1; data.new_isr.len()];
            let broker_epochs = match self.config.bugs.on(Bug::Kip903) {
                true => &unchecked,
                false => &data.new_isr_broker_epochs,
            };
            // ANCHOR: partition_epoch_guard
            // A proposal is made on the ISR of one partition epoch; if the ISR
            // changed since (a fenced broker left it), the proposal is stale
            // and is refused (INVALID_UPDATE_VERSION). With the switch on, it
            // is read as made on the current epoch.
            let partition_epoch = match self.config.bugs.on(Bug::AlterPartitionEpochGuard) {
                true => p.partition_epoch,
                false => data.partition_epoch,
            };
            // ANCHOR_END: partition_epoch_guard
            let outcome = election::alter_isr(
                p,
                req.broker_id,
                (data.leader_epoch, partition_epoch),
                (&data.new_isr, broker_epochs),
                registered,
                &rules,
            );
            let (error_code, state) = match outcome {
                Ok(next) => {
                    changes.push((data.partition.clone(), next.clone(), false));
                    (ErrorCode::None, next)
                }
                Err(code) => (code, p.clone()),
            };
            results.push(AlterPartitionResult {
                partition: data.partition,
                error_code,
                leader_id: state.leader,
                leader_epoch: state.leader_epoch,
                isr: state.isr,
                partition_epoch: state.partition_epoch,
            });
        }
        if !changes.is_empty() {
            self.apply_partition_changes(changes);
            self.commit(now_ms);
        }
        let response = AlterPartitionResponse {
            error_code: ErrorCode::None,
            partitions: results,
        };
        self.reply(from, cid, Response::AlterPartition(response));
    }

    fn on_elect_leaders(
        &mut self,
        now_ms: u64,
        from: Peer,
        cid: CorrelationId,
        req: ElectLeadersRequest,
    ) {
        let live = self.image.live_brokers();
        let wanted: Vec<TopicPartition> = match req.partitions {
            Some(list) => list,
            None => self.image.partitions().map(|(tp, _)| tp).collect(),
        };
        let mut results = Vec::new();
        let mut changes = Vec::new();
        for tp in wanted {
            let outcome = match self.image.partition(&tp) {
                None => Err(ErrorCode::UnknownTopicOrPartition),
                Some(p) => match req.election_type {
                    ElectionType::Preferred => {
                        election::elect_preferred(p, &live).map(|next| (next, false))
                    }
                    ElectionType::Unclean if p.leader.is_some() => {
                        Err(ErrorCode::ElectionNotNeeded)
                    }
                    ElectionType::Unclean => {
                        let rules = election::Rules {
                            unclean: true,
                            ..self.rules(&tp.topic, &live)
                        };
                        election::elect(p, &rules).ok_or(ErrorCode::EligibleLeadersNotAvailable)
                    }
                },
            };
            let error_code = match outcome {
                Ok((next, unclean)) => {
                    changes.push((tp.clone(), next, unclean));
                    ErrorCode::None
                }
                Err(code) => code,
            };
            let error_message = (error_code != ErrorCode::None).then(|| match error_code {
                ErrorCode::ElectionNotNeeded => {
                    "Leader election not needed for topic partition.".into()
                }
                ErrorCode::PreferredLeaderNotAvailable => {
                    "The preferred leader is not alive or not in the ISR.".into()
                }
                other => other.name().to_string(),
            });
            results.push(PartitionElectionResult {
                partition: tp,
                error_code,
                error_message,
            });
        }
        if !changes.is_empty() {
            self.apply_partition_changes(changes);
            self.commit(now_ms);
        }
        let response = ElectLeadersResponse {
            error_code: ErrorCode::None,
            results,
        };
        self.reply(from, cid, Response::ElectLeaders(response));
    }

    fn create_topic(&mut self, mut topic: CreatableTopic) -> Result<(), (ErrorCode, String)> {
        // KIP-464: -1 asks for the controller's defaults.
        if topic.num_partitions == -1 {
            topic.num_partitions = self.config.num_partitions;
        }
        if topic.replication_factor == -1 {
            topic.replication_factor = self.config.default_replication_factor;
        }
        if let Err(message) = crate::config::validate_topic_name(&topic.name) {
            return Err((ErrorCode::InvalidTopicException, message));
        }
        if self.image.topics.contains_key(&topic.name) {
            return Err((
                ErrorCode::TopicAlreadyExists,
                format!("Topic '{}' already exists.", topic.name),
            ));
        }
        if topic.num_partitions < 1 {
            return Err((
                ErrorCode::InvalidPartitions,
                "Number of partitions must be larger than 0.".into(),
            ));
        }
        let live = self.image.live_brokers();
        let rf = topic.replication_factor;
        if rf < 1 || rf as usize > live.len() {
            let message = format!(
                "Replication factor: {rf} larger than available brokers: {}.",
                live.len()
            );
            let message = if rf < 1 {
                "Replication factor must be larger than 0.".into()
            } else {
                message
            };
            return Err((ErrorCode::InvalidReplicationFactor, message));
        }
        let mut config = TopicConfig::from_map(&topic.configs)
            .map_err(|e| (ErrorCode::InvalidConfig, e.to_string()))?;
        // Before Kafka 0.11 (KIP-106) a topic that did not say otherwise
        // allowed unclean leader elections.
        if self.config.bugs.on(Bug::Kip106)
            && !topic.configs.contains_key("unclean.leader.election.enable")
        {
            config.unclean_leader_election_enable = true;
            config.unclean_by_old_default = true;
        }
        if config.min_insync_replicas > rf as i32 {
            let message = format!(
                "min.insync.replicas {} is larger than the replication factor {rf}",
                config.min_insync_replicas
            );
            return Err((ErrorCode::InvalidConfig, message));
        }
        // ANCHOR: placement
        // Leaders spread round-robin; the start shifts per topic so that small
        // topics do not all lead on the first broker.
        let start = self.image.topics.len();
        let partitions: Vec<PartitionInfo> = (0..topic.num_partitions)
            .map(|p| {
                let replicas: Vec<BrokerId> = (0..rf as usize)
                    .map(|j| live[(start + p as usize + j) % live.len()])
                    .collect();
                PartitionInfo {
                    partition: p,
                    leader: Some(replicas[0]),
                    isr: replicas.clone(),
                    elr: vec![],
                    replicas,
                    leader_epoch: 0,
                    partition_epoch: 0,
                }
            })
            .collect();
        // ANCHOR_END: placement
        let replicas = partitions.iter().map(|p| p.replicas.clone()).collect();
        self.emit(ClusterEvent::TopicCreated {
            topic: topic.name.clone(),
            replicas,
        });
        let info = TopicInfo {
            name: topic.name.clone(),
            config,
            partitions,
        };
        self.image.topics.insert(topic.name, info);
        Ok(())
    }

    /// Fences a broker: it leaves every ISR (unless last) and loses leadership.
    fn fence(&mut self, now_ms: u64, broker: BrokerId) {
        if let Some(info) = self.image.brokers.get_mut(&broker) {
            info.fenced = true;
        }
        self.emit(ClusterEvent::BrokerFenced { broker });
        self.partition_changes(broker, election::on_broker_fenced);
        self.commit(now_ms);
    }

    fn unfence(&mut self, now_ms: u64, broker: BrokerId) {
        if let Some(info) = self.image.brokers.get_mut(&broker) {
            info.fenced = false;
        }
        self.elect_where_leaderless();
        self.commit(now_ms);
        self.emit(ClusterEvent::BrokerUnfenced { broker });
    }

    /// Applies `rule` to every partition `broker` is a replica of.
    fn partition_changes(&mut self, broker: BrokerId, rule: election::BrokerRule) {
        let live: Vec<BrokerId> = self.image.live_brokers();
        let changes: Vec<(TopicPartition, PartitionInfo, bool)> = self
            .image
            .partitions()
            .filter(|(_, p)| p.replicas.contains(&broker))
            .filter_map(|(tp, p)| {
                let rules = self.rules(&tp.topic, &live);
                rule(p, broker, &rules).map(|(p, u)| (tp, p, u))
            })
            .collect();
        self.apply_partition_changes(changes);
    }

    /// The election rules for a partition of `topic`, from its configuration.
    fn rules<'a>(&self, topic: &str, live: &'a [BrokerId]) -> election::Rules<'a> {
        let config = &self.image.topics[topic].config;
        let min_isr = usize::try_from(config.min_insync_replicas).unwrap_or(1);
        election::Rules {
            live,
            unclean: config.unclean_leader_election_enable,
            elr_min_isr: (self.config.eligible_leader_replicas
                && !self.config.bugs.on(Bug::Kip966))
            .then_some(min_isr),
        }
    }

    fn elect_where_leaderless(&mut self) {
        let live = self.image.live_brokers();
        let changes: Vec<(TopicPartition, PartitionInfo, bool)> = self
            .image
            .partitions()
            .filter(|(_, p)| p.leader.is_none())
            .filter_map(|(tp, p)| {
                let rules = self.rules(&tp.topic, &live);
                election::elect(p, &rules).map(|(p, u)| (tp, p, u))
            })
            .collect();
        self.apply_partition_changes(changes);
    }

    fn apply_partition_changes(&mut self, changes: Vec<(TopicPartition, PartitionInfo, bool)>) {
        for (tp, new, unclean) in changes {
            let slot = self
                .image
                .partition_mut(&tp)
                .expect("changed partitions exist");
            let leader_changed = slot.leader != new.leader;
            let isr_changed = slot.isr != new.isr || slot.elr != new.elr;
            *slot = new.clone();
            if !leader_changed && isr_changed {
                self.emit(ClusterEvent::IsrChanged {
                    partition: tp,
                    isr: new.isr,
                    elr: new.elr,
                    partition_epoch: new.partition_epoch,
                });
            } else if leader_changed {
                self.emit(ClusterEvent::LeaderElected {
                    partition: tp,
                    leader: new.leader,
                    leader_epoch: new.leader_epoch,
                    isr: new.isr,
                    elr: new.elr,
                    unclean,
                });
            }
        }
    }
}

impl Node for Controller {
    type Event = ClusterEvent;

    fn on_message(&mut self, now_ms: u64, from: Peer, message: Message) {
        let Message::Request {
            correlation_id: cid,
            request,
        } = message
        else {
            return; // the controller sends no requests, so it expects no responses
        };
        match request {
            Request::BrokerRegistration(req) => self.on_broker_registration(now_ms, from, cid, req),
            Request::BrokerHeartbeat(req) => self.on_broker_heartbeat(now_ms, from, cid, req),
            Request::ClusterMetadataFetch(req) => {
                self.on_cluster_metadata_fetch(now_ms, from, cid, req)
            }
            Request::CreateTopics(req) => self.on_create_topics(now_ms, from, cid, req),
            Request::DeleteTopics(req) => self.on_delete_topics(now_ms, from, cid, req),
            Request::AlterPartition(req) => self.on_alter_partition(now_ms, from, cid, req),
            Request::ElectLeaders(req) => self.on_elect_leaders(now_ms, from, cid, req),
            other => panic!(
                "{} is a broker API; the controller never receives it",
                other.api_name()
            ),
        }
    }

    fn on_disconnect(&mut self, _now_ms: u64, peer: NodeId) {
        self.parked.retain(|p| p.from.node != peer);
    }

    fn on_tick(&mut self, now_ms: u64) {
        // ANCHOR: session_expiry
        let timeout_ms = self.config.broker_session_timeout_ms;
        let expired: Vec<BrokerId> = self
            .image
            .brokers
            .values()
            .filter(|b| !b.fenced && now_ms >= self.last_heartbeat_ms[&b.broker_id] + timeout_ms)
            .map(|b| b.broker_id)
            .collect();
        for broker in expired {
            self.fence(now_ms, broker);
        }
        // ANCHOR_END: session_expiry
        self.answer_parked_fetches(now_ms);
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let sessions =
            self.image.brokers.values().filter(|b| !b.fenced).map(|b| {
                self.last_heartbeat_ms[&b.broker_id] + self.config.broker_session_timeout_ms
            });
        sessions
            .chain(self.parked.iter().map(|p| p.deadline_ms))
            .min()
    }

    fn take_effects(&mut self) -> Vec<Effect<ClusterEvent>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        self.image.invariants();
        assert!(self
            .image
            .brokers
            .keys()
            .all(|b| self.last_heartbeat_ms.contains_key(b)));
        if self.image.version > 0 {
            assert_eq!(
                self.disk.metadata.as_ref(),
                Some(&self.image),
                "every change is persisted"
            );
        }
    }
}

#[cfg(test)]
mod tests;
