//! Applying 4 KiB overwrites to a real file with rewind on versus off, and
//! rewind speed.
//!
//! Group `rewind/apply-4KiB`: 4096 overwrites of 4 KiB at scattered offsets
//! of a 16 MiB file, applied through a [`Replica`] on a [`DirTarget`] and
//! made durable at the end (`syncfs`):
//!
//! - `rewind-off`: the baseline, records applied directly;
//! - `rewind-on`: every record's inverse (the overwritten 4 KiB) logged and
//!   synced before its batch lands.
//!
//! Group `rewind/restore`: rewinding that journal back to its start, in bytes
//! of data restored per second (`rewind` against `rewind-off` replaying the
//! same bytes forward, so the ratio reads as restore speed relative to apply
//! speed).
//!
//! ```text
//! cargo bench -p rha-benches --bench rewind -- --warm-up-time 1 --measurement-time 5
//! python3 benches/ratios.py
//! ```

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use rha_capture::apply::DirTarget;
use rha_core::journal::{Op, Record, RelPath};
use rha_core::rewind::{Replica, ReplicaConfig};
use rha_core::storage::DirStorage;

const FILE_LEN: u64 = 16 << 20;
const RECORDS: usize = 4096;
const SIZE: usize = 4096;

fn records() -> Vec<Record> {
    let path = RelPath::new("db.dat").expect("valid path");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..RECORDS)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let block = x % (FILE_LEN / SIZE as u64);
            Record {
                seq: i as u64 + 1,
                timestamp_ns: 1_700_000_000_000_000_000 + i as u64,
                op: Op::Write {
                    path: path.clone(),
                    offset: block * SIZE as u64,
                    data: payload(x).into(),
                },
            }
        })
        .collect()
}

/// 4 KiB of pseudo-random bytes seeded by `seed`.
fn payload(mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE);
    while out.len() < SIZE {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out
}

fn fresh(dir: &Path) -> DirTarget {
    let root = dir.join("root");
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(&root).expect("create root");
    let f = fs::File::create(root.join("db.dat")).expect("create file");
    f.set_len(FILE_LEN).expect("size file");
    // Materialise the blocks so both variants overwrite real data.
    fs::write(root.join("db.dat"), vec![1u8; FILE_LEN as usize]).expect("fill file");
    let mut t = DirTarget::open(&root, None).expect("open root");
    // Start every run from a clean page cache state: the setup is not timed.
    rha_core::rewind::Target::sync(&mut t).expect("sync setup");
    t
}

fn apply(
    recs: &[Record],
    dir: &Path,
    rewind: bool,
) -> (Duration, Option<Replica<DirTarget, DirStorage>>) {
    let target = fresh(dir);
    let mut r = if rewind {
        let storage = DirStorage::open(dir.join("spool")).expect("spool");
        Replica::open(target, storage, ReplicaConfig::default()).expect("open")
    } else {
        Replica::without_rewind(target)
    };
    let start = Instant::now();
    for rec in recs {
        r.apply(rec.clone()).expect("apply");
    }
    r.sync().expect("sync");
    (start.elapsed(), rewind.then_some(r))
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let recs = records();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("work");

    let mut g = c.benchmark_group("rewind/apply-4KiB");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes((RECORDS * SIZE) as u64));
    for (name, on) in [("rewind-off", false), ("rewind-on", true)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| apply(&recs, &dir, on).0).sum())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("rewind/restore");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes((RECORDS * SIZE) as u64));
    g.bench_function("rewind-off", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| apply(&recs, &dir, false).0).sum())
    });
    g.bench_function("rewind", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let (_, r) = apply(&recs, &dir, true);
                    let mut r = r.expect("replica");
                    let start = Instant::now();
                    r.rewind_to(0).expect("rewind");
                    start.elapsed()
                })
                .sum()
        })
    });
    g.finish();
    c.final_summary();
}
