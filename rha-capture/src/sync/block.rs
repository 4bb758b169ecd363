//! Block-level sync of one file: make a replica file equal a master file by
//! sending only the blocks that differ (SPEC.md §3).
//!
//! Rolling mode signs the replica and describes the master as a delta of
//! replica blocks and literal bytes. A delta that keeps every copied block
//! where it is (blocks changed in place) updates a large replica in place,
//! writing only the changed blocks, crash-safely (see
//! [`BlockSyncOptions::in_place_min`] and `docs/block-sync.md`); other
//! deltas, and replicas that share their inode with other hard-linked
//! names, are patched into a temporary file beside the replica that is
//! renamed over it. Fixed-offset mode (volumes,
//! same-size files) signs both, compares block by block and writes the
//! differing blocks in place. Either way the result's whole-file hash is
//! checked, and a mismatch (the replica changed under us) falls back to a
//! full copy. Sparse files stay cheap: holes are found with
//! `SEEK_DATA`/`SEEK_HOLE` ([`SparseReader`]) and never read, their blocks
//! are signed and hashed as known zeros, they travel as zero runs, and the
//! patched file gets holes there ([`SparseWriter::skip`]); all-zero runs
//! inside the data are not written either.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub use super::inplace::IoPoint;
use super::inplace::{self, Applied, Hook, Leaves, Stage};
use rha_core::signature::block::{
    block_len_for, compare_fixed, DeltaFormat, DeltaJob, FixedDeltaJob, InPlacePatch, JobError,
    PatchError, PatchOptions, ReadAt, Signature, SignatureError, SignatureJob, SignatureLoader,
    SignatureParams, SparsePatchJob, StrongHash, WholeFileHasher, WriteAt, DEFAULT_MAX_BLOCKS,
};

use super::sparse_io::CHUNK;
pub use super::sparse_io::{Piece, SparseReader, SparseWriter};

/// How [`sync_file`] compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockSyncMode {
    /// rsync-style delta into a temporary file renamed over the replica
    /// (finds data that moved).
    #[default]
    Rolling,
    /// Block-by-block comparison at the same offsets, written in place
    /// (volumes, VM disks, files rewritten in place).
    FixedInPlace,
}

/// Settings of [`sync_file`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BlockSyncOptions {
    /// Rolling or fixed-offset.
    pub mode: BlockSyncMode,
    /// Block length; `None` picks about the square root of the length.
    pub block_len: Option<u32>,
    /// Threads that hash blocks (0 and 1: the calling thread only).
    pub threads: usize,
    /// Leave the result unflushed: the caller makes it durable later (as
    /// [`sync`](crate::sync::sync) does once for a whole tree, whose
    /// marker rule then also finds a file an update in place left half
    /// written). Off by default: the result is on disk when [`sync_file`]
    /// returns.
    pub defer_flush: bool,
    /// Rolling mode updates a replica of at least this many bytes in place
    /// (writing only the blocks that change) when the delta keeps every
    /// copied block where it is and no other hard-linked name shares the
    /// file; smaller files, other deltas and shared files get a new file
    /// renamed over the old one. [`u64::MAX`] turns the update in place
    /// off. Default [`IN_PLACE_MIN`].
    pub in_place_min: u64,
}

/// The default [`BlockSyncOptions::in_place_min`]: below it, rewriting the
/// file costs less than the flush that makes an update in place safe.
pub const IN_PLACE_MIN: u64 = 4 << 20;

impl Default for BlockSyncOptions {
    fn default() -> Self {
        Self {
            mode: BlockSyncMode::default(),
            block_len: None,
            threads: 0,
            defer_flush: false,
            in_place_min: IN_PLACE_MIN,
        }
    }
}

impl BlockSyncOptions {
    /// Sets [`mode`](Self::mode).
    pub fn mode(mut self, mode: BlockSyncMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets [`threads`](Self::threads).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
    /// Sets [`block_len`](Self::block_len).
    pub fn block_len(mut self, block_len: Option<u32>) -> Self {
        self.block_len = block_len;
        self
    }
    /// Sets [`defer_flush`](Self::defer_flush).
    pub fn defer_flush(mut self, defer: bool) -> Self {
        self.defer_flush = defer;
        self
    }
    /// Sets [`in_place_min`](Self::in_place_min).
    pub fn in_place_min(mut self, bytes: u64) -> Self {
        self.in_place_min = bytes;
        self
    }
}

/// What [`sync_file`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockSyncStats {
    /// Master bytes sent as literals (or as zero runs found in them); not
    /// the master's holes.
    pub literal_bytes: u64,
    /// Master bytes found in the replica.
    pub matched_bytes: u64,
    /// Master bytes in holes, sent as zero runs without being read and
    /// left as holes in the replica (rolling mode).
    pub hole_bytes: u64,
    /// The delta's result did not verify and the file was copied whole.
    pub fell_back: bool,
    /// Size of the delta that would cross the network.
    pub delta_bytes: u64,
    /// Size of the replica's signature.
    pub signature_bytes: u64,
    /// The replica was updated in place (only the changed blocks written).
    pub in_place: bool,
}

/// Why [`sync_file`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockSyncError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A signature did not decode (a bug: it was just made).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A job rejected its input (for example a file that changed length
    /// while it was read).
    #[error(transparent)]
    Job(#[from] JobError),
    /// Patching failed for a reason other than a hash mismatch.
    #[error(transparent)]
    Patch(#[from] PatchError),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BlockSyncError + '_ {
    move |source| BlockSyncError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A [`File`] read and written at offsets.
#[derive(Debug)]
pub struct FileAt<'a>(pub &'a File);

impl ReadAt for FileAt<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        FileExt::read_at(self.0, buf, offset)
    }
}

impl WriteAt for FileAt<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write_all_at(data, offset)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
}

/// Reads `path` from the start, calling `f` with each chunk (at most
/// [`CHUNK`] bytes; the last call has `eof` set, possibly with no bytes).
fn stream_file(
    path: &Path,
    file: &mut File,
    mut f: impl FnMut(&[u8], bool) -> Result<(), BlockSyncError>,
) -> Result<(), BlockSyncError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut n = 0;
        while n < buf.len() {
            let got = file.read(&mut buf[n..]).map_err(io_err(path))?;
            if got == 0 {
                break;
            }
            n += got;
        }
        let eof = n < buf.len();
        f(&buf[..n], eof)?;
        if eof {
            return Ok(());
        }
    }
}

/// The signature of the file at `path`, with `hash` block hashes computed
/// on `threads` threads, loaded; and its encoded length. Holes are not
/// read: their blocks are signed as known zeros.
pub fn sign_file(
    path: &Path,
    block_len: Option<u32>,
    hash: StrongHash,
    threads: usize,
) -> Result<(Signature, u64), BlockSyncError> {
    sign_file_with(path, block_len, hash, threads, None)
}

/// [`sign_file`], also feeding every byte read (and every hole) to
/// `leaves`.
fn sign_file_with(
    path: &Path,
    block_len: Option<u32>,
    hash: StrongHash,
    threads: usize,
    mut leaves: Option<&mut Leaves>,
) -> Result<(Signature, u64), BlockSyncError> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    let mut params = SignatureParams::new(len).with_strong_hash(hash);
    if let Some(bl) = block_len {
        params = params.with_block_len(bl)?;
    }
    // A file of several pieces is read ahead on a thread of its own, which
    // also computes the signature's hashes while this one computes the
    // whole-file hash's block hashes: the two halves of the work take about
    // the same time, and two threads is what two cores are best used for
    // (a third, hashing beside them, only queued behind the reader).
    let read_ahead = threads > 1 && len > 2 * CHUNK as u64;
    let job_threads = if read_ahead { 1 } else { threads };
    let mut job = SignatureJob::new(params).with_threads(job_threads);
    let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
    let mut out = vec![0u8; 256 << 10];
    let mut sig_len = 0u64;
    {
        let sign = |piece: Piece<'_>| -> Result<(), BlockSyncError> {
            match piece {
                Piece::Data(mut input) => loop {
                    let p = job.run(input, &mut out, false)?;
                    input = &input[p.consumed..];
                    loader.feed(&out[..p.produced])?;
                    sig_len += p.produced as u64;
                    if input.is_empty() && p.produced < out.len() {
                        return Ok(());
                    }
                },
                Piece::Zeros(mut zeros) => loop {
                    let p = job.run_zeros(zeros, &mut out)?;
                    zeros -= p.consumed as u64;
                    loader.feed(&out[..p.produced])?;
                    sig_len += p.produced as u64;
                    if zeros == 0 && p.produced < out.len() {
                        return Ok(());
                    }
                },
            }
        };
        let leaf = |piece: Piece<'_>| -> Result<(), BlockSyncError> {
            if let Some(l) = leaves.as_deref_mut() {
                match piece {
                    Piece::Data(input) => l.update(input),
                    Piece::Zeros(zeros) => l.zeros(zeros),
                }
            }
            Ok(())
        };
        if read_ahead {
            super::sparse_io::read_ahead(&file, len, io_err(path), sign, leaf)?;
        } else {
            let (mut sign, mut leaf) = (sign, leaf);
            let mut reader = SparseReader::new(&file, len);
            while let Some(piece) = reader.next_piece().map_err(io_err(path))? {
                leaf(piece)?;
                sign(piece)?;
            }
        }
    }
    if let Some(l) = leaves {
        l.finish();
    }
    loop {
        let p = job.run(&[], &mut out, true)?;
        loader.feed(&out[..p.produced])?;
        sig_len += p.produced as u64;
        if p.done {
            break;
        }
    }
    Ok((loader.finish()?, sig_len))
}

/// Makes `replica`'s content equal `master`'s (see the module docs). The
/// replica is created if missing. Works on files of any size with bounded
/// memory (the replica's signature plus a few MiB).
pub fn sync_file(
    master: &Path,
    replica: &Path,
    options: &BlockSyncOptions,
) -> Result<BlockSyncStats, BlockSyncError> {
    sync_file_with_hook(master, replica, options, &mut |_| Ok(()))
}

/// [`sync_file`], calling `hook` before each write and flush of an update
/// in place; an error from the hook stops the update there (as a crash or
/// an I/O error would) and is returned. For fault-injection tests.
pub fn sync_file_with_hook(
    master: &Path,
    replica: &Path,
    options: &BlockSyncOptions,
    hook: &mut dyn FnMut(IoPoint) -> io::Result<()>,
) -> Result<BlockSyncStats, BlockSyncError> {
    if !replica.exists() {
        File::create(replica).map_err(io_err(replica))?;
    }
    match options.mode {
        BlockSyncMode::Rolling => sync_rolling(master, replica, options, hook),
        BlockSyncMode::FixedInPlace => sync_fixed(master, replica, options),
    }
}

fn temp_beside(replica: &Path) -> PathBuf {
    let name = replica
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    replica.with_file_name(format!(".{name}.rha-tmp.{}", std::process::id()))
}

/// The patch job writing a new file from the basis and a delta fed to it.
struct Pipeline<'a> {
    patch: SparsePatchJob<FileAt<'a>>,
    writer: SparseWriter<'a>,
    out_path: &'a Path,
    pbuf: Vec<u8>,
    patched: bool,
}

impl Pipeline<'_> {
    /// Applies the delta bytes `d`; `end`: no more will come.
    fn feed(&mut self, mut d: &[u8], end: bool) -> Result<(), BlockSyncError> {
        loop {
            let q = self.patch.run(d, &mut self.pbuf, end)?;
            d = &d[q.consumed..];
            self.writer
                .write(&self.pbuf[..q.produced])
                .map_err(io_err(self.out_path))?;
            self.writer.skip(q.zeros).map_err(io_err(self.out_path))?;
            self.patched = q.done;
            if q.done || (d.is_empty() && q.produced < self.pbuf.len() && q.zeros == 0) {
                return Ok(());
            }
        }
    }
}

/// The delta job in one process with what consumes its output: first a
/// [`Stage`] (while the delta may still be applied in place), then the
/// patch job writing a new file.
struct Driver<'a> {
    delta: DeltaJob,
    stage: Option<Stage>,
    pipe: Pipeline<'a>,
    dbuf: Vec<u8>,
    delta_bytes: u64,
}

impl Driver<'_> {
    fn data(&mut self, mut input: &[u8]) -> Result<(), BlockSyncError> {
        loop {
            let p = self.delta.run(input, &mut self.dbuf, false)?;
            input = &input[p.consumed..];
            self.push(p.produced, false)?;
            if input.is_empty() && p.produced < self.dbuf.len() {
                return Ok(());
            }
        }
    }

    fn zeros(&mut self, mut zeros: u64) -> Result<(), BlockSyncError> {
        loop {
            let p = self.delta.run_zeros(zeros, &mut self.dbuf)?;
            zeros -= p.consumed as u64;
            self.push(p.produced, false)?;
            if zeros == 0 && p.produced < self.dbuf.len() {
                return Ok(());
            }
        }
    }

    fn end(&mut self) -> Result<(), BlockSyncError> {
        loop {
            let p = self.delta.run(&[], &mut self.dbuf, true)?;
            self.push(p.produced, p.done)?;
            if p.done {
                return Ok(());
            }
        }
    }

    /// Hands on the first `n` bytes of the delta buffer: to the stage while
    /// it takes them, else to the patch job (the staged bytes first).
    fn push(&mut self, n: usize, end: bool) -> Result<(), BlockSyncError> {
        self.delta_bytes += n as u64;
        let d = &self.dbuf[..n];
        if let Some(stage) = &mut self.stage {
            if stage.push(d)? {
                return Ok(());
            }
            self.unstage(false)?;
        }
        self.pipe.feed(&self.dbuf[..n], end)
    }

    /// Feeds the staged delta to the patch job (the update in place is
    /// not possible after all); `end`: the delta is all staged.
    fn unstage(&mut self, end: bool) -> Result<(), BlockSyncError> {
        if let Some(stage) = self.stage.take() {
            let pipe = &mut self.pipe;
            stage.replay(
                |path, e| io_err(path)(e),
                |d, last| pipe.feed(d, end && last),
            )?;
        }
        Ok(())
    }
}

/// Whether the replica may be updated in place: a regular file with no
/// other hard-linked name (whose content must not change, see
/// [`Transfer`](super::Transfer)) and long enough for the update's flush
/// to cost less than rewriting it.
fn in_place_allowed(meta: &fs::Metadata, options: &BlockSyncOptions) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.is_file() && meta.nlink() == 1 && meta.len() >= options.in_place_min
}

fn sync_rolling(
    master: &Path,
    replica: &Path,
    options: &BlockSyncOptions,
    hook: Hook<'_>,
) -> Result<BlockSyncStats, BlockSyncError> {
    let m = File::open(master).map_err(io_err(master))?;
    let mlen = m.metadata().map_err(io_err(master))?.len();
    let rlen = fs::metadata(replica).map_err(io_err(replica))?.len();
    // The longer file picks the block length: a short or empty replica
    // must not make a large master's whole-file hash cover millions of
    // tiny blocks.
    let block_len = options
        .block_len
        .unwrap_or_else(|| block_len_for(mlen.max(rlen)));
    // The signature stays in this process and the delta's whole-file BLAKE3
    // hash checks the result, so the faster XXH3 block hashes suffice.
    // Where the replica may be updated in place, its whole-file hash's
    // block hashes are computed as it is signed, so the result is checked
    // without reading the blocks it keeps: the replica is read once.
    let before = fs::metadata(replica).map_err(io_err(replica))?;
    let mut leaves = (in_place_allowed(&before, options)
        && before.len().div_ceil(u64::from(block_len.max(1))) <= inplace::MAX_LEAVES)
        .then(|| Leaves::new(block_len));
    let (sig, sig_len) = sign_file_with(
        replica,
        Some(block_len),
        StrongHash::Xxh3,
        options.threads,
        leaves.as_mut(),
    )?;
    let basis = File::open(replica).map_err(io_err(replica))?;
    let basis_meta = basis.metadata().map_err(io_err(replica))?;
    let basis_len = basis_meta.len();
    let tmp = temp_beside(replica);
    let out = File::create(&tmp).map_err(io_err(&tmp))?;
    // A master of several pieces is read ahead on a thread of its own,
    // which also computes its whole-file hash, while this one searches it.
    let read_ahead = options.threads > 1 && mlen > 2 * CHUNK as u64;
    let block_len = sig.block_len();
    let result = (|| {
        let delta = DeltaJob::new(sig, DeltaFormat::Rha);
        let delta = if read_ahead {
            delta.with_external_file_hash()
        } else {
            delta.with_threads(options.threads)
        };
        let mut driver = Driver {
            delta,
            stage: in_place_allowed(&basis_meta, options).then(|| Stage::new(replica, basis_len)),
            pipe: Pipeline {
                patch: SparsePatchJob::new(
                    FileAt(&basis),
                    PatchOptions::default().basis_len(Some(basis_len)),
                ),
                writer: SparseWriter::new(&out),
                out_path: &tmp,
                pbuf: vec![0u8; 1 << 20],
                patched: false,
            },
            dbuf: vec![0u8; 256 << 10],
            delta_bytes: 0,
        };
        let each = |piece: Piece<'_>| match piece {
            Piece::Data(input) => driver.data(input),
            Piece::Zeros(n) => driver.zeros(n),
        };
        if read_ahead {
            let mut file_hash = WholeFileHasher::new(block_len);
            let hash = |piece: Piece<'_>| {
                match piece {
                    Piece::Data(input) => file_hash.update(input),
                    Piece::Zeros(n) => file_hash.update_zeros(n),
                }
                Ok(())
            };
            super::sparse_io::read_ahead(&m, mlen, io_err(master), hash, each)?;
            driver.delta.set_file_hash(file_hash.finalize());
        } else {
            let mut each = each;
            let mut reader = SparseReader::new(&m, mlen);
            while let Some(piece) = reader.next_piece().map_err(io_err(master))? {
                each(piece)?;
            }
        }
        driver.end()?;
        let s = driver.delta.stats();
        let stats = BlockSyncStats {
            literal_bytes: s.literal_bytes,
            matched_bytes: s.matched_bytes,
            hole_bytes: s.hole_bytes,
            fell_back: false,
            delta_bytes: driver.delta_bytes,
            signature_bytes: sig_len,
            in_place: false,
        };
        if let Some(stage) = &driver.stage {
            let file = OpenOptions::new()
                .write(true)
                .read(true)
                .open(replica)
                .map_err(io_err(replica))?;
            // Still the file that was signed, unchanged: not replaced or
            // written meanwhile (the block hashes of its kept blocks stand).
            let now = file.metadata().map_err(io_err(replica))?;
            if unchanged(&before, &now) {
                return match inplace::apply(
                    &file,
                    stage,
                    leaves.as_ref(),
                    options.defer_flush,
                    hook,
                )
                .map_err(io_err(replica))?
                {
                    Applied::Done => Ok(Outcome::InPlace(BlockSyncStats {
                        in_place: true,
                        ..stats
                    })),
                    Applied::Mismatch => Ok(Outcome::Mismatch),
                };
            }
            driver.unstage(true)?;
        }
        if !driver.pipe.patched {
            return Err(PatchError::Finished.into());
        }
        driver.pipe.writer.finish().map_err(io_err(&tmp))?;
        Ok(Outcome::Copied(stats))
    })();
    let stats = match result {
        Ok(Outcome::InPlace(stats)) => {
            drop(out);
            let _ = fs::remove_file(&tmp);
            return Ok(stats);
        }
        Ok(Outcome::Copied(stats)) => stats,
        Ok(Outcome::Mismatch) | Err(BlockSyncError::Patch(PatchError::HashMismatch { .. })) => {
            out.set_len(0).map_err(io_err(&tmp))?;
            let (literal, len) = copy_sparse(master, &out, &tmp)?;
            BlockSyncStats {
                literal_bytes: literal,
                hole_bytes: len - literal,
                fell_back: true,
                signature_bytes: sig_len,
                ..BlockSyncStats::default()
            }
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Ok(meta) = fs::metadata(replica) {
        let _ = fs::set_permissions(&tmp, meta.permissions());
    }
    if !options.defer_flush {
        out.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, replica).map_err(io_err(replica))?;
    Ok(stats)
}

/// Whether `a` and `b` are the same file, with the same length and times.
fn unchanged(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (
        a.dev(),
        a.ino(),
        a.len(),
        a.mtime(),
        a.mtime_nsec(),
        a.ctime(),
        a.ctime_nsec(),
    ) == (
        b.dev(),
        b.ino(),
        b.len(),
        b.mtime(),
        b.mtime_nsec(),
        b.ctime(),
        b.ctime_nsec(),
    )
}

/// How [`sync_rolling`]'s delta was applied.
enum Outcome {
    /// To the replica itself.
    InPlace(BlockSyncStats),
    /// Into a new file, still to be renamed over the replica.
    Copied(BlockSyncStats),
    /// In place, but the result did not verify (the replica changed under
    /// us): the master is copied whole.
    Mismatch,
}

/// Copies `master` into `out` (empty), keeping holes; returns the bytes
/// of data copied and the length.
fn copy_sparse(master: &Path, out: &File, out_path: &Path) -> Result<(u64, u64), BlockSyncError> {
    let m = File::open(master).map_err(io_err(master))?;
    let len = m.metadata().map_err(io_err(master))?.len();
    let mut w = SparseWriter::new(out);
    let mut reader = SparseReader::new(&m, len);
    let mut literal = 0;
    while let Some(piece) = reader.next_piece().map_err(io_err(master))? {
        match piece {
            Piece::Data(d) => {
                literal += d.len() as u64;
                w.write(d)
            }
            Piece::Zeros(n) => w.skip(n),
        }
        .map_err(io_err(out_path))?;
    }
    let len = w.finish().map_err(io_err(out_path))?;
    Ok((literal, len))
}

fn sync_fixed(
    master: &Path,
    replica: &Path,
    options: &BlockSyncOptions,
) -> Result<BlockSyncStats, BlockSyncError> {
    let mlen = fs::metadata(master).map_err(io_err(master))?.len();
    let bl = options
        .block_len
        .unwrap_or_else(|| SignatureParams::new(mlen).block_len);
    // The master's whole-file hash checks the patched replica: BLAKE3.
    let (rsig, sig_len) = sign_file(replica, Some(bl), StrongHash::Blake3, options.threads)?;
    let (msig, _) = sign_file(master, Some(bl), StrongHash::Blake3, options.threads)?;
    let plan = compare_fixed(&rsig, &msig)?;
    let m = File::open(master).map_err(io_err(master))?;
    let r = OpenOptions::new()
        .read(true)
        .write(true)
        .open(replica)
        .map_err(io_err(replica))?;
    let matched = plan.same_bytes();
    let mut job = FixedDeltaJob::new(FileAt(&m), plan);
    let mut patch = InPlacePatch::new(FileAt(&r), u64::MAX);
    let mut buf = vec![0u8; 256 << 10];
    let mut delta_bytes = 0u64;
    let result = loop {
        let p = job.run(&mut buf)?;
        delta_bytes += p.produced as u64;
        match patch.run(&buf[..p.produced], p.done) {
            Ok(q) if q.done => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(e),
        }
    };
    let literal = patch.written();
    let stats = match result {
        Ok(()) => BlockSyncStats {
            literal_bytes: literal,
            matched_bytes: matched,
            hole_bytes: 0,
            fell_back: false,
            delta_bytes,
            signature_bytes: sig_len,
            in_place: true,
        },
        Err(PatchError::HashMismatch { .. }) => {
            // Copy everything in place, then trim.
            let mut mm = File::open(master).map_err(io_err(master))?;
            let mut pos = 0u64;
            stream_file(master, &mut mm, |input, _| {
                r.write_all_at(input, pos).map_err(io_err(replica))?;
                pos += input.len() as u64;
                Ok(())
            })?;
            r.set_len(pos).map_err(io_err(replica))?;
            BlockSyncStats {
                literal_bytes: pos,
                fell_back: true,
                signature_bytes: sig_len,
                ..BlockSyncStats::default()
            }
        }
        Err(e) => return Err(e.into()),
    };
    if !options.defer_flush {
        r.sync_all().map_err(io_err(replica))?;
    }
    Ok(stats)
}
