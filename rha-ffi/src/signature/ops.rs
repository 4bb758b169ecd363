//! `rha_delta_ops_job`: a delta turned into journal records, one at a time,
//! so that applying a sync is applying a journal.

use std::ffi::c_void;

use bytes::Bytes;
use rha_core::journal::{Op, RelPath};
use rha_core::signature::block::{DeltaOpsJob, OpsStep};

use super::block::{rha_read_at_fn, CallbackBasis};
use crate::buffer::{rha_bytes, rha_in_buffer};
use crate::error::{rha_error, rha_result};
use crate::record::{rha_op, rha_record};

/// Converts a delta (rha or rdiff format), fed in chunks, into the journal
/// records that turn the basis file into the new file: an `RHA_OP_WRITE`
/// of at most 1 MiB for every literal, zero run and moved copy (whose bytes
/// are read from the basis through a callback), nothing for blocks that
/// stay where they are, and a final `RHA_OP_SET_LEN`. The records can go
/// straight to `rha_journal_writer_append`. Memory: one delta command and
/// one record (at most 1 MiB each), whatever the file size.
///
/// A moved copy reads the basis when its record is produced: applying the
/// records to the basis while the job runs is safe only for deltas without
/// moved copies (fixed-offset deltas, `rha_fixed_delta_job`); otherwise
/// apply them once the job is done (journal them first).
///
/// Ownership: made by `rha_delta_ops_job_new`, owned by the caller,
/// released with `rha_delta_ops_job_free`. Thread safety: one thread at a
/// time; the callback runs on the thread calling `rha_delta_ops_job_next`.
#[derive(Debug)]
pub struct rha_delta_ops_job {
    job: DeltaOpsJob<CallbackBasis>,
    /// The record handed out last; its bytes back the views.
    current: Option<Op>,
}

/// Makes a job naming the file `path_len` bytes at `path` in every record
/// (relative, `/`-separated: as `rha_record.path` requires; copied) and
/// reading moved copies from the basis through `read_at(userdata, ...)`
/// (see `rha_read_at_fn`).
///
/// `userdata` is passed to `read_at` unchanged and must stay valid for the
/// job's life. Errors: `RHA_INVALID_ARGUMENT` for an invalid path;
/// `RHA_NULL_PARAMETER` if `read_at` or `job_out` is NULL.
///
/// # Safety
///
/// `path` is NULL (only if `path_len` is 0) or readable for `path_len`
/// bytes during the call; `read_at` is NULL or a function that behaves as
/// `rha_read_at_fn` documents; `job_out` is NULL or valid for writing an
/// `rha_delta_ops_job *`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_ops_job_new(
    path: *const u8,
    path_len: usize,
    read_at: rha_read_at_fn,
    userdata: *mut c_void,
    job_out: *mut *mut rha_delta_ops_job,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(job_out),
        handle_out(job_out),
        {
            let Some(read_at) = read_at else {
                return Err(rha_error::null_parameter("read_at"));
            };
            // SAFETY: readable for `path_len` bytes during the call by this function's contract.
            let bytes = unsafe { crate::buffer::arg_slice(path, path_len, "path") }?;
            let path = RelPath::new(Bytes::copy_from_slice(bytes))
                .map_err(|e| rha_error::invalid_argument(format!("path: {e}")))?;
            let job = crate::handle::new(rha_delta_ops_job {
                job: DeltaOpsJob::new(CallbackBasis { read_at, userdata }, path),
                current: None,
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { job_out.write(job) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Consumes delta bytes from `input->src[pos..size]` (advancing `pos`)
/// until the next record is ready, and stores it in `*record_out`; `end`
/// says `input` holds the last bytes of the delta. `input` may be NULL (no
/// new input).
///
/// Returns `RHA_OK` with a record (`op` is `RHA_OP_WRITE` or
/// `RHA_OP_SET_LEN`; `seq` and `timestamp_ns` are 0, set them before
/// appending to a journal), `RHA_BLOCKED` when all input was consumed and
/// more is needed, `RHA_DONE` once every record has been produced and `end`
/// was given (until then the job waits for input, so bytes after the end of
/// the delta in a later chunk are still found: `RHA_DELTA_CORRUPT`). The
/// views of the record (`path`, `data`) belong to the job and stay valid
/// until the next call with this job or its release.
///
/// Errors: `RHA_DELTA_CORRUPT` (truncated, damaged, bytes after the end)
/// and `RHA_DELTA_UNSUPPORTED`, with the byte offset in the delta
/// (`rha_error_offset`); `RHA_PATCH_WRONG_BASIS` (the delta names the
/// basis it was made against, as fixed-offset deltas do, and the basis
/// given is another file: no record was produced); `RHA_IO` (the callback
/// failed or the basis ended
/// before a copy did); `RHA_INVALID_STATE` after an earlier failure (the
/// job stays failed); `RHA_NULL_PARAMETER` if `job` or `record_out` is
/// NULL; `RHA_INVALID_ARGUMENT` for a bad buffer.
///
/// # Safety
///
/// `job` is NULL or a live job not used by another thread during the call;
/// `input` is NULL or a valid `rha_in_buffer` readable for `size` bytes;
/// `record_out` is NULL or valid for writing an `rha_record`; `error_out`
/// is NULL or valid for writing an `rha_error *`. The callback is called
/// during this call.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_ops_job_next(
    job: *mut rha_delta_ops_job,
    input: *mut rha_in_buffer,
    end: bool,
    record_out: *mut rha_record,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job, record_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(record_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let job = unsafe { &mut *job };
        job.current = None;
        // SAFETY: NULL or valid, by this function's contract.
        let input = unsafe { input.as_mut() };
        let data = match &input {
            // SAFETY: readable for `size` bytes by this function's contract.
            Some(b) => unsafe { b.remaining() }?,
            None => &[],
        };
        let mut rest = data;
        let step = job.job.next(&mut rest, end);
        if let Some(b) = input {
            b.pos += data.len() - rest.len();
        }
        match step? {
            OpsStep::NeedInput => Ok(rha_result::RHA_BLOCKED),
            OpsStep::Done => Ok(rha_result::RHA_DONE),
            OpsStep::Op(op) => {
                let op = job.current.insert(op);
                let mut r = rha_record::default();
                match op {
                    Op::Write { path, offset, data } => {
                        r.op = rha_op::RHA_OP_WRITE as u32;
                        r.path = rha_bytes::borrow(path.as_bytes());
                        r.offset = *offset;
                        r.data = rha_bytes::borrow(data);
                    }
                    Op::SetLen { path, len } => {
                        r.op = rha_op::RHA_OP_SET_LEN as u32;
                        r.path = rha_bytes::borrow(path.as_bytes());
                        r.length = *len;
                    }
                    other => {
                        return Err(rha_error::new(
                            rha_result::RHA_INVALID_STATE,
                            format!("delta conversion produced an unexpected {other:?}"),
                        ))
                    }
                }
                // SAFETY: `size` from `declared_size`; writable by this function's contract.
                unsafe { crate::sized::write_sized(record_out, r, size) };
                Ok(rha_result::RHA_OK)
            }
        }
    })
}

/// Copies the delta's whole-file hash (rha deltas, 32 bytes) to `hash_out`
/// and returns true, once the job has reached the end of the delta; check
/// the applied file against it. Returns false (and leaves
/// `hash_out` untouched) before that, for rdiff deltas, or if an argument is
/// NULL.
///
/// # Safety
///
/// `job` is NULL or a live job; `hash_out` is NULL or valid for writing 32
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_ops_job_hash(
    job: *const rha_delta_ops_job,
    hash_out: *mut u8,
) -> bool {
    ffi_fn!(default(false), non_null(job, hash_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        match unsafe { &*job }.job.hash() {
            Some(h) => {
                // SAFETY: writable for 32 bytes by this function's contract.
                unsafe { std::ptr::copy_nonoverlapping(h.as_ptr(), hash_out, h.len()) };
                true
            }
            None => false,
        }
    })
}

/// Releases a delta-to-records job (and the record it handed out last).
/// NULL does nothing.
///
/// # Safety
///
/// `job` is NULL or a live job, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_ops_job_free(job: *mut rha_delta_ops_job) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_delta_ops_job_new`, by this function's contract.
        unsafe { crate::handle::free(job) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_may_move_between_threads() {
        fn send<T: Send>() {}
        send::<rha_delta_ops_job>();
    }
}
