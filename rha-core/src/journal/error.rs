//! Decoding errors.

use std::fmt;

use super::path::PathError;

/// A journal that cannot be decoded further.
///
/// Every error names the byte offset in the stream where the offending frame
/// starts and the sequence number of the last record that decoded cleanly, so
/// an operator knows what is intact. After an error the decoder stays failed
/// and returns the same error again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte offset {offset} (last good sequence number: {})", LastSeq(*.last_good_seq))]
pub struct DecodeError {
    /// Stream offset of the frame (or stream header) that failed.
    pub offset: u64,
    /// The last record decoded before the failure, if any.
    pub last_good_seq: Option<u64>,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

struct LastSeq(Option<u64>);

impl fmt::Display for LastSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(seq) => write!(f, "{seq}"),
            None => f.write_str("none"),
        }
    }
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The stream does not start with the journal magic bytes.
    #[error("not a journal: bad magic bytes")]
    BadMagic,
    /// The stream header's checksum does not match.
    #[error("corrupt stream header: checksum mismatch")]
    StreamHeaderChecksum,
    /// The stream is in a format version this library does not read.
    #[error("unsupported journal format version {0}")]
    UnsupportedVersion(u16),
    /// A frame header's checksum does not match.
    #[error("corrupt frame header: checksum mismatch")]
    HeaderChecksum,
    /// A frame body's checksum does not match.
    #[error("corrupt frame body: checksum mismatch")]
    BodyChecksum,
    /// A frame declares more bytes than the configured bound.
    #[error("frame declares {len} bytes, the limit is {max}")]
    TooLarge {
        /// Declared length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// A structurally impossible frame or record (with a valid checksum).
    #[error("invalid frame: {0}")]
    Invalid(&'static str),
    /// A record names an invalid path.
    #[error("invalid path in record: {0}")]
    Path(PathError),
    /// A compressed batch does not decompress to what it declares.
    #[error("compressed batch does not decompress: {0}")]
    Decompress(String),
    /// A record's sequence number skips ahead.
    #[error("sequence gap: expected {expected}, found {found}")]
    SequenceGap {
        /// The next sequence number expected.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// A record's sequence number is not greater than the previous one.
    #[error("sequence out of order: expected {expected}, found {found}")]
    SequenceRegression {
        /// The next sequence number expected.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// A record follows the one numbered `u64::MAX`.
    #[error("sequence number {found} follows the largest possible one")]
    SequenceOverflow {
        /// The sequence number found.
        found: u64,
    },
    /// [`Decoder::finish`](super::Decoder::finish) was called while complete
    /// records were still buffered.
    #[error("finish called before every buffered record was read")]
    Undrained,
}

impl DecodeError {
    /// Whether the error is damage to the bytes (checksums, impossible
    /// structure), as opposed to a well-formed stream whose sequence numbers
    /// are out of order.
    pub fn is_corruption(&self) -> bool {
        !matches!(
            self.kind,
            DecodeErrorKind::SequenceGap { .. }
                | DecodeErrorKind::SequenceRegression { .. }
                | DecodeErrorKind::SequenceOverflow { .. }
                | DecodeErrorKind::UnsupportedVersion(_)
                | DecodeErrorKind::Undrained
        )
    }
}
