//! The journal writer: sequence numbers, batching, compression, durability.

use std::io;

use super::codec::{
    self, EncodeError, CODEC_ZSTD, DEFAULT_MAX_RECORD_SIZE, FRAME_HEADER_LEN, KIND_BATCH,
    KIND_RECORD,
};
use super::crc;
use super::record::{Op, Record};

/// Where encoded journal bytes go, and how they are made durable.
///
/// Implemented for `Vec<u8>` (sync does nothing), [`std::fs::File`] (sync is
/// `fdatasync`) and any [`std::io::Write`] wrapped in [`WriteSink`] (sync is
/// `flush`). A capture driver or transport implements it for its own medium.
pub trait Sink {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes everything written so far durable.
    fn sync(&mut self) -> io::Result<()>;
}

impl Sink for Vec<u8> {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sink for std::fs::File {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (**self).write_all(buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        (**self).sync()
    }
}

/// Adapts any [`io::Write`] into a [`Sink`] whose sync is `flush`.
#[derive(Debug)]
pub struct WriteSink<W>(pub W);

impl<W: io::Write> Sink for WriteSink<W> {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Whether and how batches are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Records are written as they are.
    None,
    /// Each batch is compressed with zstd at this level (1 to 22; 1 is fastest).
    /// A batch that does not shrink is written uncompressed.
    Zstd {
        /// zstd compression level.
        level: i32,
    },
}

/// Settings for a [`JournalWriter`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WriterConfig {
    /// Compression of batches. Default: none.
    pub compression: Compression,
    /// Records are gathered until their frames pass this many bytes, then
    /// written (and compressed) as one batch. Default: 256 KiB.
    pub batch_bytes: usize,
    /// The first record's sequence number. Default: 1.
    pub first_seq: u64,
    /// The largest record body the writer produces. Default: 64 MiB; keep it
    /// no larger than the readers' [`DecoderConfig::max_record_size`](super::DecoderConfig).
    /// Capped at [`MAX_FRAME_BODY`] (frame lengths are 32-bit); `batch_bytes`
    /// is capped at this plus one frame header, so that a reader with the same
    /// limit accepts every batch.
    pub max_record_size: usize,
    /// Whether to start the output with the stream header. Default: `true`.
    /// Turn off to continue a journal whose header is already written.
    pub stream_header: bool,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            compression: Compression::None,
            batch_bytes: 256 << 10,
            first_seq: 1,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            stream_header: true,
        }
    }
}

impl WriterConfig {
    /// Sets [`compression`](Self::compression).
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }
    /// Sets [`batch_bytes`](Self::batch_bytes).
    pub fn batch_bytes(mut self, n: usize) -> Self {
        self.batch_bytes = n;
        self
    }
    /// Sets [`first_seq`](Self::first_seq).
    pub fn first_seq(mut self, seq: u64) -> Self {
        self.first_seq = seq;
        self
    }
    /// Sets [`max_record_size`](Self::max_record_size).
    pub fn max_record_size(mut self, n: usize) -> Self {
        self.max_record_size = n;
        self
    }
    /// Sets [`stream_header`](Self::stream_header).
    pub fn stream_header(mut self, on: bool) -> Self {
        self.stream_header = on;
        self
    }
}

/// Why a [`JournalWriter`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The record breaks a format rule; nothing was written and the writer
    /// can go on.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The sink failed. The writer refuses further calls: what reached the
    /// medium is unknown, so the journal must be reopened (and its tail checked).
    #[error("journal sink failed: {0}")]
    Io(#[source] io::Error),
    /// An earlier sink failure left the writer unusable.
    #[error("journal writer is unusable after an earlier I/O error; reopen the journal")]
    Poisoned,
    /// Compression failed (the writer is unusable, as for [`WriteError::Io`]).
    #[error("zstd compression failed: {0}")]
    Compress(#[source] io::Error),
}

/// Encodes records into a [`Sink`], assigning sequence numbers.
///
/// Records are buffered into batches of about
/// [`WriterConfig::batch_bytes`]; [`flush`](Self::flush) writes the pending
/// batch, [`sync`](Self::sync) flushes and makes everything durable. A record is
/// durable only once a `sync` that followed it has returned `Ok`.
///
/// ```
/// use rha_core::journal::{Compression, JournalWriter, Op, WriterConfig};
///
/// let config = WriterConfig::default().compression(Compression::Zstd { level: 1 });
/// let mut w = JournalWriter::new(Vec::new(), config);
/// let seq = w.append(42, &Op::TxBegin { txid: 7 }).unwrap();
/// assert_eq!(seq, 1);
/// w.sync().unwrap();
/// assert!(!w.get_ref().is_empty());
/// ```
pub struct JournalWriter<S: Sink> {
    sink: S,
    config: WriterConfig,
    /// Encoded record frames not yet written.
    pending: Vec<u8>,
    pending_records: u32,
    pending_first_seq: u64,
    next_seq: u64,
    /// The record numbered `u64::MAX` has been written: nothing may follow.
    exhausted: bool,
    header_due: bool,
    poisoned: bool,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    scratch: Vec<u8>,
}

impl<S: Sink> std::fmt::Debug for JournalWriter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("config", &self.config)
            .field("next_seq", &self.next_seq)
            .field("pending_bytes", &self.pending.len())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// The largest frame body the format can describe.
pub const MAX_FRAME_BODY: usize = u32::MAX as usize - FRAME_HEADER_LEN;

/// Payloads at least this large skip the batch buffer when not compressing.
const DIRECT_PAYLOAD: usize = 64 << 10;

impl<S: Sink> JournalWriter<S> {
    /// A writer that starts a journal in `sink`.
    pub fn new(sink: S, mut config: WriterConfig) -> Self {
        config.max_record_size = config.max_record_size.min(MAX_FRAME_BODY);
        config.batch_bytes = config
            .batch_bytes
            .clamp(1, config.max_record_size.saturating_add(FRAME_HEADER_LEN));
        Self {
            sink,
            next_seq: config.first_seq,
            exhausted: false,
            header_due: config.stream_header,
            config,
            pending: Vec::new(),
            pending_records: 0,
            pending_first_seq: 0,
            poisoned: false,
            compressor: None,
            scratch: Vec::new(),
        }
    }

    /// The sequence number the next appended record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The sink.
    pub fn get_ref(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably: for example to take the bytes written so far out of
    /// a `Vec<u8>` sink. Bytes still batched in the writer are not in it yet;
    /// call [`flush`](Self::flush) first.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Appends `op`, captured at `timestamp_ns`, and returns its sequence number.
    pub fn append(&mut self, timestamp_ns: u64, op: &Op) -> Result<u64, WriteError> {
        let seq = self.next_seq;
        self.append_parts(seq, timestamp_ns, op)?;
        Ok(seq)
    }

    /// Appends a record whose sequence number the caller chose (for example
    /// when relaying another journal); it must equal [`next_seq`](Self::next_seq).
    pub fn append_record(&mut self, rec: &Record) -> Result<(), WriteError> {
        if rec.seq != self.next_seq && !self.exhausted {
            return Err(EncodeError::Sequence {
                expected: self.next_seq,
                found: rec.seq,
            }
            .into());
        }
        self.append_parts(rec.seq, rec.timestamp_ns, &rec.op)
    }

    /// Appends a record already encoded: `frame` is one record frame
    /// (kind 1) numbered `seq`, whose checksums, structure and size a
    /// [`Decoder`](super::Decoder) configured with this writer's record
    /// size limit accepted. Written as [`append_record`](Self::append_record)
    /// would write the record, without encoding it again.
    pub(crate) fn append_frame(&mut self, seq: u64, frame: &[u8]) -> Result<(), WriteError> {
        self.check_open()?;
        let numbered = frame.get(8..16).map(|b| codec::le_u64(b, 0));
        if seq != self.next_seq || numbered != Some(seq) {
            return Err(EncodeError::Sequence {
                expected: self.next_seq,
                found: numbered.unwrap_or(seq),
            }
            .into());
        }
        if !self.pending.is_empty() && self.pending.len() + frame.len() > self.config.batch_bytes {
            self.write_batch()?;
        }
        if self.config.compression == Compression::None && frame.len() >= DIRECT_PAYLOAD {
            self.write_batch()?;
            self.write_header_if_due()?;
            let r = self.sink.write_all(frame);
            self.check(r)?;
        } else {
            self.batch(seq, |pending| pending.extend_from_slice(frame))?;
        }
        self.advance();
        Ok(())
    }

    /// Refuses a write after a sink failure or the last sequence number.
    fn check_open(&self) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        if self.exhausted {
            return Err(EncodeError::SequenceExhausted.into());
        }
        Ok(())
    }

    /// Adds record `seq`'s frame (written by `encode`) to the pending
    /// batch, and writes the batch once it is full.
    fn batch(&mut self, seq: u64, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), WriteError> {
        if self.pending_records == 0 {
            self.pending_first_seq = seq;
        }
        encode(&mut self.pending);
        self.pending_records += 1;
        if self.pending.len() >= self.config.batch_bytes {
            self.write_batch()?;
        }
        Ok(())
    }

    /// Moves past the record just appended.
    fn advance(&mut self) {
        match self.next_seq.checked_add(1) {
            Some(next) => self.next_seq = next,
            None => self.exhausted = true,
        }
    }

    fn append_parts(&mut self, seq: u64, timestamp_ns: u64, op: &Op) -> Result<(), WriteError> {
        self.check_open()?;
        let body_len = codec::body_len(seq, op, self.config.max_record_size)?;
        let frame_len = FRAME_HEADER_LEN + body_len;
        if !self.pending.is_empty() && self.pending.len() + frame_len > self.config.batch_bytes {
            self.write_batch()?;
        }
        let payload = codec::trailing_payload(op).filter(|p| p.len() >= DIRECT_PAYLOAD);
        match (self.config.compression, payload) {
            (Compression::None, Some(payload)) => {
                self.write_direct(seq, timestamp_ns, op, body_len, payload)?
            }
            _ => self.batch(seq, |pending| {
                codec::encode_record(seq, timestamp_ns, op, body_len, pending)
            })?,
        }
        self.advance();
        Ok(())
    }

    /// Writes every buffered record to the sink (without syncing).
    pub fn flush(&mut self) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        self.write_batch()
    }

    /// Flushes and makes everything appended so far durable.
    pub fn sync(&mut self) -> Result<(), WriteError> {
        self.flush()?;
        let r = self.sink.sync();
        self.check(r)
    }

    /// Flushes and returns the sink (without syncing it).
    pub fn into_inner(mut self) -> Result<S, WriteError> {
        self.flush()?;
        Ok(self.sink)
    }

    /// Reserves room for `bytes` more bytes of encoded records.
    pub(crate) fn reserve(&mut self, bytes: usize) {
        self.pending.reserve(bytes);
    }

    fn check<T>(&mut self, r: io::Result<T>) -> Result<T, WriteError> {
        r.map_err(|e| {
            self.poisoned = true;
            WriteError::Io(e)
        })
    }

    fn write_header_if_due(&mut self) -> Result<(), WriteError> {
        if self.header_due {
            let mut h = Vec::with_capacity(codec::STREAM_HEADER_LEN);
            codec::write_stream_header(&mut h);
            let r = self.sink.write_all(&h);
            self.check(r)?;
            self.header_due = false;
        }
        Ok(())
    }

    /// Writes a large record as header + fixed fields, then the payload
    /// straight from the caller's buffer.
    fn write_direct(
        &mut self,
        seq: u64,
        timestamp_ns: u64,
        op: &Op,
        body_len: usize,
        payload: &[u8],
    ) -> Result<(), WriteError> {
        self.write_batch()?;
        self.write_header_if_due()?;
        let mut head = std::mem::take(&mut self.scratch);
        head.clear();
        codec::put_header(
            &mut head,
            body_len,
            KIND_RECORD,
            op.code() as u8,
            seq,
            timestamp_ns,
        );
        codec::encode_fixed(op, &mut head);
        let crc = crc::crc32c_append(crc::crc32c(&head[FRAME_HEADER_LEN..]), payload);
        codec::seal_header(&mut head[..FRAME_HEADER_LEN], crc);
        let r = self
            .sink
            .write_all(&head)
            .and_then(|()| self.sink.write_all(payload));
        self.scratch = head;
        self.check(r)
    }

    fn write_batch(&mut self) -> Result<(), WriteError> {
        if self.pending.is_empty() && !self.header_due {
            return Ok(());
        }
        self.write_header_if_due()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = match self.config.compression {
            Compression::None => self.sink.write_all(&self.pending),
            Compression::Zstd { level } => {
                if self.compress(level)? {
                    self.sink.write_all(&self.scratch)
                } else {
                    self.sink.write_all(&self.pending)
                }
            }
        };
        self.check(r)?;
        self.pending.clear();
        self.pending_records = 0;
        Ok(())
    }

    /// Compresses `pending` into `scratch` as a batch frame; `false` if that
    /// would not be smaller.
    fn compress(&mut self, level: i32) -> Result<bool, WriteError> {
        let compressor = match &mut self.compressor {
            Some(c) => c,
            None => {
                let c = zstd::bulk::Compressor::new(level).map_err(|e| {
                    self.poisoned = true;
                    WriteError::Compress(e)
                })?;
                self.compressor.insert(c)
            }
        };
        let raw_len = self.pending.len();
        let word = u64::from(self.pending_records) | (raw_len as u64) << 32;
        self.scratch.clear();
        codec::put_header(
            &mut self.scratch,
            0,
            KIND_BATCH,
            CODEC_ZSTD,
            self.pending_first_seq,
            word,
        );
        self.scratch.resize(
            FRAME_HEADER_LEN + zstd::zstd_safe::compress_bound(raw_len),
            0,
        );
        let n = match compressor
            .compress_to_buffer(&self.pending, &mut self.scratch[FRAME_HEADER_LEN..])
        {
            Ok(n) => n,
            Err(e) => {
                self.poisoned = true;
                return Err(WriteError::Compress(e));
            }
        };
        if n >= raw_len {
            return Ok(false);
        }
        self.scratch.truncate(FRAME_HEADER_LEN + n);
        self.scratch[..4].copy_from_slice(&(n as u32).to_le_bytes());
        codec::seal_frame(&mut self.scratch);
        Ok(true)
    }
}

impl JournalWriter<Vec<u8>> {
    /// [`append`](JournalWriter::append) into the buffer, except that the
    /// trailing payload of a write-like record (see
    /// [`codec::trailing_payload`]) of at least `min` bytes is not copied:
    /// the frame's header and fixed fields are encoded, checksummed over
    /// the payload where it lies, and the payload is returned with the
    /// buffer length it belongs at, for the caller to write out in its
    /// place (a gathered write). Records appended this way stay in the
    /// buffer until [`take_bytes`](Self::take_bytes), however many: append
    /// nothing else in between. Only a writer without compression whose
    /// stream header (if any) is written splits; any other appends as
    /// usual and returns `None`.
    pub(crate) fn append_split(
        &mut self,
        timestamp_ns: u64,
        op: &Op,
        min: usize,
    ) -> Result<Option<(usize, bytes::Bytes)>, WriteError> {
        if self.config.compression != Compression::None || self.header_due || !self.sink.is_empty()
        {
            self.append(timestamp_ns, op)?;
            return Ok(None);
        }
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        if self.exhausted {
            return Err(EncodeError::SequenceExhausted.into());
        }
        let seq = self.next_seq;
        let body_len = codec::body_len(seq, op, self.config.max_record_size)?;
        let payload = match op {
            Op::Write { data, .. } | Op::BlockWrite { data, .. } => Some(data),
            Op::SetXattr { value, .. } => Some(value),
            _ => None,
        }
        .filter(|p| p.len() >= min);
        let start = self.pending.len();
        let split = match payload {
            None => {
                codec::encode_record(seq, timestamp_ns, op, body_len, &mut self.pending);
                None
            }
            Some(payload) => {
                codec::put_header(
                    &mut self.pending,
                    body_len,
                    KIND_RECORD,
                    op.code() as u8,
                    seq,
                    timestamp_ns,
                );
                codec::encode_fixed(op, &mut self.pending);
                debug_assert_eq!(
                    self.pending.len() - start + payload.len(),
                    FRAME_HEADER_LEN + body_len
                );
                let crc = crc::crc32c_append(
                    crc::crc32c(&self.pending[start + FRAME_HEADER_LEN..]),
                    payload,
                );
                codec::seal_header(&mut self.pending[start..start + FRAME_HEADER_LEN], crc);
                Some((self.pending.len(), payload.clone()))
            }
        };
        match self.next_seq.checked_add(1) {
            Some(next) => self.next_seq = next,
            None => self.exhausted = true,
        }
        Ok(split)
    }

    /// Every byte encoded so far, for the caller to write out; the writer
    /// goes on with `spare` (cleared) as its buffer, numbering on. Without
    /// compression and once any stream header is written, the buffer the
    /// records were encoded into is handed over (no copy).
    pub(crate) fn take_bytes(&mut self, mut spare: Vec<u8>) -> Result<Vec<u8>, WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        spare.clear();
        if self.sink.is_empty() && !self.header_due && self.config.compression == Compression::None
        {
            self.pending_records = 0;
            return Ok(std::mem::replace(&mut self.pending, spare));
        }
        self.flush()?;
        Ok(std::mem::replace(&mut self.sink, spare))
    }
}
