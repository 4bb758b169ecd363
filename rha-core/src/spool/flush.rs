//! Getting encoded segment bytes and metadata files onto the storage, in an
//! order that keeps every crash image recoverable.

use std::io;
use std::sync::Arc;

use crate::storage::{Storage, StorageFile};

/// Encoded bytes of one segment, not yet written.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) seg: u64,
    pub(crate) offset: u64,
    /// The encoded bytes, in order.
    pub(crate) parts: Vec<bytes::Bytes>,
    pub(crate) len: usize,
}

/// A chunk to write to its segment.
pub(crate) struct Job {
    pub(crate) key: u64,
    /// The segment's file name.
    pub(crate) name: String,
    /// The segment's file, if it exists.
    pub(crate) file: Option<Arc<dyn StorageFile>>,
    /// A spare file to rename to `name` if the segment has no file yet.
    pub(crate) spare: Option<String>,
    pub(crate) chunk: Chunk,
}

/// Bytes written to a segment file, up to `end`.
pub(crate) struct Written {
    pub(crate) key: u64,
    pub(crate) file: Arc<dyn StorageFile>,
    pub(crate) end: u64,
    /// The file was created and its directory entry is not synced yet.
    created: bool,
}

/// Syncs every file in `written` (in segment order), then the directory if
/// any of them was created; returns them, now durable.
pub(crate) fn sync_all(
    storage: &dyn Storage,
    written: Vec<Written>,
) -> Result<Vec<Written>, (String, io::Error)> {
    let mut synced: Vec<u64> = Vec::new();
    for w in &written {
        if !synced.contains(&w.key) {
            w.file
                .sync()
                .map_err(|e| (format!("syncing segment {}", w.key), e))?;
            synced.push(w.key);
        }
    }
    if written.iter().any(|w| w.created) {
        storage
            .sync_dir()
            .map_err(|e| ("syncing the directory".to_string(), e))?;
    }
    Ok(written)
}

/// Writes each chunk to its segment. Everything written earlier (`pending`
/// and this call's writes) is synced before a new segment file is created
/// (or a spare renamed to it),
/// and the directory synced after the creation is recorded, so no byte of a
/// newer segment can reach the disk before the older ones are complete.
/// With `sync`, everything is synced at the end.
///
/// Returns what is durable now and what is written but not synced.
pub(crate) fn write_chunks(
    storage: &dyn Storage,
    jobs: Vec<Job>,
    pending: Vec<Written>,
    sync: bool,
) -> Result<(Vec<Written>, Vec<Written>), (String, io::Error)> {
    let mut durable = Vec::new();
    let mut written = pending;
    for job in jobs {
        let Job {
            key,
            name,
            file,
            spare,
            chunk,
        } = job;
        let (file, created) = match file.or_else(|| {
            written
                .iter()
                .find(|w| w.key == key)
                .map(|w| w.file.clone())
        }) {
            Some(f) => (f, false),
            None => {
                durable.extend(sync_all(storage, std::mem::take(&mut written))?);
                match spare {
                    // The new name is made durable before any new byte goes
                    // in, or a crash could show new records under the old
                    // name. The old records stay behind the new ones as
                    // stale frames (docs/spool-format.md, "Where a segment
                    // ends").
                    Some(spare) => {
                        let f = storage
                            .rename(&spare, &name)
                            .and_then(|()| storage.sync_dir())
                            .and_then(|()| storage.open(&name))
                            .map_err(|e| (format!("reusing {spare} as {name}"), e))?;
                        (f, false)
                    }
                    None => {
                        let f = storage
                            .create(&name)
                            .map_err(|e| (format!("creating {name}"), e))?;
                        (f, true)
                    }
                }
            }
        };
        let mut at = chunk.offset;
        for part in &chunk.parts {
            file.write_at(at, part)
                .map_err(|e| (format!("writing {name}"), e))?;
            at += part.len() as u64;
        }
        written.push(Written {
            key,
            file,
            end: at,
            created,
        });
    }
    if sync {
        durable.extend(sync_all(storage, written)?);
        return Ok((durable, Vec::new()));
    }
    Ok((durable, written))
}
