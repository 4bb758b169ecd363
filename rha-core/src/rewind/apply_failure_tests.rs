//! A record that fails to land after its batch was logged: the records
//! before it stay applied, what it changed is put back from its inverse,
//! and the replica goes on from the record before it.

use std::io;

use super::tests::fresh_model;
use super::*;
use crate::journal::{Op, Record, RelPath};
use crate::storage::MemStorage;

/// A model tree whose write number `fail_at` (counting from 1) lands only
/// its first byte and then fails, as a write cut short by a full disk.
#[derive(Debug)]
struct ShortWrite {
    inner: ModelTree,
    writes: usize,
    fail_at: usize,
}

pre_image_through_inner!(ShortWrite);

impl Target for ShortWrite {
    fn apply(&mut self, op: &Op) -> io::Result<()> {
        if let Op::Write { path, offset, data } = op {
            self.writes += 1;
            if self.writes == self.fail_at {
                self.inner.apply(&Op::Write {
                    path: path.clone(),
                    offset: *offset,
                    data: data.slice(..1),
                })?;
                return Err(io::Error::other("no space left"));
            }
        }
        self.inner.apply(op)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }
}

fn rec(seq: u64, op: Op) -> Record {
    Record {
        seq,
        timestamp_ns: seq,
        op,
    }
}

fn write(seq: u64, offset: u64, data: &'static str) -> Record {
    rec(
        seq,
        Op::Write {
            path: RelPath::new("f").unwrap(),
            offset,
            data: data.into(),
        },
    )
}

#[test]
fn a_write_failing_part_way_is_put_back_and_the_batch_before_it_stays() {
    let f = RelPath::new("f").unwrap();
    for write_bytes in [1, WRITE_BYTES] {
        let target = ShortWrite {
            inner: fresh_model(),
            writes: 0,
            fail_at: 4,
        };
        let config = ReplicaConfig::default()
            .write_bytes(write_bytes)
            .elide_min(2);
        let mut r = Replica::open(target, MemStorage::new(), config).unwrap();
        let create = rec(
            1,
            Op::Create {
                path: f.clone(),
                mode: 0o644,
            },
        );
        for record in [create, write(2, 0, "aaaa")] {
            r.apply(record).unwrap();
        }
        r.sync().unwrap();
        // One batch: the third write overwrites and extends the file, and
        // lands one byte before it fails.
        for record in [write(3, 0, "bb"), write(4, 2, "cc"), write(5, 2, "dddddd")] {
            r.apply(record).unwrap();
        }
        let err = r.flush().unwrap_err();
        assert!(matches!(err, RewindError::Apply { seq: 5, .. }), "{err}");
        assert_eq!(r.current_point(), Some(4));
        assert_eq!(r.target().inner.file_data(&f).unwrap(), b"bbcc");
        // The replica goes on from there, and every point is still exact.
        for record in [write(5, 2, "dddddd"), write(6, 0, "e")] {
            r.apply(record).unwrap();
        }
        r.sync().unwrap();
        assert_eq!(r.target().inner.file_data(&f).unwrap(), b"ebdddddd");
        for (point, data) in [
            (5, &b"bbdddddd"[..]),
            (4, b"bbcc"),
            (3, b"bbaa"),
            (2, b"aaaa"),
        ] {
            r.rewind_to(point).unwrap();
            assert_eq!(r.target().inner.file_data(&f).unwrap(), data, "{point}");
        }
    }
}
