//! A resync after the master's spool overflowed: under the dirty-region
//! policy it covers only what changed (the dirty regions and the records
//! the spool still held), and the replica ends equal to the master.

use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rha_core::journal::Op;
use rha_core::session::SyncMode;
use rha_core::spool::{AppendError, AppendOptions, OverflowPolicy, SpoolConfig};

use super::sync_tests::{
    change, cut_after, pattern, record, snapshot, sync_status, write_file, Pair,
};
use super::tests::{connector, path, replica_config, serve_all, wait_until};
use super::*;

#[test]
fn a_master_spool_that_overflowed_resyncs_its_replica() {
    let p = Pair::new();
    let mut mc = p.master_config(SyncMode::File, true);
    mc.spool = rha_core::spool::SpoolConfig::default()
        .max_bytes(Some(64 << 10))
        .overflow(OverflowPolicy::DegradeToDirtyRegions);
    let (tx, rx) = mpsc::channel::<UnixStream>();
    // No replica yet: the master spools until it overflows.
    let master = MasterAgent::start(mc, connector(tx, Arc::new(parking_lot::Mutex::new(None))))
        .expect("master");
    write_file(&p.master_root.join("data"), b"", 0o644);
    for i in 0..200u64 {
        record(
            &master,
            &p.master_root,
            i + 1,
            Op::Write {
                path: path("data"),
                offset: i * 1024,
                data: Bytes::from(vec![i as u8; 1024]),
            },
        );
    }
    wait_until("the overflow", Duration::from_secs(20), || {
        master.status().spool_mode == "degraded"
    });
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let _server = serve_all(replica.clone(), rx);
    wait_until("the resync", Duration::from_secs(60), || {
        let st = master.status();
        st.sync.is_some_and(|s| s.phase == "done")
            && st.spool_mode == "normal"
            && st.link == LinkState::Connected
    });
    let st = master.status();
    assert_eq!(st.spool_mode, "normal", "{st:?}");
    assert!(!st.resync_needed, "{st:?}");
    let state = std::fs::read_to_string(p.state.join("agent.json")).expect("state");
    assert!(!state.contains("resync"), "{state}");
    assert_eq!(
        std::fs::read(p.replica_root.join("data")).expect("read"),
        std::fs::read(p.master_root.join("data")).expect("read")
    );
    master.stop().expect("stop");
}

/// A connector that fails while `down` is set, keeping the master's end of
/// the current link in `cut`.
fn switchable(
    tx: mpsc::Sender<UnixStream>,
    cut: Arc<parking_lot::Mutex<Option<UnixStream>>>,
    down: Arc<AtomicBool>,
) -> impl Connector {
    let mut inner = connector(tx, cut);
    move || {
        if down.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the replica is unreachable"));
        }
        inner.connect()
    }
}

/// The master's tree with `policy` for its spool: synced, then the replica
/// goes away while the tree changes enough to overflow the spool, and more
/// after that (changes a stopped spool refuses still happen: the
/// application goes on). With `cut_during`, the link is cut in the middle
/// of the resync. Returns the status of the resync that completed once the
/// replica is back and equal to the master.
fn away_then_back(policy: OverflowPolicy, cut_during: bool) -> SyncStatus {
    let p = Pair::new();
    let m = &p.master_root;
    write_file(&m.join("big"), &pattern(4 << 20, 3), 0o644);
    std::fs::create_dir(m.join("keep")).expect("mkdir");
    for i in 0..40u8 {
        write_file(&m.join(format!("keep/f{i}")), &pattern(2000, i), 0o644);
    }
    std::fs::create_dir(m.join("gone")).expect("mkdir");
    write_file(&m.join("gone/x"), b"x", 0o644);
    let mut mc = p.master_config(SyncMode::File, true);
    mc.spool = SpoolConfig::default()
        .segment_bytes(16 << 10)
        .max_bytes(Some(64 << 10))
        .min_free_bytes(0)
        .overflow(policy);
    let (tx, rx) = mpsc::channel();
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let down = Arc::new(AtomicBool::new(false));
    let master = MasterAgent::start(mc, switchable(tx, cut.clone(), down.clone())).expect("master");
    let replica = Arc::new(ReplicaAgent::open(replica_config(&p.replica_root)).expect("replica"));
    let _server = serve_all(replica.clone(), rx);
    wait_until("the first sync", Duration::from_secs(60), || {
        let st = master.status();
        st.sync.is_some_and(|s| s.phase == "done") && st.link == LinkState::Connected
    });
    assert_eq!(sync_status(&master).map(|s| s.scope_paths), Some(0));
    // Records replicated before: the replica holds them.
    let mut ts = 0;
    for i in 0..20u64 {
        ts += 1;
        record(
            &master,
            m,
            ts,
            Op::Write {
                path: path("keep/f0"),
                offset: i * 100,
                data: Bytes::from(vec![i as u8; 100]),
            },
        );
    }
    // The journal carries no time for a write: a record sets it.
    ts += 1;
    record(
        &master,
        m,
        ts,
        Op::SetAttr {
            path: path("keep/f0"),
            attrs: rha_core::journal::Attrs {
                mtime: Some(1_700_000_000_000_000_000),
                ..Default::default()
            },
        },
    );
    wait_until("the records applied", Duration::from_secs(30), || {
        master.status().acked_applied == ts
    });

    down.store(true, Ordering::SeqCst);
    if let Some(s) = cut.lock().take() {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    wait_until("the link down", Duration::from_secs(20), || {
        master.status().link != LinkState::Connected
    });
    let mut rec = |op: Op| {
        ts += 1;
        change(m, &op);
        let appended = master.spool().append(ts, &op, AppendOptions::default());
        match (policy, appended) {
            (_, Ok(_)) => {}
            (OverflowPolicy::Stop, Err(AppendError::Stopped { .. })) => {}
            (_, Err(e)) => panic!("{policy:?}: {e}"),
        }
    };
    rec(Op::Create {
        path: path("log"),
        mode: 0o644,
    });
    for i in 0..120u64 {
        rec(Op::Write {
            path: path("log"),
            offset: i * 1024,
            data: Bytes::from(vec![i as u8; 1024]),
        });
    }
    assert!(
        master.spool().usage().mode != rha_core::spool::SpoolMode::Normal,
        "{:?}",
        master.spool().usage()
    );
    rec(Op::Write {
        path: path("big"),
        offset: 1 << 20,
        data: Bytes::from(vec![0xaa; 4096]),
    });
    rec(Op::Write {
        path: path("big"),
        offset: (3 << 20) + 100,
        data: Bytes::from(vec![0xbb; 1000]),
    });
    rec(Op::SetLen {
        path: path("big"),
        len: (4 << 20) - 10,
    });
    rec(Op::Delete {
        path: path("gone/x"),
    });
    rec(Op::Rmdir { path: path("gone") });
    rec(Op::Rename {
        from: path("keep/f1"),
        to: path("keep/f1-renamed"),
    });
    rec(Op::Mkdir {
        path: path("new"),
        mode: 0o755,
    });
    rec(Op::Create {
        path: path("new/y"),
        mode: 0o600,
    });
    rec(Op::Write {
        path: path("new/y"),
        offset: 0,
        data: Bytes::from_static(b"hello"),
    });
    if cut_during {
        // Enough dirty data for the resync to be cut in its middle.
        rec(Op::Mkdir {
            path: path("bulk"),
            mode: 0o755,
        });
        for i in 0..96u64 {
            let file = path(&format!("bulk/{i:02}"));
            rec(Op::Create {
                path: file.clone(),
                mode: 0o644,
            });
            rec(Op::Write {
                path: file,
                offset: 0,
                data: Bytes::from(pattern(1 << 20, i as u8)),
            });
        }
    }

    down.store(false, Ordering::SeqCst);
    if cut_during {
        cut_after(&replica, &cut, 16 << 20);
        let first = sync_status(&master).expect("status");
        assert!(first.scope_paths > 0, "{first:?}");
        wait_until("the next run", Duration::from_secs(60), || {
            sync_status(&master).is_some_and(|s| s.id > first.id)
        });
    }
    wait_until("the resync", Duration::from_secs(60), || {
        let st = master.status();
        st.sync.is_some_and(|s| s.id >= 2 && s.phase == "done")
            && st.spool_mode == "normal"
            && st.link == LinkState::Connected
    });
    assert_eq!(snapshot(m), snapshot(&p.replica_root), "{policy:?}");
    let state = std::fs::read_to_string(p.state.join(STATE_FILE)).expect("state");
    assert!(!state.contains("resync"), "{state}");
    assert!(!p.state.join(RESYNC_REGIONS_FILE).exists());
    let st = sync_status(&master).expect("sync");
    master.stop().expect("stop");
    st
}

#[test]
fn a_resync_after_a_degrading_overflow_covers_only_the_dirty_regions() {
    let st = away_then_back(OverflowPolicy::DegradeToDirtyRegions, false);
    // Only the dirty paths are scanned and compared (log, big, gone/x,
    // gone, keep/f1, keep/f1-renamed, new, new/y), and of the big file
    // only its dirty parts are sent.
    assert!(st.scope_paths >= 6 && st.scope_paths <= 8, "{st:?}");
    assert!(st.scanned_entries <= 8, "{st:?}");
    assert!(st.sent_bytes >= 5005 && st.sent_bytes < 200 << 10, "{st:?}");
}

#[test]
fn a_resync_after_a_stopping_overflow_covers_the_whole_tree() {
    let st = away_then_back(OverflowPolicy::Stop, false);
    // What a stopped spool refused is in no record and no region.
    assert_eq!(st.scope_paths, 0, "{st:?}");
    assert!(st.scanned_entries >= 44, "{st:?}");
}

#[test]
fn a_narrowed_resync_cut_short_resumes_narrowed() {
    // The replica, in the middle of the run, holds no point of the
    // sequence; the master knows the run it started was narrowed.
    let st = away_then_back(OverflowPolicy::DegradeToDirtyRegions, true);
    // The whole tree has about 150 entries.
    assert!(st.scope_paths >= 100 && st.scope_paths <= 110, "{st:?}");
    assert!(st.scanned_entries <= 110, "{st:?}");
    // Not the big file whole.
    assert!(st.sent_bytes < 100 << 20, "{st:?}");
}
