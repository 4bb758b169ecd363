//! The exit codes of the `rha` tool: one table for every subcommand, so a
//! code means the same thing whichever command returns it.

use std::process::ExitCode;

/// How a `rha` command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success.
    Ok = 0,
    /// A file or directory could not be read or written, or the operation
    /// failed for a reason not listed below.
    Io = 1,
    /// Bad usage: a malformed argument or option (clap uses 2 as well).
    Usage = 2,
    /// The input ends with a torn tail: a last record cut short by a crash,
    /// safe to truncate.
    Torn = 3,
    /// The input is corrupt (a checksum, sequence number or structure is
    /// wrong).
    Corrupt = 4,
    /// Another process holds the replica's or spool's lock.
    Busy = 5,
    /// The rewind point asked for is not available.
    NoPoint = 6,
    /// A record could not be applied or undone.
    Apply = 7,
    /// `--salvage` discarded data from a corruption on.
    Salvaged = 8,
    /// The journal does not continue the replica's sequence (a gap, a
    /// restart or another scenario).
    Gap = 9,
    /// A sync finished, but some master files or directories could not be
    /// read and were left as they were on the replica (rsync's 23).
    Partial = 10,
}

impl Exit {
    /// Every code, in numeric order, with the line `--help` shows for it.
    pub(crate) const TABLE: [(Exit, &'static str); 11] = [
        (Exit::Ok, "success"),
        (
            Exit::Io,
            "a file could not be read or written, or the command failed",
        ),
        (Exit::Usage, "bad usage"),
        (
            Exit::Torn,
            "torn tail: the last record was cut short (safe to truncate)",
        ),
        (Exit::Corrupt, "corrupt input"),
        (
            Exit::Busy,
            "another process holds the replica's or spool's lock",
        ),
        (Exit::NoPoint, "the rewind point asked for is not available"),
        (Exit::Apply, "a record could not be applied or undone"),
        (
            Exit::Salvaged,
            "--salvage discarded data from a corruption on",
        ),
        (
            Exit::Gap,
            "the journal does not continue the replica's sequence (a gap, a restart or another scenario)",
        ),
        (
            Exit::Partial,
            "partial sync: some master paths could not be read",
        ),
    ];

    /// The numeric code.
    pub(crate) const fn code(self) -> u8 {
        self as u8
    }

    /// The exit-status section of `rha --help`.
    pub(crate) fn help() -> String {
        let mut s = String::from("Exit status (the same in every subcommand):\n");
        for (exit, line) in Self::TABLE {
            s.push_str(&format!("  {}  {line}\n", exit.code()));
        }
        s
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_code_once_in_order() {
        let mut last = None;
        for (exit, line) in Exit::TABLE {
            assert!(last < Some(exit.code()), "{exit:?} is out of order");
            last = Some(exit.code());
            assert!(!line.is_empty());
        }
        assert!(Exit::help().contains("  8  --salvage"));
        assert!(Exit::help().contains("  9  the journal does not continue"));
        assert!(Exit::help().contains("  10  partial sync"));
    }
}
