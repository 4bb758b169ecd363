//! Fault injection: a storage wrapper that fails chosen calls.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;

use super::backend::{Storage, StorageFile};

/// Which counted call fails, and what happens after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FaultPlan {
    /// No call fails; calls are only counted.
    #[default]
    Never,
    /// The call with this number fails; later calls go through, as after
    /// an isolated I/O error.
    FailAt(u64),
    /// The call with this number and every later call fail, as if the
    /// process had stopped there.
    StopAt(u64),
}

/// A shared count of calls that fails them according to a [`FaultPlan`]:
/// the countdown fault injector.
///
/// Every counted call gets the next number from 0: each call on a
/// [`FaultInjector`]'s storage or on a file it opened (reads included), and
/// each [`step`](Self::step) another test double (a replica target, say)
/// takes to share the same count. A test runs a workload once under
/// [`FaultPlan::Never`] to learn how many calls it makes
/// ([`calls`](Self::calls)), then once per call with that call failing.
/// Clones share the count and the plan.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    plan: FaultPlan,
    calls: u64,
    failed: Option<&'static str>,
}

impl Faults {
    /// A count under `plan`, starting at 0.
    pub fn new(plan: FaultPlan) -> Self {
        let faults = Self::default();
        faults.set(plan);
        faults
    }

    /// Replaces the plan; the count starts again from 0 and the failed call
    /// is forgotten.
    pub fn set(&self, plan: FaultPlan) {
        let mut s = self.inner.lock();
        s.plan = plan;
        s.calls = 0;
        s.failed = None;
    }

    /// Calls counted since the plan was last set.
    pub fn calls(&self) -> u64 {
        self.inner.lock().calls
    }

    /// The kind of the first call that failed (`"write_at"`, `"sync"`, ...),
    /// once one has.
    pub fn failed_call(&self) -> Option<&'static str> {
        self.inner.lock().failed
    }

    /// Counts one call of kind `what`; an error if the plan fails it.
    pub fn step(&self, what: &'static str) -> io::Result<()> {
        let mut s = self.inner.lock();
        let n = s.calls;
        s.calls += 1;
        let fail = match s.plan {
            FaultPlan::Never => false,
            FaultPlan::FailAt(at) => n == at,
            FaultPlan::StopAt(at) => n >= at,
        };
        if !fail {
            return Ok(());
        }
        s.failed.get_or_insert(what);
        Err(io::Error::other(format!(
            "injected fault at call {n} ({what})"
        )))
    }
}

/// Wraps a storage and fails the calls its [`Faults`] plan chooses.
///
/// Every call on the storage and on the files it opens is counted (see
/// [`Faults`]); a failed call returns an error without reaching the inner
/// storage.
#[derive(Clone)]
pub struct FaultInjector {
    inner: Arc<dyn Storage>,
    faults: Faults,
}

impl std::fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultInjector")
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl FaultInjector {
    /// Wraps `inner`, counting its calls in `faults`.
    pub fn new(inner: Arc<dyn Storage>, faults: Faults) -> Self {
        Self { inner, faults }
    }

    fn wrap(&self, file: Arc<dyn StorageFile>) -> Arc<dyn StorageFile> {
        Arc::new(FaultyFile {
            inner: file,
            faults: self.faults.clone(),
        })
    }
}

impl Storage for FaultInjector {
    fn list(&self) -> io::Result<Vec<String>> {
        self.faults.step("list")?;
        self.inner.list()
    }
    fn open(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        self.faults.step("open")?;
        Ok(self.wrap(self.inner.open(name)?))
    }
    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        self.faults.step("create")?;
        Ok(self.wrap(self.inner.create(name)?))
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        self.faults.step("remove")?;
        self.inner.remove(name)
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.faults.step("rename")?;
        self.inner.rename(from, to)
    }
    fn sync_dir(&self) -> io::Result<()> {
        self.faults.step("sync_dir")?;
        self.inner.sync_dir()
    }
    fn free_space(&self) -> io::Result<u64> {
        self.faults.step("free_space")?;
        self.inner.free_space()
    }
}

struct FaultyFile {
    inner: Arc<dyn StorageFile>,
    faults: Faults,
}

impl StorageFile for FaultyFile {
    fn len(&self) -> io::Result<u64> {
        self.faults.step("len")?;
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.faults.step("read_at")?;
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.faults.step("write_at")?;
        self.inner.write_at(offset, data)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.faults.step("set_len")?;
        self.inner.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        self.faults.step("sync")?;
        self.inner.sync()
    }
    fn write_back(&self, offset: u64, len: u64) -> io::Result<()> {
        self.faults.step("write_back")?;
        self.inner.write_back(offset, len)
    }
    fn map(&self, len: u64) -> io::Result<bytes::Bytes> {
        self.faults.step("map")?;
        self.inner.map(len)
    }
}
