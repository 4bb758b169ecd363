//! Properties of the tree signature format and of sync plans.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::journal::RelPath;

fn rel(p: &[u8]) -> RelPath {
    RelPath::new(Bytes::copy_from_slice(p)).unwrap()
}

/// A file's data in the model.
#[derive(Debug, Clone, PartialEq)]
struct Inode {
    content: u32,
    size: u64,
    mode: u32,
    uid: u32,
    mtime: i64,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Dir { mode: u32, uid: u32, mtime: i64 },
    File(u64),
    Symlink { target: Bytes, uid: u32, mtime: i64 },
    Other { mode: u32, uid: u32, mtime: i64 },
}

/// A tree in memory: what a file system holds, with inodes for hard links.
#[derive(Debug, Clone, Default)]
struct Model {
    nodes: BTreeMap<Vec<u8>, Node>,
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
}

/// The time a real file system would give a directory whose contents changed.
const NOW: i64 = -999;

impl Model {
    fn nlink(&self, ino: u64) -> usize {
        self.nodes
            .values()
            .filter(|n| **n == Node::File(ino))
            .count()
    }

    fn signature(&self) -> Vec<Entry> {
        let mut paths: Vec<&Vec<u8>> = self.nodes.keys().collect();
        paths.sort_by(|a, b| path_order(a, b));
        paths
            .into_iter()
            .map(|p| {
                let node = &self.nodes[p];
                let mut e = Entry::new(rel(p), EntryKind::File);
                match node {
                    Node::Dir { mode, uid, mtime } => {
                        e.kind = EntryKind::Dir;
                        (e.mode, e.uid, e.mtime_ns) = (*mode, *uid, *mtime);
                    }
                    Node::File(ino) => {
                        let i = &self.inodes[ino];
                        (e.mode, e.uid, e.mtime_ns, e.size) = (i.mode, i.uid, i.mtime, i.size);
                        if self.nlink(*ino) > 1 {
                            e.link = Some(HardLink { dev: 7, ino: *ino });
                        }
                        e.sparse = i.size > 1 && i.content % 2 == 0;
                    }
                    Node::Symlink { target, uid, mtime } => {
                        e.kind = EntryKind::Symlink;
                        (e.target, e.uid, e.mtime_ns) = (target.clone(), *uid, *mtime);
                    }
                    Node::Other { mode, uid, mtime } => {
                        e.kind = EntryKind::Other;
                        (e.mode, e.uid, e.mtime_ns) = (*mode, *uid, *mtime);
                    }
                }
                e
            })
            .collect()
    }

    /// What must agree after a sync: every entry, with hard links as "same
    /// file as the first name" and file contents.
    fn normalised(&self) -> Vec<(Entry, Option<RelPath>, Option<u32>)> {
        let mut leaders: HashMap<u64, RelPath> = HashMap::new();
        self.signature()
            .into_iter()
            .map(|mut e| {
                let leader = e
                    .link
                    .take()
                    .map(|l| leaders.entry(l.ino).or_insert(e.path.clone()).clone());
                let content = match &self.nodes[e.path.as_bytes()] {
                    Node::File(ino) => Some(self.inodes[ino].content),
                    _ => None,
                };
                (e, leader, content)
            })
            .collect()
    }

    fn parent_ok(&self, path: &[u8]) -> Result<(), String> {
        match entry::parent(path) {
            None => Ok(()),
            Some(p) => match self.nodes.get(p) {
                Some(Node::Dir { .. }) => Ok(()),
                _ => Err(format!(
                    "parent of {:?} is not a directory",
                    String::from_utf8_lossy(path)
                )),
            },
        }
    }

    fn absent(&self, path: &[u8]) -> Result<(), String> {
        self.parent_ok(path)?;
        if self.nodes.contains_key(path) {
            return Err(format!(
                "{:?} already exists",
                String::from_utf8_lossy(path)
            ));
        }
        Ok(())
    }

    fn bump_parent(&mut self, path: &[u8]) {
        if let Some(p) = entry::parent(path) {
            if let Some(Node::Dir { mtime, .. }) = self.nodes.get_mut(p) {
                *mtime = NOW;
            }
        }
    }

    fn new_inode(&mut self, e: &Entry, content: u32) -> u64 {
        self.next_ino += 1;
        let ino = self.next_ino + 1_000_000;
        self.inodes.insert(
            ino,
            Inode {
                content,
                size: e.size,
                mode: e.mode,
                uid: e.uid,
                mtime: e.mtime_ns,
            },
        );
        ino
    }

    /// Applies one op strictly: anything a real file system would refuse,
    /// or an op out of a safe order, is an error.
    fn apply(&mut self, op: &PlanOp, master: &Model) -> Result<(), String> {
        let p = op.path().as_bytes().to_vec();
        let master_content = || match master.nodes.get(&p) {
            Some(Node::File(ino)) => Ok(master.inodes[ino].content),
            _ => Err("no master file to copy".to_owned()),
        };
        match op {
            PlanOp::Delete { kind, .. } => {
                let node = self.nodes.get(&p).ok_or("delete of a missing entry")?;
                let actual = match node {
                    Node::Dir { .. } => EntryKind::Dir,
                    Node::File(_) => EntryKind::File,
                    Node::Symlink { .. } => EntryKind::Symlink,
                    Node::Other { .. } => EntryKind::Other,
                };
                if actual != *kind {
                    return Err("delete of the wrong kind".into());
                }
                if self.nodes.keys().any(|k| is_inside(&p, k)) {
                    return Err("delete of a non-empty directory".into());
                }
                self.nodes.remove(&p);
                self.bump_parent(&p);
            }
            PlanOp::Mkdir { entry } => {
                self.absent(&p)?;
                self.nodes.insert(
                    p.clone(),
                    Node::Dir {
                        mode: entry.mode | 0o700,
                        uid: 0,
                        mtime: NOW,
                    },
                );
                self.bump_parent(&p);
            }
            PlanOp::Create { entry } => {
                self.absent(&p)?;
                let ino = self.new_inode(entry, master_content()?);
                self.nodes.insert(p.clone(), Node::File(ino));
                self.bump_parent(&p);
            }
            PlanOp::Update { entry } | PlanOp::Check { entry } => {
                let Some(Node::File(old)) = self.nodes.get(&p) else {
                    return Err("update of something that is not a file".into());
                };
                let content = master_content()?;
                if matches!(op, PlanOp::Check { .. }) && self.inodes[old].content == content {
                    let i = self.inodes.get_mut(old).ok_or("lost inode")?;
                    (i.mode, i.uid, i.mtime) = (entry.mode, entry.uid, entry.mtime_ns);
                } else {
                    let ino = self.new_inode(entry, content);
                    self.nodes.insert(p.clone(), Node::File(ino));
                    self.bump_parent(&p);
                }
            }
            PlanOp::Symlink { entry } => {
                self.absent(&p)?;
                self.nodes.insert(
                    p.clone(),
                    Node::Symlink {
                        target: entry.target.clone(),
                        uid: entry.uid,
                        mtime: entry.mtime_ns,
                    },
                );
                self.bump_parent(&p);
            }
            PlanOp::Special { entry } => {
                self.absent(&p)?;
                self.nodes.insert(
                    p.clone(),
                    Node::Other {
                        mode: entry.mode,
                        uid: entry.uid,
                        mtime: entry.mtime_ns,
                    },
                );
                self.bump_parent(&p);
            }
            PlanOp::Link { target, .. } => {
                self.absent(&p)?;
                let Some(Node::File(ino)) = self.nodes.get(target.as_bytes()) else {
                    return Err("link to something that is not a file".into());
                };
                self.nodes.insert(p.clone(), Node::File(*ino));
                self.bump_parent(&p);
            }
            PlanOp::SetAttrs { entry, changes } => {
                match self.nodes.get_mut(&p).ok_or("attrs of a missing entry")? {
                    Node::File(ino) => {
                        let i = self.inodes.get_mut(ino).ok_or("lost inode")?;
                        if changes.mode {
                            i.mode = entry.mode;
                        }
                        if changes.owner {
                            i.uid = entry.uid;
                        }
                        if changes.mtime {
                            i.mtime = entry.mtime_ns;
                        }
                    }
                    Node::Dir { mode, uid, mtime } | Node::Other { mode, uid, mtime } => {
                        if changes.mode {
                            *mode = entry.mode;
                        }
                        if changes.owner {
                            *uid = entry.uid;
                        }
                        if changes.mtime {
                            *mtime = entry.mtime_ns;
                        }
                    }
                    Node::Symlink { uid, mtime, .. } => {
                        if changes.owner {
                            *uid = entry.uid;
                        }
                        if changes.mtime {
                            *mtime = entry.mtime_ns;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A spec of one generated entry: path, kind, and small attribute values
/// (so that master and replica often agree).
type Spec = (Vec<u8>, u8, u8, u8, u8, u8);

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 1..4),
        0u8..10,
        0u8..2,
        0u8..2,
        0u8..2,
        0u8..4,
    )
        .prop_map(|(comps, kind, size, mtime, mode, link)| {
            let mut path = Vec::new();
            for (i, c) in comps.iter().enumerate() {
                if i > 0 {
                    path.push(b'/');
                }
                path.push(*c);
            }
            (path, kind, size, mtime, mode, link)
        })
}

/// Builds a model from specs: parents become directories first; a later
/// spec at an existing path is dropped; some files become hard links to an
/// earlier file.
fn build(specs: &[Spec], consistent: bool) -> Model {
    let mut m = Model::default();
    let mut files: Vec<u64> = Vec::new();
    for (path, kind, size, mtime, mode, link) in specs {
        let mut ok = true;
        for (i, &b) in path.iter().enumerate() {
            if b == b'/' {
                let prefix = path[..i].to_vec();
                match m.nodes.get(&prefix) {
                    Some(Node::Dir { .. }) => {}
                    Some(_) => {
                        ok = false;
                        break;
                    }
                    None => {
                        m.nodes.insert(
                            prefix,
                            Node::Dir {
                                mode: 0o755,
                                uid: 0,
                                mtime: 1,
                            },
                        );
                    }
                }
            }
        }
        if !ok || m.nodes.contains_key(path) {
            continue;
        }
        let (size, mtime, mode) = (
            u64::from(*size) * 3,
            i64::from(*mtime),
            if *mode == 0 { 0o644 } else { 0o600 },
        );
        let node = match kind {
            0..=4 => {
                if *link == 0 && !files.is_empty() {
                    Node::File(files[size as usize % files.len()])
                } else {
                    let content = if consistent {
                        (size as u32) * 10 + mtime as u32
                    } else {
                        u32::from(*link)
                    };
                    let e = Entry {
                        size,
                        mtime_ns: mtime,
                        mode,
                        uid: u32::from(*link % 2),
                        ..Entry::new(rel(b"x"), EntryKind::File)
                    };
                    let ino = m.new_inode(&e, content);
                    files.push(ino);
                    Node::File(ino)
                }
            }
            5..=7 => Node::Dir {
                mode,
                uid: 0,
                mtime,
            },
            8 => Node::Symlink {
                target: Bytes::from(vec![b't', b'0' + *link]),
                uid: 0,
                mtime,
            },
            _ => Node::Other {
                mode,
                uid: u32::from(*link % 2),
                mtime,
            },
        };
        m.nodes.insert(path.clone(), node);
    }
    m
}

fn sync(master: &Model, replica: &Model, options: CompareOptions) -> Result<Model, String> {
    let plan = compare(
        master.signature().into_iter().map(Ok),
        replica.signature().into_iter().map(Ok),
        options,
    );
    let mut out = replica.clone();
    for op in plan {
        let op = op.map_err(|e| e.to_string())?;
        out.apply(&op, master)
            .map_err(|e| format!("{e} at {op:?}"))?;
    }
    Ok(out)
}

/// Patterns the exclusion property picks from: a basename, an anchored
/// path, a directory-only pattern and a class.
const PATTERNS: [&str; 4] = ["b", "a/c", "c/", "[ab]/a"];

fn roundtrip(entries: &[Entry]) -> Vec<u8> {
    let mut w = TreeWriter::new(Vec::new());
    for e in entries {
        w.push(e).unwrap();
    }
    w.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn applying_the_plan_makes_the_replica_equal_the_master(
        m in prop::collection::vec(spec(), 0..30),
        r in prop::collection::vec(spec(), 0..30),
        ignore_same in any::<bool>(),
        check in any::<bool>(),
    ) {
        let master = build(&m, ignore_same);
        let replica = build(&r, ignore_same);
        let options = CompareOptions::default().ignore_same(ignore_same).check_contents(check);
        let synced = sync(&master, &replica, options.clone()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(synced.normalised(), master.normalised());
        // A second comparison finds nothing left to do.
        let again: Vec<PlanOp> = compare(
            master.signature().into_iter().map(Ok),
            synced.signature().into_iter().map(Ok),
            options.ignore_same(true),
        ).collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(again.is_empty(), "{:?}", again);
    }

    #[test]
    fn excluded_entries_stay_untouched_and_the_rest_converges(
        m in prop::collection::vec(spec(), 0..30),
        r in prop::collection::vec(spec(), 0..30),
        pattern in prop::sample::select(PATTERNS.to_vec()),
    ) {
        let master = build(&m, true);
        let replica = build(&r, true);
        let options = CompareOptions::default().exclude(pattern).unwrap();
        let synced = sync(&master, &replica, options.clone()).map_err(TestCaseError::fail)?;
        // Every entry the pattern matches on the replica is still there, unchanged.
        let glob = Glob::new(pattern).unwrap();
        let before = replica.signature();
        let after = synced.signature();
        for e in before.iter().filter(|e| glob.matches(e.path.as_bytes(), e.kind == EntryKind::Dir)) {
            let kept = after.iter().find(|a| a.path == e.path);
            prop_assert!(kept.is_some_and(|a| a.kind == e.kind && a.size == e.size && a.mtime_ns == e.mtime_ns), "{:?}", e);
        }
        // A second comparison with the same exclusions finds nothing to do.
        let again: Vec<PlanOp> = compare(
            master.signature().into_iter().map(Ok),
            synced.signature().into_iter().map(Ok),
            options,
        ).collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(again.is_empty(), "{:?}", again);
    }

    #[test]
    fn signatures_round_trip_whole_and_in_chunks(
        specs in prop::collection::vec(spec(), 0..40),
        chunk in 1usize..200,
    ) {
        let entries = build(&specs, false).signature();
        let bytes = roundtrip(&entries);
        let read: Vec<Entry> = TreeReader::new(&bytes[..]).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&read, &entries);
        let mut d = TreeDecoder::new();
        let mut got = Vec::new();
        for piece in bytes.chunks(chunk) {
            d.feed(piece);
            while let Some(e) = d.next_entry().unwrap() {
                got.push(e);
            }
        }
        prop_assert_eq!(d.finish().unwrap(), entries.len() as u64);
        prop_assert_eq!(got, entries);
    }

    #[test]
    fn any_flipped_bit_or_cut_is_an_error(
        specs in prop::collection::vec(spec(), 1..10),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let bytes = roundtrip(&build(&specs, false).signature());
        let i = at.index(bytes.len());
        let mut bad = bytes.clone();
        bad[i] ^= 1 << bit;
        prop_assert!(TreeReader::new(&bad[..]).any(|r| r.is_err()));
        let cut = &bytes[..i];
        let last = TreeReader::new(cut).last();
        prop_assert!(matches!(last, Some(Err(_))), "cut at {} read cleanly", i);
    }
}

fn file(p: &str, size: u64, mtime: i64) -> Entry {
    let mut e = Entry::new(rel(p.as_bytes()), EntryKind::File);
    (e.size, e.mtime_ns) = (size, mtime);
    e
}

fn dir(p: &str) -> Entry {
    Entry::new(rel(p.as_bytes()), EntryKind::Dir)
}

fn plan(master: &[Entry], replica: &[Entry], options: CompareOptions) -> Vec<String> {
    compare(
        master.iter().cloned().map(Ok),
        replica.iter().cloned().map(Ok),
        options,
    )
    .map(|op| op.map(|op| format!("{} {}", op.name(), op.path())))
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn deletions_go_deepest_first_and_replacements_follow() {
    let master = [file("x", 1, 1)];
    let replica = [dir("x"), dir("x/y"), file("x/y/z", 1, 1), file("x/z", 1, 1)];
    assert_eq!(
        plan(&master, &replica, CompareOptions::default()),
        [
            "delete x/y/z",
            "delete x/y",
            "delete x/z",
            "delete x",
            "create x"
        ]
    );
}

#[test]
fn ignore_same_and_check_contents() {
    let m = [file("f", 4, 9)];
    let on = CompareOptions::default();
    assert!(plan(&m, &m, on.clone()).is_empty());
    assert_eq!(plan(&m, &m, on.clone().ignore_same(false)), ["update f"]);
    assert_eq!(
        plan(&m, &m, on.clone().ignore_same(false).check_contents(true)),
        ["check f"]
    );
    assert_eq!(plan(&m, &[file("f", 4, 8)], on), ["update f"]);
}

#[test]
fn excluded_paths_are_left_alone_on_both_sides() {
    let master = [
        dir("cache"),
        file("cache/a", 1, 1),
        file("keep", 1, 1),
        file("x.tmp", 1, 1),
    ];
    let replica = [dir("cache"), file("cache/b", 1, 1), file("y.tmp", 1, 1)];
    let options = CompareOptions::default()
        .exclude("cache/")
        .unwrap()
        .exclude("*.tmp")
        .unwrap();
    assert_eq!(plan(&master, &replica, options), ["create keep"]);
}

#[test]
fn hard_links_follow_their_first_name() {
    let link = Some(HardLink { dev: 1, ino: 5 });
    let mut a = file("a", 3, 3);
    a.link = link;
    let mut b = file("b", 3, 3);
    b.link = link;
    let plain = [file("a", 3, 3), file("b", 3, 3)];
    assert_eq!(
        plan(&[a.clone(), b.clone()], &plain, CompareOptions::default()),
        ["delete b", "link b"]
    );
    assert!(plan(
        &[a.clone(), b.clone()],
        &[a.clone(), b.clone()],
        CompareOptions::default()
    )
    .is_empty());
    // A replica pair that the master no longer links is separated.
    assert_eq!(
        plan(&plain, &[a, b], CompareOptions::default()),
        ["update b"]
    );
}

#[test]
fn unsorted_input_is_an_error_naming_the_side() {
    let bad = [file("b", 1, 1), file("a", 1, 1)];
    let e = compare(
        bad.iter().cloned().map(Ok),
        std::iter::empty(),
        CompareOptions::default(),
    )
    .find_map(Result::err)
    .unwrap();
    assert_eq!(
        e.to_string(),
        "master signature: entry 'a' does not sort after the previous entry 'b'"
    );
}

#[test]
fn the_writer_refuses_bad_entries() {
    let mut w = TreeWriter::new(Vec::new());
    let mut d = dir("d");
    d.size = 1;
    assert!(matches!(w.push(&d), Err(TreeWriteError::Invalid { .. })));
    w.push(&file("b", 1, 1)).unwrap();
    assert!(matches!(
        w.push(&file("a", 1, 1)),
        Err(TreeWriteError::Order(_))
    ));
}

#[test]
fn damage_is_reported_with_its_offset() {
    let bytes = roundtrip(&[dir("d"), file("d/f", 1, 1)]);
    let mut bad = bytes.clone();
    bad[TREE_HEADER_LEN + BLOCK_HEADER_LEN + 3] ^= 4;
    let e = TreeReader::new(&bad[..]).find_map(Result::err).unwrap();
    assert_eq!(
        e.to_string(),
        "tree signature: corrupt block: checksum mismatch at byte offset 16 (after 0 good entries)"
    );
    let e = TreeReader::new(&bytes[..bytes.len() - 1])
        .find_map(Result::err)
        .unwrap();
    assert!(e.to_string().contains("truncated"), "{e}");
    let mut long = bytes.clone();
    long.push(0);
    let e = TreeReader::new(&long[..]).find_map(Result::err).unwrap();
    assert!(e.to_string().contains("after the end block"), "{e}");
    let e = TreeReader::new(&b"RHATREX\0xxxxxxxxxxxxxxxxxxx"[..])
        .find_map(Result::err)
        .unwrap();
    assert!(e.to_string().contains("bad magic"), "{e}");
}

#[test]
fn many_entries_span_many_blocks() {
    let mut entries = vec![dir("d")];
    for i in 0..10_000 {
        entries.push(file(&format!("d/{i:06}"), i, 1));
    }
    let bytes = roundtrip(&entries);
    let back: Vec<Entry> = TreeReader::new(&bytes[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, entries);
    // Shared path prefixes keep entries small.
    assert!(bytes.len() < entries.len() * 50, "{} bytes", bytes.len());
}

fn with_xattrs(mut e: Entry, attrs: &[(&str, &str)]) -> Entry {
    e.xattrs = XattrDigest::of(attrs);
    e
}

#[test]
fn xattr_digests_round_trip_and_a_difference_is_an_attribute_fix() {
    let mut link = Entry::new(rel(b"d/l"), EntryKind::Symlink);
    link.target = Bytes::from_static(b"f");
    let master = [
        with_xattrs(dir("d"), &[("user.d", "1")]),
        with_xattrs(file("d/f", 3, 7), &[("user.a", "1"), ("user.b", "")]),
        with_xattrs(link, &[("trusted.t", "x")]),
    ];
    let bytes = roundtrip(&master);
    assert_eq!(
        u16::from_le_bytes([bytes[8], bytes[9]]),
        TREE_FORMAT_VERSION
    );
    let back: Vec<Entry> = TreeReader::new(&bytes[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, master);
    // Same contents and times, attributes differing in a value, missing,
    // and present only on the replica.
    let mut replica = master.clone();
    replica[0].xattrs = None;
    replica[1] = with_xattrs(file("d/f", 3, 7), &[("user.a", "2"), ("user.b", "")]);
    replica[2].xattrs = None;
    let ops: Vec<PlanOp> = compare(
        master.iter().cloned().map(Ok),
        replica.iter().cloned().map(Ok),
        CompareOptions::default(),
    )
    .collect::<Result<_, _>>()
    .unwrap();
    let only_xattrs = AttrChanges {
        xattrs: true,
        ..AttrChanges::default()
    };
    let got: Vec<(String, AttrChanges)> = ops
        .iter()
        .map(|op| match op {
            PlanOp::SetAttrs { entry, changes } => (entry.path.to_string(), *changes),
            op => panic!("not an attribute fix: {op:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            ("d/f".to_owned(), only_xattrs),
            ("d/l".to_owned(), only_xattrs),
            ("d".to_owned(), only_xattrs),
        ]
    );
    // Equal sets: nothing to do.
    assert!(plan(&master, &master, CompareOptions::default()).is_empty());
    let gone = [dir("d"), file("d/f", 3, 7)];
    let removed = [dir("d"), with_xattrs(file("d/f", 3, 7), &[("user.x", "")])];
    assert_eq!(
        plan(&gone, &removed, CompareOptions::default()),
        ["attrs d/f"]
    );
}

/// `bytes` (a signature without xattr digests) relabelled as version 1.
fn as_version_1(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes[8..10].copy_from_slice(&1u16.to_le_bytes());
    let c = crc32c::crc32c(&bytes[..12]);
    bytes[12..16].copy_from_slice(&c.to_le_bytes());
    bytes
}

#[test]
fn version_1_still_reads_but_without_the_xattr_flag() {
    let plain = [dir("d"), file("d/f", 3, 7)];
    let v1 = as_version_1(roundtrip(&plain));
    let mut d = TreeDecoder::new();
    d.feed(&v1);
    let mut back = Vec::new();
    while let Some(e) = d.next_entry().unwrap() {
        back.push(e);
    }
    assert_eq!((d.version(), back), (1, plain.to_vec()));

    let tagged = [dir("d"), with_xattrs(file("d/f", 3, 7), &[("user.a", "1")])];
    let v1 = as_version_1(roundtrip(&tagged));
    let err = TreeReader::new(&v1[..]).find_map(Result::err).unwrap();
    let TreeReadError::Signature(e) = err else {
        panic!("not a decoding error: {err}");
    };
    assert_eq!(
        (e.entries, e.kind),
        (1, SignatureErrorKind::Invalid("unknown entry flags"))
    );
    // A version from the future is refused up front.
    let mut v3 = roundtrip(&plain);
    v3[8..10].copy_from_slice(&3u16.to_le_bytes());
    let c = crc32c::crc32c(&v3[..12]);
    v3[12..16].copy_from_slice(&c.to_le_bytes());
    let err = TreeReader::new(&v3[..]).find_map(Result::err).unwrap();
    assert!(
        err.to_string().contains("version 3"),
        "unexpected error: {err}"
    );
}
