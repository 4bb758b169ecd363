//! CRC-32C for frames.
//!
//! Large inputs go to the `crc32c` crate (three interleaved hardware
//! streams). Most frame headers and small record bodies are under 256
//! bytes, where that crate's alignment prologue and byte-wise epilogue
//! dominate; there one hardware instruction per unaligned 8-byte word is
//! about twice as fast.

/// Inputs shorter than this take the short path.
const SHORT: usize = 256;

/// The CRC-32C (Castagnoli) of `data`.
#[inline]
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if data.len() < SHORT && std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU supports SSE 4.2, checked just above.
        return unsafe { short_sse42(data) };
    }
    crc32c::crc32c(data)
}

/// CRC-32C of `data` continued after `crc` (the CRC of what came before).
#[inline]
pub(crate) fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn short_sse42(data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut crc = u64::from(u32::MAX);
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(w));
    }
    let mut crc = crc as u32;
    for &b in words.remainder() {
        crc = _mm_crc32_u8(crc, b);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_the_crc32c_crate(data in prop::collection::vec(any::<u8>(), 0..600), skip in 0usize..8) {
            let data = &data[skip.min(data.len())..];
            prop_assert_eq!(super::crc32c(data), crc32c::crc32c(data));
        }
    }

    #[test]
    fn known_vector() {
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(super::crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
    }
}
