//! Replication between a master and a replica agent over loopback TLS,
//! against its ceilings measured in the same run.
//!
//! Each round, in an order flipped every round, times:
//!
//! - `tls`: the transport alone: 256 MiB sent in 1 MiB writes through a
//!   TLS 1.3 connection between pinned peers on loopback (the same cipher
//!   suite the agents negotiate), read and discarded by the other side;
//! - `disk`: the replica directory's disk alone: 256 MiB written in 1 MiB
//!   writes, each followed by `fdatasync`;
//! - `disk-twice`: the floor of a replica on that disk, which stores each
//!   byte twice (its spool, then its directory): 256 MiB written so to
//!   two files by two threads at once, in 1 MiB writes each made durable;
//!   and `disk-twice-4k`, the same for 64 MiB, written to the second file
//!   as 16384 writes of 4 KiB made durable every 8192 (a checkpoint), in
//!   records per second;
//! - `pipeline`: the work a replica cannot avoid, with nothing else: 256
//!   MiB over the TLS connection, each MiB written with `fdatasync` to one
//!   file by the receiving thread and to another by a second thread; and
//!   `pipeline-deep`, the same with each MiB's write-back started at once
//!   (`sync_file_range`) and an `fdatasync` every 8 MiB, which keeps more
//!   writes in flight on the disk;
//!   `pipeline-4k`, the same for 64 MiB with the directory's copy in 4 KiB
//!   writes and a checkpoint every 8192, while the master's producer
//!   appends the 16384 records of `rep-4k` to its spool in `/dev/shm`
//!   (everything replicating them cannot avoid, on this machine's two
//!   cores and one disk);
//! - `spool-4k`: the spool alone: 16384 records of 4 KiB appended without
//!   waiting, synced every 256 records (the producer pattern below);
//! - `rep-1m`: 256 records of 1 MiB appended to the master agent's spool
//!   (in `/dev/shm`, standing for the master host's own disk) and
//!   replicated until the replica acknowledges them applied durably (its
//!   spool and its directory are on the disk measured by `disk`);
//! - `rep-4k`: 16384 records of 4 KiB, the same way;
//! - `lag`: 4 KiB records appended at half the `rep-4k` rate for 2 s; the
//!   time from each record's durable append on the master to the master
//!   hearing it stored on the replica, as percentiles.
//!
//! It prints medians and the ratios the issue asks for: `rep-1m` against
//! the lower of `tls` and `disk`, and against `disk-twice` (a replica
//! writes each byte twice, to its spool and to its directory, so on one
//! disk `disk-twice` is its floor), and `rep-4k` against `spool-4k`, in
//! records per second, and against `disk-twice-4k`.
//!
//! ```text
//! cargo bench -p rha-benches --bench replication --no-run
//! RHA_BENCH_ROUNDS=5 cargo bench -p rha-benches --bench replication
//! ```
//!
//! `RHA_BENCH_DIR` puts the replica (and the disk and spool references)
//! on another file system than the system's temporary directory.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rha_capture::agent::{MasterAgent, MasterConfig, ReplicaAgent, ReplicaConfig};
use rha_capture::transport::{connect, Identity, Listener, Timeouts};
use rha_core::journal::{Op, RelPath};
use rha_core::spool::{AppendOptions, Spool, SpoolConfig};

const MIB: usize = 1 << 20;
const BIG_RECORDS: usize = 256;
const SMALL_RECORDS: usize = 16384;
const SMALL: usize = 4096;
const SYNC_EVERY: usize = 256;
/// Records a replica applies between two checkpoints at most (its
/// `CHECKPOINT_RECORDS`).
const CHECKPOINT_RECORDS: usize = 8192;

fn scratch() -> tempfile::TempDir {
    match std::env::var_os("RHA_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("tempdir"),
        None => tempfile::tempdir().expect("tempdir"),
    }
}

fn shm() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("tempdir")
}

/// Two identities, and a loopback listener of the second that accepts the
/// first.
fn pinned_pair() -> (Identity, Identity, Listener) {
    let (a, b) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let listener =
        Listener::bind("127.0.0.1:0", &b, &[a.fingerprint()], Timeouts::default()).expect("bind");
    (a, b, listener)
}

/// Connects as `a` to `b` at `addr` and sends `total` bytes in 1 MiB
/// writes, running `alongside` on another thread meanwhile; returns when
/// the sending started (after the handshake), once both are done.
fn send(
    a: &Identity,
    b: &Identity,
    addr: std::net::SocketAddr,
    total: usize,
    alongside: impl FnOnce() + Send,
) -> Instant {
    let mut c = connect(addr, a, &[b.fingerprint()], &Timeouts::default()).expect("connect");
    let chunk = vec![0x5a; MIB];
    std::thread::scope(|s| {
        let start = Instant::now();
        let other = s.spawn(alongside);
        for _ in 0..total / MIB {
            c.write_all(&chunk).expect("write");
        }
        c.flush().expect("flush");
        other.join().expect("alongside");
        start
    })
}

/// The transport alone: `total` bytes in 1 MiB writes.
fn tls(total: usize) -> Duration {
    let (a, b, listener) = pinned_pair();
    let addr = listener.local_addr();
    let server = std::thread::spawn(move || {
        let mut s = listener.accept().expect("accept");
        let mut buf = vec![0; MIB];
        let mut got = 0;
        while got < total {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => panic!("read: {e}"),
            }
        }
        got
    });
    let start = send(&a, &b, addr, total, || {});
    let got = server.join().expect("server");
    let t = start.elapsed();
    assert_eq!(got, total);
    t
}

/// The disk alone: `total` bytes in 1 MiB writes, each made durable.
fn disk(dir: &Path, total: usize) -> Duration {
    let path = dir.join("disk-probe");
    let mut f = fs::File::create(&path).expect("create");
    let chunk = vec![0xa5; MIB];
    let start = Instant::now();
    for _ in 0..total / MIB {
        f.write_all(&chunk).expect("write");
        f.sync_data().expect("fdatasync");
    }
    let t = start.elapsed();
    drop(f);
    fs::remove_file(&path).expect("remove");
    t
}

/// The floor of a replica on one disk: each byte goes durably to its spool
/// and to its directory, so `total` bytes are written twice, by two
/// threads at once (as the storing and the applying thread do): to the
/// spool in 1 MiB writes each made durable (a spool gathers records so),
/// to the directory in writes of `dir_write` bytes (the records' own)
/// with an `fdatasync` every `dir_sync_every` writes (the checkpoints).
/// Returns the time until both are done.
fn disk_twice(dir: &Path, total: usize, dir_write: usize, dir_sync_every: usize) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for (name, write, sync_every) in [
            ("floor-spool", MIB, 1),
            ("floor-dir", dir_write, dir_sync_every),
        ] {
            s.spawn(move || {
                let path = dir.join(name);
                let mut f = fs::File::create(&path).expect("create");
                let chunk = vec![0x5a; write];
                for i in 0..total / write {
                    f.write_all(&chunk).expect("write");
                    if (i + 1) % sync_every == 0 {
                        f.sync_data().expect("fdatasync");
                    }
                }
                f.sync_data().expect("fdatasync");
                drop(f);
                fs::remove_file(&path).expect("remove");
            });
        }
    });
    start.elapsed()
}

/// How the second thread of a [`pipeline`] writes each MiB it is handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Apply {
    /// Whole, made durable as the first file is.
    Mib,
    /// In writes of 4 KiB (the records' own), with an `fdatasync` every
    /// [`CHECKPOINT_RECORDS`] writes (the checkpoints).
    Small,
}

/// The work a replica cannot avoid, with nothing else: `total` bytes sent
/// in 1 MiB writes over a TLS connection between pinned peers on loopback,
/// the receiving side writing each MiB to one file with `fdatasync` (its
/// spool) and handing it to a second thread that writes it to another file
/// (its directory) as `apply` says, as a replica's storing and applying
/// threads do. Returns the time until the second file is complete.
fn pipeline(dir: &Path, total: usize, deep: bool, apply: Apply) -> Duration {
    pipeline_beside(dir, total, deep, apply, || {})
}

/// [`pipeline`], running `alongside` on another thread from the moment
/// the sending starts; returns once both are done.
fn pipeline_beside(
    dir: &Path,
    total: usize,
    deep: bool,
    apply: Apply,
    alongside: impl FnOnce() + Send,
) -> Duration {
    let (a, b, listener) = pinned_pair();
    let addr = listener.local_addr();
    let dir = dir.to_owned();
    let receiver = std::thread::spawn(move || {
        let mut s = listener.accept().expect("accept");
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let applier = {
            let path = dir.join("pipeline-dir");
            std::thread::spawn(move || {
                let mut f = fs::File::create(&path).expect("create");
                let mut n = 0;
                while let Ok(chunk) = rx.recv() {
                    if apply == Apply::Mib {
                        f.write_all(&chunk).expect("write");
                        made_durable(&f, n, deep);
                        n += 1;
                        continue;
                    }
                    for piece in chunk.chunks(SMALL) {
                        f.write_all(piece).expect("write");
                        n += 1;
                        if n % CHECKPOINT_RECORDS == 0 {
                            f.sync_data().expect("fdatasync");
                        }
                    }
                }
                f.sync_data().expect("fdatasync");
                drop(f);
                fs::remove_file(&path).expect("remove");
            })
        };
        let path = dir.join("pipeline-spool");
        let mut f = fs::File::create(&path).expect("create");
        let mut got = 0;
        while got < total {
            let mut chunk = vec![0; MIB];
            s.read_exact(&mut chunk).expect("read");
            f.write_all(&chunk).expect("write");
            made_durable(&f, got / MIB, deep);
            got += MIB;
            tx.send(chunk).expect("applier");
        }
        drop(tx);
        applier.join().expect("applier");
        drop(f);
        fs::remove_file(&path).expect("remove");
    });
    let start = send(&a, &b, addr, total, alongside);
    receiver.join().expect("receiver");
    start.elapsed()
}

/// The work replicating [`SMALL_RECORDS`] records of 4 KiB cannot avoid,
/// with nothing else: the producer appending them to a spool in
/// `/dev/shm` (the master's, as `rep-4k`'s), while as many bytes cross the
/// TLS connection and reach the replica's disk as in `pipeline-deep`, the
/// directory's copy in 4 KiB writes with a checkpoint `fdatasync` every
/// [`CHECKPOINT_RECORDS`]. No agent, protocol, acknowledgement or apply
/// engine. Returns the time until all of it is done, in records per
/// second.
fn pipeline_4k(dir: &Path) -> f64 {
    let master = shm();
    let data = Bytes::from(vec![7u8; SMALL]);
    let t = pipeline_beside(dir, SMALL_RECORDS * SMALL, true, Apply::Small, || {
        let (spool, _) =
            Spool::open_dir(master.path().join("spool"), SpoolConfig::default()).expect("spool");
        produce(&spool, SMALL_RECORDS, &data);
    });
    SMALL_RECORDS as f64 / t.as_secs_f64()
}

/// After writing MiB number `n` of `f`: `fdatasync` it, or (`deep`) start
/// its write-back at once (`sync_file_range`) and `fdatasync` every 8 MiB,
/// which keeps more writes in flight on the disk.
fn made_durable(f: &fs::File, n: usize, deep: bool) {
    if !deep {
        f.sync_data().expect("fdatasync");
        return;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: `f` is open for the call, which only reads its arguments.
    let r = unsafe {
        libc::sync_file_range(
            f.as_raw_fd(),
            (n * MIB) as i64,
            MIB as i64,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    assert_eq!(r, 0, "sync_file_range");
    if (n + 1) % 8 == 0 {
        f.sync_data().expect("fdatasync");
    }
}

/// Record `i` of a workload: eight files created, then written in turn.
fn write_op(i: usize, data: &Bytes) -> Op {
    let path = RelPath::new(format!("f{}", i % 8)).expect("path");
    if i < 8 {
        return Op::Create { path, mode: 0o644 };
    }
    Op::Write {
        path,
        offset: ((i / 8) * data.len()) as u64,
        data: data.clone(),
    }
}

/// Appends `n` records of `data` the way the producers here do: without
/// waiting, one sync every [`SYNC_EVERY`] records and at the end.
fn produce(spool: &Spool, n: usize, data: &Bytes) {
    for i in 0..n {
        spool
            .append(i as u64 + 1, &write_op(i, data), AppendOptions::no_wait())
            .expect("append");
        if (i + 1) % SYNC_EVERY.min(MIB / data.len()).max(1) == 0 {
            spool.sync().expect("sync");
        }
    }
    spool.sync().expect("sync");
}

/// The spool alone, on the replica's disk.
fn spool_4k(dir: &Path) -> Duration {
    let d = dir.join("spool-probe");
    let (spool, _) = Spool::open_dir(&d, SpoolConfig::default()).expect("spool");
    let data = Bytes::from(vec![7u8; SMALL]);
    let start = Instant::now();
    produce(&spool, SMALL_RECORDS, &data);
    let t = start.elapsed();
    drop(spool);
    fs::remove_dir_all(&d).expect("remove");
    t
}

/// A master and a replica agent connected over loopback TLS.
struct Pair {
    master: MasterAgent,
    replica: Arc<ReplicaAgent>,
    stop: Arc<AtomicBool>,
    server: Option<std::thread::JoinHandle<()>>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Pair {
    fn new() -> Self {
        let (m_dir, r_dir) = (shm(), scratch());
        let (m_id, r_id) = (
            Identity::generate().expect("id"),
            Identity::generate().expect("id"),
        );
        let scenario = [9; 16];
        let mut rc = ReplicaConfig::new(scenario, [2; 16], r_dir.path().join("replica"));
        rc.window = 32 << 20;
        let replica = Arc::new(ReplicaAgent::open(rc).expect("replica"));
        let listener = Listener::bind(
            "127.0.0.1:0",
            &r_id,
            &[m_id.fingerprint()],
            Timeouts::default(),
        )
        .expect("bind");
        let addr = listener.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let replica = replica.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(Some(link)) = listener.accept_timeout(Duration::from_millis(50)) {
                        let _ = replica.serve(link);
                    }
                }
            })
        };
        let mut mc = MasterConfig::new(scenario, [1; 16], m_dir.path().join("master"));
        mc.retry_min = Duration::from_millis(5);
        let r_fp = r_id.fingerprint();
        let master = MasterAgent::start(mc, move || {
            connect(addr, &m_id, &[r_fp], &Timeouts::default()).map_err(std::io::Error::other)
        })
        .expect("master");
        Self {
            master,
            replica,
            stop,
            server: Some(server),
            _dirs: (m_dir, r_dir),
        }
    }

    fn wait_applied(&self, seq: u64) {
        let limit = Instant::now() + Duration::from_secs(300);
        while self.master.status().acked_applied < seq {
            assert!(
                Instant::now() < limit,
                "replication stalled: {:?}",
                self.master.status()
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn finish(mut self) {
        self.replica.request_stop();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(s) = self.server.take() {
            s.join().expect("server");
        }
    }
}

/// Replicates `n` records of `size` bytes, from the first append until the
/// replica acknowledged the last applied.
fn replicate(n: usize, size: usize) -> Duration {
    let pair = Pair::new();
    pair.wait_connected();
    let data = Bytes::from(vec![3u8; size]);
    let start = Instant::now();
    produce(pair.master.spool(), n, &data);
    pair.wait_applied(n as u64);
    let t = start.elapsed();
    pair.finish();
    t
}

impl Pair {
    fn wait_connected(&self) {
        let limit = Instant::now() + Duration::from_secs(30);
        while self.master.status().link != rha_capture::agent::LinkState::Connected {
            assert!(Instant::now() < limit, "no connection");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Appends 4 KiB records durably at `rate` per second for `secs` and
/// returns each record's time from durable append to "stored" heard.
fn lag(rate: f64, secs: f64) -> Vec<Duration> {
    let pair = Pair::new();
    pair.wait_connected();
    let data = Bytes::from(vec![4u8; SMALL]);
    let n = (rate * secs) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let appended = Arc::new(parking_lot_free::Times::new(n));
    let stored = Arc::new(parking_lot_free::Times::new(n));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stored = stored.clone();
        let done = done.clone();
        let status = pair.master_status_fn();
        std::thread::spawn(move || {
            let mut seen = 0u64;
            while !done.load(Ordering::SeqCst) {
                let acked = status();
                let now = Instant::now();
                while seen < acked {
                    stored.set(seen as usize, now);
                    seen += 1;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        })
    };
    let start = Instant::now();
    for i in 0..n {
        let due = start + interval * i as u32;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        pair.master
            .spool()
            .append(i as u64 + 1, &write_op(i, &data), AppendOptions::default())
            .expect("append");
        appended.set(i, Instant::now());
    }
    pair.wait_applied(n as u64);
    std::thread::sleep(Duration::from_millis(5));
    done.store(true, Ordering::SeqCst);
    watcher.join().expect("watcher");
    let lags = (0..n)
        .filter_map(|i| {
            let (a, s) = (appended.get(i)?, stored.get(i)?);
            Some(s.saturating_duration_since(a))
        })
        .collect();
    pair.finish();
    lags
}

impl Pair {
    fn master_status_fn(&self) -> impl Fn() -> u64 + Send + 'static {
        let probe = self.master.status_probe();
        move || probe.get().acked_stored
    }
}

/// A fixed table of instants set once each, shared between threads.
mod parking_lot_free {
    use std::sync::Mutex;
    use std::time::Instant;

    pub(crate) struct Times(Mutex<Vec<Option<Instant>>>);

    impl Times {
        pub(crate) fn new(n: usize) -> Self {
            Self(Mutex::new(vec![None; n]))
        }
        pub(crate) fn set(&self, i: usize, t: Instant) {
            if let Some(slot) = self.0.lock().expect("lock").get_mut(i) {
                slot.get_or_insert(t);
            }
        }
        pub(crate) fn get(&self, i: usize) -> Option<Instant> {
            self.0.lock().expect("lock").get(i).copied().flatten()
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // One case alone, for a profiler: RHA_BENCH_ONCE=rep-1m, rep-4k or
    // pipeline-4k.
    match std::env::var("RHA_BENCH_ONCE").as_deref() {
        Ok("rep-1m") => {
            let t = replicate(BIG_RECORDS, MIB);
            println!(
                "rep-1m {:.1} MB/s",
                (BIG_RECORDS * MIB) as f64 / t.as_secs_f64() / 1e6
            );
            return;
        }
        Ok("pipeline-4k") => {
            let dir = scratch();
            println!("pipeline-4k {:.0} records/s", pipeline_4k(dir.path()));
            return;
        }
        Ok("rep-4k") => {
            let t = replicate(SMALL_RECORDS, SMALL);
            println!(
                "rep-4k {:.0} records/s",
                SMALL_RECORDS as f64 / t.as_secs_f64()
            );
            return;
        }
        _ => {}
    }
    let rounds: usize = std::env::var("RHA_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = scratch();
    let total = BIG_RECORDS * MIB;
    let mb = |t: Duration, bytes: usize| bytes as f64 / t.as_secs_f64() / 1e6;
    let (mut tls_v, mut disk_v, mut rep1m_v, mut spool_v, mut rep4k_v) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut twice_v, mut twice4k_v, mut pipeline_v) = (vec![], vec![], vec![]);
    let (mut deep_v, mut pipe4k_v) = (vec![], vec![]);
    for round in 0..rounds {
        let mut steps: Vec<&str> = vec![
            "tls",
            "disk",
            "disk-twice",
            "pipeline",
            "rep-1m",
            "spool-4k",
            "rep-4k",
        ];
        if round % 2 == 1 {
            steps.reverse();
        }
        for step in steps {
            match step {
                "tls" => tls_v.push(mb(tls(total), total)),
                "disk" => disk_v.push(mb(disk(dir.path(), total), total)),
                "pipeline" => {
                    pipeline_v.push(mb(pipeline(dir.path(), total, false, Apply::Mib), total));
                    deep_v.push(mb(pipeline(dir.path(), total, true, Apply::Mib), total));
                    pipe4k_v.push(pipeline_4k(dir.path()));
                }
                "disk-twice" => {
                    twice_v.push(mb(disk_twice(dir.path(), total, MIB, 1), total));
                    let t =
                        disk_twice(dir.path(), SMALL_RECORDS * SMALL, SMALL, CHECKPOINT_RECORDS);
                    twice4k_v.push(SMALL_RECORDS as f64 / t.as_secs_f64());
                }
                "rep-1m" => rep1m_v.push(mb(replicate(BIG_RECORDS, MIB), total)),
                "spool-4k" => {
                    spool_v.push(SMALL_RECORDS as f64 / spool_4k(dir.path()).as_secs_f64())
                }
                _ => rep4k_v
                    .push(SMALL_RECORDS as f64 / replicate(SMALL_RECORDS, SMALL).as_secs_f64()),
            }
        }
        eprintln!("round {round} done");
    }
    let (tls_m, disk_m, rep1m_m) = (median(tls_v), median(disk_v), median(rep1m_v));
    let (spool_m, rep4k_m) = (median(spool_v), median(rep4k_v));
    let ceiling = tls_m.min(disk_m);
    println!("replication/tls       {tls_m:10.1} MB/s");
    println!("replication/disk      {disk_m:10.1} MB/s (1 MiB writes + fdatasync)");
    println!("replication/rep-1m    {rep1m_m:10.1} MB/s");
    let (twice_m, pipeline_m) = (median(twice_v), median(pipeline_v));
    println!("replication/disk-twice {twice_m:9.1} MB/s (each byte to two files, two threads)");
    println!(
        "replication/pipeline  {pipeline_m:10.1} MB/s (tls, then each byte to two files, two threads)"
    );
    let deep_m = median(deep_v);
    println!(
        "replication/pipeline-deep {deep_m:6.1} MB/s (the same, write-back started at once, fdatasync every 8 MiB)"
    );
    println!(
        "ratio rep-1m / min(tls, disk)          {:.2}x (target 0.8x); / disk-twice {:.2}x; / pipeline {:.2}x; / pipeline-deep {:.2}x",
        rep1m_m / ceiling,
        rep1m_m / twice_m,
        rep1m_m / pipeline_m,
        rep1m_m / deep_m
    );
    println!(
        "ratio pipeline-deep / min(tls, disk)   {:.2}x (what the unavoidable work reaches on this machine)",
        deep_m / ceiling
    );
    println!("replication/spool-4k  {spool_m:10.0} records/s");
    println!("replication/rep-4k    {rep4k_m:10.0} records/s");
    let twice4k_m = median(twice4k_v);
    println!(
        "replication/disk-twice-4k {twice4k_m:6.0} records/s (1 MiB spool writes + 4 KiB file writes, two threads)"
    );
    let pipe4k_m = median(pipe4k_v);
    println!(
        "replication/pipeline-4k {pipe4k_m:8.0} records/s (master spool appends, tls, then the replica's two writes)"
    );
    println!(
        "ratio rep-4k / spool-4k                {:.2}x (target 0.5x); / disk-twice-4k {:.2}x (the floor), which is {:.2}x spool-4k",
        rep4k_m / spool_m,
        rep4k_m / twice4k_m,
        twice4k_m / spool_m
    );
    println!(
        "ratio rep-4k / pipeline-4k             {:.2}x; pipeline-4k / spool-4k {:.2}x (what the unavoidable work reaches on this machine)",
        rep4k_m / pipe4k_m,
        pipe4k_m / spool_m
    );
    let mut lags = lag(rep4k_m / 2.0, 2.0);
    lags.sort();
    if lags.is_empty() {
        println!("lag: no samples");
        return;
    }
    println!(
        "lag at {:.0} records/s ({} samples): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 20 ms)",
        rep4k_m / 2.0,
        lags.len(),
        percentile(&lags, 0.5).as_secs_f64() * 1e3,
        percentile(&lags, 0.99).as_secs_f64() * 1e3,
        lags[lags.len() - 1].as_secs_f64() * 1e3
    );
}
