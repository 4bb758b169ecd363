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
        "no rewind point at or before time {time_ns} ns (the oldest timed point is {oldest_ns:?})"
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
    /// An earlier failure left the replica unusable until reopened.
    #[error("replica is unusable after an earlier failure; reopen it")]
    Poisoned,
}
