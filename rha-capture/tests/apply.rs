//! Applying records to real directories: path safety, the rewind property on
//! a temporary directory, transactions and volumes.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use bytes::Bytes;
use proptest::prelude::*;
use rha_capture::apply::{ApplyError, DirTarget, ReplicaDir, ReplicaOptions};
use rha_core::journal::{Attrs, Op, Record, RelPath};
use rha_core::rewind::{ModelTree, PreImage, Replica, ReplicaConfig, Target};
use rha_core::storage::DirStorage;

fn p(s: &str) -> RelPath {
    RelPath::new(s.to_owned()).unwrap()
}

fn rec(seq: u64, op: Op) -> Record {
    Record {
        seq,
        timestamp_ns: seq * 1_000_000_000,
        op,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    File {
        data: Vec<u8>,
        mode: u32,
        owner: (u32, u32),
        mtime: (i64, i64),
        xattrs: Vec<(String, Vec<u8>)>,
        link_group: String,
    },
    Dir {
        mode: u32,
        owner: (u32, u32),
        xattrs: Vec<(String, Vec<u8>)>,
    },
    Symlink {
        target: String,
        owner: (u32, u32),
    },
}

fn user_xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut t = DirTarget::open(path.parent().unwrap(), None).unwrap();
    let name = p(path.file_name().unwrap().to_str().unwrap());
    let mut v: Vec<_> = t
        .xattrs(&name)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
        .filter(|(k, _)| k.starts_with("user."))
        .collect();
    v.sort();
    v
}

/// Everything rewind restores, for every entry under `root` except `.rha`.
fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let mut first: BTreeMap<u64, String> = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    let mut files = Vec::new();
    while let Some((dir, rel)) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_str().unwrap().to_owned();
            if rel.is_empty() && name == ".rha" {
                continue;
            }
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let m = fs::symlink_metadata(e.path()).unwrap();
            let owner = (m.uid(), m.gid());
            if m.is_dir() {
                out.insert(
                    r.clone(),
                    Node::Dir {
                        mode: m.mode() & 0o7777,
                        owner,
                        xattrs: user_xattrs(&e.path()),
                    },
                );
                stack.push((e.path(), r));
            } else if m.file_type().is_symlink() {
                let target = fs::read_link(e.path())
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                out.insert(r, Node::Symlink { target, owner });
            } else {
                files.push((r, e.path(), m));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (r, _, m) in &files {
        first.entry(m.ino()).or_insert_with(|| r.clone());
    }
    for (r, path, m) in files {
        out.insert(
            r,
            Node::File {
                data: fs::read(&path).unwrap(),
                mode: m.mode() & 0o7777,
                owner: (m.uid(), m.gid()),
                mtime: (m.mtime(), m.mtime_nsec()),
                xattrs: user_xattrs(&path),
                link_group: first[&m.ino()].clone(),
            },
        );
    }
    out
}

fn strip_mtimes(mut s: BTreeMap<String, Node>) -> BTreeMap<String, Node> {
    for n in s.values_mut() {
        if let Node::File { mtime, .. } = n {
            *mtime = (0, 0);
        }
    }
    s
}

const PATHS: [&str; 7] = ["a", "b", "d", "d/a", "d/b", "e", "e/f"];

fn to_op(kind: u8, a: u8, b: u8, n: u16, data: Vec<u8>) -> Op {
    let path = |i: u8| p(PATHS[i as usize % PATHS.len()]);
    let data = Bytes::from(data);
    let n = n as u64;
    match kind % 15 {
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
            mode: 0o750,
        },
        9 => Op::Rmdir { path: path(a) },
        10 => Op::Symlink {
            path: path(a),
            target: Bytes::from(format!("../t{}", n % 5)),
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
                atime: None,
                mtime: (n & 16 != 0).then_some(n as i64 * 3_000_000_007),
            },
        },
        13 => Op::SetXattr {
            path: path(a),
            name: Bytes::from(if n & 1 == 0 { "user.x" } else { "user.y" }),
            value: data,
        },
        _ => Op::RemoveXattr {
            path: path(a),
            name: Bytes::from(if n & 1 == 0 { "user.x" } else { "user.y" }),
        },
    }
}

/// The operations the model accepts (and that Linux allows: no user
/// extended attributes on symbolic links).
fn valid(raw: &[(u8, u8, u8, u16, Vec<u8>)]) -> Vec<Record> {
    let mut m = ModelTree::new();
    let mut out = Vec::new();
    for (k, a, b, n, d) in raw {
        let op = to_op(*k, *a, *b, *n, d.clone());
        if let Op::SetXattr { path, .. } | Op::RemoveXattr { path, .. } = &op {
            if m.stat(path)
                .unwrap()
                .is_some_and(|s| s.kind == rha_core::rewind::NodeKind::Symlink)
            {
                continue;
            }
        }
        let mut t = m.clone();
        if t.apply(&op).is_ok() {
            m = t;
            out.push(rec(out.len() as u64 + 1, op));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// On a real temporary directory, rewinding to point k gives exactly the
    /// tree after k records: contents, modes, owners, modification times,
    /// extended attributes, symbolic links and hard links.
    #[test]
    fn rewind_real_directory(
        raw in proptest::collection::vec(
            (any::<u8>(), any::<u8>(), any::<u8>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20)),
            1..40,
        ),
        picks in proptest::collection::vec(any::<u16>(), 1..3),
    ) {
        let recs = valid(&raw);
        prop_assume!(!recs.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir(&root).unwrap();
        let spool = dir.path().join("spool");
        let target = DirTarget::open(&root, None).unwrap();
        let storage = DirStorage::open(&spool).unwrap();
        let config = ReplicaConfig::default().batch_records(1).elide_min(8);
        let mut r = Replica::open(target, storage, config).unwrap();
        let mut states = vec![snapshot(&root)];
        for rec in &recs {
            r.apply(rec.clone()).unwrap();
            states.push(snapshot(&root));
        }
        let mut cur = recs.len();
        for pick in picks {
            let k = pick as usize % (cur + 1);
            r.rewind_to(k as u64).unwrap();
            prop_assert_eq!(&snapshot(&root), &states[k]);
            cur = k;
        }
        // Undo replays the records: everything but the modification times
        // they set (the replay time) comes back.
        r.undo_rewind().ok();
        prop_assert_eq!(strip_mtimes(snapshot(&root)), strip_mtimes(states.pop().unwrap()));
    }
}

#[test]
fn planted_symlinks_cannot_escape() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), b"keep").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    std::os::unix::fs::symlink("../outside", root.join("rel")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("file-link")).unwrap();
    let before = snapshot(&outside);

    let mut t = DirTarget::open(&root, Some(".rha")).unwrap();
    let attempts = [
        Op::Create {
            path: p("link/new"),
            mode: 0o644,
        },
        Op::Write {
            path: p("link/secret"),
            offset: 0,
            data: "evil".into(),
        },
        Op::Write {
            path: p("rel/secret"),
            offset: 0,
            data: "evil".into(),
        },
        Op::Write {
            path: p("file-link"),
            offset: 0,
            data: "evil".into(),
        },
        Op::SetLen {
            path: p("file-link"),
            len: 0,
        },
        Op::Delete {
            path: p("link/secret"),
        },
        Op::Rename {
            from: p("link/secret"),
            to: p("stolen"),
        },
        Op::Mkdir {
            path: p("rel/d"),
            mode: 0o755,
        },
        Op::HardLink {
            existing: p("link/secret"),
            link: p("h"),
        },
        Op::SetAttr {
            path: p("link/secret"),
            attrs: Attrs {
                mode: Some(0o777),
                ..Attrs::default()
            },
        },
        Op::SetXattr {
            path: p("link/secret"),
            name: "user.x".into(),
            value: "1".into(),
        },
        Op::Create {
            path: p(".rha/lock"),
            mode: 0o644,
        },
    ];
    for op in &attempts {
        let err = t.apply(op).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("refused") || msg.contains("not a regular file"),
            "{op:?}: {msg}"
        );
    }
    assert_eq!(snapshot(&outside), before);
    assert_eq!(fs::read(outside.join("secret")).unwrap(), b"keep");
    assert!(!root.join("stolen").exists() && !root.join("h").exists());

    // The same through a replica with rewind on: rejected, nothing logged.
    let mut r = ReplicaDir::open(&root, ReplicaOptions::default().rewind(true)).unwrap();
    let err = r.replica().apply(rec(
        1,
        Op::Write {
            path: p("link/secret"),
            offset: 0,
            data: "x".into(),
        },
    ));
    let msg = err.unwrap_err().to_string();
    assert!(
        msg.contains("link/secret") && msg.contains("refused"),
        "{msg}"
    );
    assert_eq!(fs::read(outside.join("secret")).unwrap(), b"keep");
}

#[test]
fn component_swapped_for_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir_all(root.join("d")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    let mut t = DirTarget::open(&root, None).unwrap();
    t.apply(&Op::Create {
        path: p("d/f"),
        mode: 0o644,
    })
    .unwrap();
    // Between two records the directory is swapped for a link outside.
    fs::rename(root.join("d"), root.join("d-old")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("d")).unwrap();
    let err = t
        .apply(&Op::Create {
            path: p("d/f2"),
            mode: 0o644,
        })
        .unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn modes_are_exact_despite_umask() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = DirTarget::open(dir.path(), None).unwrap();
    t.apply(&Op::Create {
        path: p("f"),
        mode: 0o666,
    })
    .unwrap();
    t.apply(&Op::Mkdir {
        path: p("d"),
        mode: 0o777,
    })
    .unwrap();
    assert_eq!(
        fs::metadata(dir.path().join("f"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o666
    );
    assert_eq!(
        fs::metadata(dir.path().join("d"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o777
    );
}

#[test]
fn volumes_apply_and_rewind() {
    let dir = tempfile::tempdir().unwrap();
    let vol = dir.path().join("vol.img");
    fs::write(&vol, vec![7u8; 8192]).unwrap();
    let mut t = DirTarget::volumes_only();
    t.add_volume(0, &vol).unwrap();
    let storage = DirStorage::open(dir.path().join("spool")).unwrap();
    let mut r = Replica::open(t, storage, ReplicaConfig::default()).unwrap();
    r.apply(rec(
        1,
        Op::BlockWrite {
            volume: 0,
            offset: 4096,
            data: vec![1u8; 4096].into(),
        },
    ))
    .unwrap();
    r.apply(rec(
        2,
        Op::Discard {
            volume: 0,
            offset: 0,
            len: 4096,
        },
    ))
    .unwrap();
    r.flush().unwrap();
    let now = fs::read(&vol).unwrap();
    assert_eq!(&now[..4096], &[0u8; 4096][..]);
    assert_eq!(&now[4096..], &[1u8; 4096][..]);
    let err = r.apply(rec(
        3,
        Op::BlockWrite {
            volume: 0,
            offset: 8000,
            data: vec![1u8; 500].into(),
        },
    ));
    assert!(err.unwrap_err().to_string().contains("past its end"));
    let err = r.apply(rec(
        3,
        Op::BlockWrite {
            volume: 1,
            offset: 0,
            data: vec![1u8; 5].into(),
        },
    ));
    assert!(err.unwrap_err().to_string().contains("volume 1"));
    r.rewind_to(0).unwrap();
    assert_eq!(fs::read(&vol).unwrap(), vec![7u8; 8192]);
}

#[test]
fn transaction_failing_midway_leaves_the_directory_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut r = ReplicaDir::open(root, ReplicaOptions::default().rewind(true)).unwrap();
    let rep = r.replica();
    rep.apply(rec(
        1,
        Op::Create {
            path: p("f"),
            mode: 0o644,
        },
    ))
    .unwrap();
    rep.apply(rec(
        2,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "base".into(),
        },
    ))
    .unwrap();
    rep.flush().unwrap();
    let before = snapshot(root);
    rep.apply(rec(3, Op::TxBegin { txid: 1 })).unwrap();
    rep.apply(rec(
        4,
        Op::Write {
            path: p("f"),
            offset: 0,
            data: "XXXXXXXX".into(),
        },
    ))
    .unwrap();
    rep.apply(rec(
        5,
        Op::Mkdir {
            path: p("d"),
            mode: 0o755,
        },
    ))
    .unwrap();
    rep.apply(rec(
        6,
        Op::Create {
            path: p("d/g"),
            mode: 0o644,
        },
    ))
    .unwrap();
    // Fails when applied: the parent does not exist.
    rep.apply(rec(
        7,
        Op::Create {
            path: p("nodir/g"),
            mode: 0o644,
        },
    ))
    .unwrap();
    let err = rep.apply(rec(8, Op::TxCommit { txid: 1 })).unwrap_err();
    assert!(err.to_string().contains("record 7"), "{err}");
    assert_eq!(snapshot(root), before);
}

#[test]
fn second_opener_is_told_the_replica_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let _first = ReplicaDir::open(dir.path(), ReplicaOptions::default()).unwrap();
    let err = ReplicaDir::open(dir.path(), ReplicaOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("replica is busy"), "{err}");
    // The holder is this process: the message says so, not "another process".
    assert!(
        err.to_string().contains("another handle in this process"),
        "{err}"
    );
    assert!(matches!(
        err,
        ApplyError::Busy {
            by_this_process: true,
            ..
        }
    ));
}

/// `recs` encoded as a capture source's journal writer does.
fn journal_bytes(recs: &[Record]) -> Vec<u8> {
    use rha_core::journal::{JournalWriter, WriterConfig};
    let first = recs.first().map_or(1, |r| r.seq);
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(first));
    for r in recs {
        w.append_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
fn journal_bytes_apply_like_the_journal_file() {
    use rha_capture::apply::{ApplyError, MEMORY_JOURNAL};
    let recs = vec![
        rec(
            1,
            Op::Mkdir {
                path: p("d"),
                mode: 0o755,
            },
        ),
        rec(
            2,
            Op::Create {
                path: p("d/f"),
                mode: 0o644,
            },
        ),
        rec(
            3,
            Op::Write {
                path: p("d/f"),
                offset: 0,
                data: "hello".into(),
            },
        ),
    ];
    let bytes = journal_bytes(&recs);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = b.path().join("changes.rhaj");
    fs::write(&file, &bytes).unwrap();
    let root_b = b.path().join("root");
    fs::create_dir(&root_b).unwrap();
    let opts = ReplicaOptions::default().rewind(true);
    let mut ra = ReplicaDir::open(a.path(), opts.clone()).unwrap();
    let mut rb = ReplicaDir::open(&root_b, opts).unwrap();
    let from_bytes = ra.apply_journal_bytes(&bytes).unwrap();
    let from_file = rb.apply_journal(&file).unwrap();
    assert_eq!(from_bytes, from_file);
    assert_eq!((from_bytes.applied, from_bytes.point), (3, Some(3)));
    assert_eq!(
        strip_mtimes(snapshot(a.path())),
        strip_mtimes(snapshot(&root_b))
    );
    // Again: nothing is applied twice.
    let again = ra.apply_journal_bytes(&bytes).unwrap();
    assert_eq!((again.applied, again.skipped), (0, 3));
    // A damaged second record: the first is applied and durable, the
    // error says so and names the journal.
    let mut more = journal_bytes(&[
        rec(
            4,
            Op::Write {
                path: p("d/f"),
                offset: 5,
                data: " world".into(),
            },
        ),
        rec(
            5,
            Op::Write {
                path: p("d/f"),
                offset: 0,
                data: "HELLO".into(),
            },
        ),
    ]);
    let at = more.len() - 3;
    more[at] ^= 0x40;
    more.extend_from_slice(&journal_bytes(&[rec(6, Op::Rmdir { path: p("x") })])[16..]);
    match ra.apply_journal_bytes(&more).unwrap_err() {
        ApplyError::Journal { path, report, .. } => {
            assert_eq!(path, Path::new(MEMORY_JOURNAL));
            assert_eq!((report.applied, report.point), (1, Some(4)));
        }
        e => panic!("{e}"),
    }
    assert_eq!(fs::read(a.path().join("d/f")).unwrap(), b"hello world");
    // Frames without the stream header, continuing the replica.
    let tail = journal_bytes(&[rec(
        5,
        Op::Write {
            path: p("d/f"),
            offset: 0,
            data: "J".into(),
        },
    )]);
    let rep = ra.apply_journal_bytes(&tail[16..]).unwrap();
    assert_eq!((rep.applied, rep.point), (1, Some(5)));
    assert_eq!(fs::read(a.path().join("d/f")).unwrap(), b"Jello world");
}
