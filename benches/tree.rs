//! Tree scan and compare throughput, each against a floor measured in the
//! same run.
//!
//! - `tree-scan-20k`: a generated tree of 20,000 entries (200 directories of
//!   99 files). `walk` is the floor: `read_dir` plus `lstat` of every entry,
//!   no sorting, nothing recorded. `find` runs `find -printf` with size,
//!   time, mode and owner (the reference tool). `scan` is
//!   [`TreeScanner`](rha_capture::sync::scan::TreeScanner) writing the
//!   signature into memory; `scan-xattrs` the same reading each entry's
//!   extended attributes too, as `rha sync` does. Throughput in entries.
//! - `tree-compare-1M`: two signatures of 1,001,000 entries (1,000
//!   directories of 1,000 files) where 1% of the replica's files have another
//!   time and 0.1% are missing. `decode-both` is the floor: reading both
//!   signatures. `compare` is the merge-join producing the plan. Throughput
//!   in master entries.
//!
//! ```text
//! cargo bench -p rha-benches --bench tree -- --warm-up-time 1 --measurement-time 5
//! python3 benches/ratios.py
//! ```

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};

use criterion::{Criterion, SamplingMode, Throughput};
use rha_capture::sync::scan::{ScanOptions, TreeScanner};
use rha_capture::sync::xattr::XattrScope;
use rha_core::journal::RelPath;
use rha_core::signature::tree::{
    compare, CompareOptions, Entry, EntryKind, TreeReader, TreeWriter,
};

fn walk(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("readable bench tree") {
        let e = e.expect("readable bench tree");
        let meta = std::fs::symlink_metadata(e.path()).expect("readable bench tree");
        n += 1;
        if meta.is_dir() {
            n += walk(&e.path());
        }
    }
    n
}

fn scan(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    for d in 0..200 {
        let dir = tmp.path().join(format!("dir{d:03}"));
        std::fs::create_dir(&dir).expect("bench tree");
        for f in 0..99 {
            std::fs::write(dir.join(format!("file{f:03}.dat")), b"x").expect("bench tree");
        }
    }
    let entries = walk(tmp.path());
    let mut g = c.benchmark_group("tree-scan-20k");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(entries));
    g.bench_function("walk", |b| b.iter(|| walk(black_box(tmp.path()))));
    g.bench_function("find", |b| {
        b.iter(|| {
            Command::new("find")
                .arg(tmp.path())
                .args(["-printf", "%P %y %s %T@ %m %U %G\\n"])
                .stdout(Stdio::null())
                .status()
                .expect("find runs")
        })
    });
    g.bench_function("scan", |b| {
        b.iter(|| {
            let mut w = TreeWriter::new(Vec::with_capacity(2 << 20));
            for e in TreeScanner::new(tmp.path(), ScanOptions::default()) {
                w.push(&e.expect("scannable")).expect("in order");
            }
            w.finish().expect("Vec sink").len()
        })
    });
    g.bench_function("scan-xattrs", |b| {
        let options = ScanOptions {
            xattrs: Some(XattrScope::current()),
            ..ScanOptions::default()
        };
        b.iter(|| {
            let mut w = TreeWriter::new(Vec::with_capacity(2 << 20));
            for e in TreeScanner::new(tmp.path(), options) {
                w.push(&e.expect("scannable")).expect("in order");
            }
            w.finish().expect("Vec sink").len()
        })
    });
    g.finish();
}

fn signature(miss_every: usize, touch_every: usize) -> (Vec<u8>, u64) {
    let mut w = TreeWriter::new(Vec::new());
    let mut n = 0u64;
    for d in 0..1000 {
        let dir = format!("d{d:04}");
        let mut e = Entry::new(RelPath::new(dir.clone()).expect("valid"), EntryKind::Dir);
        e.mode = 0o755;
        w.push(&e).expect("in order");
        for f in 0..1000usize {
            let i = d * 1000 + f;
            if miss_every > 0 && i % miss_every == 7 {
                continue;
            }
            let mut e = Entry::new(
                RelPath::new(format!("{dir}/f{f:04}.dat")).expect("valid"),
                EntryKind::File,
            );
            e.size = (i as u64) * 37 % 100_000;
            e.mtime_ns = 1_700_000_000_000_000_000 + i as i64;
            if touch_every > 0 && i % touch_every == 3 {
                e.mtime_ns += 1;
            }
            e.mode = 0o644;
            w.push(&e).expect("in order");
            n += 1;
        }
        n += 1;
    }
    (w.finish().expect("Vec sink"), n)
}

fn compare_bench(c: &mut Criterion) {
    let (master, entries) = signature(0, 0);
    let (replica, _) = signature(1000, 100);
    let mut g = c.benchmark_group("tree-compare-1M");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(entries));
    g.bench_function("decode-both", |b| {
        b.iter(|| TreeReader::new(&master[..]).count() + TreeReader::new(&replica[..]).count())
    });
    g.bench_function("compare", |b| {
        b.iter(|| {
            compare(
                TreeReader::new(&master[..]),
                TreeReader::new(&replica[..]),
                CompareOptions::default(),
            )
            .try_fold(0usize, |n, op| op.map(|_| n + 1))
            .expect("valid signatures")
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    scan(&mut c);
    compare_bench(&mut c);
    c.final_summary();
}
