//! The rdiff-style commands of the `rha` tool: `rha signature`, `rha delta`
//! and `rha patch`.
//!
//! Exit codes: 0 ok, 1 a file could not be read or written, 2 bad usage,
//! 4 corrupt input (or a patched result that does not verify).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rha_core::signature::block::{
    delta_pieces, signature_pieces, DeltaFormat, JobError, PatchError, PatchOptions, Signature,
    SignatureLoader, SparsePatchJob, StreamError, StreamOptions, StrongHash, DEFAULT_MAX_BLOCKS,
};

use rha_capture::sync::block::{FileAt, SparseReader, SparseWriter};

use super::exit::Exit;
use super::output::{refuse_same_file, Counted, Output};

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

/// `--threads` for the stream helpers: 0 (the default) is one per core,
/// an explicit 0 means one.
fn threads(arg: Option<usize>) -> usize {
    arg.map_or(0, |n| n.max(1))
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

/// Runs `rha signature`.
pub(crate) fn signature(args: &SignatureArgs) -> io::Result<ExitCode> {
    let input = open_input(&args.file)?;
    if let Err(e) = refuse_same_file(&args.sigfile, &[(&args.file, &input)]) {
        return fail(Exit::Usage, e);
    }
    let len = input.metadata().map_err(ctx(&args.file))?.len();
    let opts = StreamOptions::default()
        .block_len(args.block_size)
        .strong_hash(match args.strong_hash {
            StrongHashArg::Blake3 => StrongHash::Blake3,
            StrongHashArg::Xxh3 => StrongHash::Xxh3,
        })
        .threads(threads(args.threads))
        .input_len(Some(len));
    let output = Output::create(&args.sigfile)?;
    let mut out = io::BufWriter::new(output.file());
    // Holes are hashed as lengths of zeros, never read.
    let source = SparseReader::new(&input, len);
    let params = match signature_pieces(source, Some(len), &mut out, &opts) {
        Ok(p) => p,
        Err(StreamError::Job(e @ JobError::InvalidParams(_))) => return fail(Exit::Usage, e),
        Err(StreamError::Job(e)) => {
            return fail(
                Exit::Io,
                format!(
                    "{}: {e} (did it change while being read?)",
                    args.file.display()
                ),
            )
        }
        Err(StreamError::Read { source, .. }) => return Err(ctx(&args.file)(source)),
        Err(StreamError::Write { source, .. }) => return Err(ctx(&args.sigfile)(source)),
        Err(e) => return fail(Exit::Io, e),
    };
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
    let opts = StreamOptions::default()
        .format(format)
        .threads(threads(args.threads));
    let output = Output::create(&args.deltafile)?;
    let mut out = io::BufWriter::new(Counted::new(output.file()));
    let len = new_file.metadata().map_err(ctx(&args.newfile))?.len();
    // Holes become zero runs of the delta, never read.
    let source = SparseReader::new(&new_file, len);
    let s = match delta_pieces(sig, source, &mut out, &opts) {
        Ok(s) => s,
        Err(StreamError::Read { source, .. }) => return Err(ctx(&args.newfile)(source)),
        Err(StreamError::Write { source, .. }) => return Err(ctx(&args.deltafile)(source)),
        Err(e) => return Err(io::Error::other(e)),
    };
    // Flushed by the stream, so nothing is left to write here.
    let written = out
        .into_inner()
        .map_err(|e| ctx(&args.deltafile)(e.into_error()))?
        .bytes();
    output.commit()?;
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
    let mut writer = if output.is_direct() {
        SparseWriter::stream(output.file())
    } else {
        SparseWriter::new(output.file())
    };
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
