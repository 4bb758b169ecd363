//! The journal: the ordered record of captured changes (SPEC.md §2).
//!
//! A capture source appends [`Op`]s to a [`JournalWriter`], which numbers
//! them, batches them (optionally compressing each batch with zstd), checksums
//! every frame and writes them to a [`Sink`]. A replica feeds the bytes, in
//! chunks of any size, to a [`Decoder`] and gets the [`Record`]s back in order;
//! [`JournalReader`] does the same over any [`std::io::Read`].
//!
//! The byte layout is specified in `docs/journal-format.md`.
//!
//! Damage is never silent: every frame carries a header and a body CRC-32C, a
//! stream that ends inside a frame is reported as a torn tail
//! ([`End::TornTail`], safe to truncate), and anything else that does not
//! decode is a [`DecodeError`] naming the byte offset and the last good
//! sequence number.

pub(crate) mod codec;
pub(crate) mod crc;
mod decoder;
mod error;
mod path;
mod reader;
mod record;
mod writer;

#[cfg(test)]
mod tests;

pub use codec::{
    EncodeError, DEFAULT_MAX_RECORD_SIZE, FORMAT_VERSION, FRAME_HEADER_LEN, STREAM_HEADER_LEN,
    STREAM_MAGIC,
};
pub use decoder::{Decoder, DecoderConfig, End};
pub use error::{DecodeError, DecodeErrorKind};
pub use path::{PathError, RelPath, MAX_PATH_LEN};
pub use reader::{JournalReader, ReadError};
pub use record::{
    is_mknod_mode, Attrs, FileTime, Op, OpCode, OpRef, Record, RecordRef, MAX_BOOKMARK_NAME_LEN,
    MAX_SYMLINK_TARGET_LEN, MAX_XATTR_NAME_LEN, MAX_XATTR_VALUE_LEN, MODE_BLOCK_DEVICE,
    MODE_CHAR_DEVICE, MODE_FIFO, MODE_TYPE_MASK,
};
pub use writer::{
    Compression, JournalWriter, Sink, WriteError, WriteSink, WriterConfig, MAX_FRAME_BODY,
};

/// The encoded body length of a record known to be valid (0 if it is not).
pub(crate) fn codec_body_len(seq: u64, op: &Op) -> usize {
    codec::body_len(seq, op, usize::MAX).unwrap_or(0)
}

/// The encoded body length of `op` as record `seq`, or why it cannot be
/// encoded (a format rule, or a body over `max_record` bytes).
pub(crate) fn codec_check(seq: u64, op: &Op, max_record: usize) -> Result<usize, EncodeError> {
    codec::body_len(seq, op, max_record)
}

/// If `bytes` starts with a frame header that passes its checks (checksum,
/// kind, flags, size limits), its sequence number and the length of the
/// whole frame (header and body). Used to tell stale or later frames apart
/// from damage without decoding a stream.
pub(crate) fn checked_frame_header(bytes: &[u8], max_record: usize) -> Option<(u64, u64)> {
    let h = bytes.get(..FRAME_HEADER_LEN)?;
    let header = codec::parse_frame_header(h, max_record).ok()?;
    Some((header.seq, (FRAME_HEADER_LEN + header.body_len) as u64))
}
