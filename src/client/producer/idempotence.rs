//! The idempotent producer's bookkeeping: its producer id and epoch, and the next
//! sequence number of each partition. Kafka keeps this in the producer's
//! `TransactionManager`; the model gives it only the idempotent role (no
//! transactions).
//!
//! The producer asks any broker for an id with `InitProducerId` as soon as it
//! starts, as Kafka's sender thread does on its first run, and numbers no batch
//! before the answer (batches wait, and still expire after `delivery.timeout.ms`).
//! Retriable errors and lost requests are retried after `retry.backoff.ms`; an
//! error retrying cannot help leaves the producer unable to send (Kafka's fatal
//! error state).
//!
//! A batch gets its sequence when it is first sent, and keeps it through retries,
//! so a broker can tell a retry from new data. If a numbered batch fails for good
//! (it expired), the partition's numbering has a hole, or may have one: the batch
//! may have been written after all. Kafka (since 2.5, KIP-360) then bumps the
//! producer epoch locally and starts the partition again at sequence 0, which any
//! broker accepts for a new epoch. Each partition moves to the new epoch once none
//! of its old-epoch batches is in flight.
//!
//! `OUT_OF_ORDER_SEQUENCE_NUMBER` never reaches the application (Kafka 4.x,
//! `TransactionManager.canRetry`). For a batch that is not the next one after the
//! last acknowledged sequence, it only means the batch overtook, or fell out of the
//! five batches the broker remembers: the batch is retried as it is, and fails
//! only when it expires (ambiguously: it may be in the log). For the next batch it
//! means the broker lost what came before (an unclean election, a truncation): the
//! producer bumps its epoch and numbers the partition's pending batches again from
//! sequence 0, so they are written, in their order, under the new epoch.

use super::{ProducerBatch, ProducerCore, Purpose, TRANSACTION_TIMEOUT_MS};
use crate::client::ClientError;
use crate::error::ErrorCode;
use crate::ids::TopicPartition;
use crate::protocol::{InitProducerIdRequest, InitProducerIdResponse, Request};
use crate::record::ProducerIdentity;
use std::collections::{BTreeMap, VecDeque};

/// A producer id and the epoch its sequences run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProducerIdAndEpoch {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl ProducerIdAndEpoch {
    /// Whether a batch's identity was issued under this id and epoch.
    pub fn issued(&self, identity: &ProducerIdentity) -> bool {
        identity.producer_id == self.producer_id && identity.producer_epoch == self.producer_epoch
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum IdState {
    /// No id yet: send `InitProducerId` once `retry_at_ms` is reached.
    Wanted {
        retry_at_ms: u64,
    },
    /// `InitProducerId` is in flight.
    Requested,
    Known(ProducerIdAndEpoch),
    /// `InitProducerId` failed with an error retrying cannot help.
    Fatal(ErrorCode),
}

/// Where a partition's numbering stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartitionSequence {
    id: ProducerIdAndEpoch,
    next_sequence: i32,
    /// The sequence right after the last batch that failed for good under
    /// `id` (Kafka's unresolved sequence): the broker may lack that batch.
    unresolved_next: Option<i32>,
    /// A broker refused the batch right after the last acknowledged or failed
    /// one as out of order: it lacks that sequence, so no batch numbered after
    /// it under `id` is in its log, and all of them are numbered again.
    gap: bool,
    /// The last sequence a broker acknowledged under `id`; -1 before any.
    last_acked: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Idempotence {
    state: IdState,
    partitions: BTreeMap<TopicPartition, PartitionSequence>,
}

impl Idempotence {
    pub fn new() -> Self {
        Idempotence {
            state: IdState::Wanted { retry_at_ms: 0 },
            partitions: BTreeMap::new(),
        }
    }

    /// The id and epoch new batches are numbered under, once known.
    pub fn current(&self) -> Option<ProducerIdAndEpoch> {
        match self.state {
            IdState::Known(id) => Some(id),
            _ => None,
        }
    }

    /// The error that stopped the producer for good, if any.
    pub fn fatal_error(&self) -> Option<ErrorCode> {
        match self.state {
            IdState::Fatal(code) => Some(code),
            _ => None,
        }
    }

    /// When `InitProducerId` should be sent, if it is wanted and not in flight.
    pub fn init_due_ms(&self) -> Option<u64> {
        match self.state {
            IdState::Wanted { retry_at_ms } => Some(retry_at_ms),
            _ => None,
        }
    }

    pub fn on_init_sent(&mut self) {
        assert!(self.init_due_ms().is_some(), "one InitProducerId at a time");
        self.state = IdState::Requested;
    }

    /// The request got no answer (broken connection, timeout): ask again later.
    pub fn on_init_failed(&mut self, now_ms: u64, retry_backoff_ms: u64) {
        assert_eq!(
            self.state,
            IdState::Requested,
            "a failure answers a request"
        );
        self.state = IdState::Wanted {
            retry_at_ms: now_ms + retry_backoff_ms,
        };
    }

    pub fn on_init_response(
        &mut self,
        now_ms: u64,
        retry_backoff_ms: u64,
        response: &InitProducerIdResponse,
    ) {
        assert_eq!(
            self.state,
            IdState::Requested,
            "a response answers a request"
        );
        self.state = match response.error_code {
            ErrorCode::None => IdState::Known(ProducerIdAndEpoch {
                producer_id: response.producer_id,
                producer_epoch: response.producer_epoch,
            }),
            code if code.is_retriable() => IdState::Wanted {
                retry_at_ms: now_ms + retry_backoff_ms,
            },
            code => IdState::Fatal(code),
        };
    }

    /// Whether a fresh batch of `tp` may be numbered now. It must wait while the id
    /// is unknown, and while the partition still has batches pending
    /// (`numbered_pending`) under an older id or epoch.
    pub fn can_number(&self, tp: &TopicPartition, numbered_pending: bool) -> bool {
        let Some(current) = self.current() else {
            return false;
        };
        match self.partitions.get(tp) {
            Some(p) if p.id != current => !numbered_pending,
            _ => true,
        }
    }

    /// Numbers a fresh batch of `records` records sent to `tp`: the partition's next
    /// sequence, which then advances past the batch. Callers check `can_number` first.
    pub fn number(&mut self, tp: &TopicPartition, records: usize) -> ProducerIdentity {
        let current = self
            .current()
            .expect("numbered only with a known producer id");
        let fresh = PartitionSequence {
            id: current,
            next_sequence: 0,
            unresolved_next: None,
            gap: false,
            last_acked: -1,
        };
        let partition = self.partitions.entry(tp.clone()).or_insert(fresh);
        if partition.id != current {
            *partition = fresh; // a new epoch starts at sequence 0
        }
        let identity = ProducerIdentity {
            producer_id: current.producer_id,
            producer_epoch: current.producer_epoch,
            base_sequence: partition.next_sequence,
        };
        let count = i32::try_from(records).expect("a batch holds fewer than 2^31 records");
        partition.next_sequence = partition
            .next_sequence
            .checked_add(count)
            .expect("sequences do not wrap around in the model");
        identity
    }

    /// A broker acknowledged a numbered batch of `records` records of `tp`.
    pub fn on_batch_acked(
        &mut self,
        tp: &TopicPartition,
        identity: &ProducerIdentity,
        records: usize,
    ) {
        let Some(partition) = self
            .partitions
            .get_mut(tp)
            .filter(|p| p.id.issued(identity))
        else {
            return; // acknowledged under an epoch the partition has left
        };
        let count = i32::try_from(records).expect("a batch holds fewer than 2^31 records");
        partition.last_acked = partition.last_acked.max(identity.base_sequence + count - 1);
    }

    /// Whether `identity` is the batch right after `tp`'s last acknowledged one,
    /// or right after a batch that failed for good, under the epoch `tp`
    /// numbers with (Kafka's `isNextSequence` and
    /// `isNextSequenceForUnresolvedPartition`).
    pub fn is_next_sequence(&self, tp: &TopicPartition, identity: &ProducerIdentity) -> bool {
        (self.partitions.get(tp)).is_some_and(|p| {
            let base = identity.base_sequence;
            p.id.issued(identity) && (base == p.last_acked + 1 || Some(base) == p.unresolved_next)
        })
    }

    /// The broker refused `identity`, the next batch of `tp`, as out of order:
    /// it lacks the sequence before. Every batch of `tp` numbered under the same
    /// epoch from now on counts as after that gap.
    pub fn on_gap(&mut self, tp: &TopicPartition, identity: &ProducerIdentity) {
        if let Some(p) = self
            .partitions
            .get_mut(tp)
            .filter(|p| p.id.issued(identity))
        {
            p.gap = true;
        }
    }

    /// Whether `identity` was numbered under `tp`'s epoch after a gap the
    /// broker reported: it is not in any log, and must be numbered again
    /// (Kafka's `startSequencesAtBeginning` for the partitions that triggered
    /// an epoch bump, and only those).
    pub fn is_after_gap(&self, tp: &TopicPartition, identity: &ProducerIdentity) -> bool {
        (self.partitions.get(tp)).is_some_and(|p| p.gap && p.id.issued(identity))
    }

    /// A numbered batch of `records` records of `tp` failed for good: its
    /// sequence is unresolved (it may be in the log or not), and the epoch is
    /// bumped (once per epoch), so the partitions can number afresh from 0. At
    /// the largest epoch Kafka asks for a new producer id instead, and so does
    /// the model.
    pub fn on_batch_failed(
        &mut self,
        tp: &TopicPartition,
        identity: &ProducerIdentity,
        records: usize,
    ) {
        if let Some(p) = self
            .partitions
            .get_mut(tp)
            .filter(|p| p.id.issued(identity))
        {
            let count = i32::try_from(records).expect("a batch holds fewer than 2^31 records");
            let next = identity.base_sequence + count;
            p.unresolved_next = p.unresolved_next.max(Some(next));
        }
        self.bump_epoch(identity);
    }

    /// Bumps the epoch the batch `identity` was numbered under, unless that
    /// happened already.
    pub fn bump_epoch(&mut self, identity: &ProducerIdentity) {
        let IdState::Known(current) = self.state else {
            return;
        };
        if !current.issued(identity) {
            return; // the epoch was bumped already
        }
        self.state = match current.producer_epoch.checked_add(1) {
            Some(producer_epoch) => IdState::Known(ProducerIdAndEpoch {
                producer_epoch,
                ..current
            }),
            None => IdState::Wanted { retry_at_ms: 0 },
        };
    }

    pub fn invariants(&self) {
        for (tp, p) in &self.partitions {
            assert!(p.next_sequence >= 0, "{tp}: sequences start at 0");
            assert!(p.id.producer_epoch >= 0, "{tp}: epochs start at 0");
        }
    }
}

/// Whether batch `a` comes before batch `b` in their partition's numbering.
fn precedes(a: Option<ProducerIdentity>, b: Option<ProducerIdentity>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.producer_id == b.producer_id
                && a.producer_epoch == b.producer_epoch
                && a.base_sequence < b.base_sequence
        }
        _ => false,
    }
}

// How the producer core applies these rules.
impl ProducerCore {
    /// The batches of every Produce request in flight.
    fn in_flight_batches(&self) -> impl Iterator<Item = &ProducerBatch> {
        self.network.in_flight().flat_map(|purpose| match purpose {
            Purpose::Produce(batches) => batches.as_slice(),
            Purpose::Metadata | Purpose::InitProducerId => &[],
        })
    }

    /// `tp`'s batches not yet acknowledged: queued (for a first try or a retry) or in flight.
    fn unacknowledged<'a>(
        &'a self,
        tp: &'a TopicPartition,
    ) -> impl Iterator<Item = &'a ProducerBatch> + 'a {
        let queued = self.accumulator.get(tp).into_iter().flatten();
        queued.chain(self.in_flight_batches().filter(move |b| &b.partition == tp))
    }

    /// Whether `tp`'s front batch may be sent now. Always, without idempotence.
    /// A numbered batch (a retry) waits while an earlier batch of its partition is
    /// in flight, as in Kafka's accumulator, so retries reach the broker in
    /// sequence order. A fresh batch waits for the producer id, and after an epoch
    /// bump for its partition's old-epoch batches to finish.
    pub(super) fn may_send_in_sequence(&self, tp: &TopicPartition, front: &ProducerBatch) -> bool {
        let Some(idempotence) = &self.idempotence else {
            return true;
        };
        match front.identity {
            Some(_) => !self
                .in_flight_batches()
                .any(|b| &b.partition == tp && precedes(b.identity, front.identity)),
            None => {
                let numbered_pending = self.unacknowledged(tp).any(|b| b.identity.is_some());
                idempotence.can_number(tp, numbered_pending)
            }
        }
    }

    /// `OUT_OF_ORDER_SEQUENCE_NUMBER` for `batch`: retried, as Kafka 4.x does
    /// (see the module header). When it is the partition's next batch (after
    /// the last acknowledged or failed one), the broker lacks what came before:
    /// the epoch is bumped, and it and every batch of the partition numbered
    /// after it, queued now or coming back later, are numbered again under the
    /// new epoch. Any other batch overtook, or fell out of the five the broker
    /// remembers, and may be in the log: it is retried as it is, even after
    /// another partition bumped the epoch, since numbering it again could
    /// write it twice.
    pub(super) fn on_out_of_order(&mut self, batch: &mut ProducerBatch) {
        let (Some(idempotence), Some(identity)) = (&mut self.idempotence, batch.identity) else {
            return;
        };
        let tp = &batch.partition;
        if idempotence.is_next_sequence(tp, &identity) {
            idempotence.bump_epoch(&identity);
            idempotence.on_gap(tp, &identity);
        }
        if !idempotence.is_after_gap(tp, &identity) {
            return; // it overtook, or the broker forgot it: retry it as it is
        }
        batch.identity = None;
        for queued in self.accumulator.get_mut(tp).into_iter().flatten() {
            if queued
                .identity
                .is_some_and(|i| idempotence.is_after_gap(tp, &i))
            {
                queued.identity = None;
            }
        }
    }

    /// The error every send fails with once the producer id could not be had.
    pub(super) fn fatal_error(&self) -> Option<ClientError> {
        let code = self.idempotence.as_ref()?.fatal_error()?;
        let message = "InitProducerId failed; the idempotent producer cannot send".to_string();
        Some(ClientError::Broker { code, message })
    }

    /// After a fatal error, everything waiting fails (Kafka aborts the accumulated batches).
    pub(super) fn fail_all_if_fatal(&mut self) {
        let Some(error) = self.fatal_error() else {
            return;
        };
        for (token, _, _) in std::mem::take(&mut self.waiting_for_metadata) {
            self.complete(token, Err(error.clone()));
        }
        for batch in std::mem::take(&mut self.accumulator)
            .into_values()
            .flatten()
        {
            self.fail(batch, error.clone());
        }
    }

    /// Asks any broker for a producer id when one is wanted and the backoff has passed.
    pub(super) fn maybe_init_producer_id(&mut self, now_ms: u64) {
        let Some(idempotence) = &mut self.idempotence else {
            return;
        };
        if idempotence
            .init_due_ms()
            .is_none_or(|due_ms| now_ms < due_ms)
        {
            return;
        }
        idempotence.on_init_sent();
        let request = Request::InitProducerId(InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: TRANSACTION_TIMEOUT_MS,
        });
        let to = self.network.any_broker();
        self.network.send(
            now_ms,
            to,
            request,
            Purpose::InitProducerId,
            &mut self.effects,
        );
    }

    pub(super) fn on_init_producer_id_response(
        &mut self,
        now_ms: u64,
        response: &InitProducerIdResponse,
    ) {
        self.idempotence
            .as_mut()
            .expect("only an idempotent producer asks for an id")
            .on_init_response(now_ms, self.config.retry_backoff_ms, response);
    }

    /// A partition's queue: numbered only when idempotent, numbered exactly when
    /// sent before, and the retries ahead of fresh batches in sequence order.
    pub(super) fn sequence_invariants(&self, queue: &VecDeque<ProducerBatch>) {
        if self.idempotence.is_none() {
            assert!(
                queue.iter().all(|b| b.identity.is_none()),
                "only an idempotent producer numbers batches"
            );
            return;
        }
        for b in queue {
            assert!(
                b.identity.is_none() || b.attempts > 0,
                "a batch is numbered when it is sent"
            );
        }
        let numbered: Vec<Option<ProducerIdentity>> = queue
            .iter()
            .map(|b| b.identity)
            .take_while(Option::is_some)
            .collect();
        assert!(
            queue
                .iter()
                .skip(numbered.len())
                .all(|b| b.identity.is_none()),
            "retries queue ahead of fresh batches"
        );
        assert!(
            numbered.windows(2).all(|w| precedes(w[0], w[1])),
            "retries queue in sequence order"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(producer_id: i64, producer_epoch: i16) -> Idempotence {
        let mut idempotence = Idempotence::new();
        idempotence.on_init_sent();
        let response = InitProducerIdResponse {
            error_code: ErrorCode::None,
            producer_id,
            producer_epoch,
        };
        idempotence.on_init_response(0, 100, &response);
        idempotence
    }

    #[test]
    fn nothing_is_numbered_before_the_producer_id_is_known() {
        let idempotence = Idempotence::new();
        assert!(!idempotence.can_number(&TopicPartition::new("t", 0), false));
        assert_eq!(idempotence.init_due_ms(), Some(0));
    }

    #[test]
    fn a_failed_batch_bumps_the_epoch_once_and_its_partition_restarts_at_0() {
        let mut idempotence = known(7, 0);
        let tp = TopicPartition::new("t", 0);
        let first = idempotence.number(&tp, 3);
        let second = idempotence.number(&tp, 2);
        assert_eq!((first.base_sequence, second.base_sequence), (0, 3));
        idempotence.on_batch_failed(&tp, &first, 3);
        idempotence.on_batch_failed(&tp, &second, 2);
        assert_eq!(idempotence.current().map(|c| c.producer_epoch), Some(1));
        assert!(
            !idempotence.can_number(&tp, true),
            "old-epoch batches pending"
        );
        assert!(idempotence.can_number(&tp, false));
        let third = idempotence.number(&tp, 1);
        assert_eq!((third.producer_epoch, third.base_sequence), (1, 0));
    }

    #[test]
    fn the_largest_epoch_asks_for_a_new_producer_id() {
        let mut idempotence = known(7, i16::MAX);
        let tp = TopicPartition::new("t", 0);
        let batch = idempotence.number(&tp, 1);
        idempotence.on_batch_failed(&tp, &batch, 1);
        assert_eq!(idempotence.current(), None);
        assert_eq!(idempotence.init_due_ms(), Some(0));
    }
}
