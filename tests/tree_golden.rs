//! Golden files pin version 1 of the tree signature format
//! (`docs/tree-signature-format.md`): the writer must keep producing the
//! same bytes, and the files under `tests/data/` must keep decoding to the
//! same entries.
//!
//! Regenerate (only when adding a golden file, never to paper over a change):
//! `RHA_BLESS=1 cargo test -p rha-tests --test tree_golden`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use bytes::Bytes;
use rha_core::journal::RelPath;
use rha_core::signature::tree::{
    Entry, EntryKind, HardLink, SignatureErrorKind, TreeReadError, TreeReader, TreeWriter,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn read_or_bless(name: &str, fresh: &[u8]) -> Vec<u8> {
    let file = data(name);
    if std::env::var_os("RHA_BLESS").is_some() {
        std::fs::write(&file, fresh).unwrap();
    }
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// One entry of every kind and flag, with shared path prefixes.
fn golden_entries() -> Vec<Entry> {
    let e = |p: &str, kind, mode, mtime_ns| Entry {
        mode,
        mtime_ns,
        uid: 1000,
        gid: 100,
        ..Entry::new(RelPath::new(p.to_owned()).unwrap(), kind)
    };
    let mut v = vec![
        e("docs", EntryKind::Dir, 0o755, 1_700_000_000_000_000_001),
        e(
            "docs/a.txt",
            EntryKind::File,
            0o644,
            1_700_000_000_123_456_789,
        ),
        e("docs/b.txt", EntryKind::File, 0o600, -1_500_000_000),
        e("docs/current", EntryKind::Symlink, 0o777, 0),
        e("images", EntryKind::Dir, 0o2775, 1),
        e("images/disk.img", EntryKind::File, 0o640, 2),
        e("pipe", EntryKind::Other, 0o620, 3),
        e("z-hard", EntryKind::File, 0o644, 1_700_000_000_123_456_789),
    ];
    v[1].size = 12;
    v[1].link = Some(HardLink {
        dev: 0x803,
        ino: 1_234_567,
    });
    v[2].size = 0;
    v[3].target = Bytes::from_static(b"a.txt");
    v[5].size = 5 << 30;
    v[5].sparse = true;
    v[7].size = 12;
    v[7].link = v[1].link;
    v
}

fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut w = TreeWriter::new(Vec::new());
    for e in entries {
        w.push(e).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn v1_encodes_identically_and_decodes_to_the_same_entries() {
    let fresh = encode(&golden_entries());
    let golden = read_or_bless("tree-v1.rhatree", &fresh);
    assert_eq!(
        fresh, golden,
        "the writer no longer produces the pinned version-1 bytes"
    );
    let back: Vec<Entry> = TreeReader::new(&golden[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, golden_entries());
}

#[test]
fn corrupt_v1_names_the_damaged_block() {
    let mut bad = encode(&golden_entries());
    // A bit of the first entry's size field, inside the first block.
    bad[16 + 16 + 60] ^= 0x01;
    let golden = read_or_bless("tree-v1-corrupt.rhatree", &bad);
    let err = TreeReader::new(&golden[..]).find_map(Result::err).unwrap();
    let TreeReadError::Signature(e) = err else {
        panic!("not a decoding error: {err}");
    };
    assert_eq!(
        (e.offset, e.entries, e.kind),
        (16, 0, SignatureErrorKind::BlockChecksum)
    );
}
