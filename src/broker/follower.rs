//! The follower's side of replication: the replica fetcher.
//!
//! Replication is pull-based. For each leader it follows partitions of, a broker
//! keeps one request in flight, as Kafka's replica fetcher thread does:
//! - first, for partitions that just met a new leader, it finds where its log and
//!   the leader's agree and cuts its divergent tail. With leader epochs (Kafka
//!   0.11+, KIP-101) it asks `OffsetsForLeaderEpoch(its latest epoch)` and truncates
//!   to min(the leader's end of that epoch, its own end of it). When the leader
//!   answers with an older epoch the follower never had (both led uncleanly, in
//!   turn), it cuts back to its own end of the epoch below and asks again, until
//!   the two name the same epoch (Kafka 2.0+, KIP-279). With the old rule
//!   (`truncation = high-watermark`) it truncates to its own high watermark at once,
//!   which can throw away records the leader already counted as committed;
//! - then it sends `Fetch` from its log end offset. The leader answers with records
//!   (long-polling up to `replica.fetch.wait.max.ms`) and its high watermark; the
//!   follower appends them and sets its own HW to min(leader's HW, own LEO).
//!
//! A fetch at an offset past the leader's log end (possible after an unclean
//! election or with the old truncation rule) answers `OFFSET_OUT_OF_RANGE`; the
//! follower then asks the leader's log end with `ListOffsets` and truncates to it.
//! Errors pause the partition for `replica.fetch.backoff.ms`; new metadata restarts it.

use super::Broker;
use crate::bugs::Bug;
use crate::error::ErrorCode;
use crate::event::ClusterEvent;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::node::Effect;
use crate::protocol::*;
use crate::rules::Truncation;
use std::collections::BTreeMap;

/// Where a followed partition is in its conversation with the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Must find the divergence point before fetching.
    Truncating,
    /// Fetched past the leader's end: must ask where that end is.
    OutOfRange,
    Fetching,
}

/// A partition this broker follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Following {
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub phase: Phase,
    /// Paused after an error until this time.
    pub retry_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FetcherCall {
    OffsetsForLeaderEpoch,
    ListOffsets,
    Fetch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    leader: BrokerId,
    call: FetcherCall,
    sent_ms: u64,
    /// For a fetch: where each partition was fetched from, and in which
    /// leader epoch, so that an answer to an older state can be told apart.
    asked: BTreeMap<TopicPartition, (Offset, LeaderEpoch)>,
}

/// The requests a broker has in flight to leaders, one per leader at most.
#[derive(Debug, Default)]
pub(super) struct ReplicaFetcher {
    next_correlation_id: CorrelationId,
    in_flight: BTreeMap<CorrelationId, InFlight>,
    /// A leader that failed us is left alone until this time.
    backoff_until_ms: BTreeMap<BrokerId, u64>,
}

impl ReplicaFetcher {
    fn busy(&self, leader: BrokerId) -> bool {
        self.in_flight.values().any(|f| f.leader == leader)
    }

    fn take(&mut self, correlation_id: CorrelationId) -> Option<InFlight> {
        self.in_flight.remove(&correlation_id)
    }
}

impl Broker {
    /// Starts following `leader` for `tp` in `leader_epoch`.
    pub(super) fn become_follower(
        &mut self,
        tp: &TopicPartition,
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
    ) {
        let former = self.leading.remove(tp);
        if self.config.bugs.on(Bug::FollowerStateResetGuard) {
            if let Some(former) = former {
                self.former_followers.insert(tp.clone(), former.followers);
            }
        }
        self.disk.logs.entry(tp.clone()).or_default();
        self.emit(ClusterEvent::BecameFollower {
            broker: self.broker_id,
            partition: tp.clone(),
            leader,
            leader_epoch,
        });
        // ANCHOR: same_leader
        // Before Kafka 2.1 (KAFKA-7164) a new epoch of the leader already
        // followed changed nothing: no truncation, fetching went on.
        if self.config.bugs.on(Bug::Kafka7164) {
            if let Some(f) = self.following.get_mut(tp).filter(|f| f.leader == leader) {
                f.leader_epoch = leader_epoch;
                return;
            }
        }
        // ANCHOR_END: same_leader
        // ANCHOR: truncation_rule
        let phase = if self.config.bugs.on(Bug::Kip101) {
            // Before Kafka 0.11: cut back to the own high watermark at once.
            let high_watermark = self.disk.logs[tp].high_watermark();
            self.truncate(tp, high_watermark);
            Phase::Fetching
        } else if self.disk.logs[tp].latest_epoch().is_some() {
            Phase::Truncating
        } else {
            Phase::Fetching
        };
        // ANCHOR_END: truncation_rule
        let following = Following {
            leader,
            leader_epoch,
            phase,
            retry_at_ms: 0,
        };
        self.following.insert(tp.clone(), following);
    }

    /// Cuts a followed partition's log back to `offset`, reporting what went.
    fn truncate(&mut self, tp: &TopicPartition, offset: Offset) {
        let log = self.disk.logs.get_mut(tp).expect("a replica has a log");
        let records = log.truncate_to(offset);
        if records > 0 {
            let event = ClusterEvent::Truncated {
                broker: self.broker_id,
                partition: tp.clone(),
                log_end_offset: log.log_end_offset(),
                records,
            };
            self.emit(event);
        }
    }

    /// Sends what each idle leader should get next.
    pub(super) fn drive_fetchers(&mut self, now_ms: u64) {
        let mut by_leader: BTreeMap<BrokerId, Vec<(TopicPartition, Following)>> = BTreeMap::new();
        let fetcher = &self.fetcher;
        let free = |leader| {
            !fetcher.busy(leader)
                && (fetcher.backoff_until_ms.get(&leader)).is_none_or(|&t| t <= now_ms)
        };
        for (tp, f) in &self.following {
            // Most calls find the fetcher waiting on a long poll: copy nothing then.
            if f.retry_at_ms <= now_ms && free(f.leader) {
                by_leader
                    .entry(f.leader)
                    .or_default()
                    .push((tp.clone(), f.clone()));
            }
        }
        for (leader, partitions) in by_leader {
            let in_phase = |phase| {
                partitions
                    .iter()
                    .filter(move |(_, f)| f.phase == phase)
                    .map(|(tp, f)| (tp.clone(), f.leader_epoch))
                    .collect::<Vec<_>>()
            };
            let truncating = in_phase(Phase::Truncating);
            let out_of_range = in_phase(Phase::OutOfRange);
            let fetching = in_phase(Phase::Fetching);
            let (call, request) = if !truncating.is_empty() {
                let partitions = truncating
                    .into_iter()
                    .map(|(tp, current_leader_epoch)| OffsetForLeaderPartition {
                        leader_epoch: self.disk.logs[&tp]
                            .latest_epoch()
                            .unwrap_or(UNDEFINED_EPOCH),
                        partition: tp,
                        current_leader_epoch,
                    })
                    .collect();
                let request = OffsetsForLeaderEpochRequest {
                    replica_id: self.broker_id,
                    partitions,
                };
                (
                    FetcherCall::OffsetsForLeaderEpoch,
                    Request::OffsetsForLeaderEpoch(request),
                )
            } else if !out_of_range.is_empty() {
                let partitions = out_of_range
                    .into_iter()
                    .map(|(tp, epoch)| ListOffsetsPartition {
                        partition: tp,
                        current_leader_epoch: Some(epoch),
                        timestamp: LATEST_TIMESTAMP,
                    })
                    .collect();
                let request = ListOffsetsRequest {
                    replica_id: self.broker_id,
                    partitions,
                };
                (FetcherCall::ListOffsets, Request::ListOffsets(request))
            } else if !fetching.is_empty() {
                let partitions: Vec<FetchPartition> = fetching
                    .into_iter()
                    .map(|(tp, epoch)| FetchPartition {
                        fetch_offset: self.disk.logs[&tp].log_end_offset(),
                        partition: tp,
                        current_leader_epoch: Some(epoch),
                        partition_max_bytes: self.config.replica_fetch_max_bytes,
                    })
                    .collect();
                let request = FetchRequest {
                    replica_id: self.broker_id,
                    replica_epoch: self.link.broker_epoch().unwrap_or(-1),
                    max_wait_ms: self.config.replica_fetch_wait_max_ms,
                    min_bytes: 1,
                    max_bytes: usize::MAX,
                    partitions,
                };
                (FetcherCall::Fetch, Request::Fetch(request))
            } else {
                continue;
            };
            let correlation_id = self.fetcher.next_correlation_id;
            self.fetcher.next_correlation_id += 1;
            let asked = match &request {
                Request::Fetch(fetch) => (fetch.partitions.iter())
                    .map(|p| {
                        let epoch = p.current_leader_epoch.unwrap_or(UNDEFINED_EPOCH);
                        (p.partition.clone(), (p.fetch_offset, epoch))
                    })
                    .collect(),
                _ => BTreeMap::new(),
            };
            let in_flight = InFlight {
                leader,
                call,
                sent_ms: now_ms,
                asked,
            };
            self.fetcher.in_flight.insert(correlation_id, in_flight);
            self.effects.push(Effect::Send {
                to: NodeId::Broker(leader),
                message: Message::Request {
                    correlation_id,
                    request,
                },
            });
        }
    }

    /// A leader answered one of the fetcher's requests.
    pub(super) fn on_fetcher_response(
        &mut self,
        now_ms: u64,
        from: BrokerId,
        correlation_id: CorrelationId,
        response: Response,
    ) {
        let Some(call) = self.fetcher.take(correlation_id) else {
            return; // given up on already
        };
        debug_assert_eq!(call.leader, from);
        match response {
            Response::OffsetsForLeaderEpoch(r) => {
                for answer in r.partitions {
                    self.on_epoch_end_offset(now_ms, from, answer);
                }
            }
            Response::ListOffsets(r) => {
                for answer in r.partitions {
                    self.on_leader_end_offset(now_ms, from, answer);
                }
            }
            Response::Fetch(r) => {
                for answer in r.responses {
                    let asked = call.asked.get(&answer.partition).copied();
                    self.on_replica_fetch_data(now_ms, from, asked, answer);
                }
                self.complete_parked(now_ms);
            }
            other => panic!("a leader answered the fetcher with {}", other.api_name()),
        }
    }

    /// The partition if it still follows `leader` in `phase`.
    fn followed_in(
        &mut self,
        tp: &TopicPartition,
        leader: BrokerId,
        phase: Phase,
    ) -> Option<&mut Following> {
        self.following
            .get_mut(tp)
            .filter(|f| f.leader == leader && f.phase == phase)
    }

    fn pause(&mut self, now_ms: u64, tp: &TopicPartition) {
        let backoff = self.config.replica_fetch_backoff_ms;
        if let Some(f) = self.following.get_mut(tp) {
            f.retry_at_ms = now_ms + backoff;
        }
    }

    fn on_epoch_end_offset(&mut self, now_ms: u64, leader: BrokerId, answer: EpochEndOffset) {
        let tp = answer.partition.clone();
        if self.followed_in(&tp, leader, Phase::Truncating).is_none() {
            return;
        }
        if answer.error_code != ErrorCode::None {
            self.pause(now_ms, &tp);
            return;
        }
        // ANCHOR: epoch_truncation
        let log = &self.disk.logs[&tp];
        let Truncation { offset, ask_again } =
            if self.config.bugs.on(Bug::Kip279) && answer.leader_epoch != UNDEFINED_EPOCH {
                // Before Kafka 2.0 the answer's epoch was not looked at: cut to
                // the leader's end offset, or keep everything below it.
                Truncation {
                    offset: answer.end_offset.min(log.log_end_offset()),
                    ask_again: false,
                }
            } else {
                let rule = self.config.rules.truncation_point;
                rule(answer.leader_epoch, answer.end_offset, log)
            };
        self.truncate(&tp, offset);
        // ANCHOR_END: epoch_truncation
        if let Some(f) = self.following.get_mut(&tp) {
            f.phase = match ask_again {
                true => Phase::Truncating,
                false => Phase::Fetching,
            };
        }
    }

    fn on_leader_end_offset(
        &mut self,
        now_ms: u64,
        leader: BrokerId,
        answer: ListOffsetsPartitionResponse,
    ) {
        let tp = answer.partition.clone();
        if self.followed_in(&tp, leader, Phase::OutOfRange).is_none() {
            return;
        }
        if answer.error_code != ErrorCode::None {
            self.pause(now_ms, &tp);
            return;
        }
        self.truncate(&tp, answer.offset);
        if let Some(f) = self.following.get_mut(&tp) {
            f.phase = Phase::Fetching;
        }
    }

    /// `asked` is where the fetch that this answers read from, and in which
    /// leader epoch.
    fn on_replica_fetch_data(
        &mut self,
        now_ms: u64,
        leader: BrokerId,
        asked: Option<(Offset, LeaderEpoch)>,
        answer: FetchablePartitionResponse,
    ) {
        let tp = answer.partition.clone();
        let Some(following) = self.followed_in(&tp, leader, Phase::Fetching) else {
            return;
        };
        // ANCHOR: stale_fetch_response
        // The partition may have met a new leader epoch, or been truncated,
        // while the fetch was out: an answer to an older state is dropped
        // (Kafka's `AbstractFetcherThread.processFetchRequest`). Records the
        // same broker sent as leader of an earlier epoch may since have been
        // cut from its log.
        let leader_epoch = following.leader_epoch;
        let log_end_offset = self.disk.logs[&tp].log_end_offset();
        let current = asked == Some((log_end_offset, leader_epoch));
        if !current && !self.config.bugs.on(Bug::StaleFetchResponseGuard) {
            return;
        }
        // ANCHOR_END: stale_fetch_response
        match answer.error_code {
            ErrorCode::None => {}
            ErrorCode::OffsetOutOfRange => {
                if let Some(f) = self.following.get_mut(&tp) {
                    f.phase = Phase::OutOfRange;
                }
                return;
            }
            _ => {
                self.pause(now_ms, &tp);
                return;
            }
        }
        let flush_every = self.config.log_flush_interval_messages;
        let log = self.disk.logs.get_mut(&tp).expect("a replica has a log");
        for batch in answer.records {
            // A response to a fetch from an offset the log has since left is stale.
            if batch.base_offset != log.log_end_offset() {
                return;
            }
            log.append_as_follower(batch, now_ms);
            if flush_every.is_some_and(|n| log.unflushed_records() >= n as i64) {
                log.flush();
            }
        }
        // ANCHOR: follower_high_watermark
        let high_watermark = answer.high_watermark.min(log.log_end_offset());
        if high_watermark != log.high_watermark() {
            log.set_high_watermark(high_watermark);
        }
        // ANCHOR_END: follower_high_watermark
    }

    /// Requests to leaders unanswered for `request.timeout.ms` are given up.
    pub(super) fn expire_fetcher_requests(&mut self, now_ms: u64) {
        let timeout_ms = self.config.request_timeout_ms;
        let expired: Vec<CorrelationId> = self
            .fetcher
            .in_flight
            .iter()
            .filter(|(_, f)| now_ms >= f.sent_ms + timeout_ms)
            .map(|(&c, _)| c)
            .collect();
        for correlation_id in expired {
            if let Some(call) = self.fetcher.take(correlation_id) {
                self.back_off_from(now_ms, call.leader);
            }
        }
    }

    /// The connection to a leader broke: what was in flight to it is lost.
    pub(super) fn on_leader_disconnect(&mut self, now_ms: u64, leader: BrokerId) {
        let lost: Vec<CorrelationId> = self
            .fetcher
            .in_flight
            .iter()
            .filter(|(_, f)| f.leader == leader)
            .map(|(&c, _)| c)
            .collect();
        for correlation_id in &lost {
            self.fetcher.take(*correlation_id);
        }
        self.back_off_from(now_ms, leader);
    }

    fn back_off_from(&mut self, now_ms: u64, leader: BrokerId) {
        let until = now_ms + self.config.replica_fetch_backoff_ms;
        self.fetcher.backoff_until_ms.insert(leader, until);
    }

    /// When the fetcher next has something to do.
    pub(super) fn fetcher_deadline_ms(&self) -> Option<u64> {
        let timeouts = self
            .fetcher
            .in_flight
            .values()
            .map(|f| f.sent_ms + self.config.request_timeout_ms);
        let idle_leaders = self
            .following
            .values()
            .filter(|f| !self.fetcher.busy(f.leader))
            .map(|f| {
                let backoff = self
                    .fetcher
                    .backoff_until_ms
                    .get(&f.leader)
                    .copied()
                    .unwrap_or(0);
                f.retry_at_ms.max(backoff)
            });
        timeouts.chain(idle_leaders).min()
    }
}
