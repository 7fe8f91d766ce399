//! Writing to stdout without panicking: `out!` and `outln!` are `print!` and
//! `println!` that keep the first write error instead of panicking on it.
//!
//! `println!` panics when a write fails. Two failures are ordinary for a command
//! line tool: the reader of a pipe leaves early (`kafkasim replay --seed 1 |
//! head -1`; Rust ignores SIGPIPE, so the write fails with `BrokenPipe`), and
//! the disk fills (`kafkasim run --json >/dev/full`). Here the first failure is
//! kept, later writes are skipped, and `finish_stdout` turns it into the exit: a
//! closed pipe is the reader's choice, so the command's own exit code stands;
//! any other failure is exit code 2 with one line on stderr.
//!
//! The failure is kept in a static because stdout is the process's, and
//! `execute` has one signature whatever it prints; the binary calls
//! `finish_stdout` once, last.

use super::EXIT_USAGE;
use std::io::{self, Write as _};
use std::sync::OnceLock;

/// The first error writing to stdout met, if any.
static FAILED: OnceLock<io::Error> = OnceLock::new();

/// Writes to stdout unless a write has failed before; what `out!` calls.
pub(crate) fn write(text: std::fmt::Arguments<'_>) {
    if FAILED.get().is_some() {
        return;
    }
    if let Err(error) = io::stdout().lock().write_fmt(text) {
        let _ = FAILED.set(error);
    }
}

/// Whether stdout failed for another reason than a closed pipe (a full disk,
/// an I/O error): what was meant for it is lost unless said elsewhere.
pub fn failed_for_good() -> bool {
    if FAILED.get().is_none() {
        if let Err(error) = io::stdout().lock().flush() {
            let _ = FAILED.set(error);
        }
    }
    FAILED
        .get()
        .is_some_and(|error| error.kind() != io::ErrorKind::BrokenPipe)
}

/// Flushes stdout and gives the exit code: `code`, unless a write failed for
/// another reason than a closed pipe, which is exit code 2.
pub fn finish_stdout(code: i32) -> i32 {
    if FAILED.get().is_none() {
        if let Err(error) = io::stdout().lock().flush() {
            let _ = FAILED.set(error);
        }
    }
    match FAILED.get() {
        None => code,
        Some(error) if error.kind() == io::ErrorKind::BrokenPipe => code,
        Some(error) => {
            // Not eprintln!: if stderr is gone too, there is no one to tell.
            let _ = writeln!(io::stderr(), "error: cannot write to stdout: {error}");
            EXIT_USAGE
        }
    }
}

/// `text` with every control character but the line break written as an
/// escape (`\u{1b}`): errors quote what users and files wrote, and an escape
/// sequence quoted raw would act on the terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let escaped = text
        .chars()
        .map(|c| match c.is_control() && c != '\n' {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect();
    std::borrow::Cow::Owned(escaped)
}

/// `error: TEXT` on stderr, printable (see [`printable`]).
pub fn error(text: impl std::fmt::Display) {
    let text = text.to_string();
    let _ = writeln!(io::stderr(), "error: {}", printable(&text));
}

/// `print!` to stdout, without a panic when stdout is closed or full.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(format_args!($($arg)*))
    };
}

/// `println!` to stdout, without a panic when stdout is closed or full.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
