//! Byte layout of the journal: stream header, frame header, record bodies.
//!
//! `docs/journal-format.md` is the normative description; the constants here
//! are its offsets. Everything is little-endian.

use super::crc;
use super::path::{self, RelPath};
use super::record::{
    is_mknod_mode, Attrs, Op, OpCode, OpRef, MAX_BOOKMARK_NAME_LEN, MAX_SYMLINK_TARGET_LEN,
    MAX_XATTR_NAME_LEN, MAX_XATTR_VALUE_LEN,
};

/// The eight bytes every journal stream starts with.
pub const STREAM_MAGIC: [u8; 8] = [0x89, b'R', b'H', b'A', b'J', b'\r', b'\n', 0x1A];
/// The journal format version this library writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Length of the stream header.
pub const STREAM_HEADER_LEN: usize = 16;
/// Length of every frame header.
pub const FRAME_HEADER_LEN: usize = 32;
/// Default bound on a record body (and on a batch's decompressed size, less
/// one frame header).
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 << 20;

/// Frame kind byte: one record.
pub(crate) const KIND_RECORD: u8 = 1;
/// Frame kind byte: a compressed batch of record frames.
pub(crate) const KIND_BATCH: u8 = 2;
/// Batch codec byte: zstd.
pub(crate) const CODEC_ZSTD: u8 = 1;

// Frame header field offsets.
pub(crate) const OFF_BODY_LEN: usize = 0;
pub(crate) const OFF_KIND: usize = 4;
pub(crate) const OFF_CODE: usize = 5;
pub(crate) const OFF_FLAGS: usize = 6;
pub(crate) const OFF_SEQ: usize = 8;
/// Record: timestamp. Batch: record count (u32) then decompressed length (u32).
pub(crate) const OFF_TIME: usize = 16;
pub(crate) const OFF_BODY_CRC: usize = 24;
pub(crate) const OFF_HEADER_CRC: usize = 28;

// SetAttr presence bits.
const ATTR_MODE: u8 = 1;
const ATTR_UID: u8 = 2;
const ATTR_GID: u8 = 4;
const ATTR_ATIME: u8 = 8;
const ATTR_MTIME: u8 = 16;
const ATTR_ALL: u8 = 31;

/// Why a record cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The record body would exceed the configured maximum record size.
    #[error("record seq {seq} has a {size}-byte body, the limit is {max}")]
    TooLarge {
        /// Sequence number of the record.
        seq: u64,
        /// Body size it would need.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// A field breaks a format rule.
    #[error("record seq {seq}: {field} {reason}")]
    InvalidField {
        /// Sequence number of the record.
        seq: u64,
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The journal already holds the record numbered `u64::MAX`.
    #[error(
        "the journal's sequence numbers are exhausted (the last was {})",
        u64::MAX
    )]
    SequenceExhausted,
    /// The record's sequence number does not follow the previous one.
    #[error("record seq {found} does not follow the journal's next sequence number {expected}")]
    Sequence {
        /// The sequence number the writer expected.
        expected: u64,
        /// The one the record had.
        found: u64,
    },
}

/// Parses the 16-byte stream header; `Err` carries a description.
pub(crate) fn check_stream_header(h: &[u8]) -> Result<(), StreamHeaderError> {
    if h[..8] != STREAM_MAGIC {
        return Err(StreamHeaderError::Magic);
    }
    if crc::crc32c(&h[..12]) != le_u32(h, 12) {
        return Err(StreamHeaderError::Checksum);
    }
    let version = le_u16(h, 8);
    if version != FORMAT_VERSION {
        return Err(StreamHeaderError::Version(version));
    }
    if le_u16(h, 10) != 0 {
        return Err(StreamHeaderError::Flags);
    }
    Ok(())
}

pub(crate) enum StreamHeaderError {
    Magic,
    Checksum,
    Version(u16),
    Flags,
}

/// Appends the stream header to `out`.
pub(crate) fn write_stream_header(out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&STREAM_MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    let crc = crc::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// A checked frame header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameHeader {
    pub(crate) body_len: usize,
    pub(crate) kind: u8,
    pub(crate) code: u8,
    pub(crate) seq: u64,
    /// Record: timestamp. Batch: count (low 32 bits) and raw length (high 32 bits).
    pub(crate) word: u64,
    pub(crate) body_crc: u32,
}

impl FrameHeader {
    pub(crate) fn count(&self) -> u32 {
        self.word as u32
    }
    pub(crate) fn raw_len(&self) -> usize {
        (self.word >> 32) as usize
    }
}

/// Why a frame header was refused.
pub(crate) enum HeaderError {
    Checksum,
    Invalid(&'static str),
    TooLarge { len: usize, max: usize },
}

/// Checks a frame header against its checksum and the structural rules.
pub(crate) fn parse_frame_header(h: &[u8], max_record: usize) -> Result<FrameHeader, HeaderError> {
    if crc::crc32c(&h[..OFF_HEADER_CRC]) != le_u32(h, OFF_HEADER_CRC) {
        return Err(HeaderError::Checksum);
    }
    let header = FrameHeader {
        body_len: le_u32(h, OFF_BODY_LEN) as usize,
        kind: h[OFF_KIND],
        code: h[OFF_CODE],
        seq: le_u64(h, OFF_SEQ),
        word: le_u64(h, OFF_TIME),
        body_crc: le_u32(h, OFF_BODY_CRC),
    };
    if le_u16(h, OFF_FLAGS) != 0 {
        return Err(HeaderError::Invalid("reserved frame flags are set"));
    }
    match header.kind {
        KIND_RECORD => {
            if header.body_len > max_record {
                return Err(HeaderError::TooLarge {
                    len: header.body_len,
                    max: max_record,
                });
            }
        }
        KIND_BATCH => {
            if header.code != CODEC_ZSTD {
                return Err(HeaderError::Invalid("unknown batch codec"));
            }
            if header.count() == 0 {
                return Err(HeaderError::Invalid("batch declares zero records"));
            }
            let max_raw = max_record.saturating_add(FRAME_HEADER_LEN);
            if header.raw_len() > max_raw {
                return Err(HeaderError::TooLarge {
                    len: header.raw_len(),
                    max: max_raw,
                });
            }
            if header.body_len >= header.raw_len() {
                return Err(HeaderError::Invalid(
                    "batch is not smaller than its decompressed size",
                ));
            }
            if (header.count() as usize).saturating_mul(FRAME_HEADER_LEN) > header.raw_len() {
                return Err(HeaderError::Invalid(
                    "batch declares more records than its size can hold",
                ));
            }
        }
        _ => return Err(HeaderError::Invalid("unknown frame kind")),
    }
    Ok(header)
}

/// Fills in both checksums of the frame at `frame` (header followed by body).
pub(crate) fn seal_frame(frame: &mut [u8]) {
    let body_crc = crc::crc32c(&frame[FRAME_HEADER_LEN..]);
    seal_header(&mut frame[..FRAME_HEADER_LEN], body_crc);
}

/// Fills in the checksums of a frame header whose body checksum is known.
pub(crate) fn seal_header(header: &mut [u8], body_crc: u32) {
    header[OFF_BODY_CRC..OFF_BODY_CRC + 4].copy_from_slice(&body_crc.to_le_bytes());
    let header_crc = crc::crc32c(&header[..OFF_HEADER_CRC]);
    header[OFF_HEADER_CRC..OFF_HEADER_CRC + 4].copy_from_slice(&header_crc.to_le_bytes());
}

/// Writes an unsealed frame header (checksums zero).
pub(crate) fn put_header(
    out: &mut Vec<u8>,
    body_len: usize,
    kind: u8,
    code: u8,
    seq: u64,
    word: u64,
) {
    let mut h = [0u8; FRAME_HEADER_LEN];
    h[OFF_BODY_LEN..OFF_KIND].copy_from_slice(&(body_len as u32).to_le_bytes());
    h[OFF_KIND] = kind;
    h[OFF_CODE] = code;
    h[OFF_SEQ..OFF_TIME].copy_from_slice(&seq.to_le_bytes());
    h[OFF_TIME..OFF_BODY_CRC].copy_from_slice(&word.to_le_bytes());
    out.extend_from_slice(&h);
}

/// Checks the fields the type system does not, and returns the body length.
pub(crate) fn body_len(seq: u64, op: &Op, max_record: usize) -> Result<usize, EncodeError> {
    let invalid = |field, reason| EncodeError::InvalidField { seq, field, reason };
    let p = |p: &RelPath| 2 + p.len();
    let len = match op {
        Op::Create { path, .. } | Op::Mkdir { path, .. } => p(path) + 4,
        Op::Write { path, data, .. } => p(path) + 8 + data.len(),
        Op::SetLen { path, .. } => p(path) + 8,
        Op::Delete { path } | Op::Rmdir { path } | Op::ClearXattrs { path } => p(path),
        Op::Mknod { path, mode, .. } => {
            if !is_mknod_mode(*mode) {
                return Err(invalid(
                    "mknod mode",
                    "is not a FIFO or device node with permission bits",
                ));
            }
            p(path) + 4 + 8
        }
        Op::Rename { from, to } => p(from) + p(to),
        Op::HardLink { existing, link } => p(existing) + p(link),
        Op::Symlink { path, target } => {
            check_name(target, MAX_SYMLINK_TARGET_LEN).map_err(|r| invalid("symlink target", r))?;
            p(path) + 2 + target.len()
        }
        Op::SetAttr { path, attrs } => {
            p(path)
                + 1
                + 4 * (attrs.mode.is_some() as usize
                    + attrs.uid.is_some() as usize
                    + attrs.gid.is_some() as usize)
                + 8 * (attrs.atime.is_some() as usize + attrs.mtime.is_some() as usize)
        }
        Op::SetXattr { path, name, value } => {
            check_name(name, MAX_XATTR_NAME_LEN).map_err(|r| invalid("xattr name", r))?;
            if value.len() > MAX_XATTR_VALUE_LEN {
                return Err(invalid("xattr value", "is longer than 65536 bytes"));
            }
            p(path) + 1 + name.len() + value.len()
        }
        Op::RemoveXattr { path, name } => {
            check_name(name, MAX_XATTR_NAME_LEN).map_err(|r| invalid("xattr name", r))?;
            p(path) + 1 + name.len()
        }
        Op::BlockWrite { data, .. } => 12 + data.len(),
        Op::Discard { .. } => 20,
        Op::Bookmark { name, .. } => {
            check_name(name.as_bytes(), MAX_BOOKMARK_NAME_LEN)
                .map_err(|r| invalid("bookmark name", r))?;
            1 + name.len()
        }
        Op::TxBegin { .. } | Op::TxCommit { .. } | Op::SyncStart { .. } | Op::SyncEnd { .. } => 8,
        Op::Epoch { .. } => 16,
    };
    if len > max_record {
        return Err(EncodeError::TooLarge {
            seq,
            size: len,
            max: max_record,
        });
    }
    Ok(len)
}

fn check_name(name: &[u8], max: usize) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name.len() > max {
        Err("is too long")
    } else if name.contains(&0) {
        Err("contains a NUL byte")
    } else {
        Ok(())
    }
}

/// Appends one sealed record frame to `out`. `body_len` comes from [`body_len`].
pub(crate) fn encode_record(
    seq: u64,
    timestamp_ns: u64,
    op: &Op,
    body_len: usize,
    out: &mut Vec<u8>,
) {
    out.reserve(FRAME_HEADER_LEN + body_len);
    let start = out.len();
    put_header(
        out,
        body_len,
        KIND_RECORD,
        op.code() as u8,
        seq,
        timestamp_ns,
    );
    encode_fixed(op, out);
    if let Some(payload) = trailing_payload(op) {
        out.extend_from_slice(payload);
    }
    debug_assert_eq!(out.len() - start, FRAME_HEADER_LEN + body_len);
    seal_frame(&mut out[start..]);
}

/// The payload that ends a write-like body, which large records send without
/// copying it into the frame buffer first.
pub(crate) fn trailing_payload(op: &Op) -> Option<&[u8]> {
    match op {
        Op::Write { data, .. } | Op::BlockWrite { data, .. } => Some(data),
        Op::SetXattr { value, .. } => Some(value),
        _ => None,
    }
}

/// Writes every body field except the [`trailing_payload`].
pub(crate) fn encode_fixed(op: &Op, out: &mut Vec<u8>) {
    fn path(out: &mut Vec<u8>, p: &RelPath) {
        out.extend_from_slice(&(p.len() as u16).to_le_bytes());
        out.extend_from_slice(p.as_bytes());
    }
    fn u64(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    match op {
        Op::Create { path: p, mode } | Op::Mkdir { path: p, mode } => {
            path(out, p);
            out.extend_from_slice(&mode.to_le_bytes());
        }
        Op::Write {
            path: p, offset, ..
        } => {
            path(out, p);
            u64(out, *offset);
        }
        Op::SetLen { path: p, len } => {
            path(out, p);
            u64(out, *len);
        }
        Op::Delete { path: p } | Op::Rmdir { path: p } | Op::ClearXattrs { path: p } => {
            path(out, p)
        }
        Op::Mknod {
            path: p,
            mode,
            rdev,
        } => {
            path(out, p);
            out.extend_from_slice(&mode.to_le_bytes());
            u64(out, *rdev);
        }
        Op::Rename { from: a, to: b }
        | Op::HardLink {
            existing: a,
            link: b,
        } => {
            path(out, a);
            path(out, b);
        }
        Op::Symlink { path: p, target } => {
            path(out, p);
            out.extend_from_slice(&(target.len() as u16).to_le_bytes());
            out.extend_from_slice(target);
        }
        Op::SetAttr { path: p, attrs } => {
            path(out, p);
            let bit = |present: bool, bit: u8| if present { bit } else { 0 };
            let mask = bit(attrs.mode.is_some(), ATTR_MODE)
                | bit(attrs.uid.is_some(), ATTR_UID)
                | bit(attrs.gid.is_some(), ATTR_GID)
                | bit(attrs.atime.is_some(), ATTR_ATIME)
                | bit(attrs.mtime.is_some(), ATTR_MTIME);
            out.push(mask);
            for v in [attrs.mode, attrs.uid, attrs.gid].into_iter().flatten() {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for v in [attrs.atime, attrs.mtime].into_iter().flatten() {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        Op::SetXattr { path: p, name, .. } | Op::RemoveXattr { path: p, name } => {
            path(out, p);
            out.push(name.len() as u8);
            out.extend_from_slice(name);
        }
        Op::BlockWrite { volume, offset, .. } => {
            out.extend_from_slice(&volume.to_le_bytes());
            u64(out, *offset);
        }
        Op::Discard {
            volume,
            offset,
            len,
        } => {
            out.extend_from_slice(&volume.to_le_bytes());
            u64(out, *offset);
            u64(out, *len);
        }
        Op::Bookmark {
            name,
            app_consistent,
        } => {
            out.push(*app_consistent as u8);
            out.extend_from_slice(name.as_bytes());
        }
        Op::TxBegin { txid: v }
        | Op::TxCommit { txid: v }
        | Op::SyncStart { sync_id: v }
        | Op::SyncEnd { sync_id: v } => u64(out, *v),
        Op::Epoch { scenario, epoch } => {
            u64(out, *scenario);
            u64(out, *epoch);
        }
    }
}

/// Why a record body was refused (its checksum was fine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    Malformed(&'static str),
    Path(path::PathError),
}

/// Decodes a record body into views of `body`.
pub(crate) fn decode_body(code: u8, body: &[u8]) -> Result<OpRef<'_>, BodyError> {
    let code = OpCode::from_u8(code).ok_or(BodyError::Malformed("unknown operation code"))?;
    let mut r = BodyReader { buf: body };
    let op = match code {
        OpCode::Create => OpRef::Create {
            path: r.path()?,
            mode: r.u32()?,
        },
        OpCode::Mkdir => OpRef::Mkdir {
            path: r.path()?,
            mode: r.u32()?,
        },
        OpCode::Write => OpRef::Write {
            path: r.path()?,
            offset: r.u64()?,
            data: r.rest(),
        },
        OpCode::SetLen => OpRef::SetLen {
            path: r.path()?,
            len: r.u64()?,
        },
        OpCode::Delete => OpRef::Delete { path: r.path()? },
        OpCode::Rmdir => OpRef::Rmdir { path: r.path()? },
        OpCode::Rename => OpRef::Rename {
            from: r.path()?,
            to: r.path()?,
        },
        OpCode::HardLink => OpRef::HardLink {
            existing: r.path()?,
            link: r.path()?,
        },
        OpCode::Symlink => {
            let path = r.path()?;
            let len = r.u16()? as usize;
            let target = r.take(len)?;
            check_name(target, MAX_SYMLINK_TARGET_LEN).map_err(|_| {
                BodyError::Malformed("symlink target is empty, too long or has NUL")
            })?;
            OpRef::Symlink { path, target }
        }
        OpCode::SetAttr => {
            let path = r.path()?;
            let mask = r.u8()?;
            if mask & !ATTR_ALL != 0 {
                return Err(BodyError::Malformed("unknown attribute bits"));
            }
            let mut attrs = Attrs::default();
            if mask & ATTR_MODE != 0 {
                attrs.mode = Some(r.u32()?);
            }
            if mask & ATTR_UID != 0 {
                attrs.uid = Some(r.u32()?);
            }
            if mask & ATTR_GID != 0 {
                attrs.gid = Some(r.u32()?);
            }
            if mask & ATTR_ATIME != 0 {
                attrs.atime = Some(r.u64()? as i64);
            }
            if mask & ATTR_MTIME != 0 {
                attrs.mtime = Some(r.u64()? as i64);
            }
            OpRef::SetAttr { path, attrs }
        }
        OpCode::SetXattr => {
            let path = r.path()?;
            let name = r.xattr_name()?;
            let value = r.rest();
            if value.len() > MAX_XATTR_VALUE_LEN {
                return Err(BodyError::Malformed("xattr value longer than 65536 bytes"));
            }
            OpRef::SetXattr { path, name, value }
        }
        OpCode::RemoveXattr => OpRef::RemoveXattr {
            path: r.path()?,
            name: r.xattr_name()?,
        },
        OpCode::Mknod => {
            let path = r.path()?;
            let mode = r.u32()?;
            if !is_mknod_mode(mode) {
                return Err(BodyError::Malformed(
                    "mknod mode is not a FIFO or device node with permission bits",
                ));
            }
            OpRef::Mknod {
                path,
                mode,
                rdev: r.u64()?,
            }
        }
        OpCode::ClearXattrs => OpRef::ClearXattrs { path: r.path()? },
        OpCode::BlockWrite => OpRef::BlockWrite {
            volume: r.u32()?,
            offset: r.u64()?,
            data: r.rest(),
        },
        OpCode::Discard => OpRef::Discard {
            volume: r.u32()?,
            offset: r.u64()?,
            len: r.u64()?,
        },
        OpCode::Bookmark => {
            let app_consistent = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(BodyError::Malformed("bookmark flags other than 0 or 1")),
            };
            let name = r.rest();
            check_name(name, MAX_BOOKMARK_NAME_LEN)
                .map_err(|_| BodyError::Malformed("bookmark name is empty, too long or has NUL"))?;
            let name = std::str::from_utf8(name)
                .map_err(|_| BodyError::Malformed("bookmark name is not UTF-8"))?;
            OpRef::Bookmark {
                name,
                app_consistent,
            }
        }
        OpCode::TxBegin => OpRef::TxBegin { txid: r.u64()? },
        OpCode::TxCommit => OpRef::TxCommit { txid: r.u64()? },
        OpCode::SyncStart => OpRef::SyncStart { sync_id: r.u64()? },
        OpCode::SyncEnd => OpRef::SyncEnd { sync_id: r.u64()? },
        OpCode::Epoch => OpRef::Epoch {
            scenario: r.u64()?,
            epoch: r.u64()?,
        },
    };
    if !r.buf.is_empty() {
        return Err(BodyError::Malformed("trailing bytes after the record body"));
    }
    Ok(op)
}

/// Reads fields off the front of a body.
struct BodyReader<'a> {
    buf: &'a [u8],
}

const SHORT: BodyError = BodyError::Malformed("record body is shorter than its fields");

impl<'a> BodyReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BodyError> {
        if n > self.buf.len() {
            return Err(SHORT);
        }
        let (out, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], BodyError> {
        let (out, rest) = self.buf.split_first_chunk::<N>().ok_or(SHORT)?;
        self.buf = rest;
        Ok(*out)
    }
    fn u8(&mut self) -> Result<u8, BodyError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, BodyError> {
        self.array().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, BodyError> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, BodyError> {
        self.array().map(u64::from_le_bytes)
    }
    fn path(&mut self) -> Result<&'a [u8], BodyError> {
        let len = self.u16()? as usize;
        let path = self.take(len)?;
        path::validate(path).map_err(BodyError::Path)?;
        Ok(path)
    }
    fn xattr_name(&mut self) -> Result<&'a [u8], BodyError> {
        let len = self.u8()? as usize;
        let name = self.take(len)?;
        check_name(name, MAX_XATTR_NAME_LEN)
            .map_err(|_| BodyError::Malformed("xattr name is empty or has NUL"))?;
        Ok(name)
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

pub(crate) fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
