//! `rha keygen`, `rha serve`, `rha replicate` and `rha status` as
//! processes: replication over loopback TLS through a delaying proxy, a
//! fault loop that kills either agent or cuts the link at random, refusals
//! of the wrong peer and of garbage, and two hosts in network namespaces
//! joined by a rate-limited veth pair.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rha_core::journal::{JournalWriter, Op, RelPath, WriterConfig};

const RHA: &str = env!("CARGO_BIN_EXE_rha");

/// Runs `rha keygen DIR` and returns the fingerprint it printed.
fn keygen(dir: &Path) -> String {
    let out = Command::new(RHA).arg("keygen").arg(dir).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let fp = text
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no fingerprint in {text:?}"))
        .to_owned();
    fp
}

/// A child process killed (and reaped) when dropped.
struct Proc(Child);

impl Proc {
    fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Starts `rha serve` and waits for its "listening on ADDR" line; returns
/// the process and the address.
fn serve(
    prefix: &[&str],
    replica: &Path,
    id: &Path,
    allow: &str,
    listen: &str,
    extra: &[&str],
) -> (Proc, String) {
    let mut cmd = Command::new(prefix.first().copied().unwrap_or(RHA));
    if !prefix.is_empty() {
        cmd.args(&prefix[1..]).arg(RHA);
    }
    cmd.arg("serve")
        .arg(replica)
        .args(extra)
        .args(["--listen", listen, "--identity"])
        .arg(id)
        .args([
            "--allow",
            allow,
            "--heartbeat-ms",
            "200",
            "--timeout-ms",
            "3000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().unwrap().unwrap();
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    (Proc(child), addr)
}

fn replicate(
    prefix: &[&str],
    master: &Path,
    spool: &Path,
    id: &Path,
    peer: &str,
    addr: &str,
) -> Proc {
    let mut cmd = Command::new(prefix.first().copied().unwrap_or(RHA));
    if !prefix.is_empty() {
        cmd.args(&prefix[1..]).arg(RHA);
    }
    cmd.arg("replicate")
        .arg(master)
        .arg(addr)
        .arg("--identity")
        .arg(id)
        .args(["--peer", peer, "--spool"])
        .arg(spool)
        .args([
            "--heartbeat-ms",
            "200",
            "--timeout-ms",
            "3000",
            "--retry-max-ms",
            "200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    Proc(cmd.spawn().unwrap())
}

fn status(state: &Path) -> serde_json::Value {
    let out = Command::new(RHA)
        .args(["status", "--json", "--state"])
        .arg(state)
        .output()
        .unwrap();
    if !out.status.success() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn acked_applied(spool: &Path) -> u64 {
    status(spool)["acked_applied"].as_u64().unwrap_or(0)
}

/// Record `i` (from 0) of the workload: ten files created, then each
/// written at its own offset with bytes derived from `i`, so that a
/// skipped record leaves a hole and the final content is known.
fn op(i: u64) -> Op {
    let path = RelPath::new(format!("f{}", i % 10)).unwrap();
    if i < 10 {
        Op::Create { path, mode: 0o644 }
    } else {
        Op::Write {
            path,
            offset: (i / 10) * 64,
            data: Bytes::from(vec![(i % 251) as u8; 64]),
        }
    }
}

fn expected_file(k: u64, n: u64) -> Vec<u8> {
    let mut f = Vec::new();
    for i in (10..n).filter(|i| i % 10 == k) {
        let off = ((i / 10) * 64) as usize;
        f.resize(off + 64, 0);
        f[off..off + 64].fill((i % 251) as u8);
    }
    f
}

fn assert_replica_holds(root: &Path, n: u64) {
    for k in 0..10.min(n) {
        let got = fs::read(root.join(format!("f{k}"))).unwrap();
        assert!(got == expected_file(k, n), "f{k} differs after {n} records");
    }
}

/// Makes the changes of records `first..first+count` to the master's
/// directory, then drops the records into the master's inbox as one
/// journal file (written aside, renamed in): the order a capture keeps.
fn drop_journal(master: &Path, inbox: &Path, first: u64, count: u64) {
    use rha_core::rewind::Target;
    let mut t = rha_capture::apply::DirTarget::open(master, None).unwrap();
    for i in first..first + count {
        match t.apply(&op(i)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("record {}: {e}", i + 1),
        }
    }
    t.sync().unwrap();
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(first + 1));
    for i in first..first + count {
        w.append(i + 1, &op(i)).unwrap();
    }
    let tmp = inbox.join(format!(".{first:020}.part"));
    fs::write(&tmp, w.into_inner().unwrap()).unwrap();
    fs::rename(&tmp, inbox.join(format!("{first:020}.rhaj"))).unwrap();
}

/// A TCP proxy that delays every chunk by `delay` in each direction and
/// can cut every connection it carries.
struct Proxy {
    addr: String,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// Listens on `listen` and forwards to `upstream`; with `netns`, the
    /// proxy's sockets live in that network namespace.
    fn start(listen: &str, upstream: String, delay: Duration, netns: Option<String>) -> Self {
        let conns = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let listen = listen.to_owned();
        {
            let conns = conns.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                if let Some(ns) = netns {
                    let f = fs::File::open(format!("/run/netns/{ns}")).unwrap();
                    // SAFETY: setns(2) with a valid namespace descriptor;
                    // it affects this thread, and the threads it spawns
                    // inherit the namespace.
                    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0);
                }
                let l = TcpListener::bind(&listen).unwrap();
                l.set_nonblocking(true).unwrap();
                tx.send(l.local_addr().unwrap().to_string()).unwrap();
                while !stop.load(Ordering::SeqCst) {
                    let Ok((down, _)) = l.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    down.set_nonblocking(false).unwrap();
                    let Ok(up) = TcpStream::connect(&upstream) else {
                        continue;
                    };
                    let _ = down.set_nodelay(true);
                    let _ = up.set_nodelay(true);
                    {
                        let mut c = conns.lock().unwrap();
                        c.push(down.try_clone().unwrap());
                        c.push(up.try_clone().unwrap());
                    }
                    pipe(down.try_clone().unwrap(), up.try_clone().unwrap(), delay);
                    pipe(up, down, delay);
                }
            });
        }
        let addr = rx.recv().unwrap();
        Self { addr, conns, stop }
    }

    /// Cuts every connection (both agents see the link fail).
    fn cut(&self) {
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
    }
}

/// Copies `from` to `to`, each chunk `delay` after it arrived.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0; 64 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (at, bytes) in rx {
            let wait = at.saturating_duration_since(Instant::now());
            std::thread::sleep(wait);
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

struct Hosts {
    _tmp: tempfile::TempDir,
    master_dir: PathBuf,
    spool: PathBuf,
    replica: PathBuf,
    master_id: PathBuf,
    replica_id: PathBuf,
    master_fp: String,
    replica_fp: String,
}

impl Hosts {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().to_path_buf();
        let (master_id, replica_id) = (p.join("id-m"), p.join("id-r"));
        let master_fp = keygen(&master_id);
        let replica_fp = keygen(&replica_id);
        fs::create_dir(p.join("master")).unwrap();
        Self {
            master_dir: p.join("master"),
            spool: p.join("spool"),
            replica: p.join("replica"),
            master_id,
            replica_id,
            master_fp,
            replica_fp,
            _tmp: tmp,
        }
    }

    fn inbox(&self) -> PathBuf {
        let d = self.spool.join("inbox");
        fs::create_dir_all(&d).unwrap();
        d
    }
}

fn wait_applied(h: &Hosts, n: u64, limit: Duration) {
    let ok = common::eventually(limit, || acked_applied(&h.spool) >= n);
    assert!(
        ok,
        "not applied in time: master {:#} replica {:#}",
        status(&h.spool),
        status(&h.replica)
    );
}

#[test]
fn replication_over_loopback_tls_through_a_delaying_proxy() {
    let h = Hosts::new();
    let (_server, addr) = serve(
        &[],
        &h.replica,
        &h.replica_id,
        &h.master_fp,
        "127.0.0.1:0",
        &[],
    );
    let proxy = Proxy::start("127.0.0.1:0", addr, Duration::from_millis(5), None);
    let _master = replicate(
        &[],
        &h.master_dir,
        &h.spool,
        &h.master_id,
        &h.replica_fp,
        &proxy.addr,
    );
    let inbox = h.inbox();
    let n = 2000;
    for first in (0..n).step_by(100) {
        drop_journal(&h.master_dir, &inbox, first, 100);
    }
    wait_applied(&h, n, Duration::from_secs(60));
    assert_replica_holds(&h.replica, n);
    let m = status(&h.spool);
    assert_eq!(m["link"], "connected", "{m:#}");
    assert_eq!(m["acked_stored"], n, "{m:#}");
    let r = status(&h.replica);
    assert_eq!(r["role"], "replica", "{r:#}");
    assert_eq!(r["acked_applied"], n, "{r:#}");
}

#[test]
fn fault_loop_kills_either_agent_or_cuts_the_link_and_loses_nothing() {
    let h = Hosts::new();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let (mut server, addr) = serve(
        &[],
        &h.replica,
        &h.replica_id,
        &h.master_fp,
        &listen,
        &["--rewind"],
    );
    let proxy = Proxy::start("127.0.0.1:0", addr, Duration::from_millis(1), None);
    let mut master = replicate(
        &[],
        &h.master_dir,
        &h.spool,
        &h.master_id,
        &h.replica_fp,
        &proxy.addr,
    );
    let inbox = h.inbox();
    // A simple deterministic generator: the loop is reproducible.
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut written = 0;
    let started = Instant::now();
    let mut kinds = [0; 3];
    for _ in 0..60 {
        let count = 20 + next() % 80;
        drop_journal(&h.master_dir, &inbox, written, count);
        written += count;
        std::thread::sleep(Duration::from_millis(next() % 120));
        let kind = (next() % 3) as usize;
        kinds[kind] += 1;
        match kind {
            0 => {
                master.kill9();
                master = replicate(
                    &[],
                    &h.master_dir,
                    &h.spool,
                    &h.master_id,
                    &h.replica_fp,
                    &proxy.addr,
                );
            }
            1 => {
                server.kill9();
                // The port is free again at once (SO_REUSEADDR).
                server = serve(
                    &[],
                    &h.replica,
                    &h.replica_id,
                    &h.master_fp,
                    &listen,
                    &["--rewind"],
                )
                .0;
            }
            _ => proxy.cut(),
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "the loop is too slow"
        );
    }
    assert!(kinds.iter().all(|&k| k >= 10), "{kinds:?}");
    wait_applied(&h, written, Duration::from_secs(90));
    assert_replica_holds(&h.replica, written);
    // The sequence audit: the replica's applied point is the last record,
    // its spool holds nothing beyond it, and the master has nothing left.
    let r = status(&h.replica);
    assert_eq!(r["acked_applied"], written, "{r:#}");
    assert_eq!(r["last_seq"], written, "{r:#}");
    assert_eq!(r["apply_error"], serde_json::Value::Null, "{r:#}");
    let m = status(&h.spool);
    assert_eq!(m["last_seq"], written, "{m:#}");
    assert_eq!(m["acked_stored"], written, "{m:#}");
}

#[test]
fn the_wrong_peer_or_garbage_is_refused_and_nothing_is_applied() {
    let h = Hosts::new();
    let stranger = h._tmp.path().join("id-x");
    let stranger_fp = keygen(&stranger);
    let (_server, addr) = serve(
        &[],
        &h.replica,
        &h.replica_id,
        &h.master_fp,
        "127.0.0.1:0",
        &[],
    );
    // A master with an identity the replica does not allow.
    let _m = replicate(
        &[],
        &h.master_dir,
        &h.spool,
        &stranger,
        &h.replica_fp,
        &addr,
    );
    drop_journal(&h.master_dir, &h.inbox(), 0, 10);
    let refused = common::eventually(Duration::from_secs(20), || {
        status(&h.spool)["last_end"]
            .as_str()
            .is_some_and(|e| e.contains("connecting"))
    });
    assert!(refused, "{:#}", status(&h.spool));
    // A peer speaking garbage: the replica drops it and keeps serving.
    let mut s = TcpStream::connect(&addr).unwrap();
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut sink = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.read_to_end(&mut sink);
    // A master pinning the wrong replica fingerprint never sends anything.
    drop(_m);
    let spool2 = h._tmp.path().join("spool2");
    let _m2 = replicate(
        &[],
        &h.master_dir,
        &spool2,
        &h.master_id,
        &stranger_fp,
        &addr,
    );
    fs::create_dir_all(spool2.join("inbox")).unwrap();
    drop_journal(&h.master_dir, &spool2.join("inbox"), 0, 10);
    let refused = common::eventually(Duration::from_secs(20), || {
        status(&spool2)["last_end"]
            .as_str()
            .is_some_and(|e| e.contains(&stranger_fp) || e.contains("fingerprint"))
    });
    assert!(refused, "{:#}", status(&spool2));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!h.replica.join("f0").exists(), "nothing applied");
}

#[test]
fn two_hosts_in_network_namespaces_over_a_rate_limited_link() {
    if !common::namespaces_permitted("two_hosts_in_network_namespaces_over_a_rate_limited_link") {
        return;
    }
    let h = Hosts::new();
    let a = common::NetNs::new("ma");
    let b = common::NetNs::new("rb");
    a.ip(&[
        "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &b.name,
    ]);
    a.ip(&["address", "add", "10.78.0.1/24", "dev", "va"]);
    b.ip(&["address", "add", "10.78.0.2/24", "dev", "vb"]);
    a.ip(&["link", "set", "va", "up"]);
    b.ip(&["link", "set", "vb", "up"]);
    // 20 Mbit/s each way.
    for (ns, dev) in [(&a, "va"), (&b, "vb")] {
        common::run(
            Command::new("tc")
                .args(["-n", &ns.name, "qdisc", "add", "dev", dev, "root", "tbf"])
                .args(["rate", "20mbit", "burst", "32kbit", "latency", "400ms"]),
        );
    }
    let b_exec = ["ip", "netns", "exec", b.name.as_str()];
    let a_exec = ["ip", "netns", "exec", a.name.as_str()];
    let (_server, _) = serve(
        &b_exec,
        &h.replica,
        &h.replica_id,
        &h.master_fp,
        "10.78.0.2:7400",
        &[],
    );
    // The master reaches the replica through a proxy in its own namespace
    // that adds 10 ms each way.
    let proxy = Proxy::start(
        "127.0.0.1:0",
        "10.78.0.2:7400".into(),
        Duration::from_millis(10),
        Some(a.name.clone()),
    );
    let _master = replicate(
        &a_exec,
        &h.master_dir,
        &h.spool,
        &h.master_id,
        &h.replica_fp,
        &proxy.addr,
    );
    let inbox = h.inbox();
    let n = 3000;
    for first in (0..n).step_by(300) {
        drop_journal(&h.master_dir, &inbox, first, 300);
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_applied(&h, n, Duration::from_secs(90));
    assert_replica_holds(&h.replica, n);
    drop(proxy);
}

#[test]
fn both_agents_run_from_one_scenario_file() {
    let h = Hosts::new();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let file = h._tmp.path().join("scenario.toml");
    fs::write(
        &file,
        format!(
            r#"
[scenario]
name = "docs"
scenario_type = "file_server"
masters_on_replica = 1
sync_kind = "file"
redirection = []
stop_on_spool_full = true
master = {{ name = "alpha", address = "127.0.0.1", prefix_len = 8 }}
replica = {{ name = "beta", address = "127.0.0.1", prefix_len = 8 }}

[scenario.is_alive]
heartbeat_interval = {{ secs = 1, nanos = 0 }}
timeout = {{ secs = 10, nanos = 0 }}
mode = "manual"
links = [{{ name = "lan", method = {{ method = "ping", reply_limit = {{ secs = 1, nanos = 0 }} }} }}]

[master]
dir = "{master}"
spool = "{spool}"
identity = "{mid}"
fingerprint = "{mfp}"
compression = "zstd"

[replica]
dir = "{replica}"
identity = "{rid}"
fingerprint = "{rfp}"
port = {port}
rewind = true
"#,
            master = h.master_dir.display(),
            spool = h.spool.display(),
            mid = h.master_id.display(),
            mfp = h.master_fp,
            replica = h.replica.display(),
            rid = h.replica_id.display(),
            rfp = h.replica_fp,
        ),
    )
    .unwrap();
    let mut server = Command::new(RHA)
        .args(["serve", "--config"])
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim(), format!("listening on 127.0.0.1:{port}"));
    let _server = Proc(server);
    // What the master's directory holds before replication starts reaches
    // the replica by the first sync.
    fs::create_dir_all(h.master_dir.join("docs")).unwrap();
    fs::write(
        h.master_dir.join("docs/before"),
        b"there before the journal",
    )
    .unwrap();
    let _master = Proc(
        Command::new(RHA)
            .args(["replicate", "--config"])
            .arg(&file)
            .spawn()
            .unwrap(),
    );
    drop_journal(&h.master_dir, &h.inbox(), 0, 500);
    wait_applied(&h, 500, Duration::from_secs(60));
    assert_replica_holds(&h.replica, 500);
    let out = Command::new(RHA)
        .args(["status", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("role:          master"), "{text}");
    assert!(text.contains("role:          replica"), "{text}");
    assert!(text.contains("done (file mode)"), "{text}");
    assert_eq!(
        fs::read(h.replica.join("docs/before")).unwrap(),
        b"there before the journal"
    );
    assert_eq!(status(&h.spool)["sync"]["phase"], "done");
    // A typo is named with its file and line.
    let bad = h._tmp.path().join("bad.toml");
    fs::write(
        &bad,
        fs::read_to_string(&file)
            .unwrap()
            .replace("rewind", "rewnid"),
    )
    .unwrap();
    let out = Command::new(RHA)
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:") && err.contains("rewnid"), "{err}");
}
