//! Scanning a real directory tree into tree signature entries.

use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rha_core::journal::RelPath;
use rha_core::signature::tree::{
    Entry, EntryKind, HardLink, TreeWriteError, TreeWriter, XattrDigest,
};

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
    /// Its children, sorted by name, not yet visited (reversed: pop from
    /// the end). A `DirEntry` keeps the directory open, so its metadata is
    /// read relative to it (`fstatat`) rather than by walking the full path.
    names: Vec<fs::DirEntry>,
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
        }
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

    fn push_dir(&mut self, rel: Vec<u8>) -> Result<(), ScanError> {
        let path = self.full(&rel);
        let io_err = |source| ScanError::Io {
            path: path.clone(),
            source,
        };
        let mut names = Vec::new();
        let skip_state = rel.is_empty() && !self.options.include_state_dir;
        for entry in fs::read_dir(&path).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            if skip_state && entry.file_name().as_bytes() == crate::apply::DEFAULT_SPOOL.as_bytes()
            {
                continue;
            }
            names.push(entry);
        }
        names.sort_unstable_by(|a, b| b.file_name().as_bytes().cmp(a.file_name().as_bytes()));
        self.stack.push(Level { rel, names });
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
        self.push_dir(Vec::new())
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
            let Some(dirent) = level.names.pop() else {
                self.stack.pop();
                continue;
            };
            let mut rel = level.rel.clone();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(dirent.file_name().as_bytes());
            // Not following symlinks, relative to the open directory.
            let meta = match dirent.metadata() {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(ScanError::Io {
                        path: dirent.path(),
                        source,
                    })
                }
            };
            let path =
                RelPath::new(Bytes::from(rel.clone())).map_err(|reason| ScanError::BadPath {
                    path: dirent.path(),
                    reason,
                })?;
            let mut entry = entry_from(path, &meta);
            if let Some(since) = self.options.changed_since_ns {
                let ctime = meta
                    .ctime()
                    .saturating_mul(1_000_000_000)
                    .saturating_add(meta.ctime_nsec());
                if entry.kind == EntryKind::File && ctime >= since {
                    entry.mtime_ns = SUSPECT_MTIME_NS;
                }
            }
            if entry.kind == EntryKind::Symlink {
                let full = dirent.path();
                match fs::read_link(&full) {
                    Ok(t) => entry.target = Bytes::copy_from_slice(t.as_os_str().as_bytes()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(ScanError::Io { path: full, source }),
                }
            }
            if let Some(scope) = self.options.xattrs {
                let full = dirent.path();
                match xattr::read(&full, scope) {
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
                        self.unreadable.push((entry.path.clone(), e));
                    }
                    Err(source) => return Err(ScanError::Io { path: full, source }),
                }
            }
            self.stats.entries += 1;
            if entry.kind == EntryKind::File {
                self.stats.files += 1;
                self.stats.bytes += entry.size;
            }
            if entry.kind == EntryKind::Dir {
                let dev = meta.dev();
                if Some(dev) != self.root_dev && !self.mount_devs.contains(&dev) {
                    self.mount_devs.push(dev);
                    self.mounts.push(entry.path.clone());
                }
                let same_fs = !self.options.one_file_system || Some(meta.dev()) == self.root_dev;
                if same_fs {
                    match self.push_dir(rel) {
                        Ok(()) => {}
                        // Removed after it was listed: list it empty.
                        Err(ScanError::Io { source, .. })
                            if source.kind() == io::ErrorKind::NotFound => {}
                        Err(ScanError::Io { source, .. })
                            if self.options.skip_unreadable
                                && source.kind() == io::ErrorKind::PermissionDenied =>
                        {
                            // Named once, also when its attributes failed.
                            if self.unreadable.last().map(|(p, _)| p) != Some(&entry.path) {
                                tracing::info!(
                                    parent: &self.span,
                                    path = %entry.path,
                                    error = %source,
                                    "unreadable entry skipped"
                                );
                                self.unreadable.push((entry.path.clone(), source));
                            }
                        }
                        Err(e) => return Err(e),
                    }
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
    let ft = meta.file_type();
    let kind = if ft.is_file() {
        EntryKind::File
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::Other
    };
    let mut entry = Entry::new(path, kind);
    entry.mtime_ns = meta
        .mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec());
    entry.mode = meta.mode() & 0o7777;
    entry.uid = meta.uid();
    entry.gid = meta.gid();
    if kind == EntryKind::File {
        entry.size = meta.size();
        entry.sparse = meta.blocks().saturating_mul(512) < meta.size();
        if meta.nlink() > 1 {
            entry.link = Some(HardLink {
                dev: meta.dev(),
                ino: meta.ino(),
            });
        }
    }
    entry
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
    let mut scanner = TreeScanner::new(root, options);
    let mut writer = TreeWriter::new(sink);
    for entry in &mut scanner {
        writer.push(&entry?)?;
    }
    Ok((scanner.stats(), writer.finish()?))
}
