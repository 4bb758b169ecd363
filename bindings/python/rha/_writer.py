"""The journal writer: operations in, journal bytes out."""

from __future__ import annotations

import itertools
import os
import time
from typing import Any, BinaryIO, Callable, Iterable, List, Optional, Union

from ._closeable import Closeable
from ._convert import fill_record
from ._errors import call, raise_code
from ._native import ffi, lib
from ._ops import Op, Record

__all__ = ["JournalWriter", "write_journal"]

_CHUNK = 256 << 10  # drain buffer size: one default batch

FileTarget = Union[str, "os.PathLike[str]", BinaryIO]


class JournalWriter(Closeable):
    """Encodes operations into a journal (``rha_journal_writer``).

    The writer numbers records (from ``first_seq``), gathers them into
    batches of about ``batch_bytes`` and, with ``compression="zstd"``,
    compresses each batch. Encoded bytes become ready as batches close;
    :meth:`flush` closes the current one. Take the ready bytes with
    :meth:`drain` or :meth:`write_to`, or let :meth:`open` write them to a
    file as they come::

        with rha.JournalWriter.open("changes.rhaj", compression="zstd") as w:
            w.append(rha.Create("a.txt", 0o644))
            w.append(rha.Write("a.txt", 0, b"hello"))

        w = rha.JournalWriter()
        w.append(rha.Mkdir("docs", 0o755))
        w.flush()
        data = w.drain()

    Methods may be called from any thread; calls on one writer are
    serialised. :meth:`close` (or leaving the ``with`` block) releases the C
    object; a writer made by :meth:`open` first flushes into its file.

    Args:
        compression: ``None`` or ``"zstd"``.
        level: zstd level, 1 (fastest) to 22; used with ``"zstd"``.
        batch_bytes: Close a batch once its records pass this many bytes
            (library default: 256 KiB).
        first_seq: The first record's sequence number.
        max_record_size: The largest record body to produce (library
            default: 64 MiB); keep it no larger than readers accept.

    Raises:
        InvalidArgumentError: for an unknown compression, a level out of
            range or a zero ``batch_bytes``.
    """

    _what = "journal writer"

    def __init__(
        self,
        compression: Optional[str] = None,
        level: int = 3,
        batch_bytes: Optional[int] = None,
        first_seq: int = 1,
        max_record_size: Optional[int] = None,
    ) -> None:
        if compression not in (None, "zstd"):
            raise_code(
                lib.RHA_INVALID_ARGUMENT,
                f"unknown compression {compression!r}: expected None or 'zstd'",
            )
        builder = lib.rha_journal_writer_builder_new()
        try:
            if compression == "zstd":
                call(lib.rha_journal_writer_builder_set_zstd, builder, level)
            if batch_bytes is not None:
                call(lib.rha_journal_writer_builder_set_batch_bytes, builder, batch_bytes)
            call(lib.rha_journal_writer_builder_set_first_seq, builder, first_seq)
            if max_record_size is not None:
                call(lib.rha_journal_writer_builder_set_max_record_size, builder, max_record_size)
        except BaseException:
            lib.rha_journal_writer_builder_free(builder)
            raise
        out = ffi.new("rha_journal_writer **")
        call(lib.rha_journal_writer_build, builder, out)  # consumes the builder
        self._buf = ffi.new("uint8_t[]", _CHUNK)
        self._out: Any = ffi.new("rha_out_buffer *", {"dst": self._buf, "size": _CHUNK, "pos": 0})
        self._sink: Optional[BinaryIO] = None
        self._owns_sink = False
        self._written = 0
        self._own(out[0], lib.rha_journal_writer_free)

    @classmethod
    def open(cls, file: FileTarget, **options: Any) -> "JournalWriter":
        """A writer that writes its journal to ``file``.

        ``file`` is a path (``str`` or ``os.PathLike``; created or truncated,
        and closed by :meth:`close`) or a binary file object (left open).
        Ready bytes are written after every append that closes a batch, on
        :meth:`flush` and on :meth:`close`. ``options`` are the constructor's.
        """
        owns = isinstance(file, (str, os.PathLike))
        sink: BinaryIO = open(file, "wb") if isinstance(file, (str, os.PathLike)) else file
        try:
            writer = cls(**options)
        except BaseException:
            if owns:
                sink.close()
            raise
        writer._sink = sink
        writer._owns_sink = owns
        return writer

    @property
    def next_seq(self) -> int:
        """The sequence number the next appended record gets."""
        with self._use() as w:
            return int(lib.rha_journal_writer_next_seq(w))

    @property
    def pending(self) -> int:
        """Bytes encoded and ready to drain."""
        with self._use() as w:
            return int(lib.rha_journal_writer_pending(w))

    @property
    def bytes_written(self) -> int:
        """Bytes written so far by :meth:`write_to` and to the file of :meth:`open`."""
        return self._written

    def append(self, op: Op, timestamp_ns: Optional[int] = None) -> int:
        """Appends ``op`` and returns its sequence number.

        Args:
            op: The operation (:class:`Create`, :class:`Write`, ...). Its
                payload is read in place, without a copy.
            timestamp_ns: Capture time in nanoseconds since the Unix epoch;
                ``None`` means now (:func:`time.time_ns`).

        Raises:
            InvalidArgumentError: for an invalid field (the message names
                it): a bad path, an xattr name that is empty or too long, ...
            RecordTooLargeError: if the record exceeds ``max_record_size``.
            InvalidStateError: if the writer is closed or poisoned.
        """
        if timestamp_ns is None:
            timestamp_ns = time.time_ns()
        rec = ffi.new("rha_record *")
        rec.struct_size = ffi.sizeof("rha_record")
        keep = fill_record(rec, timestamp_ns, op)
        seq = ffi.new("uint64_t *")
        with self._use() as w:
            call(lib.rha_journal_writer_append, w, rec, seq)
            del keep  # the library has copied what it needs
            if self._sink is not None and lib.rha_journal_writer_pending(w):
                self._drain(w, self._to_sink)
        return int(seq[0])

    def flush(self) -> None:
        """Closes the current batch so that its bytes become ready.

        A writer made by :meth:`open` also writes them to its file and
        flushes the file object.
        """
        with self._use() as w:
            call(lib.rha_journal_writer_flush, w)
            if self._sink is not None:
                self._drain(w, self._to_sink)
                self._sink.flush()

    def sync(self) -> None:
        """Flushes, then makes the file of :meth:`open` durable (``fsync``)."""
        with self._use():
            self.flush()
            if self._sink is None:
                raise_code(lib.RHA_INVALID_STATE, "sync needs a writer made by JournalWriter.open")
            os.fsync(self._sink.fileno())

    def drain(self) -> bytes:
        """Returns the bytes ready so far (see :meth:`flush`) and forgets them."""
        parts: List[bytes] = []
        with self._use() as w:
            self._drain(w, lambda view: parts.append(bytes(view)))
        return b"".join(parts)

    def write_to(self, fileobj: BinaryIO) -> int:
        """Writes the ready bytes to a binary file object; returns how many.

        The object's ``write`` gets views of a buffer the writer reuses, as
        :mod:`io` allows: it must not keep them past the call.
        """
        with self._use() as w:
            n = self._drain(w, lambda view: _write_all(fileobj, view))
            self._written += n
            return n

    def close(self) -> None:
        """Releases the writer. Idempotent.

        A writer made by :meth:`open` first flushes everything into its file,
        and closes the file if it opened it.
        """
        super().close()

    def _release(self, handle: Any) -> None:
        try:
            if self._sink is not None:
                call(lib.rha_journal_writer_flush, handle)
                self._drain(handle, self._to_sink)
                self._sink.flush()
        finally:
            super()._release(handle)
            if self._owns_sink and self._sink is not None:
                self._sink.close()

    def _drain(self, w: Any, emit: Callable[[Any], None]) -> int:
        """Drains the ready bytes of ``w`` (held by this thread) through
        ``emit`` in chunks."""
        out, total = self._out, 0
        while True:
            out.pos = 0
            status = call(lib.rha_journal_writer_drain, w, out)
            if out.pos:
                emit(ffi.buffer(self._buf, out.pos))
                total += out.pos
            if status == lib.RHA_OK:
                return total

    def _to_sink(self, view: Any) -> None:
        assert self._sink is not None
        _write_all(self._sink, view)
        self._written += len(view)


def _write_all(fileobj: BinaryIO, data: Any) -> None:
    view = memoryview(data)
    while view:
        n = fileobj.write(view)
        if n is None or n >= len(view):  # None: a file object that does not report
            return
        view = view[n:]


def write_journal(
    file: FileTarget,
    items: Iterable[Union[Op, Record]],
    **options: Any,
) -> int:
    """Writes a whole journal to ``file`` and returns its length in bytes.

    Args:
        file: A path (created or truncated) or a binary file object (left open).
        items: Operations, stamped with the current time as they are
            appended, or :class:`Record`\\ s, whose timestamps are kept and
            whose sequence numbers must run on by one (the journal starts at
            the first record's ``seq`` unless ``first_seq`` is given).
        options: As for :class:`JournalWriter`.

    Raises:
        SequenceError: if a record's ``seq`` does not follow the previous one.
        InvalidArgumentError: for an invalid record field.
    """
    iterator = iter(items)
    first = next(iterator, None)
    if isinstance(first, Record):
        options.setdefault("first_seq", first.seq)
    with JournalWriter.open(file, **options) as writer:
        for item in itertools.chain([] if first is None else [first], iterator):
            if isinstance(item, Record):
                expected = writer.next_seq
                if item.seq != expected:
                    raise_code(
                        lib.RHA_JOURNAL_SEQUENCE,
                        f"record seq {item.seq} does not follow the journal's "
                        f"next sequence number {expected}",
                    )
                writer.append(item.op, item.timestamp_ns)
            else:
                writer.append(item)
    return writer.bytes_written
