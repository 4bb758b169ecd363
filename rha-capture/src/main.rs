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
//! rha fixed-delta SIG MASTER DELTA   only the blocks a replica lacks (fixed offsets)
//! rha patch-in-place TARGET DELTA    apply a fixed-offset delta in place
//! rha keygen DIR [--force] [--json]  make a node identity; print its fingerprint
//! ```
//!
//! Every subcommand lives in `cli/`; `rha --help` lists the exit codes,
//! which mean the same in every subcommand.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
