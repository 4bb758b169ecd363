//! Applying a delta: into a new output stream, or in place.

use std::io;
use std::sync::mpsc;

use super::error::{hex, PatchError};
use super::format::{Command, DeltaDecoder};
use super::hash::FileHasher;
use super::queue::Progress;

/// Random read access to a basis file or volume.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read
    /// (0 only at or past the end).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// Random write access, for patching in place.
pub trait WriteAt: ReadAt {
    /// Writes all of `data` at `offset`, extending the target if needed.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Sets the length, truncating or extending with zeros.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

impl ReadAt for &[u8] {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (&self[..]).read_at(offset, buf)
    }
}

impl WriteAt for Vec<u8> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = start
            .checked_add(data.len())
            .ok_or_else(|| io::Error::other("offset overflow"))?;
        if end > self.len() {
            self.resize(end, 0);
        }
        self[start..end].copy_from_slice(data);
        Ok(())
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.resize(usize::try_from(len).map_err(io::Error::other)?, 0);
        Ok(())
    }
}

/// Settings of a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchOptions {
    /// The most output bytes the delta may produce. Default: unlimited.
    pub max_output: u64,
    /// The basis length, if known: copies past it fail before any read.
    pub basis_len: Option<u64>,
}

impl Default for PatchOptions {
    fn default() -> Self {
        Self {
            max_output: u64::MAX,
            basis_len: None,
        }
    }
}

impl PatchOptions {
    /// Sets [`max_output`](Self::max_output).
    pub fn max_output(mut self, bytes: u64) -> Self {
        self.max_output = bytes;
        self
    }
    /// Sets [`basis_len`](Self::basis_len).
    pub fn basis_len(mut self, len: Option<u64>) -> Self {
        self.basis_len = len;
        self
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Current {
    Idle,
    Copy { from: u64, left: u64 },
    Literal { at: usize, len: usize },
    Zero { left: u64 },
}

/// Applies a delta (rha or rdiff format) fed in chunks of any size to a
/// basis read at random, producing the new file as a stream. Memory: one
/// delta command (at most 1 MiB), whatever the file size.
///
/// For an rha delta the output's whole-file hash is checked at the end: a
/// mismatch is [`PatchError::HashMismatch`], and the caller should discard
/// the output and fall back to a full copy.
#[derive(Debug)]
pub struct PatchJob<B> {
    basis: B,
    options: PatchOptions,
    dec: DeltaDecoder,
    cur: Current,
    produced: u64,
    hasher: Option<FileHasher>,
    /// The caller hashes the output itself ([`patch_of`] on a second
    /// thread) and checks it against [`Self::expected`].
    hash_outside: bool,
    /// The delta's whole-file hash, once its end is decoded (only with
    /// `hash_outside`).
    expected: Option<[u8; 32]>,
    done: bool,
    failed: bool,
    /// The job's `tracing` span: open from `new` until the job is dropped.
    span: tracing::Span,
}

impl<B: ReadAt> PatchJob<B> {
    /// A job reading copies from `basis`.
    pub fn new(basis: B, options: PatchOptions) -> Self {
        let span = tracing::debug_span!("patch_job", max_output = options.max_output);
        Self {
            basis,
            options,
            dec: DeltaDecoder::new(),
            cur: Current::Idle,
            produced: 0,
            hasher: None,
            hash_outside: false,
            expected: None,
            done: false,
            failed: false,
            span,
        }
    }

    /// Output bytes produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Gives the basis back.
    pub fn into_basis(self) -> B {
        self.basis
    }

    /// Consumes delta bytes from `input` and writes output bytes to
    /// `output`. Call again with the unconsumed input (and more) until
    /// [`Progress::done`]; `end` says no more input will come (a delta that
    /// has not ended by then is truncated).
    pub fn run(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        end: bool,
    ) -> Result<Progress, PatchError> {
        if self.failed {
            return Err(PatchError::Finished);
        }
        let r = self.step(input, output, end);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn step(&mut self, input: &[u8], output: &mut [u8], end: bool) -> Result<Progress, PatchError> {
        let mut rest = input;
        let mut p = Progress::default();
        loop {
            // Work on the current command while there is output room.
            if p.produced < output.len() {
                let room = &mut output[p.produced..];
                let n = self.advance(room)?;
                if let Some(h) = &mut self.hasher {
                    h.update(&room[..n]);
                }
                p.produced += n;
                self.produced += n as u64;
            }
            if !matches!(self.cur, Current::Idle) {
                // Output is full.
                break;
            }
            if self.done {
                if !rest.is_empty() {
                    // Bytes after the end marker: the decoder names them
                    // with their offset.
                    self.dec.next(&mut rest)?;
                    return Err(PatchError::Finished);
                }
                // Done once the caller says nothing follows, so bytes after
                // the end in a later chunk are still found.
                p.done = end;
                break;
            }
            match self.dec.next(&mut rest)? {
                None => {
                    if end {
                        self.dec.finish()?;
                    }
                    break;
                }
                Some(cmd) => {
                    let cmd = own(cmd);
                    self.start(cmd)?;
                }
            }
        }
        p.consumed = input.len() - rest.len();
        Ok(p)
    }

    fn start(&mut self, cmd: Owned) -> Result<(), PatchError> {
        if self.hasher.is_none() && !self.hash_outside {
            self.hasher = self.dec.block_len().map(FileHasher::new);
        }
        let len = match cmd {
            Owned::Copy { start, len } => {
                if let Some(basis_len) = self.options.basis_len {
                    if start.checked_add(len).is_none_or(|e| e > basis_len) {
                        return Err(PatchError::CopyOutOfRange {
                            offset: self.dec.offset(),
                            start,
                            len,
                            basis_len,
                        });
                    }
                }
                self.cur = Current::Copy {
                    from: start,
                    left: len,
                };
                len
            }
            Owned::Literal(len) => {
                self.cur = Current::Literal { at: 0, len };
                len as u64
            }
            Owned::Zero(len) => {
                self.cur = Current::Zero { left: len };
                len
            }
            Owned::Basis { len, hash } => {
                let block_len = self.dec.block_len().unwrap_or(1);
                check_basis(&mut self.basis, (len, &hash), None, block_len)?;
                0
            }
            Owned::End { hash } => {
                self.expected = hash;
                if let (Some(expected), Some(h)) = (hash, self.hasher.take()) {
                    let actual = h.finalize();
                    if actual != expected {
                        return Err(PatchError::HashMismatch {
                            expected: hex(&expected),
                            actual: hex(&actual),
                        });
                    }
                }
                self.done = true;
                tracing::debug!(parent: &self.span, bytes = self.produced, "patch applied");
                0
            }
        };
        if self.produced.saturating_add(len) > self.options.max_output {
            return Err(PatchError::OutputTooLarge {
                max: self.options.max_output,
            });
        }
        Ok(())
    }

    /// Fills `room` from the current command; returns the bytes written.
    fn advance(&mut self, room: &mut [u8]) -> Result<usize, PatchError> {
        fill(&mut self.cur, &mut self.basis, self.dec.literal(), room)
    }
}

/// Fills `room` from the command `cur` (a copy read from `basis`, the
/// decoder's `literal`, or zeros), advancing it; returns the bytes written.
/// Shared by the patch jobs.
pub(crate) fn fill<B: ReadAt>(
    cur: &mut Current,
    basis: &mut B,
    literal: &[u8],
    room: &mut [u8],
) -> Result<usize, PatchError> {
    match *cur {
        Current::Idle => Ok(0),
        Current::Copy { from, left } => {
            let want = (left.min(room.len() as u64)) as usize;
            let mut got = 0;
            while got < want {
                let at = from + got as u64;
                let n = basis
                    .read_at(at, &mut room[got..want])
                    .map_err(|source| PatchError::Basis { offset: at, source })?;
                if n == 0 {
                    return Err(PatchError::Basis {
                        offset: at,
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the basis ends before the copy does",
                        ),
                    });
                }
                got += n;
            }
            let left = left - want as u64;
            *cur = if left == 0 {
                Current::Idle
            } else {
                Current::Copy {
                    from: from + want as u64,
                    left,
                }
            };
            Ok(want)
        }
        Current::Literal { at, len } => {
            let data = literal;
            let n = (len - at).min(room.len());
            room[..n].copy_from_slice(&data[at..at + n]);
            *cur = if at + n == len {
                Current::Idle
            } else {
                Current::Literal { at: at + n, len }
            };
            Ok(n)
        }
        Current::Zero { left } => {
            let n = (left.min(room.len() as u64)) as usize;
            room[..n].fill(0);
            *cur = if left == n as u64 {
                Current::Idle
            } else {
                Current::Zero {
                    left: left - n as u64,
                }
            };
            Ok(n)
        }
    }
}

/// A command without the borrow of the decoder (literal data stays there).
#[derive(Debug, Clone, Copy)]
enum Owned {
    Copy { start: u64, len: u64 },
    Literal(usize),
    Zero(u64),
    Basis { len: u64, hash: [u8; 32] },
    End { hash: Option<[u8; 32]> },
}

fn own(cmd: Command<'_>) -> Owned {
    match cmd {
        Command::Copy { start, len } => Owned::Copy { start, len },
        Command::Literal(d) => Owned::Literal(d.len()),
        Command::Zero { len } => Owned::Zero(len),
        Command::Basis { len, hash, .. } => Owned::Basis { len, hash },
        Command::End { hash, .. } => Owned::End { hash },
    }
}

/// Applies `delta` to `basis` in one call, returning the new file. The
/// whole-file hash is computed on a second thread while the output is
/// produced (on the calling thread if that thread cannot be started).
pub fn patch_of<B: ReadAt>(basis: B, delta: &[u8], max_output: u64) -> Result<Vec<u8>, PatchError> {
    const CHUNK: usize = 256 << 10;
    let mut job = PatchJob::new(basis, PatchOptions::default().max_output(max_output));
    job.hash_outside = true;
    // Filled chunks go to the hashing thread and come back empty, so the
    // two threads share a few cache-sized buffers.
    let (full_tx, full_rx) = mpsc::sync_channel::<(u32, Vec<u8>)>(2);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("rha-hash".into())
            .spawn_scoped(scope, move || {
                let mut hasher: Option<FileHasher> = None;
                for (block_len, chunk) in full_rx {
                    hasher
                        .get_or_insert_with(|| FileHasher::new(block_len))
                        .update(&chunk);
                    // The producer may have stopped after an error.
                    let _ = empty_tx.send(chunk);
                }
                hasher
            })
            .ok();
        let mut inline: Option<FileHasher> = None;
        let mut free: Vec<Vec<u8>> = Vec::new();
        let mut allocated = 0;
        let mut out = Vec::new();
        let mut input = delta;
        let result = loop {
            let mut buf = match free.pop() {
                Some(b) => b,
                None if allocated < 3 => {
                    allocated += 1;
                    Vec::new()
                }
                None => match empty_rx.recv() {
                    Ok(b) => b,
                    // Only if the hashing thread panicked (the join
                    // below reports it).
                    Err(_) => break Err(PatchError::Finished),
                },
            };
            buf.resize(CHUNK, 0);
            let p = match job.run(input, &mut buf, true) {
                Ok(p) => p,
                Err(e) => break Err(e),
            };
            input = &input[p.consumed..];
            out.extend_from_slice(&buf[..p.produced]);
            buf.truncate(p.produced);
            match (job.dec.block_len(), &handle) {
                (Some(bl), Some(_)) if !buf.is_empty() => {
                    if full_tx.send((bl, buf)).is_err() {
                        break Err(PatchError::Finished);
                    }
                }
                (Some(bl), None) => {
                    inline
                        .get_or_insert_with(|| FileHasher::new(bl))
                        .update(&buf);
                    free.push(buf);
                }
                _ => free.push(buf),
            }
            if p.done {
                break Ok(());
            }
            if p.consumed == 0 && p.produced == 0 {
                // `run` with `end` fails on a truncated delta; this is
                // unreachable but keeps the loop finite whatever happens.
                break Err(PatchError::Finished);
            }
        };
        drop(full_tx);
        let hasher = match handle {
            Some(h) => match h.join() {
                Ok(hasher) => hasher,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            None => inline,
        };
        result?;
        if let (Some(expected), Some(bl)) = (job.expected, job.dec.block_len()) {
            let actual = hasher.unwrap_or_else(|| FileHasher::new(bl)).finalize();
            if actual != expected {
                return Err(PatchError::HashMismatch {
                    expected: hex(&expected),
                    actual: hex(&actual),
                });
            }
        }
        Ok(out)
    })
}

/// Applies a delta to a target in place: identity copies (a block staying
/// where it is) cost nothing, literals and zero runs are written, and the
/// target is truncated or extended to the delta's length. A copy that moves
/// data is [`PatchError::NotInPlace`]: produce such deltas with the
/// fixed-offset mode. An rha delta's whole-file hash is checked by reading
/// the target back.
///
/// A delta that names its basis (fixed-offset deltas do) is checked against
/// the target before anything is written, reading it once: another file is
/// [`PatchError::WrongBasis`], untouched. A target that already is the
/// delta's result is accepted and left as it is
/// ([`already_patched`](Self::already_patched)), so re-running a patch
/// that completed is harmless.
#[derive(Debug)]
pub struct InPlacePatch<T> {
    target: T,
    dec: DeltaDecoder,
    pos: u64,
    max_output: u64,
    written: u64,
    /// The target already is the delta's result: nothing is written.
    already_patched: bool,
    done: bool,
}

impl<T: WriteAt> InPlacePatch<T> {
    /// A patch of `target`, refusing results longer than `max_output`.
    pub fn new(target: T, max_output: u64) -> Self {
        Self {
            target,
            dec: DeltaDecoder::new(),
            pos: 0,
            max_output,
            written: 0,
            already_patched: false,
            done: false,
        }
    }

    /// Bytes written to the target so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Whether the delta named its result and the target already was that
    /// result (a patch applied before, whose run ended before it could
    /// report): the delta is checked to its end but nothing is written.
    pub fn already_patched(&self) -> bool {
        self.already_patched
    }

    /// Gives the target back.
    pub fn into_target(self) -> T {
        self.target
    }

    /// Consumes delta bytes; returns how many and whether the delta ended
    /// (and verified). `end` says no more input will come; the job is done
    /// only once it was given, and bytes after the delta's end marker are a
    /// [`DeltaErrorKind::TrailingBytes`](super::DeltaErrorKind) error.
    pub fn run(&mut self, input: &[u8], end: bool) -> Result<Progress, PatchError> {
        let mut rest = input;
        while !self.done {
            let at = self.dec.offset();
            let Some(cmd) = self.dec.next(&mut rest)? else {
                if end {
                    self.dec.finish()?;
                }
                break;
            };
            let len = match cmd {
                Command::Copy { len, .. } | Command::Zero { len } => len,
                Command::Literal(d) => d.len() as u64,
                Command::Basis { .. } | Command::End { .. } => 0,
            };
            if self.pos.saturating_add(len) > self.max_output {
                return Err(PatchError::OutputTooLarge {
                    max: self.max_output,
                });
            }
            match cmd {
                Command::Basis {
                    len,
                    hash,
                    new_len,
                    new_hash,
                } => {
                    // A target already patched (a run that ended before it
                    // could report) is accepted, and left as it is.
                    let block_len = self.dec.block_len().unwrap_or(1);
                    let found = check_basis(
                        &mut self.target,
                        (len, &hash),
                        Some((new_len, &new_hash)),
                        block_len,
                    )?;
                    self.already_patched = found == BasisIs::Result;
                }
                Command::Copy { start, len } => {
                    if start != self.pos {
                        return Err(PatchError::NotInPlace {
                            offset: at,
                            start,
                            to: self.pos,
                        });
                    }
                    // The data a copy keeps must be there: a copy past the
                    // target's end would leave zeros once the length is set.
                    // Everything at or after `pos` is still the original
                    // target (earlier commands wrote only before it).
                    let end = start.saturating_add(len);
                    if len > 0 && !has_byte(&mut self.target, end - 1)? {
                        return Err(PatchError::CopyOutOfRange {
                            offset: at,
                            start,
                            len,
                            basis_len: readable_len(&mut self.target, end)?,
                        });
                    }
                    self.pos += len;
                }
                Command::Literal(d) if self.already_patched => self.pos += d.len() as u64,
                Command::Zero { len } if self.already_patched => self.pos += len,
                Command::End { .. } if self.already_patched => {
                    // The decoder checked that the end declares the result
                    // the basis command announced, which the target has.
                    self.done = true;
                }
                Command::Literal(d) => {
                    let pos = self.pos;
                    self.target
                        .write_at(pos, d)
                        .map_err(|source| PatchError::Target {
                            offset: pos,
                            source,
                        })?;
                    self.written += d.len() as u64;
                    self.pos += d.len() as u64;
                }
                Command::Zero { len } => {
                    let zeros = [0u8; 64 << 10];
                    let mut left = len;
                    while left > 0 {
                        let n = left.min(zeros.len() as u64) as usize;
                        let pos = self.pos;
                        self.target.write_at(pos, &zeros[..n]).map_err(|source| {
                            PatchError::Target {
                                offset: pos,
                                source,
                            }
                        })?;
                        self.pos += n as u64;
                        self.written += n as u64;
                        left -= n as u64;
                    }
                }
                Command::End { hash, .. } => {
                    let pos = self.pos;
                    self.target
                        .set_len(pos)
                        .map_err(|source| PatchError::Target {
                            offset: pos,
                            source,
                        })?;
                    if let (Some(expected), Some(bl)) = (hash, self.dec.block_len()) {
                        let actual = read_back_hash(&mut self.target, pos, bl)?;
                        if actual != expected {
                            return Err(PatchError::HashMismatch {
                                expected: hex(&expected),
                                actual: hex(&actual),
                            });
                        }
                    }
                    self.done = true;
                }
            }
        }
        if self.done && !rest.is_empty() {
            // Bytes after the end marker: the decoder names them.
            self.dec.next(&mut rest)?;
        }
        Ok(Progress {
            consumed: input.len() - rest.len(),
            produced: 0,
            // Done once the caller says nothing follows, so bytes after the
            // end in a later chunk are still found.
            done: self.done && end,
        })
    }
}

/// Whether `target` has a byte at `offset`.
fn has_byte<T: ReadAt>(target: &mut T, offset: u64) -> Result<bool, PatchError> {
    let mut byte = [0u8; 1];
    let n = target
        .read_at(offset, &mut byte)
        .map_err(|source| PatchError::Basis { offset, source })?;
    Ok(n == 1)
}

/// The length of `target`, known to be below `limit`: a binary search of
/// one-byte reads (at most 64), for error messages.
fn readable_len<T: ReadAt>(target: &mut T, limit: u64) -> Result<u64, PatchError> {
    let (mut lo, mut hi) = (0u64, limit);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if has_byte(target, mid)? {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// What a basis check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BasisIs {
    /// The basis the delta was made against.
    Basis,
    /// Already the delta's result (only looked for when asked).
    Result,
}

/// Checks that `basis` is the file a delta's basis command names: exactly
/// `want.0` bytes with whole-file hash `want.1`, or, when `result` is
/// given, already the delta's result. Lengths are checked first (a few
/// one-byte reads), the hash by reading the whole basis once.
pub(crate) fn check_basis<T: ReadAt>(
    basis: &mut T,
    want: (u64, &[u8; 32]),
    result: Option<(u64, &[u8; 32])>,
    block_len: u32,
) -> Result<BasisIs, PatchError> {
    let (len, hash) = want;
    let actual_len = length_of(basis, len)?;
    let wrong = |actual_hash: Option<String>| PatchError::WrongBasis {
        expected_len: len,
        expected_hash: hex(hash),
        actual_len,
        actual_hash,
    };
    let result = result.filter(|r| r.0 == actual_len);
    if actual_len != len && result.is_none() {
        return Err(wrong(None));
    }
    let actual = read_back_hash(basis, actual_len, block_len)?;
    if actual_len == len && actual == *hash {
        Ok(BasisIs::Basis)
    } else if result.is_some_and(|r| actual == *r.1) {
        Ok(BasisIs::Result)
    } else {
        Err(wrong(Some(hex(&actual))))
    }
}

/// The length of `file`, expected to be `guess`: two one-byte reads when
/// it is, otherwise a search of at most about 130.
fn length_of<T: ReadAt>(file: &mut T, guess: u64) -> Result<u64, PatchError> {
    if guess > 0 && !has_byte(file, guess - 1)? {
        return readable_len(file, guess);
    }
    if !has_byte(file, guess)? {
        return Ok(guess);
    }
    // Longer: find a bound by doubling, then a binary search.
    let mut hi = guess.saturating_add(1);
    while hi < u64::MAX && has_byte(file, hi)? {
        hi = hi.saturating_mul(2);
    }
    readable_len(file, hi)
}

/// The whole-file hash of the first `len` bytes of `target`.
pub(crate) fn read_back_hash<T: ReadAt>(
    target: &mut T,
    len: u64,
    block_len: u32,
) -> Result<[u8; 32], PatchError> {
    let mut h = FileHasher::new(block_len);
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let want = (len - at).min(buf.len() as u64) as usize;
        let n = target
            .read_at(at, &mut buf[..want])
            .map_err(|source| PatchError::Basis { offset: at, source })?;
        if n == 0 {
            return Err(PatchError::Basis {
                offset: at,
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "target shorter than expected",
                ),
            });
        }
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok(h.finalize())
}
