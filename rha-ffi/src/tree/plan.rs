//! Comparing two tree signatures into a sync plan the caller iterates.

use std::ffi::{c_char, CStr};
use std::fs::File;
use std::io::{BufReader, Cursor};
use std::ptr;

use rha_core::signature::tree::{
    compare, Compare, CompareOptions, Entry, PlanOp, TreeReadError, TreeReader,
};

use super::{path_arg, rha_tree_entry};
use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

/// What a plan step does (`rha_plan_op.op`). Steps come in a safe order:
/// directories before their contents, deletions deepest first, a path
/// deleted before something else is created there, hard links after the
/// file they name, directory attributes after their contents.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_plan_op_kind {
    /// Remove the replica's entry (`entry.kind` says what it is; a
    /// directory is empty by then). Only `entry.path` and `entry.kind` are set.
    RHA_PLAN_DELETE = 1,
    /// Create a directory; its attributes follow in an `RHA_PLAN_SET_ATTRS`.
    RHA_PLAN_MKDIR = 2,
    /// Send a file that exists only on the master.
    RHA_PLAN_CREATE = 3,
    /// Overwrite the replica's differing file with the master's.
    RHA_PLAN_UPDATE = 4,
    /// Size and time agree but were not trusted: compare contents, send the
    /// file if they differ, then set its attributes.
    RHA_PLAN_CHECK = 5,
    /// Create a symlink to `entry.target`.
    RHA_PLAN_SYMLINK = 6,
    /// Make `entry.path` another name of the file `link_target`.
    RHA_PLAN_LINK = 7,
    /// Create a special file (FIFO, device node; sockets cannot be copied).
    RHA_PLAN_SPECIAL = 8,
    /// Give an existing entry the master's attributes named in `changes`.
    RHA_PLAN_SET_ATTRS = 9,
}

/// The bits of `rha_plan_op.changes`: which attributes an
/// `RHA_PLAN_SET_ATTRS` step changes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_plan_change_flag {
    /// Permission bits differ.
    RHA_PLAN_CHANGE_MODE = 1,
    /// Owner or group differ.
    RHA_PLAN_CHANGE_OWNER = 2,
    /// Modification time differs.
    RHA_PLAN_CHANGE_MTIME = 4,
    /// Extended attributes differ (their digests in the signatures): the
    /// replica's set must become the master's exactly.
    RHA_PLAN_CHANGE_XATTRS = 8,
}

closed_set!(flags rha_plan_change_flag {
    RHA_PLAN_CHANGE_MODE,
    RHA_PLAN_CHANGE_OWNER,
    RHA_PLAN_CHANGE_MTIME,
    RHA_PLAN_CHANGE_XATTRS,
});

/// One step of a sync plan, as a borrowed view (see `rha_plan_next` for how
/// long its pointers stay valid).
///
/// `struct_size` covers the whole step, the embedded `entry` included: the
/// entry keeps the layout it has here, and fields a later version adds to
/// plan steps (entry fields among them) go at the end of this struct.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rha_plan_op {
    /// `sizeof` this struct as the caller knows it: set before
    /// `rha_plan_next` (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_plan_op_kind` value.
    pub op: u32,
    /// For `RHA_PLAN_SET_ATTRS`: a bitwise OR of `rha_plan_change_flag`
    /// values; 0 otherwise.
    pub changes: u32,
    /// The master's entry the replica must end up with (for
    /// `RHA_PLAN_DELETE`: the replica's path and kind).
    pub entry: rha_tree_entry,
    /// For `RHA_PLAN_LINK`: the path of the file to link to; empty otherwise.
    pub link_target: rha_bytes,
}

/// Comparison settings for `rha_plan_new_files` and `rha_plan_new_buffers`.
///
/// Defaults (file-level sync): ignore files of the same size and
/// modification time, no content checks, compare owners, no exclusions.
/// Ownership: made by `rha_compare_options_new`, released with
/// `rha_compare_options_free`; plans copy what they need, so the options
/// may be freed or reused after making a plan. Thread safety: one thread at
/// a time.
#[derive(Debug, Default)]
pub struct rha_compare_options {
    options: CompareOptions,
}

/// Makes comparison settings with the defaults. Returns a new object owned
/// by the caller (never NULL). Thread-safe.
#[no_mangle]
pub extern "C" fn rha_compare_options_new() -> *mut rha_compare_options {
    ffi_fn!(default(ptr::null_mut()), non_null(), {
        crate::handle::new(rha_compare_options::default())
    })
}

/// Sets *ignore files of same size/timestamp* (default on). Off, such files
/// are overwritten, or checked by content if `check_contents` is on.
///
/// Errors: `RHA_NULL_PARAMETER` if `options` is NULL.
///
/// # Safety
///
/// `options` is NULL or live and not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_compare_options_set_ignore_same(
    options: *mut rha_compare_options,
    on: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(options), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let o = unsafe { &mut *options };
        o.options = std::mem::take(&mut o.options).ignore_same(on);
        Ok(rha_result::RHA_OK)
    })
}

/// With ignore-same off, plan `RHA_PLAN_CHECK` (compare contents) instead
/// of `RHA_PLAN_UPDATE` for files whose size and time agree. Default off.
///
/// Errors: `RHA_NULL_PARAMETER` if `options` is NULL.
///
/// # Safety
///
/// `options` is NULL or live and not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_compare_options_set_check_contents(
    options: *mut rha_compare_options,
    on: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(options), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let o = unsafe { &mut *options };
        o.options = std::mem::take(&mut o.options).check_contents(on);
        Ok(rha_result::RHA_OK)
    })
}

/// Whether differing owners need fixing (default on; turn off when the
/// replica side cannot change owners).
///
/// Errors: `RHA_NULL_PARAMETER` if `options` is NULL.
///
/// # Safety
///
/// `options` is NULL or live and not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_compare_options_set_owners(
    options: *mut rha_compare_options,
    on: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(options), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let o = unsafe { &mut *options };
        o.options = std::mem::take(&mut o.options).owners(on);
        Ok(rha_result::RHA_OK)
    })
}

/// Adds an exclusion glob: matching paths, and everything inside matching
/// directories, are left alone on both sides. A pattern without `/`
/// matches the last path component at any depth (`*.tmp`); with `/` the
/// whole path from the root (`build/cache`); a trailing `/` matches
/// directories only; `*`, `?`, `[a-z]`, `[!a-z]`, `**` and `\` escapes are
/// understood.
///
/// Errors: `RHA_TREE_BAD_GLOB` if the pattern does not parse (the message
/// says why); `RHA_INVALID_ARGUMENT` if it is not UTF-8;
/// `RHA_NULL_PARAMETER` if `options` or `glob` is NULL.
///
/// # Safety
///
/// `options` is NULL or live and not used by another thread during the
/// call; `glob` is NULL or a NUL-terminated string; `error_out` is NULL or
/// valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_compare_options_add_exclude(
    options: *mut rha_compare_options,
    glob: *const c_char,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(options, glob), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let o = unsafe { &mut *options };
        // SAFETY: non-NULL (checked by ffi_fn!) NUL-terminated string by this function's contract.
        let glob = unsafe { CStr::from_ptr(glob) }
            .to_str()
            .map_err(|_| rha_error::invalid_argument("exclusion pattern is not UTF-8"))?;
        o.options = o.options.clone().exclude(glob)?;
        Ok(rha_result::RHA_OK)
    })
}

/// Releases comparison settings. NULL does nothing.
///
/// # Safety
///
/// `options` is NULL or live, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_compare_options_free(options: *mut rha_compare_options) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_compare_options_new` and not used again, by this function's contract.
        unsafe { crate::handle::free(options) }
    })
}

type Side = Box<dyn Iterator<Item = Result<Entry, TreeReadError>> + Send>;

/// A sync plan being computed: the merge of two signatures, iterated with
/// `rha_plan_next`.
///
/// Memory: one signature block per side, one frame per directory level and
/// one record per hard-linked file. Ownership: made by `rha_plan_new_files`
/// or `rha_plan_new_buffers`, released with `rha_plan_free`. Thread
/// safety: one thread at a time.
pub struct rha_plan {
    compare: Compare<Side, Side>,
    /// Owns what the last view points into.
    current: Option<PlanOp>,
    done: bool,
}

fn options_of(options: *const rha_compare_options) -> CompareOptions {
    // SAFETY: NULL or live, by the contract of the calling function.
    unsafe { options.as_ref() }
        .map(|o| o.options.clone())
        .unwrap_or_default()
}

fn make_plan(master: Side, replica: Side, options: CompareOptions) -> rha_plan {
    rha_plan {
        compare: compare(master, replica, options),
        current: None,
        done: false,
    }
}

/// Starts comparing the tree signature files `master_sig` and `replica_sig`
/// (read incrementally as the plan is iterated). `options` may be NULL for
/// the defaults.
///
/// On success stores a new plan in `*plan_out`, owned by the caller.
/// Errors: `RHA_IO` if a file cannot be opened; `RHA_NULL_PARAMETER` if a
/// path or `plan_out` is NULL. Damage in a signature shows up from
/// `rha_plan_next`.
///
/// # Safety
///
/// `options` is NULL or live; `master_sig` and `replica_sig` are NULL or
/// NUL-terminated strings; `plan_out` is NULL or valid for writing an
/// `rha_plan *`; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_plan_new_files(
    options: *const rha_compare_options,
    master_sig: *const c_char,
    replica_sig: *const c_char,
    plan_out: *mut *mut rha_plan,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(master_sig, replica_sig, plan_out),
        handle_out(plan_out),
        {
            let open = |p: *const c_char| -> Result<Side, rha_error> {
                // SAFETY: non-NULL (checked by ffi_fn!) NUL-terminated string by this function's contract.
                let path = unsafe { path_arg(p) };
                let f = File::open(path).map_err(|e| {
                    rha_error::new(rha_result::RHA_IO, format!("{}: {e}", path.display()))
                        .with_os_code(e.raw_os_error())
                })?;
                Ok(Box::new(TreeReader::new(BufReader::new(f))))
            };
            let plan = make_plan(open(master_sig)?, open(replica_sig)?, options_of(options));
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { plan_out.write(crate::handle::new(plan)) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Starts comparing two tree signatures held in memory. The bytes are
/// copied, so the buffers may be reused once the call returns. `options`
/// may be NULL for the defaults.
///
/// Both signatures are decoded once here, so a damaged one fails now.
/// On success stores a new plan in `*plan_out`, owned by the caller.
/// Errors: `RHA_TREE_CORRUPT` or `RHA_TREE_UNSUPPORTED_VERSION` (with the
/// byte offset, `rha_error_offset`; the message names the side, master or
/// replica) when a buffer is not a whole tree signature;
/// `RHA_NULL_PARAMETER` if `plan_out` is NULL, or a buffer is NULL with a
/// non-zero length. Entries out of order show up from `rha_plan_next`.
///
/// # Safety
///
/// `options` is NULL or live; `master` is readable for `master_len` bytes
/// and `replica` for `replica_len` bytes (either may be NULL if its length
/// is 0); `plan_out` is NULL or valid for writing an `rha_plan *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_plan_new_buffers(
    options: *const rha_compare_options,
    master: *const u8,
    master_len: usize,
    replica: *const u8,
    replica_len: usize,
    plan_out: *mut *mut rha_plan,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(plan_out),
        handle_out(plan_out),
        {
            let copy = |ptr: *const u8, len: usize, name: &str| -> Result<Side, rha_error> {
                // SAFETY: readable for `len` bytes during the call by this function's contract.
                let bytes = unsafe { crate::buffer::arg_slice(ptr, len, name) }?.to_vec();
                check_whole(&bytes, name)?;
                Ok(Box::new(TreeReader::new(Cursor::new(bytes))))
            };
            let plan = make_plan(
                copy(master, master_len, "master")?,
                copy(replica, replica_len, "replica")?,
                options_of(options),
            );
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { plan_out.write(crate::handle::new(plan)) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Decodes every entry of the tree signature `bytes` (the `side` of a
/// comparison): an error names the side and keeps the byte offset.
fn check_whole(bytes: &[u8], side: &str) -> Result<(), rha_error> {
    let mut reader = TreeReader::new(Cursor::new(bytes));
    loop {
        match reader.next_entry() {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(()),
            Err(e) => {
                let message = format!("{side} signature: {e}");
                let inner = rha_error::from(e);
                let out = rha_error::new(inner.code(), message);
                return Err(match inner.offset() {
                    Some(o) => out.with_offset(o),
                    None => out,
                });
            }
        }
    }
}

/// Computes the next plan step.
///
/// Returns `RHA_OK` with the step in `*op_out`: its pointers (`entry.path`,
/// `entry.target`, `link_target`) point into memory owned by the plan,
/// valid until the next `rha_plan_next` or `rha_plan_free` on this plan.
/// Returns `RHA_DONE` when the plan is complete (and on every later call).
/// Errors: `RHA_TREE_CORRUPT`, `RHA_TREE_UNSUPPORTED_VERSION` (with the
/// byte offset, `rha_error_offset`) or `RHA_TREE_ORDER` when a signature is
/// damaged or out of order, `RHA_IO` when a file cannot be read; the
/// message names the side (master or replica). After an error the plan
/// returns `RHA_DONE`. `RHA_NULL_PARAMETER` if `plan` or `op_out` is NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan not used by another thread during the
/// call; `op_out` is NULL or valid for writing an `rha_plan_op`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_plan_next(
    plan: *mut rha_plan,
    op_out: *mut rha_plan_op,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(plan, op_out), {
        // Checked before the previous step's views are released.
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(op_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let plan = unsafe { &mut *plan };
        plan.current = None;
        if plan.done {
            return Ok(rha_result::RHA_DONE);
        }
        let op = match plan.compare.next() {
            None => {
                plan.done = true;
                return Ok(rha_result::RHA_DONE);
            }
            Some(Err(e)) => {
                plan.done = true;
                return Err(e.into());
            }
            Some(Ok(op)) => plan.current.insert(op),
        };
        let view = view(op)?;
        // SAFETY: `size` from `declared_size`; writable by this function's contract.
        unsafe { crate::sized::write_sized(op_out, view, size) };
        Ok(rha_result::RHA_OK)
    })
}

sized_struct!(rha_plan_op);

fn view(op: &PlanOp) -> Result<rha_plan_op, rha_error> {
    use rha_plan_op_kind::*;
    let mut out = rha_plan_op::default();
    let (kind, entry) = match op {
        PlanOp::Delete { path, kind } => {
            out.entry.struct_size = std::mem::size_of::<rha_tree_entry>() as u32;
            out.entry.path = rha_bytes::borrow(path.as_bytes());
            out.entry.kind = rha_tree_entry::view(&Entry::new(path.clone(), *kind)).kind;
            out.op = RHA_PLAN_DELETE as u32;
            return Ok(out);
        }
        PlanOp::Mkdir { entry } => (RHA_PLAN_MKDIR, entry),
        PlanOp::Create { entry } => (RHA_PLAN_CREATE, entry),
        PlanOp::Update { entry } => (RHA_PLAN_UPDATE, entry),
        PlanOp::Check { entry } => (RHA_PLAN_CHECK, entry),
        PlanOp::Symlink { entry } => (RHA_PLAN_SYMLINK, entry),
        PlanOp::Link { entry, target } => {
            out.link_target = rha_bytes::borrow(target.as_bytes());
            (RHA_PLAN_LINK, entry)
        }
        PlanOp::Special { entry } => (RHA_PLAN_SPECIAL, entry),
        PlanOp::SetAttrs { entry, changes } => {
            for (on, flag) in [
                (changes.mode, rha_plan_change_flag::RHA_PLAN_CHANGE_MODE),
                (changes.owner, rha_plan_change_flag::RHA_PLAN_CHANGE_OWNER),
                (changes.mtime, rha_plan_change_flag::RHA_PLAN_CHANGE_MTIME),
                (changes.xattrs, rha_plan_change_flag::RHA_PLAN_CHANGE_XATTRS),
            ] {
                if on {
                    out.changes |= flag as u32;
                }
            }
            (RHA_PLAN_SET_ATTRS, entry)
        }
        _ => {
            return Err(rha_error::new(
                rha_result::RHA_INVALID_STATE,
                format!("plan step '{}' has no C form in this version", op.name()),
            ))
        }
    };
    out.op = kind as u32;
    out.entry = rha_tree_entry::view(entry);
    Ok(out)
}

/// Releases a plan (finished or not) and the memory its last step's views
/// point into. NULL does nothing.
///
/// # Safety
///
/// `plan` is NULL or a live plan, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_plan_free(plan: *mut rha_plan) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_plan_new_*` and not used again, by this function's contract.
        unsafe { crate::handle::free(plan) }
    })
}
