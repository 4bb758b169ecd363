//! Writing a batch of entries: each entry is encoded as its record comes,
//! and written out whenever [`LogConfig::write_bytes`] have gathered, with
//! the medium asked to start writing them back; one sync when the batch
//! ends makes it durable.
//!
//! Nothing of a batch counts before that sync: its entries join the log's
//! index only then, and the engine applies none of its records before. A
//! crash before it leaves a batch the engine never applied, which opening
//! cuts off as a torn tail, rolls forward or rolls back (as after a crash
//! between the sync and the changes).
//!
//! [`LogConfig::write_bytes`]: super::LogConfig::write_bytes

use bytes::Bytes;

use super::{frame_len, BookmarkInfo, EntryInfo, LogError, RewindLog, TxnMark};
use crate::journal::{JournalWriter, Op, WriteError, WriterConfig};
use crate::storage::Storage;

/// Payloads at least this long (the old bytes of an overwrite, most often)
/// are written from the inverse's own buffer rather than copied into the
/// encoder's.
const GATHER_MIN: usize = 1024;

/// A batch being written.
#[derive(Debug)]
pub(super) struct OpenBatch {
    /// The segment it goes to (the last one), by index and name.
    seg: usize,
    name: String,
    /// The segment's length when the batch began: where the file is cut
    /// back to if the batch is dropped.
    start_len: u64,
    /// Bytes of the batch written to the file so far.
    written: u64,
    /// The encoder, holding what is not written yet.
    writer: JournalWriter<Vec<u8>>,
    /// A buffer to encode into while the last one is written.
    spare: Vec<u8>,
    /// Payloads not copied into the encoder's buffer, each with the
    /// buffer length it is written at (see `JournalWriter::append_split`).
    gathered: Vec<(usize, Bytes)>,
    /// The segment's length once everything encoded is written.
    end: u64,
    /// The batch's number (its `SyncStart`).
    batch_no: u64,
    entries: Vec<EntryInfo>,
    /// Bookmarks the batch's forward records set.
    bookmarks: Vec<BookmarkInfo>,
}

impl<S: Storage> RewindLog<S> {
    /// Adds the entry of forward record `seq` (timestamp `ts`, operation
    /// `forward`, undone by `inverse`) to the batch being written, starting
    /// one if none is (`base_if_empty` is the current point, the log's base
    /// if it is empty). Not durable before [`commit_batch`](Self::commit_batch).
    ///
    /// An entry that cannot be encoded (a record breaking a format rule)
    /// fails with [`LogError::Encode`] and leaves the batch as it was.
    pub(crate) fn stream_entry(
        &mut self,
        base_if_empty: u64,
        seq: u64,
        ts: u64,
        forward: &Op,
        inverse: &[Op],
    ) -> Result<(), LogError> {
        self.check()?;
        let (stored, elided) = super::stored_forward(forward, self.config.elide_min);
        // Every record is checked before any is encoded, so that a failure
        // leaves no half entry behind.
        let max = self.config.max_record_size;
        let begin = Op::TxBegin { txid: seq };
        let commit = Op::TxCommit { txid: seq };
        let mut bytes = 0u64;
        for op in [&begin, &stored]
            .into_iter()
            .chain(inverse)
            .chain([&commit])
        {
            let body = crate::journal::codec_check(seq, op, max).map_err(|e| LogError::Encode {
                seq,
                source: WriteError::Encode(e),
            })?;
            bytes += (crate::journal::FRAME_HEADER_LEN + body) as u64;
        }
        if self.open.is_none() {
            self.start_batch(base_if_empty, bytes)?;
        }
        let Some(open) = self.open.as_mut() else {
            return Err(LogError::Poisoned);
        };
        let start = open.end;
        let first_log_seq = open.writer.next_seq();
        // A frame's length does not depend on its sequence number.
        let at = start + bytes;
        let mut result = Ok(());
        for (op, t) in [(&begin, ts), (&stored, elided.map_or(0, |n| n + 1))]
            .into_iter()
            .chain(inverse.iter().map(|op| (op, ts)))
            .chain([(&commit, ts)])
        {
            match open.writer.append_split(t, op, GATHER_MIN) {
                Ok(Some(piece)) => open.gathered.push(piece),
                Ok(None) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Err(source) = result {
            // Checked above: only a broken encoder gets here, and the batch
            // now holds half an entry.
            self.open = None;
            self.poisoned = true;
            return Err(LogError::Encode { seq, source });
        }
        open.end = at;
        if let Op::Bookmark {
            name,
            app_consistent,
        } = forward
        {
            open.bookmarks.push(BookmarkInfo {
                name: name.clone(),
                seq,
                timestamp_ns: ts,
                app_consistent: *app_consistent,
            });
        }
        open.entries.push(EntryInfo {
            seq,
            timestamp_ns: ts,
            seg: open.seg,
            start,
            end: at,
            first_log_seq,
            txn: match forward {
                Op::TxBegin { .. } => TxnMark::Begin,
                Op::TxCommit { .. } => TxnMark::Commit,
                _ => TxnMark::None,
            },
        });
        let unwritten = open.end - open.start_len - open.written;
        if unwritten >= self.config.write_bytes as u64 {
            self.write_out()?;
        }
        Ok(())
    }

    /// Starts a batch (a new segment first if the last one is full) whose
    /// first entry encodes to about `first` bytes.
    fn start_batch(&mut self, base_if_empty: u64, first: u64) -> Result<(), LogError> {
        self.roll(base_if_empty)?;
        let seg = self.segs.len() - 1;
        let s = &self.segs[seg];
        let mut writer = JournalWriter::new(
            Vec::new(),
            WriterConfig::default()
                .first_seq(s.next_log_seq)
                .stream_header(false)
                .batch_bytes(usize::MAX)
                .max_record_size(self.config.max_record_size),
        );
        // Room for a chunk and the entry that passes it.
        let room = self
            .config
            .write_bytes
            .saturating_add(usize::try_from(first).unwrap_or(usize::MAX))
            .min(self.config.write_bytes.saturating_mul(2).max(1 << 20));
        writer.reserve(room);
        let batch_no = self.batch_no + 1;
        let sync_start = Op::SyncStart { sync_id: batch_no };
        let end = s.len + frame_len(s.next_log_seq, &sync_start);
        writer
            .append(0, &sync_start)
            .map_err(|source| LogError::Encode { seq: 0, source })?;
        self.open = Some(OpenBatch {
            seg,
            name: s.name.clone(),
            start_len: s.len,
            written: 0,
            writer,
            spare: Vec::with_capacity(room),
            gathered: Vec::new(),
            end,
            batch_no,
            entries: Vec::new(),
            bookmarks: Vec::new(),
        });
        Ok(())
    }

    /// Writes what the open batch has encoded and asks the medium to start
    /// writing it back.
    fn write_out(&mut self) -> Result<(), LogError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        let spare = std::mem::take(&mut open.spare);
        let bytes = match open.writer.take_bytes(spare) {
            Ok(b) => b,
            Err(source) => {
                self.open = None;
                self.poisoned = true;
                return Err(LogError::Encode { seq: 0, source });
            }
        };
        let mut gathered = std::mem::take(&mut open.gathered);
        if bytes.is_empty() && gathered.is_empty() {
            open.spare = bytes;
            return Ok(());
        }
        let offset = open.start_len + open.written;
        let name = open.name.clone();
        // The encoded bytes with each gathered payload in its place.
        let mut bufs: Vec<&[u8]> = Vec::with_capacity(2 * gathered.len() + 1);
        let mut from = 0;
        for (at, payload) in &gathered {
            bufs.push(&bytes[from..*at]);
            bufs.push(payload);
            from = *at;
        }
        bufs.push(&bytes[from..]);
        let len = bytes.len() as u64 + gathered.iter().map(|(_, p)| p.len() as u64).sum::<u64>();
        if let Err(e) = self.files.write_vectored_at(&name, offset, &bufs) {
            self.open = None;
            return Err(self.io(&name, e));
        }
        drop(bufs);
        // Only a hint: a failure changes nothing the sync will not see.
        let _ = self.files.write_back(&name, offset, len);
        if let Some(open) = self.open.as_mut() {
            open.written += len;
            debug_assert_eq!(open.start_len + open.written, open.end);
            open.spare = bytes;
            gathered.clear();
            open.gathered = gathered;
        }
        Ok(())
    }

    /// Makes the open batch durable (one sync) and adds its entries to the
    /// log. Nothing to do when no batch is open.
    pub(crate) fn commit_batch(&mut self) -> Result<(), LogError> {
        self.check()?;
        if self.open.is_none() {
            return Ok(());
        }
        self.write_out()?;
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        if let Err(e) = self.sync_segment(open.seg) {
            return Err(self.io(&open.name, e));
        }
        self.batch_no = open.batch_no;
        self.last_batch = Some(self.entries.len());
        self.entries.extend(open.entries);
        self.bookmarks.extend(open.bookmarks);
        let s = &mut self.segs[open.seg];
        s.len = open.end;
        s.next_log_seq = open.writer.next_seq();
        Ok(())
    }

    /// Drops the open batch: what of it was written is cut off the
    /// segment, durably, so that no crash can bring back entries whose
    /// records were never applied. Nothing to do when no batch is open.
    pub(crate) fn discard_batch(&mut self) -> Result<(), LogError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        self.check()?;
        if open.written > 0 {
            if let Err(e) = self
                .files
                .set_len(&open.name, open.start_len)
                .and_then(|()| self.files.sync(&open.name))
            {
                return Err(self.io(&open.name, e));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LogConfig, RewindLog};
    use crate::journal::{Op, RelPath};
    use crate::storage::{MemStorage, Storage};

    fn write(seq: u64) -> (Op, Vec<Op>) {
        let path = RelPath::new("f").unwrap();
        let op = |data: &'static str| Op::Write {
            path: path.clone(),
            offset: seq,
            data: data.into(),
        };
        (op("new"), vec![op("old")])
    }

    /// The live length of every segment.
    fn lengths(mem: &MemStorage) -> Vec<u64> {
        let mut names = mem.list().unwrap();
        names.sort();
        names
            .iter()
            .filter(|n| n.ends_with(super::super::SEGMENT_SUFFIX))
            .map(|n| mem.open(n).unwrap().len().unwrap())
            .collect()
    }

    #[test]
    fn entries_are_written_as_they_come_and_count_once_synced() {
        let mem = MemStorage::new();
        let config = LogConfig {
            write_bytes: 1,
            ..LogConfig::default()
        };
        let mut log = RewindLog::open(mem.clone(), config.clone()).unwrap();
        let syncs = mem.stats().syncs;
        for seq in 1..=3 {
            let (fwd, inv) = write(seq);
            log.stream_entry(0, seq, seq * 10, &fwd, &inv).unwrap();
        }
        let live = lengths(&mem);
        assert_eq!(mem.stats().syncs, syncs, "nothing is synced yet");
        assert_eq!(log.entry_count(), 0, "nothing counts before the sync");
        assert!(
            mem.durable_image().list().unwrap().is_empty(),
            "the new segment is not named durably before its first batch"
        );
        log.commit_batch().unwrap();
        assert_eq!(lengths(&mem), live, "everything was already written");
        assert_eq!(
            mem.stats().syncs,
            syncs + 2,
            "one sync of the segment, then one of the directory naming it"
        );
        assert_eq!(log.entry_count(), 3);
        let reopened = RewindLog::open(mem.durable_image(), config).unwrap();
        assert_eq!(reopened.entry_count(), 3);
        assert_eq!(reopened.newest_point(), Some(3));
    }

    #[test]
    fn a_segment_left_unsynced_is_named_durably_by_its_next_batch() {
        let mem = MemStorage::new();
        let (fwd, inv) = write(1);
        let mut log = RewindLog::open(mem.clone(), LogConfig::default()).unwrap();
        log.stream_entry(0, 1, 10, &fwd, &inv).unwrap();
        log.discard_batch().unwrap();
        drop(log);
        // A run that stopped there left a segment that is not named durably.
        assert_eq!(lengths(&mem).len(), 1);
        assert!(mem.durable_image().list().unwrap().is_empty());
        let mut log = RewindLog::open(mem.clone(), LogConfig::default()).unwrap();
        log.stream_entry(0, 1, 10, &fwd, &inv).unwrap();
        log.commit_batch().unwrap();
        let reopened = RewindLog::open(mem.durable_image(), LogConfig::default()).unwrap();
        assert_eq!(reopened.newest_point(), Some(1));
    }

    #[test]
    fn a_crash_before_the_first_batch_synced_loses_only_the_batch() {
        let mem = MemStorage::new();
        let config = LogConfig {
            write_bytes: 1,
            ..LogConfig::default()
        };
        let mut log = RewindLog::open(mem.clone(), config.clone()).unwrap();
        for seq in 1..=2 {
            let (fwd, inv) = write(seq);
            log.stream_entry(0, seq, seq * 10, &fwd, &inv).unwrap();
        }
        // Nothing of the new segment was synced: it is lost.
        let reopened = RewindLog::open(mem.durable_image(), config.clone()).unwrap();
        assert_eq!(reopened.entry_count(), 0);
        assert_eq!(reopened.newest_point(), None);
        // Had it all reached the disk, its entries form a last batch that
        // is not closed, which the engine rolls forward or back on opening.
        let reopened = RewindLog::open(mem.live_image(), config).unwrap();
        assert_eq!(reopened.last_batch, Some(0));
    }

    /// An overwrite of `len` bytes at `seq * len`, undone by old bytes
    /// that differ per entry.
    fn overwrite(seq: u64, len: usize) -> (Op, Vec<Op>) {
        let path = RelPath::new("f").unwrap();
        let op = |b: u8| Op::Write {
            path: path.clone(),
            offset: seq * len as u64,
            data: vec![b; len].into(),
        };
        (op(0xEE), vec![op(seq as u8)])
    }

    #[test]
    fn large_inverse_payloads_are_written_in_place_and_read_back() {
        // Payloads below, at and above the gathering threshold, written out
        // in several pieces, to memory and to a real directory.
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::storage::DirStorage::open(tmp.path()).unwrap();
        let mem = MemStorage::new();
        let config = LogConfig {
            write_bytes: 10_000,
            elide_min: usize::MAX,
            ..LogConfig::default()
        };
        let lens = [100, super::GATHER_MIN, 4096, 70_000, 5000, 3];
        fn check<S: Storage + Clone>(storage: S, config: &LogConfig, lens: &[usize]) {
            let mut log = RewindLog::open(storage.clone(), config.clone()).unwrap();
            for (i, &len) in lens.iter().enumerate() {
                let seq = i as u64 + 1;
                let (fwd, inv) = overwrite(seq, len);
                log.stream_entry(0, seq, seq, &fwd, &inv).unwrap();
            }
            log.commit_batch().unwrap();
            let mut reopened = RewindLog::open(storage, config.clone()).unwrap();
            assert_eq!(reopened.entry_count(), lens.len());
            for (i, &len) in lens.iter().enumerate() {
                let seq = i as u64 + 1;
                let (fwd, inv) = overwrite(seq, len);
                let e = reopened.read_entry(i).unwrap();
                assert_eq!((e.seq, e.forward, e.inverse), (seq, fwd, inv));
            }
        }
        check(mem.durable_image(), &config, &lens);
        check(mem.clone(), &config, &lens);
        check(dir, &config, &lens);
    }

    #[test]
    fn a_crash_inside_a_gathered_write_leaves_a_torn_tail() {
        let config = LogConfig {
            write_bytes: 1,
            ..LogConfig::default()
        };
        let mem = MemStorage::new();
        let mut log = RewindLog::open(mem.clone(), config.clone()).unwrap();
        let (fwd, inv) = overwrite(1, 4096);
        log.stream_entry(0, 1, 1, &fwd, &inv).unwrap();
        log.commit_batch().unwrap();
        let committed = mem.contents(&lengths_names(&mem)[0]).unwrap();
        let (fwd, inv) = overwrite(2, 4096);
        log.stream_entry(1, 2, 2, &fwd, &inv).unwrap();
        let full = mem.contents(&lengths_names(&mem)[0]).unwrap();
        assert!(full.len() > committed.len() + 4096);
        // Whatever prefix of the second entry reached the disk, it is cut.
        for cut in [committed.len() + 1, full.len() - 4096, full.len() - 1] {
            let image = mem.live_image();
            image.put(&lengths_names(&mem)[0], full[..cut].to_vec());
            let reopened = RewindLog::open(image, config.clone()).unwrap();
            assert_eq!(reopened.entry_count(), 1, "cut at {cut}");
        }
    }

    fn lengths_names(mem: &MemStorage) -> Vec<String> {
        let mut names = mem.list().unwrap();
        names.retain(|n| n.ends_with(super::super::SEGMENT_SUFFIX));
        names.sort();
        names
    }

    #[test]
    fn a_dropped_batch_is_cut_off_durably() {
        let mem = MemStorage::new();
        let config = LogConfig {
            write_bytes: 1,
            ..LogConfig::default()
        };
        let mut log = RewindLog::open(mem.clone(), config.clone()).unwrap();
        let (fwd, inv) = write(1);
        log.stream_entry(0, 1, 10, &fwd, &inv).unwrap();
        log.commit_batch().unwrap();
        let before = lengths(&mem);
        for seq in 2..=3 {
            let (fwd, inv) = write(seq);
            log.stream_entry(1, seq, seq * 10, &fwd, &inv).unwrap();
        }
        assert!(lengths(&mem)[0] > before[0]);
        log.discard_batch().unwrap();
        assert_eq!(lengths(&mem), before);
        assert_eq!(lengths(&mem.durable_image()), before);
        // The next batch goes where the dropped one was.
        let (fwd, inv) = write(2);
        log.stream_entry(1, 2, 20, &fwd, &inv).unwrap();
        log.commit_batch().unwrap();
        for image in [mem.durable_image(), mem.live_image()] {
            let reopened = RewindLog::open(image, config.clone()).unwrap();
            assert_eq!(reopened.newest_point(), Some(2));
        }
    }

    #[test]
    fn an_entry_that_cannot_be_encoded_leaves_the_batch_as_it_was() {
        let mem = MemStorage::new();
        let mut log = RewindLog::open(mem.clone(), LogConfig::default()).unwrap();
        let (fwd, inv) = write(1);
        log.stream_entry(0, 1, 10, &fwd, &inv).unwrap();
        let bad = Op::Bookmark {
            name: String::new(),
            app_consistent: false,
        };
        let err = log.stream_entry(0, 2, 20, &bad, &[]).unwrap_err();
        assert!(
            matches!(err, super::LogError::Encode { seq: 2, .. }),
            "{err}"
        );
        log.commit_batch().unwrap();
        let reopened = RewindLog::open(mem.durable_image(), LogConfig::default()).unwrap();
        assert_eq!(reopened.entry_count(), 1);
        assert_eq!(reopened.newest_point(), Some(1));
    }
}
