//! The `rha` command line: one thin module per subcommand (parse the
//! arguments, call the library, print), and one table of exit codes
//! ([`exit::Exit`]).

/// Prints a line on standard output through [`out::line`]: a closed pipe or
/// a full disk is remembered and reported once, never a panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::out::line(format_args!($($arg)*))
    };
}

mod agent_args;
mod apply;
mod block;
mod exit;
mod fixed;
mod journal;
mod keygen;
mod log;
mod out;
mod output;
mod replicate;
mod serve;
mod spool;
mod status;
mod sync;

use std::io;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use exit::Exit;

#[derive(Parser)]
#[command(
    name = "rha",
    version,
    about = "rha: continuous replication and high availability"
)]
struct Cli {
    /// Print the library's diagnostics on standard error: -v info, -vv
    /// debug, -vvv trace (warnings and errors are always printed; RUST_LOG,
    /// e.g. `rha_core::spool=debug,info`, overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect journal files.
    #[command(subcommand)]
    Journal(journal::JournalCommand),
    /// Make REPLICA_DIR equal to MASTER_DIR: scan both, compare, apply the plan.
    Sync(sync::SyncArgs),
    /// Inspect and verify spool directories.
    #[command(subcommand)]
    Spool(spool::SpoolCommand),
    /// Apply a journal file to a replica directory.
    Apply(apply::ApplyArgs),
    /// Rewind a replica, list its points, or undo a rewind.
    #[command(subcommand)]
    Rewind(apply::RewindCommand),
    /// Set a bookmark at a replica's current point.
    Bookmark(apply::BookmarkArgs),
    /// Write the block signature of a file (like `rdiff signature`).
    Signature(block::SignatureArgs),
    /// Write a delta from a signature (rha or rdiff) and a new file.
    Delta(block::DeltaArgs),
    /// Rebuild a new file from a basis and a delta (rha or rdiff format).
    Patch(block::PatchArgs),
    /// Write a delta of exactly the blocks a replica's volume lacks (fixed offsets).
    FixedDelta(fixed::FixedDeltaArgs),
    /// Apply a fixed-offset delta to a file or volume in place.
    PatchInPlace(fixed::PatchInPlaceArgs),
    /// Run the replica agent: serve a master's session over TLS.
    Serve(serve::ServeArgs),
    /// Run the master agent: send its spool to a replica over TLS.
    Replicate(replicate::ReplicateArgs),
    /// Show what a master or replica agent last reported: link, lag,
    /// spool use, acknowledged points.
    Status(status::StatusArgs),
    /// Make a node identity (key and self-signed certificate) in DIR and
    /// print its fingerprint.
    Keygen(keygen::KeygenArgs),
}

/// Gives `cmd` and every subcommand below it the exit-code table in `--help`.
fn with_exit_codes(cmd: clap::Command) -> clap::Command {
    cmd.after_help(Exit::help())
        .mut_subcommands(with_exit_codes)
}

/// Parses the command line, runs the subcommand and returns its exit code.
pub(crate) fn main() -> ExitCode {
    let matches = with_exit_codes(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    log::install(cli.verbose);
    let result = match cli.command {
        Command::Journal(cmd) => journal::run(&cmd),
        Command::Sync(args) => Ok(sync::run(&args)),
        Command::Spool(cmd) => Ok(spool::run(&cmd)),
        Command::Apply(args) => apply::apply(&args),
        Command::Rewind(cmd) => apply::rewind(&cmd),
        Command::Bookmark(args) => apply::bookmark(&args),
        Command::Signature(args) => block::signature(&args),
        Command::Delta(args) => block::delta(&args),
        Command::Patch(args) => block::patch(&args),
        Command::FixedDelta(args) => fixed::fixed_delta(&args),
        Command::PatchInPlace(args) => fixed::patch_in_place(&args),
        Command::Status(args) => Ok(status::run(&args)),
        Command::Keygen(args) => keygen::run(&args),
        Command::Serve(args) => Ok(serve::run(&args)),
        Command::Replicate(args) => Ok(replicate::run(&args)),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rha: error: {e}");
            Exit::Io.into()
        }
    };
    match out::finish() {
        None => code,
        // `rha journal dump big | head` is not an error: the reader has
        // what it wanted, as with coreutils.
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        Some(e) => {
            eprintln!("rha: error: writing to standard output: {e}");
            Exit::Io.into()
        }
    }
}
