//! The `rha sync` command: arguments, progress bar, plan listing, summary.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rha_core::signature::tree::{CompareOptions, PlanOp};

use super::exit::Exit;

use rha_capture::sync::{
    can_chown, describe_dropped_points, sync, Observer, SyncError, SyncMode, SyncOptions,
    SyncReport,
};
use rha_core::rewind::DroppedPoints;

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// Whole-file sync: compare size and modification time, copy what differs.
    File,
    /// Block-level sync: changed files are sent as block deltas against the
    /// replica's copy, and with `--ignore-same off` files whose size and
    /// time agree are compared by content.
    Block,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// Arguments of `rha sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The master directory (the source of truth).
    pub(crate) master: PathBuf,
    /// The replica directory, made equal to the master.
    pub(crate) replica: PathBuf,
    /// How files are compared and sent.
    #[arg(long, value_enum, default_value = "file")]
    pub(crate) mode: ModeArg,
    /// Print the plan and the summary without changing the replica.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Treat files of the same size and modification time as identical.
    #[arg(long, value_enum, default_value = "on")]
    pub(crate) ignore_same: Switch,
    /// Leave paths matching this glob alone on both sides (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Do not descend into other file systems.
    #[arg(long)]
    pub(crate) one_file_system: bool,
    /// The replica keeps rewind points (it was applied to with `--rewind`):
    /// drop them, and its bookmarks, before syncing. Sync writes files
    /// directly and records no inverses, so those points would rewind to
    /// wrong data; without this flag such a replica is refused (exit 2) and
    /// nothing is changed. With `--dry-run`, only says what would be dropped.
    #[arg(long)]
    pub(crate) drop_rewind_points: bool,
    /// Files transferred at once, each by its own thread (default 1: on a
    /// local disk more threads contend in the kernel; more help where each
    /// file waits on a slow or remote device).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) jobs: usize,
}

struct Bar {
    bar: ProgressBar,
    dry_run: bool,
    out: io::BufWriter<io::Stdout>,
    error: Option<io::Error>,
}

impl Observer for Bar {
    fn progress(&mut self, r: &SyncReport) {
        self.bar.set_message(format!(
            "scanned {} + {} entries ({}), compared {}, sent {}",
            r.master.entries,
            r.replica.entries,
            HumanBytes(r.master.bytes + r.replica.bytes),
            r.compared,
            HumanBytes(r.literal_bytes)
        ));
    }

    fn rewind_points_dropped(&mut self, replica: &std::path::Path, dropped: &DroppedPoints) {
        self.bar.suspend(|| {
            eprintln!(
                "rha: {} {} of replica {}: sync records no inverses, so they would rewind to wrong data",
                if self.dry_run {
                    "dry run: would drop"
                } else {
                    "dropping"
                },
                describe_dropped_points(dropped),
                replica.display()
            );
        });
    }

    fn op(&mut self, op: &PlanOp) {
        if self.dry_run && self.error.is_none() {
            if let Err(e) = writeln!(self.out, "{}", PlanLine(op)) {
                self.error = Some(e);
            }
        }
    }
}

/// One line of a dry run's plan listing.
struct PlanLine<'a>(&'a PlanOp);

impl std::fmt::Display for PlanLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = self.0;
        write!(f, "{:<7} {}", op.name(), op.path())?;
        match op {
            PlanOp::Delete { kind, .. } => write!(f, "  ({})", kind.name()),
            PlanOp::Create { entry } | PlanOp::Update { entry } | PlanOp::Check { entry } => {
                write!(
                    f,
                    "  ({} bytes{})",
                    entry.size,
                    if entry.sparse { ", sparse" } else { "" }
                )
            }
            PlanOp::Symlink { entry } => write!(f, " -> {}", entry.target.escape_ascii()),
            PlanOp::Link { target, .. } => write!(f, " => {target}"),
            PlanOp::SetAttrs { changes, .. } => {
                let what: Vec<&str> = [
                    (changes.mode, "mode"),
                    (changes.owner, "owner"),
                    (changes.mtime, "mtime"),
                    (changes.xattrs, "xattrs"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, name)| *name)
                .collect();
                write!(f, "  ({})", what.join(","))
            }
            _ => Ok(()),
        }
    }
}

/// Runs `rha sync`: [`Exit::Ok`], [`Exit::Io`] on failure, [`Exit::Usage`] on a bad pattern.
pub(crate) fn run(args: &SyncArgs) -> ExitCode {
    let mut compare = CompareOptions::default()
        .ignore_same(args.ignore_same == Switch::On)
        .owners(can_chown());
    for pattern in &args.exclude {
        compare = match compare.exclude(pattern) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("rha: error: {e}");
                return Exit::Usage.into();
            }
        };
    }
    let options = SyncOptions {
        mode: match args.mode {
            ModeArg::File => SyncMode::File,
            ModeArg::Block => SyncMode::Block,
        },
        dry_run: args.dry_run,
        compare,
        one_file_system: args.one_file_system,
        drop_rewind_points: args.drop_rewind_points,
        jobs: args.jobs,
    };
    // Drawn on stderr only when it is a terminal.
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut observer = Bar {
        bar,
        dry_run: args.dry_run,
        out: io::BufWriter::new(io::stdout()),
        error: None,
    };
    let result = sync(&args.master, &args.replica, &options, &mut observer);
    observer.bar.finish_and_clear();
    if let Some(e) = observer.error.take() {
        super::out::failed(e);
    } else if let Err(e) = observer.out.flush() {
        super::out::failed(e);
    }
    match result {
        Ok(r) => {
            if let Some(f) = &r.forgotten {
                let mut what = match (f.point.and_then(|p| p.seq), f.point.and_then(|p| p.epoch)) {
                    (Some(seq), Some((scenario, epoch))) => {
                        format!(
                            "its applied point (record {seq}, scenario {scenario} epoch {epoch})"
                        )
                    }
                    (Some(seq), None) => format!("its applied point (record {seq})"),
                    _ if f.unreadable => "its unreadable applied point".to_owned(),
                    _ => "its applied point".to_owned(),
                };
                if f.open_transaction {
                    what += " and the first half of a transaction kept for its commit";
                }
                outln!(
                    "{} {what}: the replica now holds the master's tree, so the next journal \
                     applied to it starts a new sequence",
                    if args.dry_run {
                        "the sync would forget"
                    } else {
                        "forgot"
                    }
                );
            }
            if r.resumed_after_stop {
                outln!(
                    "an earlier sync of this replica stopped before its data was on disk: \
                     the files it changed were checked again"
                );
            }
            outln!(
                "{}created {}, updated {}, deleted {}, attributes fixed {}{}; {} bytes literal, {} bytes matched",
                if args.dry_run { "dry run: would have " } else { "" },
                r.created,
                r.updated,
                r.deleted,
                r.attrs_fixed,
                if r.skipped > 0 { format!(", special files skipped {}", r.skipped) } else { String::new() }
                    + &if r.vanished > 0 { format!(", vanished during sync {}", r.vanished) } else { String::new() }
                    + &if r.unreadable.is_empty() { String::new() } else { format!(", unreadable {}", r.unreadable.len()) },
                r.literal_bytes,
                r.matched_bytes
            );
            if r.unreadable.is_empty() {
                return ExitCode::SUCCESS;
            }
            // Like rsync's 23: the run finished, but not everything moved.
            for u in &r.unreadable {
                eprintln!(
                    "rha: could not read {}: {} (left as it was on the replica)",
                    u.path, u.error
                );
            }
            eprintln!(
                "rha: partial sync: {} master path(s) could not be read",
                r.unreadable.len()
            );
            Exit::Partial.into()
        }
        Err(e @ SyncError::Overlap { .. }) => {
            eprintln!("rha: error: {e}");
            Exit::Usage.into()
        }
        Err(e @ SyncError::RewindPoints { .. }) => {
            eprintln!("rha: error: {e}");
            eprintln!(
                "rha: pass --drop-rewind-points to drop them and sync (rewind first and copy out \
                 anything you still need from an earlier point)"
            );
            Exit::Usage.into()
        }
        Err(e @ SyncError::Busy { .. }) => {
            eprintln!("rha: error: {e}");
            Exit::Busy.into()
        }
        Err(e) => {
            eprintln!("rha: error: {e}");
            Exit::Io.into()
        }
    }
}
