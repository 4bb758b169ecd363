//! Appending journal bytes a capture source already encoded.

use bytes::Bytes;

use super::config::{AppendOptions, Ticket};
use super::error::AppendError;
use super::Spool;
use crate::journal::{
    DecodeError, DecodeErrorKind, Decoder, DecoderConfig, End, Record, STREAM_MAGIC,
};

/// What [`Spool::append_journal`] appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalAppend {
    /// Records in the bytes (all appended, or, on a degraded spool, all
    /// tracked as dirty regions).
    pub records: u64,
    /// The first record's sequence number (the spool's next one when the
    /// bytes hold no record).
    pub first_seq: u64,
    /// The last record's ticket: waiting for it covers every record of
    /// the call. With no record, a ticket that covers earlier appends.
    pub ticket: Ticket,
}

impl Spool {
    /// Appends the records of `bytes`, a journal as a [`JournalWriter`]
    /// writes it (with or without its stream header, compressed batches
    /// or not), as [`append_record`](Self::append_record) would append
    /// each in turn, but in one call and all or nothing.
    ///
    /// The records must carry consecutive sequence numbers starting at
    /// the spool's next one ([`SpoolUsage::next_seq`]); otherwise
    /// [`EncodeError::Sequence`] names the expected and the found number.
    /// Every frame is decoded and checked (checksums, structure, paths,
    /// sizes against [`SpoolConfig::max_record_size`]) before anything is
    /// appended: corrupt bytes, or bytes that end inside a frame, fail
    /// with [`AppendError::Journal`] and nothing is appended. The records
    /// are then admitted under the limits as one group (`opts.when_full`
    /// applies to the group) and encoded in the spool's own framing, one
    /// record per frame, with no other append between them. Durability is
    /// that of consecutive appends: with `opts.durable` every record is
    /// durable when the call returns; a crash before that keeps a prefix
    /// of them (possibly empty), never a record without those before it.
    ///
    /// A journal's first eight bytes tell whether it starts with the
    /// stream header: the magic `\x89RHAJ\r\n\x1a` read as a frame's
    /// length is far above any record size limit.
    ///
    /// [`JournalWriter`]: crate::journal::JournalWriter
    /// [`SpoolUsage::next_seq`]: super::SpoolUsage::next_seq
    /// [`SpoolConfig::max_record_size`]: super::SpoolConfig::max_record_size
    /// [`EncodeError::Sequence`]: crate::journal::EncodeError::Sequence
    ///
    /// ```
    /// use std::sync::Arc;
    /// use rha_core::journal::{JournalWriter, Op, WriterConfig};
    /// use rha_core::spool::{AppendOptions, Spool, SpoolConfig};
    /// use rha_core::storage::MemStorage;
    ///
    /// let mut w = JournalWriter::new(Vec::new(), WriterConfig::default());
    /// w.append(1_000, &Op::TxBegin { txid: 1 })?;
    /// w.append(2_000, &Op::TxCommit { txid: 1 })?;
    /// let bytes = w.into_inner()?;
    ///
    /// let (spool, _) = Spool::open(Arc::new(MemStorage::new()), SpoolConfig::default())?;
    /// let done = spool.append_journal(&bytes, AppendOptions::default())?;
    /// assert_eq!((done.records, done.first_seq, done.ticket.seq), (2, 1, Some(2)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append_journal(
        &self,
        bytes: &[u8],
        opts: AppendOptions,
    ) -> Result<JournalAppend, AppendError> {
        self.append_journal_shared(Bytes::copy_from_slice(bytes), opts)
    }

    /// [`append_journal`](Self::append_journal) of bytes the caller already
    /// holds as [`Bytes`] (a message received from the network): the
    /// records' payloads are decoded in place, not copied first.
    pub fn append_journal_shared(
        &self,
        bytes: Bytes,
        opts: AppendOptions,
    ) -> Result<JournalAppend, AppendError> {
        let (records, frames) = decode_all(bytes, self.shared.config.max_record_size)?;
        let group: Vec<(u64, &crate::journal::Op)> =
            records.iter().map(|r| (r.timestamp_ns, &r.op)).collect();
        let first = records.first().map(|r| r.seq);
        let ticket = self.enqueue(first, &group, &frames, opts.when_full)?;
        if opts.durable {
            self.wait(ticket)?;
        } else if self.unflushed() >= self.shared.config.max_unflushed_bytes {
            self.write_behind()?;
        }
        Ok(JournalAppend {
            records: records.len() as u64,
            first_seq: first.unwrap_or_else(|| self.usage().next_seq),
            ticket,
        })
    }
}

/// Every record of `bytes`, checked to be a complete journal whose
/// records are numbered consecutively, and each one's frame as checked
/// (the spool stores those bytes as they are: its own framing is the
/// journal's, one record per frame).
fn decode_all(
    bytes: Bytes,
    max_record_size: usize,
) -> Result<(Vec<Record>, Vec<Bytes>), AppendError> {
    let header = bytes.len() >= STREAM_MAGIC.len() && bytes[..STREAM_MAGIC.len()] == STREAM_MAGIC;
    let mut dec = Decoder::new(
        DecoderConfig::default()
            .stream_header(header)
            .max_record_size(max_record_size),
    );
    dec.feed_bytes(bytes);
    let mut records = Vec::new();
    let mut frames = Vec::new();
    while let Some(rec) = dec.next_record().map_err(AppendError::Journal)? {
        if let Some((backing, range)) = dec.current_frame() {
            frames.push(backing.slice(range));
        }
        records.push(rec);
    }
    if frames.len() != records.len() {
        // Every record has its frame; should one not, encode them all.
        frames.clear();
    }
    match dec.finish().map_err(AppendError::Journal)? {
        End::Clean { .. } => Ok((records, frames)),
        End::TornTail { offset, .. } => Err(AppendError::Journal(DecodeError {
            offset,
            last_good_seq: records.last().map(|r| r.seq),
            kind: DecodeErrorKind::Invalid("the bytes end inside a frame"),
        })),
    }
}
