//! Choosing block and strong-hash sizes.

use super::error::JobError;

/// Smallest block length chosen automatically (1 KiB).
pub const MIN_AUTO_BLOCK_LEN: u32 = 1 << 10;
/// Largest block length chosen automatically (1 MiB).
pub const MAX_AUTO_BLOCK_LEN: u32 = 1 << 20;
/// Smallest block length accepted.
pub const MIN_BLOCK_LEN: u32 = 16;
/// Largest block length accepted (16 MiB).
pub const MAX_BLOCK_LEN: u32 = 1 << 24;
/// Shortest strong hash, in bytes.
pub const MIN_STRONG_LEN: u8 = 8;
/// Longest strong hash, in bytes (a whole BLAKE3 hash).
pub const MAX_STRONG_LEN: u8 = 32;

/// The strong hash kept for each block of an rha signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StrongHash {
    /// BLAKE3 (format version 1). The signature also carries a
    /// collision-resistant whole-file hash, which fixed-offset sync
    /// ([`compare_fixed`](super::compare_fixed)) needs to check a volume
    /// patched in place.
    #[default]
    Blake3,
    /// XXH3-128 (format version 2): about twice as fast to compute, for
    /// rolling deltas. Not collision-resistant against chosen input, so the
    /// signature carries no whole-file hash; the delta made against it
    /// still carries the new file's BLAKE3 hash, which the patch checks, so
    /// a false match is caught (as rsync does with its XXH128 block sums).
    Xxh3,
}

/// The parameters of a block signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureParams {
    /// Length of the file or volume described.
    pub file_len: u64,
    /// Block length in bytes; the last block may be shorter.
    pub block_len: u32,
    /// Bytes of each block's strong hash kept.
    pub strong_len: u8,
    /// The strong hash.
    pub strong_hash: StrongHash,
}

impl SignatureParams {
    /// The automatic parameters for `file_len` bytes: [`block_len_for`] and
    /// [`strong_len_for`].
    pub fn new(file_len: u64) -> Self {
        let block_len = block_len_for(file_len);
        Self {
            file_len,
            block_len,
            strong_len: strong_len_for(file_len, block_len),
            strong_hash: StrongHash::Blake3,
        }
    }

    /// Uses `hash` as the per-block strong hash.
    pub fn with_strong_hash(self, hash: StrongHash) -> Self {
        Self {
            strong_hash: hash,
            ..self
        }
    }

    /// Uses blocks of `block_len` bytes (and the strong length that suits
    /// them); fails outside [`MIN_BLOCK_LEN`]`..=`[`MAX_BLOCK_LEN`].
    pub fn with_block_len(self, block_len: u32) -> Result<Self, JobError> {
        if !(MIN_BLOCK_LEN..=MAX_BLOCK_LEN).contains(&block_len) {
            return Err(JobError::InvalidParams(format!(
                "block length {block_len} is outside {MIN_BLOCK_LEN}..={MAX_BLOCK_LEN}"
            )));
        }
        Ok(Self {
            block_len,
            strong_len: strong_len_for(self.file_len, block_len),
            ..self
        })
    }

    /// Keeps `strong_len` bytes of each block hash; fails outside
    /// [`MIN_STRONG_LEN`]`..=`[`MAX_STRONG_LEN`].
    pub fn with_strong_len(self, strong_len: u8) -> Result<Self, JobError> {
        if !(MIN_STRONG_LEN..=MAX_STRONG_LEN).contains(&strong_len) {
            return Err(JobError::InvalidParams(format!(
                "strong hash length {strong_len} is outside {MIN_STRONG_LEN}..={MAX_STRONG_LEN}"
            )));
        }
        Ok(Self { strong_len, ..self })
    }

    /// Number of blocks: the file length divided by the block length,
    /// rounded up.
    pub fn block_count(&self) -> u64 {
        self.file_len.div_ceil(u64::from(self.block_len))
    }
}

/// `ceil(log2(x))`, 0 for 0 and 1.
fn ceil_log2(x: u64) -> u32 {
    if x <= 1 {
        0
    } else {
        64 - (x - 1).leading_zeros()
    }
}

/// The block length for a file of `file_len` bytes: the power of two
/// nearest its square root, within [`MIN_AUTO_BLOCK_LEN`]`..=`[`MAX_AUTO_BLOCK_LEN`].
pub fn block_len_for(file_len: u64) -> u32 {
    // log2(sqrt(len)), rounded: exact for the range that matters.
    let half = if file_len == 0 {
        0
    } else {
        ((file_len as f64).log2() / 2.0).round() as u32
    };
    1u32 << half.clamp(
        MIN_AUTO_BLOCK_LEN.trailing_zeros(),
        MAX_AUTO_BLOCK_LEN.trailing_zeros(),
    )
}

/// The strong-hash length, in bytes, that keeps the chance of any false
/// block match in one file below 2^-64.
///
/// A delta compares at most one strong hash per (position of the new file,
/// block of the basis) pair. With `b` blocks and a new file assumed at most
/// twice the basis (and at least 1 MiB), there are fewer than
/// `2^(ceil(log2 b) + ceil(log2 2·max(len, 1 MiB)))` pairs, so `64` plus
/// those bits of hash suffice, whatever the weak checksum does. A new file
/// beyond the assumption weakens the bound, but the whole-file hash still
/// catches a false match.
pub fn strong_len_for(file_len: u64, block_len: u32) -> u8 {
    let blocks = file_len.div_ceil(u64::from(block_len.max(1)));
    let bits = 64 + ceil_log2(blocks) + ceil_log2(file_len.max(1 << 20)) + 1;
    let bytes = bits.div_ceil(8);
    bytes.clamp(u32::from(MIN_STRONG_LEN), u32::from(MAX_STRONG_LEN)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_length_is_about_the_square_root() {
        assert_eq!(block_len_for(0), 1024);
        assert_eq!(block_len_for(1000), 1024);
        assert_eq!(block_len_for(256 << 20), 16 << 10);
        assert_eq!(block_len_for(5 << 30), 64 << 10);
        assert_eq!(block_len_for(u64::MAX), 1 << 20);
    }

    #[test]
    fn strong_length_grows_with_the_file() {
        assert_eq!(strong_len_for(0, 1024), 11);
        let small = strong_len_for(1 << 20, 1024);
        let big = strong_len_for(1 << 40, 1 << 20);
        assert!(small < big, "{small} {big}");
        assert_eq!(strong_len_for(256 << 20, 16 << 10), 14);
        assert!(strong_len_for(u64::MAX, 16) <= 32);
    }

    #[test]
    fn explicit_parameters_are_checked() {
        let p = SignatureParams::new(1 << 30);
        assert!(p.with_block_len(8).is_err());
        assert!(p.with_block_len(4096).is_ok());
        assert!(p.with_strong_len(7).is_err());
        assert_eq!(p.with_strong_len(32).map(|p| p.strong_len), Ok(32));
        assert_eq!(
            SignatureParams::new(5000)
                .with_block_len(1024)
                .map(|p| p.block_count()),
            Ok(5)
        );
    }
}
