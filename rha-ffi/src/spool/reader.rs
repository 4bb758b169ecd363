//! `rha_spool_reader`: durable records back out of a spool, as borrowed views.

use rha_core::spool::SpoolReader;

use super::rha_spool;
use crate::error::{rha_error, rha_result};
use crate::record::rha_record;

/// Reads a spool's durable records in order from a chosen sequence number.
///
/// Ownership: made by `rha_spool_reader_new`, owned by the caller, released
/// with `rha_spool_reader_free`; it stays usable after its spool is closed.
/// Thread safety: one thread at a time (it may move between threads); any
/// number of readers may read one spool at once, alongside its producers.
pub struct rha_spool_reader {
    reader: SpoolReader,
}

/// Makes a reader of `spool`'s durable records from sequence number `seq`
/// on (typically `resume_seq` from `rha_spool_get_usage`).
///
/// On success stores the reader in `*reader_out`, owned by the caller.
/// Errors: `RHA_NULL_PARAMETER`; `RHA_SPOOL_RECLAIMED` if `seq` was
/// reclaimed after an acknowledgement; `RHA_INVALID_ARGUMENT` if `seq` is
/// beyond the next sequence number. Thread-safe with respect to `spool`.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `reader_out` is NULL or valid for
/// writing an `rha_spool_reader *`; `error_out` is NULL or valid for writing
/// an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_reader_new(
    spool: *const rha_spool,
    seq: u64,
    reader_out: *mut *mut rha_spool_reader,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(spool, reader_out),
        handle_out(reader_out),
        {
            // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
            let reader = unsafe { &*spool }.spool.read_from(seq)?;
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
            unsafe { reader_out.write(crate::handle::new(rha_spool_reader { reader })) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Reads the next durable record.
///
/// Returns:
/// - `RHA_OK`: `*record_out` holds the record. Its views (`path`, `path2`,
///   `data`, `name`) point into memory owned by the reader (for sealed
///   segments, the memory-mapped segment itself) and stay valid until the
///   next call of `rha_spool_reader_next` or `rha_spool_reader_free` on this
///   reader. Fields the operation does not use are zero.
/// - `RHA_BLOCKED`: every durable record has been read; `*record_out` is
///   untouched. Call again later to get records made durable since.
/// - `RHA_SPOOL_CORRUPT` (with the offset in the segment and the last good
///   sequence number; the message names the file), `RHA_SPOOL_RECLAIMED`,
///   `RHA_IO`, `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `reader` is NULL or a live reader not used by another thread during the
/// call; `record_out` is NULL or valid for writing an `rha_record`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_reader_next(
    reader: *mut rha_spool_reader,
    record_out: *mut rha_record,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(reader, record_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(record_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let reader = unsafe { &mut *reader };
        match reader.reader.next_record_ref()? {
            Some(record) => {
                let view = rha_record::view(&record)?;
                // SAFETY: `size` from `declared_size`; writable by this function's contract.
                unsafe { crate::sized::write_sized(record_out, view, size) };
                Ok(rha_result::RHA_OK)
            }
            None => Ok(rha_result::RHA_BLOCKED),
        }
    })
}

/// The sequence number of the next record the reader returns; 0 if `reader`
/// is NULL.
///
/// # Safety
///
/// `reader` is NULL or a live reader not used by another thread during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_reader_position(reader: *const rha_spool_reader) -> u64 {
    ffi_fn!(default(0), non_null(reader), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*reader }.reader.position()
    })
}

/// Releases a reader and the memory its last record's views point into.
/// NULL does nothing.
///
/// # Safety
///
/// `reader` is NULL or a live reader, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_reader_free(reader: *mut rha_spool_reader) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_spool_reader_new` and not used again,
        // by this function's contract.
        unsafe { crate::handle::free(reader) }
    })
}
