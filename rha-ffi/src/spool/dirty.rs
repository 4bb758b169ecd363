//! `rha_spool_dirty`: a snapshot of a degraded spool's dirty regions, read
//! through borrowed views.

use rha_core::spool::{DirtyRegions, RegionTarget};

use super::rha_spool;
use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

/// What a dirty target is (`rha_spool_dirty_target.kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_spool_target_kind {
    /// A file or directory, named by `path`.
    RHA_SPOOL_TARGET_FILE = 1,
    /// A volume, named by `volume`.
    RHA_SPOOL_TARGET_VOLUME = 2,
}

closed_set!(rha_spool_target_kind {
    RHA_SPOOL_TARGET_FILE,
    RHA_SPOOL_TARGET_VOLUME,
});

/// The `end` of a range that reaches the end of its file or volume (for a
/// file, its existence, length or attributes may have changed too):
/// `UINT64_MAX`, written out so that header parsers without the C library's
/// macros read it too.
pub const RHA_SPOOL_RANGE_TO_END: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// A changed byte range `[start, end)`; `end` is `RHA_SPOOL_RANGE_TO_END`
/// for "to the end of the file or volume".
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_spool_range {
    /// First changed byte (a multiple of the granularity).
    pub start: u64,
    /// One past the last changed byte (a multiple of the granularity, or
    /// `RHA_SPOOL_RANGE_TO_END`); always greater than `start`.
    pub end: u64,
}

/// One file or volume with changes, as filled in by
/// `rha_spool_dirty_get`. Every pointer in it is borrowed from the
/// `rha_spool_dirty` snapshot and stays valid until that snapshot is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rha_spool_dirty_target {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_spool_target_kind` value: `RHA_SPOOL_TARGET_FILE` or
    /// `RHA_SPOOL_TARGET_VOLUME`.
    pub kind: u32,
    /// VOLUME: the volume index the scenario gave it; FILE: 0.
    pub volume: u32,
    /// FILE: the scenario-relative path (raw bytes, not NUL-terminated);
    /// VOLUME: empty.
    pub path: rha_bytes,
    /// The changed ranges, sorted by `start`, neither overlapping nor
    /// touching; `range_count` of them (at least one).
    pub ranges: *const rha_spool_range,
    /// Number of ranges at `ranges`.
    pub range_count: usize,
}

sized_struct!(rha_spool_dirty_target);

/// A snapshot of a spool's dirty regions: which byte ranges of which files
/// and volumes changed after a degrading overflow, so a resync copies only
/// those. Ranges are widened to multiples of the granularity.
///
/// Ownership: made by `rha_spool_dirty_new`, owned by the caller,
/// released with `rha_spool_dirty_free`. It is a copy: later appends to the
/// spool do not change it, and it stays valid after the spool is closed.
/// Thread safety: immutable; any number of threads may read one snapshot
/// at once, but `rha_spool_dirty_free` must not race with readers.
pub struct rha_spool_dirty {
    granularity: u64,
    range_count: u64,
    targets: Vec<(RegionTarget, Vec<rha_spool_range>)>,
}

impl rha_spool_dirty {
    fn new(d: &DirtyRegions) -> Self {
        let targets: Vec<(RegionTarget, Vec<rha_spool_range>)> = d
            .iter()
            .map(|(t, ranges)| {
                let ranges = ranges
                    .into_iter()
                    .map(|(start, end)| rha_spool_range { start, end })
                    .collect();
                (t.clone(), ranges)
            })
            .collect();
        Self {
            granularity: d.granularity(),
            range_count: targets.iter().map(|(_, r)| r.len() as u64).sum(),
            targets,
        }
    }
}

/// Takes a snapshot of `spool`'s dirty regions (empty unless the spool is
/// degraded, see `RHA_SPOOL_MODE_DEGRADED`).
///
/// On success stores a new snapshot in `*dirty_out`, owned by the caller
/// (release it with `rha_spool_dirty_free`). Errors: `RHA_NULL_PARAMETER`.
/// Thread-safe with respect to `spool` (producers may append meanwhile; the
/// snapshot holds the regions recorded before the call).
///
/// # Safety
///
/// `spool` is NULL or a live spool; `dirty_out` is NULL or valid for
/// writing an `rha_spool_dirty *`; `error_out` is NULL or valid for writing
/// an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_dirty_new(
    spool: *const rha_spool,
    dirty_out: *mut *mut rha_spool_dirty,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(spool, dirty_out),
        handle_out(dirty_out),
        {
            // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
            let regions = unsafe { &*spool }.spool.dirty_regions();
            let snapshot = crate::handle::new(rha_spool_dirty::new(&regions));
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { dirty_out.write(snapshot) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// The granularity of the snapshot's ranges in bytes (at least 1; 4096 by
/// default). Returns 0 if `dirty` is NULL. Thread-safe.
///
/// # Safety
///
/// `dirty` is NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_dirty_granularity(dirty: *const rha_spool_dirty) -> u64 {
    ffi_fn!(default(0), non_null(dirty), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*dirty }.granularity
    })
}

/// The number of files and volumes in the snapshot (0 if `dirty` is NULL).
/// Thread-safe.
///
/// # Safety
///
/// `dirty` is NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_dirty_target_count(dirty: *const rha_spool_dirty) -> usize {
    ffi_fn!(default(0), non_null(dirty), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*dirty }.targets.len()
    })
}

/// The number of ranges over every target of the snapshot (0 if `dirty` is
/// NULL); equals `dirty_ranges` of `rha_spool_get_usage` at the time of the
/// snapshot. Thread-safe.
///
/// # Safety
///
/// `dirty` is NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_dirty_range_count(dirty: *const rha_spool_dirty) -> u64 {
    ffi_fn!(default(0), non_null(dirty), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*dirty }.range_count
    })
}

/// Describes target number `index` of the snapshot. Targets come in a
/// fixed order: files by path (bytewise), then volumes by index.
///
/// Returns `RHA_OK` with the target in `*target_out`, whose `path` and
/// `ranges` point into the snapshot and stay valid until
/// `rha_spool_dirty_free(dirty)`; a loop from 0 below
/// `rha_spool_dirty_target_count` visits every target. Errors:
/// `RHA_INVALID_ARGUMENT` if `index` is not below the target count (an index
/// out of range is that error everywhere in rha; `*target_out` untouched);
/// `RHA_NULL_PARAMETER`. Thread-safe.
///
/// # Safety
///
/// `dirty` is NULL or a live snapshot; `target_out` is NULL or valid for
/// writing an `rha_spool_dirty_target`; `error_out` is NULL or valid for
/// writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_dirty_get(
    dirty: *const rha_spool_dirty,
    index: usize,
    target_out: *mut rha_spool_dirty_target,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(dirty, target_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(target_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let dirty = unsafe { &*dirty };
        let (target, ranges) = dirty.targets.get(index).ok_or_else(|| {
            rha_error::invalid_argument(format!(
                "target index {index} is out of range ({} targets)",
                dirty.targets.len()
            ))
        })?;
        let (kind, volume, path) = match target {
            RegionTarget::File(path) => (
                rha_spool_target_kind::RHA_SPOOL_TARGET_FILE,
                0,
                rha_bytes::borrow(path),
            ),
            RegionTarget::Volume(v) => (
                rha_spool_target_kind::RHA_SPOOL_TARGET_VOLUME,
                *v,
                rha_bytes::EMPTY,
            ),
        };
        let view = rha_spool_dirty_target {
            struct_size: 0,
            kind: kind as u32,
            volume,
            path,
            ranges: ranges.as_ptr(),
            range_count: ranges.len(),
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { crate::sized::write_sized(target_out, view, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Releases a snapshot; every view taken from it becomes invalid. NULL
/// does nothing.
///
/// # Safety
///
/// `dirty` is NULL or a live snapshot no other thread is using, not used
/// again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_dirty_free(dirty: *mut rha_spool_dirty) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_spool_dirty_new` and not used
        // again, by this function's contract.
        unsafe { crate::handle::free(dirty) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_lists_targets_and_ranges_in_order() {
        let mut d = DirtyRegions::new(100);
        d.mark(RegionTarget::Volume(7), 250, 260);
        d.mark(RegionTarget::File(b"b".to_vec()), 0, u64::MAX);
        d.mark(RegionTarget::File(b"a".to_vec()), 1, 2);
        d.mark(RegionTarget::File(b"a".to_vec()), 500, 501);
        let snap = crate::handle::new(rha_spool_dirty::new(&d));
        let mut t = rha_spool_dirty_target {
            struct_size: std::mem::size_of::<rha_spool_dirty_target>() as u32,
            kind: 0,
            volume: 0,
            path: rha_bytes::EMPTY,
            ranges: std::ptr::null(),
            range_count: 0,
        };
        let mut seen = Vec::new();
        // SAFETY: `snap` is live until freed below; views are read before that.
        unsafe {
            assert_eq!(rha_spool_dirty_granularity(snap), 100);
            assert_eq!(rha_spool_dirty_target_count(snap), 3);
            assert_eq!(rha_spool_dirty_range_count(snap), 4);
            let mut i = 0;
            while rha_spool_dirty_get(snap, i, &mut t, std::ptr::null_mut()) == rha_result::RHA_OK {
                let path = if t.path.len == 0 {
                    Vec::new()
                } else {
                    std::slice::from_raw_parts(t.path.ptr, t.path.len).to_vec()
                };
                let ranges = std::slice::from_raw_parts(t.ranges, t.range_count).to_vec();
                seen.push((t.kind, t.volume, path, ranges));
                i += 1;
            }
            assert_eq!(i, 3);
            let code = rha_spool_dirty_get(snap, 3, &mut t, std::ptr::null_mut());
            assert_eq!(code, rha_result::RHA_INVALID_ARGUMENT);
            rha_spool_dirty_free(snap);
        }
        let r = |start, end| rha_spool_range { start, end };
        const FILE: u32 = rha_spool_target_kind::RHA_SPOOL_TARGET_FILE as u32;
        const VOLUME: u32 = rha_spool_target_kind::RHA_SPOOL_TARGET_VOLUME as u32;
        assert_eq!(
            seen,
            [
                (FILE, 0, b"a".to_vec(), vec![r(0, 100), r(500, 600)]),
                (FILE, 0, b"b".to_vec(), vec![r(0, RHA_SPOOL_RANGE_TO_END)]),
                (VOLUME, 7, Vec::new(), vec![r(200, 300)]),
            ]
        );
    }

    #[test]
    fn null_handles_are_refused_or_ignored() {
        // SAFETY: NULL is allowed everywhere here.
        unsafe {
            assert_eq!(rha_spool_dirty_granularity(std::ptr::null()), 0);
            assert_eq!(rha_spool_dirty_target_count(std::ptr::null()), 0);
            assert_eq!(rha_spool_dirty_range_count(std::ptr::null()), 0);
            rha_spool_dirty_free(std::ptr::null_mut());
            let mut out = std::ptr::null_mut();
            assert_eq!(
                rha_spool_dirty_new(std::ptr::null(), &mut out, std::ptr::null_mut()),
                rha_result::RHA_NULL_PARAMETER
            );
            assert!(out.is_null());
        }
    }

    #[test]
    fn snapshots_are_thread_safe() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<rha_spool_dirty>();
    }
}
