"""rha: an embeddable replication and high-availability engine, from Python.

The package binds the rha C library (``librha``, carried inside the
package) through cffi in out-of-line ABI mode: the declarations are
translated from the generated header ``rha.h`` when the package is built, so
the header is the one description of the interface and importing parses no
C. What it covers:

- journals: :class:`JournalWriter`, :class:`JournalReader`,
  :func:`write_journal`, :func:`read_journal` and the operation classes
  (:class:`Create`, :class:`Write`, :class:`Bookmark`, ...);
- the spool, a durable queue of records: :class:`Spool`;
- tree signatures and sync plans: :func:`scan`, :func:`compare`;
- block signatures, deltas and patches: :func:`signature`, :func:`delta`,
  :func:`patch`, and fixed-offset sync: :func:`compare_fixed`,
  :func:`fixed_delta`, :func:`patch_in_place`, :func:`delta_to_ops`;
- applying journals to a replica directory with rewind points and
  bookmarks: :class:`Replica`;
- the high-availability scenario machine: :class:`Scenario`;
- the sans-IO replication session over a transport of yours:
  :class:`Session`;
- the ready agents over rha's TLS transport and their identities:
  :class:`MasterAgent`, :class:`ReplicaAgent`, :func:`generate_identity`;
- the library's diagnostics, routed to the ``rha`` logger of :mod:`logging`
  (:func:`set_log_level`).

Write a journal, then read it back::

    import rha

    rha.write_journal("changes.rhaj", [
        rha.Create("docs/a.txt", 0o644),
        rha.Write("docs/a.txt", 0, b"hello"),
        rha.Bookmark("before-upgrade", app_consistent=True),
    ], compression="zstd")

    stream = rha.read_journal("changes.rhaj")
    for record in stream:
        print(record.seq, record.timestamp_ns, record.op)
    print(stream.end)   # End(torn=False, offset=..., tail_len=0)

For streams (a socket, a pipe), feed a :class:`JournalReader` chunk by chunk
and drain a :class:`JournalWriter` as it fills. Errors are :class:`RhaError`
subclasses mirroring the library's result-code families.
"""

from __future__ import annotations

from ._block import DeltaJob, PatchJob, SignatureJob, delta, patch, signature
from ._files import FileArg, delta_file, patch_file, signature_file
from ._fixed import (
    FixedDeltaJob,
    FixedPlan,
    FixedRange,
    NotInPlaceError,
    Signature,
    compare_fixed,
    delta_to_ops,
    fixed_delta,
    iter_delta_ops,
    patch_in_place,
)
from ._errors import (
    ConfirmationRequiredError,
    BlockError,
    CorruptDeltaError,
    CorruptSignatureError,
    DeltaOutOfRangeError,
    HashMismatchError,
    WrongBasisError,
    InputLengthError,
    PatchTooLargeError,
    SignatureTooLargeError,
    UnsupportedDeltaError,
    UnsupportedSignatureError,
    CorruptJournalError,
    InvalidArgumentError,
    InvalidStateError,
    LogSubscriberExistsError,
    JournalError,
    NullParameterError,
    PanicError,
    RecordTooLargeError,
    RhaError,
    RhaIOError,
    SequenceError,
    UnsupportedVersionError,
    UsageError,
)
from ._errors import (
    BadGlobError,
    CorruptTreeSignatureError,
    SignatureOrderError,
    TreeSignatureError,
    UnsupportedEntryError,
    UnsupportedSignatureVersionError,
)
from ._errors import HaError, InvalidConfigError, RefusedError, StateCorruptError, StateVersionError
from ._ha import SCENARIO_TYPES, Action, Event, HostSpec, Scenario, Status, monotonic_ns
from ._native import c_str as _c_str
from ._native import lib as _lib
from ._ops import (
    BlockWrite,
    Bookmark,
    BytesLike,
    ClearXattrs,
    Create,
    Delete,
    Discard,
    Epoch,
    HardLink,
    Mkdir,
    Mknod,
    Op,
    PathLike,
    Record,
    RemoveXattr,
    Rename,
    Rmdir,
    SetAttr,
    SetLen,
    SetXattr,
    Symlink,
    SyncEnd,
    SyncStart,
    TxBegin,
    TxCommit,
    Write,
)
from ._log import set_log_level
from ._reader import End, JournalReader, RecordStream, read_journal
from ._spool import (
    CorruptSpoolError,
    DirtyRegions,
    NotDurableError,
    ReclaimedError,
    Spool,
    SpoolError,
    SpoolEvent,
    SpoolFailedError,
    SpoolFullError,
    SpoolLockedError,
    SpoolReader,
    SpoolRecovery,
    SpoolStoppedError,
    SpoolUsage,
)
from ._rewind import (
    ApplyFailedError,
    ApplyReport,
    BookmarkInfo,
    NoPointError,
    NothingToUndoError,
    PointRetiredError,
    Replica,
    ReplicaBusyError,
    RewindDisabledError,
    RewindError,
    RewindInfo,
    RewindInterruptedError,
    RewindLogCorruptError,
    RewindPlan,
    RewindPoint,
    SequenceGapError,
    UnknownBookmarkError,
)
from ._writer import JournalWriter, write_journal
from ._agents import (
    AgentStatus,
    MasterAgent,
    ReplicaAgent,
    SyncStatus,
    generate_identity,
    identity_fingerprint,
)
from ._errors import (
    AgentError,
    AgentFailedError,
    AgentStateCorruptError,
    BadFingerprintError,
    IdentityExistsError,
    IdentityInvalidError,
    IdentityMissingError,
    ListenError,
    OtherScenarioError,
    BadAckError,
    MessageTooLargeError,
    OutOfOrderError,
    SessionError,
    SessionNotConnectedError,
    WrongRoleError,
)
from ._session import (
    CLOSE_REASONS,
    Acked,
    Closed,
    Connected,
    ControlRequest,
    Generations,
    JournalFrames,
    PeerHello,
    Session,
    SessionEvent,
    SessionPoint,
    Silent,
)
from ._session_sync import (
    SYNC_BLOCKS_FIELDS,
    SYNC_MODES,
    SYNC_RECORDS_FIELDS,
    SYNC_TREE_FIELDS,
    SyncBegin,
    SyncBlockHashes,
    SyncBlocksRequest,
    SyncCheck,
    SyncDone,
    SyncFinish,
    SyncMismatch,
    SyncProgress,
    SyncRecords,
    SyncReply,
    SyncRequest,
    SyncTree,
)
from ._tree import PlanStep, ScanStats, TreeEntry, compare, read_signature, scan, scan_to_file

__version__: str = _c_str(_lib.rha_version_string())
"""The library's version, such as ``"0.1.0"``."""


def version_number() -> int:
    """The library's version as ``major * 10000 + minor * 100 + patch``."""
    return int(_lib.rha_version_number())


__all__ = [
    "__version__",
    # block signatures, deltas and patches
    "signature",
    "delta",
    "patch",
    "signature_file",
    "delta_file",
    "patch_file",
    "FileArg",
    "SignatureJob",
    "DeltaJob",
    "PatchJob",
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
    "WrongBasisError",
    # fixed-offset sync, in-place patching, deltas as journal operations
    "Signature",
    "compare_fixed",
    "fixed_delta",
    "patch_in_place",
    "delta_to_ops",
    "iter_delta_ops",
    "FixedPlan",
    "FixedRange",
    "FixedDeltaJob",
    "NotInPlaceError",
    "version_number",
    # operations
    "Op",
    "Create",
    "Write",
    "SetLen",
    "Delete",
    "Rename",
    "Mkdir",
    "Rmdir",
    "Symlink",
    "HardLink",
    "SetAttr",
    "SetXattr",
    "RemoveXattr",
    "Mknod",
    "ClearXattrs",
    "BlockWrite",
    "Discard",
    "Bookmark",
    "TxBegin",
    "TxCommit",
    "SyncStart",
    "SyncEnd",
    "Epoch",
    "Record",
    "BytesLike",
    "PathLike",
    # writing and reading
    "JournalWriter",
    "write_journal",
    "JournalReader",
    "End",
    "RecordStream",
    "read_journal",
    # tree signatures and sync plans
    "scan",
    "scan_to_file",
    "read_signature",
    "compare",
    "TreeEntry",
    "PlanStep",
    "ScanStats",
    "TreeSignatureError",
    "CorruptTreeSignatureError",
    "UnsupportedSignatureVersionError",
    "SignatureOrderError",
    "BadGlobError",
    "UnsupportedEntryError",
    # errors
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
    # high availability
    "Scenario",
    "Action",
    "Event",
    "Status",
    "HostSpec",
    "SCENARIO_TYPES",
    "monotonic_ns",
    "HaError",
    "RefusedError",
    "ConfirmationRequiredError",
    "InvalidConfigError",
    "StateCorruptError",
    "StateVersionError",
    # spool
    "Spool",
    "SpoolReader",
    "SpoolUsage",
    "SpoolRecovery",
    "SpoolEvent",
    "DirtyRegions",
    "SpoolError",
    "SpoolFullError",
    "SpoolStoppedError",
    "CorruptSpoolError",
    "SpoolFailedError",
    "NotDurableError",
    "ReclaimedError",
    "SpoolLockedError",
    # replicas and rewind
    "Replica",
    "ApplyReport",
    "RewindInfo",
    "RewindPoint",
    "BookmarkInfo",
    "RewindPlan",
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
    "SequenceGapError",
    # replication sessions
    "Session",
    "SessionPoint",
    "Generations",
    "PeerHello",
    "SessionEvent",
    "Connected",
    "JournalFrames",
    "Acked",
    "ControlRequest",
    "Silent",
    "Closed",
    "CLOSE_REASONS",
    "SyncRequest",
    "SyncBegin",
    "SyncRecords",
    "SyncBlocksRequest",
    "SyncCheck",
    "SyncFinish",
    "SyncReply",
    "SyncTree",
    "SyncBlockHashes",
    "SyncMismatch",
    "SyncProgress",
    "SyncDone",
    "SYNC_MODES",
    "SYNC_RECORDS_FIELDS",
    "SYNC_TREE_FIELDS",
    "SYNC_BLOCKS_FIELDS",
    "SessionError",
    "SessionNotConnectedError",
    "WrongRoleError",
    "OutOfOrderError",
    "MessageTooLargeError",
    "BadAckError",
    # agents and identities
    "MasterAgent",
    "ReplicaAgent",
    "AgentStatus",
    "SyncStatus",
    "generate_identity",
    "identity_fingerprint",
    "AgentError",
    "AgentStateCorruptError",
    "OtherScenarioError",
    "AgentFailedError",
    "IdentityMissingError",
    "IdentityInvalidError",
    "IdentityExistsError",
    "BadFingerprintError",
    "ListenError",
    # logging
    "set_log_level",
]
