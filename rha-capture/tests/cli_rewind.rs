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

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn four_ops() -> Vec<Op> {
    vec![
        Op::Mkdir {
            path: p("d0"),
            mode: 0o755,
        },
        Op::Create {
            path: p("d0/f"),
            mode: 0o644,
        },
        Op::Write {
            path: p("d0/f"),
            offset: 0,
            data: "hello".into(),
        },
        Op::Mkdir {
            path: p("d1"),
            mode: 0o755,
        },
    ]
}

/// Issue 12 §1: re-applying a journal resumes after the durable point,
/// with or without rewind, even when a kill left records after the point
/// applied but not recorded.
#[test]
fn reapplying_after_a_kill_resumes_after_the_durable_point() {
    for rewind in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let replica = dir.path().join("replica");
        fs::create_dir(&replica).unwrap();
        let r = replica.to_str().unwrap();
        let mut args = vec!["apply"];
        if rewind {
            args.push("--rewind");
        }
        let all = dir.path().join("all.rhaj");
        journal(&all, 1, &four_ops());
        let head = dir.path().join("head.rhaj");
        journal(&head, 1, &four_ops()[..2]);
        ok(&rha(&[&args[..], &[head.to_str().unwrap(), r]].concat()));
        // A run killed after applying record 3 (and before its point was
        // durable) leaves this on disk; without rewind, the point file says
        // records past it may have been applied.
        fs::write(replica.join("d0/f"), "hello").unwrap();
        if !rewind {
            let spool = rha_core::storage::DirStorage::open(replica.join(".rha")).unwrap();
            let mut pt = rha_core::rewind::AppliedPoint::load(&spool)
                .unwrap()
                .unwrap();
            assert_eq!(pt.seq, Some(2));
            pt.replay_to = 3;
            pt.store(&spool).unwrap();
        }
        let out = ok(&rha(&[&args[..], &[all.to_str().unwrap(), r]].concat()));
        assert!(
            out.contains("applied 2 records (2 already present), point 4"),
            "rewind {rewind}: {out}"
        );
        assert_eq!(fs::read(replica.join("d0/f")).unwrap(), b"hello");
        assert!(replica.join("d1").is_dir());
        let out = ok(&rha(&[&args[..], &[all.to_str().unwrap(), r]].concat()));
        assert!(
            out.contains("applied 0 records (4 already present), point 4"),
            "rewind {rewind}: {out}"
        );
    }
}

/// Issue 12 §1: at point 8, a journal starting at 20 is refused with both
/// sequence numbers and exit code 9; nothing is applied.
#[test]
fn a_gap_is_refused_with_exit_9() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let first = dir.path().join("first.rhaj");
    let ops: Vec<Op> = (0..8)
        .map(|i| Op::Mkdir {
            path: p(&format!("d{i}")),
            mode: 0o755,
        })
        .collect();
    journal(&first, 1, &ops);
    ok(&rha(&["apply", first.to_str().unwrap(), r]));
    let late = dir.path().join("late.rhaj");
    journal(
        &late,
        20,
        &[Op::Mkdir {
            path: p("late"),
            mode: 0o755,
        }],
    );
    for extra in [&[][..], &["--rewind"][..]] {
        let out = rha(&[&["apply", late.to_str().unwrap(), r][..], extra].concat());
        assert_eq!(code(&out), Some(9), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.contains("expects record 9 next") && err.contains("continues with record 20"),
            "{err}"
        );
        assert!(!replica.join("late").exists());
    }
    let next = dir.path().join("next.rhaj");
    journal(
        &next,
        9,
        &[Op::Mkdir {
            path: p("d8"),
            mode: 0o755,
        }],
    );
    let out = ok(&rha(&["apply", next.to_str().unwrap(), r]));
    assert!(
        out.contains("applied 1 records (0 already present), point 9"),
        "{out}"
    );
}

/// Issue 12 §1: a journal that restarts numbering (written separately, or
/// of another epoch) is refused, not skipped as "already present".
#[test]
fn a_journal_that_restarts_numbering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let a = dir.path().join("a.rhaj");
    journal(&a, 1, &four_ops());
    ok(&rha(&["apply", a.to_str().unwrap(), r]));
    let b = dir.path().join("b.rhaj");
    journal(
        &b,
        1,
        &[Op::Mkdir {
            path: p("other"),
            mode: 0o755,
        }],
    );
    let out = rha(&["apply", b.to_str().unwrap(), r]);
    assert_eq!(code(&out), Some(9), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("restarts numbering") && err.contains("resynchronise"),
        "{err}"
    );
    assert!(!replica.join("other").exists());

    // The same with epoch markers: a new epoch is recognised by its marker.
    let replica = dir.path().join("replica2");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let e1 = dir.path().join("e1.rhaj");
    let mut ops = vec![Op::Epoch {
        scenario: 7,
        epoch: 1,
    }];
    ops.extend(four_ops());
    journal(&e1, 1, &ops);
    ok(&rha(&["apply", e1.to_str().unwrap(), r]));
    let e2 = dir.path().join("e2.rhaj");
    journal(
        &e2,
        6,
        &[Op::Epoch {
            scenario: 7,
            epoch: 2,
        }],
    );
    let out = rha(&["apply", e2.to_str().unwrap(), r]);
    assert_eq!(code(&out), Some(9));
    let err = text(&out.stderr);
    assert!(
        err.contains("scenario 7 epoch 2, the replica follows scenario 7 epoch 1"),
        "{err}"
    );
}

/// Issue 12 §1: a transaction that begins in one journal and commits in the
/// next is kept in the spool directory and applied whole.
#[test]
fn a_transaction_spanning_two_journals_is_kept_until_it_commits() {
    for rewind in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let replica = dir.path().join("replica");
        fs::create_dir(&replica).unwrap();
        let r = replica.to_str().unwrap();
        let mut args = vec!["apply"];
        if rewind {
            args.push("--rewind");
        }
        let j1 = dir.path().join("j1.rhaj");
        journal(
            &j1,
            1,
            &[
                Op::Create {
                    path: p("f"),
                    mode: 0o644,
                },
                Op::TxBegin { txid: 5 },
                Op::Write {
                    path: p("f"),
                    offset: 0,
                    data: "one".into(),
                },
            ],
        );
        let j2 = dir.path().join("j2.rhaj");
        journal(
            &j2,
            4,
            &[
                Op::Write {
                    path: p("f"),
                    offset: 3,
                    data: "two".into(),
                },
                Op::TxCommit { txid: 5 },
            ],
        );
        let out = ok(&rha(&[&args[..], &[j1.to_str().unwrap(), r]].concat()));
        assert!(out.contains("kept: 2 records of a transaction"), "{out}");
        assert_eq!(fs::read(replica.join("f")).unwrap(), b"");
        // Re-applying the first journal takes nothing twice.
        let out = ok(&rha(&[&args[..], &[j1.to_str().unwrap(), r]].concat()));
        assert!(out.contains("(3 already present)"), "{out}");
        let out = ok(&rha(&[&args[..], &[j2.to_str().unwrap(), r]].concat()));
        assert!(out.contains("point 5"), "rewind {rewind}: {out}");
        assert_eq!(fs::read(replica.join("f")).unwrap(), b"onetwo");
        assert!(!replica
            .join(".rha")
            .join(rha_capture::apply::TXN_FILE)
            .exists());
    }
}

/// Issue 12 §1: a corrupt journal applies what precedes the damage, says
/// how much and where, and exits like `rha journal verify` (4).
#[test]
fn a_corrupt_journal_applies_up_to_the_damage_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let write = |path: &Path, ops: &[Op]| {
        let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().batch_bytes(1));
        for op in ops {
            w.append(1, op).unwrap();
        }
        let b = w.into_inner().unwrap();
        fs::write(path, &b).unwrap();
        b.len()
    };
    let j = dir.path().join("j.rhaj");
    let good = write(&j, &four_ops()[..2]);
    write(&j, &four_ops());
    let mut bytes = fs::read(&j).unwrap();
    bytes[good + 2] ^= 0xff;
    fs::write(&j, &bytes).unwrap();
    let verify = rha(&["journal", "verify", j.to_str().unwrap()]);
    let out = rha(&["apply", j.to_str().unwrap(), r]);
    assert_eq!(code(&out), Some(4));
    assert_eq!(code(&out), code(&verify));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("byte offset {good}"))
            && err.contains("2 records before the damage were applied")
            && err.contains("at point 2"),
        "{err}"
    );
    assert!(replica.join("d0/f").is_file());
}

/// A kill right after the very first records landed (no point yet) still
/// resumes: the replay window is made durable before records are applied.
#[test]
fn a_kill_before_the_first_point_replays_without_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let all = dir.path().join("all.rhaj");
    journal(&all, 1, &four_ops());
    {
        let mut r = ReplicaDir::open(&replica, ReplicaOptions::default()).unwrap();
        for (i, op) in four_ops().into_iter().take(2).enumerate() {
            r.apply_next(rha_core::journal::Record {
                seq: i as u64 + 1,
                timestamp_ns: (i as u64 + 1) * 1_000_000_000,
                op,
            })
            .unwrap();
        }
        // Dropped without a sync, as a kill would leave it.
    }
    assert!(replica.join("d0/f").is_file());
    // A `rha` child spawned by a test running in parallel may briefly hold
    // a copy of the lock's descriptor (between fork and exec): retry.
    let args = ["apply", all.to_str().unwrap(), replica.to_str().unwrap()];
    let mut out = rha(&args);
    for _ in 0..50 {
        if code(&out) != Some(5) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        out = rha(&args);
    }
    let out = ok(&out);
    assert!(
        out.contains("applied 4 records (0 already present), point 4"),
        "{out}"
    );
    assert_eq!(fs::read(replica.join("d0/f")).unwrap(), b"hello");
}

/// Issue 12 §4: read-only commands on a directory that is not a replica
/// say so and create nothing.
#[test]
fn read_only_commands_on_a_non_replica_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo");
    let t = typo.to_str().unwrap();
    for args in [
        &["rewind", "list", t][..],
        &["bookmark", t, "x"][..],
        &["rewind", "undo", t][..],
        &["rewind", "to", t, "--seq", "1"][..],
    ] {
        let out = rha(args);
        assert_eq!(code(&out), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains("is not a replica"),
            "{}",
            text(&out.stderr)
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    let plain = dir.path().join("plain");
    fs::create_dir(&plain).unwrap();
    let out = rha(&["rewind", "list", plain.to_str().unwrap()]);
    assert!(
        text(&out.stderr).contains("has no spool directory"),
        "{}",
        text(&out.stderr)
    );
    assert!(!plain.join(".rha").exists());
}

/// Issue 12 §4: `--spool /missing/sp` creates at most the last component.
#[test]
fn a_missing_spool_parent_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let j = dir.path().join("j.rhaj");
    journal(&j, 1, &four_ops()[..1]);
    let deep = dir.path().join("missing/sp");
    let out = rha(&[
        "apply",
        j.to_str().unwrap(),
        replica.to_str().unwrap(),
        "--spool",
        deep.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), Some(1));
    assert!(!dir.path().join("missing").exists());
    let sp = dir.path().join("sp");
    ok(&rha(&[
        "apply",
        j.to_str().unwrap(),
        replica.to_str().unwrap(),
        "--spool",
        sp.to_str().unwrap(),
    ]));
    assert!(sp.join("applied").is_file());
    // A missing replica root is created, but only its last component.
    let new_root = dir.path().join("new-replica");
    ok(&rha(&[
        "apply",
        j.to_str().unwrap(),
        new_root.to_str().unwrap(),
    ]));
    assert!(new_root.join("d0").is_dir());
    let deep_root = dir.path().join("missing/deep/r");
    let out = rha(&["apply", j.to_str().unwrap(), deep_root.to_str().unwrap()]);
    assert_eq!(code(&out), Some(1));
    assert!(!dir.path().join("missing").exists());
}

/// Issue 12 §2: a planted `.rha` symlink (or a file) is refused; nothing is
/// written through it.
#[test]
fn a_spool_that_is_a_symlink_or_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    let out_dir = dir.path().join("out");
    fs::create_dir(&replica).unwrap();
    fs::create_dir(&out_dir).unwrap();
    std::os::unix::fs::symlink("../out", replica.join(".rha")).unwrap();
    let j = dir.path().join("j.rhaj");
    journal(&j, 1, &four_ops()[..1]);
    let r = replica.to_str().unwrap();
    let out = rha(&["apply", j.to_str().unwrap(), r, "--rewind"]);
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains("symbolic link"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read_dir(&out_dir).unwrap().count(), 0);
    fs::remove_file(replica.join(".rha")).unwrap();
    fs::write(replica.join(".rha"), "x").unwrap();
    let out = rha(&["apply", j.to_str().unwrap(), r]);
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains("not a directory"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue 12 §4: a bad bookmark name gets a message saying what to do.
#[test]
fn a_bad_bookmark_name_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let j = dir.path().join("j.rhaj");
    journal(&j, 1, &four_ops());
    ok(&rha(&["apply", j.to_str().unwrap(), r, "--rewind"]));
    let long = "n".repeat(300);
    for (name, why) in [("", "is empty"), (long.as_str(), "is 300 bytes long")] {
        let out = rha(&["bookmark", r, name]);
        assert_eq!(code(&out), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "bookmark name {why}: give a name of 1 to 255 bytes"
            )),
            "{err}"
        );
        assert!(!err.contains("sequence 0"), "{err}");
    }
}

/// Issue 12 §1: a record that fails mid-journal leaves what came before it
/// applied, durable and counted in the output.
#[test]
fn a_record_failing_mid_journal_reports_what_was_applied() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let j = dir.path().join("j.rhaj");
    // Record 3 removes a directory that is not empty: it cannot apply.
    let mut ops = four_ops();
    ops.insert(2, Op::Rmdir { path: p("d0") });
    journal(&j, 1, &ops);
    for rewind in [false, true] {
        let out = rha(&[
            &["apply", j.to_str().unwrap(), r][..],
            if rewind { &["--rewind"][..] } else { &[][..] },
        ]
        .concat());
        assert_eq!(code(&out), Some(7), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let want = if rewind {
            "applied 0 records (2 already present) before the error, point 2"
        } else {
            "applied 2 records (0 already present) before the error, point 2"
        };
        assert!(stdout.contains(want), "rewind {rewind}: {stdout}");
        assert!(text(&out.stderr).contains("d0"), "{}", text(&out.stderr));
    }
}

/// Issue 12 §4: a rewind that stopped part-way (here a directory the
/// replica cannot change) is finished when the replica is next opened, and
/// the tool says so instead of "0 records undone" or "nothing to undo".
#[test]
fn a_rewind_finished_after_an_interruption_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("replica");
    fs::create_dir(&replica).unwrap();
    let r = replica.to_str().unwrap();
    let j1 = dir.path().join("one.rhaj");
    journal(
        &j1,
        1,
        &[Op::Mkdir {
            path: p("d0"),
            mode: 0o755,
        }],
    );
    ok(&rha(&["apply", "--rewind", j1.to_str().unwrap(), r]));
    ok(&rha(&["bookmark", r, "before"]));
    let j2 = dir.path().join("two.rhaj");
    let ops: Vec<Op> = (0..4)
        .map(|i| Op::Create {
            path: p(&format!("d0/f{i}")),
            mode: 0o644,
        })
        .collect();
    journal(&j2, 2, &ops);
    ok(&rha(&["apply", "--rewind", j2.to_str().unwrap(), r]));
    let d0 = replica.join("d0");
    let immutable = Command::new("chattr").arg("+i").arg(&d0).status();
    if !immutable.is_ok_and(|s| s.success()) {
        eprintln!("skipped: chattr +i is not available here");
        return;
    }
    let out = rha(&["rewind", "to", r, "--bookmark", "before"]);
    Command::new("chattr").arg("-i").arg(&d0).status().unwrap();
    assert_eq!(code(&out), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("reopen to resume"),
        "{}",
        text(&out.stderr)
    );
    // The same command again: opening finishes the rewind, and says so.
    let out = ok(&rha(&["rewind", "to", r, "--bookmark", "before"]));
    assert!(
        out.contains("finished a rewind that was interrupted") && out.contains("now at point 1"),
        "{out}"
    );
    assert!(!out.contains("0 records undone"), "{out}");
    assert_eq!(fs::read_dir(&d0).unwrap().count(), 0);
    // Undo brings the four files back.
    let out = ok(&rha(&["rewind", "undo", r]));
    assert!(!out.contains("nothing to undo"), "{out}");
    assert_eq!(fs::read_dir(&d0).unwrap().count(), 4);
}
