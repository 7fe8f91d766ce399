//! The partition log: dense offsets, log end offset, high watermark, log start offset.
//!
//! A `Log` is what one replica stores for one partition. Its fields are split into
//! what is on disk (the segment, the high-watermark checkpoint, the leader-epoch
//! checkpoint) and what lives only in memory (the current high watermark). After a
//! crash, [`Log::recover`] rebuilds the in-memory part from the disk part, as a
//! restarting Kafka broker does.
//!
//! Simplifications: one segment per partition, no retention or compaction, and
//! reads are clipped to the requested offset range (Kafka returns whole batches and
//! lets the client skip records before its position).

use crate::append_file::AppendFile;
use crate::error::ErrorCode;
use crate::ids::{LeaderEpoch, Offset};
use crate::producer_state::CheckSequence;
use crate::producer_state::{ProducerStateTable, SequenceCheck};
use crate::record::RecordBatch;
use serde::{Deserialize, Serialize};

/// One replica's log of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    segment: AppendFile<RecordBatch>,
    log_start_offset: Offset,
    /// In memory: offsets below it are committed. Followers learn it from the leader.
    high_watermark: Offset,
    /// On disk (`replication-offset-checkpoint`). Kafka writes it every few seconds;
    /// the model writes it on every change, which only ever makes it *fresher*.
    hw_checkpoint: Offset,
    /// On disk (`leader-epoch-checkpoint`): each leader epoch with its start offset.
    epoch_starts: Vec<(LeaderEpoch, Offset)>,
    /// In memory: idempotent producers' latest sequences, derived from the batches
    /// and rebuilt from them after a restart or a truncation.
    producers: ProducerStateTable,
    /// How many batches `invariants` has checked already (not part of the log).
    #[serde(skip)]
    checked: Checked,
}

/// A count of batches from the start of the log whose offsets `invariants` has
/// checked. Batches only ever leave at the end (a truncation, a power loss), so a
/// checked prefix stays checked, and each call checks only what is new: checking
/// the whole log after every message would cost time quadratic in its length.
/// Two logs are equal whatever their counts.
#[derive(Debug, Default)]
struct Checked(std::sync::atomic::AtomicUsize);

impl Checked {
    fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set(&self, batches: usize) {
        self.0.store(batches, std::sync::atomic::Ordering::Relaxed);
    }

    /// After a change to the log's end: at most `batches` are still checked.
    fn at_most(&self, batches: usize) {
        self.set(self.get().min(batches));
    }
}

impl Clone for Checked {
    fn clone(&self) -> Self {
        Checked(self.get().into())
    }
}

impl PartialEq for Checked {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Checked {}

/// What a read returns: records in `[from, up_to)`, clipped to whole records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub batches: Vec<RecordBatch>,
    pub size_bytes: usize,
}

impl Log {
    /// The offset the next appended record gets: Kafka's *log end offset* (LEO).
    pub fn log_end_offset(&self) -> Offset {
        self.segment
            .entries()
            .last()
            .map_or(self.log_start_offset, RecordBatch::next_offset)
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    pub fn batches(&self) -> &[RecordBatch] {
        self.segment.entries()
    }

    /// Appends a batch at the log end at `now_ms`, as the leader in
    /// `leader_epoch`. Returns the batch's base offset.
    pub fn append_as_leader(
        &mut self,
        mut batch: RecordBatch,
        leader_epoch: LeaderEpoch,
        now_ms: u64,
    ) -> Offset {
        assert!(!batch.is_empty(), "an empty batch has no offsets to assign");
        let base_offset = self.log_end_offset();
        batch.base_offset = base_offset;
        batch.partition_leader_epoch = leader_epoch;
        self.assign_epoch_start(leader_epoch, base_offset);
        self.producers.record(&batch);
        self.segment.append(batch, now_ms);
        base_offset
    }

    /// What a leader must do with an idempotent producer's batch before appending
    /// it: append, answer a duplicate with its first offset, or refuse it.
    /// `rule` is the broker's sequence check (`BrokerConfig::rules`).
    pub fn check_producer_sequence(
        &self,
        rule: CheckSequence,
        batch: &RecordBatch,
    ) -> Result<SequenceCheck, ErrorCode> {
        self.producers.check_with(rule, batch)
    }

    /// Appends a batch copied from the leader at `now_ms`, keeping its offsets
    /// and epoch.
    pub fn append_as_follower(&mut self, batch: RecordBatch, now_ms: u64) {
        assert_eq!(
            batch.base_offset,
            self.log_end_offset(),
            "a follower appends at its LEO"
        );
        // A follower that kept a divergent tail (only possible with the old
        // high-watermark truncation) can meet an older epoch here: like Kafka's
        // epoch cache, forget the entries it contradicts.
        let (epoch, start) = (batch.partition_leader_epoch, batch.base_offset);
        while self
            .epoch_starts
            .last()
            .is_some_and(|&(e, s)| e > epoch || (e < epoch && s >= start))
        {
            self.epoch_starts.pop();
        }
        self.assign_epoch_start(epoch, start);
        self.producers.record(&batch);
        self.segment.append(batch, now_ms);
    }

    /// Records that a new leader epoch begins at the log end, as a new leader does
    /// before its first append (so `OffsetsForLeaderEpoch` knows where it began).
    pub fn begin_epoch(&mut self, epoch: LeaderEpoch) {
        let start = self.log_end_offset();
        self.assign_epoch_start(epoch, start);
    }

    fn assign_epoch_start(&mut self, epoch: LeaderEpoch, start_offset: Offset) {
        match self.epoch_starts.last() {
            Some(&(latest, _)) if latest >= epoch => {
                assert_eq!(latest, epoch, "leader epochs in a log never go backwards");
            }
            _ => self.epoch_starts.push((epoch, start_offset)),
        }
    }

    /// The latest leader epoch that appended to this log, if any.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epoch_starts.last().map(|&(epoch, _)| epoch)
    }

    /// Each leader epoch with the offset of its first batch in this log.
    pub fn epoch_starts(&self) -> &[(LeaderEpoch, Offset)] {
        &self.epoch_starts
    }

    /// Where `epoch` ends in this log, as a leader answers `OffsetsForLeaderEpoch`:
    /// the largest epoch ≤ `epoch` present here, and the start offset of the epoch
    /// after it (or the log end when it is the latest). `None` when every epoch in
    /// the log is newer than `epoch`, or the log has none.
    pub fn end_offset_for_epoch(&self, epoch: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        let index = self.epoch_starts.partition_point(|&(e, _)| e <= epoch);
        let (found, _) = *self.epoch_starts.get(index.checked_sub(1)?)?;
        let end = self
            .epoch_starts
            .get(index)
            .map_or(self.log_end_offset(), |&(_, start)| start);
        Some((found, end))
    }

    /// Moves the high watermark. It never passes the log end.
    pub fn set_high_watermark(&mut self, offset: Offset) {
        let offset = offset.min(self.log_end_offset()).max(self.log_start_offset);
        self.high_watermark = offset;
        self.hw_checkpoint = offset;
    }

    /// Reads records in `[from, up_to)`, at most about `max_bytes` (but always at
    /// least one record when any is available, as Kafka does since KIP-74).
    pub fn read(&self, from: Offset, up_to: Offset, max_bytes: usize) -> ReadResult {
        let mut batches = Vec::new();
        let mut size_bytes = 0;
        // A consumer can be ahead of a new leader's high watermark, which lags
        // the old leader's for a round trip: there is nothing to read yet.
        if from >= up_to {
            return ReadResult {
                batches,
                size_bytes,
            };
        }
        let entries = self.segment.entries();
        let first = entries.partition_point(|b| b.next_offset() <= from);
        for batch in &entries[first..] {
            if batch.base_offset >= up_to || (size_bytes > 0 && size_bytes >= max_bytes) {
                break;
            }
            let clipped = clip(batch, from, up_to);
            size_bytes += clipped.size_bytes();
            batches.push(clipped);
        }
        ReadResult {
            batches,
            size_bytes,
        }
    }

    /// Cuts the log so that `offset` becomes its end. Returns how many records went.
    pub fn truncate_to(&mut self, offset: Offset) -> i64 {
        let leo = self.log_end_offset();
        if offset >= leo {
            // Nothing to cut, but an epoch that starts right at the end holds no
            // records yet and goes too, as Kafka's `truncateFromEnd` drops it.
            self.epoch_starts.retain(|&(_, start)| start < offset);
            return 0;
        }
        let offset = offset.max(self.log_start_offset);
        let entries = self.segment.entries();
        let keep = entries.partition_point(|b| b.next_offset() <= offset);
        // A batch straddling the cut point: keep its head.
        let straddler = entries
            .get(keep)
            .filter(|b| b.base_offset < offset)
            .cloned();
        match straddler {
            Some(batch) => self
                .segment
                .truncate_within(keep, clip(&batch, batch.base_offset, offset)),
            None => self.segment.truncate(keep),
        }
        self.checked.at_most(keep);
        self.epoch_starts.retain(|&(_, start)| start < offset);
        self.high_watermark = self.high_watermark.min(offset);
        self.hw_checkpoint = self.hw_checkpoint.min(offset);
        self.producers = ProducerStateTable::rebuild(self.segment.entries());
        leo - offset
    }

    /// Flushes the segment (fsync).
    pub fn flush(&mut self) {
        self.segment.flush();
    }

    /// Number of records not yet flushed.
    pub fn unflushed_records(&self) -> i64 {
        let entries = self.segment.entries();
        entries[entries.len() - self.segment.unflushed_len()..]
            .iter()
            .map(RecordBatch::len)
            .sum()
    }

    /// A power loss: the tail of the segment that was neither flushed nor
    /// `written_back` by the operating system (asked with its write time) is gone.
    pub(crate) fn lose_power(&mut self, written_back: impl Fn(u64) -> bool) {
        self.segment.lose_power(written_back);
        self.checked.at_most(self.segment.entries().len());
        let leo = self.log_end_offset();
        self.epoch_starts.retain(|&(_, start)| start < leo);
        self.producers = ProducerStateTable::rebuild(self.segment.entries());
    }

    /// Rebuilds the in-memory state from what is on disk, after a restart.
    pub fn recover(&mut self) {
        self.high_watermark = self.hw_checkpoint.min(self.log_end_offset());
        self.producers = ProducerStateTable::rebuild(self.segment.entries());
        self.invariants();
    }

    /// Internal consistency; called after every change in tests and by the harness.
    pub fn invariants(&self) {
        let entries = self.segment.entries();
        let from = self.checked.get().min(entries.len());
        let mut expected = match from {
            0 => self.log_start_offset,
            n => entries[n - 1].next_offset(),
        };
        for batch in &entries[from..] {
            assert!(!batch.is_empty(), "no empty batches in a log");
            assert_eq!(batch.base_offset, expected, "offsets are dense and ordered");
            expected = batch.next_offset();
        }
        self.checked.set(entries.len());
        assert!(
            self.log_start_offset <= self.high_watermark,
            "HW below log start"
        );
        assert!(
            self.high_watermark <= self.log_end_offset(),
            "HW above log end"
        );
        assert!(self
            .epoch_starts
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        // The producer state table checks itself each time it records a batch.
    }
}

fn clip(batch: &RecordBatch, from: Offset, up_to: Offset) -> RecordBatch {
    if batch.base_offset >= from && batch.next_offset() <= up_to {
        return batch.clone();
    }
    let skip = (from - batch.base_offset).max(0) as usize;
    let take = (up_to.min(batch.next_offset()) - batch.base_offset) as usize;
    let mut clipped = batch.clone();
    clipped.records = batch.records[skip..take].to_vec();
    clipped.base_offset = batch.base_offset + skip as i64;
    if let Some(producer) = clipped.producer.as_mut() {
        producer.base_sequence += skip as i32;
    }
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(result: &ReadResult) -> Vec<(Offset, String)> {
        result
            .batches
            .iter()
            .flat_map(|b| b.offset_records().map(|(o, r)| (o, r.value_text())))
            .collect()
    }

    #[test]
    fn appends_get_dense_offsets_from_zero() {
        let mut log = Log::default();
        assert_eq!(
            log.append_as_leader(RecordBatch::from_values(&["a", "b"]), 0, 0),
            0
        );
        assert_eq!(
            log.append_as_leader(RecordBatch::from_values(&["c"]), 0, 0),
            2
        );
        assert_eq!(log.log_end_offset(), 3);
        log.invariants();
    }

    #[test]
    fn reads_are_clipped_to_the_requested_range() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a", "b", "c"]), 0, 0);
        log.append_as_leader(RecordBatch::from_values(&["d", "e"]), 0, 0);
        let read = log.read(1, 4, usize::MAX);
        assert_eq!(
            values(&read),
            vec![(1, "b".into()), (2, "c".into()), (3, "d".into())]
        );
    }

    #[test]
    fn a_read_returns_at_least_one_batch_even_past_max_bytes() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a"]), 0, 0);
        log.append_as_leader(RecordBatch::from_values(&["b"]), 0, 0);
        assert_eq!(log.read(0, 2, 1).batches.len(), 1);
    }

    #[test]
    fn the_high_watermark_never_passes_the_log_end() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a"]), 0, 0);
        log.set_high_watermark(10);
        assert_eq!(log.high_watermark(), 1);
    }

    #[test]
    fn truncation_cuts_mid_batch_and_forgets_later_epochs() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a", "b"]), 0, 0);
        log.append_as_leader(RecordBatch::from_values(&["c"]), 1, 0);
        assert_eq!(log.truncate_to(1), 2);
        assert_eq!(log.log_end_offset(), 1);
        assert_eq!(log.epoch_starts(), &[(0, 0)]);
        log.invariants();
    }

    #[test]
    fn an_epoch_ends_where_the_next_one_starts_or_at_the_log_end() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a", "b"]), 0, 0);
        log.append_as_leader(RecordBatch::from_values(&["c"]), 2, 0);
        log.append_as_leader(RecordBatch::from_values(&["d"]), 5, 0);
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 2)));
        assert_eq!(log.end_offset_for_epoch(1), Some((0, 2)));
        assert_eq!(log.end_offset_for_epoch(2), Some((2, 3)));
        assert_eq!(log.end_offset_for_epoch(4), Some((2, 3)));
        assert_eq!(log.end_offset_for_epoch(5), Some((5, 4)));
        assert_eq!(log.end_offset_for_epoch(9), Some((5, 4)));
        assert_eq!(Log::default().end_offset_for_epoch(0), None);
        let mut later = Log::default();
        later.append_as_leader(RecordBatch::from_values(&["x"]), 3, 0);
        assert_eq!(later.end_offset_for_epoch(2), None);
    }

    #[test]
    fn a_read_starting_at_or_past_its_upper_bound_returns_nothing() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a", "b", "c"]), 0, 0);
        // A consumer at offset 2 reading below a high watermark of 1.
        assert!(log.read(2, 1, usize::MAX).batches.is_empty());
        assert!(log.read(1, 1, usize::MAX).batches.is_empty());
    }

    #[test]
    fn truncating_inside_a_flushed_batch_keeps_its_head_through_a_power_loss() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a", "b"]), 0, 0);
        log.flush();
        log.truncate_to(1);
        log.lose_power(|_| false);
        log.recover();
        assert_eq!(values(&log.read(0, 1, usize::MAX)), vec![(0, "a".into())]);
    }

    #[test]
    fn recovery_after_power_loss_keeps_flushed_records_and_clamps_the_hw() {
        let mut log = Log::default();
        log.append_as_leader(RecordBatch::from_values(&["a"]), 0, 0);
        log.flush();
        log.append_as_leader(RecordBatch::from_values(&["b"]), 0, 0);
        log.set_high_watermark(2);
        log.lose_power(|_| false);
        log.recover();
        assert_eq!(log.log_end_offset(), 1);
        assert_eq!(log.high_watermark(), 1);
    }
}
