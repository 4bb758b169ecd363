//! Weak checksums that roll: updated in O(1) when the window moves by one
//! byte.

/// A weak checksum over a window of `n` bytes.
pub(crate) trait Rolling: Copy {
    /// The checksum of `window` (its length is the window length).
    fn new(window: &[u8]) -> Self;
    /// Moves the window one byte: `out` leaves at the front, `inb` enters
    /// at the back.
    fn roll(&mut self, out: u8, inb: u8);
    /// The 32-bit value stored in signatures.
    fn digest(&self) -> u32;
}

/// rha's weak checksum: the rsync pair of sums `s1 = Σ x_i` and
/// `s2 = Σ (n - i)·x_i`, each modulo 2^32, mixed into 32 bits by a
/// multiplication so every output bit depends on both sums.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RhaSum {
    s1: u32,
    s2: u32,
    n: u32,
}

/// The odd 64-bit constant that mixes the two sums (2^64 / φ).
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// `s1`, `s2` of `data` (see [`RhaSum`]): with AVX2 when the CPU has it,
/// otherwise the portable version.
#[inline]
pub(crate) fn rha_sums(data: &[u8]) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 64 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { rha_sums_avx2(data) };
    }
    rha_sums_portable(data)
}

/// How far ahead of the bytes being summed [`rha_sums_avx2`] asks for data.
#[cfg(target_arch = "x86_64")]
const PREFETCH_AHEAD: usize = 2048;

/// `s1`, `s2` of `data` with AVX2, 32 bytes per step, as Adler-32 is
/// vectorised: `s1` adds each step's byte sum (`vpsadbw`), `s2` adds
/// `32·s1` of the steps before plus the step's bytes weighted 32..1
/// (`vpmaddubsw`). Every product and partial sum fits its lane (at most
/// 2·32·255 per 16-bit lane); the 32-bit lanes wrap like the definition.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rha_sums_avx2(data: &[u8]) -> (u32, u32) {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16,
        _mm256_sad_epu8, _mm256_set1_epi16, _mm256_setr_epi8, _mm256_setzero_si256,
        _mm256_storeu_si256, _mm_prefetch, _MM_HINT_T0,
    };
    let zero = _mm256_setzero_si256();
    let ones = _mm256_set1_epi16(1);
    let weights = _mm256_setr_epi8(
        32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10,
        9, 8, 7, 6, 5, 4, 3, 2, 1,
    );
    // Byte sums of the steps so far, the running total of those before
    // each step, and the weighted sums within steps.
    let (mut a, mut before, mut w) = (zero, zero, zero);
    let mut steps = data.chunks_exact(32);
    for step in &mut steps {
        // The bytes a little ahead (often of the next block) start on their
        // way from memory while these are summed; a prefetch never faults.
        _mm_prefetch::<_MM_HINT_T0>(step.as_ptr().wrapping_add(PREFETCH_AHEAD).cast());
        // SAFETY: `step` is 32 readable bytes; the load is unaligned.
        let v = unsafe { _mm256_loadu_si256(step.as_ptr().cast()) };
        before = _mm256_add_epi32(before, a);
        a = _mm256_add_epi32(a, _mm256_sad_epu8(v, zero));
        w = _mm256_add_epi32(w, _mm256_madd_epi16(_mm256_maddubs_epi16(v, weights), ones));
    }
    let lanes = |v: __m256i| {
        let mut l = [0u32; 8];
        // SAFETY: `l` is 32 writable bytes; the store is unaligned.
        unsafe { _mm256_storeu_si256(l.as_mut_ptr().cast(), v) };
        l.iter().fold(0u32, |x, &y| x.wrapping_add(y))
    };
    // Over the steps: s1 = Σ a, and s2 (weights counted from the end of the
    // stepped part) = 32·Σ before + Σ w.
    let mut s1 = lanes(a);
    let mut s2 = lanes(before).wrapping_mul(32).wrapping_add(lanes(w));
    // Each further byte adds itself to s1 and the new s1 to s2, which gives
    // every earlier byte one more unit of weight.
    for &x in steps.remainder() {
        s1 = s1.wrapping_add(u32::from(x));
        s2 = s2.wrapping_add(s1);
    }
    (s1, s2)
}

/// `s1`, `s2` of `data`; 64 lanes at a time so the compiler vectorises it.
fn rha_sums_portable(data: &[u8]) -> (u32, u32) {
    const LANES: usize = 64;
    let mut a = [0u32; LANES];
    let mut w = [0u32; LANES];
    let mut chunks = data.chunks_exact(LANES);
    let mut rows = 0u32;
    for chunk in &mut chunks {
        // Additions only: `a` sums each lane, `w` sums the running `a`,
        // which weighs row j by (rows - j).
        for k in 0..LANES {
            a[k] = a[k].wrapping_add(u32::from(chunk[k]));
            w[k] = w[k].wrapping_add(a[k]);
        }
        rows = rows.wrapping_add(1);
    }
    // Σ x_i and Σ i·x_i over the full rows: with j the row and k the lane,
    // i = 64·j + k and Σ_j j·x = rows·a[k] - w[k].
    let mut s1 = 0u32;
    let mut t = 0u32;
    for k in 0..LANES {
        s1 = s1.wrapping_add(a[k]);
        let by_row = rows.wrapping_mul(a[k]).wrapping_sub(w[k]);
        t = t
            .wrapping_add(by_row.wrapping_mul(LANES as u32))
            .wrapping_add(a[k].wrapping_mul(k as u32));
    }
    let mut i = (data.len() - chunks.remainder().len()) as u32;
    for &x in chunks.remainder() {
        s1 = s1.wrapping_add(u32::from(x));
        t = t.wrapping_add(u32::from(x).wrapping_mul(i));
        i = i.wrapping_add(1);
    }
    // s2 = Σ (n - i)·x_i = n·s1 - Σ i·x_i
    let n = data.len() as u32;
    (s1, n.wrapping_mul(s1).wrapping_sub(t))
}

/// Mixes the two sums into the stored 32-bit weak checksum.
#[inline(always)]
pub(crate) fn rha_mix(s1: u32, s2: u32) -> u32 {
    ((u64::from(s1) | (u64::from(s2) << 32)).wrapping_mul(MIX) >> 32) as u32
}

impl Rolling for RhaSum {
    fn new(window: &[u8]) -> Self {
        let (s1, s2) = rha_sums(window);
        Self {
            s1,
            s2,
            n: window.len() as u32,
        }
    }
    #[inline(always)]
    fn roll(&mut self, out: u8, inb: u8) {
        self.s1 = self
            .s1
            .wrapping_sub(u32::from(out))
            .wrapping_add(u32::from(inb));
        self.s2 = self
            .s2
            .wrapping_sub(self.n.wrapping_mul(u32::from(out)))
            .wrapping_add(self.s1);
    }
    #[inline(always)]
    fn digest(&self) -> u32 {
        rha_mix(self.s1, self.s2)
    }
}

/// librsync's RabinKarp rolling hash (the default of librsync ≥ 2.2).
const RK_MULT: u32 = 0x0810_4225;
/// `(RK_MULT - 1) * seed`, the seed adjustment when a byte rolls out.
const RK_ADJ: u32 = 0x0810_4224;
/// librsync's RabinKarp seed.
const RK_SEED: u32 = 1;

/// librsync's RabinKarp checksum: `h = seed·M^n + Σ x_i·M^(n-1-i)` mod 2^32.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RabinKarp {
    hash: u32,
    /// `M^n`.
    mult: u32,
}

/// Lanes of the RabinKarp hash of a window: byte `i` goes to lane
/// `i mod 64` (see [`rk_hash_lanes`]).
const RK_LANES: usize = 64;
/// `RK_MULT^64`, the step of every lane.
const RK_LANE_MULT: u32 = rk_pow(RK_MULT, RK_LANES as u64);
/// `RK_MULT^(63 - k)`: the weight of lane `k` when lanes are combined.
const RK_LANE_WEIGHTS: [u32; RK_LANES] = {
    let mut w = [0u32; RK_LANES];
    let mut k = 0;
    while k < RK_LANES {
        w[k] = rk_pow(RK_MULT, (RK_LANES - 1 - k) as u64);
        k += 1;
    }
    w
};

/// `base^exp` modulo 2^32.
const fn rk_pow(mut base: u32, mut exp: u64) -> u32 {
    let mut r = 1u32;
    while exp > 0 {
        if exp & 1 == 1 {
            r = r.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exp >>= 1;
    }
    r
}

/// The RabinKarp hash of `window` (see [`RabinKarp`]): with AVX2 when the
/// CPU has it, otherwise the portable version.
#[inline]
fn rk_hash(window: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if window.len() >= 2 * RK_LANES && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { rk_hash_avx2(window) };
    }
    rk_hash_lanes(window)
}

/// [`rk_hash_lanes`] with AVX2: eight vectors of eight 32-bit lanes, so
/// that eight independent multiplications are in flight.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rk_hash_avx2(window: &[u8]) -> u32 {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_cvtepu8_epi32, _mm256_mullo_epi32, _mm256_set1_epi32,
        _mm256_setzero_si256, _mm256_storeu_si256, _mm_loadl_epi64,
    };
    let step_mult = _mm256_set1_epi32(RK_LANE_MULT as i32);
    let mut acc: [__m256i; RK_LANES / 8] = [_mm256_setzero_si256(); RK_LANES / 8];
    let mut steps = window.chunks_exact(RK_LANES);
    for step in &mut steps {
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: `step` has 64 readable bytes and 8·j + 8 <= 64; the
            // load reads 8 bytes, unaligned.
            let bytes = unsafe { _mm_loadl_epi64(step.as_ptr().add(8 * j).cast()) };
            *a = _mm256_add_epi32(
                _mm256_mullo_epi32(*a, step_mult),
                _mm256_cvtepu8_epi32(bytes),
            );
        }
    }
    let mut lanes = [0u32; RK_LANES];
    for (j, a) in acc.iter().enumerate() {
        // SAFETY: `lanes[8·j..8·j + 8]` is 32 writable bytes; the store is
        // unaligned.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().add(8 * j).cast(), *a) };
    }
    rk_combine(
        &lanes,
        window.len() - steps.remainder().len(),
        steps.remainder(),
    )
}

/// The RabinKarp hash of `window` without the serial chain of the
/// definition (one multiplication per byte, each waiting for the last):
/// 64 lanes each run the recurrence with `RK_MULT^64` over every 64th
/// byte, independently of each other.
fn rk_hash_lanes(window: &[u8]) -> u32 {
    let mut lanes = [0u32; RK_LANES];
    let mut steps = window.chunks_exact(RK_LANES);
    for step in &mut steps {
        for (l, &x) in lanes.iter_mut().zip(step) {
            *l = l.wrapping_mul(RK_LANE_MULT).wrapping_add(u32::from(x));
        }
    }
    rk_combine(
        &lanes,
        window.len() - steps.remainder().len(),
        steps.remainder(),
    )
}

/// The hash from the lanes of the first `stepped` bytes and the bytes
/// after them: the lanes weighed by their distance from the end of the
/// stepped part, the seed's term, then the definition for the rest.
#[inline(always)]
fn rk_combine(lanes: &[u32; RK_LANES], stepped: usize, rest: &[u8]) -> u32 {
    // seed·M^stepped + Σ x_i·M^(stepped-1-i) over the stepped part.
    let mut hash = RK_SEED.wrapping_mul(rk_pow(RK_MULT, stepped as u64));
    for (l, w) in lanes.iter().zip(&RK_LANE_WEIGHTS) {
        hash = hash.wrapping_add(l.wrapping_mul(*w));
    }
    for &x in rest {
        hash = hash.wrapping_mul(RK_MULT).wrapping_add(u32::from(x));
    }
    hash
}

impl Rolling for RabinKarp {
    fn new(window: &[u8]) -> Self {
        Self {
            hash: rk_hash(window),
            mult: rk_pow(RK_MULT, window.len() as u64),
        }
    }
    #[inline(always)]
    fn roll(&mut self, out: u8, inb: u8) {
        self.hash = self
            .hash
            .wrapping_mul(RK_MULT)
            .wrapping_add(u32::from(inb))
            .wrapping_sub(self.mult.wrapping_mul(u32::from(out).wrapping_add(RK_ADJ)));
    }
    #[inline(always)]
    fn digest(&self) -> u32 {
        self.hash
    }
}

/// The offset librsync's older rollsum adds to every byte.
const ROLLSUM_OFFSET: u32 = 31;

/// librsync's older rollsum (an Adler-32 variant, 16-bit halves).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rollsum {
    s1: u32,
    s2: u32,
    n: u32,
}

impl Rolling for Rollsum {
    fn new(window: &[u8]) -> Self {
        // The plain sums are rha's (`s2` weighs byte i by n - i); the
        // offset adds n·31 to s1 and 31·n(n+1)/2 to s2.
        let (s1, s2) = rha_sums(window);
        let n = window.len() as u32;
        let tri = (u64::from(n) * (u64::from(n) + 1) / 2) as u32;
        Self {
            s1: s1.wrapping_add(n.wrapping_mul(ROLLSUM_OFFSET)),
            s2: s2.wrapping_add(tri.wrapping_mul(ROLLSUM_OFFSET)),
            n,
        }
    }
    #[inline(always)]
    fn roll(&mut self, out: u8, inb: u8) {
        self.s1 = self
            .s1
            .wrapping_add(u32::from(inb))
            .wrapping_sub(u32::from(out));
        self.s2 = self.s2.wrapping_add(self.s1).wrapping_sub(
            self.n
                .wrapping_mul(u32::from(out).wrapping_add(ROLLSUM_OFFSET)),
        );
    }
    #[inline(always)]
    fn digest(&self) -> u32 {
        (self.s2 << 16) | (self.s1 & 0xffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_rolls<R: Rolling>(data: &[u8], n: usize) {
        let mut r = R::new(&data[..n]);
        for i in 0..data.len() - n {
            r.roll(data[i], data[i + n]);
            assert_eq!(
                r.digest(),
                R::new(&data[i + 1..i + 1 + n]).digest(),
                "at {i}"
            );
        }
    }

    /// librsync's definitions, byte by byte.
    fn rk_serial(window: &[u8]) -> u32 {
        window.iter().fold(RK_SEED, |h, &x| {
            h.wrapping_mul(RK_MULT).wrapping_add(u32::from(x))
        })
    }

    fn rollsum_serial(window: &[u8]) -> u32 {
        let (mut s1, mut s2) = (0u32, 0u32);
        for &x in window {
            s1 = s1.wrapping_add(u32::from(x) + ROLLSUM_OFFSET);
            s2 = s2.wrapping_add(s1);
        }
        (s2 << 16) | (s1 & 0xffff)
    }

    proptest! {
        #[test]
        fn fresh_sums_match_librsyncs_definitions(data in proptest::collection::vec(prop_oneof![Just(255u8), any::<u8>()], 0..3000)) {
            prop_assert_eq!(RabinKarp::new(&data).digest(), rk_serial(&data));
            prop_assert_eq!(rk_hash_lanes(&data), rk_serial(&data));
            prop_assert_eq!(RabinKarp::new(&data).mult, rk_pow(RK_MULT, data.len() as u64));
            prop_assert_eq!(Rollsum::new(&data).digest(), rollsum_serial(&data));
        }

        #[test]
        fn rolling_equals_recomputing(data in proptest::collection::vec(any::<u8>(), 2..400), n in 1usize..200) {
            let n = n.min(data.len() - 1);
            check_rolls::<RhaSum>(&data, n);
            check_rolls::<RabinKarp>(&data, n);
            check_rolls::<Rollsum>(&data, n);
        }

        #[test]
        fn vectorised_sums_match_the_definition(data in proptest::collection::vec(prop_oneof![Just(255u8), any::<u8>()], 0..3000)) {
            let n = data.len() as u32;
            let mut s1 = 0u32;
            let mut s2 = 0u32;
            for (i, &x) in data.iter().enumerate() {
                s1 = s1.wrapping_add(u32::from(x));
                s2 = s2.wrapping_add((n - i as u32).wrapping_mul(u32::from(x)));
            }
            prop_assert_eq!(rha_sums(&data), (s1, s2));
            prop_assert_eq!(rha_sums_portable(&data), (s1, s2));
        }
    }
}
