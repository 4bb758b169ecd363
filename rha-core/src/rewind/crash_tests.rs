//! Crash consistency of the replica engine: a rewind or an apply is cut at
//! a random step (a storage call or a change to the target, counted by one
//! shared fault plan), the storage is reduced to what was durable, and the
//! reopened replica must finish or resume to exactly the right tree.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use super::tests::{apply_all, config, fresh_model, raw, valid_sequence};
use super::*;
use crate::journal::{Op, RelPath};
use crate::storage::{FaultInjector, FaultPlan, Faults, MemStorage};

/// A target that stops (fails) where a fault plan shared with the storage
/// says: its changes are counted calls too.
#[derive(Debug)]
struct Stopping {
    inner: ModelTree,
    faults: Faults,
}

impl PreImage for Stopping {
    fn stat(&mut self, p: &RelPath) -> io::Result<Option<NodeMeta>> {
        self.inner.stat(p)
    }
    fn read(&mut self, p: &RelPath, o: u64, l: u64) -> io::Result<Vec<u8>> {
        self.inner.read(p, o, l)
    }
    fn read_link(&mut self, p: &RelPath) -> io::Result<Bytes> {
        self.inner.read_link(p)
    }
    fn xattr(&mut self, p: &RelPath, n: &[u8]) -> io::Result<Option<Bytes>> {
        self.inner.xattr(p, n)
    }
    fn xattrs(&mut self, p: &RelPath) -> io::Result<Vec<(Bytes, Bytes)>> {
        self.inner.xattrs(p)
    }
    fn other_link(&mut self, p: &RelPath) -> io::Result<Option<RelPath>> {
        self.inner.other_link(p)
    }
    fn volume_len(&mut self, v: u32) -> io::Result<u64> {
        self.inner.volume_len(v)
    }
    fn volume_read(&mut self, v: u32, o: u64, l: u64) -> io::Result<Vec<u8>> {
        self.inner.volume_read(v, o, l)
    }
}

impl Target for Stopping {
    fn apply(&mut self, op: &Op) -> io::Result<()> {
        self.faults.step("apply")?;
        self.inner.apply(op)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.faults.step("target sync")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A rewind cut at any step (storage or target) finishes after reopening.
    #[test]
    fn rewind_resumes_after_crash(
        raws in proptest::collection::vec(raw(), 1..24),
        pick in any::<u16>(),
        cut in 0u64..60,
    ) {
        let (recs, states) = valid_sequence(&raws);
        prop_assume!(!recs.is_empty());
        let n = recs.len();
        let k = pick as usize % n;
        let mem = MemStorage::new();
        let faults = Faults::new(FaultPlan::Never);
        let target = Stopping { inner: fresh_model(), faults: faults.clone() };
        let storage = FaultInjector::new(Arc::new(mem.clone()), faults.clone());
        let mut r = Replica::open(target, storage, config(3 + (cut as usize & 1))).unwrap();
        apply_all(&mut r, &recs);
        faults.set(FaultPlan::StopAt(cut));
        let outcome = r.rewind_to(k as u64);
        let tree = r.into_target().inner;
        let mem = mem.durable_image();
        faults.set(FaultPlan::Never);
        let target = Stopping { inner: tree, faults: faults.clone() };
        let storage = FaultInjector::new(Arc::new(mem), faults);
        let mut r = Replica::open(target, storage, config(3 + (cut as usize & 1))).unwrap();
        if outcome.is_ok() {
            prop_assert_eq!(r.target().inner.snapshot(), states[k].clone());
            prop_assert_eq!(r.resumed(), None);
        } else if r.resumed().is_some() {
            // Opening finished the interrupted rewind, and says so.
            prop_assert_eq!(r.resumed(), Some(Resumed::Rewind { to: k as u64 }));
            prop_assert_eq!(r.current_point(), Some(k as u64));
        } else if r.current_point() != Some(k as u64) {
            // The cut came before the rewind was recorded: nothing moved.
            prop_assert_eq!(r.current_point(), Some(n as u64));
            prop_assert_eq!(r.target().inner.snapshot(), states[n].clone());
            r.rewind_to(k as u64).unwrap();
        }
        prop_assert_eq!(r.target().inner.snapshot(), states[k].clone());
        r.undo_rewind().unwrap();
        prop_assert_eq!(r.target().inner.snapshot(), states[n].clone());
    }

    /// Applying cut at any step: after reopening, the tree is exactly the
    /// state at the replica's point, and applying the rest gets to the end.
    #[test]
    fn apply_resumes_after_crash(
        raws in proptest::collection::vec(raw(), 1..24),
        cut in 0u64..80,
        batch in 1usize..5,
    ) {
        let (recs, states) = valid_sequence(&raws);
        prop_assume!(!recs.is_empty());
        let n = recs.len();
        let mem = MemStorage::new();
        let faults = Faults::new(FaultPlan::Never);
        let target = Stopping { inner: fresh_model(), faults: faults.clone() };
        let storage = FaultInjector::new(Arc::new(mem.clone()), faults.clone());
        let mut r = Replica::open(target, storage, config(batch)).unwrap();
        faults.set(FaultPlan::StopAt(cut));
        let mut failed = false;
        for rec in &recs {
            if r.apply(rec.clone()).is_err() {
                failed = true;
                break;
            }
        }
        if !failed {
            let _ = r.flush();
        }
        let tree = r.into_target().inner;
        let mem = mem.durable_image();
        faults.set(FaultPlan::Never);
        let target = Stopping { inner: tree, faults: faults.clone() };
        let storage = FaultInjector::new(Arc::new(mem), faults);
        let mut r = Replica::open(target, storage, config(batch)).unwrap();
        let at = r.current_point().unwrap_or(0) as usize;
        prop_assert!(at <= n);
        prop_assert_eq!(r.target().inner.snapshot(), states[at].clone());
        apply_all(&mut r, &recs[at..]);
        prop_assert_eq!(r.target().inner.snapshot(), states[n].clone());
        r.rewind_to(0).unwrap();
        prop_assert_eq!(r.target().inner.snapshot(), states[0].clone());
    }
}
