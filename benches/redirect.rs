//! Redirection step latency against the reference command-line tools.
//!
//! A switchover's downtime includes the time the redirection steps take, so
//! each group times one do + undo cycle of a step, with rha's executor and
//! with the tool an administrator would script instead, in the same run:
//!
//! - `move_ip`: `rha` adds then removes an address with rtnetlink
//!   ([`MoveIp`], announcements off); `ip` runs `ip address add` then
//!   `ip address del` (iproute2).
//! - `dns_redirect`: `rha` applies then undoes a [`DnsRedirect`] (each a
//!   query plus a compare-and-swap update over TCP); `knsupdate` sends the
//!   same two record replacements, one process each, without reading the
//!   record first or any prerequisite (less work than rha does).
//!
//! Everything runs inside a network namespace the bench creates, against a
//! Knot DNS server it starts there; it needs root, iproute2, knot and
//! knot-dnsutils, and measures nothing (saying why) without them.
//!
//! ```text
//! cargo bench -p rha-benches --bench redirect -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The ratio reported is reference time / rha time (above 1: rha is faster).

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use rha_capture::redirect::dns_wire::{Name, RecordType};
use rha_capture::redirect::{
    DnsClient, DnsRedirect, Executor, MoveIp, Outcome, RedirectError, Report, Side,
};

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n\
@ SOA ns.example.test. admin.example.test. 1 3600 600 86400 300\n\
@ NS ns\nns A 127.0.0.1\ndb A 192.0.2.10\n";

/// The namespace and the server, removed when dropped.
struct Lab {
    netns: String,
    knot: Option<Child>,
    dir: std::path::PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(child) = &mut self.knot {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Creates the namespace, moves this thread into it, adds a dummy
/// interface and starts knotd on 127.0.0.1:53.
fn lab() -> Result<Lab, String> {
    let netns = format!("rha-bench-{}", std::process::id());
    let dir = std::env::temp_dir().join(&netns);
    ok(Command::new("ip").args(["netns", "add", &netns]))?;
    let mut lab = Lab {
        netns,
        knot: None,
        dir,
    };
    let file = File::open(format!("/run/netns/{}", lab.netns)).map_err(|e| e.to_string())?;
    // SAFETY: setns(2) with a valid namespace descriptor; it moves only
    // this (the benchmark) thread, and the children it spawns.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns: {}", std::io::Error::last_os_error()));
    }
    ok(Command::new("ip").args(["link", "set", "lo", "up"]))?;
    ok(Command::new("ip").args([
        "link", "add", "bench0", "type", "veth", "peer", "name", "bench1",
    ]))?;
    ok(Command::new("ip").args(["link", "set", "bench0", "up"]))?;

    std::fs::create_dir_all(&lab.dir).map_err(|e| e.to_string())?;
    let d = lab.dir.display();
    std::fs::write(lab.dir.join("example.test.zone"), ZONE).map_err(|e| e.to_string())?;
    let conf = format!(
        "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@53\n\
         log:\n  - target: stderr\n    any: warning\n\
         database:\n  storage: \"{d}\"\n\
         acl:\n  - id: local\n    address: 127.0.0.1\n    action: update\n\
         template:\n  - id: default\n    storage: \"{d}\"\n\
         zone:\n  - domain: example.test\n    file: example.test.zone\n    acl: local\n"
    );
    std::fs::write(lab.dir.join("knot.conf"), conf).map_err(|e| e.to_string())?;
    let child = Command::new("knotd")
        .arg("-c")
        .arg(lab.dir.join("knot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("knotd: {e}"))?;
    lab.knot = Some(child);
    let client = DnsClient::new(server()).timeout(Duration::from_millis(200));
    let soa = Name::parse("example.test").map_err(str::to_owned)?;
    let end = Instant::now() + Duration::from_secs(10);
    while !client
        .lookup(&soa, RecordType::SOA)
        .is_ok_and(|r| !r.is_empty())
    {
        if Instant::now() > end {
            return Err("knotd did not answer".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(lab)
}

fn server() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 53))
}

fn knsupdate(address: &str) {
    let mut child = Command::new("knsupdate")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("knsupdate runs");
    let script = format!(
        "server 127.0.0.1 53\nzone example.test.\nupdate delete db.example.test. A\n\
         update add db.example.test. 60 A {address}\nsend\nquit\n"
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script written");
    assert!(child.wait().expect("knsupdate ends").success());
}

/// Every timed step must really change something.
fn changed(result: Result<Report, RedirectError>) {
    match result {
        Ok(report) => assert_eq!(report.outcome, Outcome::Changed, "{report}"),
        Err(e) => panic!("{e}"),
    }
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("move_ip");
    let mut step = MoveIp::new(
        Side::Replica,
        "10.99.0.100".parse().expect("address"),
        24,
        "bench0",
        "bench0",
    )
    .expect("valid step")
    .announcements(0, Duration::ZERO);
    g.bench_function("rha", |b| {
        b.iter(|| {
            changed(step.apply());
            changed(step.undo());
        })
    });
    g.bench_function("ip", |b| {
        b.iter(|| {
            ok(Command::new("ip").args(["address", "add", "10.99.0.100/24", "dev", "bench0"]))
                .expect("added");
            ok(Command::new("ip").args(["address", "del", "10.99.0.100/24", "dev", "bench0"]))
                .expect("removed");
        })
    });
    g.finish();

    let mut g = c.benchmark_group("dns_redirect");
    let mut step = DnsRedirect::new(
        server(),
        "example.test",
        "db.example.test",
        60,
        "192.0.2.10".parse().expect("address"),
        "192.0.2.20".parse().expect("address"),
    )
    .expect("valid step");
    g.bench_function("rha", |b| {
        b.iter(|| {
            changed(step.apply());
            changed(step.undo());
        })
    });
    g.bench_function("knsupdate", |b| {
        b.iter(|| {
            knsupdate("192.0.2.20");
            knsupdate("192.0.2.10");
        })
    });
    g.finish();
}

fn main() {
    let lab = match lab() {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("redirect bench: nothing measured: needs root, iproute2 and knot ({e})");
            return;
        }
    };
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    drop(lab);
}
