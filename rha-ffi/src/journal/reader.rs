//! `rha_journal_reader`: a streaming journal reader fed with input buffers.

use std::mem;
use std::ptr;

use rha_core::journal::{Decoder, DecoderConfig, End};

use crate::buffer::rha_in_buffer;
use crate::error::{rha_error, rha_result};
use crate::record::rha_record;

/// Settings for a journal reader, consumed by `rha_journal_reader_build`.
///
/// Ownership: made by `rha_journal_reader_builder_new`, owned by the caller
/// until passed to `rha_journal_reader_build` (which frees it, even when it
/// fails) or `rha_journal_reader_builder_free`. Thread safety: one thread at a
/// time.
#[derive(Debug, Default)]
pub struct rha_journal_reader_builder {
    config: DecoderConfig,
}

/// A streaming journal reader: fed bytes in chunks of any size, it hands out
/// records one at a time, and at the end tells a clean end from a torn tail.
///
/// Every frame's checksums are verified and sequence numbers must increase
/// by one; anything else is an error naming the byte offset and the last
/// good sequence number, after which the reader stays failed. Memory held is
/// bounded by one frame (the maximum record size plus a header).
///
/// Ownership: made by `rha_journal_reader_build`, owned by the caller,
/// released with `rha_journal_reader_free`. Thread safety: one thread at a
/// time (it may move between threads); distinct readers are independent.
#[derive(Debug)]
pub struct rha_journal_reader {
    /// Owns the buffer the views handed out point into, until its next use.
    decoder: Decoder,
}

/// How a journal ended, from `rha_journal_reader_finish`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_journal_end {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// false: the input ended cleanly after a complete frame (or was empty);
    /// true: the input ends inside a frame, a torn tail (for example a write
    /// cut short by a crash).
    pub torn: bool,
    /// Clean: the total length of the input. Torn: where the incomplete frame
    /// starts, i.e. the length of the intact prefix; truncating the journal
    /// to this many bytes is safe.
    pub offset: u64,
    /// Torn: the number of bytes from `offset` to the end of the input.
    /// Clean: 0.
    pub tail_len: u64,
}

sized_struct!(rha_journal_end);

/// Makes a reader builder with the defaults: maximum record size 64 MiB,
/// the input starts with the stream header, any first sequence number.
///
/// Returns a new builder owned by the caller (never NULL): pass it to
/// `rha_journal_reader_build` or `rha_journal_reader_builder_free`.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn rha_journal_reader_builder_new() -> *mut rha_journal_reader_builder {
    ffi_fn!(default(ptr::null_mut()), non_null(), {
        crate::handle::new(rha_journal_reader_builder::default())
    })
}

/// Sets the largest record body accepted, in bytes (default 64 MiB); a
/// compressed batch may decompress to at most this plus one frame header.
/// This bounds every allocation the reader makes; a larger frame is
/// `RHA_JOURNAL_TOO_LARGE`.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
/// if `bytes` is 0.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_builder_set_max_record_size(
    builder: *mut rha_journal_reader_builder,
    bytes: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        if bytes == 0 {
            return Err(rha_error::invalid_argument(
                "maximum record size must be at least 1 byte",
            ));
        }
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let builder = unsafe { &mut *builder };
        builder.config = mem::take(&mut builder.config).max_record_size(bytes);
        Ok(rha_result::RHA_OK)
    })
}

/// Requires the first record to have sequence number `seq` (by default any
/// first number is accepted); otherwise decoding fails with
/// `RHA_JOURNAL_SEQUENCE`.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_builder_set_first_seq(
    builder: *mut rha_journal_reader_builder,
    seq: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let builder = unsafe { &mut *builder };
        builder.config = mem::take(&mut builder.config).first_seq(Some(seq));
        Ok(rha_result::RHA_OK)
    })
}

/// Says whether the input starts with the 16-byte stream header (default
/// `true`). Pass `false` to read frames that continue a journal whose header
/// was read elsewhere.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_builder_set_stream_header(
    builder: *mut rha_journal_reader_builder,
    present: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let builder = unsafe { &mut *builder };
        builder.config = mem::take(&mut builder.config).stream_header(present);
        Ok(rha_result::RHA_OK)
    })
}

/// Releases a builder that was not passed to `rha_journal_reader_build`.
/// NULL does nothing.
///
/// # Safety
///
/// `builder` is NULL or a live builder, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_builder_free(builder: *mut rha_journal_reader_builder) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `_builder_new` and not used again, by this
        // function's contract.
        unsafe { crate::handle::free(builder) }
    })
}

/// Makes a reader from `builder`, which this call consumes: `builder` is
/// freed whether or not the call succeeds and must not be used again.
///
/// On success stores a new reader in `*reader_out`, owned by the caller
/// (release it with `rha_journal_reader_free`). Errors: `RHA_NULL_PARAMETER`
/// if `builder` or `reader_out` is NULL (a non-NULL `*reader_out` is then
/// set to NULL, as after any failure).
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread;
/// `reader_out` is NULL or valid for writing an `rha_journal_reader *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_build(
    builder: *mut rha_journal_reader_builder,
    reader_out: *mut *mut rha_journal_reader,
    error_out: *mut *mut rha_error,
) -> rha_result {
    // `builder` is checked in the body: it is consumed even when
    // `reader_out` is NULL.
    ffi_fn!(fallible(error_out), non_null(), handle_out(reader_out), {
        // SAFETY: `builder` is NULL or made by `_builder_new` and not used
        // again; `reader_out` is NULL or writable; by this function's contract.
        unsafe {
            crate::handle::build(builder, reader_out, "reader_out", |b| {
                Ok(rha_journal_reader {
                    decoder: Decoder::new(b.config),
                })
            })
        }
    })
}

/// Reads the next record, consuming input from `input` as needed.
///
/// The reader takes from `input->src + input->pos` only as many bytes as it
/// needs to complete the next record (copying them) and advances
/// `input->pos` past them, whatever the result; the rest stays the caller's.
/// `input` may be NULL, meaning no new input.
///
/// Returns:
/// - `RHA_OK`: `*record_out` holds the next record. Its views (`path`,
///   `path2`, `data`, `name`) point into memory owned by the reader and stay
///   valid until the next call of `rha_journal_reader_next`,
///   `rha_journal_reader_finish` or `rha_journal_reader_free` on this reader.
///   Fields the operation does not use are zero.
/// - `RHA_BLOCKED`: all of `input` has been consumed and more is needed;
///   `*record_out` is untouched. Call again with more input, or call
///   `rha_journal_reader_finish` if the input is over.
/// - `RHA_JOURNAL_CORRUPT`, `RHA_JOURNAL_UNSUPPORTED_VERSION`,
///   `RHA_JOURNAL_TOO_LARGE`, `RHA_JOURNAL_SEQUENCE`: the journal does not
///   decode further. The error object carries the stream offset of the
///   offending frame (`rha_error_offset`) and the last good sequence number
///   (`rha_error_last_seq`). The reader is failed from then on: every later
///   call returns the same error without consuming input.
/// - `RHA_NULL_PARAMETER` if `reader` or `record_out` is NULL or
///   `input->src` is NULL while `input->size` is not 0;
///   `RHA_INVALID_ARGUMENT` if `input->pos > input->size`.
///
/// # Safety
///
/// `reader` is NULL or a live reader not used by another thread during the
/// call; `input` is NULL or points to an `rha_in_buffer` whose `src` is
/// readable for `size` bytes; `record_out` is NULL or valid for writing an
/// `rha_record`; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_next(
    reader: *mut rha_journal_reader,
    input: *mut rha_in_buffer,
    record_out: *mut rha_record,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(reader, record_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(record_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let reader = unsafe { &mut *reader };
        // SAFETY: NULL or a valid `rha_in_buffer` by this function's contract.
        let mut input = unsafe { input.as_mut() };
        let mut available = match &input {
            // SAFETY: `src` is readable for `size` bytes during the call by
            // this function's contract.
            Some(input) => unsafe { input.remaining() }?,
            None => &[],
        };
        loop {
            if let Some(record) = reader.decoder.next_record_ref()? {
                let view = rha_record::view(&record)?;
                // SAFETY: `size` from `declared_size`; writable by this function's contract.
                unsafe { crate::sized::write_sized(record_out, view, size) };
                return Ok(rha_result::RHA_OK);
            }
            if available.is_empty() {
                return Ok(rha_result::RHA_BLOCKED);
            }
            // Feed no more than the decoder needs, so the caller keeps the rest.
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

/// Reports how the journal ended; call it when the input is over (after
/// `rha_journal_reader_next` returned `RHA_BLOCKED`).
///
/// On success stores the end in `*end_out`: clean, or a torn tail with the
/// length of the intact prefix. It does not change the reader: if more input
/// turns up after all, `rha_journal_reader_next` carries on. Views from the
/// last record become invalid.
///
/// Errors: the reader's decoding error if it failed earlier (see
/// `rha_journal_reader_next`); `RHA_INVALID_STATE` if a complete record is
/// still waiting to be read; `RHA_NULL_PARAMETER` if `reader` or `end_out` is
/// NULL.
///
/// # Safety
///
/// `reader` is NULL or a live reader not used by another thread during the
/// call; `end_out` is NULL or valid for writing an `rha_journal_end`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_finish(
    reader: *mut rha_journal_reader,
    end_out: *mut rha_journal_end,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(reader, end_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(end_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let reader = unsafe { &mut *reader };
        let end = match reader.decoder.finish()? {
            End::Clean { len } => rha_journal_end {
                struct_size: 0,
                torn: false,
                offset: len,
                tail_len: 0,
            },
            End::TornTail { offset, tail_len } => rha_journal_end {
                struct_size: 0,
                torn: true,
                offset,
                tail_len,
            },
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { crate::sized::write_sized(end_out, end, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// The stream offset just after the last frame the reader has consumed (the
/// stream header counts as consumed once checked): everything before it has
/// been verified. Bytes taken from input but not yet forming a complete
/// frame are not counted. 0 if `reader` is NULL.
///
/// # Safety
///
/// `reader` is NULL or a live reader not used by another thread during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_offset(reader: *const rha_journal_reader) -> u64 {
    ffi_fn!(default(0), non_null(reader), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*reader }.decoder.offset()
    })
}

/// Releases a reader and the memory its last record's views point into.
/// NULL does nothing.
///
/// # Safety
///
/// `reader` is NULL or a live reader, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_reader_free(reader: *mut rha_journal_reader) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_journal_reader_build` and not used
        // again, by this function's contract.
        unsafe { crate::handle::free(reader) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_may_move_between_threads() {
        fn send<T: Send>() {}
        send::<rha_journal_reader_builder>();
        send::<rha_journal_reader>();
    }
}
