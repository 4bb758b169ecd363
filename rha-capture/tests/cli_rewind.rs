//! `rha apply`, `rha rewind` and `rha bookmark`, run as a user would.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use rha_capture::apply::{ReplicaDir, ReplicaOptions};
use rha_core::journal::{JournalWriter, Op, RelPath, WriterConfig};

fn rha(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rha"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(s: &str) -> RelPath {
    RelPath::new(s.to_owned()).unwrap()
}

/// Writes a journal with records numbered from `first`, one second apart
/// starting at `first` seconds.
fn journal(path: &Path, first: u64, ops: &[Op]) {
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(first));
    for (i, op) in ops.iter().enumerate() {
        w.append((first + i as u64) * 1_000_000_000, op).unwrap();
    }
    fs::write(path, w.into_inner().unwrap()).unwrap();
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn apply_bookmark_list_rewind_undo() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let j1 = dir.path().join("one.rhaj");
    journal(
        &j1,
        1,
        &[
            Op::Mkdir {
                path: p("docs"),
                mode: 0o755,
            },
            Op::Create {
                path: p("docs/a.txt"),
                mode: 0o644,
            },
            Op::Write {
                path: p("docs/a.txt"),
                offset: 0,
                data: "first version".into(),
            },
            Op::Bookmark {
                name: "nightly".into(),
                app_consistent: true,
            },
        ],
    );
    let out = ok(&rha(&["apply", j1.to_str().unwrap(), r, "--rewind"]));
    assert!(
        out.contains("applied 4 records (0 already present), point 4"),
        "{out}"
    );
    assert!(replica.join(".rha/rewind").is_dir());

    let out = ok(&rha(&["bookmark", r, "before-edit"]));
    assert!(
        out.contains("bookmark 'before-edit' set at point 4"),
        "{out}"
    );

    let j2 = dir.path().join("two.rhaj");
    journal(
        &j2,
        5,
        &[
            Op::Write {
                path: p("docs/a.txt"),
                offset: 0,
                data: "SECOND".into(),
            },
            Op::Create {
                path: p("docs/b.txt"),
                mode: 0o600,
            },
            Op::Delete {
                path: p("docs/a.txt"),
            },
        ],
    );
    ok(&rha(&["apply", j2.to_str().unwrap(), r]));
    // Applying the same journal again skips what the replica has.
    let out = ok(&rha(&["apply", j2.to_str().unwrap(), r]));
    assert!(
        out.contains("applied 0 records (3 already present)"),
        "{out}"
    );
    assert!(!replica.join("docs/a.txt").exists());

    let out = ok(&rha(&["rewind", "list", r]));
    assert!(out.contains("points: 0..=7 (8 points), current 7"), "{out}");
    assert!(
        out.contains("nightly  point 4") && out.contains("application-consistent"),
        "{out}"
    );
    assert!(out.contains("before-edit  point 4"), "{out}");

    let out = ok(&rha(&[
        "rewind",
        "to",
        r,
        "--bookmark",
        "before-edit",
        "--dry-run",
    ]));
    assert!(
        out.contains("would rewind from point 7 to point 4: 3 records undone"),
        "{out}"
    );
    assert!(out.contains("docs/a.txt"), "{out}");
    assert!(
        !replica.join("docs/a.txt").exists(),
        "a dry run changes nothing"
    );

    let out = ok(&rha(&["rewind", "to", r, "--bookmark", "before-edit"]));
    assert!(out.contains("rewound from point 7 to point 4"), "{out}");
    assert_eq!(
        fs::read(replica.join("docs/a.txt")).unwrap(),
        b"first version"
    );
    assert!(!replica.join("docs/b.txt").exists());

    let out = ok(&rha(&["rewind", "to", r, "--time", "1970-01-01T00:00:02Z"]));
    assert!(out.contains("to point 2"), "{out}");
    assert_eq!(fs::read(replica.join("docs/a.txt")).unwrap(), b"");

    let out = ok(&rha(&["rewind", "undo", r]));
    assert!(out.contains("back at point 7"), "{out}");
    assert!(!replica.join("docs/a.txt").exists());

    ok(&rha(&["rewind", "to", r, "--seq", "3"]));
    assert_eq!(
        fs::read(replica.join("docs/a.txt")).unwrap(),
        b"first version"
    );
    // Replication continues from the rewound state: record 4 onwards again.
    let j3 = dir.path().join("three.rhaj");
    journal(
        &j3,
        4,
        &[Op::Write {
            path: p("docs/a.txt"),
            offset: 0,
            data: "THIRD".into(),
        }],
    );
    let out = ok(&rha(&["apply", j3.to_str().unwrap(), r]));
    assert!(out.contains("applied 1 records"), "{out}");
    assert_eq!(
        fs::read(replica.join("docs/a.txt")).unwrap(),
        b"THIRD version"
    );
    let out = rha(&["rewind", "undo", r]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out.stderr).contains("nothing to undo"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let j = dir.path().join("j.rhaj");
    let mut ops = vec![Op::Create {
        path: p("f"),
        mode: 0o644,
    }];
    for i in 0..40u8 {
        ops.push(Op::Write {
            path: p("f"),
            offset: 0,
            data: vec![i; 300].into(),
        });
    }
    journal(&j, 1, &ops);
    let out = ok(&rha(&[
        "apply",
        j.to_str().unwrap(),
        r,
        "--rewind",
        "--segment-bytes",
        "2000",
        "--retain-bytes",
        "4000",
    ]));
    assert!(out.contains("point 41"), "{out}");

    let out = rha(&["rewind", "to", r, "--bookmark", "nope"]);
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(
        text(&out.stderr).trim(),
        "rha: error: unknown bookmark 'nope'"
    );

    let out = rha(&["rewind", "to", r, "--seq", "2"]);
    assert_eq!(out.status.code(), Some(6));
    let err = text(&out.stderr);
    assert!(
        err.contains("point 2 was retired by retention; the oldest point is"),
        "{err}"
    );

    let out = rha(&["rewind", "to", r, "--seq", "99"]);
    assert_eq!(out.status.code(), Some(6));

    let held = ReplicaDir::open(&replica, ReplicaOptions::default()).unwrap();
    let out = rha(&["rewind", "list", r]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out.stderr).contains("replica is busy"),
        "{}",
        text(&out.stderr)
    );
    drop(held);

    // A record that would escape the root is refused and nothing changes.
    std::os::unix::fs::symlink(dir.path(), replica.join("up")).unwrap();
    let bad = dir.path().join("bad.rhaj");
    journal(
        &bad,
        42,
        &[Op::Create {
            path: p("up/escaped"),
            mode: 0o644,
        }],
    );
    let out = rha(&["apply", bad.to_str().unwrap(), r]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        text(&out.stderr).contains("'up/escaped': refused"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("escaped").exists());
}

#[test]
fn explicit_spool_directory() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    let spool = dir.path().join("spool");
    fs::create_dir(&replica).unwrap();
    let j = dir.path().join("j.rhaj");
    journal(
        &j,
        1,
        &[Op::Create {
            path: p("f"),
            mode: 0o644,
        }],
    );
    let (r, s) = (replica.to_str().unwrap(), spool.to_str().unwrap());
    ok(&rha(&[
        "apply",
        j.to_str().unwrap(),
        r,
        "--rewind",
        "--spool",
        s,
    ]));
    assert!(spool.join("rewind").is_dir() && !replica.join(".rha").exists());
    ok(&rha(&["rewind", "to", r, "--seq", "0", "--spool", s]));
    assert!(!replica.join("f").exists());
}
