//! `rha sync` cannot destroy the master or a replica's own state: trees
//! that overlap are refused before anything is touched, and the replica's
//! `.rha` directory is never scanned, compared, copied or deleted.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn rha(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rha"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every path under `root`, sorted, with file contents.
fn listing(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
                out.push((rel + "/", Vec::new()));
            } else {
                out.push((rel, fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn overlapping_trees_are_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("par/master/sub")).unwrap();
    fs::write(d.join("par/master/data"), b"precious").unwrap();
    fs::write(d.join("par/master/sub/more"), b"more").unwrap();
    std::os::unix::fs::symlink("par/master", d.join("alias")).unwrap();
    let before = listing(d);
    for (replica, how) in [
        ("par", "the master is inside the replica"),
        ("par/master", "they are the same directory"),
        ("alias", "they are the same directory"),
        ("par/master/sub", "the replica is inside the master"),
        ("par/master/replica", "the replica is inside the master"),
        ("alias/new/deep", "the replica is inside the master"),
    ] {
        for extra in [&[][..], &["--dry-run"], &["--mode", "block"]] {
            let mut args = vec!["sync", "par/master", replica];
            args.extend_from_slice(extra);
            let out = rha(d, &args);
            assert_eq!(out.status.code(), Some(2), "{args:?} was not refused");
            let stderr = text(&out.stderr);
            assert!(stderr.contains(how), "{args:?}: {stderr}");
            assert_eq!(listing(d), before, "{args:?} changed the trees");
        }
    }
    // A sibling is fine.
    let out = rha(d, &["sync", "par/master", "par/replica"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read(d.join("par/replica/data")).unwrap(), b"precious");
}

#[test]
fn the_replicas_state_directory_is_never_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("master/.rha")).unwrap();
    fs::write(d.join("master/.rha/lock"), b"the master's own").unwrap();
    fs::write(d.join("master/file"), b"data").unwrap();
    fs::create_dir_all(d.join("replica/.rha/log")).unwrap();
    fs::write(d.join("replica/.rha/lock"), b"").unwrap();
    fs::write(d.join("replica/.rha/log/seg-1"), b"rewind history").unwrap();
    // Deeper directories named .rha are ordinary data.
    fs::create_dir_all(d.join("master/sub/.rha")).unwrap();
    fs::write(d.join("master/sub/.rha/x"), b"user data").unwrap();
    for mode in ["file", "block"] {
        let out = rha(d, &["sync", "master", "replica", "--mode", mode]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            fs::read(d.join("replica/.rha/log/seg-1")).unwrap(),
            b"rewind history"
        );
        assert_eq!(fs::read(d.join("replica/.rha/lock")).unwrap(), b"");
        assert_eq!(fs::read(d.join("replica/file")).unwrap(), b"data");
        assert_eq!(
            fs::read(d.join("replica/sub/.rha/x")).unwrap(),
            b"user data"
        );
    }
    // The dry run does not plan to delete it either.
    let out = rha(d, &["sync", "master", "replica", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains(".rha/"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn only_the_last_component_of_a_missing_replica_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("master")).unwrap();
    fs::write(d.join("master/f"), b"x").unwrap();
    let out = rha(d, &["sync", "master", "missing/deep/replica"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("missing/deep/replica"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.join("missing").exists());
    let out = rha(d, &["sync", "master", "replica"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read(d.join("replica/f")).unwrap(), b"x");
}

#[test]
fn identical_trees_report_nothing_to_do_in_every_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for i in 0..30 {
        let dir = d.join(format!("master/d{}", i % 4));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("f{i}")), vec![i as u8; 100 * i]).unwrap();
    }
    std::os::unix::fs::symlink("d0/f0", d.join("master/link")).unwrap();
    let out = rha(d, &["sync", "master", "replica"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for args in [
        &["sync", "master", "replica"][..],
        &["sync", "master", "replica", "--mode", "block"],
        &[
            "sync",
            "master",
            "replica",
            "--mode",
            "block",
            "--ignore-same",
            "off",
        ],
        &[
            "sync",
            "master",
            "replica",
            "--mode",
            "block",
            "--ignore-same",
            "off",
            "--dry-run",
        ],
    ] {
        for _ in 0..2 {
            let out = rha(d, args);
            assert!(out.status.success(), "{}", text(&out.stderr));
            let stdout = text(&out.stdout);
            let summary = stdout.lines().last().unwrap();
            assert!(
                summary.contains(
                    "created 0, updated 0, deleted 0, attributes fixed 0; 0 bytes literal"
                ),
                "{args:?}: {summary}"
            );
        }
    }
    // A same-size, same-time change is found by content, and the dry run
    // says so exactly as the real run does.
    let f = d.join("master/d1/f5");
    let time = fs::metadata(&f).unwrap().modified().unwrap();
    let mut data = fs::read(&f).unwrap();
    data[7] ^= 0xff;
    fs::write(&f, &data).unwrap();
    fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(time)
        .unwrap();
    let block_off = [
        "sync",
        "master",
        "replica",
        "--mode",
        "block",
        "--ignore-same",
        "off",
    ];
    let dry = rha(d, &[&block_off[..], &["--dry-run"]].concat());
    assert!(
        text(&dry.stdout).contains("would have created 0, updated 1, deleted 0"),
        "{}",
        text(&dry.stdout)
    );
    let out = rha(d, &block_off);
    assert!(
        text(&out.stdout).contains("updated 1"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(fs::read(d.join("replica/d1/f5")).unwrap(), data);
}

/// Runs `rha` as an unprivileged user (root reads everything, so an
/// unreadable file needs another user), from `dir`.
fn rha_unprivileged(dir: &Path, args: &[&str]) -> Output {
    let rha = env!("CARGO_BIN_EXE_rha");
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", rha]);
        c
    } else {
        Command::new(rha)
    };
    cmd.current_dir(dir).args(args).output().unwrap()
}

#[test]
fn unreadable_master_paths_are_reported_and_the_rest_synced() {
    use std::os::unix::fs::PermissionsExt;
    if rustix::process::geteuid().is_root()
        && Command::new("setpriv").arg("--help").output().is_err()
    {
        eprintln!("setpriv is missing; skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    mode(d, 0o777);
    fs::create_dir_all(d.join("master/locked")).unwrap();
    fs::create_dir_all(d.join("master/open")).unwrap();
    fs::write(d.join("master/locked/inside"), b"hidden").unwrap();
    fs::write(d.join("master/open/a"), b"a").unwrap();
    fs::write(d.join("master/secret"), b"new secret").unwrap();
    fs::write(d.join("master/z-last"), b"z").unwrap();
    // The replica has older copies of what the master will not let us read.
    fs::create_dir_all(d.join("replica/locked")).unwrap();
    fs::write(d.join("replica/locked/inside"), b"old hidden").unwrap();
    fs::write(d.join("replica/locked/only-on-replica"), b"kept").unwrap();
    fs::write(d.join("replica/secret"), b"old secret").unwrap();
    // Older copies: same sizes, older times.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for p in ["replica/secret", "replica/locked/inside"] {
        fs::File::options()
            .write(true)
            .open(d.join(p))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    for p in [
        "master",
        "master/open",
        "master/locked",
        "replica",
        "replica/locked",
    ] {
        mode(&d.join(p), 0o777);
    }
    for p in [
        "master/open/a",
        "master/z-last",
        "replica/locked/inside",
        "replica/secret",
        "replica/locked/only-on-replica",
    ] {
        mode(&d.join(p), 0o666);
    }
    if rustix::process::geteuid().is_root() {
        // The unprivileged user owns both trees, as a user syncing their
        // own files would.
        let out = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(d)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Reading a user.* attribute needs read permission too: the scans
    // must report these paths once, not fail nor drop the replica's copies.
    for p in ["master/secret", "master/locked"] {
        if let Err(e) =
            rustix::fs::lsetxattr(d.join(p), "user.rha", b"x", rustix::fs::XattrFlags::empty())
        {
            eprintln!("no user.* attributes on {p} ({e}): unreadable attributes not covered");
        }
    }
    mode(&d.join("master/secret"), 0o000);
    mode(&d.join("master/locked"), 0o000);
    for args in [
        &["sync", "master", "replica"][..],
        &[
            "sync",
            "master",
            "replica",
            "--mode",
            "block",
            "--ignore-same",
            "off",
        ],
    ] {
        let out = rha_unprivileged(d, args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(10), "{args:?}: {stderr}");
        assert!(stderr.contains("could not read locked"), "{stderr}");
        assert!(stderr.contains("could not read secret"), "{stderr}");
        assert!(
            stderr.contains("partial sync: 2 master path(s)"),
            "{stderr}"
        );
        // Everything readable arrived; nothing under the unreadable
        // directory was deleted or overwritten.
        assert_eq!(fs::read(d.join("replica/open/a")).unwrap(), b"a");
        assert_eq!(fs::read(d.join("replica/z-last")).unwrap(), b"z");
        assert_eq!(fs::read(d.join("replica/secret")).unwrap(), b"old secret");
        assert_eq!(
            fs::read(d.join("replica/locked/inside")).unwrap(),
            b"old hidden"
        );
        assert_eq!(
            fs::read(d.join("replica/locked/only-on-replica")).unwrap(),
            b"kept"
        );
    }
    // The dry run reports the same.
    let out = rha_unprivileged(d, &["sync", "master", "replica", "--dry-run"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.lines().any(|l| l.starts_with("delete")), "{stdout}");
    assert!(stdout.contains(", unreadable 2;"), "{stdout}");
    mode(&d.join("master/locked"), 0o755);
}

#[test]
fn sync_takes_the_replicas_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("master")).unwrap();
    fs::write(d.join("master/f"), b"newer").unwrap();
    fs::create_dir_all(d.join("replica/.rha")).unwrap();
    fs::write(d.join("replica/f"), b"old").unwrap();
    {
        // As `rha apply` holds it while it applies.
        let _held = rha_core::storage::DirStorage::open(d.join("replica/.rha")).unwrap();
        let out = rha(d, &["sync", "master", "replica"]);
        assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("is busy"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(fs::read(d.join("replica/f")).unwrap(), b"old");
    }
    let out = rha(d, &["sync", "master", "replica"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read(d.join("replica/f")).unwrap(), b"newer");
}

/// Writes a journal of `ops` numbered from `first`.
fn journal(path: &Path, first: u64, ops: &[rha_core::journal::Op]) {
    use rha_core::journal::{JournalWriter, WriterConfig};
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(first));
    for (i, op) in ops.iter().enumerate() {
        w.append((first + i as u64) * 1_000_000_000, op).unwrap();
    }
    fs::write(path, w.into_inner().unwrap()).unwrap();
}

fn rel(s: &str) -> rha_core::journal::RelPath {
    rha_core::journal::RelPath::new(s.to_owned()).unwrap()
}

#[test]
fn rewind_points_are_refused_or_dropped_before_sync_changes_anything() {
    use rha_core::journal::Op;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let help = text(&rha(d, &["sync", "--help"]).stdout);
    assert!(
        help.contains("--drop-rewind-points") && help.contains("records no inverses"),
        "{help}"
    );
    // A replica applied to with rewind on: points 0..=3 and a bookmark.
    fs::create_dir(d.join("replica")).unwrap();
    journal(
        &d.join("one.rhaj"),
        1,
        &[
            Op::Create {
                path: rel("f"),
                mode: 0o644,
            },
            Op::Write {
                path: rel("f"),
                offset: 0,
                data: "replicated v1".into(),
            },
            Op::Bookmark {
                name: "nightly".into(),
                app_consistent: false,
            },
        ],
    );
    let out = rha(d, &["apply", "one.rhaj", "replica", "--rewind"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = |d: &Path| {
        let out = rha(d, &["rewind", "list", "replica"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(list(d).contains("points: 0..=3 (4 points)"), "{}", list(d));
    // The master has other data, longer than the replica's file.
    fs::create_dir(d.join("master")).unwrap();
    fs::write(d.join("master/f"), b"the master's own, longer content").unwrap();
    fs::write(d.join("master/g"), b"new").unwrap();
    let before = listing(&d.join("replica"));

    // Refused by default, in a dry run too: nothing changes.
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["sync", "master", "replica"];
        args.extend_from_slice(extra);
        let out = rha(d, &args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.contains("keeps 4 rewind points (0..=3) and 1 bookmark")
                && err.contains("records no inverses")
                && err.contains("--drop-rewind-points"),
            "{err}"
        );
        assert_eq!(listing(&d.join("replica")), before);
        assert!(list(d).contains("points: 0..=3 (4 points)"));
    }

    // A dry run with the flag says what it would drop and drops nothing.
    let out = rha(
        d,
        &[
            "sync",
            "master",
            "replica",
            "--dry-run",
            "--drop-rewind-points",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("dry run: would drop 4 rewind points (0..=3) and 1 bookmark"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("update  f"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(listing(&d.join("replica")), before);
    let listed = list(d);
    assert!(
        listed.contains("points: 0..=3 (4 points)") && listed.contains("nightly"),
        "{listed}"
    );

    // With the flag: said first, then dropped, then synced.
    let out = rha(d, &["sync", "master", "replica", "--drop-rewind-points"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("dropping 4 rewind points (0..=3) and 1 bookmark of replica"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        fs::read(d.join("replica/f")).unwrap(),
        b"the master's own, longer content"
    );
    assert_eq!(fs::read(d.join("replica/g")).unwrap(), b"new");
    let listed = list(d);
    assert!(
        listed.contains("points: none") && listed.contains("bookmarks: 0"),
        "{listed}"
    );
    // No earlier point can be rewound to: nothing is corrupted.
    for args in [
        &["rewind", "to", "replica", "--seq", "1"][..],
        &["rewind", "to", "replica", "--bookmark", "nightly"][..],
    ] {
        let out = rha(d, args);
        assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    }
    assert_eq!(
        fs::read(d.join("replica/f")).unwrap(),
        b"the master's own, longer content"
    );

    // Nothing left to drop: syncing again needs no flag.
    let out = rha(d, &["sync", "master", "replica"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    // Replication goes on with new points, starting from the synced data.
    journal(
        &d.join("two.rhaj"),
        4,
        &[Op::Write {
            path: rel("f"),
            offset: 0,
            data: "REPLICATED".into(),
        }],
    );
    let out = rha(d, &["apply", "two.rhaj", "replica"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(list(d).contains("points: 3..=4 (2 points)"), "{}", list(d));
    let out = rha(d, &["rewind", "to", "replica", "--seq", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fs::read(d.join("replica/f")).unwrap(),
        b"the master's own, longer content"
    );
}

/// Issue 13: files are made durable once, at the end of a run; a run that
/// stopped before that leaves the marker `.rha/sync-underway`, and the next
/// run sends again every file changed since, even one whose size and time
/// look right (its data may not have reached the disk).
#[test]
fn a_run_after_one_that_stopped_early_resends_what_it_changed() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let (m, r) = (dir.path().join("m"), dir.path().join("r"));
    fs::create_dir(&m).unwrap();
    fs::write(m.join("a"), b"the master's bytes").unwrap();
    fs::write(m.join("b"), b"left alone").unwrap();
    let out = rha(dir.path(), &["sync", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let marker = r.join(".rha/sync-underway");
    assert!(!marker.exists(), "a finished run removes its marker");
    assert!(r.join(".rha").is_dir());
    // A run with nothing to do writes no marker (the state directory is
    // left as it was) and flushes nothing.
    let state_mtime = || {
        let m = fs::metadata(r.join(".rha")).unwrap();
        (m.mtime(), m.mtime_nsec())
    };
    let before = state_mtime();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = rha(dir.path(), &["sync", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(state_mtime(), before, "a no-change run touched .rha");

    // What a power cut after the rename but before the flush can leave: the
    // name, size and time of the new file, not its data.
    let damage = |marked: bool| {
        if marked {
            fs::write(&marker, b"").unwrap();
        }
        let meta = fs::metadata(r.join("a")).unwrap();
        fs::write(r.join("a"), b"zeros zeros zeros!").unwrap();
        set_mtime(
            &r.join("a"),
            libc::timespec {
                tv_sec: meta.mtime(),
                tv_nsec: meta.mtime_nsec(),
            },
        );
    };

    // Without a marker, size and time agree: the default sync trusts them
    // (this is what the marker is for).
    damage(false);
    let out = rha(dir.path(), &["sync", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read(r.join("a")).unwrap(), b"zeros zeros zeros!");

    // With the marker an earlier run left, the file is sent again.
    damage(true);
    let out = rha(dir.path(), &["sync", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("stopped before its data was on disk"),
        "{stdout}"
    );
    assert!(stdout.contains("updated 1,"), "{stdout}");
    assert_eq!(fs::read(r.join("a")).unwrap(), b"the master's bytes");
    assert_eq!(fs::read(r.join("b")).unwrap(), b"left alone");
    assert!(!marker.exists(), "the completed run removes the marker");

    // A dry run writes no marker and changes nothing.
    let out = rha(dir.path(), &["sync", "--dry-run", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!marker.exists());
}

fn set_mtime(path: &Path, t: libc::timespec) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        t,
    ];
    // SAFETY: a valid NUL-terminated path and two timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    assert_eq!(rc, 0, "utimensat {}", path.display());
}

/// A sync breaks the journal sequence the replica followed: its applied
/// point and a kept half-transaction are forgotten (a dry run only says
/// so), so the next journal is not replayed over the synced data and a
/// stale half-transaction is never committed onto it.
#[test]
fn a_sync_forgets_the_replicas_journal_sequence() {
    use rha_core::journal::Op;
    let dir = tempfile::tempdir().unwrap();
    let (m, r) = (dir.path().join("m"), dir.path().join("r"));
    fs::create_dir_all(m.join("d")).unwrap();
    fs::write(m.join("d/f"), b"master").unwrap();
    fs::create_dir(&r).unwrap();
    // Apply a journal: records 1 and 2, then a transaction that does not
    // commit in this journal.
    let j = dir.path().join("j.rhaj");
    journal(
        &j,
        1,
        &[
            Op::Mkdir {
                path: rel("old"),
                mode: 0o755,
            },
            Op::Create {
                path: rel("old/f"),
                mode: 0o644,
            },
            Op::TxBegin { txid: 7 },
            Op::Write {
                path: rel("old/f"),
                offset: 0,
                data: "half".into(),
            },
        ],
    );
    let out = rha(dir.path(), &["apply", "j.rhaj", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(r.join(".rha/applied").exists());
    assert!(r.join(".rha/open-transaction").exists());

    let out = rha(dir.path(), &["sync", "--dry-run", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the sync would forget its applied point (record 2)"),
        "{}",
        text(&out.stdout)
    );
    assert!(r.join(".rha/applied").exists(), "a dry run changes nothing");

    let out = rha(dir.path(), &["sync", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("forgot its applied point (record 2)")
            && stdout.contains("first half of a transaction"),
        "{stdout}"
    );
    assert!(!r.join(".rha/applied").exists());
    assert!(!r.join(".rha/open-transaction").exists());
    assert_eq!(fs::read(r.join("d/f")).unwrap(), b"master");
    assert!(!r.join("old").exists());

    // The next journal starts a new sequence, and applies onto the synced
    // tree.
    let next = dir.path().join("next.rhaj");
    journal(
        &next,
        1,
        &[Op::Mkdir {
            path: rel("new"),
            mode: 0o755,
        }],
    );
    let out = rha(dir.path(), &["apply", "next.rhaj", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(r.join("new").is_dir());
    // A second sync with nothing remembered says nothing about it.
    let out = rha(dir.path(), &["sync", "m", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("forgot its applied point (record 1)"));
    let out = rha(dir.path(), &["sync", "m", "r"]);
    assert!(
        !text(&out.stdout).contains("forgot"),
        "{}",
        text(&out.stdout)
    );
}

/// A crash, simulated at each point of a run.
struct Crash;

/// Stops the run (by unwinding, as a crash stops a process) at its
/// `at`th point: before each plan step and after each one's progress.
struct CutAt {
    at: usize,
    seen: usize,
}

impl CutAt {
    fn point(&mut self) {
        self.seen += 1;
        if self.seen == self.at {
            std::panic::panic_any(Crash);
        }
    }
}

impl rha_capture::sync::Observer for CutAt {
    fn progress(&mut self, _: &rha_capture::sync::SyncReport) {
        self.point();
    }
    fn op(&mut self, _: &rha_core::signature::tree::PlanOp) {
        self.point();
    }
}

/// What a power cut can leave of a run that flushes once, at its end: every
/// file whose status changed since the marker keeps its name, size and
/// time, and loses its data (zeros here).
fn lose_unflushed_data(replica: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(marker) = fs::metadata(replica.join(".rha/sync-underway")) else {
        return;
    };
    let since = (marker.mtime(), marker.mtime_nsec());
    let mut stack = vec![replica.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p == replica.join(".rha") {
                continue;
            }
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() && (meta.ctime(), meta.ctime_nsec()) >= since {
                fs::write(&p, vec![0u8; meta.len() as usize]).unwrap();
                set_mtime(
                    &p,
                    libc::timespec {
                        tv_sec: meta.mtime(),
                        tv_nsec: meta.mtime_nsec(),
                    },
                );
            }
        }
    }
}

/// Issue 13, crash safety of the batched durability: a run cut at any of
/// its points, whose unflushed data is then lost, is repaired by the next
/// run, in file and in block mode (the in-place updates of large files
/// have their own cut test in `block.rs`).
#[test]
fn a_run_cut_at_any_point_and_losing_its_unflushed_data_is_repaired_by_the_next() {
    use rha_capture::sync::{sync, SyncMode, SyncOptions};
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Crash>() {
            previous(info);
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let (m, r) = (dir.path().join("m"), dir.path().join("r"));
    // The replica's starting point: an older state of the master.
    let old = |root: &Path| {
        fs::create_dir_all(root.join("d/e")).unwrap();
        fs::write(root.join("same"), b"unchanged bytes").unwrap();
        fs::write(root.join("grows"), b"short").unwrap();
        fs::write(root.join("d/changes"), b"the old words here").unwrap();
        fs::write(root.join("d/e/removed"), b"only in the replica").unwrap();
        fs::write(root.join("becomes-dir"), b"a file first").unwrap();
    };
    for mode in [SyncMode::File, SyncMode::Block] {
        let _ = fs::remove_dir_all(&m);
        old(&m);
        let stamp =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        fs::write(m.join("grows"), b"short, and then a good deal longer").unwrap();
        fs::write(m.join("d/changes"), b"the new words there").unwrap();
        fs::File::options()
            .write(true)
            .open(m.join("d/changes"))
            .unwrap()
            .set_modified(stamp)
            .unwrap();
        fs::remove_file(m.join("d/e/removed")).unwrap();
        fs::remove_file(m.join("becomes-dir")).unwrap();
        fs::create_dir(m.join("becomes-dir")).unwrap();
        fs::write(m.join("becomes-dir/inside"), b"new under a new directory").unwrap();
        fs::write(m.join("d/new"), b"a new file").unwrap();
        std::os::unix::fs::symlink("d/new", m.join("link")).unwrap();
        fs::hard_link(m.join("d/new"), m.join("d/e/hard")).unwrap();
        let options = SyncOptions {
            mode,
            ..SyncOptions::default()
        };
        let fresh_replica = || {
            let _ = fs::remove_dir_all(&r);
            old(&r);
        };

        // The points of a run that goes through.
        fresh_replica();
        let mut count = CutAt {
            at: usize::MAX,
            seen: 0,
        };
        sync(&m, &r, &options, &mut count).unwrap();
        assert_eq!(
            listing(&r)
                .into_iter()
                .filter(|(p, _)| !p.starts_with(".rha"))
                .collect::<Vec<_>>(),
            listing(&m)
        );
        let points = count.seen;
        assert!(points >= 12, "{mode:?}: {points} points");

        let mut resumed_runs = 0;
        for at in 1..=points {
            fresh_replica();
            let cut = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                sync(&m, &r, &options, &mut CutAt { at, seen: 0 })
            }));
            match cut {
                Err(payload) => assert!(payload.is::<Crash>(), "{mode:?} at {at}"),
                Ok(result) => panic!("{mode:?}: the run was not cut at {at}: {result:?}"),
            }
            let marked = r.join(".rha/sync-underway").exists();
            resumed_runs += usize::from(marked);
            lose_unflushed_data(&r);
            let report = sync(&m, &r, &options, &mut ()).unwrap();
            let replica: Vec<_> = listing(&r)
                .into_iter()
                .filter(|(p, _)| !p.starts_with(".rha"))
                .collect();
            assert_eq!(
                replica,
                listing(&m),
                "{mode:?}: cut at point {at} of {points}"
            );
            assert!(!r.join(".rha/sync-underway").exists(), "{mode:?} at {at}");
            // After a cut past the marker, the files the cut run had
            // changed were checked again.
            assert_eq!(report.resumed_after_stop, marked, "{mode:?} at {at}");
        }
        assert!(
            resumed_runs + 4 > points,
            "{mode:?}: {resumed_runs} of {points}"
        );
    }
}
