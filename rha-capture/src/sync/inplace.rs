//! In-place application of a rolling delta: only the changed blocks of the
//! replica are written (the rest of the file is never rewritten, nor read
//! except to check the result).
//!
//! The delta is first staged in memory while it is made
//! ([`Stage`]), and a decoder follows it ([`Scout`]): a delta whose copies
//! all keep their data where it is (blocks changed in place, the common case
//! of databases, VM disks and logs rewritten at fixed offsets) can be
//! applied to the replica itself, because no write destroys data a later
//! copy still needs. A moved copy (data inserted or removed before it), a
//! delta too large to stage, or a replica with other hard-linked names
//! sends the file through the copy path instead (a new file renamed over
//! the old one), as before.
//!
//! # Crash safety
//!
//! An update in place that stops half-way leaves a file that is neither the
//! old version nor the new one. Before its first write, the update makes
//! that file *suspect* durably: it changes the file's status (`ftruncate`
//! to its own length, which sets `ctime` to now) and flushes the inode
//! (`fsync`, with no data yet dirty: one journal commit). From then on, the
//! file's `ctime` on disk is at or after the moment any of its new blocks
//! can reach the disk. A tree sync (`rha sync`) writes its marker
//! `.rha/sync-underway` before its first change and removes it only once
//! everything is on disk; a run that finds the marker sends again every
//! file whose `ctime` is at or after the marker's time, so a file left
//! half-updated by a crash, a kill or an I/O error is always sent again,
//! whatever of its data and metadata the crash kept. The `ctime` is the
//! intent record: unlike a separate record of the ranges being replaced it
//! needs no name for the file that survives renames and relative paths,
//! no reading back, and no removal. [`sync_file`](super::block::sync_file)
//! used alone flushes the file before it returns; after an error, run it
//! again (it compares contents, so a half-updated file converges).
//!
//! Every write and flush of this path passes through a hook
//! ([`IoPoint`]) so tests can cut the update at each point
//! (`sync_file_with_hook`).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::block::{io_err, BlockSyncError};

use rha_core::signature::block::{Command, DeltaDecoder, PatchError};

/// Most delta bytes staged in memory for an update in place; beyond it
/// the stage goes on in an unlinked file beside the replica.
pub(crate) const STAGE_MEM: usize = 16 << 20;

/// Most bytes of zero runs an update in place takes (a sparse master's
/// holes keep to the copy path, which leaves them as holes and hashes
/// them without reading them).
const ZEROS_MAX: u64 = 32 << 20;

/// Where an in-place block update touches the disk; a hook given to
/// [`sync_file_with_hook`](super::block::sync_file_with_hook) sees each
/// point before it happens and can stop the update there by returning an
/// error (fault injection in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoPoint {
    /// The file's status is changed (`ctime` set to now) to mark it as
    /// being updated; the next [`Sync`](Self::Sync) makes the mark durable.
    Mark,
    /// The file is flushed (`fsync`).
    Sync,
    /// Bytes are written at `offset`.
    Write {
        /// File offset.
        offset: u64,
        /// Bytes written.
        len: u64,
    },
    /// A run of zeros is written as a hole (`FALLOC_FL_PUNCH_HOLE`).
    Zero {
        /// File offset.
        offset: u64,
        /// Bytes zeroed.
        len: u64,
    },
    /// The file's length is set.
    SetLen {
        /// The new length.
        len: u64,
    },
}

/// The hook type: called before each [`IoPoint`].
pub(crate) type Hook<'h> = &'h mut dyn FnMut(IoPoint) -> io::Result<()>;

/// Follows a delta as it is made: whether every copy stays in place.
#[derive(Debug, Default)]
pub(crate) struct Scout {
    dec: DeltaDecoder,
    /// Output offset reached.
    pos: u64,
    /// Bytes of zero runs (holes of the master, zeros in its data).
    zero_bytes: u64,
    /// A copy moves data: the delta cannot be applied in place.
    pub(crate) moved: bool,
}

impl Scout {
    /// Decodes `input`, the next bytes of the delta.
    pub(crate) fn feed(&mut self, mut input: &[u8]) -> Result<(), PatchError> {
        while !self.moved {
            let Some(cmd) = self.dec.next(&mut input)? else {
                return Ok(());
            };
            match cmd {
                Command::Copy { start, len } => {
                    if start != self.pos {
                        self.moved = true;
                    }
                    self.pos = self.pos.saturating_add(len);
                }
                Command::Literal(d) => self.pos = self.pos.saturating_add(d.len() as u64),
                Command::Zero { len } => {
                    self.pos = self.pos.saturating_add(len);
                    self.zero_bytes = self.zero_bytes.saturating_add(len);
                }
                Command::Basis { .. } => {}
                Command::End { .. } => return Ok(()),
            }
        }
        Ok(())
    }
}

/// A delta staged for an update in place: in memory up to [`STAGE_MEM`],
/// then in an unlinked file (whose pages are usually dropped before they
/// are ever written back).
#[derive(Debug)]
pub(crate) struct Stage {
    buf: Vec<u8>,
    spill: Option<File>,
    /// Where the spill file is made (beside the replica: same file system).
    spill_path: PathBuf,
    /// Bytes staged.
    len: u64,
    /// Most bytes staged: beyond it, rewriting the file costs less.
    max: u64,
    scout: Scout,
}

impl Stage {
    /// A stage for the replica `replica` of `replica_len` bytes.
    pub(crate) fn new(replica: &Path, replica_len: u64) -> Self {
        let name = replica
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            buf: Vec::new(),
            spill: None,
            spill_path: replica.with_file_name(format!(".{name}.rha-delta.{}", std::process::id())),
            len: 0,
            max: (replica_len / 2).max(STAGE_MEM as u64),
            scout: Scout::default(),
        }
    }

    /// Adds `d` to the stage; `false` (and the stage is to be abandoned,
    /// `d` not added) once the delta has a moved copy, or stages more than
    /// half the replica's length, or more than [`ZEROS_MAX`] of zero runs.
    pub(crate) fn push(&mut self, d: &[u8]) -> Result<bool, BlockSyncError> {
        self.scout.feed(d)?;
        let len = self.len + d.len() as u64;
        if self.scout.moved || len > self.max || self.scout.zero_bytes > ZEROS_MAX {
            return Ok(false);
        }
        if self.spill.is_none() && self.buf.len() + d.len() > STAGE_MEM {
            let path = &self.spill_path;
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io_err(path))?;
            let _ = fs::remove_file(path);
            file.write_all_at(&self.buf, 0).map_err(io_err(path))?;
            self.buf = Vec::new();
            self.spill = Some(file);
        }
        match &self.spill {
            Some(file) => file
                .write_all_at(d, self.len)
                .map_err(io_err(&self.spill_path))?,
            None => self.buf.extend_from_slice(d),
        }
        self.len = len;
        Ok(true)
    }

    /// Calls `f` with the staged bytes in order, a few MiB at a time; the
    /// last call has `end` set. A failed read of the spill file is
    /// `on_io`'s error.
    pub(crate) fn replay<E>(
        &self,
        on_io: impl Fn(&Path, io::Error) -> E,
        mut f: impl FnMut(&[u8], bool) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(file) = &self.spill else {
            return f(&self.buf, true);
        };
        let mut buf = vec![0u8; 4 << 20];
        let mut at = 0u64;
        while at < self.len {
            let n = usize::try_from(self.len - at)
                .unwrap_or(buf.len())
                .min(buf.len());
            file.read_exact_at(&mut buf[..n], at)
                .map_err(|e| on_io(&self.spill_path, e))?;
            at += n as u64;
            f(&buf[..n], at == self.len)?;
        }
        if self.len == 0 {
            f(&[], true)?;
        }
        Ok(())
    }
}

/// The whole-file hash's block hashes of the replica, computed while it
/// is signed (the whole-file hash is BLAKE3 over the BLAKE3 hashes of the
/// file's blocks, then its length and block length: see
/// `docs/signature-format.md`), so the result of an update in place can be
/// checked without reading again the blocks it kept.
#[derive(Debug)]
pub(crate) struct Leaves {
    block_len: u64,
    cur: blake3::Hasher,
    in_cur: u64,
    leaves: Vec<[u8; 32]>,
    zero_leaf: Option<[u8; 32]>,
    /// Bytes hashed.
    len: u64,
}

/// Most blocks whose hashes [`Leaves`] keeps (32 bytes each: 8 MiB); a
/// replica with more is checked by reading it back.
pub(crate) const MAX_LEAVES: u64 = 1 << 18;

impl Leaves {
    /// Block hashes of `block_len`-byte blocks.
    pub(crate) fn new(block_len: u32) -> Self {
        Self {
            block_len: u64::from(block_len.max(1)),
            cur: blake3::Hasher::new(),
            in_cur: 0,
            leaves: Vec::new(),
            zero_leaf: None,
            len: 0,
        }
    }

    /// Adds the next bytes of the file.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = usize::try_from(self.block_len - self.in_cur).unwrap_or(usize::MAX);
            let n = room.min(data.len());
            self.cur.update(&data[..n]);
            self.in_cur += n as u64;
            self.len += n as u64;
            data = &data[n..];
            if self.in_cur == self.block_len {
                self.leaves.push(*self.cur.finalize().as_bytes());
                self.cur.reset();
                self.in_cur = 0;
            }
        }
    }

    /// Adds `len` zero bytes (a hole): whole blocks of zeros share one hash.
    pub(crate) fn zeros(&mut self, mut len: u64) {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        while len > 0 {
            if self.in_cur == 0 && len >= self.block_len {
                let bl = self.block_len;
                let leaf = *self.zero_leaf.get_or_insert_with(|| {
                    let mut h = blake3::Hasher::new();
                    let mut left = bl;
                    while left > 0 {
                        let n = left.min(ZEROS.len() as u64);
                        h.update(&ZEROS[..n as usize]);
                        left -= n;
                    }
                    *h.finalize().as_bytes()
                });
                self.leaves.push(leaf);
                self.len += bl;
                len -= bl;
            } else {
                let n = len
                    .min(self.block_len - self.in_cur)
                    .min(ZEROS.len() as u64);
                self.update(&ZEROS[..n as usize]);
                len -= n;
            }
        }
    }

    /// Ends the last (short) block.
    pub(crate) fn finish(&mut self) {
        if self.in_cur > 0 {
            self.leaves.push(*self.cur.finalize().as_bytes());
            self.cur.reset();
            self.in_cur = 0;
        }
    }

    /// The hash of block `i` (`len` bytes), if it is a block of the
    /// replica of that length.
    fn leaf(&self, i: u64, len: u64) -> Option<&[u8; 32]> {
        let start = i.checked_mul(self.block_len)?;
        let full = self.len.checked_sub(start)?.min(self.block_len);
        if full != len {
            return None;
        }
        self.leaves.get(usize::try_from(i).ok()?)
    }
}

/// Writes to the replica, every change announced to the hook first.
struct Target<'a, 'h> {
    file: &'a File,
    hook: Hook<'h>,
}

impl Target<'_, '_> {
    fn write(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        (self.hook)(IoPoint::Write {
            offset,
            len: data.len() as u64,
        })?;
        self.file.write_all_at(data, offset)
    }

    /// Zeros `len` bytes at `offset`: a hole where the file system can
    /// punch one (nothing written, a sparse replica stays sparse).
    fn zero(&mut self, offset: u64, len: u64) -> io::Result<()> {
        (self.hook)(IoPoint::Zero { offset, len })?;
        let flags = rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE;
        match rustix::fs::fallocate(self.file, flags, offset, len) {
            Ok(()) => {
                // A hole punched past the end keeps the length: extend it,
                // as a write would.
                let end = offset.saturating_add(len);
                if self.file.metadata()?.len() < end {
                    self.file.set_len(end)?;
                }
                Ok(())
            }
            Err(e) if e == rustix::io::Errno::OPNOTSUPP => {
                let zeros = [0u8; 64 << 10];
                let mut at = offset;
                let end = offset.saturating_add(len);
                while at < end {
                    let n = (end - at).min(zeros.len() as u64) as usize;
                    self.file.write_all_at(&zeros[..n], at)?;
                    at += n as u64;
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        (self.hook)(IoPoint::SetLen { len })?;
        self.file.set_len(len)
    }
}

/// Marks `file` (opened for writing) as being updated, durably: its
/// `ctime` on disk is now at or after any write that follows.
fn mark(file: &File, hook: Hook<'_>) -> io::Result<()> {
    let len = file.metadata()?.len();
    hook(IoPoint::Mark)?;
    // `ftruncate` sets `ctime` (and `mtime`) even when the length stays;
    // the caller sets the master's times afterwards.
    file.set_len(len)?;
    hook(IoPoint::Sync)?;
    file.sync_all()
}

/// What an in-place update found.
#[derive(Debug)]
pub(crate) enum Applied {
    /// The replica is the delta's result.
    Done,
    /// The result did not verify (the replica changed under us); the file
    /// holds some of both versions.
    Mismatch,
}

/// Applies the staged delta (a whole rolling delta without moved copies)
/// to `file`, the replica opened for reading and writing, in place, and
/// checks the result against the delta's whole-file hash: the blocks the
/// delta kept by their hashes in `leaves` (computed when the replica was
/// signed), the others by reading them back. Flushes the result unless
/// `defer_flush`.
pub(crate) fn apply(
    file: &File,
    delta: &Stage,
    leaves: Option<&Leaves>,
    defer_flush: bool,
    hook: Hook<'_>,
) -> Result<Applied, io::Error> {
    mark(file, hook)?;
    let mut target = Target { file, hook };
    let mut dec = DeltaDecoder::new();
    let mut pos = 0u64;
    // Output ranges kept from the replica (identity copies), in order.
    let mut kept: Vec<(u64, u64)> = Vec::new();
    let mut end: Option<[u8; 32]> = None;
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    delta.replay(
        |_, e| e,
        |mut d, last| {
            while end.is_none() {
                let at = dec.offset();
                let cmd = dec.next(&mut d).map_err(io::Error::other)?;
                let Some(cmd) = cmd else {
                    if last {
                        dec.finish().map_err(io::Error::other)?;
                    }
                    return Ok(());
                };
                match cmd {
                    Command::Copy { start, len } => {
                        if start != pos {
                            return Err(bad(format!(
                                "delta offset {at}: a copy from {start} to {pos} moves data"
                            )));
                        }
                        let stop = pos.saturating_add(len);
                        match kept.last_mut() {
                            Some((_, e)) if *e == pos => *e = stop,
                            _ => kept.push((pos, stop)),
                        }
                        pos = stop;
                    }
                    Command::Literal(bytes) => {
                        target.write(pos, bytes)?;
                        pos += bytes.len() as u64;
                    }
                    Command::Zero { len } => {
                        target.zero(pos, len)?;
                        pos = pos.saturating_add(len);
                    }
                    Command::Basis { .. } => {}
                    Command::End { hash, .. } => {
                        target.set_len(pos)?;
                        let Some(hash) = hash else {
                            return Err(bad("the delta declares no whole-file hash".into()));
                        };
                        end = Some(hash);
                    }
                }
            }
            Ok(())
        },
    )?;
    let Some(expected) = end else {
        return Err(bad("the delta ended early".into()));
    };
    let block_len = dec.block_len().unwrap_or(1).max(1);
    let leaves = leaves.filter(|l| l.block_len == u64::from(block_len));
    if result_hash(file, pos, block_len, &kept, leaves)? != expected {
        return Ok(Applied::Mismatch);
    }
    if !defer_flush {
        let Target { hook, .. } = target;
        hook(IoPoint::Sync)?;
        file.sync_data()?;
    }
    Ok(Applied::Done)
}

/// The whole-file hash of `file` (`len` bytes, blocks of `block_len`):
/// blocks inside a `kept` range take their hash from `leaves`, the others
/// are read.
fn result_hash(
    file: &File,
    len: u64,
    bl: u32,
    kept: &[(u64, u64)],
    leaves: Option<&Leaves>,
) -> io::Result<[u8; 32]> {
    let block_len = u64::from(bl);
    let mut list = blake3::Hasher::new();
    let mut buf = vec![0u8; usize::try_from(block_len).unwrap_or(1 << 20).min(1 << 20)];
    let mut kept = kept.iter().peekable();
    let mut start = 0u64;
    let mut i = 0u64;
    while start < len {
        let n = block_len.min(len - start);
        let stop = start + n;
        while kept.next_if(|(_, e)| *e <= start).is_some() {}
        let inside = kept.peek().is_some_and(|(s, e)| *s <= start && stop <= *e);
        match leaves.filter(|_| inside).and_then(|l| l.leaf(i, n)) {
            Some(leaf) => {
                list.update(leaf);
            }
            None => {
                let mut h = blake3::Hasher::new();
                let mut at = start;
                while at < stop {
                    let want = (stop - at).min(buf.len() as u64) as usize;
                    let got = FileExt::read_at(file, &mut buf[..want], at)?;
                    if got == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("the file ended at {at} of {len} bytes"),
                        ));
                    }
                    h.update(&buf[..got]);
                    at += got as u64;
                }
                list.update(h.finalize().as_bytes());
            }
        }
        start = stop;
        i += 1;
    }
    list.update(&len.to_le_bytes());
    list.update(&bl.to_le_bytes());
    Ok(*list.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use rha_core::signature::block::file_hash;

    /// The block hashes kept while signing give the documented whole-file
    /// hash, however the bytes and holes arrive, and so does reading back.
    #[test]
    fn leaves_give_the_whole_file_hash() {
        let dir = tempfile::tempdir().unwrap();
        let mut data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        data[20_000..20_000 + 3 * 4096 + 100].fill(0);
        let path = dir.path().join("f");
        fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let len = data.len() as u64;
        for bl in [1000u32, 4096] {
            let want = file_hash(&data, bl);
            let mut l = Leaves::new(bl);
            l.update(&data[..20_000]);
            l.zeros(3 * 4096 + 100);
            l.update(&data[20_000 + 3 * 4096 + 100..77_777]);
            l.update(&data[77_777..]);
            l.finish();
            assert_eq!(
                result_hash(&file, len, bl, &[(0, len)], Some(&l)).unwrap(),
                want
            );
            assert_eq!(result_hash(&file, len, bl, &[], None).unwrap(), want);
            let part = [(0, 8192), (50_000, len)];
            assert_eq!(result_hash(&file, len, bl, &part, Some(&l)).unwrap(), want);
        }
        assert_eq!(
            result_hash(&file, 0, 4096, &[], None).unwrap(),
            file_hash(&[], 4096)
        );
    }
}
