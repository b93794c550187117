//! Shared helpers for the offline tests (`tests/cli_*.rs`): the real binary with no inherited
//! log settings, and its output as one text for assertion messages.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_gmsa-keytab");

/// Runs the binary with `args`, stdin closed, and neither `RUST_LOG` nor `JOURNAL_STREAM` (so
/// the log format and level are the defaults whatever the caller's environment).
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Standard output then standard error.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
