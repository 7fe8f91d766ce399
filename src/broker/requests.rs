//! The broker's request handlers: Metadata, CreateTopics, Produce, Fetch,
//! ListOffsets, OffsetsForLeaderEpoch and InitProducerId. One `on_<api>` function
//! per request kind.

use super::purgatory::{ParkedFetch, ParkedProduce};
use super::Broker;
use crate::bugs::Bug;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, Offset, TopicPartition};
use crate::log::Log;
use crate::node::Peer;
use crate::producer_state::SequenceCheck;
use crate::protocol::*;
use crate::record::RecordBatch;

impl Broker {
    pub(super) fn on_metadata(
        &mut self,
        from: Peer,
        correlation_id: CorrelationId,
        req: MetadataRequest,
    ) {
        let brokers = self
            .image
            .brokers
            .values()
            .filter(|b| !b.fenced)
            .map(|b| MetadataResponseBroker {
                node_id: b.broker_id,
                listener: b.listener.clone(),
            })
            .collect();
        let names: Vec<String> = req
            .topics
            .unwrap_or_else(|| self.image.topics.keys().cloned().collect());
        let topics = names
            .into_iter()
            .map(|name| self.describe_topic(name))
            .collect();
        let response = MetadataResponse {
            brokers,
            topics,
            metadata_version: self.image.version,
        };
        self.reply(from, correlation_id, Response::Metadata(response));
    }

    fn describe_topic(&self, name: String) -> MetadataResponseTopic {
        let Some(topic) = self.image.topics.get(&name) else {
            return MetadataResponseTopic {
                error_code: ErrorCode::UnknownTopicOrPartition,
                name,
                partitions: vec![],
            };
        };
        let partitions = topic
            .partitions
            .iter()
            .map(|p| MetadataResponsePartition {
                error_code: if p.leader.is_some() {
                    ErrorCode::None
                } else {
                    ErrorCode::LeaderNotAvailable
                },
                partition_index: p.partition,
                leader_id: p.leader,
                leader_epoch: p.leader_epoch,
                replica_nodes: p.replicas.clone(),
                isr_nodes: p.isr.clone(),
            })
            .collect();
        MetadataResponseTopic {
            error_code: ErrorCode::None,
            name,
            partitions,
        }
    }

    pub(super) fn on_create_topics(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: CreateTopicsRequest,
    ) {
        self.link
            .forward_create_topics(now_ms, from, correlation_id, req, &mut self.effects);
    }

    pub(super) fn on_delete_topics(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: DeleteTopicsRequest,
    ) {
        self.link
            .forward_delete_topics(now_ms, from, correlation_id, req, &mut self.effects);
    }

    pub(super) fn on_produce(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: ProduceRequest,
    ) {
        let mut responses = Vec::new();
        let mut waiting_for = Vec::new();
        for data in req.partitions {
            let tp = data.partition;
            let result = self.append_for_produce(
                now_ms,
                &tp,
                data.current_leader_epoch,
                data.records,
                req.acks,
            );
            let (error_code, base_offset) = match result {
                Ok((base_offset, next_offset)) => {
                    let epoch = self.leading[&tp].leader_epoch;
                    waiting_for.push((tp.clone(), next_offset, epoch));
                    (ErrorCode::None, base_offset)
                }
                Err(code) => (code, -1),
            };
            let log_start_offset = self.disk.logs.get(&tp).map_or(-1, |l| l.log_start_offset());
            responses.push(PartitionProduceResponse {
                partition: tp,
                error_code,
                base_offset,
                log_start_offset,
            });
        }
        // ANCHOR: acks
        match req.acks {
            Acks::None => {} // the producer is not listening
            Acks::Leader => self.reply(
                from,
                correlation_id,
                Response::Produce(ProduceResponse { responses }),
            ),
            Acks::All => {
                let deadline_ms = now_ms + req.timeout_ms;
                self.parked_produces.push(ParkedProduce {
                    from,
                    correlation_id,
                    responses,
                    waiting_for,
                    deadline_ms,
                });
            }
        }
        // ANCHOR_END: acks
        self.complete_parked(now_ms);
    }

    /// Appends as leader; returns the batch's base offset and the offset after it.
    fn append_for_produce(
        &mut self,
        now_ms: u64,
        tp: &TopicPartition,
        current_leader_epoch: Option<LeaderEpoch>,
        batch: RecordBatch,
        acks: Acks,
    ) -> Result<(Offset, Offset), ErrorCode> {
        if self.image.partition(tp).is_none() {
            return Err(ErrorCode::UnknownTopicOrPartition);
        }
        let leadership = self.leading.get(tp).ok_or(ErrorCode::NotLeaderOrFollower)?;
        check_epoch(current_leader_epoch, leadership.leader_epoch)?;
        // ANCHOR: min_isr
        let min_isr = self.effective_min_isr(tp);
        if acks == Acks::All && (leadership.isr.len() as i32) < min_isr {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        // ANCHOR_END: min_isr
        let records = batch.len();
        let log = self.disk.logs.get_mut(tp).expect("a leader has a log");
        match log.check_producer_sequence(self.config.rules.check_sequence, &batch)? {
            SequenceCheck::Append => {}
            // A retry of a batch already written: answer with where it went.
            SequenceCheck::Duplicate { base_offset } => {
                return Ok((base_offset, base_offset + records));
            }
        }
        let base_offset = self.leader_append(now_ms, tp, batch);
        Ok((base_offset, base_offset + records))
    }

    /// Appends a batch to a partition this broker leads, flushing as
    /// `log.flush.interval.messages` says, and moves the high watermark if the
    /// ISR allows. Returns the batch's base offset.
    pub(super) fn leader_append(
        &mut self,
        now_ms: u64,
        tp: &TopicPartition,
        batch: RecordBatch,
    ) -> Offset {
        let leader_epoch = self.leading[tp].leader_epoch;
        let records = batch.len();
        let log = self.disk.logs.get_mut(tp).expect("a leader has a log");
        let base_offset = log.append_as_leader(batch, leader_epoch, now_ms);
        if self
            .config
            .log_flush_interval_messages
            .is_some_and(|n| log.unflushed_records() >= n as i64)
        {
            log.flush();
        }
        let event = ClusterEvent::Appended {
            broker: self.broker_id,
            partition: tp.clone(),
            base_offset,
            records,
        };
        self.emit(event);
        self.maybe_advance_high_watermark(now_ms, tp);
        base_offset
    }

    pub(super) fn on_fetch(
        &mut self,
        now_ms: u64,
        from: Peer,
        correlation_id: CorrelationId,
        req: FetchRequest,
    ) {
        // ANCHOR: stale_replica_epoch
        // KIP-903 (Kafka 3.5+): a fetch from an older incarnation of the
        // follower than the one registered now (a delayed request from before
        // a restart) must not move its state: its log may be gone.
        let registered_epoch = (self.image.brokers.get(&req.replica_id)).map(|b| b.broker_epoch);
        let stale = req.replica_id >= 0
            && req.replica_epoch != -1
            && registered_epoch.is_some_and(|epoch| epoch > req.replica_epoch);
        if stale {
            let responses = (req.partitions.iter())
                .map(|p| FetchablePartitionResponse {
                    partition: p.partition.clone(),
                    error_code: ErrorCode::NotLeaderOrFollower,
                    high_watermark: -1,
                    log_start_offset: -1,
                    records: vec![],
                })
                .collect();
            let response = FetchResponse {
                error_code: ErrorCode::None,
                responses,
            };
            return self.reply(from, correlation_id, Response::Fetch(response));
        }
        // ANCHOR_END: stale_replica_epoch
        if req.replica_id >= 0 {
            // Only a fetch the leader can serve tells where the follower's log ends;
            // a fenced or out-of-range one says nothing about it (Kafka, too, updates
            // a follower's state only after a successful read).
            for p in &req.partitions {
                if self.fetchable(p).is_ok() {
                    self.record_follower_fetch(
                        now_ms,
                        &p.partition,
                        (req.replica_id, req.replica_epoch),
                        p.fetch_offset,
                    );
                }
            }
        }
        let deadline_ms = now_ms + req.max_wait_ms;
        self.parked_fetches.push(ParkedFetch {
            from,
            correlation_id,
            request: req,
            deadline_ms,
        });
        self.complete_parked(now_ms);
    }

    /// Kafka's checks before reading one partition for a fetch, in Kafka's order.
    fn fetchable(&self, p: &FetchPartition) -> Result<&Log, ErrorCode> {
        if self.image.partition(&p.partition).is_none() {
            return Err(ErrorCode::UnknownTopicOrPartition);
        }
        let leadership = self
            .leading
            .get(&p.partition)
            .ok_or(ErrorCode::NotLeaderOrFollower)?;
        // ANCHOR: fetch_epoch
        // KIP-320 (Kafka 2.1+): a fetch names the leader epoch its sender
        // believes in, and one from an older epoch is fenced. Before, a
        // follower that missed a leader change (a zombie) kept fetching from
        // its old log, and was counted caught up.
        if !self.config.bugs.on(Bug::Kip320) {
            check_epoch(p.current_leader_epoch, leadership.leader_epoch)?;
        }
        // ANCHOR_END: fetch_epoch
        let log = &self.disk.logs[&p.partition];
        if p.fetch_offset < log.log_start_offset() || p.fetch_offset > log.log_end_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        Ok(log)
    }

    /// Whether a fetch of `p` would now return neither an error nor a record.
    pub(super) fn nothing_to_read(&self, replica_id: i32, p: &FetchPartition) -> bool {
        self.fetchable(p)
            .is_ok_and(|log| p.fetch_offset >= read_up_to(replica_id, log))
    }

    /// Reads one partition for a fetch.
    pub(super) fn read_partition(
        &self,
        replica_id: i32,
        p: &FetchPartition,
    ) -> FetchablePartitionResponse {
        let log = match self.fetchable(p) {
            Ok(log) => log,
            Err(error_code) => {
                return FetchablePartitionResponse {
                    partition: p.partition.clone(),
                    error_code,
                    high_watermark: -1,
                    log_start_offset: -1,
                    records: vec![],
                }
            }
        };
        let read = log.read(
            p.fetch_offset,
            read_up_to(replica_id, log),
            p.partition_max_bytes,
        );
        FetchablePartitionResponse {
            partition: p.partition.clone(),
            error_code: ErrorCode::None,
            high_watermark: log.high_watermark(),
            log_start_offset: log.log_start_offset(),
            records: read.batches,
        }
    }

    pub(super) fn on_offsets_for_leader_epoch(
        &mut self,
        from: Peer,
        correlation_id: CorrelationId,
        req: OffsetsForLeaderEpochRequest,
    ) {
        let partitions = req
            .partitions
            .iter()
            .map(|p| self.epoch_end_offset(p))
            .collect();
        let response = OffsetsForLeaderEpochResponse { partitions };
        self.reply(
            from,
            correlation_id,
            Response::OffsetsForLeaderEpoch(response),
        );
    }

    fn epoch_end_offset(&self, p: &OffsetForLeaderPartition) -> EpochEndOffset {
        let answer = |error_code, leader_epoch, end_offset| EpochEndOffset {
            partition: p.partition.clone(),
            error_code,
            leader_epoch,
            end_offset,
        };
        let undefined = |code| answer(code, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        if self.image.partition(&p.partition).is_none() {
            return undefined(ErrorCode::UnknownTopicOrPartition);
        }
        let Some(leadership) = self.leading.get(&p.partition) else {
            return undefined(ErrorCode::NotLeaderOrFollower);
        };
        if let Err(code) = check_epoch(Some(p.current_leader_epoch), leadership.leader_epoch) {
            return undefined(code);
        }
        let log = &self.disk.logs[&p.partition];
        match log.end_offset_for_epoch(p.leader_epoch) {
            Some((epoch, end)) => answer(ErrorCode::None, epoch, end),
            // Older than every epoch here: as far as this log can tell, that epoch
            // ended where its first epoch starts. Kafka answers the same, so the
            // follower drops all it has of that epoch (after an unclean election,
            // everything the new leader never had).
            None if p.leader_epoch != UNDEFINED_EPOCH => match log.epoch_starts().first() {
                Some(&(_, first_start)) => answer(ErrorCode::None, p.leader_epoch, first_start),
                None => undefined(ErrorCode::None),
            },
            None => undefined(ErrorCode::None),
        }
    }

    /// Hands out a producer id. Simplification: Kafka's brokers take blocks of
    /// ids from the controller (`AllocateProducerIds`); here a broker derives
    /// them from its broker epoch, which the controller never gives twice, so ids
    /// are unique across brokers and restarts just the same.
    pub(super) fn on_init_producer_id(
        &mut self,
        from: Peer,
        correlation_id: CorrelationId,
        _req: InitProducerIdRequest,
    ) {
        let response = match self.link.broker_epoch() {
            Some(broker_epoch) => {
                self.producer_ids_issued += 1;
                InitProducerIdResponse {
                    error_code: ErrorCode::None,
                    producer_id: broker_epoch * PRODUCER_IDS_PER_BROKER_EPOCH
                        + self.producer_ids_issued,
                    producer_epoch: 0,
                }
            }
            None => InitProducerIdResponse {
                error_code: ErrorCode::CoordinatorNotAvailable,
                producer_id: -1,
                producer_epoch: -1,
            },
        };
        self.reply(from, correlation_id, Response::InitProducerId(response));
    }

    pub(super) fn on_list_offsets(
        &mut self,
        from: Peer,
        correlation_id: CorrelationId,
        req: ListOffsetsRequest,
    ) {
        let partitions = req
            .partitions
            .iter()
            .map(|p| self.list_offset(req.replica_id, p))
            .collect();
        let response = ListOffsetsResponse { partitions };
        self.reply(from, correlation_id, Response::ListOffsets(response));
    }

    fn list_offset(
        &self,
        replica_id: BrokerId,
        p: &ListOffsetsPartition,
    ) -> ListOffsetsPartitionResponse {
        let answer = |error_code, offset, leader_epoch| ListOffsetsPartitionResponse {
            partition: p.partition.clone(),
            error_code,
            offset,
            leader_epoch,
        };
        if self.image.partition(&p.partition).is_none() {
            return answer(ErrorCode::UnknownTopicOrPartition, -1, -1);
        }
        let Some(leadership) = self.leading.get(&p.partition) else {
            return answer(ErrorCode::NotLeaderOrFollower, -1, -1);
        };
        if let Err(code) = check_epoch(p.current_leader_epoch, leadership.leader_epoch) {
            return answer(code, -1, -1);
        }
        let log = &self.disk.logs[&p.partition];
        match p.timestamp {
            EARLIEST_TIMESTAMP => answer(
                ErrorCode::None,
                log.log_start_offset(),
                leadership.leader_epoch,
            ),
            // Consumers get the end of what is committed; a follower the log end.
            LATEST_TIMESTAMP if replica_id >= 0 => answer(
                ErrorCode::None,
                log.log_end_offset(),
                leadership.leader_epoch,
            ),
            // ANCHOR: offset_not_available
            // A new leader whose high watermark has not yet reached the start of
            // its epoch does not know where the committed log ends: the old
            // leader may have committed more. Kafka (2.2+, KIP-207) answers
            // OFFSET_NOT_AVAILABLE rather than an end that is too low, and the
            // client retries.
            LATEST_TIMESTAMP if leadership.epoch_start_offset > log.high_watermark() => {
                answer(ErrorCode::OffsetNotAvailable, -1, -1)
            }
            // ANCHOR_END: offset_not_available
            LATEST_TIMESTAMP => answer(
                ErrorCode::None,
                log.high_watermark(),
                leadership.leader_epoch,
            ),
            _ => answer(ErrorCode::InvalidRequest, -1, -1),
        }
    }
}

/// Producer ids a broker may hand out per broker epoch.
const PRODUCER_IDS_PER_BROKER_EPOCH: i64 = 1_000_000;

// ANCHOR: check_epoch
/// A request from an older epoch is fenced; one from a newer epoch means this
/// broker has not heard of the change yet.
fn check_epoch(requested: Option<i32>, mine: i32) -> Result<(), ErrorCode> {
    match requested {
        Some(e) if e < mine => Err(ErrorCode::FencedLeaderEpoch),
        Some(e) if e > mine => Err(ErrorCode::UnknownLeaderEpoch),
        _ => Ok(()),
    }
}
// ANCHOR_END: check_epoch

/// Where a fetch by `replica_id` stops reading `log`.
fn read_up_to(replica_id: i32, log: &Log) -> Offset {
    // ANCHOR: read_up_to
    // Consumers see only committed records; followers replicate the whole log.
    if replica_id >= 0 {
        log.log_end_offset()
    } else {
        log.high_watermark()
    }
    // ANCHOR_END: read_up_to
}
