//! An append-only file that knows how much of itself is flushed.
//!
//! This is the one piece of a disk that a partition log is made of: its segment
//! is an `AppendFile` of record batches. It lives apart from the `disk` module
//! because a disk holds logs and a log holds files: with the file beside the
//! disk, `disk` and `log` would each import the other.
//!
//! Kafka's segment files are byte files with an index beside them, written
//! through the page cache and fsynced on `log.flush.interval.messages` or
//! `log.flush.interval.ms`. The model keeps entries instead of bytes, and one
//! number, `flushed_len`, for what an fsync made durable: a power loss keeps the
//! entries below it and nothing else (the `disk` module's `CrashKind`).

use serde::{Deserialize, Serialize};

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
