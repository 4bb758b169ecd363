//! `rha spool inspect|verify DIR`: the operators' view of a spool directory.
//!
//! Exit codes (the tool's one table, [`Exit`]): 0 ok, 1 the directory could
//! not be read, 3 torn tail, 4 corrupt, 5 locked by a running process,
//! 8 salvaged (`--salvage` cut the spool at a corruption).

mod json;

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::exit::Exit;
use rha_core::spool::{
    inspect, parse_segment_name, read_limits, FullReason, Inspection, OpenError, OverflowPolicy,
    RegionTarget, SpoolConfig, SpoolLimits, SpoolMode, LIMITS_FILE, STATE_FILE, TO_END,
};
use rha_core::storage::{DirStorage, Storage};

/// `rha spool ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum SpoolCommand {
    /// Show segments, sequence range, acknowledged position, state, the
    /// limits stored in the directory with usage against them, and the
    /// dirty regions of a degraded spool.
    ///
    /// Every record is checked. Exit status: 0 ok, 1 unreadable, 3 torn
    /// tail, 4 corrupt (including a damaged limits file), 5 in use.
    Inspect(InspectArgs),
    /// Check every segment, the state, dirty-region and limits files.
    ///
    /// Prints "ok", "torn tail in FILE at offset N" or "corrupt: FILE at
    /// offset N". Exit status: 0 ok, 1 unreadable, 3 torn tail, 4 corrupt,
    /// 5 in use, 8 salvaged (a damaged limits file is removed; the next open
    /// stores new limits).
    Verify(VerifyArgs),
}

/// Arguments of `rha spool inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The spool directory.
    pub(crate) dir: PathBuf,
    /// Show usage against this maximum size in bytes instead of the
    /// stored one.
    #[arg(long)]
    pub(crate) max_bytes: Option<u64>,
    /// Show usage against this minimum free space in bytes instead of the
    /// stored one (default without a stored one: 1 GiB).
    #[arg(long)]
    pub(crate) min_free_bytes: Option<u64>,
    /// List every file and volume with dirty regions (default: the first
    /// 50).
    #[arg(long)]
    pub(crate) all_dirty: bool,
    /// Print the report as one JSON object (every dirty target included).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Dirty targets listed by `inspect` without `--all-dirty`.
const DIRTY_LISTED: usize = 50;

/// Arguments of `rha spool verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The spool directory.
    pub(crate) dir: PathBuf,
    /// Repair: truncate a torn tail, and keep what precedes a corruption
    /// (discarding the rest).
    #[arg(long)]
    pub(crate) salvage: bool,
}

/// Runs a `rha spool` subcommand, printing to stdout (and problems to stderr).
pub(crate) fn run(cmd: &SpoolCommand) -> ExitCode {
    match cmd {
        SpoolCommand::Inspect(args) => inspect_cmd(args),
        SpoolCommand::Verify(args) => verify_cmd(args),
    }
}

fn open(dir: &Path) -> Result<DirStorage, ExitCode> {
    if !dir.is_dir() {
        eprintln!("rha: error: {}: not a directory", dir.display());
        return Err(Exit::Io.into());
    }
    // Looking must not create: a directory with neither a state file nor a
    // segment is not a spool, and gets no lock file either.
    let is_spool = std::fs::read_dir(dir)
        .map_err(|e| {
            eprintln!("rha: error: {}: {e}", dir.display());
            ExitCode::from(Exit::Io)
        })?
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n == STATE_FILE || parse_segment_name(n).is_some())
        });
    if !is_spool {
        eprintln!(
            "rha: error: {}: not a spool directory (no {STATE_FILE} file and no segments)",
            dir.display()
        );
        return Err(Exit::Io.into());
    }
    DirStorage::open(dir).map_err(|e| {
        eprintln!("rha: error: {}: {e}", dir.display());
        if e.kind() == io::ErrorKind::WouldBlock {
            Exit::Busy.into()
        } else {
            Exit::Io.into()
        }
    })
}

fn failure(dir: &Path, e: &OpenError) -> ExitCode {
    match e {
        OpenError::Corrupt(c) => {
            outln!(
                "corrupt: {} at offset {} ({}; last good sequence number: {})",
                c.file,
                c.offset,
                c.reason,
                c.last_good_seq
                    .map_or_else(|| "none".to_string(), |s| s.to_string())
            );
            Exit::Corrupt.into()
        }
        e => {
            eprintln!("rha: error: {}: {e}", dir.display());
            Exit::Io.into()
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
    let fail = |e: &OpenError| match e {
        OpenError::Corrupt(c) if args.json => {
            outln!("{}", json::corruption(c));
            Exit::Corrupt.into()
        }
        e => failure(&args.dir, e),
    };
    // Records are checked against the record size the spool was opened with.
    let config = match read_limits(&storage) {
        Ok(Some(stored)) => stored.apply(SpoolConfig::default()),
        Ok(None) => SpoolConfig::default(),
        Err(e) => return fail(&e),
    };
    let found = match inspect(&storage, &config, false) {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    let free = storage.free_space();
    if args.json {
        let (limits, overridden) = effective_limits(&found, args);
        let dir = args.dir.display().to_string();
        outln!(
            "{}",
            json::inspection(&dir, &found, &limits, &overridden, &free)
        );
    } else {
        print_inspection(&found, args, free);
    }
    if found.recovery.torn_tail.is_some() {
        Exit::Torn.into()
    } else {
        ExitCode::SUCCESS
    }
}

/// The limits to show: the stored ones (or the defaults), with the
/// command line's overrides; and which were overridden.
fn effective_limits(i: &Inspection, args: &InspectArgs) -> (SpoolLimits, Vec<&'static str>) {
    let mut limits = i
        .limits
        .clone()
        .unwrap_or_else(|| SpoolLimits::of(&SpoolConfig::default()));
    let mut overridden = Vec::new();
    if let Some(m) = args.max_bytes {
        limits.max_bytes = Some(m);
        overridden.push("max_bytes");
    }
    if let Some(m) = args.min_free_bytes {
        limits.min_free_bytes = m;
        overridden.push("min_free_bytes");
    }
    (limits, overridden)
}

fn percent(part: u64, whole: u64) -> f64 {
    part as f64 * 100.0 / whole.max(1) as f64
}

fn print_inspection(i: &Inspection, args: &InspectArgs, free: io::Result<u64>) {
    outln!("spool {}", args.dir.display());
    outln!("  state:        {}", mode(i.mode));
    match (i.segments.first(), i.segments.last()) {
        (Some(a), Some(b)) => outln!(
            "  records:      seq {}..={} ({} records)",
            a.first_seq,
            b.last_seq,
            b.last_seq - a.first_seq + 1
        ),
        _ => outln!("  records:      none"),
    }
    outln!(
        "  acknowledged: up to seq {} (reading resumes at {})",
        i.resume_seq.saturating_sub(1),
        i.resume_seq
    );
    outln!("  next seq:     {}", i.next_seq);
    let (limits, overridden) = effective_limits(i, args);
    let mut source = match i.limits {
        Some(_) => "stored in the spool directory".to_string(),
        None => "none stored (spool written before limits were stored); defaults shown".to_string(),
    };
    if !overridden.is_empty() {
        let flags: Vec<String> = overridden
            .iter()
            .map(|o| format!("--{}", o.replace('_', "-")))
            .collect();
        source = format!("{source}; overridden by {}", flags.join(", "));
    }
    outln!("  limits:       {source}");
    let policy = match limits.overflow {
        OverflowPolicy::Stop => "stop",
        OverflowPolicy::DegradeToDirtyRegions => "degrade to dirty regions",
    };
    let warn: Vec<String> = limits
        .warn_percent
        .iter()
        .map(|p| format!("{p}%"))
        .collect();
    outln!(
        "    overflow {policy}; warnings at {}; segments of {} bytes; records up to {} bytes",
        if warn.is_empty() {
            "none".to_string()
        } else {
            warn.join(", ")
        },
        limits.segment_bytes,
        limits.max_record_size
    );
    let limit = limits
        .max_bytes
        .map_or_else(|| "unlimited".to_string(), |m| format!("{m} bytes"));
    let pct = limits.max_bytes.map_or_else(String::new, |m| {
        format!(" ({:.1}%)", percent(i.used_bytes, m))
    });
    outln!("  used:         {} bytes of {limit}{pct}", i.used_bytes);
    match free {
        Ok(f) => {
            let low = if f < limits.min_free_bytes {
                " (BELOW the minimum)"
            } else {
                ""
            };
            outln!(
                "  free space:   {f} bytes, minimum {}{low}",
                limits.min_free_bytes
            );
            let (capacity, by) = limits.capacity(i.used_bytes, f);
            let by = match by {
                FullReason::MaxSize => "the maximum size",
                _ => "the free space",
            };
            let used = percent(i.used_bytes, capacity);
            let crossed: Vec<String> = limits
                .warn_percent
                .iter()
                .filter(|&&p| used >= f64::from(p))
                .map(|p| format!("{p}%"))
                .collect();
            let crossed = if crossed.is_empty() {
                String::new()
            } else {
                format!("; above the {} warning threshold(s)", crossed.join(", "))
            };
            outln!("  capacity:     {capacity} bytes now (set by {by}), {used:.1}% used{crossed}");
        }
        Err(e) => outln!("  free space:   unknown ({e})"),
    }
    outln!("  segments:     {}", i.segments.len());
    for s in &i.segments {
        outln!(
            "    {}  seq {}..={}  {} bytes",
            s.name,
            s.first_seq,
            s.last_seq,
            s.bytes
        );
    }
    print_dirty(i, args.all_dirty);
    if let Some(t) = &i.recovery.torn_tail {
        outln!(
            "  torn tail:    {} at offset {} ({} bytes; opening the spool truncates them)",
            t.file,
            t.offset,
            t.discarded_bytes
        );
    }
}

fn print_dirty(i: &Inspection, all: bool) {
    if i.dirty.is_empty() {
        return;
    }
    let (mut files, mut volumes) = (0, 0);
    for (target, _) in i.dirty.iter() {
        match target {
            RegionTarget::File(_) => files += 1,
            _ => volumes += 1,
        }
    }
    outln!(
        "  dirty regions: {} ranges in {files} file(s) and {volumes} volume(s), granularity {} bytes",
        i.dirty.range_count(),
        i.dirty.granularity()
    );
    let shown = if all { usize::MAX } else { DIRTY_LISTED };
    for (target, ranges) in i.dirty.iter().take(shown) {
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
        outln!("    {name}: {}", list.join(", "));
    }
    let targets = files + volumes;
    if targets > shown {
        outln!(
            "    ... and {} more (--all-dirty lists every one)",
            targets - shown
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
    if let Some(c) = found
        .recovery
        .salvaged
        .as_ref()
        .filter(|c| c.file == LIMITS_FILE)
    {
        outln!(
            "salvaged: removed the damaged limits file ({} at offset {}; the next open stores new limits); {range} kept",
            c.reason, c.offset
        );
        return Exit::Salvaged.into();
    }
    if let Some(c) = &found.recovery.salvaged {
        outln!(
            "salvaged: cut at {} offset {} ({}); {} later segment(s) discarded; {range} kept",
            c.file,
            c.offset,
            c.reason,
            found.recovery.discarded.len()
        );
        return Exit::Salvaged.into();
    }
    if let Some(t) = &found.recovery.torn_tail {
        let done = if args.salvage {
            "truncated"
        } else {
            "opening the spool truncates it"
        };
        outln!(
            "torn tail in {} at offset {} ({} bytes; {done}); {range} intact",
            t.file,
            t.offset,
            t.discarded_bytes
        );
        return if args.salvage {
            ExitCode::SUCCESS
        } else {
            Exit::Torn.into()
        };
    }
    outln!(
        "ok: {range}, {} segment(s), {} bytes, {}",
        found.segments.len(),
        found.used_bytes,
        mode(found.mode)
    );
    ExitCode::SUCCESS
}
