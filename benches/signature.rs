//! Block signatures, deltas and patches against fast_rsync (in process) and
//! librsync's `rdiff` (run as a process on the same data, wall time).
//!
//! Workloads: `RHA_BENCH_MB` MiB (default 256) of random data (`base`); the
//! same data with 1% of its 4 KiB blocks overwritten and a few insertions
//! (`changed`); and unrelated random data. Block length 16 KiB for every
//! tool (rha's automatic choice at 256 MiB). Groups, throughput in bytes of
//! the input file:
//!
//! - `block/signature`: rha, fast_rsync, rdiff. `rha` keeps XXH3 block
//!   hashes (the kind rolling deltas use) and hashes on every core;
//!   `rha-blake3` keeps BLAKE3 block hashes and a whole-file hash (the kind
//!   fixed-offset sync needs), on every core; `rha-1thread` is `rha` on one
//!   thread; `read` and `read-1thread` only read the data (a sum of its
//!   words, on every core and on one), the ceiling memory bandwidth puts
//!   on any signature;
//! - `block/delta-1pct`, `block/delta-unrelated`: rolling delta of
//!   `changed` / unrelated data against `base`'s signature (`rha`: XXH3
//!   signature, whole-file BLAKE3 hash on a second thread; `rha-blake3`:
//!   BLAKE3 signature; `rha-1thread`: XXH3 signature, one thread);
//! - `block/delta-rdiff`: `rha delta --format rdiff`'s work, in memory:
//!   a delta in librsync's format of `changed` against rdiff's own
//!   signature of `base` (RabinKarp, BLAKE2b-256), against the `rdiff
//!   delta` process on the same files (needs `rdiff`);
//! - `block/fixed-compare`: comparing two signatures position by position
//!   (bytes of file covered), and the replica's whole scan (signature of
//!   its copy plus comparison);
//! - `block/patch`: rebuilding `changed` from `base` and the delta, against
//!   a plain memcpy of the output.
//!
//! ```text
//! RHA_BENCH_MB=64 cargo bench -p rha-benches --bench signature -- --warm-up-time 1 --measurement-time 5
//! python3 benches/block_ratios.py
//! ```
//!
//! On a busy machine the load changes between criterion's benchmarks.
//! `RHA_BENCH_PAIRED=N` instead runs the signature variants N rounds,
//! interleaved in an order rotated each round, and prints each one's
//! median throughput and the median of its per-round ratio to fast_rsync:
//!
//! ```text
//! RHA_BENCH_MB=64 RHA_BENCH_PAIRED=21 cargo bench -p rha-benches --bench signature
//! ```

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use rha_core::signature::block::{
    compare_fixed, patch_of, signature_of, DeltaFormat, DeltaJob, Signature, SignatureJob,
    SignatureParams, StrongHash,
};

const BLOCK: u32 = 16 << 10;

fn xorshift_fill(buf: &mut [u8], seed: u64) {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

struct Data {
    base: Vec<u8>,
    changed: Vec<u8>,
    unrelated: Vec<u8>,
}

fn data() -> Data {
    let mb: usize = std::env::var("RHA_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let len = mb << 20;
    let mut base = vec![0u8; len];
    xorshift_fill(&mut base, 1);
    let mut changed = base.clone();
    let blocks = len / 4096;
    let mut x = 12345u64;
    for _ in 0..blocks / 100 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let b = (x >> 33) as usize % blocks;
        xorshift_fill(&mut changed[b * 4096..(b + 1) * 4096], x);
    }
    for i in 0..8 {
        let at = len / 9 * (i + 1);
        changed.splice(at..at, std::iter::repeat_n(i as u8, 100 + 37 * i));
    }
    let mut unrelated = vec![0u8; len];
    xorshift_fill(&mut unrelated, 99);
    Data {
        base,
        changed,
        unrelated,
    }
}

fn params(len: usize) -> SignatureParams {
    SignatureParams::new(len as u64)
        .with_block_len(BLOCK)
        .expect("valid block length")
}

/// Threads the multi-threaded rha variants use: every core.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A signature job over `data` in one call on `threads` threads.
fn sig_with(data: &[u8], params: SignatureParams, threads: usize) -> Vec<u8> {
    let mut job = SignatureJob::new(params).with_threads(threads);
    let mut out = Vec::new();
    let mut room = vec![0u8; 256 << 10];
    let mut input = data;
    loop {
        let p = job.run(input, &mut room, true).expect("signature");
        input = &input[p.consumed..];
        out.extend_from_slice(&room[..p.produced]);
        if p.done {
            return out;
        }
    }
}

/// A delta job of `new` against `sig` in one call on `threads` threads.
fn delta_with(sig: Signature, new: &[u8], threads: usize) -> Vec<u8> {
    delta_in(sig, new, threads, DeltaFormat::Rha)
}

/// [`delta_with`] in the given format.
fn delta_in(sig: Signature, new: &[u8], threads: usize, format: DeltaFormat) -> Vec<u8> {
    let mut job = DeltaJob::new(sig, format).with_threads(threads);
    let mut out = Vec::new();
    let mut room = vec![0u8; 256 << 10];
    let mut input = new;
    loop {
        let p = job.run(input, &mut room, true).expect("delta");
        input = &input[p.consumed..];
        out.extend_from_slice(&room[..p.produced]);
        if p.done {
            return out;
        }
    }
}

/// Reads every word of `data` on `threads` threads (a sum, so that no
/// load is optimised away): how fast memory alone can be read.
fn read_all(data: &[u8], threads: usize) -> u64 {
    let sum = |part: &[u8]| {
        part.chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .fold(0u64, u64::wrapping_add)
    };
    let per = data.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = data
            .chunks(per)
            .skip(1)
            .map(|part| s.spawn(move || sum(part)))
            .collect();
        let first = data.chunks(per).next().map_or(0, sum);
        handles
            .into_iter()
            .map(|h| h.join().expect("reader thread"))
            .fold(first, u64::wrapping_add)
    })
}

fn fast_options() -> fast_rsync::SignatureOptions {
    fast_rsync::SignatureOptions {
        block_size: BLOCK,
        crypto_hash_size: 16,
    }
}

/// Times `rdiff ARGS` (wall time of the process) `iters` times.
fn rdiff_time(args: &[&Path], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let status = Command::new("rdiff")
            .args(["-f", "-b", &BLOCK.to_string()])
            .args(args)
            .status()
            .expect("rdiff runs (Debian package rdiff)");
        total += start.elapsed();
        assert!(status.success());
    }
    total
}

fn have_rdiff() -> bool {
    Command::new("rdiff").arg("--version").output().is_ok()
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    bytes: usize,
) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g
}

fn bench(c: &mut Criterion) {
    let d = data();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write bench file");
        p
    };
    let base_f = file("base", &d.base);
    let changed_f = file("changed", &d.changed);
    let unrelated_f = file("unrelated", &d.unrelated);
    let sig_f = dir.path().join("base.sig");
    let out_f = dir.path().join("out");
    let rdiff = have_rdiff();

    // Signature.
    let mut g = group(c, "block/signature", d.base.len());
    let xxh3 = params(d.base.len()).with_strong_hash(StrongHash::Xxh3);
    g.bench_function("rha", |b| {
        b.iter(|| sig_with(black_box(&d.base), xxh3, cores()))
    });
    g.bench_function("rha-blake3", |b| {
        b.iter(|| sig_with(black_box(&d.base), params(d.base.len()), cores()))
    });
    g.bench_function("rha-1thread", |b| {
        b.iter(|| sig_with(black_box(&d.base), xxh3, 1))
    });
    g.bench_function("fast_rsync", |b| {
        b.iter(|| fast_rsync::Signature::calculate(black_box(&d.base), fast_options()))
    });
    g.bench_function("read", |b| b.iter(|| read_all(black_box(&d.base), cores())));
    g.bench_function("read-1thread", |b| {
        b.iter(|| read_all(black_box(&d.base), 1))
    });
    if rdiff {
        g.bench_function("rdiff", |b| {
            b.iter_custom(|iters| rdiff_time(&[Path::new("signature"), &base_f, &sig_f], iters))
        });
    }
    g.finish();

    let sig = Signature::from_bytes(&signature_of(&d.base, params(d.base.len())).expect("sig"))
        .expect("valid");
    let xsig = Signature::from_bytes(&sig_with(&d.base, xxh3, 1)).expect("valid");
    let fast_sig = fast_rsync::Signature::calculate(&d.base, fast_options());
    let fast_index = fast_sig.index();
    if rdiff {
        let status = Command::new("rdiff")
            .args(["-f", "-b", &BLOCK.to_string(), "signature"])
            .args([&base_f, &sig_f])
            .status()
            .expect("rdiff");
        assert!(status.success());
    }

    // Rolling deltas.
    for (name, new, new_f) in [
        ("block/delta-1pct", &d.changed, &changed_f),
        ("block/delta-unrelated", &d.unrelated, &unrelated_f),
    ] {
        let mut g = group(c, name, new.len());
        g.bench_function("rha", |b| {
            b.iter(|| delta_with(xsig.clone(), black_box(new), cores()))
        });
        g.bench_function("rha-blake3", |b| {
            b.iter(|| delta_with(sig.clone(), black_box(new), cores()))
        });
        g.bench_function("rha-1thread", |b| {
            b.iter(|| delta_with(xsig.clone(), black_box(new), 1))
        });
        g.bench_function("fast_rsync", |b| {
            b.iter(|| {
                let mut out = Vec::new();
                fast_rsync::diff(&fast_index, black_box(new), &mut out).expect("diff");
                out
            })
        });
        if rdiff {
            let delta_f = dir.path().join("delta");
            g.bench_function("rdiff", |b| {
                b.iter_custom(|iters| {
                    rdiff_time(&[Path::new("delta"), &sig_f, new_f, &delta_f], iters)
                })
            });
        }
        g.finish();
    }

    // Deltas in librsync's format, from rdiff's signature.
    if rdiff {
        let rsig = Signature::from_bytes(&std::fs::read(&sig_f).expect("read rdiff signature"))
            .expect("valid rdiff signature");
        let mut g = group(c, "block/delta-rdiff", d.changed.len());
        g.bench_function("rha", |b| {
            b.iter(|| delta_in(rsig.clone(), black_box(&d.changed), 1, DeltaFormat::Rdiff))
        });
        let delta_f = dir.path().join("delta");
        g.bench_function("rdiff", |b| {
            b.iter_custom(|iters| {
                rdiff_time(&[Path::new("delta"), &sig_f, &changed_f, &delta_f], iters)
            })
        });
        g.finish();
    }

    // Fixed-offset comparison.
    let changed_same_len = &d.changed[..d.base.len()];
    let csig =
        Signature::from_bytes(&signature_of(changed_same_len, params(d.base.len())).expect("sig"))
            .expect("valid");
    let mut g = group(c, "block/fixed-compare", d.base.len());
    g.bench_function("rha-compare", |b| {
        b.iter(|| compare_fixed(black_box(&sig), black_box(&csig)).expect("compare"))
    });
    g.bench_function("rha-scan+compare", |b| {
        b.iter(|| {
            let s =
                Signature::from_bytes(&sig_with(black_box(&d.base), params(d.base.len()), cores()))
                    .expect("valid");
            compare_fixed(&s, &csig).expect("compare")
        })
    });
    g.finish();

    // Patch.
    let delta = delta_with(xsig.clone(), &d.changed, 1);
    let mut fast_delta = Vec::new();
    fast_rsync::diff(&fast_index, &d.changed, &mut fast_delta).expect("diff");
    let mut g = group(c, "block/patch", d.changed.len());
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(d.changed.len());
            out.extend_from_slice(black_box(&d.changed));
            out
        })
    });
    g.bench_function("rha", |b| {
        b.iter(|| patch_of(black_box(&d.base[..]), black_box(&delta), u64::MAX).expect("patch"))
    });
    g.bench_function("fast_rsync", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            fast_rsync::apply(black_box(&d.base), black_box(&fast_delta), &mut out).expect("apply");
            out
        })
    });
    if rdiff {
        let delta_f = dir.path().join("delta.rdiff");
        std::fs::write(&delta_f, &fast_delta).expect("write");
        g.bench_function("rdiff", |b| {
            b.iter_custom(|iters| {
                rdiff_time(&[Path::new("patch"), &base_f, &delta_f, &out_f], iters)
            })
        });
    }
    g.finish();
}

/// A named benchmark body.
type Variant<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// The signature variants of `block/signature`, interleaved for `rounds`
/// rounds (see the crate docs); prints medians.
fn paired(rounds: usize) {
    let d = data();
    let xxh3 = params(d.base.len()).with_strong_hash(StrongHash::Xxh3);
    let variants: Vec<Variant<'_>> = vec![
        (
            "fast_rsync",
            Box::new(|| {
                black_box(fast_rsync::Signature::calculate(
                    black_box(&d.base),
                    fast_options(),
                ));
            }),
        ),
        (
            "rha",
            Box::new(|| {
                black_box(sig_with(black_box(&d.base), xxh3, cores()));
            }),
        ),
        (
            "rha-1thread",
            Box::new(|| {
                black_box(sig_with(black_box(&d.base), xxh3, 1));
            }),
        ),
        (
            "read",
            Box::new(|| {
                black_box(read_all(black_box(&d.base), cores()));
            }),
        ),
        (
            "read-1thread",
            Box::new(|| {
                black_box(read_all(black_box(&d.base), 1));
            }),
        ),
    ];
    let mut secs = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let i = (k + round) % variants.len();
            let start = Instant::now();
            (variants[i].1)();
            secs[i].push(start.elapsed().as_secs_f64());
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let gb = d.base.len() as f64 / 1e9;
    println!("block/signature, {rounds} interleaved rounds, medians:");
    for (i, (name, _)) in variants.iter().enumerate() {
        let ratios = secs[0].iter().zip(&secs[i]).map(|(f, t)| f / t).collect();
        println!(
            "  {name:<14} {:7.3} GB/s   {name} / fast_rsync = {:.2}",
            gb / median(secs[i].clone()),
            median(ratios)
        );
    }
}

fn main() {
    if let Some(rounds) = std::env::var("RHA_BENCH_PAIRED")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return paired(rounds.max(1));
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
