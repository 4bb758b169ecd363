"""Fixed-offset sync for volumes and files rewritten in place, and deltas
as journal operations.

The replica compares its signature with the master's block by block and
asks for exactly the blocks it lacks; the master answers with a delta of
those blocks; the replica writes them in place::

    replica_sig = rha.Signature.load(rha.signature(replica_path, block_len=65536))
    master_sig = rha.Signature.load(open("master.sig", "rb"))   # streamed
    with rha.compare_fixed(replica_sig, master_sig) as plan:
        print(plan.needed_bytes, plan.ranges)
        d = rha.fixed_delta(master_path, plan)                 # on the master
    rha.patch_in_place(replica_path, d)                         # on the replica

Any delta can also become journal operations (:class:`rha.Write` and a
final :class:`rha.SetLen`), so that applying a sync is applying a journal:
``rha.delta_to_ops(basis, d, "disk.img")``.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator, List, Optional, Union

from . import _ops as o
from ._block import Source
from ._closeable import Closeable, LockedIterator
from ._convert import _FROM_C
from ._errors import InvalidStateError, NotInPlaceError, call, raise_code  # noqa: F401 (re-exported)
from ._native import ffi, lib

__all__ = [
    "Signature",
    "FixedPlan",
    "FixedRange",
    "FixedDeltaJob",
    "compare_fixed",
    "fixed_delta",
    "patch_in_place",
    "delta_to_ops",
    "iter_delta_ops",
    "NotInPlaceError",
]

_CHUNK = 1 << 20
_ROOM = 256 << 10
_NO_LIMIT = (1 << 64) - 1

BytesLike = Union[bytes, bytearray, memoryview]
RandomSource = Union[BytesLike, str, "os.PathLike[str]", IO[bytes]]
"""Data read at random: bytes-like, a path, or a seekable binary file."""


def _reader(source: RandomSource) -> "tuple[Callable[[int, int], bytes], Callable[[], None]]":
    """A ``read(offset, n)`` function over ``source`` and a function closing
    what it opened."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(bytes(source))
        return (lambda offset, n: bytes(data[offset : offset + n])), (lambda: None)
    if isinstance(source, (str, os.PathLike)):
        fd = os.open(source, os.O_RDONLY)
        return (lambda offset, n: os.pread(fd, n, offset)), (lambda: os.close(fd))
    if hasattr(source, "seek") and hasattr(source, "read"):
        f = source

        def read(offset: int, n: int) -> bytes:
            f.seek(offset)
            return f.read(n)

        return read, (lambda: None)
    raise TypeError(f"expected bytes, a path or a binary file, not {type(source).__name__}")


def _stream(source: Source) -> Iterator[bytes]:
    """The bytes of ``source`` in chunks: bytes-like, a path, or any object
    with ``read`` (a pipe or socket file too: it is never seeked)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            yield from _stream(f)
    elif hasattr(source, "read"):
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                return
            yield bytes(chunk)
    else:
        raise TypeError(f"expected bytes, a path or a binary file, not {type(source).__name__}")


def _read_at_callback(read: Callable[[int, int], bytes]) -> Any:
    """An ``rha_read_at_fn`` over ``read``; keep it alive while it may be called."""

    def read_at(_userdata: Any, offset: int, buf: Any, n: int, read_out: Any) -> int:
        try:
            chunk = read(offset, n)
        except OSError as e:
            return e.errno or 5
        ffi.memmove(buf, chunk, len(chunk))
        read_out[0] = len(chunk)
        return 0

    return ffi.callback("rha_read_at_fn", read_at)


class Signature(Closeable):
    """A block signature loaded in memory (rha format, or rdiff's BLAKE2
    formats), from bytes or streamed from a file in chunks.

    Use :meth:`load`; ``Signature(data)`` is the same as ``load(data)``.
    """

    _what = "signature"
    _concurrent = True  # immutable once loaded

    def __init__(self, source: Source, max_blocks: Optional[int] = None) -> None:
        out = ffi.new("rha_signature_loader **")
        call(lib.rha_signature_loader_new, max_blocks or 0, out)
        loader = out[0]
        try:
            for chunk in _stream(source):
                buf = ffi.new("rha_in_buffer *", {"src": ffi.from_buffer(chunk),
                                                  "size": len(chunk), "pos": 0})
                call(lib.rha_signature_loader_feed, loader, buf)
        except BaseException:
            lib.rha_signature_loader_free(loader)
            raise
        sig = ffi.new("rha_signature **")
        # `finish` consumes the loader, whether or not it succeeds.
        call(lib.rha_signature_loader_finish, loader, sig)
        self._own(sig[0], lib.rha_signature_free)

    @classmethod
    def load(cls, source: Source, max_blocks: Optional[int] = None) -> "Signature":
        """Loads a signature from bytes, a path or a binary file object, read
        in 1 MiB chunks. ``max_blocks`` bounds the blocks accepted (default
        2^26)."""
        return cls(source, max_blocks)

    @property
    def block_count(self) -> int:
        """Number of blocks."""
        with self._use() as sig:
            return int(lib.rha_signature_block_count(sig))

    @property
    def block_len(self) -> int:
        """Block length in bytes."""
        with self._use() as sig:
            return int(lib.rha_signature_block_len(sig))


def _signature(sig: Union[Signature, Source]) -> "tuple[Signature, bool]":
    """``sig`` as a loaded :class:`Signature`, and whether it was loaded here."""
    if isinstance(sig, Signature):
        return sig, False
    return Signature.load(sig), True


@dataclass(frozen=True)
class FixedRange:
    """Bytes ``offset .. offset + length`` of the master: blocks
    ``first_block .. first_block + block_count``."""

    offset: int
    length: int
    first_block: int
    block_count: int


class FixedPlan(Closeable):
    """The blocks a replica needs from the master (see :func:`compare_fixed`)."""

    _what = "plan"
    _concurrent = True  # immutable

    def __init__(self, handle: Any) -> None:
        self._own(handle, lib.rha_fixed_plan_free)

    @property
    def needed_bytes(self) -> int:
        """Bytes to send."""
        with self._use() as plan:
            return int(lib.rha_fixed_plan_needed_bytes(plan))

    @property
    def same_bytes(self) -> int:
        """Bytes the replica already holds at the right place."""
        with self._use() as plan:
            return int(lib.rha_fixed_plan_same_bytes(plan))

    @property
    def target_len(self) -> int:
        """The master's length: the replica's length after patching."""
        with self._use() as plan:
            return int(lib.rha_fixed_plan_target_len(plan))

    @property
    def block_len(self) -> int:
        """Block length of both signatures."""
        with self._use() as plan:
            return int(lib.rha_fixed_plan_block_len(plan))

    @property
    def block_count(self) -> int:
        """Number of blocks to send."""
        with self._use() as plan:
            return int(lib.rha_fixed_plan_block_count(plan))

    @property
    def ranges(self) -> List[FixedRange]:
        """The needed ranges, ascending, adjacent blocks merged."""
        out = ffi.new("rha_fixed_range *")
        ranges = []
        with self._use() as handle:
            for i in range(int(lib.rha_fixed_plan_range_count(handle))):
                call(lib.rha_fixed_plan_range, handle, i, out)
                ranges.append(FixedRange(int(out.offset), int(out.length),
                                         int(out.first_block), int(out.block_count)))
        return ranges

    def __repr__(self) -> str:
        if self.closed:
            return "FixedPlan(<closed>)"
        return (f"FixedPlan(target_len={self.target_len}, block_len={self.block_len}, "
                f"needed_bytes={self.needed_bytes}, ranges={len(self.ranges)})")



def compare_fixed(replica_sig: Union[Signature, Source],
                  master_sig: Union[Signature, Source]) -> FixedPlan:
    """Compares a replica's and the master's rha signatures block by block
    (same block length) and returns the blocks the replica needs.

    Each signature is a :class:`Signature` or its bytes, path or file.
    Raises :class:`rha.InvalidArgumentError` for rdiff signatures or
    different block lengths.
    """
    replica, own_replica = _signature(replica_sig)
    try:
        master, own_master = _signature(master_sig)
        try:
            out = ffi.new("rha_fixed_plan **")
            with replica._use() as r, master._use() as m:
                call(lib.rha_fixed_plan_new, r, m, out)
            return FixedPlan(out[0])
        finally:
            if own_master:
                master.close()
    finally:
        if own_replica:
            replica.close()


class FixedDeltaJob(Closeable):
    """The master's answer to a plan, produced in chunks: iterate over it
    for the delta's bytes. Reads only the needed ranges of ``master`` (bytes,
    a path, or a seekable binary file); memory stays bounded whatever the
    file size. The plan is copied: it may be closed afterwards."""

    _what = "job"

    def __init__(self, master: RandomSource, plan: FixedPlan) -> None:
        read, self._close_source = _reader(master)
        self._callback = _read_at_callback(read)
        out = ffi.new("rha_fixed_delta_job **")
        try:
            with plan._use() as p:
                call(lib.rha_fixed_delta_job_new, p, self._callback, ffi.NULL, out)
        except BaseException:
            self._close_source()
            raise
        self._room = ffi.new("uint8_t[]", _ROOM)
        self._own(out[0], lib.rha_fixed_delta_job_free)

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            buf = ffi.new("rha_out_buffer *", {"dst": self._room, "size": _ROOM, "pos": 0})
            try:
                with self._use() as job:
                    rc = call(lib.rha_fixed_delta_job_run, job, buf)
                    chunk = bytes(ffi.buffer(self._room, buf.pos))
            except InvalidStateError:
                if self.closed:  # another thread finished the job meanwhile
                    return
                raise
            if chunk:
                yield chunk
            if rc == lib.RHA_DONE:
                self.close()

    def _release(self, handle: Any) -> None:
        super()._release(handle)
        self._close_source()


def fixed_delta(master: RandomSource, plan: FixedPlan) -> bytes:
    """The delta holding exactly the ranges of ``plan``, read from ``master``
    (bytes, a path or a seekable binary file). Applies in place
    (:func:`patch_in_place`) or as an ordinary :func:`rha.patch`."""
    with FixedDeltaJob(master, plan) as job:
        return b"".join(job)


class _Target:
    """Read, write and resize callbacks over a bytearray, a path or a file."""

    def __init__(self, target: Union[bytearray, str, "os.PathLike[str]", IO[bytes]]) -> None:
        self.close: Callable[[], None] = lambda: None
        if isinstance(target, bytearray):
            buf = target

            def read(offset: int, n: int) -> bytes:
                return bytes(buf[offset : offset + n])

            def write(offset: int, data: bytes) -> None:
                if offset > len(buf):
                    buf.extend(bytes(offset - len(buf)))
                buf[offset : offset + len(data)] = data

            def set_len(n: int) -> None:
                if n < len(buf):
                    del buf[n:]
                else:
                    buf.extend(bytes(n - len(buf)))
        elif isinstance(target, (str, os.PathLike)):
            fd = os.open(target, os.O_RDWR)
            self.close = lambda: os.close(fd)

            def read(offset: int, n: int) -> bytes:
                return os.pread(fd, n, offset)

            def write(offset: int, data: bytes) -> None:
                view = memoryview(data)
                while view:
                    view = view[os.pwrite(fd, view, offset + len(data) - len(view)) :]

            def set_len(n: int) -> None:
                os.ftruncate(fd, n)
        elif hasattr(target, "seek") and hasattr(target, "write"):
            f = target

            def read(offset: int, n: int) -> bytes:
                f.seek(offset)
                return f.read(n)

            def write(offset: int, data: bytes) -> None:
                f.seek(offset)
                f.write(data)

            def set_len(n: int) -> None:
                f.truncate(n)
                f.flush()
        else:
            raise TypeError(
                f"expected a bytearray, a path or a writable binary file, "
                f"not {type(target).__name__}"
            )

        def write_at(_userdata: Any, offset: int, data: Any, n: int) -> int:
            try:
                write(offset, bytes(ffi.buffer(data, n)))
            except OSError as e:
                return e.errno or 5
            return 0

        def set_len_at(_userdata: Any, n: int) -> int:
            try:
                set_len(n)
            except OSError as e:
                return e.errno or 5
            return 0

        def flushing_read(offset: int, n: int) -> bytes:
            if hasattr(target, "flush"):
                target.flush()
            return read(offset, n)

        self.read_at = _read_at_callback(flushing_read)
        self.write_at = ffi.callback("rha_write_at_fn", write_at)
        self.set_len = ffi.callback("rha_set_len_fn", set_len_at)


def patch_in_place(target: Union[bytearray, str, "os.PathLike[str]", IO[bytes]],
                   delta: Source, max_output: Optional[int] = None) -> int:
    """Applies a fixed-offset delta to ``target`` in place: a bytearray, a
    path (opened read-write) or a seekable, writable binary file. The
    target is first checked against the replica the delta was made for
    (its length and whole-file hash, which the delta names); blocks that
    stay are not touched; the result's whole-file hash is checked by
    reading it back. Returns the bytes written.

    Raises :class:`rha.WrongBasisError` if the target is not the file the
    replica's signature described (nothing is written),
    :class:`NotInPlaceError` for a delta that moves data (a rolling delta:
    use :func:`rha.patch`), :class:`rha.HashMismatchError` if the target
    changed while it was patched (copy the whole file),
    :class:`rha.PatchTooLargeError` past ``max_output``. After an error
    other than the first the target may be partly written.
    """
    t = _Target(target)
    out = ffi.new("rha_in_place_patch_job **")
    try:
        limit = _NO_LIMIT if max_output is None else max_output
        call(lib.rha_in_place_patch_job_new, t.read_at, t.write_at, t.set_len, ffi.NULL,
             limit, out)
        job = out[0]
        try:
            done = False
            for chunk in _stream(delta):
                buf = ffi.new("rha_in_buffer *", {"src": ffi.from_buffer(chunk),
                                                  "size": len(chunk), "pos": 0})
                done = call(lib.rha_in_place_patch_job_run, job, buf, False) == lib.RHA_DONE
            if not done:
                call(lib.rha_in_place_patch_job_run, job, ffi.NULL, True)
            return int(lib.rha_in_place_patch_job_written(job))
        finally:
            lib.rha_in_place_patch_job_free(job)
    finally:
        t.close()


def iter_delta_ops(basis: RandomSource, delta: Source, path: o.PathLike) -> Iterator[o.Op]:
    """Yields the journal operations that turn ``basis`` (the file at
    ``path``) into the new file: :class:`rha.Write` for every literal, zero
    run and moved copy (at most 1 MiB each), nothing for blocks that stay,
    and a final :class:`rha.SetLen`. Memory stays bounded whatever the file
    size.

    Moved copies read ``basis`` as they are produced: apply the operations
    to the basis only after the iteration ends, unless the delta is a
    fixed-offset one (:func:`fixed_delta`).

    The iterator may be shared between threads (each operation goes to one
    of them); ``close()`` stops it early and releases the job.
    """
    return LockedIterator(_delta_ops(basis, delta, path))


def _delta_ops(basis: RandomSource, delta: Source, path: o.PathLike) -> Iterator[o.Op]:
    path_bytes = os.fsencode(path) if isinstance(path, (str, os.PathLike)) else bytes(path)
    read, close_source = _reader(basis)
    callback = _read_at_callback(read)
    try:
        out = ffi.new("rha_delta_ops_job **")
        call(lib.rha_delta_ops_job_new, ffi.from_buffer(path_bytes), len(path_bytes), callback,
             ffi.NULL, out)
        job = out[0]
        try:
            rec = ffi.new("rha_record *")
            rec.struct_size = ffi.sizeof("rha_record")
            chunks = _stream(delta)
            # A last empty chunk announces the end; chunks after the end of
            # the delta make the job report trailing bytes.
            for chunk in itertools.chain(chunks, [b""]):
                end = not chunk
                buf = ffi.new("rha_in_buffer *", {"src": ffi.from_buffer(chunk),
                                                  "size": len(chunk), "pos": 0})
                while True:
                    rc = call(lib.rha_delta_ops_job_next, job, buf, end, rec)
                    if rc == lib.RHA_OK:
                        yield _FROM_C[rec.op](rec)
                    else:
                        break
                if rc == lib.RHA_DONE and end:
                    return
        finally:
            lib.rha_delta_ops_job_free(job)
    finally:
        close_source()


def delta_to_ops(basis: RandomSource, delta: Source, path: o.PathLike) -> List[o.Op]:
    """The list of :func:`iter_delta_ops`: journal operations that turn
    ``basis`` (bytes, a path or a seekable binary file; the file at ``path``
    in the journal) into the file ``delta`` describes. Write them with
    :func:`rha.write_journal` or apply them to a replica."""
    return list(iter_delta_ops(basis, delta, path))

