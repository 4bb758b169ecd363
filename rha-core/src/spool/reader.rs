//! Reading durable records back from a spool.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::error::ReadError;
use super::spool::Shared;
use crate::journal::{
    DecodeError, DecodeErrorKind, Decoder, DecoderConfig, End, Record, RecordRef,
};
use crate::storage::StorageFile;

/// The most bytes read from a segment that is still being appended to in
/// one go.
const READ_CHUNK: u64 = 4 << 20;

/// Reads the durable records of a [`Spool`](super::Spool) in order, from a
/// chosen sequence number on; made by [`Spool::read_from`](super::Spool::read_from).
///
/// Sealed segments are memory-mapped (for a [`DirStorage`](crate::storage::DirStorage))
/// and decoded in place: a record's payload is a slice of the mapping, not a
/// copy. The segment still being appended to is read with `read_at`, up to
/// what is durable. Every frame's checksums are verified as it is read.
///
/// When it has returned every durable record the reader returns `None`, and
/// later calls return records made durable since. A reader keeps the
/// segment it is in alive even if an acknowledgement reclaims it.
pub struct SpoolReader {
    shared: Arc<Shared>,
    next: u64,
    cur: Option<Current>,
}

impl std::fmt::Debug for SpoolReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolReader")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

struct Current {
    first: u64,
    name: String,
    file: Arc<dyn StorageFile>,
    decoder: Decoder,
    /// Bytes of the segment fed to the decoder.
    fed: u64,
    /// Keeps the segment's file from being reused while it is read.
    _pin: Arc<()>,
}

/// Mapped bytes of a sealed segment, holding its pin: records handed out
/// share them, and the file is not reused while any is alive.
struct Pinned {
    bytes: Bytes,
    _pin: Arc<()>,
}

impl AsRef<[u8]> for Pinned {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl SpoolReader {
    pub(crate) fn new(shared: Arc<Shared>, seq: u64) -> Result<Self, ReadError> {
        {
            let st = shared.state.lock();
            if seq > st.next_seq {
                return Err(ReadError::BeyondEnd {
                    seq,
                    next: st.next_seq,
                });
            }
            let oldest = st.segments.keys().next().copied().unwrap_or(st.next_seq);
            if seq < oldest {
                return Err(ReadError::Reclaimed { seq, oldest });
            }
        }
        Ok(Self {
            shared,
            next: seq,
            cur: None,
        })
    }

    /// The sequence number of the next record this reader returns.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The next durable record, or `None` if there is none yet. Payloads
    /// share the segment's buffer (the mapping, for sealed segments).
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        Ok(self.next_record_ref()?.map(|r| r.to_record()))
    }

    /// Like [`next_record`](Self::next_record), but a view into the
    /// reader's buffer, valid until the reader is next used.
    pub fn next_record_ref(&mut self) -> Result<Option<RecordRef<'_>>, ReadError> {
        if !self.prepare()? {
            return Ok(None);
        }
        let Self { cur, next, .. } = self;
        let Some(cur) = cur.as_mut() else {
            return Ok(None);
        };
        match cur.decoder.next_record_ref() {
            Ok(Some(rec)) => {
                *next = rec.seq.saturating_add(1);
                Ok(Some(rec))
            }
            Ok(None) => Ok(None),
            Err(error) => Err(ReadError::Corrupt {
                file: cur.name.clone(),
                error,
            }),
        }
    }

    /// The next durable record as the spool stores it: its journal frame,
    /// checked as [`next_record`](Self::next_record) checks it, without
    /// decoding it into a [`Record`]. Consecutive frames join into one
    /// run of bytes ([`RecordFrames::join`]) without copying when they lie
    /// back to back in the reader's buffer: a master sends them so.
    pub fn next_frame(&mut self) -> Result<Option<RecordFrames>, ReadError> {
        if !self.prepare()? {
            return Ok(None);
        }
        let Some(cur) = self.cur.as_mut() else {
            return Ok(None);
        };
        let (seq, timestamp_ns) = match cur.decoder.next_record_ref() {
            Ok(Some(rec)) => (rec.seq, rec.timestamp_ns),
            Ok(None) => return Ok(None),
            Err(error) => return Err(Self::corrupt(cur, error)),
        };
        self.next = seq.saturating_add(1);
        let Some((backing, range)) = cur.decoder.current_frame() else {
            let e = DecodeError {
                offset: cur.decoder.offset(),
                last_good_seq: Some(seq),
                kind: DecodeErrorKind::Invalid("a record without its frame"),
            };
            return Err(Self::corrupt(cur, e));
        };
        Ok(Some(RecordFrames {
            backing: backing.clone(),
            range,
            first: seq,
            last: seq,
            first_timestamp_ns: timestamp_ns,
        }))
    }

    fn corrupt(cur: &Current, error: DecodeError) -> ReadError {
        ReadError::Corrupt {
            file: cur.name.clone(),
            error,
        }
    }

    /// Positions the decoder so that its next record is `self.next` (or an
    /// error); `false` if that record is not durable yet.
    fn prepare(&mut self) -> Result<bool, ReadError> {
        loop {
            let Some(cur) = self.cur.as_mut() else {
                if !self.open_segment()? {
                    return Ok(false);
                }
                continue;
            };
            if cur.decoder.needed() == 0 {
                let expected = cur
                    .decoder
                    .last_seq()
                    .map_or(cur.first, |s| s.saturating_add(1));
                if expected >= self.next {
                    return Ok(true);
                }
                if let Err(e) = cur.decoder.next_record_ref() {
                    return Err(Self::corrupt(cur, e));
                }
                continue;
            }
            let (durable_len, has_later) = {
                let st = self.shared.state.lock();
                let later = st
                    .segments
                    .range(cur.first.saturating_add(1)..)
                    .next()
                    .is_some();
                match st.segments.get(&cur.first) {
                    Some(seg) => (seg.durable_len, later && seg.durable_len == seg.len),
                    None => (cur.fed, true),
                }
            };
            if cur.fed < durable_len {
                let n = (durable_len - cur.fed).min(READ_CHUNK);
                let mut buf = BytesMut::zeroed(n as usize);
                cur.file
                    .read_at(cur.fed, &mut buf)
                    .map_err(|source| ReadError::Io {
                        file: cur.name.clone(),
                        source,
                    })?;
                cur.decoder.feed_bytes(buf.freeze());
                cur.fed += n;
                continue;
            }
            if !has_later {
                return Ok(false);
            }
            // The segment is complete: it must end cleanly.
            match cur.decoder.finish() {
                Ok(End::Clean { .. }) => self.cur = None,
                Ok(End::TornTail { offset, .. }) => {
                    let e = DecodeError {
                        offset,
                        last_good_seq: cur.decoder.last_seq(),
                        kind: DecodeErrorKind::Invalid("a sealed segment ends inside a frame"),
                    };
                    return Err(Self::corrupt(cur, e));
                }
                Err(e) => return Err(Self::corrupt(cur, e)),
            }
        }
    }

    /// Opens the segment holding `self.next`; `false` if it is not durable yet.
    fn open_segment(&mut self) -> Result<bool, ReadError> {
        let (first, name, file, sealed_len, pin) = {
            let st = self.shared.state.lock();
            if self.next >= st.durable_next {
                return Ok(false);
            }
            let Some((&first, seg)) = st.segments.range(..=self.next).next_back() else {
                let oldest = st.segments.keys().next().copied().unwrap_or(st.next_seq);
                return Err(ReadError::Reclaimed {
                    seq: self.next,
                    oldest,
                });
            };
            let Some(file) = seg.file.clone() else {
                return Ok(false);
            };
            let is_tail = st.segments.keys().next_back() == Some(&first);
            let sealed = !is_tail && seg.durable_len == seg.len;
            (
                first,
                seg.name.clone(),
                file,
                sealed.then_some(seg.durable_len),
                seg.pin.clone(),
            )
        };
        let mut decoder = Decoder::new(
            DecoderConfig::default()
                .first_seq(Some(first))
                .max_record_size(self.shared_max_record_size()),
        );
        let mut fed = 0;
        if let Some(len) = sealed_len {
            let bytes = file.map(len).map_err(|source| ReadError::Io {
                file: name.clone(),
                source,
            })?;
            decoder.feed_bytes(Bytes::from_owner(Pinned {
                bytes,
                _pin: pin.clone(),
            }));
            fed = len;
        }
        self.cur = Some(Current {
            first,
            name,
            file,
            decoder,
            fed,
            _pin: pin,
        });
        Ok(true)
    }

    fn shared_max_record_size(&self) -> usize {
        self.shared.max_record_size()
    }
}

/// Consecutive records as the spool stores them: their journal frames
/// back to back (a journal without its stream header, which a
/// [`Decoder`] reads and [`Spool::append_journal`](super::Spool::append_journal)
/// takes). Made by [`SpoolReader::next_frame`].
#[derive(Clone)]
pub struct RecordFrames {
    backing: Bytes,
    range: std::ops::Range<usize>,
    first: u64,
    last: u64,
    first_timestamp_ns: u64,
}

impl std::fmt::Debug for RecordFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordFrames")
            .field("first", &self.first)
            .field("last", &self.last)
            .field("bytes", &self.range.len())
            .finish()
    }
}

impl RecordFrames {
    /// The first record's sequence number.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The last record's sequence number.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// The first record's timestamp (ns since the Unix epoch).
    pub fn first_timestamp_ns(&self) -> u64 {
        self.first_timestamp_ns
    }

    /// Bytes of the frames.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether there are no bytes (never, for frames a reader made).
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The frames, sharing the reader's buffer (the segment's mapping,
    /// for a sealed segment).
    pub fn bytes(&self) -> Bytes {
        self.backing.slice(self.range.clone())
    }

    /// Appends `next` if it holds the records that follow and lies right
    /// after these frames in the same buffer; `false` (and nothing
    /// changes) otherwise, and the caller copies the two together.
    pub fn join(&mut self, next: &RecordFrames) -> bool {
        let same_buffer = self.backing.as_ptr() == next.backing.as_ptr()
            && self.backing.len() == next.backing.len();
        if !same_buffer
            || next.range.start != self.range.end
            || Some(next.first) != self.last.checked_add(1)
        {
            return false;
        }
        self.range.end = next.range.end;
        self.last = next.last;
        true
    }
}

impl Iterator for SpoolReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}
