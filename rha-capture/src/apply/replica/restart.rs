//! A replica that a sync brought to a point of a new journal sequence.

use std::io;

use rha_core::rewind::{AppliedPoint, DroppedPoints, Replica, ReplicaConfig};
use rha_core::storage::{DirStorage, Storage};

use super::{ApplyError, ReplicaDir, REWIND_DIR, TXN_FILE};
use crate::apply::DirTarget;

impl ReplicaDir {
    /// After a sync made the replica's data hold the journal up to record
    /// `after` (0: none) of a new sequence: forgets the old sequence (its
    /// applied point, a transaction's kept first half, and the rewind log
    /// with its points and bookmarks, which would rewind the synced data to
    /// wrong contents), durably, and continues after `after`. Records up
    /// to `replay_to` may already be part of the synced data: they are
    /// applied in replay mode, so the replica runs without a rewind log
    /// until it is past them ([`set_rewind`](Self::set_rewind) turns the
    /// log on again). Returns the rewind points and bookmarks dropped.
    pub fn restart_sequence(
        &mut self,
        after: u64,
        replay_to: u64,
    ) -> Result<Option<DroppedPoints>, ApplyError> {
        let io = |path: std::path::PathBuf| move |source| ApplyError::Io { path, source };
        let dropped = self
            .replica
            .log()
            .map(|l| l.droppable())
            .filter(|d| !d.is_empty());
        let mut target = self.take_target();
        // The sync replaced files under their names.
        target.close_files();
        match self.storage.remove(TXN_FILE) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(self.spool.join(TXN_FILE))(e)),
        }
        let log_dir = self.spool.join(REWIND_DIR);
        match std::fs::remove_dir_all(&log_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(log_dir)(e)),
        }
        self.storage.sync_dir().map_err(io(self.spool.clone()))?;
        let applied = AppliedPoint {
            seq: (after > 0).then_some(after),
            replay_to: replay_to.max(after),
            ..AppliedPoint::default()
        };
        applied
            .store(&self.storage)
            .map_err(|source| ApplyError::Point {
                path: self.spool.clone(),
                source,
            })?;
        let mut replica = Replica::without_rewind(target);
        replica.resume_at(applied.seq, applied.replay_to);
        self.replica = replica;
        self.applied = applied;
        self.taken = applied.seq;
        self.last = None;
        self.settled = None;
        Ok(dropped)
    }

    /// Records up to `seq` may already be in the replica's data (a sync's
    /// copy included them): they are applied in replay mode, which skips a
    /// change already visible. Only without a rewind log (a replica with
    /// one knows exactly what it applied); says whether it took effect.
    pub fn replay_through(&mut self, seq: u64) -> bool {
        if self.replica.log().is_some() {
            return false;
        }
        let point = self.replica.current_point().or(self.applied.seq);
        self.replica.resume_at(
            point,
            seq.max(self.applied.replay_to).max(point.unwrap_or(0)),
        );
        true
    }

    /// Starts keeping a rewind log (a new one, whose first point is the
    /// current one) after [`restart_sequence`](Self::restart_sequence);
    /// the target is made durable first. Does nothing if a log is kept.
    pub fn set_rewind(&mut self, config: ReplicaConfig) -> Result<(), ApplyError> {
        if self.replica.log().is_some() {
            return Ok(());
        }
        self.sync()?;
        let log = self
            .storage
            .subdir(REWIND_DIR)
            .map_err(|source| ApplyError::Io {
                path: self.spool.join(REWIND_DIR),
                source,
            })?;
        let target = self.take_target();
        self.replica = Replica::open(target, log, config)?;
        Ok(())
    }

    /// Takes the target out of the engine (closing a rewind log), leaving
    /// an empty one in its place.
    fn take_target(&mut self) -> DirTarget {
        let placeholder: Replica<DirTarget, DirStorage> =
            Replica::without_rewind(DirTarget::volumes_only());
        std::mem::replace(&mut self.replica, placeholder).into_target()
    }
}
