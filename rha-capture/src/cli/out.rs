//! Standard output of the tool: a closed pipe or a full disk is an error to
//! report, never a panic.
//!
//! Every line goes through [`line`] (the `outln!` macro). The first failed
//! write is remembered and later lines are dropped; [`finish`] flushes and
//! says how the output ended, so `rha … | head` ends quietly, as coreutils
//! do, and `rha … >/dev/full` ends with a one-line error.

use std::fmt;
use std::io::{self, Write};

use std::sync::{Mutex, MutexGuard};

static FAILED: Mutex<Option<io::Error>> = Mutex::new(None);

fn failed_slot() -> MutexGuard<'static, Option<io::Error>> {
    FAILED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes one line to standard output, unless an earlier write failed.
pub(crate) fn line(args: fmt::Arguments<'_>) {
    let mut failed = failed_slot();
    if failed.is_some() {
        return;
    }
    if let Err(e) = writeln!(io::stdout().lock(), "{args}") {
        *failed = Some(e);
    }
}

/// Remembers a failed write made elsewhere (a buffered writer on stdout).
pub(crate) fn failed(e: io::Error) {
    failed_slot().get_or_insert(e);
}

/// Flushes standard output and returns the first write error, if any.
pub(crate) fn finish() -> Option<io::Error> {
    let flushed = io::stdout().lock().flush();
    let mut failed = failed_slot();
    match (failed.take(), flushed) {
        (Some(e), _) | (None, Err(e)) => Some(e),
        (None, Ok(())) => None,
    }
}
