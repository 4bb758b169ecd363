//! Journal encode and decode throughput against a memcpy + crc32c baseline.
//!
//! Two groups, one per workload: 1 MiB writes (throughput in bytes of the
//! uncompressed journal) and 64-byte writes (throughput in records). Each
//! group times, over the same records:
//!
//! - `memcpy+crc32c`: copy the encoded (uncompressed) journal into a
//!   preallocated buffer and checksum it: the floor for any codec;
//! - `encode/<codec>`: a [`JournalWriter`](rha_core::journal::JournalWriter)
//!   appending every record into a reused `Vec` (cleared, capacity kept);
//! - `decode/<codec>`: a [`Decoder`](rha_core::journal::Decoder) fed the
//!   whole journal as one shared `Bytes`, every record pulled out as an
//!   owned `Record` (payloads share the buffer);
//! - `decode-ref/<codec>`: the same, pulling borrowed `RecordRef` views
//!   (no reference counting), as the C reader does.
//!
//! Throughput is always counted in the uncompressed workload, so results
//! within a group compare directly: `python3 benches/ratios.py` prints them as
//! ratios to the baseline.
//!
//! ```text
//! cargo bench -p rha-benches --bench journal -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput};
use rha_benches::{decode, decode_ref, memcpy_crc32c, writer_config, Workload};
use rha_core::journal::Compression;

/// The codecs measured: none, and zstd at its fastest level.
const CODECS: [(&str, Compression); 2] = [
    ("none", Compression::None),
    ("zstd-1", Compression::Zstd { level: 1 }),
];

/// Times the baseline, encoding and decoding of `work` in one group.
fn group(c: &mut Criterion, name: &str, work: &Workload, throughput: Throughput) {
    let mut g = c.benchmark_group(name);
    // Iterations take milliseconds: sample each one the same number of times.
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    g.throughput(throughput);

    let plain = work.encode(&writer_config(Compression::None), Vec::new());
    let mut copy = vec![0; plain.len()];
    g.bench_function("memcpy+crc32c", |b| {
        b.iter(|| memcpy_crc32c(black_box(&plain), &mut copy))
    });
    drop(copy);

    for (codec, compression) in CODECS {
        let config = writer_config(compression);
        let mut out = Vec::with_capacity(plain.len() + (1 << 20));
        g.bench_function(format!("encode/{codec}"), |b| {
            b.iter(|| {
                out = work.encode(&config, std::mem::take(&mut out));
                out.len()
            })
        });

        let journal = Bytes::from(work.encode(&config, Vec::new()));
        g.bench_function(format!("decode/{codec}"), |b| {
            b.iter(|| decode(black_box(&journal)))
        });
        g.bench_function(format!("decode-ref/{codec}"), |b| {
            b.iter(|| decode_ref(black_box(&journal)))
        });
    }
    g.finish();
}

fn journal(c: &mut Criterion) {
    let large = Workload::writes(8, 1 << 20);
    let plain_len = large
        .encode(&writer_config(Compression::None), Vec::new())
        .len();
    group(
        c,
        "journal/1MiB-writes",
        &large,
        Throughput::Bytes(plain_len as u64),
    );

    let small = Workload::writes(65536, 64);
    group(
        c,
        "journal/64B-writes",
        &small,
        Throughput::Elements(small.len() as u64),
    );
}

// What `criterion_group!` and `criterion_main!` expand to, without the
// undocumented `pub fn` they generate.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    journal(&mut c);
    c.final_summary();
}
