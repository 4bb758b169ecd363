//! Scanning a directory into a tree signature: to a file, or streamed into
//! the caller's buffers.

use std::ffi::c_char;
use std::fs::File;
use std::io::BufWriter;

use rha_capture::sync::scan::{scan_to_signature, ScanOptions, ScanStats, TreeScanner};
use rha_core::signature::tree::TreeWriter;

use super::path_arg;
use crate::buffer::rha_out_buffer;
use crate::error::{rha_error, rha_result};

/// The bits of a tree scan's `flags`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_tree_scan_flag {
    /// Do not descend into directories on another file system than the root
    /// (mount points are listed, their contents are not).
    RHA_TREE_SCAN_ONE_FILE_SYSTEM = 1,
    /// List the replica state directory `.rha` at the root too (left out by
    /// default: it holds one replica's lock, rewind log and applied point,
    /// which a sync must never copy, compare or delete).
    RHA_TREE_SCAN_INCLUDE_STATE_DIR = 2,
}

closed_set!(flags rha_tree_scan_flag {
    RHA_TREE_SCAN_ONE_FILE_SYSTEM,
    RHA_TREE_SCAN_INCLUDE_STATE_DIR,
});

/// Totals of a scan.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rha_tree_scan_stats {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// Entries recorded.
    pub entries: u64,
    /// Regular files among them.
    pub files: u64,
    /// Sum of the files' sizes in bytes.
    pub bytes: u64,
}

sized_struct!(rha_tree_scan_stats);

/// Totals of a scan as the deprecated `rha_tree_scan_job_stats` returns
/// them, by value. Frozen: the layout `rha_tree_scan_stats` had in 0.1
/// before its size field; `rha_tree_scan_job_get_stats` fills the sized,
/// growable struct instead.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rha_tree_scan_totals {
    /// Entries recorded.
    pub entries: u64,
    /// Regular files among them.
    pub files: u64,
    /// Sum of the files' sizes in bytes.
    pub bytes: u64,
}

impl From<ScanStats> for rha_tree_scan_totals {
    fn from(s: ScanStats) -> Self {
        Self {
            entries: s.entries,
            files: s.files,
            bytes: s.bytes,
        }
    }
}

impl From<ScanStats> for rha_tree_scan_stats {
    fn from(s: ScanStats) -> Self {
        Self {
            struct_size: 0,
            entries: s.entries,
            files: s.files,
            bytes: s.bytes,
        }
    }
}

fn options(flags: u32) -> Result<ScanOptions, rha_error> {
    if flags & !rha_tree_scan_flag::ALL_BITS != 0 {
        return Err(rha_error::invalid_argument(format!(
            "unknown scan flags {flags:#x}"
        )));
    }
    Ok(ScanOptions {
        one_file_system: rha_tree_scan_flag::RHA_TREE_SCAN_ONE_FILE_SYSTEM.is_in(flags),
        // A replica's `.rha` (lock, rewind log) is left out unless asked for.
        include_state_dir: rha_tree_scan_flag::RHA_TREE_SCAN_INCLUDE_STATE_DIR.is_in(flags),
        ..ScanOptions::default()
    })
}

/// Scans the directory tree under `dir` into a tree signature file at
/// `sig_path` (created or truncated).
///
/// `flags` is a bitwise OR of `rha_tree_scan_flag` values (0 for none).
/// A replica state directory `.rha` at the root is left out (it holds that
/// replica's lock and rewind log) unless `RHA_TREE_SCAN_INCLUDE_STATE_DIR`
/// is given; a `.rha` deeper in the tree is ordinary data. Symlinks are recorded, not followed; each
/// directory is read and sorted as it is entered, so memory stays small
/// whatever the tree's size. On success stores the totals in `*stats_out`
/// if it is not NULL.
///
/// Errors: `RHA_NULL_PARAMETER` if `dir` or `sig_path` is NULL;
/// `RHA_INVALID_ARGUMENT` if `dir` is not a directory or `flags` has unknown
/// bits; `RHA_IO` if a directory, an entry or the signature file cannot be
/// read or written (the message names the path);
/// `RHA_TREE_UNSUPPORTED_ENTRY` if a path is longer than 4096 bytes. A
/// partly written signature file may be left behind on failure.
///
/// Thread-safe.
///
/// # Safety
///
/// `dir` and `sig_path` are NULL or NUL-terminated strings; `stats_out` is
/// NULL or valid for writing an `rha_tree_scan_stats`; `error_out` is NULL or
/// valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_scan_file(
    dir: *const c_char,
    sig_path: *const c_char,
    flags: u32,
    stats_out: *mut rha_tree_scan_stats,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(dir, sig_path), {
        let options = options(flags)?;
        // Checked before the signature file is created.
        let stats_size = if stats_out.is_null() {
            0
        } else {
            // SAFETY: non-NULL and holding its size field by this function's contract.
            unsafe { crate::sized::declared_size(stats_out) }?
        };
        // SAFETY: non-NULL (checked by ffi_fn!) NUL-terminated strings by this function's contract.
        let (dir, sig_path) = unsafe { (path_arg(dir), path_arg(sig_path)) };
        let io = |e: std::io::Error| {
            rha_error::new(rha_result::RHA_IO, format!("{}: {e}", sig_path.display()))
                .with_os_code(e.raw_os_error())
        };
        let file = File::create(sig_path).map_err(io)?;
        let (stats, w) = scan_to_signature(dir, options, BufWriter::new(file))?;
        w.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        if !stats_out.is_null() {
            // SAFETY: `stats_size` from `declared_size`; writable by this function's contract.
            unsafe { crate::sized::write_sized(stats_out, stats.into(), stats_size) };
        }
        Ok(rha_result::RHA_OK)
    })
}

/// A scan whose signature bytes the caller pulls into its own buffers
/// (`rha_tree_scan_job_read`), for example to send them over a socket.
///
/// Memory: one directory listing per level of the current path plus one
/// signature block (about 256 KiB). Ownership: made by
/// `rha_tree_scan_job_new`, released with `rha_tree_scan_job_free`. Thread
/// safety: one thread at a time.
pub struct rha_tree_scan_job {
    scanner: TreeScanner,
    writer: Option<TreeWriter<Vec<u8>>>,
    pending: Vec<u8>,
    sent: usize,
}

/// Starts scanning the directory `dir` (see `rha_tree_scan_file` for what is
/// recorded). Nothing is read until `rha_tree_scan_job_read`.
///
/// On success stores a new job in `*job_out`, owned by the caller. Errors:
/// `RHA_NULL_PARAMETER` if `dir` or `job_out` is NULL; `RHA_INVALID_ARGUMENT`
/// for unknown `flags` bits.
///
/// Thread-safe.
///
/// # Safety
///
/// `dir` is NULL or a NUL-terminated string; `job_out` is NULL or valid for
/// writing an `rha_tree_scan_job *`; `error_out` is NULL or valid for
/// writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_scan_job_new(
    dir: *const c_char,
    flags: u32,
    job_out: *mut *mut rha_tree_scan_job,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(dir, job_out),
        handle_out(job_out),
        {
            let options = options(flags)?;
            // SAFETY: non-NULL (checked by ffi_fn!) NUL-terminated string by this function's contract.
            let dir = unsafe { path_arg(dir) };
            let job = rha_tree_scan_job {
                scanner: TreeScanner::new(dir, options),
                writer: Some(TreeWriter::new(Vec::new())),
                pending: Vec::new(),
                sent: 0,
            };
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { job_out.write(crate::handle::new(job)) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Scans on and writes the next signature bytes at `out->dst + out->pos`,
/// advancing `out->pos`.
///
/// Returns `RHA_BLOCKED` when `out` is full and more bytes follow (call
/// again with more room), `RHA_DONE` when the whole signature has been written
/// (`out` may have received its last bytes in this call; later calls
/// return `RHA_DONE` and write nothing). Errors: those of
/// `rha_tree_scan_file`; `RHA_NULL_PARAMETER` if `job` or `out` is NULL;
/// `RHA_INVALID_ARGUMENT` if `out->pos > out->size`. After an error the job
/// can only be freed.
///
/// # Safety
///
/// `job` is NULL or a live job not used by another thread during the call;
/// `out` is NULL or points to an `rha_out_buffer` whose `dst` is writable
/// for `size` bytes; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_scan_job_read(
    job: *mut rha_tree_scan_job,
    out: *mut rha_out_buffer,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job, out), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let (job, out) = unsafe { (&mut *job, &mut *out) };
        loop {
            if job.sent < job.pending.len() {
                // SAFETY: `dst` is writable for `size` bytes by this function's contract.
                job.sent += unsafe { out.fill_from(&job.pending[job.sent..]) }?;
                if job.sent < job.pending.len() {
                    return Ok(rha_result::RHA_BLOCKED);
                }
            }
            job.pending.clear();
            job.sent = 0;
            let Some(writer) = job.writer.as_mut() else {
                return Ok(rha_result::RHA_DONE);
            };
            match job.scanner.next() {
                Some(entry) => {
                    writer.push(&entry?)?;
                    if let Some(sink) = writer.get_mut() {
                        std::mem::swap(&mut job.pending, sink);
                    }
                }
                None => {
                    let writer = job.writer.take().ok_or_else(|| {
                        rha_error::new(rha_result::RHA_INVALID_STATE, "scan job already finished")
                    })?;
                    job.pending = writer.finish()?;
                }
            }
        }
    })
}

/// Stores the totals of the scan so far in `*stats_out`.
///
/// Errors: `RHA_NULL_PARAMETER` if `job` or `stats_out` is NULL;
/// `RHA_INVALID_ARGUMENT` for a `stats_out->struct_size` this library does
/// not know (`*stats_out` untouched).
///
/// # Safety
///
/// `job` is NULL or a live job not used by another thread during the call;
/// `stats_out` is NULL or valid for writing an `rha_tree_scan_stats` of
/// its `struct_size`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_scan_job_get_stats(
    job: *const rha_tree_scan_job,
    stats_out: *mut rha_tree_scan_stats,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job, stats_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(stats_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let stats = unsafe { &*job }.scanner.stats().into();
        // SAFETY: `size` from `declared_size`; writable by this function's contract.
        unsafe { crate::sized::write_sized(stats_out, stats, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// The totals of the scan so far (zeros if `job` is NULL), for the
/// deprecated `rha_tree_scan_job_stats`.
///
/// # Safety
///
/// `job` is NULL or live and unshared.
pub(crate) unsafe fn scan_job_totals(job: *const rha_tree_scan_job) -> rha_tree_scan_totals {
    if job.is_null() {
        return rha_tree_scan_totals::default();
    }
    // SAFETY: non-NULL, live by this function's contract.
    unsafe { &*job }.scanner.stats().into()
}

/// Releases a scan job, finished or not. NULL does nothing.
///
/// # Safety
///
/// `job` is NULL or a live job, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_scan_job_free(job: *mut rha_tree_scan_job) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_tree_scan_job_new` and not used again, by this function's contract.
        unsafe { crate::handle::free(job) }
    })
}
