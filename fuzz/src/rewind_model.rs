//! `rewind_model`: operation sequences, rewinds, undos and crashes against
//! the in-memory model.
//!
//! Input: a list of steps. Each step is `kind a b n_lo n_hi len` followed by
//! `len % 24` data bytes. `kind < 200` is a file or volume operation built
//! from the other bytes (kept only if the model accepts it, as a replica
//! would only see valid records); 200..=219 rewinds to point
//! `n % (current + 1)`; 220..=234 undoes the last rewinds; 235..=249 simulates
//! a power cut (unsynced log writes lost) and reopens; 250.. sets a bookmark.
//! The first byte picks the batch size (1 to 8 records).
//!
//! Checked after every step: the replica's tree equals the model's state
//! after as many records as the replica's point says.

use bytes::Bytes;
use rha_core::journal::{Attrs, Op, Record, RelPath};
use rha_core::rewind::{ModelTree, Replica, ReplicaConfig, RewindError, Snapshot};
use rha_core::testing::storage::MemStorage;

const PATHS: [&str; 7] = ["a", "b", "d", "d/a", "d/b", "e", "e/f"];

fn path(i: u8) -> RelPath {
    RelPath::new(PATHS[i as usize % PATHS.len()].to_owned()).expect("valid path")
}

fn op(kind: u8, a: u8, b: u8, n: u64, data: Bytes) -> Op {
    match kind % 19 {
        0 | 1 => Op::Create {
            path: path(a),
            mode: 0o600 | (n as u32 & 0o77),
        },
        2..=4 => Op::Write {
            path: path(a),
            offset: n % 48,
            data,
        },
        5 => Op::SetLen {
            path: path(a),
            len: n % 64,
        },
        6 => Op::Delete { path: path(a) },
        7 => Op::Rename {
            from: path(a),
            to: path(b),
        },
        8 => Op::Mkdir {
            path: path(a),
            mode: 0o755,
        },
        9 => Op::Rmdir { path: path(a) },
        10 => Op::Symlink {
            path: path(a),
            target: Bytes::from(format!("t{}", n % 5)),
        },
        11 => Op::HardLink {
            existing: path(a),
            link: path(b),
        },
        12 => Op::SetAttr {
            path: path(a),
            attrs: Attrs {
                mode: (n & 1 != 0).then_some(0o640),
                uid: (n & 2 != 0).then_some(n as u32 % 7),
                gid: (n & 4 != 0).then_some(n as u32 % 5),
                atime: (n & 8 != 0).then_some(n as i64),
                mtime: (n & 16 != 0).then_some(-(n as i64)),
            },
        },
        13 => Op::SetXattr {
            path: path(a),
            name: Bytes::from_static(if n & 1 == 0 { b"user.x" } else { b"user.y" }),
            value: data,
        },
        14 => Op::RemoveXattr {
            path: path(a),
            name: Bytes::from_static(if n & 1 == 0 { b"user.x" } else { b"user.y" }),
        },
        17 => Op::Mknod {
            path: path(a),
            mode: if n & 1 == 0 { 0o010640 } else { 0o020600 },
            rdev: n >> 1,
        },
        18 => Op::ClearXattrs { path: path(a) },
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

fn model() -> ModelTree {
    let mut m = ModelTree::new();
    m.add_volume(0, 128);
    m
}

fn open(tree: ModelTree, mem: &MemStorage, batch: usize) -> Replica<ModelTree, MemStorage> {
    let config = ReplicaConfig::default()
        .batch_records(batch)
        .segment_bytes(256)
        .checkpoint_ops(2)
        .elide_min(if batch % 2 == 0 { 3 } else { 512 });
    match Replica::open(tree, mem.clone(), config) {
        Ok(r) => r,
        Err(e) => panic!("reopening failed: {e}"),
    }
}

fn check(r: &Replica<ModelTree, MemStorage>, states: &[Snapshot]) {
    let at = r.current_point().unwrap_or(0) as usize;
    assert!(
        at < states.len(),
        "point {at} beyond {} states",
        states.len()
    );
    assert_eq!(
        r.target().snapshot(),
        states[at],
        "tree differs from the state after {at} records"
    );
}

/// The fuzz target.
pub fn rewind_model(data: &[u8]) {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let batch = 1 + (first % 8) as usize;
    let mut mem = MemStorage::new();
    let mut r = open(model(), &mem, batch);
    // states[k]: the tree after k records of the current history.
    let mut states = vec![r.target().snapshot()];
    let mut shadow = model();
    let mut steps = 0;
    while rest.len() >= 6 && steps < 200 {
        steps += 1;
        let (kind, a, b) = (rest[0], rest[1], rest[2]);
        let n = u64::from(u16::from_le_bytes([rest[3], rest[4]]));
        let len = (rest[5] % 24) as usize;
        rest = &rest[6..];
        let take = len.min(rest.len());
        let payload = Bytes::copy_from_slice(&rest[..take]);
        rest = &rest[take..];
        let cur = r.current_point().unwrap_or(0);
        match kind {
            0..=199 => {
                let o = op(kind, a, b, n, payload);
                let mut next = shadow.clone();
                if next.apply(&o).is_err() {
                    continue;
                }
                states.truncate(cur as usize + 1);
                if let Err(e) = r.apply(Record {
                    seq: cur + 1,
                    timestamp_ns: cur + 1,
                    op: o,
                }) {
                    panic!("valid record {} refused: {e}", cur + 1);
                }
                if let Err(e) = r.flush() {
                    panic!("flush failed: {e}");
                }
                shadow = next;
                states.push(shadow.snapshot());
            }
            200..=219 => {
                let k = n % (cur + 1);
                match r.rewind_to(k) {
                    Ok(_) | Err(RewindError::EmptyLog) => {}
                    Err(e) => panic!("rewind to {k} failed: {e}"),
                }
                shadow = r.target().clone();
            }
            220..=234 => {
                match r.undo_rewind() {
                    Ok(_) | Err(RewindError::NothingToUndo) => {}
                    Err(e) => panic!("undo failed: {e}"),
                }
                shadow = r.target().clone();
            }
            235..=249 => {
                let tree =
                    std::mem::replace(&mut r, open(model(), &MemStorage::new(), 1)).into_target();
                mem = mem.durable_image();
                r = open(tree, &mem, batch);
                shadow = r.target().clone();
            }
            _ => {
                if let Err(e) = r.set_bookmark(&format!("b{}", n % 3), n, a & 1 == 1) {
                    panic!("bookmark failed: {e}");
                }
            }
        }
        check(&r, &states);
    }
}
