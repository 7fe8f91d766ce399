//! Reading files the user hands in (`kafkasim merge FILE…`, `kafkasim
//! report-check DIR`): regular files only, and never more than a named bound.
//!
//! A path may name anything: a FIFO (whose `open` waits for a writer that may
//! never come), a device such as `/dev/zero` (endless), a directory, or a file
//! far larger than any kafkasim writes. Each is refused with one line naming the
//! file, before it is opened or before more than the bound is read, so no input
//! can make a command hang or exhaust memory. A symbolic link is followed: what
//! counts is the file it leads to.

use std::fs::File;
use std::io::{BufRead, BufReader, Read as _};
use std::path::Path;

/// The longest line of a JSON-lines file kafkasim reads back: far more than any
/// line it writes (a trace line holds one message's records).
pub const LINE_BYTES_MAX: usize = 16 << 20;

/// What a file that is not regular is, in words.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "something other than a file"
    }
}

/// Opens `path` for reading if it is a regular file (or a link to one) of at
/// most `bytes_max` bytes. The type is checked before `open`, which would
/// wait forever on a FIFO.
pub fn open_regular(path: &Path, bytes_max: u64) -> Result<File, String> {
    let name = path.display();
    let metadata = std::fs::metadata(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    if !metadata.is_file() {
        let kind = kind_of(metadata.file_type());
        return Err(format!(
            "cannot read {name}: it is {kind}, not a regular file"
        ));
    }
    if metadata.len() > bytes_max {
        return Err(too_big(path, bytes_max));
    }
    File::open(path).map_err(|e| format!("cannot read {name}: {e}"))
}

fn too_big(path: &Path, bytes_max: u64) -> String {
    format!(
        "cannot read {}: it is larger than {}, the most kafkasim reads of such a file",
        path.display(),
        bytes(bytes_max)
    )
}

/// `16 MiB`, `1 GiB`, or a count of bytes.
pub fn bytes(count: u64) -> String {
    match count {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n => format!("{n} bytes"),
    }
}

/// Reads the regular file at `path` as UTF-8 text of at most `bytes_max` bytes.
/// The bound holds while reading too, for a file that grows after the check.
pub fn read_text(path: &Path, bytes_max: u64) -> Result<String, String> {
    let bytes = read_bytes(path, bytes_max)?;
    String::from_utf8(bytes).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads the regular file at `path`, at most `bytes_max` bytes of it, as
/// `read_text` does but leaving the bytes to the caller to decode.
pub fn read_bytes(path: &Path, bytes_max: u64) -> Result<Vec<u8>, String> {
    let file = open_regular(path, bytes_max)?;
    let mut bytes = Vec::new();
    (file
        .take(bytes_max.saturating_add(1))
        .read_to_end(&mut bytes))
    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > bytes_max {
        return Err(too_big(path, bytes_max));
    }
    Ok(bytes)
}

/// The lines of a JSON-lines file, each at most `line_bytes_max` bytes (without
/// its `\n`), numbered from 1. An error names the line; after one the
/// iterator ends.
pub struct Lines<R> {
    reader: R,
    number: u64,
    line_bytes_max: usize,
    done: bool,
}

impl Lines<BufReader<File>> {
    /// The lines of the regular file at `path`, of at most `bytes_max` bytes.
    pub fn open(path: &Path, bytes_max: u64, line_bytes_max: usize) -> Result<Self, String> {
        let file = open_regular(path, bytes_max)?;
        Ok(Lines::new(BufReader::new(file), line_bytes_max))
    }
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, line_bytes_max: usize) -> Self {
        Lines {
            reader,
            number: 0,
            line_bytes_max,
            done: false,
        }
    }

    /// The next line, read with `read_until` through `take`, so a line with no
    /// end is cut at the bound instead of filling memory.
    fn read_line(&mut self) -> Result<Option<String>, String> {
        let mut line = Vec::new();
        let limit = self.line_bytes_max as u64 + 1;
        (self
            .reader
            .by_ref()
            .take(limit)
            .read_until(b'\n', &mut line))
        .map_err(|e| e.to_string())?;
        if line.is_empty() {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.len() > self.line_bytes_max {
            return Err(format!(
                "it is longer than {}, the longest line kafkasim reads",
                bytes(self.line_bytes_max as u64)
            ));
        }
        String::from_utf8(line).map(Some).map_err(|e| e.to_string())
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// A line's number and text, or an error that says what is wrong with line N.
    type Item = Result<(u64, String), (u64, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.number += 1;
        match self.read_line() {
            Ok(Some(line)) => Some(Ok((self.number, line))),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(why) => {
                self.done = true;
                Some(Err((self.number, why)))
            }
        }
    }
}

/// A hash as kafkasim writes it (`trace_hash`, `scenario_hash`): 16
/// lowercase hex digits; `field` names it in the error.
pub fn hex_digits(field: &str, text: &str) -> Result<(), String> {
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if text.len() != 16 || !text.bytes().all(hex) {
        return Err(format!("{field} is {text:?}, not 16 lowercase hex digits"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, max: usize) -> Vec<Result<(u64, String), (u64, String)>> {
        Lines::new(text.as_bytes(), max).collect()
    }

    #[test]
    fn lines_are_numbered_from_1_with_or_without_a_last_newline() {
        let ok = |n, s: &str| Ok((n, s.to_string()));
        assert_eq!(lines("a\nbb\n", 4), [ok(1, "a"), ok(2, "bb")]);
        assert_eq!(lines("a\nbb", 4), [ok(1, "a"), ok(2, "bb")]);
        assert_eq!(lines("", 4), []);
    }

    #[test]
    fn a_line_past_the_bound_is_refused_and_ends_the_lines() {
        let read = lines("abcd\nabcde\nx\n", 4);
        assert_eq!(read.len(), 2, "{read:?}");
        assert_eq!(read[0], Ok((1, "abcd".to_string())));
        assert_eq!(
            read[1],
            Err((
                2,
                "it is longer than 4 bytes, the longest line kafkasim reads".to_string()
            ))
        );
    }

    #[test]
    fn an_endless_input_stops_at_the_bound() {
        let endless = std::io::BufReader::new(std::io::repeat(0));
        let mut read = Lines::new(endless, 1 << 10);
        assert!(matches!(read.next(), Some(Err((1, _)))));
        assert!(read.next().is_none());
    }

    #[test]
    fn sizes_are_written_in_the_largest_whole_unit() {
        assert_eq!(bytes(16 << 20), "16 MiB");
        assert_eq!(bytes(1 << 30), "1 GiB");
        assert_eq!(bytes(1000), "1000 bytes");
    }
}
