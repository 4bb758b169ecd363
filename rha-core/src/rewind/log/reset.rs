//! Dropping every point of a log, for when the target is about to change
//! outside it.

use super::{LogError, RewindLog, State};
use crate::storage::Storage;

/// The points and bookmarks of a log that [`RewindLog::drop_all`] drops
/// (or, from [`RewindLog::droppable`], would drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DroppedPoints {
    /// Rewind points, counted as [`RewindLog::points`] lists them (after a
    /// rewind, including those above the current point).
    pub points: usize,
    /// Bookmarks whose point was reachable.
    pub bookmarks: usize,
    /// The oldest point, if any.
    pub oldest: Option<u64>,
    /// The newest point, if any.
    pub newest: Option<u64>,
}

impl DroppedPoints {
    /// Whether there is nothing to drop.
    pub fn is_empty(&self) -> bool {
        self.points == 0 && self.bookmarks == 0
    }
}

impl<S: Storage> RewindLog<S> {
    /// What [`drop_all`](Self::drop_all) would drop now.
    pub fn droppable(&self) -> DroppedPoints {
        let points = self.points();
        DroppedPoints {
            points: points.len(),
            bookmarks: self.bookmarks().len(),
            oldest: points.first().map(|p| p.seq),
            newest: points.last().map(|p| p.seq),
        }
    }

    /// Drops every point and bookmark, durably, and returns what was
    /// dropped: for when the target is about to be changed outside the log
    /// (a sync from the master writes files directly and records no
    /// inverses), which would make every earlier point rewind to wrong
    /// data. Afterwards the log is empty, as a new one: the next record
    /// applied starts it again from the point current then.
    ///
    /// Call it before changing the target. Every step leaves a log that is
    /// still true of the unchanged target, so a crash part way loses points
    /// but never makes one wrong, and calling again finishes the job: a
    /// rewound target's undone entries are dropped and the cursor reset
    /// first (as applying a new record does), then the segments are removed
    /// oldest first, each removal durable (as retention does), then the
    /// redo file.
    ///
    /// Fails with [`LogError::JobUnderWay`], changing nothing, when a
    /// rewind or undo was interrupted: the target is between two points
    /// until [`Replica::open`](crate::rewind::Replica::open) finishes it.
    pub fn drop_all(&mut self) -> Result<DroppedPoints, LogError> {
        self.check()?;
        if let Some(job) = self.state.job {
            return Err(LogError::JobUnderWay { target: job.target });
        }
        let dropped = self.droppable();
        if let Some(head) = self.state.head {
            self.truncate_after(head)?;
            self.set_state(State::default())?;
        }
        while !self.segs.is_empty() {
            self.remove_oldest_segment()?;
        }
        self.entries.clear();
        self.bookmarks.clear();
        self.last_batch = None;
        self.redo_clear()?;
        Ok(dropped)
    }
}
