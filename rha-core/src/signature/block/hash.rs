//! Strong hashes: per block and for a whole file.

use blake2b_simd::many::{hash_many, HashManyJob};
use blake2b_simd::Params;

/// The strong hash of one block in the given signature kind, all 32 bytes
/// (signatures keep a prefix).
pub(crate) fn blake3_block(data: &[u8]) -> [u8; 32] {
    *blake3::hash(data).as_bytes()
}

/// The XXH3 strong hash of one block, `len` bytes of it (at most 32): the
/// canonical (big-endian) XXH3-128 with seed 0, followed when more than 16
/// bytes are wanted by XXH3-128 with seed 1. The rest of the array is zero.
///
/// Not collision-resistant against chosen input: a signature of this kind
/// has no whole-file hash of its own, and the whole-file BLAKE3 hash that
/// every delta carries catches a false match after patching.
pub(crate) fn xxh3_block(data: &[u8], len: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&twox_hash::XxHash3_128::oneshot(data).to_be_bytes());
    if len > 16 {
        out[16..]
            .copy_from_slice(&twox_hash::XxHash3_128::oneshot_with_seed(1, data).to_be_bytes());
    }
    out
}

/// librsync's BLAKE2 strong sum: BLAKE2b with a 32-byte output.
pub(crate) fn blake2_block(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(blake2_params().hash(data).as_bytes());
    out
}

/// [`blake2_block`] of each of `blocks` into `out` (as many as both
/// have), several at once: with AVX2, four inputs go through the
/// compression function together, more than twice as fast as one by one.
pub(crate) fn blake2_blocks(blocks: &[&[u8]], out: &mut [[u8; 32]]) {
    let params = blake2_params();
    let mut jobs: Vec<HashManyJob<'_>> = blocks
        .iter()
        .map(|b| HashManyJob::new(&params, b))
        .collect();
    hash_many(jobs.iter_mut());
    for (o, job) in out.iter_mut().zip(&jobs) {
        o.copy_from_slice(job.to_hash().as_bytes());
    }
}

/// BLAKE2b-256 as RFC 7693 and librsync define it (the digest length is
/// part of the parameters, so this is not a truncated BLAKE2b-512).
fn blake2_params() -> Params {
    let mut p = Params::new();
    p.hash_length(32);
    p
}

/// The whole-file hash of rha's formats: BLAKE3 over the list of the full
/// BLAKE3 hashes of the file's `block_len`-byte blocks (the last one may be
/// shorter), then the file length (u64 LE) and block length (u32 LE).
///
/// Defined over block hashes so that a signature job hashes every byte once;
/// as collision-resistant as BLAKE3 itself.
#[derive(Debug, Clone)]
pub(crate) struct FileHasher {
    block_len: u64,
    cur: blake3::Hasher,
    in_cur: u64,
    list: blake3::Hasher,
    len: u64,
    /// The BLAKE3 hash of a whole block of zeros, once needed.
    zero_block: Option<[u8; 32]>,
}

/// Zeros hashed per step by [`FileHasher::push_zeros`] and the jobs that
/// stand in for holes.
pub(crate) static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Whole-block hashes appended to the list per step (512 KiB: large
/// updates let BLAKE3 hash many chunks and their parents at once).
const HASH_BATCH: usize = 16 << 10;

impl FileHasher {
    pub(crate) fn new(block_len: u32) -> Self {
        Self {
            block_len: u64::from(block_len.max(1)),
            cur: blake3::Hasher::new(),
            in_cur: 0,
            list: blake3::Hasher::new(),
            len: 0,
            zero_block: None,
        }
    }

    /// Adds the next bytes of the file.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.in_cur == 0 && data.len() as u64 >= self.block_len {
                let (block, rest) = data.split_at(self.block_len as usize);
                self.push_block(&blake3_block(block), block.len());
                data = rest;
                continue;
            }
            let n = ((self.block_len - self.in_cur) as usize).min(data.len());
            self.cur.update(&data[..n]);
            self.in_cur += n as u64;
            self.len += n as u64;
            data = &data[n..];
            if self.in_cur == self.block_len {
                let h = self.cur.finalize();
                self.list.update(h.as_bytes());
                self.cur.reset();
                self.in_cur = 0;
            }
        }
    }

    /// Adds a whole block (or the short last one) whose BLAKE3 hash the
    /// caller computed. Only valid at a block boundary.
    pub(crate) fn push_block(&mut self, hash: &[u8; 32], len: usize) {
        debug_assert_eq!(self.in_cur, 0);
        self.list.update(hash);
        self.len += len as u64;
    }

    /// Adds `len` zero bytes (a hole) without hashing them one by one:
    /// whole blocks of zeros all have the same hash, computed once, so a
    /// hole costs 32 bytes of hashing per block. The result is the same as
    /// [`update`](Self::update) with the zeros.
    pub(crate) fn push_zeros(&mut self, mut len: u64) {
        while len > 0 && (self.in_cur > 0 || len < self.block_len) {
            let n = (self.block_len - self.in_cur)
                .min(len)
                .min(ZEROS.len() as u64);
            self.update(&ZEROS[..n as usize]);
            len -= n;
        }
        let blocks = len / self.block_len;
        if blocks == 0 {
            return;
        }
        let hash = *self.zero_block.get_or_insert_with(|| {
            let mut h = blake3::Hasher::new();
            let mut left = self.block_len;
            while left > 0 {
                let n = left.min(ZEROS.len() as u64);
                h.update(&ZEROS[..n as usize]);
                left -= n;
            }
            *h.finalize().as_bytes()
        });
        let batch = hash.repeat(usize::try_from(blocks).map_or(HASH_BATCH, |b| b.min(HASH_BATCH)));
        let mut left = blocks;
        while left > 0 {
            let n = left.min(HASH_BATCH as u64);
            self.list.update(&batch[..n as usize * 32]);
            left -= n;
        }
        self.len += blocks * self.block_len;
        // What is left is shorter than a block.
        self.push_zeros(len - blocks * self.block_len);
    }

    /// Bytes hashed so far.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The hash of everything added.
    pub(crate) fn finalize(mut self) -> [u8; 32] {
        if self.in_cur > 0 {
            let h = self.cur.finalize();
            self.list.update(h.as_bytes());
        }
        self.list.update(&self.len.to_le_bytes());
        self.list.update(&(self.block_len as u32).to_le_bytes());
        *self.list.finalize().as_bytes()
    }
}

/// The whole-file hash of an rha delta ([`file_hash`]), computed
/// incrementally: for a caller that hashes the new file on a thread of its
/// own and hands the result to [`DeltaJob::set_file_hash`](super::DeltaJob::set_file_hash).
#[derive(Debug, Clone)]
pub struct WholeFileHasher(FileHasher);

impl WholeFileHasher {
    /// A hasher for blocks of `block_len` bytes (the signature's).
    pub fn new(block_len: u32) -> Self {
        Self(FileHasher::new(block_len))
    }

    /// Adds the next bytes of the file.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Adds `len` zero bytes (a hole), at the cost of a hash per block.
    pub fn update_zeros(&mut self, len: u64) {
        self.0.push_zeros(len);
    }

    /// The hash of everything added.
    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize()
    }
}

/// The whole-file hash of `data` with blocks of `block_len` bytes.
pub fn file_hash(data: &[u8], block_len: u32) -> [u8; 32] {
    let mut h = FileHasher::new(block_len);
    h.update(data);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_does_not_depend_on_how_bytes_arrive() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = file_hash(&data, 1024);
        for step in [1, 3, 1000, 1024, 4096] {
            let mut h = FileHasher::new(1024);
            for c in data.chunks(step) {
                h.update(c);
            }
            assert_eq!(h.finalize(), whole, "step {step}");
        }
        assert_ne!(file_hash(&data[1..], 1024), whole);
        assert_ne!(file_hash(&data, 2048), whole);
        assert_ne!(file_hash(&[], 1024), file_hash(&[0], 1024));
    }

    #[test]
    fn zeros_hash_as_if_they_were_read() {
        for (lead, zeros, tail) in [
            (0, 0, 0),
            (0, 5000, 0),
            (10, 5000, 3),
            (1024, 3 * 1024, 0),
            (1000, 100_000, 1500),
            (1, 10, 1),
        ] {
            let mut data: Vec<u8> = (0..lead).map(|i| (i % 251 + 1) as u8).collect();
            data.resize(lead + zeros, 0);
            data.extend((0..tail).map(|i| (i % 13 + 1) as u8));
            let mut h = FileHasher::new(1024);
            h.update(&data[..lead]);
            h.push_zeros(zeros as u64);
            h.update(&data[lead + zeros..]);
            assert_eq!(h.len(), data.len() as u64);
            assert_eq!(
                h.finalize(),
                file_hash(&data, 1024),
                "{lead} {zeros} {tail}"
            );
        }
    }

    #[test]
    fn xxh3_is_the_canonical_xxh3_128() {
        // XXH3-128 of the empty input with seed 0 (xxHash's test vectors).
        assert_eq!(
            super::super::error::hex(&xxh3_block(b"", 16)[..16]),
            "99aa06d3014798d86001c324468d497f"
        );
        let long = xxh3_block(b"abc", 32);
        assert_eq!(long[..16], xxh3_block(b"abc", 16)[..16]);
        assert_ne!(long[16..], [0u8; 16]);
        assert_ne!(long[16..], long[..16]);
        assert_eq!(xxh3_block(b"abc", 16)[16..], [0u8; 16]);
    }

    #[test]
    fn blake2_is_librsyncs_blake2b_256() {
        // BLAKE2b-256("abc"), RFC 7693 parameters with a 32-byte digest.
        assert_eq!(
            super::super::error::hex(&blake2_block(b"abc")),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        );
    }

    #[test]
    fn blake2_many_equals_one_by_one() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 253) as u8).collect();
        // Lengths around the 128-byte block and the 4-way batch.
        let blocks: Vec<&[u8]> = [0, 1, 127, 128, 129, 1000, 4096, 16384, 3, 50_000]
            .iter()
            .enumerate()
            .map(|(i, &n)| &data[i..i + n])
            .collect();
        for k in 0..=blocks.len() {
            let mut out = vec![[0u8; 32]; k];
            blake2_blocks(&blocks[..k], &mut out);
            for (b, o) in blocks.iter().zip(&out) {
                assert_eq!(*o, blake2_block(b));
            }
        }
    }
}
