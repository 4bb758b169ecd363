"""The record model: one frozen dataclass per journal operation.

These mirror the Rust ``rha_core::journal::Op`` enum. Paths name files
relative to the scenario root; they accept ``str``, bytes-like objects or
``os.PathLike`` and are stored as ``str``, like :attr:`rha.TreeEntry.path`:
on the wire a path is UTF-8, and bytes that are not decode with
``surrogateescape`` (as :func:`os.fsdecode` does), so names from
``os.listdir`` round-trip exactly. The library
validates them when a record is appended (relative, non-empty, no ``.``,
``..`` or empty components, no NUL).

Payloads (``Write.data``, ``BlockWrite.data``, ``SetXattr.value``) are kept
as given, without a copy: any object with the buffer protocol works
(``bytes``, ``bytearray``, ``memoryview``, ``array.array``, ...). Records read
back from a journal hold ``bytes``.
"""

from __future__ import annotations

import operator
import os
from dataclasses import dataclass
from typing import Any, Optional, Union

__all__ = [
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
    "PathLike",
    "BytesLike",
]

BytesLike = Union[bytes, bytearray, memoryview]
"""Payload types; any object supporting the buffer protocol is accepted."""

PathLike = Union[str, bytes, bytearray, memoryview, "os.PathLike[str]", "os.PathLike[bytes]"]
"""What a path argument accepts; paths are stored as ``str``."""

NameLike = Union[str, bytes, bytearray, memoryview]
"""What an extended attribute name accepts; names are stored as ``bytes``."""


def _path(value: Any, what: str) -> str:
    """Converts a path-like value to ``str`` (UTF-8, ``surrogateescape``)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        return value
    return _bytes(value, what).decode("utf-8", "surrogateescape")


def encode_path(path: str) -> bytes:
    """A stored path as the library takes it (the inverse of :func:`_path`)."""
    return path.encode("utf-8", "surrogateescape")


def _bytes(value: Any, what: str) -> bytes:
    """Converts a path-like value (str, bytes-like, os.PathLike) to bytes."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        return value
    try:
        with memoryview(value) as view:
            return view.tobytes()
    except TypeError:
        raise TypeError(f"{what} must be str or bytes-like, not {type(value).__name__}") from None


def _buffer(value: Any, what: str) -> Any:
    """Checks that ``value`` supports the buffer protocol; returns it unchanged."""
    if isinstance(value, str):
        raise TypeError(f"{what} must be bytes-like, not str")
    try:
        with memoryview(value) as view:
            contiguous = view.c_contiguous
    except TypeError:
        raise TypeError(f"{what} must be bytes-like, not {type(value).__name__}") from None
    if not contiguous:
        raise BufferError(f"{what} must be a C-contiguous buffer")
    return value


def _int(value: Any, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


class Op:
    """Base class of every journal operation."""

    __slots__ = ()


@dataclass(frozen=True, init=False)
class Create(Op):
    """A regular file was created (empty) with permission bits ``mode``."""

    path: str
    mode: int

    def __init__(self, path: PathLike, mode: int) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "mode", _int(mode, "mode"))


@dataclass(frozen=True, init=False)
class Write(Op):
    """``data`` was written at byte ``offset`` of an existing file."""

    path: str
    offset: int
    data: BytesLike

    def __init__(self, path: PathLike, offset: int, data: BytesLike) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "offset", _int(offset, "offset"))
        _set(self, "data", _buffer(data, "data"))


@dataclass(frozen=True, init=False)
class SetLen(Op):
    """The file's length was set to ``length`` (truncated or zero-extended)."""

    path: str
    length: int

    def __init__(self, path: PathLike, length: int) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "length", _int(length, "length"))


@dataclass(frozen=True, init=False)
class Delete(Op):
    """A file, symlink or other non-directory was removed."""

    path: str

    def __init__(self, path: PathLike) -> None:
        _set(self, "path", _path(path, "path"))


@dataclass(frozen=True, init=False)
class Rename(Op):
    """``src`` was renamed to ``dst``, replacing ``dst`` if it existed."""

    src: str
    dst: str

    def __init__(self, src: PathLike, dst: PathLike) -> None:
        _set(self, "src", _path(src, "src"))
        _set(self, "dst", _path(dst, "dst"))


@dataclass(frozen=True, init=False)
class Mkdir(Op):
    """A directory was created with permission bits ``mode``."""

    path: str
    mode: int

    def __init__(self, path: PathLike, mode: int) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "mode", _int(mode, "mode"))


@dataclass(frozen=True, init=False)
class Rmdir(Op):
    """An empty directory was removed."""

    path: str

    def __init__(self, path: PathLike) -> None:
        _set(self, "path", _path(path, "path"))


@dataclass(frozen=True, init=False)
class Symlink(Op):
    """A symbolic link ``path`` pointing to ``target`` was created.

    The target is data, kept verbatim: it may be absolute or contain ``..``.
    """

    path: str
    target: str

    def __init__(self, path: PathLike, target: PathLike) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "target", _path(target, "target"))


@dataclass(frozen=True, init=False)
class HardLink(Op):
    """A hard link ``link`` to the existing file ``existing`` was created."""

    existing: str
    link: str

    def __init__(self, existing: PathLike, link: PathLike) -> None:
        _set(self, "existing", _path(existing, "existing"))
        _set(self, "link", _path(link, "link"))


@dataclass(frozen=True, init=False)
class SetAttr(Op):
    """Attributes changed; ``None`` leaves an attribute alone.

    Times are nanoseconds since the Unix epoch (negative before 1970).
    """

    path: str
    mode: Optional[int] = None
    uid: Optional[int] = None
    gid: Optional[int] = None
    atime_ns: Optional[int] = None
    mtime_ns: Optional[int] = None

    def __init__(
        self,
        path: PathLike,
        mode: Optional[int] = None,
        uid: Optional[int] = None,
        gid: Optional[int] = None,
        atime_ns: Optional[int] = None,
        mtime_ns: Optional[int] = None,
    ) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "mode", None if mode is None else _int(mode, "mode"))
        _set(self, "uid", None if uid is None else _int(uid, "uid"))
        _set(self, "gid", None if gid is None else _int(gid, "gid"))
        _set(self, "atime_ns", None if atime_ns is None else _int(atime_ns, "atime_ns"))
        _set(self, "mtime_ns", None if mtime_ns is None else _int(mtime_ns, "mtime_ns"))


@dataclass(frozen=True, init=False)
class SetXattr(Op):
    """The extended attribute ``name`` was set to ``value``."""

    path: str
    name: bytes
    value: BytesLike

    def __init__(self, path: PathLike, name: NameLike, value: BytesLike) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "name", _bytes(name, "name"))
        _set(self, "value", _buffer(value, "value"))


@dataclass(frozen=True, init=False)
class RemoveXattr(Op):
    """The extended attribute ``name`` was removed."""

    path: str
    name: bytes

    def __init__(self, path: PathLike, name: NameLike) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "name", _bytes(name, "name"))


@dataclass(frozen=True, init=False)
class Mknod(Op):
    """A FIFO or device node was created.

    ``mode`` holds the file type bits (``stat.S_IFIFO``, ``stat.S_IFCHR`` or
    ``stat.S_IFBLK``) and the permission bits, as in ``st_mode``; ``rdev`` is
    the device number (``os.makedev``), 0 for a FIFO. Sockets are never
    journaled. The writer refuses any other file type.
    """

    path: str
    mode: int
    rdev: int

    def __init__(self, path: PathLike, mode: int, rdev: int = 0) -> None:
        _set(self, "path", _path(path, "path"))
        _set(self, "mode", _int(mode, "mode"))
        _set(self, "rdev", _int(rdev, "rdev"))


@dataclass(frozen=True, init=False)
class ClearXattrs(Op):
    """Every extended attribute the applier manages was removed.

    A sync sends it before the master's attributes, so the replica's set
    becomes the master's exactly; ``system.*`` names and the host's own
    ``security.selinux`` label stay.
    """

    path: str

    def __init__(self, path: PathLike) -> None:
        _set(self, "path", _path(path, "path"))


@dataclass(frozen=True)
class BlockWrite(Op):
    """``data`` was written at byte ``offset`` of volume number ``volume``."""

    volume: int
    offset: int
    data: BytesLike

    def __post_init__(self) -> None:
        _set(self, "volume", _int(self.volume, "volume"))
        _set(self, "offset", _int(self.offset, "offset"))
        _set(self, "data", _buffer(self.data, "data"))


@dataclass(frozen=True)
class Discard(Op):
    """``length`` bytes at ``offset`` of volume ``volume`` were discarded (trimmed)."""

    volume: int
    offset: int
    length: int

    def __post_init__(self) -> None:
        _set(self, "volume", _int(self.volume, "volume"))
        _set(self, "offset", _int(self.offset, "offset"))
        _set(self, "length", _int(self.length, "length"))


@dataclass(frozen=True)
class Bookmark(Op):
    """A named point; the record's timestamp is the bookmark's wall time.

    ``app_consistent`` says whether the application declared its data
    consistent at this point.
    """

    name: str
    app_consistent: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be str, not {type(self.name).__name__}")
        _set(self, "app_consistent", bool(self.app_consistent))


@dataclass(frozen=True)
class TxBegin(Op):
    """The records up to the matching :class:`TxCommit` form one transaction."""

    txid: int

    def __post_init__(self) -> None:
        _set(self, "txid", _int(self.txid, "txid"))


@dataclass(frozen=True)
class TxCommit(Op):
    """Transaction ``txid`` committed: apply its records together."""

    txid: int

    def __post_init__(self) -> None:
        _set(self, "txid", _int(self.txid, "txid"))


@dataclass(frozen=True)
class SyncStart(Op):
    """A synchronisation started; records before it precede the sync."""

    sync_id: int

    def __post_init__(self) -> None:
        _set(self, "sync_id", _int(self.sync_id, "sync_id"))


@dataclass(frozen=True)
class SyncEnd(Op):
    """The synchronisation ``sync_id`` finished."""

    sync_id: int

    def __post_init__(self) -> None:
        _set(self, "sync_id", _int(self.sync_id, "sync_id"))


@dataclass(frozen=True)
class Epoch(Op):
    """The scenario and epoch the following records belong to."""

    scenario: int
    epoch: int

    def __post_init__(self) -> None:
        _set(self, "scenario", _int(self.scenario, "scenario"))
        _set(self, "epoch", _int(self.epoch, "epoch"))


@dataclass(frozen=True)
class Record:
    """One journal entry: an operation with its place and time.

    Attributes:
        seq: Sequence number; strictly increasing by one within a journal.
        timestamp_ns: Capture time in nanoseconds since the Unix epoch.
        op: What changed.
    """

    seq: int
    timestamp_ns: int
    op: Op
