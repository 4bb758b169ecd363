//! Properties of inversion, the rewind log and the replica engine, checked
//! against the in-memory model.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::journal::{Attrs, Op, Record, RelPath};
use crate::storage::{DirStorage, MemStorage, Storage};

const PATHS: [&str; 7] = ["a", "b", "d", "d/a", "d/b", "e", "e/f"];

fn path(i: u8) -> RelPath {
    RelPath::new(PATHS[i as usize % PATHS.len()].to_owned()).unwrap()
}

/// One raw generated step, turned into an operation by [`to_op`].
#[derive(Debug, Clone)]
pub(crate) struct Raw(u8, u8, u8, u16, Vec<u8>);

pub(super) fn raw() -> impl Strategy<Value = Raw> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(a, b, c, d, e)| Raw(a, b, c, d, e))
}

pub(crate) fn to_op(r: &Raw) -> Op {
    let Raw(kind, a, b, n, data) = r;
    let data = Bytes::from(data.clone());
    let n = *n as u64;
    match kind % 19 {
        0 | 1 => Op::Create {
            path: path(*a),
            mode: 0o600 | (n as u32 & 0o77),
        },
        2..=4 => Op::Write {
            path: path(*a),
            offset: n % 48,
            data,
        },
        5 => Op::SetLen {
            path: path(*a),
            len: n % 64,
        },
        6 => Op::Delete { path: path(*a) },
        7 => Op::Rename {
            from: path(*a),
            to: path(*b),
        },
        8 => Op::Mkdir {
            path: path(*a),
            mode: 0o755,
        },
        9 => Op::Rmdir { path: path(*a) },
        10 => Op::Symlink {
            path: path(*a),
            target: Bytes::from(format!("../t{}", n % 5)),
        },
        11 => Op::HardLink {
            existing: path(*a),
            link: path(*b),
        },
        12 => Op::SetAttr {
            path: path(*a),
            attrs: Attrs {
                mode: (n & 1 != 0).then_some(0o640),
                uid: (n & 2 != 0).then_some(n as u32 % 7),
                gid: (n & 4 != 0).then_some(n as u32 % 5),
                atime: (n & 8 != 0).then_some(n as i64 * 1000),
                mtime: (n & 16 != 0).then_some(n as i64 * 3000),
            },
        },
        13 => Op::SetXattr {
            path: path(*a),
            name: Bytes::from(if n & 1 == 0 { "user.x" } else { "user.y" }),
            value: data,
        },
        14 => Op::RemoveXattr {
            path: path(*a),
            name: Bytes::from(if n & 1 == 0 { "user.x" } else { "user.y" }),
        },
        17 => Op::Mknod {
            path: path(*a),
            mode: if n & 1 == 0 {
                crate::journal::MODE_FIFO | 0o640
            } else {
                crate::journal::MODE_CHAR_DEVICE | 0o600
            },
            rdev: n >> 1,
        },
        18 => Op::ClearXattrs { path: path(*a) },
        15 => Op::BlockWrite {
            volume: 0,
            offset: n % 100,
            data,
        },
        _ => Op::Discard {
            volume: 0,
            offset: n % 100,
            len: n % 40,
        },
    }
}

pub(crate) fn fresh_model() -> ModelTree {
    let mut m = ModelTree::new();
    m.add_volume(0, 128);
    m
}

/// The valid operations among `raws` (those the model accepts, in order),
/// and the model's snapshot after each prefix (`states[k]` = after k ops).
pub(crate) fn valid_sequence(raws: &[Raw]) -> (Vec<Record>, Vec<Snapshot>) {
    let mut m = fresh_model();
    let mut recs = Vec::new();
    let mut states = vec![m.snapshot()];
    for r in raws {
        let op = to_op(r);
        let mut trial = m.clone();
        if trial.apply(&op).is_ok() {
            m = trial;
            let seq = recs.len() as u64 + 1;
            recs.push(Record {
                seq,
                timestamp_ns: seq * 1_000,
                op,
            });
            states.push(m.snapshot());
        }
    }
    (recs, states)
}

/// Small segments and checkpoints; with an even batch size, forward payloads
/// of 4 bytes and more are elided (captured into the redo file on rewind).
pub(super) fn config(batch: usize) -> ReplicaConfig {
    ReplicaConfig::default()
        .batch_records(batch)
        .segment_bytes(512)
        .checkpoint_ops(3)
        .elide_min(if batch % 2 == 0 { 4 } else { 512 })
        // Entries written out one by one as they come, or with the sync.
        .write_bytes(if batch % 3 == 1 { 1 } else { WRITE_BYTES })
}

pub(super) fn apply_all<T: Target, S: Storage>(r: &mut Replica<T, S>, recs: &[Record]) {
    for rec in recs {
        r.apply(rec.clone()).unwrap();
    }
    r.sync().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Applying a record's inverse right after it restores the tree exactly.
    #[test]
    fn inverse_restores(raws in proptest::collection::vec(raw(), 1..40)) {
        let (recs, states) = valid_sequence(&raws);
        let mut m = fresh_model();
        for (k, rec) in recs.iter().enumerate() {
            let undo = invert(&rec.op, &mut m).unwrap();
            let mut after = m.clone();
            after.apply(&rec.op).unwrap();
            let mut back = after.clone();
            for op in &undo {
                back.apply(op).unwrap();
            }
            prop_assert_eq!(back.snapshot(), states[k].clone());
            m = after;
        }
    }

    /// Rewinding to point k gives exactly the tree after k records, for
    /// several k in turn; undo brings back the newest state.
    #[test]
    fn rewind_to_any_point(
        raws in proptest::collection::vec(raw(), 1..48),
        picks in proptest::collection::vec(any::<u16>(), 1..4),
        batch in 1usize..6,
    ) {
        let (recs, states) = valid_sequence(&raws);
        prop_assume!(!recs.is_empty());
        let n = recs.len();
        let storage = MemStorage::new();
        let mut r = Replica::open(fresh_model(), storage.clone(), config(batch)).unwrap();
        apply_all(&mut r, &recs);
        prop_assert_eq!(r.target().snapshot(), states[n].clone());
        let mut cur = n;
        for p in &picks {
            let k = *p as usize % (cur + 1);
            r.rewind_to(k as u64).unwrap();
            prop_assert_eq!(r.target().snapshot(), states[k].clone());
            prop_assert_eq!(r.current_point(), Some(k as u64));
            cur = k;
        }
        if cur < n {
            r.undo_rewind().unwrap();
            prop_assert_eq!(r.target().snapshot(), states[n].clone());
        }
        // The log survives a reopen.
        drop(r);
        let mut r = Replica::open(fresh_model_at(&recs), storage, config(batch)).unwrap();
        r.rewind_to(0).unwrap();
        prop_assert_eq!(r.target().snapshot(), states[0].clone());
    }
}

/// The model after applying every record (the state a reopened replica finds).
fn fresh_model_at(recs: &[Record]) -> ModelTree {
    let mut m = fresh_model();
    for r in recs {
        m.apply(&r.op).unwrap();
    }
    m
}

fn rec(seq: u64, op: Op) -> Record {
    Record {
        seq,
        timestamp_ns: seq * 1_000_000_000,
        op,
    }
}

fn p(s: &str) -> RelPath {
    RelPath::new(s.to_owned()).unwrap()
}

#[test]
fn bookmarks_points_and_errors() {
    let mut r = Replica::open(fresh_model(), MemStorage::new(), ReplicaConfig::default()).unwrap();
    r.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    r.apply(rec(
        2,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "one".into(),
        },
    ))
    .unwrap();
    r.apply(rec(
        3,
        Op::Bookmark {
            name: "app".into(),
            app_consistent: true,
        },
    ))
    .unwrap();
    r.apply(rec(
        4,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "two".into(),
        },
    ))
    .unwrap();
    r.set_bookmark("operator", 4_500_000_000, false).unwrap();
    r.apply(rec(
        5,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "six".into(),
        },
    ))
    .unwrap();
    r.flush().unwrap();

    let marks = r.bookmarks();
    assert_eq!(marks.len(), 2);
    assert_eq!(
        (
            marks[0].name.as_str(),
            marks[0].seq,
            marks[0].app_consistent
        ),
        ("app", 3, true)
    );
    assert_eq!((marks[1].name.as_str(), marks[1].seq), ("operator", 4));
    assert_eq!(r.points().len(), 6); // base 0 and one per record
    assert_eq!(
        r.points()[0],
        Point {
            seq: 0,
            timestamp_ns: None
        }
    );

    let err = r.rewind_to_bookmark("nope").unwrap_err();
    assert!(matches!(err, RewindError::UnknownBookmark { .. }), "{err}");
    assert_eq!(err.to_string(), "unknown bookmark 'nope'");
    assert!(matches!(
        r.rewind_to(9),
        Err(RewindError::FuturePoint { seq: 9, current: 5 })
    ));
    assert!(matches!(r.undo_rewind(), Err(RewindError::NothingToUndo)));

    let plan = r.plan(3).unwrap();
    assert_eq!((plan.from, plan.to, plan.records), (5, 3, 2));
    assert_eq!(plan.changes["f"].bytes, 6);
    assert_eq!(
        r.target().file_data(&p("f")).unwrap(),
        b"six",
        "a plan changes nothing"
    );

    r.rewind_to_bookmark("operator").unwrap();
    assert_eq!(r.target().file_data(&p("f")).unwrap(), b"two");
    r.rewind_to_time(3_200_000_000).unwrap();
    assert_eq!(r.current_point(), Some(3));
    assert_eq!(r.target().file_data(&p("f")).unwrap(), b"one");
    assert!(matches!(
        r.rewind_to_time(10),
        Err(RewindError::NoPointAtTime { .. })
    ));
    r.rewind_to_bookmark("app").unwrap();
    assert_eq!(r.current_point(), Some(3));

    // A new record discards the undone ones: no undo any more.
    r.apply(rec(
        4,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "new".into(),
        },
    ))
    .unwrap();
    r.flush().unwrap();
    assert!(matches!(r.undo_rewind(), Err(RewindError::NothingToUndo)));
    assert!(r.bookmarks().iter().all(|b| b.name != "operator"));
    r.rewind_to(1).unwrap();
    assert_eq!(r.target().file_data(&p("f")).unwrap(), b"");
}

#[test]
fn retention_drops_oldest_but_not_the_current_point() {
    let cfg = ReplicaConfig::default()
        .segment_bytes(200)
        .retention(Retention::default().max_bytes(Some(1_000)));
    let storage = MemStorage::new();
    let mut r = Replica::open(fresh_model(), storage.clone(), cfg).unwrap();
    r.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    for seq in 2..60 {
        r.apply(rec(
            seq,
            Op::Write {
                path: p("f"),
                offset: 0,
                data: vec![seq as u8; 40].into(),
            },
        ))
        .unwrap();
        r.flush().unwrap();
    }
    let log = r.log().unwrap();
    assert!(log.total_bytes() <= 1_000 + 200, "{}", log.total_bytes());
    let oldest = log.oldest_point().unwrap();
    assert!(oldest > 10, "old points were dropped: oldest {oldest}");
    let err = r.rewind_to(2).unwrap_err();
    assert!(
        matches!(err, RewindError::PointRetired { seq: 2, .. }),
        "{err}"
    );
    r.rewind_to(oldest).unwrap();
    assert_eq!(
        r.target().file_data(&p("f")).unwrap(),
        &[oldest as u8; 40][..]
    );

    // Age: everything older than 5 s before the newest record goes, except
    // what the current point needs.
    let cfg = ReplicaConfig::default()
        .segment_bytes(200)
        .retention(Retention::default().max_age_ns(Some(5_000_000_000)));
    let mut r = Replica::open(fresh_model(), MemStorage::new(), cfg).unwrap();
    r.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    for seq in 2..40 {
        r.apply(rec(
            seq,
            Op::Write {
                path: p("f"),
                offset: 0,
                data: vec![1; 40].into(),
            },
        ))
        .unwrap();
        r.flush().unwrap();
    }
    let oldest = r.log().unwrap().oldest_point().unwrap();
    assert!((25..39).contains(&oldest), "oldest {oldest}");
}

#[test]
fn transaction_is_all_or_nothing() {
    for rewind in [true, false] {
        let model = fresh_model();
        let mut r = if rewind {
            Replica::open(model, MemStorage::new(), ReplicaConfig::default()).unwrap()
        } else {
            Replica::without_rewind(model)
        };
        r.apply(rec(
            1,
            Op::Create {
                path: p("f"),
                mode: 0o644,
            },
        ))
        .unwrap();
        r.apply(rec(
            2,
            Op::Write {
                path: p("f"),
                offset: 0,
                data: "base".into(),
            },
        ))
        .unwrap();
        r.flush().unwrap();
        let before = r.target().snapshot();
        r.apply(rec(3, Op::TxBegin { txid: 7 })).unwrap();
        r.apply(rec(
            4,
            Op::Write {
                path: p("f"),
                offset: 0,
                data: "half".into(),
            },
        ))
        .unwrap();
        r.apply(rec(
            5,
            Op::Create {
                path: p("g"),
                mode: 0o600,
            },
        ))
        .unwrap();
        assert_eq!(
            r.target().snapshot(),
            before,
            "nothing applies before the commit"
        );
        // Writing to a missing file fails midway.
        r.apply(rec(
            6,
            Op::Write {
                path: p("missing"),
                offset: 0,
                data: "x".into(),
            },
        ))
        .unwrap();
        let err = r.apply(rec(7, Op::TxCommit { txid: 7 })).unwrap_err();
        assert!(err.to_string().contains("record 6"), "{err}");
        assert_eq!(r.target().snapshot(), before, "rewind={rewind}");
        assert_eq!(r.current_point(), Some(2));
        // A committed group applies entirely.
        r.apply(rec(3, Op::TxBegin { txid: 8 })).unwrap();
        r.apply(rec(
            4,
            Op::Write {
                path: p("f"),
                offset: 0,
                data: "done".into(),
            },
        ))
        .unwrap();
        r.apply(rec(5, Op::TxCommit { txid: 8 })).unwrap();
        assert_eq!(r.target().file_data(&p("f")).unwrap(), b"done");
    }
}

/// The entries of a transaction that fails part way were already written
/// to the log (not synced): they are cut off again, so that the next batch,
/// written in their place, is not followed by stale entries, and not even
/// the luckiest crash brings back records that were never applied.
#[test]
fn a_failed_transaction_leaves_no_entry_written() {
    let mem = MemStorage::new();
    let config = || ReplicaConfig::default().write_bytes(1);
    let mut r = Replica::open(fresh_model(), mem.clone(), config()).unwrap();
    let f = Op::Create {
        path: p("f"),
        mode: 0o644,
    };
    apply_all(&mut r, &[rec(1, f)]);
    let written = mem.stats().writes.len();
    for (seq, op) in [
        (2, Op::TxBegin { txid: 7 }),
        (
            3,
            Op::Write {
                path: p("f"),
                offset: 0,
                data: "half".into(),
            },
        ),
        (
            4,
            Op::Write {
                path: p("missing"),
                offset: 0,
                data: "x".into(),
            },
        ),
    ] {
        r.apply(rec(seq, op)).unwrap();
    }
    r.apply(rec(5, Op::TxCommit { txid: 7 })).unwrap_err();
    assert!(
        mem.stats().writes.len() > written + 1,
        "the entries were not written as they came"
    );
    let short = Op::Write {
        path: p("f"),
        offset: 0,
        data: "y".into(),
    };

    apply_all(&mut r, &[rec(2, short)]);
    let after = r.target().snapshot();
    let tree = r.into_target();
    for image in [mem.durable_image(), mem.live_image()] {
        let r = Replica::open(tree.clone(), image, config()).unwrap();
        assert_eq!(r.current_point(), Some(2));
        assert_eq!(r.log().map(|l| l.entry_count()), Some(2));
        assert_eq!(r.target().snapshot(), after);
    }
}

#[test]
fn uncommitted_transaction_is_rolled_back_on_reopen() {
    let mem = MemStorage::new();
    let mut r = Replica::open(
        fresh_model(),
        mem.clone(),
        ReplicaConfig::default().batch_records(1),
    )
    .unwrap();
    r.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    r.flush().unwrap();
    let before = r.target().snapshot();
    // Simulate a crash in the middle of applying a committed group: the
    // group's first records are logged and applied, the commit is not.
    r.apply_one_for_test(rec(2, Op::TxBegin { txid: 1 }));
    r.apply_one_for_test(rec(
        3,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "part".into(),
        },
    ));
    let tree = r.into_target();
    assert_ne!(tree.snapshot(), before);
    let r = Replica::open(tree, mem, ReplicaConfig::default()).unwrap();
    assert_eq!(r.target().snapshot(), before);
    assert_eq!(r.current_point(), Some(1));
}

#[test]
fn invalid_records_change_nothing() {
    let mut r = Replica::open(fresh_model(), MemStorage::new(), ReplicaConfig::default()).unwrap();
    r.apply(rec(
        1,
        Op::Mkdir {
            path: p("d"),
            mode: 0o755,
        },
    ))
    .unwrap();
    r.apply(rec(
        2,
        Op::Create {
            path: p("d/f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    r.flush().unwrap();
    let before = r.target().snapshot();
    let err = r
        .apply(rec(
            3,
            Op::Write {
                path: p("nope"),
                offset: 0,
                data: "x".into(),
            },
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "record 3 cannot be applied: 'nope' does not exist"
    );
    let err = r
        .apply(rec(
            3,
            Op::Create {
                path: p("d/f"),
                mode: 0o644,
            },
        ))
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    // A namespace record may wait in the batch: it fails when it lands.
    let err = r
        .apply(rec(3, Op::Rmdir { path: p("d") }))
        .and_then(|()| r.flush())
        .unwrap_err();
    assert!(matches!(err, RewindError::Apply { seq: 3, .. }), "{err}");
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(r.target().snapshot(), before);
    assert_eq!(r.log().unwrap().entry_count(), 2);
    let err = r.apply(rec(2, Op::Delete { path: p("d/f") })).unwrap_err();
    assert!(
        matches!(err, RewindError::Stale { seq: 2, current: 2 }),
        "{err}"
    );
}

#[test]
fn corrupt_log_is_reported_with_file_and_offset() {
    let mem = MemStorage::new();
    let mut r = Replica::open(fresh_model(), mem.clone(), ReplicaConfig::default()).unwrap();
    r.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    r.apply(rec(
        2,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "abc".into(),
        },
    ))
    .unwrap();
    r.flush().unwrap();
    drop(r);
    let name = mem
        .list()
        .unwrap()
        .into_iter()
        .find(|n| n.starts_with(SEGMENT_PREFIX))
        .unwrap();
    mem.open(&name).unwrap().write_at(60, b"\xff").unwrap();
    let err = RewindLog::open(mem, LogConfig::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&name) && msg.contains("offset"), "{msg}");
}

#[test]
fn torn_log_tail_is_cut() {
    let mem = MemStorage::new();
    let mut r = Replica::open(fresh_model(), mem.clone(), ReplicaConfig::default()).unwrap();
    r.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    r.flush().unwrap();
    drop(r);
    let name = mem
        .list()
        .unwrap()
        .into_iter()
        .find(|n| n.starts_with(SEGMENT_PREFIX))
        .unwrap();
    let file = mem.open(&name).unwrap();
    let len = file.len().unwrap();
    file.write_at(len, &[1, 2, 3, 4, 5]).unwrap();
    let log = RewindLog::open(mem.clone(), LogConfig::default()).unwrap();
    assert_eq!(log.entry_count(), 1);
    assert_eq!(file.len().unwrap(), len);
}

#[test]
fn dir_storage_round_trip() {
    let dir = std::env::temp_dir().join(format!("rha-rewind-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let storage = DirStorage::open(&dir).unwrap();
    let mut r = Replica::open(fresh_model(), storage, ReplicaConfig::default()).unwrap();
    r.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    r.apply(rec(
        2,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "abc".into(),
        },
    ))
    .unwrap();
    r.flush().unwrap();
    let tree = r.into_target();
    let mut r = Replica::open(
        tree,
        DirStorage::open(&dir).unwrap(),
        ReplicaConfig::default(),
    )
    .unwrap();
    r.rewind_to(1).unwrap();
    assert_eq!(r.target().file_data(&p("f")).unwrap(), b"");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Without a rewind log, records a crash may have applied (up to
/// `replay_to`) are applied again in replay mode: namespace changes already
/// visible are skipped instead of failing; records past it are not.
#[test]
fn rewind_resume_without_log_replays_the_window_only() {
    let p = |s: &str| RelPath::new(s.to_owned()).unwrap();
    let recs = [
        Op::Mkdir {
            path: p("d"),
            mode: 0o755,
        },
        Op::Create {
            path: p("d/f"),
            mode: 0o644,
        },
        Op::Write {
            path: p("d/f"),
            offset: 0,
            data: "x".into(),
        },
    ]
    .into_iter()
    .enumerate()
    .map(|(i, op)| Record {
        seq: i as u64 + 1,
        timestamp_ns: 0,
        op,
    })
    .collect::<Vec<_>>();
    let mut first = Replica::<ModelTree>::without_rewind(ModelTree::new());
    for r in &recs[..2] {
        first.apply(r.clone()).unwrap();
    }
    let crashed = first.into_target();

    let mut again = Replica::<ModelTree>::without_rewind(crashed.clone());
    again.resume_at(None, 2);
    for r in &recs {
        again.apply(r.clone()).unwrap();
    }
    assert_eq!(again.current_point(), Some(3));
    assert_eq!(again.target().file_data(&p("d/f")).unwrap(), b"x");

    let mut outside = Replica::<ModelTree>::without_rewind(crashed);
    outside.resume_at(None, 0);
    assert!(matches!(
        outside.apply(recs[0].clone()),
        Err(RewindError::Apply { seq: 1, .. })
    ));
}

/// In replay, a change to a path a later record removed or renamed away is
/// skipped: replaying a window over the tree as it stands after the window
/// (what a sync's copy holds) leaves that tree as it is.
#[test]
fn replay_skips_changes_to_paths_a_later_record_removed() {
    let p = |s: &str| RelPath::new(s.to_owned()).unwrap();
    let recs = [
        Op::Create {
            path: p("a"),
            mode: 0o644,
        },
        Op::Write {
            path: p("a"),
            offset: 0,
            data: "early".into(),
        },
        Op::SetLen {
            path: p("a"),
            len: 3,
        },
        Op::Rename {
            from: p("a"),
            to: p("b"),
        },
        Op::Write {
            path: p("b"),
            offset: 3,
            data: "XY".into(),
        },
        Op::HardLink {
            existing: p("b"),
            link: p("c"),
        },
        Op::Delete { path: p("c") },
        Op::Rename {
            from: p("b"),
            to: p("d"),
        },
        Op::Delete { path: p("d") },
    ]
    .into_iter()
    .enumerate()
    .map(|(i, op)| Record {
        seq: i as u64 + 1,
        timestamp_ns: 0,
        op,
    })
    .collect::<Vec<_>>();
    let mut end = Replica::<ModelTree>::without_rewind(ModelTree::new());
    end.apply(Record {
        seq: 1,
        timestamp_ns: 0,
        op: Op::Create {
            path: p("kept"),
            mode: 0o644,
        },
    })
    .unwrap();
    for r in &recs {
        end.apply(Record {
            seq: r.seq + 1,
            ..r.clone()
        })
        .unwrap();
    }
    let after = end.into_target();
    let mut again = Replica::<ModelTree>::without_rewind(after.clone());
    again.resume_at(None, recs.len() as u64);
    for r in &recs {
        again.apply(r.clone()).unwrap();
    }
    assert_eq!(again.current_point(), Some(recs.len() as u64));
    assert_eq!(again.into_target(), after);
}

/// The 20 records after the setup of the crash tests' batched journal take
/// three log syncs (the rename over an existing name is a batch of its
/// own, between the records before and after it), and one more closes the
/// last batch; before batches took overlapping writes, appends,
/// truncations and namespace changes, they took 16.
#[test]
fn overlapping_and_namespace_records_share_a_batch() {
    use super::crash_tests::{batched_journal, BATCH_SETUP};
    let (recs, states) = batched_journal();
    let mem = MemStorage::new();
    let mut r = Replica::open(fresh_model(), mem.clone(), ReplicaConfig::default()).unwrap();
    apply_all(&mut r, &recs[..BATCH_SETUP]);
    let before = mem.stats().syncs;
    apply_all(&mut r, &recs[BATCH_SETUP..]);
    assert_eq!(mem.stats().syncs - before, 4);
    assert_eq!(r.target().snapshot(), states[recs.len()]);
    r.rewind_to(BATCH_SETUP as u64).unwrap();
    assert_eq!(r.target().snapshot(), states[BATCH_SETUP]);
}

#[test]
fn truncation_after_a_write_in_its_batch_logs_the_written_tail() {
    let f = p("f");
    let mut r = Replica::open(fresh_model(), MemStorage::new(), ReplicaConfig::default()).unwrap();
    let setup = [
        rec(
            1,
            Op::Create {
                path: f.clone(),
                mode: 0o644,
            },
        ),
        rec(
            2,
            Op::Write {
                path: f.clone(),
                offset: 0,
                data: "aaaaaaaa".into(),
            },
        ),
    ];
    apply_all(&mut r, &setup);
    // One batch: the truncation cuts off bytes the write before it wrote.
    let batch = [
        rec(
            3,
            Op::Write {
                path: f.clone(),
                offset: 4,
                data: "BBBB".into(),
            },
        ),
        rec(
            4,
            Op::SetLen {
                path: f.clone(),
                len: 2,
            },
        ),
    ];
    apply_all(&mut r, &batch);
    assert_eq!(r.target().file_data(&f).unwrap(), b"aa");
    r.rewind_to(3).unwrap();
    assert_eq!(r.target().file_data(&f).unwrap(), b"aaaaBBBB");
    r.rewind_to(2).unwrap();
    assert_eq!(r.target().file_data(&f).unwrap(), b"aaaaaaaa");
}

/// A model tree that counts how often its metadata is read.
#[derive(Debug)]
struct CountingStats {
    inner: ModelTree,
    stats: usize,
}

impl PreImage for CountingStats {
    fn stat(&mut self, p: &RelPath) -> std::io::Result<Option<NodeMeta>> {
        self.stats += 1;
        self.inner.stat(p)
    }
    fn read(&mut self, p: &RelPath, o: u64, l: u64) -> std::io::Result<Vec<u8>> {
        self.inner.read(p, o, l)
    }
    fn read_link(&mut self, p: &RelPath) -> std::io::Result<Bytes> {
        self.inner.read_link(p)
    }
    fn xattr(&mut self, p: &RelPath, n: &[u8]) -> std::io::Result<Option<Bytes>> {
        self.inner.xattr(p, n)
    }
    fn xattrs(&mut self, p: &RelPath) -> std::io::Result<Vec<(Bytes, Bytes)>> {
        self.inner.xattrs(p)
    }
    fn other_link(&mut self, p: &RelPath) -> std::io::Result<Option<RelPath>> {
        self.inner.other_link(p)
    }
    fn volume_len(&mut self, v: u32) -> std::io::Result<u64> {
        self.inner.volume_len(v)
    }
    fn volume_read(&mut self, v: u32, o: u64, l: u64) -> std::io::Result<Vec<u8>> {
        self.inner.volume_read(v, o, l)
    }
}

impl Target for CountingStats {
    fn apply(&mut self, op: &Op) -> std::io::Result<()> {
        self.inner.apply(op)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.inner.sync()
    }
}

/// Writes and truncations of one file in one batch read its metadata once:
/// nothing changes it on the target before the batch lands.
#[test]
fn a_batch_reads_a_files_metadata_once() {
    let target = CountingStats {
        inner: fresh_model(),
        stats: 0,
    };
    let mut r = Replica::open(target, MemStorage::new(), ReplicaConfig::default()).unwrap();
    let f = Op::Create {
        path: p("f"),
        mode: 0o644,
    };
    apply_all(&mut r, &[rec(1, f)]);
    let mut m = r.target().inner.clone();
    let before = r.target().stats;
    let mut recs = Vec::new();
    for seq in 2..40u64 {
        let op = if seq % 10 == 0 {
            Op::SetLen {
                path: p("f"),
                len: seq * 3,
            }
        } else {
            Op::Write {
                path: p("f"),
                offset: seq * 7 % 50,
                data: Bytes::from(vec![seq as u8; 9]),
            }
        };
        m.apply(&op).unwrap();
        recs.push(rec(seq, op));
    }
    apply_all(&mut r, &recs);
    assert_eq!(r.target().stats - before, 1);
    assert_eq!(r.target().inner.snapshot(), m.snapshot());
    r.rewind_to(1).unwrap();
    let f = p("f");
    assert_eq!(r.target().inner.file_data(&f).unwrap(), b"");
}

/// A write to a name that a pending rename creates waits for the pending
/// records to land and then joins the next batch, rather than taking a
/// batch (and a log sync) of its own.
#[test]
fn a_write_after_a_rename_joins_the_next_batch() {
    let mem = MemStorage::new();
    let mut r = Replica::open(fresh_model(), mem.clone(), ReplicaConfig::default()).unwrap();
    let w = |path: &str, data: &'static str| Op::Write {
        path: p(path),
        offset: 0,
        data: data.into(),
    };
    let create = Op::Create {
        path: p("f"),
        mode: 0o644,
    };
    apply_all(&mut r, &[rec(1, create), rec(2, w("f", "one"))]);
    let syncs = mem.stats().syncs;
    let ops = [
        w("f", "two"),
        Op::Rename {
            from: p("f"),
            to: p("g"),
        },
        w("g", "three"),
        w("g", "four"),
    ];
    let mut m = r.target().clone();
    let mut states = vec![m.snapshot()];
    let mut recs = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        m.apply(&op).unwrap();
        states.push(m.snapshot());
        recs.push(rec(i as u64 + 3, op));
    }
    apply_all(&mut r, &recs);
    // Two batches (a sync each) and the closing sync.
    assert_eq!(mem.stats().syncs - syncs, 3);
    for k in (2..=6).rev() {
        r.rewind_to(k).unwrap();
        assert_eq!(r.target().snapshot(), states[k as usize - 2]);
    }
}
