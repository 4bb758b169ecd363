//! The rewind log: a stack of undo entries in journal-format segments.
//!
//! Layout and invariants are specified in `docs/rewind-log-format.md`.

use std::io;

use crate::journal::{
    Decoder, DecoderConfig, JournalWriter, Op, WriteError, WriterConfig, DEFAULT_MAX_RECORD_SIZE,
    FRAME_HEADER_LEN,
};

use crate::storage::Storage;

mod files;
mod redo;
mod reset;
mod scan;
mod state;
mod stream;

use files::LogFiles;
pub use reset::DroppedPoints;

/// Segment file names: this prefix, the first log sequence number as 20
/// decimal digits, this suffix.
pub const SEGMENT_PREFIX: &str = "rewind-";
/// See [`SEGMENT_PREFIX`].
pub const SEGMENT_SUFFIX: &str = ".rwl";
/// The name of the redo file: forward payloads captured while rewinding.
pub const REDO_FILE: &str = "rewind-redo";
/// Forward write payloads at least this long are not stored in an entry; a
/// rewind captures them from the target into the redo file instead.
pub const ELIDE_MIN: usize = 512;
/// The name of the state file (the rewind cursor).
pub const STATE_FILE: &str = "rewind-state";
/// Size of one state slot; the state file holds two.
pub const STATE_SLOT_LEN: usize = 64;
const STATE_MAGIC: &[u8; 8] = b"RHARWST1";

/// A failure of the rewind log itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The storage failed. The log refuses further changes until reopened.
    #[error("rewind log file '{file}': {source}")]
    Io {
        /// The log file.
        file: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// A segment does not decode as a journal.
    #[error("rewind log file '{file}' is corrupt: {source}")]
    Decode {
        /// The log file.
        file: String,
        /// The decoding failure (with offset and sequence number).
        #[source]
        source: crate::journal::DecodeError,
    },
    /// A segment decodes but breaks the log's structure.
    #[error("rewind log file '{file}' is corrupt at byte offset {offset}: {detail}")]
    Corrupt {
        /// The log file.
        file: String,
        /// Offset of the offending record.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// An entry could not be encoded (a record breaks a format rule).
    #[error("cannot encode rewind entry for sequence {seq}: {source}")]
    Encode {
        /// The forward record's sequence number.
        seq: u64,
        /// Why.
        #[source]
        source: WriteError,
    },
    /// An earlier storage failure left the log unusable.
    #[error("rewind log is unusable after an earlier I/O error; reopen it")]
    Poisoned,
    /// A rewind or undo was interrupted, so the target is between two
    /// points; opening the replica finishes it. Nothing was changed.
    #[error(
        "a rewind or undo to point {target} was interrupted; open the replica to finish it first"
    )]
    JobUnderWay {
        /// The point the interrupted job was moving to.
        target: u64,
    },
}

/// Settings of a [`RewindLog`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogConfig {
    /// A new segment starts once the current one passes this many bytes.
    /// Retention drops whole segments. Default: 64 MiB.
    pub segment_bytes: u64,
    /// The largest log record accepted when reading. Default: 64 MiB.
    pub max_record_size: usize,
    /// Forward write payloads at least this long are not stored in entries
    /// (a rewind captures them into the redo file). Default: [`ELIDE_MIN`].
    pub elide_min: usize,
    /// A batch's entries are written to the segment whenever about this
    /// many bytes of them are encoded, and the medium starts writing them
    /// back, so that the batch's one sync has only the rest to wait for.
    /// Default: [`WRITE_BYTES`].
    pub write_bytes: usize,
}

/// The default [`LogConfig::write_bytes`]: 1 MiB.
pub const WRITE_BYTES: usize = 1 << 20;

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 64 << 20,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            elide_min: ELIDE_MIN,
            write_bytes: WRITE_BYTES,
        }
    }
}

/// One undo entry: a forward record and the records that undo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The forward record's sequence number: undoing the entry goes from
    /// point `seq` to point `seq - 1`.
    pub seq: u64,
    /// The forward record's timestamp: the wall time of point `seq`.
    pub timestamp_ns: u64,
    /// The forward operation, as applied; for an elided write, with an
    /// empty payload.
    pub forward: Op,
    /// The length of the forward write's payload when it is elided (not
    /// stored in the entry).
    pub elided: Option<u64>,
    /// Its inverse, in application order.
    pub inverse: Vec<Op>,
}

/// A rewind point: the state after the record numbered `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// The last record applied at this point.
    pub seq: u64,
    /// When the point was reached (the record's timestamp); `None` for the
    /// oldest point of the log, whose time is not recorded.
    pub timestamp_ns: Option<u64>,
}

/// A named point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookmarkInfo {
    /// The name.
    pub name: String,
    /// The point it marks.
    pub seq: u64,
    /// When it was set.
    pub timestamp_ns: u64,
    /// Whether the application declared its data consistent there.
    pub app_consistent: bool,
}

#[derive(Debug, Clone)]
struct Segment {
    name: String,
    /// The point the segment starts from.
    base: u64,
    len: u64,
    next_log_seq: u64,
    /// Whether the segment's name and base record are known durable. A new
    /// segment becomes so with the first sync that something relies on
    /// (its first batch or bookmark), which then syncs the directory too.
    named: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryInfo {
    pub(crate) seq: u64,
    pub(crate) timestamp_ns: u64,
    seg: usize,
    start: u64,
    end: u64,
    first_log_seq: u64,
    pub(crate) txn: TxnMark,
}

/// Whether an entry's forward record opens or closes a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnMark {
    None,
    Begin,
    Commit,
}

/// A rewind or undo that is under way, as recorded in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Job {
    /// The point being moved to.
    pub(crate) target: u64,
    /// Undoing a rewind (replaying forward records) rather than rewinding.
    pub(crate) forward: bool,
    /// Drop the entries above `target` when done (transaction rollback).
    pub(crate) discard: bool,
    /// The entry in progress.
    pub(crate) entry: u64,
    /// The first operation of that entry not known to be applied.
    pub(crate) op: u32,
}

/// The durable cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct State {
    /// The current point, when the target is rewound below the newest entry.
    pub(crate) head: Option<u64>,
    /// A job under way.
    pub(crate) job: Option<Job>,
}

/// The undo entries of a replica, stored as journal segments in a
/// [`Storage`].
#[derive(Debug)]
pub struct RewindLog<S: Storage> {
    files: LogFiles<S>,
    config: LogConfig,
    segs: Vec<Segment>,
    pub(crate) entries: Vec<EntryInfo>,
    bookmarks: Vec<BookmarkInfo>,
    /// Index of the first entry of the last batch, if a batch marker was seen
    /// after the last entry-free stretch.
    pub(crate) last_batch: Option<usize>,
    batch_no: u64,
    pub(crate) state: State,
    state_gen: u64,
    /// Whether the state file exists (its entry durable).
    state_file: bool,
    poisoned: bool,
    /// Redo records by forward sequence number: (start, end, first log seq).
    redo: std::collections::BTreeMap<u64, (u64, u64, u64)>,
    redo_len: u64,
    redo_next: u64,
    /// The batch being written, if any.
    open: Option<stream::OpenBatch>,
}

/// The forward record as stored in an entry, and the elided payload length.
fn stored_forward(op: &Op, min: usize) -> (Op, Option<u64>) {
    match op {
        Op::Write { path, offset, data } if data.len() >= min && !data.is_empty() => (
            Op::Write {
                path: path.clone(),
                offset: *offset,
                data: bytes::Bytes::new(),
            },
            Some(data.len() as u64),
        ),
        Op::BlockWrite {
            volume,
            offset,
            data,
        } if data.len() >= min && !data.is_empty() => (
            Op::BlockWrite {
                volume: *volume,
                offset: *offset,
                data: bytes::Bytes::new(),
            },
            Some(data.len() as u64),
        ),
        _ => (op.clone(), None),
    }
}

fn seg_name(first_log_seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{first_log_seq:020}{SEGMENT_SUFFIX}")
}

fn frame_len(seq: u64, op: &Op) -> u64 {
    (FRAME_HEADER_LEN + crate::journal::codec_body_len(seq, op)) as u64
}

impl<S: Storage> RewindLog<S> {
    /// The newest point in the log (the state after its newest entry), or
    /// the base of the log when it holds no entry; `None` for an empty log.
    fn top_point_opt(&self) -> Option<u64> {
        match self.entries.last() {
            Some(e) => Some(e.seq),
            None => self.segs.first().map(|s| s.base),
        }
    }

    /// The newest point the log can return to: its newest entry's sequence
    /// number (or its base when it holds no entry). `None` when empty.
    pub fn newest_point(&self) -> Option<u64> {
        self.top_point_opt()
    }

    /// The oldest point still reachable: the base of the oldest segment.
    pub fn oldest_point(&self) -> Option<u64> {
        self.segs.first().map(|s| s.base)
    }

    /// Every point from the oldest to the newest.
    pub fn points(&self) -> Vec<Point> {
        let mut out = Vec::with_capacity(self.entries.len() + 1);
        if let Some(base) = self.oldest_point() {
            out.push(Point {
                seq: base,
                timestamp_ns: None,
            });
        }
        out.extend(self.entries.iter().map(|e| Point {
            seq: e.seq,
            timestamp_ns: Some(e.timestamp_ns),
        }));
        out
    }

    /// Every bookmark whose point is still reachable, oldest first.
    pub fn bookmarks(&self) -> Vec<BookmarkInfo> {
        let oldest = self.oldest_point().unwrap_or(0);
        self.bookmarks
            .iter()
            .filter(|b| b.seq >= oldest)
            .cloned()
            .collect()
    }

    /// Every bookmark ever read or written, including retired ones.
    pub(crate) fn all_bookmarks(&self) -> &[BookmarkInfo] {
        &self.bookmarks
    }

    /// Bytes of log held in storage.
    pub fn total_bytes(&self) -> u64 {
        self.segs.iter().map(|s| s.len).sum()
    }

    /// The number of entries.
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        self.files.storage()
    }

    /// Removes the oldest segment file (durably) and its entries; returns
    /// how many entries went.
    fn remove_oldest_segment(&mut self) -> Result<usize, LogError> {
        let name = self.segs[0].name.clone();
        if let Err(e) = self
            .files
            .remove(&name)
            .and_then(|()| self.files.sync_dir())
        {
            return Err(self.io(&name, e));
        }
        self.segs.remove(0);
        let gone = self.entries.partition_point(|e| e.seg == 0);
        self.entries.drain(..gone);
        for e in &mut self.entries {
            e.seg -= 1;
        }
        Ok(gone)
    }

    fn io(&mut self, file: &str, source: io::Error) -> LogError {
        self.poisoned = true;
        LogError::Io {
            file: file.to_owned(),
            source,
        }
    }

    fn check(&self) -> Result<(), LogError> {
        if self.poisoned {
            Err(LogError::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Starts a new segment if there is none or the last one is full.
    fn roll(&mut self, base_if_empty: u64) -> Result<(), LogError> {
        let full = self
            .segs
            .last()
            .is_none_or(|s| s.len >= self.config.segment_bytes);
        if !full {
            return Ok(());
        }
        let base = self.top_point_opt().unwrap_or(base_if_empty);
        let first = self.segs.last().map_or(1, |s| s.next_log_seq);
        let name = seg_name(first);
        let mut w = JournalWriter::new(
            Vec::new(),
            WriterConfig::default()
                .first_seq(first)
                .batch_bytes(usize::MAX),
        );
        let encoded = w
            .append(
                0,
                &Op::Epoch {
                    scenario: 0,
                    epoch: base,
                },
            )
            .and_then(|_| w.into_inner())
            .map_err(|source| LogError::Encode { seq: base, source })?;
        // Not synced here: the first sync of the segment (its first batch
        // or bookmark, before anything relies on it) makes its base record
        // durable, and then its name (`sync_segment`). A crash before
        // leaves no segment, or one without a base record (removed on
        // opening) or with a torn tail (cut off).
        if let Err(e) = self
            .files
            .create(&name)
            .and_then(|()| self.files.write_at(&name, 0, &encoded))
        {
            return Err(self.io(&name, e));
        }
        self.segs.push(Segment {
            name,
            base,
            len: encoded.len() as u64,
            next_log_seq: first + 1,
            named: false,
        });
        Ok(())
    }

    /// Makes what was written to segment `seg` durable, and the segment
    /// itself the first time (its name in the directory, after its
    /// contents).
    fn sync_segment(&mut self, seg: usize) -> io::Result<()> {
        let s = &self.segs[seg];
        self.files.sync(&s.name)?;
        if !s.named {
            self.files.sync_dir()?;
            self.segs[seg].named = true;
        }
        Ok(())
    }

    /// Records durably that every change of the log's batches has landed
    /// and been synced: reopening will not roll the last batch back.
    pub(crate) fn close_batch(&mut self) -> Result<(), LogError> {
        self.check()?;
        debug_assert!(self.open.is_none(), "a batch is being written");
        if self.last_batch.is_none() || self.segs.is_empty() {
            return Ok(());
        }
        let seg = self.segs.len() - 1;
        let (name, start_len, first) = {
            let s = &self.segs[seg];
            (s.name.clone(), s.len, s.next_log_seq)
        };
        let mut w = JournalWriter::new(
            Vec::new(),
            WriterConfig::default()
                .first_seq(first)
                .stream_header(false)
                .batch_bytes(usize::MAX),
        );
        let bytes = w
            .append(
                0,
                &Op::SyncEnd {
                    sync_id: self.batch_no,
                },
            )
            .and_then(|_| w.into_inner())
            .map_err(|source| LogError::Encode { seq: 0, source })?;
        if let Err(e) = self
            .files
            .write_at(&name, start_len, &bytes)
            .and_then(|()| self.sync_segment(seg))
        {
            return Err(self.io(&name, e));
        }
        let s = &mut self.segs[seg];
        s.len += bytes.len() as u64;
        s.next_log_seq = first + 1;
        self.last_batch = None;
        Ok(())
    }

    /// Appends a standalone bookmark at the newest point, durably.
    pub(crate) fn append_bookmark(
        &mut self,
        base_if_empty: u64,
        name: &str,
        timestamp_ns: u64,
        app_consistent: bool,
    ) -> Result<(), LogError> {
        self.check()?;
        debug_assert!(self.open.is_none(), "a batch is being written");
        self.roll(base_if_empty)?;
        let seg = self.segs.len() - 1;
        let (sname, start_len, first) = {
            let s = &self.segs[seg];
            (s.name.clone(), s.len, s.next_log_seq)
        };
        let op = Op::Bookmark {
            name: name.to_owned(),
            app_consistent,
        };
        let mut w = JournalWriter::new(
            Vec::new(),
            WriterConfig::default()
                .first_seq(first)
                .stream_header(false)
                .batch_bytes(usize::MAX),
        );
        let bytes = w
            .append(timestamp_ns, &op)
            .and_then(|_| w.into_inner())
            .map_err(|source| LogError::Encode { seq: 0, source })?;
        if let Err(e) = self
            .files
            .write_at(&sname, start_len, &bytes)
            .and_then(|()| self.sync_segment(seg))
        {
            return Err(self.io(&sname, e));
        }
        let point = self.top_point_opt().unwrap_or(base_if_empty);
        self.bookmarks.push(BookmarkInfo {
            name: name.to_owned(),
            seq: point,
            timestamp_ns,
            app_consistent,
        });
        let s = &mut self.segs[seg];
        s.len += bytes.len() as u64;
        s.next_log_seq = first + 1;
        Ok(())
    }

    /// Reads entry number `idx` (0 = oldest held).
    pub(crate) fn read_entry(&mut self, idx: usize) -> Result<Entry, LogError> {
        let info = self.entries[idx];
        let name = self.segs[info.seg].name.clone();
        let mut buf = vec![0u8; (info.end - info.start) as usize];
        self.files
            .read_at(&name, info.start, &mut buf)
            .map_err(|source| LogError::Io {
                file: name.clone(),
                source,
            })?;
        let mut d = Decoder::new(
            DecoderConfig::default()
                .stream_header(false)
                .first_seq(Some(info.first_log_seq))
                .max_record_size(self.config.max_record_size),
        );
        d.feed(&buf);
        let corrupt = |detail: &str| LogError::Corrupt {
            file: name.clone(),
            offset: info.start,
            detail: detail.to_owned(),
        };
        let mut recs = Vec::new();
        while let Some(rec) = d.next_record().map_err(|source| LogError::Decode {
            file: name.clone(),
            source,
        })? {
            recs.push(rec);
        }
        if recs.len() < 3
            || recs.first().map(|r| &r.op) != Some(&Op::TxBegin { txid: info.seq })
            || recs.last().map(|r| &r.op) != Some(&Op::TxCommit { txid: info.seq })
        {
            return Err(corrupt("entry changed since the log was opened"));
        }
        recs.pop();
        let mut rest = recs.into_iter().skip(1);
        let forward = rest
            .next()
            .ok_or_else(|| corrupt("entry has no forward record"))?;
        let elided = match (&forward.op, forward.timestamp_ns) {
            (_, 0) => None,
            (Op::Write { data, .. } | Op::BlockWrite { data, .. }, n) if data.is_empty() => {
                Some(n - 1)
            }
            _ => return Err(corrupt("payload length on a record that cannot be elided")),
        };
        Ok(Entry {
            seq: info.seq,
            timestamp_ns: info.timestamp_ns,
            forward: forward.op,
            elided,
            inverse: rest.map(|r| r.op).collect(),
        })
    }

    /// Drops every entry above point `point` (and bookmarks set after them),
    /// durably.
    pub(crate) fn truncate_after(&mut self, point: u64) -> Result<(), LogError> {
        self.check()?;
        debug_assert!(self.open.is_none(), "a batch is being written");
        let keep = self.entries.partition_point(|e| e.seq <= point);
        if keep == self.entries.len() {
            return Ok(());
        }
        let first_gone = self.entries[keep];
        // Newest segments first, so a crash leaves a prefix of the log.
        while self.segs.len() > first_gone.seg + 1 {
            let s = self.segs.pop().map(|s| s.name).unwrap_or_default();
            if let Err(e) = self.files.remove(&s).and_then(|()| self.files.sync_dir()) {
                return Err(self.io(&s, e));
            }
        }
        let name = self.segs[first_gone.seg].name.clone();
        if let Err(e) = self
            .files
            .set_len(&name, first_gone.start)
            .and_then(|()| self.files.sync(&name))
        {
            return Err(self.io(&name, e));
        }
        let s = &mut self.segs[first_gone.seg];
        s.len = first_gone.start;
        s.next_log_seq = first_gone.first_log_seq;
        self.entries.truncate(keep);
        self.bookmarks.retain(|b| b.seq <= point);
        self.last_batch = None;
        self.redo_clear()
    }

    /// Drops the oldest segments while `drop(segment newest time, total
    /// bytes)` says so, never making a point above `protect` unreachable and
    /// always keeping the newest segment. Returns the number of segments
    /// dropped.
    pub(crate) fn drop_oldest(
        &mut self,
        protect: u64,
        mut drop: impl FnMut(Option<u64>, u64) -> bool,
    ) -> Result<usize, LogError> {
        self.check()?;
        let mut dropped = 0;
        while self.segs.len() > 1 {
            // The oldest point once segment 0 is gone.
            let next_base = self.segs[1].base;
            if next_base > protect {
                break;
            }
            let newest_ts = self
                .entries
                .iter()
                .take_while(|e| e.seg == 0)
                .last()
                .map(|e| e.timestamp_ns);
            if !drop(newest_ts, self.total_bytes()) {
                break;
            }
            let gone = self.remove_oldest_segment()?;
            self.last_batch = self.last_batch.and_then(|b| b.checked_sub(gone));
            dropped += 1;
        }
        Ok(dropped)
    }
}
