//! Block sync of a 1 TiB sparse file holding 3.3 MiB of data (at the start,
//! past 4 GiB, in the middle and at the end), against copying just its
//! data. Group `block/sparse-sync`, throughput in bytes of data:
//!
//! - `rha-missing`: `sync_file` (rolling) into a missing replica;
//! - `rha-one-region`: into a replica that differs in one 1 MiB region;
//! - `rha-identical`: into an identical replica;
//! - `cp-sparse`: `cp --sparse=always` of the file (wall time of the
//!   process), the reference;
//! - `cp-sparse-fsync`: the same followed by an fsync of the copy, as
//!   `sync_file` does before renaming its result over the replica;
//! - `read-data`: reading the data ranges `SEEK_DATA`/`SEEK_HOLE` report,
//!   in process (the least any sync must do).
//!
//! Needs a temporary directory whose file system keeps holes (ext4, xfs,
//! btrfs, tmpfs); elsewhere the bench says so and measures nothing.
//!
//! ```text
//! cargo bench -p rha-benches --bench sparse
//! python3 benches/block_ratios.py
//! ```

use std::fs::{self, File};
use std::hint::black_box;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use rha_capture::sync::block::{sync_file, BlockSyncOptions, Piece, SparseReader};

const LEN: u64 = 1 << 40;

/// Pseudo-random bytes (xorshift), deterministic per seed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn regions(seed: u64) -> Vec<(u64, Vec<u8>)> {
    vec![
        (0, noise(1 << 20, 11)),
        ((4 << 30) + 777, noise(1 << 20, 12)),
        ((LEN / 2) + 12_345, noise(1 << 20, seed)),
        (LEN - 300_000, noise(300_000, 14)),
    ]
}

fn sparse_file(path: &Path, regions: &[(u64, Vec<u8>)]) {
    let _ = fs::remove_file(path);
    let f = File::create(path).expect("create");
    f.set_len(LEN).expect("set_len");
    for (at, data) in regions {
        f.write_all_at(data, *at).expect("write");
    }
}

/// Reads the data ranges of `path`; the bytes read.
fn read_data(path: &Path) -> u64 {
    let f = File::open(path).expect("open");
    let mut reader = SparseReader::new(&f, LEN);
    let mut n = 0;
    while let Some(piece) = reader.next_piece().expect("read") {
        if let Piece::Data(d) = piece {
            n += black_box(d).len() as u64;
        }
    }
    n
}

/// Times `cp --sparse=always master copy`, then an fsync of the copy if
/// `fsync`, `iters` times.
fn cp_time(master: &Path, copy: &Path, fsync: bool, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let _ = fs::remove_file(copy);
        let start = Instant::now();
        let status = Command::new("cp")
            .arg("--sparse=always")
            .args([master, copy])
            .status()
            .expect("cp runs");
        if fsync {
            File::open(copy).and_then(|f| f.sync_all()).expect("fsync");
        }
        total += start.elapsed();
        assert!(status.success());
    }
    total
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let master = dir.path().join("master");
    let replica = dir.path().join("replica");
    let copy = dir.path().join("copy");
    let data: u64 = regions(13).iter().map(|(_, d)| d.len() as u64).sum();
    sparse_file(&master, &regions(13));
    if fs::metadata(&master).expect("stat").blocks() * 512 > 64 << 20 {
        eprintln!(
            "block/sparse-sync: SKIPPED, the file system of {} keeps no holes",
            dir.path().display()
        );
        return;
    }
    let opts = BlockSyncOptions::default();
    let mut g = c.benchmark_group("block/sparse-sync");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes(data));
    g.bench_function("cp-sparse", |b| {
        b.iter_custom(|iters| cp_time(&master, &copy, false, iters))
    });
    g.bench_function("cp-sparse-fsync", |b| {
        b.iter_custom(|iters| cp_time(&master, &copy, true, iters))
    });
    g.bench_function("read-data", |b| b.iter(|| read_data(&master)));
    g.bench_function("rha-missing", |b| {
        b.iter_batched(
            || {
                let _ = fs::remove_file(&replica);
            },
            |()| sync_file(&master, &replica, &opts).expect("sync"),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("rha-one-region", |b| {
        b.iter_batched(
            || sparse_file(&replica, &regions(99)),
            |()| sync_file(&master, &replica, &opts).expect("sync"),
            BatchSize::PerIteration,
        )
    });
    sparse_file(&replica, &regions(13));
    g.bench_function("rha-identical", |b| {
        b.iter(|| sync_file(&master, &replica, &opts).expect("sync"))
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
