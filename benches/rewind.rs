//! Applying journals to a real directory with rewind on versus off, and
//! rewind speed.
//!
//! Group `rewind/apply-4KiB`: 4096 overwrites of 4 KiB at scattered offsets
//! of a 16 MiB file, applied through a [`Replica`] on a [`DirTarget`] and
//! made durable at the end (`syncfs`):
//!
//! - `rewind-off`: the baseline, records applied directly;
//! - `rewind-on`: every record's inverse (the overwritten 4 KiB) logged and
//!   synced before its batch lands;
//! - `floor`: rewind off plus the least logging can cost (see [`floor`]).
//!
//! Group `rewind/apply-mixed`: the same two variants on a journal of what a
//! file server's users do to a tree of 64 files of 256 KiB in 8 directories
//! (2048 records): overwrites of 4 to 32 KiB (about 60%), appends (15%),
//! new files with their contents (8% creates, each followed by its write),
//! truncations, deletions and renames (about 5% each).
//!
//! Group `rewind/restore`: rewinding the 4 KiB journal back to its start, in
//! bytes of data restored per second (`rewind` against `rewind-off`
//! replaying the same bytes forward, so the ratio reads as restore speed
//! relative to apply speed).
//!
//! ```text
//! cargo bench -p rha-benches --bench rewind -- --warm-up-time 1 --measurement-time 5
//! python3 benches/ratios.py
//! ```
//!
//! The machine may be shared, and criterion times one variant after the
//! other. `RHA_BENCH_PAIRED=N` runs N rounds instead, each timing rewind off
//! and on for both journals back to back (the order flipped every round),
//! and prints the median times and the median of the per-round ratios
//! (time with rewind off / time with rewind on), next to the floor: the
//! time to write the overwritten bytes to a log file, sync it, and read
//! them first:
//!
//! ```text
//! cargo bench -p rha-benches --bench rewind --no-run
//! RHA_BENCH_PAIRED=15 cargo bench -p rha-benches --bench rewind
//! ```
//!
//! `RHA_BENCH_ONCE=4KiB-on` (or `4KiB-off`, `mixed-on`, `mixed-off`)
//! applies one journal once and exits, for counting instructions and
//! system calls of one variant:
//!
//! ```text
//! RHA_BENCH_ONCE=4KiB-on valgrind --tool=callgrind target/release/deps/rewind-*
//! RHA_BENCH_ONCE=4KiB-on strace -c -f target/release/deps/rewind-*
//! ```

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput};
use rha_capture::apply::DirTarget;
use rha_core::journal::{Op, Record, RelPath};
use rha_core::rewind::{Replica, ReplicaConfig};
use rha_core::storage::DirStorage;

const FILE_LEN: u64 = 16 << 20;
const RECORDS: usize = 4096;
const SIZE: usize = 4096;

/// The mixed journal: records, and the tree it starts from.
const MIXED_RECORDS: usize = 2048;
const MIXED_DIRS: usize = 8;
const MIXED_FILES: usize = 8;
const MIXED_FILE_LEN: u64 = 256 << 10;

/// A journal to apply and the tree it applies to.
struct Journal {
    records: Vec<Record>,
    /// Builds the starting tree under the given root.
    setup: fn(&Path),
    /// Bytes of existing data the records overwrite, cut off or delete:
    /// what rewind must read and log.
    destroyed: u64,
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn overwrites() -> Journal {
    let path = RelPath::new("db.dat").expect("valid path");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let records = (0..RECORDS)
        .map(|i| {
            xorshift(&mut x);
            let block = x % (FILE_LEN / SIZE as u64);
            Record {
                seq: i as u64 + 1,
                timestamp_ns: 1_700_000_000_000_000_000 + i as u64,
                op: Op::Write {
                    path: path.clone(),
                    offset: block * SIZE as u64,
                    data: payload(x, SIZE).into(),
                },
            }
        })
        .collect();
    Journal {
        records,
        setup: setup_overwrites,
        destroyed: (RECORDS * SIZE) as u64,
    }
}

fn setup_overwrites(root: &Path) {
    // Materialise the blocks so both variants overwrite real data.
    fs::write(root.join("db.dat"), vec![1u8; FILE_LEN as usize]).expect("fill file");
}

fn mixed() -> Journal {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let pool = Bytes::from(payload(x, 64 << 10));
    let mut files: Vec<(String, u64)> = (0..MIXED_DIRS)
        .flat_map(|d| (0..MIXED_FILES).map(move |f| (format!("d{d}/f{f}"), MIXED_FILE_LEN)))
        .collect();
    let mut ops = Vec::new();
    let mut destroyed = 0;
    let mut fresh_name = 0;
    let path = |s: &str| RelPath::new(s.to_owned()).expect("valid path");
    while ops.len() < MIXED_RECORDS {
        let r = xorshift(&mut x) % 100;
        let i = (xorshift(&mut x) % files.len() as u64) as usize;
        let pages = xorshift(&mut x);
        let (name, size) = files[i].clone();
        match r {
            0..=59 if size >= 32 << 10 => {
                let len = 4096 * (1 + pages % 8);
                let off = 4096 * (xorshift(&mut x) % ((size - len) / 4096 + 1));
                ops.push(Op::Write {
                    path: path(&name),
                    offset: off,
                    data: pool.slice(..len as usize),
                });
                destroyed += len;
            }
            0..=74 => {
                let len = 4096 * (1 + pages % 4);
                ops.push(Op::Write {
                    path: path(&name),
                    offset: size,
                    data: pool.slice(..len as usize),
                });
                files[i].1 += len;
            }
            75..=82 => {
                fresh_name += 1;
                let name = format!("d{}/n{fresh_name}", pages % MIXED_DIRS as u64);
                ops.push(Op::Create {
                    path: path(&name),
                    mode: 0o644,
                });
                ops.push(Op::Write {
                    path: path(&name),
                    offset: 0,
                    data: pool.slice(..16 << 10),
                });
                files.push((name, 16 << 10));
            }
            83..=87 => {
                let len = size / 2 / 4096 * 4096;
                ops.push(Op::SetLen {
                    path: path(&name),
                    len,
                });
                destroyed += size - len;
                files[i].1 = len;
            }
            88..=92 if files.len() > 16 => {
                ops.push(Op::Delete { path: path(&name) });
                destroyed += size;
                files.swap_remove(i);
            }
            _ => {
                fresh_name += 1;
                let to = format!("d{}/r{fresh_name}", pages % MIXED_DIRS as u64);
                ops.push(Op::Rename {
                    from: path(&name),
                    to: path(&to),
                });
                files[i].0 = to;
            }
        }
    }
    let records = ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| Record {
            seq: i as u64 + 1,
            timestamp_ns: 1_700_000_000_000_000_000 + i as u64,
            op,
        })
        .collect();
    Journal {
        records,
        setup: setup_mixed,
        destroyed,
    }
}

fn setup_mixed(root: &Path) {
    let data = payload(7, MIXED_FILE_LEN as usize);
    for d in 0..MIXED_DIRS {
        fs::create_dir(root.join(format!("d{d}"))).expect("create directory");
        for f in 0..MIXED_FILES {
            fs::write(root.join(format!("d{d}/f{f}")), &data).expect("fill file");
        }
    }
}

/// `len` pseudo-random bytes seeded by `seed`.
fn payload(mut seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn fresh(dir: &Path, setup: fn(&Path)) -> DirTarget {
    let root = dir.join("root");
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(&root).expect("create root");
    setup(&root);
    let mut t = DirTarget::open(&root, None).expect("open root");
    // Start every run from a clean page cache state: the setup is not timed.
    rha_core::rewind::Target::sync(&mut t).expect("sync setup");
    t
}

fn apply(
    j: &Journal,
    dir: &Path,
    rewind: bool,
) -> (Duration, Option<Replica<DirTarget, DirStorage>>) {
    let target = fresh(dir, j.setup);
    let mut r = if rewind {
        let storage = DirStorage::open(dir.join("spool")).expect("spool");
        Replica::open(target, storage, ReplicaConfig::default()).expect("open")
    } else {
        Replica::without_rewind(target)
    };
    let start = Instant::now();
    for rec in &j.records {
        r.apply(rec.clone()).expect("apply");
    }
    r.sync().expect("sync");
    (start.elapsed(), rewind.then_some(r))
}

/// The least the rewind-on path must add: read `bytes` of old data (from
/// the page cache) and write them to a log file, synced once per 8 MiB
/// (the default batch), in 4 KiB pieces.
fn floor(dir: &Path, bytes: u64) -> Duration {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("create dir");
    let src = dir.join("old");
    fs::write(&src, vec![3u8; 8 << 20]).expect("fill source");
    let src = fs::File::open(&src).expect("open source");
    let mut log = fs::File::create(dir.join("log")).expect("create log");
    let mut page = vec![0u8; SIZE];
    let mut batch = Vec::with_capacity(8 << 20);
    let start = Instant::now();
    let mut done = 0;
    while done < bytes {
        src.read_exact_at(&mut page, done % (8 << 20))
            .expect("read source");
        batch.extend_from_slice(&page);
        done += SIZE as u64;
        if batch.len() >= 8 << 20 || done >= bytes {
            log.write_all(&batch).expect("write log");
            log.sync_data().expect("sync log");
            batch.clear();
        }
    }
    start.elapsed()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Rewind off and on back to back, `rounds` times per journal.
fn paired(rounds: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("work");
    let journals = [("apply-4KiB", overwrites()), ("apply-mixed", mixed())];
    println!("rewind, {rounds} interleaved rounds, medians (ratio = off / on):");
    for (name, j) in &journals {
        let (mut off, mut on, mut fl, mut ratio) = (vec![], vec![], vec![], vec![]);
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            let (mut t_off, mut t_on) = (0.0, 0.0);
            for rewind in order {
                let t = apply(j, &dir, rewind).0.as_secs_f64();
                if rewind {
                    t_on = t;
                } else {
                    t_off = t;
                }
            }
            off.push(t_off);
            on.push(t_on);
            ratio.push(t_off / t_on);
            fl.push(t_off + floor(&dir, j.destroyed).as_secs_f64());
        }
        let floor_ratio: Vec<f64> = off.iter().zip(&fl).map(|(o, f)| o / f).collect();
        println!(
            "  {name:<12} off {:7.1} ms  on {:7.1} ms  on/off ratio {:.2}x  \
             (floor: off + log {:7.1} ms, {:.2}x; {} records, {:.1} MiB destroyed)",
            median(off) * 1e3,
            median(on) * 1e3,
            median(ratio),
            median(fl) * 1e3,
            median(floor_ratio),
            j.records.len(),
            j.destroyed as f64 / f64::from(1 << 20),
        );
    }
}

/// One journal applied once with rewind on or off, and nothing else.
fn once(what: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("work");
    let (j, rewind) = match what {
        "4KiB-on" => (overwrites(), true),
        "4KiB-off" => (overwrites(), false),
        "mixed-on" => (mixed(), true),
        "mixed-off" => (mixed(), false),
        _ => panic!("RHA_BENCH_ONCE: 4KiB-on, 4KiB-off, mixed-on or mixed-off"),
    };
    let t = apply(&j, &dir, rewind).0;
    println!("{what}: {:.1} ms", t.as_secs_f64() * 1e3);
}

fn main() {
    if let Ok(what) = std::env::var("RHA_BENCH_ONCE") {
        return once(&what);
    }
    if let Some(rounds) = std::env::var("RHA_BENCH_PAIRED")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return paired(rounds.max(1));
    }
    let mut c = Criterion::default().configure_from_args();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("work");

    for (group, j) in [
        ("rewind/apply-4KiB", overwrites()),
        ("rewind/apply-mixed", mixed()),
    ] {
        let bytes: u64 = j
            .records
            .iter()
            .map(|r| match &r.op {
                Op::Write { data, .. } => data.len() as u64,
                _ => 0,
            })
            .sum();
        let mut g = c.benchmark_group(group);
        g.sampling_mode(SamplingMode::Flat).sample_size(10);
        g.throughput(Throughput::Bytes(bytes));
        for (name, on) in [("rewind-off", false), ("rewind-on", true)] {
            g.bench_function(name, |b| {
                b.iter_custom(|iters| (0..iters).map(|_| apply(&j, &dir, on).0).sum())
            });
        }
        // The least rewind-on can take: rewind off plus logging the
        // destroyed bytes (benches/ratios.py prints its ratio as the floor).
        g.bench_function("floor", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| apply(&j, &dir, false).0 + floor(&dir, j.destroyed))
                    .sum()
            })
        });
        g.finish();
    }

    let j = overwrites();
    let mut g = c.benchmark_group("rewind/restore");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes((RECORDS * SIZE) as u64));
    g.bench_function("rewind-off", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| apply(&j, &dir, false).0).sum())
    });
    g.bench_function("rewind", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let (_, r) = apply(&j, &dir, true);
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
