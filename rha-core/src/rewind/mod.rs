//! Rewind: undo entries recorded before each change, rewind points,
//! bookmarks and retention (SPEC.md §5).
//!
//! Before a replica applies a record, [`invert`] computes the records that
//! undo it from the target's current state (read through [`PreImage`]), and
//! the [`Replica`] writes both durably to its [`RewindLog`] before the change
//! lands. Rewinding applies the undo records newest first; the undone
//! records stay in the log so that the rewind itself can be undone, until a
//! new record is applied.
//!
//! Everything here is independent of the operating system: the target is a
//! [`Target`] (the in-memory [`ModelTree`] here, real directories and volumes
//! in `rha-capture`) and the log sits on a [`Storage`](crate::storage::Storage)
//! (a [`DirStorage`](crate::storage::DirStorage), or a
//! [`MemStorage`](crate::storage::MemStorage) for tests, which can simulate
//! crashes).
//!
//! The log's layout is specified in `docs/rewind-log-format.md`.

mod applied;
mod engine;
mod error;
mod invert;
mod log;
mod model;
mod target;

#[cfg(test)]
mod apply_failure_tests;
#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;

pub use applied::{
    AppliedError, AppliedPoint, RecordMark, APPLIED_FILE, APPLIED_LEN, APPLIED_MAGIC, APPLIED_TMP,
    APPLIED_VERSION,
};
pub use engine::{Plan, PlanItem, Replica, ReplicaConfig, Resumed, Retention};
pub use error::RewindError;
pub use invert::{invert, is_namespace, InvertError, NodeKind, NodeMeta, PreImage, INVERSE_CHUNK};
pub use log::{
    BookmarkInfo, DroppedPoints, Entry, LogConfig, LogError, Point, RewindLog, ELIDE_MIN,
    REDO_FILE, SEGMENT_PREFIX, SEGMENT_SUFFIX, STATE_FILE, STATE_SLOT_LEN, WRITE_BYTES,
};
pub use model::{ModelTree, Snapshot, SnapshotNode, MODEL_MAX_LEN};
pub use target::Target;
