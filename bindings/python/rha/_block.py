"""Block signatures, deltas and patches: rdiff-style sync of one file.

One-call functions::

    sig = rha.signature(b"old contents" * 1000)      # or a path or a binary file
    d = rha.delta(sig, b"new contents" * 1000)
    assert rha.patch(b"old contents" * 1000, d) == b"new contents" * 1000

and the streaming jobs behind them (:class:`SignatureJob`, :class:`DeltaJob`,
:class:`PatchJob`), which take input in chunks of any size and hand back
output as it is ready, so files of any size go through bounded memory.
``delta(..., format="rdiff")`` writes librsync's format for ``rdiff patch``,
and :func:`delta` also accepts signatures made by ``rdiff signature``.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any, Callable, Iterator, Optional, Union

from ._closeable import Closeable
from ._errors import call, raise_code
from ._native import ffi, lib

__all__ = [
    "SignatureJob",
    "DeltaJob",
    "PatchJob",
    "signature",
    "delta",
    "patch",
]

_CHUNK = 1 << 20
_ROOM = 256 << 10

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]
"""Data given as bytes-like, a path, or a binary file object."""


class _Job(Closeable):
    """Shared driving of a streaming job through ``run(job, in, out, end)``.

    Calls on one job are serialised (see :class:`Closeable`): a job shared
    by several threads takes their chunks one call at a time.
    """

    _run: Callable[..., int]
    _free: Callable[[Any], None]
    _what = "job"

    def __init__(self, handle: Any) -> None:
        self._done = False
        self._room = ffi.new("uint8_t[]", _ROOM)
        self._own(handle, type(self)._free)

    def _step(self, data: bytes, end: bool) -> bytes:
        out = bytearray()
        view = memoryview(data)
        pos = 0
        with self._use() as handle:
            while True:
                chunk = view[pos : pos + _CHUNK]
                src = ffi.from_buffer(chunk)
                inbuf = ffi.new("rha_in_buffer *", {"src": src, "size": len(chunk), "pos": 0})
                outbuf = ffi.new("rha_out_buffer *", {"dst": self._room, "size": _ROOM, "pos": 0})
                last = end and pos + len(chunk) == len(data)
                rc = call(type(self)._run, handle, inbuf, outbuf, last)
                pos += inbuf.pos
                out += ffi.buffer(self._room, outbuf.pos)
                if rc == lib.RHA_DONE:
                    self._done = True
                    return bytes(out)
                if pos == len(data) and outbuf.pos < _ROOM and not end:
                    return bytes(out)

    def update(self, data: Union[bytes, bytearray, memoryview]) -> bytes:
        """Feeds the next input bytes; returns the output ready so far."""
        return self._step(bytes(data), False)

    def finish(self, data: Union[bytes, bytearray, memoryview] = b"") -> bytes:
        """Feeds the last input bytes; returns the rest of the output."""
        out = self._step(bytes(data), True)
        self.close()
        return out

    @property
    def done(self) -> bool:
        """Whether all output has been produced."""
        return self._done


class SignatureJob(_Job):
    """Computes the block signature of a file of ``file_len`` bytes.

    Args:
        file_len: The file's exact length (the job fails if fed more or less).
        block_len: Block length; None picks about the square root of the length.
        strong_len: Bytes of strong hash per block; None picks what keeps a
            false match below 2^-64 for the file.
        strong_hash: ``"blake3"`` (the default: also a whole-file hash, which
            fixed-offset sync needs) or ``"xxh3"`` (about twice as fast, for
            rolling deltas, whose own BLAKE3 hash checks the result).
        threads: Threads that hash blocks while the job is fed several MiB
            at a time; the output does not depend on it.
    """

    _run = lib.rha_signature_job_run
    _free = lib.rha_signature_job_free

    def __init__(self, file_len: int, block_len: Optional[int] = None,
                 strong_len: Optional[int] = None, strong_hash: str = "blake3",
                 threads: int = 1) -> None:
        hashes = {"blake3": lib.RHA_STRONG_HASH_BLAKE3, "xxh3": lib.RHA_STRONG_HASH_XXH3}
        if strong_hash not in hashes:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown strong hash {strong_hash!r}")
        out = ffi.new("rha_signature_job **")
        call(lib.rha_signature_job_new, file_len, block_len or 0, strong_len or 0, out)
        super().__init__(out[0])
        with self._use() as job:
            call(lib.rha_signature_job_set_strong_hash, job, hashes[strong_hash])
            lib.rha_signature_job_set_threads(job, max(threads, 1))


class DeltaJob(_Job):
    """Computes the delta of a new file against the basis ``sig`` describes.

    Args:
        sig: A signature from :func:`signature` or ``rdiff signature``.
        format: ``"rha"`` (checksummed, with a whole-file hash) or
            ``"rdiff"`` (librsync's format, for ``rdiff patch``).
        threads: With 2 or more, the new file's whole-file hash runs on a
            second thread while the job is fed large chunks; the output does
            not depend on it.
    """

    _run = lib.rha_delta_job_run
    _free = lib.rha_delta_job_free

    def __init__(self, sig: Union[bytes, bytearray, memoryview], format: str = "rha",
                 threads: int = 1) -> None:
        formats = {"rha": lib.RHA_DELTA_FORMAT_RHA, "rdiff": lib.RHA_DELTA_FORMAT_RDIFF}
        if format not in formats:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown delta format {format!r}")
        data = bytes(sig)
        loaded = ffi.new("rha_signature **")
        call(lib.rha_signature_new, ffi.from_buffer(data), len(data), loaded)
        try:
            out = ffi.new("rha_delta_job **")
            call(lib.rha_delta_job_new, loaded[0], formats[format], out)
        finally:
            lib.rha_signature_free(loaded[0])
        super().__init__(out[0])
        with self._use() as job:
            lib.rha_delta_job_set_threads(job, max(threads, 1))

    @property
    def stats(self) -> "tuple[int, int]":
        """``(literal_bytes, matched_bytes)`` found so far."""
        lit = ffi.new("uint64_t *")
        matched = ffi.new("uint64_t *")
        with self._use() as job:
            lib.rha_delta_job_stats(job, lit, matched)
        return int(lit[0]), int(matched[0])


class PatchJob(_Job):
    """Applies a delta (rha or rdiff format) to ``basis``, producing the new file.

    Args:
        basis: The basis as bytes-like or a path (read at random with
            ``os.pread``, never loaded whole).
        max_output: Refuse deltas producing more bytes than this.

    Raises :class:`rha.HashMismatchError` at the end if the result does not
    match an rha delta's whole-file hash.
    """

    _run = lib.rha_patch_job_run
    _free = lib.rha_patch_job_free

    def __init__(self, basis: Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"],
                 max_output: Optional[int] = None) -> None:
        self._fd: Optional[int] = None
        if isinstance(basis, (str, os.PathLike)):
            self._fd = os.open(basis, os.O_RDONLY)
            fd = self._fd
            basis_len = os.fstat(fd).st_size

            def read(offset: int, n: int) -> bytes:
                return os.pread(fd, n, offset)
        else:
            data = memoryview(bytes(basis))
            basis_len = len(data)

            def read(offset: int, n: int) -> bytes:
                return bytes(data[offset : offset + n])

        def read_at(_userdata: Any, offset: int, buf: Any, n: int, read_out: Any) -> int:
            try:
                chunk = read(offset, n)
            except OSError as e:
                return e.errno or 5
            ffi.memmove(buf, chunk, len(chunk))
            read_out[0] = len(chunk)
            return 0

        # Kept alive as long as the job: the library calls it during run.
        self._callback = ffi.callback("rha_read_at_fn", read_at)
        out = ffi.new("rha_patch_job **")
        limit = (1 << 64) - 1 if max_output is None else max_output
        try:
            call(lib.rha_patch_job_new, self._callback, ffi.NULL, basis_len, limit, out)
        except BaseException:
            self._close_fd()
            raise
        super().__init__(out[0])

    def _close_fd(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]
            self._fd = None

    def _release(self, handle: Any) -> None:
        super()._release(handle)
        self._close_fd()


def _chunks(source: Source) -> "tuple[int, Iterator[bytes]]":
    """The length of ``source`` and its bytes in chunks."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return len(data), iter([data])
    if isinstance(source, (str, os.PathLike)):
        f = open(source, "rb")  # noqa: SIM115 (closed by the generator)
        size = os.fstat(f.fileno()).st_size

        def from_path() -> Iterator[bytes]:
            with f:
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        return
                    yield chunk

        return size, from_path()
    if isinstance(source, io.IOBase) or hasattr(source, "read"):
        start = source.tell()
        size = source.seek(0, io.SEEK_END) - start
        source.seek(start)

        def from_file() -> Iterator[bytes]:
            while True:
                chunk = source.read(_CHUNK)
                if not chunk:
                    return
                yield chunk

        return size, from_file()
    raise TypeError(f"expected bytes, a path or a binary file, not {type(source).__name__}")


def _run(job: _Job, chunks: Iterator[bytes]) -> bytes:
    out = bytearray()
    with job:
        for chunk in chunks:
            out += job.update(chunk)
        out += job.finish()
    return bytes(out)


def signature(source: Source, block_len: Optional[int] = None, strong_hash: str = "blake3",
              threads: int = 1) -> bytes:
    """The block signature of ``source`` (bytes, a path or a binary file);
    ``strong_hash`` and ``threads`` as for :class:`SignatureJob`."""
    size, chunks = _chunks(source)
    return _run(SignatureJob(size, block_len, strong_hash=strong_hash, threads=threads), chunks)


def delta(sig: Union[bytes, bytearray, memoryview], new: Source, format: str = "rha",
          threads: int = 1) -> bytes:
    """The delta turning the file ``sig`` describes into ``new``."""
    _, chunks = _chunks(new)
    return _run(DeltaJob(sig, format, threads=threads), chunks)


def patch(basis: Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"],
          delta: Source, max_output: Optional[int] = None) -> bytes:
    """The new file: ``delta`` applied to ``basis`` (bytes or a path)."""
    _, chunks = _chunks(delta)
    return _run(PatchJob(basis, max_output), chunks)
