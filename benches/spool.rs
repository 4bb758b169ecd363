//! Spool throughput against what the same disk does without a spool.
//!
//! Run on a real file system: the spool and the baselines write under
//! `$CARGO_TARGET_DIR/spool-bench` (default `target/spool-bench`), never to
//! tmpfs. Three groups, each with its references measured in the same run:
//!
//! - `spool-durable-4KiB` (records/s): 4 KiB writes made durable one by one.
//!   `fdatasync-per-record` writes each record's bytes and `fdatasync`s;
//!   `raw-write+one-fsync` writes the same bytes sequentially with one final
//!   `fdatasync` (the floor). `producers-N` appends from N threads, each
//!   waiting for durability of every record (group commit shares syncs);
//!   `producers-8-pipelined` lets each of 8 threads append 16 records and
//!   wait once for the last.
//! - `spool-bulk-1MiB` (bytes/s): 1 MiB records appended without waiting and
//!   one final sync, against `raw-write+one-fsync` of the same bytes.
//! - `spool-read` (bytes/s): reading every record (checksums verified,
//!   payloads borrowed from the mapping) out of sealed segments, against a
//!   `memcpy` of the same number of bytes.
//!
//! ```text
//! cargo bench -p rha-benches --bench spool -- --warm-up-time 1 --measurement-time 5
//! python3 benches/spool_ratios.py
//! ```

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput};
use rha_core::journal::{JournalWriter, Op, RelPath, WriterConfig};
use rha_core::spool::{AppendOptions, Spool, SpoolConfig};

/// Records per measured iteration of the 4 KiB group.
const BATCH: u64 = 64;

fn bench_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("spool-bench").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("bench directory");
    dir
}

fn record(size: usize, i: u64) -> Op {
    Op::Write {
        path: RelPath::new("db/table.dat").expect("valid path"),
        offset: i * size as u64,
        data: Bytes::from(vec![(i % 251) as u8; size]),
    }
}

/// The bytes a record takes in a segment, for the baselines.
fn frame(size: usize) -> Vec<u8> {
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().stream_header(false));
    w.append(0, &record(size, 1)).expect("encodes");
    w.into_inner().expect("Vec sink")
}

fn open_spool(name: &str, segment: u64) -> (Spool, PathBuf) {
    let dir = bench_dir(name);
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .segment_bytes(segment);
    let (spool, _) = Spool::open_dir(&dir, config).expect("open spool");
    (spool, dir)
}

/// Acknowledges everything so sealed segments are reclaimed between samples.
fn drain(spool: &Spool) {
    let durable = spool.usage().durable_next_seq;
    if durable > 1 {
        spool.ack(durable - 1).expect("ack");
    }
}

fn durable_4k(c: &mut Criterion) {
    let mut g = c.benchmark_group("spool-durable-4KiB");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(BATCH));
    let bytes = frame(4096);

    let dir = bench_dir("fsync-per-record");
    let mut file = File::create(dir.join("data")).expect("file");
    g.bench_function("fdatasync-per-record", |b| {
        b.iter_custom(|iters| {
            file.set_len(0).expect("truncate");
            let mut f = OpenOptions::new()
                .append(true)
                .open(dir.join("data"))
                .expect("file");
            let start = Instant::now();
            for _ in 0..iters * BATCH {
                f.write_all(&bytes).expect("write");
                f.sync_data().expect("sync");
            }
            start.elapsed()
        })
    });
    file.flush().expect("flush");

    let dir = bench_dir("raw-4k");
    g.bench_function("raw-write+one-fsync", |b| {
        b.iter_custom(|iters| {
            let mut f = File::create(dir.join("data")).expect("file");
            let start = Instant::now();
            for _ in 0..iters {
                for _ in 0..BATCH {
                    f.write_all(&bytes).expect("write");
                }
                f.sync_data().expect("sync");
            }
            start.elapsed()
        })
    });

    for (producers, per_wait) in [(1u64, 1u64), (2, 1), (8, 1), (8, 16)] {
        let name = if per_wait == 1 {
            format!("producers-{producers}")
        } else {
            format!("producers-{producers}-pipelined")
        };
        let (spool, _dir) = open_spool(&name, 16 << 20);
        let spool = Arc::new(spool);
        g.bench_function(name.as_str(), |b| {
            b.iter_custom(|iters| {
                let each = iters * BATCH / producers;
                let start = Instant::now();
                let threads: Vec<_> = (0..producers)
                    .map(|t| {
                        let spool = spool.clone();
                        thread::spawn(move || {
                            let op = record(4096, t);
                            for i in 0..each {
                                let last = (i + 1) % per_wait == 0 || i + 1 == each;
                                let opts = AppendOptions::default().durable(last);
                                spool.append(i, &op, opts).expect("append");
                            }
                        })
                    })
                    .collect();
                for t in threads {
                    t.join().expect("producer");
                }
                let took = start.elapsed();
                drain(&spool);
                took
            })
        });
    }
    g.finish();
}

fn bulk_1m(c: &mut Criterion) {
    const RECORDS: u64 = 64;
    let mut g = c.benchmark_group("spool-bulk-1MiB");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Bytes(RECORDS << 20));
    let bytes = frame(1 << 20);

    let dir = bench_dir("raw-1m");
    g.bench_function("raw-write+one-fsync", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut f = File::create(dir.join("data")).expect("file");
                let start = Instant::now();
                for _ in 0..RECORDS {
                    f.write_all(&bytes).expect("write");
                }
                f.sync_data().expect("sync");
                total += start.elapsed();
            }
            total
        })
    });

    // Segments of the default size, as an embedder would have them.
    let (spool, _dir) = open_spool("bulk", SpoolConfig::default().segment_bytes);
    let ops: Vec<Op> = (0..RECORDS).map(|i| record(1 << 20, i)).collect();
    g.bench_function("spool", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for (i, op) in ops.iter().enumerate() {
                    spool
                        .append(i as u64, op, AppendOptions::no_wait())
                        .expect("append");
                }
                spool.sync().expect("sync");
                total += start.elapsed();
                drain(&spool);
            }
            total
        })
    });
    g.finish();
}

fn read_sealed(c: &mut Criterion) {
    const RECORDS: u64 = 16 * 1024;
    let (spool, dir) = open_spool("read", 16 << 20);
    let op = record(4096, 3);
    for i in 0..RECORDS {
        spool
            .append(i, &op, AppendOptions::no_wait())
            .expect("append");
    }
    spool.close().expect("close");
    // Reopened, every segment is sealed: reads map them.
    let config = SpoolConfig::default().min_free_bytes(0);
    let (spool, _) = Spool::open_dir(&dir, config).expect("reopen");
    let total = spool.usage().used_bytes;

    let mut g = c.benchmark_group("spool-read");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .throughput(Throughput::Bytes(total));
    let src = vec![7u8; total as usize];
    let mut dst = vec![0u8; total as usize];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(dst[dst.len() / 2])
        })
    });
    g.bench_function("spool", |b| {
        b.iter(|| {
            let mut r = spool.read_from(1).expect("reader");
            let mut n = 0u64;
            while let Some(rec) = r.next_record_ref().expect("record") {
                n += rec.seq;
            }
            black_box(n)
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    durable_4k(&mut c);
    bulk_1m(&mut c);
    read_sealed(&mut c);
    c.final_summary();
}
