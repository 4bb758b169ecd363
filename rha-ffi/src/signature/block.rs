//! `rha_signature_job`, `rha_signature`, `rha_delta_job`, `rha_patch_job`:
//! the block-level sync jobs, driven with `rha_in_buffer`/`rha_out_buffer`.

use std::ffi::c_void;
use std::io;

use rha_core::signature::block::{
    DeltaFormat, DeltaJob, PatchJob, PatchOptions, Progress, ReadAt, Signature, SignatureJob,
    SignatureLoader, SignatureParams, StrongHash, DEFAULT_MAX_BLOCKS,
};

use crate::buffer::{rha_in_buffer, rha_out_buffer};
use crate::error::{rha_error, rha_result};

/// The format a delta job writes (`rha_delta_job_new`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_delta_format {
    /// rha's (checksummed, with a whole-file hash).
    RHA_DELTA_FORMAT_RHA = 0,
    /// librsync's, which `rdiff patch` applies.
    RHA_DELTA_FORMAT_RDIFF = 1,
}

closed_set!(rha_delta_format {
    RHA_DELTA_FORMAT_RHA,
    RHA_DELTA_FORMAT_RDIFF,
});

/// A streaming signature job: fed a file's bytes, it produces the file's
/// block signature (rha's own signature format). Memory: one block plus
/// about 256 KiB, whatever the file size.
///
/// Ownership: made by `rha_signature_job_new`, owned by the caller,
/// released with `rha_signature_job_free`. Thread safety: one thread at a
/// time (it may move between threads).
#[derive(Debug)]
pub struct rha_signature_job {
    job: SignatureJob,
}

/// A block signature loaded in memory (rha format, or an rdiff signature
/// with BLAKE2 strong sums), the basis of a delta job.
///
/// Ownership: made by `rha_signature_new`, owned by the caller, released
/// with `rha_signature_free`. Immutable: may be read by several threads.
#[derive(Debug)]
pub struct rha_signature {
    pub(crate) sig: Signature,
}

/// A streaming delta job: fed the new file's bytes, it produces a delta
/// against the basis its signature describes. Memory: the signature plus
/// about 1.5 MiB.
///
/// Ownership: made by `rha_delta_job_new`, owned by the caller, released
/// with `rha_delta_job_free`. Thread safety: one thread at a time.
#[derive(Debug)]
pub struct rha_delta_job {
    job: DeltaJob,
}

/// Reads up to `len` bytes of the basis at `offset` into `buf` and stores
/// the count in `*read_out` (0 only at or past the end of the basis).
/// Returns 0 on success, any other value (for example an errno) on failure.
///
/// The jobs that read their basis through it: `rha_patch_job_new`
/// (called during `rha_patch_job_run`), `rha_fixed_delta_job_new` (during
/// `rha_fixed_delta_job_run`), `rha_in_place_patch_job_new` (during
/// `rha_in_place_patch_job_run`) and `rha_delta_ops_job_new` (during
/// `rha_delta_ops_job_next`); always on the thread making that call, with
/// the `userdata` given to the job.
pub type rha_read_at_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        offset: u64,
        buf: *mut u8,
        len: usize,
        read_out: *mut usize,
    ) -> i32,
>;

/// The basis of a patch, read through the caller's callback.
#[derive(Debug)]
pub(crate) struct CallbackBasis {
    pub(crate) read_at: unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize, *mut usize) -> i32,
    pub(crate) userdata: *mut c_void,
}

impl ReadAt for CallbackBasis {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0usize;
        // SAFETY: the caller of `rha_patch_job_new` promised a callback that
        // writes at most `len` bytes to `buf` and one `size_t` to `read_out`.
        let rc =
            unsafe { (self.read_at)(self.userdata, offset, buf.as_mut_ptr(), buf.len(), &mut n) };
        if rc != 0 {
            return Err(io::Error::other(format!(
                "the read_at callback returned {rc}"
            )));
        }
        if n > buf.len() {
            return Err(io::Error::other(format!(
                "the read_at callback claims {n} bytes read into a {}-byte buffer",
                buf.len()
            )));
        }
        Ok(n)
    }
}

/// A streaming patch job: fed a delta (rha or rdiff format), it produces
/// the new file, reading copies from the basis through a callback. For an
/// rha delta the output's whole-file hash is checked at the end
/// (`RHA_PATCH_HASH_MISMATCH`). Memory: one delta command (at most 1 MiB).
///
/// Ownership: made by `rha_patch_job_new`, owned by the caller, released
/// with `rha_patch_job_free`. Thread safety: one thread at a time; the
/// callback runs on the thread calling `rha_patch_job_run`.
#[derive(Debug)]
pub struct rha_patch_job {
    job: PatchJob<CallbackBasis>,
}

// SAFETY: the callback and its userdata are used only during
// `rha_patch_job_run`, on the caller's thread; the documentation says a
// job may move between threads, which makes the userdata the caller's
// responsibility, as for any C callback API.
unsafe impl Send for CallbackBasis {}

/// Runs one step of a job over the caller's buffers, advancing their `pos`.
///
/// # Safety
///
/// `input` is NULL or a valid buffer readable for `size` bytes; `output`
/// points to a valid buffer writable for `size` bytes.
pub(crate) unsafe fn drive<E: Into<rha_error>>(
    input: *mut rha_in_buffer,
    output: *mut rha_out_buffer,
    run: impl FnOnce(&[u8], &mut [u8]) -> Result<Progress, E>,
) -> Result<rha_result, rha_error> {
    // SAFETY: NULL or valid, by this function's contract.
    let input = unsafe { input.as_mut() };
    let data = match &input {
        // SAFETY: readable for `size` bytes by this function's contract.
        Some(b) => unsafe { b.remaining() }?,
        None => &[],
    };
    // SAFETY: non-NULL and valid by this function's contract.
    let output = unsafe { &mut *output };
    // SAFETY: writable for `size` bytes by this function's contract.
    let room = unsafe { output.room() }?;
    let p = run(data, room).map_err(Into::into)?;
    if let Some(b) = input {
        b.pos += p.consumed;
    }
    output.pos += p.produced;
    Ok(if p.done {
        rha_result::RHA_DONE
    } else {
        rha_result::RHA_BLOCKED
    })
}

/// Makes a signature job for a file of `file_len` bytes.
///
/// `block_len` 0 picks about the square root of the length (a power of two
/// between 1 KiB and 1 MiB); otherwise 16..=16777216. `strong_len` 0 picks
/// the length that keeps a false match below 2^-64 for the file; otherwise
/// 8..=32. On success stores a new job in `*job_out`, owned by the caller.
///
/// Errors: `RHA_NULL_PARAMETER` if `job_out` is NULL; `RHA_INVALID_ARGUMENT`
/// for an out-of-range `block_len` or `strong_len`.
///
/// # Safety
///
/// `job_out` is NULL or valid for writing an `rha_signature_job *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_job_new(
    file_len: u64,
    block_len: u32,
    strong_len: u32,
    job_out: *mut *mut rha_signature_job,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(job_out),
        handle_out(job_out),
        {
            let mut params = SignatureParams::new(file_len);
            if block_len != 0 {
                params = params.with_block_len(block_len)?;
            }
            if strong_len != 0 {
                let l = u8::try_from(strong_len).unwrap_or(u8::MAX);
                params = params.with_strong_len(l)?;
            }
            let job = crate::handle::new(rha_signature_job {
                job: SignatureJob::new(params),
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { job_out.write(job) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Feeds file bytes from `input` and writes signature bytes to `output`.
///
/// Consumes what it can of `input->src[pos..size]` and writes at
/// `output->dst + output->pos`, advancing both `pos` fields. `end` says
/// `input` holds the last bytes of the file. `input` may be NULL (no new
/// input).
///
/// Returns `RHA_DONE` once the whole signature has been written (call with
/// `end` until then), `RHA_BLOCKED` when it needs more input or output
/// room. Errors: `RHA_SIGNATURE_INPUT_LENGTH` if the file is longer or (at
/// `end`) shorter than declared; `RHA_INVALID_STATE` for input after the
/// end; `RHA_NULL_PARAMETER`, `RHA_INVALID_ARGUMENT` for bad buffers.
///
/// # Safety
///
/// `job` is NULL or a live job not used by another thread during the call;
/// `input` is NULL or a valid `rha_in_buffer` readable for `size` bytes;
/// `output` is NULL or a valid `rha_out_buffer` writable for `size` bytes,
/// not overlapping `input`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_job_run(
    job: *mut rha_signature_job,
    input: *mut rha_in_buffer,
    output: *mut rha_out_buffer,
    end: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job, output), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let job = unsafe { &mut *job };
        // SAFETY: forwarded from this function's contract.
        unsafe { drive(input, output, |i, o| job.job.run(i, o, end)) }
    })
}

/// Releases a signature job. NULL does nothing.
///
/// # Safety
///
/// `job` is NULL or a live job, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_job_free(job: *mut rha_signature_job) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_signature_job_new`, by this function's contract.
        unsafe { crate::handle::free(job) }
    })
}

/// Loads a whole signature (rha format, or rdiff's BLAKE2 formats) from
/// `len` bytes at `data`, which are read only during the call.
///
/// On success stores a new signature in `*sig_out`, owned by the caller.
/// Errors: `RHA_SIGNATURE_CORRUPT` (with the byte offset,
/// `rha_error_offset`), `RHA_SIGNATURE_UNSUPPORTED`,
/// `RHA_SIGNATURE_TOO_LARGE` (over 2^26 blocks), `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `data` is NULL (only if `len` is 0) or readable for `len` bytes;
/// `sig_out` is NULL or valid for writing an `rha_signature *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_new(
    data: *const u8,
    len: usize,
    sig_out: *mut *mut rha_signature,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(sig_out),
        handle_out(sig_out),
        {
            // SAFETY: readable for `len` bytes during the call by this function's contract.
            let bytes = unsafe { crate::buffer::arg_slice(data, len, "data") }?;
            let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
            loader.feed(bytes)?;
            let sig = crate::handle::new(rha_signature {
                sig: loader.finish()?,
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { sig_out.write(sig) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// The number of blocks of a signature; 0 if `sig` is NULL.
///
/// # Safety
///
/// `sig` is NULL or a live signature.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_block_count(sig: *const rha_signature) -> u64 {
    ffi_fn!(default(0), non_null(sig), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*sig }.sig.block_count()
    })
}

/// The block length of a signature; 0 if `sig` is NULL.
///
/// # Safety
///
/// `sig` is NULL or a live signature.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_block_len(sig: *const rha_signature) -> u32 {
    ffi_fn!(default(0), non_null(sig), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*sig }.sig.block_len()
    })
}

/// Releases a signature. NULL does nothing. Jobs made from it keep their
/// own copy.
///
/// # Safety
///
/// `sig` is NULL or a live signature, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_free(sig: *mut rha_signature) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_signature_new`, by this function's contract.
        unsafe { crate::handle::free(sig) }
    })
}

/// Makes a delta job against the basis `sig` describes, writing `format`,
/// an `rha_delta_format` value. The job copies what
/// it needs from `sig`, which the caller may free afterwards.
///
/// Errors: `RHA_NULL_PARAMETER` if `sig` or `job_out` is NULL;
/// `RHA_INVALID_ARGUMENT` for an unknown format.
///
/// # Safety
///
/// `sig` is NULL or a live signature; `job_out` is NULL or valid for
/// writing an `rha_delta_job *`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_job_new(
    sig: *const rha_signature,
    format: u32,
    job_out: *mut *mut rha_delta_job,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(sig, job_out),
        handle_out(job_out),
        {
            let format = match rha_delta_format::from_raw(format) {
                Some(rha_delta_format::RHA_DELTA_FORMAT_RHA) => DeltaFormat::Rha,
                Some(rha_delta_format::RHA_DELTA_FORMAT_RDIFF) => DeltaFormat::Rdiff,
                None => {
                    return Err(rha_error::invalid_argument(format!(
                        "unknown delta format {format}"
                    )))
                }
            };
            // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
            let sig = unsafe { &*sig }.sig.clone();
            let job = crate::handle::new(rha_delta_job {
                job: DeltaJob::new(sig, format),
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { job_out.write(job) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Feeds new-file bytes from `input` and writes delta bytes to `output`,
/// advancing both `pos` fields; `end` says `input` holds the last bytes of
/// the new file. `input` may be NULL (no new input).
///
/// Returns `RHA_DONE` once the whole delta has been written (call with
/// `end` until then), `RHA_BLOCKED` when it needs more input or output
/// room. Errors: `RHA_INVALID_STATE` for input after the end;
/// `RHA_NULL_PARAMETER`, `RHA_INVALID_ARGUMENT` for bad buffers.
///
/// # Safety
///
/// As for `rha_signature_job_run`, with a live delta job.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_job_run(
    job: *mut rha_delta_job,
    input: *mut rha_in_buffer,
    output: *mut rha_out_buffer,
    end: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job, output), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let job = unsafe { &mut *job };
        // SAFETY: forwarded from this function's contract.
        unsafe { drive(input, output, |i, o| job.job.run(i, o, end)) }
    })
}

/// What a delta job has found so far: new-file bytes sent as literals and
/// bytes matched in the basis. Either output pointer may be NULL. Does
/// nothing if `job` is NULL.
///
/// # Safety
///
/// `job` is NULL or a live delta job; the outputs are NULL or valid for
/// writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_job_stats(
    job: *const rha_delta_job,
    literal_out: *mut u64,
    matched_out: *mut u64,
) {
    ffi_fn!(default(()), non_null(job), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let s = unsafe { &*job }.job.stats();
        // SAFETY: NULL or writable by this function's contract.
        if let Some(out) = unsafe { literal_out.as_mut() } {
            *out = s.literal_bytes;
        }
        // SAFETY: NULL or writable by this function's contract.
        if let Some(out) = unsafe { matched_out.as_mut() } {
            *out = s.matched_bytes;
        }
    })
}

/// Releases a delta job. NULL does nothing.
///
/// # Safety
///
/// `job` is NULL or a live job, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_job_free(job: *mut rha_delta_job) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_delta_job_new`, by this function's contract.
        unsafe { crate::handle::free(job) }
    })
}

/// Makes a patch job reading the basis through `read_at(userdata, ...)`
/// and refusing to produce more than `max_output` bytes (`UINT64_MAX`: no
/// limit). `basis_len` is the basis length, or `UINT64_MAX` if unknown
/// (copies past a known length fail with `RHA_DELTA_OUT_OF_RANGE` before
/// any read).
///
/// `userdata` is passed to `read_at` unchanged and must stay valid for the
/// job's life. Errors: `RHA_NULL_PARAMETER` if `read_at` or `job_out` is
/// NULL.
///
/// # Safety
///
/// `read_at` is NULL or a function that behaves as `rha_read_at_fn`
/// documents; `job_out` is NULL or valid for writing an `rha_patch_job *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_patch_job_new(
    read_at: rha_read_at_fn,
    userdata: *mut c_void,
    basis_len: u64,
    max_output: u64,
    job_out: *mut *mut rha_patch_job,
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
            let basis = CallbackBasis { read_at, userdata };
            let options = PatchOptions::default()
                .max_output(max_output)
                .basis_len((basis_len != u64::MAX).then_some(basis_len));
            let job = crate::handle::new(rha_patch_job {
                job: PatchJob::new(basis, options),
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { job_out.write(job) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Feeds delta bytes from `input` and writes new-file bytes to `output`,
/// advancing both `pos` fields; `end` says `input` holds the last bytes of
/// the delta. `input` may be NULL (no new input).
///
/// Returns `RHA_DONE` once the delta has ended and its output has been
/// written and verified, `RHA_BLOCKED` when it needs more input or output
/// room. Errors: `RHA_DELTA_CORRUPT` (with the byte offset),
/// `RHA_DELTA_UNSUPPORTED`, `RHA_DELTA_OUT_OF_RANGE`, `RHA_PATCH_TOO_LARGE`,
/// `RHA_PATCH_HASH_MISMATCH` (discard the output and copy the whole file),
/// `RHA_PATCH_WRONG_BASIS` (a delta that names its basis, as fixed-offset
/// deltas do, given another one: nothing was produced),
/// `RHA_IO` (the callback failed or the basis ended early),
/// `RHA_INVALID_STATE` (after a failure or input after the end). After an
/// error the job stays failed.
///
/// # Safety
///
/// As for `rha_signature_job_run`, with a live patch job; the callback is
/// called during this call.
#[no_mangle]
pub unsafe extern "C" fn rha_patch_job_run(
    job: *mut rha_patch_job,
    input: *mut rha_in_buffer,
    output: *mut rha_out_buffer,
    end: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job, output), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let job = unsafe { &mut *job };
        // SAFETY: forwarded from this function's contract.
        unsafe { drive(input, output, |i, o| job.job.run(i, o, end)) }
    })
}

/// The number of output bytes a patch job has produced; 0 if `job` is NULL.
///
/// # Safety
///
/// `job` is NULL or a live patch job.
#[no_mangle]
pub unsafe extern "C" fn rha_patch_job_produced(job: *const rha_patch_job) -> u64 {
    ffi_fn!(default(0), non_null(job), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*job }.job.produced()
    })
}

/// Releases a patch job. NULL does nothing.
///
/// # Safety
///
/// `job` is NULL or a live job, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_patch_job_free(job: *mut rha_patch_job) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_patch_job_new`, by this function's contract.
        unsafe { crate::handle::free(job) }
    })
}

/// The strong hash of a signature (`rha_signature_job_set_strong_hash`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_strong_hash {
    /// BLAKE3 block hashes and a whole-file hash (the default; needed for
    /// fixed-offset sync). Written as signature format version 1.
    RHA_STRONG_HASH_BLAKE3 = 0,
    /// XXH3-128 block hashes, about twice as fast, for rolling deltas (whose
    /// own whole-file BLAKE3 hash checks the result); no whole-file hash in
    /// the signature. Written as format version 2.
    RHA_STRONG_HASH_XXH3 = 1,
}

closed_set!(rha_strong_hash {
    RHA_STRONG_HASH_BLAKE3,
    RHA_STRONG_HASH_XXH3,
});

/// Chooses the strong hash of a signature job, an `rha_strong_hash` value:
/// `RHA_STRONG_HASH_BLAKE3` or `RHA_STRONG_HASH_XXH3`. Only before the job's
/// first input.
///
/// Errors: `RHA_NULL_PARAMETER` if `job` is NULL; `RHA_INVALID_ARGUMENT` for
/// an unknown hash, or once the job has consumed input.
///
/// # Safety
///
/// `job` is NULL or a live signature job, not used by another thread during
/// the call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_job_set_strong_hash(
    job: *mut rha_signature_job,
    hash: u32,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(job), {
        let hash = match rha_strong_hash::from_raw(hash) {
            Some(rha_strong_hash::RHA_STRONG_HASH_BLAKE3) => StrongHash::Blake3,
            Some(rha_strong_hash::RHA_STRONG_HASH_XXH3) => StrongHash::Xxh3,
            None => {
                return Err(rha_error::invalid_argument(format!(
                    "unknown strong hash {hash}"
                )))
            }
        };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let job = unsafe { &mut *job };
        job.job.set_strong_hash(hash)?;
        Ok(rha_result::RHA_OK)
    })
}

/// Lets a signature job hash blocks on up to `threads` threads (the
/// calling one included) while `rha_signature_job_run` is given several MiB
/// at a time; 0 and 1 keep all work on the calling thread (the default).
/// The output does not depend on it. The extra threads live only during a
/// run call. Does nothing if `job` is NULL.
///
/// # Safety
///
/// `job` is NULL or a live signature job, not used by another thread during
/// the call.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_job_set_threads(
    job: *mut rha_signature_job,
    threads: usize,
) {
    ffi_fn!(default(()), non_null(job), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { &mut *job }.job.set_threads(threads)
    })
}

/// Lets a delta job compute the new file's whole-file hash on a second
/// thread beside the search when `threads` is 2 or more and
/// `rha_delta_job_run` is given large inputs; 0 and 1 keep all work on the
/// calling thread (the default). The output does not depend on it. Does
/// nothing if `job` is NULL.
///
/// # Safety
///
/// `job` is NULL or a live delta job, not used by another thread during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_job_set_threads(job: *mut rha_delta_job, threads: usize) {
    ffi_fn!(default(()), non_null(job), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { &mut *job }.job.set_threads(threads)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_may_move_between_threads() {
        fn send<T: Send>() {}
        send::<rha_signature_job>();
        send::<rha_signature>();
        send::<rha_delta_job>();
        send::<rha_patch_job>();
    }
}
