//! `rha`: the rha command-line tool.
//!
//! ```text
//! rha journal dump FILE      list every record of a journal file
//! rha journal verify FILE    check a journal file: ok, torn tail, or corrupt
//! rha sync MASTER REPLICA    make the replica directory equal to the master
//! rha spool inspect DIR      segments, sequence range, acknowledged position, usage, state
//! rha spool verify DIR       check a spool: ok, torn tail, or corrupt (--salvage repairs)
//! rha apply JOURNAL REPLICA_DIR [--rewind]             apply a journal to a directory
//! rha rewind list REPLICA_DIR                          rewind points and bookmarks
//! rha rewind to REPLICA_DIR --bookmark NAME | --seq N | --time T [--dry-run]
//! rha rewind undo REPLICA_DIR                          undo the last rewinds
//! rha bookmark REPLICA_DIR NAME                        mark the current point
//! rha signature FILE SIG     write a file's block signature
//! rha delta SIG NEW DELTA    write a delta (--format rha|rdiff)
//! rha patch BASIS DELTA OUT  rebuild the new file from a basis and a delta
//! ```
//!
//! Exit codes of apply, rewind and bookmark are listed in `rha_capture::apply::cli`.
//!
//! Exit codes: 0 ok, 1 the file could not be read, 2 bad usage, 3 torn tail,
//! 4 corrupt.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use rha_capture::journal_file::{scan, Outcome, Scan};
use rha_core::journal::{DecoderConfig, Op, Record, DEFAULT_MAX_RECORD_SIZE};

/// Exit code: the input file could not be opened or read.
const EXIT_IO: u8 = 1;
/// Exit code: the journal ends with a torn tail.
const EXIT_TORN: u8 = 3;
/// Exit code: the journal is corrupt.
const EXIT_CORRUPT: u8 = 4;

#[derive(Parser)]
#[command(
    name = "rha",
    version,
    about = "rha: continuous replication and high availability"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect journal files.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Make REPLICA_DIR equal to MASTER_DIR: scan both, compare, apply the plan.
    Sync(rha_capture::sync_cli::SyncArgs),
    /// Inspect and verify spool directories.
    #[command(subcommand)]
    Spool(rha_capture::spool_cli::SpoolCommand),
    /// Apply a journal file to a replica directory.
    Apply(rha_capture::apply::cli::ApplyArgs),
    /// Rewind a replica, list its points, or undo a rewind.
    #[command(subcommand)]
    Rewind(rha_capture::apply::cli::RewindCommand),
    /// Set a bookmark at a replica's current point.
    Bookmark(rha_capture::apply::cli::BookmarkArgs),
    /// Write the block signature of a file (like `rdiff signature`).
    Signature(rha_capture::block_cli::SignatureArgs),
    /// Write a delta from a signature (rha or rdiff) and a new file.
    Delta(rha_capture::block_cli::DeltaArgs),
    /// Rebuild a new file from a basis and a delta (rha or rdiff format).
    Patch(rha_capture::block_cli::PatchArgs),
    /// Write a delta of exactly the blocks a replica's volume lacks (fixed offsets).
    FixedDelta(rha_capture::fixed_cli::FixedDeltaArgs),
    /// Apply a fixed-offset delta to a file or volume in place.
    PatchInPlace(rha_capture::fixed_cli::PatchInPlaceArgs),
}

#[derive(Subcommand)]
enum JournalCommand {
    /// List every record: sequence, time, operation, path, offsets and sizes.
    ///
    /// Exit status: 0 clean, 1 unreadable, 3 torn tail, 4 corrupt.
    Dump(JournalArgs),
    /// Check every checksum and sequence number and report how the file ends.
    ///
    /// Prints "ok", "torn tail at offset N" or "corrupt at offset N".
    /// Exit status: 0 ok, 1 unreadable, 3 torn tail, 4 corrupt.
    Verify(JournalArgs),
}

#[derive(Args)]
struct JournalArgs {
    /// The journal file.
    file: PathBuf,
    /// Largest record body accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD_SIZE)]
    max_record_size: usize,
    /// The file continues a journal and has no stream header.
    #[arg(long)]
    no_header: bool,
}

impl JournalArgs {
    fn config(&self) -> DecoderConfig {
        DecoderConfig::default()
            .max_record_size(self.max_record_size)
            .stream_header(!self.no_header)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Journal(JournalCommand::Dump(args)) => dump(&args),
        Command::Journal(JournalCommand::Verify(args)) => verify(&args),
        Command::Sync(args) => return rha_capture::sync_cli::run(&args),
        Command::Spool(cmd) => return rha_capture::spool_cli::run(&cmd),
        Command::Apply(args) => rha_capture::apply::cli::apply(&args),
        Command::Rewind(cmd) => rha_capture::apply::cli::rewind(&cmd),
        Command::Bookmark(args) => rha_capture::apply::cli::bookmark(&args),
        Command::Signature(args) => rha_capture::block_cli::signature(&args),
        Command::Delta(args) => rha_capture::block_cli::delta(&args),
        Command::Patch(args) => rha_capture::block_cli::patch(&args),
        Command::FixedDelta(args) => rha_capture::fixed_cli::fixed_delta(&args),
        Command::PatchInPlace(args) => rha_capture::fixed_cli::patch_in_place(&args),
    };
    match result {
        Ok(code) => code,
        // `rha journal dump big | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rha: error: {e}");
            ExitCode::from(EXIT_IO)
        }
    }
}

fn dump(args: &JournalArgs) -> io::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut write_err = None;
    let scan = scan(&args.file, args.config(), |rec| {
        if write_err.is_none() {
            if let Err(e) = writeln!(out, "{}", Line(rec)) {
                write_err = Some(e);
            }
        }
    })?;
    if let Some(e) = write_err {
        return Err(e);
    }
    out.flush()?;
    Ok(report(&args.file, &scan, true))
}

fn verify(args: &JournalArgs) -> io::Result<ExitCode> {
    let scan = scan(&args.file, args.config(), |_| {})?;
    Ok(report(&args.file, &scan, false))
}

/// Prints the verdict (on stdout when fine, stderr when not) and picks the exit code.
fn report(file: &std::path::Path, scan: &Scan, summary_only: bool) -> ExitCode {
    let range = match (scan.first_seq, scan.last_seq) {
        (Some(a), Some(b)) => format!("{} records, seq {a}..={b}", scan.records),
        _ => "0 records".to_owned(),
    };
    let file = file.display();
    match &scan.outcome {
        Outcome::Clean { len } => {
            if summary_only {
                println!("# {range}, {len} bytes, clean end");
            } else {
                println!("ok: {file}: {range}, {len} bytes");
            }
            ExitCode::SUCCESS
        }
        Outcome::TornTail { offset, tail_len } => {
            println!(
                "torn tail at offset {offset}: {file}: {range} intact; \
                 the last {tail_len} bytes are an incomplete record (safe to truncate to {offset} bytes)"
            );
            ExitCode::from(EXIT_TORN)
        }
        Outcome::Corrupt(e) => {
            println!("corrupt at offset {}: {file}: {e}", e.offset);
            ExitCode::from(EXIT_CORRUPT)
        }
    }
}

/// One `dump` line.
struct Line<'a>(&'a Record);

impl std::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rec = self.0;
        let time = UNIX_EPOCH + Duration::from_nanos(rec.timestamp_ns);
        write!(
            f,
            "{:>10}  {}  {:<12}",
            rec.seq,
            humantime::format_rfc3339_nanos(time),
            rec.op.code().name()
        )?;
        match &rec.op {
            Op::Create { path, mode } | Op::Mkdir { path, mode } => {
                write!(f, "  {path}  mode={mode:o}")
            }
            Op::Write { path, offset, data } => {
                write!(f, "  {path}  offset={offset} len={}", data.len())
            }
            Op::SetLen { path, len } => write!(f, "  {path}  len={len}"),
            Op::Delete { path } | Op::Rmdir { path } => write!(f, "  {path}"),
            Op::Rename { from, to } => write!(f, "  {from} -> {to}"),
            Op::HardLink { existing, link } => write!(f, "  {link} => {existing}"),
            Op::Symlink { path, target } => {
                write!(f, "  {path} -> {}", target.escape_ascii())
            }
            Op::SetAttr { path, attrs } => {
                write!(f, "  {path}")?;
                if let Some(m) = attrs.mode {
                    write!(f, "  mode={m:o}")?;
                }
                if let Some(u) = attrs.uid {
                    write!(f, "  uid={u}")?;
                }
                if let Some(g) = attrs.gid {
                    write!(f, "  gid={g}")?;
                }
                if let Some(t) = attrs.atime {
                    write!(f, "  atime={t}ns")?;
                }
                if let Some(t) = attrs.mtime {
                    write!(f, "  mtime={t}ns")?;
                }
                Ok(())
            }
            Op::SetXattr { path, name, value } => write!(
                f,
                "  {path}  name={}  len={}",
                name.escape_ascii(),
                value.len()
            ),
            Op::RemoveXattr { path, name } => {
                write!(f, "  {path}  name={}", name.escape_ascii())
            }
            Op::BlockWrite {
                volume,
                offset,
                data,
            } => write!(f, "  volume={volume}  offset={offset} len={}", data.len()),
            Op::Discard {
                volume,
                offset,
                len,
            } => write!(f, "  volume={volume}  offset={offset} len={len}"),
            Op::Bookmark {
                name,
                app_consistent,
            } => write!(
                f,
                "  {name:?}{}",
                if *app_consistent {
                    "  application-consistent"
                } else {
                    ""
                }
            ),
            Op::TxBegin { txid } | Op::TxCommit { txid } => write!(f, "  txid={txid}"),
            Op::SyncStart { sync_id } | Op::SyncEnd { sync_id } => write!(f, "  sync={sync_id}"),
            Op::Epoch { scenario, epoch } => write!(f, "  scenario={scenario} epoch={epoch}"),
            // Op is non_exhaustive; a newer rha-core may know more operations.
            _ => Ok(()),
        }
    }
}
