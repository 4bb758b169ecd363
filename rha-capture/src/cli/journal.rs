//! `rha journal dump|verify FILE`: list or check a journal file.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Subcommand};
use rha_capture::journal_file::{scan, Outcome, Scan};
use rha_core::journal::{DecoderConfig, Op, Record, DEFAULT_MAX_RECORD_SIZE};

use super::exit::Exit;

#[derive(Subcommand)]
pub(crate) enum JournalCommand {
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
pub(crate) struct JournalArgs {
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

/// Runs a `rha journal` subcommand.
pub(crate) fn run(cmd: &JournalCommand) -> io::Result<ExitCode> {
    match cmd {
        JournalCommand::Dump(args) => dump(args),
        JournalCommand::Verify(args) => verify(args),
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
    // A failed write ends the listing; `cli::main` reports it (quietly for
    // a closed pipe).
    if let Some(e) = write_err.or_else(|| out.flush().err()) {
        super::out::failed(e);
        return Ok(ExitCode::SUCCESS);
    }
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
                outln!("# {range}, {len} bytes, clean end");
            } else {
                outln!("ok: {file}: {range}, {len} bytes");
            }
            ExitCode::SUCCESS
        }
        Outcome::TornTail { offset, tail_len } => {
            outln!(
                "torn tail at offset {offset}: {file}: {range} intact; \
                 the last {tail_len} bytes are an incomplete record (safe to truncate to {offset} bytes)"
            );
            Exit::Torn.into()
        }
        Outcome::Corrupt(e) => {
            outln!("corrupt at offset {}: {file}: {e}", e.offset);
            Exit::Corrupt.into()
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
            Op::Delete { path } | Op::Rmdir { path } | Op::ClearXattrs { path } => {
                write!(f, "  {path}")
            }
            Op::Mknod { path, mode, rdev } => write!(
                f,
                "  {path}  mode={mode:o}  dev={}:{}",
                rustix::fs::major(*rdev),
                rustix::fs::minor(*rdev)
            ),
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
