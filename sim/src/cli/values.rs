//! What a flag's value may be: the value parsers clap calls, one per kind of value.
//!
//! Each returns the value as the type `Command` holds, or one line saying what
//! was wrong and what was expected. The line names its flag, because clap reports
//! it alone (see `parse::one_line`).
//!
//! The number flags are declared with `allow_negative_numbers`: without it clap
//! reads the `-1` of `--seed -1` as an unknown flag, and the user would be told
//! about a flag they never meant instead of about their seed.

use super::SAFETY_PHASE_S_MAX;
use crate::scenario::{self, SCENARIOS};

/// `--seed N`: any seed.
pub(super) fn seed(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("--seed must be a non-negative whole number, got '{text}'"))
}

/// `--jobs N`: at least 1.
pub(super) fn jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("--jobs must be at least 1, got '0'".into()),
        Ok(jobs) => Ok(jobs),
        Err(_) => Err(format!(
            "--jobs must be a whole number of at least 1, got '{text}'"
        )),
    }
}

/// `--max-runs N`: at least 1.
pub(super) fn max_runs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("--max-runs must be at least 1, got '0'".into()),
        Ok(runs) => Ok(runs),
        Err(_) => Err(format!(
            "--max-runs must be a whole number of at least 1, got '{text}'"
        )),
    }
}

/// `--safety-phase-s S`: 1 to `SAFETY_PHASE_S_MAX` seconds.
pub(super) fn safety_phase_s(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(s) if (1..=SAFETY_PHASE_S_MAX).contains(&s) => Ok(s),
        _ => Err(format!(
            "--safety-phase-s must be a whole number of seconds from 1 to {SAFETY_PHASE_S_MAX}, got '{text}'"
        )),
    }
}

/// `--scenario NAME|FILE.toml`: a built-in scenario by name, or a scenario file
/// by path (anything ending in `.toml` or naming a file). A file that does not
/// parse or cannot run is refused with why, and its line.
pub(super) fn scenario(name: &str) -> Result<&'static str, String> {
    if let Some(found) = scenario::find(name) {
        return Ok(found.name);
    }
    if name.ends_with(".toml") || std::path::Path::new(name).is_file() {
        return scenario::load_file(name).map(|s| s.name);
    }
    let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    Err(format!(
        "unknown scenario '{name}'; built-in scenarios: {} (or a scenario file, NAME.toml)",
        names.join(", ")
    ))
}
