//! `rha spool inspect|verify DIR`: the operators' view of a spool directory.
//!
//! Exit codes (as for `rha journal verify`): 0 ok, 1 the directory could not
//! be read (or is locked by a running process), 3 torn tail, 4 corrupt,
//! 5 salvaged (`--salvage` cut the spool at a corruption).

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use rha_core::spool::{
    inspect, DirStorage, Inspection, OpenError, RegionTarget, SpoolConfig, SpoolMode, Storage,
    TO_END,
};

/// Exit code: unreadable or locked.
pub const EXIT_IO: u8 = 1;
/// Exit code: the last segment ends with a torn tail.
pub const EXIT_TORN: u8 = 3;
/// Exit code: the spool is corrupt.
pub const EXIT_CORRUPT: u8 = 4;
/// Exit code: `--salvage` discarded everything from a corruption on.
pub const EXIT_SALVAGED: u8 = 5;

/// `rha spool ...`.
#[derive(Debug, Subcommand)]
pub enum SpoolCommand {
    /// Show segments, sequence range, acknowledged position, usage and state.
    ///
    /// Every record is checked. Exit status: 0 ok, 1 unreadable or in use,
    /// 3 torn tail, 4 corrupt.
    Inspect(InspectArgs),
    /// Check every segment, the state and dirty-region files.
    ///
    /// Prints "ok", "torn tail in FILE at offset N" or "corrupt: FILE at
    /// offset N". Exit status: 0 ok, 1 unreadable or in use, 3 torn tail,
    /// 4 corrupt, 5 salvaged.
    Verify(VerifyArgs),
}

/// Arguments of `rha spool inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The spool directory.
    pub dir: PathBuf,
    /// The spool's maximum size in bytes, to show usage against it.
    #[arg(long)]
    pub max_bytes: Option<u64>,
    /// The spool's minimum free space in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    pub min_free_bytes: u64,
}

/// Arguments of `rha spool verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The spool directory.
    pub dir: PathBuf,
    /// Repair: truncate a torn tail, and keep what precedes a corruption
    /// (discarding the rest).
    #[arg(long)]
    pub salvage: bool,
}

/// Runs a `rha spool` subcommand, printing to stdout (and problems to stderr).
pub fn run(cmd: &SpoolCommand) -> ExitCode {
    match cmd {
        SpoolCommand::Inspect(args) => inspect_cmd(args),
        SpoolCommand::Verify(args) => verify_cmd(args),
    }
}

fn open(dir: &Path) -> Result<DirStorage, ExitCode> {
    if !dir.is_dir() {
        eprintln!("rha: error: {}: not a directory", dir.display());
        return Err(ExitCode::from(EXIT_IO));
    }
    DirStorage::open(dir).map_err(|e| {
        eprintln!("rha: error: {}: {e}", dir.display());
        ExitCode::from(EXIT_IO)
    })
}

fn failure(dir: &Path, e: &OpenError) -> ExitCode {
    match e {
        OpenError::Corrupt(c) => {
            println!(
                "corrupt: {} at offset {} ({}; last good sequence number: {})",
                c.file,
                c.offset,
                c.reason,
                c.last_good_seq
                    .map_or_else(|| "none".to_string(), |s| s.to_string())
            );
            ExitCode::from(EXIT_CORRUPT)
        }
        e => {
            eprintln!("rha: error: {}: {e}", dir.display());
            ExitCode::from(EXIT_IO)
        }
    }
}

fn mode(m: SpoolMode) -> String {
    match m {
        SpoolMode::Normal => "normal".to_string(),
        SpoolMode::Stopped { at_seq } => {
            format!("stopped after an overflow at seq {at_seq} (resync required)")
        }
        SpoolMode::Degraded { at_seq } => {
            format!("degraded to dirty-region tracking since seq {at_seq}")
        }
    }
}

fn inspect_cmd(args: &InspectArgs) -> ExitCode {
    let storage = match open(&args.dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let found = match inspect(&storage, &SpoolConfig::default(), false) {
        Ok(i) => i,
        Err(e) => return failure(&args.dir, &e),
    };
    let free = storage.free_space();
    print_inspection(&found, args, free);
    if found.recovery.torn_tail.is_some() {
        ExitCode::from(EXIT_TORN)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_inspection(i: &Inspection, args: &InspectArgs, free: io::Result<u64>) {
    println!("spool {}", args.dir.display());
    println!("  state:        {}", mode(i.mode));
    match (i.segments.first(), i.segments.last()) {
        (Some(a), Some(b)) => println!(
            "  records:      seq {}..={} ({} records)",
            a.first_seq,
            b.last_seq,
            b.last_seq - a.first_seq + 1
        ),
        _ => println!("  records:      none"),
    }
    println!(
        "  acknowledged: up to seq {} (reading resumes at {})",
        i.resume_seq.saturating_sub(1),
        i.resume_seq
    );
    println!("  next seq:     {}", i.next_seq);
    let limit = args
        .max_bytes
        .map_or_else(|| "unlimited".to_string(), |m| format!("{m} bytes"));
    let pct = args.max_bytes.map_or_else(String::new, |m| {
        format!(" ({:.1}%)", i.used_bytes as f64 * 100.0 / m.max(1) as f64)
    });
    println!("  used:         {} bytes of {limit}{pct}", i.used_bytes);
    match free {
        Ok(f) => {
            let low = if f < args.min_free_bytes {
                " (BELOW the minimum)"
            } else {
                ""
            };
            println!(
                "  free space:   {f} bytes, minimum {}{low}",
                args.min_free_bytes
            );
        }
        Err(e) => println!("  free space:   unknown ({e})"),
    }
    println!("  segments:     {}", i.segments.len());
    for s in &i.segments {
        println!(
            "    {}  seq {}..={}  {} bytes",
            s.name, s.first_seq, s.last_seq, s.bytes
        );
    }
    if !i.dirty.is_empty() {
        println!("  dirty regions: {} ranges", i.dirty.range_count());
        for (target, ranges) in i.dirty.iter() {
            let name = match target {
                RegionTarget::File(p) => format!("file {}", p.escape_ascii()),
                RegionTarget::Volume(v) => format!("volume {v}"),
            };
            let list: Vec<String> = ranges
                .iter()
                .map(|&(s, e)| {
                    if e == TO_END {
                        format!("{s}..end")
                    } else {
                        format!("{s}..{e}")
                    }
                })
                .collect();
            println!("    {name}: {}", list.join(", "));
        }
    }
    if let Some(t) = &i.recovery.torn_tail {
        println!(
            "  torn tail:    {} at offset {} ({} bytes; opening the spool truncates them)",
            t.file, t.offset, t.discarded_bytes
        );
    }
}

fn verify_cmd(args: &VerifyArgs) -> ExitCode {
    let storage = match open(&args.dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let found = match inspect(&storage, &SpoolConfig::default(), args.salvage) {
        Ok(i) => i,
        Err(e) => return failure(&args.dir, &e),
    };
    let range = match (found.segments.first(), found.segments.last()) {
        (Some(a), Some(b)) => format!("seq {}..={}", a.first_seq, b.last_seq),
        _ => "no records".to_string(),
    };
    if let Some(c) = &found.recovery.salvaged {
        println!(
            "salvaged: cut at {} offset {} ({}); {} later segment(s) discarded; {range} kept",
            c.file,
            c.offset,
            c.reason,
            found.recovery.discarded.len()
        );
        return ExitCode::from(EXIT_SALVAGED);
    }
    if let Some(t) = &found.recovery.torn_tail {
        let done = if args.salvage {
            "truncated"
        } else {
            "opening the spool truncates it"
        };
        println!(
            "torn tail in {} at offset {} ({} bytes; {done}); {range} intact",
            t.file, t.offset, t.discarded_bytes
        );
        return if args.salvage {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_TORN)
        };
    }
    println!(
        "ok: {range}, {} segment(s), {} bytes, {}",
        found.segments.len(),
        found.used_bytes,
        mode(found.mode)
    );
    ExitCode::SUCCESS
}
