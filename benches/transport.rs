//! The transport's cost over loopback, against plain TCP in the same run:
//! the TLS ceiling that replication over `rha_capture::transport` is
//! measured against (issue 15, §7).
//!
//! - `transport/stream-16x1M` (bytes/s): 16 writes of 1 MiB from one side,
//!   read and discarded by the other, which answers one byte when it has
//!   them all. `baseline` is a plain `TcpStream` (TCP_NODELAY, like the
//!   transport), `tls` an established [`TlsStream`] (TLS 1.3, the cipher
//!   suite rustls negotiates with ring: AES-256-GCM on a CPU with AES-NI).
//! - `transport/handshake`: `connect` to a [`Listener`] until both sides
//!   hold a stream (both certificates checked, the server's acceptance
//!   received), against a plain TCP connect and accept (`baseline`).
//!
//! ```text
//! cargo bench -p rha-benches --bench transport -- --warm-up-time 1 --measurement-time 5
//! python3 benches/ratios.py
//! ```

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

use criterion::{Criterion, Throughput};
use rha_capture::transport::{connect, Identity, Listener, Timeouts};

/// Writes per measured iteration.
const CHUNKS: usize = 16;
const CHUNK: usize = 1 << 20;

/// Reads `CHUNKS * CHUNK` bytes per round and answers one byte, until the
/// stream ends.
fn sink(mut s: impl Read + Write) {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let mut left = CHUNKS * CHUNK;
        while left > 0 {
            match s.read(&mut buf[..left.min(256 << 10)]) {
                Ok(0) | Err(_) => return,
                Ok(n) => left -= n,
            }
        }
        if s.write_all(b"k").and_then(|()| s.flush()).is_err() {
            return;
        }
    }
}

/// One round: the chunks out, the answer back.
fn round(s: &mut (impl Read + Write), data: &[u8]) {
    for _ in 0..CHUNKS {
        s.write_all(data).expect("write");
    }
    s.flush().expect("flush");
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).expect("ack");
}

fn stream(c: &mut Criterion) {
    let data = vec![0x5au8; CHUNK];
    let mut g = c.benchmark_group("transport/stream-16x1M");
    g.throughput(Throughput::Bytes((CHUNKS * CHUNK) as u64));

    let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let (s, _) = tcp.accept().expect("accept");
        s.set_nodelay(true).expect("nodelay");
        sink(s);
    });
    let mut plain = TcpStream::connect(addr).expect("connect");
    plain.set_nodelay(true).expect("nodelay");
    g.bench_function("baseline", |b| b.iter(|| round(&mut plain, &data)));
    drop(plain);
    server.join().expect("sink");

    let (a, z) = (
        Identity::generate().expect("identity"),
        Identity::generate().expect("identity"),
    );
    let t = Timeouts::default();
    let listener = Listener::bind("127.0.0.1:0", &z, &[a.fingerprint()], t).expect("listen");
    let addr = listener.local_addr();
    let server = thread::spawn(move || sink(listener.accept().expect("accept")));
    let mut tls = connect(addr, &a, &[z.fingerprint()], &t).expect("connect");
    g.bench_function("tls", |b| b.iter(|| round(&mut tls, &data)));
    tls.shutdown().expect("shutdown");
    server.join().expect("sink");
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("transport/handshake");

    let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        for s in tcp.incoming() {
            let Ok(s) = s else { return };
            if done_tx.send(()).is_err() {
                return;
            }
            drop(s);
        }
    });
    g.bench_function("baseline", |b| {
        b.iter(|| {
            let s = TcpStream::connect(addr).expect("connect");
            done_rx.recv().expect("accepted");
            black_box(s)
        })
    });
    drop(done_rx);
    // Wake the accept loop so it sees the closed channel.
    let _ = TcpStream::connect(addr);
    server.join().expect("acceptor");

    let (a, z) = (
        Identity::generate().expect("identity"),
        Identity::generate().expect("identity"),
    );
    let t = Timeouts::default();
    let listener = Listener::bind("127.0.0.1:0", &z, &[a.fingerprint()], t).expect("listen");
    let addr = listener.local_addr();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        while stop_rx.try_recv().is_err() {
            if let Ok(Some(s)) = listener.accept_timeout(std::time::Duration::from_millis(50)) {
                drop(s);
            }
        }
    });
    g.bench_function("tls", |b| {
        b.iter(|| black_box(connect(addr, &a, &[z.fingerprint()], &t).expect("connect")))
    });
    let _ = stop_tx.send(());
    server.join().expect("acceptor");
    g.finish();
}

// What `criterion_group!` and `criterion_main!` expand to, without the
// undocumented `pub fn` they generate.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    stream(&mut c);
    handshake(&mut c);
    c.final_summary();
}
