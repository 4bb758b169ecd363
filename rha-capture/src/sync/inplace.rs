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

use rha_core::signature::block::{
    Command, DeltaDecoder, InPlacePatch, PatchError, ReadAt, WriteAt,
};

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

/// The replica as the target of an in-place patch, every change announced
/// to the hook first.
struct Target<'a, 'h> {
    file: &'a File,
    hook: Hook<'h>,
}

impl ReadAt for Target<'_, '_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        FileExt::read_at(self.file, buf, offset)
    }
}

impl WriteAt for Target<'_, '_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        // Zero runs (the patch writes them 64 KiB at a time) become holes:
        // nothing to write, and a sparse replica stays sparse.
        if data.len() >= 4096 && data.iter().all(|&b| b == 0) {
            let len = data.len() as u64;
            (self.hook)(IoPoint::Zero { offset, len })?;
            let flags =
                rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE;
            match rustix::fs::fallocate(self.file, flags, offset, len) {
                // A hole punched past the end keeps the length: extend it,
                // as a write would.
                Ok(()) => {
                    let end = offset.saturating_add(len);
                    if self.file.metadata()?.len() < end {
                        self.file.set_len(end)?;
                    }
                    return Ok(());
                }
                Err(e) if e == rustix::io::Errno::OPNOTSUPP => {}
                Err(e) => return Err(e.into()),
            }
        } else {
            (self.hook)(IoPoint::Write {
                offset,
                len: data.len() as u64,
            })?;
        }
        self.file.write_all_at(data, offset)
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
/// to `file`, the replica opened for reading and writing, in place.
/// Flushes the result unless `defer_flush`.
pub(crate) fn apply(
    file: &File,
    delta: &Stage,
    defer_flush: bool,
    hook: Hook<'_>,
) -> Result<Applied, io::Error> {
    mark(file, hook)?;
    let mut patch = InPlacePatch::new(Target { file, hook }, u64::MAX);
    let mut done = false;
    let result = delta.replay(
        |_, e| Failed::Io(e),
        |d, end| {
            let mut d = d;
            loop {
                let p = patch.run(d, end)?;
                d = &d[p.consumed..];
                done = p.done;
                if d.is_empty() || p.done {
                    return Ok::<(), Failed>(());
                }
            }
        },
    );
    let Target { hook, .. } = patch.into_target();
    match result {
        Ok(()) if done => {}
        Ok(()) => return Err(io::Error::other("delta ended early")),
        Err(Failed::Io(e)) => return Err(e),
        Err(Failed::Patch(PatchError::HashMismatch { .. })) => return Ok(Applied::Mismatch),
        Err(Failed::Patch(PatchError::Target { offset, source })) => {
            return Err(io::Error::new(
                source.kind(),
                format!("writing at offset {offset}: {source}"),
            ))
        }
        Err(Failed::Patch(e)) => return Err(io::Error::other(e)),
    }
    if !defer_flush {
        hook(IoPoint::Sync)?;
        file.sync_data()?;
    }
    Ok(Applied::Done)
}

/// Why replaying the stage into the patch stopped.
enum Failed {
    Io(io::Error),
    Patch(PatchError),
}

impl From<io::Error> for Failed {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<PatchError> for Failed {
    fn from(e: PatchError) -> Self {
        Self::Patch(e)
    }
}
