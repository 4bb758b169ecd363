//! The names and signatures the C API had before its naming rules (the
//! conventions block of `rha.h`): each old function is a thin wrapper that
//! calls its replacement, is marked deprecated in the header (a compiler
//! warning naming the replacement) and stays exported, in its version node,
//! until the next SONAME. Where only the name changed the wrapper forwards
//! its arguments; where a type changed (an `int32_t` boolean, a `bool` where
//! a closed set exists, a NUL-terminated name where text is pointer and
//! length) it keeps its old signature and converts.

use std::ffi::{c_char, CStr};

use crate::error::{rha_error, rha_result};
use crate::ha::builder::{rha_ha_scenario_builder, rha_ha_scenario_builder_set_side_host};
use crate::ha::types::rha_ha_side;
use crate::rewind::{
    rha_replica, rha_replica_add_bookmark, rha_replica_flag, rha_replica_open_with,
    rha_replica_rewind_to, rha_rewind_plan,
};
use crate::signature::block::{rha_signature, rha_signature_new};
use crate::signature::fixed::{rha_fixed_plan, rha_fixed_plan_new};
use crate::spool::dirty::{rha_spool_dirty, rha_spool_dirty_new};
use crate::spool::rha_spool;
use crate::tree::scan::{rha_tree_scan_job, rha_tree_scan_totals, scan_job_totals};

/// Deprecated name of `rha_signature_new` (same arguments, same behaviour).
///
/// # Safety
///
/// As `rha_signature_new`.
#[no_mangle]
#[deprecated(note = "use rha_signature_new")]
pub unsafe extern "C" fn rha_signature_load(
    data: *const u8,
    len: usize,
    sig_out: *mut *mut rha_signature,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), handle_out(sig_out), {
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe { rha_signature_new(data, len, sig_out, error_out) })
    })
}

/// Deprecated name of `rha_fixed_plan_new` (same arguments, same behaviour).
///
/// # Safety
///
/// As `rha_fixed_plan_new`.
#[no_mangle]
#[deprecated(note = "use rha_fixed_plan_new")]
pub unsafe extern "C" fn rha_fixed_compare(
    replica: *const rha_signature,
    master: *const rha_signature,
    plan_out: *mut *mut rha_fixed_plan,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), handle_out(plan_out), {
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe { rha_fixed_plan_new(replica, master, plan_out, error_out) })
    })
}

/// Deprecated name of `rha_spool_dirty_new` (same arguments, same
/// behaviour).
///
/// # Safety
///
/// As `rha_spool_dirty_new`.
#[no_mangle]
#[deprecated(note = "use rha_spool_dirty_new")]
pub unsafe extern "C" fn rha_spool_dirty_regions(
    spool: *const rha_spool,
    dirty_out: *mut *mut rha_spool_dirty,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), handle_out(dirty_out), {
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe { rha_spool_dirty_new(spool, dirty_out, error_out) })
    })
}

/// Deprecated form of `rha_ha_scenario_builder_set_side_host`: `replica`
/// false sets the master (`RHA_HA_MASTER`), true the replica
/// (`RHA_HA_REPLICA`).
///
/// # Safety
///
/// As `rha_ha_scenario_builder_set_side_host`.
#[no_mangle]
#[deprecated(note = "use rha_ha_scenario_builder_set_side_host")]
pub unsafe extern "C" fn rha_ha_scenario_builder_set_host(
    builder: *mut rha_ha_scenario_builder,
    replica: bool,
    name: *const u8,
    name_len: usize,
    address: *const u8,
    address_len: usize,
    prefix_len: u8,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        let side = if replica {
            rha_ha_side::RHA_HA_REPLICA
        } else {
            rha_ha_side::RHA_HA_MASTER
        };
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe {
            rha_ha_scenario_builder_set_side_host(
                builder,
                side as u32,
                name,
                name_len,
                address,
                address_len,
                prefix_len,
                error_out,
            )
        })
    })
}

/// The bytes of a NUL-terminated string without its NUL, as a pointer and a
/// length; NULL stays NULL.
///
/// # Safety
///
/// `s` is NULL or a valid NUL-terminated string.
unsafe fn c_string_bytes(s: *const c_char) -> (*const u8, usize) {
    if s.is_null() {
        return (std::ptr::null(), 0);
    }
    // SAFETY: by this function's contract.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    (bytes.as_ptr(), bytes.len())
}

/// Deprecated form of `rha_replica_add_bookmark`: `name` NUL-terminated,
/// `app_consistent` non-zero for true.
///
/// # Safety
///
/// `replica` as for `rha_replica_add_bookmark`; `name` is NULL or
/// NUL-terminated; `error_out` is NULL or valid for writing a pointer.
#[no_mangle]
#[deprecated(note = "use rha_replica_add_bookmark")]
pub unsafe extern "C" fn rha_replica_set_bookmark(
    replica: *mut rha_replica,
    name: *const c_char,
    timestamp_ns: u64,
    app_consistent: i32,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica, name), {
        // SAFETY: non-NULL (checked) and NUL-terminated by this function's contract.
        let (name, name_len) = unsafe { c_string_bytes(name) };
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe {
            rha_replica_add_bookmark(
                replica,
                name,
                name_len,
                timestamp_ns,
                app_consistent != 0,
                error_out,
            )
        })
    })
}

/// Deprecated form of `rha_replica_rewind_to`: `name` NULL or
/// NUL-terminated, `dry_run` non-zero for true.
///
/// # Safety
///
/// As `rha_replica_rewind_to`, but `name` is NULL or NUL-terminated.
#[no_mangle]
#[deprecated(note = "use rha_replica_rewind_to")]
#[allow(clippy::too_many_arguments)] // the old signature, kept as it was
pub unsafe extern "C" fn rha_replica_rewind(
    replica: *mut rha_replica,
    by: u32,
    seq: u64,
    name: *const c_char,
    time_ns: u64,
    dry_run: i32,
    plan_out: *mut rha_rewind_plan,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: NULL or NUL-terminated by this function's contract.
        let (name, name_len) = unsafe { c_string_bytes(name) };
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe {
            rha_replica_rewind_to(
                replica,
                by,
                seq,
                name,
                name_len,
                time_ns,
                dry_run != 0,
                plan_out,
                error_out,
            )
        })
    })
}

/// Deprecated form of `rha_replica_open_with`: `state_dir` as there,
/// `rewind` non-zero for `RHA_REPLICA_REWIND`; a missing root is created
/// (always `RHA_REPLICA_CREATE`), as this function always did.
///
/// # Safety
///
/// As `rha_replica_open_with`.
#[no_mangle]
#[deprecated(
    note = "use rha_replica_open_with, which creates a missing root only with RHA_REPLICA_CREATE"
)]
pub unsafe extern "C" fn rha_replica_open(
    root: *const c_char,
    state_dir: *const c_char,
    rewind: i32,
    replica_out: *mut *mut rha_replica,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), handle_out(replica_out), {
        let mut flags = rha_replica_flag::RHA_REPLICA_CREATE as u32;
        if rewind != 0 {
            flags |= rha_replica_flag::RHA_REPLICA_REWIND as u32;
        }
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe { rha_replica_open_with(root, state_dir, flags, replica_out, error_out) })
    })
}

/// Deprecated: the totals of the scan so far, returned by value (zeros if
/// `job` is NULL) in the frozen `rha_tree_scan_totals`. A struct returned
/// by value cannot grow; `rha_tree_scan_job_get_stats` fills a sized
/// `rha_tree_scan_stats` instead.
///
/// # Safety
///
/// `job` is NULL or a live job not used by another thread during the call.
#[no_mangle]
#[deprecated(note = "use rha_tree_scan_job_get_stats")]
pub unsafe extern "C" fn rha_tree_scan_job_stats(
    job: *const rha_tree_scan_job,
) -> rha_tree_scan_totals {
    ffi_fn!(default(rha_tree_scan_totals::default()), non_null(job), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { scan_job_totals(job) }
    })
}
