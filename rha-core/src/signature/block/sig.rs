//! Block signatures: the streaming [`SignatureJob`] that writes them, the
//! in-memory [`Signature`], and the [`SignatureLoader`] that reads rha and
//! rdiff signatures. Byte layout: `docs/signature-format.md`.

use std::mem;

use super::error::{JobError, SignatureError, SignatureErrorKind};
use super::hash::{blake3_block, xxh3_block, FileHasher};
use super::parallel::Pool;
use super::params::{SignatureParams, StrongHash, MAX_STRONG_LEN, MIN_BLOCK_LEN, MIN_STRONG_LEN};
use super::queue::{OutQueue, Progress, HIGH_WATER};
use super::rolling::{rha_mix, rha_sums};

/// Magic bytes of an rha block signature.
pub const SIGNATURE_MAGIC: [u8; 4] = *b"RHBS";
/// The newest signature format version this library writes and reads.
/// Signatures with BLAKE3 block hashes are still written as version 1,
/// which every reader of this format understands; version 2 adds the
/// strong-hash field (XXH3).
pub const SIGNATURE_VERSION: u16 = 2;
/// Length of the signature header.
pub const SIGNATURE_HEADER_LEN: usize = 32;
/// Block entries per checksummed group.
pub const SIGNATURE_GROUP_ENTRIES: u64 = 1024;
/// Length of the signature trailer (whole-file hash and checksum).
pub const SIGNATURE_TRAILER_LEN: usize = 36;
/// Default bound on the blocks a loaded signature may have (64 Mi).
pub const DEFAULT_MAX_BLOCKS: u64 = 1 << 26;

/// librsync magic: MD4 strong sums, rollsum weak sums.
pub const RDIFF_MD4_MAGIC: u32 = 0x7273_0136;
/// librsync magic: BLAKE2 strong sums, rollsum weak sums.
pub const RDIFF_BLAKE2_MAGIC: u32 = 0x7273_0137;
/// librsync magic: MD4 strong sums, RabinKarp weak sums.
pub const RDIFF_RK_MD4_MAGIC: u32 = 0x7273_0146;
/// librsync magic: BLAKE2 strong sums, RabinKarp weak sums (rdiff's default).
pub const RDIFF_RK_BLAKE2_MAGIC: u32 = 0x7273_0147;

// Header field offsets.
const OFF_VERSION: usize = 4;
const OFF_STRONG_LEN: usize = 6;
const OFF_FLAGS: usize = 7;
const OFF_BLOCK_LEN: usize = 8;
const OFF_STRONG_HASH: usize = 12;
const OFF_FILE_LEN: usize = 16;
const OFF_HEADER_CRC: usize = 28;

/// Which checksums a signature's entries hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureKind {
    /// rha: mixed rsync sums and BLAKE3, with a whole-file hash.
    Rha,
    /// rha: mixed rsync sums and XXH3-128, without a whole-file hash
    /// ([`StrongHash::Xxh3`]).
    RhaXxh3,
    /// librsync: RabinKarp and BLAKE2b (rdiff's default).
    RdiffRabinKarp,
    /// librsync: rollsum and BLAKE2b.
    RdiffRollsum,
}

/// A block signature held in memory: one weak checksum and one truncated
/// strong hash per block of the described file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    kind: SignatureKind,
    block_len: u32,
    strong_len: u8,
    file_len: Option<u64>,
    file_hash: Option<[u8; 32]>,
    weak: Vec<u32>,
    strong: Vec<u8>,
}

impl SignatureKind {
    /// Whether this is one of rha's own kinds (as opposed to rdiff's).
    pub fn is_rha(self) -> bool {
        matches!(self, Self::Rha | Self::RhaXxh3)
    }
}

impl Signature {
    /// Which checksums the entries hold.
    pub fn kind(&self) -> SignatureKind {
        self.kind
    }
    /// Block length in bytes.
    pub fn block_len(&self) -> u32 {
        self.block_len
    }
    /// Bytes of strong hash per block.
    pub fn strong_len(&self) -> u8 {
        self.strong_len
    }
    /// Length of the described file (rdiff signatures do not record it).
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }
    /// The described file's whole-file hash (rha signatures with BLAKE3
    /// block hashes only).
    pub fn file_hash(&self) -> Option<&[u8; 32]> {
        self.file_hash.as_ref()
    }
    /// Number of blocks.
    pub fn block_count(&self) -> u64 {
        self.weak.len() as u64
    }
    /// Weak checksum of block `i`.
    pub fn weak(&self, i: usize) -> Option<u32> {
        self.weak.get(i).copied()
    }
    /// Strong hash of block `i`.
    pub fn strong(&self, i: usize) -> Option<&[u8]> {
        let l = usize::from(self.strong_len);
        self.strong.get(i * l..(i + 1) * l)
    }
    /// The length of block `i` (the last may be short), if known.
    pub fn block_len_of(&self, i: u64) -> Option<u64> {
        let bl = u64::from(self.block_len);
        match self.file_len {
            Some(len) => {
                let start = i.checked_mul(bl)?;
                (start < len).then(|| (len - start).min(bl))
            }
            None => (i < self.block_count()).then_some(bl),
        }
    }

    pub(crate) fn weaks(&self) -> &[u32] {
        &self.weak
    }

    /// Reads a whole signature (rha or rdiff) from `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
        loader.feed(bytes)?;
        loader.finish()
    }

    /// Encodes an rha-kind signature in the rha format; `None` for rdiff
    /// kinds (the rdiff format is read, not written).
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let (hash, file_len) = match (self.kind, self.file_len, self.file_hash) {
            (SignatureKind::Rha, Some(len), Some(h)) => (StrongHash::Blake3, (len, h)),
            (SignatureKind::RhaXxh3, Some(len), None) => (StrongHash::Xxh3, (len, [0; 32])),
            _ => return None,
        };
        let (file_len, file_hash) = file_len;
        let mut w = EntryWriter::new(self.block_len, self.strong_len, file_len, hash);
        for i in 0..self.weak.len() {
            w.entry(self.weak[i], self.strong(i)?);
        }
        Some(w.finish(&file_hash))
    }
}

/// Writes headers, checksummed groups of entries and trailers.
#[derive(Debug)]
struct EntryWriter {
    out: Vec<u8>,
    header_crc: u32,
    strong_len: usize,
    group: u64,
    in_group: u64,
    group_start: usize,
}

impl EntryWriter {
    fn new(block_len: u32, strong_len: u8, file_len: u64, hash: StrongHash) -> Self {
        let mut h = [0u8; SIGNATURE_HEADER_LEN];
        h[..4].copy_from_slice(&SIGNATURE_MAGIC);
        let version: u16 = match hash {
            StrongHash::Blake3 => 1,
            StrongHash::Xxh3 => {
                h[OFF_STRONG_HASH] = STRONG_XXH3;
                2
            }
        };
        h[OFF_VERSION..OFF_VERSION + 2].copy_from_slice(&version.to_le_bytes());
        h[OFF_STRONG_LEN] = strong_len;
        h[OFF_BLOCK_LEN..OFF_BLOCK_LEN + 4].copy_from_slice(&block_len.to_le_bytes());
        h[OFF_FILE_LEN..OFF_FILE_LEN + 8].copy_from_slice(&file_len.to_le_bytes());
        let header_crc = crc32c::crc32c(&h[..OFF_HEADER_CRC]);
        h[OFF_HEADER_CRC..].copy_from_slice(&header_crc.to_le_bytes());
        Self {
            out: h.to_vec(),
            header_crc,
            strong_len: usize::from(strong_len),
            group: 0,
            in_group: 0,
            group_start: SIGNATURE_HEADER_LEN,
        }
    }

    fn entry(&mut self, weak: u32, strong: &[u8]) {
        self.out.extend_from_slice(&weak.to_le_bytes());
        self.out.extend_from_slice(&strong[..self.strong_len]);
        self.in_group += 1;
        if self.in_group == SIGNATURE_GROUP_ENTRIES {
            self.close_group();
        }
    }

    fn close_group(&mut self) {
        let crc = group_crc(self.group, &self.out[self.group_start..]);
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.group += 1;
        self.in_group = 0;
        self.group_start = self.out.len();
    }

    /// Moves the finished bytes into `q` (the writer keeps the open group's
    /// start offset relative to what it still holds).
    fn flush_into(&mut self, q: &mut Vec<u8>) {
        if self.in_group == 0 {
            q.append(&mut self.out);
            self.group_start = 0;
        } else if self.group_start > 0 {
            q.extend(self.out.drain(..self.group_start));
            self.group_start = 0;
        }
    }

    /// Rewrites the header for a file of `file_len` bytes; only while the
    /// header has not been flushed (a job whose length was not known).
    fn set_file_len(&mut self, file_len: u64) {
        let h = &mut self.out[..SIGNATURE_HEADER_LEN];
        h[OFF_FILE_LEN..OFF_FILE_LEN + 8].copy_from_slice(&file_len.to_le_bytes());
        self.header_crc = crc32c::crc32c(&h[..OFF_HEADER_CRC]);
        h[OFF_HEADER_CRC..].copy_from_slice(&self.header_crc.to_le_bytes());
    }

    fn finish(mut self, hash: &[u8; 32]) -> Vec<u8> {
        if self.in_group > 0 {
            self.close_group();
        }
        self.out.extend_from_slice(hash);
        let crc = trailer_crc(self.header_crc, hash);
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.out
    }
}

/// Strong-hash field values (version 2).
const STRONG_BLAKE3: u8 = 0;
const STRONG_XXH3: u8 = 1;

fn group_crc(group: u64, entries: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&group.to_le_bytes()), entries)
}

fn trailer_crc(header_crc: u32, hash: &[u8; 32]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header_crc.to_le_bytes()), hash)
}

/// Computes a block signature of a file fed in chunks of any size, with
/// memory bounded by one block plus the output not yet drained.
///
/// ```
/// use rha_core::signature::block::{Signature, SignatureJob, SignatureParams};
///
/// let data = vec![7u8; 10_000];
/// let mut job = SignatureJob::new(SignatureParams::new(data.len() as u64));
/// let mut out = vec![0u8; 64];
/// let (mut sig, mut input) = (Vec::new(), &data[..]);
/// loop {
///     let p = job.run(input, &mut out, true)?;
///     input = &input[p.consumed..];
///     sig.extend_from_slice(&out[..p.produced]);
///     if p.done { break; }
/// }
/// let sig = Signature::from_bytes(&sig)?;
/// assert_eq!((sig.block_count(), sig.file_len()), (10, Some(10_000)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SignatureJob {
    params: SignatureParams,
    threads: usize,
    fed: u64,
    partial: Vec<u8>,
    writer: EntryWriter,
    /// The whole-file hash (BLAKE3 signatures only).
    file: Option<FileHasher>,
    out: OutQueue,
    done: bool,
    /// The entry of a whole block of zeros, once needed.
    zero_block: Option<(u32, [u8; 32])>,
    /// Helper threads, started on the first step that uses them and kept
    /// until the job is dropped.
    pool: Option<Pool>,
    /// The job's `tracing` span: open from `new` until the job is dropped.
    span: tracing::Span,
    /// `params.file_len` is the input's length; otherwise it is learnt at
    /// the end and the whole signature waits for it (the header names it).
    len_known: bool,
}

/// Input taken per step on one thread.
const STEP: usize = 4 << 20;
/// Fewer blocks than this per thread in a step are hashed on the calling
/// thread.
const MIN_PARALLEL_BLOCKS: usize = 16;
/// Input hashed per task of a step spread over threads (at least a block):
/// small enough that a helper the system leaves waiting holds up little,
/// large enough that taking a task costs nothing measurable.
const TASK_BYTES: usize = 512 << 10;

impl SignatureJob {
    /// A job for a file of `params.file_len` bytes.
    pub fn new(params: SignatureParams) -> Self {
        Self {
            params,
            threads: 1,
            fed: 0,
            partial: Vec::new(),
            writer: EntryWriter::new(
                params.block_len,
                params.strong_len,
                params.file_len,
                params.strong_hash,
            ),
            file: (params.strong_hash == StrongHash::Blake3)
                .then(|| FileHasher::new(params.block_len)),
            out: OutQueue::default(),
            done: false,
            zero_block: None,
            pool: None,
            span: tracing::debug_span!(
                "signature_job",
                file_len = params.file_len,
                block_len = params.block_len
            ),
            len_known: true,
        }
    }

    /// A job for input whose length is not known in advance (a pipe):
    /// `params.file_len` is ignored, the block and strong-hash lengths are
    /// used as given. The header names the length, so the job produces
    /// nothing until the input ends and holds the whole signature until
    /// then: about `(4 + strong_len) / block_len` of the input (0.06% with
    /// 32 KiB blocks and 16-byte hashes). The input itself is not kept.
    /// [`params`](Self::params) tells the length once the job is done.
    ///
    /// ```
    /// use rha_core::signature::block::{signature_of, SignatureJob, SignatureParams};
    ///
    /// let data = vec![7u8; 10_000];
    /// let params = SignatureParams::new(data.len() as u64);
    /// let mut job = SignatureJob::with_unknown_len(SignatureParams { file_len: 0, ..params });
    /// let mut out = vec![0u8; 1 << 16];
    /// let p = job.run(&data, &mut out, true)?;
    /// assert!(p.done);
    /// assert_eq!(out[..p.produced], signature_of(&data, params)?[..]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_unknown_len(params: SignatureParams) -> Self {
        Self {
            len_known: false,
            ..Self::new(SignatureParams {
                file_len: 0,
                ..params
            })
        }
    }

    /// Hashes blocks on up to `threads` threads (the calling one included)
    /// while [`run`](Self::run) is given several MiB at a time; 1 (the
    /// default) keeps all work on the calling thread. The helper threads
    /// start with the first such call and end when the job is dropped. The
    /// output does not depend on it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.set_threads(threads);
        self
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

    /// Switches the strong hash; only before the job has consumed input.
    pub fn set_strong_hash(&mut self, hash: StrongHash) -> Result<(), JobError> {
        if self.fed > 0 || self.done {
            return Err(JobError::InvalidParams(
                "the strong hash can change only before the first input".into(),
            ));
        }
        let known = self.len_known;
        *self = Self::new(self.params.with_strong_hash(hash)).with_threads(self.threads);
        self.len_known = known;
        Ok(())
    }

    /// The parameters.
    pub fn params(&self) -> &SignatureParams {
        &self.params
    }

    /// Consumes file bytes from `input` and writes signature bytes to
    /// `output`; `end` says `input` holds the last of the file. Call again
    /// with the unconsumed input (and more) until [`Progress::done`].
    ///
    /// Fails if the file turns out longer or shorter than declared.
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
        if self.done {
            if !input.is_empty() {
                return Err(JobError::AfterEnd);
            }
            p.done = self.out.is_empty();
            return Ok(p);
        }
        let bl = self.params.block_len as usize;
        while self.out.len() < HIGH_WATER && p.consumed < input.len() {
            let take = (input.len() - p.consumed).min(self.step());
            let chunk = &input[p.consumed..p.consumed + take];
            let got = self.fed + take as u64;
            if self.len_known && got > self.params.file_len {
                return Err(JobError::InputLength {
                    declared: self.params.file_len,
                    got,
                });
            }
            self.fed = got;
            p.consumed += take;
            let mut rest = chunk;
            if !self.partial.is_empty() {
                let n = (bl - self.partial.len()).min(rest.len());
                self.partial.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                if self.partial.len() == bl {
                    let block = mem::take(&mut self.partial);
                    self.block(&block);
                    self.partial = block;
                    self.partial.clear();
                }
            }
            let whole = rest.len() / bl * bl;
            self.blocks(&rest[..whole]);
            self.partial.extend_from_slice(&rest[whole..]);
            if self.len_known {
                self.writer.flush_into(self.out.buf());
            }
            p.produced += self.out.drain_into(&mut output[p.produced..]);
        }
        if end && p.consumed == input.len() {
            if !self.len_known {
                self.params.file_len = self.fed;
                self.writer.set_file_len(self.fed);
            } else if self.fed != self.params.file_len {
                return Err(JobError::InputLength {
                    declared: self.params.file_len,
                    got: self.fed,
                });
            }
            if !self.partial.is_empty() {
                let block = mem::take(&mut self.partial);
                self.block(&block);
            }
            let hash = self.file.take().map_or([0; 32], FileHasher::finalize);
            let writer = mem::replace(
                &mut self.writer,
                EntryWriter::new(0, 0, 0, StrongHash::Blake3),
            );
            self.out.buf().extend_from_slice(&writer.finish(&hash));
            self.done = true;
            tracing::debug!(parent: &self.span, bytes = self.fed, "signature computed");
            p.produced += self.out.drain_into(&mut output[p.produced..]);
            p.done = self.out.is_empty();
        }
        Ok(p)
    }

    /// Like [`run`](Self::run) with `zeros` zero bytes as the input (a hole
    /// of a sparse file), without them being read or hashed one by one:
    /// every whole block of zeros has the same entry, computed once. The
    /// signature is exactly the one `run` makes from the zeros. Returns
    /// with [`Progress::consumed`] of the zeros taken (fewer while the
    /// output is full: call again with the rest after draining it); the
    /// file's end is still given to `run` (with `end` set, possibly with no
    /// input).
    pub fn run_zeros(&mut self, zeros: u64, output: &mut [u8]) -> Result<Progress, JobError> {
        let mut p = Progress {
            produced: self.out.drain_into(output),
            ..Progress::default()
        };
        let zeros = zeros.min(usize::MAX as u64);
        if zeros == 0 {
            return Ok(p);
        }
        if self.done {
            return Err(JobError::AfterEnd);
        }
        let got = self.fed.saturating_add(zeros);
        if self.len_known && got > self.params.file_len {
            return Err(JobError::InputLength {
                declared: self.params.file_len,
                got,
            });
        }
        let bl = u64::from(self.params.block_len);
        let mut left = zeros;
        if !self.partial.is_empty() {
            let n = (bl - self.partial.len() as u64).min(left);
            self.partial.resize(self.partial.len() + n as usize, 0);
            left -= n;
            if self.partial.len() as u64 == bl {
                let block = mem::take(&mut self.partial);
                self.block(&block);
                self.partial = block;
                self.partial.clear();
            }
        }
        if left >= bl {
            let (weak, strong) = *self.zero_block.get_or_insert_with(|| {
                block_entry(
                    &vec![0u8; bl as usize],
                    self.params.strong_hash,
                    self.params.strong_len,
                )
            });
            while left >= bl && self.out.len() < HIGH_WATER {
                // A group's worth at a time, then let the output drain.
                for _ in 0..(left / bl).min(SIGNATURE_GROUP_ENTRIES) {
                    self.push(weak, &strong, bl as usize);
                    left -= bl;
                }
                if self.len_known {
                    self.writer.flush_into(self.out.buf());
                }
                p.produced += self.out.drain_into(&mut output[p.produced..]);
            }
        }
        if left < bl {
            // Shorter than a block: the start of the next one.
            self.partial.resize(self.partial.len() + left as usize, 0);
            left = 0;
        }
        let taken = zeros - left;
        self.fed += taken;
        p.consumed = taken as usize;
        Ok(p)
    }

    /// Input taken per step. On several threads, as much as makes half of
    /// [`HIGH_WATER`] of entries (over 100 MiB with the usual block
    /// lengths): the threads wait for each other only at the end of a
    /// step, and a step can end no later than the caller's input.
    fn step(&self) -> usize {
        if self.threads == 1 {
            return STEP;
        }
        let entry = 4 + usize::from(self.params.strong_len);
        let blocks = (HIGH_WATER / 2 / entry).max(1);
        (blocks * self.params.block_len as usize).max(STEP * self.threads)
    }

    /// Adds the whole blocks of `data` (a multiple of the block length),
    /// spread over the job's threads when there are enough of them.
    fn blocks(&mut self, data: &[u8]) {
        let bl = self.params.block_len as usize;
        let n = data.len() / bl;
        if self.threads.min(n / MIN_PARALLEL_BLOCKS) < 2 {
            for block in data.chunks_exact(bl) {
                self.block(block);
            }
            return;
        }
        let (hash, len) = (self.params.strong_hash, self.params.strong_len);
        let per_task = (TASK_BYTES / bl).max(1) * bl;
        let threads = self.threads;
        let pool = self.pool.get_or_insert_with(|| Pool::new(threads - 1));
        let parts: Vec<Vec<(u32, [u8; 32])>> = pool.map(n.div_ceil(per_task / bl), |t| {
            data[t * per_task..data.len().min((t + 1) * per_task)]
                .chunks_exact(bl)
                .map(|b| block_entry(b, hash, len))
                .collect()
        });
        for (weak, strong) in parts.into_iter().flatten() {
            self.push(weak, &strong, bl);
        }
    }

    fn block(&mut self, block: &[u8]) {
        let (weak, strong) = block_entry(block, self.params.strong_hash, self.params.strong_len);
        self.push(weak, &strong, block.len());
    }

    fn push(&mut self, weak: u32, strong: &[u8; 32], len: usize) {
        self.writer.entry(weak, strong);
        if let Some(file) = &mut self.file {
            file.push_block(strong, len);
        }
    }
}

/// The weak checksum and full strong hash of one block.
fn block_entry(block: &[u8], hash: StrongHash, strong_len: u8) -> (u32, [u8; 32]) {
    let (s1, s2) = rha_sums(block);
    let strong = match hash {
        StrongHash::Blake3 => blake3_block(block),
        StrongHash::Xxh3 => xxh3_block(block, strong_len),
    };
    (rha_mix(s1, s2), strong)
}

/// The signature of `data`, in one call.
pub fn signature_of(data: &[u8], params: SignatureParams) -> Result<Vec<u8>, JobError> {
    let mut job = SignatureJob::new(params);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut input = data;
    loop {
        let p = job.run(input, &mut buf, true)?;
        input = &input[p.consumed..];
        out.extend_from_slice(&buf[..p.produced]);
        if p.done {
            return Ok(out);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoadState {
    Magic,
    RhaHeader,
    RdiffHeader,
    Group,
    Trailer,
    RdiffEntry,
    Done,
}

/// Reads a signature (rha format, or rdiff's BLAKE2 formats) fed in chunks
/// of any size. Memory: the signature's entries, bounded by `max_blocks`.
#[derive(Debug)]
pub struct SignatureLoader {
    state: LoadState,
    buf: Vec<u8>,
    offset: u64,
    max_blocks: u64,
    header_crc: u32,
    declared_blocks: u64,
    group: u64,
    sig: Signature,
}

impl SignatureLoader {
    /// A loader refusing signatures of more than `max_blocks` blocks.
    pub fn new(max_blocks: u64) -> Self {
        Self {
            state: LoadState::Magic,
            buf: Vec::new(),
            offset: 0,
            max_blocks,
            header_crc: 0,
            declared_blocks: 0,
            group: 0,
            sig: Signature {
                kind: SignatureKind::Rha,
                block_len: 0,
                strong_len: 0,
                file_len: None,
                file_hash: None,
                weak: Vec::new(),
                strong: Vec::new(),
            },
        }
    }

    fn err(&self, kind: SignatureErrorKind) -> SignatureError {
        SignatureError {
            offset: self.offset,
            kind,
        }
    }

    /// Bytes the next structure needs (0 when done).
    fn need(&self) -> usize {
        let entry = 4 + usize::from(self.sig.strong_len);
        match self.state {
            LoadState::Magic => 4,
            LoadState::RhaHeader => SIGNATURE_HEADER_LEN,
            LoadState::RdiffHeader => 12,
            LoadState::Group => {
                let left = self.declared_blocks - self.group * SIGNATURE_GROUP_ENTRIES;
                left.min(SIGNATURE_GROUP_ENTRIES) as usize * entry + 4
            }
            LoadState::Trailer => SIGNATURE_TRAILER_LEN,
            LoadState::RdiffEntry => entry,
            LoadState::Done => 0,
        }
    }

    /// Consumes all of `input`.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), SignatureError> {
        loop {
            let need = self.need();
            if need == 0 {
                if input.is_empty() {
                    return Ok(());
                }
                return Err(self.err(SignatureErrorKind::TrailingBytes));
            }
            if self.buf.is_empty() && input.len() >= need {
                let (unit, rest) = input.split_at(need);
                self.unit(unit)?;
                input = rest;
                continue;
            }
            let take = (need - self.buf.len()).min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.buf.len() < need {
                return Ok(());
            }
            let mut unit = mem::take(&mut self.buf);
            let r = self.unit(&unit);
            // `unit` may have started the next structure's buffer (the magic).
            if self.buf.is_empty() {
                unit.clear();
                self.buf = unit;
            }
            r?;
        }
    }

    /// Whether the next structure is complete only at the end of input.
    fn at_rdiff_boundary(&self) -> bool {
        self.state == LoadState::RdiffEntry && self.buf.is_empty()
    }

    /// The signature, once all input has been fed.
    pub fn finish(self) -> Result<Signature, SignatureError> {
        if self.state == LoadState::Done || self.at_rdiff_boundary() {
            Ok(self.sig)
        } else {
            Err(self.err(SignatureErrorKind::Truncated))
        }
    }

    fn unit(&mut self, u: &[u8]) -> Result<(), SignatureError> {
        match self.state {
            LoadState::Magic => {
                if u == SIGNATURE_MAGIC {
                    self.buf.extend_from_slice(u);
                    // The header is parsed whole; keep the magic.
                    self.state = LoadState::RhaHeader;
                    return Ok(());
                }
                let magic = u32::from_be_bytes([u[0], u[1], u[2], u[3]]);
                self.sig.kind = match magic {
                    RDIFF_RK_BLAKE2_MAGIC => SignatureKind::RdiffRabinKarp,
                    RDIFF_BLAKE2_MAGIC => SignatureKind::RdiffRollsum,
                    RDIFF_MD4_MAGIC | RDIFF_RK_MD4_MAGIC => {
                        return Err(self.err(SignatureErrorKind::UnsupportedRdiff(magic)))
                    }
                    _ => return Err(self.err(SignatureErrorKind::BadMagic)),
                };
                self.buf.extend_from_slice(u);
                self.state = LoadState::RdiffHeader;
                Ok(())
            }
            LoadState::RhaHeader => self.rha_header(u),
            LoadState::RdiffHeader => {
                let block_len = be32(&u[4..8]);
                let strong_len = be32(&u[8..12]);
                if block_len == 0 {
                    return Err(self.err(SignatureErrorKind::Invalid("block length 0")));
                }
                if !(1..=u32::from(MAX_STRONG_LEN)).contains(&strong_len) {
                    return Err(self.err(SignatureErrorKind::Invalid(
                        "strong sum length outside 1..=32",
                    )));
                }
                self.sig.block_len = block_len;
                self.sig.strong_len = strong_len as u8;
                self.offset += 12;
                self.state = LoadState::RdiffEntry;
                Ok(())
            }
            LoadState::Group => {
                let (entries, crc) = u.split_at(u.len() - 4);
                if group_crc(self.group, entries) != le32(crc) {
                    return Err(self.err(SignatureErrorKind::GroupChecksum { group: self.group }));
                }
                let l = usize::from(self.sig.strong_len);
                for e in entries.chunks_exact(4 + l) {
                    self.sig.weak.push(le32(&e[..4]));
                    self.sig.strong.extend_from_slice(&e[4..]);
                }
                self.group += 1;
                self.offset += u.len() as u64;
                if self.sig.block_count() == self.declared_blocks {
                    self.state = LoadState::Trailer;
                }
                Ok(())
            }
            LoadState::Trailer => {
                let mut hash = [0u8; 32];
                hash.copy_from_slice(&u[..32]);
                if trailer_crc(self.header_crc, &hash) != le32(&u[32..36]) {
                    return Err(self.err(SignatureErrorKind::TrailerChecksum));
                }
                if self.sig.kind == SignatureKind::RhaXxh3 {
                    if hash != [0; 32] {
                        return Err(self.err(SignatureErrorKind::Invalid(
                            "an XXH3 signature's whole-file hash is not zero",
                        )));
                    }
                } else {
                    self.sig.file_hash = Some(hash);
                }
                self.offset += u.len() as u64;
                self.state = LoadState::Done;
                Ok(())
            }
            LoadState::RdiffEntry => {
                if self.sig.block_count() >= self.max_blocks {
                    return Err(self.err(SignatureErrorKind::TooLarge {
                        blocks: self.sig.block_count() + 1,
                        max: self.max_blocks,
                    }));
                }
                self.sig.weak.push(be32(&u[..4]));
                self.sig.strong.extend_from_slice(&u[4..]);
                self.offset += u.len() as u64;
                Ok(())
            }
            LoadState::Done => Err(self.err(SignatureErrorKind::TrailingBytes)),
        }
    }

    fn rha_header(&mut self, u: &[u8]) -> Result<(), SignatureError> {
        // `u` is the whole header: `feed` collects `need()` bytes, and the
        // magic is still at the front of the buffer (or of `u`).
        if crc32c::crc32c(&u[..OFF_HEADER_CRC]) != le32(&u[OFF_HEADER_CRC..]) {
            return Err(self.err(SignatureErrorKind::HeaderChecksum));
        }
        let version = u16::from_le_bytes([u[OFF_VERSION], u[OFF_VERSION + 1]]);
        let kind = match (version, u[OFF_STRONG_HASH]) {
            (1, 0) | (2, STRONG_BLAKE3) => SignatureKind::Rha,
            (2, STRONG_XXH3) => SignatureKind::RhaXxh3,
            (1, _) => {
                return Err(self.err(SignatureErrorKind::Invalid("reserved bytes are not zero")))
            }
            (2, _) => return Err(self.err(SignatureErrorKind::Invalid("unknown strong hash"))),
            _ => return Err(self.err(SignatureErrorKind::UnsupportedVersion(version))),
        };
        let strong_len = u[OFF_STRONG_LEN];
        let block_len = le32(&u[OFF_BLOCK_LEN..OFF_BLOCK_LEN + 4]);
        let file_len = le64(&u[OFF_FILE_LEN..OFF_FILE_LEN + 8]);
        if !(MIN_STRONG_LEN..=MAX_STRONG_LEN).contains(&strong_len) {
            return Err(self.err(SignatureErrorKind::Invalid(
                "strong hash length outside 8..=32",
            )));
        }
        if !(MIN_BLOCK_LEN..=super::params::MAX_BLOCK_LEN).contains(&block_len) {
            return Err(self.err(SignatureErrorKind::Invalid("block length out of range")));
        }
        if u[OFF_FLAGS] != 0 || u[13..16] != [0; 3] || u[24..28] != [0; 4] {
            return Err(self.err(SignatureErrorKind::Invalid("reserved bytes are not zero")));
        }
        let blocks = file_len.div_ceil(u64::from(block_len));
        if blocks > self.max_blocks {
            return Err(self.err(SignatureErrorKind::TooLarge {
                blocks,
                max: self.max_blocks,
            }));
        }
        self.header_crc = le32(&u[OFF_HEADER_CRC..]);
        self.sig.kind = kind;
        self.sig.block_len = block_len;
        self.sig.strong_len = strong_len;
        self.sig.file_len = Some(file_len);
        self.declared_blocks = blocks;
        // Reserve what the header declares, up to a sane first step.
        let first = blocks.min(1 << 16) as usize;
        self.sig.weak.reserve(first);
        self.sig.strong.reserve(first * usize::from(strong_len));
        self.offset += SIGNATURE_HEADER_LEN as u64;
        self.state = if blocks == 0 {
            LoadState::Trailer
        } else {
            LoadState::Group
        };
        Ok(())
    }
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}
