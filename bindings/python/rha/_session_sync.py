"""A sync over the session (``docs/session-protocol.md``, "Sync"): the
master's sync messages and the replica's replies, as events and as what
:meth:`rha.Session.send_sync` and :meth:`rha.Session.send_sync_reply` send.

A master built with ``can_sync=True`` that meets a replica needing a sync
says so in :class:`rha.Connected` (``sync``); it then runs the sync (a
:class:`SyncBegin`, :class:`SyncRecords` of journal frames, a
:class:`SyncCheck` after each file, :class:`SyncFinish`), and the replica
answers (:class:`SyncTree` pieces, :class:`SyncBlockHashes`,
:class:`SyncMismatch`, :class:`SyncProgress`, :class:`SyncDone`). The
session carries them in order and checks only the direction; the order of
a run is the caller's to keep. Paths are ``str`` (UTF-8, bytes that are not
decode with ``surrogateescape``, as in the record model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Tuple

from ._errors import raise_code
from ._native import ffi, lib
from ._ops import PathLike, _path, encode_path
from ._session_event import SessionEvent

__all__ = [
    "SYNC_MODES",
    "SYNC_RECORDS_FIELDS",
    "SYNC_TREE_FIELDS",
    "SYNC_BLOCKS_FIELDS",
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
]

SYNC_MODES = {"file": lib.RHA_SYNC_FILE, "block": lib.RHA_SYNC_BLOCK}
"""How a sync compares files on both sides, by name, with their codes."""
_MODE_NAMES = {v: k for k, v in SYNC_MODES.items()}

SYNC_RECORDS_FIELDS: int = int(lib.RHA_SESSION_SYNC_RECORDS_FIELDS)
"""Bytes of a :class:`SyncRecords` message's body besides its frames: at
most :attr:`rha.Session.max_body` less this many bytes of frames fit."""
SYNC_TREE_FIELDS: int = int(lib.RHA_SESSION_SYNC_TREE_FIELDS)
"""Bytes of a :class:`SyncTree` piece's body besides its chunk."""
SYNC_BLOCKS_FIELDS: int = int(lib.RHA_SESSION_SYNC_BLOCKS_FIELDS)
"""Bytes of a :class:`SyncBlockHashes` piece's body besides its hashes."""


@dataclass(frozen=True)
class SyncRequest(SessionEvent):
    """A sync message from the master: an event of a replica, and what a
    master sends with :meth:`rha.Session.send_sync`. ``id`` names the run."""

    id: int


@dataclass(frozen=True)
class SyncBegin(SyncRequest):
    """A run starts: the replica scans its tree and answers with
    :class:`SyncTree` pieces. ``mode``: ``"file"`` or ``"block"``;
    ``block_size``: a power of two from 4 KiB to 16 MiB (0 when sending: the
    default, 64 KiB). ``scope``: the paths the run covers (each with what
    is inside it, as a degraded spool marks them dirty), both sides scanning
    only those; empty: the whole tree."""

    mode: str = "file"
    ignore_same: bool = True
    block_size: int = 0
    scope: Tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncRecords(SyncRequest):
    """The run's changes: journal frames of file-tree operations (without
    the journal's stream header), numbered from 1 within the run and
    continuing from message to message."""

    frames: bytes = field(repr=False)


@dataclass(frozen=True)
class SyncBlocksRequest(SyncRequest):
    """Asks for the block hashes of the replica's copy of ``path``; ``file``
    numbers the request (the :class:`SyncBlockHashes` answer echoes it)."""

    file: int
    path: str


@dataclass(frozen=True)
class SyncCheck(SyncRequest):
    """After the records that brought ``path`` up to date: its length and
    BLAKE3 hash (32 bytes; ``by_blocks``: of its blocks' 16-byte hashes) as
    the master read it. A replica whose copy differs answers
    :class:`SyncMismatch`."""

    path: str
    length: int
    hash: bytes
    by_blocks: bool = False


@dataclass(frozen=True)
class SyncFinish(SyncRequest):
    """The run's last message (the protocol's ``end``): the replica makes
    the result durable and answers :class:`SyncProgress` and
    :class:`SyncDone`. Journal records up to ``replay_to`` may already be
    part of the synced data; ``entries`` and ``nbytes`` count what was
    sent."""

    replay_to: int = 0
    entries: int = 0
    nbytes: int = 0


@dataclass(frozen=True)
class SyncReply(SessionEvent):
    """A sync reply from the replica: an event of a master, and what a
    replica sends with :meth:`rha.Session.send_sync_reply`. ``id`` names the
    run."""

    id: int


@dataclass(frozen=True)
class SyncTree(SyncReply):
    """A piece of the replica's tree signature; ``last`` marks the last
    (an empty tree is one empty last piece)."""

    chunk: bytes = field(repr=False)
    last: bool = False


@dataclass(frozen=True)
class SyncBlockHashes(SyncReply):
    """Hashes of consecutive blocks (16 bytes each) of the file of request
    ``file``, from where the previous piece ended; ``last`` marks the last."""

    file: int
    hashes: bytes = field(repr=False)
    last: bool = False


@dataclass(frozen=True)
class SyncMismatch(SyncReply):
    """The replica's copy of ``path`` does not match its check."""

    path: str


@dataclass(frozen=True)
class SyncProgress(SyncReply):
    """What the replica applied of the run so far."""

    records: int = 0
    nbytes: int = 0


@dataclass(frozen=True)
class SyncDone(SyncReply):
    """The run is applied and durable."""


def _view(b: Any) -> bytes:
    return bytes(ffi.buffer(b.ptr, b.len)) if b.len else b""


def _event_path(b: Any) -> str:
    return _view(b).decode("utf-8", "surrogateescape")


def _scope_bytes(paths: Tuple[PathLike, ...]) -> bytes:
    """A scope's wire form: each path as a 16-bit little-endian length and
    its bytes (the library checks each path)."""
    out = bytearray()
    for p in paths:
        b = encode_path(_path(p, "scope"))
        if len(b) > 0xFFFF:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"a scope path of {len(b)} bytes")
        out += len(b).to_bytes(2, "little") + b
    return bytes(out)


def _scope_paths(b: bytes) -> Tuple[str, ...]:
    """The paths of a scope the library checked."""
    paths = []
    at = 0
    while at + 2 <= len(b):
        n = int.from_bytes(b[at : at + 2], "little")
        paths.append(b[at + 2 : at + 2 + n].decode("utf-8", "surrogateescape"))
        at += 2 + n
    return tuple(paths)


def sync_event(e: Any) -> SessionEvent:
    """The request a ``RHA_SESSION_EVENT_SYNC`` event describes (a bare
    :class:`SessionEvent` for a kind a newer library adds)."""
    k, i = int(e.sync_kind), int(e.sync_id)
    if k == lib.RHA_SESSION_SYNC_BEGIN:
        mode = _MODE_NAMES.get(int(e.sync_mode), "unknown")
        return SyncBegin(i, mode, bool(e.sync_ignore_same), int(e.sync_block_size), _scope_paths(_view(e.sync_data)))
    if k == lib.RHA_SESSION_SYNC_RECORDS:
        return SyncRecords(i, _view(e.sync_data))
    if k == lib.RHA_SESSION_SYNC_BLOCKS:
        return SyncBlocksRequest(i, int(e.sync_file), _event_path(e.sync_path))
    if k == lib.RHA_SESSION_SYNC_CHECK:
        hash_ = bytes(ffi.buffer(e.sync_hash, 32))
        return SyncCheck(i, _event_path(e.sync_path), int(e.sync_len), hash_, bool(e.sync_by_blocks))
    if k == lib.RHA_SESSION_SYNC_END:
        return SyncFinish(i, int(e.sync_replay_to), int(e.sync_entries), int(e.sync_bytes))
    return SessionEvent()


def sync_reply_event(e: Any) -> SessionEvent:
    """The reply a ``RHA_SESSION_EVENT_SYNC_REPLY`` event describes (a bare
    :class:`SessionEvent` for a kind a newer library adds)."""
    k, i = int(e.sync_kind), int(e.sync_id)
    if k == lib.RHA_SESSION_SYNC_REPLY_TREE:
        return SyncTree(i, _view(e.sync_data), bool(e.sync_last))
    if k == lib.RHA_SESSION_SYNC_REPLY_BLOCKS:
        return SyncBlockHashes(i, int(e.sync_file), _view(e.sync_data), bool(e.sync_last))
    if k == lib.RHA_SESSION_SYNC_REPLY_MISMATCH:
        return SyncMismatch(i, _event_path(e.sync_path))
    if k == lib.RHA_SESSION_SYNC_REPLY_PROGRESS:
        return SyncProgress(i, int(e.sync_records), int(e.sync_bytes))
    if k == lib.RHA_SESSION_SYNC_REPLY_DONE:
        return SyncDone(i)
    return SessionEvent()


class _Message:
    """An ``rha_session_sync_message`` and the buffers its views point to
    (kept alive as long as it is)."""

    def __init__(self, kind: int, run: int) -> None:
        self.c: Any = ffi.new("rha_session_sync_message *")
        lib.rha_session_sync_message_init(self.c)
        self.c.sync_kind = kind
        self.c.id = run
        self._keep: List[Any] = []

    def view(self, name: str, data: bytes) -> None:
        ptr = ffi.from_buffer(data) if data else ffi.NULL
        self._keep.append(ptr)
        setattr(self.c, name, {"ptr": ptr, "len": len(data)})

    def path(self, value: PathLike) -> None:
        self.view("path", encode_path(_path(value, "path")))


def request_message(r: Any) -> _Message:
    """The C form of the master's message ``r``.

    Raises:
        InvalidArgumentError: ``r`` is not a :class:`SyncRequest` this
            version knows, names an unknown mode, or has a hash that is not
            32 bytes. (The library checks the rest.)
    """
    if isinstance(r, SyncBegin):
        if r.mode not in SYNC_MODES:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown sync mode {r.mode!r}: 'file' or 'block'")
        m = _Message(lib.RHA_SESSION_SYNC_BEGIN, r.id)
        m.c.mode = SYNC_MODES[r.mode]
        m.c.ignore_same = int(bool(r.ignore_same))
        m.c.block_size = r.block_size
        m.view("data", _scope_bytes(tuple(r.scope)))
    elif isinstance(r, SyncRecords):
        m = _Message(lib.RHA_SESSION_SYNC_RECORDS, r.id)
        m.view("data", bytes(r.frames))
    elif isinstance(r, SyncBlocksRequest):
        m = _Message(lib.RHA_SESSION_SYNC_BLOCKS, r.id)
        m.c.file = r.file
        m.path(r.path)
    elif isinstance(r, SyncCheck):
        digest = bytes(r.hash)
        if len(digest) != 32:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"a sync check's hash is 32 bytes, not {len(digest)}")
        m = _Message(lib.RHA_SESSION_SYNC_CHECK, r.id)
        m.path(r.path)
        m.c.len = r.length
        m.c.by_blocks = int(bool(r.by_blocks))
        ffi.memmove(m.c.hash, digest, 32)
    elif isinstance(r, SyncFinish):
        m = _Message(lib.RHA_SESSION_SYNC_END, r.id)
        m.c.replay_to = r.replay_to
        m.c.entries = r.entries
        m.c.bytes = r.nbytes
    else:
        raise_code(lib.RHA_INVALID_ARGUMENT, f"send_sync takes a sync request (SyncBegin, ...), not {_name(r)}")
    return m


def reply_message(r: Any) -> _Message:
    """The C form of the replica's reply ``r``.

    Raises:
        InvalidArgumentError: ``r`` is not a :class:`SyncReply` this version
            knows. (The library checks the rest.)
    """
    if isinstance(r, SyncTree):
        m = _Message(lib.RHA_SESSION_SYNC_REPLY_TREE, r.id)
        m.view("data", bytes(r.chunk))
        m.c.last = int(bool(r.last))
    elif isinstance(r, SyncBlockHashes):
        m = _Message(lib.RHA_SESSION_SYNC_REPLY_BLOCKS, r.id)
        m.c.file = r.file
        m.view("data", bytes(r.hashes))
        m.c.last = int(bool(r.last))
    elif isinstance(r, SyncMismatch):
        m = _Message(lib.RHA_SESSION_SYNC_REPLY_MISMATCH, r.id)
        m.path(r.path)
    elif isinstance(r, SyncProgress):
        m = _Message(lib.RHA_SESSION_SYNC_REPLY_PROGRESS, r.id)
        m.c.records = r.records
        m.c.bytes = r.nbytes
    elif isinstance(r, SyncDone):
        m = _Message(lib.RHA_SESSION_SYNC_REPLY_DONE, r.id)
    else:
        raise_code(
            lib.RHA_INVALID_ARGUMENT, f"send_sync_reply takes a sync reply (SyncTree, ...), not {_name(r)}"
        )
    return m


def _name(value: Any) -> str:
    return type(value).__name__
