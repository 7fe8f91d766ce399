//! What a flag's value may be: the value parsers clap calls, one per kind of value.
//!
//! Each returns the value as the type `Command` holds, or one line saying what
//! was wrong and what was expected. The line names its flag, because clap reports
//! it alone (see `parse::one_line`).
//!
//! The number flags are declared with `allow_negative_numbers`: without it clap
//! reads the `-1` of `--seed -1` as an unknown flag, and the user would be told
//! about a flag they never meant instead of about their seed.

use super::{BENCH_SEEDS_MAX, JOBS_MAX, SAFETY_PHASE_S_MAX};
use crate::scenario::{self, Scenario};
use crate::sweep::SeedRange;
use std::fs::FileType;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// `--seed N`: any seed.
pub(super) fn seed(text: &str) -> Result<u64, String> {
    number_in(text, 0..=u64::MAX)
        .ok_or_else(|| format!("--seed must be a whole number, digits only, got '{text}'"))
}

/// A lab's name (`kafkasim lab check NAME`): one of `kafkasim lab list`.
pub(super) fn lab(text: &str) -> Result<&'static crate::lab::Lab, String> {
    crate::lab::named(text).ok_or_else(|| {
        format!(
            "no lab '{text}'; the labs: {} (see kafkasim lab list)",
            crate::lab::names().join(", ")
        )
    })
}

/// `--jobs N`: 1 to `JOBS_MAX`.
pub(super) fn jobs(text: &str) -> Result<usize, String> {
    number_in(text, 1..=JOBS_MAX).ok_or_else(|| {
        format!("--jobs must be a whole number from 1 to {JOBS_MAX}, digits only, got '{text}'")
    })
}

/// `serve --brokers N`: one to nine brokers, as the ports after `--port`.
pub(super) fn brokers(text: &str) -> Result<u32, String> {
    number_in(text, 1..=9)
        .ok_or_else(|| format!("--brokers must be a whole number from 1 to 9, got '{text}'"))
}

/// `bench --seeds A..B`: at most `BENCH_SEEDS_MAX` seeds, as the bench keeps
/// every seed's timings.
pub(super) fn bench_seeds(text: &str) -> Result<SeedRange, String> {
    let range = SeedRange::parse(text)?;
    match range.end - range.start {
        n if n > BENCH_SEEDS_MAX => Err(format!(
            "--seeds {text} holds {n} seeds; the bench runs at most {BENCH_SEEDS_MAX}"
        )),
        _ => Ok(range),
    }
}

/// `lab check --seeds A..B`: at most `SWEEP_SEEDS_MAX` seeds.
pub(super) fn lab_seeds(text: &str) -> Result<SeedRange, String> {
    let range = SeedRange::parse(text)?;
    match range.end - range.start {
        n if n > super::SWEEP_SEEDS_MAX => Err(format!(
            "--seeds {text} holds {n} seeds; a lab sweeps at most {}",
            super::SWEEP_SEEDS_MAX
        )),
        _ => Ok(range),
    }
}

/// `--max-runs N`: at least 1.
pub(super) fn max_runs(text: &str) -> Result<usize, String> {
    number_in(text, 1..=usize::MAX).ok_or_else(|| {
        format!("--max-runs must be a whole number of at least 1, digits only, got '{text}'")
    })
}

/// `--safety-phase-s S`: 1 to `SAFETY_PHASE_S_MAX` seconds.
pub(super) fn safety_phase_s(text: &str) -> Result<u64, String> {
    number_in(text, 1..=SAFETY_PHASE_S_MAX).ok_or_else(|| {
        format!(
            "--safety-phase-s must be a whole number of seconds from 1 to \
             {SAFETY_PHASE_S_MAX}, digits only, got '{text}'"
        )
    })
}

/// A whole number in `range`, written in digits alone. `u64::from_str` would
/// also take a leading `+`, which no number kafkasim prints has: a replay
/// command, a report and a summary all say `--seed 5`, never `--seed +5`.
fn number_in<T: FromStr + PartialOrd>(text: &str, range: RangeInclusive<T>) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|number| range.contains(number))
}

/// `--scenario NAME|FILE.toml`: a built-in scenario by name, or a scenario file
/// by path (anything ending in `.toml` or naming a file). A file that does not
/// parse or cannot run is refused with why, and its line. A path that names a
/// directory, a FIFO or a device is refused before it is opened: reading a FIFO
/// would wait for a writer that may never come.
pub(super) fn scenario(name: &str) -> Result<Scenario, String> {
    if let Some(found) = scenario::builtin(name) {
        return Ok(found);
    }
    match std::fs::metadata(name) {
        Ok(found) if found.is_file() => scenario::load_file(name),
        Ok(found) => Err(format!(
            "--scenario {name} is {}, not a regular file",
            file_kind(&found.file_type())
        )),
        // Reading it says why it cannot be read.
        Err(_) if name.ends_with(".toml") => scenario::load_file(name),
        Err(_) => Err(format!(
            "unknown scenario '{name}'; built-in scenarios: {} (or a scenario file, NAME.toml)",
            scenario::builtin_names().join(", ")
        )),
    }
}

/// What a path that is not a regular file is, in words.
fn file_kind(file_type: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    match file_type.is_dir() {
        true => "a directory",
        false => "something other than a file",
    }
}

/// `--kind K`: a finding's kind, by its name (`lost-write`, `processed-again`, …).
pub(super) fn kind(text: &str) -> Result<kafkasim_check::Kind, String> {
    text.parse()
}

/// `--bug NAME`: one of `kafkasim bugs`.
pub(super) fn bug(text: &str) -> Result<kafkasim::bugs::Bug, String> {
    text.parse().map_err(|e| format!("--bug: {e}"))
}

/// `hunt --rounds N`: 1 to 100.
pub(super) fn rounds(text: &str) -> Result<u64, String> {
    number_in(text, 1..=100)
        .ok_or_else(|| format!("--rounds must be a whole number from 1 to 100, got '{text}'"))
}

/// `hunt --max-seeds N`: 1 to 100000.
pub(super) fn max_seeds(text: &str) -> Result<u64, String> {
    number_in(text, 1..=100_000)
        .ok_or_else(|| format!("--max-seeds must be a whole number from 1 to 100000, got '{text}'"))
}
