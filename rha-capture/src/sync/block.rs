//! Block-level sync of one file: make a replica file equal a master file by
//! sending only the blocks that differ (SPEC.md §3).
//!
//! Rolling mode signs the replica, describes the master as a delta of
//! replica blocks and literal bytes, and patches into a temporary file
//! beside the replica that is renamed over it. Fixed-offset mode (volumes,
//! same-size files) signs both, compares block by block and writes the
//! differing blocks in place. Either way the result's whole-file hash is
//! checked, and a mismatch (the replica changed under us) falls back to a
//! full copy. Holes are kept: all-zero runs are skipped, not written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rha_core::signature::block::{
    compare_fixed, DeltaFormat, DeltaJob, FixedDeltaJob, InPlacePatch, JobError, PatchError,
    PatchJob, PatchOptions, ReadAt, Signature, SignatureError, SignatureJob, SignatureLoader,
    SignatureParams, StrongHash, WriteAt, DEFAULT_MAX_BLOCKS,
};

/// Bytes read from a file per step.
const CHUNK: usize = 4 << 20;
/// Zero runs at least this long (and aligned to it) become holes.
const HOLE: usize = 64 << 10;

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
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BlockSyncOptions {
    /// Rolling or fixed-offset.
    pub mode: BlockSyncMode,
    /// Block length; `None` picks about the square root of the length.
    pub block_len: Option<u32>,
    /// Threads that hash blocks (0 and 1: the calling thread only).
    pub threads: usize,
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
}

/// What [`sync_file`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockSyncStats {
    /// Master bytes sent as literals (or zero runs).
    pub literal_bytes: u64,
    /// Master bytes found in the replica.
    pub matched_bytes: u64,
    /// The delta's result did not verify and the file was copied whole.
    pub fell_back: bool,
    /// Size of the delta that would cross the network.
    pub delta_bytes: u64,
    /// Size of the replica's signature.
    pub signature_bytes: u64,
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

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BlockSyncError + '_ {
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

/// Writes a stream at increasing offsets into a fresh (empty) file,
/// skipping all-zero pieces so holes stay holes; [`finish`](Self::finish)
/// sets the final length.
#[derive(Debug)]
pub struct SparseWriter<'a> {
    file: &'a File,
    pos: u64,
}

impl<'a> SparseWriter<'a> {
    /// Writes to `file` from offset 0 (the file should be empty).
    pub fn new(file: &'a File) -> Self {
        Self { file, pos: 0 }
    }

    /// Appends `data`.
    pub fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let to_boundary = HOLE - (self.pos % HOLE as u64) as usize;
            let n = to_boundary.min(data.len());
            let piece = &data[..n];
            // The file is fresh and written in order: skipped zeros read
            // back as zeros, and whole skipped pieces stay holes.
            if piece.iter().any(|&b| b != 0) {
                self.file.write_all_at(piece, self.pos)?;
            }
            self.pos += n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// Sets the file's length to what was written (materialising a
    /// trailing hole).
    pub fn finish(self) -> io::Result<u64> {
        self.file.set_len(self.pos)?;
        Ok(self.pos)
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
/// on `threads` threads, loaded; and its encoded length.
pub fn sign_file(
    path: &Path,
    block_len: Option<u32>,
    hash: StrongHash,
    threads: usize,
) -> Result<(Signature, u64), BlockSyncError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    let mut params = SignatureParams::new(len).with_strong_hash(hash);
    if let Some(bl) = block_len {
        params = params.with_block_len(bl)?;
    }
    let mut job = SignatureJob::new(params).with_threads(threads);
    let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
    let mut out = vec![0u8; 256 << 10];
    let mut sig_len = 0u64;
    stream_file(path, &mut file, |mut input, eof| loop {
        let p = job.run(input, &mut out, eof)?;
        input = &input[p.consumed..];
        loader.feed(&out[..p.produced])?;
        sig_len += p.produced as u64;
        if p.done || (input.is_empty() && !eof && p.produced < out.len()) {
            return Ok(());
        }
    })?;
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
    if !replica.exists() {
        File::create(replica).map_err(io_err(replica))?;
    }
    match options.mode {
        BlockSyncMode::Rolling => sync_rolling(master, replica, options),
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

fn sync_rolling(
    master: &Path,
    replica: &Path,
    options: &BlockSyncOptions,
) -> Result<BlockSyncStats, BlockSyncError> {
    // The signature stays in this process and the delta's whole-file BLAKE3
    // hash checks the result, so the faster XXH3 block hashes suffice.
    let (sig, sig_len) = sign_file(
        replica,
        options.block_len,
        StrongHash::Xxh3,
        options.threads,
    )?;
    let basis = File::open(replica).map_err(io_err(replica))?;
    let basis_len = basis.metadata().map_err(io_err(replica))?.len();
    let tmp = temp_beside(replica);
    let out = File::create(&tmp).map_err(io_err(&tmp))?;
    let result = (|| {
        let mut m = File::open(master).map_err(io_err(master))?;
        let mut delta = DeltaJob::new(sig, DeltaFormat::Rha).with_threads(options.threads);
        let mut patch = PatchJob::new(
            FileAt(&basis),
            PatchOptions::default().basis_len(Some(basis_len)),
        );
        let mut writer = SparseWriter::new(&out);
        let mut dbuf = vec![0u8; 256 << 10];
        let mut pbuf = vec![0u8; 1 << 20];
        let mut delta_bytes = 0u64;
        let mut patched = false;
        stream_file(master, &mut m, |mut input, eof| loop {
            let p = delta.run(input, &mut dbuf, eof)?;
            input = &input[p.consumed..];
            delta_bytes += p.produced as u64;
            let mut d = &dbuf[..p.produced];
            loop {
                let q = patch.run(d, &mut pbuf, p.done)?;
                d = &d[q.consumed..];
                writer.write(&pbuf[..q.produced]).map_err(io_err(&tmp))?;
                patched = q.done;
                if q.done || (d.is_empty() && q.produced < pbuf.len()) {
                    break;
                }
            }
            if p.done || (input.is_empty() && !eof && p.produced < dbuf.len()) {
                return Ok(());
            }
        })?;
        if !patched {
            return Err(PatchError::Finished.into());
        }
        writer.finish().map_err(io_err(&tmp))?;
        let s = delta.stats();
        Ok(BlockSyncStats {
            literal_bytes: s.literal_bytes,
            matched_bytes: s.matched_bytes,
            fell_back: false,
            delta_bytes,
            signature_bytes: sig_len,
        })
    })();
    let stats = match result {
        Ok(stats) => stats,
        Err(BlockSyncError::Patch(PatchError::HashMismatch { .. })) => {
            out.set_len(0).map_err(io_err(&tmp))?;
            let len = copy_sparse(master, &out, &tmp)?;
            BlockSyncStats {
                literal_bytes: len,
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
    out.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, replica).map_err(io_err(replica))?;
    Ok(stats)
}

/// Copies `master` into `out` (empty), keeping holes; returns the length.
fn copy_sparse(master: &Path, out: &File, out_path: &Path) -> Result<u64, BlockSyncError> {
    let mut m = File::open(master).map_err(io_err(master))?;
    let mut w = SparseWriter::new(out);
    stream_file(master, &mut m, |input, _| {
        w.write(input).map_err(io_err(out_path))
    })?;
    w.finish().map_err(io_err(out_path))
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
            fell_back: false,
            delta_bytes,
            signature_bytes: sig_len,
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
    r.sync_all().map_err(io_err(replica))?;
    Ok(stats)
}
