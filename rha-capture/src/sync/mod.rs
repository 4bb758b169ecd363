//! Executing a sync plan against real directories: `rha sync`.
//!
//! [`sync`] scans the master and the replica into tree signature files,
//! compares them ([`rha_core::signature::tree::compare`]) and applies the
//! plan to the replica. File contents move through a [`Transfer`]; the
//! whole-file copy [`WholeFile`] keeps sparse files sparse (it copies only
//! the data ranges `SEEK_DATA`/`SEEK_HOLE` report). In block mode a
//! changed file that exists on both sides moves through [`BlockDelta`]:
//! a block signature of the replica's copy, a rolling delta of the
//! master's copy against it, and a patch of only the changed blocks in
//! place or into a new file renamed over the old one
//! ([`crate::sync::block::sync_file`]); files whose size and time agree
//! are checked by content.
//!
//! Extended attributes ([`xattr::XattrScope`]) are part of what is
//! compared: an entry whose set differs gets the master's exactly, also
//! when its content is unchanged.

pub mod block;
mod continuity;
mod durable;
mod inplace;
mod overlap;
mod pool;
mod rewind;
pub mod scan;
mod scope;
mod sparse_io;
pub mod xattr;

pub use continuity::ForgottenPoint;
pub use overlap::{overlap, Overlap};
pub use rewind::describe as describe_dropped_points;

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{
    DirBuilderExt, FileExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rha_core::journal::RelPath;
use rha_core::signature::tree::{
    compare, AttrChanges, CompareError, CompareOptions, Entry, EntryKind, PlanOp, TreeReader,
    TreeWriter,
};

use scan::{ScanError, ScanOptions, ScanStats, TreeScanner};
use xattr::XattrScope;

/// Bytes a transfer sent and reused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Bytes copied from the master.
    pub literal_bytes: u64,
    /// Bytes the replica already had.
    pub matched_bytes: u64,
    /// The replica's file is a new inode this transfer wrote (through
    /// [`replace_file`]): it has no extended attributes yet, so a master
    /// file without any needs none copied. `false` (the default, always
    /// safe) when the file was updated in place or the transfer cannot
    /// tell.
    pub fresh: bool,
}

/// Moves one file's content from the master to the replica.
///
/// The contract a block-level (delta) implementation must keep too: a
/// replica file that shares its inode with other hard-linked names (link
/// count above one) is *replaced*, by writing a new file and renaming it
/// over the old one (see [`replace_file`]), never rewritten in place,
/// because the plan may keep those other names as they are. A file with no
/// other name may be updated in place, provided it is first made durably
/// suspect (its `ctime` flushed, so a run that stops early sends it again:
/// see the `durable` module's rule). The caller sets the attributes
/// afterwards.
pub trait Transfer {
    /// Makes `replica` hold the content of `master`; `exists` says whether
    /// the replica has a (differing) version to reuse.
    fn transfer(
        &mut self,
        master: &Path,
        replica: &Path,
        exists: bool,
    ) -> io::Result<TransferStats>;

    /// Another transfer with the same settings, for a worker thread, so
    /// that [`sync`] can move several files at once; `None` (the default)
    /// keeps the run to one file at a time.
    fn fork(&self) -> Option<Box<dyn Transfer + Send>> {
        None
    }
}

/// Block-level transfer: the replica's existing copy is the basis of a
/// rolling delta ([`crate::sync::block::sync_file`] in
/// [`BlockSyncMode::Rolling`](crate::sync::block::BlockSyncMode::Rolling),
/// which updates a large file with no other hard-linked name in place when
/// its changed blocks stay where they are, and otherwise writes a new file
/// and renames it over the old one, as the [`Transfer`] contract asks). The result is checked against the master's
/// whole-file hash, with a full copy on mismatch. A file the replica does
/// not have yet is copied whole.
#[derive(Debug, Default, Clone)]
pub struct BlockDelta {
    /// Block length and comparison settings; the mode must stay rolling.
    pub options: crate::sync::block::BlockSyncOptions,
}

impl Transfer for BlockDelta {
    fn transfer(
        &mut self,
        master: &Path,
        replica: &Path,
        exists: bool,
    ) -> io::Result<TransferStats> {
        if !exists {
            return WholeFile.transfer(master, replica, false);
        }
        let options = self
            .options
            .clone()
            .mode(crate::sync::block::BlockSyncMode::Rolling);
        match crate::sync::block::sync_file(master, replica, &options) {
            Ok(stats) => Ok(TransferStats {
                literal_bytes: stats.literal_bytes,
                matched_bytes: stats.matched_bytes,
                fresh: !stats.in_place,
            }),
            // Keep the kind, so a master file that vanished is recognised.
            Err(crate::sync::block::BlockSyncError::Io { path, source }) => Err(io::Error::new(
                source.kind(),
                format!("{}: {source}", path.display()),
            )),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    fn fork(&self) -> Option<Box<dyn Transfer + Send>> {
        Some(Box::new(self.clone()))
    }
}

/// Whole-file copy that keeps holes: only the data ranges are copied.
#[derive(Debug, Default, Clone, Copy)]
pub struct WholeFile;

const CHUNK: usize = 1 << 20;

impl Transfer for WholeFile {
    fn transfer(
        &mut self,
        master: &Path,
        replica: &Path,
        _exists: bool,
    ) -> io::Result<TransferStats> {
        let src = File::open(master)?;
        replace_file(replica, |out| {
            let meta = src.metadata()?;
            let len = meta.len();
            let mut buf = Vec::new();
            let mut literal = 0;
            // Only a file with fewer blocks than bytes can have holes; the
            // others are copied without asking where their data is.
            let ranges = if meta.blocks().saturating_mul(512) >= len {
                vec![(0, len)]
            } else {
                data_ranges(&src, len)?
            };
            let mut written_to = 0;
            // The kernel copies from page cache to page cache (one copy, not
            // two through a buffer here) until it says it cannot.
            let mut in_kernel = true;
            for (start, end) in ranges {
                let mut pos = start;
                while pos < end {
                    let want = CHUNK.min((end - pos) as usize);
                    let n = if in_kernel {
                        match copy_range(&src, out, pos, want) {
                            Ok(n) => n,
                            Err(e) if cannot_copy_in_kernel(&e) => {
                                in_kernel = false;
                                continue;
                            }
                            Err(e) => return Err(e),
                        }
                    } else {
                        if buf.len() < want {
                            buf.resize(want, 0);
                        }
                        let n = src.read_at(&mut buf[..want], pos)?;
                        out.write_all_at(&buf[..n], pos)?;
                        n
                    };
                    if n == 0 {
                        break; // the file shrank while being copied
                    }
                    pos += n as u64;
                    literal += n as u64;
                }
                written_to = pos;
            }
            // A hole at the end (or a file that shrank while being copied)
            // still gets the length the master had.
            if written_to != len {
                out.set_len(len)?;
            }
            Ok(TransferStats {
                literal_bytes: literal,
                matched_bytes: 0,
                fresh: true,
            })
        })
    }

    fn fork(&self) -> Option<Box<dyn Transfer + Send>> {
        Some(Box::new(WholeFile))
    }
}

/// Copies up to `len` bytes at `pos` from `src` to the same offset of
/// `dst` inside the kernel (`copy_file_range`); the bytes copied, 0 at the
/// end of `src`.
fn copy_range(src: &File, dst: &File, pos: u64, len: usize) -> io::Result<usize> {
    let (mut from, mut to) = (pos, pos);
    loop {
        match rustix::fs::copy_file_range(src, Some(&mut from), dst, Some(&mut to), len) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether `copy_file_range` is not available for these files (another
/// file system, a kernel or file system without it): copy through a
/// buffer instead.
fn cannot_copy_in_kernel(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EXDEV | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EBADF)
    )
}

/// Replaces the file at `path` (or creates it): `write` fills a new
/// temporary file in the same directory, which is then renamed over `path`.
/// On failure the temporary file is removed and `path` is untouched.
///
/// The new file is not flushed here: [`sync`] makes the whole replica
/// durable once, at the end of the run (see the `durable` module's rule for
/// a run that stops before). A caller using it alone flushes the file (or
/// its file system) itself.
pub fn replace_file<T>(path: &Path, write: impl FnOnce(&File) -> io::Result<T>) -> io::Result<T> {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(std::process::id);
    let tmp = path.with_file_name(format!(".rha-sync-{pid}-{n}.tmp"));
    let result = (|| {
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let value = write(&out)?;
        drop(out);
        fs::rename(&tmp, path)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The data ranges of `file` (length `len`): from `SEEK_DATA`/`SEEK_HOLE`,
/// or the whole file where the file system does not support them.
pub(crate) fn data_ranges(file: &File, len: u64) -> io::Result<Vec<(u64, u64)>> {
    use rustix::fs::{seek, SeekFrom};
    let mut ranges = Vec::new();
    let mut pos = 0;
    while pos < len {
        let start = match seek(file, SeekFrom::Data(pos)) {
            Ok(s) => s,
            Err(rustix::io::Errno::NXIO) => break,
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::OPNOTSUPP) if pos == 0 => {
                return Ok(vec![(0, len)])
            }
            Err(e) => return Err(e.into()),
        };
        let end = seek(file, SeekFrom::Hole(start))
            .map_err(io::Error::from)?
            .min(len);
        if end <= start {
            break;
        }
        ranges.push((start, end));
        pos = end;
    }
    Ok(ranges)
}

/// Whether two files hold the same bytes.
pub fn same_contents(a: &Path, b: &Path) -> io::Result<bool> {
    let (fa, fb) = (File::open(a)?, File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (
        BufReader::with_capacity(CHUNK, fa),
        BufReader::with_capacity(CHUNK, fb),
    );
    let (mut ba, mut bb) = (vec![0u8; 64 << 10], vec![0u8; 64 << 10]);
    loop {
        let n = read_full(&mut ra, &mut ba)?;
        let m = read_full(&mut rb, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How file contents are compared and moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Whole files; same size and time means same file (with ignore-same).
    #[default]
    File,
    /// Changed files move as block deltas against the replica's copy
    /// ([`BlockDelta`]); files whose size and time agree are checked by
    /// content when ignore-same is off.
    Block,
}

/// Settings of [`sync`].
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// File or block mode.
    pub mode: SyncMode,
    /// Compute and report the plan without changing the replica.
    pub dry_run: bool,
    /// Comparison settings (ignore-same, exclusions, owners).
    pub compare: CompareOptions,
    /// Stay on the root's file system when scanning.
    pub one_file_system: bool,
    /// The replica keeps a rewind log with points (it was applied to with
    /// rewind on): drop them before syncing (in a dry run: only say so).
    /// Off, such a replica is refused with [`SyncError::RewindPoints`]:
    /// sync records no inverses, so the points would rewind to wrong data.
    pub drop_rewind_points: bool,
    /// Files transferred at once, each by its own thread (`0` and `1`:
    /// one after another, the default; `n`: `n` threads). The plan's order
    /// holds wherever it matters (see the `pool` module). On a local file
    /// system one is usually fastest: with in-kernel copies a first copy is
    /// bound by the kernel's work per file, and two threads contend for
    /// its locks (measured on the project's 2-core machine: a copy of
    /// `/usr/lib` took longer with two); several help where each file
    /// waits on a slow or remote device.
    pub jobs: usize,
}

impl SyncOptions {
    /// The number of file transfers to run at once.
    fn workers(&self) -> usize {
        self.jobs.max(1)
    }
}

/// A master file or directory a sync could not read, and carried on past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The path relative to the master's root.
    pub path: String,
    /// Why it could not be read.
    pub error: String,
}

/// What a sync did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The master scan.
    pub master: ScanStats,
    /// The replica scan.
    pub replica: ScanStats,
    /// Plan steps seen.
    pub compared: u64,
    /// Entries created (files, directories, links, symlinks, specials).
    pub created: u64,
    /// Files whose content was rewritten.
    pub updated: u64,
    /// Entries deleted.
    pub deleted: u64,
    /// Entries whose attributes alone were fixed (including files a
    /// content check found identical).
    pub attrs_fixed: u64,
    /// Special files (sockets) that cannot be copied and were skipped (in
    /// a dry run: would be).
    pub skipped: u64,
    /// Master files that disappeared between the scan and their transfer
    /// (the tree is live; replication carries the deletion).
    pub vanished: u64,
    /// Bytes copied from the master.
    pub literal_bytes: u64,
    /// Bytes found already present on the replica.
    pub matched_bytes: u64,
    /// Master files and directories that could not be read (permission
    /// denied): the run carried on, leaving their replica copies as they
    /// were. A sync with any is partial.
    pub unreadable: Vec<Unreadable>,
    /// The replica's rewind points and bookmarks dropped before the sync
    /// changed anything (in a dry run: that would be), with
    /// [`SyncOptions::drop_rewind_points`].
    pub rewind_dropped: Option<rha_core::rewind::DroppedPoints>,
    /// An earlier run stopped before its data was known to be on disk: the
    /// files it changed were checked again (and sent where needed).
    pub resumed_after_stop: bool,
    /// The journal sequence the replica followed (its applied point, and
    /// a transaction's first half kept for its commit), which the sync
    /// made meaningless and forgot (in a dry run: would forget). The next
    /// journal applied starts a new sequence.
    pub forgotten: Option<ForgottenPoint>,
}

impl SyncReport {
    /// Adds what one file step of a worker counted.
    fn absorb(&mut self, step: SyncReport) {
        self.created += step.created;
        self.updated += step.updated;
        self.deleted += step.deleted;
        self.attrs_fixed += step.attrs_fixed;
        self.skipped += step.skipped;
        self.vanished += step.vanished;
        self.literal_bytes += step.literal_bytes;
        self.matched_bytes += step.matched_bytes;
        self.unreadable.extend(step.unreadable);
    }
}

/// Progress events of [`sync`], for a progress bar or a log.
pub trait Observer {
    /// Called as the scans and the plan advance.
    fn progress(&mut self, _report: &SyncReport) {}
    /// Called with each plan step before it is applied (or instead, in a
    /// dry run).
    fn op(&mut self, _op: &PlanOp) {}
    /// Called before the rewind points and bookmarks of `replica` are
    /// dropped (in a dry run: instead), before anything else changes.
    fn rewind_points_dropped(
        &mut self,
        _replica: &Path,
        _dropped: &rha_core::rewind::DroppedPoints,
    ) {
    }
}

impl Observer for () {}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Scanning a tree failed.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The signature files could not be stored or read back.
    #[error("signature file {}: {source}", path.display())]
    Signature {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The comparison failed.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// The master and replica trees overlap; nothing was done.
    #[error("refusing to sync {} to {}: {how}", master.display(), replica.display())]
    Overlap {
        /// The master directory.
        master: PathBuf,
        /// The replica directory.
        replica: PathBuf,
        /// How they overlap.
        how: Overlap,
    },
    /// Another process (an `rha apply`, another sync) holds the replica's
    /// lock; nothing was done.
    #[error(
        "replica {} is busy: {} holds its lock '{}'",
        replica.display(),
        if *by_this_process { "another handle in this process" } else { "another process" },
        lock.display()
    )]
    Busy {
        /// The replica directory.
        replica: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Whether the holder is this process (another open handle).
        by_this_process: bool,
    },
    /// The replica keeps rewind points, which a sync would make wrong (it
    /// records no inverses), and [`SyncOptions::drop_rewind_points`] is
    /// off; nothing was done.
    #[error(
        "replica {} keeps {}: sync writes files directly and records no inverses, \
         so rewinding to any of them afterwards would give wrong data; nothing was done",
        replica.display(),
        rewind::describe(dropped)
    )]
    RewindPoints {
        /// The replica directory.
        replica: PathBuf,
        /// The points and bookmarks it keeps.
        dropped: rha_core::rewind::DroppedPoints,
    },
    /// The replica's rewind log could not be read or its points dropped.
    #[error("rewind log {}: {source}", path.display())]
    Rewind {
        /// The rewind log's directory.
        path: PathBuf,
        /// The failure.
        source: rha_core::rewind::LogError,
    },
    /// Applying a plan step to the replica failed.
    #[error("{op} {path}: {source}")]
    Apply {
        /// The step's name.
        op: &'static str,
        /// The replica path.
        path: String,
        /// The failure.
        source: io::Error,
    },
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary signature file removed on drop.
struct TempSig(PathBuf);

impl TempSig {
    fn new(side: &str) -> Self {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!(
            "rha-sync-{}-{n}-{side}.rhatree",
            std::process::id()
        )))
    }
}

/// An empty temporary directory, removed on drop.
struct EmptyDir(PathBuf);

impl EmptyDir {
    fn new() -> Result<Self, SyncError> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rha-sync-{}-{n}-empty", std::process::id()));
        fs::create_dir(&path).map_err(|source| SyncError::Signature {
            path: path.clone(),
            source,
        })?;
        Ok(Self(path))
    }
}

impl Drop for EmptyDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

impl Drop for TempSig {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A scanned side.
struct Scanned {
    /// Its signature file.
    sig: TempSig,
    /// Totals.
    stats: ScanStats,
    /// (Master side) the directories that could not be read.
    unreadable: Vec<(RelPath, io::Error)>,
    /// Directories on other file systems than the root, one per device.
    mounts: Vec<PathBuf>,
}

fn scan_side(
    root: &Path,
    options: &SyncOptions,
    side: &str,
    changed_since_ns: Option<i64>,
) -> Result<Scanned, SyncError> {
    let sig = TempSig::new(side);
    let sig_err = |source| SyncError::Signature {
        path: sig.0.clone(),
        source,
    };
    let file = File::create(&sig.0).map_err(sig_err)?;
    let scan = ScanOptions {
        one_file_system: options.one_file_system,
        // An unreadable master directory is reported and left alone; the
        // replica is ours, so anything unreadable there stops the run.
        skip_unreadable: side == "master",
        xattrs: Some(XattrScope::current()),
        changed_since_ns,
        ..ScanOptions::default()
    };
    let mut scanner = TreeScanner::new(root, scan);
    let mut writer = TreeWriter::new(BufWriter::new(file));
    for entry in &mut scanner {
        writer.push(&entry?).map_err(ScanError::from)?;
    }
    // A temporary file read back by this run only: flushed to the kernel,
    // not to disk.
    let w = writer.finish().map_err(ScanError::from)?;
    w.into_inner().map_err(|e| sig_err(e.into_error()))?;
    let stats = scanner.stats();
    let unreadable = scanner
        .unreadable()
        .iter()
        .map(|(p, e)| (p.clone(), io::Error::new(e.kind(), e.to_string())))
        .collect();
    let mounts = scanner.mounts().iter().map(|m| join(root, m)).collect();
    Ok(Scanned {
        sig,
        stats,
        unreadable,
        mounts,
    })
}

/// Takes the lock of the replica's state directory `.rha` if it has one (a
/// real directory, not a link): the same lock `rha apply` holds.
fn lock_replica(replica: &Path) -> Result<Option<rha_core::storage::DirStorage>, SyncError> {
    let state = replica.join(crate::apply::DEFAULT_SPOOL);
    match fs::symlink_metadata(&state) {
        Ok(m) if m.is_dir() => {}
        _ => return Ok(None),
    }
    match rha_core::storage::DirStorage::open(&state) {
        Ok(storage) => Ok(Some(storage)),
        Err(e) if rha_core::storage::lock_held(&e).is_some() => Err(SyncError::Busy {
            replica: replica.to_path_buf(),
            lock: state.join(rha_core::storage::LOCK_FILE),
            by_this_process: rha_core::storage::lock_held(&e).is_some_and(|h| h.by_this_process),
        }),
        Err(source) => Err(SyncError::Apply {
            op: "lock",
            path: state.display().to_string(),
            source,
        }),
    }
}

/// Makes the tree under `replica` equal to the tree under `master`.
pub fn sync(
    master: &Path,
    replica: &Path,
    options: &SyncOptions,
    observer: &mut dyn Observer,
) -> Result<SyncReport, SyncError> {
    match options.mode {
        SyncMode::File => sync_with(master, replica, options, &mut WholeFile, observer),
        SyncMode::Block => sync_with(
            master,
            replica,
            options,
            &mut BlockDelta {
                // Hashing blocks on every core is what a one-shot sync wants.
                // The run flushes the whole replica once at its end.
                options: crate::sync::block::BlockSyncOptions::default()
                    .threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
                    .defer_flush(true),
            },
            observer,
        ),
    }
}

/// [`sync`] with a chosen content [`Transfer`].
pub fn sync_with(
    master: &Path,
    replica: &Path,
    options: &SyncOptions,
    transfer: &mut dyn Transfer,
    observer: &mut dyn Observer,
) -> Result<SyncReport, SyncError> {
    let _span = tracing::info_span!(
        "sync",
        master = %master.display(),
        replica = %replica.display()
    )
    .entered();
    if let Some(how) = overlap(master, replica) {
        return Err(SyncError::Overlap {
            master: master.to_path_buf(),
            replica: replica.to_path_buf(),
            how,
        });
    }
    // A replica that has been applied to holds its lock in `.rha`: take it
    // for the whole run, so `rha apply` and sync never change it at once.
    let lock = lock_replica(replica)?;
    let mut report = SyncReport::default();
    // Before anything changes: rewind points the sync would make wrong.
    if let Some(state) = &lock {
        report.rewind_dropped = rewind::drop_points(replica, state, options, observer)?;
    }
    // Before the first change: the marker that a run is under way (or the
    // one an earlier run left when it stopped before its data was on disk;
    // then the files it may have left half-written are sent again).
    let mut state = lock;
    let mut open_underway = |report: &mut SyncReport| -> Result<_, SyncError> {
        if options.dry_run {
            return Ok(None);
        }
        let storage = match state.take() {
            Some(s) => s,
            None => create_state_dir(replica)?,
        };
        let state_dir = replica.join(crate::apply::DEFAULT_SPOOL);
        let u = durable::Underway::open(&state_dir).map_err(|source| SyncError::Apply {
            op: "read",
            path: state_dir.join(durable::MARKER).display().to_string(),
            source,
        })?;
        report.resumed_after_stop = u.resumed;
        state = Some(storage);
        Ok(Some(u))
    };
    // An existing replica is scanned while the master is (two threads: a
    // re-sync is mostly scanning); a missing one only after the master
    // scan succeeded, so a failed run creates nothing.
    let replica_exists = replica.is_dir();
    let mut underway = if replica_exists {
        open_underway(&mut report)?
    } else {
        None
    };
    let since = underway.as_ref().and_then(|u| u.since_ns);
    let (master_scan, early_replica) = if replica_exists {
        std::thread::scope(|scope| {
            let m = scope.spawn(|| scan_side(master, options, "master", None));
            let r = scan_side(replica, options, "replica", since);
            let m = m
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (m, Some(r))
        })
    } else {
        (scan_side(master, options, "master", None), None)
    };
    let Scanned {
        sig: master_sig,
        stats,
        unreadable: unreadable_dirs,
        ..
    } = master_scan?;
    report.master = stats;
    report.unreadable = unreadable_dirs
        .iter()
        .map(|(path, e)| Unreadable {
            path: path.to_string(),
            error: e.to_string(),
        })
        .collect();
    observer.progress(&report);
    let replica_scan = match early_replica {
        Some(r) => r,
        None => {
            // A missing replica directory is created (in a dry run: treated
            // as empty), but only its last component, as rsync does: a typo
            // in a parent must not build a tree from the root.
            let empty;
            let replica_root = if options.dry_run {
                empty = EmptyDir::new()?;
                empty.0.clone()
            } else {
                match fs::create_dir(replica) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && replica.is_dir() => {}
                    Err(source) => {
                        return Err(SyncError::Apply {
                            op: "mkdir",
                            path: replica.display().to_string(),
                            source,
                        })
                    }
                }
                underway = open_underway(&mut report)?;
                replica.to_path_buf()
            };
            let since = underway.as_ref().and_then(|u| u.since_ns);
            scan_side(&replica_root, options, "replica", since)
        }
    };
    let Scanned {
        sig: replica_sig,
        stats,
        mounts,
        ..
    } = replica_scan?;
    report.replica = stats;
    observer.progress(&report);

    let open = |sig: &TempSig| -> Result<TreeReader<BufReader<File>>, SyncError> {
        let f = File::open(&sig.0).map_err(|source| SyncError::Signature {
            path: sig.0.clone(),
            source,
        })?;
        Ok(TreeReader::new(BufReader::new(f)))
    };
    let mut compare_options = options.compare.clone();
    if options.mode == SyncMode::Block {
        compare_options = compare_options.check_contents(true);
    }
    let plan = compare(open(&master_sig)?, open(&replica_sig)?, compare_options);
    let mut apply = Apply {
        master,
        replica,
        transfer,
        owners: can_chown(),
        xattrs: XattrScope::current(),
    };
    // What lies under an unreadable master directory is unknown: the plan
    // would delete the replica's copy of it, so those steps are left out
    // (the directory's own attributes too: its time is not known to be
    // final).
    let unknown: Vec<Vec<u8>> = unreadable_dirs
        .iter()
        .map(|(p, _)| p.as_bytes().to_vec())
        .collect();
    let is_unknown = |path: &RelPath| {
        let p = path.as_bytes();
        unknown
            .iter()
            .any(|d| p.starts_with(d) && (p.len() == d.len() || p.get(d.len()) == Some(&b'/')))
    };
    // File steps go to workers (none in a dry run, which only reads).
    let workers = if options.dry_run {
        1
    } else {
        options.workers()
    };
    let forks: Vec<Box<dyn Transfer + Send>> = if workers > 1 {
        (0..workers).map_while(|_| apply.transfer.fork()).collect()
    } else {
        Vec::new()
    };
    let worker_max = match options.mode {
        SyncMode::Block => pool::BLOCK_WORKER_MAX,
        SyncMode::File => u64::MAX,
    };
    let context = pool::Context {
        master,
        replica,
        owners: apply.owners,
        xattrs: apply.xattrs,
    };
    // Started with the run's first change: the disk writes while the run
    // copies.
    let mut flusher: Option<durable::Flusher> = None;
    std::thread::scope(|scope| -> Result<(), SyncError> {
        let mut pool = (forks.len() > 1).then(|| pool::Pool::start(scope, context, forks));
        for op in plan {
            let op = op?;
            report.compared += 1;
            if is_unknown(op.path()) && !matches!(op, PlanOp::Mkdir { .. }) {
                continue;
            }
            observer.op(&op);
            if options.dry_run {
                apply
                    .count(&op, &mut report)
                    .map_err(|source| SyncError::Apply {
                        op: op.name(),
                        path: op.path().to_string(),
                        source,
                    })?;
            } else {
                if let (Some(u), Some(storage)) = (underway.as_mut(), &state) {
                    u.mark(storage).map_err(|source| SyncError::Apply {
                        op: "mark",
                        path: replica.display().to_string(),
                        source,
                    })?;
                    if flusher.is_none() {
                        flusher = Some(durable::Flusher::start(replica).map_err(|source| {
                            SyncError::Apply {
                                op: "open",
                                path: replica.display().to_string(),
                                source,
                            }
                        })?);
                    }
                }
                match pool.as_mut() {
                    Some(pool) if pool::takes(&op, worker_max) => {
                        pool.submit(op, &mut report, &mut apply)?
                    }
                    Some(pool) => pool.run(op, &mut report, &mut apply)?,
                    None => apply
                        .op(&op, &mut report)
                        .map_err(|source| SyncError::Apply {
                            op: op.name(),
                            path: op.path().to_string(),
                            source,
                        })?,
                }
            }
            if let Some(f) = flusher.as_mut() {
                f.written(report.literal_bytes);
            }
            observer.progress(&report);
        }
        if let Some(pool) = pool {
            pool.finish(&mut report, &mut apply)?;
            observer.progress(&report);
        }
        Ok(())
    })?;
    let mut root_changed = false;
    if !options.dry_run {
        let before = report.attrs_fixed;
        apply.root(&mut report).map_err(|source| SyncError::Apply {
            op: "attrs",
            path: replica.display().to_string(),
            source,
        })?;
        root_changed = report.attrs_fixed != before;
    }
    if let Some(storage) = &state {
        let remembered = continuity::remembered(storage).map_err(|source| SyncError::Apply {
            op: "read",
            path: replica
                .join(crate::apply::DEFAULT_SPOOL)
                .display()
                .to_string(),
            source,
        })?;
        if remembered.is_some() && !options.dry_run {
            continuity::forget(storage).map_err(|source| SyncError::Apply {
                op: "reset",
                path: replica
                    .join(crate::apply::DEFAULT_SPOOL)
                    .display()
                    .to_string(),
                source,
            })?;
        }
        report.forgotten = remembered;
    }
    let flush_err = |source| SyncError::Apply {
        op: "flush",
        path: replica.display().to_string(),
        source,
    };
    let root = flusher
        .map(durable::Flusher::finish)
        .transpose()
        .map_err(flush_err)?;
    match (underway, &state) {
        (Some(u), Some(storage)) if u.pending() => {
            u.finish(storage, replica, root.as_ref(), &mounts)
                .map_err(flush_err)?;
        }
        // Only the root's own attributes changed: no data to protect with
        // the marker, but the run still ends durable.
        _ if root_changed => {
            durable::flush_tree(replica, root.as_ref(), &mounts).map_err(flush_err)?;
        }
        _ => {}
    }
    tracing::info!(
        compared = report.compared,
        created = report.created,
        updated = report.updated,
        deleted = report.deleted,
        literal_bytes = report.literal_bytes,
        matched_bytes = report.matched_bytes,
        "tree synced"
    );
    Ok(report)
}

/// Creates the replica's state directory `.rha` (owner only) and takes
/// its lock.
fn create_state_dir(replica: &Path) -> Result<rha_core::storage::DirStorage, SyncError> {
    let state = replica.join(crate::apply::DEFAULT_SPOOL);
    match fs::DirBuilder::new().mode(0o700).create(&state) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(SyncError::Apply {
                op: "mkdir",
                path: state.display().to_string(),
                source,
            })
        }
    }
    match lock_replica(replica)? {
        Some(storage) => Ok(storage),
        None => Err(SyncError::Apply {
            op: "lock",
            path: state.display().to_string(),
            source: io::Error::new(io::ErrorKind::InvalidData, "not a directory"),
        }),
    }
}

fn count_planned(op: &PlanOp, report: &mut SyncReport) {
    match op {
        PlanOp::Delete { .. } => report.deleted += 1,
        PlanOp::Update { entry } => {
            report.updated += 1;
            report.literal_bytes += entry.size;
        }
        PlanOp::Create { entry } => {
            report.created += 1;
            report.literal_bytes += entry.size;
        }
        PlanOp::SetAttrs { .. } => report.attrs_fixed += 1,
        _ => report.created += 1,
    }
}

pub(crate) struct Apply<'a> {
    master: &'a Path,
    replica: &'a Path,
    transfer: &'a mut dyn Transfer,
    owners: bool,
    /// The extended attributes compared and copied (as scanned).
    xattrs: XattrScope,
}

/// `rel` beneath `root`, its bytes as they are.
pub(crate) fn join(root: &Path, rel: &RelPath) -> PathBuf {
    root.join(OsStr::from_bytes(rel.as_bytes()))
}

impl Apply<'_> {
    fn op(&mut self, op: &PlanOp, report: &mut SyncReport) -> io::Result<()> {
        let dst = join(self.replica, op.path());
        match op {
            PlanOp::Delete { kind, .. } => {
                if *kind == EntryKind::Dir {
                    fs::remove_dir(&dst)?;
                } else {
                    fs::remove_file(&dst)?;
                }
                report.deleted += 1;
            }
            PlanOp::Mkdir { entry } => {
                fs::DirBuilder::new()
                    .mode(entry.mode | 0o700)
                    .create(&dst)?;
                report.created += 1;
            }
            PlanOp::Create { entry } => {
                if self.copy(entry, &dst, false, report)? {
                    report.created += 1;
                }
            }
            PlanOp::Update { entry } => {
                if self.copy(entry, &dst, true, report)? {
                    report.updated += 1;
                }
            }
            PlanOp::Check { entry } => {
                let src = join(self.master, &entry.path);
                if !self.readable(&src, entry, report)? {
                    return Ok(());
                }
                let same = match same_contents(&src, &dst) {
                    Err(e) if vanished(&e, &src) => {
                        report.vanished += 1;
                        return Ok(());
                    }
                    same => same?,
                };
                if same {
                    report.matched_bytes += entry.size;
                    // Equal contents: fix only the attributes that differ.
                    let changes = self.needed(entry, &dst, AttrChanges::ALL)?;
                    if !changes.is_empty() {
                        self.attrs(entry, &dst, changes)?;
                        report.attrs_fixed += 1;
                    }
                } else if self.copy(entry, &dst, true, report)? {
                    report.updated += 1;
                }
            }
            PlanOp::Symlink { entry } => {
                std::os::unix::fs::symlink(OsStr::from_bytes(&entry.target), &dst)?;
                self.attrs(entry, &dst, AttrChanges::ALL)?;
                report.created += 1;
            }
            PlanOp::Link { target, .. } => {
                fs::hard_link(join(self.replica, target), &dst)?;
                report.created += 1;
            }
            PlanOp::Special { entry } => {
                let meta = fs::symlink_metadata(join(self.master, &entry.path))?;
                let Some(file_type) = special_type(&meta) else {
                    report.skipped += 1;
                    return Ok(());
                };
                rustix::fs::mknodat(
                    rustix::fs::CWD,
                    &dst,
                    file_type,
                    rustix::fs::Mode::from_raw_mode(entry.mode),
                    meta.rdev(),
                )?;
                self.attrs(entry, &dst, AttrChanges::ALL)?;
                report.created += 1;
            }
            PlanOp::SetAttrs { entry, changes } => {
                // The plan may ask to re-set a directory's time in case its
                // contents change; only what differs now is changed and
                // counted.
                let changes = self.needed(entry, &dst, *changes)?;
                if !changes.is_empty() {
                    self.attrs(entry, &dst, changes)?;
                    report.attrs_fixed += 1;
                }
            }
            _ => return Err(io::Error::other("a plan step this version cannot apply")),
        }
        Ok(())
    }

    /// Sends the master's file to `dst` through the transfer, then gives it
    /// the master's attributes; `false` if the master's file vanished.
    fn copy(
        &mut self,
        entry: &Entry,
        dst: &Path,
        exists: bool,
        report: &mut SyncReport,
    ) -> io::Result<bool> {
        let src = join(self.master, &entry.path);
        let stats = match self.transfer.transfer(&src, dst, exists) {
            Ok(stats) => stats,
            Err(e) if vanished(&e, &src) => {
                report.vanished += 1;
                return Ok(false);
            }
            // Asked only after a failure: whether it was the master's file
            // that could not be read.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                if self.readable(&src, entry, report)? {
                    return Err(e);
                }
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        report.literal_bytes += stats.literal_bytes;
        report.matched_bytes += stats.matched_bytes;
        let mut changes = AttrChanges::ALL;
        // A new inode has no attributes; one the master lacks too needs
        // neither side read.
        changes.xattrs = !(stats.fresh && entry.xattrs.is_none());
        self.attrs(entry, dst, changes)?;
        Ok(true)
    }

    /// Whether the master's file `src` can be read; a file that cannot
    /// (permission denied) is recorded in the report and left alone on the
    /// replica, and the run carries on.
    fn readable(&self, src: &Path, entry: &Entry, report: &mut SyncReport) -> io::Result<bool> {
        match File::open(src) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                report.unreadable.push(Unreadable {
                    path: entry.path.to_string(),
                    error: e.to_string(),
                });
                Ok(false)
            }
            // Vanished and other errors are the transfer's to report.
            Err(_) => Ok(true),
        }
    }

    /// Gives the replica's `path` the `changes` attributes of the master's
    /// `entry`.
    fn attrs(&self, entry: &Entry, path: &Path, changes: AttrChanges) -> io::Result<()> {
        self.attrs_from(entry, &join(self.master, &entry.path), path, changes)
    }

    /// [`attrs`](Self::attrs) with the master's entry at `src` (whose
    /// extended attributes are read).
    fn attrs_from(
        &self,
        entry: &Entry,
        src: &Path,
        path: &Path,
        changes: AttrChanges,
    ) -> io::Result<()> {
        if changes.owner && self.owners {
            std::os::unix::fs::lchown(path, Some(entry.uid), Some(entry.gid))?;
        }
        // After chown, which clears set-id bits.
        if (changes.mode || changes.owner) && entry.kind != EntryKind::Symlink {
            fs::set_permissions(path, fs::Permissions::from_mode(entry.mode))?;
        }
        // After chown too, which clears a file capability
        // (`security.capability`); setting them leaves the time alone.
        if changes.xattrs {
            xattr::copy(src, path, self.xattrs)?;
        }
        if changes.mtime {
            set_mtime(path, entry.mtime_ns)?;
        }
        Ok(())
    }

    /// Which of the `wanted` attributes of the replica's `path` differ from
    /// the master's `entry` now (owners only when this process may change
    /// them; a symlink has no mode of its own).
    fn needed(&self, entry: &Entry, path: &Path, wanted: AttrChanges) -> io::Result<AttrChanges> {
        let now = crate::sync::scan::entry_from(entry.path.clone(), &fs::symlink_metadata(path)?);
        Ok(AttrChanges {
            mode: wanted.mode && entry.kind != EntryKind::Symlink && now.mode != entry.mode,
            owner: wanted.owner && self.owners && (now.uid, now.gid) != (entry.uid, entry.gid),
            mtime: wanted.mtime && now.mtime_ns != entry.mtime_ns,
            xattrs: wanted.xattrs && xattr::digest(path, self.xattrs)? != entry.xattrs,
        })
    }

    /// What a dry run reports for `op`: steps whose outcome depends on the
    /// replica's current state (a content check, an attribute fix) are
    /// worked out by reading it, so the dry run says what the real run
    /// would do.
    fn count(&self, op: &PlanOp, report: &mut SyncReport) -> io::Result<()> {
        let dst = join(self.replica, op.path());
        match op {
            PlanOp::Check { entry } => {
                let src = join(self.master, &entry.path);
                if !self.readable(&src, entry, report)? {
                    return Ok(());
                }
                match same_contents(&src, &dst) {
                    Ok(true) => {
                        report.matched_bytes += entry.size;
                        if !self.needed(entry, &dst, AttrChanges::ALL)?.is_empty() {
                            report.attrs_fixed += 1;
                        }
                    }
                    Ok(false) => {
                        report.updated += 1;
                        report.literal_bytes += entry.size - hole_bytes(&src, entry);
                    }
                    Err(e) if vanished(&e, &src) => report.vanished += 1,
                    Err(e) => return Err(e),
                }
            }
            PlanOp::SetAttrs { entry, changes } => match self.needed(entry, &dst, *changes) {
                Ok(c) if c.is_empty() => {}
                Ok(_) => report.attrs_fixed += 1,
                // Created earlier in the plan, so not there in a dry run.
                Err(e) if e.kind() == io::ErrorKind::NotFound => report.attrs_fixed += 1,
                Err(e) => return Err(e),
            },
            PlanOp::Create { entry } | PlanOp::Update { entry } => {
                let src = join(self.master, &entry.path);
                if self.readable(&src, entry, report)? {
                    count_planned(op, report);
                    // Holes are not sent: only the data ranges are.
                    report.literal_bytes -= hole_bytes(&src, entry);
                }
            }
            PlanOp::Special { entry } => {
                match fs::symlink_metadata(join(self.master, &entry.path)) {
                    Ok(meta) if special_type(&meta).is_none() => report.skipped += 1,
                    Ok(_) => report.created += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => report.vanished += 1,
                    Err(e) => return Err(e),
                }
            }
            op => count_planned(op, report),
        }
        Ok(())
    }

    /// Gives the replica's root the master root's attributes.
    fn root(&self, report: &mut SyncReport) -> io::Result<()> {
        // The roots are followed if they are symlinks, as the scans do.
        let (m, r) = (fs::metadata(self.master)?, fs::metadata(self.replica)?);
        let name = RelPath::new(".root").map_err(io::Error::other)?;
        let me = crate::sync::scan::entry_from(name.clone(), &m);
        let re = crate::sync::scan::entry_from(name, &r);
        // `root/.` names the directory a symlinked root points to, for the
        // attribute calls, which do not follow a last-component symlink.
        let (m_dir, r_dir) = (self.master.join("."), self.replica.join("."));
        let changes = AttrChanges {
            mode: me.mode != re.mode,
            owner: self.owners && (me.uid, me.gid) != (re.uid, re.gid),
            mtime: me.mtime_ns != re.mtime_ns,
            xattrs: xattr::digest(&m_dir, self.xattrs)? != xattr::digest(&r_dir, self.xattrs)?,
        };
        if !changes.is_empty() {
            self.attrs_from(&me, &m_dir, &r_dir, changes)?;
            report.attrs_fixed += 1;
        }
        Ok(())
    }
}

/// The kind of node to create for a special file, `None` for one that
/// cannot be created (a socket: only its listening program can make one).
fn special_type(meta: &fs::Metadata) -> Option<rustix::fs::FileType> {
    let ft = meta.file_type();
    if ft.is_fifo() {
        Some(rustix::fs::FileType::Fifo)
    } else if ft.is_char_device() {
        Some(rustix::fs::FileType::CharacterDevice)
    } else if ft.is_block_device() {
        Some(rustix::fs::FileType::BlockDevice)
    } else {
        None
    }
}

/// The bytes of the master's file `src` (scanned as `entry`) in holes,
/// which a transfer does not send: 0 unless the scan found it sparse, or
/// when it cannot be read now.
fn hole_bytes(src: &Path, entry: &Entry) -> u64 {
    if !entry.sparse {
        return 0;
    }
    let data = File::open(src)
        .and_then(|f| data_ranges(&f, entry.size))
        .map(|ranges| ranges.iter().map(|(s, e)| e - s).sum::<u64>());
    data.map_or(0, |data| entry.size.saturating_sub(data))
}

/// Whether `e` is "not found" because the master's file `src` is gone.
fn vanished(e: &io::Error, src: &Path) -> bool {
    e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(src).is_err()
}

/// Sets the modification time of `path` (not following a symlink), to the
/// nanosecond, leaving the access time alone.
pub fn set_mtime(path: &Path, mtime_ns: i64) -> io::Result<()> {
    use rustix::fs::{utimensat, AtFlags, Timestamps, CWD, UTIME_OMIT};
    let ts = Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: mtime_ns.div_euclid(1_000_000_000),
            tv_nsec: mtime_ns.rem_euclid(1_000_000_000) as _,
        },
    };
    utimensat(CWD, path, &ts, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// Whether this process may change owners (it runs as root).
pub fn can_chown() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn a_failed_replacement_leaves_the_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"old").unwrap();
        let err = replace_file(&path, |out| {
            out.write_all_at(b"partial", 0)?;
            Err::<(), _>(io::Error::other("link down"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "link down");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn holes_are_not_copied() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        let f = File::create(&src).unwrap();
        f.write_all_at(b"a", 0).unwrap();
        f.write_all_at(b"z", 64 << 20).unwrap();
        let ranges = data_ranges(&f, (64 << 20) + 1).unwrap();
        assert!(ranges.len() >= 2 && ranges[0].0 == 0, "{ranges:?}");
        let stats = WholeFile.transfer(&src, &dst, false).unwrap();
        assert!(stats.literal_bytes < (1 << 20), "{stats:?}");
        assert!(same_contents(&src, &dst).unwrap());
        let meta = fs::metadata(&dst).unwrap();
        assert!(meta.blocks() * 512 < (8 << 20));
    }
}
