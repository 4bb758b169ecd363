//! `rha_tree_reader`: a streaming tree signature reader fed with input buffers.

use std::ptr;

use rha_core::signature::tree::{Entry, TreeDecoder};

use super::rha_tree_entry;
use crate::buffer::rha_in_buffer;
use crate::error::{rha_error, rha_result};

/// A streaming tree signature reader: fed bytes in chunks of any size, it
/// hands out entries one at a time, checking every checksum and the entry
/// order.
///
/// Memory: at most one signature block (4 MiB) plus the current entry.
/// Ownership: made by `rha_tree_reader_new`, released with
/// `rha_tree_reader_free`. Thread safety: one thread at a time.
#[derive(Debug, Default)]
pub struct rha_tree_reader {
    decoder: TreeDecoder,
    /// Owns what the last view points into.
    current: Option<Entry>,
}

/// Makes a tree signature reader. Returns a new reader owned by the caller
/// (never NULL); release it with `rha_tree_reader_free`. Thread-safe.
#[no_mangle]
pub extern "C" fn rha_tree_reader_new() -> *mut rha_tree_reader {
    ffi_fn!(default(ptr::null_mut()), non_null(), {
        crate::handle::new(rha_tree_reader::default())
    })
}

/// Reads the next entry, consuming from `input` only the bytes it needs
/// (advancing `input->pos`). `input` may be NULL, meaning no new input.
///
/// Returns:
/// - `RHA_OK`: `*entry_out` holds the next entry; its `path` and `target`
///   point into memory owned by the reader, valid until the next call of
///   `rha_tree_reader_next`, `rha_tree_reader_finish` or
///   `rha_tree_reader_free` on this reader.
/// - `RHA_BLOCKED`: `input` is used up and more is needed.
/// - `RHA_DONE`: the end block was read; every entry has been handed out.
///   Call `rha_tree_reader_finish` to check nothing follows.
/// - `RHA_TREE_CORRUPT`, `RHA_TREE_UNSUPPORTED_VERSION`, `RHA_TREE_ORDER`:
///   the signature does not decode further; `rha_error_offset` gives the byte
///   offset of the damaged structure. The reader stays failed.
/// - `RHA_NULL_PARAMETER` if `reader` or `entry_out` is NULL, or
///   `input->src` is NULL with a non-zero size; `RHA_INVALID_ARGUMENT` if
///   `input->pos > input->size`.
///
/// # Safety
///
/// `reader` is NULL or a live reader not used by another thread during the
/// call; `input` is NULL or points to an `rha_in_buffer` whose `src` is
/// readable for `size` bytes; `entry_out` is NULL or valid for writing an
/// `rha_tree_entry`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_reader_next(
    reader: *mut rha_tree_reader,
    input: *mut rha_in_buffer,
    entry_out: *mut rha_tree_entry,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(reader, entry_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(entry_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let reader = unsafe { &mut *reader };
        // SAFETY: NULL or a valid `rha_in_buffer` by this function's contract.
        let mut input = unsafe { input.as_mut() };
        let mut available = match &input {
            // SAFETY: `src` is readable for `size` bytes during the call by this function's contract.
            Some(input) => unsafe { input.remaining() }?,
            None => &[],
        };
        reader.current = None;
        loop {
            if let Some(entry) = reader.decoder.next_entry()? {
                let entry = reader.current.insert(entry);
                // SAFETY: `size` from `declared_size`; writable by this function's contract.
                unsafe { crate::sized::write_sized(entry_out, rha_tree_entry::view(entry), size) };
                return Ok(rha_result::RHA_OK);
            }
            if reader.decoder.is_done() && available.is_empty() {
                return Ok(rha_result::RHA_DONE);
            }
            if available.is_empty() {
                return Ok(rha_result::RHA_BLOCKED);
            }
            let n = reader.decoder.needed().clamp(1, available.len());
            let (chunk, rest) = available.split_at(n);
            reader.decoder.feed(chunk);
            available = rest;
            if let Some(input) = input.as_deref_mut() {
                input.pos += n;
            }
        }
    })
}

/// Declares the input over and checks the signature was complete: on
/// success stores the number of entries in `*count_out`.
///
/// Errors: `RHA_TREE_CORRUPT` if the input ended before the end block
/// (truncated) or bytes followed it, or the reader's earlier error;
/// `RHA_NULL_PARAMETER` if `reader` or `count_out` is NULL. Views from the
/// last entry become invalid.
///
/// # Safety
///
/// `reader` is NULL or a live reader not used by another thread during the
/// call; `count_out` is NULL or valid for writing a `uint64_t`; `error_out`
/// is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_reader_finish(
    reader: *mut rha_tree_reader,
    count_out: *mut u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(reader, count_out), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let reader = unsafe { &mut *reader };
        reader.current = None;
        let count = reader.decoder.finish()?;
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { count_out.write(count) };
        Ok(rha_result::RHA_OK)
    })
}

/// Releases a reader and the memory its last entry's views point into.
/// NULL does nothing.
///
/// # Safety
///
/// `reader` is NULL or a live reader, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_tree_reader_free(reader: *mut rha_tree_reader) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_tree_reader_new` and not used again, by this function's contract.
        unsafe { crate::handle::free(reader) }
    })
}
