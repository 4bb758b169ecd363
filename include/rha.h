/*
 * rha.h: the C API of rha, an embeddable replication and high-availability
 * engine: journals (rha_journal_*), the spool (rha_spool_*), block
 * signatures, deltas and patches (rha_signature_*, rha_delta_*, rha_patch_*,
 * rha_fixed_*, rha_in_place_patch_job_*), tree signatures and sync plans
 * (rha_tree_*, rha_plan_*), applying journals to a replica with rewind
 * (rha_replica_*), the scenario state machine (rha_ha_*), the sans-IO
 * replication session over a transport of the caller's (rha_session_*) and
 * the ready agents over rha's TLS transport (rha_master_agent_*,
 * rha_replica_agent_*) with their node identities (rha_identity_*).
 *
 * Library: librha.so.0 (functions versioned RHA_0.1 and later) or librha.a,
 * which export nothing but rha_*; `pkg-config --cflags --libs rha` (add
 * --static for librha.a).
 * License: Apache-2.0.
 *
 * Conventions (they apply to every declaration below):
 *
 * - Handles (rha_journal_writer, rha_spool, rha_replica, rha_ha_scenario,
 *   rha_session, the agents, the jobs, their builders, rha_error, ...) are opaque and owned by the
 *   caller from the call that made them until the matching _free call.
 *   _free(NULL) does nothing. A builder is consumed by its _build call,
 *   even when that call fails.
 * - Names: every function is rha_<type>_<verb>. A handle rha_x comes from
 *   rha_x_new (made from arguments or bytes in memory; rha_x_new_<source>
 *   where there are several sources), rha_x_open (only for what lives on
 *   disk and is opened there, such as a replica) or rha_x_build(builder)
 *   (from an rha_x_builder, which it consumes), and goes with rha_x_free;
 *   an agent, which runs threads of its own, comes from rha_x_start and
 *   ends with rha_x_stop (which consumes it and reports) or rha_x_free.
 *   A function whose name or signature broke these rules stays exported
 *   under its old form, marked RHA_DEPRECATED (a compiler warning naming
 *   the replacement), until the next incompatible release.
 * - Booleans are `bool` (stdbool.h; C99 is the header's baseline), in
 *   parameters, results and the fields rha fills; a closed set of two
 *   values that has a name (rha_ha_side) is that set, not a bool. The one
 *   exception is a flag of a struct the caller fills for rha to read,
 *   rha_record.app_consistent: a uint8_t, 0 or 1, checked like a closed
 *   set, since a struct filled by memset or memcpy may hold any byte there.
 * - Strings and bytes in: a path of the host's file system (a replica
 *   root, a spool or signature file, a glob over such paths) is a
 *   NUL-terminated `const char *`, any bytes but NUL, passed to the system
 *   as they are. Everything else (names, addresses, commands, JSON, paths
 *   inside records, signatures, journal bytes) is a pointer and a length,
 *   `const uint8_t *x, size_t x_len`, NULL allowed when the length is 0;
 *   where the documentation says UTF-8 it is checked. Out: text rha owns
 *   (names of codes and states, error messages, bookmark names) is a
 *   NUL-terminated `const char *`; bytes are an rha_bytes view; each says
 *   how long it stays valid.
 * - Every fallible function returns an rha_result: RHA_OK, the progress
 *   statuses RHA_BLOCKED and RHA_DONE, or an error numbered in families
 *   never renumbered (1xx usage, 2xx I/O, 3xx journal, 4xx signatures,
 *   deltas and tree signatures, 5xx spool, 6xx rewind and apply, 7xx high
 *   availability, 8xx replication sessions, 9xx agents, identities and
 *   transport). It takes as its last parameter
 *   `rha_error **error_out`.
 * - Statuses mean the same in every function. RHA_BLOCKED: the call cannot
 *   go on without the caller: it needs more input, or more output room (an
 *   output buffer was filled and more is to come). RHA_DONE: there is
 *   nothing more to produce (the stream has ended; for a _poll_ call, the
 *   queue is empty until a later call adds to it). RHA_OK: the call did
 *   what it was asked (a _next or _poll_ call produced one item,
 *   rha_journal_writer_drain emptied its queue). An index out of range (not
 *   below the matching _count) is RHA_INVALID_ARGUMENT everywhere.
 * - The error slot: error_out may be NULL (no details wanted). If it is
 *   not, *error_out must be NULL on entry (GLib's GError rule): a failing
 *   call stores a new error object there, which the caller releases with
 *   rha_error_free (and sets back to NULL before reusing the variable); a
 *   successful call (RHA_OK, RHA_BLOCKED, RHA_DONE) leaves it untouched.
 *   If *error_out still holds an earlier error, a failing call keeps that
 *   one and drops its own, so nothing leaks and nothing is freed twice;
 *   the returned code is always the call's own. (So one variable may also
 *   collect the first error of a sequence of calls.) error_out is read as
 *   well as written: it must point to an initialised rha_error *. There is
 *   no thread-local "last error".
 * - Parameters come in the order: handle, inputs, outputs, error_out. A
 *   required pointer that is NULL gives RHA_NULL_PARAMETER.
 * - Outputs: a handle output (a T ** such as job_out, sig_out, spool_out,
 *   reader_out) holds NULL after any failure, whatever it held before, and
 *   the new handle after success; freeing it after a failed call is a
 *   no-op, never a second free of a stale handle. Every other output (a
 *   struct, a number, a view) is written only on success.
 * - Structs with a size field: every struct the caller allocates, whether
 *   it fills it (rha_record, rha_spool_append_options, rha_ha_command, ...)
 *   or rha does (rha_spool_usage, rha_apply_report, rha_ha_action, ...),
 *   except the frozen views rha_bytes, rha_in_buffer, rha_out_buffer,
 *   rha_spool_range and rha_fixed_range, and the frozen values
 *   rha_session_point and rha_session_generations. Its first field is
 *   `uint32_t struct_size`, which the caller sets to sizeof the struct
 *   before passing it, through the struct's _init function where it has
 *   one (rha_record_init, rha_spool_append_options_init) or directly (for
 *   example `rha_spool_usage u = {.struct_size = sizeof u};`); a struct
 *   rha fills keeps its struct_size. rha accepts the size
 *   of every released version of the struct, an older caller's smaller one
 *   included, and reads or writes only that many bytes; any other size
 *   fails with RHA_INVALID_ARGUMENT before the call does anything. Later
 *   versions add fields only at the end. Other structs are frozen.
 * - Closed sets (operations, kinds, modes, formats, flag bits) are named C
 *   enums, which document the values; a parameter or struct field holding
 *   one is a uint32_t (its documentation names the enum), never the enum
 *   type itself, so any value a caller passes is defined behaviour. rha
 *   checks it on entry: a value outside the set, or a flag bit outside
 *   the enum, fails with RHA_INVALID_ARGUMENT (a function without a result
 *   returns its documented default). Values are never renumbered; later
 *   versions may add values, so a caller reading one should expect values
 *   it does not know. rha_result is the one enum type functions return.
 * - A panic inside rha never unwinds into the caller: the call returns
 *   RHA_PANIC (or the documented default of a function without a result),
 *   with the panic's message and location in the error object. Nothing is
 *   printed to stderr: the first call installs a process-wide Rust panic
 *   hook that records a panic on a thread inside an rha call, and hands any
 *   other panic (a Rust host's own) to the hook installed before it.
 * - Threads: a handle may be used by one thread at a time and may move
 *   between threads; distinct handles are independent. Functions without a
 *   handle are thread-safe.
 * - Borrowed views (rha_bytes, returned strings) say how long they stay
 *   valid; buffers passed in are read or written only during the call.
 * - Logging: rha prints nothing. Its diagnostics (warnings such as a torn
 *   spool tail truncated or a spool near its limit, what each operation
 *   did, caught panics) reach a callback registered with
 *   rha_log_set_callback, with a level, a target and a message; the
 *   callback may be called from any rha thread at once and its strings
 *   are valid only during the call.
 */


#ifndef RHA_H
#define RHA_H

/* Generated with cbindgen:0.29.4 */

/* Generated by cbindgen from the rha-ffi crate; do not edit. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__GNUC__) || defined(__clang__)
#define RHA_DEPRECATED(note) __attribute__((deprecated(note)))
#elif defined(_MSC_VER)
#define RHA_DEPRECATED(note) __declspec(deprecated(note))
#else
#define RHA_DEPRECATED(note)
#endif


/**
 * Major version of the library this header was generated for.
 */
#define RHA_VERSION_MAJOR 0

/**
 * Minor version of the library this header was generated for.
 */
#define RHA_VERSION_MINOR 1

/**
 * Patch version of the library this header was generated for.
 */
#define RHA_VERSION_PATCH 0

/**
 * The header's version as one number: major * 10000 + minor * 100 + patch.
 * Compare it with `rha_version_number()` to detect a header/library mismatch.
 */
#define RHA_VERSION_NUMBER (((RHA_VERSION_MAJOR * 10000) + (RHA_VERSION_MINOR * 100)) + RHA_VERSION_PATCH)

/**
 * Bytes of a sync records message's body besides its frames
 * (`rha_session_max_body`).
 */
#define RHA_SESSION_SYNC_RECORDS_FIELDS 9

/**
 * Bytes of a sync reply tree piece's body besides its data
 * (`rha_session_max_body`).
 */
#define RHA_SESSION_SYNC_TREE_FIELDS 10

/**
 * Bytes of a sync reply blocks piece's body besides its hashes
 * (`rha_session_max_body`).
 */
#define RHA_SESSION_SYNC_BLOCKS_FIELDS 18

/**
 * The `end` of a range that reaches the end of its file or volume (for a
 * file, its existence, length or attributes may have changed too):
 * `UINT64_MAX`, written out so that header parsers without the C library's
 * macros read it too.
 */
#define RHA_SPOOL_RANGE_TO_END 18446744073709551615ull

/**
 * Bytes a fingerprint's text takes with its terminating NUL: `sha256:`,
 * 64 lowercase hexadecimal digits and the NUL. A buffer of this size
 * holds any fingerprint rha writes.
 */
#define RHA_FINGERPRINT_SIZE 72

/**
 * The outcome of a call.
 *
 * `RHA_OK` is success. `RHA_BLOCKED` and `RHA_DONE` are progress statuses of
 * streaming calls, not errors. Every other value is an error; errors are
 * numbered in blocks of one hundred per family (100s: API usage, 200s: I/O,
 * 300s: journal, 400s: block signatures, deltas and patches (450s: tree
 * signatures and sync plans), 500s: spool, 600s: rewind and replicas, 700s:
 * high availability, 800s: replication sessions, 900s: agents, identities
 * and transport) and are never renumbered, so a caller may
 * test a family with `code / 100`. Callers must be prepared for codes added
 * in later versions; `rha_result_name` names them all.
 */
typedef enum rha_result {
    /**
     * Success.
     */
    RHA_OK = 0,
    /**
     * Progress status: the call needs more input, or more output room.
     */
    RHA_BLOCKED = 1,
    /**
     * Progress status: there is nothing more to produce.
     */
    RHA_DONE = 2,
    /**
     * A Rust panic was caught at the boundary: a bug in rha. The handle the
     * call was given should be freed and not used further.
     */
    RHA_PANIC = 100,
    /**
     * A required pointer argument was NULL.
     */
    RHA_NULL_PARAMETER = 101,
    /**
     * An argument is out of range, or a record field is invalid (bad path,
     * unknown operation, name too long, ...).
     */
    RHA_INVALID_ARGUMENT = 102,
    /**
     * The call is not valid now (for example the writer is unusable after an
     * earlier I/O failure, or `rha_journal_reader_finish` was called while a
     * complete record was still waiting to be read).
     */
    RHA_INVALID_STATE = 103,
    /**
     * `rha_log_set_callback` could not take rha's messages: the process
     * already has a global `tracing` subscriber (a Rust host installed
     * one), which receives them instead.
     */
    RHA_LOG_SUBSCRIBER_EXISTS = 104,
    /**
     * An I/O operation (or compression) failed.
     */
    RHA_IO = 200,
    /**
     * The journal is damaged: a checksum mismatch, an impossible structure,
     * bad magic bytes, an invalid path inside a record, or a compressed batch
     * that does not decompress. The error object carries the byte offset and
     * the last good sequence number.
     */
    RHA_JOURNAL_CORRUPT = 300,
    /**
     * The journal is in a format version this library does not read.
     */
    RHA_JOURNAL_UNSUPPORTED_VERSION = 301,
    /**
     * A frame or record exceeds the configured maximum record size.
     */
    RHA_JOURNAL_TOO_LARGE = 302,
    /**
     * A sequence number skips ahead or goes backwards.
     */
    RHA_JOURNAL_SEQUENCE = 303,
    /**
     * A block signature is damaged: bad magic bytes, a checksum mismatch,
     * an out-of-range header field, truncation or trailing bytes. The error
     * object carries the byte offset.
     */
    RHA_SIGNATURE_CORRUPT = 400,
    /**
     * A block signature in a version or kind this library does not read
     * (for example an rdiff signature with MD4 strong sums).
     */
    RHA_SIGNATURE_UNSUPPORTED = 401,
    /**
     * A block signature has more blocks than the configured bound.
     */
    RHA_SIGNATURE_TOO_LARGE = 402,
    /**
     * A file fed to a signature job is longer or shorter than declared.
     */
    RHA_SIGNATURE_INPUT_LENGTH = 403,
    /**
     * A delta is damaged: bad magic bytes, a checksum mismatch, an unknown
     * command, a zero-length or overflowing command, an oversized literal,
     * truncation or trailing bytes. The error object carries the byte offset.
     */
    RHA_DELTA_CORRUPT = 410,
    /**
     * A delta in a format version this library does not read.
     */
    RHA_DELTA_UNSUPPORTED = 411,
    /**
     * A delta copies from outside the basis.
     */
    RHA_DELTA_OUT_OF_RANGE = 412,
    /**
     * The patched output would exceed the configured maximum.
     */
    RHA_PATCH_TOO_LARGE = 420,
    /**
     * The patched output does not match the delta's whole-file hash: the
     * basis is not the file the signature described. Discard the output
     * and copy the whole file instead.
     */
    RHA_PATCH_HASH_MISMATCH = 421,
    /**
     * A delta applied in place copies data from one position to another
     * (a rolling delta): in-place patching applies only deltas whose copies
     * stay where they are (fixed-offset deltas). Patch into a new file
     * instead. The error object carries the delta's byte offset.
     */
    RHA_PATCH_NOT_IN_PLACE = 422,
    /**
     * The delta names the basis it was made against (fixed-offset deltas
     * do), and the basis or target given is another file (a different
     * length or whole-file hash). Refused before anything was written or
     * produced: the target is untouched.
     */
    RHA_PATCH_WRONG_BASIS = 423,
    /**
     * A tree signature is damaged: bad magic bytes, a checksum mismatch, an
     * impossible entry, truncation. The error object carries the byte
     * offset of the damaged structure (`rha_error_offset`).
     */
    RHA_TREE_CORRUPT = 450,
    /**
     * A tree signature is in a format version this library does not read.
     */
    RHA_TREE_UNSUPPORTED_VERSION = 451,
    /**
     * Tree entries are out of signature order, or an entry's parent
     * directory does not precede it.
     */
    RHA_TREE_ORDER = 452,
    /**
     * An exclusion glob pattern does not parse.
     */
    RHA_TREE_BAD_GLOB = 453,
    /**
     * A scanned entry cannot be recorded in a signature (its path is too
     * long).
     */
    RHA_TREE_UNSUPPORTED_ENTRY = 454,
    /**
     * The spool is full and the append was asked not to overflow (or its
     * wait for room timed out); nothing was appended.
     */
    RHA_SPOOL_FULL = 500,
    /**
     * The spool overflowed under the stop policy: appends are refused until
     * the scenario is resynchronised and the spool reset.
     */
    RHA_SPOOL_STOPPED = 501,
    /**
     * A spool file is damaged. The error object carries the byte offset in
     * the file and the last good sequence number; the message names the file.
     */
    RHA_SPOOL_CORRUPT = 502,
    /**
     * An earlier write or sync failed: the spool refuses writes until it is
     * closed and reopened.
     */
    RHA_SPOOL_FAILED = 503,
    /**
     * The sequence number acknowledged is not durable yet.
     */
    RHA_SPOOL_NOT_DURABLE = 504,
    /**
     * The read position was reclaimed after an acknowledgement.
     */
    RHA_SPOOL_RECLAIMED = 505,
    /**
     * The spool directory is locked by another process.
     */
    RHA_SPOOL_LOCKED = 506,
    /**
     * No bookmark has the name asked for.
     */
    RHA_REWIND_UNKNOWN_BOOKMARK = 600,
    /**
     * The point asked for was dropped by retention.
     */
    RHA_REWIND_POINT_RETIRED = 601,
    /**
     * No such point: after the current one, before every timed point, or
     * the rewind log is empty.
     */
    RHA_REWIND_NO_POINT = 602,
    /**
     * There is no rewind to undo (none, or a record was applied since).
     */
    RHA_REWIND_NOTHING_TO_UNDO = 603,
    /**
     * The replica keeps no rewind log.
     */
    RHA_REWIND_DISABLED = 604,
    /**
     * Another handle or process holds the replica's lock.
     */
    RHA_REPLICA_BUSY = 605,
    /**
     * A record cannot be applied to the replica (a missing file, a path
     * that would leave the root, ...); nothing was written for it.
     */
    RHA_APPLY_FAILED = 606,
    /**
     * The rewind log is damaged; the message names the file and offset.
     */
    RHA_REWIND_LOG_CORRUPT = 607,
    /**
     * A rewind stopped between two points; reopen the replica to finish it.
     */
    RHA_REWIND_INTERRUPTED = 608,
    /**
     * The journal does not continue the replica's sequence: a gap (the
     * message names the expected and the received sequence number), or a
     * journal that restarts numbering (another scenario or epoch, a
     * resync): the replica must be resynchronised. What came before was
     * applied; nothing from the offending record on.
     */
    RHA_REPLICA_SEQUENCE_GAP = 609,
    /**
     * A scenario refused a command in its current state; the message names
     * the state and the reason, and the scenario is unchanged.
     */
    RHA_HA_REFUSED = 700,
    /**
     * A destructive scenario command came without its explicit
     * confirmation; the scenario is unchanged.
     */
    RHA_HA_CONFIRMATION_REQUIRED = 701,
    /**
     * A scenario configuration is invalid (the message names the field or
     * the redirection step and the rule).
     */
    RHA_HA_INVALID_CONFIG = 702,
    /**
     * Saved scenario state does not parse or contradicts itself.
     */
    RHA_HA_STATE_CORRUPT = 703,
    /**
     * Saved scenario state was written by a newer version of rha.
     */
    RHA_HA_STATE_UNSUPPORTED_VERSION = 704,
    /**
     * A session request came during the handshake or after the session
     * closed.
     */
    RHA_SESSION_NOT_CONNECTED = 800,
    /**
     * A session request belongs to the other role (a replica sending
     * journal, a master granting window, ...).
     */
    RHA_SESSION_WRONG_ROLE = 801,
    /**
     * Journal records offered out of order: the message names the next
     * record expected.
     */
    RHA_SESSION_OUT_OF_ORDER = 802,
    /**
     * Journal frames exceed the largest message body (`max_body`): send
     * fewer records at a time.
     */
    RHA_SESSION_TOO_LARGE = 803,
    /**
     * An acknowledgement that goes back, goes beyond the last record
     * received, is of another epoch, or has "applied" pass "stored".
     */
    RHA_SESSION_BAD_ACK = 804,
    /**
     * An agent's state file (in its state directory, or a replica's
     * `.rha`) is damaged or of another version; the message names it.
     */
    RHA_AGENT_STATE_CORRUPT = 900,
    /**
     * The agent's state directory (or replica) serves another scenario:
     * another scenario name, or other peers' fingerprints.
     */
    RHA_AGENT_OTHER_SCENARIO = 901,
    /**
     * A running agent failed (its spool could not be written, or one of its
     * threads stopped): stop it, fix the cause and start it again.
     */
    RHA_AGENT_FAILED = 902,
    /**
     * An identity directory lacks `key.pem` or `cert.pem` (make one with
     * `rha_identity_generate` or `rha keygen DIR`).
     */
    RHA_IDENTITY_MISSING = 910,
    /**
     * An identity's files are not a PEM key and certificate that belong
     * together, or an identity could not be generated.
     */
    RHA_IDENTITY_INVALID = 911,
    /**
     * The directory holds an identity already and overwriting was not
     * asked for.
     */
    RHA_IDENTITY_EXISTS = 912,
    /**
     * A text is not a fingerprint (`sha256:` and 64 hexadecimal digits).
     */
    RHA_TRANSPORT_BAD_FINGERPRINT = 920,
    /**
     * The transport could not listen on the address given (in use, not
     * local, does not resolve).
     */
    RHA_TRANSPORT_LISTEN = 921,
} rha_result;

/**
 * How `rha_replica_rewind` picks its point (its `by` parameter).
 */
typedef enum rha_rewind_by {
    /**
     * `seq`: the point after record `seq`.
     */
    RHA_REWIND_BY_SEQ = 0,
    /**
     * `name`: the newest bookmark with that name.
     */
    RHA_REWIND_BY_BOOKMARK = 1,
    /**
     * `time_ns`: the newest point at or before that time.
     */
    RHA_REWIND_BY_TIME = 2,
} rha_rewind_by;

/**
 * The operation a record carries; the values are the journal format's
 * operation codes and never change.
 *
 * `rha_record.op` holds one of these values; which other fields of the
 * record the operation uses is listed with each field of `rha_record`.
 */
typedef enum rha_op {
    /**
     * A regular file was created (empty): `path`, `mode`.
     */
    RHA_OP_CREATE = 1,
    /**
     * Bytes were written into a file: `path`, `offset`, `data`.
     */
    RHA_OP_WRITE = 2,
    /**
     * A file's length was set: `path`, `length`.
     */
    RHA_OP_SET_LEN = 3,
    /**
     * A non-directory was removed: `path`.
     */
    RHA_OP_DELETE = 4,
    /**
     * An entry was renamed from `path` to `path2` (replacing `path2`).
     */
    RHA_OP_RENAME = 5,
    /**
     * A directory was created: `path`, `mode`.
     */
    RHA_OP_MKDIR = 6,
    /**
     * An empty directory was removed: `path`.
     */
    RHA_OP_RMDIR = 7,
    /**
     * A symbolic link `path` pointing to `data` was created.
     */
    RHA_OP_SYMLINK = 8,
    /**
     * A hard link `path2` to the existing file `path` was created.
     */
    RHA_OP_HARD_LINK = 9,
    /**
     * Attributes changed: `path`, `attr_mask` and the fields it selects
     * (`mode`, `uid`, `gid`, `atime_ns`, `mtime_ns`).
     */
    RHA_OP_SET_ATTR = 10,
    /**
     * An extended attribute was set: `path`, `name`, value in `data`.
     */
    RHA_OP_SET_XATTR = 11,
    /**
     * An extended attribute was removed: `path`, `name`.
     */
    RHA_OP_REMOVE_XATTR = 12,
    /**
     * A FIFO or device node was created: `path`, `mode` (its file type
     * bits, FIFO, character or block device, and permission bits, as in
     * `st_mode`), `rdev` (the device number, 0 for a FIFO).
     */
    RHA_OP_MKNOD = 13,
    /**
     * Every extended attribute the applier manages was removed from
     * `path` (`system.*` and the host's own `security.selinux` stay).
     */
    RHA_OP_CLEAR_XATTRS = 14,
    /**
     * Bytes were written to a volume: `volume`, `offset`, `data`.
     */
    RHA_OP_BLOCK_WRITE = 32,
    /**
     * Bytes of a volume were discarded: `volume`, `offset`, `length`.
     */
    RHA_OP_DISCARD = 33,
    /**
     * A named point: `name` (UTF-8), `app_consistent`. Applied to a
     * replica with a rewind log (`rha_replica_apply`,
     * `rha_replica_apply_journal`), it adds a replica bookmark at that
     * record, as `rha_replica_add_bookmark` does.
     */
    RHA_OP_BOOKMARK = 64,
    /**
     * A transaction began: `id` is the transaction id.
     */
    RHA_OP_TX_BEGIN = 65,
    /**
     * A transaction committed: `id` is the transaction id.
     */
    RHA_OP_TX_COMMIT = 66,
    /**
     * A synchronisation started: `id` is the sync id.
     */
    RHA_OP_SYNC_START = 67,
    /**
     * A synchronisation ended: `id` is the sync id.
     */
    RHA_OP_SYNC_END = 68,
    /**
     * The scenario (`id`) and `epoch` the following records belong to.
     */
    RHA_OP_EPOCH = 69,
} rha_op;

/**
 * The bits of `rha_record.attr_mask`: which attributes a SET_ATTR record
 * sets.
 */
typedef enum rha_attr_flag {
    /**
     * `mode` is set.
     */
    RHA_ATTR_MODE = 1,
    /**
     * `uid` is set.
     */
    RHA_ATTR_UID = 2,
    /**
     * `gid` is set.
     */
    RHA_ATTR_GID = 4,
    /**
     * `atime_ns` is set.
     */
    RHA_ATTR_ATIME = 8,
    /**
     * `mtime_ns` is set.
     */
    RHA_ATTR_MTIME = 16,
} rha_attr_flag;

/**
 * The format a delta job writes (`rha_delta_job_new`).
 */
typedef enum rha_delta_format {
    /**
     * rha's (checksummed, with a whole-file hash).
     */
    RHA_DELTA_FORMAT_RHA = 0,
    /**
     * librsync's, which `rdiff patch` applies.
     */
    RHA_DELTA_FORMAT_RDIFF = 1,
} rha_delta_format;

/**
 * The strong hash of a signature (`rha_signature_job_set_strong_hash`).
 */
typedef enum rha_strong_hash {
    /**
     * BLAKE3 block hashes and a whole-file hash (the default; needed for
     * fixed-offset sync). Written as signature format version 1.
     */
    RHA_STRONG_HASH_BLAKE3 = 0,
    /**
     * XXH3-128 block hashes, about twice as fast, for rolling deltas (whose
     * own whole-file BLAKE3 hash checks the result); no whole-file hash in
     * the signature. Written as format version 2.
     */
    RHA_STRONG_HASH_XXH3 = 1,
} rha_strong_hash;

/**
 * What a spool does when it overflows (`rha_spool_builder_set_overflow`).
 */
typedef enum rha_spool_policy {
    /**
     * Refuse appends with `RHA_SPOOL_STOPPED` until reset.
     */
    RHA_SPOOL_POLICY_STOP = 0,
    /**
     * Stop storing records, record only the regions they change.
     */
    RHA_SPOOL_POLICY_DEGRADE = 1,
} rha_spool_policy;

/**
 * What an append does when the spool is full
 * (`rha_spool_append_options.when_full`).
 */
typedef enum rha_spool_when_full {
    /**
     * Apply the overflow policy.
     */
    RHA_SPOOL_WHEN_FULL_OVERFLOW = 0,
    /**
     * Fail with `RHA_SPOOL_FULL` at once.
     */
    RHA_SPOOL_WHEN_FULL_FAIL = 1,
    /**
     * Wait up to `block_ms` for room, then fail with `RHA_SPOOL_FULL`.
     */
    RHA_SPOOL_WHEN_FULL_BLOCK = 2,
} rha_spool_when_full;

/**
 * A spool's mode (`rha_spool_usage.mode`).
 */
typedef enum rha_spool_mode {
    /**
     * Records are spooled.
     */
    RHA_SPOOL_MODE_NORMAL = 0,
    /**
     * Stopped after an overflow.
     */
    RHA_SPOOL_MODE_STOPPED = 1,
    /**
     * Degraded to dirty-region tracking after an overflow.
     */
    RHA_SPOOL_MODE_DEGRADED = 2,
} rha_spool_mode;

/**
 * The kind of a monitoring event (`rha_spool_event.kind`).
 */
typedef enum rha_spool_event_kind {
    /**
     * Usage crossed a warning threshold upward.
     */
    RHA_SPOOL_EVENT_USAGE = 1,
    /**
     * The spool overflowed and applied its policy.
     */
    RHA_SPOOL_EVENT_OVERFLOW = 2,
    /**
     * A write or sync failed; the spool refuses writes until reopened.
     */
    RHA_SPOOL_EVENT_FAILED = 3,
} rha_spool_event_kind;

/**
 * What a dirty target is (`rha_spool_dirty_target.kind`).
 */
typedef enum rha_spool_target_kind {
    /**
     * A file or directory, named by `path`.
     */
    RHA_SPOOL_TARGET_FILE = 1,
    /**
     * A volume, named by `volume`.
     */
    RHA_SPOOL_TARGET_VOLUME = 2,
} rha_spool_target_kind;

/**
 * The bits of `rha_plan_op.changes`: which attributes an
 * `RHA_PLAN_SET_ATTRS` step changes.
 */
typedef enum rha_plan_change_flag {
    /**
     * Permission bits differ.
     */
    RHA_PLAN_CHANGE_MODE = 1,
    /**
     * Owner or group differ.
     */
    RHA_PLAN_CHANGE_OWNER = 2,
    /**
     * Modification time differs.
     */
    RHA_PLAN_CHANGE_MTIME = 4,
    /**
     * Extended attributes differ (their digests in the signatures): the
     * replica's set must become the master's exactly.
     */
    RHA_PLAN_CHANGE_XATTRS = 8,
} rha_plan_change_flag;

/**
 * The bits of a tree scan's `flags`.
 */
typedef enum rha_tree_scan_flag {
    /**
     * Do not descend into directories on another file system than the root
     * (mount points are listed, their contents are not).
     */
    RHA_TREE_SCAN_ONE_FILE_SYSTEM = 1,
    /**
     * List the replica state directory `.rha` at the root too (left out by
     * default: it holds one replica's lock, rewind log and applied point,
     * which a sync must never copy, compare or delete).
     */
    RHA_TREE_SCAN_INCLUDE_STATE_DIR = 2,
} rha_tree_scan_flag;

/**
 * The kind of a tree entry (`rha_tree_entry.kind`).
 */
typedef enum rha_tree_kind {
    /**
     * A regular file.
     */
    RHA_TREE_FILE = 0,
    /**
     * A directory.
     */
    RHA_TREE_DIR = 1,
    /**
     * A symbolic link.
     */
    RHA_TREE_SYMLINK = 2,
    /**
     * A FIFO, socket or device node.
     */
    RHA_TREE_OTHER = 3,
} rha_tree_kind;

/**
 * What a plan step does (`rha_plan_op.op`). Steps come in a safe order:
 * directories before their contents, deletions deepest first, a path
 * deleted before something else is created there, hard links after the
 * file they name, directory attributes after their contents.
 */
typedef enum rha_plan_op_kind {
    /**
     * Remove the replica's entry (`entry.kind` says what it is; a
     * directory is empty by then). Only `entry.path` and `entry.kind` are set.
     */
    RHA_PLAN_DELETE = 1,
    /**
     * Create a directory; its attributes follow in an `RHA_PLAN_SET_ATTRS`.
     */
    RHA_PLAN_MKDIR = 2,
    /**
     * Send a file that exists only on the master.
     */
    RHA_PLAN_CREATE = 3,
    /**
     * Overwrite the replica's differing file with the master's.
     */
    RHA_PLAN_UPDATE = 4,
    /**
     * Size and time agree but were not trusted: compare contents, send the
     * file if they differ, then set its attributes.
     */
    RHA_PLAN_CHECK = 5,
    /**
     * Create a symlink to `entry.target`.
     */
    RHA_PLAN_SYMLINK = 6,
    /**
     * Make `entry.path` another name of the file `link_target`.
     */
    RHA_PLAN_LINK = 7,
    /**
     * Create a special file (FIFO, device node; sockets cannot be copied).
     */
    RHA_PLAN_SPECIAL = 8,
    /**
     * Give an existing entry the master's attributes named in `changes`.
     */
    RHA_PLAN_SET_ATTRS = 9,
} rha_plan_op_kind;

/**
 * A scenario's lifecycle state. Values never change.
 */
typedef enum rha_ha_state {
    /**
     * Not running.
     */
    RHA_HA_STOPPED = 0,
    /**
     * Checked before the run.
     */
    RHA_HA_VERIFYING = 1,
    /**
     * The replica is being made equal to the master.
     */
    RHA_HA_SYNCHRONISING = 2,
    /**
     * Changes flow master to replica; Is Alive watches the master.
     */
    RHA_HA_REPLICATING = 3,
    /**
     * Replication paused; the replica spools.
     */
    RHA_HA_PAUSED = 4,
    /**
     * An integrity test holds application on the replica.
     */
    RHA_HA_INTEGRITY_TESTING = 5,
    /**
     * A test copy is presented to one host; replication goes on.
     */
    RHA_HA_TEST_FAILOVER = 6,
    /**
     * Clients are being redirected to the replica.
     */
    RHA_HA_SWITCHING_OVER = 7,
    /**
     * The replica is active; the configuration is locked.
     */
    RHA_HA_SWITCHED_OVER = 8,
    /**
     * The new active host replicates back to the original.
     */
    RHA_HA_REVERSE_REPLICATING = 9,
    /**
     * The redirection is being undone.
     */
    RHA_HA_SWITCHING_BACK = 10,
    /**
     * Appliance failover: the replica's copy serves.
     */
    RHA_HA_FAILED_OVER = 11,
    /**
     * DR-side changes are being shipped back as an image.
     */
    RHA_HA_SYNCING_BACK = 12,
    /**
     * The original site is being restored and artefacts removed.
     */
    RHA_HA_FAILING_BACK = 13,
} rha_ha_state;

/**
 * The kind of application a scenario protects (`rha_ha_scenario_builder_set_type`).
 */
typedef enum rha_ha_scenario_type {
    /**
     * A file server.
     */
    RHA_HA_FILE_SERVER = 0,
    /**
     * Microsoft SQL Server.
     */
    RHA_HA_SQL_SERVER = 1,
    /**
     * Microsoft Exchange.
     */
    RHA_HA_EXCHANGE = 2,
    /**
     * Microsoft IIS.
     */
    RHA_HA_IIS = 3,
    /**
     * Oracle Database.
     */
    RHA_HA_ORACLE = 4,
    /**
     * VMware vCenter.
     */
    RHA_HA_VCENTER = 5,
    /**
     * Hyper-V.
     */
    RHA_HA_HYPER_V = 6,
    /**
     * A full system.
     */
    RHA_HA_FULL_SYSTEM = 7,
} rha_ha_scenario_type;

/**
 * How an Is Alive link checks the active host (`rha_ha_scenario_builder_add_link`).
 */
typedef enum rha_ha_check {
    /**
     * A ping with a reply limit.
     */
    RHA_HA_CHECK_PING = 0,
    /**
     * Connect to the database.
     */
    RHA_HA_CHECK_DATABASE = 1,
    /**
     * A user-defined check.
     */
    RHA_HA_CHECK_USER = 2,
} rha_ha_check;

/**
 * A host by its configured role.
 */
typedef enum rha_ha_side {
    /**
     * The configured master.
     */
    RHA_HA_MASTER = 0,
    /**
     * The configured replica.
     */
    RHA_HA_REPLICA = 1,
} rha_ha_side;

/**
 * An operator command (`rha_ha_command.kind`). Values never change.
 */
typedef enum rha_ha_command_kind {
    /**
     * Verify, synchronise, replicate.
     */
    RHA_HA_CMD_START = 1,
    /**
     * Stop replication (or reverse replication).
     */
    RHA_HA_CMD_STOP = 2,
    /**
     * Pause replication.
     */
    RHA_HA_CMD_PAUSE = 3,
    /**
     * Resume replication.
     */
    RHA_HA_CMD_RESUME = 4,
    /**
     * Switch over to the replica (`text`: the word `SWITCHOVER`).
     */
    RHA_HA_CMD_SWITCHOVER = 5,
    /**
     * Reverse-replicate, then switch back (`master_restored`).
     */
    RHA_HA_CMD_SWITCHBACK = 6,
    /**
     * Reverse-replicate only (`master_restored`).
     */
    RHA_HA_CMD_START_REVERSE = 7,
    /**
     * Start an integrity test.
     */
    RHA_HA_CMD_START_INTEGRITY_TEST = 8,
    /**
     * End the integrity test.
     */
    RHA_HA_CMD_STOP_INTEGRITY_TEST = 9,
    /**
     * Present a test copy to the host named by `text`.
     */
    RHA_HA_CMD_TEST_FAILOVER = 10,
    /**
     * Remove the test copy.
     */
    RHA_HA_CMD_END_TEST_FAILOVER = 11,
    /**
     * Fail over (`text`: the word `FAILOVER`).
     */
    RHA_HA_CMD_FAILOVER = 12,
    /**
     * Ship DR-side changes back as a new image.
     */
    RHA_HA_CMD_SYNC_BACK = 13,
    /**
     * Fail back from the newest image (`text`: the word `FAILBACK`).
     */
    RHA_HA_CMD_FAILBACK = 14,
    /**
     * Remove leftover failover artefacts and undo redirection steps left
     * applied (`text`: the word `CLEANUP`).
     */
    RHA_HA_CMD_CLEANUP = 15,
    /**
     * Set the bookmark named by `text`.
     */
    RHA_HA_CMD_BOOKMARK = 16,
    /**
     * Give up the step the operation in progress waits for (after a
     * restart, or when it cannot complete): it counts as failed and the
     * operation follows its plan for a failed step.
     */
    RHA_HA_CMD_ABANDON_STEP = 17,
} rha_ha_command_kind;

/**
 * An observation kind (`rha_ha_observation.kind`). Values never change.
 */
typedef enum rha_ha_observation_kind {
    /**
     * The action `action_id` succeeded (for a sync: the sync finished).
     */
    RHA_HA_OBS_ACTION_COMPLETED = 1,
    /**
     * The action `action_id` failed; `text` says why.
     */
    RHA_HA_OBS_ACTION_FAILED = 2,
    /**
     * An Is Alive check on link `link` answered (`alive`) or not.
     */
    RHA_HA_OBS_HEARTBEAT = 3,
    /**
     * The replica's spool or disk is full.
     */
    RHA_HA_OBS_SPOOL_FULL = 4,
    /**
     * The replication link went down.
     */
    RHA_HA_OBS_REPLICA_DISCONNECTED = 5,
    /**
     * The replication link is back.
     */
    RHA_HA_OBS_REPLICA_RECONNECTED = 6,
} rha_ha_observation_kind;

/**
 * What an action asks for (`rha_ha_action.kind`). Values never change.
 */
typedef enum rha_ha_action_kind {
    /**
     * Verify the scenario.
     */
    RHA_HA_ACT_VERIFY = 1,
    /**
     * Begin a sync: `sync_kind` (0 file, 1 block, 2 volume), `reverse`.
     */
    RHA_HA_ACT_BEGIN_SYNC = 2,
    /**
     * Stop replication.
     */
    RHA_HA_ACT_STOP_REPLICATION = 3,
    /**
     * Resume replication.
     */
    RHA_HA_ACT_RESUME_REPLICATION = 4,
    /**
     * Spool instead of sending.
     */
    RHA_HA_ACT_START_SPOOLING = 5,
    /**
     * Send the spool and go on.
     */
    RHA_HA_ACT_DRAIN_SPOOL = 6,
    /**
     * Drop the spool.
     */
    RHA_HA_ACT_CLEAR_SPOOL = 7,
    /**
     * Hold application on the replica.
     */
    RHA_HA_ACT_HOLD_APPLICATION = 8,
    /**
     * Apply the spool and go on applying.
     */
    RHA_HA_ACT_RELEASE_APPLICATION = 9,
    /**
     * Discard the integrity test's changes.
     */
    RHA_HA_ACT_DISCARD_TEST_CHANGES = 10,
    /**
     * Start services on `host` (`flag`: for a test).
     */
    RHA_HA_ACT_START_SERVICES = 11,
    /**
     * Stop services on `host` (`flag`: fence, confirm it is down).
     */
    RHA_HA_ACT_STOP_SERVICES = 12,
    /**
     * Check `host` over Is Alive link `link`; report a heartbeat.
     */
    RHA_HA_ACT_CHECK_ALIVE = 13,
    /**
     * Do (`flag` false) or undo (`flag` true) redirection step `step`;
     * the parameters are in `json`. For a two-sided step (move IP, switch
     * name, NetBIOS alias) each half is its own action, performed by the
     * host `host` (`json` field `half`); a one-sided step's action has no
     * `half` in `json` (and `host` 0): whichever host runs it does it all.
     */
    RHA_HA_ACT_REDIRECT = 14,
    /**
     * Set the bookmark named `text`.
     */
    RHA_HA_ACT_SET_BOOKMARK = 15,
    /**
     * Present a test copy to the host named `text`.
     */
    RHA_HA_ACT_PRESENT_TEST_COPY = 16,
    /**
     * Serve from the replica's copy with a write overlay.
     */
    RHA_HA_ACT_MOUNT_OVERLAY = 17,
    /**
     * Ship DR-side changes back as image `number`.
     */
    RHA_HA_ACT_BEGIN_SYNC_BACK = 18,
    /**
     * Restore the original site from image `number`.
     */
    RHA_HA_ACT_RESTORE_FROM_IMAGE = 19,
    /**
     * Remove an artefact (described in `json`; idempotent).
     */
    RHA_HA_ACT_REMOVE_ARTEFACT = 20,
    /**
     * Give the replica's virtual machine the address `text` with prefix
     * length `number` (gateway in `json`) before it starts.
     */
    RHA_HA_ACT_READDRESS_VM = 21,
    /**
     * Give the replica's virtual machine back the address
     * `RHA_HA_ACT_READDRESS_VM` replaced (switchback or rollback).
     */
    RHA_HA_ACT_REVERT_VM_ADDRESS = 22,
} rha_ha_action_kind;

/**
 * An event kind (`rha_ha_event.kind`). Values never change.
 */
typedef enum rha_ha_event_kind {
    /**
     * The state changed from `from` to `to`.
     */
    RHA_HA_EV_STATE_CHANGED = 1,
    /**
     * Every Is Alive link has been silent for the timeout.
     */
    RHA_HA_EV_ACTIVE_UNRESPONSIVE = 2,
    /**
     * A link has been silent for two heartbeat intervals.
     */
    RHA_HA_EV_LINK_SILENT = 3,
    /**
     * The active host answered again.
     */
    RHA_HA_EV_ACTIVE_RECOVERED = 4,
    /**
     * A switchover began.
     */
    RHA_HA_EV_SWITCHOVER_STARTED = 5,
    /**
     * An operation's step failed.
     */
    RHA_HA_EV_STEP_FAILED = 6,
    /**
     * An undo failed during a rollback: needs an operator.
     */
    RHA_HA_EV_UNDO_FAILED = 7,
    /**
     * An operation finished.
     */
    RHA_HA_EV_OPERATION_FINISHED = 8,
    /**
     * Verification failed.
     */
    RHA_HA_EV_VERIFICATION_FAILED = 9,
    /**
     * A synchronisation failed.
     */
    RHA_HA_EV_SYNC_FAILED = 10,
    /**
     * The spool or disk is full.
     */
    RHA_HA_EV_SPOOL_FULL = 11,
    /**
     * The replication link went down.
     */
    RHA_HA_EV_REPLICA_DISCONNECTED = 12,
    /**
     * The replication link is back.
     */
    RHA_HA_EV_REPLICA_RECONNECTED = 13,
    /**
     * A sync-back image is ready.
     */
    RHA_HA_EV_SYNC_BACK_IMAGE_READY = 14,
    /**
     * Failback finished (leftovers in `json`).
     */
    RHA_HA_EV_FAILBACK_COMPLETED = 15,
    /**
     * A cleanup finished (leftovers in `json`).
     */
    RHA_HA_EV_CLEANUP_COMPLETED = 16,
    /**
     * A report named an action nobody waited for.
     */
    RHA_HA_EV_UNEXPECTED_REPORT = 17,
    /**
     * A heartbeat named an unknown link.
     */
    RHA_HA_EV_UNKNOWN_LINK = 18,
    /**
     * An awaited step timed out and was issued again; `number` is the
     * re-issue (1, 2, ...); the step is named in `json`.
     */
    RHA_HA_EV_STEP_RETRIED = 19,
    /**
     * An awaited step timed out on every attempt and counts as failed;
     * `number` is the attempts; the step is named in `json`.
     */
    RHA_HA_EV_STEP_TIMED_OUT = 20,
    /**
     * The operator abandoned the awaited step (named in `json`).
     */
    RHA_HA_EV_STEP_ABANDONED = 21,
    /**
     * A restored scenario was given the time: its timers restarted;
     * `flag`: the awaited step was re-issued (named in `json`).
     */
    RHA_HA_EV_RESTARTED = 22,
    /**
     * An event of a later version; see `json`.
     */
    RHA_HA_EV_OTHER = 99,
} rha_ha_event_kind;

/**
 * How `rha_replica_open_with` opens a replica: bits of its `flags`.
 */
typedef enum rha_replica_flag {
    /**
     * Create the root directory if it is missing (its last component
     * only: a missing parent is an error). Without it a missing root fails
     * with `RHA_IO` naming the path.
     */
    RHA_REPLICA_CREATE = 1,
    /**
     * Keep a rewind log (a replica that has one always keeps it).
     */
    RHA_REPLICA_REWIND = 2,
} rha_replica_flag;

/**
 * The level of a log message, most severe first (as `uint32_t`).
 */
typedef enum rha_log_level {
    /**
     * Something failed: a spool write, a caught panic (a bug in rha).
     */
    RHA_LOG_ERROR = 1,
    /**
     * Something the operator should know: a torn spool tail truncated, a
     * spool past a usage threshold or overflowing, an interrupted rewind
     * finished on open, a spool salvaged.
     */
    RHA_LOG_WARN = 2,
    /**
     * What each operation did: a journal applied, a tree synced, a rewind.
     */
    RHA_LOG_INFO = 3,
    /**
     * Details: each job (signature, delta, patch), tree scan and spool
     * recovery step.
     */
    RHA_LOG_DEBUG = 4,
    /**
     * Everything rha reports.
     */
    RHA_LOG_TRACE = 5,
} rha_log_level;

/**
 * The side a session plays (`rha_session_config.role`). Values never
 * change.
 */
typedef enum rha_session_role {
    /**
     * Sends its journal.
     */
    RHA_SESSION_MASTER = 1,
    /**
     * Stores and applies the master's journal.
     */
    RHA_SESSION_REPLICA = 2,
} rha_session_role;

/**
 * Which acknowledgement (`rha_session_ack`, `rha_session_event.ack_kind`).
 * Values never change.
 */
typedef enum rha_session_ack_kind {
    /**
     * The records are durable in the replica's spool: the master may
     * reclaim its own copy.
     */
    RHA_SESSION_ACK_STORED = 1,
    /**
     * The records are applied durably to the replica's data.
     */
    RHA_SESSION_ACK_APPLIED = 2,
} rha_session_ack_kind;

/**
 * A control request from the master to the replica (`rha_session_control`,
 * `rha_session_event.control`). Values never change.
 */
typedef enum rha_session_control_kind {
    /**
     * Stop applying (keep storing).
     */
    RHA_SESSION_CONTROL_PAUSE = 1,
    /**
     * Apply again.
     */
    RHA_SESSION_CONTROL_RESUME = 2,
    /**
     * Set a bookmark on the live replica after a point, with a name.
     */
    RHA_SESSION_CONTROL_BOOKMARK = 3,
} rha_session_control_kind;

/**
 * Why a session was refused or closed (`rha_session_close`,
 * `rha_session_event.reason`): the protocol's close codes. Values never
 * change; an event may carry a code a later version adds (a peer's), which
 * is none of these.
 */
typedef enum rha_session_reason {
    /**
     * An orderly end (shutdown, operator).
     */
    RHA_SESSION_REASON_DONE = 0,
    /**
     * No protocol version in common.
     */
    RHA_SESSION_REASON_VERSION = 1,
    /**
     * The peer serves another scenario.
     */
    RHA_SESSION_REASON_SCENARIO = 2,
    /**
     * Both sides claim the same role.
     */
    RHA_SESSION_REASON_ROLE = 3,
    /**
     * The replica's data is newer than the master's, or the two diverged:
     * an operator must decide.
     */
    RHA_SESSION_REASON_GENERATIONS = 4,
    /**
     * A side broke the protocol (malformed or unexpected bytes).
     */
    RHA_SESSION_REASON_PROTOCOL = 5,
    /**
     * Nothing heard from the peer within the timeout.
     */
    RHA_SESSION_REASON_TIMEOUT = 6,
    /**
     * The closing side ran out of space (spool or disk).
     */
    RHA_SESSION_REASON_FULL = 7,
    /**
     * A failure on the closing side (storage, apply).
     */
    RHA_SESSION_REASON_FAILURE = 8,
} rha_session_reason;

/**
 * What happened (`rha_session_event.kind`). Values never change; later
 * versions may add kinds, which a caller should skip.
 */
typedef enum rha_session_event_kind {
    /**
     * The handshake is done: `version`, `resume_after`, `sync_needed`,
     * `sync`; the peer's hello is available from `rha_session_peer`.
     */
    RHA_SESSION_EVENT_CONNECTED = 1,
    /**
     * A replica received the journal frames `frames` of records
     * `first..=last` of `epoch`, the next in order.
     */
    RHA_SESSION_EVENT_JOURNAL = 2,
    /**
     * A master heard that records up to `at` are stored or applied
     * (`ack_kind`).
     */
    RHA_SESSION_EVENT_ACKED = 3,
    /**
     * A replica received a control request: `control`, and for a
     * bookmark `at` and `name`.
     */
    RHA_SESSION_EVENT_CONTROL = 4,
    /**
     * Nothing was heard from the peer within the timeout (a
     * `RHA_SESSION_EVENT_CLOSED` with reason timeout follows).
     */
    RHA_SESSION_EVENT_SILENT = 5,
    /**
     * The session ended: `reason`, `text`, `by_peer`. The last event.
     */
    RHA_SESSION_EVENT_CLOSED = 6,
    /**
     * A replica received a sync message from the master: `sync_kind` (an
     * `rha_session_sync_kind` value), `sync_id` and the fields of that
     * kind. Answer with `rha_session_send_sync_reply`.
     */
    RHA_SESSION_EVENT_SYNC = 7,
    /**
     * A master received a sync reply from the replica: `sync_kind` (an
     * `rha_session_sync_reply_kind` value), `sync_id` and the fields of
     * that kind.
     */
    RHA_SESSION_EVENT_SYNC_REPLY = 8,
} rha_session_event_kind;

/**
 * A sync message from the master to the replica
 * (`rha_session_sync_message.sync_kind` for `rha_session_send_sync`,
 * `rha_session_event.sync_kind` of `RHA_SESSION_EVENT_SYNC`). Values never
 * change (they are the protocol's operation codes).
 */
typedef enum rha_session_sync_kind {
    /**
     * A sync starts (`id`, `mode`, `ignore_same`, `block_size`): the
     * replica scans its tree and answers with `RHA_SESSION_SYNC_REPLY_TREE`
     * pieces.
     */
    RHA_SESSION_SYNC_BEGIN = 1,
    /**
     * The sync's changes (`data`): journal frames of file-tree operations,
     * without the journal's stream header, numbered from 1 within the run
     * and continuing from message to message; the replica applies them in
     * order.
     */
    RHA_SESSION_SYNC_RECORDS = 2,
    /**
     * Asks for the block hashes of the replica's copy of `path`; `file`
     * numbers the request, which the replica's
     * `RHA_SESSION_SYNC_REPLY_BLOCKS` echoes.
     */
    RHA_SESSION_SYNC_BLOCKS = 3,
    /**
     * After the records that brought `path` up to date: its `len` and
     * `hash` as the master read it. A replica whose copy differs answers
     * `RHA_SESSION_SYNC_REPLY_MISMATCH`.
     */
    RHA_SESSION_SYNC_CHECK = 4,
    /**
     * The run's last message (`replay_to`, `entries`, `bytes`): the replica
     * makes the result durable and answers `RHA_SESSION_SYNC_REPLY_DONE`
     * (after a progress), unless a check failed since the last end.
     */
    RHA_SESSION_SYNC_END = 5,
} rha_session_sync_kind;

/**
 * A sync reply from the replica to the master
 * (`rha_session_sync_message.sync_kind` for `rha_session_send_sync_reply`,
 * `rha_session_event.sync_kind` of `RHA_SESSION_EVENT_SYNC_REPLY`). Values
 * never change (they are the protocol's operation codes).
 */
typedef enum rha_session_sync_reply_kind {
    /**
     * A piece of the replica's tree signature (`data`), the last one
     * marked (`last`); an empty tree is one empty last piece.
     */
    RHA_SESSION_SYNC_REPLY_TREE = 1,
    /**
     * Hashes of consecutive blocks of the file of request `file` (`data`,
     * 16 bytes each: BLAKE3 of each block, cut), from where the previous
     * piece ended; the last piece says so (`last`). A file the replica
     * does not have answers one empty last piece.
     */
    RHA_SESSION_SYNC_REPLY_BLOCKS = 2,
    /**
     * The replica's copy of `path` does not match its check: the master
     * sends it again, then the end again.
     */
    RHA_SESSION_SYNC_REPLY_MISMATCH = 3,
    /**
     * What the replica applied of the run so far (`records`, `bytes`).
     */
    RHA_SESSION_SYNC_REPLY_PROGRESS = 4,
    /**
     * The run is applied and durable.
     */
    RHA_SESSION_SYNC_REPLY_DONE = 5,
} rha_session_sync_reply_kind;

/**
 * Which agent a status describes (`rha_agent_status.role`). Values never
 * change.
 */
typedef enum rha_agent_role {
    /**
     * A master agent: sends its spool.
     */
    RHA_AGENT_MASTER = 1,
    /**
     * A replica agent: stores and applies.
     */
    RHA_AGENT_REPLICA = 2,
} rha_agent_role;

/**
 * The state of an agent's link to its peer (`rha_agent_status.link`).
 * Values never change; expect values a later version adds.
 */
typedef enum rha_agent_link {
    /**
     * Not connected: a master retries after its backoff (a refused
     * handshake, such as a wrong fingerprint, leaves it here); a replica
     * waits for a master.
     */
    RHA_AGENT_LINK_DOWN = 1,
    /**
     * Connecting, or in the handshake.
     */
    RHA_AGENT_LINK_CONNECTING = 2,
    /**
     * The session is up.
     */
    RHA_AGENT_LINK_CONNECTED = 3,
    /**
     * The agent stopped.
     */
    RHA_AGENT_LINK_STOPPED = 4,
} rha_agent_link;

/**
 * How a master agent syncs its replica
 * (`rha_master_agent_config.sync_mode`, `rha_agent_status.sync_mode`).
 * Values never change.
 */
typedef enum rha_sync_mode {
    /**
     * Whole files: a file the replica lacks, or one that differs, is sent
     * whole (the default).
     */
    RHA_SYNC_FILE = 0,
    /**
     * Blocks at fixed offsets: for a file on both sides the replica hashes
     * its copy's blocks and the master sends only the blocks that differ,
     * written in place.
     */
    RHA_SYNC_BLOCK = 1,
} rha_sync_mode;

/**
 * Where an agent's last sync over the session stands
 * (`rha_agent_status.sync_phase`). Values never change; expect values a
 * later version adds (treat them as a sync under way).
 */
typedef enum rha_agent_sync_phase {
    /**
     * No sync since the agent started: the `sync_*` counters are 0.
     */
    RHA_AGENT_SYNC_NONE = 0,
    /**
     * Both sides scan their trees; the master compares them.
     */
    RHA_AGENT_SYNC_SCANNING = 1,
    /**
     * The master sends what the replica lacks; the replica applies it.
     */
    RHA_AGENT_SYNC_SENDING = 2,
    /**
     * Everything is sent; the replica makes it durable.
     */
    RHA_AGENT_SYNC_FINISHING = 3,
    /**
     * The sync ended: the replica holds the master's tree and follows the
     * journal.
     */
    RHA_AGENT_SYNC_DONE = 4,
    /**
     * The sync failed (`_sync_error` says why); the next session syncs
     * again.
     */
    RHA_AGENT_SYNC_FAILED = 5,
} rha_agent_sync_phase;

/**
 * Comparison settings for `rha_plan_new_files` and `rha_plan_new_buffers`.
 *
 * Defaults (file-level sync): ignore files of the same size and
 * modification time, no content checks, compare owners, no exclusions.
 * Ownership: made by `rha_compare_options_new`, released with
 * `rha_compare_options_free`; plans copy what they need, so the options
 * may be freed or reused after making a plan. Thread safety: one thread at
 * a time.
 */
typedef struct rha_compare_options rha_compare_options;

/**
 * A streaming delta job: fed the new file's bytes, it produces a delta
 * against the basis its signature describes. Memory: the signature plus
 * about 1.5 MiB.
 *
 * Ownership: made by `rha_delta_job_new`, owned by the caller, released
 * with `rha_delta_job_free`. Thread safety: one thread at a time.
 */
typedef struct rha_delta_job rha_delta_job;

/**
 * Converts a delta (rha or rdiff format), fed in chunks, into the journal
 * records that turn the basis file into the new file: an `RHA_OP_WRITE`
 * of at most 1 MiB for every literal, zero run and moved copy (whose bytes
 * are read from the basis through a callback), nothing for blocks that
 * stay where they are, and a final `RHA_OP_SET_LEN`. The records can go
 * straight to `rha_journal_writer_append`. Memory: one delta command and
 * one record (at most 1 MiB each), whatever the file size.
 *
 * A moved copy reads the basis when its record is produced: applying the
 * records to the basis while the job runs is safe only for deltas without
 * moved copies (fixed-offset deltas, `rha_fixed_delta_job`); otherwise
 * apply them once the job is done (journal them first).
 *
 * Ownership: made by `rha_delta_ops_job_new`, owned by the caller,
 * released with `rha_delta_ops_job_free`. Thread safety: one thread at a
 * time; the callback runs on the thread calling `rha_delta_ops_job_next`.
 */
typedef struct rha_delta_ops_job rha_delta_ops_job;

/**
 * A detailed error: a code, a message and, for journal decoding errors, the
 * position of the damage.
 *
 * Ownership: made by a failing call that was given a non-NULL `error_out`,
 * owned by the caller, released with `rha_error_free`. Immutable once made,
 * so it may be read from several threads at once.
 */
typedef struct rha_error rha_error;

/**
 * The master side of a fixed-offset sync: writes an rha delta holding
 * exactly the ranges of a plan, read from the master's file through a
 * callback. Its copies all keep their position, so the replica can apply
 * it in place (`rha_in_place_patch_job`) or as an ordinary patch. Memory:
 * 1 MiB plus about 256 KiB of output, whatever the file size.
 *
 * Ownership: made by `rha_fixed_delta_job_new`, owned by the caller,
 * released with `rha_fixed_delta_job_free`. Thread safety: one thread at a
 * time; the callback runs on the thread calling `rha_fixed_delta_job_run`.
 */
typedef struct rha_fixed_delta_job rha_fixed_delta_job;

/**
 * The blocks a replica needs from the master, from `rha_fixed_plan_new`:
 * ascending, merged byte ranges of the master's file, each starting on a
 * block boundary.
 *
 * Ownership: made by `rha_fixed_plan_new`, owned by the caller, released
 * with `rha_fixed_plan_free`. Immutable: may be read by several threads.
 */
typedef struct rha_fixed_plan rha_fixed_plan;

/**
 * A scenario's lifecycle state machine, sans-IO: feed it
 * commands, observations and time; poll actions (work for the embedder),
 * events, and the next timeout.
 *
 * Ownership: made by `rha_ha_scenario_build` or `rha_ha_scenario_restore`,
 * owned by the caller, released with `rha_ha_scenario_free`. One thread at
 * a time (it may move between threads).
 */
typedef struct rha_ha_scenario rha_ha_scenario;

/**
 * Settings for a scenario, consumed by `rha_ha_scenario_build`.
 *
 * Starts as a file-server scenario named "scenario" with the default
 * settings (heartbeat every 30 s, is-alive timeout 300 s, manual
 * switchover, one ping link, no redirection) and no hosts: set the master
 * and the replica before building. Ownership: made by
 * `rha_ha_scenario_builder_new`, owned by the caller until
 * `rha_ha_scenario_build` (which frees it, even on failure) or
 * `rha_ha_scenario_builder_free`. One thread at a time.
 */
typedef struct rha_ha_scenario_builder rha_ha_scenario_builder;

/**
 * The replica side of a fixed-offset sync: applies a delta in place,
 * writing literals and zero runs where they belong and skipping the
 * blocks that stay, then sets the target's length and (for an rha delta)
 * checks the whole-file hash by reading the target back. A fixed-offset
 * delta names the replica it was made against (length and whole-file
 * hash); the target is read once and checked against it before anything
 * is written, and another file is refused with `RHA_PATCH_WRONG_BASIS`,
 * untouched. A copy that moves
 * data, as rolling deltas have, is refused with `RHA_PATCH_NOT_IN_PLACE`
 * when it is reached (commands before it have been written: restore the
 * target or sync it another way). Memory: one delta command (at most
 * 1 MiB) plus a 1 MiB read-back buffer.
 *
 * Ownership: made by `rha_in_place_patch_job_new`, owned by the caller,
 * released with `rha_in_place_patch_job_free`. Thread safety: one thread
 * at a time; the callbacks run on the thread calling
 * `rha_in_place_patch_job_run`.
 */
typedef struct rha_in_place_patch_job rha_in_place_patch_job;

/**
 * A streaming journal reader: fed bytes in chunks of any size, it hands out
 * records one at a time, and at the end tells a clean end from a torn tail.
 *
 * Every frame's checksums are verified and sequence numbers must increase
 * by one; anything else is an error naming the byte offset and the last
 * good sequence number, after which the reader stays failed. Memory held is
 * bounded by one frame (the maximum record size plus a header).
 *
 * Ownership: made by `rha_journal_reader_build`, owned by the caller,
 * released with `rha_journal_reader_free`. Thread safety: one thread at a
 * time (it may move between threads); distinct readers are independent.
 */
typedef struct rha_journal_reader rha_journal_reader;

/**
 * Settings for a journal reader, consumed by `rha_journal_reader_build`.
 *
 * Ownership: made by `rha_journal_reader_builder_new`, owned by the caller
 * until passed to `rha_journal_reader_build` (which frees it, even when it
 * fails) or `rha_journal_reader_builder_free`. Thread safety: one thread at a
 * time.
 */
typedef struct rha_journal_reader_builder rha_journal_reader_builder;

/**
 * A journal writer: numbers records, batches them (optionally compressing
 * each batch with zstd), checksums every frame, and queues the encoded
 * bytes for `rha_journal_writer_drain`.
 *
 * The output is an rha journal (format version 1): the stream header, then
 * checksummed frames of records. Ownership: made by `rha_journal_writer_build`,
 * owned by the caller, released with `rha_journal_writer_free`. Thread
 * safety: one thread at a time (it may move between threads); distinct
 * writers are independent.
 */
typedef struct rha_journal_writer rha_journal_writer;

/**
 * Settings for a journal writer, consumed by `rha_journal_writer_build`.
 *
 * Ownership: made by `rha_journal_writer_builder_new`, owned by the caller
 * until passed to `rha_journal_writer_build` (which frees it, even when it
 * fails) or `rha_journal_writer_builder_free`. Thread safety: one thread at a
 * time.
 */
typedef struct rha_journal_writer_builder rha_journal_writer_builder;

/**
 * A running master agent: one thread that connects to the replica over
 * TLS (reconnecting with backoff), sends the durable records of its spool
 * in order, and reclaims them as the replica stores them.
 *
 * Ownership: made by `rha_master_agent_start`, owned by the caller until
 * `rha_master_agent_stop` (which consumes it) or `rha_master_agent_free`.
 * Thread safety: `_append_journal`, `_status` and `_control` may be called
 * from several threads at once; `_stop` and `_free` only when no other
 * call on the handle is under way.
 */
typedef struct rha_master_agent rha_master_agent;

/**
 * A streaming patch job: fed a delta (rha or rdiff format), it produces
 * the new file, reading copies from the basis through a callback. For an
 * rha delta the output's whole-file hash is checked at the end
 * (`RHA_PATCH_HASH_MISMATCH`). Memory: one delta command (at most 1 MiB).
 *
 * Ownership: made by `rha_patch_job_new`, owned by the caller, released
 * with `rha_patch_job_free`. Thread safety: one thread at a time; the
 * callback runs on the thread calling `rha_patch_job_run`.
 */
typedef struct rha_patch_job rha_patch_job;

/**
 * A sync plan being computed: the merge of two signatures, iterated with
 * `rha_plan_next`.
 *
 * Memory: one signature block per side, one frame per directory level and
 * one record per hard-linked file. Ownership: made by `rha_plan_new_files`
 * or `rha_plan_new_buffers`, released with `rha_plan_free`. Thread
 * safety: one thread at a time.
 */
typedef struct rha_plan rha_plan;

/**
 * A replica directory opened for applying and rewinding.
 *
 * Holds the replica's lock (`lock` in its state directory) until freed: a
 * second open of the same replica, from this or another process, fails
 * with `RHA_REPLICA_BUSY`. Ownership: made by `rha_replica_open_with`,
 * owned by the caller, released with `rha_replica_free`. Thread safety:
 * one thread at a time (it may move between threads).
 */
typedef struct rha_replica rha_replica;

/**
 * A running replica agent: listens for its masters over TLS, serves one
 * session at a time, stores what arrives in its own spool durably,
 * acknowledges it, and applies it in order to the replica directory.
 *
 * Ownership: made by `rha_replica_agent_start`, owned by the caller until
 * `rha_replica_agent_stop` (which consumes it) or `rha_replica_agent_free`.
 * Thread safety: `_status` and `_local_port` may be called from several
 * threads at once; `_stop` and `_free` only when no other call on the
 * handle is under way.
 */
typedef struct rha_replica_agent rha_replica_agent;

/**
 * One side of a replication session, sans-IO: bytes and time in; bytes to
 * send, events and the next deadline out. No sockets, threads or clocks
 * inside.
 *
 * Ownership: made by `rha_session_new`, owned by the caller, released with
 * `rha_session_free`. Thread safety: one thread at a time (it may move
 * between threads); calls from several threads must be serialised by the
 * caller, and the views of `rha_session_poll_event` belong to whichever
 * thread polled last.
 */
typedef struct rha_session rha_session;

/**
 * A block signature loaded in memory (rha format, or an rdiff signature
 * with BLAKE2 strong sums), the basis of a delta job.
 *
 * Ownership: made by `rha_signature_new`, owned by the caller, released
 * with `rha_signature_free`. Immutable: may be read by several threads.
 */
typedef struct rha_signature rha_signature;

/**
 * A streaming signature job: fed a file's bytes, it produces the file's
 * block signature (rha's own signature format). Memory: one block plus
 * about 256 KiB, whatever the file size.
 *
 * Ownership: made by `rha_signature_job_new`, owned by the caller,
 * released with `rha_signature_job_free`. Thread safety: one thread at a
 * time (it may move between threads).
 */
typedef struct rha_signature_job rha_signature_job;

/**
 * A block signature being loaded from chunks (rha format, or an rdiff
 * signature with BLAKE2 strong sums). Memory: the signature's entries,
 * bounded by the block limit given to `rha_signature_loader_new`.
 *
 * Ownership: made by `rha_signature_loader_new`, owned by the caller;
 * consumed by `rha_signature_loader_finish` (whether or not it succeeds) or
 * released with `rha_signature_loader_free`. Thread safety: one thread at a
 * time (it may move between threads).
 */
typedef struct rha_signature_loader rha_signature_loader;

/**
 * An open spool: a directory of segment files holding journal records that
 * cannot move on yet, with an acknowledged position that survives restarts.
 *
 * Ownership: made by `rha_spool_build`, owned by the caller, released with
 * `rha_spool_close` or `rha_spool_free`. Thread safety: every function
 * taking a `const rha_spool *` may be called from several threads at once
 * on the same spool (producers appending concurrently share syncs);
 * `rha_spool_close` and `rha_spool_free` must not race with other calls.
 */
typedef struct rha_spool rha_spool;

/**
 * Settings for a spool, consumed by `rha_spool_build`.
 *
 * Ownership: made by `rha_spool_builder_new`, owned by the caller until
 * passed to `rha_spool_build` (which frees it, even when it fails) or
 * `rha_spool_builder_free`. Thread safety: one thread at a time.
 */
typedef struct rha_spool_builder rha_spool_builder;

/**
 * A snapshot of a spool's dirty regions: which byte ranges of which files
 * and volumes changed after a degrading overflow, so a resync copies only
 * those. Ranges are widened to multiples of the granularity.
 *
 * Ownership: made by `rha_spool_dirty_new`, owned by the caller,
 * released with `rha_spool_dirty_free`. It is a copy: later appends to the
 * spool do not change it, and it stays valid after the spool is closed.
 * Thread safety: immutable; any number of threads may read one snapshot
 * at once, but `rha_spool_dirty_free` must not race with readers.
 */
typedef struct rha_spool_dirty rha_spool_dirty;

/**
 * Reads a spool's durable records in order from a chosen sequence number.
 *
 * Ownership: made by `rha_spool_reader_new`, owned by the caller, released
 * with `rha_spool_reader_free`; it stays usable after its spool is closed.
 * Thread safety: one thread at a time (it may move between threads); any
 * number of readers may read one spool at once, alongside its producers.
 */
typedef struct rha_spool_reader rha_spool_reader;

/**
 * A streaming tree signature reader: fed bytes in chunks of any size, it
 * hands out entries one at a time, checking every checksum and the entry
 * order.
 *
 * Memory: at most one signature block (4 MiB) plus the current entry.
 * Ownership: made by `rha_tree_reader_new`, released with
 * `rha_tree_reader_free`. Thread safety: one thread at a time.
 */
typedef struct rha_tree_reader rha_tree_reader;

/**
 * A scan whose signature bytes the caller pulls into its own buffers
 * (`rha_tree_scan_job_read`), for example to send them over a socket.
 *
 * Memory: one directory listing per level of the current path plus one
 * signature block (about 256 KiB). Ownership: made by
 * `rha_tree_scan_job_new`, released with `rha_tree_scan_job_free`. Thread
 * safety: one thread at a time.
 */
typedef struct rha_tree_scan_job rha_tree_scan_job;

/**
 * A borrowed run of bytes: `len` bytes at `ptr`. `ptr` may be NULL if and
 * only if `len` is 0.
 *
 * In a record given to the library, the bytes belong to the caller and are
 * read only during the call. In a record the library hands out, they belong
 * to the library; the function that produced the record says how long they
 * stay valid. Empty views the library hands out always have a NULL `ptr`.
 */
typedef struct rha_bytes {
    /**
     * First byte, or NULL when `len` is 0.
     */
    const uint8_t *ptr;
    /**
     * Number of bytes.
     */
    size_t len;
} rha_bytes;

/**
 * A command for `rha_ha_scenario_command`.
 *
 * `text` (UTF-8) is the host of a test failover, the name of a bookmark,
 * or the word typed to confirm a destructive command (`SWITCHOVER`,
 * `FAILOVER`, `FAILBACK`, `CLEANUP`), and is ignored by the other kinds;
 * it is read only during the call.
 */
typedef struct rha_ha_command {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_ha_command_kind` value.
     */
    uint32_t kind;
    /**
     * Ignored (kept for the layout): destructive commands take their typed
     * confirmation word in `text`.
     */
    bool confirm;
    /**
     * For switchback and reverse replication: the original master was
     * restored from scratch (the first reverse sync is volume-level).
     */
    bool master_restored;
    /**
     * Host or bookmark name.
     */
    struct rha_bytes text;
} rha_ha_command;

/**
 * A fact for `rha_ha_scenario_observe`; `text` (UTF-8) is read only during
 * the call.
 */
typedef struct rha_ha_observation {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_ha_observation_kind` value.
     */
    uint32_t kind;
    /**
     * The action reported on.
     */
    uint64_t action_id;
    /**
     * The Is Alive link (index in the configuration).
     */
    uint32_t link;
    /**
     * Whether the heartbeat was answered.
     */
    bool alive;
    /**
     * A failure's reason.
     */
    struct rha_bytes text;
} rha_ha_observation;

/**
 * An action handed out by `rha_ha_scenario_poll_action`: the common
 * parameters flattened, and every parameter in `json` (the whole action
 * as one JSON object).
 *
 * `text` and `json` are borrowed from the scenario: valid until the next
 * `rha_ha_scenario_poll_action` on the same scenario or its free.
 */
typedef struct rha_ha_action {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The id to report with `RHA_HA_OBS_ACTION_COMPLETED` / `_FAILED`.
     */
    uint64_t id;
    /**
     * An `rha_ha_action_kind` value.
     */
    uint32_t kind;
    /**
     * Whether the scenario waits for a report on this action.
     */
    bool awaits_report;
    /**
     * The host, an `rha_ha_side` value (start/stop services, check alive).
     */
    uint32_t host;
    /**
     * Kind-specific flag: test (start services), fence (stop services),
     * undo (redirect), reverse (begin sync).
     */
    bool flag;
    /**
     * Redirection step index, Is Alive link, image number or sync kind.
     */
    uint64_t number;
    /**
     * Host or bookmark name (UTF-8), empty if none.
     */
    struct rha_bytes text;
    /**
     * The whole action as JSON.
     */
    struct rha_bytes json;
} rha_ha_action;

/**
 * An event handed out by `rha_ha_scenario_poll_event`.
 *
 * `json` is borrowed from the scenario: valid until the next
 * `rha_ha_scenario_poll_event` on the same scenario or its free.
 */
typedef struct rha_ha_event {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_ha_event_kind` value.
     */
    uint32_t kind;
    /**
     * For a state change: the old state (`rha_ha_state`).
     */
    uint32_t from;
    /**
     * For a state change: the new state (`rha_ha_state`).
     */
    uint32_t to;
    /**
     * Kind-specific: automatic (unresponsive, switchover started), ok
     * (operation finished), scenario stopped (spool full).
     */
    bool flag;
    /**
     * Kind-specific: link, image or action id.
     */
    uint64_t number;
    /**
     * The whole event as JSON.
     */
    struct rha_bytes json;
} rha_ha_event;

/**
 * A scenario's status, filled by `rha_ha_scenario_status`.
 */
typedef struct rha_ha_status {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The state, an `rha_ha_state` value.
     */
    uint32_t state;
    /**
     * The host serving clients, an `rha_ha_side` value.
     */
    uint32_t active;
    /**
     * Whether an operation waits for action reports.
     */
    bool busy;
    /**
     * Whether the replica holds the master's latest data.
     */
    bool replica_current;
    /**
     * Whether the configuration is locked (switched over, failed over, or
     * any transitional state).
     */
    bool config_locked;
    /**
     * Whether the replication link to the replica is up (as last
     * observed).
     */
    bool replica_connected;
    /**
     * Whether the active host was declared dead while an operation or a
     * test stood in the way; it is acted on when that ends.
     */
    bool failure_pending;
    /**
     * Whether the scenario was restored and not yet given the time (call
     * `rha_ha_scenario_handle_timeout` at once).
     */
    bool awaiting_restart;
} rha_ha_status;

/**
 * Input for a streaming call (the zstd convention): the bytes
 * `src[pos..size]` have not been consumed yet.
 *
 * The caller owns the memory; a call reads `src` only while it runs and
 * advances `pos` past the bytes it consumed (also when it fails). `src` may
 * be NULL only if `size` is 0. `pos > size` is `RHA_INVALID_ARGUMENT`.
 */
typedef struct rha_in_buffer {
    /**
     * Start of the caller's input.
     */
    const uint8_t *src;
    /**
     * Bytes readable at `src`.
     */
    size_t size;
    /**
     * Bytes already consumed; the call advances it.
     */
    size_t pos;
} rha_in_buffer;

/**
 * One journal record, flattened: `op` says which fields are meaningful.
 *
 * Records the reader produces have every field the operation does not use
 * set to zero (empty views have a NULL `ptr`); the writer ignores those
 * fields, so a record zeroed with `rha_record_init` and then filled in is
 * all the writer needs. The views (`rha_bytes`) in a record given to the
 * writer are borrowed for the duration of the call only; the views in a
 * record the reader produces belong to the reader (see
 * `rha_journal_reader_next`).
 */
typedef struct rha_record {
    /**
     * `sizeof` this struct as the caller knows it: set by `rha_record_init`
     * (or by the caller) before the record is passed in or filled (see the
     * conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * Sequence number. Set by the reader; ignored by
     * `rha_journal_writer_append`, which assigns it.
     */
    uint64_t seq;
    /**
     * Capture time, nanoseconds since the Unix epoch (as the capture source
     * supplied it; rha never reads a clock).
     */
    uint64_t timestamp_ns;
    /**
     * An `rha_op` value.
     */
    uint32_t op;
    /**
     * SET_ATTR: which of `mode`, `uid`, `gid`, `atime_ns`, `mtime_ns` are
     * set (a bitwise OR of `rha_attr_flag` values).
     */
    uint32_t attr_mask;
    /**
     * The path of every file operation; RENAME: the old name; HARD_LINK: the
     * existing file. Relative, `/`-separated bytes: no leading `/`, no empty,
     * `.` or `..` component, no NUL, at most 4096 bytes.
     */
    struct rha_bytes path;
    /**
     * RENAME: the new name; HARD_LINK: the new link.
     */
    struct rha_bytes path2;
    /**
     * WRITE, BLOCK_WRITE: the bytes written; SYMLINK: the link target;
     * SET_XATTR: the attribute value.
     */
    struct rha_bytes data;
    /**
     * SET_XATTR, REMOVE_XATTR: the attribute name; BOOKMARK: the bookmark
     * name (UTF-8).
     */
    struct rha_bytes name;
    /**
     * WRITE, BLOCK_WRITE, DISCARD: the byte offset.
     */
    uint64_t offset;
    /**
     * SET_LEN: the new length; DISCARD: the number of bytes discarded.
     */
    uint64_t length;
    /**
     * TX_BEGIN, TX_COMMIT: the transaction id; SYNC_START, SYNC_END: the sync
     * id; EPOCH: the scenario id.
     */
    uint64_t id;
    /**
     * EPOCH: the epoch number.
     */
    uint64_t epoch;
    /**
     * SET_ATTR: access time, nanoseconds since the Unix epoch (negative
     * before 1970).
     */
    int64_t atime_ns;
    /**
     * SET_ATTR: modification time, nanoseconds since the Unix epoch.
     */
    int64_t mtime_ns;
    /**
     * BLOCK_WRITE, DISCARD: the volume's index in the scenario.
     */
    uint32_t volume;
    /**
     * CREATE, MKDIR, MKNOD, and SET_ATTR with `RHA_ATTR_MODE`: permission
     * (and file type) bits as in `st_mode`.
     */
    uint32_t mode;
    /**
     * SET_ATTR with `RHA_ATTR_UID`: owner user id.
     */
    uint32_t uid;
    /**
     * SET_ATTR with `RHA_ATTR_GID`: owner group id.
     */
    uint32_t gid;
    /**
     * BOOKMARK: 1 if the application declared its data consistent at this
     * point, else 0 (the writer rejects other values).
     */
    uint8_t app_consistent;
    /**
     * MKNOD: the device number (`st_rdev`), 0 for a FIFO. Added after the
     * first layout: a record whose `struct_size` ends before it reads as 0
     * here.
     */
    uint64_t rdev;
} rha_record;

/**
 * How a journal ended, from `rha_journal_reader_finish`.
 */
typedef struct rha_journal_end {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * false: the input ended cleanly after a complete frame (or was empty);
     * true: the input ends inside a frame, a torn tail (for example a write
     * cut short by a crash).
     */
    bool torn;
    /**
     * Clean: the total length of the input. Torn: where the incomplete frame
     * starts, i.e. the length of the intact prefix; truncating the journal
     * to this many bytes is safe.
     */
    uint64_t offset;
    /**
     * Torn: the number of bytes from `offset` to the end of the input.
     * Clean: 0.
     */
    uint64_t tail_len;
} rha_journal_end;

/**
 * Output room for a streaming call (the zstd convention): a call writes at
 * `dst + pos`, at most `size - pos` bytes, and advances `pos` past what it
 * wrote.
 *
 * The caller owns the memory; a call writes to it only while it runs. `dst`
 * may be NULL only if `size` is 0. `pos > size` is `RHA_INVALID_ARGUMENT`.
 */
typedef struct rha_out_buffer {
    /**
     * Start of the caller's output room.
     */
    uint8_t *dst;
    /**
     * Bytes writable at `dst`.
     */
    size_t size;
    /**
     * Bytes already filled; the call advances it.
     */
    size_t pos;
} rha_out_buffer;

/**
 * Receives one log message.
 *
 * `level` is an `rha_log_level`. `target` names the part of rha that
 * speaks (a Rust module path such as `rha_core::spool::recover`);
 * `message` is the text, preceded by the spans it happened in and
 * followed by its fields, for example
 * `spool_open{dir=/var/spool}:spool_recovery: torn tail truncated
 * file=seg-00000000000000000001.rhaj offset=4096 bytes=17 last_good_seq=41`.
 * A span is named only if `max_level` takes in its level (spool, sync,
 * apply and rewind spans are `RHA_LOG_INFO`, job spans `RHA_LOG_DEBUG`).
 * Both are UTF-8 of `target_len` and `message_len` bytes, followed by a
 * NUL byte (not counted) and holding no other NUL: they can be printed
 * with `%s`. They belong to rha and are valid only during the call.
 *
 * Called from any thread that runs rha code, including the helper threads
 * of jobs, possibly from several at once: the callback must be
 * thread-safe. It must not call `rha_log_set_callback` (that call fails
 * with `RHA_INVALID_STATE`); messages that rha code called from inside the
 * callback would log are dropped.
 */
typedef void (*rha_log_fn)(void *userdata,
                           uint32_t level,
                           const char *target,
                           size_t target_len,
                           const char *message,
                           size_t message_len);

/**
 * What `rha_replica_apply_journal` did.
 */
typedef struct rha_apply_report {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * Records applied.
     */
    uint64_t applied;
    /**
     * Records skipped because the replica already had them.
     */
    uint64_t skipped;
    /**
     * Records of a transaction that does not commit in the journal: kept in
     * the spool directory and applied when a later journal commits it.
     */
    uint64_t uncommitted;
    /**
     * Whether the journal ends with a torn tail (an incomplete last record,
     * not applied).
     */
    bool torn;
    /**
     * Where the torn tail starts, if `torn`.
     */
    uint64_t torn_at;
    /**
     * Whether the replica is at a point (`point` is meaningful).
     */
    bool has_point;
    /**
     * The replica's point afterwards: the last record applied.
     */
    uint64_t point;
} rha_apply_report;

/**
 * The rewind state of a replica, from `rha_replica_info`.
 */
typedef struct rha_rewind_info {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * Whether the replica has a rewind log.
     */
    bool rewind;
    /**
     * Whether the replica is at a point (`current` is meaningful).
     */
    bool has_point;
    /**
     * The current point.
     */
    uint64_t current;
    /**
     * Number of points (`rha_replica_point` indexes 0 to `points - 1`,
     * oldest first).
     */
    size_t points;
    /**
     * Number of bookmarks (`rha_replica_bookmark` indexes them, oldest first).
     */
    size_t bookmarks;
    /**
     * Whether the replica is rewound and `rha_replica_undo_rewind` can go
     * back.
     */
    bool rewound;
} rha_rewind_info;

/**
 * A rewind point.
 */
typedef struct rha_rewind_point {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The last record applied at this point.
     */
    uint64_t seq;
    /**
     * Whether `timestamp_ns` is known (not for the oldest point).
     */
    bool has_time;
    /**
     * When the point was reached, nanoseconds since the Unix epoch.
     */
    uint64_t timestamp_ns;
} rha_rewind_point;

/**
 * A bookmark. `name` is borrowed from the replica handle: valid until the
 * next call on that replica.
 */
typedef struct rha_bookmark {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The name, NUL-terminated UTF-8.
     */
    const char *name;
    /**
     * The point it marks.
     */
    uint64_t seq;
    /**
     * When it was set.
     */
    uint64_t timestamp_ns;
    /**
     * Whether it is application-consistent.
     */
    bool app_consistent;
} rha_bookmark;

/**
 * What a rewind did (or, for a dry run, would do).
 */
typedef struct rha_rewind_plan {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The point before.
     */
    uint64_t from;
    /**
     * The point after.
     */
    uint64_t to;
    /**
     * Records undone.
     */
    uint64_t records;
    /**
     * Distinct paths (and volumes) changed.
     */
    uint64_t paths;
    /**
     * Payload bytes written back.
     */
    uint64_t bytes;
} rha_rewind_plan;

/**
 * A node's data generations, which decide in the handshake who may be
 * the source of the data: an empty replica, or one whose current
 * generation is the master's bitmap or history generation, is
 * synchronised first; the same current generation follows the journal; a
 * replica newer than the master, or one that diverged, is refused. A
 * frozen struct (no size field).
 */
typedef struct rha_session_generations {
    /**
     * The generation of the data on the disk now (0: no data).
     */
    uint64_t current;
    /**
     * The generation at which difference tracking started (0: none).
     */
    uint64_t bitmap;
    /**
     * Older generations, newest first (0: none).
     */
    uint64_t history[2];
} rha_session_generations;

/**
 * A point in a scenario's journal: the epoch (which master's journal) and
 * the sequence number of the last record covered (0: none). A frozen
 * struct (no size field): it will never gain fields.
 */
typedef struct rha_session_point {
    /**
     * The journal's epoch.
     */
    uint64_t epoch;
    /**
     * The last record's sequence number, 0 for none.
     */
    uint64_t seq;
} rha_session_point;

/**
 * The settings of one side of a session, read by `rha_session_new`. Fill
 * it with `rha_session_config_init` (the defaults, `struct_size`
 * included), then set at least `role`, `node` and `scenario`.
 *
 * The caller owns it; `rha_session_new` reads it (and the bytes `name`
 * views) during the call only.
 *
 * The fields from `can_sync` on were added after the first version of
 * this struct: a caller built with that version's size gets their
 * defaults (no sync).
 */
typedef struct rha_session_config {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * This side's role, an `rha_session_role` value (no default: 0 is
     * refused).
     */
    uint32_t role;
    /**
     * This node's identity: 16 bytes, unique per node (for example the
     * first 16 bytes of its certificate's fingerprint).
     */
    uint8_t node[16];
    /**
     * The scenario's identity: 16 bytes, the same on both sides.
     */
    uint8_t scenario[16];
    /**
     * This node's data generations (default all 0: no data).
     */
    struct rha_session_generations generations;
    /**
     * A master: the last record it holds. A replica: the last record
     * stored durably in its spool, where the journal resumes.
     */
    struct rha_session_point stored;
    /**
     * A replica: the last record applied durably (a master: ignored).
     */
    struct rha_session_point applied;
    /**
     * Milliseconds between this side's heartbeats (default 3000).
     */
    uint64_t heartbeat_ms;
    /**
     * Milliseconds of silence from the peer that end the session, also
     * the bound on the handshake (default 30000).
     */
    uint64_t timeout_ms;
    /**
     * A replica: bytes of journal frames it accepts before its first
     * `rha_session_grant` (default 8 MiB; at most 2^40).
     */
    uint64_t window;
    /**
     * The largest message body accepted, in bytes (default 16 MiB). A
     * master also sends at most this less 24 bytes of frames per journal
     * message, so give both sides the same value.
     */
    uint64_t max_body;
    /**
     * A name for the peer's logs (UTF-8, such as the host name; empty by
     * default; cut at 1024 bytes).
     */
    struct rha_bytes name;
    /**
     * A master: it can synchronise a replica over the session (it has a
     * tree to sync from): 0 or 1 (default 0). A replica that needs a sync
     * then gets one (`sync` in the connected event; the master runs it
     * with `rha_session_send_sync`); otherwise the journal follows where it
     * can and the connected event says a sync was needed. A replica:
     * ignored.
     */
    uint8_t can_sync;
    /**
     * A master: the replica needs a sync whatever its points say (this
     * master's spool overflowed and changes were not journaled): 0 or 1
     * (default 0). A replica: ignored.
     */
    uint8_t resync;
    /**
     * A master: the first record it still holds (records before it were
     * reclaimed); a replica that stored less needs a sync. 0 (the default)
     * or 1: all. A replica: ignored.
     */
    uint64_t first_held;
} rha_session_config;

/**
 * An event handed out by `rha_session_poll_event`. Fields that do not
 * belong to the event's kind are zero (views empty).
 *
 * The views `frames`, `name`, `text`, `sync_path` and `sync_data` are
 * borrowed from the session: valid until the next `rha_session_poll_event`
 * on the same session or its free, whichever comes first. Copy the bytes
 * to keep them longer.
 *
 * The fields from `sync_id` on were added after the first version of this
 * struct (a caller built with that version's size does not get them, nor
 * the sync events' details: it sees their kinds, which it skips).
 */
typedef struct rha_session_event {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_session_event_kind` value.
     */
    uint32_t kind;
    /**
     * Connected: the protocol version spoken.
     */
    uint32_t version;
    /**
     * Connected: the replica's data must be synchronised before the
     * journal can follow (it is empty, older than the master's generation,
     * or of another epoch).
     */
    bool sync_needed;
    /**
     * Connected: the journal resumes after this point (the replica's
     * stored point, or the start of the master's epoch).
     */
    struct rha_session_point resume_after;
    /**
     * Journal: the journal's epoch.
     */
    uint64_t epoch;
    /**
     * Journal: the first record's sequence number.
     */
    uint64_t first;
    /**
     * Journal: the last record's sequence number.
     */
    uint64_t last;
    /**
     * Journal: the frames, as the journal encodes them (without the
     * journal's stream header; possibly a zstd batch frame).
     */
    struct rha_bytes frames;
    /**
     * Acked: an `rha_session_ack_kind` value.
     */
    uint32_t ack_kind;
    /**
     * Acked: records up to here. Control (bookmark): where the bookmark
     * goes.
     */
    struct rha_session_point at;
    /**
     * Control: an `rha_session_control_kind` value.
     */
    uint32_t control;
    /**
     * Control (bookmark): the bookmark's name (UTF-8).
     */
    struct rha_bytes name;
    /**
     * Closed: the reason, an `rha_session_reason` value (or a code a later
     * version of the peer sent).
     */
    uint32_t reason;
    /**
     * Closed: details for logs (UTF-8).
     */
    struct rha_bytes text;
    /**
     * Closed: the peer ended the session (false: this side did).
     */
    bool by_peer;
    /**
     * Sync, sync reply: the run the message belongs to.
     */
    uint64_t sync_id;
    /**
     * Connected: a sync over this session comes first (the master can
     * sync and the replica needs it): the master runs it with
     * `rha_session_send_sync`, the replica answers it; the journal
     * continues after `resume_after` meanwhile, and the replica applies it
     * only once the sync is done.
     */
    bool sync;
    /**
     * Sync: an `rha_session_sync_kind` value. Sync reply: an
     * `rha_session_sync_reply_kind` value. Expect values a later version
     * adds (skip them).
     */
    uint32_t sync_kind;
    /**
     * Sync begin: how files on both sides are compared, an `rha_sync_mode`
     * value.
     */
    uint32_t sync_mode;
    /**
     * Sync begin: the block size of a block-level sync (a power of two
     * from 4096 to 16 MiB).
     */
    uint32_t sync_block_size;
    /**
     * Sync begin: files of the same size and modification time count as
     * equal.
     */
    bool sync_ignore_same;
    /**
     * Sync check: `sync_hash` is BLAKE3 of the 16-byte hashes of the file's
     * blocks of the run's block size, in order (false: of its content).
     */
    bool sync_by_blocks;
    /**
     * Sync reply tree and blocks: this is the answer's last piece.
     */
    bool sync_last;
    /**
     * Sync blocks, sync reply blocks: the request's number (the master's
     * choice; the reply echoes it).
     */
    uint64_t sync_file;
    /**
     * Sync check: the file's length.
     */
    uint64_t sync_len;
    /**
     * Sync end: the last journal record the sync's content may include
     * (`UINT64_MAX`: all, until the next sync); the replica applies the
     * journal up to it in replay mode.
     */
    uint64_t sync_replay_to;
    /**
     * Sync end: entries the sync changed.
     */
    uint64_t sync_entries;
    /**
     * Sync end: bytes of file content sent. Sync reply progress: bytes of
     * file content written.
     */
    uint64_t sync_bytes;
    /**
     * Sync reply progress: records applied.
     */
    uint64_t sync_records;
    /**
     * Sync check: the file's hash (BLAKE3, 32 bytes; see `sync_by_blocks`).
     */
    uint8_t sync_hash[32];
    /**
     * Sync blocks, sync check, sync reply mismatch: the file, a relative
     * path as the journal encodes it (not necessarily UTF-8).
     */
    struct rha_bytes sync_path;
    /**
     * Sync begin: the paths the run covers, each a 16-bit little-endian
     * length and a relative path (empty: the whole tree). Sync records:
     * the sync's journal frames (without the journal's stream header;
     * records numbered from 1 within the run). Sync reply
     * tree: a piece of the replica's tree signature. Sync reply blocks:
     * block hashes, 16 bytes each.
     */
    struct rha_bytes sync_data;
} rha_session_event;

/**
 * The peer's hello, filled by `rha_session_peer`: what the peer said about
 * itself first. Its `name` view is borrowed from the session: valid until
 * the session is freed (the hello never changes once heard).
 */
typedef struct rha_session_hello {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The lowest protocol version the peer speaks.
     */
    uint32_t version_min;
    /**
     * The highest.
     */
    uint32_t version_max;
    /**
     * The peer's role, an `rha_session_role` value.
     */
    uint32_t role;
    /**
     * The peer's identity.
     */
    uint8_t node[16];
    /**
     * The scenario the peer serves.
     */
    uint8_t scenario[16];
    /**
     * The peer's data generations.
     */
    struct rha_session_generations generations;
    /**
     * A replica: its last record durable in its spool. A master: its last
     * record held.
     */
    struct rha_session_point stored;
    /**
     * A replica: its last record applied durably. A master: zero.
     */
    struct rha_session_point applied;
    /**
     * The peer's heartbeat interval, milliseconds.
     */
    uint32_t heartbeat_ms;
    /**
     * The largest message body the peer accepts.
     */
    uint32_t max_body;
    /**
     * A replica: bytes of frames it accepted before its first grant. A
     * master: 0.
     */
    uint64_t window;
    /**
     * The peer's name for logs (UTF-8).
     */
    struct rha_bytes name;
} rha_session_hello;

/**
 * A sync message or reply to send (`rha_session_send_sync`,
 * `rha_session_send_sync_reply`). Fill it with
 * `rha_session_sync_message_init` (all zero, `struct_size` set), then set
 * `sync_kind`, `id` and the fields of that kind; the others are ignored.
 *
 * The caller owns it; the calls read it (and the bytes its views `path`
 * and `data` point to) during the call only.
 */
typedef struct rha_session_sync_message {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * `rha_session_send_sync`: an `rha_session_sync_kind` value.
     * `rha_session_send_sync_reply`: an `rha_session_sync_reply_kind`
     * value.
     */
    uint32_t sync_kind;
    /**
     * Every kind: the run (the master's choice at the begin; every message
     * of the run carries it).
     */
    uint64_t id;
    /**
     * Begin: how files on both sides are compared, an `rha_sync_mode`
     * value.
     */
    uint32_t mode;
    /**
     * Begin: the block size of a block-level comparison, a power of two
     * from 4096 to 16 MiB, or 0 for the default (64 KiB).
     */
    uint32_t block_size;
    /**
     * Begin: files of the same size and modification time count as equal:
     * 0 or 1.
     */
    uint8_t ignore_same;
    /**
     * Check: `hash` is BLAKE3 of the 16-byte hashes of the file's blocks
     * of the run's block size, in order (a file sent by blocks): 0 or 1
     * (0: BLAKE3 of its content).
     */
    uint8_t by_blocks;
    /**
     * Reply tree and reply blocks: this is the answer's last piece: 0 or 1.
     */
    uint8_t last;
    /**
     * Blocks, reply blocks: the request's number.
     */
    uint64_t file;
    /**
     * Check: the file's length.
     */
    uint64_t len;
    /**
     * End: the last journal record the sync's content may include
     * (`UINT64_MAX`: all of them, until the next sync).
     */
    uint64_t replay_to;
    /**
     * End: entries the sync changed.
     */
    uint64_t entries;
    /**
     * End: bytes of file content sent. Reply progress: bytes of file
     * content written.
     */
    uint64_t bytes;
    /**
     * Reply progress: records applied.
     */
    uint64_t records;
    /**
     * Check: the file's hash (32 bytes; see `by_blocks`).
     */
    uint8_t hash[32];
    /**
     * Blocks, check, reply mismatch: the file, a relative path as the
     * journal defines it (at most 4096 bytes, no empty, `.` or `..`
     * component, no leading or trailing `/`).
     */
    struct rha_bytes path;
    /**
     * Begin: the paths the run covers, each a 16-bit little-endian length
     * and a relative path (a run narrowed to what a degraded spool marked
     * dirty); empty: the whole tree. Records: the sync's journal frames
     * (at least one byte). Reply tree: a piece of the tree signature (may
     * be empty). Reply blocks: block hashes, a multiple of 16 bytes (may
     * be empty).
     */
    struct rha_bytes data;
} rha_session_sync_message;

/**
 * Reads up to `len` bytes of the basis at `offset` into `buf` and stores
 * the count in `*read_out` (0 only at or past the end of the basis).
 * Returns 0 on success, any other value (for example an errno) on failure.
 *
 * The jobs that read their basis through it: `rha_patch_job_new`
 * (called during `rha_patch_job_run`), `rha_fixed_delta_job_new` (during
 * `rha_fixed_delta_job_run`), `rha_in_place_patch_job_new` (during
 * `rha_in_place_patch_job_run`) and `rha_delta_ops_job_new` (during
 * `rha_delta_ops_job_next`); always on the thread making that call, with
 * the `userdata` given to the job.
 */
typedef int32_t (*rha_read_at_fn)(void *userdata,
                                  uint64_t offset,
                                  uint8_t *buf,
                                  size_t len,
                                  size_t *read_out);

/**
 * Options of `rha_signature_file`, `rha_delta_file` and `rha_patch_file`
 * (each reads the fields it uses). Initialise with `rha_file_options_init`,
 * then change fields; NULL instead of a pointer means the defaults.
 *
 * Evolution: `struct_size` is `sizeof(rha_file_options)` as the caller was
 * compiled (`rha_file_options_init` sets it); later versions add fields at
 * the end only, accept the size of every released version and read only
 * the fields that fit in it.
 */
typedef struct rha_file_options {
    /**
     * `sizeof(rha_file_options)`; a size no released version had is
     * refused with `RHA_INVALID_ARGUMENT`.
     */
    uint32_t struct_size;
    /**
     * Signature block length: 0 (default) for about the square root of
     * the input's length, otherwise 16..=16777216.
     */
    uint32_t block_len;
    /**
     * Bytes of strong hash per block: 0 (default) for the length that
     * keeps a false match below 2^-64, otherwise 8..=32.
     */
    uint32_t strong_len;
    /**
     * An `rha_strong_hash` value (default `RHA_STRONG_HASH_BLAKE3`).
     */
    uint32_t strong_hash;
    /**
     * An `rha_delta_format` value for `rha_delta_file` (default
     * `RHA_DELTA_FORMAT_RHA`).
     */
    uint32_t format;
    /**
     * Hashing threads, the calling one included; 0 (default): one per core.
     * The output does not depend on it.
     */
    uint32_t threads;
    /**
     * `rha_patch_file` refuses to write more than this many bytes (default
     * `UINT64_MAX`).
     */
    uint64_t max_output;
} rha_file_options;

/**
 * One range of an `rha_fixed_plan`: `length` bytes of the master at byte
 * `offset`, which are the blocks `first_block .. first_block +
 * block_count` (the last block of the file may be short).
 */
typedef struct rha_fixed_range {
    /**
     * Byte offset in the master's file (a multiple of the block length).
     */
    uint64_t offset;
    /**
     * Number of bytes.
     */
    uint64_t length;
    /**
     * Index of the first block of the range.
     */
    uint64_t first_block;
    /**
     * Number of blocks in the range.
     */
    uint64_t block_count;
} rha_fixed_range;

/**
 * Writes `len` bytes at `data` to the target at byte `offset`, extending
 * the target if needed. Returns 0 on success, any other value (for example
 * an errno) on failure. `data` is valid only during the call. Called only
 * during `rha_in_place_patch_job_run`, on the caller's thread.
 */
typedef int32_t (*rha_write_at_fn)(void *userdata, uint64_t offset, const uint8_t *data, size_t len);

/**
 * Sets the target's length to `len`, truncating or extending it with
 * zeros. Returns 0 on success, any other value on failure. Called only
 * during `rha_in_place_patch_job_run`, on the caller's thread.
 */
typedef int32_t (*rha_set_len_fn)(void *userdata, uint64_t len);

/**
 * What opening a spool found and repaired.
 */
typedef struct rha_spool_recovery {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The spool was new.
     */
    bool created;
    /**
     * Segment files kept.
     */
    uint64_t segments;
    /**
     * The sequence number the next record gets.
     */
    uint64_t next_seq;
    /**
     * The first unacknowledged sequence number: reading resumes here.
     */
    uint64_t resume_seq;
    /**
     * A torn tail was cut off the last segment.
     */
    bool torn;
    /**
     * If `torn`: the intact length of that segment.
     */
    uint64_t torn_offset;
    /**
     * If `torn`: the bytes cut off.
     */
    uint64_t torn_bytes;
    /**
     * Salvage mode cut the spool at a corruption.
     */
    bool salvaged;
    /**
     * If `salvaged`: the byte offset of the damage in its file.
     */
    uint64_t salvage_offset;
    /**
     * If `salvaged`: segment files discarded whole.
     */
    uint64_t discarded_segments;
} rha_spool_recovery;

/**
 * How one append behaves. Initialise with `rha_spool_append_options_init`.
 */
typedef struct rha_spool_append_options {
    /**
     * `sizeof` this struct as the caller knows it: set by
     * `rha_spool_append_options_init` (see the conventions on structs with
     * a size field).
     */
    uint32_t struct_size;
    /**
     * Return only once the record is durable (default `true`).
     */
    bool durable;
    /**
     * An `rha_spool_when_full` value (default `RHA_SPOOL_WHEN_FULL_OVERFLOW`).
     */
    uint32_t when_full;
    /**
     * For `RHA_SPOOL_WHEN_FULL_BLOCK`: the longest wait, in milliseconds.
     */
    uint64_t block_ms;
} rha_spool_append_options;

/**
 * What an append did, and a ticket to wait on with `rha_spool_wait`.
 */
typedef struct rha_spool_ticket {
    /**
     * `sizeof` this struct as the caller knows it: set before `rha_spool_append` fills it; `rha_spool_wait` checks it again
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * The record's sequence number, if `spooled`.
     */
    uint64_t seq;
    /**
     * `true`: the record was stored; `false`: the spool is degraded and
     * only the regions it changes were recorded.
     */
    bool spooled;
    /**
     * The append's number: waiting for it covers every earlier append.
     */
    uint64_t commit;
} rha_spool_ticket;

/**
 * Usage, limits and state of a spool.
 */
typedef struct rha_spool_usage {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * Bytes held in segments.
     */
    uint64_t used_bytes;
    /**
     * The maximum size; 0: unlimited.
     */
    uint64_t max_bytes;
    /**
     * Free bytes on the spool's file system, as last measured.
     */
    uint64_t free_bytes;
    /**
     * The minimum free space kept.
     */
    uint64_t min_free_bytes;
    /**
     * Bytes the spool may hold under both limits now.
     */
    uint64_t capacity_bytes;
    /**
     * Segment files.
     */
    uint64_t segments;
    /**
     * The oldest sequence number stored (equal to `next_seq` if none is).
     */
    uint64_t oldest_seq;
    /**
     * The sequence number the next record gets.
     */
    uint64_t next_seq;
    /**
     * Every record before this one is durable.
     */
    uint64_t durable_next_seq;
    /**
     * Every record before this one is acknowledged.
     */
    uint64_t resume_seq;
    /**
     * An `rha_spool_mode` value.
     */
    uint32_t mode;
    /**
     * If stopped or degraded: the first record not spooled.
     */
    uint64_t overflow_seq;
    /**
     * Dirty ranges recorded since a degrading overflow.
     */
    uint64_t dirty_ranges;
    /**
     * An i/o failure made the spool refuse writes until reopened.
     */
    bool failed;
} rha_spool_usage;

/**
 * A monitoring event.
 */
typedef struct rha_spool_event {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_spool_event_kind` value.
     */
    uint32_t kind;
    /**
     * USAGE: the threshold crossed, in percent.
     */
    uint32_t percent;
    /**
     * USAGE: bytes held.
     */
    uint64_t used_bytes;
    /**
     * USAGE: bytes allowed by the limits.
     */
    uint64_t capacity_bytes;
    /**
     * OVERFLOW: the first record not spooled; its policy is the spool's.
     */
    uint64_t overflow_seq;
} rha_spool_event;

/**
 * A changed byte range `[start, end)`; `end` is `RHA_SPOOL_RANGE_TO_END`
 * for "to the end of the file or volume".
 */
typedef struct rha_spool_range {
    /**
     * First changed byte (a multiple of the granularity).
     */
    uint64_t start;
    /**
     * One past the last changed byte (a multiple of the granularity, or
     * `RHA_SPOOL_RANGE_TO_END`); always greater than `start`.
     */
    uint64_t end;
} rha_spool_range;

/**
 * One file or volume with changes, as filled in by
 * `rha_spool_dirty_get`. Every pointer in it is borrowed from the
 * `rha_spool_dirty` snapshot and stays valid until that snapshot is freed.
 */
typedef struct rha_spool_dirty_target {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_spool_target_kind` value: `RHA_SPOOL_TARGET_FILE` or
     * `RHA_SPOOL_TARGET_VOLUME`.
     */
    uint32_t kind;
    /**
     * VOLUME: the volume index the scenario gave it; FILE: 0.
     */
    uint32_t volume;
    /**
     * FILE: the scenario-relative path (raw bytes, not NUL-terminated);
     * VOLUME: empty.
     */
    struct rha_bytes path;
    /**
     * The changed ranges, sorted by `start`, neither overlapping nor
     * touching; `range_count` of them (at least one).
     */
    const struct rha_spool_range *ranges;
    /**
     * Number of ranges at `ranges`.
     */
    size_t range_count;
} rha_spool_dirty_target;

/**
 * One entry of a tree signature, as a borrowed view.
 *
 * `path` and `target` point into memory owned by the handle that produced
 * the view; the producing function says how long they stay valid. They are
 * not NUL-terminated.
 *
 * Filled by `rha_tree_reader_next`, which checks `struct_size` as for
 * every struct with a size field. The entry embedded in `rha_plan_op` is
 * part of the plan step's layout, covered by the plan step's own
 * `struct_size`; there rha sets the entry's `struct_size` to
 * `sizeof(rha_tree_entry)`.
 */
typedef struct rha_tree_entry {
    /**
     * `sizeof` this struct as the caller knows it: set before
     * `rha_tree_reader_next` (see the conventions on structs with a size
     * field).
     */
    uint32_t struct_size;
    /**
     * Path relative to the tree's root, `/`-separated.
     */
    struct rha_bytes path;
    /**
     * An `rha_tree_kind` value.
     */
    uint32_t kind;
    /**
     * Permission bits (at most 07777).
     */
    uint32_t mode;
    /**
     * Owner user id.
     */
    uint32_t uid;
    /**
     * Owner group id.
     */
    uint32_t gid;
    /**
     * Length in bytes (files only; 0 otherwise).
     */
    uint64_t size;
    /**
     * Modification time, nanoseconds since the Unix epoch.
     */
    int64_t mtime_ns;
    /**
     * Symlink target (symlinks only; empty otherwise).
     */
    struct rha_bytes target;
    /**
     * Device number shared by hard links (valid if `has_link`).
     */
    uint64_t link_dev;
    /**
     * Inode number shared by hard links (valid if `has_link`).
     */
    uint64_t link_ino;
    /**
     * Whether the file has more than one name.
     */
    bool has_link;
    /**
     * Whether the file is sparse.
     */
    bool sparse;
} rha_tree_entry;

/**
 * One step of a sync plan, as a borrowed view (see `rha_plan_next` for how
 * long its pointers stay valid).
 *
 * `struct_size` covers the whole step, the embedded `entry` included: the
 * entry keeps the layout it has here, and fields a later version adds to
 * plan steps (entry fields among them) go at the end of this struct.
 */
typedef struct rha_plan_op {
    /**
     * `sizeof` this struct as the caller knows it: set before
     * `rha_plan_next` (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_plan_op_kind` value.
     */
    uint32_t op;
    /**
     * For `RHA_PLAN_SET_ATTRS`: a bitwise OR of `rha_plan_change_flag`
     * values; 0 otherwise.
     */
    uint32_t changes;
    /**
     * The master's entry the replica must end up with (for
     * `RHA_PLAN_DELETE`: the replica's path and kind).
     */
    struct rha_tree_entry entry;
    /**
     * For `RHA_PLAN_LINK`: the path of the file to link to; empty otherwise.
     */
    struct rha_bytes link_target;
} rha_plan_op;

/**
 * Totals of a scan.
 */
typedef struct rha_tree_scan_stats {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * Entries recorded.
     */
    uint64_t entries;
    /**
     * Regular files among them.
     */
    uint64_t files;
    /**
     * Sum of the files' sizes in bytes.
     */
    uint64_t bytes;
} rha_tree_scan_stats;

/**
 * How `rha_master_agent_start` runs a master agent. Fill it with
 * `rha_master_agent_config_init` (the defaults, `struct_size` included),
 * then set at least `state_dir`, `identity_dir`, `replica_address` and
 * `peer_fingerprint`.
 *
 * The caller owns it; `rha_master_agent_start` reads it (and the strings
 * and bytes it points to) during the call only.
 */
typedef struct rha_master_agent_config {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * Compress each message's journal frames with zstd: 0 or 1 (default
     * 0).
     */
    uint8_t zstd;
    /**
     * The agent's state directory (a path, created if missing): its state,
     * its `status.json` and its spool (in `spool/`), as `rha replicate
     * --spool DIR` keeps them. One agent at a time: it is locked.
     */
    const char *state_dir;
    /**
     * This master's identity directory (`rha_identity_generate`).
     */
    const char *identity_dir;
    /**
     * The replica's address, `host:port` (UTF-8), as `rha serve --listen`
     * or `rha_replica_agent_local_port` give it.
     */
    struct rha_bytes replica_address;
    /**
     * The replica's fingerprint, `sha256:` and 64 hexadecimal digits: the
     * only replica this master talks to.
     */
    struct rha_bytes peer_fingerprint;
    /**
     * The scenario's name, the same on both sides (UTF-8; empty, the
     * default: derived from the master's and the replica's fingerprints).
     */
    struct rha_bytes scenario_name;
    /**
     * A name for the replica's logs, such as the host name (UTF-8; empty
     * by default).
     */
    struct rha_bytes name;
    /**
     * Milliseconds between heartbeats (the scenario's Is Alive frequency;
     * default 3000).
     */
    uint64_t heartbeat_ms;
    /**
     * Silence from the replica for this many milliseconds ends a session
     * (default 30000); it also bounds the TLS handshake, at most 10 s.
     */
    uint64_t timeout_ms;
    /**
     * Journal bytes per message, about (default 1 MiB).
     */
    uint64_t batch_bytes;
    /**
     * The first wait before reconnecting, in milliseconds (default 200),
     * doubling with jitter up to `retry_max_ms` (default 30000).
     */
    uint64_t retry_min_ms;
    /**
     * See `retry_min_ms`.
     */
    uint64_t retry_max_ms;
    /**
     * The master directory the replica is synchronised from (a path) when
     * it needs a sync: a fresh replica, one of another epoch, one behind
     * what the spool still holds, or after an overflow (the master
     * compares the two trees and sends what differs, before the journal).
     * NULL, the default: no sync; the journal alone is sent, and a replica
     * that needs a sync is refused. Added after the first version of this
     * struct: a caller built with that version's size gets NULL, and the
     * defaults of the fields below.
     */
    const char *root_dir;
    /**
     * How a sync compares and sends: an `rha_sync_mode` value (default
     * `RHA_SYNC_FILE`, whole files; `RHA_SYNC_BLOCK`, changed blocks of
     * files on both sides).
     */
    uint32_t sync_mode;
    /**
     * Files of the same size and modification time count as equal: 0 or 1
     * (default 1). 0 compares them by content (by their blocks' hashes).
     */
    uint8_t ignore_same;
    /**
     * Block size of a block-level comparison, in bytes: a power of two
     * from 4096 to 16 MiB, or 0 for the default (64 KiB).
     */
    uint32_t sync_block_size;
} rha_master_agent_config;

/**
 * A snapshot of an agent, filled by `rha_master_agent_status`,
 * `rha_replica_agent_status` and their `_stop`. The caller allocates it
 * and sets `struct_size` (`rha_agent_status s = {.struct_size = sizeof
 * s};`); rha fills the rest.
 *
 * The `sync_*` fields and `resync_needed` were added after the first
 * version of this struct (which ended at `updated_unix_ms`): a caller
 * built with that version's size gets that version's fields only. They
 * describe the agent's last sync over the session (the master comparing
 * the two trees and sending what differs, before the journal), under way
 * or ended, on either side: 0 everywhere, and
 * `sync_phase` `RHA_AGENT_SYNC_NONE`, before the first.
 */
typedef struct rha_agent_status {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * An `rha_agent_role` value.
     */
    uint32_t role;
    /**
     * An `rha_agent_link` value.
     */
    uint32_t link;
    /**
     * A replica: application is paused (`RHA_SESSION_CONTROL_PAUSE`).
     */
    bool paused;
    /**
     * A replica: application stopped on an error (the replica keeps what
     * it applied; fix the cause and start the agent again).
     */
    bool apply_failed;
    /**
     * Sessions started (connections that reached the session; a master
     * whose handshakes are refused stays at 0).
     */
    uint64_t sessions;
    /**
     * The journal's epoch (0 for a replica that never met a master).
     */
    uint64_t epoch;
    /**
     * A master: the last durable record of its spool. A replica: the last
     * record stored durably.
     */
    uint64_t last_seq;
    /**
     * The last record acknowledged as stored durably on the replica.
     */
    uint64_t acked_stored;
    /**
     * The last record acknowledged as applied durably on the replica.
     */
    uint64_t acked_applied;
    /**
     * A master: records not yet acknowledged as stored. A replica:
     * records stored and not yet applied.
     */
    uint64_t lag_records;
    /**
     * Spooled bytes waiting (not yet reclaimed).
     */
    uint64_t lag_bytes;
    /**
     * Age in seconds of the oldest record not yet acknowledged (master)
     * or applied (replica), by the records' timestamps.
     */
    double lag_seconds;
    /**
     * Bytes the spool uses.
     */
    uint64_t spool_used_bytes;
    /**
     * Bytes the spool may use (its limit, or the free space).
     */
    uint64_t spool_capacity_bytes;
    /**
     * When the agent last updated the snapshot, milliseconds since the
     * Unix epoch (0 before its first report).
     */
    uint64_t updated_unix_ms;
    /**
     * The last sync's number (0: none yet).
     */
    uint64_t sync_id;
    /**
     * An `rha_agent_sync_phase` value: where the last sync stands.
     */
    uint32_t sync_phase;
    /**
     * An `rha_sync_mode` value: how the last sync compares and sends.
     */
    uint32_t sync_mode;
    /**
     * Entries this side scanned (a master: its tree; a replica: its own).
     */
    uint64_t sync_scanned_entries;
    /**
     * Bytes of the files this side scanned.
     */
    uint64_t sync_scanned_bytes;
    /**
     * A master: plan steps compared so far.
     */
    uint64_t sync_compared;
    /**
     * A master: entries created, changed or deleted on the replica.
     */
    uint64_t sync_sent_entries;
    /**
     * A master: bytes of file content sent.
     */
    uint64_t sync_sent_bytes;
    /**
     * A master: bytes of changed files the replica already had (block
     * mode).
     */
    uint64_t sync_matched_bytes;
    /**
     * Records of the sync the replica applied.
     */
    uint64_t sync_applied_records;
    /**
     * Bytes of file content the replica wrote.
     */
    uint64_t sync_applied_bytes;
    /**
     * Files sent again after their check failed.
     */
    uint64_t sync_resent;
    /**
     * A master: entries skipped (special files, files that vanished or
     * could not be read).
     */
    uint64_t sync_skipped;
    /**
     * When the last sync started, milliseconds since the Unix epoch.
     */
    uint64_t sync_started_unix_ms;
    /**
     * When it ended, milliseconds since the Unix epoch (0 while under
     * way).
     */
    uint64_t sync_finished_unix_ms;
    /**
     * A master: the replica needs a resynchronisation before it can follow
     * again (the spool overflowed, or a sync ended with another to
     * follow).
     */
    bool resync_needed;
} rha_agent_status;

/**
 * How `rha_replica_agent_start` runs a replica agent. Fill it with
 * `rha_replica_agent_config_init` (the defaults, `struct_size` included),
 * then set at least `root`, `identity_dir`, `listen_address` and the
 * allowed fingerprints.
 *
 * The caller owns it; `rha_replica_agent_start` reads it (and the strings,
 * the array and the bytes it points to) during the call only.
 */
typedef struct rha_replica_agent_config {
    /**
     * `sizeof` this struct as the caller knows it: set before the call
     * (see the conventions on structs with a size field).
     */
    uint32_t struct_size;
    /**
     * Keep a rewind log on the replica (rewind points and bookmarks on
     * the live replica): 0 or 1 (default 0).
     */
    uint8_t rewind;
    /**
     * The replica directory (a path; it must exist). The agent keeps its
     * state and its spool of received records in `.rha` inside, and locks
     * it.
     */
    const char *root;
    /**
     * This replica's identity directory (`rha_identity_generate`).
     */
    const char *identity_dir;
    /**
     * The address to listen on, `host:port` (UTF-8); port 0 takes any free
     * port (`rha_replica_agent_local_port` tells which).
     */
    struct rha_bytes listen_address;
    /**
     * The fingerprints of the masters allowed to connect (`sha256:` and 64
     * hexadecimal digits each): `allowed_count` views, at least one.
     */
    const struct rha_bytes *allowed;
    /**
     * The number of views at `allowed`.
     */
    size_t allowed_count;
    /**
     * The scenario's name, the same on both sides (UTF-8). Empty, the
     * default, derives it from the one allowed master's fingerprint and
     * this replica's; with more than one allowed master a name is
     * required.
     */
    struct rha_bytes scenario_name;
    /**
     * A name for the master's logs, such as the host name (UTF-8; empty by
     * default).
     */
    struct rha_bytes name;
    /**
     * Bytes of journal a master may send ahead of the acknowledgements
     * (default 8 MiB).
     */
    uint64_t window;
    /**
     * Milliseconds between heartbeats (default 3000).
     */
    uint64_t heartbeat_ms;
    /**
     * Silence from the master for this many milliseconds ends a session
     * (default 30000); it also bounds the TLS handshake, at most 10 s.
     */
    uint64_t timeout_ms;
} rha_replica_agent_config;

/**
 * Totals of a scan as the deprecated `rha_tree_scan_job_stats` returns
 * them, by value. Frozen: the layout `rha_tree_scan_stats` had in 0.1
 * before its size field; `rha_tree_scan_job_get_stats` fills the sized,
 * growable struct instead.
 */
typedef struct rha_tree_scan_totals {
    /**
     * Entries recorded.
     */
    uint64_t entries;
    /**
     * Regular files among them.
     */
    uint64_t files;
    /**
     * Sum of the files' sizes in bytes.
     */
    uint64_t bytes;
} rha_tree_scan_totals;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The version of the library linked at run time, as one number:
 * major * 10000 + minor * 100 + patch (the formula of `RHA_VERSION_NUMBER`).
 * Thread-safe.
 */
uint32_t rha_version_number(void);

/**
 * The version of the library linked at run time as a string such as
 * `"0.1.0"`. The string is static: never NULL, never to be freed.
 * Thread-safe.
 */
const char *rha_version_string(void);

/**
 * The name of a result code, such as `"RHA_OK"`.
 *
 * Returns a static NUL-terminated string (never NULL, never to be freed);
 * `"RHA_UNKNOWN"` for a value that is not a code of this version.
 * Thread-safe.
 */
const char *rha_result_name(rha_result code);

/**
 * The code of an error.
 *
 * `error` may be NULL, which gives `RHA_NULL_PARAMETER`. Thread-safe for
 * concurrent reads.
 *
 * # Safety
 *
 * `error` is NULL or an error object made by this library and not yet freed.
 */
enum rha_result rha_error_code(const struct rha_error *error);

/**
 * The message of an error: lowercase English with context (byte offset,
 * sequence number, field name, ...), for logs and people, not for parsing.
 *
 * Returns a NUL-terminated string owned by `error`: valid until
 * `rha_error_free(error)`; never NULL. `error` may be NULL, which gives a
 * static empty string. Thread-safe for concurrent reads.
 *
 * # Safety
 *
 * `error` is NULL or an error object made by this library and not yet freed.
 */
const char *rha_error_message(const struct rha_error *error);

/**
 * The stream byte offset a journal decoding error refers to (where the
 * damaged frame or stream header starts).
 *
 * Returns `true` and stores the offset in `*offset_out` if the error has
 * one; returns `false`, leaving `*offset_out` untouched, if it has none or
 * if `error` or `offset_out` is NULL. Thread-safe for concurrent reads.
 *
 * # Safety
 *
 * `error` is NULL or an error object made by this library and not yet freed;
 * `offset_out` is NULL or valid for writing a `uint64_t`.
 */
bool rha_error_offset(const struct rha_error *error, uint64_t *offset_out);

/**
 * The sequence number of the last record that decoded cleanly before a
 * journal decoding error.
 *
 * Returns `true` and stores it in `*seq_out` if there is one; returns
 * `false`, leaving `*seq_out` untouched, if no record decoded before the
 * error, if the error is not a decoding error, or if `error` or `seq_out` is
 * NULL. Thread-safe for concurrent reads.
 *
 * # Safety
 *
 * `error` is NULL or an error object made by this library and not yet freed;
 * `seq_out` is NULL or valid for writing a `uint64_t`.
 */
bool rha_error_last_seq(const struct rha_error *error, uint64_t *seq_out);

/**
 * The operating system's error number (`errno`) behind an `RHA_IO`
 * error, when there is one: stores it in `*code_out` and returns true.
 * Returns false (and leaves `*code_out` as it was) for other codes, for an
 * I/O error that carries no such number (an early end of input, say),
 * and if `error` or `code_out` is NULL.
 *
 * # Safety
 *
 * `error` is NULL or a live error; `code_out` is NULL or valid for
 * writing an `int32_t`.
 */
bool rha_error_os_code(const struct rha_error *error, int32_t *code_out);

/**
 * Releases an error object and its message. NULL does nothing.
 *
 * # Safety
 *
 * `error` is NULL or an error object made by this library, not yet freed,
 * and not used again after this call (nor its message).
 */
void rha_error_free(struct rha_error *error);

/**
 * Makes a scenario builder with the defaults described at
 * `rha_ha_scenario_builder`. Returns a new builder owned by the caller
 * (never NULL). Thread-safe.
 */
struct rha_ha_scenario_builder *rha_ha_scenario_builder_new(void);

/**
 * Sets the scenario's name (UTF-8, `name_len` bytes at `name`, read during
 * the call; used in logs and script context).
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
 * if the name is not UTF-8 or `name` is NULL with a non-zero length.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder used by no other thread; `name` is
 * valid for reading `name_len` bytes (or NULL with 0); `error_out` is NULL
 * or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_builder_set_name(struct rha_ha_scenario_builder *builder,
                                                 const uint8_t *name,
                                                 size_t name_len,
                                                 struct rha_error **error_out);

/**
 * Sets the scenario type, an `rha_ha_scenario_type` value: it decides which
 * redirection methods are allowed.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown type.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder used by no other thread; `error_out`
 * is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_builder_set_type(struct rha_ha_scenario_builder *builder,
                                                 uint32_t scenario_type_value,
                                                 struct rha_error **error_out);

/**
 * Sets the host of one side, `side` an `rha_ha_side` value
 * (`RHA_HA_MASTER` or `RHA_HA_REPLICA`): its computer name and its address
 * as text (`"10.0.0.1"`, `"fd00::1"`) with the prefix length of its network
 * segment. Both strings are UTF-8, read during the call.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `side` is not an
 * `rha_ha_side` value, the address does not parse or a string is not UTF-8.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder used by no other thread; `name` and
 * `address` are valid for reading their lengths (or NULL with 0);
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_builder_set_side_host(struct rha_ha_scenario_builder *builder,
                                                      uint32_t side,
                                                      const uint8_t *name,
                                                      size_t name_len,
                                                      const uint8_t *address,
                                                      size_t address_len,
                                                      uint8_t prefix_len,
                                                      struct rha_error **error_out);

/**
 * Sets the Is Alive heartbeat interval and timeout (nanoseconds) and
 * whether a detected failure switches over automatically. Checked at
 * build.
 *
 * Errors: `RHA_NULL_PARAMETER`.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder used by no other thread; `error_out`
 * is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_builder_set_is_alive(struct rha_ha_scenario_builder *builder,
                                                     uint64_t heartbeat_interval_ns,
                                                     uint64_t timeout_ns,
                                                     bool automatic,
                                                     struct rha_error **error_out);

/**
 * Adds an Is Alive link (the first call replaces the default ping link):
 * a name, an `rha_ha_check` method, the ping reply limit in nanoseconds
 * (ping only) and, for a user-defined check, the command to run
 * (`command`, UTF-8; may be empty otherwise). Links are numbered from 0 in
 * the order added.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * method or non-UTF-8 text.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder used by no other thread; `name` and
 * `command` are valid for reading their lengths (or NULL with 0);
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_builder_add_link(struct rha_ha_scenario_builder *builder,
                                                 const uint8_t *name,
                                                 size_t name_len,
                                                 uint32_t method,
                                                 uint64_t reply_limit_ns,
                                                 const uint8_t *command,
                                                 size_t command_len,
                                                 struct rha_error **error_out);

/**
 * Appends a redirection step given as a JSON object (UTF-8) whose
 * `method` is one of: `move_ip` (`address`, `prefix_len`,
 * `master_interface`, `replica_interface`); `switch_name`
 * (`master_name`, `replica_name`, `suffix`); `dns_redirect` (`server` as
 * `"host:port"`, `zone`, `name`, `ttl` in seconds, `master_address`,
 * `replica_address`); `alias_switch` with `kind` `dns` (`server`, `zone`,
 * `alias`, `ttl`, `master_target`, `replica_target`) or `net_bios`
 * (`alias`, `master_name`, `replica_name`); `script` (`path`, `args` an
 * array of strings, `timeout` as `{"secs":N,"nanos":N}`). For example
 * `{"method":"move_ip","address":"10.0.0.100","prefix_len":24,"master_interface":"eth0","replica_interface":"eth0"}`.
 * The plan is validated against the scenario type at build.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_HA_INVALID_CONFIG` if the JSON is not
 * a redirection step (the message says where).
 *
 * # Safety
 *
 * `builder` is NULL or a live builder used by no other thread; `json` is
 * valid for reading `json_len` bytes (or NULL with 0); `error_out` is NULL
 * or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_builder_add_redirect_json(struct rha_ha_scenario_builder *builder,
                                                          const uint8_t *json,
                                                          size_t json_len,
                                                          struct rha_error **error_out);

/**
 * Replaces every setting with a whole configuration given as JSON (UTF-8):
 * the `config` object of the state `rha_ha_scenario_save` writes.
 * Setters called after this one change it further.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_HA_INVALID_CONFIG` if the JSON is not
 * a configuration.
 *
 * # Safety
 *
 * As for `rha_ha_scenario_builder_add_redirect_json`.
 */
enum rha_result rha_ha_scenario_builder_set_config_json(struct rha_ha_scenario_builder *builder,
                                                        const uint8_t *json,
                                                        size_t json_len,
                                                        struct rha_error **error_out);

/**
 * Releases a builder not passed to `rha_ha_scenario_build`. NULL does
 * nothing.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder, not used again after this call.
 */
void rha_ha_scenario_builder_free(struct rha_ha_scenario_builder *builder);

/**
 * Makes a stopped scenario from `builder`, which this call consumes
 * (freed whether or not it succeeds).
 *
 * On success stores a new scenario in `*scenario_out`, owned by the caller
 * (release with `rha_ha_scenario_free`). Errors: `RHA_NULL_PARAMETER` if
 * `builder` or `scenario_out` is NULL; `RHA_HA_INVALID_CONFIG` if a host is
 * missing or the configuration breaks a rule (the message names the field
 * or redirection step and the rule, for example "redirection step 1:
 * switch computer name is not allowed for Exchange scenarios").
 *
 * # Safety
 *
 * `builder` is NULL or a live builder used by no other thread;
 * `scenario_out` is NULL or valid for writing an `rha_ha_scenario *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_build(struct rha_ha_scenario_builder *builder,
                                      struct rha_ha_scenario **scenario_out,
                                      struct rha_error **error_out);

/**
 * Releases a scenario and every view it handed out. NULL does nothing.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario, not used again after this call.
 */
void rha_ha_scenario_free(struct rha_ha_scenario *scenario);

/**
 * Applies an operator command at `now_ns` (the caller's monotonic clock,
 * nanoseconds). Poll actions and events afterwards.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown kind or `struct_size`
 * or bad text; `RHA_HA_REFUSED` when the command is not valid in the
 * current state and `RHA_HA_CONFIRMATION_REQUIRED` when a destructive
 * command's `text` is not its confirmation word — the message names the
 * state, the reason and the word to type, and the scenario is unchanged.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread; `command`
 * is NULL or points to a command whose `text` view is valid during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_command(struct rha_ha_scenario *scenario,
                                        const struct rha_ha_command *command,
                                        uint64_t now_ns,
                                        struct rha_error **error_out);

/**
 * Replaces the configuration (JSON, as for
 * `rha_ha_scenario_builder_set_config_json`) at `now_ns`, the caller's
 * monotonic clock in nanoseconds (the clock of every `now_ns`: timers the
 * new configuration changes count from it). Refused with
 * `RHA_HA_REFUSED` while the configuration is locked (switched over,
 * failed over, transitional states) and with `RHA_HA_INVALID_CONFIG` if it
 * does not validate; the scenario is then unchanged.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread; `json` is
 * valid for reading `json_len` bytes (or NULL with 0); `error_out` is NULL
 * or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_update_config_json(struct rha_ha_scenario *scenario,
                                                   const uint8_t *json,
                                                   size_t json_len,
                                                   uint64_t now_ns,
                                                   struct rha_error **error_out);

/**
 * Applies a fact (an action's outcome, a heartbeat, ...) at `now_ns`.
 * Observations are never refused: one that does not apply is ignored with
 * an event.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * kind or `struct_size` (the scenario is then unchanged).
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread;
 * `observation` is NULL or points to an observation whose `text` view is
 * valid during the call; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_ha_scenario_observe(struct rha_ha_scenario *scenario,
                                        const struct rha_ha_observation *observation,
                                        uint64_t now_ns,
                                        struct rha_error **error_out);

/**
 * Lets time pass to `now_ns`: runs due heartbeat rounds and the failure
 * detection. Call when the instant from `rha_ha_scenario_poll_timeout` is
 * reached (earlier or more often is harmless).
 *
 * Errors: `RHA_NULL_PARAMETER`.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_handle_timeout(struct rha_ha_scenario *scenario,
                                               uint64_t now_ns,
                                               struct rha_error **error_out);

/**
 * When `rha_ha_scenario_handle_timeout` must be called next: returns true
 * and stores the instant (nanoseconds) in `*deadline_ns_out`, or returns
 * false (no timer runs; or a NULL argument) leaving it untouched. Ask again
 * after every call that feeds the scenario.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread;
 * `deadline_ns_out` is NULL or valid for writing a `uint64_t`.
 */
bool rha_ha_scenario_poll_timeout(const struct rha_ha_scenario *scenario,
                                  uint64_t *deadline_ns_out);

/**
 * Takes the next action: `RHA_OK` with `*action_out` filled, or `RHA_DONE`
 * when there is none (`*action_out` untouched). Call after every call that
 * feeds the scenario until `RHA_DONE`. The views in `*action_out` belong
 * to the scenario and stay valid until the next `rha_ha_scenario_poll_action`
 * on it or its free.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `action_out->struct_size` (no action is taken).
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread;
 * `action_out` is NULL or valid for writing an `rha_ha_action`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_poll_action(struct rha_ha_scenario *scenario,
                                            struct rha_ha_action *action_out,
                                            struct rha_error **error_out);

/**
 * The action the operation in progress waits for (its intent): `RHA_OK`
 * with `*action_out` filled (the same id as when it was handed out; after a
 * restore it is handed out again), or `RHA_DONE` when nothing is awaited.
 * Nothing is taken from the action queue. Its `text` and `json` views stay
 * valid until the next `rha_ha_scenario_intent` on the scenario or its
 * free. `RHA_HA_CMD_ABANDON_STEP` gives the step up.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `action_out->struct_size`.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread;
 * `action_out` is NULL or valid for writing an `rha_ha_action`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_intent(struct rha_ha_scenario *scenario,
                                       struct rha_ha_action *action_out,
                                       struct rha_error **error_out);

/**
 * Takes the next event: `RHA_OK` with `*event_out` filled, or `RHA_DONE`
 * when there is none. Its `json` view stays valid until the next
 * `rha_ha_scenario_poll_event` on the scenario or its free. Events
 * accumulate until polled.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `event_out->struct_size` (no event is taken).
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread;
 * `event_out` is NULL or valid for writing an `rha_ha_event`; `error_out`
 * is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_poll_event(struct rha_ha_scenario *scenario,
                                           struct rha_ha_event *event_out,
                                           struct rha_error **error_out);

/**
 * Fills `*status_out` with the scenario's state, active host and flags.
 *
 * Errors: `RHA_NULL_PARAMETER`.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario; `status_out` is NULL or valid for
 * writing an `rha_ha_status`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_ha_scenario_status(const struct rha_ha_scenario *scenario,
                                       struct rha_ha_status *status_out,
                                       struct rha_error **error_out);

/**
 * Saves the whole machine state (versioned JSON, including queued actions
 * and events) and stores a view of it in `*state_out`: owned by the
 * scenario, valid until the next `rha_ha_scenario_save` on it or its free.
 * Pass the bytes to `rha_ha_scenario_restore` after an agent restart.
 *
 * Errors: `RHA_NULL_PARAMETER`.
 *
 * # Safety
 *
 * `scenario` is NULL or a live scenario used by no other thread;
 * `state_out` is NULL or valid for writing an `rha_bytes`; `error_out` is
 * NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_save(struct rha_ha_scenario *scenario,
                                     struct rha_bytes *state_out,
                                     struct rha_error **error_out);

/**
 * Makes a scenario from bytes saved by `rha_ha_scenario_save` (this
 * version or an older one); `state` is read during the call only. On
 * success stores a new scenario in `*scenario_out` (release with
 * `rha_ha_scenario_free`).
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_HA_STATE_CORRUPT` if the bytes do not
 * parse or contradict themselves (the message gives line and column or the
 * contradiction); `RHA_HA_STATE_UNSUPPORTED_VERSION` if a newer version
 * wrote them.
 *
 * # Safety
 *
 * `state` is valid for reading `state_len` bytes (or NULL with 0);
 * `scenario_out` is NULL or valid for writing an `rha_ha_scenario *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_ha_scenario_restore(const uint8_t *state,
                                        size_t state_len,
                                        struct rha_ha_scenario **scenario_out,
                                        struct rha_error **error_out);

/**
 * The name of an `rha_ha_state` value, such as `"switched over"`: a static
 * NUL-terminated string (never NULL, never freed); `"unknown"` for a value
 * this version does not know. Thread-safe.
 */
const char *rha_ha_state_name(uint32_t state);

/**
 * Makes a reader builder with the defaults: maximum record size 64 MiB,
 * the input starts with the stream header, any first sequence number.
 *
 * Returns a new builder owned by the caller (never NULL): pass it to
 * `rha_journal_reader_build` or `rha_journal_reader_builder_free`.
 * Thread-safe.
 */
struct rha_journal_reader_builder *rha_journal_reader_builder_new(void);

/**
 * Sets the largest record body accepted, in bytes (default 64 MiB); a
 * compressed batch may decompress to at most this plus one frame header.
 * This bounds every allocation the reader makes; a larger frame is
 * `RHA_JOURNAL_TOO_LARGE`.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
 * if `bytes` is 0.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_reader_builder_set_max_record_size(struct rha_journal_reader_builder *builder,
                                                               size_t bytes,
                                                               struct rha_error **error_out);

/**
 * Requires the first record to have sequence number `seq` (by default any
 * first number is accepted); otherwise decoding fails with
 * `RHA_JOURNAL_SEQUENCE`.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_reader_builder_set_first_seq(struct rha_journal_reader_builder *builder,
                                                         uint64_t seq,
                                                         struct rha_error **error_out);

/**
 * Says whether the input starts with the 16-byte stream header (default
 * `true`). Pass `false` to read frames that continue a journal whose header
 * was read elsewhere.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_reader_builder_set_stream_header(struct rha_journal_reader_builder *builder,
                                                             bool present,
                                                             struct rha_error **error_out);

/**
 * Releases a builder that was not passed to `rha_journal_reader_build`.
 * NULL does nothing.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder, not used again after this call.
 */
void rha_journal_reader_builder_free(struct rha_journal_reader_builder *builder);

/**
 * Makes a reader from `builder`, which this call consumes: `builder` is
 * freed whether or not the call succeeds and must not be used again.
 *
 * On success stores a new reader in `*reader_out`, owned by the caller
 * (release it with `rha_journal_reader_free`). Errors: `RHA_NULL_PARAMETER`
 * if `builder` or `reader_out` is NULL (a non-NULL `*reader_out` is then
 * set to NULL, as after any failure).
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread;
 * `reader_out` is NULL or valid for writing an `rha_journal_reader *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_reader_build(struct rha_journal_reader_builder *builder,
                                         struct rha_journal_reader **reader_out,
                                         struct rha_error **error_out);

/**
 * Reads the next record, consuming input from `input` as needed.
 *
 * The reader takes from `input->src + input->pos` only as many bytes as it
 * needs to complete the next record (copying them) and advances
 * `input->pos` past them, whatever the result; the rest stays the caller's.
 * `input` may be NULL, meaning no new input.
 *
 * Returns:
 * - `RHA_OK`: `*record_out` holds the next record. Its views (`path`,
 *   `path2`, `data`, `name`) point into memory owned by the reader and stay
 *   valid until the next call of `rha_journal_reader_next`,
 *   `rha_journal_reader_finish` or `rha_journal_reader_free` on this reader.
 *   Fields the operation does not use are zero.
 * - `RHA_BLOCKED`: all of `input` has been consumed and more is needed;
 *   `*record_out` is untouched. Call again with more input, or call
 *   `rha_journal_reader_finish` if the input is over.
 * - `RHA_JOURNAL_CORRUPT`, `RHA_JOURNAL_UNSUPPORTED_VERSION`,
 *   `RHA_JOURNAL_TOO_LARGE`, `RHA_JOURNAL_SEQUENCE`: the journal does not
 *   decode further. The error object carries the stream offset of the
 *   offending frame (`rha_error_offset`) and the last good sequence number
 *   (`rha_error_last_seq`). The reader is failed from then on: every later
 *   call returns the same error without consuming input.
 * - `RHA_NULL_PARAMETER` if `reader` or `record_out` is NULL or
 *   `input->src` is NULL while `input->size` is not 0;
 *   `RHA_INVALID_ARGUMENT` if `input->pos > input->size`.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader not used by another thread during the
 * call; `input` is NULL or points to an `rha_in_buffer` whose `src` is
 * readable for `size` bytes; `record_out` is NULL or valid for writing an
 * `rha_record`; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_reader_next(struct rha_journal_reader *reader,
                                        struct rha_in_buffer *input,
                                        struct rha_record *record_out,
                                        struct rha_error **error_out);

/**
 * Reports how the journal ended; call it when the input is over (after
 * `rha_journal_reader_next` returned `RHA_BLOCKED`).
 *
 * On success stores the end in `*end_out`: clean, or a torn tail with the
 * length of the intact prefix. It does not change the reader: if more input
 * turns up after all, `rha_journal_reader_next` carries on. Views from the
 * last record become invalid.
 *
 * Errors: the reader's decoding error if it failed earlier (see
 * `rha_journal_reader_next`); `RHA_INVALID_STATE` if a complete record is
 * still waiting to be read; `RHA_NULL_PARAMETER` if `reader` or `end_out` is
 * NULL.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader not used by another thread during the
 * call; `end_out` is NULL or valid for writing an `rha_journal_end`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_reader_finish(struct rha_journal_reader *reader,
                                          struct rha_journal_end *end_out,
                                          struct rha_error **error_out);

/**
 * The stream offset just after the last frame the reader has consumed (the
 * stream header counts as consumed once checked): everything before it has
 * been verified. Bytes taken from input but not yet forming a complete
 * frame are not counted. 0 if `reader` is NULL.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader not used by another thread during the
 * call.
 */
uint64_t rha_journal_reader_offset(const struct rha_journal_reader *reader);

/**
 * Releases a reader and the memory its last record's views point into.
 * NULL does nothing.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader, not used again after this call.
 */
void rha_journal_reader_free(struct rha_journal_reader *reader);

/**
 * Makes a writer builder with the defaults: no compression, batches of
 * 256 KiB, first sequence number 1, maximum record size 64 MiB.
 *
 * Returns a new builder owned by the caller (never NULL): pass it to
 * `rha_journal_writer_build` or `rha_journal_writer_builder_free`.
 * Thread-safe.
 */
struct rha_journal_writer_builder *rha_journal_writer_builder_new(void);

/**
 * Compresses each batch with zstd at `level` (1 to 22; 1 is fastest). A
 * batch that would not shrink is written uncompressed.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
 * if `level` is outside 1..=22 (the builder is then unchanged).
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_writer_builder_set_zstd(struct rha_journal_writer_builder *builder,
                                                    int32_t level,
                                                    struct rha_error **error_out);

/**
 * Gathers records until their frames pass `bytes` bytes, then emits (and
 * compresses) them as one batch. Smaller batches reach
 * `rha_journal_writer_drain` sooner; larger ones compress better.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
 * if `bytes` is 0.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_writer_builder_set_batch_bytes(struct rha_journal_writer_builder *builder,
                                                           size_t bytes,
                                                           struct rha_error **error_out);

/**
 * Sets the first record's sequence number (default 1), for example to
 * continue a journal elsewhere.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_writer_builder_set_first_seq(struct rha_journal_writer_builder *builder,
                                                         uint64_t seq,
                                                         struct rha_error **error_out);

/**
 * Sets the largest record body the writer accepts, in bytes (default
 * 64 MiB); a larger record makes `rha_journal_writer_append` fail with
 * `RHA_JOURNAL_TOO_LARGE`. Keep it no larger than the readers' maximum.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
 * if `bytes` is 0 or does not fit the format's 32-bit frame length.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_writer_builder_set_max_record_size(struct rha_journal_writer_builder *builder,
                                                               size_t bytes,
                                                               struct rha_error **error_out);

/**
 * Releases a builder that was not passed to `rha_journal_writer_build`.
 * NULL does nothing.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder, not used again after this call.
 */
void rha_journal_writer_builder_free(struct rha_journal_writer_builder *builder);

/**
 * Makes a writer from `builder`, which this call consumes: `builder` is
 * freed whether or not the call succeeds and must not be used again.
 *
 * On success stores a new writer in `*writer_out`, owned by the caller
 * (release it with `rha_journal_writer_free`). Errors: `RHA_NULL_PARAMETER`
 * if `builder` or `writer_out` is NULL (a non-NULL `*writer_out` is then
 * set to NULL, as after any failure).
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread;
 * `writer_out` is NULL or valid for writing an `rha_journal_writer *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_writer_build(struct rha_journal_writer_builder *builder,
                                         struct rha_journal_writer **writer_out,
                                         struct rha_error **error_out);

/**
 * Appends one record and assigns it the next sequence number, stored in
 * `*seq_out` if `seq_out` is not NULL.
 *
 * The writer copies what it needs from `record` (which it only reads during
 * the call); `record->seq` and every field `record->op` does not use are
 * ignored. The encoded record becomes drainable once its batch is complete
 * (see `rha_journal_writer_flush`).
 *
 * Errors: `RHA_NULL_PARAMETER` if `writer` or `record` is NULL, or a view
 * the operation uses has a NULL `ptr` and a non-zero `len`;
 * `RHA_INVALID_ARGUMENT` for an unknown `op`, an invalid path, name, target
 * or `attr_mask`; `RHA_JOURNAL_TOO_LARGE` if the record exceeds the maximum
 * record size; `RHA_INVALID_STATE` if an earlier failure made the writer
 * unusable. After an argument error nothing was appended and the writer
 * goes on.
 *
 * # Safety
 *
 * `writer` is NULL or a live writer not used by another thread during the
 * call; `record` is NULL or points to a readable `rha_record` whose views
 * for the fields its `op` uses are readable for their length; `seq_out` is
 * NULL or valid for writing a `uint64_t`; `error_out` is NULL or valid for
 * writing an `rha_error *`.
 */
enum rha_result rha_journal_writer_append(struct rha_journal_writer *writer,
                                          const struct rha_record *record,
                                          uint64_t *seq_out,
                                          struct rha_error **error_out);

/**
 * Closes the current batch so that everything appended so far can be
 * drained (this also emits the stream header of an empty journal). It does
 * not make anything durable: durability is up to wherever the caller puts
 * the drained bytes.
 *
 * Errors: `RHA_NULL_PARAMETER` if `writer` is NULL; `RHA_IO` if compression
 * failed; `RHA_INVALID_STATE` if an earlier failure made the writer
 * unusable.
 *
 * # Safety
 *
 * `writer` is NULL or a live writer not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_journal_writer_flush(struct rha_journal_writer *writer,
                                         struct rha_error **error_out);

/**
 * Copies encoded bytes to `output->dst + output->pos`, at most
 * `output->size - output->pos` of them, and advances `output->pos`.
 *
 * Returns `RHA_OK` when everything encoded so far has been drained (records
 * still gathering in an unfinished batch are not encoded yet: see
 * `rha_journal_writer_flush`), or `RHA_BLOCKED` when `output` is full and
 * more bytes remain; call again with more room. Concatenating everything
 * drained gives the journal.
 *
 * Errors: `RHA_NULL_PARAMETER` if `writer` or `output` is NULL, or
 * `output->dst` is NULL while there is room; `RHA_INVALID_ARGUMENT` if
 * `output->pos > output->size`.
 *
 * # Safety
 *
 * `writer` is NULL or a live writer not used by another thread during the
 * call; `output` is NULL or points to an `rha_out_buffer` whose `dst` is
 * valid for writing `size` bytes; `error_out` is NULL or valid for writing
 * an `rha_error *`.
 */
enum rha_result rha_journal_writer_drain(struct rha_journal_writer *writer,
                                         struct rha_out_buffer *output,
                                         struct rha_error **error_out);

/**
 * The number of encoded bytes waiting to be drained; 0 if `writer` is NULL.
 *
 * # Safety
 *
 * `writer` is NULL or a live writer not used by another thread during the
 * call.
 */
size_t rha_journal_writer_pending(const struct rha_journal_writer *writer);

/**
 * The sequence number the next appended record will get; 0 if `writer` is
 * NULL.
 *
 * # Safety
 *
 * `writer` is NULL or a live writer not used by another thread during the
 * call.
 */
uint64_t rha_journal_writer_next_seq(const struct rha_journal_writer *writer);

/**
 * Releases a writer, discarding records not yet drained (flush and drain
 * first to keep them). NULL does nothing.
 *
 * # Safety
 *
 * `writer` is NULL or a live writer, not used again after this call.
 */
void rha_journal_writer_free(struct rha_journal_writer *writer);

/**
 * Sets, replaces or clears (`callback` NULL) the process-wide logging
 * callback: from now on, every message of level `max_level` (an
 * `rha_log_level`) or more severe is passed to `callback(userdata, ...)`
 * (see `rha_log_fn`), on the thread that logs it.
 *
 * When this call returns, the previous callback (if any) is not running on
 * any thread and will not be called again, so its `userdata` may be freed.
 * `userdata` must stay valid until the callback is replaced or cleared.
 *
 * The first call that sets a callback installs rha's `tracing` subscriber
 * as the process's global default. If the process already has one (a Rust
 * host installed its own), rha's messages go to that one instead, and the
 * call fails with `RHA_LOG_SUBSCRIBER_EXISTS`; clearing never fails so.
 * Fails with `RHA_INVALID_ARGUMENT` for a `max_level` that is not an
 * `rha_log_level` (when setting), and with `RHA_INVALID_STATE` when called
 * from inside a logging callback. Thread-safe.
 *
 * Caught panics (`RHA_PANIC`) are logged too, at `RHA_LOG_ERROR`, target
 * `rha_ffi::panic`.
 *
 * # Safety
 *
 * `callback` is NULL or a function that behaves as `rha_log_fn` documents;
 * `error_out` is NULL or valid for reading and writing an `rha_error *`.
 */
enum rha_result rha_log_set_callback(rha_log_fn callback,
                                     void *userdata,
                                     uint32_t max_level,
                                     struct rha_error **error_out);

/**
 * Zeroes a record (every number 0, every view empty with a NULL `ptr`)
 * and sets its `struct_size` to `sizeof(rha_record)`.
 *
 * `record` may be NULL (nothing happens). Thread-safe as long as no other
 * thread uses `*record`.
 *
 * # Safety
 *
 * `record` is NULL or valid for writing one `rha_record`.
 */
void rha_record_init(struct rha_record *record);

/**
 * Opens the replica whose root directory is `root`.
 *
 * `state_dir` is the replica's state directory: its lock, its applied
 * point and its rewind log. NULL means `ROOT/.rha`, which is then part of
 * no replicated data: records that name `.rha` are refused and tree scans
 * of the root leave it out. A missing state directory is created (its last
 * component only). `flags` combines `rha_replica_flag` bits:
 * `RHA_REPLICA_CREATE` creates a missing root, `RHA_REPLICA_REWIND` keeps a
 * rewind log. Opening finishes whatever a crash interrupted (a rewind under
 * way, a batch, an uncommitted transaction). On success stores a new
 * handle in `*replica_out`, to be freed with `rha_replica_free`.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown flag
 * bit; `RHA_IO` (with the OS error) if `root` is missing and
 * `RHA_REPLICA_CREATE` is not given, naming the path; `RHA_REPLICA_BUSY`
 * if the replica's lock is held, the message saying whether by another
 * handle in this process or by another process; `RHA_IO`;
 * `RHA_REWIND_LOG_CORRUPT`.
 *
 * # Safety
 *
 * `root` and `state_dir` (if not NULL) are NUL-terminated strings;
 * `replica_out` is valid for writing a pointer; `error_out` is NULL or
 * valid for writing an `rha_error *`.
 */
enum rha_result rha_replica_open_with(const char *root,
                                      const char *state_dir,
                                      uint32_t flags,
                                      struct rha_replica **replica_out,
                                      struct rha_error **error_out);

/**
 * Releases a replica (and its lock). NULL does nothing.
 *
 * # Safety
 *
 * `replica` is NULL or a handle from `rha_replica_open_with` not used again.
 */
void rha_replica_free(struct rha_replica *replica);

/**
 * Applies every record of the journal file at `journal_path`, skipping
 * records the replica already has, then makes the replica durable.
 * Committed transactions apply all or nothing. Fills `*report_out`.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_APPLY_FAILED` when a record cannot be
 * applied (for example a path that would leave the root through a symbolic
 * link: nothing is written for it; records before it stay applied, see the
 * replica's point); `RHA_JOURNAL_CORRUPT` when the journal does not read
 * (records before the damage are applied); `RHA_REPLICA_SEQUENCE_GAP` when
 * the journal does not continue the replica's sequence (a gap: the message
 * names the expected and the received sequence number; or a journal that
 * restarts numbering: resynchronise the replica); `RHA_IO`.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `journal_path` is NUL-terminated; `report_out` is valid for writing an
 * `rha_apply_report`; `error_out` is NULL or valid for writing a pointer.
 */
enum rha_result rha_replica_apply_journal(struct rha_replica *replica,
                                          const char *journal_path,
                                          struct rha_apply_report *report_out,
                                          struct rha_error **error_out);

/**
 * Applies one record (its `seq` must follow the replica's point). With
 * rewind on, the change may wait in the current batch until
 * `rha_replica_sync`; records between TX_BEGIN and TX_COMMIT are applied
 * when the commit arrives, all or nothing. An `RHA_OP_BOOKMARK` record adds
 * a bookmark (listed by `rha_replica_bookmark`) at its point.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` (bad record);
 * `RHA_JOURNAL_SEQUENCE` (not after the current point);
 * `RHA_REPLICA_SEQUENCE_GAP` (records missing before it, or another
 * scenario's epoch record); `RHA_APPLY_FAILED`; `RHA_IO`.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `record` is valid for reading, with the views its operation uses
 * readable for the call; `error_out` is NULL or valid for writing a pointer.
 */
enum rha_result rha_replica_apply(struct rha_replica *replica,
                                  const struct rha_record *record,
                                  struct rha_error **error_out);

/**
 * Applies every pending record and makes the replica durable, then its
 * applied point (in the spool directory).
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_APPLY_FAILED`; `RHA_IO`.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `error_out` is NULL or valid for writing a pointer.
 */
enum rha_result rha_replica_sync(struct rha_replica *replica, struct rha_error **error_out);

/**
 * Fills `*info_out` with the replica's rewind state, and takes the snapshot
 * of points and bookmarks that `rha_replica_point` and
 * `rha_replica_bookmark` read.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_APPLY_FAILED`/`RHA_IO` if pending
 * records fail to apply.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `info_out` is valid for writing an `rha_rewind_info`; `error_out` is NULL
 * or valid for writing a pointer.
 */
enum rha_result rha_replica_info(struct rha_replica *replica,
                                 struct rha_rewind_info *info_out,
                                 struct rha_error **error_out);

/**
 * Point number `index` (0 = oldest) of the snapshot taken by the last
 * `rha_replica_info`.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `index` is out of
 * range.
 *
 * # Safety
 *
 * `replica` is a live handle; `point_out` is valid for writing an
 * `rha_rewind_point`; `error_out` is NULL or valid for writing a pointer.
 */
enum rha_result rha_replica_point(const struct rha_replica *replica,
                                  size_t index,
                                  struct rha_rewind_point *point_out,
                                  struct rha_error **error_out);

/**
 * Bookmark number `index` (0 = oldest) of the snapshot taken by the last
 * `rha_replica_info`. The name in `*bookmark_out` is owned by the replica
 * and valid until the next call on it.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `index` is out of
 * range.
 *
 * # Safety
 *
 * `replica` is a live handle; `bookmark_out` is valid for writing an
 * `rha_bookmark`; `error_out` is NULL or valid for writing a pointer.
 */
enum rha_result rha_replica_bookmark(const struct rha_replica *replica,
                                     size_t index,
                                     struct rha_bookmark *bookmark_out,
                                     struct rha_error **error_out);

/**
 * Adds a bookmark called `name` (UTF-8, `name_len` bytes, 1 to 255, read
 * during the call) at the current point, durably; `timestamp_ns` is its
 * wall time, `app_consistent` marks it application-consistent. Names need
 * not be unique (a rewind by name takes the newest). A rewound replica
 * first drops the undone records (no undo after this). Applying an
 * `RHA_OP_BOOKMARK` record sets a bookmark the same way.
 *
 * Errors: `RHA_NULL_PARAMETER` (also for a NULL `name` with a non-zero
 * length); `RHA_INVALID_ARGUMENT` (a name that is empty, too long or not
 * UTF-8); `RHA_REWIND_DISABLED`; `RHA_IO`.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `name` is NULL or readable for `name_len` bytes; `error_out` is NULL or
 * valid for writing a pointer.
 */
enum rha_result rha_replica_add_bookmark(struct rha_replica *replica,
                                         const uint8_t *name,
                                         size_t name_len,
                                         uint64_t timestamp_ns,
                                         bool app_consistent,
                                         struct rha_error **error_out);

/**
 * Rewinds the replica to a point, a bookmark or a time (`by`, an
 * `rha_rewind_by` value, says which of `seq`, `name` and `time_ns` is used;
 * `name` is the bookmark's name, UTF-8, `name_len` bytes, and may be NULL
 * with 0 otherwise). With `dry_run` true nothing changes and `*plan_out`
 * says what would. A
 * rewind interrupted by a crash is finished by the next `rha_replica_open_with`;
 * `rha_replica_undo_rewind` goes back until a new record is applied.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `by` is not an
 * `rha_rewind_by` value; `RHA_REWIND_UNKNOWN_BOOKMARK`;
 * `RHA_REWIND_POINT_RETIRED`; `RHA_REWIND_NO_POINT`; `RHA_REWIND_DISABLED`;
 * `RHA_REWIND_INTERRUPTED` (reopen to resume); `RHA_IO`.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `name` is NULL or readable for `name_len` bytes; `plan_out` is valid for
 * writing an `rha_rewind_plan`; `error_out` is NULL or valid for writing a
 * pointer.
 */
enum rha_result rha_replica_rewind_to(struct rha_replica *replica,
                                      uint32_t by,
                                      uint64_t seq,
                                      const uint8_t *name,
                                      size_t name_len,
                                      uint64_t time_ns,
                                      bool dry_run,
                                      struct rha_rewind_plan *plan_out,
                                      struct rha_error **error_out);

/**
 * Undoes the rewinds made since the last applied record; stores the point
 * reached in `*point_out` (may be NULL).
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_REWIND_NOTHING_TO_UNDO`;
 * `RHA_REWIND_DISABLED`; `RHA_REWIND_INTERRUPTED`; `RHA_IO`.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `point_out` is NULL or valid for writing a `uint64_t`; `error_out` is
 * NULL or valid for writing a pointer.
 */
enum rha_result rha_replica_undo_rewind(struct rha_replica *replica,
                                        uint64_t *point_out,
                                        struct rha_error **error_out);

/**
 * Applies every record of the journal held in `bytes[0..len]` (as a
 * capture source or `rha_journal_writer` encoded it, with or without the
 * stream header), exactly as `rha_replica_apply_journal` applies a journal
 * file, with the same guarantees: records the replica already has are
 * skipped, none is applied twice or half, committed transactions apply all
 * or nothing, and after damage what came before is applied and durable.
 * Fills `*report_out`.
 *
 * Errors: as `rha_replica_apply_journal` (`RHA_JOURNAL_CORRUPT`,
 * `RHA_REPLICA_SEQUENCE_GAP`, `RHA_APPLY_FAILED`, `RHA_IO`), the journal
 * named `(journal bytes)` in messages; `RHA_NULL_PARAMETER` also for
 * `bytes` NULL with `len` > 0.
 *
 * # Safety
 *
 * `replica` is a live handle used by no other thread during the call;
 * `bytes` is NULL (only if `len` is 0) or readable for `len` bytes during
 * the call; `report_out` is valid for writing its `struct_size` bytes
 * (which the caller set); `error_out` is NULL or valid for writing a
 * pointer.
 */
enum rha_result rha_replica_apply_journal_bytes(struct rha_replica *replica,
                                                const uint8_t *bytes,
                                                size_t len,
                                                struct rha_apply_report *report_out,
                                                struct rha_error **error_out);

/**
 * Starts a session at `now_ns` (the caller's monotonic clock, in
 * nanoseconds: the clock of every `now_ns` of this session) with the
 * settings in `*config`. Its preface and hello wait in
 * `rha_session_take_output` at once; send them to the peer.
 *
 * On success stores a new session in `*session_out` (release with
 * `rha_session_free`). `config` and the bytes its `name` views are read
 * during the call only.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `struct_size` or `role`, a `heartbeat_ms`, `timeout_ms` or `max_body` of
 * 0, a `can_sync` or `resync` other than 0 or 1, or a `name` that is not
 * UTF-8.
 *
 * # Safety
 *
 * `config` is NULL or points to an `rha_session_config` (of its declared
 * size) whose `name` view is valid during the call; `session_out` is NULL
 * or valid for writing an `rha_session *`; `error_out` is NULL or valid
 * for writing an `rha_error *`.
 */
enum rha_result rha_session_new(const struct rha_session_config *config,
                                uint64_t now_ns,
                                struct rha_session **session_out,
                                struct rha_error **error_out);

/**
 * Releases a session, its unsent output and every view it handed out.
 * NULL does nothing. Send the output first for an orderly close.
 *
 * # Safety
 *
 * `session` is NULL or a live session, not used again after this call.
 */
void rha_session_free(struct rha_session *session);

/**
 * Feeds `len` bytes received from the peer at `now_ns`, in any chunking
 * (a partial message waits for the rest). Any bytes count as the peer's
 * life. Bytes that break the protocol close the session (an
 * `RHA_SESSION_EVENT_CLOSED` with reason protocol, and a close message to
 * send): that is an event, not an error of this call. After the close,
 * bytes are ignored. Afterwards poll events and take the output.
 *
 * Errors: `RHA_NULL_PARAMETER` (also for NULL `bytes` with a nonzero
 * `len`).
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread; `bytes` is
 * valid for reading `len` bytes (or NULL with 0), read during the call
 * only; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_receive(struct rha_session *session,
                                    const uint8_t *bytes,
                                    size_t len,
                                    uint64_t now_ns,
                                    struct rha_error **error_out);

/**
 * The number of bytes waiting to be sent to the peer
 * (`rha_session_take_output`); 0 if `session` is NULL.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread.
 */
size_t rha_session_pending(const struct rha_session *session);

/**
 * Copies bytes to send to the peer to `output->dst + output->pos`, at
 * most `output->size - output->pos` of them, and advances `output->pos`.
 * Returns `RHA_OK` when everything waiting has been taken, or
 * `RHA_BLOCKED` when `output` is full and more remains (call again with
 * more room). Send the bytes in order: their concatenation is this side's
 * stream. Call after every call on the session (new, receive,
 * handle_timeout and the requests all queue bytes), until `RHA_OK`.
 *
 * Errors: `RHA_NULL_PARAMETER` if `session` or `output` is NULL, or
 * `output->dst` is NULL while there is room; `RHA_INVALID_ARGUMENT` if
 * `output->pos > output->size`.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread; `output`
 * is NULL or points to an `rha_out_buffer` whose `dst` is valid for
 * writing `size` bytes; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_session_take_output(struct rha_session *session,
                                        struct rha_out_buffer *output,
                                        struct rha_error **error_out);

/**
 * Takes the next event: `RHA_OK` with `*event_out` filled, or `RHA_DONE`
 * when there is none (`*event_out` untouched). Call after every call that
 * feeds the session, until `RHA_DONE`. The views in `*event_out`
 * (`frames`, `name`, `text`, `sync_path`, `sync_data`) belong to the
 * session and stay valid until the next `rha_session_poll_event` on it or
 * its free. A caller built with the first version of `rha_session_event`
 * (a smaller `struct_size`) gets the sync events' kinds without their
 * fields.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `event_out->struct_size` (no event is taken).
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread;
 * `event_out` is NULL or valid for writing an `rha_session_event`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_poll_event(struct rha_session *session,
                                       struct rha_session_event *event_out,
                                       struct rha_error **error_out);

/**
 * Fills `*hello_out` with the peer's hello: `RHA_OK` once it was heard
 * (its `name` view stays valid until the session is freed), `RHA_BLOCKED`
 * before (the peer's hello has not arrived: feed more bytes;
 * `*hello_out` untouched).
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `hello_out->struct_size`.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread;
 * `hello_out` is NULL or valid for writing an `rha_session_hello`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_peer(const struct rha_session *session,
                                 struct rha_session_hello *hello_out,
                                 struct rha_error **error_out);

/**
 * When `rha_session_handle_timeout` must be called next: returns true and
 * stores the instant (nanoseconds, the clock of `now_ns`) in
 * `*deadline_ns_out`, or returns false (the session is closed; or a NULL
 * argument) leaving it untouched. Ask again after every call on the
 * session.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread;
 * `deadline_ns_out` is NULL or valid for writing a `uint64_t`.
 */
bool rha_session_poll_timeout(const struct rha_session *session, uint64_t *deadline_ns_out);

/**
 * Lets time pass to `now_ns`: queues a heartbeat when one is due, and ends
 * a session whose peer was silent for the timeout
 * (`RHA_SESSION_EVENT_SILENT`, then `RHA_SESSION_EVENT_CLOSED` with reason
 * timeout). Call when the deadline of `rha_session_poll_timeout` is
 * reached (earlier or more often is harmless).
 *
 * Errors: `RHA_NULL_PARAMETER`.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_handle_timeout(struct rha_session *session,
                                           uint64_t now_ns,
                                           struct rha_error **error_out);

/**
 * Whether the handshake is done and the session not closed; false if
 * `session` is NULL.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread.
 */
bool rha_session_is_connected(const struct rha_session *session);

/**
 * Whether the session has ended (its last bytes, such as the close
 * message, may still wait in `rha_session_take_output`); true if
 * `session` is NULL.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread.
 */
bool rha_session_is_closed(const struct rha_session *session);

/**
 * A master: the bytes of journal frames the replica's window accepts now
 * (`rha_session_send_journal` returns `RHA_BLOCKED` for more). A replica:
 * the room it granted that the master has not used. 0 if `session` is
 * NULL.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread.
 */
uint64_t rha_session_window(const struct rha_session *session);

/**
 * The sequence number of the last record sent (master) or received
 * (replica); after the handshake, where the journal resumes. 0 if
 * `session` is NULL.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread.
 */
uint64_t rha_session_last_seq(const struct rha_session *session);

/**
 * The largest message body both sides accept: this side's `max_body`,
 * and once the peer's hello was heard the lower of it and the peer's. A
 * sync message's body is its `data` plus `RHA_SESSION_SYNC_RECORDS_FIELDS`
 * bytes (records), `RHA_SESSION_SYNC_TREE_FIELDS` (a tree piece) or
 * `RHA_SESSION_SYNC_BLOCKS_FIELDS` (block hashes): size the pieces to fit,
 * or `rha_session_send_sync` and `_send_sync_reply` fail with
 * `RHA_SESSION_TOO_LARGE`. 0 if `session` is NULL.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread.
 */
uint64_t rha_session_max_body(const struct rha_session *session);

/**
 * A master: sends the journal frames `frames` (the journal's own encoding,
 * without its stream header, as the spool stores them) holding the records
 * `first..=last` of the session's epoch. `first` must follow the last
 * record sent (after the handshake: `rha_session_last_seq`, where the
 * journal resumes).
 *
 * Returns `RHA_OK` (the message waits in `rha_session_take_output`), or
 * `RHA_BLOCKED` when the replica's window has less room than `frames_len`
 * (`rha_session_window`): not a failure; nothing was sent, and the master
 * sends the same frames after the replica's next grant (stop reading the
 * spool meanwhile). `frames` is copied; read during the call only.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for no frames
 * (`frames_len` 0); `RHA_SESSION_WRONG_ROLE` on a replica;
 * `RHA_SESSION_NOT_CONNECTED` during the handshake or once closed;
 * `RHA_SESSION_OUT_OF_ORDER` if `first` is not the next record or `last`
 * is below it; `RHA_SESSION_TOO_LARGE` if the frames exceed a message
 * (this side's `max_body` less 24 bytes; give both sides the same
 * `max_body`: send fewer records at a time).
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread; `frames` is
 * valid for reading `frames_len` bytes (or NULL with 0); `error_out` is
 * NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_send_journal(struct rha_session *session,
                                         uint64_t first,
                                         uint64_t last,
                                         const uint8_t *frames,
                                         size_t frames_len,
                                         struct rha_error **error_out);

/**
 * A replica: grants the master `bytes` more bytes of journal frames, after
 * it stored or dropped what it received (the total is capped at 2^40).
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_SESSION_WRONG_ROLE` on a master;
 * `RHA_SESSION_NOT_CONNECTED` during the handshake or once closed.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_grant(struct rha_session *session,
                                  uint64_t bytes,
                                  struct rha_error **error_out);

/**
 * A replica: acknowledges the records up to `(epoch, seq)` as stored
 * durably in its spool or applied durably to its data (`kind`, an
 * `rha_session_ack_kind` value). Acknowledgements only go forward, never
 * beyond the last record received, and "applied" never passes "stored".
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `kind`; `RHA_SESSION_WRONG_ROLE` on a master;
 * `RHA_SESSION_NOT_CONNECTED`; `RHA_SESSION_BAD_ACK` for a point of
 * another epoch, beyond the last record received, behind an earlier
 * acknowledgement, or applied beyond stored (the message says which).
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_ack(struct rha_session *session,
                                uint32_t kind,
                                uint64_t epoch,
                                uint64_t seq,
                                struct rha_error **error_out);

/**
 * A master: sends a control request (`kind`, an `rha_session_control_kind`
 * value): pause applying, resume, or set a bookmark named by the `name_len`
 * bytes at `name` (UTF-8, cut at 1024 bytes) after the point
 * `(epoch, seq)`. `epoch`, `seq` and `name` are ignored for pause and
 * resume; `name` is read during the call only.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `kind` or a `name` that is not UTF-8; `RHA_SESSION_WRONG_ROLE` on a
 * replica; `RHA_SESSION_NOT_CONNECTED`.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread; `name` is
 * valid for reading `name_len` bytes (or NULL with 0); `error_out` is NULL
 * or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_control(struct rha_session *session,
                                    uint32_t kind,
                                    uint64_t epoch,
                                    uint64_t seq,
                                    const uint8_t *name,
                                    size_t name_len,
                                    struct rha_error **error_out);

/**
 * Ends the session with `reason` (an `rha_session_reason` value) and the
 * `text_len` bytes of `text` (UTF-8 details for the peer's logs, cut at
 * 1024 bytes; read during the call only): a close message waits in
 * `rha_session_take_output` (send it, then close the transport) and an
 * `RHA_SESSION_EVENT_CLOSED` with `by_peer` false follows. Does nothing
 * once the session is closed.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `reason` or a `text` that is not UTF-8.
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread; `text` is
 * valid for reading `text_len` bytes (or NULL with 0); `error_out` is NULL
 * or valid for writing an `rha_error *`.
 */
enum rha_result rha_session_close(struct rha_session *session,
                                  uint32_t reason,
                                  const uint8_t *text,
                                  size_t text_len,
                                  struct rha_error **error_out);

/**
 * Stores an empty sync message in `*message`: `struct_size` set, every
 * other field 0 (views empty). NULL does nothing. Thread-safe.
 *
 * # Safety
 *
 * `message` is NULL or valid for writing an `rha_session_sync_message`.
 */
void rha_session_sync_message_init(struct rha_session_sync_message *message);

/**
 * A master: sends the sync message `*message` (its `sync_kind` an
 * `rha_session_sync_kind` value). The session checks only the direction;
 * the order of a run is the caller's to keep: after a connected event
 * with `sync`, a begin; when the replica's last tree piece arrived, the
 * records of what the replica lacks, each file followed by its check (in
 * block mode, a blocks request first, answered by the replica's block
 * hashes); then the end, after which the replica answers done, or a
 * mismatch (send the file again, then the end again). Nothing is sent on
 * failure. `message` and its views are read during the
 * call only.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `struct_size`, `sync_kind` or `mode`, a `block_size` that is neither 0
 * nor a power of two from 4096 to 16 MiB, a flag other than 0 or 1, empty
 * records, or a `path` that is not a valid relative path;
 * `RHA_SESSION_WRONG_ROLE` on a replica; `RHA_SESSION_NOT_CONNECTED`
 * during the handshake or once closed; `RHA_SESSION_TOO_LARGE` if the
 * message exceeds the lower of the two sides' `max_body`
 * (`rha_session_max_body`; send fewer records at a time).
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread; `message`
 * is NULL or points to an `rha_session_sync_message` (of its declared
 * size) whose views are valid during the call; `error_out` is NULL or
 * valid for writing an `rha_error *`.
 */
enum rha_result rha_session_send_sync(struct rha_session *session,
                                      const struct rha_session_sync_message *message,
                                      struct rha_error **error_out);

/**
 * A replica: sends the sync reply `*message` (its `sync_kind` an
 * `rha_session_sync_reply_kind` value) to the master's sync. The session
 * checks only the direction; what to answer when is the caller's: its
 * tree signature in pieces after the begin (the last marked), block
 * hashes for each blocks request, a mismatch for a check its copy fails,
 * and after the end (unless a check failed since the last one) progress,
 * then done once the result is durable. Nothing is sent on failure. `message` and its
 * views are read during the call only.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `struct_size` or `sync_kind`, a flag other than 0 or 1, block hashes
 * that are not a multiple of 16 bytes, or a `path` that is not a valid
 * relative path; `RHA_SESSION_WRONG_ROLE` on a master;
 * `RHA_SESSION_NOT_CONNECTED`; `RHA_SESSION_TOO_LARGE` if the message
 * exceeds the lower of the two sides' `max_body` (`rha_session_max_body`;
 * send smaller pieces).
 *
 * # Safety
 *
 * `session` is NULL or a live session used by no other thread; `message`
 * is NULL or points to an `rha_session_sync_message` (of its declared
 * size) whose views are valid during the call; `error_out` is NULL or
 * valid for writing an `rha_error *`.
 */
enum rha_result rha_session_send_sync_reply(struct rha_session *session,
                                            const struct rha_session_sync_message *message,
                                            struct rha_error **error_out);

/**
 * Stores the default settings in `*config`, `struct_size` included: no
 * role (set one), zero identities, generations and points, heartbeat 3 s,
 * timeout 30 s, window 8 MiB, bodies up to 16 MiB, no name, no sync. NULL
 * does nothing. Thread-safe.
 *
 * # Safety
 *
 * `config` is NULL or valid for writing an `rha_session_config`.
 */
void rha_session_config_init(struct rha_session_config *config);

/**
 * Makes a signature job for a file of `file_len` bytes.
 *
 * `block_len` 0 picks about the square root of the length (a power of two
 * between 1 KiB and 1 MiB); otherwise 16..=16777216. `strong_len` 0 picks
 * the length that keeps a false match below 2^-64 for the file; otherwise
 * 8..=32. On success stores a new job in `*job_out`, owned by the caller.
 *
 * Errors: `RHA_NULL_PARAMETER` if `job_out` is NULL; `RHA_INVALID_ARGUMENT`
 * for an out-of-range `block_len` or `strong_len`.
 *
 * # Safety
 *
 * `job_out` is NULL or valid for writing an `rha_signature_job *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_signature_job_new(uint64_t file_len,
                                      uint32_t block_len,
                                      uint32_t strong_len,
                                      struct rha_signature_job **job_out,
                                      struct rha_error **error_out);

/**
 * Feeds file bytes from `input` and writes signature bytes to `output`.
 *
 * Consumes what it can of `input->src[pos..size]` and writes at
 * `output->dst + output->pos`, advancing both `pos` fields. `end` says
 * `input` holds the last bytes of the file. `input` may be NULL (no new
 * input).
 *
 * Returns `RHA_DONE` once the whole signature has been written (call with
 * `end` until then), `RHA_BLOCKED` when it needs more input or output
 * room. Errors: `RHA_SIGNATURE_INPUT_LENGTH` if the file is longer or (at
 * `end`) shorter than declared; `RHA_INVALID_STATE` for input after the
 * end; `RHA_NULL_PARAMETER`, `RHA_INVALID_ARGUMENT` for bad buffers.
 *
 * # Safety
 *
 * `job` is NULL or a live job not used by another thread during the call;
 * `input` is NULL or a valid `rha_in_buffer` readable for `size` bytes;
 * `output` is NULL or a valid `rha_out_buffer` writable for `size` bytes,
 * not overlapping `input`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_signature_job_run(struct rha_signature_job *job,
                                      struct rha_in_buffer *input,
                                      struct rha_out_buffer *output,
                                      bool end,
                                      struct rha_error **error_out);

/**
 * Releases a signature job. NULL does nothing.
 *
 * # Safety
 *
 * `job` is NULL or a live job, not used again after this call.
 */
void rha_signature_job_free(struct rha_signature_job *job);

/**
 * Loads a whole signature (rha format, or rdiff's BLAKE2 formats) from
 * `len` bytes at `data`, which are read only during the call.
 *
 * On success stores a new signature in `*sig_out`, owned by the caller.
 * Errors: `RHA_SIGNATURE_CORRUPT` (with the byte offset,
 * `rha_error_offset`), `RHA_SIGNATURE_UNSUPPORTED`,
 * `RHA_SIGNATURE_TOO_LARGE` (over 2^26 blocks), `RHA_NULL_PARAMETER`.
 *
 * # Safety
 *
 * `data` is NULL (only if `len` is 0) or readable for `len` bytes;
 * `sig_out` is NULL or valid for writing an `rha_signature *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_signature_new(const uint8_t *data,
                                  size_t len,
                                  struct rha_signature **sig_out,
                                  struct rha_error **error_out);

/**
 * The number of blocks of a signature; 0 if `sig` is NULL.
 *
 * # Safety
 *
 * `sig` is NULL or a live signature.
 */
uint64_t rha_signature_block_count(const struct rha_signature *sig);

/**
 * The block length of a signature; 0 if `sig` is NULL.
 *
 * # Safety
 *
 * `sig` is NULL or a live signature.
 */
uint32_t rha_signature_block_len(const struct rha_signature *sig);

/**
 * Releases a signature. NULL does nothing. Jobs made from it keep their
 * own copy.
 *
 * # Safety
 *
 * `sig` is NULL or a live signature, not used again after this call.
 */
void rha_signature_free(struct rha_signature *sig);

/**
 * Makes a delta job against the basis `sig` describes, writing `format`,
 * an `rha_delta_format` value. The job copies what
 * it needs from `sig`, which the caller may free afterwards.
 *
 * Errors: `RHA_NULL_PARAMETER` if `sig` or `job_out` is NULL;
 * `RHA_INVALID_ARGUMENT` for an unknown format.
 *
 * # Safety
 *
 * `sig` is NULL or a live signature; `job_out` is NULL or valid for
 * writing an `rha_delta_job *`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_delta_job_new(const struct rha_signature *sig,
                                  uint32_t format,
                                  struct rha_delta_job **job_out,
                                  struct rha_error **error_out);

/**
 * Feeds new-file bytes from `input` and writes delta bytes to `output`,
 * advancing both `pos` fields; `end` says `input` holds the last bytes of
 * the new file. `input` may be NULL (no new input).
 *
 * Returns `RHA_DONE` once the whole delta has been written (call with
 * `end` until then), `RHA_BLOCKED` when it needs more input or output
 * room. Errors: `RHA_INVALID_STATE` for input after the end;
 * `RHA_NULL_PARAMETER`, `RHA_INVALID_ARGUMENT` for bad buffers.
 *
 * # Safety
 *
 * As for `rha_signature_job_run`, with a live delta job.
 */
enum rha_result rha_delta_job_run(struct rha_delta_job *job,
                                  struct rha_in_buffer *input,
                                  struct rha_out_buffer *output,
                                  bool end,
                                  struct rha_error **error_out);

/**
 * What a delta job has found so far: new-file bytes sent as literals and
 * bytes matched in the basis. Either output pointer may be NULL. Does
 * nothing if `job` is NULL.
 *
 * # Safety
 *
 * `job` is NULL or a live delta job; the outputs are NULL or valid for
 * writing a `uint64_t`.
 */
void rha_delta_job_stats(const struct rha_delta_job *job,
                         uint64_t *literal_out,
                         uint64_t *matched_out);

/**
 * Releases a delta job. NULL does nothing.
 *
 * # Safety
 *
 * `job` is NULL or a live job, not used again after this call.
 */
void rha_delta_job_free(struct rha_delta_job *job);

/**
 * Makes a patch job reading the basis through `read_at(userdata, ...)`
 * and refusing to produce more than `max_output` bytes (`UINT64_MAX`: no
 * limit). `basis_len` is the basis length, or `UINT64_MAX` if unknown
 * (copies past a known length fail with `RHA_DELTA_OUT_OF_RANGE` before
 * any read).
 *
 * `userdata` is passed to `read_at` unchanged and must stay valid for the
 * job's life. Errors: `RHA_NULL_PARAMETER` if `read_at` or `job_out` is
 * NULL.
 *
 * # Safety
 *
 * `read_at` is NULL or a function that behaves as `rha_read_at_fn`
 * documents; `job_out` is NULL or valid for writing an `rha_patch_job *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_patch_job_new(rha_read_at_fn read_at,
                                  void *userdata,
                                  uint64_t basis_len,
                                  uint64_t max_output,
                                  struct rha_patch_job **job_out,
                                  struct rha_error **error_out);

/**
 * Feeds delta bytes from `input` and writes new-file bytes to `output`,
 * advancing both `pos` fields; `end` says `input` holds the last bytes of
 * the delta. `input` may be NULL (no new input).
 *
 * Returns `RHA_DONE` once the delta has ended and its output has been
 * written and verified, `RHA_BLOCKED` when it needs more input or output
 * room. Errors: `RHA_DELTA_CORRUPT` (with the byte offset),
 * `RHA_DELTA_UNSUPPORTED`, `RHA_DELTA_OUT_OF_RANGE`, `RHA_PATCH_TOO_LARGE`,
 * `RHA_PATCH_HASH_MISMATCH` (discard the output and copy the whole file),
 * `RHA_PATCH_WRONG_BASIS` (a delta that names its basis, as fixed-offset
 * deltas do, given another one: nothing was produced),
 * `RHA_IO` (the callback failed or the basis ended early),
 * `RHA_INVALID_STATE` (after a failure or input after the end). After an
 * error the job stays failed.
 *
 * # Safety
 *
 * As for `rha_signature_job_run`, with a live patch job; the callback is
 * called during this call.
 */
enum rha_result rha_patch_job_run(struct rha_patch_job *job,
                                  struct rha_in_buffer *input,
                                  struct rha_out_buffer *output,
                                  bool end,
                                  struct rha_error **error_out);

/**
 * The number of output bytes a patch job has produced; 0 if `job` is NULL.
 *
 * # Safety
 *
 * `job` is NULL or a live patch job.
 */
uint64_t rha_patch_job_produced(const struct rha_patch_job *job);

/**
 * Releases a patch job. NULL does nothing.
 *
 * # Safety
 *
 * `job` is NULL or a live job, not used again after this call.
 */
void rha_patch_job_free(struct rha_patch_job *job);

/**
 * Chooses the strong hash of a signature job, an `rha_strong_hash` value:
 * `RHA_STRONG_HASH_BLAKE3` or `RHA_STRONG_HASH_XXH3`. Only before the job's
 * first input.
 *
 * Errors: `RHA_NULL_PARAMETER` if `job` is NULL; `RHA_INVALID_ARGUMENT` for
 * an unknown hash, or once the job has consumed input.
 *
 * # Safety
 *
 * `job` is NULL or a live signature job, not used by another thread during
 * the call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_signature_job_set_strong_hash(struct rha_signature_job *job,
                                                  uint32_t hash,
                                                  struct rha_error **error_out);

/**
 * Lets a signature job hash blocks on up to `threads` threads (the
 * calling one included) while `rha_signature_job_run` is given several MiB
 * at a time; 0 and 1 keep all work on the calling thread (the default).
 * The output does not depend on it. The extra threads live only during a
 * run call. Does nothing if `job` is NULL.
 *
 * # Safety
 *
 * `job` is NULL or a live signature job, not used by another thread during
 * the call.
 */
void rha_signature_job_set_threads(struct rha_signature_job *job, size_t threads);

/**
 * Lets a delta job compute the new file's whole-file hash on a second
 * thread beside the search when `threads` is 2 or more and
 * `rha_delta_job_run` is given large inputs; 0 and 1 keep all work on the
 * calling thread (the default). The output does not depend on it. Does
 * nothing if `job` is NULL.
 *
 * # Safety
 *
 * `job` is NULL or a live delta job, not used by another thread during the
 * call.
 */
void rha_delta_job_set_threads(struct rha_delta_job *job, size_t threads);

/**
 * Stores the default options in `*options`, `struct_size` included. NULL
 * does nothing.
 *
 * # Safety
 *
 * `options` is NULL or valid for writing an `rha_file_options`.
 */
void rha_file_options_init(struct rha_file_options *options);

/**
 * Writes the block signature of the file open as `basis_fd` (from its
 * current position to its end) to `sig_fd`, in one call, with `options`
 * (NULL: the defaults; `block_len`, `strong_len`, `strong_hash` and
 * `threads` apply).
 *
 * `basis_fd` may be a pipe or socket: input whose length is not known in
 * advance works, as with librsync's `rs_sig_file`. A regular file's length
 * is taken from `fstat` (and checked: a file that changes length while
 * read fails with `RHA_SIGNATURE_INPUT_LENGTH`). Input of unknown length
 * that ends within its first 4 MiB gets the parameters of its length, so
 * its signature is the file's; longer input gets a 32 KiB block length and
 * a strong hash long enough for 1 TiB unless `options` says otherwise,
 * and its signature (about 0.06% of it) is held in memory until the input
 * ends, because the signature's header names the length. Memory is
 * otherwise bounded (a few MiB), whatever the length.
 *
 * The file descriptors are borrowed: read and written from their current
 * positions, never closed. Reads and writes interrupted by a signal are
 * retried, short writes completed. Writing to a pipe whose reader has gone
 * raises `SIGPIPE` unless the process ignores it (then the error is
 * `RHA_IO` with `EPIPE`).
 *
 * Errors: `RHA_INVALID_ARGUMENT` for a negative file descriptor or a bad
 * option; `RHA_IO` when reading or writing fails (the message names the
 * argument; `rha_error_os_code` gives `errno`, such as `EBADF`, `EPIPE` or
 * `ENOSPC`); `RHA_SIGNATURE_INPUT_LENGTH`. After an error, what was
 * written to `sig_fd` is not a signature: discard it.
 *
 * Thread-safe: calls on different file descriptors may run at once.
 *
 * # Safety
 *
 * `basis_fd` and `sig_fd` are open file descriptors that no other thread
 * closes during the call; `options` is NULL or readable for its
 * `struct_size` bytes; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_signature_file(int basis_fd,
                                   int sig_fd,
                                   const struct rha_file_options *options,
                                   struct rha_error **error_out);

/**
 * Writes to `delta_fd` the delta that turns the file whose signature
 * `sig_fd` holds into the file open as `new_fd`, in one call, with
 * `options` (NULL: the defaults; `format` and `threads` apply).
 *
 * The signature (rha or rdiff format) is read whole first; the new file
 * is then read to its end, so it may be a pipe. Memory: the signature's
 * entries plus a few MiB. File descriptors, signals, short writes and
 * `SIGPIPE` as for `rha_signature_file`.
 *
 * Errors: `RHA_INVALID_ARGUMENT`; `RHA_IO` (naming the argument, with
 * `errno`); `RHA_SIGNATURE_CORRUPT`, `RHA_SIGNATURE_UNSUPPORTED`,
 * `RHA_SIGNATURE_TOO_LARGE` for the signature. After an error, discard
 * what was written to `delta_fd`.
 *
 * Thread-safe: calls on different file descriptors may run at once.
 *
 * # Safety
 *
 * `sig_fd`, `new_fd` and `delta_fd` are open file descriptors that no
 * other thread closes during the call; `options` is NULL or readable for
 * its `struct_size` bytes; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_delta_file(int sig_fd,
                               int new_fd,
                               int delta_fd,
                               const struct rha_file_options *options,
                               struct rha_error **error_out);

/**
 * Applies the delta read from `delta_fd` to the basis open as `basis_fd`,
 * writing the new file to `out_fd`, in one call, with `options` (NULL: the
 * defaults; `max_output` applies).
 *
 * The basis is read at random with `pread`, from offset 0 whatever its
 * position: it must be a regular file or a block device, not a pipe
 * (`RHA_INVALID_ARGUMENT` naming `basis_fd`). The delta is read from its
 * current position to its end and the output written as it is produced,
 * so both may be pipes. Memory: a few MiB. File descriptors, signals,
 * short writes and `SIGPIPE` as for `rha_signature_file`.
 *
 * Errors: `RHA_INVALID_ARGUMENT`; `RHA_IO` (naming the argument, with
 * `errno`); `RHA_DELTA_CORRUPT` (including a delta cut short),
 * `RHA_DELTA_UNSUPPORTED`, `RHA_DELTA_OUT_OF_RANGE` (a copy beyond the
 * basis's end: another basis); `RHA_PATCH_HASH_MISMATCH` (the result is
 * not the file the delta describes: usually another basis);
 * `RHA_PATCH_WRONG_BASIS`; `RHA_PATCH_TOO_LARGE`. After an error, discard
 * what was written to `out_fd`.
 *
 * Thread-safe: calls on different file descriptors may run at once.
 *
 * # Safety
 *
 * `basis_fd`, `delta_fd` and `out_fd` are open file descriptors that no
 * other thread closes during the call; `options` is NULL or readable for
 * its `struct_size` bytes; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_patch_file(int basis_fd,
                               int delta_fd,
                               int out_fd,
                               const struct rha_file_options *options,
                               struct rha_error **error_out);

/**
 * Compares a replica's and the master's rha block signatures position by
 * position (both made with the same block length) and stores the blocks
 * the replica needs in `*plan_out`, owned by the caller.
 *
 * Errors: `RHA_INVALID_ARGUMENT` if a signature is an rdiff signature, the
 * block lengths differ, or the master's signature lacks its length or hash;
 * `RHA_NULL_PARAMETER` if any pointer is NULL.
 *
 * # Safety
 *
 * `replica` and `master` are NULL or live signatures; `plan_out` is NULL
 * or valid for writing an `rha_fixed_plan *`; `error_out` is NULL or valid
 * for writing an `rha_error *`.
 */
enum rha_result rha_fixed_plan_new(const struct rha_signature *replica,
                                   const struct rha_signature *master,
                                   struct rha_fixed_plan **plan_out,
                                   struct rha_error **error_out);

/**
 * Bytes the replica needs (the sum of the ranges); 0 if `plan` is NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan.
 */
uint64_t rha_fixed_plan_needed_bytes(const struct rha_fixed_plan *plan);

/**
 * Bytes the replica already holds at the right place; 0 if `plan` is
 * NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan.
 */
uint64_t rha_fixed_plan_same_bytes(const struct rha_fixed_plan *plan);

/**
 * The master's length, which the replica will have after patching; 0 if
 * `plan` is NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan.
 */
uint64_t rha_fixed_plan_target_len(const struct rha_fixed_plan *plan);

/**
 * The block length of both signatures; 0 if `plan` is NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan.
 */
uint32_t rha_fixed_plan_block_len(const struct rha_fixed_plan *plan);

/**
 * The number of ranges (runs of adjacent needed blocks); 0 if `plan` is
 * NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan.
 */
uint64_t rha_fixed_plan_range_count(const struct rha_fixed_plan *plan);

/**
 * The number of blocks the replica needs; 0 if `plan` is NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan.
 */
uint64_t rha_fixed_plan_block_count(const struct rha_fixed_plan *plan);

/**
 * Stores range number `index` (0-based, ascending by offset) of `plan` in
 * `*range_out`.
 *
 * Errors: `RHA_INVALID_ARGUMENT` if `index` is not below
 * `rha_fixed_plan_range_count`; `RHA_NULL_PARAMETER` if `plan` or
 * `range_out` is NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan; `range_out` is NULL or valid for writing
 * an `rha_fixed_range`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_fixed_plan_range(const struct rha_fixed_plan *plan,
                                     uint64_t index,
                                     struct rha_fixed_range *range_out,
                                     struct rha_error **error_out);

/**
 * Releases a plan. NULL does nothing. Jobs made from it keep their own
 * copy.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan, not used again after this call.
 */
void rha_fixed_plan_free(struct rha_fixed_plan *plan);

/**
 * Makes a fixed delta job for `plan` (copied: the caller may free the
 * plan afterwards), reading the master's file through
 * `read_at(userdata, ...)` (see `rha_read_at_fn`).
 *
 * `userdata` is passed to `read_at` unchanged and must stay valid for the
 * job's life. Errors: `RHA_NULL_PARAMETER` if `plan`, `read_at` or
 * `job_out` is NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan; `read_at` is NULL or a function that
 * behaves as `rha_read_at_fn` documents; `job_out` is NULL or valid for
 * writing an `rha_fixed_delta_job *`; `error_out` is NULL or valid for
 * writing an `rha_error *`.
 */
enum rha_result rha_fixed_delta_job_new(const struct rha_fixed_plan *plan,
                                        rha_read_at_fn read_at,
                                        void *userdata,
                                        struct rha_fixed_delta_job **job_out,
                                        struct rha_error **error_out);

/**
 * Writes delta bytes at `output->dst + output->pos`, advancing `pos`.
 *
 * Returns `RHA_DONE` once the whole delta has been written, `RHA_BLOCKED`
 * when `output` is full (call again with more room). Errors: `RHA_IO` (the
 * callback failed or the master's file ended before a needed range, with
 * the offset in the message); `RHA_INVALID_STATE` after an earlier failure
 * (the job stays failed); `RHA_NULL_PARAMETER`, `RHA_INVALID_ARGUMENT` for
 * bad arguments.
 *
 * # Safety
 *
 * `job` is NULL or a live job not used by another thread during the call;
 * `output` is NULL or a valid `rha_out_buffer` writable for `size` bytes;
 * `error_out` is NULL or valid for writing an `rha_error *`. The callback
 * is called during this call.
 */
enum rha_result rha_fixed_delta_job_run(struct rha_fixed_delta_job *job,
                                        struct rha_out_buffer *output,
                                        struct rha_error **error_out);

/**
 * Releases a fixed delta job. NULL does nothing.
 *
 * # Safety
 *
 * `job` is NULL or a live job, not used again after this call.
 */
void rha_fixed_delta_job_free(struct rha_fixed_delta_job *job);

/**
 * Makes an in-place patch job on a target reached through three
 * callbacks sharing `userdata`: `read_at` (see `rha_read_at_fn`, used for
 * the hash check), `write_at` and `set_len`. The result may not be longer
 * than `max_output` bytes (`UINT64_MAX`: no limit).
 *
 * `userdata` is passed to the callbacks unchanged and must stay valid for
 * the job's life. Errors: `RHA_NULL_PARAMETER` if a callback or `job_out`
 * is NULL.
 *
 * # Safety
 *
 * Each callback is NULL or a function that behaves as its type documents;
 * `job_out` is NULL or valid for writing an `rha_in_place_patch_job *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_in_place_patch_job_new(rha_read_at_fn read_at,
                                           rha_write_at_fn write_at,
                                           rha_set_len_fn set_len,
                                           void *userdata,
                                           uint64_t max_output,
                                           struct rha_in_place_patch_job **job_out,
                                           struct rha_error **error_out);

/**
 * Feeds delta bytes (rha or rdiff format) from `input->src[pos..size]`,
 * advancing `pos` past what was consumed, and writes them to the target;
 * `end` says `input` holds the last bytes of the delta. `input` may be
 * NULL (no new input).
 *
 * Returns `RHA_DONE` once the delta has ended, the length is set and the
 * hash verified; `RHA_BLOCKED` when it needs more input. Errors:
 * `RHA_PATCH_NOT_IN_PLACE` (a moved copy: use `rha_patch_job` into a new
 * file), `RHA_DELTA_CORRUPT` / `RHA_DELTA_UNSUPPORTED` (with the byte
 * offset), `RHA_PATCH_WRONG_BASIS` (the delta names another target:
 * nothing was written), `RHA_PATCH_TOO_LARGE`, `RHA_PATCH_HASH_MISMATCH`
 * (the target changed while it was patched: copy the whole file),
 * `RHA_IO` (a callback failed), `RHA_INVALID_STATE` (after a failure),
 * `RHA_DELTA_CORRUPT` for bytes after the end of the delta (the target is
 * complete; `input->pos` stops at the end of the delta). After an error the job stays failed and the target
 * may be partly written.
 *
 * # Safety
 *
 * `job` is NULL or a live job not used by another thread during the call;
 * `input` is NULL or a valid `rha_in_buffer` readable for `size` bytes;
 * `error_out` is NULL or valid for writing an `rha_error *`. The callbacks
 * are called during this call.
 */
enum rha_result rha_in_place_patch_job_run(struct rha_in_place_patch_job *job,
                                           struct rha_in_buffer *input,
                                           bool end,
                                           struct rha_error **error_out);

/**
 * Bytes written to the target so far (literals and zero runs); 0 if `job`
 * is NULL.
 *
 * # Safety
 *
 * `job` is NULL or a live job.
 */
uint64_t rha_in_place_patch_job_written(const struct rha_in_place_patch_job *job);

/**
 * Releases an in-place patch job. NULL does nothing.
 *
 * # Safety
 *
 * `job` is NULL or a live job, not used again after this call.
 */
void rha_in_place_patch_job_free(struct rha_in_place_patch_job *job);

/**
 * Makes a loader refusing signatures of more than `max_blocks` blocks
 * (0: the default limit, 2^26 blocks).
 *
 * On success stores a new loader in `*loader_out`, owned by the caller.
 * Errors: `RHA_NULL_PARAMETER` if `loader_out` is NULL.
 *
 * # Safety
 *
 * `loader_out` is NULL or valid for writing an `rha_signature_loader *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_signature_loader_new(uint64_t max_blocks,
                                         struct rha_signature_loader **loader_out,
                                         struct rha_error **error_out);

/**
 * Feeds signature bytes: consumes all of `input->src[pos..size]` and sets
 * `input->pos` to `size`.
 *
 * Errors: `RHA_SIGNATURE_CORRUPT` (bad magic, checksum mismatch, invalid
 * header field, bytes after the end), `RHA_SIGNATURE_UNSUPPORTED`,
 * `RHA_SIGNATURE_TOO_LARGE`, each with the byte offset in the signature
 * stream where the offending structure starts (`rha_error_offset`);
 * `RHA_INVALID_STATE` after an earlier failure (the loader stays failed:
 * free it); `RHA_NULL_PARAMETER` if `loader` or `input` is NULL;
 * `RHA_INVALID_ARGUMENT` for a bad buffer.
 *
 * # Safety
 *
 * `loader` is NULL or a live loader not used by another thread during the
 * call; `input` is NULL or a valid `rha_in_buffer` readable for `size`
 * bytes during the call; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_signature_loader_feed(struct rha_signature_loader *loader,
                                          struct rha_in_buffer *input,
                                          struct rha_error **error_out);

/**
 * Ends the input: consumes `loader` (also on failure; do not free it
 * afterwards) and, if the fed bytes form a whole signature, stores it in
 * `*sig_out`, owned by the caller (release with `rha_signature_free`).
 *
 * Errors: `RHA_SIGNATURE_CORRUPT` for a truncated signature, with the
 * offset of the incomplete structure (`rha_error_offset`);
 * `RHA_INVALID_STATE` if a feed failed; `RHA_NULL_PARAMETER` if `loader` or
 * `sig_out` is NULL (a NULL `sig_out` still consumes the loader).
 *
 * # Safety
 *
 * `loader` is NULL or a live loader, not used again after this call;
 * `sig_out` is NULL or valid for writing an `rha_signature *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_signature_loader_finish(struct rha_signature_loader *loader,
                                            struct rha_signature **sig_out,
                                            struct rha_error **error_out);

/**
 * Releases a loader without finishing it. NULL does nothing.
 *
 * # Safety
 *
 * `loader` is NULL or a live loader, not used again after this call.
 */
void rha_signature_loader_free(struct rha_signature_loader *loader);

/**
 * Makes a job naming the file `path_len` bytes at `path` in every record
 * (relative, `/`-separated: as `rha_record.path` requires; copied) and
 * reading moved copies from the basis through `read_at(userdata, ...)`
 * (see `rha_read_at_fn`).
 *
 * `userdata` is passed to `read_at` unchanged and must stay valid for the
 * job's life. Errors: `RHA_INVALID_ARGUMENT` for an invalid path;
 * `RHA_NULL_PARAMETER` if `read_at` or `job_out` is NULL.
 *
 * # Safety
 *
 * `path` is NULL (only if `path_len` is 0) or readable for `path_len`
 * bytes during the call; `read_at` is NULL or a function that behaves as
 * `rha_read_at_fn` documents; `job_out` is NULL or valid for writing an
 * `rha_delta_ops_job *`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_delta_ops_job_new(const uint8_t *path,
                                      size_t path_len,
                                      rha_read_at_fn read_at,
                                      void *userdata,
                                      struct rha_delta_ops_job **job_out,
                                      struct rha_error **error_out);

/**
 * Consumes delta bytes from `input->src[pos..size]` (advancing `pos`)
 * until the next record is ready, and stores it in `*record_out`; `end`
 * says `input` holds the last bytes of the delta. `input` may be NULL (no
 * new input).
 *
 * Returns `RHA_OK` with a record (`op` is `RHA_OP_WRITE` or
 * `RHA_OP_SET_LEN`; `seq` and `timestamp_ns` are 0, set them before
 * appending to a journal), `RHA_BLOCKED` when all input was consumed and
 * more is needed, `RHA_DONE` once every record has been produced and `end`
 * was given (until then the job waits for input, so bytes after the end of
 * the delta in a later chunk are still found: `RHA_DELTA_CORRUPT`). The
 * views of the record (`path`, `data`) belong to the job and stay valid
 * until the next call with this job or its release.
 *
 * Errors: `RHA_DELTA_CORRUPT` (truncated, damaged, bytes after the end)
 * and `RHA_DELTA_UNSUPPORTED`, with the byte offset in the delta
 * (`rha_error_offset`); `RHA_PATCH_WRONG_BASIS` (the delta names the
 * basis it was made against, as fixed-offset deltas do, and the basis
 * given is another file: no record was produced); `RHA_IO` (the callback
 * failed or the basis ended
 * before a copy did); `RHA_INVALID_STATE` after an earlier failure (the
 * job stays failed); `RHA_NULL_PARAMETER` if `job` or `record_out` is
 * NULL; `RHA_INVALID_ARGUMENT` for a bad buffer.
 *
 * # Safety
 *
 * `job` is NULL or a live job not used by another thread during the call;
 * `input` is NULL or a valid `rha_in_buffer` readable for `size` bytes;
 * `record_out` is NULL or valid for writing an `rha_record`; `error_out`
 * is NULL or valid for writing an `rha_error *`. The callback is called
 * during this call.
 */
enum rha_result rha_delta_ops_job_next(struct rha_delta_ops_job *job,
                                       struct rha_in_buffer *input,
                                       bool end,
                                       struct rha_record *record_out,
                                       struct rha_error **error_out);

/**
 * Copies the delta's whole-file hash (rha deltas, 32 bytes) to `hash_out`
 * and returns true, once the job has reached the end of the delta; check
 * the applied file against it. Returns false (and leaves
 * `hash_out` untouched) before that, for rdiff deltas, or if an argument is
 * NULL.
 *
 * # Safety
 *
 * `job` is NULL or a live job; `hash_out` is NULL or valid for writing 32
 * bytes.
 */
bool rha_delta_ops_job_hash(const struct rha_delta_ops_job *job, uint8_t *hash_out);

/**
 * Releases a delta-to-records job (and the record it handed out last).
 * NULL does nothing.
 *
 * # Safety
 *
 * `job` is NULL or a live job, not used again after this call.
 */
void rha_delta_ops_job_free(struct rha_delta_ops_job *job);

/**
 * Makes a spool builder for the directory `dir` (a NUL-terminated path,
 * created if missing), with the defaults: unlimited size, 1 GiB minimum
 * free space, 64 MiB segments, the stop overflow policy, first sequence
 * number 1, no salvage.
 *
 * Returns a new builder owned by the caller (pass it to `rha_spool_build`
 * or `rha_spool_builder_free`), or NULL if `dir` is NULL. The path is
 * copied. Thread-safe.
 *
 * # Safety
 *
 * `dir` is NULL or a NUL-terminated string readable for the call.
 */
struct rha_spool_builder *rha_spool_builder_new(const char *dir);

/**
 * Sets the maximum spool size in bytes; 0 means unlimited (the default).
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_builder_set_max_bytes(struct rha_spool_builder *builder,
                                                uint64_t bytes,
                                                struct rha_error **error_out);

/**
 * Sets the free space the spool leaves on its file system, in bytes
 * (default 1 GiB).
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_builder_set_min_free_bytes(struct rha_spool_builder *builder,
                                                     uint64_t bytes,
                                                     struct rha_error **error_out);

/**
 * Sets the size at which a segment is closed and a new one started
 * (default 64 MiB).
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
 * if `bytes` is 0.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_builder_set_segment_bytes(struct rha_spool_builder *builder,
                                                    uint64_t bytes,
                                                    struct rha_error **error_out);

/**
 * Sets the overflow policy, an `rha_spool_policy` value:
 * `RHA_SPOOL_POLICY_STOP` (default) or `RHA_SPOOL_POLICY_DEGRADE`.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
 * for another value.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_builder_set_overflow(struct rha_spool_builder *builder,
                                               uint32_t policy,
                                               struct rha_error **error_out);

/**
 * Sets the sequence number of the first record of a new spool (default 1;
 * an existing spool keeps its numbering).
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_builder_set_first_seq(struct rha_spool_builder *builder,
                                                uint64_t seq,
                                                struct rha_error **error_out);

/**
 * Turns salvage mode on or off (default off): when on, opening keeps
 * everything before a corruption and discards the rest instead of failing
 * with `RHA_SPOOL_CORRUPT`.
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_builder_set_salvage(struct rha_spool_builder *builder,
                                              bool on,
                                              struct rha_error **error_out);

/**
 * Releases a builder that was not passed to `rha_spool_build`. NULL does
 * nothing.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder, not used again after this call.
 */
void rha_spool_builder_free(struct rha_spool_builder *builder);

/**
 * Opens (or creates) the spool, recovering from a crash, and consumes
 * `builder` (freed whether or not the call succeeds).
 *
 * On success stores the spool in `*spool_out` (owned by the caller: release
 * it with `rha_spool_close` or `rha_spool_free`) and, if `recovery_out` is
 * not NULL, what recovery found there (a torn tail truncated, a salvage).
 *
 * Errors: `RHA_NULL_PARAMETER` if `builder` or `spool_out` is NULL;
 * `RHA_SPOOL_LOCKED` if another process has the directory open;
 * `RHA_SPOOL_CORRUPT` if a file is damaged (the error names the file and
 * carries the offset and the last good sequence number; salvage mode keeps
 * what precedes the damage); `RHA_IO` if the storage fails;
 * `RHA_INVALID_ARGUMENT` for an unusable setting.
 *
 * # Safety
 *
 * `builder` is NULL or a live builder not used by another thread;
 * `spool_out` is NULL or valid for writing an `rha_spool *`;
 * `recovery_out` is NULL or valid for writing an `rha_spool_recovery`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_build(struct rha_spool_builder *builder,
                                struct rha_spool **spool_out,
                                struct rha_spool_recovery *recovery_out,
                                struct rha_error **error_out);

/**
 * Stores the default append options in `*options` (`struct_size` set to
 * `sizeof(rha_spool_append_options)`): wait for durability,
 * overflow when full. NULL does nothing.
 *
 * # Safety
 *
 * `options` is NULL or valid for writing an `rha_spool_append_options`.
 */
void rha_spool_append_options_init(struct rha_spool_append_options *options);

/**
 * Appends the record `*record` (its `seq` is ignored: the spool numbers
 * records), with `options` (NULL: the defaults).
 *
 * With `options->durable` the call returns once the record is durable;
 * concurrent appends from other threads share one sync. If `ticket_out` is
 * not NULL it receives the sequence number (or, on a degraded spool,
 * `spooled == false`) and the ticket for `rha_spool_wait`. The record's
 * views are read during the call only.
 *
 * Errors: `RHA_NULL_PARAMETER` if `spool` or `record` is NULL;
 * `RHA_INVALID_ARGUMENT` for an invalid record or option, or a
 * `struct_size` this library does not know (nothing appended);
 * `RHA_JOURNAL_TOO_LARGE`; `RHA_SPOOL_FULL` (nothing appended);
 * `RHA_SPOOL_STOPPED` (the stop policy applied: reset after a resync);
 * `RHA_IO` if writing or syncing failed, after which every write call
 * returns `RHA_SPOOL_FAILED` until the spool is reopened.
 *
 * Thread-safe: may be called from several threads at once.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `record` is NULL or a valid record whose
 * used views are readable; `options` is NULL or readable; `ticket_out` is
 * NULL or valid for writing an `rha_spool_ticket`; `error_out` is NULL or
 * valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_append(const struct rha_spool *spool,
                                 const struct rha_record *record,
                                 const struct rha_spool_append_options *options,
                                 struct rha_spool_ticket *ticket_out,
                                 struct rha_error **error_out);

/**
 * Waits until the append that returned `*ticket` (and every earlier one)
 * is durable, syncing if no other thread is.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_IO` if the sync failed;
 * `RHA_SPOOL_FAILED` after an earlier failure. Thread-safe.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `ticket` is NULL or readable;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_wait(const struct rha_spool *spool,
                               const struct rha_spool_ticket *ticket,
                               struct rha_error **error_out);

/**
 * Makes everything appended so far durable.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_IO`; `RHA_SPOOL_FAILED`. Thread-safe.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `error_out` is NULL or valid for writing
 * an `rha_error *`.
 */
enum rha_result rha_spool_sync(const struct rha_spool *spool, struct rha_error **error_out);

/**
 * Acknowledges every record up to and including `seq` (the consumer has
 * applied or sent them). The position is durable when this returns; whole
 * segments behind it are removed. An older position does nothing.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_SPOOL_NOT_DURABLE` if `seq` is not
 * durable yet; `RHA_IO`; `RHA_SPOOL_FAILED`. Thread-safe.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `error_out` is NULL or valid for writing
 * an `rha_error *`.
 */
enum rha_result rha_spool_ack(const struct rha_spool *spool,
                              uint64_t seq,
                              struct rha_error **error_out);

/**
 * Discards everything spooled, the dirty regions and a stopped or degraded
 * state, after the scenario resynchronised; the next record is numbered
 * `next_seq` (not less than the current next sequence number).
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `next_seq` is
 * behind; `RHA_IO`; `RHA_SPOOL_FAILED`. Thread-safe.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `error_out` is NULL or valid for writing
 * an `rha_error *`.
 */
enum rha_result rha_spool_reset(const struct rha_spool *spool,
                                uint64_t next_seq,
                                struct rha_error **error_out);

/**
 * Stores the spool's usage, limits and state in `*usage_out`.
 *
 * Errors: `RHA_NULL_PARAMETER`. Thread-safe.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `usage_out` is NULL or valid for writing
 * an `rha_spool_usage`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_spool_get_usage(const struct rha_spool *spool,
                                    struct rha_spool_usage *usage_out,
                                    struct rha_error **error_out);

/**
 * Takes the oldest pending monitoring event.
 *
 * Returns `RHA_OK` with the event in `*event_out`, or `RHA_DONE` if there
 * is none (`*event_out` untouched). Errors: `RHA_NULL_PARAMETER`.
 * Thread-safe.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `event_out` is NULL or valid for writing
 * an `rha_spool_event`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_spool_poll_event(const struct rha_spool *spool,
                                     struct rha_spool_event *event_out,
                                     struct rha_error **error_out);

/**
 * Makes everything appended durable, then releases the spool (always,
 * even if that fails). NULL does nothing and returns `RHA_OK`. Readers made
 * from the spool stay usable.
 *
 * Errors: `RHA_IO` or `RHA_SPOOL_FAILED` if the final sync failed.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool that no other thread is using, not used
 * again after this call; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_spool_close(struct rha_spool *spool, struct rha_error **error_out);

/**
 * Releases a spool, syncing what was appended on a best-effort basis (use
 * `rha_spool_close` to learn whether that worked). NULL does nothing.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool that no other thread is using, not used
 * again after this call.
 */
void rha_spool_free(struct rha_spool *spool);

/**
 * Appends the records of `bytes[0..len]`, a journal as an
 * `rha_journal_writer` (or any writer of the journal format) encoded it,
 * with or without its stream header, compressed or not, in one call and
 * all or nothing, with `options` (NULL: the defaults; `when_full` applies
 * to the records as one group).
 *
 * The records must carry consecutive sequence numbers starting at the
 * spool's next one (`rha_spool_usage.next_seq`): numbering the journal
 * writer from it (`rha_journal_writer_builder_set_first_seq`) does that.
 * Every frame is decoded and checked before anything is appended, and no
 * other append comes between the records. With `options->durable` every
 * record is durable when the call returns; a crash before that keeps a
 * prefix of them, as with consecutive `rha_spool_append` calls.
 *
 * If `ticket_out` is not NULL it receives the last record's ticket
 * (waiting for it covers all of them; `spooled == false` on a degraded
 * spool, or when `bytes` holds no record); if `records_out` is not NULL
 * it receives the number of records (the first one's sequence number is
 * `ticket.seq - records + 1`).
 *
 * Errors: `RHA_NULL_PARAMETER` (`spool`, or `bytes` with `len` > 0);
 * `RHA_JOURNAL_CORRUPT` for bytes that do not decode or end inside a frame
 * (with the byte offset, `rha_error_offset`); `RHA_JOURNAL_SEQUENCE` for
 * a gap inside the bytes or a first record that is not the spool's next
 * (the message names the expected and the found number);
 * `RHA_JOURNAL_TOO_LARGE`; `RHA_JOURNAL_UNSUPPORTED_VERSION`;
 * `RHA_INVALID_ARGUMENT` for a bad option; `RHA_SPOOL_FULL`,
 * `RHA_SPOOL_STOPPED`, `RHA_IO`, `RHA_SPOOL_FAILED` as for
 * `rha_spool_append`. Except for `RHA_IO` and `RHA_SPOOL_FAILED`, nothing
 * was appended and the spool goes on.
 *
 * Thread-safe: may be called from several threads at once.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `bytes` is NULL (only if `len` is 0) or
 * readable for `len` bytes during the call; `options` is NULL or readable;
 * `ticket_out` is NULL or valid for writing an `rha_spool_ticket`;
 * `records_out` is NULL or valid for writing a `uint64_t`; `error_out` is
 * NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_append_journal(const struct rha_spool *spool,
                                         const uint8_t *bytes,
                                         size_t len,
                                         const struct rha_spool_append_options *options,
                                         struct rha_spool_ticket *ticket_out,
                                         uint64_t *records_out,
                                         struct rha_error **error_out);

/**
 * Takes a snapshot of `spool`'s dirty regions (empty unless the spool is
 * degraded, see `RHA_SPOOL_MODE_DEGRADED`).
 *
 * On success stores a new snapshot in `*dirty_out`, owned by the caller
 * (release it with `rha_spool_dirty_free`). Errors: `RHA_NULL_PARAMETER`.
 * Thread-safe with respect to `spool` (producers may append meanwhile; the
 * snapshot holds the regions recorded before the call).
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `dirty_out` is NULL or valid for
 * writing an `rha_spool_dirty *`; `error_out` is NULL or valid for writing
 * an `rha_error *`.
 */
enum rha_result rha_spool_dirty_new(const struct rha_spool *spool,
                                    struct rha_spool_dirty **dirty_out,
                                    struct rha_error **error_out);

/**
 * The granularity of the snapshot's ranges in bytes (at least 1; 4096 by
 * default). Returns 0 if `dirty` is NULL. Thread-safe.
 *
 * # Safety
 *
 * `dirty` is NULL or a live snapshot.
 */
uint64_t rha_spool_dirty_granularity(const struct rha_spool_dirty *dirty);

/**
 * The number of files and volumes in the snapshot (0 if `dirty` is NULL).
 * Thread-safe.
 *
 * # Safety
 *
 * `dirty` is NULL or a live snapshot.
 */
size_t rha_spool_dirty_target_count(const struct rha_spool_dirty *dirty);

/**
 * The number of ranges over every target of the snapshot (0 if `dirty` is
 * NULL); equals `dirty_ranges` of `rha_spool_get_usage` at the time of the
 * snapshot. Thread-safe.
 *
 * # Safety
 *
 * `dirty` is NULL or a live snapshot.
 */
uint64_t rha_spool_dirty_range_count(const struct rha_spool_dirty *dirty);

/**
 * Describes target number `index` of the snapshot. Targets come in a
 * fixed order: files by path (bytewise), then volumes by index.
 *
 * Returns `RHA_OK` with the target in `*target_out`, whose `path` and
 * `ranges` point into the snapshot and stay valid until
 * `rha_spool_dirty_free(dirty)`; a loop from 0 below
 * `rha_spool_dirty_target_count` visits every target. Errors:
 * `RHA_INVALID_ARGUMENT` if `index` is not below the target count (an index
 * out of range is that error everywhere in rha; `*target_out` untouched);
 * `RHA_NULL_PARAMETER`. Thread-safe.
 *
 * # Safety
 *
 * `dirty` is NULL or a live snapshot; `target_out` is NULL or valid for
 * writing an `rha_spool_dirty_target`; `error_out` is NULL or valid for
 * writing an `rha_error *`.
 */
enum rha_result rha_spool_dirty_get(const struct rha_spool_dirty *dirty,
                                    size_t index,
                                    struct rha_spool_dirty_target *target_out,
                                    struct rha_error **error_out);

/**
 * Releases a snapshot; every view taken from it becomes invalid. NULL
 * does nothing.
 *
 * # Safety
 *
 * `dirty` is NULL or a live snapshot no other thread is using, not used
 * again after this call.
 */
void rha_spool_dirty_free(struct rha_spool_dirty *dirty);

/**
 * Makes a reader of `spool`'s durable records from sequence number `seq`
 * on (typically `resume_seq` from `rha_spool_get_usage`).
 *
 * On success stores the reader in `*reader_out`, owned by the caller.
 * Errors: `RHA_NULL_PARAMETER`; `RHA_SPOOL_RECLAIMED` if `seq` was
 * reclaimed after an acknowledgement; `RHA_INVALID_ARGUMENT` if `seq` is
 * beyond the next sequence number. Thread-safe with respect to `spool`.
 *
 * # Safety
 *
 * `spool` is NULL or a live spool; `reader_out` is NULL or valid for
 * writing an `rha_spool_reader *`; `error_out` is NULL or valid for writing
 * an `rha_error *`.
 */
enum rha_result rha_spool_reader_new(const struct rha_spool *spool,
                                     uint64_t seq,
                                     struct rha_spool_reader **reader_out,
                                     struct rha_error **error_out);

/**
 * Reads the next durable record.
 *
 * Returns:
 * - `RHA_OK`: `*record_out` holds the record. Its views (`path`, `path2`,
 *   `data`, `name`) point into memory owned by the reader (for sealed
 *   segments, the memory-mapped segment itself) and stay valid until the
 *   next call of `rha_spool_reader_next` or `rha_spool_reader_free` on this
 *   reader. Fields the operation does not use are zero.
 * - `RHA_BLOCKED`: every durable record has been read; `*record_out` is
 *   untouched. Call again later to get records made durable since.
 * - `RHA_SPOOL_CORRUPT` (with the offset in the segment and the last good
 *   sequence number; the message names the file), `RHA_SPOOL_RECLAIMED`,
 *   `RHA_IO`, `RHA_NULL_PARAMETER`.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader not used by another thread during the
 * call; `record_out` is NULL or valid for writing an `rha_record`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_spool_reader_next(struct rha_spool_reader *reader,
                                      struct rha_record *record_out,
                                      struct rha_error **error_out);

/**
 * The sequence number of the next record the reader returns; 0 if `reader`
 * is NULL.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader not used by another thread during the
 * call.
 */
uint64_t rha_spool_reader_position(const struct rha_spool_reader *reader);

/**
 * Releases a reader and the memory its last record's views point into.
 * NULL does nothing.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader, not used again after this call.
 */
void rha_spool_reader_free(struct rha_spool_reader *reader);

/**
 * Makes comparison settings with the defaults. Returns a new object owned
 * by the caller (never NULL). Thread-safe.
 */
struct rha_compare_options *rha_compare_options_new(void);

/**
 * Sets *ignore files of same size/timestamp* (default on). Off, such files
 * are overwritten, or checked by content if `check_contents` is on.
 *
 * Errors: `RHA_NULL_PARAMETER` if `options` is NULL.
 *
 * # Safety
 *
 * `options` is NULL or live and not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_compare_options_set_ignore_same(struct rha_compare_options *options,
                                                    bool on,
                                                    struct rha_error **error_out);

/**
 * With ignore-same off, plan `RHA_PLAN_CHECK` (compare contents) instead
 * of `RHA_PLAN_UPDATE` for files whose size and time agree. Default off.
 *
 * Errors: `RHA_NULL_PARAMETER` if `options` is NULL.
 *
 * # Safety
 *
 * `options` is NULL or live and not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_compare_options_set_check_contents(struct rha_compare_options *options,
                                                       bool on,
                                                       struct rha_error **error_out);

/**
 * Whether differing owners need fixing (default on; turn off when the
 * replica side cannot change owners).
 *
 * Errors: `RHA_NULL_PARAMETER` if `options` is NULL.
 *
 * # Safety
 *
 * `options` is NULL or live and not used by another thread during the
 * call; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_compare_options_set_owners(struct rha_compare_options *options,
                                               bool on,
                                               struct rha_error **error_out);

/**
 * Adds an exclusion glob: matching paths, and everything inside matching
 * directories, are left alone on both sides. A pattern without `/`
 * matches the last path component at any depth (`*.tmp`); with `/` the
 * whole path from the root (`build/cache`); a trailing `/` matches
 * directories only; `*`, `?`, `[a-z]`, `[!a-z]`, `**` and `\` escapes are
 * understood.
 *
 * Errors: `RHA_TREE_BAD_GLOB` if the pattern does not parse (the message
 * says why); `RHA_INVALID_ARGUMENT` if it is not UTF-8;
 * `RHA_NULL_PARAMETER` if `options` or `glob` is NULL.
 *
 * # Safety
 *
 * `options` is NULL or live and not used by another thread during the
 * call; `glob` is NULL or a NUL-terminated string; `error_out` is NULL or
 * valid for writing an `rha_error *`.
 */
enum rha_result rha_compare_options_add_exclude(struct rha_compare_options *options,
                                                const char *glob,
                                                struct rha_error **error_out);

/**
 * Releases comparison settings. NULL does nothing.
 *
 * # Safety
 *
 * `options` is NULL or live, not used again after this call.
 */
void rha_compare_options_free(struct rha_compare_options *options);

/**
 * Starts comparing the tree signature files `master_sig` and `replica_sig`
 * (read incrementally as the plan is iterated). `options` may be NULL for
 * the defaults.
 *
 * On success stores a new plan in `*plan_out`, owned by the caller.
 * Errors: `RHA_IO` if a file cannot be opened; `RHA_NULL_PARAMETER` if a
 * path or `plan_out` is NULL. Damage in a signature shows up from
 * `rha_plan_next`.
 *
 * # Safety
 *
 * `options` is NULL or live; `master_sig` and `replica_sig` are NULL or
 * NUL-terminated strings; `plan_out` is NULL or valid for writing an
 * `rha_plan *`; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_plan_new_files(const struct rha_compare_options *options,
                                   const char *master_sig,
                                   const char *replica_sig,
                                   struct rha_plan **plan_out,
                                   struct rha_error **error_out);

/**
 * Starts comparing two tree signatures held in memory. The bytes are
 * copied, so the buffers may be reused once the call returns. `options`
 * may be NULL for the defaults.
 *
 * Both signatures are decoded once here, so a damaged one fails now.
 * On success stores a new plan in `*plan_out`, owned by the caller.
 * Errors: `RHA_TREE_CORRUPT` or `RHA_TREE_UNSUPPORTED_VERSION` (with the
 * byte offset, `rha_error_offset`; the message names the side, master or
 * replica) when a buffer is not a whole tree signature;
 * `RHA_NULL_PARAMETER` if `plan_out` is NULL, or a buffer is NULL with a
 * non-zero length. Entries out of order show up from `rha_plan_next`.
 *
 * # Safety
 *
 * `options` is NULL or live; `master` is readable for `master_len` bytes
 * and `replica` for `replica_len` bytes (either may be NULL if its length
 * is 0); `plan_out` is NULL or valid for writing an `rha_plan *`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_plan_new_buffers(const struct rha_compare_options *options,
                                     const uint8_t *master,
                                     size_t master_len,
                                     const uint8_t *replica,
                                     size_t replica_len,
                                     struct rha_plan **plan_out,
                                     struct rha_error **error_out);

/**
 * Computes the next plan step.
 *
 * Returns `RHA_OK` with the step in `*op_out`: its pointers (`entry.path`,
 * `entry.target`, `link_target`) point into memory owned by the plan,
 * valid until the next `rha_plan_next` or `rha_plan_free` on this plan.
 * Returns `RHA_DONE` when the plan is complete (and on every later call).
 * Errors: `RHA_TREE_CORRUPT`, `RHA_TREE_UNSUPPORTED_VERSION` (with the
 * byte offset, `rha_error_offset`) or `RHA_TREE_ORDER` when a signature is
 * damaged or out of order, `RHA_IO` when a file cannot be read; the
 * message names the side (master or replica). After an error the plan
 * returns `RHA_DONE`. `RHA_NULL_PARAMETER` if `plan` or `op_out` is NULL.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan not used by another thread during the
 * call; `op_out` is NULL or valid for writing an `rha_plan_op`;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_plan_next(struct rha_plan *plan,
                              struct rha_plan_op *op_out,
                              struct rha_error **error_out);

/**
 * Releases a plan (finished or not) and the memory its last step's views
 * point into. NULL does nothing.
 *
 * # Safety
 *
 * `plan` is NULL or a live plan, not used again after this call.
 */
void rha_plan_free(struct rha_plan *plan);

/**
 * Makes a tree signature reader. Returns a new reader owned by the caller
 * (never NULL); release it with `rha_tree_reader_free`. Thread-safe.
 */
struct rha_tree_reader *rha_tree_reader_new(void);

/**
 * Reads the next entry, consuming from `input` only the bytes it needs
 * (advancing `input->pos`). `input` may be NULL, meaning no new input.
 *
 * Returns:
 * - `RHA_OK`: `*entry_out` holds the next entry; its `path` and `target`
 *   point into memory owned by the reader, valid until the next call of
 *   `rha_tree_reader_next`, `rha_tree_reader_finish` or
 *   `rha_tree_reader_free` on this reader.
 * - `RHA_BLOCKED`: `input` is used up and more is needed.
 * - `RHA_DONE`: the end block was read; every entry has been handed out.
 *   Call `rha_tree_reader_finish` to check nothing follows.
 * - `RHA_TREE_CORRUPT`, `RHA_TREE_UNSUPPORTED_VERSION`, `RHA_TREE_ORDER`:
 *   the signature does not decode further; `rha_error_offset` gives the byte
 *   offset of the damaged structure. The reader stays failed.
 * - `RHA_NULL_PARAMETER` if `reader` or `entry_out` is NULL, or
 *   `input->src` is NULL with a non-zero size; `RHA_INVALID_ARGUMENT` if
 *   `input->pos > input->size`.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader not used by another thread during the
 * call; `input` is NULL or points to an `rha_in_buffer` whose `src` is
 * readable for `size` bytes; `entry_out` is NULL or valid for writing an
 * `rha_tree_entry`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_tree_reader_next(struct rha_tree_reader *reader,
                                     struct rha_in_buffer *input,
                                     struct rha_tree_entry *entry_out,
                                     struct rha_error **error_out);

/**
 * Declares the input over and checks the signature was complete: on
 * success stores the number of entries in `*count_out`.
 *
 * Errors: `RHA_TREE_CORRUPT` if the input ended before the end block
 * (truncated) or bytes followed it, or the reader's earlier error;
 * `RHA_NULL_PARAMETER` if `reader` or `count_out` is NULL. Views from the
 * last entry become invalid.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader not used by another thread during the
 * call; `count_out` is NULL or valid for writing a `uint64_t`; `error_out`
 * is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_tree_reader_finish(struct rha_tree_reader *reader,
                                       uint64_t *count_out,
                                       struct rha_error **error_out);

/**
 * Releases a reader and the memory its last entry's views point into.
 * NULL does nothing.
 *
 * # Safety
 *
 * `reader` is NULL or a live reader, not used again after this call.
 */
void rha_tree_reader_free(struct rha_tree_reader *reader);

/**
 * Scans the directory tree under `dir` into a tree signature file at
 * `sig_path` (created or truncated).
 *
 * `flags` is a bitwise OR of `rha_tree_scan_flag` values (0 for none).
 * A replica state directory `.rha` at the root is left out (it holds that
 * replica's lock and rewind log) unless `RHA_TREE_SCAN_INCLUDE_STATE_DIR`
 * is given; a `.rha` deeper in the tree is ordinary data. Symlinks are recorded, not followed; each
 * directory is read and sorted as it is entered, so memory stays small
 * whatever the tree's size. On success stores the totals in `*stats_out`
 * if it is not NULL.
 *
 * Errors: `RHA_NULL_PARAMETER` if `dir` or `sig_path` is NULL;
 * `RHA_INVALID_ARGUMENT` if `dir` is not a directory or `flags` has unknown
 * bits; `RHA_IO` if a directory, an entry or the signature file cannot be
 * read or written (the message names the path);
 * `RHA_TREE_UNSUPPORTED_ENTRY` if a path is longer than 4096 bytes. A
 * partly written signature file may be left behind on failure.
 *
 * Thread-safe.
 *
 * # Safety
 *
 * `dir` and `sig_path` are NULL or NUL-terminated strings; `stats_out` is
 * NULL or valid for writing an `rha_tree_scan_stats`; `error_out` is NULL or
 * valid for writing an `rha_error *`.
 */
enum rha_result rha_tree_scan_file(const char *dir,
                                   const char *sig_path,
                                   uint32_t flags,
                                   struct rha_tree_scan_stats *stats_out,
                                   struct rha_error **error_out);

/**
 * Starts scanning the directory `dir` (see `rha_tree_scan_file` for what is
 * recorded). Nothing is read until `rha_tree_scan_job_read`.
 *
 * On success stores a new job in `*job_out`, owned by the caller. Errors:
 * `RHA_NULL_PARAMETER` if `dir` or `job_out` is NULL; `RHA_INVALID_ARGUMENT`
 * for unknown `flags` bits.
 *
 * Thread-safe.
 *
 * # Safety
 *
 * `dir` is NULL or a NUL-terminated string; `job_out` is NULL or valid for
 * writing an `rha_tree_scan_job *`; `error_out` is NULL or valid for
 * writing an `rha_error *`.
 */
enum rha_result rha_tree_scan_job_new(const char *dir,
                                      uint32_t flags,
                                      struct rha_tree_scan_job **job_out,
                                      struct rha_error **error_out);

/**
 * Scans on and writes the next signature bytes at `out->dst + out->pos`,
 * advancing `out->pos`.
 *
 * Returns `RHA_BLOCKED` when `out` is full and more bytes follow (call
 * again with more room), `RHA_DONE` when the whole signature has been written
 * (`out` may have received its last bytes in this call; later calls
 * return `RHA_DONE` and write nothing). Errors: those of
 * `rha_tree_scan_file`; `RHA_NULL_PARAMETER` if `job` or `out` is NULL;
 * `RHA_INVALID_ARGUMENT` if `out->pos > out->size`. After an error the job
 * can only be freed.
 *
 * # Safety
 *
 * `job` is NULL or a live job not used by another thread during the call;
 * `out` is NULL or points to an `rha_out_buffer` whose `dst` is writable
 * for `size` bytes; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_tree_scan_job_read(struct rha_tree_scan_job *job,
                                       struct rha_out_buffer *out,
                                       struct rha_error **error_out);

/**
 * Stores the totals of the scan so far in `*stats_out`.
 *
 * Errors: `RHA_NULL_PARAMETER` if `job` or `stats_out` is NULL;
 * `RHA_INVALID_ARGUMENT` for a `stats_out->struct_size` this library does
 * not know (`*stats_out` untouched).
 *
 * # Safety
 *
 * `job` is NULL or a live job not used by another thread during the call;
 * `stats_out` is NULL or valid for writing an `rha_tree_scan_stats` of
 * its `struct_size`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_tree_scan_job_get_stats(const struct rha_tree_scan_job *job,
                                            struct rha_tree_scan_stats *stats_out,
                                            struct rha_error **error_out);

/**
 * Releases a scan job, finished or not. NULL does nothing.
 *
 * # Safety
 *
 * `job` is NULL or a live job, not used again after this call.
 */
void rha_tree_scan_job_free(struct rha_tree_scan_job *job);

/**
 * Makes a node identity in `dir` as `rha keygen DIR` does: a new Ed25519
 * key (`key.pem`, mode 0600) and a self-signed certificate over it
 * (`cert.pem`), creating `dir` (mode 0700) if it is missing. Peers pin
 * the identity by its fingerprint, which is written (NUL-terminated) to
 * `fingerprint_out` unless that is NULL; it holds `fingerprint_size`
 * bytes, at least `RHA_FINGERPRINT_SIZE`.
 *
 * Errors: `RHA_NULL_PARAMETER` (`dir`); `RHA_INVALID_ARGUMENT` for a
 * `fingerprint_size` below `RHA_FINGERPRINT_SIZE` (nothing is made);
 * `RHA_IDENTITY_EXISTS` if `dir` holds an identity file and `force` is
 * false (nothing is changed); `RHA_IO` when a file cannot be written.
 *
 * Thread-safe.
 *
 * # Safety
 *
 * `dir` is NULL or a NUL-terminated string; `fingerprint_out` is NULL or
 * valid for writing `fingerprint_size` bytes; `error_out` is NULL or valid
 * for writing an `rha_error *`.
 */
enum rha_result rha_identity_generate(const char *dir,
                                      bool force,
                                      char *fingerprint_out,
                                      size_t fingerprint_size,
                                      struct rha_error **error_out);

/**
 * Writes the fingerprint of the identity in `dir` (made by
 * `rha_identity_generate` or `rha keygen`), NUL-terminated, to
 * `fingerprint_out`, which holds `fingerprint_size` bytes, at least
 * `RHA_FINGERPRINT_SIZE`. The identity is loaded and checked (the key
 * must be the certificate's).
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for a
 * `fingerprint_size` below `RHA_FINGERPRINT_SIZE`;
 * `RHA_IDENTITY_MISSING`, `RHA_IDENTITY_INVALID`, `RHA_IO`.
 *
 * Thread-safe.
 *
 * # Safety
 *
 * `dir` is NULL or a NUL-terminated string; `fingerprint_out` is NULL or
 * valid for writing `fingerprint_size` bytes; `error_out` is NULL or valid
 * for writing an `rha_error *`.
 */
enum rha_result rha_identity_fingerprint(const char *dir,
                                         char *fingerprint_out,
                                         size_t fingerprint_size,
                                         struct rha_error **error_out);

/**
 * Stores the default settings in `*config`, `struct_size` included: no
 * directories, address or fingerprint (set them), no scenario name or
 * peer name, no compression, heartbeat 3 s, timeout 30 s, 1 MiB messages,
 * retries from 0.2 s up to 30 s, no sync (`root_dir` NULL; file mode,
 * ignore-same on, 64 KiB blocks once a root is set). NULL does nothing.
 * Thread-safe.
 *
 * # Safety
 *
 * `config` is NULL or valid for writing an `rha_master_agent_config`.
 */
void rha_master_agent_config_init(struct rha_master_agent_config *config);

/**
 * Starts a master agent as `rha replicate` does: opens (or creates) its
 * state directory and spool, and starts the thread that connects to the
 * replica at `config->replica_address` over TLS as the identity in
 * `config->identity_dir`, accepting only `config->peer_fingerprint`, and
 * sends the spool's records in order. A replica that cannot be reached,
 * or refuses the handshake, is not an error: the agent retries with
 * backoff and its status says so (`RHA_AGENT_LINK_DOWN`). Feed the spool
 * with `rha_master_agent_append_journal`.
 *
 * On success stores a new agent in `*agent_out` (stop it with
 * `rha_master_agent_stop`, or `rha_master_agent_free`).
 *
 * Errors: `RHA_NULL_PARAMETER` (also for a NULL `state_dir` or
 * `identity_dir`); `RHA_INVALID_ARGUMENT` for an unknown `struct_size`, a
 * `zstd` or `ignore_same` other than 0 or 1, an empty `replica_address`,
 * text that is not UTF-8, a `heartbeat_ms`, `timeout_ms`, `batch_bytes`
 * or `retry_max_ms` of 0, `retry_min_ms` above `retry_max_ms`, a
 * `sync_mode` that is no `rha_sync_mode` value, or a `sync_block_size`
 * that is neither 0 nor a power of two from 4096 to 16 MiB (all checked
 * whether or not `root_dir` is set);
 * `RHA_TRANSPORT_BAD_FINGERPRINT`; `RHA_IDENTITY_MISSING`,
 * `RHA_IDENTITY_INVALID`; `RHA_AGENT_STATE_CORRUPT`,
 * `RHA_AGENT_OTHER_SCENARIO` (the state directory serves another
 * scenario); `RHA_SPOOL_LOCKED` (another agent runs on it) and the
 * spool's other opening errors; `RHA_IO`.
 *
 * # Safety
 *
 * `config` is NULL or points to an `rha_master_agent_config` (of its
 * declared size) whose strings are NULL or NUL-terminated and whose views
 * are valid during the call; `agent_out` is NULL or valid for writing an
 * `rha_master_agent *`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_master_agent_start(const struct rha_master_agent_config *config,
                                       struct rha_master_agent **agent_out,
                                       struct rha_error **error_out);

/**
 * Appends the records of `journal` (`journal_len` bytes, as an
 * `rha_journal_writer` writes them, with or without the stream header) to
 * the agent's spool, durably: when the call returns they are on disk and
 * the agent sends them. The records must continue the spool: the first
 * one's sequence number is the spool's next (`status.last_seq + 1`; 1 for
 * a new state directory), the rest consecutive. All or nothing: bytes
 * that do not decode, or records out of sequence, append nothing.
 *
 * On success stores the last record's sequence number in `*last_seq_out`
 * unless it is NULL (the spool's last when `journal` holds no record):
 * the replica holds everything once `acked_applied` reaches it.
 *
 * Errors: `RHA_NULL_PARAMETER` (`agent`, or `journal` NULL with a nonzero
 * length); `RHA_JOURNAL_SEQUENCE` (the message names the number
 * expected), `RHA_JOURNAL_CORRUPT` and the journal's other errors;
 * `RHA_SPOOL_STOPPED`, `RHA_SPOOL_FAILED`, `RHA_IO`.
 *
 * # Safety
 *
 * `agent` is NULL or a live master agent; `journal` is valid for reading
 * `journal_len` bytes (or NULL with 0), read during the call only;
 * `last_seq_out` is NULL or valid for writing a `uint64_t`; `error_out`
 * is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_master_agent_append_journal(const struct rha_master_agent *agent,
                                                const uint8_t *journal,
                                                size_t journal_len,
                                                uint64_t *last_seq_out,
                                                struct rha_error **error_out);

/**
 * Fills `*status_out` (of its declared `struct_size`) with a snapshot of
 * the agent: its link, the last record of its spool, what the replica
 * acknowledged stored and applied, the lag and the spool's use.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `status_out->struct_size`.
 *
 * # Safety
 *
 * `agent` is NULL or a live master agent; `status_out` is NULL or valid
 * for reading its size field and writing that many bytes; `error_out` is
 * NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_master_agent_status(const struct rha_master_agent *agent,
                                        struct rha_agent_status *status_out,
                                        struct rha_error **error_out);

/**
 * Asks the replica to pause application (`RHA_SESSION_CONTROL_PAUSE`; it
 * keeps storing), resume it (`RHA_SESSION_CONTROL_RESUME`), or set a
 * bookmark named `name` (`RHA_SESSION_CONTROL_BOOKMARK`, UTF-8, 1 to 1024
 * bytes) after the last record of the spool now. `kind` is an
 * `rha_session_control_kind` value; `name` is ignored for the first two.
 * Requests go in order, once the session is (or next is) up.
 *
 * Errors: `RHA_NULL_PARAMETER` (`agent`, or `name` NULL with a nonzero
 * length); `RHA_INVALID_ARGUMENT` for an unknown `kind`, or a bookmark
 * name that is empty, too long or not UTF-8.
 *
 * # Safety
 *
 * `agent` is NULL or a live master agent; `name` is valid for reading
 * `name_len` bytes (or NULL with 0), read during the call only;
 * `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_master_agent_control(const struct rha_master_agent *agent,
                                         uint32_t kind,
                                         const uint8_t *name,
                                         size_t name_len,
                                         struct rha_error **error_out);

/**
 * Why the agent's last session ended (or, for a master, why its last
 * connection attempt failed, such as a replica presenting a certificate
 * that is not the pinned one), as text: written NUL-terminated to
 * `text_out`, cut to fit its `text_size` bytes; the text's whole length
 * (without the NUL) goes to `*len_out` unless that is NULL, so a caller
 * whose buffer was short can call again with a larger one. Empty before
 * any session ended. Thread-safe on one handle, like `_status`.
 *
 * Errors: `RHA_NULL_PARAMETER` (`agent`, or `text_out` NULL with a nonzero
 * `text_size`).
 *
 * # Safety
 *
 * `agent` is NULL or a live master agent; `text_out` is NULL or valid for
 * writing `text_size` bytes; `len_out` is NULL or valid for writing a
 * `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_master_agent_last_end(const struct rha_master_agent *agent,
                                          char *text_out,
                                          size_t text_size,
                                          size_t *len_out,
                                          struct rha_error **error_out);

/**
 * Why the agent's last sync over the session failed, as text
 * (`rha_agent_status.sync_phase` `RHA_AGENT_SYNC_FAILED`): written
 * NUL-terminated to `text_out`, cut to fit its `text_size` bytes, as
 * `_last_end` does; the whole length goes to `*len_out` unless that is
 * NULL. Empty before any sync, and while the last one is under way or
 * done. Thread-safe on one handle, like `_status`.
 *
 * Errors: `RHA_NULL_PARAMETER` (`agent`, or `text_out` NULL with a nonzero
 * `text_size`).
 *
 * # Safety
 *
 * `agent` is NULL or a live master agent; `text_out` is NULL or valid for
 * writing `text_size` bytes; `len_out` is NULL or valid for writing a
 * `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_master_agent_sync_error(const struct rha_master_agent *agent,
                                            char *text_out,
                                            size_t text_size,
                                            size_t *len_out,
                                            struct rha_error **error_out);

/**
 * Stops the agent and releases it: ends the session in order (the
 * replica acknowledges what it stored), stops its thread and makes the
 * spool durable. The final snapshot goes to `*status_out` unless it is
 * NULL. The handle is consumed in every case, even when the call fails
 * (a bad `struct_size` still stops the agent); NULL `agent` is
 * `RHA_NULL_PARAMETER`.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `status_out->struct_size`; `RHA_AGENT_FAILED` if the spool could not be
 * made durable or the agent's thread had failed.
 *
 * # Safety
 *
 * `agent` is NULL or a live master agent, not used again after this call
 * and not in use by another thread; `status_out` is NULL or valid for
 * reading its size field and writing that many bytes; `error_out` is NULL
 * or valid for writing an `rha_error *`.
 */
enum rha_result rha_master_agent_stop(struct rha_master_agent *agent,
                                      struct rha_agent_status *status_out,
                                      struct rha_error **error_out);

/**
 * Stops the agent without reporting (its session ends in order, its
 * thread stops) and releases it. NULL does nothing.
 *
 * # Safety
 *
 * `agent` is NULL or a live master agent, not used again after this call
 * and not in use by another thread.
 */
void rha_master_agent_free(struct rha_master_agent *agent);

/**
 * Stores the default settings in `*config`, `struct_size` included: no
 * directories, address or allowed masters (set them), no rewind, no
 * scenario or peer name, a window of 8 MiB, heartbeat 3 s, timeout 30 s.
 * NULL does nothing. Thread-safe.
 *
 * # Safety
 *
 * `config` is NULL or valid for writing an `rha_replica_agent_config`.
 */
void rha_replica_agent_config_init(struct rha_replica_agent_config *config);

/**
 * Starts a replica agent as `rha serve` does: opens the replica at
 * `config->root` (taking its lock and finishing what a crash
 * interrupted), starts applying what it stored earlier, listens on
 * `config->listen_address` as the identity in `config->identity_dir`,
 * and serves the allowed masters, one session at a time, on threads of
 * its own. A master refused in the handshake (a stranger, not TLS) is
 * logged and the agent goes on.
 *
 * On success stores a new agent in `*agent_out` (stop it with
 * `rha_replica_agent_stop`, or `rha_replica_agent_free`).
 *
 * Errors: `RHA_NULL_PARAMETER` (also for a NULL `root`, `identity_dir` or
 * `allowed`); `RHA_INVALID_ARGUMENT` for an unknown `struct_size`, a
 * `rewind` other than 0 or 1, an empty `listen_address`, no allowed
 * master, several without a `scenario_name`, text that is not UTF-8, a
 * `heartbeat_ms` or `timeout_ms` of 0; `RHA_TRANSPORT_BAD_FINGERPRINT`;
 * `RHA_IDENTITY_MISSING`, `RHA_IDENTITY_INVALID`; `RHA_REPLICA_BUSY`
 * (another agent or handle holds the replica) and the replica's other
 * opening errors; `RHA_AGENT_STATE_CORRUPT`, `RHA_AGENT_OTHER_SCENARIO`;
 * `RHA_TRANSPORT_LISTEN` (the address is in use or not local); `RHA_IO`.
 *
 * # Safety
 *
 * `config` is NULL or points to an `rha_replica_agent_config` (of its
 * declared size) whose strings are NULL or NUL-terminated, whose
 * `allowed` is valid for reading `allowed_count` views, and whose views
 * are valid during the call; `agent_out` is NULL or valid for writing an
 * `rha_replica_agent *`; `error_out` is NULL or valid for writing an
 * `rha_error *`.
 */
enum rha_result rha_replica_agent_start(const struct rha_replica_agent_config *config,
                                        struct rha_replica_agent **agent_out,
                                        struct rha_error **error_out);

/**
 * The port the agent listens on (the one chosen when the address gave
 * port 0); 0 if `agent` is NULL.
 *
 * # Safety
 *
 * `agent` is NULL or a live replica agent.
 */
uint16_t rha_replica_agent_local_port(const struct rha_replica_agent *agent);

/**
 * Fills `*status_out` (of its declared `struct_size`) with a snapshot of
 * the agent: its link, the last record stored, the last applied
 * (`acked_applied`), the records waiting to be applied, whether
 * application is paused or failed, and the spool's use.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `status_out->struct_size`.
 *
 * # Safety
 *
 * `agent` is NULL or a live replica agent; `status_out` is NULL or valid
 * for reading its size field and writing that many bytes; `error_out` is
 * NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_replica_agent_status(const struct rha_replica_agent *agent,
                                         struct rha_agent_status *status_out,
                                         struct rha_error **error_out);

/**
 * Why the agent's last session ended (or, for a master, why its last
 * connection attempt failed, such as a replica presenting a certificate
 * that is not the pinned one), as text: written NUL-terminated to
 * `text_out`, cut to fit its `text_size` bytes; the text's whole length
 * (without the NUL) goes to `*len_out` unless that is NULL, so a caller
 * whose buffer was short can call again with a larger one. Empty before
 * any session ended. Thread-safe on one handle, like `_status`.
 *
 * Errors: `RHA_NULL_PARAMETER` (`agent`, or `text_out` NULL with a nonzero
 * `text_size`).
 *
 * # Safety
 *
 * `agent` is NULL or a live replica agent; `text_out` is NULL or valid for
 * writing `text_size` bytes; `len_out` is NULL or valid for writing a
 * `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_replica_agent_last_end(const struct rha_replica_agent *agent,
                                           char *text_out,
                                           size_t text_size,
                                           size_t *len_out,
                                           struct rha_error **error_out);

/**
 * Why the agent's last sync over the session failed, as text
 * (`rha_agent_status.sync_phase` `RHA_AGENT_SYNC_FAILED`): written
 * NUL-terminated to `text_out`, cut to fit its `text_size` bytes, as
 * `_last_end` does; the whole length goes to `*len_out` unless that is
 * NULL. Empty before any sync, and while the last one is under way or
 * done. Thread-safe on one handle, like `_status`.
 *
 * Errors: `RHA_NULL_PARAMETER` (`agent`, or `text_out` NULL with a nonzero
 * `text_size`).
 *
 * # Safety
 *
 * `agent` is NULL or a live replica agent; `text_out` is NULL or valid for
 * writing `text_size` bytes; `len_out` is NULL or valid for writing a
 * `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
 */
enum rha_result rha_replica_agent_sync_error(const struct rha_replica_agent *agent,
                                             char *text_out,
                                             size_t text_size,
                                             size_t *len_out,
                                             struct rha_error **error_out);

/**
 * Stops the agent and releases it: ends the session under way in order,
 * stops listening, and stops applying after a last checkpoint (what was
 * applied is durable). The final snapshot goes to `*status_out` unless it
 * is NULL. The handle is consumed in every case, even when the call fails
 * (a bad `struct_size` still stops the agent); NULL `agent` is
 * `RHA_NULL_PARAMETER`.
 *
 * Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
 * `status_out->struct_size`; `RHA_AGENT_FAILED` if a thread of the agent
 * had failed; the replica's errors if its last checkpoint fails.
 *
 * # Safety
 *
 * `agent` is NULL or a live replica agent, not used again after this call
 * and not in use by another thread; `status_out` is NULL or valid for
 * reading its size field and writing that many bytes; `error_out` is NULL
 * or valid for writing an `rha_error *`.
 */
enum rha_result rha_replica_agent_stop(struct rha_replica_agent *agent,
                                       struct rha_agent_status *status_out,
                                       struct rha_error **error_out);

/**
 * Stops the agent without reporting (as `rha_replica_agent_stop`) and
 * releases it. NULL does nothing.
 *
 * # Safety
 *
 * `agent` is NULL or a live replica agent, not used again after this call
 * and not in use by another thread.
 */
void rha_replica_agent_free(struct rha_replica_agent *agent);

/**
 * Deprecated name of `rha_signature_new` (same arguments, same behaviour).
 *
 * # Safety
 *
 * As `rha_signature_new`.
 */
RHA_DEPRECATED("use rha_signature_new")
enum rha_result rha_signature_load(const uint8_t *data,
                                   size_t len,
                                   struct rha_signature **sig_out,
                                   struct rha_error **error_out);

/**
 * Deprecated name of `rha_fixed_plan_new` (same arguments, same behaviour).
 *
 * # Safety
 *
 * As `rha_fixed_plan_new`.
 */
RHA_DEPRECATED("use rha_fixed_plan_new")
enum rha_result rha_fixed_compare(const struct rha_signature *replica,
                                  const struct rha_signature *master,
                                  struct rha_fixed_plan **plan_out,
                                  struct rha_error **error_out);

/**
 * Deprecated name of `rha_spool_dirty_new` (same arguments, same
 * behaviour).
 *
 * # Safety
 *
 * As `rha_spool_dirty_new`.
 */
RHA_DEPRECATED("use rha_spool_dirty_new")
enum rha_result rha_spool_dirty_regions(const struct rha_spool *spool,
                                        struct rha_spool_dirty **dirty_out,
                                        struct rha_error **error_out);

/**
 * Deprecated form of `rha_ha_scenario_builder_set_side_host`: `replica`
 * false sets the master (`RHA_HA_MASTER`), true the replica
 * (`RHA_HA_REPLICA`).
 *
 * # Safety
 *
 * As `rha_ha_scenario_builder_set_side_host`.
 */
RHA_DEPRECATED("use rha_ha_scenario_builder_set_side_host")
enum rha_result rha_ha_scenario_builder_set_host(struct rha_ha_scenario_builder *builder,
                                                 bool replica,
                                                 const uint8_t *name,
                                                 size_t name_len,
                                                 const uint8_t *address,
                                                 size_t address_len,
                                                 uint8_t prefix_len,
                                                 struct rha_error **error_out);

/**
 * Deprecated form of `rha_replica_add_bookmark`: `name` NUL-terminated,
 * `app_consistent` non-zero for true.
 *
 * # Safety
 *
 * `replica` as for `rha_replica_add_bookmark`; `name` is NULL or
 * NUL-terminated; `error_out` is NULL or valid for writing a pointer.
 */
RHA_DEPRECATED("use rha_replica_add_bookmark")
enum rha_result rha_replica_set_bookmark(struct rha_replica *replica,
                                         const char *name,
                                         uint64_t timestamp_ns,
                                         int32_t app_consistent,
                                         struct rha_error **error_out);

/**
 * Deprecated form of `rha_replica_rewind_to`: `name` NULL or
 * NUL-terminated, `dry_run` non-zero for true.
 *
 * # Safety
 *
 * As `rha_replica_rewind_to`, but `name` is NULL or NUL-terminated.
 */
RHA_DEPRECATED("use rha_replica_rewind_to")
enum rha_result rha_replica_rewind(struct rha_replica *replica,
                                   uint32_t by,
                                   uint64_t seq,
                                   const char *name,
                                   uint64_t time_ns,
                                   int32_t dry_run,
                                   struct rha_rewind_plan *plan_out,
                                   struct rha_error **error_out);

/**
 * Deprecated form of `rha_replica_open_with`: `state_dir` as there,
 * `rewind` non-zero for `RHA_REPLICA_REWIND`; a missing root is created
 * (always `RHA_REPLICA_CREATE`), as this function always did.
 *
 * # Safety
 *
 * As `rha_replica_open_with`.
 */
RHA_DEPRECATED("use rha_replica_open_with, which creates a missing root only with RHA_REPLICA_CREATE")
enum rha_result rha_replica_open(const char *root,
                                 const char *state_dir,
                                 int32_t rewind,
                                 struct rha_replica **replica_out,
                                 struct rha_error **error_out);

/**
 * Deprecated: the totals of the scan so far, returned by value (zeros if
 * `job` is NULL) in the frozen `rha_tree_scan_totals`. A struct returned
 * by value cannot grow; `rha_tree_scan_job_get_stats` fills a sized
 * `rha_tree_scan_stats` instead.
 *
 * # Safety
 *
 * `job` is NULL or a live job not used by another thread during the call.
 */
RHA_DEPRECATED("use rha_tree_scan_job_get_stats")
struct rha_tree_scan_totals rha_tree_scan_job_stats(const struct rha_tree_scan_job *job);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* RHA_H */
