//! Node identities from C: `rha_identity_generate` (as `rha keygen DIR`)
//! and `rha_identity_fingerprint`, which write the fingerprint's text into
//! the caller's buffer.

use std::ffi::c_char;

use rha_capture::transport::{Fingerprint, Identity};

use crate::error::{rha_error, rha_result};
use crate::tree::path_arg;

/// Bytes a fingerprint's text takes with its terminating NUL: `sha256:`,
/// 64 lowercase hexadecimal digits and the NUL. A buffer of this size
/// holds any fingerprint rha writes.
pub const RHA_FINGERPRINT_SIZE: usize = 72;

/// Writes `fp`'s text and a NUL to `out`, which holds `size` bytes;
/// checked before anything is written.
///
/// # Safety
///
/// `out` is NULL, or valid for writing `size` bytes.
pub(crate) unsafe fn write_fingerprint(
    fp: &Fingerprint,
    out: *mut c_char,
    size: usize,
) -> Result<(), rha_error> {
    if out.is_null() {
        return Ok(());
    }
    let text = fp.to_string();
    if size < text.len() + 1 {
        return Err(rha_error::invalid_argument(format!(
            "fingerprint_size is {size}: a fingerprint needs {} bytes \
             (RHA_FINGERPRINT_SIZE)",
            text.len() + 1
        )));
    }
    // SAFETY: `out` is writable for `size` bytes by this function's
    // contract, and `size` exceeds the text's length (checked above).
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), out.cast::<u8>(), text.len());
        out.add(text.len()).write(0);
    }
    Ok(())
}

/// Checks a fingerprint buffer before any work is done.
fn check_size(out: *mut c_char, size: usize) -> Result<(), rha_error> {
    if !out.is_null() && size < RHA_FINGERPRINT_SIZE {
        return Err(rha_error::invalid_argument(format!(
            "fingerprint_size is {size}: a fingerprint needs {RHA_FINGERPRINT_SIZE} bytes \
             (RHA_FINGERPRINT_SIZE)"
        )));
    }
    Ok(())
}

/// Makes a node identity in `dir` as `rha keygen DIR` does: a new Ed25519
/// key (`key.pem`, mode 0600) and a self-signed certificate over it
/// (`cert.pem`), creating `dir` (mode 0700) if it is missing. Peers pin
/// the identity by its fingerprint, which is written (NUL-terminated) to
/// `fingerprint_out` unless that is NULL; it holds `fingerprint_size`
/// bytes, at least `RHA_FINGERPRINT_SIZE`.
///
/// Errors: `RHA_NULL_PARAMETER` (`dir`); `RHA_INVALID_ARGUMENT` for a
/// `fingerprint_size` below `RHA_FINGERPRINT_SIZE` (nothing is made);
/// `RHA_IDENTITY_EXISTS` if `dir` holds an identity file and `force` is
/// false (nothing is changed); `RHA_IO` when a file cannot be written.
///
/// Thread-safe.
///
/// # Safety
///
/// `dir` is NULL or a NUL-terminated string; `fingerprint_out` is NULL or
/// valid for writing `fingerprint_size` bytes; `error_out` is NULL or valid
/// for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_identity_generate(
    dir: *const c_char,
    force: bool,
    fingerprint_out: *mut c_char,
    fingerprint_size: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(dir), {
        check_size(fingerprint_out, fingerprint_size)?;
        // SAFETY: non-NULL (checked by ffi_fn!) and NUL-terminated by contract.
        let dir = unsafe { path_arg(dir) };
        let identity = Identity::generate()?;
        identity.save(dir, force)?;
        // SAFETY: writable for `fingerprint_size` bytes by contract.
        unsafe { write_fingerprint(&identity.fingerprint(), fingerprint_out, fingerprint_size) }?;
        Ok(rha_result::RHA_OK)
    })
}

/// Writes the fingerprint of the identity in `dir` (made by
/// `rha_identity_generate` or `rha keygen`), NUL-terminated, to
/// `fingerprint_out`, which holds `fingerprint_size` bytes, at least
/// `RHA_FINGERPRINT_SIZE`. The identity is loaded and checked (the key
/// must be the certificate's).
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for a
/// `fingerprint_size` below `RHA_FINGERPRINT_SIZE`;
/// `RHA_IDENTITY_MISSING`, `RHA_IDENTITY_INVALID`, `RHA_IO`.
///
/// Thread-safe.
///
/// # Safety
///
/// `dir` is NULL or a NUL-terminated string; `fingerprint_out` is NULL or
/// valid for writing `fingerprint_size` bytes; `error_out` is NULL or valid
/// for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_identity_fingerprint(
    dir: *const c_char,
    fingerprint_out: *mut c_char,
    fingerprint_size: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(dir, fingerprint_out), {
        check_size(fingerprint_out, fingerprint_size)?;
        // SAFETY: non-NULL (checked by ffi_fn!) and NUL-terminated by contract.
        let dir = unsafe { path_arg(dir) };
        let identity = Identity::load(dir)?;
        // SAFETY: writable for `fingerprint_size` bytes by contract.
        unsafe { write_fingerprint(&identity.fingerprint(), fingerprint_out, fingerprint_size) }?;
        Ok(rha_result::RHA_OK)
    })
}
