//! The narrow storage interface the [spool](crate::spool) and the
//! [rewind log](crate::rewind) sit on, and its implementations.
//!
//! - [`Storage`] and [`StorageFile`]: a flat directory of named files and
//!   their open handles, with explicit durability (`sync` for a file's
//!   contents, `sync_dir` for the directory's entries).
//! - [`DirStorage`]: a real directory, locked against other processes.
//! - [`MemStorage`]: memory holding a live and a durable image of every
//!   file, so a test can reopen what a crash would leave; a [`CrashPlan`]
//!   freezes it at a chosen sync or cuts a chosen write short.
//! - [`replace_file`]: replaces a small file atomically (temporary file,
//!   sync, rename, directory sync).
//! - [`FaultInjector`]: wraps any storage and fails the calls a shared
//!   [`Faults`] count chooses ([`FaultPlan`]).
//!
//! ```
//! use std::sync::Arc;
//! use rha_core::storage::{FaultInjector, FaultPlan, Faults, MemStorage, Storage};
//!
//! let mem = MemStorage::new();
//! let file = mem.create("a")?;
//! file.write_at(0, b"kept")?;
//! file.sync()?;
//! mem.sync_dir()?;
//! file.write_at(0, b"lost")?;
//! // A crash keeps what was synced.
//! assert_eq!(mem.durable_image().contents("a"), Some(b"kept".to_vec()));
//!
//! // Fail the second call (the write) once.
//! let faults = Faults::new(FaultPlan::FailAt(1));
//! let faulty = FaultInjector::new(Arc::new(mem), faults.clone());
//! let file = faulty.open("a")?;
//! assert!(file.write_at(0, b"x").is_err());
//! assert_eq!(faults.failed_call(), Some("write_at"));
//! # Ok::<(), std::io::Error>(())
//! ```

mod backend;
mod dir;
mod fault;
mod mem;
mod replace;

#[cfg(test)]
mod tests;

pub use backend::{Storage, StorageFile};
pub use dir::{lock_held, DirStorage, LockHeld, LOCK_FILE};
pub use fault::{FaultInjector, FaultPlan, Faults};
pub use mem::{CrashPlan, MemStats, MemStorage};
pub use replace::{replace_file, TMP_SUFFIX};
