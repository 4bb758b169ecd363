//! The narrow storage interface under the rewind log, with a file-backed, an
//! in-memory (crash-simulating) and a fault-injecting implementation.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A flat set of named byte files: all the rewind log needs from a medium.
///
/// Writes become durable only when [`sync`](Self::sync) returns for that file
/// (a new file's name included); [`remove`](Self::remove) and
/// [`set_len`](Self::set_len) are made durable by the next `sync` of any file.
pub trait LogStorage {
    /// The names of every file.
    fn list(&mut self) -> io::Result<Vec<String>>;
    /// The length of `name` in bytes.
    fn len(&mut self, name: &str) -> io::Result<u64>;
    /// Fills `buf` from `offset` of `name`; fails if the file is shorter.
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes `data` at `offset` of `name`, creating the file if needed.
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Cuts or extends `name` to `len` bytes.
    fn set_len(&mut self, name: &str, len: u64) -> io::Result<()>;
    /// Makes `name` (its contents and its existence) durable.
    fn sync(&mut self, name: &str) -> io::Result<()>;
    /// Removes `name`.
    fn remove(&mut self, name: &str) -> io::Result<()>;
}

impl<S: LogStorage + ?Sized> LogStorage for Box<S> {
    fn list(&mut self) -> io::Result<Vec<String>> {
        (**self).list()
    }
    fn len(&mut self, name: &str) -> io::Result<u64> {
        (**self).len(name)
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_at(name, offset, buf)
    }
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        (**self).write_at(name, offset, data)
    }
    fn set_len(&mut self, name: &str, len: u64) -> io::Result<()> {
        (**self).set_len(name, len)
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        (**self).sync(name)
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        (**self).remove(name)
    }
}

/// Files in one directory. `sync` is `fdatasync`, plus an `fsync` of the
/// directory the first time a new file is synced and after removals.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    open: HashMap<String, File>,
    dir_dirty: bool,
}

impl FileStorage {
    /// Storage in `dir`, created if missing.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            open: HashMap::new(),
            dir_dirty: false,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&mut self, name: &str) -> io::Result<&File> {
        if name.contains('/') || name.starts_with('.') || name.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad log file name '{name}'"),
            ));
        }
        if !self.open.contains_key(name) {
            let path = self.dir.join(name);
            let existed = path.exists();
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            self.dir_dirty |= !existed;
            self.open.insert(name.to_owned(), f);
        }
        self.open
            .get(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_owned()))
    }

    fn sync_dir(&mut self) -> io::Result<()> {
        if self.dir_dirty {
            File::open(&self.dir)?.sync_all()?;
            self.dir_dirty = false;
        }
        Ok(())
    }
}

impl LogStorage for FileStorage {
    fn list(&mut self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            if e.file_type()?.is_file() {
                if let Some(n) = e.file_name().to_str() {
                    names.push(n.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }
    fn len(&mut self, name: &str) -> io::Result<u64> {
        Ok(self.file(name)?.metadata()?.len())
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file(name)?.read_exact_at(buf, offset)
    }
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file(name)?.write_all_at(data, offset)
    }
    fn set_len(&mut self, name: &str, len: u64) -> io::Result<()> {
        self.file(name)?.set_len(len)
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        self.file(name)?.sync_data()?;
        self.sync_dir()
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.open.remove(name);
        fs::remove_file(self.dir.join(name))?;
        self.dir_dirty = true;
        self.sync_dir()
    }
}

#[derive(Debug, Default)]
struct MemFile {
    data: Vec<u8>,
    durable: Option<Vec<u8>>,
}

/// In-memory storage that remembers what was synced, so a test can simulate
/// a power cut with [`crash`](Self::crash). Clones share the same files.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    files: Arc<Mutex<BTreeMap<String, MemFile>>>,
}

impl MemStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, MemFile>> {
        match self.files.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Forgets every write that was not synced: files never synced vanish,
    /// the others go back to their contents at their last sync.
    pub fn crash(&self) {
        let mut files = self.lock();
        files.retain(|_, f| f.durable.is_some());
        for f in files.values_mut() {
            if let Some(d) = &f.durable {
                f.data = d.clone();
            }
        }
    }

    /// Total bytes held.
    pub fn total_len(&self) -> u64 {
        self.lock().values().map(|f| f.data.len() as u64).sum()
    }
}

fn missing(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no log file '{name}'"))
}

impl LogStorage for MemStorage {
    fn list(&mut self) -> io::Result<Vec<String>> {
        Ok(self.lock().keys().cloned().collect())
    }
    fn len(&mut self, name: &str) -> io::Result<u64> {
        let files = self.lock();
        Ok(files.get(name).ok_or_else(|| missing(name))?.data.len() as u64)
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let files = self.lock();
        let f = files.get(name).ok_or_else(|| missing(name))?;
        let end = offset.checked_add(buf.len() as u64);
        match end {
            Some(end) if end <= f.data.len() as u64 => {
                buf.copy_from_slice(&f.data[offset as usize..end as usize]);
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("'{name}' ends before byte {offset}+{}", buf.len()),
            )),
        }
    }
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut files = self.lock();
        let f = files.entry(name.to_owned()).or_default();
        let end = offset as usize + data.len();
        if f.data.len() < end {
            f.data.resize(end, 0);
        }
        f.data[offset as usize..end].copy_from_slice(data);
        Ok(())
    }
    fn set_len(&mut self, name: &str, len: u64) -> io::Result<()> {
        let mut files = self.lock();
        files
            .entry(name.to_owned())
            .or_default()
            .data
            .resize(len as usize, 0);
        Ok(())
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        let mut files = self.lock();
        let f = files.get_mut(name).ok_or_else(|| missing(name))?;
        f.durable = Some(f.data.clone());
        Ok(())
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.lock()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| missing(name))
    }
}

/// A shared countdown of steps: each step taken through a
/// [`FaultStorage`] (or any user of [`Countdown::step`]) uses one, and once
/// none are left every step fails, as if the process had stopped there.
#[derive(Debug, Clone)]
pub struct Countdown(Arc<AtomicI64>);

impl Countdown {
    /// A countdown allowing `steps` steps.
    pub fn new(steps: i64) -> Self {
        Self(Arc::new(AtomicI64::new(steps)))
    }
    /// A countdown that never runs out.
    pub fn unlimited() -> Self {
        Self::new(i64::MAX)
    }
    /// Uses one step; fails once none are left.
    pub fn step(&self) -> io::Result<()> {
        if self.0.fetch_sub(1, Ordering::SeqCst) <= 0 {
            self.0.store(0, Ordering::SeqCst);
            Err(io::Error::other("injected fault: stopped here"))
        } else {
            Ok(())
        }
    }
    /// Steps left (0 once exhausted).
    pub fn left(&self) -> i64 {
        self.0.load(Ordering::SeqCst).max(0)
    }
    /// Resets the countdown to `steps`.
    pub fn set(&self, steps: i64) {
        self.0.store(steps, Ordering::SeqCst);
    }
}

/// Storage that fails every changing call once its [`Countdown`] runs out.
#[derive(Debug)]
pub struct FaultStorage<S> {
    inner: S,
    countdown: Countdown,
}

impl<S> FaultStorage<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, countdown: Countdown) -> Self {
        Self { inner, countdown }
    }
}

impl<S: LogStorage> LogStorage for FaultStorage<S> {
    fn list(&mut self) -> io::Result<Vec<String>> {
        self.inner.list()
    }
    fn len(&mut self, name: &str) -> io::Result<u64> {
        self.inner.len(name)
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(name, offset, buf)
    }
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        self.countdown.step()?;
        self.inner.write_at(name, offset, data)
    }
    fn set_len(&mut self, name: &str, len: u64) -> io::Result<()> {
        self.countdown.step()?;
        self.inner.set_len(name, len)
    }
    fn sync(&mut self, name: &str) -> io::Result<()> {
        self.countdown.step()?;
        self.inner.sync(name)
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.countdown.step()?;
        self.inner.remove(name)
    }
}
