//! Result codes and owned error objects.

use std::ffi::{c_char, CString};

use rha_core::journal::{DecodeError, DecodeErrorKind, EncodeError, PathError, WriteError};
use rha_core::signature::block::{
    DeltaError, DeltaErrorKind, JobError, PatchError, SignatureError, SignatureErrorKind,
};

/// The outcome of a call.
///
/// `RHA_OK` is success. `RHA_BLOCKED` and `RHA_DONE` are progress statuses of
/// streaming calls, not errors. Every other value is an error; errors are
/// numbered in blocks of one hundred per family (100s: API usage, 200s: I/O,
/// 300s: journal, 400s: block signatures, deltas and patches (450s: tree
/// signatures and sync plans), 500s: spool, 600s: rewind and replicas, 700s:
/// high availability, 800s: replication sessions, 900s: agents, identities
/// and transport) and are never renumbered, so a caller may
/// test a family with `code / 100`. Callers must be prepared for codes added
/// in later versions; `rha_result_name` names them all.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum rha_result {
    /// Success.
    RHA_OK = 0,
    /// Progress status: the call needs more input, or more output room.
    RHA_BLOCKED = 1,
    /// Progress status: there is nothing more to produce.
    RHA_DONE = 2,
    /// A Rust panic was caught at the boundary: a bug in rha. The handle the
    /// call was given should be freed and not used further.
    RHA_PANIC = 100,
    /// A required pointer argument was NULL.
    RHA_NULL_PARAMETER = 101,
    /// An argument is out of range, or a record field is invalid (bad path,
    /// unknown operation, name too long, ...).
    RHA_INVALID_ARGUMENT = 102,
    /// The call is not valid now (for example the writer is unusable after an
    /// earlier I/O failure, or `rha_journal_reader_finish` was called while a
    /// complete record was still waiting to be read).
    RHA_INVALID_STATE = 103,
    /// `rha_log_set_callback` could not take rha's messages: the process
    /// already has a global `tracing` subscriber (a Rust host installed
    /// one), which receives them instead.
    RHA_LOG_SUBSCRIBER_EXISTS = 104,
    /// An I/O operation (or compression) failed.
    RHA_IO = 200,
    /// The journal is damaged: a checksum mismatch, an impossible structure,
    /// bad magic bytes, an invalid path inside a record, or a compressed batch
    /// that does not decompress. The error object carries the byte offset and
    /// the last good sequence number.
    RHA_JOURNAL_CORRUPT = 300,
    /// The journal is in a format version this library does not read.
    RHA_JOURNAL_UNSUPPORTED_VERSION = 301,
    /// A frame or record exceeds the configured maximum record size.
    RHA_JOURNAL_TOO_LARGE = 302,
    /// A sequence number skips ahead or goes backwards.
    RHA_JOURNAL_SEQUENCE = 303,
    /// A block signature is damaged: bad magic bytes, a checksum mismatch,
    /// an out-of-range header field, truncation or trailing bytes. The error
    /// object carries the byte offset.
    RHA_SIGNATURE_CORRUPT = 400,
    /// A block signature in a version or kind this library does not read
    /// (for example an rdiff signature with MD4 strong sums).
    RHA_SIGNATURE_UNSUPPORTED = 401,
    /// A block signature has more blocks than the configured bound.
    RHA_SIGNATURE_TOO_LARGE = 402,
    /// A file fed to a signature job is longer or shorter than declared.
    RHA_SIGNATURE_INPUT_LENGTH = 403,
    /// A delta is damaged: bad magic bytes, a checksum mismatch, an unknown
    /// command, a zero-length or overflowing command, an oversized literal,
    /// truncation or trailing bytes. The error object carries the byte offset.
    RHA_DELTA_CORRUPT = 410,
    /// A delta in a format version this library does not read.
    RHA_DELTA_UNSUPPORTED = 411,
    /// A delta copies from outside the basis.
    RHA_DELTA_OUT_OF_RANGE = 412,
    /// The patched output would exceed the configured maximum.
    RHA_PATCH_TOO_LARGE = 420,
    /// The patched output does not match the delta's whole-file hash: the
    /// basis is not the file the signature described. Discard the output
    /// and copy the whole file instead.
    RHA_PATCH_HASH_MISMATCH = 421,
    /// A delta applied in place copies data from one position to another
    /// (a rolling delta): in-place patching applies only deltas whose copies
    /// stay where they are (fixed-offset deltas). Patch into a new file
    /// instead. The error object carries the delta's byte offset.
    RHA_PATCH_NOT_IN_PLACE = 422,
    /// The delta names the basis it was made against (fixed-offset deltas
    /// do), and the basis or target given is another file (a different
    /// length or whole-file hash). Refused before anything was written or
    /// produced: the target is untouched.
    RHA_PATCH_WRONG_BASIS = 423,
    /// A tree signature is damaged: bad magic bytes, a checksum mismatch, an
    /// impossible entry, truncation. The error object carries the byte
    /// offset of the damaged structure (`rha_error_offset`).
    RHA_TREE_CORRUPT = 450,
    /// A tree signature is in a format version this library does not read.
    RHA_TREE_UNSUPPORTED_VERSION = 451,
    /// Tree entries are out of signature order, or an entry's parent
    /// directory does not precede it.
    RHA_TREE_ORDER = 452,
    /// An exclusion glob pattern does not parse.
    RHA_TREE_BAD_GLOB = 453,
    /// A scanned entry cannot be recorded in a signature (its path is too
    /// long).
    RHA_TREE_UNSUPPORTED_ENTRY = 454,
    /// The spool is full and the append was asked not to overflow (or its
    /// wait for room timed out); nothing was appended.
    RHA_SPOOL_FULL = 500,
    /// The spool overflowed under the stop policy: appends are refused until
    /// the scenario is resynchronised and the spool reset.
    RHA_SPOOL_STOPPED = 501,
    /// A spool file is damaged. The error object carries the byte offset in
    /// the file and the last good sequence number; the message names the file.
    RHA_SPOOL_CORRUPT = 502,
    /// An earlier write or sync failed: the spool refuses writes until it is
    /// closed and reopened.
    RHA_SPOOL_FAILED = 503,
    /// The sequence number acknowledged is not durable yet.
    RHA_SPOOL_NOT_DURABLE = 504,
    /// The read position was reclaimed after an acknowledgement.
    RHA_SPOOL_RECLAIMED = 505,
    /// The spool directory is locked by another process.
    RHA_SPOOL_LOCKED = 506,
    /// No bookmark has the name asked for.
    RHA_REWIND_UNKNOWN_BOOKMARK = 600,
    /// The point asked for was dropped by retention.
    RHA_REWIND_POINT_RETIRED = 601,
    /// No such point: after the current one, before every timed point, or
    /// the rewind log is empty.
    RHA_REWIND_NO_POINT = 602,
    /// There is no rewind to undo (none, or a record was applied since).
    RHA_REWIND_NOTHING_TO_UNDO = 603,
    /// The replica keeps no rewind log.
    RHA_REWIND_DISABLED = 604,
    /// Another handle or process holds the replica's lock.
    RHA_REPLICA_BUSY = 605,
    /// A record cannot be applied to the replica (a missing file, a path
    /// that would leave the root, ...); nothing was written for it.
    RHA_APPLY_FAILED = 606,
    /// The rewind log is damaged; the message names the file and offset.
    RHA_REWIND_LOG_CORRUPT = 607,
    /// A rewind stopped between two points; reopen the replica to finish it.
    RHA_REWIND_INTERRUPTED = 608,
    /// The journal does not continue the replica's sequence: a gap (the
    /// message names the expected and the received sequence number), or a
    /// journal that restarts numbering (another scenario or epoch, a
    /// resync): the replica must be resynchronised. What came before was
    /// applied; nothing from the offending record on.
    RHA_REPLICA_SEQUENCE_GAP = 609,
    /// A scenario refused a command in its current state; the message names
    /// the state and the reason, and the scenario is unchanged.
    RHA_HA_REFUSED = 700,
    /// A destructive scenario command came without its explicit
    /// confirmation; the scenario is unchanged.
    RHA_HA_CONFIRMATION_REQUIRED = 701,
    /// A scenario configuration is invalid (the message names the field or
    /// the redirection step and the rule).
    RHA_HA_INVALID_CONFIG = 702,
    /// Saved scenario state does not parse or contradicts itself.
    RHA_HA_STATE_CORRUPT = 703,
    /// Saved scenario state was written by a newer version of rha.
    RHA_HA_STATE_UNSUPPORTED_VERSION = 704,
    /// A session request came during the handshake or after the session
    /// closed.
    RHA_SESSION_NOT_CONNECTED = 800,
    /// A session request belongs to the other role (a replica sending
    /// journal, a master granting window, ...).
    RHA_SESSION_WRONG_ROLE = 801,
    /// Journal records offered out of order: the message names the next
    /// record expected.
    RHA_SESSION_OUT_OF_ORDER = 802,
    /// Journal frames exceed the largest message body (`max_body`): send
    /// fewer records at a time.
    RHA_SESSION_TOO_LARGE = 803,
    /// An acknowledgement that goes back, goes beyond the last record
    /// received, is of another epoch, or has "applied" pass "stored".
    RHA_SESSION_BAD_ACK = 804,
    /// An agent's state file (in its state directory, or a replica's
    /// `.rha`) is damaged or of another version; the message names it.
    RHA_AGENT_STATE_CORRUPT = 900,
    /// The agent's state directory (or replica) serves another scenario:
    /// another scenario name, or other peers' fingerprints.
    RHA_AGENT_OTHER_SCENARIO = 901,
    /// A running agent failed (its spool could not be written, or one of its
    /// threads stopped): stop it, fix the cause and start it again.
    RHA_AGENT_FAILED = 902,
    /// An identity directory lacks `key.pem` or `cert.pem` (make one with
    /// `rha_identity_generate` or `rha keygen DIR`).
    RHA_IDENTITY_MISSING = 910,
    /// An identity's files are not a PEM key and certificate that belong
    /// together, or an identity could not be generated.
    RHA_IDENTITY_INVALID = 911,
    /// The directory holds an identity already and overwriting was not
    /// asked for.
    RHA_IDENTITY_EXISTS = 912,
    /// A text is not a fingerprint (`sha256:` and 64 hexadecimal digits).
    RHA_TRANSPORT_BAD_FINGERPRINT = 920,
    /// The transport could not listen on the address given (in use, not
    /// local, does not resolve).
    RHA_TRANSPORT_LISTEN = 921,
}

/// An `rha_result` as the C side passes it in: any 32-bit value, including
/// codes this version does not know (which would be undefined behaviour in
/// the Rust enum). The header calls this type `rha_result`.
pub type rha_result_raw = u32;

// The C enum and the raw code are passed the same way.
const _: () = assert!(std::mem::size_of::<rha_result>() == std::mem::size_of::<rha_result_raw>());

closed_set!(rha_result {
    RHA_OK,
    RHA_BLOCKED,
    RHA_DONE,
    RHA_PANIC,
    RHA_NULL_PARAMETER,
    RHA_INVALID_ARGUMENT,
    RHA_INVALID_STATE,
    RHA_LOG_SUBSCRIBER_EXISTS,
    RHA_IO,
    RHA_JOURNAL_CORRUPT,
    RHA_JOURNAL_UNSUPPORTED_VERSION,
    RHA_JOURNAL_TOO_LARGE,
    RHA_JOURNAL_SEQUENCE,
    RHA_SIGNATURE_CORRUPT,
    RHA_SIGNATURE_UNSUPPORTED,
    RHA_SIGNATURE_TOO_LARGE,
    RHA_SIGNATURE_INPUT_LENGTH,
    RHA_DELTA_CORRUPT,
    RHA_DELTA_UNSUPPORTED,
    RHA_DELTA_OUT_OF_RANGE,
    RHA_PATCH_TOO_LARGE,
    RHA_PATCH_HASH_MISMATCH,
    RHA_PATCH_NOT_IN_PLACE,
    RHA_PATCH_WRONG_BASIS,
    RHA_TREE_CORRUPT,
    RHA_TREE_UNSUPPORTED_VERSION,
    RHA_TREE_ORDER,
    RHA_TREE_BAD_GLOB,
    RHA_TREE_UNSUPPORTED_ENTRY,
    RHA_SPOOL_FULL,
    RHA_SPOOL_STOPPED,
    RHA_SPOOL_CORRUPT,
    RHA_SPOOL_FAILED,
    RHA_SPOOL_NOT_DURABLE,
    RHA_SPOOL_RECLAIMED,
    RHA_SPOOL_LOCKED,
    RHA_REWIND_UNKNOWN_BOOKMARK,
    RHA_REWIND_POINT_RETIRED,
    RHA_REWIND_NO_POINT,
    RHA_REWIND_NOTHING_TO_UNDO,
    RHA_REWIND_DISABLED,
    RHA_REPLICA_BUSY,
    RHA_APPLY_FAILED,
    RHA_REWIND_LOG_CORRUPT,
    RHA_REWIND_INTERRUPTED,
    RHA_REPLICA_SEQUENCE_GAP,
    RHA_HA_REFUSED,
    RHA_HA_CONFIRMATION_REQUIRED,
    RHA_HA_INVALID_CONFIG,
    RHA_HA_STATE_CORRUPT,
    RHA_HA_STATE_UNSUPPORTED_VERSION,
    RHA_SESSION_NOT_CONNECTED,
    RHA_SESSION_WRONG_ROLE,
    RHA_SESSION_OUT_OF_ORDER,
    RHA_SESSION_TOO_LARGE,
    RHA_SESSION_BAD_ACK,
    RHA_AGENT_STATE_CORRUPT,
    RHA_AGENT_OTHER_SCENARIO,
    RHA_AGENT_FAILED,
    RHA_IDENTITY_MISSING,
    RHA_IDENTITY_INVALID,
    RHA_IDENTITY_EXISTS,
    RHA_TRANSPORT_BAD_FINGERPRINT,
    RHA_TRANSPORT_LISTEN,
});

/// A detailed error: a code, a message and, for journal decoding errors, the
/// position of the damage.
///
/// Ownership: made by a failing call that was given a non-NULL `error_out`,
/// owned by the caller, released with `rha_error_free`. Immutable once made,
/// so it may be read from several threads at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct rha_error {
    code: rha_result,
    message: CString,
    offset: Option<u64>,
    last_seq: Option<u64>,
    /// The operating system's error number behind an `RHA_IO` error.
    os_code: Option<i32>,
}

/// The operating system's error number in `e` or the errors it wraps
/// (`errno`), if there is one.
pub(crate) fn os_code_of(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let io = err.downcast_ref::<std::io::Error>().or_else(|| {
            err.downcast_ref::<std::sync::Arc<std::io::Error>>()
                .map(|a| &**a)
        });
        if let Some(code) = io.and_then(std::io::Error::raw_os_error) {
            return Some(code);
        }
        cur = err.source();
    }
    None
}

impl rha_error {
    /// An error with `code` and `message` (lowercase, with context).
    pub(crate) fn new(code: rha_result, message: impl Into<String>) -> Self {
        let message = message.into();
        // A NUL byte would end the C string early; show it instead.
        let message = if message.contains('\0') {
            message.replace('\0', "\\0")
        } else {
            message
        };
        Self {
            code,
            message: CString::new(message).unwrap_or_default(),
            offset: None,
            last_seq: None,
            os_code: None,
        }
    }

    /// Attaches the operating system's error number `os` (from
    /// [`os_code_of`]) to an `RHA_IO` error; other codes keep none.
    pub(crate) fn with_os_code(mut self, os: Option<i32>) -> Self {
        if self.code == rha_result::RHA_IO {
            self.os_code = os;
        }
        self
    }

    /// `RHA_NULL_PARAMETER` for the parameter called `name`.
    pub(crate) fn null_parameter(name: &str) -> Self {
        Self::new(
            rha_result::RHA_NULL_PARAMETER,
            format!("argument `{name}` is NULL"),
        )
    }

    /// `RHA_INVALID_ARGUMENT` with `message`.
    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(rha_result::RHA_INVALID_ARGUMENT, message)
    }

    /// `RHA_INVALID_ARGUMENT` for a record field holding an invalid path.
    pub(crate) fn invalid_path(field: &str, e: PathError) -> Self {
        Self::invalid_argument(format!("record field `{field}`: {e}"))
    }

    /// The same error, naming byte `offset` of the input.
    pub(crate) fn with_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Attaches the position of damage (a byte offset and the last good
    /// sequence number).
    pub(crate) fn at(mut self, offset: u64, last_seq: Option<u64>) -> Self {
        self.offset = Some(offset);
        self.last_seq = last_seq;
        self
    }

    /// The code.
    pub(crate) fn code(&self) -> rha_result {
        self.code
    }

    /// The byte offset the error names, if any.
    pub(crate) fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// The message.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        self.message.to_str().unwrap_or("<not UTF-8>")
    }
}

impl From<DecodeError> for rha_error {
    fn from(e: DecodeError) -> Self {
        let code = match e.kind {
            DecodeErrorKind::UnsupportedVersion(_) => rha_result::RHA_JOURNAL_UNSUPPORTED_VERSION,
            DecodeErrorKind::TooLarge { .. } => rha_result::RHA_JOURNAL_TOO_LARGE,
            DecodeErrorKind::SequenceGap { .. }
            | DecodeErrorKind::SequenceRegression { .. }
            | DecodeErrorKind::SequenceOverflow { .. } => rha_result::RHA_JOURNAL_SEQUENCE,
            DecodeErrorKind::Undrained => rha_result::RHA_INVALID_STATE,
            // Bad magic, checksums, impossible structure, bad paths,
            // decompression failures, and any kind added later.
            _ => rha_result::RHA_JOURNAL_CORRUPT,
        };
        Self {
            offset: Some(e.offset),
            last_seq: e.last_good_seq,
            ..Self::new(code, e.to_string())
        }
    }
}

impl From<EncodeError> for rha_error {
    fn from(e: EncodeError) -> Self {
        let code = match e {
            EncodeError::TooLarge { .. } => rha_result::RHA_JOURNAL_TOO_LARGE,
            EncodeError::Sequence { .. } | EncodeError::SequenceExhausted => {
                rha_result::RHA_JOURNAL_SEQUENCE
            }
            _ => rha_result::RHA_INVALID_ARGUMENT,
        };
        Self::new(code, e.to_string())
    }
}

impl From<WriteError> for rha_error {
    fn from(e: WriteError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            match e {
                WriteError::Encode(e) => e.into(),
                WriteError::Poisoned => Self::new(rha_result::RHA_INVALID_STATE, e.to_string()),
                // Io, Compress, and any kind added later: the writer's medium failed.
                _ => Self::new(rha_result::RHA_IO, e.to_string()),
            }
        };
        out.with_os_code(os)
    }
}

impl From<SignatureError> for rha_error {
    fn from(e: SignatureError) -> Self {
        let code = match e.kind {
            SignatureErrorKind::UnsupportedVersion(_) | SignatureErrorKind::UnsupportedRdiff(_) => {
                rha_result::RHA_SIGNATURE_UNSUPPORTED
            }
            SignatureErrorKind::TooLarge { .. } => rha_result::RHA_SIGNATURE_TOO_LARGE,
            _ => rha_result::RHA_SIGNATURE_CORRUPT,
        };
        Self {
            offset: Some(e.offset),
            ..Self::new(code, e.to_string())
        }
    }
}

impl From<DeltaError> for rha_error {
    fn from(e: DeltaError) -> Self {
        let code = match e.kind {
            DeltaErrorKind::UnsupportedVersion(_) => rha_result::RHA_DELTA_UNSUPPORTED,
            _ => rha_result::RHA_DELTA_CORRUPT,
        };
        Self {
            offset: Some(e.offset),
            ..Self::new(code, e.to_string())
        }
    }
}

impl From<PatchError> for rha_error {
    fn from(e: PatchError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let code = match &e {
                PatchError::Delta(d) => return d.clone().into(),
                PatchError::CopyOutOfRange { offset, .. } => {
                    return Self {
                        offset: Some(*offset),
                        ..Self::new(rha_result::RHA_DELTA_OUT_OF_RANGE, e.to_string())
                    }
                }
                PatchError::OutputTooLarge { .. } => rha_result::RHA_PATCH_TOO_LARGE,
                PatchError::HashMismatch { .. } => rha_result::RHA_PATCH_HASH_MISMATCH,
                PatchError::WrongBasis { .. } => rha_result::RHA_PATCH_WRONG_BASIS,
                PatchError::Finished => rha_result::RHA_INVALID_STATE,
                PatchError::NotInPlace { offset, .. } => {
                    return Self {
                        offset: Some(*offset),
                        ..Self::new(rha_result::RHA_PATCH_NOT_IN_PLACE, e.to_string())
                    }
                }
                // Basis or target I/O, and any kind added later.
                _ => rha_result::RHA_IO,
            };
            Self::new(code, e.to_string())
        };
        out.with_os_code(os)
    }
}

impl From<JobError> for rha_error {
    fn from(e: JobError) -> Self {
        let code = match e {
            JobError::InputLength { .. } => rha_result::RHA_SIGNATURE_INPUT_LENGTH,
            JobError::AfterEnd => rha_result::RHA_INVALID_STATE,
            _ => rha_result::RHA_INVALID_ARGUMENT,
        };
        Self::new(code, e.to_string())
    }
}

/// The name of a result code, such as `"RHA_OK"`.
///
/// Returns a static NUL-terminated string (never NULL, never to be freed);
/// `"RHA_UNKNOWN"` for a value that is not a code of this version.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn rha_result_name(code: rha_result_raw) -> *const c_char {
    ffi_fn!(default(c"RHA_UNKNOWN".as_ptr()), non_null(), {
        rha_result::from_raw(code)
            .map_or(c"RHA_UNKNOWN", rha_result::name)
            .as_ptr()
    })
}

/// The code of an error.
///
/// `error` may be NULL, which gives `RHA_NULL_PARAMETER`. Thread-safe for
/// concurrent reads.
///
/// # Safety
///
/// `error` is NULL or an error object made by this library and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn rha_error_code(error: *const rha_error) -> rha_result {
    ffi_fn!(default(rha_result::RHA_NULL_PARAMETER), non_null(error), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*error }.code
    })
}

/// The message of an error: lowercase English with context (byte offset,
/// sequence number, field name, ...), for logs and people, not for parsing.
///
/// Returns a NUL-terminated string owned by `error`: valid until
/// `rha_error_free(error)`; never NULL. `error` may be NULL, which gives a
/// static empty string. Thread-safe for concurrent reads.
///
/// # Safety
///
/// `error` is NULL or an error object made by this library and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn rha_error_message(error: *const rha_error) -> *const c_char {
    ffi_fn!(default(c"".as_ptr()), non_null(error), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*error }.message.as_ptr()
    })
}

/// The stream byte offset a journal decoding error refers to (where the
/// damaged frame or stream header starts).
///
/// Returns `true` and stores the offset in `*offset_out` if the error has
/// one; returns `false`, leaving `*offset_out` untouched, if it has none or
/// if `error` or `offset_out` is NULL. Thread-safe for concurrent reads.
///
/// # Safety
///
/// `error` is NULL or an error object made by this library and not yet freed;
/// `offset_out` is NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn rha_error_offset(error: *const rha_error, offset_out: *mut u64) -> bool {
    ffi_fn!(default(false), non_null(error, offset_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let error = unsafe { &*error };
        error
            .offset
            .map(|offset| {
                // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
                unsafe { offset_out.write(offset) }
            })
            .is_some()
    })
}

/// The sequence number of the last record that decoded cleanly before a
/// journal decoding error.
///
/// Returns `true` and stores it in `*seq_out` if there is one; returns
/// `false`, leaving `*seq_out` untouched, if no record decoded before the
/// error, if the error is not a decoding error, or if `error` or `seq_out` is
/// NULL. Thread-safe for concurrent reads.
///
/// # Safety
///
/// `error` is NULL or an error object made by this library and not yet freed;
/// `seq_out` is NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn rha_error_last_seq(error: *const rha_error, seq_out: *mut u64) -> bool {
    ffi_fn!(default(false), non_null(error, seq_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let error = unsafe { &*error };
        error
            .last_seq
            .map(|seq| {
                // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
                unsafe { seq_out.write(seq) }
            })
            .is_some()
    })
}

/// The operating system's error number (`errno`) behind an `RHA_IO`
/// error, when there is one: stores it in `*code_out` and returns true.
/// Returns false (and leaves `*code_out` as it was) for other codes, for an
/// I/O error that carries no such number (an early end of input, say),
/// and if `error` or `code_out` is NULL.
///
/// # Safety
///
/// `error` is NULL or a live error; `code_out` is NULL or valid for
/// writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn rha_error_os_code(error: *const rha_error, code_out: *mut i32) -> bool {
    ffi_fn!(default(false), non_null(error, code_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let error = unsafe { &*error };
        error
            .os_code
            .map(|code| {
                // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
                unsafe { code_out.write(code) }
            })
            .is_some()
    })
}

/// Releases an error object and its message. NULL does nothing.
///
/// # Safety
///
/// `error` is NULL or an error object made by this library, not yet freed,
/// and not used again after this call (nor its message).
#[no_mangle]
pub unsafe extern "C" fn rha_error_free(error: *mut rha_error) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `report` and not used again, by this
        // function's contract.
        unsafe { crate::handle::free(error) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rha_core::journal::{Decoder, DecoderConfig};
    use std::ffi::CStr;

    #[test]
    fn every_code_has_its_name_and_unknown_codes_have_none() {
        for &code in rha_result::ALL {
            assert_eq!(rha_result::from_raw(code as rha_result_raw), Some(code));
            assert_eq!(
                code.name().to_str().ok(),
                Some(format!("{code:?}").as_str())
            );
            // SAFETY: a static NUL-terminated string.
            let exported = unsafe { CStr::from_ptr(rha_result_name(code as u32)) };
            assert_eq!(exported, code.name());
        }
        for raw in [
            3,
            99,
            105,
            201,
            304,
            404,
            449,
            507,
            610,
            705,
            805,
            903,
            913,
            922,
            u32::MAX,
        ] {
            assert_eq!(rha_result::from_raw(raw), None);
        }
        assert_eq!(
            // SAFETY: a static NUL-terminated string.
            unsafe { CStr::from_ptr(rha_result_name(12345)) },
            c"RHA_UNKNOWN"
        );
    }

    #[test]
    fn codes_keep_their_numbers_in_numeric_order() {
        let numbers: Vec<u32> = rha_result::ALL.iter().map(|&c| c as u32).collect();
        assert_eq!(
            numbers,
            [
                0, 1, 2, 100, 101, 102, 103, 104, 200, 300, 301, 302, 303, 400, 401, 402, 403, 410,
                411, 412, 420, 421, 422, 423, 450, 451, 452, 453, 454, 500, 501, 502, 503, 504,
                505, 506, 600, 601, 602, 603, 604, 605, 606, 607, 608, 609, 700, 701, 702, 703,
                704, 800, 801, 802, 803, 804, 900, 901, 902, 910, 911, 912, 920, 921
            ]
        );
    }

    fn decode_error(bytes: &[u8], config: DecoderConfig) -> DecodeError {
        let mut d = Decoder::new(config);
        d.feed(bytes);
        loop {
            match d.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error"),
                Err(e) => return e,
            }
        }
    }

    fn journal(first_seq: u64, n: u64) -> Vec<u8> {
        use rha_core::journal::{JournalWriter, Op, WriterConfig};
        let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(first_seq));
        for txid in 0..n {
            w.append(txid, &Op::TxBegin { txid }).expect("valid op");
        }
        w.into_inner().expect("Vec sink")
    }

    #[test]
    fn decode_errors_map_to_journal_codes_with_position() {
        let good = journal(1, 3);

        // Stream header (16 bytes), then 40-byte frames: flip a body bit of
        // the second one.
        let mut bad = good.clone();
        bad[16 + 40 + 32 + 2] ^= 0x10;
        let e = rha_error::from(decode_error(&bad, DecoderConfig::default()));
        assert_eq!(e.code(), rha_result::RHA_JOURNAL_CORRUPT);
        assert_eq!((e.offset, e.last_seq), (Some(56), Some(1)));
        assert!(e.message().contains("checksum"), "{}", e.message());

        let e = decode_error(&good, DecoderConfig::default().first_seq(Some(7)));
        let e = rha_error::from(e);
        assert_eq!(e.code(), rha_result::RHA_JOURNAL_SEQUENCE);
        assert_eq!((e.offset, e.last_seq), (Some(16), None));

        let e = decode_error(&good, DecoderConfig::default().max_record_size(4));
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_JOURNAL_TOO_LARGE);

        let e = decode_error(b"not a journal at all", DecoderConfig::default());
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_JOURNAL_CORRUPT);
    }

    #[test]
    fn undrained_finish_is_invalid_state() {
        let mut d = Decoder::new(DecoderConfig::default());
        d.feed(&journal(1, 2));
        let e = d.finish().expect_err("records are still buffered");
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_INVALID_STATE);
    }

    #[test]
    fn encode_errors_map_to_argument_and_size_codes() {
        let e = EncodeError::InvalidField {
            seq: 3,
            field: "xattr name",
            reason: "is empty",
        };
        let e = rha_error::from(WriteError::from(e));
        assert_eq!(e.code(), rha_result::RHA_INVALID_ARGUMENT);
        assert_eq!(e.message(), "record seq 3: xattr name is empty");
        let e = EncodeError::TooLarge {
            seq: 1,
            size: 9,
            max: 8,
        };
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_JOURNAL_TOO_LARGE);
        assert_eq!(
            rha_error::from(WriteError::Poisoned).code(),
            rha_result::RHA_INVALID_STATE
        );
        let io = std::io::Error::other("disk on fire");
        let e = rha_error::from(WriteError::Io(io));
        assert_eq!(e.code(), rha_result::RHA_IO);
        assert!(e.message().contains("disk on fire"));
    }

    #[test]
    fn messages_with_nul_survive() {
        let e = rha_error::new(rha_result::RHA_IO, "a\0b");
        assert_eq!(e.message(), "a\\0b");
        assert_eq!(e.offset, None);
    }
}
