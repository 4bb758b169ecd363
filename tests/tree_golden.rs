//! Golden files pin the tree signature format
//! (`docs/tree-signature-format.md`): the writer must keep producing the
//! pinned version-2 bytes, and the files under `tests/data/` (version 2 and
//! the older version 1) must keep decoding to the same entries.
//!
//! Regenerate the version-2 file (only when adding a golden file, never to
//! paper over a change): `RHA_BLESS=1 cargo test -p rha-tests --test
//! tree_golden v2`. The version-1 files are no longer written by anything
//! and are only read.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use bytes::Bytes;
use rha_core::journal::RelPath;
use rha_core::signature::tree::{
    Entry, EntryKind, HardLink, SignatureErrorKind, TreeDecoder, TreeReadError, TreeReader,
    TreeWriter, XattrDigest,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    let file = data(name);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn read_or_bless(name: &str, fresh: &[u8]) -> Vec<u8> {
    let file = data(name);
    if std::env::var_os("RHA_BLESS").is_some() {
        std::fs::write(&file, fresh).unwrap();
    }
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// One entry of every kind and version-1 flag, with shared path prefixes.
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

/// The version-1 entries plus extended-attribute digests on a directory,
/// a file, a hard-linked file and a symlink.
fn golden_entries_v2() -> Vec<Entry> {
    let mut v = golden_entries();
    v[0].xattrs = XattrDigest::of(&[("user.comment", "docs")]);
    v[1].xattrs = XattrDigest::of(&[("user.a", ""), ("user.mime_type", "text/plain")]);
    v[3].xattrs = XattrDigest::of(&[("trusted.overlay.opaque", "y")]);
    v[7].xattrs = v[1].xattrs;
    v
}

#[test]
fn v2_encodes_identically_and_decodes_to_the_same_entries() {
    let fresh = encode(&golden_entries_v2());
    let golden = read_or_bless("tree-v2.rhatree", &fresh);
    assert_eq!(
        fresh, golden,
        "the writer no longer produces the pinned version-2 bytes"
    );
    let back: Vec<Entry> = TreeReader::new(&golden[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, golden_entries_v2());
}

#[test]
fn v1_still_decodes_to_the_same_entries() {
    let golden = read("tree-v1.rhatree");
    let mut d = TreeDecoder::new();
    d.feed(&golden);
    let mut back = Vec::new();
    while let Some(e) = d.next_entry().unwrap() {
        back.push(e);
    }
    assert_eq!(d.finish().unwrap(), 8);
    assert_eq!(d.version(), 1);
    assert_eq!(back, golden_entries());
    // Version 2 without digests is the same bytes but for the version
    // field (and the header checksum).
    let fresh = encode(&golden_entries());
    assert_eq!(fresh[16..], golden[16..]);
}

#[test]
fn corrupt_v1_names_the_damaged_block() {
    let golden = read("tree-v1-corrupt.rhatree");
    let err = TreeReader::new(&golden[..]).find_map(Result::err).unwrap();
    let TreeReadError::Signature(e) = err else {
        panic!("not a decoding error: {err}");
    };
    assert_eq!(
        (e.offset, e.entries, e.kind),
        (16, 0, SignatureErrorKind::BlockChecksum)
    );
}
