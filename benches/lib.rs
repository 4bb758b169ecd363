//! Workloads and measured operations for rha's benchmarks.
//!
//! The criterion bench `benches/journal.rs` times the functions here; they
//! live in a library so the same code can be profiled from a small driver
//! (`perf record`, `valgrind --tool=callgrind`) and checked by tests.
//!
//! Run `cargo bench -p rha-benches --bench journal`, then
//! `python3 benches/ratios.py` to print each result as a ratio to the
//! memcpy + crc32c baseline of its group.

use std::hint::black_box;

use bytes::Bytes;
use rha_core::journal::{
    Compression, Decoder, DecoderConfig, End, JournalWriter, Op, RelPath, WriterConfig,
};

/// Timestamp of the first record of a workload; later ones add their index.
const BASE_TIME_NS: u64 = 1_700_000_000_000_000_000;

/// A list of operations to journal, prepared before timing.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The operations, in order.
    pub ops: Vec<Op>,
}

impl Workload {
    /// `count` writes of `size` bytes each to consecutive offsets of one
    /// file, as a database or log writer produces them.
    ///
    /// Every payload is different, with 4 bits of entropy per byte, so zstd
    /// compresses it about 2:1 and cannot reuse earlier records.
    pub fn writes(count: usize, size: usize) -> Workload {
        let path = RelPath::new("db/data/table-0001.dat").expect("valid path");
        let data = payload(count * size, 0x9E37_79B9);
        let ops = (0..count)
            .map(|i| Op::Write {
                path: path.clone(),
                offset: (i * size) as u64,
                data: data.slice(i * size..(i + 1) * size),
            })
            .collect();
        Workload { ops }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Journals the workload into `out` (cleared first, capacity kept) and
    /// returns it.
    pub fn encode(&self, config: &WriterConfig, mut out: Vec<u8>) -> Vec<u8> {
        out.clear();
        let mut writer = JournalWriter::new(out, config.clone());
        for (i, op) in self.ops.iter().enumerate() {
            writer
                .append(BASE_TIME_NS + i as u64, op)
                .expect("benchmark records are valid");
        }
        writer.into_inner().expect("writing into a Vec cannot fail")
    }
}

/// `len` pseudo-random bytes with 4 bits of entropy each.
pub fn payload(len: usize, seed: u32) -> Bytes {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        // Two bytes per step: the low nibble of each of two state bytes.
        out.push(0x40 | (state & 0x0F) as u8);
        out.push(0x40 | (state >> 8 & 0x0F) as u8);
    }
    out.truncate(len);
    out.into()
}

/// The writer settings the benchmarks use: defaults, with `compression`.
pub fn writer_config(compression: Compression) -> WriterConfig {
    WriterConfig::default().compression(compression)
}

/// Decodes a whole journal handed over as one shared buffer (no copy) and
/// returns the number of records.
///
/// Panics unless the journal is intact.
pub fn decode(journal: &Bytes) -> usize {
    let mut decoder = Decoder::new(DecoderConfig::default());
    decoder.feed_bytes(journal.clone());
    let mut records = 0;
    while let Some(rec) = decoder.next_record().expect("benchmark journal decodes") {
        black_box(&rec);
        records += 1;
    }
    finish(decoder, journal);
    records
}

/// Decodes `journal` like [`decode`], but as borrowed views
/// ([`Decoder::next_record_ref`]): what the C reader does.
pub fn decode_ref(journal: &Bytes) -> usize {
    let mut decoder = Decoder::new(DecoderConfig::default());
    decoder.feed_bytes(journal.clone());
    let mut records = 0;
    while let Some(rec) = decoder
        .next_record_ref()
        .expect("benchmark journal decodes")
    {
        black_box(&rec);
        records += 1;
    }
    finish(decoder, journal);
    records
}

/// Checks that `decoder` consumed all of `journal` cleanly.
fn finish(mut decoder: Decoder, journal: &Bytes) {
    let end = decoder.finish().expect("benchmark journal ends");
    assert_eq!(
        end,
        End::Clean {
            len: journal.len() as u64
        }
    );
}

/// The baseline: copies `src` into `dst` (of the same length) and returns the
/// CRC-32C of the copy. Any journal codec must at least look at every byte
/// once and checksum it; this is that floor.
pub fn memcpy_crc32c(src: &[u8], dst: &mut [u8]) -> u32 {
    dst.copy_from_slice(src);
    crc32c::crc32c(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_round_trip_with_and_without_zstd() {
        let work = Workload::writes(300, 64);
        for compression in [Compression::None, Compression::Zstd { level: 1 }] {
            let journal = work.encode(&writer_config(compression), Vec::new());
            assert_eq!(decode(&Bytes::from(journal)), work.len());
        }
    }

    #[test]
    fn payloads_compress_but_not_to_nothing() {
        let work = Workload::writes(64, 1024);
        let plain = work.encode(&writer_config(Compression::None), Vec::new());
        let zstd = work.encode(&writer_config(Compression::Zstd { level: 1 }), Vec::new());
        assert!(
            zstd.len() < plain.len() * 3 / 4,
            "{} vs {}",
            zstd.len(),
            plain.len()
        );
        assert!(
            zstd.len() > plain.len() / 4,
            "{} vs {}",
            zstd.len(),
            plain.len()
        );
    }

    #[test]
    fn baseline_checksums_the_copy() {
        let src = payload(1000, 5);
        let mut dst = vec![0; src.len()];
        assert_eq!(memcpy_crc32c(&src, &mut dst), crc32c::crc32c(&src));
        assert_eq!(&dst[..], &src[..]);
    }
}
