//! The rdiff-style commands of the `rha` tool: `rha signature`, `rha delta`
//! and `rha patch`.
//!
//! Exit codes: 0 ok, 1 a file could not be read or written, 2 bad usage,
//! 4 corrupt input (or a patched result that does not verify).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rha_core::signature::block::{
    DeltaFormat, DeltaJob, JobError, PatchError, PatchOptions, Progress, Signature, SignatureJob,
    SignatureLoader, SignatureParams, SparsePatchJob, StrongHash, DEFAULT_MAX_BLOCKS,
};

use rha_capture::sync::block::{FileAt, Piece, SparseReader, SparseWriter};

use super::exit::Exit;
use super::output::{refuse_same_file, Output};

/// `rha signature FILE SIGFILE`.
#[derive(Debug, Args)]
pub(crate) struct SignatureArgs {
    /// The file to describe.
    pub(crate) file: PathBuf,
    /// Where to write its block signature.
    pub(crate) sigfile: PathBuf,
    /// Block length in bytes (default: about the square root of the file length).
    #[arg(long)]
    pub(crate) block_size: Option<u32>,
    /// Strong hash of each block: `blake3` also records a whole-file hash
    /// (needed for fixed-offset sync); `xxh3` is faster, for rolling deltas.
    #[arg(long, value_enum, default_value = "blake3")]
    pub(crate) strong_hash: StrongHashArg,
    /// Threads that hash blocks (default: one per core).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
}

/// Strong hash of `rha signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StrongHashArg {
    /// BLAKE3 block hashes and a whole-file hash (signature format version 1).
    Blake3,
    /// XXH3-128 block hashes (signature format version 2).
    Xxh3,
}

/// `--threads`, or one per core.
fn threads(arg: Option<usize>) -> usize {
    arg.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Output format of `rha delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// rha's checksummed format with a whole-file hash.
    Rha,
    /// librsync's format, for `rdiff patch`.
    Rdiff,
}

/// `rha delta SIGFILE NEWFILE DELTAFILE`.
#[derive(Debug, Args)]
pub(crate) struct DeltaArgs {
    /// The basis's signature (from `rha signature` or `rdiff signature`).
    pub(crate) sigfile: PathBuf,
    /// The new file.
    pub(crate) newfile: PathBuf,
    /// Where to write the delta.
    pub(crate) deltafile: PathBuf,
    /// Delta format.
    #[arg(long, value_enum, default_value = "rha")]
    pub(crate) format: FormatArg,
    /// Threads (default: one per core): the whole-file hash runs beside
    /// the search.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
}

/// `rha patch BASIS DELTAFILE OUTFILE`.
#[derive(Debug, Args)]
pub(crate) struct PatchArgs {
    /// The file the signature was made from.
    pub(crate) basis: PathBuf,
    /// The delta (rha or rdiff format).
    pub(crate) deltafile: PathBuf,
    /// Where to write the new file.
    pub(crate) outfile: PathBuf,
    /// Refuse to write more than this many bytes.
    #[arg(long, default_value_t = u64::MAX)]
    pub(crate) max_output: u64,
}

/// Prefixes an I/O error with the path it concerns.
pub(crate) fn ctx(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Prints `msg` as an error and exits with `code`.
pub(crate) fn fail(code: Exit, msg: impl std::fmt::Display) -> io::Result<ExitCode> {
    eprintln!("rha: error: {msg}");
    Ok(code.into())
}

/// Opens an input file, naming it in the error.
pub(crate) fn open_input(path: &Path) -> io::Result<File> {
    File::open(path).map_err(ctx(path))
}

/// Reads the open `file` (named `path`) in 4 MiB chunks (enough for
/// several hashing threads) into `f(chunk, eof)`.
fn each_chunk(
    mut file: &File,
    path: &Path,
    mut f: impl FnMut(&[u8], bool) -> io::Result<bool>,
) -> io::Result<()> {
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let mut n = 0;
        while n < buf.len() {
            let got = file.read(&mut buf[n..]).map_err(ctx(path))?;
            if got == 0 {
                break;
            }
            n += got;
        }
        let eof = n < buf.len();
        if !f(&buf[..n], eof)? || eof {
            return Ok(());
        }
    }
}

/// Feeds the open `file` (named `path`, `len` bytes) to a signature or
/// delta job through `run(piece, end, room)`: each data piece (as `run`
/// with `end` unset), each hole as a length of zeros, never read (as
/// `run_zeros`), then the end (an empty data piece with `end` set); `sink`
/// gets the job's output. A job error stops the feeding and is returned
/// inside the `Ok`; the outer error is reading or writing.
fn feed_sparse(
    file: &File,
    path: &Path,
    len: u64,
    mut run: impl FnMut(Piece<'_>, bool, &mut [u8]) -> Result<Progress, JobError>,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<Result<(), JobError>> {
    let mut room = vec![0u8; 256 << 10];
    let mut reader = SparseReader::new(file, len);
    while let Some(mut piece) = reader.next_piece().map_err(ctx(path))? {
        loop {
            let p = match run(piece, false, &mut room) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            sink(&room[..p.produced])?;
            let more = match piece {
                Piece::Data(d) => {
                    piece = Piece::Data(&d[p.consumed..]);
                    p.consumed < d.len()
                }
                Piece::Zeros(n) => {
                    piece = Piece::Zeros(n - p.consumed as u64);
                    (p.consumed as u64) < n
                }
            };
            if !more && p.produced < room.len() {
                break;
            }
        }
    }
    loop {
        let p = match run(Piece::Data(&[]), true, &mut room) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        sink(&room[..p.produced])?;
        if p.done {
            return Ok(Ok(()));
        }
    }
}

/// Runs `rha signature`.
pub(crate) fn signature(args: &SignatureArgs) -> io::Result<ExitCode> {
    let input = open_input(&args.file)?;
    if let Err(e) = refuse_same_file(&args.sigfile, &[(&args.file, &input)]) {
        return fail(Exit::Usage, e);
    }
    let len = input.metadata().map_err(ctx(&args.file))?.len();
    let mut params = SignatureParams::new(len).with_strong_hash(match args.strong_hash {
        StrongHashArg::Blake3 => StrongHash::Blake3,
        StrongHashArg::Xxh3 => StrongHash::Xxh3,
    });
    if let Some(bl) = args.block_size {
        params = match params.with_block_len(bl) {
            Ok(p) => p,
            Err(e) => return fail(Exit::Usage, e),
        };
    }
    let mut job = SignatureJob::new(params).with_threads(threads(args.threads));
    let output = Output::create(&args.sigfile)?;
    let mut out = io::BufWriter::new(output.file());
    let result = feed_sparse(
        &input,
        &args.file,
        len,
        |piece, end, room| match piece {
            Piece::Data(d) => job.run(d, room, end),
            Piece::Zeros(n) => job.run_zeros(n, room),
        },
        |bytes| out.write_all(bytes).map_err(ctx(&args.sigfile)),
    )?;
    if let Err(e) = result {
        return fail(
            Exit::Io,
            format!(
                "{}: {e} (did it change while being read?)",
                args.file.display()
            ),
        );
    }
    out.flush().map_err(ctx(&args.sigfile))?;
    drop(out);
    output.commit()?;
    outln!(
        "{}: {} blocks of {} bytes, {}-byte strong hashes",
        args.sigfile.display(),
        params.block_count(),
        params.block_len,
        params.strong_len
    );
    Ok(ExitCode::SUCCESS)
}

/// Loads a signature file (rha or rdiff format).
pub(crate) fn load_signature(file: &File, path: &Path) -> io::Result<Result<Signature, String>> {
    let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
    let mut error = None;
    each_chunk(file, path, |input, _| match loader.feed(input) {
        Ok(()) => Ok(true),
        Err(e) => {
            error = Some(e);
            Ok(false)
        }
    })?;
    if let Some(e) = error {
        return Ok(Err(format!("{}: {e}", path.display())));
    }
    Ok(loader
        .finish()
        .map_err(|e| format!("{}: {e}", path.display())))
}

/// Runs `rha delta`.
pub(crate) fn delta(args: &DeltaArgs) -> io::Result<ExitCode> {
    let sig_file = open_input(&args.sigfile)?;
    let new_file = open_input(&args.newfile)?;
    if let Err(e) = refuse_same_file(
        &args.deltafile,
        &[(&args.sigfile, &sig_file), (&args.newfile, &new_file)],
    ) {
        return fail(Exit::Usage, e);
    }
    let sig = match load_signature(&sig_file, &args.sigfile)? {
        Ok(s) => s,
        Err(e) => return fail(Exit::Corrupt, e),
    };
    let format = match args.format {
        FormatArg::Rha => DeltaFormat::Rha,
        FormatArg::Rdiff => DeltaFormat::Rdiff,
    };
    let mut job = DeltaJob::new(sig, format).with_threads(threads(args.threads));
    let output = Output::create(&args.deltafile)?;
    let mut out = io::BufWriter::new(output.file());
    let mut written = 0u64;
    let len = new_file.metadata().map_err(ctx(&args.newfile))?.len();
    feed_sparse(
        &new_file,
        &args.newfile,
        len,
        |piece, end, room| match piece {
            Piece::Data(d) => job.run(d, room, end),
            Piece::Zeros(n) => job.run_zeros(n, room),
        },
        |bytes| {
            written += bytes.len() as u64;
            out.write_all(bytes).map_err(ctx(&args.deltafile))
        },
    )?
    .map_err(io::Error::other)?;
    out.flush().map_err(ctx(&args.deltafile))?;
    drop(out);
    output.commit()?;
    let s = job.stats();
    outln!(
        "{}: {written} bytes; {} bytes matched, {} bytes literal",
        args.deltafile.display(),
        s.matched_bytes,
        s.literal_bytes
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `rha patch`.
pub(crate) fn patch(args: &PatchArgs) -> io::Result<ExitCode> {
    let basis = open_input(&args.basis)?;
    let delta_file = open_input(&args.deltafile)?;
    if let Err(e) = refuse_same_file(
        &args.outfile,
        &[(&args.basis, &basis), (&args.deltafile, &delta_file)],
    ) {
        return fail(Exit::Usage, e);
    }
    let basis_len = basis.metadata().map_err(ctx(&args.basis))?.len();
    let output = Output::create(&args.outfile)?;
    let mut writer = SparseWriter::new(output.file());
    // Zero runs are skipped: they stay holes of the new file.
    let mut job = SparsePatchJob::new(
        FileAt(&basis),
        PatchOptions::default()
            .max_output(args.max_output)
            .basis_len(Some(basis_len)),
    );
    let mut room = vec![0u8; 1 << 20];
    let mut error: Option<PatchError> = None;
    let mut done = false;
    each_chunk(&delta_file, &args.deltafile, |mut input, eof| loop {
        match job.run(input, &mut room, eof) {
            Ok(p) => {
                input = &input[p.consumed..];
                writer
                    .write(&room[..p.produced])
                    .map_err(ctx(&args.outfile))?;
                writer.skip(p.zeros).map_err(ctx(&args.outfile))?;
                done = p.done;
                if p.done || (input.is_empty() && p.produced < room.len() && p.zeros == 0) {
                    return Ok(!p.done);
                }
            }
            Err(e) => {
                error = Some(e);
                return Ok(false);
            }
        }
    })?;
    // On any failure `output` is dropped: its temporary file goes, and an
    // existing OUTFILE stays as it was.
    if let Some(e) = error {
        return match e {
            PatchError::Basis { .. } | PatchError::Target { .. } => fail(Exit::Io, e),
            // The delta belongs to another basis: the arguments do not go
            // together.
            PatchError::WrongBasis { .. } => {
                fail(Exit::Usage, format!("{}: {e}", args.basis.display()))
            }
            _ => fail(Exit::Corrupt, format!("{}: {e}", args.deltafile.display())),
        };
    }
    if !done {
        return fail(
            Exit::Corrupt,
            format!("{}: truncated delta", args.deltafile.display()),
        );
    }
    let len = writer.finish().map_err(ctx(&args.outfile))?;
    output.commit()?;
    outln!("{}: {len} bytes", args.outfile.display());
    Ok(ExitCode::SUCCESS)
}
