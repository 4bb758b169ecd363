//! Errors of reading, writing and comparing tree signatures.

use std::io;

use super::order::OrderError;
use crate::journal::PathError;

/// A tree signature that does not decode.
///
/// Names the byte offset of the damaged part (the stream header, a block
/// header, or the entry being decoded) and how many entries decoded before
/// it. After an error the decoder stays failed and returns it again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tree signature: {kind} at byte offset {offset} (after {entries} good entries)")]
pub struct SignatureError {
    /// Byte offset in the signature where the offending structure starts.
    pub offset: u64,
    /// Entries decoded successfully before the error.
    pub entries: u64,
    /// What went wrong.
    pub kind: SignatureErrorKind,
}

/// The kinds of [`SignatureError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureErrorKind {
    /// The input does not start with the tree signature magic bytes.
    #[error("not a tree signature: bad magic bytes")]
    BadMagic,
    /// The stream header's checksum does not match.
    #[error("corrupt header: checksum mismatch")]
    HeaderChecksum,
    /// A format version this library does not read.
    #[error("unsupported tree signature format version {0}")]
    UnsupportedVersion(u16),
    /// A block header's checksum does not match.
    #[error("corrupt block header: checksum mismatch")]
    BlockHeaderChecksum,
    /// A block body's checksum does not match.
    #[error("corrupt block: checksum mismatch")]
    BlockChecksum,
    /// A block declares more bytes or entries than the format allows.
    #[error("block declares {len} {what}, the limit is {max}")]
    TooLarge {
        /// `bytes` or `entries`.
        what: &'static str,
        /// Declared amount.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A structurally impossible block or entry (with a valid checksum).
    #[error("invalid entry: {0}")]
    Invalid(&'static str),
    /// An entry's path is not a valid relative path.
    #[error("invalid path: {0}")]
    Path(PathError),
    /// Entries are out of order or miss their parent directory.
    #[error("{0}")]
    Order(OrderError),
    /// The input ends before the end block.
    #[error("truncated: the input ends before the end block")]
    Truncated,
    /// The end block's entry count disagrees with the entries read.
    #[error("the end block counts {declared} entries, the blocks hold {found}")]
    CountMismatch {
        /// Count in the end block.
        declared: u64,
        /// Entries actually decoded.
        found: u64,
    },
    /// Bytes follow the end block.
    #[error("unexpected bytes after the end block")]
    TrailingData,
}

/// Why reading a tree signature from a byte source stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeReadError {
    /// Reading the source failed.
    #[error("reading the tree signature failed: {0}")]
    Io(#[from] io::Error),
    /// The bytes do not decode.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// Why writing a tree signature failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeWriteError {
    /// The sink failed; the writer refuses further entries.
    #[error("writing the tree signature failed: {0}")]
    Io(#[from] io::Error),
    /// Entries were given out of signature order.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// An entry's fields contradict each other.
    #[error("entry '{path}': {reason}")]
    Invalid {
        /// The entry's path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An earlier write failed; the writer is unusable.
    #[error("an earlier write failed; the signature writer is unusable")]
    Poisoned,
}

/// A glob pattern that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob pattern {pattern:?}: {reason}")]
pub struct GlobError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Which signature of a comparison an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The master's signature.
    Master,
    /// The replica's signature.
    Replica,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Master => "master",
            Side::Replica => "replica",
        })
    }
}

/// Why a comparison stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A signature could not be read.
    #[error("{side} signature: {source}")]
    Read {
        /// Which signature.
        side: Side,
        /// The failure.
        source: TreeReadError,
    },
    /// A signature's entries are not in signature order.
    #[error("{side} signature: {source}")]
    Order {
        /// Which signature.
        side: Side,
        /// The failure.
        source: OrderError,
    },
}
