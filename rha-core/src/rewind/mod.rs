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

/// Implements [`PreImage`] for a test target that wraps a [`ModelTree`] in
/// its field `inner` and reads through to it.
#[cfg(test)]
macro_rules! pre_image_through_inner {
    ($t:ty) => {
        impl PreImage for $t {
            fn stat(&mut self, p: &RelPath) -> std::io::Result<Option<NodeMeta>> {
                self.inner.stat(p)
            }
            fn read(&mut self, p: &RelPath, o: u64, l: u64) -> std::io::Result<Vec<u8>> {
                self.inner.read(p, o, l)
            }
            fn read_link(&mut self, p: &RelPath) -> std::io::Result<bytes::Bytes> {
                self.inner.read_link(p)
            }
            fn xattr(&mut self, p: &RelPath, n: &[u8]) -> std::io::Result<Option<bytes::Bytes>> {
                self.inner.xattr(p, n)
            }
            fn xattrs(
                &mut self,
                p: &RelPath,
            ) -> std::io::Result<Vec<(bytes::Bytes, bytes::Bytes)>> {
                self.inner.xattrs(p)
            }
            fn other_link(&mut self, p: &RelPath) -> std::io::Result<Option<RelPath>> {
                self.inner.other_link(p)
            }
            fn volume_len(&mut self, v: u32) -> std::io::Result<u64> {
                self.inner.volume_len(v)
            }
            fn volume_read(&mut self, v: u32, o: u64, l: u64) -> std::io::Result<Vec<u8>> {
                self.inner.volume_read(v, o, l)
            }
        }
    };
}

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
