//! The incremental decoder.

use std::collections::VecDeque;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::codec::{
    self, BodyError, FrameHeader, HeaderError, StreamHeaderError, FRAME_HEADER_LEN, KIND_BATCH,
    KIND_RECORD, OFF_HEADER_CRC, STREAM_HEADER_LEN,
};
use super::crc;
use super::error::{DecodeError, DecodeErrorKind};
use super::record::{Record, RecordRef};

/// Settings for a [`Decoder`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// The largest record body accepted, in bytes; a compressed batch may
    /// decompress to at most this plus one frame header. Bounds every
    /// allocation the decoder makes. Default: 64 MiB.
    pub max_record_size: usize,
    /// Whether the input starts with the stream header. Default: `true`.
    /// Turn off to decode frames that continue a journal read elsewhere.
    pub stream_header: bool,
    /// The sequence number the first record must have, if known. Default: any.
    pub first_seq: Option<u64>,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_record_size: codec::DEFAULT_MAX_RECORD_SIZE,
            stream_header: true,
            first_seq: None,
        }
    }
}

impl DecoderConfig {
    /// Sets [`max_record_size`](Self::max_record_size).
    pub fn max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
        self
    }
    /// Sets [`stream_header`](Self::stream_header).
    pub fn stream_header(mut self, present: bool) -> Self {
        self.stream_header = present;
        self
    }
    /// Sets [`first_seq`](Self::first_seq).
    pub fn first_seq(mut self, seq: Option<u64>) -> Self {
        self.first_seq = seq;
        self
    }
}

/// How a journal ends, once all input has been given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The input ends exactly after a complete frame (or is empty).
    Clean {
        /// Length of the input in bytes.
        len: u64,
    },
    /// The input ends inside a frame: the last write was cut short, for
    /// example by a crash. Everything before `offset` is intact, and truncating
    /// the journal to `offset` bytes is safe.
    TornTail {
        /// Where the incomplete frame starts: the length of the intact prefix.
        offset: u64,
        /// Bytes from `offset` to the end of the input.
        tail_len: u64,
    },
}

/// Decodes a journal fed in chunks of any size, one record at a time.
///
/// Feed bytes with [`feed`](Self::feed) (copies) or
/// [`feed_bytes`](Self::feed_bytes) (shares the buffer), pull records with
/// [`next_record`](Self::next_record) until it returns `Ok(None)`, feed more,
/// and when the input is over call [`finish`](Self::finish) to learn whether it
/// ended cleanly or with a torn tail.
///
/// A record's payloads are slices of the buffer the frame arrived in: a frame
/// that arrived whole inside one fed `Bytes` is never copied. Memory held is
/// bounded by the input not yet consumed plus one frame (at most
/// [`DecoderConfig::max_record_size`] plus a header).
///
/// ```
/// use rha_core::journal::{Decoder, End, JournalWriter, Op, RelPath, WriterConfig};
///
/// let mut w = JournalWriter::new(Vec::new(), WriterConfig::default());
/// let path = RelPath::new("a.txt").unwrap();
/// w.append(1_700_000_000_000_000_000, &Op::Create { path: path.clone(), mode: 0o644 }).unwrap();
/// w.append(1_700_000_000_000_000_001, &Op::Write { path, offset: 0, data: "hi".into() }).unwrap();
/// let bytes = w.into_inner().unwrap();
///
/// let mut d = Decoder::new(Default::default());
/// let mut seqs = Vec::new();
/// for chunk in bytes.chunks(7) {
///     d.feed(chunk);
///     while let Some(rec) = d.next_record().unwrap() {
///         seqs.push(rec.seq);
///     }
/// }
/// assert_eq!(seqs, [1, 2]);
/// assert_eq!(d.finish().unwrap(), End::Clean { len: bytes.len() as u64 });
/// ```
pub struct Decoder {
    config: DecoderConfig,
    chunks: VecDeque<Bytes>,
    /// Bytes held in `chunks`.
    buffered: usize,
    /// Stream offset of the first byte in `chunks`.
    offset: u64,
    need_stream_header: bool,
    /// A checksum failure that looks like a torn tail so far: decided by
    /// whether anything but zero bytes follows.
    suspect: Option<Suspect>,
    batch: Option<Batch>,
    /// Bytes of `chunks[0]` already consumed. Consumed chunks are dropped at
    /// the start of the next step, so a returned record can borrow from them.
    front_pos: usize,
    /// Where the body of the frame last returned lies; records borrow it.
    current: Span,
    /// Stream offset of that frame (of its batch, for a batched record).
    current_offset: u64,
    last_seq: Option<u64>,
    failed: Option<DecodeError>,
    decompressor: Option<zstd::bulk::Decompressor<'static>>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("config", &self.config)
            .field("offset", &self.offset)
            .field("buffered", &self.buffered)
            .field("last_seq", &self.last_seq)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// Where a returned record's body lies.
#[derive(Debug, Clone)]
enum Span {
    None,
    /// A range of `chunks[0]`.
    Front(Range<usize>),
    /// A range of the open batch's data.
    Batch(Range<usize>),
}

/// The buffer a [`Span`] lies in, and its bytes. Takes fields, not the
/// decoder, so the caller can still update other fields.
fn span_body<'a>(
    span: &Span,
    chunks: &'a VecDeque<Bytes>,
    batch: &'a Option<Batch>,
) -> (&'a Bytes, &'a [u8]) {
    static EMPTY: Bytes = Bytes::new();
    let (backing, range) = match (span, chunks.front(), batch) {
        (Span::Front(r), Some(front), _) => (front, r),
        (Span::Batch(r), _, Some(batch)) => (&batch.data, r),
        _ => return (&EMPTY, &[]),
    };
    (backing, backing.get(range.clone()).unwrap_or_default())
}

#[derive(Debug)]
struct Suspect {
    offset: u64,
    error: DecodeErrorKind,
}

#[derive(Debug)]
struct Batch {
    data: Bytes,
    pos: usize,
    left: u32,
    first_seq: u64,
    offset: u64,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new(config: DecoderConfig) -> Self {
        Self {
            need_stream_header: config.stream_header,
            config,
            chunks: VecDeque::new(),
            buffered: 0,
            offset: 0,
            suspect: None,
            batch: None,
            front_pos: 0,
            current: Span::None,
            current_offset: 0,
            last_seq: None,
            failed: None,
            decompressor: None,
        }
    }

    /// Appends a copy of `data` to the input.
    pub fn feed(&mut self, data: &[u8]) {
        if !data.is_empty() {
            self.feed_bytes(Bytes::copy_from_slice(data));
        }
    }

    /// Appends `data` to the input without copying it.
    pub fn feed_bytes(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.buffered += data.len();
            self.chunks.push_back(data);
        }
    }

    /// Bytes fed but not yet consumed (by a returned record, or by a
    /// suspected torn tail that is being read past).
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Stream offset just after the last consumed frame.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Sequence number of the last record returned.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// How many more input bytes the decoder needs before it can return the
    /// next record or error (zero if it can make progress now). Feeding no
    /// more than this keeps the decoder's buffer to one frame.
    pub fn needed(&self) -> usize {
        if self.failed.is_some() || self.batch.is_some() {
            return 0;
        }
        if self.suspect.is_some() {
            // Only the end of the input or a non-zero byte decides; read on in
            // modest steps.
            return 4096;
        }
        if self.need_stream_header {
            return STREAM_HEADER_LEN.saturating_sub(self.buffered);
        }
        if self.buffered < FRAME_HEADER_LEN {
            return FRAME_HEADER_LEN - self.buffered;
        }
        let mut h = [0; FRAME_HEADER_LEN];
        self.copy_prefix(&mut h);
        match codec::parse_frame_header(&h, self.config.max_record_size) {
            Ok(header) => (FRAME_HEADER_LEN + header.body_len).saturating_sub(self.buffered),
            Err(_) => 0,
        }
    }

    /// The next record, `Ok(None)` if more input is needed, or the error that
    /// stops decoding (returned again on every later call).
    ///
    /// The record's payloads share the decoder's buffers (no copy). To avoid
    /// even the reference counting, see [`next_record_ref`](Self::next_record_ref).
    pub fn next_record(&mut self) -> Result<Option<Record>, DecodeError> {
        Ok(self.next_record_ref()?.map(|r| r.to_record()))
    }

    /// Like [`next_record`](Self::next_record), but the record is a view into
    /// the decoder's buffer, valid until the decoder is next used: the
    /// fastest way to inspect records, or to copy them somewhere else.
    ///
    /// ```
    /// use rha_core::journal::{Decoder, JournalWriter, Op, OpRef};
    ///
    /// let mut w = JournalWriter::new(Vec::new(), Default::default());
    /// w.append(5, &Op::Delete { path: "tmp/x".try_into().unwrap() }).unwrap();
    /// let mut d = Decoder::new(Default::default());
    /// d.feed(&w.into_inner().unwrap());
    /// let rec = d.next_record_ref().unwrap().unwrap();
    /// assert_eq!(rec.op, OpRef::Delete { path: b"tmp/x" });
    /// ```
    pub fn next_record_ref(&mut self) -> Result<Option<RecordRef<'_>>, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let header = match self.step() {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(None),
            Err((offset, kind)) => return Err(self.fail(offset, kind)),
        };
        let (backing, body) = span_body(&self.current, &self.chunks, &self.batch);
        let checked = self.check_seq(header.seq).and_then(|()| {
            codec::decode_body(header.code, body).map_err(|e| match e {
                BodyError::Malformed(why) => DecodeErrorKind::Invalid(why),
                BodyError::Path(p) => DecodeErrorKind::Path(p),
            })
        });
        match checked {
            Ok(op) => {
                self.last_seq = Some(header.seq);
                Ok(Some(RecordRef {
                    seq: header.seq,
                    timestamp_ns: header.word,
                    op,
                    backing,
                }))
            }
            // Written field by field: `op` borrows `self.chunks` or `self.batch`.
            Err(kind) => {
                let e = DecodeError {
                    offset: self.current_offset,
                    last_good_seq: self.last_seq,
                    kind,
                };
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The whole frame (header and body, as encoded) of the record the
    /// last call returned: the buffer it lies in and its range there. For
    /// a record of a compressed batch, its frame inside the decompressed
    /// batch. `None` when no record is current (before the first, after
    /// an error).
    pub(crate) fn current_frame(&self) -> Option<(&Bytes, Range<usize>)> {
        let (backing, body) = match (&self.current, self.chunks.front(), &self.batch) {
            (Span::Front(r), Some(front), _) => (front, r),
            (Span::Batch(r), _, Some(batch)) => (&batch.data, r),
            _ => return None,
        };
        Some((backing, body.start.checked_sub(FRAME_HEADER_LEN)?..body.end))
    }

    fn fail(&mut self, offset: u64, kind: DecodeErrorKind) -> DecodeError {
        let e = DecodeError {
            offset,
            last_good_seq: self.last_seq,
            kind,
        };
        self.failed = Some(e.clone());
        e
    }

    /// Reports how the input ended; call it when no more input will come and
    /// [`next_record`](Self::next_record) has returned `Ok(None)`.
    pub fn finish(&mut self) -> Result<End, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let end = self.offset + self.buffered as u64;
        if let Some(s) = &self.suspect {
            return Ok(End::TornTail {
                offset: s.offset,
                tail_len: end - s.offset,
            });
        }
        let undrained = DecodeError {
            offset: self.offset,
            last_good_seq: self.last_seq,
            kind: DecodeErrorKind::Undrained,
        };
        if self.batch.is_some() || self.needed() == 0 && self.buffered > 0 {
            return Err(undrained);
        }
        if self.buffered == 0 {
            return Ok(End::Clean { len: end });
        }
        Ok(End::TornTail {
            offset: self.offset,
            tail_len: self.buffered as u64,
        })
    }

    /// Advances to the next record frame: its header, with its body in
    /// `self.current`.
    fn step(&mut self) -> Result<Option<FrameHeader>, (u64, DecodeErrorKind)> {
        self.current = Span::None;
        // The previous record no longer borrows anything: drop what it used.
        while self
            .chunks
            .front()
            .is_some_and(|c| c.len() == self.front_pos)
        {
            self.chunks.pop_front();
            self.front_pos = 0;
        }
        loop {
            if self.batch.is_some() {
                match self.next_in_batch()? {
                    Some(header) => return Ok(Some(header)),
                    None => continue,
                }
            }
            if self.need_stream_header {
                let Some(h) = self.contiguous(STREAM_HEADER_LEN) else {
                    return Ok(None);
                };
                codec::check_stream_header(h).map_err(|e| {
                    let kind = match e {
                        StreamHeaderError::Magic => DecodeErrorKind::BadMagic,
                        StreamHeaderError::Checksum => DecodeErrorKind::StreamHeaderChecksum,
                        StreamHeaderError::Version(v) => DecodeErrorKind::UnsupportedVersion(v),
                        StreamHeaderError::Flags => {
                            DecodeErrorKind::Invalid("reserved stream flags are set")
                        }
                    };
                    (0, kind)
                })?;
                self.consume(STREAM_HEADER_LEN);
                self.need_stream_header = false;
            }
            if self.suspect.is_some() {
                // Only zero bytes may follow a suspected torn tail.
                while let Some(front) = self.chunks.front() {
                    let rest = &front[self.front_pos..];
                    if rest.iter().any(|&b| b != 0) {
                        if let Some(s) = self.suspect.take() {
                            return Err((s.offset, s.error));
                        }
                    }
                    self.buffered -= rest.len();
                    self.offset += rest.len() as u64;
                    self.chunks.pop_front();
                    self.front_pos = 0;
                }
                return Ok(None);
            }
            let frame_offset = self.offset;
            let max_record = self.config.max_record_size;
            let Some(h) = self.contiguous(FRAME_HEADER_LEN) else {
                return Ok(None);
            };
            let header = match codec::parse_frame_header(h, max_record) {
                Ok(header) => header,
                Err(HeaderError::Checksum) => {
                    if h[OFF_HEADER_CRC..].iter().all(|&b| b == 0) {
                        // The checksum was never written: a torn tail, unless
                        // non-zero data follows.
                        self.suspect = Some(Suspect {
                            offset: frame_offset,
                            error: DecodeErrorKind::HeaderChecksum,
                        });
                        self.consume(FRAME_HEADER_LEN);
                        continue;
                    }
                    return Err((frame_offset, DecodeErrorKind::HeaderChecksum));
                }
                Err(HeaderError::Invalid(why)) => {
                    return Err((frame_offset, DecodeErrorKind::Invalid(why)))
                }
                Err(HeaderError::TooLarge { len, max }) => {
                    return Err((frame_offset, DecodeErrorKind::TooLarge { len, max }))
                }
            };
            let Some(range) = self.take(FRAME_HEADER_LEN + header.body_len, FRAME_HEADER_LEN)
            else {
                return Ok(None);
            };
            let (_, body) = span_body(&Span::Front(range.clone()), &self.chunks, &self.batch);
            if crc::crc32c(body) != header.body_crc {
                if body.last() == Some(&0) {
                    self.suspect = Some(Suspect {
                        offset: frame_offset,
                        error: DecodeErrorKind::BodyChecksum,
                    });
                    continue;
                }
                return Err((frame_offset, DecodeErrorKind::BodyChecksum));
            }
            match header.kind {
                KIND_RECORD => {
                    self.current = Span::Front(range);
                    self.current_offset = frame_offset;
                    return Ok(Some(header));
                }
                KIND_BATCH => {
                    let batch = open_batch(&mut self.decompressor, &header, body, frame_offset)?;
                    self.batch = Some(batch);
                }
                _ => unreachable!("parse_frame_header accepts only known kinds"),
            }
        }
    }

    fn check_seq(&self, seq: u64) -> Result<(), DecodeErrorKind> {
        let expected = match (self.last_seq, self.config.first_seq) {
            (Some(last), _) => match last.checked_add(1) {
                Some(e) => e,
                None => return Err(DecodeErrorKind::SequenceOverflow { found: seq }),
            },
            (None, Some(first)) => first,
            (None, None) => return Ok(()),
        };
        if seq == expected {
            Ok(())
        } else if seq > expected {
            Err(DecodeErrorKind::SequenceGap {
                expected,
                found: seq,
            })
        } else {
            Err(DecodeErrorKind::SequenceRegression {
                expected,
                found: seq,
            })
        }
    }

    fn next_in_batch(&mut self) -> Result<Option<FrameHeader>, (u64, DecodeErrorKind)> {
        let Some(batch) = self.batch.as_mut() else {
            return Ok(None);
        };
        let offset = batch.offset;
        let invalid = |why| (offset, DecodeErrorKind::Invalid(why));
        if batch.left == 0 {
            if batch.pos != batch.data.len() {
                return Err(invalid("batch holds more data than its declared records"));
            }
            self.batch = None;
            return Ok(None);
        }
        let rest = &batch.data[batch.pos..];
        if rest.len() < FRAME_HEADER_LEN {
            return Err(invalid("batch ends inside a record frame"));
        }
        let header = match codec::parse_frame_header(rest, self.config.max_record_size) {
            Ok(h) if h.kind == KIND_RECORD => h,
            Ok(_) => return Err(invalid("batch contains a frame that is not a record")),
            Err(HeaderError::Checksum) => {
                return Err(invalid("batch holds a corrupt record header"))
            }
            Err(HeaderError::Invalid(why)) => return Err(invalid(why)),
            Err(HeaderError::TooLarge { len, max }) => {
                return Err((offset, DecodeErrorKind::TooLarge { len, max }))
            }
        };
        let end = FRAME_HEADER_LEN + header.body_len;
        if rest.len() < end {
            return Err(invalid("batch ends inside a record frame"));
        }
        let range = batch.pos + FRAME_HEADER_LEN..batch.pos + end;
        if crc::crc32c(&batch.data[range.clone()]) != header.body_crc {
            return Err(invalid(
                "batch holds a record whose checksum does not match",
            ));
        }
        if batch.pos == 0 && header.seq != batch.first_seq {
            return Err(invalid(
                "batch's first sequence number does not match its first record",
            ));
        }
        batch.pos += end;
        batch.left -= 1;
        self.current = Span::Batch(range);
        self.current_offset = offset;
        Ok(Some(header))
    }

    /// The first `n` unconsumed bytes as one contiguous slice, merging
    /// chunks (once) if the bytes span several. `None` if fewer are buffered.
    fn contiguous(&mut self, n: usize) -> Option<&[u8]> {
        if self.buffered < n {
            return None;
        }
        if self.chunks.front()?.len() - self.front_pos < n {
            let mut merged = BytesMut::with_capacity(n);
            let mut skip = std::mem::take(&mut self.front_pos);
            while merged.len() < n {
                let mut chunk = self.chunks.pop_front()?;
                bytes::Buf::advance(&mut chunk, std::mem::take(&mut skip));
                let want = n - merged.len();
                if chunk.len() > want {
                    let rest = chunk.split_off(want);
                    self.chunks.push_front(rest);
                }
                merged.extend_from_slice(&chunk);
            }
            self.chunks.push_front(merged.freeze());
        }
        let start = self.front_pos;
        self.chunks.front().map(|c| &c[start..start + n])
    }

    /// Consumes the first `len` bytes, if buffered, and returns where they
    /// lie in `chunks[0]`, less their first `skip` bytes.
    fn take(&mut self, len: usize, skip: usize) -> Option<Range<usize>> {
        self.contiguous(len)?;
        let start = self.front_pos;
        self.front_pos += len;
        self.buffered -= len;
        self.offset += len as u64;
        Some(start + skip..start + len)
    }

    /// Consumes `n` buffered bytes (no record may borrow them).
    fn consume(&mut self, mut n: usize) {
        self.buffered -= n;
        self.offset += n as u64;
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                return;
            };
            let available = front.len() - self.front_pos;
            if available > n {
                self.front_pos += n;
                return;
            }
            n -= available;
            self.chunks.pop_front();
            self.front_pos = 0;
        }
    }

    /// Copies the first `out.len()` buffered bytes (which must be buffered).
    fn copy_prefix(&self, out: &mut [u8]) {
        let mut filled = 0;
        let mut skip = self.front_pos;
        for chunk in &self.chunks {
            let chunk = &chunk[std::mem::take(&mut skip)..];
            let n = chunk.len().min(out.len() - filled);
            out[filled..filled + n].copy_from_slice(&chunk[..n]);
            filled += n;
            if filled == out.len() {
                break;
            }
        }
    }
}

/// Decompresses a batch frame's body, into exactly its declared size.
fn open_batch(
    decompressor: &mut Option<zstd::bulk::Decompressor<'static>>,
    header: &FrameHeader,
    body: &[u8],
    offset: u64,
) -> Result<Batch, (u64, DecodeErrorKind)> {
    let raw_len = header.raw_len();
    let mut raw = Vec::with_capacity(raw_len);
    let decompressor = match decompressor {
        Some(d) => d,
        None => decompressor.insert(
            zstd::bulk::Decompressor::new()
                .map_err(|e| (offset, DecodeErrorKind::Decompress(e.to_string())))?,
        ),
    };
    // The buffer's capacity bounds the output: zstd stops with an error
    // rather than grow it.
    let n = decompressor
        .decompress_to_buffer(body, &mut raw)
        .map_err(|e| (offset, DecodeErrorKind::Decompress(e.to_string())))?;
    if n != raw_len {
        return Err((
            offset,
            DecodeErrorKind::Decompress(format!(
                "decompressed to {n} bytes, the batch declares {raw_len}"
            )),
        ));
    }
    Ok(Batch {
        data: Bytes::from(raw),
        pos: 0,
        left: header.count(),
        first_seq: header.seq,
        offset,
    })
}
