//! The master's side of a sync, file by file: sending one whole (under a
//! temporary name or its own), writing the dirty parts of one in place, or
//! comparing one block by block with the replica's copy.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;

use bytes::Bytes;
use rha_core::journal::{Op, RelPath};
use rha_core::session::{Session, SyncRequest, BLOCK_HASH_LEN};
use rha_core::signature::tree::{AttrChanges, Entry};
use rha_core::spool::{RegionTarget, TO_END};

use super::super::{block_hash, piece_for};
use super::{Records, SyncSender};
use crate::agent::sync::SyncStatus;

/// A file on its way whole: into a temporary name renamed over the
/// replica's copy at the end, or, for a file the replica lacks, under its
/// own name.
pub(super) struct WholeFile {
    entry: Entry,
    /// The name written: a temporary one, or the file's own.
    tmp: RelPath,
    /// Rename `tmp` to the file's name at the end.
    rename: bool,
    file: File,
    /// The data ranges left to read (and hash), in order.
    ranges: VecDeque<(u64, u64)>,
    /// Written in place over the replica's copy, which differs only here:
    /// of what is read, only these ranges are sent (the hash covers all).
    dirty: Option<Vec<(u64, u64)>>,
    /// The hash covers the file up to here (holes as zeros).
    hashed: u64,
    len: u64,
    hasher: blake3::Hasher,
}

/// A file compared block by block with the replica's copy.
pub(super) struct BlockFile {
    request: u64,
    entry: Entry,
    file: File,
    len: u64,
    next_block: u64,
    /// Fed the master's block hashes, in order: the file's check.
    hasher: blake3::Hasher,
    /// Whether the replica answered with any block.
    answered: bool,
}

/// Reads `len` bytes at `offset` of `file`; what the file no longer has
/// (it shrank) reads as zeros, as the replica's copy will hold after its
/// length is set.
fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// Feeds `n` zero bytes to `hasher`.
pub(in crate::agent::sync) fn hash_zeros(hasher: &mut blake3::Hasher, mut n: u64) {
    const ZEROS: [u8; 8192] = [0; 8192];
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        hasher.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

impl SyncSender {
    /// Starts sending `entry` whole; says whether it did. A file the
    /// replica lacks (`missing`) is written under its own name, created
    /// exclusively and readable by its owner only until its attributes
    /// come last: a cut sync leaves it with a time after the replica's
    /// last durable point, which the next run suspects and sends again.
    /// Any other goes into a temporary name beside it, renamed over the
    /// replica's copy once complete.
    pub(super) fn start_whole(&mut self, entry: Entry, missing: bool) -> Result<bool, String> {
        let Some((file, len)) = self.open_master(&entry)? else {
            return Ok(false);
        };
        let ranges: VecDeque<(u64, u64)> = if entry.sparse {
            crate::sync::data_ranges(&file, len)
                .map_err(|e| format!("'{}': {e}", entry.path))?
                .into_iter()
                .collect()
        } else {
            std::iter::once((0, len)).filter(|r| r.1 > r.0).collect()
        };
        let tmp = if missing {
            entry.path.clone()
        } else {
            self.temporary_beside(&entry.path)?
        };
        self.records.push(Op::Create {
            path: tmp.clone(),
            mode: 0o600,
        })?;
        self.whole = Some(WholeFile {
            entry,
            tmp,
            rename: !missing,
            file,
            ranges,
            dirty: None,
            hashed: 0,
            len,
            hasher: blake3::Hasher::new(),
        });
        Ok(true)
    }

    /// The ranges of `path` a narrowed run sends, when only parts of it are
    /// dirty (`None`: it is not, or all of it is).
    pub(super) fn dirty_parts(&self, path: &RelPath) -> Option<Vec<(u64, u64)>> {
        let ranges = self
            .regions
            .as_ref()?
            .ranges(&RegionTarget::File(path.as_bytes().to_vec()));
        let whole = ranges.iter().any(|&(s, e)| s == 0 && e == TO_END);
        (!ranges.is_empty() && !whole).then_some(ranges)
    }

    /// Starts writing the `dirty` parts of `entry` in place over the
    /// replica's copy, which a narrowed run trusts to match elsewhere: the
    /// whole file is read and hashed for its check, and a copy that fails
    /// it is sent again whole. Holes read as zeros. Says whether it did.
    pub(super) fn start_in_place(
        &mut self,
        entry: Entry,
        dirty: Vec<(u64, u64)>,
    ) -> Result<bool, String> {
        let Some((file, len)) = self.open_master(&entry)? else {
            return Ok(false);
        };
        self.whole = Some(WholeFile {
            tmp: entry.path.clone(),
            entry,
            rename: false,
            file,
            ranges: std::iter::once((0, len)).filter(|r| r.1 > r.0).collect(),
            dirty: Some(dirty),
            hashed: 0,
            len,
            hasher: blake3::Hasher::new(),
        });
        Ok(true)
    }

    /// A new temporary name in the directory of `path`.
    pub(super) fn temporary_beside(&mut self, path: &RelPath) -> Result<RelPath, String> {
        let name = format!(".rha-sync-{}-{}.tmp", self.id, self.next_tmp);
        self.next_tmp += 1;
        match path.as_bytes().iter().rposition(|&b| b == b'/') {
            Some(i) => {
                let mut p = path.as_bytes()[..=i].to_vec();
                p.extend_from_slice(name.as_bytes());
                RelPath::new(p)
            }
            None => RelPath::new(name),
        }
        .map_err(|e| format!("a temporary name beside '{path}': {e}"))
    }

    /// Sends the next piece of the file on its way whole, or finishes it.
    pub(super) fn step_whole(&mut self, piece: usize, session: &mut Session) -> Result<(), String> {
        let Some(w) = self.whole.as_mut() else {
            return Ok(());
        };
        if let Some(&(start, end)) = w.ranges.front() {
            let n = (end - start).min(piece as u64);
            let data = read_at(&w.file, start, n as usize)
                .map_err(|e| format!("reading '{}': {e}", w.entry.path))?;
            hash_zeros(&mut w.hasher, start - w.hashed);
            w.hasher.update(&data);
            w.hashed = start + n;
            if start + n >= end {
                w.ranges.pop_front();
            } else if let Some(r) = w.ranges.front_mut() {
                r.0 = start + n;
            }
            let data = Bytes::from(data);
            let Some(dirty) = &w.dirty else {
                self.status.sent_bytes += n;
                let op = Op::Write {
                    path: w.tmp.clone(),
                    offset: start,
                    data,
                };
                return self.records.push(op);
            };
            // In place: only the dirty parts of what was read.
            let path = w.tmp.clone();
            for (s, e) in overlaps(dirty, start, start + n) {
                self.status.sent_bytes += e - s;
                self.records.push(Op::Write {
                    path: path.clone(),
                    offset: s,
                    data: data.slice((s - start) as usize..(e - start) as usize),
                })?;
            }
            return Ok(());
        }
        let Some(w) = self.whole.take() else {
            return Ok(());
        };
        let mut hasher = w.hasher;
        hash_zeros(&mut hasher, w.len - w.hashed);
        if w.hashed != w.len || w.dirty.is_some() {
            // A hole at the end: the writes stopped short of the length.
            self.records.push(Op::SetLen {
                path: w.tmp.clone(),
                len: w.len,
            })?;
        }
        self.push_attrs(&w.tmp, &w.entry, AttrChanges::ALL, true)?;
        if w.rename {
            self.records.push(Op::Rename {
                from: w.tmp,
                to: w.entry.path.clone(),
            })?;
        }
        self.status.sent_entries += 1;
        self.check(w.entry.path, w.len, false, hasher, session)
    }

    /// Sends the check of a file whose records are all out.
    pub(super) fn check(
        &mut self,
        path: RelPath,
        len: u64,
        by_blocks: bool,
        hasher: blake3::Hasher,
        session: &mut Session,
    ) -> Result<(), String> {
        self.records.flush(self.id, session)?;
        session
            .send_sync(SyncRequest::Check {
                id: self.id,
                path,
                len,
                by_blocks,
                hash: *hasher.finalize().as_bytes(),
            })
            .map_err(|e| format!("sending a sync check: {e}"))
    }

    pub(super) fn resend_whole(&mut self, path: RelPath) -> Result<(), String> {
        let full = self.root.join(path.to_string());
        let meta = match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_file() => m,
            _ => {
                // Gone or no longer a file: the journal carries what
                // happened to it.
                self.vanished += 1;
                self.status.skipped += 1;
                return Ok(());
            }
        };
        let entry = crate::sync::scan::entry_from(path, &meta);
        self.start_whole(entry, false).map(|_| ())
    }

    /// Asks for the replica's block hashes of `entry`'s file.
    pub(super) fn start_blocks(
        &mut self,
        entry: Entry,
        session: &mut Session,
    ) -> Result<(), String> {
        let Some((file, len)) = self.open_master(&entry)? else {
            return Ok(());
        };
        let request = self.next_request;
        self.next_request += 1;
        self.records.flush(self.id, session)?;
        session
            .send_sync(SyncRequest::Blocks {
                id: self.id,
                file: request,
                path: entry.path.clone(),
            })
            .map_err(|e| format!("asking for the blocks of '{}': {e}", entry.path))?;
        self.blocks = Some(BlockFile {
            request,
            entry,
            file,
            len,
            next_block: 0,
            hasher: blake3::Hasher::new(),
            answered: false,
        });
        Ok(())
    }

    /// Compares a piece of the replica's block hashes with the master's
    /// blocks at the same offsets and sends the blocks that differ.
    pub(super) fn on_blocks(
        &mut self,
        request: u64,
        last: bool,
        hashes: &[u8],
        session: &mut Session,
    ) -> Result<(), String> {
        let piece = piece_for(session.max_body());
        let bs = u64::from(self.settings.block_size);
        let Some(b) = self.blocks.as_mut() else {
            return Err(format!(
                "block hashes for request {request}, which is not open"
            ));
        };
        if b.request != request {
            return Err(format!(
                "block hashes for request {request} while request {} is open",
                b.request
            ));
        }
        for h in hashes.chunks_exact(BLOCK_HASH_LEN) {
            b.answered = true;
            let offset = b.next_block.saturating_mul(bs);
            b.next_block += 1;
            if offset >= b.len {
                continue;
            }
            let n = (b.len - offset).min(bs) as usize;
            let data = read_at(&b.file, offset, n)
                .map_err(|e| format!("reading '{}': {e}", b.entry.path))?;
            let mine = block_hash(&data);
            b.hasher.update(&mine);
            if mine[..] == *h {
                self.status.matched_bytes += n as u64;
                continue;
            }
            let id = self.id;
            send_block(
                &mut self.records,
                &mut self.status,
                id,
                &b.entry.path,
                offset,
                data,
                piece,
                session,
            )?;
        }
        if !last {
            return Ok(());
        }
        let Some(mut b) = self.blocks.take() else {
            return Ok(());
        };
        if !b.answered {
            // The replica has no blocks of it (an empty file, none, or one
            // with other names it must not change in place): send it whole.
            return self.start_whole(b.entry, false).map(|_| ());
        }
        // What the master has past the replica's blocks, block by block.
        let mut offset = b.next_block.saturating_mul(bs);
        while offset < b.len {
            let n = (b.len - offset).min(bs) as usize;
            let data = read_at(&b.file, offset, n)
                .map_err(|e| format!("reading '{}': {e}", b.entry.path))?;
            b.hasher.update(&block_hash(&data));
            let id = self.id;
            send_block(
                &mut self.records,
                &mut self.status,
                id,
                &b.entry.path,
                offset,
                data,
                piece,
                session,
            )?;
            offset += n as u64;
        }
        self.records.push(Op::SetLen {
            path: b.entry.path.clone(),
            len: b.len,
        })?;
        // Changed in place: the replica's extended attributes are not
        // known to match.
        self.push_attrs(&b.entry.path, &b.entry, AttrChanges::ALL, false)?;
        self.status.sent_entries += 1;
        self.check(b.entry.path, b.len, true, b.hasher, session)
    }
}

/// Sends the master's block at `offset` of `path` in run `id`, counted as
/// sent.
#[allow(clippy::too_many_arguments)] // the sender's fields it needs, apart
fn send_block(
    records: &mut Records,
    status: &mut SyncStatus,
    id: u64,
    path: &RelPath,
    offset: u64,
    data: Vec<u8>,
    piece: usize,
    session: &mut Session,
) -> Result<(), String> {
    status.sent_bytes += data.len() as u64;
    records.push_write(id, path, offset, Bytes::from(data), piece, session)
}

/// The parts of the sorted, disjoint `ranges` within `[start, end)`.
fn overlaps(ranges: &[(u64, u64)], start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
    ranges
        .iter()
        .map(move |&(s, e)| (s.max(start), e.min(end)))
        .filter(|&(s, e)| s < e)
}
