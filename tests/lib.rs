//! Helpers shared by the cross-crate integration tests.

/// The README's Rust example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

use rha_core::journal::{Attrs, JournalWriter, Op, RelPath, WriterConfig};

/// A relative path from a literal known to be valid.
///
/// # Panics
///
/// If `s` is not a valid [`RelPath`]; only for literals in tests.
pub fn path(s: &'static str) -> RelPath {
    match RelPath::new(s) {
        Ok(p) => p,
        Err(e) => panic!("{s:?} is not a valid path: {e}"),
    }
}

/// The operations pinned by the version-1 golden files: every operation of
/// the format once, with edge values (negative times, an empty write, a
/// non-UTF-8 file name, the largest integers).
pub fn golden_ops() -> Vec<Op> {
    vec![
        Op::Epoch {
            scenario: 0x0123_4567_89AB_CDEF,
            epoch: 1,
        },
        Op::SyncStart { sync_id: 7 },
        Op::Mkdir {
            path: path("srv"),
            mode: 0o40755,
        },
        Op::Create {
            path: path("srv/data.db"),
            mode: 0o100600,
        },
        Op::Write {
            path: path("srv/data.db"),
            offset: 0,
            data: b"golden bytes".as_slice().into(),
        },
        Op::Write {
            path: path("srv/data.db"),
            offset: u64::MAX - 1,
            data: bytes::Bytes::new(),
        },
        Op::SetLen {
            path: path("srv/data.db"),
            len: 4096,
        },
        Op::SyncEnd { sync_id: 7 },
        Op::TxBegin { txid: 42 },
        Op::Rename {
            from: path("srv/data.db"),
            to: path("srv/data.old"),
        },
        Op::HardLink {
            existing: path("srv/data.old"),
            link: path("srv/link"),
        },
        Op::Symlink {
            path: path("srv/current"),
            target: b"/abs/../target".as_slice().into(),
        },
        Op::TxCommit { txid: 42 },
        Op::SetAttr {
            path: path("srv/data.old"),
            attrs: Attrs {
                mode: Some(0o644),
                uid: Some(1000),
                gid: None,
                atime: Some(-1),
                mtime: Some(1_700_000_000_123_456_789),
            },
        },
        Op::SetXattr {
            path: path("srv/data.old"),
            name: b"user.checksum".as_slice().into(),
            value: vec![0, 1, 2, 255].into(),
        },
        Op::RemoveXattr {
            path: path("srv/data.old"),
            name: b"user.checksum".as_slice().into(),
        },
        Op::Delete {
            path: path("srv/link"),
        },
        Op::Delete {
            path: RelPath::new(b"srv/caf\xe9".as_slice()).unwrap_or_else(|e| panic!("{e}")),
        },
        Op::Rmdir {
            path: path("srv/empty"),
        },
        Op::BlockWrite {
            volume: 3,
            offset: 1 << 40,
            data: vec![0xA5; 64].into(),
        },
        Op::Discard {
            volume: 3,
            offset: 0,
            len: u64::MAX,
        },
        Op::Bookmark {
            name: "before upgrade ✓".into(),
            app_consistent: true,
        },
        Op::Bookmark {
            name: "hourly".into(),
            app_consistent: false,
        },
    ]
}

/// The operations added to version 1 after its first golden files, pinned
/// by `journal-v1-nodes.rhaj`: special files (a FIFO, a character and a block
/// device with the largest device number) and clearing extended attributes.
pub fn golden_node_ops() -> Vec<Op> {
    vec![
        Op::Mknod {
            path: path("dev/fifo"),
            mode: 0o010640,
            rdev: 0,
        },
        Op::Mknod {
            path: path("dev/null"),
            mode: 0o020666,
            rdev: 0x0103,
        },
        Op::Mknod {
            path: path("dev/disk"),
            mode: 0o067777,
            rdev: u64::MAX,
        },
        Op::ClearXattrs {
            path: path("dev/fifo"),
        },
    ]
}

/// Timestamp of the `i`-th golden record.
pub fn golden_timestamp(i: usize) -> u64 {
    1_763_683_200_000_000_000 + i as u64 * 1_000_003
}

/// Encodes [`golden_ops`] with `config`, starting at sequence number 100.
///
/// # Panics
///
/// If encoding fails, which would be a bug.
pub fn golden_journal(config: WriterConfig) -> Vec<u8> {
    encode_golden(&golden_ops(), config)
}

/// Encodes `ops` with `config`, starting at sequence number 100, with the
/// golden timestamps.
///
/// # Panics
///
/// If encoding fails, which would be a bug.
pub fn encode_golden(ops: &[Op], config: WriterConfig) -> Vec<u8> {
    let mut w = JournalWriter::new(Vec::new(), config.first_seq(100));
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = w.append(golden_timestamp(i), op) {
            panic!("encoding golden record {i}: {e}");
        }
    }
    match w.into_inner() {
        Ok(bytes) => bytes,
        Err(e) => panic!("flushing the golden journal: {e}"),
    }
}
