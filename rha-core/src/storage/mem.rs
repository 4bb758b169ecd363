//! In-memory storage with a crash model.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::Arc;

use parking_lot::Mutex;

use super::backend::{Storage, StorageFile};

/// Where a [`MemStorage`] crashes.
///
/// Syncs (file syncs and directory syncs) and writes (`write_at` and
/// `set_len`) are numbered from 0 in the order they happen. Once the storage
/// has crashed, every call fails, as if the process had died.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrashPlan {
    /// Crash at this sync: it fails and takes no effect.
    pub at_sync: Option<u64>,
    /// Crash at this write, after only this many of its bytes reached the
    /// live image (for `set_len`, any cut leaves the length unchanged).
    pub cut_write: Option<(u64, usize)>,
}

/// What a [`MemStorage`] has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStats {
    /// Syncs performed (file and directory).
    pub syncs: u64,
    /// The length of every write (`write_at`; `set_len` counts as 0 bytes),
    /// in order.
    pub writes: Vec<usize>,
}

/// Storage in memory that keeps two images of its files, for crash tests.
///
/// The *live* image is what reads see: every write, creation, removal and
/// rename as it happens. The *durable* image is what a power cut would
/// leave: a file's contents as of its last `sync`, and the directory's
/// entries as of the last `sync_dir` (a file created and synced but not yet
/// named durably is lost). [`durable_image`](Self::durable_image) and
/// [`live_image`](Self::live_image) return either as a fresh storage to
/// reopen; the live image stands for the luckiest crash (everything written
/// reached the disk), the durable image for the unluckiest. A [`CrashPlan`]
/// freezes the storage at a chosen sync or cuts a chosen write short.
///
/// Clones share the same files. Free space is unlimited unless set with
/// [`set_capacity`](Self::set_capacity).
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    inner: Arc<Mutex<MemState>>,
}

#[derive(Debug, Default)]
struct MemState {
    files: HashMap<u64, MemData>,
    live_dir: BTreeMap<String, u64>,
    durable_dir: BTreeMap<String, u64>,
    next_id: u64,
    capacity: Option<u64>,
    plan: CrashPlan,
    stats: MemStats,
    crashed: bool,
}

#[derive(Debug, Default, Clone)]
struct MemData {
    live: Vec<u8>,
    durable: Vec<u8>,
}

fn crashed() -> io::Error {
    io::Error::other("storage crashed (simulated)")
}

impl MemState {
    fn check(&self) -> io::Result<()> {
        if self.crashed {
            Err(crashed())
        } else {
            Ok(())
        }
    }

    /// Counts a sync; `Err` if it is the one the plan crashes at.
    fn sync_point(&mut self) -> io::Result<()> {
        self.check()?;
        let n = self.stats.syncs;
        self.stats.syncs += 1;
        if self.plan.at_sync == Some(n) {
            self.crashed = true;
            return Err(crashed());
        }
        Ok(())
    }

    /// Counts a write of `len` bytes; `Some(keep)` if the plan cuts it.
    fn write_point(&mut self, len: usize) -> io::Result<Option<usize>> {
        self.check()?;
        let n = self.stats.writes.len() as u64;
        self.stats.writes.push(len);
        match self.plan.cut_write {
            Some((at, keep)) if at == n => {
                self.crashed = true;
                Ok(Some(keep.min(len)))
            }
            _ => Ok(None),
        }
    }

    fn data(&mut self, id: u64) -> io::Result<&mut MemData> {
        self.files
            .get_mut(&id)
            .ok_or_else(|| io::Error::other("file vanished"))
    }

    fn image(&self, durable: bool) -> MemState {
        let dir = if durable {
            &self.durable_dir
        } else {
            &self.live_dir
        };
        let mut out = MemState {
            capacity: self.capacity,
            ..MemState::default()
        };
        for (name, id) in dir {
            let Some(data) = self.files.get(id) else {
                continue;
            };
            let bytes = if durable { &data.durable } else { &data.live };
            let new_id = out.next_id;
            out.next_id += 1;
            out.files.insert(
                new_id,
                MemData {
                    live: bytes.clone(),
                    durable: bytes.clone(),
                },
            );
            out.live_dir.insert(name.clone(), new_id);
            out.durable_dir.insert(name.clone(), new_id);
        }
        out
    }
}

impl MemStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets where to crash; counting starts again from 0.
    pub fn set_plan(&self, plan: CrashPlan) {
        let mut s = self.inner.lock();
        s.plan = plan;
        s.stats = MemStats::default();
        s.crashed = false;
    }

    /// The syncs and writes seen since the plan was last set.
    pub fn stats(&self) -> MemStats {
        self.inner.lock().stats.clone()
    }

    /// Whether the plan's crash has happened.
    pub fn crashed(&self) -> bool {
        self.inner.lock().crashed
    }

    /// Limits the space: free space is `capacity` minus the live files'
    /// bytes. `None`: unlimited.
    pub fn set_capacity(&self, capacity: Option<u64>) {
        self.inner.lock().capacity = capacity;
    }

    /// A new storage holding what a crash that lost everything unsynced
    /// would leave.
    pub fn durable_image(&self) -> MemStorage {
        MemStorage {
            inner: Arc::new(Mutex::new(self.inner.lock().image(true))),
        }
    }

    /// A new storage holding everything written so far, as if it had all
    /// reached the disk before the crash.
    pub fn live_image(&self) -> MemStorage {
        MemStorage {
            inner: Arc::new(Mutex::new(self.inner.lock().image(false))),
        }
    }

    /// The live contents of the file `name`, if it exists.
    pub fn contents(&self, name: &str) -> Option<Vec<u8>> {
        let s = self.inner.lock();
        let id = s.live_dir.get(name)?;
        s.files.get(id).map(|d| d.live.clone())
    }

    /// Replaces the live and durable contents of the file `name`, creating
    /// it (durably) if needed: to plant damage in tests.
    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        let mut s = self.inner.lock();
        let id = match s.live_dir.get(name) {
            Some(&id) => id,
            None => {
                let id = s.next_id;
                s.next_id += 1;
                s.live_dir.insert(name.to_string(), id);
                s.durable_dir.insert(name.to_string(), id);
                id
            }
        };
        s.files.insert(
            id,
            MemData {
                live: bytes.clone(),
                durable: bytes,
            },
        );
    }
}

impl Storage for MemStorage {
    fn list(&self) -> io::Result<Vec<String>> {
        let s = self.inner.lock();
        s.check()?;
        Ok(s.live_dir.keys().cloned().collect())
    }

    fn open(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        let s = self.inner.lock();
        s.check()?;
        let id = *s.live_dir.get(name).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file"))
        })?;
        Ok(Arc::new(MemFile {
            inner: self.inner.clone(),
            id,
        }))
    }

    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        let mut s = self.inner.lock();
        s.check()?;
        let id = s.next_id;
        s.next_id += 1;
        s.files.insert(id, MemData::default());
        s.live_dir.insert(name.to_string(), id);
        Ok(Arc::new(MemFile {
            inner: self.inner.clone(),
            id,
        }))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        let mut s = self.inner.lock();
        s.check()?;
        s.live_dir
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file")))
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut s = self.inner.lock();
        s.check()?;
        let id = s.live_dir.remove(from).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{from}: no such file"))
        })?;
        s.live_dir.insert(to.to_string(), id);
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut s = self.inner.lock();
        s.sync_point()?;
        s.durable_dir = s.live_dir.clone();
        Ok(())
    }

    fn free_space(&self) -> io::Result<u64> {
        let s = self.inner.lock();
        s.check()?;
        let Some(capacity) = s.capacity else {
            return Ok(u64::MAX / 2);
        };
        let used: u64 = s
            .live_dir
            .values()
            .filter_map(|id| s.files.get(id))
            .map(|d| d.live.len() as u64)
            .sum();
        Ok(capacity.saturating_sub(used))
    }
}

#[derive(Debug)]
struct MemFile {
    inner: Arc<Mutex<MemState>>,
    id: u64,
}

impl StorageFile for MemFile {
    fn len(&self) -> io::Result<u64> {
        let mut s = self.inner.lock();
        s.check()?;
        Ok(s.data(self.id)?.live.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut s = self.inner.lock();
        s.check()?;
        let data = &s.data(self.id)?.live;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let src = start
            .checked_add(buf.len())
            .and_then(|end| data.get(start..end))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut s = self.inner.lock();
        let cut = s.write_point(data.len())?;
        let keep = cut.unwrap_or(data.len());
        let start = usize::try_from(offset).map_err(|_| io::Error::other("offset too large"))?;
        let file = &mut s.data(self.id)?.live;
        if file.len() < start + keep {
            file.resize(start + keep, 0);
        }
        file[start..start + keep].copy_from_slice(&data[..keep]);
        if cut.is_some() {
            return Err(crashed());
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut s = self.inner.lock();
        if s.write_point(0)?.is_some() {
            return Err(crashed());
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("length too large"))?;
        s.data(self.id)?.live.resize(len, 0);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut s = self.inner.lock();
        s.sync_point()?;
        let data = s.data(self.id)?;
        data.durable = data.live.clone();
        Ok(())
    }
}
