//! The `rha apply`, `rha rewind` and `rha bookmark` subcommands.
//!
//! Exit codes (the tool's one table, [`Exit`]): 0 ok, 1 I/O or journal
//! error, 2 bad usage, 5 replica busy, 6 the point asked for is not
//! available (unknown bookmark, retired by retention, no point at that time,
//! after the current point, nothing to undo), 7 a record could not be
//! applied or undone, 4 the journal is corrupt (what came before the damage
//! was applied), 9 the journal does not continue the replica's sequence (a
//! gap, a restart or another scenario).

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use rha_core::journal::ReadError;
use rha_core::rewind::{Plan, ReplicaConfig, Resumed, Retention, RewindError};

use rha_capture::apply::{ApplyError, ApplyReport, ReplicaDir, ReplicaOptions};

use super::exit::Exit;

/// Where the replica is.
#[derive(Args, Debug)]
pub(crate) struct ReplicaArgs {
    /// The replica's root directory.
    pub(crate) replica_dir: PathBuf,
    /// The spool directory holding the rewind log and the lock
    /// [default: REPLICA_DIR/.rha, which is then never written by records].
    #[arg(long, value_name = "DIR")]
    pub(crate) spool: Option<PathBuf>,
    /// Attach volume INDEX (a file or block device) for block records.
    #[arg(long, value_name = "INDEX=PATH", value_parser = parse_volume)]
    pub(crate) volume: Vec<(u32, PathBuf)>,
}

fn parse_volume(s: &str) -> Result<(u32, PathBuf), String> {
    let (i, p) = s
        .split_once('=')
        .ok_or_else(|| format!("expected INDEX=PATH, got '{s}'"))?;
    let i = i
        .parse()
        .map_err(|e| format!("bad volume index '{i}': {e}"))?;
    Ok((i, PathBuf::from(p)))
}

impl ReplicaArgs {
    /// Opens an existing replica (creating nothing if it is not one).
    fn open(&self) -> Result<ReplicaDir, ApplyError> {
        self.open_with(false, ReplicaConfig::default(), true)
    }

    fn open_with(
        &self,
        rewind: bool,
        config: ReplicaConfig,
        existing: bool,
    ) -> Result<ReplicaDir, ApplyError> {
        let mut o = ReplicaOptions::default()
            .spool(self.spool.clone())
            .rewind(rewind)
            .existing(existing)
            .config(config);
        for (i, p) in &self.volume {
            o = o.volume(*i, p.clone());
        }
        ReplicaDir::open(&self.replica_dir, o)
    }
}

/// `rha apply`.
#[derive(Args, Debug)]
pub(crate) struct ApplyArgs {
    /// The journal file to apply.
    pub(crate) journal: PathBuf,
    /// The replica.
    #[command(flatten)]
    pub(crate) replica: ReplicaArgs,
    /// Keep a rewind log (in the spool directory) so the replica can be
    /// rewound. Once a replica has a rewind log it is always kept.
    #[arg(long)]
    pub(crate) rewind: bool,
    /// Retention: drop rewind points older than this (e.g. "7d", "12h").
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) retain_age: Option<Duration>,
    /// Retention: keep the rewind log at most this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub(crate) retain_bytes: Option<u64>,
    /// Size of one rewind log segment (retention drops whole segments).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub(crate) segment_bytes: u64,
}

/// `rha rewind ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum RewindCommand {
    /// List the rewind points and bookmarks of a replica.
    List(ListArgs),
    /// Rewind a replica to a bookmark, a sequence number or a time.
    To(ToArgs),
    /// Undo the rewinds made since the last applied record.
    Undo(ReplicaArgs),
}

/// `rha rewind list`.
#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// The replica.
    #[command(flatten)]
    pub(crate) replica: ReplicaArgs,
    /// Print every point, not only the range and the bookmarks.
    #[arg(long)]
    pub(crate) all: bool,
}

/// `rha rewind to`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("point").required(true).args(["bookmark", "seq", "time"])))]
pub(crate) struct ToArgs {
    /// The replica.
    #[command(flatten)]
    pub(crate) replica: ReplicaArgs,
    /// Rewind to the newest bookmark with this name.
    #[arg(long)]
    pub(crate) bookmark: Option<String>,
    /// Rewind to the point after record N.
    #[arg(long, value_name = "N")]
    pub(crate) seq: Option<u64>,
    /// Rewind to the newest point at or before T (RFC 3339, e.g.
    /// 2025-11-21T10:00:00Z, or nanoseconds since the Unix epoch).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub(crate) time: Option<u64>,
    /// Only list what would change (paths and byte counts).
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `rha bookmark`.
#[derive(Args, Debug)]
pub(crate) struct BookmarkArgs {
    /// The replica.
    #[command(flatten)]
    pub(crate) replica: ReplicaArgs,
    /// The bookmark's name.
    pub(crate) name: String,
    /// Mark the point as application-consistent.
    #[arg(long)]
    pub(crate) app_consistent: bool,
}

fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(ns) = s.parse::<u64>() {
        return Ok(ns);
    }
    let t = humantime::parse_rfc3339_weak(s).map_err(|e| format!("bad time '{s}': {e}"))?;
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .map_err(|_| format!("time '{s}' is before 1970"))
}

fn show_time(ns: u64) -> String {
    humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
}

/// Prints the error and picks the exit code.
fn fail(e: ApplyError) -> io::Result<ExitCode> {
    eprintln!("rha: error: {e}");
    let code = match &e {
        ApplyError::Busy { .. } => Exit::Busy,
        ApplyError::Gap { .. } | ApplyError::NewSequence { .. } => Exit::Gap,
        ApplyError::Journal {
            source: ReadError::Decode(_),
            ..
        } => Exit::Corrupt,
        ApplyError::Rewind(
            RewindError::UnknownBookmark { .. }
            | RewindError::PointRetired { .. }
            | RewindError::NoPointAtTime { .. }
            | RewindError::FuturePoint { .. }
            | RewindError::NothingToUndo
            | RewindError::EmptyLog
            | RewindError::Disabled,
        ) => Exit::NoPoint,
        ApplyError::Rewind(RewindError::BookmarkName { .. }) => Exit::Usage,
        ApplyError::Rewind(_) => Exit::Apply,
        _ => Exit::Io,
    };
    Ok(code.into())
}

fn run(f: impl FnOnce() -> Result<(), ApplyError>) -> io::Result<ExitCode> {
    match f() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => fail(e),
    }
}

/// Runs `rha apply`.
pub(crate) fn apply(args: &ApplyArgs) -> io::Result<ExitCode> {
    run(|| {
        let retention = Retention::default()
            .max_age_ns(args.retain_age.map(|d| d.as_nanos() as u64))
            .max_bytes(args.retain_bytes);
        let config = ReplicaConfig::default()
            .retention(retention)
            .segment_bytes(args.segment_bytes);
        let mut r = args.replica.open_with(args.rewind, config, false)?;
        report_resumed(r.replica().resumed());
        let mut report = ApplyReport::default();
        if let Err(e) = r.apply_journal_into(&args.journal, &mut report) {
            // A damaged journal's error says this itself.
            if !matches!(e, ApplyError::Journal { .. }) {
                let point = report
                    .point
                    .map_or_else(|| "none".to_owned(), |p| p.to_string());
                outln!(
                    "applied {} records ({} already present) before the error, point {point}",
                    report.applied,
                    report.skipped
                );
            }
            return Err(e);
        }
        let point = report
            .point
            .map_or_else(|| "none".to_owned(), |p| p.to_string());
        outln!(
            "applied {} records ({} already present), point {point}",
            report.applied,
            report.skipped
        );
        if report.uncommitted > 0 {
            outln!(
                "kept: {} records of a transaction that does not commit in this journal (applied when a later journal commits it)",
                report.uncommitted
            );
        }
        if let Some(at) = report.torn_at {
            outln!("journal ends with a torn tail at offset {at}: the incomplete record was not applied");
        }
        Ok(())
    })
}

/// Says what opening the replica finished after a crash, and returns it.
fn report_resumed(resumed: Option<Resumed>) -> Option<Resumed> {
    match resumed {
        Some(Resumed::Rewind { to }) => {
            outln!("finished a rewind that was interrupted (by a crash or an error): now at point {to}")
        }
        Some(Resumed::Undo { to }) => {
            outln!("finished an undo that was interrupted (by a crash or an error): back at point {to}")
        }
        Some(Resumed::Rollback { to }) => outln!(
            "rolled back a transaction that a crash interrupted before its commit: at point {to}"
        ),
        None => {}
    }
    resumed
}

fn print_plan(plan: &Plan, dry_run: bool) {
    let verb = if dry_run { "would rewind" } else { "rewound" };
    outln!(
        "{verb} from point {} to point {}: {} records undone",
        plan.from,
        plan.to,
        plan.records
    );
    for (path, item) in &plan.changes {
        outln!("  {path}  {} operations, {} bytes", item.ops, item.bytes);
    }
}

/// Runs `rha rewind ...`.
pub(crate) fn rewind(cmd: &RewindCommand) -> io::Result<ExitCode> {
    run(|| match cmd {
        RewindCommand::List(args) => {
            let mut r = args.replica.open()?;
            report_resumed(r.replica().resumed());
            let rep = r.replica();
            if rep.log().is_none() {
                return Err(RewindError::Disabled.into());
            }
            let points = rep.points();
            let cur = rep
                .current_point()
                .map_or_else(|| "none".to_owned(), |p| p.to_string());
            match (points.first(), points.last()) {
                (Some(a), Some(b)) => outln!(
                    "points: {}..={} ({} points), current {cur}{}",
                    a.seq,
                    b.seq,
                    points.len(),
                    if rep.is_rewound() {
                        " (rewound: undo possible)"
                    } else {
                        ""
                    }
                ),
                _ => outln!("points: none"),
            }
            if let Some(t) = points.iter().find_map(|p| p.timestamp_ns) {
                outln!("oldest timed point: {}", show_time(t));
            }
            if args.all {
                for p in &points {
                    let t = p.timestamp_ns.map_or_else(|| "-".to_owned(), show_time);
                    outln!("  point {:>10}  {t}", p.seq);
                }
            }
            let marks = rep.bookmarks();
            outln!("bookmarks: {}", marks.len());
            for b in marks {
                outln!(
                    "  {}  point {}  {}{}",
                    b.name,
                    b.seq,
                    show_time(b.timestamp_ns),
                    if b.app_consistent {
                        "  application-consistent"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        RewindCommand::To(args) => {
            let mut r = args.replica.open()?;
            let rep = r.replica();
            let resumed = report_resumed(rep.resumed());
            let point = match (&args.bookmark, args.seq, args.time) {
                (Some(name), _, _) => rep.bookmark_point(name)?,
                (_, Some(seq), _) => seq,
                (_, _, Some(t)) => rep.point_at_time(t)?,
                _ => return Err(RewindError::EmptyLog.into()),
            };
            if resumed == Some(Resumed::Rewind { to: point }) && !args.dry_run {
                // The rewind asked for is the one just finished.
                return Ok(());
            }
            let plan = if args.dry_run {
                rep.plan(point)?
            } else {
                rep.rewind_to(point)?
            };
            print_plan(&plan, args.dry_run);
            Ok(())
        }
        RewindCommand::Undo(args) => {
            let mut r = args.open()?;
            if let Some(Resumed::Undo { .. }) = report_resumed(r.replica().resumed()) {
                // The undo asked for is the one just finished.
                return Ok(());
            }
            let top = r.replica().undo_rewind()?;
            outln!("rewind undone: back at point {top}");
            Ok(())
        }
    })
}

/// Runs `rha bookmark`.
pub(crate) fn bookmark(args: &BookmarkArgs) -> io::Result<ExitCode> {
    run(|| {
        let mut r = args.replica.open()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let rep = r.replica();
        rep.set_bookmark(&args.name, now, args.app_consistent)?;
        let point = rep.current_point().unwrap_or(0);
        outln!("bookmark '{}' set at point {point}", args.name);
        Ok(())
    })
}
