//! A node's disk, which knows what has been flushed.
//!
//! Kafka acknowledges writes from the page cache and does not fsync by default
//! (`log.flush.interval.messages` is effectively infinite). The model therefore keeps
//! two fault kinds apart:
//! - a **process crash** keeps everything written (the page cache survives), and
//! - a **power loss** keeps only what was flushed.
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

/// An append-only file of entries whose first `flushed_len` entries are durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendFile<T> {
    entries: Vec<T>,
    flushed_len: usize,
}

impl<T> Default for AppendFile<T> {
    fn default() -> Self {
        AppendFile {
            entries: Vec::new(),
            flushed_len: 0,
        }
    }
}

impl<T> AppendFile<T> {
    pub fn entries(&self) -> &[T] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn append(&mut self, entry: T) {
        self.entries.push(entry);
    }

    /// Cuts the file to its first `len` entries (a log truncation).
    pub fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
        self.flushed_len = self.flushed_len.min(len);
    }

    /// Cuts the file inside its entry at `index`: the entries before it stay and
    /// `head`, the part of that entry before the cut, replaces it. What was
    /// flushed stays flushed: cutting a file does not undo the sync of what it keeps.
    pub fn truncate_within(&mut self, index: usize, head: T) {
        let head_was_flushed = self.flushed_len > index;
        self.entries.truncate(index);
        self.entries.push(head);
        self.flushed_len = if head_was_flushed {
            index + 1
        } else {
            self.flushed_len.min(index)
        };
    }

    /// Drops the first `count` entries (log start offset moved past them).
    pub fn drop_front(&mut self, count: usize) {
        let count = count.min(self.entries.len());
        self.entries.drain(..count);
        self.flushed_len = self.flushed_len.saturating_sub(count);
    }

    /// fsync: everything written so far survives a power loss.
    pub fn flush(&mut self) {
        self.flushed_len = self.entries.len();
    }

    /// Entries written since the last flush.
    pub fn unflushed_len(&self) -> usize {
        self.entries.len() - self.flushed_len
    }

    /// A power loss: the unflushed tail is gone.
    pub fn lose_unflushed(&mut self) {
        self.entries.truncate(self.flushed_len);
    }
}

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
/// How a node went down, which decides what its disk keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrashKind {
    /// The process died; the operating system's page cache kept every write.
    ProcessCrash,
    /// The machine lost power; only flushed data survives.
    PowerLoss,
}

impl Disk {
    /// Applies a crash to the disk's contents.
    pub fn crash(&mut self, kind: CrashKind) {
        if kind == CrashKind::PowerLoss {
            for log in self.logs.values_mut() {
                log.lose_unflushed();
            }
        }
    }
}
// ANCHOR_END: crash_kind

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_loss_keeps_only_the_flushed_prefix() {
        let mut file = AppendFile::default();
        file.append(1);
        file.append(2);
        file.flush();
        file.append(3);
        assert_eq!(file.unflushed_len(), 1);
        file.lose_unflushed();
        assert_eq!(file.entries(), &[1, 2]);
    }

    #[test]
    fn truncation_below_the_flush_point_moves_it() {
        let mut file = AppendFile::default();
        for i in 0..4 {
            file.append(i);
        }
        file.flush();
        file.truncate(1);
        file.append(9);
        file.lose_unflushed();
        assert_eq!(file.entries(), &[0]);
    }
}
