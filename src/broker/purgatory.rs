//! Requests a broker holds until they can be answered (Kafka's "purgatory").
//!
//! A fetch waits for `fetch.min.bytes` of data or `fetch.max.wait.ms`; an `acks=all`
//! produce waits for the high watermark to pass its batches or for its `timeout_ms`.
//! Both are re-checked after every append, high-watermark move and metadata change,
//! so a long poll answers as soon as data arrives.

use super::Broker;
use crate::error::ErrorCode;
use crate::ids::{CorrelationId, LeaderEpoch, Offset, TopicPartition};
use crate::node::Peer;
use crate::protocol::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParkedFetch {
    pub from: Peer,
    pub correlation_id: CorrelationId,
    pub request: FetchRequest,
    pub deadline_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParkedProduce {
    pub from: Peer,
    pub correlation_id: CorrelationId,
    /// Per-partition answers so far; successful ones still wait for the HW.
    pub responses: Vec<PartitionProduceResponse>,
    /// Appended partitions, the offset the HW must reach for each, and the
    /// leader epoch of the append (a later epoch may have truncated it).
    pub waiting_for: Vec<(TopicPartition, Offset, LeaderEpoch)>,
    pub deadline_ms: u64,
}

impl Broker {
    pub(super) fn complete_parked_fetches(&mut self, now_ms: u64) {
        let parked = std::mem::take(&mut self.parked_fetches);
        for fetch in parked {
            // Most re-checks find nothing new: keep those parked without reading.
            let request = &fetch.request;
            if request.min_bytes > 0
                && now_ms < fetch.deadline_ms
                && (request.partitions.iter()).all(|p| self.nothing_to_read(request.replica_id, p))
            {
                self.parked_fetches.push(fetch);
                continue;
            }
            let responses: Vec<FetchablePartitionResponse> = fetch
                .request
                .partitions
                .iter()
                .map(|p| self.read_partition(fetch.request.replica_id, p))
                .collect();
            let bytes: usize = responses
                .iter()
                .flat_map(|r| &r.records)
                .map(|b| b.size_bytes())
                .sum();
            let any_error = responses.iter().any(|r| r.error_code != ErrorCode::None);
            if any_error || bytes >= fetch.request.min_bytes || now_ms >= fetch.deadline_ms {
                let response = FetchResponse {
                    error_code: ErrorCode::None,
                    responses,
                };
                self.reply(fetch.from, fetch.correlation_id, Response::Fetch(response));
            } else {
                self.parked_fetches.push(fetch);
            }
        }
    }

    pub(super) fn complete_parked_produces(&mut self, now_ms: u64) {
        let parked = std::mem::take(&mut self.parked_produces);
        for mut produce in parked {
            let mut still_waiting = Vec::new();
            for (tp, required, epoch) in std::mem::take(&mut produce.waiting_for) {
                let min_isr = self.effective_min_isr(&tp);
                // ANCHOR: acks_all_outcome
                let outcome = match self.leading.get(&tp).filter(|l| l.leader_epoch == epoch) {
                    // Leadership moved after the append: whether the write survives
                    // is unknown (ambiguous for the client).
                    None => Some(ErrorCode::NotLeaderOrFollower),
                    // Committed, but by fewer replicas than asked for: the ISR
                    // shrank after the append (also ambiguous for the client).
                    Some(l)
                        if self.disk.logs[&tp].high_watermark() >= required
                            && (l.maximal_isr().len() as i32) < min_isr =>
                    {
                        Some(ErrorCode::NotEnoughReplicasAfterAppend)
                    }
                    Some(_) if self.disk.logs[&tp].high_watermark() >= required => {
                        Some(ErrorCode::None)
                    }
                    Some(_) if now_ms >= produce.deadline_ms => Some(ErrorCode::RequestTimedOut),
                    Some(_) => None,
                };
                // ANCHOR_END: acks_all_outcome
                match outcome {
                    Some(code) => {
                        let response = produce
                            .responses
                            .iter_mut()
                            .find(|r| r.partition == tp)
                            .expect("answered");
                        if code != ErrorCode::None {
                            response.error_code = code;
                            response.base_offset = -1;
                        }
                    }
                    None => still_waiting.push((tp, required, epoch)),
                }
            }
            produce.waiting_for = still_waiting;
            if produce.waiting_for.is_empty() {
                let response = ProduceResponse {
                    responses: produce.responses,
                };
                self.reply(
                    produce.from,
                    produce.correlation_id,
                    Response::Produce(response),
                );
            } else {
                self.parked_produces.push(produce);
            }
        }
    }
}
