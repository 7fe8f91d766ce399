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
