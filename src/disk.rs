//! A node's disk, which knows what has been flushed.
//!
//! Kafka acknowledges writes from the page cache and does not fsync by default
//! (`log.flush.interval.messages` is effectively infinite). The model therefore keeps
//! two fault kinds apart:
//! - a **process crash** keeps everything written (the page cache survives), and
//! - a **power loss** keeps what was flushed, and what the operating system had
//!   already written back from its page cache on its own.
//!
//! Linux writes a dirty page back once it is older than `vm.dirty_expire_centisecs`
//! (30 s by default), checking every `vm.dirty_writeback_centisecs` (5 s); with the
//! latter at 0 it never writes back periodically. So a power loss with Kafka's
//! default flush settings loses the last half-minute or so of writes, not the
//! whole log. The model keeps that rule and leaves out the other triggers of
//! writeback (memory pressure past `vm.dirty_background_ratio`, a full cache):
//! they only ever write back more, sooner.
//!
//! The disk is plain data owned by the node. The simulation harness holds on to it
//! across a crash and hands it to the restarted node, which rebuilds itself from it.
//! Checkpoint files (high watermark, leader epochs, cluster metadata) are written
//! with an fsync in Kafka, so the model treats them as always flushed.

use crate::ids::TopicPartition;
use crate::log::Log;
use crate::metadata::MetadataImage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a node keeps on its disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    /// A broker's partition logs (log segments plus checkpoint files).
    pub logs: BTreeMap<TopicPartition, Log>,
    /// The controller's copy of the cluster metadata (KRaft's `__cluster_metadata`
    /// log, kept here as its latest image, fsynced on every change).
    pub metadata: Option<MetadataImage>,
}

// ANCHOR: crash_kind
/// How a node went down, which decides what its disk keeps; in order of what
/// it takes, so that of two crashes while down the later order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CrashKind {
    /// The process died; the operating system's page cache kept every write.
    ProcessCrash,
    /// The machine lost power; only flushed or written-back data survives.
    PowerLoss,
    /// The disk failed and was replaced: the broker starts with no logs at
    /// all, checkpoints included.
    DiskReplaced,
}

/// The operating system's page-cache writeback, as Linux's two sysctls set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCache {
    /// `vm.dirty_expire_centisecs`, in ms: how old dirty data must be before
    /// the flusher writes it back.
    pub dirty_expire_ms: u64,
    /// `vm.dirty_writeback_centisecs`, in ms: how often the flusher wakes;
    /// 0 turns periodic writeback off, so only an fsync makes data durable.
    pub dirty_writeback_ms: u64,
}

impl Default for PageCache {
    /// Linux's defaults: 30 s and 5 s.
    fn default() -> Self {
        PageCache {
            dirty_expire_ms: 30_000,
            dirty_writeback_ms: 5_000,
        }
    }
}

impl PageCache {
    /// No writeback at all: a power loss keeps only what was flushed.
    pub const NEVER: PageCache = PageCache {
        dirty_expire_ms: 30_000,
        dirty_writeback_ms: 0,
    };

    /// Whether data written at `written_ms` was on disk at `at_ms`: the first
    /// flusher wake-up (every `dirty_writeback_ms` since the machine started)
    /// at which it had been dirty for `dirty_expire_ms` came before `at_ms`.
    pub fn written_back(&self, written_ms: u64, at_ms: u64) -> bool {
        if self.dirty_writeback_ms == 0 {
            return false;
        }
        let expired = written_ms.saturating_add(self.dirty_expire_ms);
        let wake = expired.div_ceil(self.dirty_writeback_ms) * self.dirty_writeback_ms;
        wake <= at_ms
    }
}

impl Disk {
    /// Applies a crash at `at_ms` to the disk's contents. For a power loss,
    /// `at_ms` is when the power went: writeback ran until then, even if the
    /// process had died earlier.
    pub fn crash(&mut self, kind: CrashKind, at_ms: u64, page_cache: PageCache) {
        match kind {
            CrashKind::ProcessCrash => {}
            CrashKind::PowerLoss => {
                for log in self.logs.values_mut() {
                    log.lose_power(|written| page_cache.written_back(written, at_ms));
                }
            }
            CrashKind::DiskReplaced => self.logs.clear(),
        }
    }
}
// ANCHOR_END: crash_kind

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_written_back_at_the_first_wake_up_after_it_expires() {
        let cache = PageCache::default();
        // Written at 1 s, expired at 31 s, written back at the 35 s wake-up.
        assert!(!cache.written_back(1_000, 34_999));
        assert!(cache.written_back(1_000, 35_000));
        // Expiring exactly on a wake-up is written back then.
        assert!(cache.written_back(5_000, 35_000));
        assert!(!PageCache::NEVER.written_back(0, u64::MAX));
    }
}
