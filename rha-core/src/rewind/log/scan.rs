//! Opening the log: reading every segment back, cutting a torn tail.

use super::files::LogFiles;
use super::{
    frame_len, BookmarkInfo, EntryInfo, LogConfig, LogError, RewindLog, Segment, State, TxnMark,
    REDO_FILE, SEGMENT_PREFIX, SEGMENT_SUFFIX, STATE_FILE,
};
use crate::journal::{Decoder, DecoderConfig, End, Op};
use crate::storage::Storage;

impl<S: Storage> RewindLog<S> {
    /// Opens the log in `storage`, reading every segment. A torn tail (an
    /// append cut short by a crash) is cut off; any other damage is an error.
    pub fn open(storage: S, config: LogConfig) -> Result<Self, LogError> {
        let io_err = |file: &str| {
            let file = file.to_owned();
            move |source| LogError::Io { file, source }
        };
        let files = LogFiles::new(storage);
        let names = files.list().map_err(io_err("."))?;
        let mut log = Self {
            files,
            config,
            segs: Vec::new(),
            entries: Vec::new(),
            bookmarks: Vec::new(),
            last_batch: None,
            batch_no: 0,
            state: State::default(),
            state_gen: 0,
            state_file: false,
            poisoned: false,
            redo: std::collections::BTreeMap::new(),
            redo_len: 0,
            redo_next: 1,
            open: None,
        };
        let mut segs: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(SEGMENT_PREFIX) && n.ends_with(SEGMENT_SUFFIX))
            .collect();
        segs.sort();
        let count = segs.len();
        for (i, name) in segs.into_iter().enumerate() {
            log.scan_segment(name, i + 1 == count)?;
        }
        if names.iter().any(|n| n == STATE_FILE) {
            log.state_file = true;
            log.read_state()?;
        }
        if names.iter().any(|n| n == REDO_FILE) {
            log.scan_redo()?;
        }
        Ok(log)
    }

    fn scan_segment(&mut self, name: &str, last: bool) -> Result<(), LogError> {
        let corrupt = |offset: u64, detail: &str| LogError::Corrupt {
            file: name.to_owned(),
            offset,
            detail: detail.to_owned(),
        };
        let len = self.files.len(name).map_err(|source| LogError::Io {
            file: name.to_owned(),
            source,
        })?;
        let mut decoder =
            Decoder::new(DecoderConfig::default().max_record_size(self.config.max_record_size));
        let seg = self.segs.len();
        let mut base = None;
        let mut open: Option<(EntryInfo, bool)> = None; // (entry, forward op seen)
        let mut at = crate::journal::STREAM_HEADER_LEN as u64;
        let mut fed = 0u64;
        let mut intact = 0u64; // end of the last complete top-level item
        let mut next_log_seq = 0;
        let mut buf = vec![0u8; 1 << 20];
        let mut records = Vec::new();
        loop {
            while let Some(rec) = decoder.next_record().map_err(|source| LogError::Decode {
                file: name.to_owned(),
                source,
            })? {
                records.push(rec);
            }
            for rec in records.drain(..) {
                let rec_start = at;
                let rec_end = rec_start + frame_len(rec.seq, &rec.op);
                at = rec_end;
                next_log_seq = rec.seq + 1;
                if let Some((entry, seen_forward)) = &mut open {
                    if !*seen_forward {
                        *seen_forward = true;
                        entry.txn = match rec.op {
                            Op::TxBegin { .. } => TxnMark::Begin,
                            Op::TxCommit { .. } => TxnMark::Commit,
                            _ => TxnMark::None,
                        };
                        if let Op::Bookmark {
                            name: bname,
                            app_consistent,
                        } = &rec.op
                        {
                            self.bookmarks.push(BookmarkInfo {
                                name: bname.clone(),
                                seq: entry.seq,
                                timestamp_ns: entry.timestamp_ns,
                                app_consistent: *app_consistent,
                            });
                        }
                        continue;
                    }
                    match rec.op {
                        Op::TxCommit { txid } if txid == entry.seq => {
                            entry.end = rec_end;
                            self.entries.push(*entry);
                            open = None;
                            intact = rec_end;
                        }
                        Op::TxBegin { .. }
                        | Op::TxCommit { .. }
                        | Op::Bookmark { .. }
                        | Op::SyncStart { .. }
                        | Op::SyncEnd { .. }
                        | Op::Epoch { .. } => {
                            return Err(corrupt(rec_start, "control record inside an undo entry"))
                        }
                        _ => {}
                    }
                    continue;
                }
                match rec.op {
                    Op::Epoch { epoch, .. } if base.is_none() => {
                        base = Some(epoch);
                        if let Some(prev) = self.top_point_opt() {
                            if prev != epoch {
                                return Err(corrupt(
                                    rec_start,
                                    &format!("segment starts at point {epoch}, the previous one ends at {prev}"),
                                ));
                            }
                        }
                        self.segs.push(Segment {
                            name: name.to_owned(),
                            base: epoch,
                            len,
                            next_log_seq: 0,
                            // The last segment may have been created by a
                            // run that stopped before its first sync.
                            named: !last,
                        });
                        intact = rec_end;
                    }
                    _ if base.is_none() => {
                        return Err(corrupt(
                            rec_start,
                            "segment does not start with its base point",
                        ))
                    }
                    Op::SyncStart { sync_id } => {
                        self.batch_no = sync_id;
                        self.last_batch = Some(self.entries.len());
                        intact = rec_end;
                    }
                    Op::SyncEnd { .. } => {
                        self.last_batch = None;
                        intact = rec_end;
                    }
                    Op::Bookmark {
                        name: bname,
                        app_consistent,
                    } => {
                        let seq = self.top_point_opt().unwrap_or(0);
                        self.bookmarks.push(BookmarkInfo {
                            name: bname,
                            seq,
                            timestamp_ns: rec.timestamp_ns,
                            app_consistent,
                        });
                        intact = rec_end;
                    }
                    Op::TxBegin { txid } => {
                        if self.top_point_opt().is_some_and(|top| txid <= top) {
                            return Err(corrupt(rec_start, "entry sequence numbers go backwards"));
                        }
                        open = Some((
                            EntryInfo {
                                seq: txid,
                                timestamp_ns: rec.timestamp_ns,
                                seg,
                                start: rec_start,
                                end: 0,
                                first_log_seq: rec.seq,
                                txn: TxnMark::None,
                            },
                            false,
                        ));
                    }
                    _ => return Err(corrupt(rec_start, "unexpected record between entries")),
                }
            }
            if fed >= len {
                break;
            }
            let n = (len - fed).min(buf.len() as u64) as usize;
            let offset = fed;
            fed += n as u64;
            self.files
                .read_at(name, offset, &mut buf[..n])
                .map_err(|source| LogError::Io {
                    file: name.to_owned(),
                    source,
                })?;
            decoder.feed(&buf[..n]);
        }
        let end = decoder.finish().map_err(|source| LogError::Decode {
            file: name.to_owned(),
            source,
        })?;
        let torn = matches!(end, End::TornTail { .. }) || open.is_some() || intact < len;
        if base.is_none() {
            if !last {
                return Err(corrupt(0, "segment has no base point"));
            }
            // A segment whose creation was cut short: nothing in it counts.
            self.files
                .remove(name)
                .and_then(|()| self.files.sync_dir())
                .map_err(|source| LogError::Io {
                    file: name.to_owned(),
                    source,
                })?;
            return Ok(());
        }
        if torn {
            if !last {
                return Err(corrupt(intact, "segment ends with an incomplete record"));
            }
            self.files
                .set_len(name, intact)
                .and_then(|()| self.files.sync(name))
                .map_err(|source| LogError::Io {
                    file: name.to_owned(),
                    source,
                })?;
        }
        if let Some(s) = self.segs.last_mut() {
            s.len = intact;
            s.next_log_seq = next_log_seq;
        }
        Ok(())
    }
}
