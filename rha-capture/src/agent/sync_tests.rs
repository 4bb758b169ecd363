//! Sync over the session, end to end: a replica brought to the master's
//! tree, then following the journal; block mode; a sync cut short;
//! changes made while it runs; hostile sync records (the resync after an
//! overflow is in `resync_tests`).

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rha_core::journal::{Op, RelPath};
use rha_core::rewind::Target;
use rha_core::session::SyncMode;
use rha_core::spool::AppendOptions;

use super::tests::{connector, master_config, path, replica_config, serve_all, wait_until};
use super::*;

/// What a tree holds, for comparison: per path (not `.rha`), the kind,
/// mode, size, modification time (files), content (files) or target
/// (symlinks), and which paths share an inode.
pub(super) fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let e = e.expect("entry");
            let name = rel.join(e.file_name());
            let key = name.display().to_string();
            if key == ".rha" || key.starts_with(".rha/") {
                continue;
            }
            let m = std::fs::symlink_metadata(e.path()).expect("stat");
            let mode = m.permissions().mode() & 0o7777;
            let ft = m.file_type();
            let v = if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() || ft.is_socket()
            {
                format!(
                    "node {:o} {} {}",
                    m.mode(),
                    m.rdev(),
                    m.mtime() * 1_000_000_000 + m.mtime_nsec()
                )
            } else if ft.is_symlink() {
                format!("link {:?}", std::fs::read_link(e.path()).expect("readlink"))
            } else if m.is_dir() {
                stack.push(name.clone());
                format!("dir {mode:o}")
            } else {
                if m.nlink() > 1 {
                    inodes.entry(m.ino()).or_default().push(key.clone());
                }
                let data = std::fs::read(e.path()).expect("read");
                format!(
                    "file {mode:o} {} {} {}",
                    m.len(),
                    m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                    blake3::hash(&data)
                )
            };
            out.insert(key, v);
        }
    }
    for mut names in inodes.into_values() {
        names.sort();
        out.insert(format!("links {}", names.join(" ")), String::new());
    }
    out
}

/// Applies `op` to the master's tree (what a capture records after the
/// change succeeded).
pub(super) fn change(master: &Path, op: &Op) {
    let mut t = crate::apply::DirTarget::open(master, None).expect("target");
    t.apply(op).expect("change the master");
}

/// Changes the master's tree and appends the record to its spool.
pub(super) fn record(agent: &MasterAgent, master: &Path, seq_ts: u64, op: Op) {
    change(master, &op);
    agent
        .spool()
        .append(seq_ts, &op, AppendOptions::default())
        .expect("append");
}

pub(super) fn write_file(path: &Path, data: &[u8], mode: u32) {
    std::fs::write(path, data).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[1] ^ seed)
        .collect()
}

pub(super) struct Pair {
    _tmp: tempfile::TempDir,
    pub(super) master_root: PathBuf,
    pub(super) replica_root: PathBuf,
    pub(super) state: PathBuf,
}

impl Pair {
    pub(super) fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let master_root = tmp.path().join("m");
        let replica_root = tmp.path().join("r");
        std::fs::create_dir(&master_root).expect("mkdir");
        std::fs::create_dir(&replica_root).expect("mkdir");
        Self {
            state: tmp.path().join("state"),
            master_root,
            replica_root,
            _tmp: tmp,
        }
    }

    pub(super) fn master_config(&self, mode: SyncMode, ignore_same: bool) -> MasterConfig {
        let mut c = master_config(&self.state);
        c.root = Some(self.master_root.clone());
        c.sync.mode = mode;
        c.sync.ignore_same = ignore_same;
        c.sync.block_size = 64 << 10;
        c
    }
}

/// Cuts the link in `cut` once the replica has applied `bytes` of a sync.
pub(super) fn cut_after(
    replica: &ReplicaAgent,
    cut: &parking_lot::Mutex<Option<UnixStream>>,
    bytes: u64,
) {
    wait_until("part of the sync", Duration::from_secs(60), || {
        replica
            .status()
            .sync
            .is_some_and(|s| s.applied_bytes >= bytes)
    });
    if let Some(s) = cut.lock().take() {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
}

pub(super) fn sync_status(agent: &MasterAgent) -> Option<SyncStatus> {
    agent.status().sync
}

#[test]
fn a_stale_replica_is_synced_from_the_master_tree_then_follows_the_journal() {
    let p = Pair::new();
    let m = &p.master_root;
    std::fs::create_dir_all(m.join("a/b")).expect("mkdir");
    std::fs::set_permissions(m.join("a"), std::fs::Permissions::from_mode(0o750)).expect("chmod");
    write_file(&m.join("a/b/big"), &pattern(3 << 20, 1), 0o640);
    write_file(&m.join("a/empty"), b"", 0o600);
    write_file(&m.join("top"), b"top file", 0o644);
    std::fs::hard_link(m.join("top"), m.join("a/top-again")).expect("link");
    std::os::unix::fs::symlink("b/big", m.join("a/link")).expect("symlink");
    {
        let f = std::fs::File::create(m.join("sparse")).expect("create");
        f.set_len(8 << 20).expect("len");
        std::os::unix::fs::FileExt::write_at(&f, b"middle", 4 << 20).expect("write");
    }
    // The replica holds an older, different tree.
    let r = &p.replica_root;
    std::fs::create_dir_all(r.join("gone/deep")).expect("mkdir");
    write_file(&r.join("gone/deep/x"), b"only on the replica", 0o644);
    std::fs::create_dir(r.join("top")).expect("a directory where the master has a file");
    write_file(&r.join("a-file-to-be-dir"), b"x", 0o644);
    std::fs::create_dir_all(r.join("a/b")).expect("mkdir");
    write_file(&r.join("a/b/big"), &pattern(1 << 20, 9), 0o600);

    let replica = Arc::new(ReplicaAgent::open(replica_config(r)).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let server = serve_all(replica.clone(), rx);
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let master = MasterAgent::start(p.master_config(SyncMode::File, true), connector(tx, cut))
        .expect("master");
    // Journaled changes before and during the sync.
    for i in 0..40u64 {
        let op = if i == 0 {
            Op::Create {
                path: path("journaled"),
                mode: 0o644,
            }
        } else {
            Op::Write {
                path: path("journaled"),
                offset: i * 10,
                data: Bytes::from(vec![i as u8; 10]),
            }
        };
        record(&master, m, i + 1, op);
    }
    wait_until("the sync", Duration::from_secs(60), || {
        sync_status(&master).is_some_and(|s| s.phase == "done")
    });
    for i in 40..80u64 {
        record(
            &master,
            m,
            i + 1,
            Op::Write {
                path: path("journaled"),
                offset: i * 10,
                data: Bytes::from(vec![i as u8; 10]),
            },
        );
    }
    wait_until("the journal applied", Duration::from_secs(60), || {
        master.status().acked_applied == 80
    });
    let st = sync_status(&master).expect("sync status");
    assert_eq!(st.mode, "file");
    assert!(st.sent_bytes >= (3 << 20) + 6, "{st:?}");
    assert!(st.sent_bytes < (5 << 20), "holes are not sent: {st:?}");
    assert!(st.scanned_entries >= 8, "{st:?}");
    assert_eq!(st.error, None);
    // Directory times change as the journal lands, and a journaled write
    // carries no time: compare those without their times.
    let (a, b) = (snapshot(m), snapshot(r));
    let files = |s: &BTreeMap<String, String>| {
        s.iter()
            .filter(|(_, v)| !v.starts_with("dir"))
            .map(|(k, v)| {
                let v = if k == "journaled" {
                    let f: Vec<&str> = v.split(' ').collect();
                    format!("{} {} {} {}", f[0], f[1], f[2], f[4])
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(files(&a), files(&b));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same names"
    );
    master.stop().expect("stop");
    server.join().expect("server");
    let replica = Arc::try_unwrap(replica).expect("one owner");
    let rs = replica.stop().expect("stop replica");
    assert_eq!(rs.apply_error, None);
    assert_eq!(rs.acked_applied, 80);
    let state = std::fs::read_to_string(r.join(".rha/agent/agent.json")).expect("state");
    assert!(!state.contains("sync_since_ns"), "{state}");
}

#[test]
fn block_mode_sends_and_writes_only_the_changed_blocks() {
    let p = Pair::new();
    let data = pattern(8 << 20, 3);
    write_file(&p.replica_root.join("disk.img"), &data, 0o644);
    let mut changed = data.clone();
    for block in [5usize, 77, 120] {
        changed[block * 65536 + 100] ^= 0xff;
    }
    changed.extend_from_slice(&pattern(1000, 4));
    write_file(&p.master_root.join("disk.img"), &changed, 0o644);
    let ino = std::fs::metadata(p.replica_root.join("disk.img"))
        .expect("stat")
        .ino();

    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let _server = serve_all(replica.clone(), rx);
    let master = MasterAgent::start(
        p.master_config(SyncMode::Block, false),
        connector(tx, Arc::new(parking_lot::Mutex::new(None))),
    )
    .expect("master");
    wait_until("the sync", Duration::from_secs(60), || {
        sync_status(&master).is_some_and(|s| s.phase == "done")
    });
    let st = sync_status(&master).expect("status");
    assert_eq!(st.sent_bytes, 3 * 65536 + 1000, "{st:?}");
    assert_eq!(st.matched_bytes, (8 << 20) - 3 * 65536, "{st:?}");
    let got = std::fs::read(p.replica_root.join("disk.img")).expect("read");
    assert!(got == changed, "the replica's copy differs");
    assert_eq!(
        std::fs::metadata(p.replica_root.join("disk.img"))
            .expect("stat")
            .ino(),
        ino,
        "changed in place"
    );
    master.stop().expect("stop");
}

#[test]
fn a_sync_cut_short_resumes_without_sending_finished_files_again() {
    let p = Pair::new();
    for i in 0..60 {
        write_file(
            &p.master_root.join(format!("f{i:02}")),
            &pattern(1 << 20, i as u8),
            0o644,
        );
    }
    let total: u64 = 60 << 20;
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let _server = serve_all(replica.clone(), rx);
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let master = MasterAgent::start(
        p.master_config(SyncMode::File, true),
        connector(tx, cut.clone()),
    )
    .expect("master");
    // Past the point where the replica makes what it wrote durable.
    cut_after(&replica, &cut, 40 << 20);
    let first = sync_status(&master).expect("status");
    // Nothing of the new sequence is applied while the sync is not done.
    let during = replica.status();
    wait_until("the second sync", Duration::from_secs(60), || {
        sync_status(&master).is_some_and(|s| s.id > first.id && s.phase == "done")
    });
    let second = sync_status(&master).expect("status");
    assert!(
        second.sent_bytes <= total - (24 << 20),
        "finished files were not sent again: {first:?} then {second:?}"
    );
    assert!(
        first.phase != "done" || first.sent_bytes == total,
        "{first:?}"
    );
    assert_eq!(during.acked_applied, 0, "{during:?}");
    let (a, b) = (snapshot(&p.master_root), snapshot(&p.replica_root));
    assert_eq!(a, b);
    master.stop().expect("stop");
}

#[test]
fn changes_made_while_the_sync_runs_are_applied_after_it() {
    changes_during_the_sync(false);
    changes_during_the_sync(true);
}

fn changes_during_the_sync(rewind: bool) {
    let p = Pair::new();
    for i in 0..30 {
        write_file(
            &p.master_root.join(format!("f{i}")),
            &pattern(200 << 10, i as u8),
            0o644,
        );
    }
    let mut rc = replica_config(&p.replica_root);
    rc.rewind = rewind;
    let replica = Arc::new(ReplicaAgent::open(rc).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let server = serve_all(replica.clone(), rx);
    let master = MasterAgent::start(
        p.master_config(SyncMode::File, true),
        connector(tx, Arc::new(parking_lot::Mutex::new(None))),
    )
    .expect("master");
    // Writes, creations, renames to new names and deletions, racing the
    // sync's reads.
    let m = &p.master_root;
    let mut seq = 0;
    let mut next = |op: Op| {
        seq += 1;
        record(&master, m, seq, op);
    };
    for round in 0..200u64 {
        let f = format!("f{}", round % 30);
        match round % 7 {
            0 if round / 7 < 25 => next(Op::Rename {
                from: path(&f),
                to: path(&format!("moved{round}")),
            }),
            1 => next(Op::Create {
                path: path(&format!("new{round}")),
                mode: 0o644,
            }),
            2 => {
                let victim = format!("new{}", round - 1);
                next(Op::Delete {
                    path: path(&victim),
                })
            }
            _ => {
                if m.join(&f).exists() {
                    next(Op::Write {
                        path: path(&f),
                        offset: round * 7,
                        data: Bytes::from(vec![round as u8; 4096]),
                    })
                }
            }
        }
        if round % 20 == 0 {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
    let last = seq;
    let started = std::time::Instant::now();
    let settled = || {
        let st = master.status();
        st.acked_applied == last
            && st.link == LinkState::Connected
            && !st.resync_needed
            && st.sync.is_some_and(|s| s.phase == "done")
    };
    while !settled() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not everything applied ({last}): master {:#?} replica {:#?}",
            master.status(),
            replica.status()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let files = |s: BTreeMap<String, String>| {
        s.into_iter()
            .filter(|(_, v)| v.starts_with("file"))
            .map(|(k, v)| (k, v.split(' ').next_back().map(str::to_owned)))
            .collect::<Vec<_>>()
    };
    let (a, b) = (files(snapshot(m)), files(snapshot(&p.replica_root)));
    let differ: Vec<_> = a.iter().filter(|x| !b.contains(x)).map(|x| &x.0).collect();
    let detail: Vec<String> = differ
        .iter()
        .map(|name| {
            let x = std::fs::read(m.join(name)).unwrap_or_default();
            let y = std::fs::read(p.replica_root.join(name)).unwrap_or_default();
            let first = x.iter().zip(&y).position(|(a, b)| a != b);
            let last = x.iter().zip(&y).rposition(|(a, b)| a != b);
            format!(
                "{name}: len {} vs {}, differ {first:?}..{last:?}, master {:?} replica {:?}",
                x.len(),
                y.len(),
                first.map(|i| x[i]),
                first.map(|i| y[i])
            )
        })
        .collect();
    assert!(
        differ.is_empty() && a.len() == b.len(),
        "{detail:#?} differ: master {:#?}",
        master.status()
    );
    if rewind {
        wait_until("the rewind log back on", Duration::from_secs(20), || {
            p.replica_root.join(".rha/rewind").is_dir()
        });
    }
    master.stop().expect("stop");
    server.join().expect("server");
    let replica = Arc::try_unwrap(replica).expect("one owner");
    assert_eq!(replica.stop().expect("stop").apply_error, None);
}

/// A master that sends a sync record aimed at the replica's own state
/// directory: the replica refuses it and changes nothing there.
#[test]
fn a_sync_record_into_the_state_directory_is_refused() {
    use rha_core::journal::{JournalWriter, WriterConfig};
    use rha_core::session::SyncRequest;

    let p = Pair::new();
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let (mut m, server) = HandMaster::syncing(&replica, SyncMode::File);
    let mut w = JournalWriter::new(
        Vec::new(),
        WriterConfig::default().stream_header(false).first_seq(1),
    );
    w.append(
        1,
        &Op::Create {
            path: RelPath::new(".rha/agent/planted").expect("path"),
            mode: 0o644,
        },
    )
    .expect("encode");
    m.session
        .send_sync(SyncRequest::Records {
            id: 1,
            frames: Bytes::from(w.into_inner().expect("frames")),
        })
        .expect("records");
    let (reason, text) = m.closed();
    assert_eq!(reason, rha_core::session::Reason::Failure, "{text}");
    assert!(text.contains("sync"), "{text}");
    assert!(!p.replica_root.join(".rha/agent/planted").exists());
    drop(m);
    server.join().expect("server");
    let st = replica.status();
    assert_eq!(st.sync.map(|s| s.phase), Some("failed".to_owned()));
}

/// A record the replica cannot apply (the journal and the data disagree)
/// stops application, and the replica asks for a sync, which brings it back
/// to the master's data and restarts application.
#[test]
fn a_record_the_replica_cannot_apply_leads_to_a_sync() {
    let p = Pair::new();
    write_file(&p.master_root.join("x"), b"the master's x", 0o644);
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let server = serve_all(replica.clone(), rx);
    let master = MasterAgent::start(
        p.master_config(SyncMode::File, true),
        connector(tx, Arc::new(parking_lot::Mutex::new(None))),
    )
    .expect("master");
    wait_until("the first sync", Duration::from_secs(60), || {
        sync_status(&master).is_some_and(|s| s.phase == "done")
    });
    // A journal that says "x" is created, which it already is.
    master
        .spool()
        .append(
            1,
            &Op::Create {
                path: path("x"),
                mode: 0o644,
            },
            AppendOptions::default(),
        )
        .expect("append");
    let started = std::time::Instant::now();
    while !{
        let st = master.status();
        st.sync.is_some_and(|s| s.id >= 2 && s.phase == "done")
            && st.link == LinkState::Connected
            && replica.status().apply_error.is_none()
    } {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no second sync: master {:#?} replica {:#?}",
            master.status(),
            replica.status()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let ended = master.status().last_end.unwrap_or_default();
    assert!(ended.contains("could not apply"), "{ended}");
    assert_eq!(
        std::fs::read(p.replica_root.join("x")).expect("read"),
        b"the master's x"
    );
    // Application goes on after the sync.
    record(
        &master,
        &p.master_root,
        2,
        Op::Write {
            path: path("x"),
            offset: 0,
            data: Bytes::from_static(b"THE"),
        },
    );
    let last = master.status().last_seq.max(2);
    wait_until("the write applied", Duration::from_secs(60), || {
        std::fs::read(p.replica_root.join("x")).is_ok_and(|d| d == b"THE master's x")
    });
    assert!(master.status().acked_applied <= last);
    master.stop().expect("stop");
    server.join().expect("server");
}

/// A master run by hand over a socket pair, for messages a real master
/// would not send.
struct HandMaster {
    session: rha_core::session::Session,
    link: UnixStream,
    buf: Vec<u8>,
}

impl HandMaster {
    fn new(link: UnixStream) -> Self {
        use rha_core::ha::{Generations, Instant};
        use rha_core::session::{Role, Session, SessionConfig};
        let mut cfg = SessionConfig::new(Role::Master, [1; 16], super::tests::SCENARIO);
        cfg.generations = Generations {
            current: 9,
            ..Generations::default()
        };
        cfg.can_sync = true;
        link.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        Self {
            session: Session::new(cfg, Instant::from_nanos(0)),
            link,
            buf: vec![0; 1 << 16],
        }
    }

    /// Sends what is queued and returns the events of what arrived.
    fn step(&mut self) -> Vec<rha_core::session::Event> {
        let out = self.session.take_output();
        // The replica may have closed and gone: what it sent is still read.
        let _ = std::io::Write::write_all(&mut self.link, &out);
        if let Ok(n) = std::io::Read::read(&mut self.link, &mut self.buf) {
            let now = rha_core::ha::Instant::from_nanos(1);
            self.session.receive(&self.buf[..n], now);
        }
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    /// A replica agent at `root` serving a hand-run master over a socket
    /// pair, connected and past the replica's tree of sync run 1 (started
    /// in `mode`). Returns the master and the serving thread.
    fn syncing(
        replica: &Arc<ReplicaAgent>,
        mode: SyncMode,
    ) -> (Self, std::thread::JoinHandle<SessionEnd>) {
        use rha_core::session::{Event, SyncReply, SyncRequest};
        let (mine, theirs) = UnixStream::pair().expect("pair");
        let server = {
            let replica = replica.clone();
            std::thread::spawn(move || replica.serve(theirs).expect("serve"))
        };
        let mut m = Self::new(mine);
        match m.until("the connection", |e| matches!(e, Event::Connected { .. })) {
            Event::Connected { sync, .. } => assert!(sync, "an empty replica is synced"),
            e => panic!("{e:?}"),
        }
        m.session
            .send_sync(SyncRequest::Begin {
                id: 1,
                mode,
                ignore_same: true,
                block_size: 65536,
                scope: rha_core::session::SyncScope::whole(),
            })
            .expect("begin");
        m.until("the tree", |e| {
            matches!(e, Event::SyncReply(SyncReply::Tree { last: true, .. }))
        });
        (m, server)
    }

    /// Steps until the session closes, for at most 20 s: its reason and
    /// text.
    fn closed(&mut self) -> (rha_core::session::Reason, String) {
        let started = std::time::Instant::now();
        loop {
            let closed = self.step().into_iter().find_map(|e| match e {
                rha_core::session::Event::Closed { reason, text, .. } => Some((reason, text)),
                _ => None,
            });
            if let Some(c) = closed {
                return c;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the session does not close"
            );
        }
    }

    /// Steps until an event matches, for at most 20 s.
    fn until(
        &mut self,
        what: &str,
        mut found: impl FnMut(&rha_core::session::Event) -> bool,
    ) -> rha_core::session::Event {
        let started = std::time::Instant::now();
        loop {
            for e in self.step() {
                if found(&e) {
                    return e;
                }
                if let rha_core::session::Event::Closed { text, .. } = &e {
                    panic!("closed while waiting for {what}: {text}");
                }
            }
            assert!(started.elapsed() < Duration::from_secs(20), "no {what}");
        }
    }
}

/// A file whose copy does not match its check is named by the replica,
/// whichever way the check is made, and the run does not finish until the
/// master has sent it again and ended again.
#[test]
fn a_copy_that_fails_its_check_is_named_and_the_run_waits_for_it() {
    use rha_core::journal::{JournalWriter, WriterConfig};
    use rha_core::session::{Event, SyncReply, SyncRequest};

    let p = Pair::new();
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let (mut m, server) = HandMaster::syncing(&replica, SyncMode::Block);
    let records = |seq: u64, ops: &[Op]| {
        let mut w = JournalWriter::new(
            Vec::new(),
            WriterConfig::default().stream_header(false).first_seq(seq),
        );
        for op in ops {
            w.append(1, op).expect("encode");
        }
        Bytes::from(w.into_inner().expect("frames"))
    };
    let data = Bytes::from(pattern(100_000, 7));
    m.session
        .send_sync(SyncRequest::Records {
            id: 1,
            frames: records(
                1,
                &[
                    Op::Create {
                        path: path("a"),
                        mode: 0o644,
                    },
                    Op::Write {
                        path: path("a"),
                        offset: 0,
                        data: data.clone(),
                    },
                ],
            ),
        })
        .expect("records");
    let good = *blake3::hash(&data).as_bytes();
    let mut bad = good;
    bad[0] ^= 1;
    for (by_blocks, hash) in [(false, bad), (true, bad), (false, good)] {
        m.session
            .send_sync(SyncRequest::Check {
                id: 1,
                path: path("a"),
                len: data.len() as u64,
                by_blocks,
                hash,
            })
            .expect("check");
    }
    let end = SyncRequest::End {
        id: 1,
        replay_to: 0,
        entries: 1,
        bytes: data.len() as u64,
    };
    m.session.send_sync(end.clone()).expect("end");
    let mut mismatches = 0;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        for e in m.step() {
            match e {
                Event::SyncReply(SyncReply::Mismatch { path, .. }) => {
                    assert_eq!(path.as_bytes(), b"a");
                    mismatches += 1;
                }
                Event::SyncReply(SyncReply::Done { .. }) => panic!("done with a failed check"),
                _ => {}
            }
        }
    }
    assert_eq!(mismatches, 2, "both failed checks are named");
    // Sent again (here: the check made right) and ended again: done.
    m.session.send_sync(end).expect("end");
    m.until("done", |e| {
        matches!(e, Event::SyncReply(SyncReply::Done { id: 1 }))
    });
    assert_eq!(
        std::fs::read(p.replica_root.join("a")).expect("read"),
        &data[..]
    );
    m.session
        .close(rha_core::session::Reason::Done, "test over");
    m.step();
    drop(m);
    server.join().expect("server");
}

/// A master that asks for block hashes without waiting for them is
/// refused once too many wait: the replica's memory stays bounded.
#[test]
fn a_flood_of_block_requests_is_refused() {
    use rha_core::session::SyncRequest;

    let p = Pair::new();
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let (mut m, server) = HandMaster::syncing(&replica, SyncMode::Block);
    for file in 0..10_000 {
        m.session
            .send_sync(SyncRequest::Blocks {
                id: 1,
                file,
                path: path("no-such-file"),
            })
            .expect("request");
    }
    let (_, text) = m.closed();
    assert!(text.contains("block requests waiting"), "{text}");
    drop(m);
    server.join().expect("server");
}

/// A small tmpfs mounted at a directory for a test, unmounted when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    /// `None` where this process may not mount (not root): the test says
    /// so and does nothing.
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_owned()))
    }

    fn resize(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("mount");
        assert!(status.success(), "remount {}", self.0.display());
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_replica_disk_that_fills_during_the_sync_fails_it_clearly_and_the_next_run_completes() {
    let p = Pair::new();
    let Some(fs) = SmallFs::mount(&p.replica_root, "12m") else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    for i in 0..4 {
        write_file(
            &p.master_root.join(format!("f{i}")),
            &pattern(6 << 20, i as u8),
            0o644,
        );
    }
    let mut rc = replica_config(&p.replica_root);
    rc.spool = rc.spool.min_free_bytes(0);
    let replica = Arc::new(ReplicaAgent::open(rc).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let _server = serve_all(replica.clone(), rx);
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let master = MasterAgent::start(p.master_config(SyncMode::File, true), connector(tx, cut))
        .expect("master");
    wait_until(
        "the replica's sync to fail",
        Duration::from_secs(60),
        || replica.status().sync.is_some_and(|s| s.phase == "failed"),
    );
    let failed = replica.status().sync.expect("sync status");
    let why = failed.error.clone().unwrap_or_default();
    assert!(why.contains("No space left on device"), "{failed:?}");
    wait_until("the master to hear why", Duration::from_secs(30), || {
        master
            .status()
            .last_end
            .is_some_and(|e| e.contains("No space left on device"))
    });
    assert_eq!(
        replica.status().acked_applied,
        0,
        "nothing of the journal applied"
    );
    // Room again: the next run completes, and the trees are equal.
    fs.resize("64m");
    wait_until("a sync to complete", Duration::from_secs(60), || {
        sync_status(&master).is_some_and(|s| s.phase == "done")
    });
    assert_eq!(snapshot(&p.master_root), snapshot(&p.replica_root));
    master.stop().expect("stop");
}

/// Runs one sync of `p`'s trees in file mode, as between a master and a
/// replica that never met (fresh state on both sides, the trees as they
/// are), and returns its status.
fn sync_once(p: &Pair, run: &str) -> SyncStatus {
    let _ = std::fs::remove_dir_all(p.replica_root.join(".rha"));
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let server = serve_all(replica.clone(), rx);
    let mut c = master_config(&p.state.join(run));
    c.root = Some(p.master_root.clone());
    c.sync.mode = SyncMode::File;
    c.sync.ignore_same = true;
    let master = MasterAgent::start(c, connector(tx, Arc::new(parking_lot::Mutex::new(None))))
        .expect("master");
    wait_until("the sync", Duration::from_secs(60), || {
        sync_status(&master).is_some_and(|s| s.phase == "done")
    });
    let st = sync_status(&master).expect("status");
    master.stop().expect("stop");
    server.join().expect("server");
    let replica = Arc::try_unwrap(replica).expect("one owner");
    let rs = replica.stop().expect("stop replica");
    assert_eq!(rs.apply_error, None);
    assert_eq!(st.error, None, "{st:?}");
    st
}

fn mknod(path: &Path, file_type: rustix::fs::FileType, mode: u32, dev: u64) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        file_type,
        rustix::fs::Mode::from_raw_mode(mode),
        dev,
    )
    .expect("mknod");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A FIFO (and, as root, a character device) on the master is made on the
/// replica with the master's mode, device number and time; a socket is
/// skipped.
#[test]
fn special_files_are_created_on_the_replica() {
    let p = Pair::new();
    let m = &p.master_root;
    std::fs::create_dir(m.join("d")).expect("mkdir");
    mknod(&m.join("d/fifo"), rustix::fs::FileType::Fifo, 0o640, 0);
    let root = rustix::process::geteuid().is_root();
    if root {
        // The numbers of /dev/null.
        let null = rustix::fs::makedev(1, 3);
        mknod(
            &m.join("null"),
            rustix::fs::FileType::CharacterDevice,
            0o666,
            null,
        );
    } else {
        eprintln!("SKIPPED the device node: not running as root");
    }
    let _socket = std::os::unix::net::UnixListener::bind(m.join("sock")).expect("socket");
    crate::sync::set_mtime(&m.join("d/fifo"), 1_700_000_000_000_000_007).expect("mtime");
    // A regular file stands where the master has a FIFO.
    std::fs::create_dir(p.replica_root.join("d")).expect("mkdir");
    write_file(&p.replica_root.join("d/fifo"), b"not a fifo", 0o644);

    let st = sync_once(&p, "1");
    let (mut a, b) = (snapshot(m), snapshot(&p.replica_root));
    assert!(a.remove("sock").is_some(), "{a:?}");
    assert_eq!(a, b);
    let fifo = std::fs::symlink_metadata(p.replica_root.join("d/fifo")).expect("stat");
    assert!(fifo.file_type().is_fifo(), "{fifo:?}");
    assert_eq!(fifo.mode() & 0o7777, 0o640);
    if root {
        let null = std::fs::symlink_metadata(p.replica_root.join("null")).expect("stat");
        assert!(null.file_type().is_char_device(), "{null:?}");
        assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    }
    assert_eq!(st.skipped, 1, "the socket: {st:?}");
}

/// Sets (or with `None` removes) extended attribute `name` of `path`.
fn set_xattr(path: &Path, name: &str, value: Option<&[u8]>) {
    match value {
        Some(v) => rustix::fs::lsetxattr(path, name, v, rustix::fs::XattrFlags::empty()),
        None => rustix::fs::lremovexattr(path, name),
    }
    .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
}

/// The `user.*` attributes of every entry beneath `root` (not `.rha`).
fn user_xattrs(root: &Path) -> BTreeMap<String, crate::sync::xattr::Xattrs> {
    snapshot(root)
        .into_keys()
        .filter(|k| !k.starts_with("links "))
        .map(|k| {
            let x = crate::sync::xattr::read(
                &root.join(&k),
                crate::sync::xattr::XattrScope::new(false),
            )
            .expect("xattrs");
            (k, x)
        })
        .collect()
}

/// Extended attributes set, changed and removed on the master's files and
/// directories are the same on the replica after a sync, and a sync with
/// nothing changed sends nothing for them.
#[test]
fn extended_attributes_are_synced_and_then_left_alone() {
    let p = Pair::new();
    let (m, r) = (&p.master_root, &p.replica_root);
    let probe = m.join("probe");
    std::fs::write(&probe, b"").expect("probe");
    if let Err(e) = rustix::fs::lsetxattr(&probe, "user.p", b"1", rustix::fs::XattrFlags::empty()) {
        eprintln!("SKIPPED: no user.* extended attributes here: {e}");
        return;
    }
    std::fs::remove_file(&probe).expect("probe");
    for root in [m, r] {
        std::fs::create_dir(root.join("d")).expect("mkdir");
        write_file(&root.join("same"), b"same bytes", 0o644);
        write_file(&root.join("d/inner"), b"inner", 0o600);
        crate::sync::set_mtime(&root.join("same"), 1_600_000_000_000_000_000).expect("mtime");
        crate::sync::set_mtime(&root.join("d/inner"), 1_600_000_000_000_000_000).expect("mtime");
    }
    // New on the master, with attributes.
    write_file(&m.join("new"), b"new file", 0o644);
    set_xattr(&m.join("new"), "user.one", Some(b"1"));
    set_xattr(&m.join("new"), "user.two", Some(&[0, 255]));
    std::fs::create_dir(m.join("newdir")).expect("mkdir");
    set_xattr(&m.join("newdir"), "user.dir", Some(b"fresh"));
    // The same contents: one value changed, one name gone, one added.
    set_xattr(&m.join("same"), "user.kept", Some(b"new value"));
    set_xattr(&m.join("same"), "user.added", Some(b"+"));
    set_xattr(&r.join("same"), "user.kept", Some(b"old value"));
    set_xattr(&r.join("same"), "user.gone", Some(b"-"));
    // Every name gone from a file and a directory.
    set_xattr(&r.join("d/inner"), "user.stale", Some(b"x"));
    set_xattr(&r.join("d"), "user.stale", Some(b"x"));
    set_xattr(&m.join("d"), "user.d", Some(b"dir value"));

    let first = sync_once(&p, "1");
    assert_eq!(user_xattrs(m), user_xattrs(r));
    assert_eq!(snapshot(m), snapshot(r));
    assert!(first.sent_entries >= 5, "{first:?}");
    let second = sync_once(&p, "2");
    assert_eq!(second.sent_entries, 0, "nothing changed: {second:?}");
    assert_eq!(user_xattrs(m), user_xattrs(r));
    // A change of one value alone is sent.
    set_xattr(&m.join("d/inner"), "user.late", Some(b"late"));
    let third = sync_once(&p, "3");
    assert_eq!(third.sent_entries, 1, "{third:?}");
    assert_eq!(user_xattrs(m), user_xattrs(r));
}
