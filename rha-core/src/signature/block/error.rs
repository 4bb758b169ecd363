//! Errors of block signatures, deltas and patching.

use std::io;

/// A block signature that cannot be read.
///
/// `offset` is the byte offset in the signature stream where the offending
/// structure (header, group of entries, trailer) starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature: {kind} at byte offset {offset}")]
pub struct SignatureError {
    /// Where in the signature the problem starts.
    pub offset: u64,
    /// What went wrong.
    pub kind: SignatureErrorKind,
}

/// The kinds of [`SignatureError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureErrorKind {
    /// Neither an rha block signature nor an rdiff signature.
    #[error("not a block signature: bad magic bytes")]
    BadMagic,
    /// An rha signature in a format version this library does not read.
    #[error("unsupported signature format version {0}")]
    UnsupportedVersion(u16),
    /// An rdiff signature whose strong hash (MD4) this library does not compute.
    #[error("unsupported rdiff signature kind {0:#010x} (MD4 strong sums); make it with `rdiff signature -H blake2`")]
    UnsupportedRdiff(u32),
    /// The header's checksum does not match.
    #[error("corrupt header: checksum mismatch")]
    HeaderChecksum,
    /// A group of block entries does not match its checksum.
    #[error("corrupt block entries (group {group}): checksum mismatch")]
    GroupChecksum {
        /// Index of the group (1024 entries each).
        group: u64,
    },
    /// The trailer's checksum does not match.
    #[error("corrupt trailer: checksum mismatch")]
    TrailerChecksum,
    /// A header field is out of range.
    #[error("invalid header: {0}")]
    Invalid(&'static str),
    /// More blocks than the configured bound.
    #[error("signature declares {blocks} blocks, the limit is {max}")]
    TooLarge {
        /// Declared (or seen) number of blocks.
        blocks: u64,
        /// Configured limit.
        max: u64,
    },
    /// The input ended before the signature did.
    #[error("truncated signature")]
    Truncated,
    /// Bytes follow the end of the signature.
    #[error("unexpected bytes after the end of the signature")]
    TrailingBytes,
}

/// A delta that cannot be decoded.
///
/// `offset` is the byte offset in the delta stream where the offending
/// header or command starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delta: {kind} at byte offset {offset}")]
pub struct DeltaError {
    /// Where in the delta the problem starts.
    pub offset: u64,
    /// What went wrong.
    pub kind: DeltaErrorKind,
}

/// The kinds of [`DeltaError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaErrorKind {
    /// Neither an rha delta nor an rdiff delta.
    #[error("not a delta: bad magic bytes")]
    BadMagic,
    /// An rha delta in a format version this library does not read.
    #[error("unsupported delta format version {0}")]
    UnsupportedVersion(u16),
    /// The header's checksum does not match.
    #[error("corrupt header: checksum mismatch")]
    HeaderChecksum,
    /// A command does not match its checksum.
    #[error("corrupt command: checksum mismatch")]
    CommandChecksum,
    /// An unknown command byte.
    #[error("unknown command {0:#04x}")]
    UnknownCommand(u8),
    /// A literal longer than the format allows.
    #[error("literal of {len} bytes, the limit is {max}")]
    LiteralTooLarge {
        /// Declared length.
        len: u64,
        /// The format's limit.
        max: u64,
    },
    /// A copy, literal or zero run of length zero (it would make no progress).
    #[error("zero-length {0}")]
    ZeroLength(&'static str),
    /// A copy whose range does not fit in 64 bits.
    #[error("copy range overflows: start {start}, length {len}")]
    Overflow {
        /// Basis offset.
        start: u64,
        /// Length.
        len: u64,
    },
    /// The trailer's length does not match the bytes the commands produce.
    #[error("trailer declares {declared} bytes but the commands produce {produced}")]
    LengthMismatch {
        /// Length in the trailer.
        declared: u64,
        /// Bytes produced by the commands.
        produced: u64,
    },
    /// A basis command that is not the delta's first command.
    #[error("basis command after the first command")]
    MisplacedBasis,
    /// The end command declares another result than the basis command
    /// announced.
    #[error("the end declares another result than the basis command announced")]
    EndContradictsBasis,
    /// The input ended before the delta did.
    #[error("truncated delta")]
    Truncated,
    /// Bytes follow the end of the delta.
    #[error("unexpected bytes after the end of the delta")]
    TrailingBytes,
}

/// Applying a delta failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The delta does not decode.
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// A copy reaches past the end of the basis.
    #[error("delta: copy of {len} bytes from basis offset {start} is outside the basis ({basis_len} bytes) at byte offset {offset}")]
    CopyOutOfRange {
        /// Delta offset of the command.
        offset: u64,
        /// Basis offset.
        start: u64,
        /// Length.
        len: u64,
        /// Basis length.
        basis_len: u64,
    },
    /// The output would exceed the configured cap.
    #[error("patch output would exceed the cap of {max} bytes")]
    OutputTooLarge {
        /// The cap.
        max: u64,
    },
    /// Reading the basis failed (or it ended early).
    #[error("reading the basis at offset {offset}: {source}")]
    Basis {
        /// Basis offset.
        offset: u64,
        /// The failure.
        source: io::Error,
    },
    /// Writing the target failed (in-place patching).
    #[error("writing the target at offset {offset}: {source}")]
    Target {
        /// Target offset.
        offset: u64,
        /// The failure.
        source: io::Error,
    },
    /// The patched result does not have the whole-file hash the delta
    /// declares: the basis was not the one the signature described, or it
    /// changed. The caller should fall back to a full copy.
    #[error("patched file does not match the delta's whole-file hash (expected {expected}, got {actual})")]
    HashMismatch {
        /// Hex of the declared hash.
        expected: String,
        /// Hex of the computed hash.
        actual: String,
    },
    /// The delta names its basis (a fixed-offset delta does), and the
    /// file given as basis or target is another one: refused before
    /// anything is written or produced.
    #[error("the target is not the file this delta was made against: expected {expected_len} bytes with whole-file hash {expected_hash}, found {}; nothing was written", found_text(*actual_len, actual_hash.as_deref()))]
    WrongBasis {
        /// The length the delta names.
        expected_len: u64,
        /// Hex of the whole-file hash the delta names.
        expected_hash: String,
        /// The length found.
        actual_len: u64,
        /// Hex of the whole-file hash found (only computed when the
        /// lengths agree).
        actual_hash: Option<String>,
    },
    /// A copy in a delta applied in place reads from a different position
    /// than it writes, which in-place patching cannot do safely.
    #[error("delta: copy from basis offset {start} to output offset {to} cannot be applied in place (at byte offset {offset})")]
    NotInPlace {
        /// Delta offset of the command.
        offset: u64,
        /// Basis offset.
        start: u64,
        /// Output offset.
        to: u64,
    },
    /// More input was given after the delta ended, or the job was used
    /// after failing.
    #[error("patch job already finished or failed")]
    Finished,
}

/// A streaming job was misused or given impossible parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The input is longer or shorter than declared.
    #[error("input length {got} differs from the declared {declared} bytes")]
    InputLength {
        /// Declared length.
        declared: u64,
        /// Bytes received (so far, if longer).
        got: u64,
    },
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Input was given after the end of input was announced.
    #[error("input after the end of input")]
    AfterEnd,
}

fn found_text(len: u64, hash: Option<&str>) -> String {
    match hash {
        Some(h) => format!("{len} bytes with hash {h}"),
        None => format!("{len} bytes"),
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
