//! `rha_signature_file`, `rha_delta_file`, `rha_patch_file`: a signature, a
//! delta or a patch in one call over file descriptors, like librsync's
//! `rs_sig_file`, `rs_delta_file` and `rs_patch_file`.

use std::ffi::c_int;
use std::fs::File;
use std::io::{self, Seek};
use std::mem::{self, ManuallyDrop};
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;

use rha_core::signature::block::{
    delta_stream, patch_stream, read_signature, signature_stream, DeltaFormat, PatchOptions,
    ReadAt, StreamError, StreamOptions, StreamRole, StrongHash,
};

use super::block::{rha_delta_format, rha_strong_hash};
use crate::error::{rha_error, rha_result};

/// Options of `rha_signature_file`, `rha_delta_file` and `rha_patch_file`
/// (each reads the fields it uses). Initialise with `rha_file_options_init`,
/// then change fields; NULL instead of a pointer means the defaults.
///
/// Evolution: `struct_size` is `sizeof(rha_file_options)` as the caller was
/// compiled (`rha_file_options_init` sets it); later versions add fields at
/// the end only, accept the size of every released version and read only
/// the fields that fit in it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rha_file_options {
    /// `sizeof(rha_file_options)`; a size no released version had is
    /// refused with `RHA_INVALID_ARGUMENT`.
    pub struct_size: u32,
    /// Signature block length: 0 (default) for about the square root of
    /// the input's length, otherwise 16..=16777216.
    pub block_len: u32,
    /// Bytes of strong hash per block: 0 (default) for the length that
    /// keeps a false match below 2^-64, otherwise 8..=32.
    pub strong_len: u32,
    /// An `rha_strong_hash` value (default `RHA_STRONG_HASH_BLAKE3`).
    pub strong_hash: u32,
    /// An `rha_delta_format` value for `rha_delta_file` (default
    /// `RHA_DELTA_FORMAT_RHA`).
    pub format: u32,
    /// Hashing threads, the calling one included; 0 (default): one per core.
    /// The output does not depend on it.
    pub threads: u32,
    /// `rha_patch_file` refuses to write more than this many bytes (default
    /// `UINT64_MAX`).
    pub max_output: u64,
}

impl Default for rha_file_options {
    fn default() -> Self {
        Self {
            struct_size: mem::size_of::<Self>() as u32,
            block_len: 0,
            strong_len: 0,
            strong_hash: rha_strong_hash::RHA_STRONG_HASH_BLAKE3 as u32,
            format: rha_delta_format::RHA_DELTA_FORMAT_RHA as u32,
            threads: 0,
            max_output: u64::MAX,
        }
    }
}

// SAFETY: `repr(C)` with `struct_size: u32` first; one released version,
// the whole struct.
unsafe impl crate::sized::SizedStruct for rha_file_options {
    const NAME: &'static str = "rha_file_options";
    const SIZES: &'static [usize] = &[mem::size_of::<Self>()];
    fn set_struct_size(&mut self, size: u32) {
        self.struct_size = size;
    }
}

/// Stores the default options in `*options`, `struct_size` included. NULL
/// does nothing.
///
/// # Safety
///
/// `options` is NULL or valid for writing an `rha_file_options`.
#[no_mangle]
pub unsafe extern "C" fn rha_file_options_init(options: *mut rha_file_options) {
    ffi_fn!(default(()), non_null(options), {
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { options.write(rha_file_options::default()) }
    })
}

/// The options at `options` (NULL: the defaults), checked.
///
/// # Safety
///
/// `options` is NULL or readable for `options->struct_size` bytes.
unsafe fn read_options(options: *const rha_file_options) -> Result<StreamOptions, rha_error> {
    let o = if options.is_null() {
        rha_file_options::default()
    } else {
        // SAFETY: non-NULL and readable (at least its first field) by this
        // function's contract.
        // SAFETY: non-NULL and readable for its declared size by this
        // function's contract.
        unsafe { crate::sized::read_sized(options) }?
    };
    let strong_hash = match rha_strong_hash::from_raw(o.strong_hash) {
        Some(rha_strong_hash::RHA_STRONG_HASH_BLAKE3) => StrongHash::Blake3,
        Some(rha_strong_hash::RHA_STRONG_HASH_XXH3) => StrongHash::Xxh3,
        None => {
            return Err(rha_error::invalid_argument(format!(
                "rha_file_options.strong_hash: unknown strong hash {}",
                o.strong_hash
            )))
        }
    };
    let format = match rha_delta_format::from_raw(o.format) {
        Some(rha_delta_format::RHA_DELTA_FORMAT_RHA) => DeltaFormat::Rha,
        Some(rha_delta_format::RHA_DELTA_FORMAT_RDIFF) => DeltaFormat::Rdiff,
        None => {
            return Err(rha_error::invalid_argument(format!(
                "rha_file_options.format: unknown delta format {}",
                o.format
            )))
        }
    };
    Ok(StreamOptions::default()
        .block_len((o.block_len != 0).then_some(o.block_len))
        .strong_len((o.strong_len != 0).then(|| u8::try_from(o.strong_len).unwrap_or(u8::MAX)))
        .strong_hash(strong_hash)
        .format(format)
        .threads(o.threads as usize)
        .max_output(o.max_output))
}

/// A file descriptor the caller lends for the call: never closed here.
fn borrow_fd(fd: c_int, name: &str) -> Result<ManuallyDrop<File>, rha_error> {
    if fd < 0 {
        return Err(rha_error::invalid_argument(format!(
            "argument `{name}` is not a file descriptor ({fd})"
        )));
    }
    // SAFETY: the caller lends `fd` for the call (each function's
    // contract); `ManuallyDrop` keeps it from being closed here.
    Ok(ManuallyDrop::new(unsafe { File::from_raw_fd(fd) }))
}

/// `RHA_IO` for an operating-system error on the argument `name`.
fn fd_error(name: &str, doing: &str, e: &io::Error) -> rha_error {
    rha_error::new(rha_result::RHA_IO, format!("{doing} `{name}`: {e}"))
        .with_os_code(e.raw_os_error())
}

/// The argument name of a stream.
fn arg_of(role: StreamRole) -> &'static str {
    match role {
        StreamRole::Basis => "basis_fd",
        StreamRole::Signature => "sig_fd",
        StreamRole::New => "new_fd",
        StreamRole::Delta => "delta_fd",
        _ => "out_fd",
    }
}

/// A stream helper's error, naming the file descriptor an I/O error
/// concerns.
fn stream_error(e: StreamError) -> rha_error {
    match e {
        StreamError::Read { role, source } => fd_error(arg_of(role), "reading", &source),
        StreamError::Write { role, source } => fd_error(arg_of(role), "writing", &source),
        StreamError::Job(e) => e.into(),
        StreamError::Signature(e) => e.into(),
        StreamError::Patch(e) => e.into(),
        // Unfinished, and any kind added later.
        e => rha_error::new(rha_result::RHA_INVALID_STATE, e.to_string()),
    }
}

/// The bytes left from the current position of `file`, if it is a regular
/// file (not a pipe, socket or device).
fn regular_len_left(file: &File, name: &str) -> Result<Option<u64>, rha_error> {
    let meta = file
        .metadata()
        .map_err(|e| fd_error(name, "inspecting", &e))?;
    if !meta.is_file() {
        return Ok(None);
    }
    let pos = (&*file)
        .stream_position()
        .map_err(|e| fd_error(name, "inspecting", &e))?;
    Ok(Some(meta.len().saturating_sub(pos)))
}

/// A patch's basis, read with `pread`.
struct FdBasis<'a>(&'a File);

impl ReadAt for FdBasis<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match FileExt::read_at(self.0, buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }
}

/// Writes the block signature of the file open as `basis_fd` (from its
/// current position to its end) to `sig_fd`, in one call, with `options`
/// (NULL: the defaults; `block_len`, `strong_len`, `strong_hash` and
/// `threads` apply).
///
/// `basis_fd` may be a pipe or socket: input whose length is not known in
/// advance works, as with librsync's `rs_sig_file`. A regular file's length
/// is taken from `fstat` (and checked: a file that changes length while
/// read fails with `RHA_SIGNATURE_INPUT_LENGTH`). Input of unknown length
/// that ends within its first 4 MiB gets the parameters of its length, so
/// its signature is the file's; longer input gets a 32 KiB block length and
/// a strong hash long enough for 1 TiB unless `options` says otherwise,
/// and its signature (about 0.06% of it) is held in memory until the input
/// ends, because the signature's header names the length. Memory is
/// otherwise bounded (a few MiB), whatever the length.
///
/// The file descriptors are borrowed: read and written from their current
/// positions, never closed. Reads and writes interrupted by a signal are
/// retried, short writes completed. Writing to a pipe whose reader has gone
/// raises `SIGPIPE` unless the process ignores it (then the error is
/// `RHA_IO` with `EPIPE`).
///
/// Errors: `RHA_INVALID_ARGUMENT` for a negative file descriptor or a bad
/// option; `RHA_IO` when reading or writing fails (the message names the
/// argument; `rha_error_os_code` gives `errno`, such as `EBADF`, `EPIPE` or
/// `ENOSPC`); `RHA_SIGNATURE_INPUT_LENGTH`. After an error, what was
/// written to `sig_fd` is not a signature: discard it.
///
/// Thread-safe: calls on different file descriptors may run at once.
///
/// # Safety
///
/// `basis_fd` and `sig_fd` are open file descriptors that no other thread
/// closes during the call; `options` is NULL or readable for its
/// `struct_size` bytes; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_signature_file(
    basis_fd: c_int,
    sig_fd: c_int,
    options: *const rha_file_options,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: NULL or readable by this function's contract.
        let opts = unsafe { read_options(options) }?;
        let basis = borrow_fd(basis_fd, "basis_fd")?;
        let sig = borrow_fd(sig_fd, "sig_fd")?;
        let opts = opts.input_len(regular_len_left(&basis, "basis_fd")?);
        signature_stream(&*basis, &*sig, &opts).map_err(stream_error)?;
        Ok(rha_result::RHA_OK)
    })
}

/// Writes to `delta_fd` the delta that turns the file whose signature
/// `sig_fd` holds into the file open as `new_fd`, in one call, with
/// `options` (NULL: the defaults; `format` and `threads` apply).
///
/// The signature (rha or rdiff format) is read whole first; the new file
/// is then read to its end, so it may be a pipe. Memory: the signature's
/// entries plus a few MiB. File descriptors, signals, short writes and
/// `SIGPIPE` as for `rha_signature_file`.
///
/// Errors: `RHA_INVALID_ARGUMENT`; `RHA_IO` (naming the argument, with
/// `errno`); `RHA_SIGNATURE_CORRUPT`, `RHA_SIGNATURE_UNSUPPORTED`,
/// `RHA_SIGNATURE_TOO_LARGE` for the signature. After an error, discard
/// what was written to `delta_fd`.
///
/// Thread-safe: calls on different file descriptors may run at once.
///
/// # Safety
///
/// `sig_fd`, `new_fd` and `delta_fd` are open file descriptors that no
/// other thread closes during the call; `options` is NULL or readable for
/// its `struct_size` bytes; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_delta_file(
    sig_fd: c_int,
    new_fd: c_int,
    delta_fd: c_int,
    options: *const rha_file_options,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: NULL or readable by this function's contract.
        let opts = unsafe { read_options(options) }?;
        let sig_file = borrow_fd(sig_fd, "sig_fd")?;
        let new = borrow_fd(new_fd, "new_fd")?;
        let delta = borrow_fd(delta_fd, "delta_fd")?;
        let sig = read_signature(&*sig_file).map_err(stream_error)?;
        delta_stream(sig, &*new, &*delta, &opts).map_err(stream_error)?;
        Ok(rha_result::RHA_OK)
    })
}

/// Applies the delta read from `delta_fd` to the basis open as `basis_fd`,
/// writing the new file to `out_fd`, in one call, with `options` (NULL: the
/// defaults; `max_output` applies).
///
/// The basis is read at random with `pread`, from offset 0 whatever its
/// position: it must be a regular file or a block device, not a pipe
/// (`RHA_INVALID_ARGUMENT` naming `basis_fd`). The delta is read from its
/// current position to its end and the output written as it is produced,
/// so both may be pipes. Memory: a few MiB. File descriptors, signals,
/// short writes and `SIGPIPE` as for `rha_signature_file`.
///
/// Errors: `RHA_INVALID_ARGUMENT`; `RHA_IO` (naming the argument, with
/// `errno`); `RHA_DELTA_CORRUPT` (including a delta cut short),
/// `RHA_DELTA_UNSUPPORTED`, `RHA_DELTA_OUT_OF_RANGE` (a copy beyond the
/// basis's end: another basis); `RHA_PATCH_HASH_MISMATCH` (the result is
/// not the file the delta describes: usually another basis);
/// `RHA_PATCH_WRONG_BASIS`; `RHA_PATCH_TOO_LARGE`. After an error, discard
/// what was written to `out_fd`.
///
/// Thread-safe: calls on different file descriptors may run at once.
///
/// # Safety
///
/// `basis_fd`, `delta_fd` and `out_fd` are open file descriptors that no
/// other thread closes during the call; `options` is NULL or readable for
/// its `struct_size` bytes; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_patch_file(
    basis_fd: c_int,
    delta_fd: c_int,
    out_fd: c_int,
    options: *const rha_file_options,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: NULL or readable by this function's contract.
        let opts = unsafe { read_options(options) }?;
        let basis = borrow_fd(basis_fd, "basis_fd")?;
        let delta = borrow_fd(delta_fd, "delta_fd")?;
        let out = borrow_fd(out_fd, "out_fd")?;
        if let Err(e) = (&*basis).stream_position() {
            if e.kind() == io::ErrorKind::NotSeekable {
                return Err(rha_error::invalid_argument(
                    "argument `basis_fd` is not seekable (a pipe or socket?): the basis of a patch is read at random, give a regular file or a block device",
                ));
            }
            return Err(fd_error("basis_fd", "inspecting", &e));
        }
        let meta = basis
            .metadata()
            .map_err(|e| fd_error("basis_fd", "inspecting", &e))?;
        let basis_len = meta.is_file().then_some(meta.len());
        let options = PatchOptions::default()
            .max_output(opts.max_output)
            .basis_len(basis_len);
        patch_stream(FdBasis(&basis), &*delta, &*out, options).map_err(stream_error)?;
        Ok(rha_result::RHA_OK)
    })
}
