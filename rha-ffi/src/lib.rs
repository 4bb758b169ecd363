//! # rha-ffi: the C ABI of rha
//!
//! This crate builds `librha.so` and `librha.a`, declared in the generated,
//! committed header `include/rha.h`. It has no logic of its own: every
//! function converts its arguments, calls [`rha_core`] (or, for applying to
//! real directories and scanning trees, [`rha_capture`]), and converts the
//! result back.
//!
//! ## What it covers
//!
//! | capability | C prefix | errors |
//! |---|---|---|
//! | journals: writing and streaming decoding | `rha_journal_`, `rha_record_` | 300s |
//! | block signatures, deltas, patches; fixed-offset sync | `rha_signature_`, `rha_delta_job_`, `rha_patch_job_`, `rha_fixed_`, `rha_in_place_patch_job_`, `rha_delta_ops_job_` | 400–449 |
//! | tree signatures and sync plans | `rha_tree_`, `rha_plan_`, `rha_compare_options_` | 450–499 |
//! | the spool | `rha_spool_` | 500s |
//! | applying to a replica, rewind, bookmarks | `rha_replica_` | 600s |
//! | the HA scenario machine | `rha_ha_` | 700s |
//! | the replication session, sans-IO | `rha_session_` | 800s |
//! | the ready agents over TLS, node identities | `rha_master_agent_`, `rha_replica_agent_`, `rha_identity_` | 900s |
//! | errors and versions | `rha_error_`, `rha_version_`, `rha_result_` | 100s usage, 200s I/O |
//! | diagnostics: a logging callback | `rha_log_` | 100s |
//!
//! ## Conventions
//!
//! - **Handles** are opaque, heap-allocated objects named `rha_<thing>`, made
//!   by `rha_<thing>_new` (from arguments or bytes), `rha_<thing>_open` (what
//!   lives on disk) or `rha_<thing>_build` (from a builder) and released with
//!   `rha_<thing>_free`; `_free(NULL)` does nothing. A builder is consumed by
//!   its `_build` call, whether or not that call succeeds. Names that broke
//!   the rule stay as deprecated wrappers (`deprecated.rs`).
//! - **Booleans** are `bool`; **strings** in are NUL-terminated only for
//!   host file-system paths, pointer and length otherwise.
//! - **Results**: every fallible function returns an [`rha_result`]. `RHA_OK`
//!   is success; `RHA_BLOCKED` and `RHA_DONE` are progress statuses, not
//!   errors; every other value is an error, numbered in blocks of one hundred
//!   per family (100s API usage, 200s I/O, 300s journal) and never renumbered.
//!   `RHA_BLOCKED` always means the call needs more input or more output room
//!   (an output buffer filled with more to come), `RHA_DONE` that nothing
//!   more is to be produced (for a `_poll_` call: the queue is empty), and an
//!   index out of range is `RHA_INVALID_ARGUMENT` in every function.
//! - **Error details**: the last parameter of every fallible function is
//!   `rha_error **error_out`. It may be NULL (no details wanted). If it is
//!   not, `*error_out` must be NULL on entry (GLib's `GError` rule): a
//!   failing call stores a new [`rha_error`] there that the caller must
//!   release with [`rha_error_free`] (and set back to NULL before reusing
//!   the variable); successful calls (including `RHA_BLOCKED` and
//!   `RHA_DONE`) leave it untouched. If `*error_out` still holds an earlier
//!   error, a failing call keeps that one and drops its own (the returned
//!   code is always the call's own): nothing leaks and nothing is freed
//!   twice. So one variable may gather the first error of a sequence of
//!   calls. There is no thread-local "last error". Where a function's
//!   safety notes say `error_out` is "valid for writing", it is read too:
//!   it points to an initialised `rha_error *`.
//! - **Parameters**: handle first, then inputs, then outputs, then
//!   `error_out`. A required pointer that is NULL makes the call fail with
//!   `RHA_NULL_PARAMETER`.
//! - **Outputs**: a handle output (`rha_x **x_out`: `job_out`, `sig_out`,
//!   `spool_out`, ...) holds NULL after any failure, whatever it held
//!   before, and the new handle after success; so freeing it after a failed
//!   call is a no-op, never a second free of a stale handle. Every other
//!   output (a struct, a number) is written only on success and is
//!   untouched by a failing call.
//! - **Closed sets** (operations, kinds, modes, formats, flag bits) are
//!   named C enums that document their values; parameters and struct fields
//!   carry them as `uint32_t`, never as the enum type (a C caller may pass
//!   any integer, which would be undefined behaviour in a Rust enum), and
//!   each is checked on entry: an unknown value fails with
//!   `RHA_INVALID_ARGUMENT`. `closed_set!` derives each set's decoding and
//!   names from its enum; `tests/every_export_wrapped.rs` fails if an
//!   exported function takes an enum by value.
//! - **Panics** never cross the boundary: a bug in rha that panics makes the
//!   call return `RHA_PANIC` (or a documented default for functions that do
//!   not return a result), with the panic's message and location in the
//!   error. Nothing is printed: the first call installs a process-wide Rust
//!   panic hook that records panics on threads inside an rha call and hands
//!   every other panic to the hook installed before it.
//! - **Threads**: a handle may be used by one thread at a time; it may move
//!   between threads. Distinct handles are independent.
//! - **Logging**: nothing is printed. rha's `tracing` spans and events
//!   (warnings such as a torn spool tail truncated, what each operation did,
//!   caught panics) reach the callback registered with
//!   [`rha_log_set_callback`], from any thread.
//!
//! ## A journal round trip, from Rust through the C ABI
//!
//! ```
//! use rha::*;
//! use std::ptr;
//!
//! // SAFETY (whole example): every pointer passed below is either NULL where
//! // NULL is allowed or points to a live local or a handle made by this library.
//! unsafe {
//!     let mut writer = ptr::null_mut();
//!     let builder = rha_journal_writer_builder_new();
//!     assert_eq!(rha_journal_writer_build(builder, &mut writer, ptr::null_mut()), rha_result::RHA_OK);
//!
//!     let mut rec = rha_record::default();
//!     rha_record_init(&mut rec);
//!     rec.op = rha_op::RHA_OP_MKDIR as u32;
//!     rec.path = rha_bytes { ptr: b"db".as_ptr(), len: 2 };
//!     rec.mode = 0o755;
//!     let mut seq = 0;
//!     assert_eq!(rha_journal_writer_append(writer, &rec, &mut seq, ptr::null_mut()), rha_result::RHA_OK);
//!     assert_eq!(seq, 1);
//!     assert_eq!(rha_journal_writer_flush(writer, ptr::null_mut()), rha_result::RHA_OK);
//!
//!     let mut bytes = vec![0u8; rha_journal_writer_pending(writer)];
//!     let mut out = rha_out_buffer { dst: bytes.as_mut_ptr(), size: bytes.len(), pos: 0 };
//!     assert_eq!(rha_journal_writer_drain(writer, &mut out, ptr::null_mut()), rha_result::RHA_OK);
//!     rha_journal_writer_free(writer);
//!
//!     let mut reader = ptr::null_mut();
//!     let builder = rha_journal_reader_builder_new();
//!     assert_eq!(rha_journal_reader_build(builder, &mut reader, ptr::null_mut()), rha_result::RHA_OK);
//!     let mut input = rha_in_buffer { src: bytes.as_ptr(), size: bytes.len(), pos: 0 };
//!     let mut got = rha_record::default();
//!     rha_record_init(&mut got);
//!     assert_eq!(rha_journal_reader_next(reader, &mut input, &mut got, ptr::null_mut()), rha_result::RHA_OK);
//!     assert_eq!((got.seq, got.op, got.mode), (1, rha_op::RHA_OP_MKDIR as u32, 0o755));
//!     assert_eq!(std::slice::from_raw_parts(got.path.ptr, got.path.len), b"db");
//!     assert_eq!(rha_journal_reader_next(reader, &mut input, &mut got, ptr::null_mut()), rha_result::RHA_BLOCKED);
//!     let mut end = rha_journal_end { struct_size: std::mem::size_of::<rha_journal_end>() as u32, ..Default::default() };
//!     assert_eq!(rha_journal_reader_finish(reader, &mut end, ptr::null_mut()), rha_result::RHA_OK);
//!     assert_eq!((end.torn, end.offset), (false, bytes.len() as u64));
//!     rha_journal_reader_free(reader);
//! }
//! ```
//!
//! ## Layout
//!
//! `macros` holds `ffi_fn!`, the one wrapper around every exported
//! function; `error`, `version`, `buffer` and `record` hold the shared types;
//! `journal` the writer and reader handles. A test
//! (`tests/every_export_wrapped.rs`) fails if an exported function is not
//! wrapped or is missing from the header.

// C names (`rha_result`, `RHA_OK`) are the point of this crate.
#![allow(non_camel_case_types)]

#[macro_use]
mod macros;
mod sized;

// First, so that the header starts with the version macros.
mod version;

mod buffer;
mod error;
mod ha;
mod handle;
mod journal;
mod log;
mod record;
mod rewind;
mod session;
mod signature;
mod spool;
mod tree;
// The agents after what they build on, so they follow it in the header.
mod agent;
// Last, so that the deprecated functions close the header.
mod deprecated;

pub use agent::identity::{rha_identity_fingerprint, rha_identity_generate, RHA_FINGERPRINT_SIZE};
pub use agent::master::{
    rha_master_agent, rha_master_agent_append_journal, rha_master_agent_config,
    rha_master_agent_config_init, rha_master_agent_control, rha_master_agent_free,
    rha_master_agent_last_end, rha_master_agent_start, rha_master_agent_status,
    rha_master_agent_stop, rha_master_agent_sync_error,
};
pub use agent::replica::{
    rha_replica_agent, rha_replica_agent_config, rha_replica_agent_config_init,
    rha_replica_agent_free, rha_replica_agent_last_end, rha_replica_agent_local_port,
    rha_replica_agent_start, rha_replica_agent_status, rha_replica_agent_stop,
    rha_replica_agent_sync_error,
};
pub use agent::sync::{rha_agent_sync_phase, rha_sync_mode};
pub use agent::{rha_agent_link, rha_agent_role, rha_agent_status};
pub use buffer::{rha_bytes, rha_in_buffer, rha_out_buffer};
#[allow(deprecated)]
pub use deprecated::{
    rha_fixed_compare, rha_ha_scenario_builder_set_host, rha_replica_open, rha_replica_rewind,
    rha_replica_set_bookmark, rha_signature_load, rha_spool_dirty_regions, rha_tree_scan_job_stats,
};
pub use error::{
    rha_error, rha_error_code, rha_error_free, rha_error_last_seq, rha_error_message,
    rha_error_offset, rha_error_os_code, rha_result, rha_result_name, rha_result_raw,
};
pub use ha::builder::{
    rha_ha_scenario_build, rha_ha_scenario_builder, rha_ha_scenario_builder_add_link,
    rha_ha_scenario_builder_add_redirect_json, rha_ha_scenario_builder_free,
    rha_ha_scenario_builder_new, rha_ha_scenario_builder_set_config_json,
    rha_ha_scenario_builder_set_is_alive, rha_ha_scenario_builder_set_name,
    rha_ha_scenario_builder_set_side_host, rha_ha_scenario_builder_set_type,
};
pub use ha::output::{rha_ha_action, rha_ha_action_kind, rha_ha_event, rha_ha_event_kind};
pub use ha::scenario::{
    rha_ha_scenario, rha_ha_scenario_command, rha_ha_scenario_free, rha_ha_scenario_handle_timeout,
    rha_ha_scenario_intent, rha_ha_scenario_observe, rha_ha_scenario_poll_action,
    rha_ha_scenario_poll_event, rha_ha_scenario_poll_timeout, rha_ha_scenario_restore,
    rha_ha_scenario_save, rha_ha_scenario_status, rha_ha_scenario_update_config_json,
    rha_ha_state_name, rha_ha_status,
};
pub use ha::types::{
    rha_ha_check, rha_ha_command, rha_ha_command_kind, rha_ha_observation, rha_ha_observation_kind,
    rha_ha_scenario_type, rha_ha_side, rha_ha_state,
};
pub use journal::reader::{
    rha_journal_end, rha_journal_reader, rha_journal_reader_build, rha_journal_reader_builder,
    rha_journal_reader_builder_free, rha_journal_reader_builder_new,
    rha_journal_reader_builder_set_first_seq, rha_journal_reader_builder_set_max_record_size,
    rha_journal_reader_builder_set_stream_header, rha_journal_reader_finish,
    rha_journal_reader_free, rha_journal_reader_next, rha_journal_reader_offset,
};
pub use journal::writer::{
    rha_journal_writer, rha_journal_writer_append, rha_journal_writer_build,
    rha_journal_writer_builder, rha_journal_writer_builder_free, rha_journal_writer_builder_new,
    rha_journal_writer_builder_set_batch_bytes, rha_journal_writer_builder_set_first_seq,
    rha_journal_writer_builder_set_max_record_size, rha_journal_writer_builder_set_zstd,
    rha_journal_writer_drain, rha_journal_writer_flush, rha_journal_writer_free,
    rha_journal_writer_next_seq, rha_journal_writer_pending,
};
pub use log::{rha_log_fn, rha_log_level, rha_log_set_callback};
pub use record::{rha_attr_flag, rha_op, rha_record, rha_record_init};
pub use rewind::{
    rha_apply_report, rha_bookmark, rha_replica, rha_replica_add_bookmark, rha_replica_apply,
    rha_replica_apply_journal, rha_replica_apply_journal_bytes, rha_replica_bookmark,
    rha_replica_flag, rha_replica_free, rha_replica_info, rha_replica_open_with, rha_replica_point,
    rha_replica_rewind_to, rha_replica_sync, rha_replica_undo_rewind, rha_rewind_by,
    rha_rewind_info, rha_rewind_plan, rha_rewind_point,
};
pub use session::event::{rha_session_event, rha_session_event_kind, rha_session_hello};
pub use session::request::{
    rha_session_ack, rha_session_close, rha_session_control, rha_session_grant,
    rha_session_send_journal,
};
pub use session::sync::{
    rha_session_send_sync, rha_session_send_sync_reply, rha_session_sync_kind,
    rha_session_sync_message, rha_session_sync_message_init, rha_session_sync_reply_kind,
    RHA_SESSION_SYNC_BLOCKS_FIELDS, RHA_SESSION_SYNC_RECORDS_FIELDS, RHA_SESSION_SYNC_TREE_FIELDS,
};
pub use session::types::{
    rha_session_ack_kind, rha_session_config, rha_session_config_init, rha_session_control_kind,
    rha_session_generations, rha_session_point, rha_session_reason, rha_session_role,
};
pub use session::{
    rha_session, rha_session_free, rha_session_handle_timeout, rha_session_is_closed,
    rha_session_is_connected, rha_session_last_seq, rha_session_max_body, rha_session_new,
    rha_session_peer, rha_session_pending, rha_session_poll_event, rha_session_poll_timeout,
    rha_session_receive, rha_session_take_output, rha_session_window,
};
pub use signature::block::{
    rha_delta_format, rha_delta_job, rha_delta_job_free, rha_delta_job_new, rha_delta_job_run,
    rha_delta_job_stats, rha_patch_job, rha_patch_job_free, rha_patch_job_new,
    rha_patch_job_produced, rha_patch_job_run, rha_read_at_fn, rha_signature,
    rha_signature_block_count, rha_signature_block_len, rha_signature_free, rha_signature_job,
    rha_signature_job_free, rha_signature_job_new, rha_signature_job_run, rha_signature_new,
};
pub use signature::block::{
    rha_delta_job_set_threads, rha_signature_job_set_strong_hash, rha_signature_job_set_threads,
    rha_strong_hash,
};
pub use signature::file::{
    rha_delta_file, rha_file_options, rha_file_options_init, rha_patch_file, rha_signature_file,
};
pub use signature::fixed::{
    rha_fixed_delta_job, rha_fixed_delta_job_free, rha_fixed_delta_job_new,
    rha_fixed_delta_job_run, rha_fixed_plan, rha_fixed_plan_block_count, rha_fixed_plan_block_len,
    rha_fixed_plan_free, rha_fixed_plan_needed_bytes, rha_fixed_plan_new, rha_fixed_plan_range,
    rha_fixed_plan_range_count, rha_fixed_plan_same_bytes, rha_fixed_plan_target_len,
    rha_fixed_range, rha_in_place_patch_job, rha_in_place_patch_job_free,
    rha_in_place_patch_job_new, rha_in_place_patch_job_run, rha_in_place_patch_job_written,
    rha_set_len_fn, rha_write_at_fn,
};
pub use signature::loader::{
    rha_signature_loader, rha_signature_loader_feed, rha_signature_loader_finish,
    rha_signature_loader_free, rha_signature_loader_new,
};
pub use signature::ops::{
    rha_delta_ops_job, rha_delta_ops_job_free, rha_delta_ops_job_hash, rha_delta_ops_job_new,
    rha_delta_ops_job_next,
};
pub use spool::dirty::{
    rha_spool_dirty, rha_spool_dirty_free, rha_spool_dirty_get, rha_spool_dirty_granularity,
    rha_spool_dirty_new, rha_spool_dirty_range_count, rha_spool_dirty_target,
    rha_spool_dirty_target_count, rha_spool_range, rha_spool_target_kind, RHA_SPOOL_RANGE_TO_END,
};
pub use spool::reader::{
    rha_spool_reader, rha_spool_reader_free, rha_spool_reader_new, rha_spool_reader_next,
    rha_spool_reader_position,
};
pub use spool::types::{
    rha_spool_append_options, rha_spool_event, rha_spool_event_kind, rha_spool_mode,
    rha_spool_policy, rha_spool_recovery, rha_spool_ticket, rha_spool_usage, rha_spool_when_full,
};
pub use spool::{
    rha_spool, rha_spool_ack, rha_spool_append, rha_spool_append_journal,
    rha_spool_append_options_init, rha_spool_build, rha_spool_builder, rha_spool_builder_free,
    rha_spool_builder_new, rha_spool_builder_set_first_seq, rha_spool_builder_set_max_bytes,
    rha_spool_builder_set_min_free_bytes, rha_spool_builder_set_overflow,
    rha_spool_builder_set_salvage, rha_spool_builder_set_segment_bytes, rha_spool_close,
    rha_spool_free, rha_spool_get_usage, rha_spool_poll_event, rha_spool_reset, rha_spool_sync,
    rha_spool_wait,
};
pub use tree::plan::{
    rha_compare_options, rha_compare_options_add_exclude, rha_compare_options_free,
    rha_compare_options_new, rha_compare_options_set_check_contents,
    rha_compare_options_set_ignore_same, rha_compare_options_set_owners, rha_plan,
    rha_plan_change_flag, rha_plan_free, rha_plan_new_buffers, rha_plan_new_files, rha_plan_next,
    rha_plan_op, rha_plan_op_kind,
};
pub use tree::reader::{
    rha_tree_reader, rha_tree_reader_finish, rha_tree_reader_free, rha_tree_reader_new,
    rha_tree_reader_next,
};
pub use tree::scan::{
    rha_tree_scan_file, rha_tree_scan_flag, rha_tree_scan_job, rha_tree_scan_job_free,
    rha_tree_scan_job_get_stats, rha_tree_scan_job_new, rha_tree_scan_job_read,
    rha_tree_scan_stats, rha_tree_scan_totals,
};
pub use tree::{rha_tree_entry, rha_tree_kind};
pub use version::{
    rha_version_number, rha_version_string, RHA_VERSION_MAJOR, RHA_VERSION_MINOR,
    RHA_VERSION_NUMBER, RHA_VERSION_PATCH,
};
