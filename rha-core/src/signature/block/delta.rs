//! The rolling delta: describes a new file as copies of basis blocks and
//! literal bytes, given the basis's signature.

use std::mem;

use super::error::JobError;
use super::format::{DeltaFormat, Encoder};
use super::hash::{blake2_block, blake2_blocks, blake3_block, xxh3_block, FileHasher, ZEROS};
use super::parallel::Pool;
use super::queue::{OutQueue, Progress, HIGH_WATER};
use super::rolling::{rha_mix, rha_sums, RabinKarp, RhaSum, Rolling, Rollsum};
use super::sig::{Signature, SignatureKind};

/// Unmatched bytes are emitted as a literal once this many accumulate.
const MAX_PENDING_LITERAL: usize = 256 << 10;
/// Input taken per step.
const STEP: usize = 1 << 20;
/// Input taken per step when the whole-file hash runs on its own thread.
const PARALLEL_STEP: usize = 4 << 20;
/// Steps shorter than this are hashed on the calling thread.
const MIN_PARALLEL_STEP: usize = 256 << 10;
/// Windows checked together after a match, as candidates for the blocks
/// that follow the matched one (see [`DeltaJob::follow`]).
const FOLLOW_BATCH: usize = 8;

/// Finds blocks by weak checksum: a bitset answers "surely absent" for
/// almost every position, a sorted table resolves the rest.
#[derive(Debug)]
struct Index {
    bits: Vec<u64>,
    shift: u32,
    /// (weak, block), sorted, one entry per distinct (weak, strong).
    table: Vec<(u32, u32)>,
}

impl Index {
    fn new(sig: &Signature, skip_short_last: bool) -> Self {
        let n = sig.block_count();
        let mut blocks: Vec<u32> = (0..n as u32)
            .filter(|&i| {
                !skip_short_last
                    || sig.block_len_of(u64::from(i)) == Some(u64::from(sig.block_len()))
            })
            .collect();
        let weaks = sig.weaks();
        // Runs of equal blocks (a hole's zero blocks, a million of them in
        // a sparse terabyte) keep only their first, as the sort and dedup
        // below would: the table is the same, the sort far shorter.
        blocks.dedup_by(|b, a| {
            weaks[*a as usize] == weaks[*b as usize]
                && sig.strong(*a as usize) == sig.strong(*b as usize)
        });
        blocks.sort_by(|&a, &b| {
            (weaks[a as usize], sig.strong(a as usize), a).cmp(&(
                weaks[b as usize],
                sig.strong(b as usize),
                b,
            ))
        });
        blocks.dedup_by(|b, a| {
            weaks[*a as usize] == weaks[*b as usize]
                && sig.strong(*a as usize) == sig.strong(*b as usize)
        });
        let want_bits = (blocks.len() as u64 * 256)
            .next_power_of_two()
            .clamp(1 << 16, 1 << 26);
        let log = want_bits.trailing_zeros();
        let mut bits = vec![0u64; (want_bits / 64) as usize];
        let shift = 32 - log;
        for &b in &blocks {
            let h = (weaks[b as usize] >> shift) as usize;
            bits[h / 64] |= 1 << (h % 64);
        }
        let table = blocks.iter().map(|&b| (weaks[b as usize], b)).collect();
        Self { bits, shift, table }
    }

    #[inline(always)]
    fn maybe(&self, weak: u32) -> bool {
        let h = (weak >> self.shift) as usize;
        // `h < 2^log` and `bits` has 2^log bits.
        self.bits[h / 64] & (1 << (h % 64)) != 0
    }

    fn candidates(&self, weak: u32) -> &[(u32, u32)] {
        let lo = self.table.partition_point(|e| e.0 < weak);
        let hi = lo + self.table[lo..].partition_point(|e| e.0 == weak);
        &self.table[lo..hi]
    }
}

/// Rolls `s` over the windows whose outgoing and incoming bytes are
/// `outs[i]` and `ins[i]` while the index surely lacks their checksum;
/// returns how many windows it moved past (`outs.len()` when all).
///
/// The state lives in locals so that it stays in registers: this loop runs
/// once per byte of data that matches nothing.
#[inline(always)]
fn skip_absent<R: Rolling>(s: &mut R, outs: &[u8], ins: &[u8], index: &Index) -> usize {
    let mut st = *s;
    let mut moved = 0;
    for (&out, &inb) in outs.iter().zip(ins) {
        if index.maybe(st.digest()) {
            break;
        }
        st.roll(out, inb);
        moved += 1;
    }
    *s = st;
    moved
}

/// What a delta job found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Bytes of the new file sent as literals (or as zero runs found in
    /// them).
    pub literal_bytes: u64,
    /// Bytes of the new file found in the basis.
    pub matched_bytes: u64,
    /// Bytes of the new file given as holes ([`DeltaJob::run_zeros`]) and
    /// sent as zero runs without being read.
    pub hole_bytes: u64,
}

/// Computes a delta from a basis signature and a new file fed in chunks of
/// any size. Memory: the signature and its index, plus about 1.5 MiB of
/// buffers, whatever the file size.
///
/// ```
/// use rha_core::signature::block::*;
///
/// let basis = vec![1u8; 5000];
/// let mut new = basis.clone();
/// new.splice(100..100, *b"inserted");
/// let params = SignatureParams::new(basis.len() as u64).with_block_len(1024)?;
/// let sig = Signature::from_bytes(&signature_of(&basis, params)?)?;
/// let (delta, stats) = delta_of(sig, &new, DeltaFormat::Rha)?;
/// assert!(stats.matched_bytes >= 3 * 1024);
/// assert_eq!(patch_of(&basis[..], &delta, u64::MAX)?, new);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DeltaJob {
    sig: Signature,
    index: Index,
    bl: usize,
    /// New-file bytes from the start of the pending literal.
    buf: Vec<u8>,
    /// Start of the window in `buf`.
    pos: usize,
    /// The weak checksum of the window at `pos`, if computed.
    sum: Option<Sum>,
    enc: Encoder,
    format: DeltaFormat,
    out: OutQueue,
    /// The new file's whole-file hash (the rha format only: an rdiff delta
    /// carries none).
    file: Option<FileHasher>,
    /// The whole-file hash comes from the caller ([`Self::set_file_hash`]).
    external_hash: Option<[u8; 32]>,
    /// New-file bytes taken so far.
    fed: u64,
    threads: usize,
    /// Helper threads, started on the first step that uses them and kept
    /// until the job is dropped.
    pool: Option<Pool>,
    stats: DeltaStats,
    /// The last search stopped early with windows left to look at.
    unsearched: bool,
    /// The block after the last one matched.
    next_expected: Option<u32>,
    ended: bool,
    done: bool,
    /// The job's `tracing` span: open from `new` until the job is dropped.
    span: tracing::Span,
}

#[derive(Debug, Clone, Copy)]
enum Sum {
    Rha(RhaSum),
    Rk(RabinKarp),
    Rs(Rollsum),
}

impl DeltaJob {
    /// A job describing a new file against the basis `sig` in `format`.
    pub fn new(sig: Signature, format: DeltaFormat) -> Self {
        let span = tracing::debug_span!(
            "delta_job",
            basis_blocks = sig.block_count(),
            block_len = sig.block_len()
        );
        let index = Index::new(&sig, sig.kind().is_rha());
        let mut out = OutQueue::default();
        let enc = Encoder::new(format, sig.block_len(), out.buf());
        Self {
            bl: sig.block_len() as usize,
            file: (format == DeltaFormat::Rha).then(|| FileHasher::new(sig.block_len())),
            external_hash: None,
            fed: 0,
            sig,
            index,
            buf: Vec::new(),
            pos: 0,
            sum: None,
            enc,
            format,
            out,
            threads: 1,
            pool: None,
            stats: DeltaStats::default(),
            unsearched: false,
            next_expected: None,
            ended: false,
            done: false,
            span,
        }
    }

    /// With 2 or more, computes the new file's whole-file hash (rha format)
    /// on a helper thread, beside the search on the calling thread, while
    /// [`run`](Self::run) is given large chunks; 1 (the default) keeps all
    /// work on the calling thread. The helper starts with the first such
    /// call and ends when the job is dropped. The output does not depend
    /// on it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.set_threads(threads);
        self
    }

    /// The caller computes the new file's whole-file hash itself (a
    /// [`WholeFileHasher`](super::WholeFileHasher) over the same bytes, with
    /// the signature's block length, for example on its reading thread)
    /// and passes it to [`set_file_hash`](Self::set_file_hash) before the
    /// last [`run`](Self::run); the job then hashes nothing but blocks. A
    /// delta whose hash was never set carries a zero hash, which no patch
    /// accepts. No effect on an rdiff delta.
    pub fn with_external_file_hash(mut self) -> Self {
        if self.file.take().is_some() {
            self.external_hash = Some([0; 32]);
        }
        self
    }

    /// The new file's whole-file hash, for a job made
    /// [`with_external_file_hash`](Self::with_external_file_hash).
    pub fn set_file_hash(&mut self, hash: [u8; 32]) {
        if self.external_hash.is_some() {
            self.external_hash = Some(hash);
        }
    }

    /// [`with_threads`](Self::with_threads) on a job held by reference.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        if self
            .pool
            .as_ref()
            .is_some_and(|p| p.threads() != self.threads)
        {
            self.pool = None;
        }
    }

    /// What the job has found so far.
    pub fn stats(&self) -> DeltaStats {
        self.stats
    }

    /// Consumes new-file bytes from `input` and writes delta bytes to
    /// `output`; `end` says `input` holds the last of the file. Call again
    /// with the unconsumed input (and more) until [`Progress::done`].
    pub fn run(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        end: bool,
    ) -> Result<Progress, JobError> {
        let mut p = Progress {
            produced: self.out.drain_into(output),
            ..Progress::default()
        };
        if self.ended {
            if !input.is_empty() {
                return Err(JobError::AfterEnd);
            }
            p.done = self.done && self.out.is_empty();
            return Ok(p);
        }
        loop {
            p.produced += self.out.drain_into(&mut output[p.produced..]);
            if self.out.len() >= HIGH_WATER {
                // The caller must make output room first.
                break;
            }
            if self.unsearched {
                // The last search stopped because the queue was full.
                self.search();
                continue;
            }
            if p.consumed < input.len() {
                let step = if self.threads > 1 {
                    PARALLEL_STEP
                } else {
                    STEP
                };
                let take = (input.len() - p.consumed).min(step);
                let chunk = &input[p.consumed..p.consumed + take];
                self.buf.extend_from_slice(chunk);
                p.consumed += take;
                self.fed += take as u64;
                match self.file.take() {
                    Some(mut file) if self.threads > 1 && take >= MIN_PARALLEL_STEP => {
                        let threads = self.threads;
                        let pool = self.pool.take().unwrap_or_else(|| Pool::new(threads - 1));
                        pool.join(|| file.update(chunk), || self.search());
                        self.pool = Some(pool);
                        self.file = Some(file);
                    }
                    Some(mut file) => {
                        file.update(chunk);
                        self.file = Some(file);
                        self.search();
                    }
                    None => self.search(),
                }
                continue;
            }
            if end {
                // Every window has been looked at: the rest is the tail.
                self.finish();
                self.ended = true;
                self.done = true;
                tracing::debug!(
                    parent: &self.span,
                    bytes = self.fed,
                    literal_bytes = self.stats.literal_bytes,
                    matched_bytes = self.stats.matched_bytes,
                    "delta computed"
                );
                p.produced += self.out.drain_into(&mut output[p.produced..]);
                p.done = self.out.is_empty();
            }
            break;
        }
        Ok(p)
    }

    /// Like [`run`](Self::run) with `zeros` zero bytes as the input (a hole
    /// of a sparse file) and `end` unset, without running the rolling
    /// checksum over them: the whole blocks of the hole become one zero run
    /// and are hashed as known zeros. The zeros up to the hole's first
    /// block boundary and after its last one go through the search, so
    /// blocks that straddle the hole's edges still match; zero blocks of
    /// the basis are not looked for inside the hole. Returns with
    /// [`Progress::consumed`] of the zeros taken (fewer while the output is
    /// full: call again with the rest after draining it). In the rdiff
    /// format, which has no zero runs, the zeros are searched like any
    /// input, a piece per call.
    pub fn run_zeros(&mut self, zeros: u64, output: &mut [u8]) -> Result<Progress, JobError> {
        let zeros = zeros.min(usize::MAX as u64);
        if self.format == DeltaFormat::Rdiff {
            let n = zeros.min(ZEROS.len() as u64) as usize;
            return self.run(&ZEROS[..n], output, false);
        }
        let mut p = Progress {
            produced: self.out.drain_into(output),
            ..Progress::default()
        };
        if zeros == 0 {
            return Ok(p);
        }
        if self.ended {
            return Err(JobError::AfterEnd);
        }
        let bl = self.bl as u64;
        let mut taken = 0u64;
        loop {
            p.produced += self.out.drain_into(&mut output[p.produced..]);
            if self.out.len() >= HIGH_WATER {
                break;
            }
            if self.unsearched {
                self.search();
                continue;
            }
            let left = zeros - taken;
            if left == 0 {
                break;
            }
            let at = self.fed;
            let whole = if at % bl == 0 { left / bl * bl } else { 0 };
            if whole == 0 {
                // Up to a block boundary, or the tail before the data that
                // follows: searched as ordinary input.
                let n = if at % bl == 0 {
                    left
                } else {
                    (bl - at % bl).min(left)
                };
                let n = n.min(ZEROS.len() as u64) as usize;
                self.buf.extend_from_slice(&ZEROS[..n]);
                if let Some(file) = &mut self.file {
                    file.update(&ZEROS[..n]);
                }
                self.fed += n as u64;
                taken += n as u64;
                self.search();
                continue;
            }
            // Whatever waits before the hole goes out as a literal: no
            // window reaching into the hole is searched.
            let pending = mem::take(&mut self.buf);
            self.enc.literal(&pending, self.out.buf());
            self.stats.literal_bytes += pending.len() as u64;
            self.buf = pending;
            self.buf.clear();
            self.pos = 0;
            self.sum = None;
            self.next_expected = None;
            self.enc.zeros(whole, self.out.buf());
            if let Some(file) = &mut self.file {
                file.push_zeros(whole);
            }
            self.fed += whole;
            self.stats.hole_bytes += whole;
            taken += whole;
        }
        p.consumed = taken as usize;
        Ok(p)
    }

    fn search(&mut self) {
        match self.sig.kind() {
            SignatureKind::Rha | SignatureKind::RhaXxh3 => self.search_with::<RhaSum>(
                |s| match s {
                    Sum::Rha(s) => Some(s),
                    _ => None,
                },
                Sum::Rha,
            ),
            SignatureKind::RdiffRabinKarp => self.search_with::<RabinKarp>(
                |s| match s {
                    Sum::Rk(s) => Some(s),
                    _ => None,
                },
                Sum::Rk,
            ),
            SignatureKind::RdiffRollsum => self.search_with::<Rollsum>(
                |s| match s {
                    Sum::Rs(s) => Some(s),
                    _ => None,
                },
                Sum::Rs,
            ),
        }
    }

    /// The strong hash of `window` in the signature's kind.
    fn strong(&self, window: &[u8]) -> [u8; 32] {
        match self.sig.kind() {
            SignatureKind::Rha => blake3_block(window),
            SignatureKind::RhaXxh3 => xxh3_block(window, self.sig.strong_len()),
            SignatureKind::RdiffRabinKarp | SignatureKind::RdiffRollsum => blake2_block(window),
        }
    }

    /// The block of the basis `window` equals, if any (`weak` is its weak
    /// checksum).
    fn find(&self, weak: u32, window: &[u8]) -> Option<u32> {
        let cands = self.index.candidates(weak);
        if cands.is_empty() {
            return None;
        }
        let strong = self.strong(window);
        let l = usize::from(self.sig.strong_len());
        // Prefer the block after the last match, so that runs of equal
        // blocks (zeros, repeated data) merge into one copy.
        if let Some(e) = self.next_expected {
            if self.sig.weak(e as usize) == Some(weak)
                && self.sig.strong(e as usize) == Some(&strong[..l])
                && self.sig.block_len_of(u64::from(e)) == Some(self.bl as u64)
            {
                return Some(e);
            }
        }
        cands
            .iter()
            .find(|&&(_, b)| self.sig.strong(b as usize) == Some(&strong[..l]))
            .map(|&(_, b)| b)
    }

    /// How many of the blocks `first`, `first + 1`, … the new file holds
    /// back to back from `pos` (up to the end of `buf`).
    ///
    /// The search would find exactly these: after a match it looks at the
    /// window right after it first, and a window whose weak checksum and
    /// strong hash equal those of the block after the last match (a whole
    /// block) is that block. Checking the weak checksums of a batch first
    /// and then hashing the windows that pass together lets the strong
    /// hash run on several inputs at once.
    fn follow<R: Rolling>(&self, mut pos: usize, first: u32) -> u32 {
        let bl = self.bl;
        let l = usize::from(self.sig.strong_len());
        let mut matched = 0u32;
        let mut windows: [&[u8]; FOLLOW_BATCH] = [&[]; FOLLOW_BATCH];
        let mut strong = [[0u8; 32]; FOLLOW_BATCH];
        loop {
            let mut k = 0;
            while k < FOLLOW_BATCH {
                let Some(window) = self.buf.get(pos + k * bl..pos + (k + 1) * bl) else {
                    break;
                };
                let Some(e) = first.checked_add(matched + k as u32) else {
                    break;
                };
                if self.sig.block_len_of(u64::from(e)) != Some(bl as u64)
                    || self.sig.weak(e as usize) != Some(R::new(window).digest())
                {
                    break;
                }
                windows[k] = window;
                k += 1;
            }
            if k == 0 {
                return matched;
            }
            self.strong_many(&windows[..k], &mut strong[..k]);
            for h in &strong[..k] {
                // `first + matched` is one of the blocks checked above.
                let e = first + matched;
                if self.sig.strong(e as usize) != Some(&h[..l]) {
                    return matched;
                }
                matched += 1;
                pos += bl;
            }
        }
    }

    /// [`strong`](Self::strong) of each window, into `out`.
    fn strong_many(&self, windows: &[&[u8]], out: &mut [[u8; 32]]) {
        match self.sig.kind() {
            SignatureKind::RdiffRabinKarp | SignatureKind::RdiffRollsum => {
                blake2_blocks(windows, out)
            }
            _ => {
                for (o, w) in out.iter_mut().zip(windows) {
                    *o = self.strong(w);
                }
            }
        }
    }

    fn search_with<R: Rolling>(&mut self, get: fn(Sum) -> Option<R>, put: fn(R) -> Sum) {
        let bl = self.bl;
        // `buf[lit..pos]` is the pending literal, the window starts at `pos`.
        let mut lit = 0usize;
        let mut pos = self.pos;
        while pos + bl <= self.buf.len() && self.out.len() < HIGH_WATER {
            let mut s = match self.sum.take().and_then(get) {
                Some(s) => s,
                None => R::new(&self.buf[pos..pos + bl]),
            };
            let limit = self.buf.len() - bl;
            let lit_cap = lit + MAX_PENDING_LITERAL;
            let found = {
                let buf = &self.buf[..];
                // Windows start at `pos..=last`; the bytes rolling out are
                // `buf[pos..last]`, those rolling in `buf[pos + bl..last + bl]`.
                let last = limit.min(lit_cap.max(pos));
                let outs = &buf[pos..last];
                let ins = &buf[pos + bl..last + bl];
                let mut hit = None;
                let mut from = 0;
                while from < outs.len() {
                    // Most windows are surely absent: skip them in a tight
                    // loop, then look at the one that may be present.
                    let at = from + skip_absent(&mut s, &outs[from..], &ins[from..], &self.index);
                    pos += at - from;
                    if at == outs.len() {
                        break;
                    }
                    if let Some(b) = self.find(s.digest(), &buf[pos..pos + bl]) {
                        hit = Some(b);
                        break;
                    }
                    s.roll(outs[at], ins[at]);
                    pos += 1;
                    from = at + 1;
                }
                if hit.is_none() && pos == last {
                    let w = s.digest();
                    if self.index.maybe(w) {
                        hit = self.find(w, &buf[pos..pos + bl]);
                    }
                }
                hit
            };
            match found {
                Some(b) => {
                    self.enc.literal(&self.buf[lit..pos], self.out.buf());
                    self.stats.literal_bytes += (pos - lit) as u64;
                    self.enc
                        .copy(u64::from(b) * bl as u64, bl as u64, self.out.buf());
                    self.stats.matched_bytes += bl as u64;
                    self.next_expected = b.checked_add(1);
                    pos += bl;
                    // The blocks after `b` often follow it in the new file
                    // too: check them in batches.
                    if let Some(next) = self.next_expected {
                        let k = self.follow::<R>(pos, next);
                        if k > 0 {
                            let len = u64::from(k) * bl as u64;
                            self.enc
                                .copy(u64::from(next) * bl as u64, len, self.out.buf());
                            self.stats.matched_bytes += len;
                            self.next_expected = next.checked_add(k);
                            pos += k as usize * bl;
                        }
                    }
                    lit = pos;
                }
                None if pos >= lit_cap => {
                    self.enc.literal(&self.buf[lit..pos], self.out.buf());
                    self.stats.literal_bytes += (pos - lit) as u64;
                    lit = pos;
                    self.sum = Some(put(s));
                }
                None => {
                    self.sum = Some(put(s));
                    break;
                }
            }
        }
        // Keep only the pending literal and what follows.
        self.unsearched = self.out.len() >= HIGH_WATER && pos + bl <= self.buf.len();
        self.buf.drain(..lit);
        self.pos = pos - lit;
    }

    /// Handles the tail (shorter than a block) and ends the delta.
    fn finish(&mut self) {
        let mut lit_end = self.buf.len();
        // The basis's short last block can match the new file's end.
        let n = self.sig.block_count();
        if self.sig.kind().is_rha() && n > 0 {
            if let Some(short) = self.sig.block_len_of(n - 1) {
                let short = short as usize;
                if short < self.bl && short <= self.buf.len() {
                    let tail = &self.buf[self.buf.len() - short..];
                    let (s1, s2) = rha_sums(tail);
                    let l = usize::from(self.sig.strong_len());
                    if self.sig.weak(n as usize - 1) == Some(rha_mix(s1, s2))
                        && self.sig.strong(n as usize - 1) == Some(&self.strong(tail)[..l])
                    {
                        lit_end -= short;
                    }
                }
            }
        }
        let buf = mem::take(&mut self.buf);
        self.enc.literal(&buf[..lit_end], self.out.buf());
        self.stats.literal_bytes += lit_end as u64;
        if lit_end < buf.len() {
            let len = (buf.len() - lit_end) as u64;
            self.enc.copy((n - 1) * self.bl as u64, len, self.out.buf());
            self.stats.matched_bytes += len;
        }
        let hash = self
            .file
            .take()
            .map_or(self.external_hash.unwrap_or([0; 32]), FileHasher::finalize);
        self.enc.end(self.fed, &hash, self.out.buf());
    }
}

/// The delta of `new` against `sig`, in one call.
pub fn delta_of(
    sig: Signature,
    new: &[u8],
    format: DeltaFormat,
) -> Result<(Vec<u8>, DeltaStats), JobError> {
    let mut job = DeltaJob::new(sig, format);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut input = new;
    loop {
        let p = job.run(input, &mut buf, true)?;
        input = &input[p.consumed..];
        out.extend_from_slice(&buf[..p.produced]);
        if p.done {
            return Ok((out, job.stats()));
        }
    }
}
