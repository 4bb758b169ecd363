"""Replicas: applying journals to a directory with rewind, points, bookmarks.

A :class:`Replica` is a directory kept up to date by applying journal files
(or single records) to it. With rewind on, every record's inverse is logged
in the replica's spool directory (``ROOT/.rha`` by default) before the record
lands, so the directory can be rewound to any point still held, to a
bookmark or to a time, and the rewind undone until a new record arrives::

    import rha

    with rha.Replica("/srv/replica") as r:
        r.apply_journal("changes.rhaj")
        r.set_bookmark("before-upgrade", app_consistent=True)
        r.apply_journal("more.rhaj")
        print(r.rewind(bookmark="before-upgrade", dry_run=True))
        r.rewind(bookmark="before-upgrade")
        r.undo_rewind()

Errors are :class:`RewindError` subclasses (``rha_result`` 6xx) or the
journal/I/O families.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, List, Optional, Union

from ._closeable import Closeable
from ._convert import fill_record
from ._errors import (  # noqa: F401 (re-exported)
    RewindError,
    UnknownBookmarkError,
    PointRetiredError,
    NoPointError,
    NothingToUndoError,
    RewindDisabledError,
    ReplicaBusyError,
    ApplyFailedError,
    RewindLogCorruptError,
    RewindInterruptedError,
    SequenceGapError,
    call,
    raise_code,
)
from ._native import c_str, ffi, lib
from ._ops import Record

__all__ = [
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
]

PathArg = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class ApplyReport:
    """What :meth:`Replica.apply_journal` did."""

    applied: int
    """Records applied."""
    skipped: int
    """Records the replica already had."""
    uncommitted: int
    """Records of a transaction that does not commit in the journal."""
    torn_at: Optional[int]
    """Offset of an incomplete last record (not applied), if any."""
    point: Optional[int]
    """The replica's point afterwards."""


@dataclass(frozen=True)
class RewindPoint:
    """A point: the state after record ``seq``."""

    seq: int
    timestamp_ns: Optional[int]
    """When it was reached; None for the oldest point."""


@dataclass(frozen=True)
class BookmarkInfo:
    """A named point."""

    name: str
    seq: int
    timestamp_ns: int
    app_consistent: bool


@dataclass(frozen=True)
class RewindInfo:
    """A replica's rewind state."""

    rewind: bool
    """Whether the replica keeps a rewind log."""
    current: Optional[int]
    """The current point."""
    points: int
    bookmarks: int
    rewound: bool
    """Whether :meth:`Replica.undo_rewind` can go back."""


@dataclass(frozen=True)
class RewindPlan:
    """What a rewind did (or would do, for a dry run)."""

    from_point: int
    to_point: int
    records: int
    paths: int
    bytes: int


def _path(p: PathArg) -> bytes:
    return os.fsencode(p)


def _report(report: Any) -> ApplyReport:
    """An ``rha_apply_report`` as an :class:`ApplyReport`."""
    return ApplyReport(
        applied=int(report.applied),
        skipped=int(report.skipped),
        uncommitted=int(report.uncommitted),
        torn_at=int(report.torn_at) if report.torn else None,
        point=int(report.point) if report.has_point else None,
    )


class Replica(Closeable):
    """A replica directory (``rha_replica``), locked while open.

    Args:
        root: The replica's root directory.
        spool: The replica's state directory (its lock, applied point and
            rewind log); default ``ROOT/.rha``, which records may then not
            touch. Created if missing.
        rewind: Keep a rewind log (a replica that has one always keeps it).
        create: Create ``root`` if it is missing (its last component only);
            otherwise a missing root raises ``RhaIOError``.

    Raises:
        ReplicaBusyError: another handle (the message says "in this
            process") or another process has the replica open.
        RhaIOError: ``root`` is missing and ``create`` is false, or another
            I/O error.

    Methods may be called from any thread; calls are serialised.
    """

    _what = "replica"

    def __init__(
        self,
        root: PathArg,
        *,
        spool: Optional[PathArg] = None,
        rewind: bool = True,
        create: bool = False,
    ):
        out = ffi.new("rha_replica **")
        spool_arg = ffi.new("char[]", _path(spool)) if spool is not None else ffi.NULL
        flags = (lib.RHA_REPLICA_REWIND if rewind else 0) | (lib.RHA_REPLICA_CREATE if create else 0)
        call(lib.rha_replica_open_with, ffi.new("char[]", _path(root)), spool_arg, flags, out)
        self._own(out[0], lib.rha_replica_free)

    def apply_journal(self, path: PathArg) -> ApplyReport:
        """Applies a journal file (skipping records already applied) and
        makes the replica durable, then its applied point.

        Raises :class:`SequenceGapError` if the journal does not continue
        the replica's sequence (a gap, or a journal that restarts
        numbering), :class:`CorruptJournalError` if it is damaged (records
        before the damage are applied)."""
        report = ffi.new("rha_apply_report *")
        report.struct_size = ffi.sizeof("rha_apply_report")
        with self._use() as h:
            call(lib.rha_replica_apply_journal, h, ffi.new("char[]", _path(path)), report)
        return _report(report)

    def apply_journal_bytes(self, data: Union[bytes, bytearray, memoryview]) -> ApplyReport:
        """:meth:`apply_journal` of journal bytes held in memory (as a
        :class:`JournalWriter` or a capture driver encoded them, with or
        without the stream header), with the same guarantees: records the
        replica has are skipped, none is applied twice or half, and after
        damage what came before is applied and durable."""
        view = bytes(data)
        report = ffi.new("rha_apply_report *")
        report.struct_size = ffi.sizeof("rha_apply_report")
        with self._use() as h:
            call(lib.rha_replica_apply_journal_bytes, h, ffi.from_buffer(view), len(view), report)
        return _report(report)

    def apply(self, record: Record) -> None:
        """Applies one record, as read from a journal or a spool (its
        ``seq`` follows the current point). Call :meth:`sync` to make
        everything applied durable."""
        if not isinstance(record, Record):
            raise TypeError(f"expected an rha.Record, not {type(record).__name__}")
        rec = ffi.new("rha_record *")
        rec.struct_size = ffi.sizeof("rha_record")
        keep = fill_record(rec, record.timestamp_ns, record.op)
        rec.seq = record.seq
        with self._use() as h:
            call(lib.rha_replica_apply, h, rec)
        del keep

    def sync(self) -> None:
        """Applies pending records and makes the replica durable."""
        with self._use() as h:
            call(lib.rha_replica_sync, h)

    @staticmethod
    def _snapshot(h: Any) -> Any:
        info = ffi.new("rha_rewind_info *")
        info.struct_size = ffi.sizeof("rha_rewind_info")
        call(lib.rha_replica_info, h, info)
        return info

    def info(self) -> RewindInfo:
        """The rewind state."""
        with self._use() as h:
            i = self._snapshot(h)
        return RewindInfo(
            rewind=bool(i.rewind),
            current=int(i.current) if i.has_point else None,
            points=int(i.points),
            bookmarks=int(i.bookmarks),
            rewound=bool(i.rewound),
        )

    def points(self) -> List[RewindPoint]:
        """Every point from the oldest to the current one."""
        out = []
        p = ffi.new("rha_rewind_point *")
        p.struct_size = ffi.sizeof("rha_rewind_point")
        with self._use() as h:
            i = self._snapshot(h)
            for k in range(int(i.points)):
                call(lib.rha_replica_point, h, k, p)
                out.append(RewindPoint(int(p.seq), int(p.timestamp_ns) if p.has_time else None))
        return out

    def bookmarks(self) -> List[BookmarkInfo]:
        """Every bookmark still reachable, oldest first."""
        out = []
        b = ffi.new("rha_bookmark *")
        b.struct_size = ffi.sizeof("rha_bookmark")
        with self._use() as h:
            i = self._snapshot(h)
            for k in range(int(i.bookmarks)):
                call(lib.rha_replica_bookmark, h, k, b)
                out.append(
                    BookmarkInfo(c_str(b.name), int(b.seq), int(b.timestamp_ns), bool(b.app_consistent))
                )
        return out

    def set_bookmark(
        self, name: str, *, app_consistent: bool = False, timestamp_ns: Optional[int] = None
    ) -> None:
        """Marks the current point as ``name`` (durably)."""
        ts = time.time_ns() if timestamp_ns is None else timestamp_ns
        with self._use() as h:
            encoded = name.encode("utf-8")
            call(lib.rha_replica_add_bookmark, h, ffi.from_buffer(encoded), len(encoded), ts, bool(app_consistent))

    def rewind(
        self,
        *,
        seq: Optional[int] = None,
        bookmark: Optional[str] = None,
        time_ns: Optional[int] = None,
        dry_run: bool = False,
    ) -> RewindPlan:
        """Rewinds to the point after record ``seq``, to the newest bookmark
        called ``bookmark``, or to the newest point at or before ``time_ns``
        (exactly one of them). With ``dry_run`` nothing changes."""
        if sum(x is not None for x in (seq, bookmark, time_ns)) != 1:
            raise TypeError("give exactly one of seq, bookmark and time_ns")
        plan = ffi.new("rha_rewind_plan *")
        plan.struct_size = ffi.sizeof("rha_rewind_plan")
        name = ffi.NULL
        name_len = 0
        if bookmark is not None:
            by = lib.RHA_REWIND_BY_BOOKMARK
            encoded = bookmark.encode("utf-8")
            name, name_len = ffi.new("uint8_t[]", encoded), len(encoded)
        elif seq is not None:
            by = lib.RHA_REWIND_BY_SEQ
        else:
            by = lib.RHA_REWIND_BY_TIME
        with self._use() as h:
            call(
                lib.rha_replica_rewind_to,
                h,
                by,
                seq or 0,
                name,
                name_len,
                time_ns or 0,
                bool(dry_run),
                plan,
            )
        return RewindPlan(
            int(getattr(plan, "from")), int(plan.to), int(plan.records), int(plan.paths), int(plan.bytes)
        )

    def undo_rewind(self) -> int:
        """Undoes the rewinds since the last applied record; returns the point."""
        out = ffi.new("uint64_t *")
        with self._use() as h:
            call(lib.rha_replica_undo_rewind, h, out)
        return int(out[0])
