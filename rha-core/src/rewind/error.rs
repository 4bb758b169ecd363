//! Errors of the rewind engine.

use std::io;

use super::invert::InvertError;
use super::log::LogError;

/// Why applying, bookmarking or rewinding failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewindError {
    /// The rewind log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A record cannot apply to the target as it is; nothing was changed.
    #[error("record {seq} cannot be applied: {source}")]
    Invert {
        /// The record's sequence number.
        seq: u64,
        /// Why.
        #[source]
        source: InvertError,
    },
    /// Applying a record failed; the batch (and its transaction, if any)
    /// was rolled back.
    #[error("applying record {seq} ({op}) failed, rolled back: {source}")]
    Apply {
        /// The record's sequence number.
        seq: u64,
        /// The operation's name.
        op: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Undoing a change failed: the target is between two points. Reopen the
    /// replica to resume.
    #[error("rewinding through record {seq} failed (reopen to resume): {source}")]
    Undo {
        /// The entry being undone (or redone).
        seq: u64,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Making the target durable failed.
    #[error("syncing the target failed: {0}")]
    Sync(#[source] io::Error),
    /// No bookmark has this name.
    #[error("unknown bookmark '{name}'")]
    UnknownBookmark {
        /// The name asked for.
        name: String,
    },
    /// The point was dropped by retention.
    #[error("point {seq} was retired by retention; the oldest point is {oldest}")]
    PointRetired {
        /// The point asked for.
        seq: u64,
        /// The oldest point still held.
        oldest: u64,
    },
    /// The point lies after the current one (use undo to go forward).
    #[error("point {seq} is after the current point {current}")]
    FuturePoint {
        /// The point asked for.
        seq: u64,
        /// The current point.
        current: u64,
    },
    /// No point is as old as the time asked for.
    #[error(
        "no rewind point at or before {} ({})",
        Utc(*time_ns),
        match oldest_ns {
            Some(t) => format!("the oldest point is from {}", Utc(*t)),
            None => "no point has a time yet".to_owned(),
        }
    )]
    NoPointAtTime {
        /// The time asked for.
        time_ns: u64,
        /// The oldest point's time, if any.
        oldest_ns: Option<u64>,
    },
    /// The log holds no point at all yet.
    #[error("the rewind log is empty")]
    EmptyLog,
    /// There is no rewind to undo (none happened, or a record was applied since).
    #[error("nothing to undo: no rewind since the last applied record")]
    NothingToUndo,
    /// Rewind is off for this replica.
    #[error("rewind is not enabled for this replica")]
    Disabled,
    /// A transaction is open (its records are buffered, not applied).
    #[error("transaction {txid} is open; rewind or bookmark after it commits")]
    TxnOpen {
        /// The open transaction.
        txid: u64,
    },
    /// An open transaction grew past the configured bound.
    #[error("transaction {txid} holds more than {limit} bytes of records")]
    TxnTooLarge {
        /// The transaction.
        txid: u64,
        /// The bound.
        limit: usize,
    },
    /// A record's sequence number is not after the current point.
    #[error("record {seq} is not after the current point {current}")]
    Stale {
        /// The record.
        seq: u64,
        /// The current point.
        current: u64,
    },
    /// A bookmark name is empty, too long or holds a NUL byte.
    #[error(
        "bookmark name {reason}: give a name of 1 to {} bytes without NUL",
        crate::journal::MAX_BOOKMARK_NAME_LEN
    )]
    BookmarkName {
        /// What is wrong with it ("is empty", "is 300 bytes long", ...).
        reason: String,
    },
    /// An earlier failure left the replica unusable until reopened.
    #[error("replica is unusable after an earlier failure; reopen it")]
    Poisoned,
}

/// Nanoseconds since the Unix epoch, shown as an RFC 3339 UTC time
/// (`2025-11-21T10:00:00.000000001Z`) in messages.
struct Utc(u64);

impl std::fmt::Display for Utc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let nanos = self.0 % 1_000_000_000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Civil date from days since 1970-01-01 (Howard Hinnant's
        // `civil_from_days`, for non-negative days).
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z % 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        if nanos != 0 {
            write!(f, ".{nanos:09}")?;
        }
        f.write_str("Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_messages_are_rfc3339() {
        assert_eq!(Utc(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Utc(1_763_719_200_000_000_001).to_string(),
            "2025-11-21T10:00:00.000000001Z"
        );
        assert_eq!(
            Utc(951_782_400_000_000_000).to_string(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(Utc(u64::MAX).to_string(), "2554-07-21T23:34:33.709551615Z");
        let e = RewindError::NoPointAtTime {
            time_ns: 1_763_719_200_000_000_000,
            oldest_ns: Some(1_796_452_573_364_105_415),
        };
        assert_eq!(
            e.to_string(),
            "no rewind point at or before 2025-11-21T10:00:00Z \
             (the oldest point is from 2026-12-05T06:36:13.364105415Z)"
        );
        assert!(!e.to_string().contains("Some("));
    }
}
