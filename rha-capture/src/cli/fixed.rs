//! Fixed-offset sync of volumes from the command line: `rha fixed-delta`
//! (on the master) and `rha patch-in-place` (on the replica).
//!
//! ```sh
//! rha signature --block-size 65536 /dev/vg/replica replica.sig   # replica
//! rha fixed-delta replica.sig /dev/vg/master changes.delta        # master
//! rha patch-in-place /dev/vg/replica changes.delta                # replica
//! ```
//!
//! Exit codes: 0 ok, 1 a file could not be read or written, 2 a target
//! that is not the replica the delta was made against (checked before
//! anything is written), 4 corrupt input, a delta that moves data (not a
//! fixed-offset delta) or a patched target that does not verify.

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rha_core::signature::block::{
    compare_fixed, FixedDeltaJob, InPlacePatch, PatchError, StrongHash,
};

use super::block::{ctx, fail, load_signature, open_input};
use super::exit::Exit;
use super::output::{refuse_same_file, Output};
use rha_capture::sync::block::{sign_file, FileAt};

/// `rha fixed-delta REPLICA_SIG MASTER_FILE DELTAFILE`.
#[derive(Debug, Args)]
pub(crate) struct FixedDeltaArgs {
    /// The replica's rha signature (from `rha signature`).
    pub(crate) replica_sig: PathBuf,
    /// The master's file or volume (signed here with the same block length).
    pub(crate) master: PathBuf,
    /// Where to write the delta of the blocks the replica lacks.
    pub(crate) deltafile: PathBuf,
}

/// `rha patch-in-place TARGET DELTAFILE`.
#[derive(Debug, Args)]
pub(crate) struct PatchInPlaceArgs {
    /// The replica's file or volume, written in place.
    pub(crate) target: PathBuf,
    /// A fixed-offset delta (from `rha fixed-delta`).
    pub(crate) deltafile: PathBuf,
    /// Refuse results longer than this many bytes.
    #[arg(long, default_value_t = u64::MAX)]
    pub(crate) max_output: u64,
}

/// Runs `rha fixed-delta`.
pub(crate) fn fixed_delta(args: &FixedDeltaArgs) -> io::Result<ExitCode> {
    let sig_file = open_input(&args.replica_sig)?;
    let master = open_input(&args.master)?;
    if let Err(e) = refuse_same_file(
        &args.deltafile,
        &[(&args.replica_sig, &sig_file), (&args.master, &master)],
    ) {
        return fail(Exit::Usage, e);
    }
    let replica = match load_signature(&sig_file, &args.replica_sig)? {
        Ok(s) => s,
        Err(e) => return fail(Exit::Corrupt, e),
    };
    // Fixed-offset sync checks the master's whole-file hash: BLAKE3.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let master_sig = match sign_file(
        &args.master,
        Some(replica.block_len()),
        StrongHash::Blake3,
        threads,
    ) {
        Ok((s, _)) => s,
        Err(e) => return fail(Exit::Io, e),
    };
    let plan = match compare_fixed(&replica, &master_sig) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                Exit::Corrupt,
                format!("{}: {e}", args.replica_sig.display()),
            )
        }
    };
    let (needed, same, ranges) = (plan.needed_bytes(), plan.same_bytes(), plan.ranges.len());
    let mut job = FixedDeltaJob::new(FileAt(&master), plan);
    let output = Output::create(&args.deltafile)?;
    let mut out = BufWriter::new(output.file());
    let mut room = vec![0u8; 256 << 10];
    let mut written = 0u64;
    loop {
        let p = match job.run(&mut room) {
            Ok(p) => p,
            Err(e) => return fail(Exit::Io, format!("{}: {e}", args.master.display())),
        };
        out.write_all(&room[..p.produced])
            .map_err(ctx(&args.deltafile))?;
        written += p.produced as u64;
        if p.done {
            break;
        }
    }
    out.flush().map_err(ctx(&args.deltafile))?;
    drop(out);
    output.commit()?;
    outln!(
        "{}: {written} bytes; {needed} bytes in {ranges} ranges to send, {same} bytes already in place",
        args.deltafile.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `rha patch-in-place`.
pub(crate) fn patch_in_place(args: &PatchInPlaceArgs) -> io::Result<ExitCode> {
    let target = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&args.target)
        .map_err(ctx(&args.target))?;
    let mut delta = open_input(&args.deltafile)?;
    if let Err(e) = refuse_same_file(&args.deltafile, &[(&args.target, &target)]) {
        return fail(Exit::Usage, e);
    }
    let mut job = InPlacePatch::new(FileAt(&target), args.max_output);
    let mut buf = vec![0u8; 1 << 20];
    let mut pending = 0usize;
    loop {
        let n = delta
            .read(&mut buf[pending..])
            .map_err(ctx(&args.deltafile))?;
        let end = n == 0;
        let filled = pending + n;
        let p = match job.run(&buf[..filled], end) {
            Ok(p) => p,
            Err(e @ (PatchError::Basis { .. } | PatchError::Target { .. })) => {
                return fail(Exit::Io, format!("{}: {e}", args.target.display()))
            }
            // Another target than the delta was made for: refused before
            // anything was written.
            Err(e @ PatchError::WrongBasis { .. }) => {
                return fail(Exit::Usage, format!("{}: {e}", args.target.display()))
            }
            Err(e) => return fail(Exit::Corrupt, format!("{}: {e}", args.deltafile.display())),
        };
        if p.done {
            if p.consumed < filled || delta.read(&mut buf[..1]).map_err(ctx(&args.deltafile))? > 0 {
                return fail(
                    Exit::Corrupt,
                    format!(
                        "{}: unexpected bytes after the end of the delta",
                        args.deltafile.display()
                    ),
                );
            }
            break;
        }
        // Keep what the job did not consume (a partial command).
        buf.copy_within(p.consumed..filled, 0);
        pending = filled - p.consumed;
        if pending == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
    }
    if job.already_patched() {
        outln!(
            "{}: already patched by this delta; nothing written",
            args.target.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    target.sync_all().map_err(ctx(&args.target))?;
    outln!(
        "{}: {} bytes written in place",
        args.target.display(),
        job.written()
    );
    Ok(ExitCode::SUCCESS)
}
