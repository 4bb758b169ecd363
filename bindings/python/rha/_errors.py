"""Exceptions, one class per ``rha_result`` family and code.

The C library reports failures as an ``rha_result`` code plus an owned
``rha_error`` object holding the message; :func:`call` turns those into the
exception classes below (and always frees the error object).

Families (codes are grouped by hundreds and never renumbered); the one
table from codes to classes is ``_BY_CODE`` with ``_FAMILIES`` below, and
a code a later library adds raises its family's class::

    RhaError
    ├── UsageError            1xx: the API was used wrongly
    │   ├── PanicError             a bug in rha (a Rust panic, caught)
    │   ├── NullParameterError     a required pointer was NULL
    │   ├── InvalidArgumentError   bad argument or record field (also a ValueError)
    │   ├── InvalidStateError      call not valid now (closed, failed earlier, ...)
    │   └── LogSubscriberExistsError  a Rust host's tracing subscriber takes the logs
    ├── RhaIOError            2xx: an I/O failure (RHA_IO; also an OSError, with errno)
    ├── JournalError          3xx: journal decoding
    │   ├── CorruptJournalError    damaged bytes: checksum, structure, magic
    │   ├── UnsupportedVersionError
    │   ├── RecordTooLargeError    a frame exceeds the configured maximum
    │   └── SequenceError          a sequence gap or reordering
    ├── BlockError            400-449: block signatures, deltas and patches
    │   ├── CorruptSignatureError      damaged signature bytes
    │   ├── UnsupportedSignatureError  a version or kind not read (rdiff MD4)
    │   ├── SignatureTooLargeError     more blocks than the bound
    │   ├── InputLengthError           the file's length differs from the declared one
    │   ├── CorruptDeltaError          damaged delta bytes
    │   ├── UnsupportedDeltaError      a delta format version not read
    │   ├── DeltaOutOfRangeError       a copy outside the basis
    │   ├── PatchTooLargeError         the output would pass the cap
    │   ├── HashMismatchError          the result does not match the whole-file hash
    │   ├── NotInPlaceError            a rolling delta cannot be patched in place
    │   └── WrongBasisError            the delta names another basis (nothing written)
    ├── TreeSignatureError    450-499: tree signatures and sync plans
    │   ├── CorruptTreeSignatureError  damaged, truncated or impossible signature
    │   ├── UnsupportedSignatureVersionError
    │   ├── SignatureOrderError        entries out of order, parent missing
    │   ├── BadGlobError               an exclusion pattern does not parse (also a ValueError)
    │   └── UnsupportedEntryError      a scanned entry cannot be recorded
    ├── SpoolError            5xx: the spool
    │   ├── SpoolFullError, SpoolStoppedError, CorruptSpoolError,
    │   └── SpoolFailedError, NotDurableError, ReclaimedError, SpoolLockedError
    ├── RewindError           6xx: applying to replicas and rewinding them
    │   ├── UnknownBookmarkError (also a KeyError), PointRetiredError, NoPointError,
    │   ├── NothingToUndoError, RewindDisabledError, ReplicaBusyError,
    │   └── ApplyFailedError, RewindLogCorruptError, RewindInterruptedError
    ├── HaError               7xx: high availability (scenarios)
    │   ├── RefusedError               command not valid in the scenario's state
    │   ├── ConfirmationRequiredError  destructive command without confirm=True
    │   ├── InvalidConfigError         bad scenario configuration (also a ValueError)
    │   ├── StateCorruptError          saved scenario state does not load
    │   └── StateVersionError          saved by a newer version
    ├── SessionError          8xx: replication sessions
    │   ├── SessionNotConnectedError   a request during the handshake or after the end
    │   ├── WrongRoleError             a request of the other role
    │   ├── OutOfOrderError            journal records not the next in order
    │   ├── MessageTooLargeError       frames larger than a message carries
    │   └── BadAckError                an acknowledgement that breaks the rules
    └── AgentError            9xx: agents, identities and the transport
        ├── AgentStateCorruptError     an agent's state file is damaged
        ├── OtherScenarioError         the state serves another scenario
        ├── AgentFailedError           a running agent failed
        ├── IdentityMissingError       no key.pem / cert.pem in the directory
        ├── IdentityInvalidError       the files are not a key and its certificate
        ├── IdentityExistsError        an identity is there already (no force)
        ├── BadFingerprintError        not "sha256:" + 64 hex digits (also a ValueError)
        └── ListenError                cannot listen on the address
"""

from __future__ import annotations

from typing import Any, Callable, Dict, NoReturn, Optional, Tuple, Type

from ._native import c_str, ffi, lib

__all__ = [
    "RhaError",
    "UsageError",
    "PanicError",
    "NullParameterError",
    "InvalidArgumentError",
    "InvalidStateError",
    "LogSubscriberExistsError",
    "RhaIOError",
    "JournalError",
    "CorruptJournalError",
    "UnsupportedVersionError",
    "RecordTooLargeError",
    "SequenceError",
    "TreeSignatureError",
    "CorruptTreeSignatureError",
    "UnsupportedSignatureVersionError",
    "SignatureOrderError",
    "BadGlobError",
    "UnsupportedEntryError",
    "HaError",
    "RefusedError",
    "ConfirmationRequiredError",
    "InvalidConfigError",
    "StateCorruptError",
    "StateVersionError",
    "BlockError",
    "CorruptSignatureError",
    "UnsupportedSignatureError",
    "SignatureTooLargeError",
    "InputLengthError",
    "CorruptDeltaError",
    "UnsupportedDeltaError",
    "DeltaOutOfRangeError",
    "PatchTooLargeError",
    "HashMismatchError",
    "NotInPlaceError",
    "WrongBasisError",
    "SpoolError",
    "SpoolFullError",
    "SpoolStoppedError",
    "CorruptSpoolError",
    "SpoolFailedError",
    "NotDurableError",
    "ReclaimedError",
    "SpoolLockedError",
    "RewindError",
    "UnknownBookmarkError",
    "PointRetiredError",
    "NoPointError",
    "NothingToUndoError",
    "RewindDisabledError",
    "ReplicaBusyError",
    "ApplyFailedError",
    "RewindLogCorruptError",
    "RewindInterruptedError",
    "SessionError",
    "SessionNotConnectedError",
    "WrongRoleError",
    "OutOfOrderError",
    "MessageTooLargeError",
    "BadAckError",
    "AgentError",
    "AgentStateCorruptError",
    "OtherScenarioError",
    "AgentFailedError",
    "IdentityMissingError",
    "IdentityInvalidError",
    "IdentityExistsError",
    "BadFingerprintError",
    "ListenError",
    "call",
    "code_name",
    "raise_code",
]


class RhaError(Exception):
    """An error reported by the rha library.

    Attributes:
        code: The numeric ``rha_result`` code.
        code_name: Its name, such as ``"RHA_JOURNAL_CORRUPT"``.
        message: The library's message (lowercase, with context such as the
            byte offset, sequence number or field). Also ``str(error)``.
        offset: For journal decoding errors, the stream offset of the frame
            that failed; otherwise None.
        last_seq: For journal decoding errors, the sequence number of the last
            record that decoded cleanly; None if there was none or it does not
            apply.
    """

    def __init__(
        self,
        code: int,
        code_name: str,
        message: str,
        offset: Optional[int] = None,
        last_seq: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.code_name = code_name
        self.message = message
        self.offset = offset
        self.last_seq = last_seq

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code_name}, {self.message!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.code, self.code_name, self.message, self.offset, self.last_seq))


class UsageError(RhaError):
    """The API was used wrongly (``rha_result`` 1xx)."""


class PanicError(UsageError):
    """The library panicked: a bug in rha (``RHA_PANIC``)."""


class NullParameterError(UsageError):
    """A required pointer was NULL (``RHA_NULL_PARAMETER``)."""


class InvalidArgumentError(UsageError, ValueError):
    """An argument or record field is invalid (``RHA_INVALID_ARGUMENT``).

    For example a path that is absolute, empty, has ``..`` or a NUL byte,
    or an attribute name that is too long; the message names the problem.
    Also a :class:`ValueError`, as Python code expects of a bad value.
    """


class InvalidStateError(UsageError):
    """The call is not valid now (``RHA_INVALID_STATE``): the object is
    closed, failed earlier, or ``finish`` came before all input was read."""


class LogSubscriberExistsError(UsageError):
    """The library's log messages cannot be routed to :mod:`logging`
    (``RHA_LOG_SUBSCRIBER_EXISTS``): the process already has a global Rust
    ``tracing`` subscriber (the host program installed one), which receives
    them instead."""


class RhaIOError(RhaError, OSError):
    """An I/O failure (``RHA_IO``; ``rha_result`` 2xx); also an :class:`OSError`.

    ``errno`` is the operating system's error number (``errno.ENOENT``, ...)
    when the failure came from the operating system (``rha_error_os_code``),
    else None; ``strerror`` is the library's message.
    """

    def __init__(
        self,
        code: int,
        code_name: str,
        message: str,
        offset: Optional[int] = None,
        last_seq: Optional[int] = None,
        os_code: Optional[int] = None,
    ) -> None:
        super().__init__(code, code_name, message, offset, last_seq)
        self.errno = os_code
        self.strerror = message

    def __reduce__(self) -> Tuple[Any, ...]:
        return (
            type(self),
            (self.code, self.code_name, self.message, self.offset, self.last_seq, self.errno),
        )


class JournalError(RhaError):
    """A journal cannot be decoded (``rha_result`` 3xx).

    ``offset`` and ``last_seq`` say where decoding stopped and what is intact.
    """


class CorruptJournalError(JournalError):
    """Damaged journal bytes (``RHA_JOURNAL_CORRUPT``): a checksum mismatch,
    an impossible structure, bad magic bytes, a bad path inside a record or
    a batch that does not decompress."""


class UnsupportedVersionError(JournalError):
    """The journal is in a format version this library does not read
    (``RHA_JOURNAL_UNSUPPORTED_VERSION``)."""


class RecordTooLargeError(JournalError):
    """A frame or record exceeds the configured maximum size
    (``RHA_JOURNAL_TOO_LARGE``)."""


class SequenceError(JournalError):
    """A sequence number skips ahead or goes back (``RHA_JOURNAL_SEQUENCE``)."""


class TreeSignatureError(RhaError):
    """A tree signature or sync plan problem (``rha_result`` 450-499).

    ``offset`` is the byte offset of the damaged structure when there is one.
    """


class CorruptTreeSignatureError(TreeSignatureError):
    """A damaged tree signature (``RHA_TREE_CORRUPT``): bad magic bytes, a
    checksum mismatch, an impossible entry, or truncation."""


class UnsupportedSignatureVersionError(TreeSignatureError):
    """A tree signature in a format version this library does not read
    (``RHA_TREE_UNSUPPORTED_VERSION``)."""


class SignatureOrderError(TreeSignatureError):
    """Tree entries out of signature order, or an entry whose parent
    directory does not precede it (``RHA_TREE_ORDER``)."""


class BadGlobError(TreeSignatureError, ValueError):
    """An exclusion pattern that does not parse (``RHA_TREE_BAD_GLOB``)."""


class UnsupportedEntryError(TreeSignatureError):
    """A scanned entry that a signature cannot record, such as a path
    longer than 4096 bytes (``RHA_TREE_UNSUPPORTED_ENTRY``)."""


class BlockError(RhaError):
    """Block signatures, deltas and patches (``rha_result`` 400-449).

    ``offset`` is the byte offset of the damage in the signature or delta,
    when it applies.
    """


class CorruptSignatureError(BlockError):
    """Damaged signature bytes (``RHA_SIGNATURE_CORRUPT``)."""


class UnsupportedSignatureError(BlockError):
    """A signature version or kind this library does not read, such as an
    rdiff signature with MD4 sums (``RHA_SIGNATURE_UNSUPPORTED``)."""


class SignatureTooLargeError(BlockError):
    """A signature with more blocks than the bound (``RHA_SIGNATURE_TOO_LARGE``)."""


class InputLengthError(BlockError, ValueError):
    """The data given to a signature job is longer or shorter than declared
    (``RHA_SIGNATURE_INPUT_LENGTH``)."""


class CorruptDeltaError(BlockError):
    """Damaged delta bytes (``RHA_DELTA_CORRUPT``)."""


class UnsupportedDeltaError(BlockError):
    """A delta format version this library does not read (``RHA_DELTA_UNSUPPORTED``)."""


class DeltaOutOfRangeError(BlockError):
    """A delta copies from outside the basis (``RHA_DELTA_OUT_OF_RANGE``)."""


class PatchTooLargeError(BlockError):
    """The patched output would pass the cap (``RHA_PATCH_TOO_LARGE``)."""


class HashMismatchError(BlockError):
    """The patched output does not match the delta's whole-file hash: the
    basis is not the file the signature described (``RHA_PATCH_HASH_MISMATCH``).
    Discard the output and copy the whole file."""


class HaError(RhaError):
    """A scenario refused something (``rha_result`` 7xx)."""


class RefusedError(HaError):
    """The command is not valid in the scenario's current state
    (``RHA_HA_REFUSED``); the message names the state and the reason, and
    the scenario is unchanged."""


class ConfirmationRequiredError(HaError):
    """A destructive command (failover, failback) came without
    ``confirm=True`` (``RHA_HA_CONFIRMATION_REQUIRED``)."""


class InvalidConfigError(HaError, ValueError):
    """The scenario configuration breaks a rule (``RHA_HA_INVALID_CONFIG``),
    for example a redirection method the scenario type does not allow."""


class StateCorruptError(HaError):
    """Saved scenario state does not parse or contradicts itself
    (``RHA_HA_STATE_CORRUPT``)."""


class StateVersionError(HaError):
    """Saved scenario state from a newer version of rha
    (``RHA_HA_STATE_UNSUPPORTED_VERSION``)."""


class NotInPlaceError(BlockError):
    """A delta applied in place copies data from one position to another
    (a rolling delta): only fixed-offset deltas apply in place
    (``RHA_PATCH_NOT_IN_PLACE``). Patch into a new file instead."""


class WrongBasisError(BlockError):
    """The delta names the basis it was made against (fixed-offset deltas
    do) and the file given is another one: a different length or whole-file
    hash (``RHA_PATCH_WRONG_BASIS``). Refused before anything was written,
    so the target is untouched."""


class SpoolError(RhaError):
    """A spool error (``rha_result`` 5xx)."""


class SpoolFullError(SpoolError):
    """The spool is full and the append was asked not to overflow (or its
    wait for room timed out); nothing was appended (``RHA_SPOOL_FULL``)."""


class SpoolStoppedError(SpoolError):
    """The spool overflowed under the stop policy; appends are refused until
    a resync and :meth:`Spool.reset` (``RHA_SPOOL_STOPPED``)."""


class CorruptSpoolError(SpoolError):
    """A spool file is damaged (``RHA_SPOOL_CORRUPT``). The message names the
    file; ``offset`` and ``last_seq`` say where and what is intact."""


class SpoolFailedError(SpoolError):
    """An earlier write or sync failed; reopen the spool (``RHA_SPOOL_FAILED``)."""


class NotDurableError(SpoolError):
    """The sequence number acknowledged is not durable yet
    (``RHA_SPOOL_NOT_DURABLE``)."""


class ReclaimedError(SpoolError):
    """The read position was reclaimed after an acknowledgement
    (``RHA_SPOOL_RECLAIMED``)."""


class SpoolLockedError(SpoolError):
    """Another process has the spool directory open (``RHA_SPOOL_LOCKED``)."""


class RewindError(RhaError):
    """Applying to a replica or rewinding it failed (``rha_result`` 6xx)."""


class UnknownBookmarkError(RewindError, KeyError):
    """No bookmark has that name (``RHA_REWIND_UNKNOWN_BOOKMARK``)."""

    def __str__(self) -> str:
        return self.message


class PointRetiredError(RewindError):
    """The point was dropped by retention (``RHA_REWIND_POINT_RETIRED``)."""


class NoPointError(RewindError):
    """No such point: after the current one, before every timed point, or
    the log is empty (``RHA_REWIND_NO_POINT``)."""


class NothingToUndoError(RewindError):
    """No rewind to undo (``RHA_REWIND_NOTHING_TO_UNDO``)."""


class RewindDisabledError(RewindError):
    """The replica keeps no rewind log (``RHA_REWIND_DISABLED``)."""


class ReplicaBusyError(RewindError):
    """Another handle or process holds the replica (``RHA_REPLICA_BUSY``)."""


class ApplyFailedError(RewindError):
    """A record cannot be applied, e.g. a path that would leave the root
    (``RHA_APPLY_FAILED``); nothing was written for it."""


class RewindLogCorruptError(RewindError):
    """The rewind log is damaged (``RHA_REWIND_LOG_CORRUPT``)."""


class RewindInterruptedError(RewindError):
    """A rewind stopped between two points; reopen the replica to finish it
    (``RHA_REWIND_INTERRUPTED``)."""


class SequenceGapError(RewindError):
    """The journal does not continue the replica's sequence
    (``RHA_REPLICA_SEQUENCE_GAP``): records are missing (the message names
    the expected and the received sequence number), or the journal restarts
    numbering (another scenario or epoch, a resync) and the replica must be
    resynchronised. Records before the offending one were applied."""


class SessionError(RhaError):
    """A replication session refused a request (``rha_result`` 8xx). A full
    window is not an error: :meth:`Session.send_journal` returns False."""


class SessionNotConnectedError(SessionError):
    """The request came during the handshake or after the session ended
    (``RHA_SESSION_NOT_CONNECTED``)."""


class WrongRoleError(SessionError):
    """The request belongs to the other role, such as a replica sending
    journal (``RHA_SESSION_WRONG_ROLE``)."""


class OutOfOrderError(SessionError):
    """Journal records that are not the next in order; the message names
    the next record expected (``RHA_SESSION_OUT_OF_ORDER``)."""


class MessageTooLargeError(SessionError):
    """Journal frames larger than a message body (``max_body``): send fewer
    records at a time (``RHA_SESSION_TOO_LARGE``)."""


class BadAckError(SessionError):
    """An acknowledgement that goes back, beyond the last record received,
    to another epoch, or has applied pass stored (``RHA_SESSION_BAD_ACK``)."""


class AgentError(RhaError):
    """An agent, an identity or the transport failed (``rha_result`` 9xx).
    A replica that cannot be reached is not an error: the master agent
    retries, and its status says so."""


class AgentStateCorruptError(AgentError):
    """An agent's state file is damaged or of another version; the message
    names it (``RHA_AGENT_STATE_CORRUPT``)."""


class OtherScenarioError(AgentError):
    """The agent's state directory (or replica) serves another scenario:
    another scenario name, or other peers' fingerprints
    (``RHA_AGENT_OTHER_SCENARIO``)."""


class AgentFailedError(AgentError):
    """A running agent failed: its spool could not be written, or one of its
    threads stopped (``RHA_AGENT_FAILED``)."""


class IdentityMissingError(AgentError):
    """The identity directory lacks ``key.pem`` or ``cert.pem``; make one
    with :func:`generate_identity` (``RHA_IDENTITY_MISSING``)."""


class IdentityInvalidError(AgentError):
    """The identity's files are not a PEM key and the certificate over it,
    or an identity could not be generated (``RHA_IDENTITY_INVALID``)."""


class IdentityExistsError(AgentError):
    """The directory holds an identity already; pass ``force=True`` to
    replace it (``RHA_IDENTITY_EXISTS``)."""


class BadFingerprintError(AgentError, ValueError):
    """A text is not a fingerprint, ``sha256:`` and 64 hexadecimal digits
    (``RHA_TRANSPORT_BAD_FINGERPRINT``); also a :class:`ValueError`."""


class ListenError(AgentError):
    """The replica agent cannot listen on the address given: in use, not
    local, or it does not resolve (``RHA_TRANSPORT_LISTEN``)."""


# The one table from result codes to exceptions: every code of every family,
# then each family's class for codes a later library adds. Statuses
# (RHA_OK, RHA_BLOCKED, RHA_DONE) are not errors and are not here.
_BY_CODE: Dict[int, Type[RhaError]] = {
    # 1xx: API usage
    lib.RHA_PANIC: PanicError,
    lib.RHA_NULL_PARAMETER: NullParameterError,
    lib.RHA_INVALID_ARGUMENT: InvalidArgumentError,
    lib.RHA_INVALID_STATE: InvalidStateError,
    lib.RHA_LOG_SUBSCRIBER_EXISTS: LogSubscriberExistsError,
    # 2xx: I/O
    lib.RHA_IO: RhaIOError,
    # 3xx: journal
    lib.RHA_JOURNAL_CORRUPT: CorruptJournalError,
    lib.RHA_JOURNAL_UNSUPPORTED_VERSION: UnsupportedVersionError,
    lib.RHA_JOURNAL_TOO_LARGE: RecordTooLargeError,
    lib.RHA_JOURNAL_SEQUENCE: SequenceError,
    # 400-449: block signatures, deltas and patches
    lib.RHA_SIGNATURE_CORRUPT: CorruptSignatureError,
    lib.RHA_SIGNATURE_UNSUPPORTED: UnsupportedSignatureError,
    lib.RHA_SIGNATURE_TOO_LARGE: SignatureTooLargeError,
    lib.RHA_SIGNATURE_INPUT_LENGTH: InputLengthError,
    lib.RHA_DELTA_CORRUPT: CorruptDeltaError,
    lib.RHA_DELTA_UNSUPPORTED: UnsupportedDeltaError,
    lib.RHA_DELTA_OUT_OF_RANGE: DeltaOutOfRangeError,
    lib.RHA_PATCH_TOO_LARGE: PatchTooLargeError,
    lib.RHA_PATCH_HASH_MISMATCH: HashMismatchError,
    lib.RHA_PATCH_NOT_IN_PLACE: NotInPlaceError,
    lib.RHA_PATCH_WRONG_BASIS: WrongBasisError,
    # 450-499: tree signatures and sync plans
    lib.RHA_TREE_CORRUPT: CorruptTreeSignatureError,
    lib.RHA_TREE_UNSUPPORTED_VERSION: UnsupportedSignatureVersionError,
    lib.RHA_TREE_ORDER: SignatureOrderError,
    lib.RHA_TREE_BAD_GLOB: BadGlobError,
    lib.RHA_TREE_UNSUPPORTED_ENTRY: UnsupportedEntryError,
    # 5xx: spool
    lib.RHA_SPOOL_FULL: SpoolFullError,
    lib.RHA_SPOOL_STOPPED: SpoolStoppedError,
    lib.RHA_SPOOL_CORRUPT: CorruptSpoolError,
    lib.RHA_SPOOL_FAILED: SpoolFailedError,
    lib.RHA_SPOOL_NOT_DURABLE: NotDurableError,
    lib.RHA_SPOOL_RECLAIMED: ReclaimedError,
    lib.RHA_SPOOL_LOCKED: SpoolLockedError,
    # 6xx: rewind and replicas
    lib.RHA_REWIND_UNKNOWN_BOOKMARK: UnknownBookmarkError,
    lib.RHA_REWIND_POINT_RETIRED: PointRetiredError,
    lib.RHA_REWIND_NO_POINT: NoPointError,
    lib.RHA_REWIND_NOTHING_TO_UNDO: NothingToUndoError,
    lib.RHA_REWIND_DISABLED: RewindDisabledError,
    lib.RHA_REPLICA_BUSY: ReplicaBusyError,
    lib.RHA_APPLY_FAILED: ApplyFailedError,
    lib.RHA_REWIND_LOG_CORRUPT: RewindLogCorruptError,
    lib.RHA_REWIND_INTERRUPTED: RewindInterruptedError,
    lib.RHA_REPLICA_SEQUENCE_GAP: SequenceGapError,
    # 7xx: high availability
    lib.RHA_HA_REFUSED: RefusedError,
    lib.RHA_HA_CONFIRMATION_REQUIRED: ConfirmationRequiredError,
    lib.RHA_HA_INVALID_CONFIG: InvalidConfigError,
    lib.RHA_HA_STATE_CORRUPT: StateCorruptError,
    lib.RHA_HA_STATE_UNSUPPORTED_VERSION: StateVersionError,
    # 8xx: replication sessions
    lib.RHA_SESSION_NOT_CONNECTED: SessionNotConnectedError,
    lib.RHA_SESSION_WRONG_ROLE: WrongRoleError,
    lib.RHA_SESSION_OUT_OF_ORDER: OutOfOrderError,
    lib.RHA_SESSION_TOO_LARGE: MessageTooLargeError,
    lib.RHA_SESSION_BAD_ACK: BadAckError,
    # 9xx: agents, identities and the transport
    lib.RHA_AGENT_STATE_CORRUPT: AgentStateCorruptError,
    lib.RHA_AGENT_OTHER_SCENARIO: OtherScenarioError,
    lib.RHA_AGENT_FAILED: AgentFailedError,
    lib.RHA_IDENTITY_MISSING: IdentityMissingError,
    lib.RHA_IDENTITY_INVALID: IdentityInvalidError,
    lib.RHA_IDENTITY_EXISTS: IdentityExistsError,
    lib.RHA_TRANSPORT_BAD_FINGERPRINT: BadFingerprintError,
    lib.RHA_TRANSPORT_LISTEN: ListenError,
}
# (first code, end) -> family class, for a code not in _BY_CODE.
_FAMILIES: Tuple[Tuple[int, int, Type[RhaError]], ...] = (
    (100, 200, UsageError),
    (200, 300, RhaIOError),
    (300, 400, JournalError),
    (400, 450, BlockError),
    (450, 500, TreeSignatureError),
    (500, 600, SpoolError),
    (600, 700, RewindError),
    (700, 800, HaError),
    (800, 900, SessionError),
    (900, 1000, AgentError),
)
_STATUSES = (lib.RHA_OK, lib.RHA_BLOCKED, lib.RHA_DONE)


def _class_for(code: int) -> Type[RhaError]:
    """The exception class for an error code: its own, else its family's,
    else (a code outside every family) :class:`RhaError`."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    for first, end, family in _FAMILIES:
        if first <= code < end:
            return family
    return RhaError


def code_name(code: int) -> str:
    """The name of an ``rha_result`` code, such as ``"RHA_OK"``."""
    return c_str(lib.rha_result_name(code))


def raise_code(code: int, message: str) -> NoReturn:
    """Raises the exception for ``code`` with a message made on the Python side.

    Used where the Python layer itself refuses a call (a closed handle,
    unread input at ``finish``) so such refusals look like the library's own.
    """
    raise _class_for(code)(code, code_name(code), message)


def _from_error(code: int, err: Any) -> RhaError:
    """Builds the exception for ``code`` from an ``rha_error *`` and frees it."""
    if err == ffi.NULL:
        return _class_for(code)(code, code_name(code), code_name(code).lower())
    try:
        message = c_str(lib.rha_error_message(err))
        value = ffi.new("uint64_t *")
        offset = int(value[0]) if lib.rha_error_offset(err, value) else None
        last_seq = int(value[0]) if lib.rha_error_last_seq(err, value) else None
        os_value = ffi.new("int32_t *")
        os_code = int(os_value[0]) if lib.rha_error_os_code(err, os_value) else None
    finally:
        lib.rha_error_free(err)
    cls = _class_for(code)
    if issubclass(cls, RhaIOError):
        return cls(code, code_name(code), message, offset, last_seq, os_code)
    return cls(code, code_name(code), message, offset, last_seq)


def call(func: Callable[..., int], *args: Any) -> int:
    """Calls a fallible C function, appending the ``rha_error **`` argument.

    Returns the status (``RHA_OK``, ``RHA_BLOCKED`` or ``RHA_DONE``); any
    other result raises the matching :class:`RhaError`.
    """
    err = ffi.new("rha_error **")
    result = func(*args, err)
    if result in _STATUSES:
        return result
    raise _from_error(result, err[0])
