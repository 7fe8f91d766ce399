//! What the command-line tests share: running the built `kafkasim` binary, from
//! the `sim/` folder (cargo's working directory for these tests), and reading
//! what it printed.

#![allow(dead_code)] // each test file uses its own part

use std::ffi::OsStr;
use std::process::{Command, Output};

/// Runs `kafkasim ARGS` and waits for it.
pub fn kafkasim<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
