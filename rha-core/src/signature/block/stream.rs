//! Whole-stream helpers: a signature, a delta or a patch in one call over
//! [`std::io`] readers and writers, like librsync's `rs_sig_file`,
//! `rs_delta_file` and `rs_patch_file`.
//!
//! Each reads its input in chunks of [`STREAM_CHUNK`] and writes as it
//! goes, so memory stays bounded whatever the length; none needs to know
//! the length of its streamed input in advance (a pipe works). The only
//! random access is a patch's basis ([`ReadAt`]).

use std::io::{self, Read, Write};

use super::delta::{DeltaJob, DeltaStats};
use super::error::{JobError, PatchError, SignatureError};
use super::format::DeltaFormat;
use super::params::{strong_len_for, SignatureParams, StrongHash};
use super::patch::{PatchJob, PatchOptions, ReadAt};
use super::queue::Progress;
use super::sig::{Signature, SignatureJob, SignatureLoader, DEFAULT_MAX_BLOCKS};

/// Input read per step (4 MiB: enough for several hashing threads). A
/// signature input that ends within the first chunk has a known length.
pub const STREAM_CHUNK: usize = 4 << 20;
/// Output room per step.
const ROOM: usize = 256 << 10;
/// For input of unknown length (beyond its first [`STREAM_CHUNK`]): the
/// block length is the automatic one of a file this long (32 KiB)...
pub const UNKNOWN_LEN_BLOCKS_FOR: u64 = 1 << 30;
/// ... and the strong hash is long enough for a file this long (1 TiB).
pub const UNKNOWN_LEN_STRONG_FOR: u64 = 1 << 40;

/// Options of the whole-stream helpers; the defaults are those of the
/// `rha signature`, `rha delta` and `rha patch` commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Signature block length; `None`: about the square root of the input
    /// length ([`SignatureParams::new`]).
    pub block_len: Option<u32>,
    /// Bytes of strong hash per block; `None`: [`strong_len_for`].
    pub strong_len: Option<u8>,
    /// Strong hash of a signature.
    pub strong_hash: StrongHash,
    /// Format of a delta.
    pub format: DeltaFormat,
    /// Threads that hash (signature) or hash the whole file beside the
    /// search (delta); 0: one per core. The output does not depend on it.
    pub threads: usize,
    /// The signature input's length from its current position, if known
    /// (a regular file); `None`: learnt by reading (see
    /// [`signature_stream`]).
    pub input_len: Option<u64>,
    /// A patch refuses to produce more than this many bytes.
    pub max_output: u64,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            block_len: None,
            strong_len: None,
            strong_hash: StrongHash::Blake3,
            format: DeltaFormat::Rha,
            threads: 0,
            input_len: None,
            max_output: u64::MAX,
        }
    }
}

impl StreamOptions {
    /// Sets [`block_len`](Self::block_len).
    pub fn block_len(mut self, len: Option<u32>) -> Self {
        self.block_len = len;
        self
    }
    /// Sets [`strong_len`](Self::strong_len).
    pub fn strong_len(mut self, len: Option<u8>) -> Self {
        self.strong_len = len;
        self
    }
    /// Sets [`strong_hash`](Self::strong_hash).
    pub fn strong_hash(mut self, hash: StrongHash) -> Self {
        self.strong_hash = hash;
        self
    }
    /// Sets [`format`](Self::format).
    pub fn format(mut self, format: DeltaFormat) -> Self {
        self.format = format;
        self
    }
    /// Sets [`threads`](Self::threads).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
    /// Sets [`input_len`](Self::input_len).
    pub fn input_len(mut self, len: Option<u64>) -> Self {
        self.input_len = len;
        self
    }
    /// Sets [`max_output`](Self::max_output).
    pub fn max_output(mut self, bytes: u64) -> Self {
        self.max_output = bytes;
        self
    }

    fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The signature parameters for input of `len` bytes (`None`:
    /// unknown).
    fn params(&self, len: Option<u64>) -> Result<SignatureParams, JobError> {
        let mut p = SignatureParams::new(len.unwrap_or(UNKNOWN_LEN_BLOCKS_FOR))
            .with_strong_hash(self.strong_hash);
        if let Some(bl) = self.block_len {
            p = p.with_block_len(bl)?;
        }
        if len.is_none() {
            p.strong_len = strong_len_for(UNKNOWN_LEN_STRONG_FOR, p.block_len);
        }
        if let Some(sl) = self.strong_len {
            p = p.with_strong_len(sl)?;
        }
        Ok(p)
    }
}

/// Which stream a [`StreamError::Read`] or [`StreamError::Write`] concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamRole {
    /// The file a signature describes, or a patch's basis.
    Basis,
    /// A signature.
    Signature,
    /// The new file a delta describes.
    New,
    /// A delta.
    Delta,
    /// A patch's output.
    Output,
}

impl std::fmt::Display for StreamRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StreamRole::Basis => "basis",
            StreamRole::Signature => "signature",
            StreamRole::New => "new file",
            StreamRole::Delta => "delta",
            StreamRole::Output => "output",
        })
    }
}

/// Why a whole-stream helper failed. What was written before the error
/// stays written: discard the output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// Reading an input failed.
    #[error("reading the {role}: {source}")]
    Read {
        /// The input.
        role: StreamRole,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// Writing the output failed.
    #[error("writing the {role}: {source}")]
    Write {
        /// The output.
        role: StreamRole,
        /// The writer's error.
        #[source]
        source: io::Error,
    },
    /// A parameter is out of range, or the input's length is not the one
    /// given in [`StreamOptions::input_len`] (it changed while read?).
    #[error(transparent)]
    Job(#[from] JobError),
    /// The signature does not load.
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    /// The patch failed: a corrupt or truncated delta, another basis, a
    /// hash mismatch, a basis that does not read.
    #[error(transparent)]
    Patch(#[from] PatchError),
    /// A job stopped making progress before its end (an internal error,
    /// reported rather than looping).
    #[error("the {role} stopped before its end")]
    Unfinished {
        /// The output concerned.
        role: StreamRole,
    },
}

/// The error for a job that did not finish at the end of its input.
fn finished(done: bool, role: StreamRole) -> Result<(), StreamError> {
    if done {
        Ok(())
    } else {
        Err(StreamError::Unfinished { role })
    }
}

/// Reads into `buf` until it is full or the input ends; returns the count
/// (short only at the end). Retries reads interrupted by a signal.
fn fill(input: &mut impl Read, buf: &mut [u8], role: StreamRole) -> Result<usize, StreamError> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(got) => n += got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(StreamError::Read { role, source }),
        }
    }
    Ok(n)
}

/// A piece of input: bytes, or a run of zeros known without reading them
/// (a hole of a sparse file), which a signature or delta job takes at the
/// cost of a hash per block rather than per byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Bytes of the input (which may hold zeros too).
    Data(&'a [u8]),
    /// This many zero bytes, not read.
    Zeros(u64),
}

/// Input handed out as [`Piece`]s, for [`signature_pieces`] and
/// [`delta_pieces`]: a reader that knows where a file's holes are (such as
/// `rha_capture`'s `SparseReader`), or any [`Read`] through the
/// whole-stream helpers.
pub trait PieceSource {
    /// The next piece, or `None` at the end.
    fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>>;
}

/// A [`Read`] as data pieces of [`STREAM_CHUNK`], the first of which may
/// have been read already.
struct ReadSource<R> {
    reader: R,
    buf: Vec<u8>,
    /// Bytes at the start of `buf` read but not handed out yet.
    pending: Option<usize>,
    eof: bool,
}

impl<R: Read> PieceSource for ReadSource<R> {
    fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>> {
        if self.eof {
            return Ok(None);
        }
        let n = match self.pending.take() {
            Some(n) => n,
            None => match fill(&mut self.reader, &mut self.buf, StreamRole::Basis) {
                Ok(n) => n,
                Err(StreamError::Read { source, .. }) => return Err(source),
                Err(e) => return Err(io::Error::other(e.to_string())),
            },
        };
        self.eof = n < self.buf.len();
        Ok((n > 0).then(|| Piece::Data(&self.buf[..n])))
    }
}

/// Feeds every piece of `source` to a job (`run` for data and the end,
/// `run_zeros` for holes), writing what it produces to `out`; fails if the
/// job does not finish at the end.
fn feed<E>(
    mut source: impl PieceSource,
    input_role: StreamRole,
    out: &mut impl Write,
    role: StreamRole,
    mut run: impl FnMut(&[u8], &mut [u8], bool) -> Result<Progress, E>,
    mut run_zeros: impl FnMut(u64, &mut [u8]) -> Result<Progress, E>,
) -> Result<(), StreamError>
where
    StreamError: From<E>,
{
    let mut room = vec![0u8; ROOM];
    loop {
        let piece = source.next_piece().map_err(|source| StreamError::Read {
            role: input_role,
            source,
        })?;
        match piece {
            None => break,
            Some(Piece::Data(d)) => {
                drive(d, false, &mut room, out, role, &mut run)?;
            }
            Some(Piece::Zeros(mut n)) => {
                while n > 0 {
                    let p = run_zeros(n, &mut room)?;
                    out.write_all(&room[..p.produced])
                        .map_err(|source| StreamError::Write { role, source })?;
                    n -= p.consumed as u64;
                    if p.consumed == 0 && p.produced == 0 {
                        return Err(StreamError::Unfinished { role });
                    }
                }
            }
        }
    }
    let done = drive(&[], true, &mut room, out, role, &mut run)?;
    finished(done, role)?;
    out.flush()
        .map_err(|source| StreamError::Write { role, source })
}

/// Feeds `input` (the last of it if `end`) through `run`, writing what it
/// produces to `out`, until the input is consumed (and, at the end, the
/// job is done); returns whether it is done.
fn drive<E>(
    mut input: &[u8],
    end: bool,
    room: &mut [u8],
    out: &mut impl Write,
    role: StreamRole,
    run: &mut impl FnMut(&[u8], &mut [u8], bool) -> Result<Progress, E>,
) -> Result<bool, StreamError>
where
    StreamError: From<E>,
{
    loop {
        let p = run(input, room, end)?;
        input = &input[p.consumed..];
        out.write_all(&room[..p.produced])
            .map_err(|source| StreamError::Write { role, source })?;
        if p.done {
            return Ok(true);
        }
        let stalled = p.consumed == 0 && p.produced == 0;
        if input.is_empty() && (!end || stalled) && p.produced < room.len() {
            return Ok(false);
        }
    }
}

/// Writes the block signature of everything `basis` yields to `out`, in
/// one call; returns its parameters (with the length read).
///
/// With [`StreamOptions::input_len`] the length is checked, otherwise it
/// is learnt: input that ends within the first [`STREAM_CHUNK`] gets the
/// same parameters (and signature) as a file of its length; longer input
/// of unknown length (a pipe) gets the block length of a 1 GiB file and a
/// strong hash long enough for 1 TiB (unless given), and its signature is
/// held in memory until the input ends ([`SignatureJob::with_unknown_len`]).
/// With the same parameters the signature is the same whichever way the
/// input came.
///
/// ```
/// use rha_core::signature::block::{signature_stream, Signature, StreamOptions};
///
/// let data = b"the quick brown fox ".repeat(1000);
/// let mut sig = Vec::new();
/// let params = signature_stream(&data[..], &mut sig, &StreamOptions::default())?;
/// assert_eq!(params.file_len, data.len() as u64);
/// assert_eq!(Signature::from_bytes(&sig)?.block_count(), params.block_count());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn signature_stream(
    mut basis: impl Read,
    out: impl Write,
    opts: &StreamOptions,
) -> Result<SignatureParams, StreamError> {
    let mut buf = vec![0u8; STREAM_CHUNK];
    let n = fill(&mut basis, &mut buf, StreamRole::Basis)?;
    let len = opts.input_len.or((n < buf.len()).then_some(n as u64));
    let source = ReadSource {
        reader: basis,
        buf,
        pending: Some(n),
        eof: false,
    };
    signature_pieces(source, len, out, opts)
}

/// [`signature_stream`] of input given as [`Piece`]s, whose holes are
/// hashed without being read; `len` is its length if known (else the
/// unknown-length parameters apply and the signature waits in memory for
/// the end). The signature is the one of the same bytes read whole.
pub fn signature_pieces(
    basis: impl PieceSource,
    len: Option<u64>,
    mut out: impl Write,
    opts: &StreamOptions,
) -> Result<SignatureParams, StreamError> {
    let params = opts.params(len)?;
    let job = match len {
        Some(_) => SignatureJob::new(params),
        None => SignatureJob::with_unknown_len(params),
    };
    let job = std::cell::RefCell::new(job.with_threads(opts.thread_count()));
    feed(
        basis,
        StreamRole::Basis,
        &mut out,
        StreamRole::Signature,
        |i, o, e| job.borrow_mut().run(i, o, e),
        |n, o| job.borrow_mut().run_zeros(n, o),
    )?;
    let params = *job.borrow().params();
    Ok(params)
}

/// Reads a whole signature (rha or rdiff format) from `sig`, holding at
/// most [`DEFAULT_MAX_BLOCKS`] blocks.
pub fn read_signature(mut sig: impl Read) -> Result<Signature, StreamError> {
    let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = fill(&mut sig, &mut buf, StreamRole::Signature)?;
        loader.feed(&buf[..n])?;
        if n < buf.len() {
            return Ok(loader.finish()?);
        }
    }
}

/// Writes to `out` the delta (in [`StreamOptions::format`]) that turns the
/// file `sig` describes into everything `new` yields, in one call.
pub fn delta_stream(
    sig: Signature,
    new: impl Read,
    out: impl Write,
    opts: &StreamOptions,
) -> Result<DeltaStats, StreamError> {
    let source = ReadSource {
        reader: new,
        buf: vec![0u8; STREAM_CHUNK],
        pending: None,
        eof: false,
    };
    delta_pieces(sig, source, out, opts)
}

/// [`delta_stream`] of a new file given as [`Piece`]s: its holes become
/// zero runs of the delta without being read.
pub fn delta_pieces(
    sig: Signature,
    new: impl PieceSource,
    mut out: impl Write,
    opts: &StreamOptions,
) -> Result<DeltaStats, StreamError> {
    let job = DeltaJob::new(sig, opts.format).with_threads(opts.thread_count());
    let job = std::cell::RefCell::new(job);
    feed(
        new,
        StreamRole::New,
        &mut out,
        StreamRole::Delta,
        |i, o, e| job.borrow_mut().run(i, o, e),
        |n, o| job.borrow_mut().run_zeros(n, o),
    )?;
    let stats = job.borrow().stats();
    Ok(stats)
}

/// Applies the delta `delta` yields to `basis` (read at random; give
/// [`PatchOptions::basis_len`] when known, so that a delta of another basis
/// is refused before anything is written), writing the new file to `out`;
/// returns its length. For an rha delta the whole-file hash is checked at
/// the end: on [`PatchError::HashMismatch`] (or any error) discard what
/// was written.
pub fn patch_stream<B: ReadAt>(
    basis: B,
    mut delta: impl Read,
    mut out: impl Write,
    options: PatchOptions,
) -> Result<u64, StreamError> {
    let mut job = PatchJob::new(basis, options);
    let mut buf = vec![0u8; 1 << 20];
    let mut room = vec![0u8; 1 << 20];
    loop {
        let n = fill(&mut delta, &mut buf, StreamRole::Delta)?;
        let eof = n < buf.len();
        let done = drive(
            &buf[..n],
            eof,
            &mut room,
            &mut out,
            StreamRole::Output,
            &mut |i, o, e| job.run(i, o, e),
        )?;
        if eof {
            finished(done, StreamRole::Output)?;
            break;
        }
    }
    out.flush().map_err(|source| StreamError::Write {
        role: StreamRole::Output,
        source,
    })?;
    Ok(job.produced())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::block::signature_of;

    /// Deterministic bytes that do not repeat at block scale.
    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// A reader that hands out at most `step` bytes a call and is
    /// interrupted before every other one, like a pipe read by a process
    /// that takes signals.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn trickle(data: &[u8]) -> Trickle<'_> {
        Trickle {
            data,
            step: 64 << 10,
            interrupt: false,
        }
    }

    fn round_trip(basis: &[u8], new: &[u8], opts: &StreamOptions) -> Vec<u8> {
        let mut sig = Vec::new();
        signature_stream(trickle(basis), &mut sig, opts).expect("signature");
        let sig = read_signature(trickle(&sig)).expect("load");
        let mut delta = Vec::new();
        delta_stream(sig, trickle(new), &mut delta, opts).expect("delta");
        let mut out = Vec::new();
        let n = patch_stream(
            basis,
            trickle(&delta),
            &mut out,
            PatchOptions::default().basis_len(Some(basis.len() as u64)),
        )
        .expect("patch");
        assert_eq!(n, out.len() as u64);
        out
    }

    #[test]
    fn signature_delta_patch_round_trip_in_both_formats() {
        let basis = data(300_000, 1);
        let mut new = basis.clone();
        new[1000..1100].copy_from_slice(&data(100, 2));
        new.extend_from_slice(&data(5000, 3));
        for format in [DeltaFormat::Rha, DeltaFormat::Rdiff] {
            for threads in [1, 3] {
                let opts = StreamOptions::default().format(format).threads(threads);
                assert_eq!(round_trip(&basis, &new, &opts), new, "{format:?} {threads}");
            }
        }
        let xxh3 = StreamOptions::default().strong_hash(StrongHash::Xxh3);
        assert_eq!(round_trip(&basis, &new, &xxh3), new);
        assert_eq!(round_trip(&[], &new, &StreamOptions::default()), new);
        assert_eq!(round_trip(&basis, &[], &StreamOptions::default()), b"");
    }

    #[test]
    fn short_input_of_unknown_length_gets_the_parameters_of_its_length() {
        let basis = data(100_000, 4);
        let mut sig = Vec::new();
        let p = signature_stream(trickle(&basis), &mut sig, &StreamOptions::default()).unwrap();
        assert_eq!(p, SignatureParams::new(basis.len() as u64));
        assert_eq!(sig, signature_of(&basis, p).unwrap());
    }

    #[test]
    fn long_input_of_unknown_length_has_the_signature_of_a_file() {
        let basis = data(STREAM_CHUNK + 300_000, 5);
        let len = basis.len() as u64;
        // Given block and strong lengths: the very signature of the file.
        let opts = StreamOptions::default()
            .block_len(Some(4096))
            .strong_len(Some(12))
            .threads(2);
        let mut sig = Vec::new();
        let p = signature_stream(trickle(&basis), &mut sig, &opts).unwrap();
        let want = SignatureParams::new(len)
            .with_block_len(4096)
            .and_then(|p| p.with_strong_len(12))
            .unwrap();
        assert_eq!(p, want);
        assert_eq!(sig, signature_of(&basis, want).unwrap());
        // Defaults: the unknown-length parameters, and the right length.
        let mut sig = Vec::new();
        let p = signature_stream(trickle(&basis), &mut sig, &StreamOptions::default()).unwrap();
        assert_eq!((p.file_len, p.block_len), (len, 32 << 10));
        assert_eq!(
            p.strong_len,
            strong_len_for(UNKNOWN_LEN_STRONG_FOR, 32 << 10)
        );
        assert_eq!(sig, signature_of(&basis, p).unwrap());
        let loaded = Signature::from_bytes(&sig).unwrap();
        assert_eq!(loaded.file_len(), Some(len));
    }

    /// Pieces from a list: data as given, holes as lengths.
    struct Pieces(Vec<Result<Vec<u8>, u64>>, usize);

    impl PieceSource for Pieces {
        fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>> {
            self.1 += 1;
            Ok(self.0.get(self.1 - 1).map(|p| match p {
                Ok(d) => Piece::Data(d),
                Err(n) => Piece::Zeros(*n),
            }))
        }
    }

    #[test]
    fn holes_given_as_lengths_sign_and_delta_like_their_zeros() {
        let a = data(10_000, 11);
        let b = data(7_000, 12);
        let pieces = || Pieces(vec![Ok(a.clone()), Err(100_000), Ok(b.clone()), Err(3)], 0);
        let mut whole = a.clone();
        whole.resize(a.len() + 100_000, 0);
        whole.extend_from_slice(&b);
        whole.extend_from_slice(&[0, 0, 0]);
        let len = Some(whole.len() as u64);
        let opts = StreamOptions::default().threads(1);
        let (mut from_pieces, mut from_bytes) = (Vec::new(), Vec::new());
        let p = signature_pieces(pieces(), len, &mut from_pieces, &opts).unwrap();
        signature_stream(&whole[..], &mut from_bytes, &opts).unwrap();
        assert_eq!(from_pieces, from_bytes);
        assert_eq!(p.file_len, whole.len() as u64);
        // Of unknown length too.
        let mut unknown = Vec::new();
        let q = signature_pieces(pieces(), None, &mut unknown, &opts).unwrap();
        assert_eq!(q.file_len, whole.len() as u64);
        assert_eq!(unknown, signature_of(&whole, q).unwrap());

        let sig = read_signature(&from_bytes[..]).unwrap();
        let (mut d1, mut d2) = (Vec::new(), Vec::new());
        delta_pieces(sig.clone(), pieces(), &mut d1, &opts).unwrap();
        delta_stream(sig, &whole[..], &mut d2, &opts).unwrap();
        let mut out1 = Vec::new();
        patch_stream(&whole[..], &d1[..], &mut out1, PatchOptions::default()).unwrap();
        assert_eq!(out1, whole);
        let mut out2 = Vec::new();
        patch_stream(&whole[..], &d2[..], &mut out2, PatchOptions::default()).unwrap();
        assert_eq!(out2, whole);
    }

    #[test]
    fn a_declared_length_is_checked() {
        let basis = data(10_000, 6);
        let opts = StreamOptions::default().input_len(Some(9_999));
        let e = signature_stream(&basis[..], io::sink(), &opts).unwrap_err();
        assert!(
            matches!(
                e,
                StreamError::Job(JobError::InputLength {
                    declared: 9_999,
                    ..
                })
            ),
            "{e}"
        );
        let opts = StreamOptions::default().block_len(Some(8));
        let e = signature_stream(&basis[..], io::sink(), &opts).unwrap_err();
        assert!(
            matches!(e, StreamError::Job(JobError::InvalidParams(_))),
            "{e}"
        );
    }

    #[test]
    fn a_delta_of_another_basis_or_a_cut_delta_is_refused() {
        let basis = data(50_000, 7);
        let mut new = basis.clone();
        new[100..200].copy_from_slice(&data(100, 8));
        let mut sig = Vec::new();
        signature_stream(&basis[..], &mut sig, &StreamOptions::default()).unwrap();
        let sig = read_signature(&sig[..]).unwrap();
        let mut delta = Vec::new();
        delta_stream(sig, &new[..], &mut delta, &StreamOptions::default()).unwrap();
        let other = data(50_000, 9);
        let opts = PatchOptions::default().basis_len(Some(other.len() as u64));
        let mut out = Vec::new();
        // A rolling delta names no basis: the new file's hash catches it.
        let e = patch_stream(&other[..], &delta[..], &mut out, opts).unwrap_err();
        assert!(
            matches!(e, StreamError::Patch(PatchError::HashMismatch { .. })),
            "{e}"
        );
        let short = &other[..1000];
        let opts = PatchOptions::default().basis_len(Some(1000));
        let e = patch_stream(short, &delta[..], io::sink(), opts).unwrap_err();
        assert!(
            matches!(e, StreamError::Patch(PatchError::CopyOutOfRange { .. })),
            "{e}"
        );
        let cut = &delta[..delta.len() - 3];
        let e = patch_stream(&basis[..], cut, io::sink(), PatchOptions::default()).unwrap_err();
        assert!(matches!(e, StreamError::Patch(PatchError::Delta(_))), "{e}");
        let e = read_signature(&b"RHBS nonsense"[..]).unwrap_err();
        assert!(matches!(e, StreamError::Signature(_)), "{e}");
    }

    #[test]
    fn reader_and_writer_errors_name_their_stream() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("gone"))
            }
        }
        let basis = data(10_000, 10);
        let e = signature_stream(&basis[..], Broken, &StreamOptions::default()).unwrap_err();
        assert!(
            matches!(&e, StreamError::Write { role: StreamRole::Signature, source } if source.kind() == io::ErrorKind::BrokenPipe),
            "{e}"
        );
        assert_eq!(e.to_string(), "writing the signature: broken pipe");
        let e = signature_stream(Broken, io::sink(), &StreamOptions::default()).unwrap_err();
        assert_eq!(e.to_string(), "reading the basis: gone");
    }
}
