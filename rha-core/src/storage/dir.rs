//! Storage in a real directory.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::backend::{Storage, StorageFile};

/// Storage in a real directory.
///
/// Opening takes an exclusive advisory lock (`flock`) on a file named
/// `lock` in the directory, so two processes (or two handles in one
/// process) never use the same directory; the lock is released when the
/// last clone (or [`subdir`](Self::subdir)) is dropped. A held lock fails
/// the open with a [`LockHeld`] that says whether this process holds it.
#[derive(Debug, Clone)]
pub struct DirStorage {
    inner: Arc<DirInner>,
}

#[derive(Debug)]
struct DirInner {
    path: PathBuf,
    dir: File,
    _lock: Arc<HeldLock>,
}

/// The locks this process holds, by (device, inode) of the lock file: so a
/// lock found held can be said to be held here or by another process
/// (`flock` refuses a second lock through another open file either way).
static HELD: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// Runs `f` on the list of held locks (a panic elsewhere while it was
/// locked does not make the list wrong: each change is one push or remove).
fn with_held<T>(f: impl FnOnce(&mut Vec<(u64, u64)>) -> T) -> T {
    let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut held)
}

/// A locked lock file, listed in [`HELD`] until dropped.
#[derive(Debug)]
struct HeldLock {
    _file: File,
    key: (u64, u64),
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        with_held(|held| {
            if let Some(i) = held.iter().position(|k| *k == self.key) {
                held.swap_remove(i);
            }
        });
    }
}

/// Why [`DirStorage::open`] failed with [`io::ErrorKind::WouldBlock`]: the
/// directory's lock is held, by this process (another handle on the same
/// directory) or by another one. [`lock_held`] finds it in the error.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} is in use by {}",
    path.display(),
    if *by_this_process { "this process (another handle on it is open)" } else { "another process" }
)]
pub struct LockHeld {
    /// The locked directory.
    pub path: PathBuf,
    /// Whether the holder is this process.
    pub by_this_process: bool,
}

/// The [`LockHeld`] inside an error from [`DirStorage::open`], if that is
/// why it failed.
pub fn lock_held(e: &io::Error) -> Option<&LockHeld> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LockHeld>())
}

/// The name of the lock file [`DirStorage`] keeps in its directory.
pub const LOCK_FILE: &str = "lock";

/// How often, and how long apart, [`DirStorage::open`] tries a lock that
/// is held before it reports the directory busy (about a quarter second).
const LOCK_RETRIES: u32 = 25;
const LOCK_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

impl DirStorage {
    /// Opens (creating it and its parents if needed) the directory `path`
    /// and locks it. Fails with [`io::ErrorKind::WouldBlock`], carrying a
    /// [`LockHeld`], if the lock is held: at once if this process holds it,
    /// else after retrying for about a quarter second (so a lock just
    /// released by a process that is exiting, or held by a child between
    /// fork and exec, does not count).
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        fs::create_dir_all(&path)?;
        let dir = File::open(&path)?;
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path.join(LOCK_FILE))?;
        let meta = lock.metadata()?;
        let key = (meta.dev(), meta.ino());
        let held = |by_this_process| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                LockHeld {
                    path: path.clone(),
                    by_this_process,
                },
            )
        };
        if with_held(|held| held.contains(&key)) {
            return Err(held(true));
        }
        // A lock released a moment ago can still be held by a copy of its
        // descriptor in a child process between fork and exec (any thread
        // of the holder that spawns a program makes one): retry for a
        // short while before calling the directory busy.
        let mut tries = 0;
        loop {
            match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(e) if e == rustix::io::Errno::WOULDBLOCK && tries < LOCK_RETRIES => {
                    tries += 1;
                    std::thread::sleep(LOCK_RETRY_PAUSE);
                }
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    // Another thread of this process may have taken it meanwhile.
                    return Err(held(with_held(|held| held.contains(&key))));
                }
                Err(e) => return Err(e.into()),
            }
        }
        with_held(|held| held.push(key));
        Ok(Self {
            inner: Arc::new(DirInner {
                path,
                dir,
                _lock: Arc::new(HeldLock { _file: lock, key }),
            }),
        })
    }

    /// Storage in the subdirectory `name`, created (and its entry made
    /// durable) if missing. It is covered by this storage's lock and takes
    /// none of its own.
    pub fn subdir(&self, name: &str) -> io::Result<Self> {
        let path = self.join(name)?;
        match fs::create_dir(&path) {
            Ok(()) => self.sync_dir()?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let dir = File::open(&path)?;
        Ok(Self {
            inner: Arc::new(DirInner {
                path,
                dir,
                _lock: self.inner._lock.clone(),
            }),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn join(&self, name: &str) -> io::Result<PathBuf> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid storage file name {name:?}"),
            ));
        }
        Ok(self.inner.path.join(name))
    }
}

impl Storage for DirStorage {
    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.inner.path)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Ok(name) = entry.file_name().into_string() {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    fn open(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        let path = self.join(name)?;
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        Ok(Arc::new(RealFile { file, path }))
    }

    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        let path = self.join(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        Ok(Arc::new(RealFile { file, path }))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.join(name)?)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.join(from)?, self.join(to)?)
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.inner.dir.sync_all()
    }

    fn free_space(&self) -> io::Result<u64> {
        let st = rustix::fs::fstatvfs(&self.inner.dir)?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }
}

#[derive(Debug)]
struct RealFile {
    file: File,
    path: PathBuf,
}

impl RealFile {
    fn context(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
    }
}

impl StorageFile for RealFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata().map_err(|e| self.context(e))?.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| self.context(e))
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file
            .write_all_at(data, offset)
            .map_err(|e| self.context(e))
    }

    fn write_vectored_at(&self, mut offset: u64, bufs: &[&[u8]]) -> io::Result<()> {
        // `pwritev` takes at most `IOV_MAX` (1024 on Linux) slices, and may
        // write less than asked: go on from where it stopped.
        const IOV_MAX: usize = 1024;
        let mut left: Vec<&[u8]> = bufs.iter().copied().filter(|b| !b.is_empty()).collect();
        let mut first = 0;
        while first < left.len() {
            let end = left.len().min(first + IOV_MAX);
            let slices: Vec<io::IoSlice<'_>> = left[first..end]
                .iter()
                .map(|b| io::IoSlice::new(b))
                .collect();
            let mut n = match rustix::io::pwritev(&self.file, &slices, offset) {
                Ok(0) => return Err(self.context(io::ErrorKind::WriteZero.into())),
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(self.context(e.into())),
            };
            offset += n as u64;
            while n > 0 {
                let len = left[first].len();
                if n >= len {
                    n -= len;
                    first += 1;
                } else {
                    left[first] = &left[first][n..];
                    n = 0;
                }
            }
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len).map_err(|e| self.context(e))
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data().map_err(|e| self.context(e))
    }

    fn write_back(&self, offset: u64, len: u64) -> io::Result<()> {
        // Linux starts writeback of the range's dirty pages for
        // `POSIX_FADV_DONTNEED` and drops only the clean ones: the log's
        // written pages are not read again while applying.
        let Some(len) = std::num::NonZeroU64::new(len) else {
            return Ok(());
        };
        rustix::fs::fadvise(&self.file, offset, Some(len), rustix::fs::Advice::DontNeed)
            .map_err(|e| self.context(e.into()))
    }

    fn map(&self, len: u64) -> io::Result<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("file too large to map"))?;
        if self.len()? < len as u64 {
            return Err(self.context(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("cannot map {len} bytes: the file is shorter"),
            )));
        }
        // SAFETY: callers map only sealed files, which no one writes to or
        // truncates any more: the segment store never changes a sealed
        // segment, reuses a reclaimed segment's file only once no reader
        // or mapped buffer of it is alive (`Segment::pin`), and the
        // directory lock keeps other rha processes out. A
        // foreign process truncating the file would make reads fault; that
        // is outside what the store supports (docs/spool-format.md).
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&self.file) }
            .map_err(|e| self.context(e))?;
        Ok(Bytes::from_owner(map))
    }
}
