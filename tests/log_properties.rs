//! Properties of the partition log, checked against a plain model over random
//! sequences of appends, high-watermark moves, reads, truncations, flushes,
//! waits, power losses and leader-epoch changes.
//!
//! The model is a vector of (value, leader epoch): offset i holds entry i. After
//! every step the log must agree with it: dense offsets, the same records in the
//! same order, the high watermark within the log, epoch start offsets where the
//! model says each epoch begins, and reads that return exactly the requested
//! contiguous slice. A power loss keeps what was flushed and what Linux's
//! default writeback had written by then: data dirty for 30 s, written at the
//! flusher's next 5-second wake-up.
//!
//! Each property runs proptest's default 256 cases; raise them with
//! `PROPTEST_CASES=10000 cargo test -p kafkasim --test log_properties`.

use kafkasim::disk::{CrashKind, Disk, PageCache};
use kafkasim::ids::TopicPartition;
use kafkasim::log::Log;
use kafkasim::record::RecordBatch;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// A leader appends a batch of this many records, in a new epoch if asked.
    Append {
        records: usize,
        new_epoch: bool,
    },
    /// The high watermark moves to this fraction (per mille) of the log end.
    SetHighWatermark {
        per_mille: u16,
    },
    /// A read from and up to these fractions of the log end, capped in bytes.
    Read {
        from: u16,
        up_to: u16,
        max_bytes: usize,
    },
    /// The log is cut back to this fraction of its end.
    Truncate {
        per_mille: u16,
    },
    Flush,
    /// Time passes (the page cache may write back).
    Wait {
        ms: u64,
    },
    PowerLoss,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..5usize, any::<bool>()).prop_map(|(records, new_epoch)| Step::Append { records, new_epoch }),
        2 => (0..=1000u16).prop_map(|per_mille| Step::SetHighWatermark { per_mille }),
        3 => (0..=1000u16, 0..=1000u16, 1..64usize)
            .prop_map(|(from, up_to, max_bytes)| Step::Read { from, up_to, max_bytes }),
        1 => (0..=1000u16).prop_map(|per_mille| Step::Truncate { per_mille }),
        1 => Just(Step::Flush),
        2 => (0..20_000u64).prop_map(|ms| Step::Wait { ms }),
        1 => Just(Step::PowerLoss),
    ]
}

/// The plain model: what each offset holds and when it was written, what was
/// flushed, the epoch and the time now.
#[derive(Debug, Default)]
struct Model {
    entries: Vec<(String, i32)>,
    written_ms: Vec<u64>,
    flushed: usize,
    epoch: i32,
    next_value: usize,
    now_ms: u64,
}

impl Model {
    /// How many entries a power loss now keeps: the flushed ones, and those
    /// the flusher (awake at every multiple of 5 s) found 30 s old.
    fn kept_by_power_loss(&self) -> usize {
        let written_back = |&written: &u64| {
            let wake = (written + 30_000).div_ceil(5_000) * 5_000;
            wake <= self.now_ms
        };
        let written_back = self.written_ms.iter().take_while(|w| written_back(w));
        written_back.count().max(self.flushed)
    }
}

fn at(per_mille: u16, len: usize) -> i64 {
    (len as i64 * per_mille as i64) / 1000
}

fn values(log: &Log) -> Vec<(String, i32)> {
    log.batches()
        .iter()
        .flat_map(|b| {
            b.records
                .iter()
                .map(move |r| (r.value_text(), b.partition_leader_epoch))
        })
        .collect()
}

/// Runs the steps on a log kept in a disk (so power loss is the disk's) and on
/// the model, checking agreement after each step.
fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let tp = TopicPartition::new("t", 0);
    let mut disk = Disk::default();
    disk.logs.insert(tp.clone(), Log::default());
    let mut model = Model::default();
    for step in steps {
        let len = model.entries.len();
        match step {
            Step::Append { records, new_epoch } => {
                if *new_epoch {
                    model.epoch += 1;
                }
                let values: Vec<String> = (0..*records)
                    .map(|i| format!("v{}", model.next_value + i))
                    .collect();
                model.next_value += records;
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let log = disk.logs.get_mut(&tp).expect("the log");
                let batch = RecordBatch::from_values(&refs);
                let base = log.append_as_leader(batch, model.epoch, model.now_ms);
                prop_assert_eq!(base, len as i64, "a batch lands at the log end");
                model
                    .entries
                    .extend(values.into_iter().map(|v| (v, model.epoch)));
                model.written_ms.resize(model.entries.len(), model.now_ms);
            }
            Step::SetHighWatermark { per_mille } => {
                let log = disk.logs.get_mut(&tp).expect("the log");
                log.set_high_watermark(at(*per_mille, len));
                prop_assert_eq!(log.high_watermark(), at(*per_mille, len));
            }
            Step::Read {
                from,
                up_to,
                max_bytes,
            } => {
                let (from, up_to) = (at(*from, len), at(*up_to, len));
                let read = disk.logs[&tp].read(from, up_to, *max_bytes);
                let got: Vec<(i64, String)> = read
                    .batches
                    .iter()
                    .flat_map(|b| b.offset_records().map(|(o, r)| (o, r.value_text())))
                    .collect();
                let expected: Vec<(i64, String)> = (from..up_to.max(from))
                    .map(|o| (o, model.entries[o as usize].0.clone()))
                    .collect();
                prop_assert!(
                    expected.starts_with(&got),
                    "a read returns a contiguous in-order slice from its start: {:?} vs {:?}",
                    got,
                    expected
                );
                prop_assert!(
                    expected.is_empty() || !got.is_empty(),
                    "a read returns at least one record when there is one"
                );
                if read.size_bytes < *max_bytes {
                    prop_assert_eq!(got.len(), expected.len(), "under the byte cap, all of it");
                }
            }
            Step::Truncate { per_mille } => {
                let to = at(*per_mille, len);
                let log = disk.logs.get_mut(&tp).expect("the log");
                let removed = log.truncate_to(to);
                prop_assert_eq!(removed, len as i64 - to);
                model.entries.truncate(to as usize);
                model.written_ms.truncate(to as usize);
                model.flushed = model.flushed.min(to as usize);
            }
            Step::Flush => {
                disk.logs.get_mut(&tp).expect("the log").flush();
                model.flushed = len;
            }
            Step::Wait { ms } => model.now_ms += ms,
            Step::PowerLoss => {
                disk.crash(CrashKind::PowerLoss, model.now_ms, PageCache::default());
                disk.logs.get_mut(&tp).expect("the log").recover();
                let kept = model.kept_by_power_loss();
                model.entries.truncate(kept);
                model.written_ms.truncate(kept);
                model.flushed = kept;
            }
        }
        let log = &disk.logs[&tp];
        log.invariants();
        prop_assert_eq!(values(log), model.entries.clone(), "after {:?}", step);
        prop_assert_eq!(log.log_end_offset(), model.entries.len() as i64);
        prop_assert!(log.high_watermark() <= log.log_end_offset());
        // Each epoch in the cache starts where the model's first record of it is.
        for &(epoch, start) in log.epoch_starts() {
            let first = model.entries.iter().position(|(_, e)| *e == epoch);
            if let Some(first) = first {
                prop_assert_eq!(
                    start,
                    first as i64,
                    "epoch {} starts at its first record",
                    epoch
                );
            }
        }
        // Where an epoch ends, as OffsetsForLeaderEpoch answers, from the model.
        for &(epoch, _) in log.epoch_starts() {
            let (found, end) = log.end_offset_for_epoch(epoch).expect("a cached epoch");
            prop_assert_eq!(found, epoch);
            let later = model.entries.iter().position(|(_, e)| *e > epoch);
            prop_assert_eq!(end, later.unwrap_or(model.entries.len()) as i64);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn the_log_agrees_with_a_plain_model_after_any_sequence_of_steps(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        run(&steps)?;
    }
}
