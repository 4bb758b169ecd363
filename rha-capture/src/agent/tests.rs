//! The agents end to end over socket pairs: replication, resumption after
//! link cuts and restarts, refusals, controls.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rha_core::journal::{Op, RelPath};
use rha_core::session::{Control, Point, Reason};
use rha_core::spool::AppendOptions;

use super::*;

pub(super) const SCENARIO: [u8; 16] = [5; 16];

pub(super) fn master_config(dir: &Path) -> MasterConfig {
    let mut c = MasterConfig::new(SCENARIO, [1; 16], dir);
    c.name = "master".into();
    c.retry_min = Duration::from_millis(5);
    c.retry_max = Duration::from_millis(50);
    c.heartbeat = Duration::from_millis(100);
    c.timeout = Duration::from_secs(5);
    c.batch_bytes = 16 << 10;
    c
}

pub(super) fn replica_config(root: &Path) -> ReplicaConfig {
    let mut c = ReplicaConfig::new(SCENARIO, [2; 16], root);
    c.name = "replica".into();
    c.heartbeat = Duration::from_millis(100);
    c.timeout = Duration::from_secs(5);
    c.window = 64 << 10;
    c
}

pub(super) fn path(s: &str) -> RelPath {
    RelPath::new(s.to_owned()).expect("path")
}

/// Record `i` of a test workload: files f0..f9 created, then written at
/// increasing offsets with content derived from `i`.
pub(super) fn op(i: u64) -> Op {
    let file = format!("f{}", i % 10);
    if i < 10 {
        Op::Create {
            path: path(&file),
            mode: 0o644,
        }
    } else {
        Op::Write {
            path: path(&file),
            offset: (i / 10) * 100,
            data: Bytes::from(vec![(i % 251) as u8; 100]),
        }
    }
}

/// What the master's tree looks like after records 0..n of [`op`].
fn expected(n: u64) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<Vec<u8>> = vec![Vec::new(); 10];
    for i in 10..n {
        let f = &mut files[(i % 10) as usize];
        let off = ((i / 10) * 100) as usize;
        if f.len() < off + 100 {
            f.resize(off + 100, 0);
        }
        f[off..off + 100].fill((i % 251) as u8);
    }
    (0..n.min(10))
        .map(|k| (format!("f{k}"), files[k as usize].clone()))
        .collect()
}

fn tree(root: &Path, n: u64) -> Vec<(String, Vec<u8>)> {
    (0..n.min(10))
        .map(|k| {
            let name = format!("f{k}");
            let data = std::fs::read(root.join(&name)).unwrap_or_default();
            (name, data)
        })
        .collect()
}

pub(super) fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A replica agent serving every link sent to it, until the sender goes.
pub(super) fn serve_all(
    replica: Arc<ReplicaAgent>,
    links: mpsc::Receiver<UnixStream>,
) -> std::thread::JoinHandle<Vec<SessionEnd>> {
    std::thread::spawn(move || {
        let mut ends = Vec::new();
        while let Ok(link) = links.recv() {
            ends.push(replica.serve(link).expect("serve"));
        }
        ends
    })
}

/// A connector handing the other end of each new socket pair to `tx`,
/// keeping a clone of the master's end in `cut` (to cut the link).
pub(super) fn connector(
    tx: mpsc::Sender<UnixStream>,
    cut: Arc<parking_lot::Mutex<Option<UnixStream>>>,
) -> impl Connector {
    move || {
        let (a, b) = UnixStream::pair()?;
        *cut.lock() = Some(a.try_clone()?);
        tx.send(b)
            .map_err(|_| std::io::Error::other("replica gone"))?;
        Ok(a)
    }
}

fn append(agent: &MasterAgent, range: std::ops::Range<u64>) {
    for i in range {
        agent
            .spool()
            .append(i + 1, &op(i), AppendOptions::default())
            .expect("append");
    }
}

#[test]
fn records_replicate_in_order_across_link_cuts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("replica");
    let replica = Arc::new(ReplicaAgent::open(replica_config(&root)).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let server = serve_all(replica.clone(), rx);
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let master = MasterAgent::start(
        master_config(&tmp.path().join("master")),
        connector(tx, cut.clone()),
    )
    .expect("master");
    let n = 3000;
    for chunk in 0..10 {
        append(&master, chunk * n / 10..(chunk + 1) * n / 10);
        // Cut the link under way, three times.
        if chunk % 3 == 1 {
            if let Some(s) = cut.lock().take() {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
    wait_until(
        "the replica to apply everything",
        Duration::from_secs(60),
        || master.status().acked_applied == n,
    );
    let st = master.status();
    assert_eq!(st.acked_stored, n);
    assert!(st.sessions >= 2, "the link was cut: {st:?}");
    assert_eq!(tree(&root, n), expected(n));
    master.stop().expect("stop master");
    let ends = server.join().expect("server");
    assert!(ends.len() >= 2, "{ends:?}");
    let replica = Arc::try_unwrap(replica).expect("one owner");
    let rs = replica.stop().expect("stop replica");
    assert_eq!((rs.acked_applied, rs.last_seq), (n, n));
    assert_eq!(rs.apply_error, None);
}

#[test]
fn a_restarted_replica_resumes_where_it_stored_and_nothing_is_applied_twice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("replica");
    let master_dir = tmp.path().join("master");
    let (tx, rx) = mpsc::channel::<UnixStream>();
    let rx = Arc::new(parking_lot::Mutex::new(rx));
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let master =
        MasterAgent::start(master_config(&master_dir), connector(tx, cut)).expect("master");
    append(&master, 0..500);
    let mut total = 500;
    for round in 0..3 {
        let replica = Arc::new(ReplicaAgent::open(replica_config(&root)).expect("replica"));
        let server = {
            let replica = replica.clone();
            let rx = rx.clone();
            std::thread::spawn(move || {
                let link = rx.lock().recv().expect("link");
                replica.serve(link).expect("serve")
            })
        };
        append(&master, total..total + 300);
        total += 300;
        wait_until("records stored", Duration::from_secs(60), || {
            master.status().acked_stored == total
        });
        replica.request_stop();
        let end = server.join().expect("server");
        assert!(
            matches!(
                end,
                SessionEnd::Closed {
                    reason: Reason::Done,
                    by_peer: false,
                    ..
                }
            ),
            "round {round}: {end:?}"
        );
        let replica = Arc::try_unwrap(replica).expect("one owner");
        let st = replica.stop().expect("stop");
        assert_eq!(st.apply_error, None, "round {round}");
    }
    // A last run applies whatever the restarts left stored.
    let replica = Arc::new(ReplicaAgent::open(replica_config(&root)).expect("replica"));
    wait_until("everything applied", Duration::from_secs(60), || {
        replica.status().acked_applied == total
    });
    assert_eq!(tree(&root, total), expected(total));
    drop(master);
}

#[test]
fn a_replica_of_another_master_is_refused_and_keeps_its_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("replica");
    let replica = Arc::new(ReplicaAgent::open(replica_config(&root)).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let server = serve_all(replica.clone(), rx);
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let first = MasterAgent::start(
        master_config(&tmp.path().join("m1")),
        connector(tx.clone(), cut.clone()),
    )
    .expect("master");
    append(&first, 0..50);
    wait_until("applied", Duration::from_secs(30), || {
        first.status().acked_applied == 50
    });
    first.stop().expect("stop");
    // A second master: a new epoch, a new generation.
    let second =
        MasterAgent::start(master_config(&tmp.path().join("m2")), connector(tx, cut)).expect("m2");
    append(&second, 0..20);
    wait_until("refusal", Duration::from_secs(30), || {
        second
            .status()
            .last_end
            .is_some_and(|e| e.contains("Generations"))
    });
    let end = second.status().last_end.expect("ended");
    assert!(end.contains("diverged"), "{end}");
    drop(second);
    server.join().expect("server");
    assert_eq!(tree(&root, 50), expected(50));
    let replica = Arc::try_unwrap(replica).expect("one owner");
    assert_eq!(replica.stop().expect("stop").acked_applied, 50);
}

#[test]
fn a_master_that_reclaimed_what_a_new_replica_needs_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (tx, rx) = mpsc::channel();
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let mut cfg = master_config(&tmp.path().join("m"));
    cfg.spool = rha_core::spool::SpoolConfig::default().segment_bytes(4096);
    let master = MasterAgent::start(cfg, connector(tx, cut)).expect("master");
    append(&master, 0..200);
    master.spool().ack(150).expect("ack");
    let replica = ReplicaAgent::open(replica_config(&tmp.path().join("replica"))).expect("replica");
    let end = replica.serve(rx.recv().expect("link")).expect("serve");
    match end {
        SessionEnd::Closed {
            reason: Reason::Failure,
            text,
            by_peer: true,
        } => assert!(text.contains("must be synchronised"), "{text}"),
        e => panic!("{e:?}"),
    }
    assert_eq!(replica.status().acked_applied, 0);
    drop(master);
}

#[test]
fn pause_resume_and_bookmark_reach_the_live_replica() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("replica");
    let mut rc = replica_config(&root);
    rc.rewind = true;
    let replica = Arc::new(ReplicaAgent::open(rc).expect("replica"));
    let (tx, rx) = mpsc::channel();
    let server = serve_all(replica.clone(), rx);
    let cut = Arc::new(parking_lot::Mutex::new(None));
    let master = MasterAgent::start(master_config(&tmp.path().join("m")), connector(tx, cut))
        .expect("master");
    append(&master, 0..100);
    wait_until("applied", Duration::from_secs(30), || {
        master.status().acked_applied == 100
    });
    master.control(Control::Bookmark {
        at: Point {
            epoch: master.status().epoch,
            seq: 100,
        },
        name: "before-pause".into(),
    });
    master.control(Control::Pause);
    std::thread::sleep(Duration::from_millis(300));
    append(&master, 100..200);
    wait_until("stored", Duration::from_secs(30), || {
        master.status().acked_stored == 200
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        master.status().acked_applied,
        100,
        "paused: stored, not applied"
    );
    assert!(replica.status().paused);
    master.control(Control::Resume);
    wait_until("applied after resume", Duration::from_secs(30), || {
        master.status().acked_applied == 200
    });
    master.stop().expect("stop");
    server.join().expect("server");
    let replica = Arc::try_unwrap(replica).expect("one owner");
    replica.stop().expect("stop");
    let mut dir = crate::apply::ReplicaDir::open(
        &root,
        crate::apply::ReplicaOptions::default().existing(true),
    )
    .expect("open replica");
    let marks = dir.replica().bookmarks();
    assert!(marks.iter().any(|b| b.name == "before-pause"), "{marks:?}");
}

#[test]
fn a_peer_that_never_answers_ends_the_session_after_the_timeout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let replica = ReplicaAgent::open(replica_config(&tmp.path().join("replica"))).expect("replica");
    let (a, b) = UnixStream::pair().expect("pair");
    let mut cfg = replica_config(&tmp.path().join("replica"));
    cfg.timeout = Duration::from_millis(300);
    drop(replica);
    let replica = ReplicaAgent::open(cfg).expect("replica");
    let started = Instant::now();
    let end = replica.serve(a).expect("serve");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(
            end,
            SessionEnd::Closed {
                reason: Reason::Timeout,
                ..
            }
        ),
        "{end:?}"
    );
    drop(b);
}

#[test]
fn a_master_spool_that_overflows_while_the_replica_is_away_keeps_its_policy() {
    use rha_core::spool::{AppendError, OverflowPolicy, SpoolConfig, WhenFull};
    for policy in [OverflowPolicy::Stop, OverflowPolicy::DegradeToDirtyRegions] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("replica");
        let replica = Arc::new(ReplicaAgent::open(replica_config(&root)).expect("replica"));
        let (tx, rx) = mpsc::channel();
        let server = serve_all(replica.clone(), rx);
        // The replica is unreachable until `reachable` is set.
        let reachable = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connect = {
            let reachable = reachable.clone();
            let inner = connector(tx, Arc::new(parking_lot::Mutex::new(None)));
            let mut inner = Some(inner);
            move || {
                if !reachable.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(std::io::Error::other("the replica is unreachable"));
                }
                inner.as_mut().expect("connector").connect()
            }
        };
        let mut cfg = master_config(&tmp.path().join("m"));
        cfg.spool = SpoolConfig::default()
            .segment_bytes(16 << 10)
            .max_bytes(Some(96 << 10))
            .min_free_bytes(0)
            .overflow(policy);
        let master = MasterAgent::start(cfg, connect).expect("master");
        // Fill the spool: 100-byte writes until it overflows.
        let opts = AppendOptions::default().when_full(WhenFull::Overflow);
        let mut kept = 0;
        for i in 0..5000 {
            match master.spool().append(i + 1, &op(i), opts) {
                Ok(t) if t.seq.is_some() => kept = i + 1,
                Ok(_) => assert_eq!(policy, OverflowPolicy::DegradeToDirtyRegions),
                Err(AppendError::Stopped { .. }) => {
                    assert_eq!(policy, OverflowPolicy::Stop);
                    break;
                }
                Err(e) => panic!("{policy:?}: {e}"),
            }
        }
        assert!(kept > 100 && kept < 5000, "{policy:?}: {kept}");
        wait_until("the status to say so", Duration::from_secs(10), || {
            master.status().resync_needed
        });
        // The replica returns: it gets everything spooled before the
        // overflow, and the master says a resync is needed.
        reachable.store(true, std::sync::atomic::Ordering::SeqCst);
        wait_until(
            "the spooled records applied",
            Duration::from_secs(60),
            || master.status().acked_applied == kept,
        );
        assert_eq!(tree(&root, kept), expected(kept), "{policy:?}");
        let st = master.status();
        assert_eq!(st.overflow_at_seq, Some(kept + 1), "{policy:?}: {st:?}");
        match policy {
            OverflowPolicy::Stop => assert_eq!(st.spool_mode, "stopped"),
            _ => {
                assert_eq!(st.spool_mode, "degraded");
                assert!(st.dirty_ranges > 0, "{st:?}");
            }
        }
        master.stop().expect("stop");
        server.join().expect("server");
        drop(replica);
    }
}

/// A replica's end of a link that stops reading after its first
/// `budget` bytes (the peer "stops reading").
struct StopsReading {
    inner: UnixStream,
    budget: usize,
}

impl std::io::Read for StopsReading {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.budget == 0 {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.budget);
        let got = self.inner.read(&mut buf[..n])?;
        self.budget -= got;
        Ok(got)
    }
}

impl std::io::Write for StopsReading {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl std::os::fd::AsFd for StopsReading {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl Link for StopsReading {
    fn set_nonblocking(&mut self, on: bool) -> std::io::Result<()> {
        self.inner.set_nonblocking(on)
    }
    fn shutdown(&mut self) -> std::io::Result<()> {
        self.inner.shutdown(std::net::Shutdown::Both)
    }
    fn peer_name(&self) -> String {
        "a replica that stops reading".into()
    }
}

#[test]
fn a_master_whose_replica_stops_reading_ends_the_session_after_its_timeout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rc = replica_config(&tmp.path().join("replica"));
    rc.window = 8 << 20;
    rc.timeout = Duration::from_secs(30);
    let replica = Arc::new(ReplicaAgent::open(rc).expect("replica"));
    let (tx, rx) = mpsc::channel::<UnixStream>();
    let server = {
        let replica = replica.clone();
        std::thread::spawn(move || {
            let link = rx.recv().expect("link");
            // Enough for the master's preface and hello, no more.
            replica.serve(StopsReading {
                inner: link,
                budget: 2048,
            })
        })
    };
    let mut mc = master_config(&tmp.path().join("m"));
    mc.timeout = Duration::from_secs(1);
    mc.batch_bytes = 256 << 10;
    let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let connect = {
        let sent = sent.clone();
        move || {
            if sent.swap(true, std::sync::atomic::Ordering::SeqCst) {
                // Slowly, so that the first session's end stays the last
                // one reported while the test looks.
                std::thread::sleep(Duration::from_secs(2));
                return Err(std::io::Error::other("one connection only"));
            }
            let (a, b) = UnixStream::pair()?;
            tx.send(b).map_err(|_| std::io::Error::other("gone"))?;
            Ok(a)
        }
    };
    let master = MasterAgent::start(mc, connect).expect("master");
    for i in 0..10u64 {
        let op = Op::Write {
            path: path("big"),
            offset: i << 20,
            data: Bytes::from(vec![1u8; 1 << 20]),
        };
        if i == 0 {
            master
                .spool()
                .append(
                    0,
                    &Op::Create {
                        path: path("big"),
                        mode: 0o644,
                    },
                    AppendOptions::default(),
                )
                .expect("create");
        }
        master
            .spool()
            .append(i + 1, &op, AppendOptions::default())
            .expect("append");
    }
    wait_until(
        "the master to give up on the link",
        Duration::from_secs(30),
        || {
            master
                .status()
                .last_end
                .is_some_and(|e| e.contains("stopped reading"))
        },
    );
    let end = master.status().last_end.expect("ended");
    assert!(end.starts_with("link lost: sending to "), "{end}");
    replica.request_stop();
    drop(master);
    let _ = server.join().expect("server");
}
