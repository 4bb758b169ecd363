//! The redo file: full forward records captured while rewinding, so that
//! entries whose payloads were elided can be replayed by an undo.

use std::io;

use crate::journal::{Decoder, DecoderConfig, JournalWriter, Op, WriterConfig};

use super::{frame_len, LogError, RewindLog, REDO_FILE};
use crate::storage::Storage;

impl<S: Storage> RewindLog<S> {
    /// Whether the redo file holds the forward record `seq`.
    pub(crate) fn redo_has(&self, seq: u64) -> bool {
        self.redo.contains_key(&seq)
    }

    /// Appends full forward records to the redo file, durably.
    pub(crate) fn redo_append(&mut self, items: &[(u64, Op)]) -> Result<(), LogError> {
        self.check()?;
        if items.is_empty() {
            return Ok(());
        }
        let header = self.redo_len == 0;
        let mut w = JournalWriter::new(
            Vec::new(),
            WriterConfig::default()
                .first_seq(self.redo_next)
                .stream_header(header)
                .batch_bytes(usize::MAX)
                .max_record_size(self.config.max_record_size),
        );
        let mut at = self.redo_len
            + if header {
                crate::journal::STREAM_HEADER_LEN as u64
            } else {
                0
            };
        let mut index = Vec::new();
        for (seq, op) in items {
            let enc = |source| LogError::Encode { seq: *seq, source };
            let start = at;
            let first = w.next_seq();
            for rec in [
                &Op::TxBegin { txid: *seq },
                op,
                &Op::TxCommit { txid: *seq },
            ] {
                at += frame_len(w.next_seq(), rec);
                w.append(0, rec).map_err(enc)?;
            }
            index.push((*seq, (start, at, first)));
        }
        let next = w.next_seq();
        let bytes = w
            .into_inner()
            .map_err(|source| LogError::Encode { seq: 0, source })?;
        // A fresh redo file replaces whatever a cleared one left, and its
        // entry is made durable before it is relied on.
        if let Err(e) = (if header {
            self.files.create(REDO_FILE)
        } else {
            Ok(())
        })
        .and_then(|()| self.files.write_at(REDO_FILE, self.redo_len, &bytes))
        .and_then(|()| self.files.sync(REDO_FILE))
        .and_then(|()| {
            if header {
                self.files.sync_dir()
            } else {
                Ok(())
            }
        }) {
            return Err(self.io(REDO_FILE, e));
        }
        self.redo_len += bytes.len() as u64;
        self.redo_next = next;
        self.redo.extend(index);
        Ok(())
    }

    /// The full forward record `seq` from the redo file.
    pub(crate) fn redo_get(&mut self, seq: u64) -> Result<Op, LogError> {
        let corrupt = |detail: &str| LogError::Corrupt {
            file: REDO_FILE.to_owned(),
            offset: 0,
            detail: detail.to_owned(),
        };
        let &(start, end, first) = self
            .redo
            .get(&seq)
            .ok_or_else(|| corrupt(&format!("no redo record for entry {seq}")))?;
        let mut buf = vec![0u8; (end - start) as usize];
        self.files
            .read_at(REDO_FILE, start, &mut buf)
            .map_err(|source| LogError::Io {
                file: REDO_FILE.to_owned(),
                source,
            })?;
        let mut d = Decoder::new(
            DecoderConfig::default()
                .stream_header(false)
                .first_seq(Some(first))
                .max_record_size(self.config.max_record_size),
        );
        d.feed(&buf);
        let mut ops = Vec::new();
        while let Some(rec) = d.next_record().map_err(|source| LogError::Decode {
            file: REDO_FILE.to_owned(),
            source,
        })? {
            ops.push(rec.op);
        }
        match <[Op; 3]>::try_from(ops) {
            Ok([Op::TxBegin { txid: a }, op, Op::TxCommit { txid: b }]) if a == seq && b == seq => {
                Ok(op)
            }
            _ => Err(corrupt(&format!(
                "redo record for entry {seq} is malformed"
            ))),
        }
    }

    /// Drops the redo file.
    pub(crate) fn redo_clear(&mut self) -> Result<(), LogError> {
        if self.redo_len > 0 || !self.redo.is_empty() {
            match self.files.remove(REDO_FILE) {
                Ok(()) => {
                    if let Err(e) = self.files.sync_dir() {
                        return Err(self.io(REDO_FILE, e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io(REDO_FILE, e)),
            }
        }
        self.redo.clear();
        self.redo_len = 0;
        self.redo_next = 1;
        Ok(())
    }

    pub(super) fn scan_redo(&mut self) -> Result<(), LogError> {
        let file = REDO_FILE;
        let len = self.files.len(file).map_err(|source| LogError::Io {
            file: file.to_owned(),
            source,
        })?;
        let mut buf = vec![0u8; len as usize];
        self.files
            .read_at(file, 0, &mut buf)
            .map_err(|source| LogError::Io {
                file: file.to_owned(),
                source,
            })?;
        let mut d =
            Decoder::new(DecoderConfig::default().max_record_size(self.config.max_record_size));
        d.feed(&buf);
        let mut at = crate::journal::STREAM_HEADER_LEN as u64;
        let mut intact = 0u64;
        let mut open: Option<(u64, u64, u64, u8)> = None;
        let mut next = 1;
        // A damaged redo file only costs the ability to undo: keep what reads.
        while let Ok(Some(rec)) = d.next_record() {
            let start = at;
            at += frame_len(rec.seq, &rec.op);
            next = rec.seq + 1;
            open = match (open, &rec.op) {
                (None, Op::TxBegin { txid }) => Some((*txid, start, rec.seq, 0)),
                (Some((s, st, f, 0)), _) => Some((s, st, f, 1)),
                (Some((s, st, f, 1)), Op::TxCommit { txid }) if *txid == s => {
                    self.redo.insert(s, (st, at, f));
                    intact = at;
                    None
                }
                _ => break,
            };
        }
        if intact < len {
            self.files
                .set_len(file, intact)
                .map_err(|source| LogError::Io {
                    file: file.to_owned(),
                    source,
                })?;
        }
        self.redo_len = intact;
        self.redo_next = if intact == 0 { 1 } else { next };
        if intact == 0 {
            self.redo.clear();
        }
        Ok(())
    }
}
