//! Durability of a sync run: once at the end, not once per file.
//!
//! A sync writes each changed file into a temporary file and renames it
//! into place without flushing it, and makes the whole replica durable when
//! the run ends (`syncfs` on each file system the replica spans). Flushing
//! every file as it is written costs one journal commit per file, which is
//! what made a first copy several times slower than `rsync -a`.
//!
//! The rule that keeps a crash from going unnoticed: before its first
//! change, a run durably writes the marker `.rha/sync-underway` in the
//! replica; it removes it only after everything is on disk. (A run that
//! changes nothing writes and flushes nothing.) A run that
//! finds the marker follows one that stopped early, whose files may have
//! reached the disk with their names, sizes and times but not their data.
//! Every file whose status changed (`ctime`, which nobody can set back)
//! since the marker was written is then treated as changed, and its data
//! is sent again; the marker stays until a run completes. The marker's own
//! modification time gives the moment, on the file system's clock.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rha_core::storage::{replace_file, DirStorage, Storage};

/// The marker's name in the replica's state directory.
pub(crate) const MARKER: &str = "sync-underway";

/// A run between its marker and its end.
#[derive(Debug)]
pub(crate) struct Underway {
    marker: PathBuf,
    /// The marker was already there: an earlier run stopped early.
    pub(crate) resumed: bool,
    /// This run wrote the marker (before its first change).
    marked: bool,
    /// With `resumed`: files whose status changed at or after this time
    /// (ns, file system clock) may not be on disk.
    pub(crate) since_ns: Option<i64>,
}

impl Underway {
    /// Looks for the marker an earlier run left in `state_dir` (the
    /// replica's `.rha`). Writes nothing: a run that changes nothing leaves
    /// no trace and flushes nothing.
    pub(crate) fn open(state_dir: &Path) -> io::Result<Self> {
        let marker = state_dir.join(MARKER);
        let (resumed, since_ns) = match fs::symlink_metadata(&marker) {
            Ok(m) if m.is_file() => (
                true,
                Some(
                    m.mtime()
                        .saturating_mul(1_000_000_000)
                        .saturating_add(m.mtime_nsec()),
                ),
            ),
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("'{}' is not a file", marker.display()),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (false, None),
            Err(e) => return Err(e),
        };
        Ok(Self {
            marker,
            resumed,
            marked: false,
            since_ns,
        })
    }

    /// Makes sure the marker is on disk before the run's first change: an
    /// earlier run's marker stays as it is (its time covers both runs).
    pub(crate) fn mark(&mut self, state: &DirStorage) -> io::Result<()> {
        if self.resumed || self.marked {
            return Ok(());
        }
        replace_file(
            state,
            MARKER,
            b"a sync of this replica is under way, or stopped before its data was on disk\n",
        )
        .map_err(|e| io::Error::new(e.kind(), format!("'{}': {e}", self.marker.display())))?;
        self.marked = true;
        Ok(())
    }

    /// Whether the end of the run must flush the replica and remove the
    /// marker.
    pub(crate) fn pending(&self) -> bool {
        self.resumed || self.marked
    }

    /// Makes everything under `replica` durable (one `syncfs` for its own
    /// file system and one for each file system mounted below it,
    /// `mounts`), then removes the marker durably.
    pub(crate) fn finish(
        self,
        state: &DirStorage,
        replica: &Path,
        root: Option<&File>,
        mounts: &[PathBuf],
    ) -> io::Result<()> {
        flush_tree(replica, root, mounts)?;
        match state.remove(MARKER) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        state
            .sync_dir()
            .map_err(|e| io::Error::new(e.kind(), format!("'{}': {e}", self.marker.display())))
    }
}

/// Flushes the file systems of `replica` (through `root`, a descriptor of
/// it opened before the run's first write, when there is one) and of
/// `mounts` below it.
pub(crate) fn flush_tree(
    replica: &Path,
    root: Option<&File>,
    mounts: &[PathBuf],
) -> io::Result<()> {
    match root {
        Some(root) => rustix::fs::syncfs(root)?,
        None => sync_fs(replica)?,
    }
    for path in mounts {
        match sync_fs(path) {
            Ok(()) => {}
            // Removed by the plan: nothing of it is left to flush.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Flushes the file system holding `path` (`syncfs`), reporting writeback
/// errors.
fn sync_fs(path: &Path) -> io::Result<()> {
    let dir = File::open(path)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

/// Bytes written between two early flushes of [`Flusher`].
pub(crate) const FLUSH_EVERY: u64 = 256 << 20;

/// Flushes the replica's file system in the background while a run writes,
/// every [`FLUSH_EVERY`] bytes, so that the disk works while the run
/// copies and the flush at its end waits for the last part only. It does
/// not replace that flush: [`finish`](Self::finish) hands its descriptor
/// to the run's last flush ([`flush_tree`]).
///
/// It opens the replica's root before the run's first write and keeps it
/// open: a write-back error of the run is reported through it (by the
/// background flush that met it, or by [`finish`](Self::finish)), never
/// missed because it was reported to another descriptor.
pub(crate) struct Flusher {
    kick: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
    root: File,
    next: u64,
}

impl Flusher {
    /// Opens `replica` and starts the background thread.
    pub(crate) fn start(replica: &Path) -> io::Result<Self> {
        let root = File::open(replica)?;
        let theirs = root.try_clone()?;
        let (kick, kicks) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("rha-sync-flush".into())
            .spawn(move || -> io::Result<()> {
                let mut first_error = Ok(());
                while kicks.recv().is_ok() {
                    // Kicks sent while the last flush ran are covered by
                    // this one.
                    while kicks.try_recv().is_ok() {}
                    if let Err(e) = rustix::fs::syncfs(&theirs) {
                        if first_error.is_ok() {
                            first_error = Err(io::Error::from(e));
                        }
                    }
                }
                first_error
            })?;
        Ok(Self {
            kick: Some(kick),
            thread: Some(thread),
            root,
            next: FLUSH_EVERY,
        })
    }

    /// Tells the flusher the run has written `total` bytes so far.
    pub(crate) fn written(&mut self, total: u64) {
        if total >= self.next {
            self.next = total.saturating_add(FLUSH_EVERY);
            if let Some(kick) = &self.kick {
                let _ = kick.send(());
            }
        }
    }

    /// Stops the background thread: the first write-back error it met, or
    /// the replica's descriptor for the run's last flush.
    pub(crate) fn finish(mut self) -> io::Result<File> {
        self.stop()?;
        self.root.try_clone()
    }

    fn stop(&mut self) -> io::Result<()> {
        self.kick = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the background flush thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // A run that failed: let the thread end; its error no longer matters.
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flusher_flushes_in_the_background_and_at_the_end() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut f = Flusher::start(dir.path()).expect("started");
        fs::write(dir.path().join("a"), b"data").expect("written");
        f.written(1);
        assert_eq!(f.next, FLUSH_EVERY, "no kick below the threshold");
        f.written(FLUSH_EVERY + 5);
        assert_eq!(f.next, 2 * FLUSH_EVERY + 5);
        let root = f.finish().expect("stopped");
        flush_tree(dir.path(), Some(&root), &[]).expect("flushed");
        // Dropped without finishing (a failed run): the thread ends.
        let mut f = Flusher::start(dir.path()).expect("started");
        f.written(3 * FLUSH_EVERY);
        drop(f);
        let missing = dir.path().join("missing");
        let err = Flusher::start(&missing).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
