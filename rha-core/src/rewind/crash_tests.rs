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

pre_image_through_inner!(Stopping);

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Dropping every point (before a sync changes the target) cut at any
    /// storage step: the reopened log holds fewer points or none, and every
    /// point it still holds rewinds the unchanged target to the right tree.
    #[test]
    fn dropping_all_points_is_crash_safe(
        raws in proptest::collection::vec(raw(), 1..24),
        rewound in proptest::option::of(any::<u16>()),
        cut in 0u64..12,
        batch in 1usize..5,
    ) {
        let (recs, states) = valid_sequence(&raws);
        prop_assume!(!recs.is_empty());
        let n = recs.len();
        let mem = MemStorage::new();
        let mut r = Replica::open(fresh_model(), mem.clone(), config(batch)).unwrap();
        apply_all(&mut r, &recs);
        let at = match rewound {
            Some(k) => {
                let k = k as usize % n;
                r.rewind_to(k as u64).unwrap();
                k
            }
            None => n,
        };
        let tree = r.into_target();
        let faults = Faults::new(FaultPlan::Never);
        let storage = FaultInjector::new(Arc::new(mem.clone()), faults.clone());
        let mut log = RewindLog::open(storage, config(batch).log).unwrap();
        faults.set(FaultPlan::StopAt(cut));
        let before = log.droppable();
        prop_assert_eq!(before.newest, Some(n as u64));
        let outcome = log.drop_all();
        drop(log);
        let mem = mem.durable_image();
        let mut r = Replica::open(tree, mem.clone(), config(batch)).unwrap();
        // Reopening brings log and target to agreement as after any crash
        // (an interrupted last batch may be undone): the target is at the
        // point the log says, or, with no log left, where it was.
        let points = r.points();
        match r.current_point() {
            Some(cur) => {
                prop_assert!(cur as usize <= at, "point {} above {}", cur, at);
                prop_assert_eq!(r.target().snapshot(), states[cur as usize].clone());
            }
            None => prop_assert_eq!(r.target().snapshot(), states[at].clone()),
        }
        if let Ok(dropped) = outcome {
            prop_assert_eq!(dropped, before);
            prop_assert!(points.is_empty(), "points left: {:?}", points);
            prop_assert!(r.bookmarks().is_empty());
            prop_assert!(RewindLog::open(mem, config(batch).log).unwrap().droppable().is_empty());
            prop_assert_eq!(r.target().snapshot(), states[at].clone());
        }
        // What is left is still true of the target.
        if let Some(oldest) = points.first() {
            r.rewind_to(oldest.seq).unwrap();
            prop_assert_eq!(r.target().snapshot(), states[oldest.seq as usize].clone());
        }
    }
}

/// A rewind interrupted part way leaves a job in the cursor: dropping the
/// points then refuses and changes nothing, and works once reopening has
/// finished the rewind.
#[test]
fn dropping_points_waits_for_an_interrupted_rewind() {
    let f = RelPath::new("f".to_owned()).unwrap();
    let mut recs = vec![crate::journal::Record {
        seq: 1,
        timestamp_ns: 1_000,
        op: Op::Create {
            path: f.clone(),
            mode: 0o644,
        },
    }];
    for seq in 2..16u64 {
        recs.push(crate::journal::Record {
            seq,
            timestamp_ns: seq * 1_000,
            op: Op::Write {
                path: f.clone(),
                offset: seq,
                data: Bytes::from(vec![seq as u8; 8]),
            },
        });
    }
    for cut in 0..200 {
        let mem = MemStorage::new();
        let faults = Faults::new(FaultPlan::Never);
        let target = Stopping {
            inner: fresh_model(),
            faults: faults.clone(),
        };
        let storage = FaultInjector::new(Arc::new(mem.clone()), faults.clone());
        let mut r = Replica::open(target, storage, config(1)).unwrap();
        apply_all(&mut r, &recs);
        faults.set(FaultPlan::StopAt(cut));
        assert!(r.rewind_to(1).is_err(), "no cut left the rewind under way");
        let tree = r.into_target().inner;
        let mem = mem.durable_image();
        let mut log = RewindLog::open(mem.clone(), config(1).log).unwrap();
        if log.state.job.is_none() {
            continue;
        }
        let before = log.droppable();
        match log.drop_all() {
            Err(LogError::JobUnderWay { target: 1 }) => {}
            other => panic!("cut {cut}: {other:?}"),
        }
        assert_eq!(log.droppable(), before);
        drop(log);
        let (r, lines) =
            crate::log_capture::capture(|| Replica::open(tree, mem.clone(), config(1)).unwrap());
        assert_eq!(r.resumed(), Some(Resumed::Rewind { to: 1 }));
        // Opening says so in the log too.
        let warned: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with("WARN finished a rewind interrupted by a crash"))
            .collect();
        assert_eq!(warned.len(), 1, "{lines:?}");
        assert!(
            warned[0].ends_with(" to=1 what=\"rewind\""),
            "{}",
            warned[0]
        );
        drop(r);
        let mut log = RewindLog::open(mem, config(1).log).unwrap();
        assert_eq!(log.drop_all().unwrap(), before);
        assert!(log.droppable().is_empty());
        return;
    }
    panic!("no cut left the rewind under way");
}

/// Files `a`, `b`, `g`, `h` and directory `d` (the first [`BATCH_SETUP`]
/// records), then what now shares a batch: overlapping writes, an append
/// and a truncation of one file, files with pending writes renamed and
/// deleted, a file created and written in a directory, overlapping block
/// writes and a discard; a rename over an existing name (a batch of its
/// own) splits them in two.
pub(super) fn batched_journal() -> (Vec<crate::journal::Record>, Vec<Snapshot>) {
    let p = |s: &str| RelPath::new(s.to_owned()).unwrap();
    let w = |s: &str, offset: u64, data: &str| Op::Write {
        path: p(s),
        offset,
        data: Bytes::copy_from_slice(data.as_bytes()),
    };
    let create = |s: &str| Op::Create {
        path: p(s),
        mode: 0o640,
    };
    let ops = vec![
        create("a"),
        w("a", 0, "aaaaaaaaaaaa"),
        create("b"),
        w("b", 0, "bbbbbbbbbbbb"),
        create("g"),
        w("g", 0, "gggg"),
        create("h"),
        w("h", 0, "hhhhhhhh"),
        Op::Mkdir {
            path: p("d"),
            mode: 0o755,
        },
        w("a", 2, "XYZ"),
        w("a", 3, "Q"),
        w("a", 12, "tail"),
        Op::SetLen {
            path: p("b"),
            len: 3,
        },
        w("b", 1, "RR"),
        w("b", 6, "zz"),
        w("g", 1, "GG"),
        w("h", 0, "HH"),
        Op::Rename {
            from: p("a"),
            to: p("e"),
        },
        Op::Rename {
            from: p("b"),
            to: p("g"),
        },
        Op::Delete { path: p("h") },
        create("d/f"),
        w("d/f", 0, "ffffff"),
        w("d/f", 2, "FF"),
        w("d/f", 8, "end"),
        Op::BlockWrite {
            volume: 0,
            offset: 10,
            data: Bytes::from_static(b"12345678"),
        },
        Op::BlockWrite {
            volume: 0,
            offset: 12,
            data: Bytes::from_static(b"zz"),
        },
        Op::Discard {
            volume: 0,
            offset: 15,
            len: 2,
        },
        Op::Symlink {
            path: p("s"),
            target: Bytes::from_static(b"e"),
        },
        w("e", 0, "E"),
    ];
    let mut m = fresh_model();
    let mut states = vec![m.snapshot()];
    let mut recs = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        m.apply(&op).unwrap();
        states.push(m.snapshot());
        recs.push(crate::journal::Record {
            seq: i as u64 + 1,
            timestamp_ns: (i as u64 + 1) * 1_000,
            op,
        });
    }
    (recs, states)
}

/// The records of [`batched_journal`] that set up the files.
pub(super) const BATCH_SETUP: usize = 9;

/// Applying [`batched_journal`] in large batches, cut at every storage
/// write and sync and every change to the target, with forward payloads
/// kept and elided: after reopening, the tree is exactly the state at the
/// replica's point, the rest applies, and every point rewinds exactly.
#[test]
fn batched_apply_is_crash_safe_at_every_step() {
    let (recs, states) = batched_journal();
    let n = recs.len();
    for (elide, write_bytes, live) in [
        (4, WRITE_BYTES, false),
        (512, WRITE_BYTES, false),
        (4, 1, false),
        (512, 1, false),
        (4, 1, true),
        (512, 1, true),
    ] {
        let config = || {
            ReplicaConfig::default()
                .batch_records(64)
                .elide_min(elide)
                .write_bytes(write_bytes)
                .checkpoint_ops(3)
        };
        let mut finished = false;
        for cut in 0..400 {
            let mem = MemStorage::new();
            let faults = Faults::new(FaultPlan::Never);
            let target = Stopping {
                inner: fresh_model(),
                faults: faults.clone(),
            };
            let storage = FaultInjector::new(Arc::new(mem.clone()), faults.clone());
            let mut r = Replica::open(target, storage, config()).unwrap();
            apply_all(&mut r, &recs[..BATCH_SETUP]);
            faults.set(FaultPlan::StopAt(cut));
            let mut failed = false;
            for rec in &recs[BATCH_SETUP..] {
                if r.apply(rec.clone()).is_err() {
                    failed = true;
                    break;
                }
            }
            failed = failed || r.sync().is_err();
            let tree = r.into_target().inner;
            // The unluckiest crash keeps only what was synced; the luckiest
            // everything written, such as the entries of a batch written out
            // before its sync.
            let mem = if live {
                mem.live_image()
            } else {
                mem.durable_image()
            };
            let mut r = Replica::open(tree, mem, config()).unwrap();
            let at = r.current_point().unwrap_or(0) as usize;
            assert_eq!(
                r.target().snapshot(),
                states[at],
                "elide {elide}, write {write_bytes}, live {live}, cut {cut}: \
                 tree is not the state at point {at}"
            );
            apply_all(&mut r, &recs[at..]);
            assert_eq!(r.target().snapshot(), states[n], "elide {elide}, cut {cut}");
            let oldest = r.points().first().map_or(0, |p| p.seq) as usize;
            for k in (oldest..n).rev() {
                r.rewind_to(k as u64).unwrap();
                assert_eq!(
                    r.target().snapshot(),
                    states[k],
                    "elide {elide}, cut {cut}: rewind to {k}"
                );
            }
            r.undo_rewind().unwrap();
            assert_eq!(r.target().snapshot(), states[n], "elide {elide}, cut {cut}");
            if !failed {
                finished = true;
                break;
            }
        }
        assert!(
            finished,
            "elide {elide}, write {write_bytes}: no cut was past the last step"
        );
    }
}
