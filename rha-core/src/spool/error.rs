//! Spool errors, one enum per operation.

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::journal::{DecodeError, EncodeError};

/// Damage found in a spool directory: which file, where, and what is intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The damaged file (a segment, `state` or `dirty`).
    pub file: String,
    /// Byte offset in that file where the damage starts.
    pub offset: u64,
    /// The sequence number of the last record before the damage that is
    /// intact, if any.
    pub last_good_seq: Option<u64>,
    /// What is wrong, in lowercase English.
    pub reason: String,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte offset {} of {} (last good sequence number: ",
            self.reason, self.offset, self.file
        )?;
        match self.last_good_seq {
            Some(seq) => write!(f, "{seq})"),
            None => f.write_str("none)"),
        }
    }
}

/// Why a spool did not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The storage failed.
    #[error("spool i/o failed while {doing} {file}: {source}")]
    Io {
        /// What the spool was doing ("reading", "truncating", ...).
        doing: &'static str,
        /// The file concerned ("" for the directory).
        file: String,
        /// The storage's error.
        #[source]
        source: io::Error,
    },
    /// A file is damaged in a way recovery does not repair on its own;
    /// opening with [`SpoolConfig::salvage`](super::SpoolConfig) keeps
    /// everything before the damage.
    #[error("spool is corrupt: {0}")]
    Corrupt(Corruption),
    /// The configuration is not usable.
    #[error("invalid spool configuration: {0}")]
    Config(&'static str),
}

/// Why the spool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FullReason {
    /// The spool's size would pass its maximum.
    MaxSize,
    /// The file system's free space would drop below the minimum.
    MinFreeSpace,
}

impl fmt::Display for FullReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FullReason::MaxSize => "maximum spool size reached",
            FullReason::MinFreeSpace => "free disk space below the minimum",
        })
    }
}

/// Why an append (or a wait for durability) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The record is invalid or its sequence number is not the next one;
    /// nothing was appended and the spool goes on.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Journal bytes given to [`Spool::append_journal`](super::Spool::append_journal)
    /// do not decode, or end inside a frame; nothing was appended and the
    /// spool goes on.
    #[error("journal bytes: {0}; nothing was appended")]
    Journal(#[source] DecodeError),
    /// The spool is full and the caller asked not to wait (or the wait timed
    /// out); nothing was appended and the spool goes on.
    #[error("spool full: {reason} (using {used} of {capacity} bytes)")]
    Full {
        /// Which limit.
        reason: FullReason,
        /// Bytes the spool holds.
        used: u64,
        /// Bytes it may hold under its limits now.
        capacity: u64,
    },
    /// The spool overflowed under the stop policy and refuses appends until
    /// the scenario is resynchronised and the spool reset.
    #[error("spool stopped after an overflow at sequence number {at_seq}: resynchronise, then reset the spool")]
    Stopped {
        /// The first record that was not spooled.
        at_seq: u64,
    },
    /// Writing or syncing failed. What reached the disk is unknown: the
    /// spool refuses further writes until it is reopened.
    #[error("spool write failed: {0}")]
    Io(#[source] Arc<io::Error>),
    /// An earlier write or sync failed; reopen the spool.
    #[error("spool is unusable after an earlier i/o failure ({0}); reopen it")]
    Poisoned(Arc<str>),
}

/// Why an acknowledgement failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The sequence number is not durable yet (or was never appended).
    #[error("cannot acknowledge sequence number {seq}: the last durable one is {durable}")]
    NotDurable {
        /// The sequence number given.
        seq: u64,
        /// The last durable sequence number (or the one before the first).
        durable: u64,
    },
    /// Writing the state file or removing a segment failed; the spool
    /// refuses further writes until it is reopened.
    #[error("spool acknowledgement failed: {0}")]
    Io(#[source] Arc<io::Error>),
    /// An earlier write or sync failed; reopen the spool.
    #[error("spool is unusable after an earlier i/o failure ({0}); reopen it")]
    Poisoned(Arc<str>),
}

/// Why reading from the spool failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The position was reclaimed after an acknowledgement.
    #[error("sequence number {seq} is no longer in the spool (the oldest is {oldest})")]
    Reclaimed {
        /// The position asked for.
        seq: u64,
        /// The oldest sequence number still stored.
        oldest: u64,
    },
    /// The position is beyond the next sequence number.
    #[error("sequence number {seq} is beyond the end of the spool (next: {next})")]
    BeyondEnd {
        /// The position asked for.
        seq: u64,
        /// The next sequence number to be appended.
        next: u64,
    },
    /// A segment does not decode.
    #[error("spool segment {file} is corrupt: {error}")]
    Corrupt {
        /// The segment file.
        file: String,
        /// The decoding error (offset within the file, last good sequence number).
        error: DecodeError,
    },
    /// Reading a segment failed.
    #[error("reading spool segment {file} failed: {source}")]
    Io {
        /// The segment file.
        file: String,
        /// The storage's error.
        #[source]
        source: io::Error,
    },
}

/// Why a reset failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResetError {
    /// The next sequence number given is behind the spool's.
    #[error("cannot reset the spool to sequence number {next_seq}: it is already at {current}")]
    Backwards {
        /// The sequence number given.
        next_seq: u64,
        /// The spool's next sequence number.
        current: u64,
    },
    /// The storage failed; the spool refuses further writes until reopened.
    #[error("spool reset failed: {0}")]
    Io(#[source] Arc<io::Error>),
    /// An earlier write or sync failed; reopen the spool.
    #[error("spool is unusable after an earlier i/o failure ({0}); reopen it")]
    Poisoned(Arc<str>),
    /// Saving the dirty regions before a
    /// [`reset_keeping`](super::Spool::reset_keeping) failed; nothing was
    /// discarded.
    #[error("saving the dirty regions before the spool reset failed: {0}")]
    Keep(#[source] Arc<io::Error>),
}
