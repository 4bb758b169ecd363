//! Fixed-offset sync for volumes and files rewritten in place:
//! `rha_fixed_plan` (the blocks a replica needs), `rha_fixed_delta_job`
//! (the master's answer) and `rha_in_place_patch_job` (the replica writing
//! those blocks where they belong).

use std::ffi::c_void;
use std::io;

use rha_core::signature::block::{
    compare_fixed, FixedDeltaJob, FixedPlan, InPlacePatch, ReadAt, WriteAt,
};

use super::block::{rha_read_at_fn, rha_signature, CallbackBasis};
use crate::buffer::{rha_in_buffer, rha_out_buffer};
use crate::error::{rha_error, rha_result};

/// The blocks a replica needs from the master, from `rha_fixed_plan_new`:
/// ascending, merged byte ranges of the master's file, each starting on a
/// block boundary.
///
/// Ownership: made by `rha_fixed_plan_new`, owned by the caller, released
/// with `rha_fixed_plan_free`. Immutable: may be read by several threads.
#[derive(Debug)]
pub struct rha_fixed_plan {
    plan: FixedPlan,
}

/// One range of an `rha_fixed_plan`: `length` bytes of the master at byte
/// `offset`, which are the blocks `first_block .. first_block +
/// block_count` (the last block of the file may be short).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_fixed_range {
    /// Byte offset in the master's file (a multiple of the block length).
    pub offset: u64,
    /// Number of bytes.
    pub length: u64,
    /// Index of the first block of the range.
    pub first_block: u64,
    /// Number of blocks in the range.
    pub block_count: u64,
}

/// Compares a replica's and the master's rha block signatures position by
/// position (both made with the same block length) and stores the blocks
/// the replica needs in `*plan_out`, owned by the caller.
///
/// Errors: `RHA_INVALID_ARGUMENT` if a signature is an rdiff signature, the
/// block lengths differ, or the master's signature lacks its length or hash;
/// `RHA_NULL_PARAMETER` if any pointer is NULL.
///
/// # Safety
///
/// `replica` and `master` are NULL or live signatures; `plan_out` is NULL
/// or valid for writing an `rha_fixed_plan *`; `error_out` is NULL or valid
/// for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_new(
    replica: *const rha_signature,
    master: *const rha_signature,
    plan_out: *mut *mut rha_fixed_plan,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(replica, master, plan_out),
        handle_out(plan_out),
        {
            // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
            let (replica, master) = unsafe { (&(*replica).sig, &(*master).sig) };
            let plan = compare_fixed(replica, master)?;
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { plan_out.write(crate::handle::new(rha_fixed_plan { plan })) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Bytes the replica needs (the sum of the ranges); 0 if `plan` is NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_needed_bytes(plan: *const rha_fixed_plan) -> u64 {
    ffi_fn!(default(0), non_null(plan), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*plan }.plan.needed_bytes()
    })
}

/// Bytes the replica already holds at the right place; 0 if `plan` is
/// NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_same_bytes(plan: *const rha_fixed_plan) -> u64 {
    ffi_fn!(default(0), non_null(plan), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*plan }.plan.same_bytes()
    })
}

/// The master's length, which the replica will have after patching; 0 if
/// `plan` is NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_target_len(plan: *const rha_fixed_plan) -> u64 {
    ffi_fn!(default(0), non_null(plan), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*plan }.plan.target_len
    })
}

/// The block length of both signatures; 0 if `plan` is NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_block_len(plan: *const rha_fixed_plan) -> u32 {
    ffi_fn!(default(0), non_null(plan), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*plan }.plan.block_len
    })
}

/// The number of ranges (runs of adjacent needed blocks); 0 if `plan` is
/// NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_range_count(plan: *const rha_fixed_plan) -> u64 {
    ffi_fn!(default(0), non_null(plan), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*plan }.plan.ranges.len() as u64
    })
}

/// The number of blocks the replica needs; 0 if `plan` is NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_block_count(plan: *const rha_fixed_plan) -> u64 {
    ffi_fn!(default(0), non_null(plan), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let plan = &unsafe { &*plan }.plan;
        plan.ranges
            .iter()
            .map(|&(_, len)| blocks(len, plan.block_len))
            .sum::<u64>()
    })
}

/// Blocks of `block_len` covering `len` bytes.
fn blocks(len: u64, block_len: u32) -> u64 {
    len.div_ceil(u64::from(block_len.max(1)))
}

/// Stores range number `index` (0-based, ascending by offset) of `plan` in
/// `*range_out`.
///
/// Errors: `RHA_INVALID_ARGUMENT` if `index` is not below
/// `rha_fixed_plan_range_count`; `RHA_NULL_PARAMETER` if `plan` or
/// `range_out` is NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan; `range_out` is NULL or valid for writing
/// an `rha_fixed_range`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_range(
    plan: *const rha_fixed_plan,
    index: u64,
    range_out: *mut rha_fixed_range,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(plan, range_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let plan = &unsafe { &*plan }.plan;
        let range = usize::try_from(index)
            .ok()
            .and_then(|i| plan.ranges.get(i))
            .ok_or_else(|| {
                rha_error::invalid_argument(format!(
                    "range index {index} is out of range: the plan has {} ranges",
                    plan.ranges.len()
                ))
            })?;
        let bl = u64::from(plan.block_len.max(1));
        let out = rha_fixed_range {
            offset: range.0,
            length: range.1,
            first_block: range.0 / bl,
            block_count: blocks(range.1, plan.block_len),
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { range_out.write(out) };
        Ok(rha_result::RHA_OK)
    })
}

/// Releases a plan. NULL does nothing. Jobs made from it keep their own
/// copy.
///
/// # Safety
///
/// `plan` is NULL or a live plan, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_plan_free(plan: *mut rha_fixed_plan) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_fixed_plan_new`, by this function's contract.
        unsafe { crate::handle::free(plan) }
    })
}

/// The master side of a fixed-offset sync: writes an rha delta holding
/// exactly the ranges of a plan, read from the master's file through a
/// callback. Its copies all keep their position, so the replica can apply
/// it in place (`rha_in_place_patch_job`) or as an ordinary patch. Memory:
/// 1 MiB plus about 256 KiB of output, whatever the file size.
///
/// Ownership: made by `rha_fixed_delta_job_new`, owned by the caller,
/// released with `rha_fixed_delta_job_free`. Thread safety: one thread at a
/// time; the callback runs on the thread calling `rha_fixed_delta_job_run`.
#[derive(Debug)]
pub struct rha_fixed_delta_job {
    job: FixedDeltaJob<CallbackBasis>,
    failed: bool,
}

/// Makes a fixed delta job for `plan` (copied: the caller may free the
/// plan afterwards), reading the master's file through
/// `read_at(userdata, ...)` (see `rha_read_at_fn`).
///
/// `userdata` is passed to `read_at` unchanged and must stay valid for the
/// job's life. Errors: `RHA_NULL_PARAMETER` if `plan`, `read_at` or
/// `job_out` is NULL.
///
/// # Safety
///
/// `plan` is NULL or a live plan; `read_at` is NULL or a function that
/// behaves as `rha_read_at_fn` documents; `job_out` is NULL or valid for
/// writing an `rha_fixed_delta_job *`; `error_out` is NULL or valid for
/// writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_delta_job_new(
    plan: *const rha_fixed_plan,
    read_at: rha_read_at_fn,
    userdata: *mut c_void,
    job_out: *mut *mut rha_fixed_delta_job,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(plan, job_out),
        handle_out(job_out),
        {
            let Some(read_at) = read_at else {
                return Err(rha_error::null_parameter("read_at"));
            };
            // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
            let plan = unsafe { &*plan }.plan.clone();
            let job = crate::handle::new(rha_fixed_delta_job {
                job: FixedDeltaJob::new(CallbackBasis { read_at, userdata }, plan),
                failed: false,
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { job_out.write(job) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Writes delta bytes at `output->dst + output->pos`, advancing `pos`.
///
/// Returns `RHA_DONE` once the whole delta has been written, `RHA_BLOCKED`
/// when `output` is full (call again with more room). Errors: `RHA_IO` (the
/// callback failed or the master's file ended before a needed range, with
/// the offset in the message); `RHA_INVALID_STATE` after an earlier failure
/// (the job stays failed); `RHA_NULL_PARAMETER`, `RHA_INVALID_ARGUMENT` for
/// bad arguments.
///
/// # Safety
///
/// `job` is NULL or a live job not used by another thread during the call;
/// `output` is NULL or a valid `rha_out_buffer` writable for `size` bytes;
/// `error_out` is NULL or valid for writing an `rha_error *`. The callback
/// is called during this call.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_delta_job_run(
    job: *mut rha_fixed_delta_job,
    output: *mut rha_out_buffer,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job, output), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let job = unsafe { &mut *job };
        if job.failed {
            return Err(rha_error::new(
                rha_result::RHA_INVALID_STATE,
                "fixed delta job already failed",
            ));
        }
        // SAFETY: forwarded from this function's contract (no input).
        let r = unsafe { super::block::drive(std::ptr::null_mut(), output, |_, o| job.job.run(o)) };
        if r.is_err() {
            job.failed = true;
        }
        r
    })
}

/// Releases a fixed delta job. NULL does nothing.
///
/// # Safety
///
/// `job` is NULL or a live job, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_fixed_delta_job_free(job: *mut rha_fixed_delta_job) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_fixed_delta_job_new`, by this function's contract.
        unsafe { crate::handle::free(job) }
    })
}

/// Writes `len` bytes at `data` to the target at byte `offset`, extending
/// the target if needed. Returns 0 on success, any other value (for example
/// an errno) on failure. `data` is valid only during the call. Called only
/// during `rha_in_place_patch_job_run`, on the caller's thread.
pub type rha_write_at_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, offset: u64, data: *const u8, len: usize) -> i32,
>;

/// Sets the target's length to `len`, truncating or extending it with
/// zeros. Returns 0 on success, any other value on failure. Called only
/// during `rha_in_place_patch_job_run`, on the caller's thread.
pub type rha_set_len_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, len: u64) -> i32>;

/// A target patched in place through the caller's callbacks.
#[derive(Debug)]
struct CallbackTarget {
    read: CallbackBasis,
    write_at: unsafe extern "C" fn(*mut c_void, u64, *const u8, usize) -> i32,
    set_len: unsafe extern "C" fn(*mut c_void, u64) -> i32,
}

// SAFETY: as for `CallbackBasis`: the callbacks and their userdata are used
// only during `rha_in_place_patch_job_run`, on the caller's thread.
unsafe impl Send for CallbackTarget {}

impl ReadAt for CallbackTarget {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.read.read_at(offset, buf)
    }
}

impl WriteAt for CallbackTarget {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        // SAFETY: the caller of `rha_in_place_patch_job_new` promised a
        // callback that reads at most `len` bytes at `data` during the call.
        let rc = unsafe { (self.write_at)(self.read.userdata, offset, data.as_ptr(), data.len()) };
        if rc != 0 {
            return Err(io::Error::other(format!(
                "the write_at callback returned {rc}"
            )));
        }
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        // SAFETY: the caller of `rha_in_place_patch_job_new` promised a
        // callback that behaves as `rha_set_len_fn` documents.
        let rc = unsafe { (self.set_len)(self.read.userdata, len) };
        if rc != 0 {
            return Err(io::Error::other(format!(
                "the set_len callback returned {rc}"
            )));
        }
        Ok(())
    }
}

/// The replica side of a fixed-offset sync: applies a delta in place,
/// writing literals and zero runs where they belong and skipping the
/// blocks that stay, then sets the target's length and (for an rha delta)
/// checks the whole-file hash by reading the target back. A fixed-offset
/// delta names the replica it was made against (length and whole-file
/// hash); the target is read once and checked against it before anything
/// is written, and another file is refused with `RHA_PATCH_WRONG_BASIS`,
/// untouched. A copy that moves
/// data, as rolling deltas have, is refused with `RHA_PATCH_NOT_IN_PLACE`
/// when it is reached (commands before it have been written: restore the
/// target or sync it another way). Memory: one delta command (at most
/// 1 MiB) plus a 1 MiB read-back buffer.
///
/// Ownership: made by `rha_in_place_patch_job_new`, owned by the caller,
/// released with `rha_in_place_patch_job_free`. Thread safety: one thread
/// at a time; the callbacks run on the thread calling
/// `rha_in_place_patch_job_run`.
#[derive(Debug)]
pub struct rha_in_place_patch_job {
    job: InPlacePatch<CallbackTarget>,
    /// Delta bytes consumed so far.
    consumed: u64,
    failed: bool,
}

/// Makes an in-place patch job on a target reached through three
/// callbacks sharing `userdata`: `read_at` (see `rha_read_at_fn`, used for
/// the hash check), `write_at` and `set_len`. The result may not be longer
/// than `max_output` bytes (`UINT64_MAX`: no limit).
///
/// `userdata` is passed to the callbacks unchanged and must stay valid for
/// the job's life. Errors: `RHA_NULL_PARAMETER` if a callback or `job_out`
/// is NULL.
///
/// # Safety
///
/// Each callback is NULL or a function that behaves as its type documents;
/// `job_out` is NULL or valid for writing an `rha_in_place_patch_job *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_in_place_patch_job_new(
    read_at: rha_read_at_fn,
    write_at: rha_write_at_fn,
    set_len: rha_set_len_fn,
    userdata: *mut c_void,
    max_output: u64,
    job_out: *mut *mut rha_in_place_patch_job,
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
            let Some(write_at) = write_at else {
                return Err(rha_error::null_parameter("write_at"));
            };
            let Some(set_len) = set_len else {
                return Err(rha_error::null_parameter("set_len"));
            };
            let target = CallbackTarget {
                read: CallbackBasis { read_at, userdata },
                write_at,
                set_len,
            };
            let job = crate::handle::new(rha_in_place_patch_job {
                job: InPlacePatch::new(target, max_output),
                consumed: 0,
                failed: false,
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { job_out.write(job) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Feeds delta bytes (rha or rdiff format) from `input->src[pos..size]`,
/// advancing `pos` past what was consumed, and writes them to the target;
/// `end` says `input` holds the last bytes of the delta. `input` may be
/// NULL (no new input).
///
/// Returns `RHA_DONE` once the delta has ended, the length is set and the
/// hash verified; `RHA_BLOCKED` when it needs more input. Errors:
/// `RHA_PATCH_NOT_IN_PLACE` (a moved copy: use `rha_patch_job` into a new
/// file), `RHA_DELTA_CORRUPT` / `RHA_DELTA_UNSUPPORTED` (with the byte
/// offset), `RHA_PATCH_WRONG_BASIS` (the delta names another target:
/// nothing was written), `RHA_PATCH_TOO_LARGE`, `RHA_PATCH_HASH_MISMATCH`
/// (the target changed while it was patched: copy the whole file),
/// `RHA_IO` (a callback failed), `RHA_INVALID_STATE` (after a failure),
/// `RHA_DELTA_CORRUPT` for bytes after the end of the delta (the target is
/// complete; `input->pos` stops at the end of the delta). After an error the job stays failed and the target
/// may be partly written.
///
/// # Safety
///
/// `job` is NULL or a live job not used by another thread during the call;
/// `input` is NULL or a valid `rha_in_buffer` readable for `size` bytes;
/// `error_out` is NULL or valid for writing an `rha_error *`. The callbacks
/// are called during this call.
#[no_mangle]
pub unsafe extern "C" fn rha_in_place_patch_job_run(
    job: *mut rha_in_place_patch_job,
    input: *mut rha_in_buffer,
    end: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let job = unsafe { &mut *job };
        if job.failed {
            return Err(rha_error::new(
                rha_result::RHA_INVALID_STATE,
                "in-place patch job already failed",
            ));
        }
        // SAFETY: NULL or valid, by this function's contract.
        let input = unsafe { input.as_mut() };
        let data = match &input {
            // SAFETY: readable for `size` bytes by this function's contract.
            Some(b) => unsafe { b.remaining() }?,
            None => &[],
        };
        let p = match job.job.run(data, end) {
            Ok(p) => p,
            Err(e) => {
                job.failed = true;
                return Err(e.into());
            }
        };
        if let Some(b) = input {
            b.pos += p.consumed;
        }
        job.consumed += p.consumed as u64;
        if p.done && p.consumed < data.len() {
            job.failed = true;
            return Err(rha_error::new(
                rha_result::RHA_DELTA_CORRUPT,
                format!(
                    "delta: unexpected bytes after the end of the delta at byte offset {}",
                    job.consumed
                ),
            )
            .with_offset(job.consumed));
        }
        Ok(if p.done {
            rha_result::RHA_DONE
        } else {
            rha_result::RHA_BLOCKED
        })
    })
}

/// Bytes written to the target so far (literals and zero runs); 0 if `job`
/// is NULL.
///
/// # Safety
///
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn rha_in_place_patch_job_written(job: *const rha_in_place_patch_job) -> u64 {
    ffi_fn!(default(0), non_null(job), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*job }.job.written()
    })
}

/// Releases an in-place patch job. NULL does nothing.
///
/// # Safety
///
/// `job` is NULL or a live job, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_in_place_patch_job_free(job: *mut rha_in_place_patch_job) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_in_place_patch_job_new`, by this function's contract.
        unsafe { crate::handle::free(job) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_may_move_between_threads() {
        fn send<T: Send>() {}
        send::<rha_fixed_plan>();
        send::<rha_fixed_delta_job>();
        send::<rha_in_place_patch_job>();
    }
}
