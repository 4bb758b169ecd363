//! Applying journals to real directories and volumes, with rewind.
//!
//! [`DirTarget`] applies records beneath a replica root (path-safe, see its
//! docs); [`ReplicaDir`] adds the replica's spool directory, its lock and
//! rewind log, and applies whole journal files.

mod dir;
mod replica;

pub use dir::DirTarget;
pub use replica::{
    ApplyError, ApplyReport, ReplicaDir, ReplicaOptions, DEFAULT_SPOOL, MEMORY_JOURNAL, REWIND_DIR,
    TXN_FILE,
};
