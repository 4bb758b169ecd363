"""The journal reader: bytes in, in chunks of any size; records out."""

from __future__ import annotations

import collections
import io
import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Deque, Generator, Iterator, Optional, Tuple, Union

from ._closeable import Closeable, LockedIterator
from ._convert import read_record
from ._errors import RhaError, call, raise_code
from ._native import ffi, lib
from ._ops import Record

__all__ = ["End", "JournalReader", "RecordStream", "read_journal"]

DEFAULT_CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class End:
    """How a journal ended, once all of it has been read.

    Attributes:
        torn: ``False`` if the input ended exactly after a complete frame (or
            was empty); ``True`` if it ended inside a frame, as a write cut
            short by a crash leaves it. A torn tail is not corruption:
            everything before ``offset`` is intact.
        offset: Clean: the length of the input. Torn: where the incomplete
            frame starts, which is the length of the intact prefix and a safe
            length to truncate the journal to.
        tail_len: Torn: the number of bytes after ``offset``. Clean: 0.
    """

    torn: bool
    offset: int
    tail_len: int = 0

    @property
    def clean(self) -> bool:
        """Whether the input ended after a complete frame."""
        return not self.torn


class JournalReader(Closeable):
    """Decodes a journal fed in chunks of any size (``rha_journal_reader``).

    Feed bytes with :meth:`feed`, iterate to get the records decodable so
    far, feed more, and when the input is over call :meth:`finish` to learn
    whether it ended cleanly or with a torn tail::

        reader = rha.JournalReader()
        for chunk in chunks:
            reader.feed(chunk)
            for record in reader:
                handle(record)
        end = reader.finish()

    Decoding errors raise :class:`JournalError` subclasses naming the byte
    offset and the last good sequence number; after one, the reader raises
    the same error again.

    Fed data is not copied on the Python side: the reader hands the caller's
    buffer to the library, which takes from it as records need. Until
    iteration has consumed a chunk (iterating until the loop ends consumes
    everything fed), the reader keeps a reference to it: don't modify a
    mutable buffer before then (a ``bytearray`` cannot be resized meanwhile).

    Methods may be called from any thread; calls on one reader are serialised.

    Args:
        max_record_size: The largest record body accepted, bounding the
            memory decoding may use (library default: 64 MiB).
        first_seq: The sequence number the first record must have; ``None``
            accepts any.
        stream_header: Whether the input starts with the 16-byte stream
            header; turn off to decode frames continuing a journal read
            elsewhere.
    """

    _what = "journal reader"

    def __init__(
        self,
        max_record_size: Optional[int] = None,
        first_seq: Optional[int] = None,
        stream_header: bool = True,
    ) -> None:
        builder = lib.rha_journal_reader_builder_new()
        try:
            if max_record_size is not None:
                call(lib.rha_journal_reader_builder_set_max_record_size, builder, max_record_size)
            if first_seq is not None:
                call(lib.rha_journal_reader_builder_set_first_seq, builder, first_seq)
            call(lib.rha_journal_reader_builder_set_stream_header, builder, bool(stream_header))
        except BaseException:
            lib.rha_journal_reader_builder_free(builder)
            raise
        out = ffi.new("rha_journal_reader **")
        call(lib.rha_journal_reader_build, builder, out)  # consumes the builder
        self._rec = ffi.new("rha_record *")
        self._rec.struct_size = ffi.sizeof("rha_record")
        # Fed input not yet consumed: (rha_in_buffer *, the cffi view keeping the data alive).
        self._queue: Deque[Tuple[Any, Any]] = collections.deque()
        self._failed = False
        self._own(out[0], lib.rha_journal_reader_free)

    def feed(self, data: Any) -> None:
        """Adds input: any object supporting the buffer protocol.

        The data is not copied here; see the class notes on buffer lifetime.

        Raises:
            TypeError: if ``data`` is not bytes-like.
            BufferError: if it is not C-contiguous.
        """
        with self._use():
            view = ffi.from_buffer("uint8_t[]", data)
            if len(view):
                inbuf = ffi.new("rha_in_buffer *", {"src": view, "size": len(view), "pos": 0})
                self._queue.append((inbuf, view))
            else:
                ffi.release(view)

    def next_record(self) -> Optional[Record]:
        """The next record, or ``None`` if more input is needed.

        Raises:
            CorruptJournalError: damaged bytes (with ``offset``, ``last_seq``).
            SequenceError: a gap or reordering of sequence numbers.
            RecordTooLargeError: a frame over ``max_record_size``.
            UnsupportedVersionError: a journal format this library can't read.
        """
        with self._use() as r:
            queue = self._queue
            while True:
                inbuf: Any = queue[0][0] if queue else ffi.NULL
                try:
                    status = call(lib.rha_journal_reader_next, r, inbuf, self._rec)
                except RhaError:
                    self._failed = True
                    raise
                if queue and inbuf.pos == inbuf.size:
                    ffi.release(queue.popleft()[1])
                if status == lib.RHA_OK:
                    # The record's views are valid only until the next call: copy now.
                    return read_record(self._rec)
                if inbuf == ffi.NULL:
                    return None
                assert not queue or queue[0][0] is not inbuf, "blocked without consuming input"

    def __iter__(self) -> Iterator[Record]:
        """Yields the records decodable from the input fed so far."""
        while True:
            record = self.next_record()
            if record is None:
                return
            yield record

    @property
    def offset(self) -> int:
        """Stream offset up to which the library has consumed input."""
        with self._use() as r:
            return int(lib.rha_journal_reader_offset(r))

    def finish(self) -> End:
        """Reports how the input ended; call it when no more input will come.

        Raises:
            InvalidStateError: if fed input or decoded records remain unread.
            JournalError: the error that stopped decoding, if any.
        """
        with self._use() as r:
            if self._queue and not self._failed:  # a failed reader reports its error below
                unread = sum(inbuf.size - inbuf.pos for inbuf, _ in self._queue)
                raise_code(
                    lib.RHA_INVALID_STATE,
                    f"finish called before every fed byte was read ({unread} bytes unread)",
                )
            end: Any = ffi.new("rha_journal_end *")
            end.struct_size = ffi.sizeof("rha_journal_end")
            call(lib.rha_journal_reader_finish, r, end)
            return End(bool(end.torn), int(end.offset), int(end.tail_len))

    def _release(self, handle: Any) -> None:
        """Releases the reader and any input it still holds."""
        super()._release(handle)
        while self._queue:
            ffi.release(self._queue.popleft()[1])


Source = Union[str, "os.PathLike[str]", BinaryIO, bytes, bytearray, memoryview]


class RecordStream(Closeable):
    """The records of one journal, as :func:`read_journal` returns them.

    Iterate once to get the records; when iteration ends without an error,
    :attr:`end` tells how the journal ended. Corruption and sequence errors
    raise from the iteration. Close it (or use ``with``) to release the file
    early when not iterating to the end.

    It may be shared between threads: each record goes to one of them, in
    order, and :meth:`close` waits for a record being read.
    """

    def __init__(self, source: Source, chunk_size: int, **options: Any) -> None:
        if chunk_size <= 0:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"chunk_size must be positive, not {chunk_size}")
        self.end: Optional[End] = None
        """How the journal ended; ``None`` until iteration is complete."""
        self._reader = JournalReader(**options)
        self._file: Optional[BinaryIO] = None
        self._owns_file = False
        if isinstance(source, (str, os.PathLike)):
            self._file = open(source, "rb")
            self._owns_file = True
        elif hasattr(source, "read"):
            if isinstance(source, io.TextIOBase):
                raise TypeError("read_journal needs a binary file, not a text file")
            self._file = source  # type: ignore[assignment]
        else:
            self._reader.feed(source)
        self._records = LockedIterator(self._generate(chunk_size))

    @property
    def offset(self) -> int:
        """Bytes of the journal consumed so far."""
        return self._reader.offset

    def __iter__(self) -> "RecordStream":
        return self

    def __next__(self) -> Record:
        return next(self._records)

    def close(self) -> None:
        """Stops reading and releases the reader and any file opened for it."""
        self._records.close()
        self._reader.close()
        if self._owns_file and self._file is not None:
            self._file.close()

    def _generate(self, chunk_size: int) -> Generator[Record, None, None]:
        reader, file = self._reader, self._file
        try:
            if file is None:
                yield from reader
            else:
                yield from _read_file(reader, file, chunk_size)
            self.end = reader.finish()
        finally:
            reader.close()
            if self._owns_file and file is not None:
                file.close()


def _read_file(reader: JournalReader, file: BinaryIO, chunk_size: int) -> Iterator[Record]:
    readinto = getattr(file, "readinto", None)
    buffer = memoryview(bytearray(chunk_size))
    while True:
        if readinto is not None:
            n = readinto(buffer)
            chunk: Any = buffer[: n or 0]
        else:
            chunk = file.read(chunk_size)
            n = None if chunk is None else len(chunk)
        if n is None:
            raise BlockingIOError("read_journal needs a blocking file")
        if n == 0:
            return
        reader.feed(chunk)
        # Iterating to the end consumes the whole chunk, so the buffer is free to reuse.
        yield from reader


def read_journal(
    source: Source,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    max_record_size: Optional[int] = None,
    first_seq: Optional[int] = None,
    stream_header: bool = True,
) -> RecordStream:
    """Reads a journal, yielding its records.

    Args:
        source: The journal: a path (``str`` or ``os.PathLike``), a binary
            file object (read in ``chunk_size`` pieces, left open), or the
            journal's bytes (any bytes-like object, read in place).
        chunk_size: How much to read from a file at a time.
        max_record_size, first_seq, stream_header: As for :class:`JournalReader`.

    Returns:
        A :class:`RecordStream`: iterate it for the records; afterwards its
        ``end`` says whether the journal ended cleanly or with a torn tail::

            stream = rha.read_journal("changes.rhaj")
            for record in stream:
                print(record.seq, record.op)
            if stream.end.torn:
                print("torn tail at", stream.end.offset)

    Raises:
        CorruptJournalError, SequenceError, ...: while iterating, at the
            first record that does not decode.
        OSError: if the file cannot be opened or read.
    """
    return RecordStream(
        source,
        chunk_size,
        max_record_size=max_record_size,
        first_seq=first_seq,
        stream_header=stream_header,
    )
