//! `rha_journal_writer`: encodes records into bytes the caller drains.

use std::io;
use std::mem;
use std::ptr;

use rha_core::journal::{Compression, JournalWriter, Sink, WriterConfig};

use crate::buffer::rha_out_buffer;
use crate::error::{rha_error, rha_result};
use crate::record::rha_record;

/// Settings for a journal writer, consumed by `rha_journal_writer_build`.
///
/// Ownership: made by `rha_journal_writer_builder_new`, owned by the caller
/// until passed to `rha_journal_writer_build` (which frees it, even when it
/// fails) or `rha_journal_writer_builder_free`. Thread safety: one thread at a
/// time.
#[derive(Debug, Default)]
pub struct rha_journal_writer_builder {
    config: WriterConfig,
}

/// A journal writer: numbers records, batches them (optionally compressing
/// each batch with zstd), checksums every frame, and queues the encoded
/// bytes for `rha_journal_writer_drain`.
///
/// The output is an rha journal (format version 1): the stream header, then
/// checksummed frames of records. Ownership: made by `rha_journal_writer_build`,
/// owned by the caller, released with `rha_journal_writer_free`. Thread
/// safety: one thread at a time (it may move between threads); distinct
/// writers are independent.
#[derive(Debug)]
pub struct rha_journal_writer {
    writer: JournalWriter<Queue>,
}

/// The writer's sink: encoded bytes waiting to be drained.
#[derive(Debug, Default)]
struct Queue {
    bytes: Vec<u8>,
    /// Bytes before `head` have been drained.
    head: usize,
}

impl Sink for Queue {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.bytes.extend_from_slice(buf);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Queue {
    fn unread(&self) -> &[u8] {
        self.bytes.get(self.head..).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.head += n;
        if self.head >= self.bytes.len() {
            self.bytes.clear();
            self.head = 0;
        } else if self.head >= self.bytes.len() / 2 {
            // Amortised: each byte moves at most once more.
            self.bytes.drain(..self.head);
            self.head = 0;
        }
    }
}

/// Makes a writer builder with the defaults: no compression, batches of
/// 256 KiB, first sequence number 1, maximum record size 64 MiB.
///
/// Returns a new builder owned by the caller (never NULL): pass it to
/// `rha_journal_writer_build` or `rha_journal_writer_builder_free`.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn rha_journal_writer_builder_new() -> *mut rha_journal_writer_builder {
    ffi_fn!(default(ptr::null_mut()), non_null(), {
        crate::handle::new(rha_journal_writer_builder::default())
    })
}

/// Compresses each batch with zstd at `level` (1 to 22; 1 is fastest). A
/// batch that would not shrink is written uncompressed.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
/// if `level` is outside 1..=22 (the builder is then unchanged).
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_builder_set_zstd(
    builder: *mut rha_journal_writer_builder,
    level: i32,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        if !(1..=22).contains(&level) {
            return Err(rha_error::invalid_argument(format!(
                "zstd level {level} is outside 1..=22"
            )));
        }
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let builder = unsafe { &mut *builder };
        builder.config = mem::take(&mut builder.config).compression(Compression::Zstd { level });
        Ok(rha_result::RHA_OK)
    })
}

/// Gathers records until their frames pass `bytes` bytes, then emits (and
/// compresses) them as one batch. Smaller batches reach
/// `rha_journal_writer_drain` sooner; larger ones compress better.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
/// if `bytes` is 0.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_builder_set_batch_bytes(
    builder: *mut rha_journal_writer_builder,
    bytes: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        if bytes == 0 {
            return Err(rha_error::invalid_argument(
                "batch size must be at least 1 byte",
            ));
        }
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let builder = unsafe { &mut *builder };
        builder.config = mem::take(&mut builder.config).batch_bytes(bytes);
        Ok(rha_result::RHA_OK)
    })
}

/// Sets the first record's sequence number (default 1), for example to
/// continue a journal elsewhere.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_builder_set_first_seq(
    builder: *mut rha_journal_writer_builder,
    seq: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let builder = unsafe { &mut *builder };
        builder.config = mem::take(&mut builder.config).first_seq(seq);
        Ok(rha_result::RHA_OK)
    })
}

/// Sets the largest record body the writer accepts, in bytes (default
/// 64 MiB); a larger record makes `rha_journal_writer_append` fail with
/// `RHA_JOURNAL_TOO_LARGE`. Keep it no larger than the readers' maximum.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
/// if `bytes` is 0 or does not fit the format's 32-bit frame length.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_builder_set_max_record_size(
    builder: *mut rha_journal_writer_builder,
    bytes: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // Frame lengths are 32-bit; anything larger would not encode.
        if bytes == 0 || u32::try_from(bytes).is_err() {
            return Err(rha_error::invalid_argument(format!(
                "maximum record size {bytes} is outside 1..=4294967295"
            )));
        }
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let builder = unsafe { &mut *builder };
        builder.config = mem::take(&mut builder.config).max_record_size(bytes);
        Ok(rha_result::RHA_OK)
    })
}

/// Releases a builder that was not passed to `rha_journal_writer_build`.
/// NULL does nothing.
///
/// # Safety
///
/// `builder` is NULL or a live builder, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_builder_free(builder: *mut rha_journal_writer_builder) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `_builder_new` and not used again, by this
        // function's contract.
        unsafe { crate::handle::free(builder) }
    })
}

/// Makes a writer from `builder`, which this call consumes: `builder` is
/// freed whether or not the call succeeds and must not be used again.
///
/// On success stores a new writer in `*writer_out`, owned by the caller
/// (release it with `rha_journal_writer_free`). Errors: `RHA_NULL_PARAMETER`
/// if `builder` or `writer_out` is NULL (a non-NULL `*writer_out` is then
/// set to NULL, as after any failure).
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread;
/// `writer_out` is NULL or valid for writing an `rha_journal_writer *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_build(
    builder: *mut rha_journal_writer_builder,
    writer_out: *mut *mut rha_journal_writer,
    error_out: *mut *mut rha_error,
) -> rha_result {
    // `builder` is checked in the body: it is consumed even when
    // `writer_out` is NULL.
    ffi_fn!(fallible(error_out), non_null(), handle_out(writer_out), {
        // SAFETY: `builder` is NULL or made by `_builder_new` and not used
        // again; `writer_out` is NULL or writable; by this function's contract.
        unsafe {
            crate::handle::build(builder, writer_out, "writer_out", |b| {
                Ok(rha_journal_writer {
                    writer: JournalWriter::new(Queue::default(), b.config),
                })
            })
        }
    })
}

/// Appends one record and assigns it the next sequence number, stored in
/// `*seq_out` if `seq_out` is not NULL.
///
/// The writer copies what it needs from `record` (which it only reads during
/// the call); `record->seq` and every field `record->op` does not use are
/// ignored. The encoded record becomes drainable once its batch is complete
/// (see `rha_journal_writer_flush`).
///
/// Errors: `RHA_NULL_PARAMETER` if `writer` or `record` is NULL, or a view
/// the operation uses has a NULL `ptr` and a non-zero `len`;
/// `RHA_INVALID_ARGUMENT` for an unknown `op`, an invalid path, name, target
/// or `attr_mask`; `RHA_JOURNAL_TOO_LARGE` if the record exceeds the maximum
/// record size; `RHA_INVALID_STATE` if an earlier failure made the writer
/// unusable. After an argument error nothing was appended and the writer
/// goes on.
///
/// # Safety
///
/// `writer` is NULL or a live writer not used by another thread during the
/// call; `record` is NULL or points to a readable `rha_record` whose views
/// for the fields its `op` uses are readable for their length; `seq_out` is
/// NULL or valid for writing a `uint64_t`; `error_out` is NULL or valid for
/// writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_append(
    writer: *mut rha_journal_writer,
    record: *const rha_record,
    seq_out: *mut u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(writer, record), {
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by this function's contract.
        let record = unsafe { crate::sized::read_sized(record) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let writer = unsafe { &mut *writer };
        // SAFETY: the views the record's operation uses are readable by this function's contract.
        let op = unsafe { record.owned_op() }?;
        let seq = writer.writer.append(record.timestamp_ns, &op)?;
        if !seq_out.is_null() {
            // SAFETY: non-NULL and writable by this function's contract.
            unsafe { seq_out.write(seq) };
        }
        Ok(rha_result::RHA_OK)
    })
}

/// Closes the current batch so that everything appended so far can be
/// drained (this also emits the stream header of an empty journal). It does
/// not make anything durable: durability is up to wherever the caller puts
/// the drained bytes.
///
/// Errors: `RHA_NULL_PARAMETER` if `writer` is NULL; `RHA_IO` if compression
/// failed; `RHA_INVALID_STATE` if an earlier failure made the writer
/// unusable.
///
/// # Safety
///
/// `writer` is NULL or a live writer not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_flush(
    writer: *mut rha_journal_writer,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(writer), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let writer = unsafe { &mut *writer };
        writer.writer.flush()?;
        Ok(rha_result::RHA_OK)
    })
}

/// Copies encoded bytes to `output->dst + output->pos`, at most
/// `output->size - output->pos` of them, and advances `output->pos`.
///
/// Returns `RHA_OK` when everything encoded so far has been drained (records
/// still gathering in an unfinished batch are not encoded yet: see
/// `rha_journal_writer_flush`), or `RHA_BLOCKED` when `output` is full and
/// more bytes remain; call again with more room. Concatenating everything
/// drained gives the journal.
///
/// Errors: `RHA_NULL_PARAMETER` if `writer` or `output` is NULL, or
/// `output->dst` is NULL while there is room; `RHA_INVALID_ARGUMENT` if
/// `output->pos > output->size`.
///
/// # Safety
///
/// `writer` is NULL or a live writer not used by another thread during the
/// call; `output` is NULL or points to an `rha_out_buffer` whose `dst` is
/// valid for writing `size` bytes; `error_out` is NULL or valid for writing
/// an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_drain(
    writer: *mut rha_journal_writer,
    output: *mut rha_out_buffer,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(writer, output), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        let writer = unsafe { &mut *writer };
        // SAFETY: non-NULL (checked by ffi_fn!) and valid by this function's contract.
        let output = unsafe { &mut *output };
        let queue = writer.writer.get_mut();
        // SAFETY: `dst` is writable for `size` bytes by this function's
        // contract, and cannot overlap the writer's private queue.
        let n = unsafe { output.fill_from(queue.unread()) }?;
        queue.consume(n);
        Ok(if queue.unread().is_empty() {
            rha_result::RHA_OK
        } else {
            rha_result::RHA_BLOCKED
        })
    })
}

/// The number of encoded bytes waiting to be drained; 0 if `writer` is NULL.
///
/// # Safety
///
/// `writer` is NULL or a live writer not used by another thread during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_pending(writer: *const rha_journal_writer) -> usize {
    ffi_fn!(default(0), non_null(writer), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*writer }.writer.get_ref().unread().len()
    })
}

/// The sequence number the next appended record will get; 0 if `writer` is
/// NULL.
///
/// # Safety
///
/// `writer` is NULL or a live writer not used by another thread during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_next_seq(writer: *const rha_journal_writer) -> u64 {
    ffi_fn!(default(0), non_null(writer), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*writer }.writer.next_seq()
    })
}

/// Releases a writer, discarding records not yet drained (flush and drain
/// first to keep them). NULL does nothing.
///
/// # Safety
///
/// `writer` is NULL or a live writer, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_journal_writer_free(writer: *mut rha_journal_writer) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_journal_writer_build` and not used
        // again, by this function's contract.
        unsafe { crate::handle::free(writer) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_may_move_between_threads() {
        fn send<T: Send>() {}
        send::<rha_journal_writer_builder>();
        send::<rha_journal_writer>();
    }

    #[test]
    fn queue_hands_out_bytes_in_order_and_compacts() {
        let mut q = Queue::default();
        q.bytes.extend_from_slice(b"abcdefgh");
        q.consume(3);
        assert_eq!(q.unread(), b"defgh");
        q.consume(2);
        assert_eq!((q.unread(), q.head), (&b"fgh"[..], 0));
        q.consume(3);
        assert!(q.unread().is_empty());
        assert_eq!(q.bytes.len(), 0);
    }
}
