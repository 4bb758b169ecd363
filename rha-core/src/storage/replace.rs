//! Replacing a small file atomically: the one way the spool's state, dirty
//! and limits files, the replica's applied point and its open transaction
//! are written.

use std::io;

use super::backend::Storage;

/// What a file being replaced is called until it is renamed into place
/// (`state` is written as `state.tmp`); a reader ignores such leftovers.
pub const TMP_SUFFIX: &str = ".tmp";

/// Replaces the file `name` with `bytes` so that a crash leaves either the
/// old or the new contents: writes `name` + [`TMP_SUFFIX`], syncs it,
/// renames it over `name` and syncs the directory (see
/// `docs/storage.md`, "Durability").
pub fn replace_file(storage: &dyn Storage, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = format!("{name}{TMP_SUFFIX}");
    let file = storage.create(&tmp)?;
    file.write_at(0, bytes)?;
    file.sync()?;
    storage.rename(&tmp, name)?;
    storage.sync_dir()
}
