//! The `rha` command line: one thin module per subcommand (parse the
//! arguments, call the library, print), and one table of exit codes
//! ([`exit::Exit`]).

mod apply;
mod block;
mod exit;
mod fixed;
mod journal;
mod output;
mod spool;
mod sync;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use exit::Exit;

#[derive(Parser)]
#[command(
    name = "rha",
    version,
    about = "rha: continuous replication and high availability",
    after_help = Exit::help()
)]
struct Cli {
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
}

/// Parses the command line, runs the subcommand and returns its exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Journal(cmd) => journal::run(&cmd),
        Command::Sync(args) => return sync::run(&args),
        Command::Spool(cmd) => return spool::run(&cmd),
        Command::Apply(args) => apply::apply(&args),
        Command::Rewind(cmd) => apply::rewind(&cmd),
        Command::Bookmark(args) => apply::bookmark(&args),
        Command::Signature(args) => block::signature(&args),
        Command::Delta(args) => block::delta(&args),
        Command::Patch(args) => block::patch(&args),
        Command::FixedDelta(args) => fixed::fixed_delta(&args),
        Command::PatchInPlace(args) => fixed::patch_in_place(&args),
    };
    match result {
        Ok(code) => code,
        // `rha journal dump big | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rha: error: {e}");
            Exit::Io.into()
        }
    }
}
