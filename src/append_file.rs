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
//! number, `flushed_len`, for what an fsync made durable, and the time each
//! entry was written, so that a power loss also keeps what the operating system
//! had written back on its own (the `disk` module's `PageCache`).

use serde::{Deserialize, Serialize};

/// An append-only file of entries whose first `flushed_len` entries are durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendFile<T> {
    entries: Vec<T>,
    /// When each entry was written (into the page cache), in milliseconds.
    written_ms: Vec<u64>,
    flushed_len: usize,
}

impl<T> Default for AppendFile<T> {
    fn default() -> Self {
        AppendFile {
            entries: Vec::new(),
            written_ms: Vec::new(),
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

    /// Writes `entry` at the end, at `now_ms` (into the page cache: durable
    /// once flushed or written back).
    pub fn append(&mut self, entry: T, now_ms: u64) {
        debug_assert!(self.written_ms.last().is_none_or(|&last| last <= now_ms));
        self.entries.push(entry);
        self.written_ms.push(now_ms);
    }

    /// Cuts the file to its first `len` entries (a log truncation).
    pub fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
        self.written_ms.truncate(len);
        self.flushed_len = self.flushed_len.min(len);
    }

    /// Cuts the file inside its entry at `index`: the entries before it stay and
    /// `head`, the part of that entry before the cut, replaces it. What was
    /// flushed stays flushed: cutting a file does not undo the sync of what it keeps.
    pub fn truncate_within(&mut self, index: usize, head: T) {
        let head_was_flushed = self.flushed_len > index;
        self.entries.truncate(index);
        self.written_ms.truncate(index + 1);
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
        self.written_ms.drain(..count);
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

    /// A power loss: what was neither flushed nor `written_back` (asked with
    /// each entry's write time) is gone. The page cache writes back in the
    /// order it was written to, so what survives is a prefix.
    pub fn lose_power(&mut self, written_back: impl Fn(u64) -> bool) {
        let kept = self.written_ms.iter().take_while(|&&at| written_back(at));
        let kept = kept.count().max(self.flushed_len);
        self.entries.truncate(kept);
        self.written_ms.truncate(kept);
        self.flushed_len = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_loss_keeps_only_the_flushed_prefix() {
        let mut file = AppendFile::default();
        file.append(1, 0);
        file.append(2, 0);
        file.flush();
        file.append(3, 0);
        assert_eq!(file.unflushed_len(), 1);
        file.lose_power(|_| false);
        assert_eq!(file.entries(), &[1, 2]);
    }

    #[test]
    fn truncation_below_the_flush_point_moves_it() {
        let mut file = AppendFile::default();
        for i in 0..4 {
            file.append(i, 0);
        }
        file.flush();
        file.truncate(1);
        file.append(9, 0);
        file.lose_power(|_| false);
        assert_eq!(file.entries(), &[0]);
    }

    #[test]
    fn power_loss_keeps_what_was_written_back_even_if_never_flushed() {
        let mut file = AppendFile::default();
        for (entry, at) in [(1, 0), (2, 10), (3, 20)] {
            file.append(entry, at);
        }
        file.lose_power(|written| written < 15);
        assert_eq!(file.entries(), &[1, 2]);
        assert_eq!(file.unflushed_len(), 0, "what survived is on disk");
    }
}
