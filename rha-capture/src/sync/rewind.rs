//! A sync into a replica that keeps a rewind log.
//!
//! Sync writes the replica's files directly and records no inverses, so
//! every rewind point taken before it would afterwards rewind to wrong
//! data: undo records made for the old contents applied over the new. A
//! sync therefore refuses such a replica unless told to drop the points
//! ([`SyncOptions::drop_rewind_points`]); then it drops them, durably,
//! before it changes anything ([`RewindLog::drop_all`]), and a later
//! `rha rewind` finds no point rather than corrupting data.

use std::fs;
use std::path::Path;

use rha_core::rewind::{DroppedPoints, LogConfig, RewindLog};
use rha_core::storage::DirStorage;

use super::{Observer, SyncError, SyncOptions};
use crate::apply::{DEFAULT_SPOOL, REWIND_DIR};

/// Checks the rewind log of the replica whose state directory is held
/// (locked) as `state`: with points and without
/// [`SyncOptions::drop_rewind_points`], refuses with
/// [`SyncError::RewindPoints`]; with it, tells the observer and (unless a
/// dry run) drops them. Returns what was (or would be) dropped.
pub(super) fn drop_points(
    replica: &Path,
    state: &DirStorage,
    options: &SyncOptions,
    observer: &mut dyn Observer,
) -> Result<Option<DroppedPoints>, SyncError> {
    let dir = replica.join(DEFAULT_SPOOL).join(REWIND_DIR);
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        _ => return Ok(None),
    }
    let log_err = |source| SyncError::Rewind {
        path: dir.clone(),
        source,
    };
    let storage = state
        .subdir(REWIND_DIR)
        .map_err(|source| SyncError::Apply {
            op: "open rewind log",
            path: dir.display().to_string(),
            source,
        })?;
    let mut log = RewindLog::open(storage, LogConfig::default()).map_err(log_err)?;
    let dropped = log.droppable();
    if dropped.is_empty() {
        return Ok(None);
    }
    if !options.drop_rewind_points {
        return Err(SyncError::RewindPoints {
            replica: replica.to_path_buf(),
            dropped,
        });
    }
    observer.rewind_points_dropped(replica, &dropped);
    if !options.dry_run {
        log.drop_all().map_err(log_err)?;
    }
    Ok(Some(dropped))
}

/// Names what `d` counts for a message: "8 rewind points (0..=7) and 1
/// bookmark".
pub fn describe(d: &DroppedPoints) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let range = match (d.oldest, d.newest) {
        (Some(a), Some(b)) if a != b => format!(" ({a}..={b})"),
        (Some(a), _) => format!(" ({a})"),
        _ => String::new(),
    };
    format!(
        "{}{range} and {}",
        plural(d.points, "rewind point"),
        plural(d.bookmarks, "bookmark")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_count_and_name_the_range() {
        let d = DroppedPoints {
            points: 8,
            bookmarks: 1,
            oldest: Some(0),
            newest: Some(7),
        };
        assert_eq!(describe(&d), "8 rewind points (0..=7) and 1 bookmark");
        let one = DroppedPoints {
            points: 1,
            bookmarks: 0,
            oldest: Some(4),
            newest: Some(4),
        };
        assert_eq!(describe(&one), "1 rewind point (4) and 0 bookmarks");
    }
}
