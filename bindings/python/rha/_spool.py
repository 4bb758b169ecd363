"""The spool: a durable, bounded, crash-safe queue of journal records."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from ._closeable import Closeable
from ._convert import fill_record, read_record
from ._errors import (  # noqa: F401 (re-exported)
    SpoolError,
    SpoolFullError,
    SpoolStoppedError,
    CorruptSpoolError,
    SpoolFailedError,
    NotDurableError,
    ReclaimedError,
    SpoolLockedError,
    InvalidStateError,
    call,
    raise_code,
)
from ._native import ffi, lib
from ._ops import Op, Record

__all__ = [
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
]


_MODES = {
    lib.RHA_SPOOL_MODE_NORMAL: "normal",
    lib.RHA_SPOOL_MODE_STOPPED: "stopped",
    lib.RHA_SPOOL_MODE_DEGRADED: "degraded",
}


@dataclass(frozen=True)
class SpoolUsage:
    """Usage, limits and state of a spool (see :meth:`Spool.usage`).

    ``mode`` is ``"normal"``, ``"stopped"`` or ``"degraded"``; ``overflow_seq``
    is the first record not spooled once stopped or degraded; ``max_bytes``
    is None when unlimited.
    """

    used_bytes: int
    max_bytes: Optional[int]
    free_bytes: int
    min_free_bytes: int
    capacity_bytes: int
    segments: int
    oldest_seq: int
    next_seq: int
    durable_next_seq: int
    resume_seq: int
    mode: str
    overflow_seq: Optional[int]
    dirty_ranges: int
    failed: bool


@dataclass(frozen=True)
class SpoolRecovery:
    """What opening the spool found: a torn tail cut off (``torn_offset`` is
    the intact length of the last segment), or in salvage mode the offset of
    the damage everything after which was discarded."""

    created: bool
    segments: int
    next_seq: int
    resume_seq: int
    torn: bool
    torn_offset: int
    torn_bytes: int
    salvaged: bool
    salvage_offset: int
    discarded_segments: int


@dataclass(frozen=True)
class SpoolEvent:
    """A monitoring event: ``kind`` is ``"usage"`` (``percent`` crossed),
    ``"overflow"`` (``overflow_seq`` not spooled) or ``"failed"``."""

    kind: str
    percent: int = 0
    used_bytes: int = 0
    capacity_bytes: int = 0
    overflow_seq: int = 0


Range = Tuple[int, Optional[int]]
"""A changed byte range ``(start, end)``, half-open; ``end`` is None when it
reaches the end of the file or volume."""


@dataclass(frozen=True)
class DirtyRegions:
    """Which byte ranges of which files and volumes changed after a
    degrading overflow (see :meth:`Spool.dirty_regions`): what a resync must
    copy.

    ``files`` maps each scenario-relative path (``bytes``, like a record's
    path) and ``volumes`` each volume index to its ranges: ``(start, end)``
    tuples, half-open, sorted by ``start``, neither overlapping nor touching,
    widened to multiples of ``granularity`` bytes. An ``end`` of None reaches
    the end of the target; for a file it also means its existence, length or
    attributes may have changed (a create, delete, rename or attribute
    change marks the whole file). Both dicts are empty unless the spool is
    degraded.

    ::

        regions = spool.dirty_regions()
        for path, ranges in regions.files.items():
            for start, end in ranges:
                copy_file_range(path, start, end)   # end None: to the end
    """

    granularity: int
    files: Dict[bytes, List[Range]]
    volumes: Dict[int, List[Range]]

    @property
    def range_count(self) -> int:
        """The number of ranges over every file and volume (equal to
        :attr:`SpoolUsage.dirty_ranges` when taken together)."""
        return sum(len(r) for r in self.files.values()) + sum(
            len(r) for r in self.volumes.values()
        )

    def __bool__(self) -> bool:
        """Whether anything is marked."""
        return bool(self.files or self.volumes)


_EVENT_KINDS = {
    lib.RHA_SPOOL_EVENT_USAGE: "usage",
    lib.RHA_SPOOL_EVENT_OVERFLOW: "overflow",
    lib.RHA_SPOOL_EVENT_FAILED: "failed",
}


def _append_options(durable: bool, when_full: Union[str, float]) -> Any:
    """``rha_spool_append_options`` for :meth:`Spool.append` and
    :meth:`Spool.append_journal`."""
    opts = ffi.new("rha_spool_append_options *")
    lib.rha_spool_append_options_init(opts)
    opts.durable = durable
    if when_full == "overflow":
        opts.when_full = lib.RHA_SPOOL_WHEN_FULL_OVERFLOW
    elif when_full == "fail":
        opts.when_full = lib.RHA_SPOOL_WHEN_FULL_FAIL
    elif isinstance(when_full, (int, float)) and not isinstance(when_full, bool):
        if when_full < 0:
            raise_code(lib.RHA_INVALID_ARGUMENT, "when_full wait must not be negative")
        opts.when_full = lib.RHA_SPOOL_WHEN_FULL_BLOCK
        opts.block_ms = int(when_full * 1000)
    else:
        raise_code(
            lib.RHA_INVALID_ARGUMENT,
            f"when_full must be 'overflow', 'fail' or seconds, not {when_full!r}",
        )
    return opts


class Spool(Closeable):
    """A spool directory (``rha_spool``): records that cannot move on yet.

    ::

        with rha.Spool("/var/spool/rha", max_bytes=10 << 30) as spool:
            seq = spool.append(rha.Write("a.txt", 0, b"hello"))
            for record in spool.read(spool.usage().resume_seq):
                send(record)
                spool.ack(record.seq)

    Appends may come from several threads at once: the library releases the
    GIL and one sync covers every concurrent append. A restart resumes right
    after the last acknowledged record. :meth:`close` (or leaving the
    ``with`` block) makes everything durable and releases the spool.

    Args:
        directory: The spool directory (created if missing, locked against
            other processes).
        max_bytes: Maximum size; None: unlimited.
        min_free_bytes: Free space left on the file system (default 1 GiB).
        segment_bytes: Segment size (default 64 MiB).
        overflow: ``"stop"`` (default) or ``"degrade"`` (record only the
            regions changed once full).
        first_seq: The first sequence number of a new spool.
        salvage: Keep what precedes a corruption instead of refusing to open.

    Raises:
        CorruptSpoolError, SpoolLockedError, RhaIOError, InvalidArgumentError.
    """

    def __init__(
        self,
        directory: Union[str, "os.PathLike[str]"],
        *,
        max_bytes: Optional[int] = None,
        min_free_bytes: Optional[int] = None,
        segment_bytes: Optional[int] = None,
        overflow: str = "stop",
        first_seq: int = 1,
        salvage: bool = False,
    ) -> None:
        policies = {"stop": lib.RHA_SPOOL_POLICY_STOP, "degrade": lib.RHA_SPOOL_POLICY_DEGRADE}
        if overflow not in policies:
            raise_code(
                lib.RHA_INVALID_ARGUMENT,
                f"unknown overflow policy {overflow!r}: expected 'stop' or 'degrade'",
            )
        builder = lib.rha_spool_builder_new(os.fsencode(directory))
        try:
            if max_bytes is not None:
                if max_bytes <= 0:
                    raise_code(lib.RHA_INVALID_ARGUMENT, "max_bytes must be positive")
                call(lib.rha_spool_builder_set_max_bytes, builder, max_bytes)
            if min_free_bytes is not None:
                call(lib.rha_spool_builder_set_min_free_bytes, builder, min_free_bytes)
            if segment_bytes is not None:
                call(lib.rha_spool_builder_set_segment_bytes, builder, segment_bytes)
            call(lib.rha_spool_builder_set_overflow, builder, policies[overflow])
            call(lib.rha_spool_builder_set_first_seq, builder, first_seq)
            call(lib.rha_spool_builder_set_salvage, builder, salvage)
        except BaseException:
            lib.rha_spool_builder_free(builder)
            raise
        out = ffi.new("rha_spool **")
        rec = ffi.new("rha_spool_recovery *")
        rec.struct_size = ffi.sizeof("rha_spool_recovery")
        call(lib.rha_spool_build, builder, out, rec)
        # Released by rha_spool_close, which makes everything durable first.
        self._own(out[0], _close_spool)
        self.recovery = SpoolRecovery(
            bool(rec.created),
            rec.segments,
            rec.next_seq,
            rec.resume_seq,
            bool(rec.torn),
            rec.torn_offset,
            rec.torn_bytes,
            bool(rec.salvaged),
            rec.salvage_offset,
            rec.discarded_segments,
        )
        """What opening found and repaired (:class:`SpoolRecovery`)."""

    def append(
        self,
        op: Op,
        timestamp_ns: Optional[int] = None,
        *,
        durable: bool = True,
        when_full: Union[str, float] = "overflow",
    ) -> Optional[int]:
        """Appends ``op``; returns its sequence number, or None if the spool
        is degraded and only the regions it changes were recorded.

        Args:
            op: The operation; its payload is read in place.
            timestamp_ns: Capture time; None means now.
            durable: Return only once the record is durable (else call
                :meth:`sync` later).
            when_full: ``"overflow"`` (apply the overflow policy), ``"fail"``
                (raise :class:`SpoolFullError`) or a number of seconds to
                wait for room before raising :class:`SpoolFullError`.

        Raises:
            SpoolFullError, SpoolStoppedError, SpoolFailedError, RhaIOError,
            InvalidArgumentError, RecordTooLargeError.
        """
        if timestamp_ns is None:
            timestamp_ns = time.time_ns()
        opts = _append_options(durable, when_full)
        rec = ffi.new("rha_record *")
        rec.struct_size = ffi.sizeof("rha_record")
        keep = fill_record(rec, timestamp_ns, op)
        ticket = ffi.new("rha_spool_ticket *")
        ticket.struct_size = ffi.sizeof("rha_spool_ticket")
        with self._use() as spool:
            call(lib.rha_spool_append, spool, rec, opts, ticket)
        del keep
        return int(ticket.seq) if ticket.spooled else None

    def append_journal(
        self,
        data: Union[bytes, bytearray, memoryview],
        *,
        durable: bool = True,
        when_full: Union[str, float] = "overflow",
    ) -> Optional[range]:
        """Appends the records of ``data``, journal bytes as a
        :class:`JournalWriter` (or a capture driver) encoded them, with or
        without the stream header, in one call and all or nothing.

        The records must be numbered consecutively from the spool's next
        sequence number (:attr:`SpoolUsage.next_seq`). Every frame is
        checked before anything is appended: damaged or cut bytes raise
        :class:`CorruptJournalError`, misnumbered ones
        :class:`SequenceError` (naming the expected and the found number),
        and the spool is left as it was. ``durable`` and ``when_full`` are
        those of :meth:`append`, for all the records as one group.

        Returns the sequence numbers appended (an empty range for no
        record), or None if the spool is degraded and only the regions the
        records change were recorded.
        """
        opts = _append_options(durable, when_full)
        view = bytes(data)
        ticket = ffi.new("rha_spool_ticket *")
        ticket.struct_size = ffi.sizeof("rha_spool_ticket")
        count = ffi.new("uint64_t *")
        with self._use() as spool:
            call(lib.rha_spool_append_journal, spool, ffi.from_buffer(view), len(view), opts, ticket, count)
        n = int(count[0])
        if n == 0:
            return range(0)
        if not ticket.spooled:
            return None
        last = int(ticket.seq)
        return range(last - n + 1, last + 1)

    def sync(self) -> None:
        """Makes everything appended so far durable."""
        with self._use() as spool:
            call(lib.rha_spool_sync, spool)

    def ack(self, seq: int) -> None:
        """Acknowledges every record up to ``seq``; durable on return.

        Raises:
            NotDurableError: if ``seq`` is not durable yet.
        """
        with self._use() as spool:
            call(lib.rha_spool_ack, spool, seq)

    def reset(self, next_seq: int) -> None:
        """Discards everything spooled and any stopped/degraded state after a
        resync; the next record is numbered ``next_seq``."""
        with self._use() as spool:
            call(lib.rha_spool_reset, spool, next_seq)

    def usage(self) -> SpoolUsage:
        """Usage, limits and state."""
        u = ffi.new("rha_spool_usage *")
        u.struct_size = ffi.sizeof("rha_spool_usage")
        with self._use() as spool:
            call(lib.rha_spool_get_usage, spool, u)
        return SpoolUsage(
            used_bytes=u.used_bytes,
            max_bytes=u.max_bytes or None,
            free_bytes=u.free_bytes,
            min_free_bytes=u.min_free_bytes,
            capacity_bytes=u.capacity_bytes,
            segments=u.segments,
            oldest_seq=u.oldest_seq,
            next_seq=u.next_seq,
            durable_next_seq=u.durable_next_seq,
            resume_seq=u.resume_seq,
            mode=_MODES.get(u.mode, "unknown"),
            overflow_seq=u.overflow_seq if u.mode != lib.RHA_SPOOL_MODE_NORMAL else None,
            dirty_ranges=u.dirty_ranges,
            failed=bool(u.failed),
        )

    def dirty_regions(self) -> DirtyRegions:
        """The dirty regions recorded since a degrading overflow (empty
        otherwise), as a :class:`DirtyRegions` snapshot: a copy that later
        appends do not change."""
        out = ffi.new("rha_spool_dirty **")
        with self._use() as spool:
            call(lib.rha_spool_dirty_new, spool, out)
        snap = out[0]
        try:
            files: Dict[bytes, List[Range]] = {}
            volumes: Dict[int, List[Range]] = {}
            target = ffi.new("rha_spool_dirty_target *")
            target.struct_size = ffi.sizeof("rha_spool_dirty_target")
            for i in range(lib.rha_spool_dirty_target_count(snap)):
                call(lib.rha_spool_dirty_get, snap, i, target)
                ranges: List[Range] = [
                    (
                        int(target.ranges[j].start),
                        None
                        if target.ranges[j].end == lib.RHA_SPOOL_RANGE_TO_END
                        else int(target.ranges[j].end),
                    )
                    for j in range(target.range_count)
                ]
                if target.kind == lib.RHA_SPOOL_TARGET_VOLUME:
                    volumes[int(target.volume)] = ranges
                else:
                    n = target.path.len
                    path = ffi.unpack(ffi.cast("const char *", target.path.ptr), n) if n else b""
                    files[path] = ranges
            return DirtyRegions(int(lib.rha_spool_dirty_granularity(snap)), files, volumes)
        finally:
            lib.rha_spool_dirty_free(snap)

    def events(self) -> List[SpoolEvent]:
        """Takes every pending monitoring event, oldest first."""
        out = []
        ev = ffi.new("rha_spool_event *")
        ev.struct_size = ffi.sizeof("rha_spool_event")
        with self._use() as spool:
            while call(lib.rha_spool_poll_event, spool, ev) == lib.RHA_OK:
                out.append(
                    SpoolEvent(
                        _EVENT_KINDS.get(ev.kind, "unknown"),
                        ev.percent,
                        ev.used_bytes,
                        ev.capacity_bytes,
                        ev.overflow_seq,
                    )
                )
        return out

    def read(self, from_seq: Optional[int] = None) -> "SpoolReader":
        """A reader of the durable records from ``from_seq`` on (default: the
        first unacknowledged one). Iterating it yields :class:`Record` objects
        until every durable record has been read.

        Raises:
            ReclaimedError: if ``from_seq`` was reclaimed.
        """
        if from_seq is None:
            from_seq = self.usage().resume_seq
        out = ffi.new("rha_spool_reader **")
        with self._use() as spool:
            call(lib.rha_spool_reader_new, spool, from_seq, out)
        return SpoolReader(out[0])

    def __iter__(self) -> Iterator[Record]:
        """The durable, unacknowledged records."""
        with self.read() as reader:
            yield from reader

    def close(self) -> None:
        """Makes everything durable and releases the spool (idempotent).
        Waits for calls in other threads to return.

        Raises:
            SpoolFailedError, RhaIOError: if the final sync failed (the spool
                is released all the same).
        """
        super().close()


def _close_spool(spool: Any) -> None:
    call(lib.rha_spool_close, spool)


class SpoolReader(Closeable):
    """Reads a spool's durable records in order (``rha_spool_reader``); made
    by :meth:`Spool.read`. Iteration ends when every durable record has been
    read; iterating again later picks up records made durable since.

    Calls are serialised: threads iterating one reader share its records
    (each record goes to exactly one of them, in order)."""

    _what = "spool reader"

    def __init__(self, handle: Any) -> None:
        self._own(handle, lib.rha_spool_reader_free)

    @property
    def position(self) -> int:
        """The sequence number of the next record (0 once closed)."""
        try:
            with self._use() as r:
                return int(lib.rha_spool_reader_position(r))
        except InvalidStateError:
            return 0

    def __iter__(self) -> Iterator[Record]:
        rec = ffi.new("rha_record *")
        rec.struct_size = ffi.sizeof("rha_record")
        while True:
            with self._use() as r:
                if call(lib.rha_spool_reader_next, r, rec) != lib.RHA_OK:
                    return
                # The record's views are valid only until the next call: copy now.
                record = read_record(rec)
            yield record
