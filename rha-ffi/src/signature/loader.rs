//! `rha_signature_loader`: a block signature read in chunks of any size,
//! so a signature arriving from a socket or a large file never needs one
//! buffer holding all of it.

use rha_core::signature::block::{SignatureLoader, DEFAULT_MAX_BLOCKS};

use super::block::rha_signature;
use crate::buffer::rha_in_buffer;
use crate::error::{rha_error, rha_result};

/// A block signature being loaded from chunks (rha format, or an rdiff
/// signature with BLAKE2 strong sums). Memory: the signature's entries,
/// bounded by the block limit given to `rha_signature_loader_new`.
///
/// Ownership: made by `rha_signature_loader_new`, owned by the caller;
/// consumed by `rha_signature_loader_finish` (whether or not it succeeds) or
/// released with `rha_signature_loader_free`. Thread safety: one thread at a
/// time (it may move between threads).
#[derive(Debug)]
pub struct rha_signature_loader {
    loader: SignatureLoader,
    failed: bool,
}

/// Makes a loader refusing signatures of more than `max_blocks` blocks
/// (0: the default limit, 2^26 blocks).
///
/// On success stores a new loader in `*loader_out`, owned by the caller.
/// Errors: `RHA_NULL_PARAMETER` if `loader_out` is NULL.
///
/// # Safety
///
/// `loader_out` is NULL or valid for writing an `rha_signature_loader *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_loader_new(
    max_blocks: u64,
    loader_out: *mut *mut rha_signature_loader,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(loader_out),
        handle_out(loader_out),
        {
            let max = if max_blocks == 0 {
                DEFAULT_MAX_BLOCKS
            } else {
                max_blocks
            };
            let loader = crate::handle::new(rha_signature_loader {
                loader: SignatureLoader::new(max),
                failed: false,
            });
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { loader_out.write(loader) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Feeds signature bytes: consumes all of `input->src[pos..size]` and sets
/// `input->pos` to `size`.
///
/// Errors: `RHA_SIGNATURE_CORRUPT` (bad magic, checksum mismatch, invalid
/// header field, bytes after the end), `RHA_SIGNATURE_UNSUPPORTED`,
/// `RHA_SIGNATURE_TOO_LARGE`, each with the byte offset in the signature
/// stream where the offending structure starts (`rha_error_offset`);
/// `RHA_INVALID_STATE` after an earlier failure (the loader stays failed:
/// free it); `RHA_NULL_PARAMETER` if `loader` or `input` is NULL;
/// `RHA_INVALID_ARGUMENT` for a bad buffer.
///
/// # Safety
///
/// `loader` is NULL or a live loader not used by another thread during the
/// call; `input` is NULL or a valid `rha_in_buffer` readable for `size`
/// bytes during the call; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_loader_feed(
    loader: *mut rha_signature_loader,
    input: *mut rha_in_buffer,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(loader, input), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let loader = unsafe { &mut *loader };
        // SAFETY: non-NULL (checked by ffi_fn!) and valid by this function's contract.
        let input = unsafe { &mut *input };
        if loader.failed {
            return Err(rha_error::new(
                rha_result::RHA_INVALID_STATE,
                "signature loader already failed",
            ));
        }
        // SAFETY: readable for `size` bytes by this function's contract.
        let data = unsafe { input.remaining() }?;
        let n = data.len();
        if let Err(e) = loader.loader.feed(data) {
            loader.failed = true;
            return Err(e.into());
        }
        input.pos += n;
        Ok(rha_result::RHA_OK)
    })
}

/// Ends the input: consumes `loader` (also on failure; do not free it
/// afterwards) and, if the fed bytes form a whole signature, stores it in
/// `*sig_out`, owned by the caller (release with `rha_signature_free`).
///
/// Errors: `RHA_SIGNATURE_CORRUPT` for a truncated signature, with the
/// offset of the incomplete structure (`rha_error_offset`);
/// `RHA_INVALID_STATE` if a feed failed; `RHA_NULL_PARAMETER` if `loader` or
/// `sig_out` is NULL (a NULL `sig_out` still consumes the loader).
///
/// # Safety
///
/// `loader` is NULL or a live loader, not used again after this call;
/// `sig_out` is NULL or valid for writing an `rha_signature *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_loader_finish(
    loader: *mut rha_signature_loader,
    sig_out: *mut *mut rha_signature,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(loader),
        handle_out(sig_out),
        {
            // SAFETY: `loader` was made by `rha_signature_loader_new` (non-NULL,
            // checked by ffi_fn!) and is not used again; `sig_out` is NULL or
            // writable; by this function's contract.
            unsafe {
                crate::handle::build(loader, sig_out, "sig_out", |loader| {
                    if loader.failed {
                        return Err(rha_error::new(
                            rha_result::RHA_INVALID_STATE,
                            "signature loader already failed",
                        ));
                    }
                    Ok(rha_signature {
                        sig: loader.loader.finish()?,
                    })
                })
            }
        }
    )
}

/// Releases a loader without finishing it. NULL does nothing.
///
/// # Safety
///
/// `loader` is NULL or a live loader, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_loader_free(loader: *mut rha_signature_loader) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_signature_loader_new`, by this function's contract.
        unsafe { crate::handle::free(loader) }
    })
}
