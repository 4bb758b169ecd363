//! Scanning a real directory tree into tree signature entries.

use std::ffi::{CStr, CString};
use std::fs::{self, Metadata};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rha_core::journal::RelPath;
use rha_core::signature::tree::{
    Entry, EntryKind, HardLink, TreeWriteError, TreeWriter, XattrDigest,
};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::scope::{Listing, ScopeTree};
use super::xattr::{self, XattrScope};

/// How to scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Do not descend into directories on another file system than the
    /// root (mount points are listed, their contents are not).
    pub one_file_system: bool,
    /// List the replica state directory `.rha` at the root
    /// ([`DEFAULT_SPOOL`](crate::apply::DEFAULT_SPOOL)). Off by default: it
    /// holds one replica's lock, rewind log and applied point, which a sync
    /// must never copy, compare or delete.
    pub include_state_dir: bool,
    /// Carry on past a subdirectory that cannot be read for lack of
    /// permission: it is listed (so a sync neither deletes nor recreates
    /// it) without its contents, and named by
    /// [`TreeScanner::unreadable`]. Off by default: such a directory stops
    /// the scan.
    pub skip_unreadable: bool,
    /// Record a digest of each entry's extended attributes in this scope
    /// ([`Entry::xattrs`]). `None` (the default): attributes are not read.
    /// With [`skip_unreadable`](Self::skip_unreadable), an entry whose
    /// attributes cannot be read for lack of permission is named by
    /// [`TreeScanner::unreadable`] too.
    pub xattrs: Option<XattrScope>,
    /// Regular files whose status changed (`ctime`) at or after this time,
    /// in nanoseconds since the Unix epoch on the file system's clock, are
    /// listed with the modification time [`SUSPECT_MTIME_NS`], which no
    /// real file has: a comparison then finds them changed and sends their
    /// data again. A sync sets it on the replica after a run that stopped
    /// before its data was known to be on disk.
    pub changed_since_ns: Option<i64>,
}

/// The modification time given to files that
/// [`ScanOptions::changed_since_ns`] marks as suspect.
pub const SUSPECT_MTIME_NS: i64 = i64::MIN;

/// Why a scan stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading a directory or an entry's metadata failed.
    #[error("scanning {}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The root is not a directory.
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// An entry's path cannot be named in a signature (too long).
    #[error("cannot record {}: {reason}", path.display())]
    BadPath {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: rha_core::journal::PathError,
    },
    /// Writing the signature failed.
    #[error(transparent)]
    Write(#[from] TreeWriteError),
}

/// Totals of a scan so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Entries produced.
    pub entries: u64,
    /// Regular files among them.
    pub files: u64,
    /// Sum of the files' sizes.
    pub bytes: u64,
}

struct Level {
    /// Relative path of the directory (empty for the root).
    rel: Vec<u8>,
    /// The open directory: its entries are inspected relative to it
    /// (`fstatat`, `readlinkat`, `openat`), so the kernel never walks the
    /// full path of each one.
    dir: rfs::Dir,
    /// Its children's names, sorted, not yet visited (reversed: pop from
    /// the end).
    names: Vec<CString>,
}

/// Walks a directory tree and yields its entries in signature order.
///
/// Symlinks are recorded, never followed. Each directory's names are read
/// and sorted when it is entered, so memory is one name list per level of
/// the current path, not the tree. An entry that disappears between listing
/// and inspection (the tree is live) is skipped. The root itself is not an
/// entry; [`root_entry`] describes it.
///
/// ```no_run
/// use rha_capture::sync::scan::{TreeScanner, ScanOptions};
///
/// for entry in TreeScanner::new("/srv/data", ScanOptions::default()) {
///     let entry = entry?;
///     println!("{} {}", entry.kind.name(), entry.path);
/// }
/// # Ok::<(), rha_capture::sync::scan::ScanError>(())
/// ```
pub struct TreeScanner {
    root: PathBuf,
    options: ScanOptions,
    root_dev: Option<u64>,
    stack: Vec<Level>,
    started: bool,
    failed: bool,
    stats: ScanStats,
    unreadable: Vec<(RelPath, io::Error)>,
    /// Directories that start another file system below the root (one per
    /// device), in scan order.
    mounts: Vec<RelPath>,
    mount_devs: Vec<u64>,
    /// The scan's `tracing` span: open from `new` until the scanner is
    /// dropped.
    span: tracing::Span,
    /// The end has been reached (and logged).
    ended: bool,
    /// A scoped scan's paths ([`TreeScanner::scoped`]).
    scope: Option<ScopeTree>,
}

impl std::fmt::Debug for TreeScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeScanner")
            .field("root", &self.root)
            .field("depth", &self.stack.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TreeScanner {
    /// A scanner of the tree under `root`.
    pub fn new(root: impl Into<PathBuf>, options: ScanOptions) -> Self {
        let root = root.into();
        let span = tracing::debug_span!("tree_scan", root = %root.display());
        Self {
            root,
            options,
            root_dev: None,
            stack: Vec::new(),
            started: false,
            failed: false,
            stats: ScanStats::default(),
            unreadable: Vec::new(),
            mounts: Vec::new(),
            mount_devs: Vec::new(),
            span,
            ended: false,
            scope: None,
        }
    }

    /// A scanner of only `paths` of the tree under `root`: each path that
    /// exists (and everything inside it, where it is a directory), and the
    /// directories on the way to it, in signature order. Paths inside
    /// another are covered by it. The master and the replica of a sync
    /// narrowed to what a degraded spool marked dirty both scan this way,
    /// so the two signatures compare as two whole trees would there.
    pub fn scoped<'a>(
        root: impl Into<PathBuf>,
        options: ScanOptions,
        paths: impl IntoIterator<Item = &'a RelPath>,
    ) -> Self {
        let mut s = Self::new(root, options);
        s.scope = Some(ScopeTree::new(paths));
        s
    }

    /// Directories scanned so far that lie on another file system than the
    /// root, one for each such file system (with
    /// [`ScanOptions::one_file_system`], their contents were not listed).
    pub fn mounts(&self) -> &[RelPath] {
        &self.mounts
    }

    /// The directories skipped because they could not be read, and the
    /// entries whose extended attributes could not be read (with
    /// [`ScanOptions::skip_unreadable`]), with why, in scan order.
    pub fn unreadable(&self) -> &[(RelPath, io::Error)] {
        &self.unreadable
    }

    /// Totals so far.
    pub fn stats(&self) -> ScanStats {
        self.stats
    }

    fn full(&self, rel: &[u8]) -> PathBuf {
        self.root.join(std::ffi::OsStr::from_bytes(rel))
    }

    /// Opens directory `name` of the current level (the root when there is
    /// none), without following a symlink below the root.
    fn open_dir(&self, rel: &[u8], name: Option<&CStr>) -> Result<OwnedFd, ScanError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let opened = match (self.stack.last(), name) {
            (Some(parent), Some(name)) => parent
                .dir
                .fd()
                .and_then(|fd| rfs::openat(fd, name, flags | OFlags::NOFOLLOW, Mode::empty())),
            _ => rfs::openat(rfs::CWD, &self.root, flags, Mode::empty()),
        };
        opened.map_err(|e| ScanError::Io {
            path: self.full(rel),
            source: e.into(),
        })
    }

    fn push_dir(&mut self, rel: Vec<u8>, fd: OwnedFd) -> Result<(), ScanError> {
        let io_err = |e: rustix::io::Errno| ScanError::Io {
            path: self.full(&rel),
            source: e.into(),
        };
        let skip_state = rel.is_empty() && !self.options.include_state_dir;
        let is_state = |name: &[u8]| skip_state && name == crate::apply::DEFAULT_SPOOL.as_bytes();
        let mut dir = rfs::Dir::new(fd).map_err(io_err)?;
        if let Some(Listing::Only(mut names)) = self.scope.as_ref().map(|s| s.listing(&rel)) {
            names.retain(|n| !is_state(n.as_bytes()));
            names.reverse();
            self.stack.push(Level { rel, dir, names });
            return Ok(());
        }
        let mut names = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name();
            if matches!(name.to_bytes(), b"." | b"..") || is_state(name.to_bytes()) {
                continue;
            }
            names.push(name.to_owned());
        }
        names.sort_unstable_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
        self.stack.push(Level { rel, dir, names });
        Ok(())
    }

    fn start(&mut self) -> Result<(), ScanError> {
        let meta = fs::metadata(&self.root).map_err(|source| ScanError::Io {
            path: self.root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ScanError::NotADirectory(self.root.clone()));
        }
        self.root_dev = Some(meta.dev());
        let fd = self.open_dir(&[], None)?;
        self.push_dir(Vec::new(), fd)
    }

    /// Names `path` as unreadable once, also when its attributes failed.
    fn note_unreadable(&mut self, path: &RelPath, source: io::Error) {
        if self.unreadable.last().map(|(p, _)| p) != Some(path) {
            tracing::info!(
                parent: &self.span,
                path = %path,
                error = %source,
                "unreadable entry skipped"
            );
            self.unreadable.push((path.clone(), source));
        }
    }

    fn step(&mut self) -> Result<Option<Entry>, ScanError> {
        if !self.started {
            self.started = true;
            self.start()?;
        }
        loop {
            let Some(level) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(name) = level.names.pop() else {
                self.stack.pop();
                continue;
            };
            let mut rel = level.rel.clone();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.as_bytes());
            let Some(level) = self.stack.last() else {
                return Ok(None);
            };
            let dir = level.dir.fd().map_err(|e| ScanError::Io {
                path: self.full(&rel),
                source: e.into(),
            })?;
            let io_err = |source: io::Error| ScanError::Io {
                path: self.full(&rel),
                source,
            };
            // Not following symlinks, relative to the open directory.
            let meta = match rfs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(m) => Meta::from(&m),
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(io_err(e.into())),
            };
            let path =
                RelPath::new(Bytes::from(rel.clone())).map_err(|reason| ScanError::BadPath {
                    path: self.full(&rel),
                    reason,
                })?;
            let mut entry = meta.entry(path);
            if let Some(since) = self.options.changed_since_ns {
                if entry.kind == EntryKind::File && meta.ctime_ns >= since {
                    entry.mtime_ns = SUSPECT_MTIME_NS;
                }
            }
            if entry.kind == EntryKind::Symlink {
                match rfs::readlinkat(dir, &name, Vec::new()) {
                    Ok(t) => entry.target = Bytes::from(t.into_bytes()),
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(io_err(e.into())),
                }
            }
            let mut unreadable = None;
            if let Some(scope) = self.options.xattrs {
                match xattr::read_at(dir, &name, || self.full(&rel), scope) {
                    Ok(attrs) => entry.xattrs = XattrDigest::of(&attrs),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e)
                        if self.options.skip_unreadable
                            && e.kind() == io::ErrorKind::PermissionDenied =>
                    {
                        tracing::info!(
                            parent: &self.span,
                            path = %entry.path,
                            error = %e,
                            "unreadable extended attributes skipped"
                        );
                        unreadable = Some(e);
                    }
                    Err(source) => return Err(io_err(source)),
                }
            }
            let sub = if entry.kind == EntryKind::Dir
                && (!self.options.one_file_system || Some(meta.dev) == self.root_dev)
            {
                Some(self.open_dir(&rel, Some(&name)))
            } else {
                None
            };
            if let Some(e) = unreadable {
                self.unreadable.push((entry.path.clone(), e));
            }
            self.stats.entries += 1;
            if entry.kind == EntryKind::File {
                self.stats.files += 1;
                self.stats.bytes += entry.size;
            }
            if entry.kind == EntryKind::Dir {
                if Some(meta.dev) != self.root_dev && !self.mount_devs.contains(&meta.dev) {
                    self.mount_devs.push(meta.dev);
                    self.mounts.push(entry.path.clone());
                }
                match sub {
                    None => {}
                    Some(Ok(fd)) => self.push_dir(rel, fd)?,
                    // Removed or replaced by another kind after it was
                    // listed: list it empty (the next run sees what is
                    // there now).
                    Some(Err(ScanError::Io { source, .. }))
                        if matches!(
                            source.raw_os_error(),
                            Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
                        ) => {}
                    Some(Err(ScanError::Io { source, .. }))
                        if self.options.skip_unreadable
                            && source.kind() == io::ErrorKind::PermissionDenied =>
                    {
                        self.note_unreadable(&entry.path, source);
                    }
                    Some(Err(e)) => return Err(e),
                }
            }
            return Ok(Some(entry));
        }
    }
}

impl Iterator for TreeScanner {
    type Item = Result<Entry, ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.step();
        match &r {
            Err(_) => self.failed = true,
            Ok(None) if !self.ended => {
                self.ended = true;
                tracing::debug!(
                    parent: &self.span,
                    entries = self.stats.entries,
                    files = self.stats.files,
                    bytes = self.stats.bytes,
                    "tree scanned"
                );
            }
            Ok(_) => {}
        }
        r.transpose()
    }
}

/// The signature entry for a file with metadata `meta` (from `lstat`), at
/// `path`. A symlink's target is left empty (read it with `read_link`).
pub fn entry_from(path: RelPath, meta: &Metadata) -> Entry {
    Meta::from(meta).entry(path)
}

/// What a scan uses of an entry's status, from `lstat` by either route.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    blocks: u64,
    nlink: u64,
    dev: u64,
    ino: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

fn nanos(secs: i64, nsecs: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsecs)
}

impl From<&Metadata> for Meta {
    fn from(m: &Metadata) -> Self {
        Self {
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            size: m.size(),
            blocks: m.blocks(),
            nlink: m.nlink(),
            dev: m.dev(),
            ino: m.ino(),
            mtime_ns: nanos(m.mtime(), m.mtime_nsec()),
            ctime_ns: nanos(m.ctime(), m.ctime_nsec()),
        }
    }
}

impl From<&rfs::Stat> for Meta {
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)] // field widths vary by target
    fn from(m: &rfs::Stat) -> Self {
        Self {
            mode: m.st_mode as u32,
            uid: m.st_uid as u32,
            gid: m.st_gid as u32,
            size: m.st_size as u64,
            blocks: m.st_blocks as u64,
            nlink: m.st_nlink as u64,
            dev: m.st_dev as u64,
            ino: m.st_ino as u64,
            mtime_ns: nanos(m.st_mtime as i64, m.st_mtime_nsec as i64),
            ctime_ns: nanos(m.st_ctime as i64, m.st_ctime_nsec as i64),
        }
    }
}

impl Meta {
    fn entry(&self, path: RelPath) -> Entry {
        let kind = match rfs::FileType::from_raw_mode(self.mode) {
            rfs::FileType::RegularFile => EntryKind::File,
            rfs::FileType::Directory => EntryKind::Dir,
            rfs::FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        };
        let mut entry = Entry::new(path, kind);
        entry.mtime_ns = self.mtime_ns;
        entry.mode = self.mode & 0o7777;
        entry.uid = self.uid;
        entry.gid = self.gid;
        if kind == EntryKind::File {
            entry.size = self.size;
            entry.sparse = self.blocks.saturating_mul(512) < self.size;
            if self.nlink > 1 {
                entry.link = Some(HardLink {
                    dev: self.dev,
                    ino: self.ino,
                });
            }
        }
        entry
    }
}

/// The root directory's own attributes, as an entry named `path`.
pub fn root_entry(root: &Path, path: RelPath) -> io::Result<Entry> {
    Ok(entry_from(path, &fs::metadata(root)?))
}

/// Scans `root` into a tree signature written to `sink`; returns the totals.
pub fn scan_to_signature<W: io::Write>(
    root: &Path,
    options: ScanOptions,
    sink: W,
) -> Result<(ScanStats, W), ScanError> {
    signature_of(TreeScanner::new(root, options), sink)
}

/// Writes what `scanner` yields as a tree signature to `sink`; returns the
/// totals.
pub fn signature_of<W: io::Write>(
    mut scanner: TreeScanner,
    sink: W,
) -> Result<(ScanStats, W), ScanError> {
    let mut writer = TreeWriter::new(sink);
    for entry in &mut scanner {
        writer.push(&entry?)?;
    }
    Ok((scanner.stats(), writer.finish()?))
}
