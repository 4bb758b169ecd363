"""Mapping operations to and from the C ``rha_record`` struct."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple, Type

from . import _ops as o
from ._errors import raise_code
from ._native import ffi, lib

__all__ = ["fill_record", "read_record"]


def _put(field: Any, data: Any, keep: List[Any]) -> None:
    """Points an ``rha_bytes`` at ``data`` without copying it."""
    buf = ffi.from_buffer("uint8_t[]", data)
    keep.append(buf)
    field.ptr = buf
    field.len = len(buf)


def _get(field: Any) -> bytes:
    """Copies an ``rha_bytes`` view into ``bytes``."""
    return ffi.buffer(field.ptr, field.len)[:] if field.len else b""


def _create(op: o.Create, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    rec.mode = op.mode


def _write(op: o.Write, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    rec.offset = op.offset
    _put(rec.data, op.data, keep)


def _set_len(op: o.SetLen, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    rec.length = op.length


def _path_only(op: Any, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)


def _rename(op: o.Rename, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.src), keep)
    _put(rec.path2, o.encode_path(op.dst), keep)


def _symlink(op: o.Symlink, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    _put(rec.data, o.encode_path(op.target), keep)


def _hard_link(op: o.HardLink, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.existing), keep)
    _put(rec.path2, o.encode_path(op.link), keep)


def _set_attr(op: o.SetAttr, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    mask = 0
    if op.mode is not None:
        mask |= lib.RHA_ATTR_MODE
        rec.mode = op.mode
    if op.uid is not None:
        mask |= lib.RHA_ATTR_UID
        rec.uid = op.uid
    if op.gid is not None:
        mask |= lib.RHA_ATTR_GID
        rec.gid = op.gid
    if op.atime_ns is not None:
        mask |= lib.RHA_ATTR_ATIME
        rec.atime_ns = op.atime_ns
    if op.mtime_ns is not None:
        mask |= lib.RHA_ATTR_MTIME
        rec.mtime_ns = op.mtime_ns
    rec.attr_mask = mask


def _set_xattr(op: o.SetXattr, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    _put(rec.name, op.name, keep)
    _put(rec.data, op.value, keep)


def _remove_xattr(op: o.RemoveXattr, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    _put(rec.name, op.name, keep)


def _mknod(op: o.Mknod, rec: Any, keep: List[Any]) -> None:
    _put(rec.path, o.encode_path(op.path), keep)
    rec.mode = op.mode
    rec.rdev = op.rdev


def _block_write(op: o.BlockWrite, rec: Any, keep: List[Any]) -> None:
    rec.volume = op.volume
    rec.offset = op.offset
    _put(rec.data, op.data, keep)


def _discard(op: o.Discard, rec: Any, keep: List[Any]) -> None:
    rec.volume = op.volume
    rec.offset = op.offset
    rec.length = op.length


def _bookmark(op: o.Bookmark, rec: Any, keep: List[Any]) -> None:
    _put(rec.name, op.name.encode("utf-8"), keep)
    rec.app_consistent = 1 if op.app_consistent else 0


def _tx(op: Any, rec: Any, keep: List[Any]) -> None:
    rec.id = op.txid


def _sync(op: Any, rec: Any, keep: List[Any]) -> None:
    rec.id = op.sync_id


def _epoch(op: o.Epoch, rec: Any, keep: List[Any]) -> None:
    rec.id = op.scenario
    rec.epoch = op.epoch


_Filler = Callable[[Any, Any, List[Any]], None]

# op class -> (rha_op code, filler)
_TO_C: Dict[Type[o.Op], Tuple[int, _Filler]] = {
    o.Create: (lib.RHA_OP_CREATE, _create),
    o.Write: (lib.RHA_OP_WRITE, _write),
    o.SetLen: (lib.RHA_OP_SET_LEN, _set_len),
    o.Delete: (lib.RHA_OP_DELETE, _path_only),
    o.Rename: (lib.RHA_OP_RENAME, _rename),
    o.Mkdir: (lib.RHA_OP_MKDIR, _create),
    o.Rmdir: (lib.RHA_OP_RMDIR, _path_only),
    o.Symlink: (lib.RHA_OP_SYMLINK, _symlink),
    o.HardLink: (lib.RHA_OP_HARD_LINK, _hard_link),
    o.SetAttr: (lib.RHA_OP_SET_ATTR, _set_attr),
    o.SetXattr: (lib.RHA_OP_SET_XATTR, _set_xattr),
    o.RemoveXattr: (lib.RHA_OP_REMOVE_XATTR, _remove_xattr),
    o.Mknod: (lib.RHA_OP_MKNOD, _mknod),
    o.ClearXattrs: (lib.RHA_OP_CLEAR_XATTRS, _path_only),
    o.BlockWrite: (lib.RHA_OP_BLOCK_WRITE, _block_write),
    o.Discard: (lib.RHA_OP_DISCARD, _discard),
    o.Bookmark: (lib.RHA_OP_BOOKMARK, _bookmark),
    o.TxBegin: (lib.RHA_OP_TX_BEGIN, _tx),
    o.TxCommit: (lib.RHA_OP_TX_COMMIT, _tx),
    o.SyncStart: (lib.RHA_OP_SYNC_START, _sync),
    o.SyncEnd: (lib.RHA_OP_SYNC_END, _sync),
    o.Epoch: (lib.RHA_OP_EPOCH, _epoch),
}


def fill_record(rec: Any, timestamp_ns: int, op: o.Op) -> List[Any]:
    """Fills a zeroed ``rha_record *`` from ``op``.

    Returns the cffi buffers the record points into: keep the list alive
    until the C call that reads the record has returned.
    """
    try:
        code, fill = _TO_C[type(op)]
    except KeyError:
        raise TypeError(f"expected an rha operation, not {type(op).__name__}") from None
    keep: List[Any] = []
    rec.timestamp_ns = timestamp_ns
    rec.op = code
    fill(op, rec, keep)
    return keep


def _attrs(rec: Any) -> o.SetAttr:
    mask = rec.attr_mask
    return o.SetAttr(
        _get(rec.path),
        mode=rec.mode if mask & lib.RHA_ATTR_MODE else None,
        uid=rec.uid if mask & lib.RHA_ATTR_UID else None,
        gid=rec.gid if mask & lib.RHA_ATTR_GID else None,
        atime_ns=rec.atime_ns if mask & lib.RHA_ATTR_ATIME else None,
        mtime_ns=rec.mtime_ns if mask & lib.RHA_ATTR_MTIME else None,
    )


_FROM_C: Dict[int, Callable[[Any], o.Op]] = {
    lib.RHA_OP_CREATE: lambda r: o.Create(_get(r.path), r.mode),
    lib.RHA_OP_WRITE: lambda r: o.Write(_get(r.path), r.offset, _get(r.data)),
    lib.RHA_OP_SET_LEN: lambda r: o.SetLen(_get(r.path), r.length),
    lib.RHA_OP_DELETE: lambda r: o.Delete(_get(r.path)),
    lib.RHA_OP_RENAME: lambda r: o.Rename(_get(r.path), _get(r.path2)),
    lib.RHA_OP_MKDIR: lambda r: o.Mkdir(_get(r.path), r.mode),
    lib.RHA_OP_RMDIR: lambda r: o.Rmdir(_get(r.path)),
    lib.RHA_OP_SYMLINK: lambda r: o.Symlink(_get(r.path), _get(r.data)),
    lib.RHA_OP_HARD_LINK: lambda r: o.HardLink(_get(r.path), _get(r.path2)),
    lib.RHA_OP_SET_ATTR: _attrs,
    lib.RHA_OP_SET_XATTR: lambda r: o.SetXattr(_get(r.path), _get(r.name), _get(r.data)),
    lib.RHA_OP_REMOVE_XATTR: lambda r: o.RemoveXattr(_get(r.path), _get(r.name)),
    lib.RHA_OP_MKNOD: lambda r: o.Mknod(_get(r.path), r.mode, r.rdev),
    lib.RHA_OP_CLEAR_XATTRS: lambda r: o.ClearXattrs(_get(r.path)),
    lib.RHA_OP_BLOCK_WRITE: lambda r: o.BlockWrite(r.volume, r.offset, _get(r.data)),
    lib.RHA_OP_DISCARD: lambda r: o.Discard(r.volume, r.offset, r.length),
    lib.RHA_OP_BOOKMARK: lambda r: o.Bookmark(_get(r.name).decode("utf-8"), bool(r.app_consistent)),
    lib.RHA_OP_TX_BEGIN: lambda r: o.TxBegin(r.id),
    lib.RHA_OP_TX_COMMIT: lambda r: o.TxCommit(r.id),
    lib.RHA_OP_SYNC_START: lambda r: o.SyncStart(r.id),
    lib.RHA_OP_SYNC_END: lambda r: o.SyncEnd(r.id),
    lib.RHA_OP_EPOCH: lambda r: o.Epoch(r.id, r.epoch),
}


def read_record(rec: Any) -> o.Record:
    """Copies a decoded ``rha_record *`` into a :class:`Record`.

    Must run before the next call on the reader that produced ``rec``: the
    record's byte views point into the reader's memory.
    """
    convert = _FROM_C.get(rec.op)
    if convert is None:
        raise_code(
            lib.RHA_JOURNAL_UNSUPPORTED_VERSION,
            f"record seq {rec.seq} has operation code {rec.op:#04x}, "
            "which this version of the Python package does not know",
        )
    return o.Record(rec.seq, rec.timestamp_ns, convert(rec))
