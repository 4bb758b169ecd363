"""One-call signature, delta and patch of whole files, over file descriptors.

Like librsync's ``rs_sig_file``, ``rs_delta_file`` and ``rs_patch_file``::

    rha.signature_file("old.img", "old.sig")
    rha.delta_file("old.sig", "new.img", "new.delta")
    rha.patch_file("old.img", "new.delta", "rebuilt.img")

Each argument is a path (``str``, ``bytes`` or ``os.PathLike``), opened and
closed here, or a binary file object with ``fileno()``, used from its
current position and left open at the position the call reached (a
buffered object is flushed first; bytes a buffered reader of a pipe has
already read ahead are not seen: give a pipe unbuffered, as
``os.fdopen(fd, "rb", buffering=0)``, or not read from yet). Streams may be pipes (``subprocess``
pipes, ``os.pipe()`` ends, sockets' files), except the basis of a patch,
which is read at random. The work runs in the C library with the GIL
released, in bounded memory whatever the file size.
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, Any, Iterator, Optional, Union

from ._errors import call, raise_code
from ._native import ffi, lib

__all__ = ["FileArg", "signature_file", "delta_file", "patch_file"]

FileArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]", IO[bytes]]
"""A path, or a binary file object with ``fileno()``."""


@contextlib.contextmanager
def _fd(arg: FileArg, write: bool, what: str) -> Iterator[int]:
    """The file descriptor of ``arg``: a path opened for the call, or a
    file object's own descriptor, synchronised with its Python buffer."""
    if isinstance(arg, (str, bytes, os.PathLike)):
        with open(arg, "wb" if write else "rb") as f:
            yield f.fileno()
        return
    fileno = getattr(arg, "fileno", None)
    if fileno is None:
        raise TypeError(f"{what}: expected a path or a binary file with fileno(), not {type(arg).__name__}")
    fd = int(fileno())
    if write:
        arg.flush()
    seekable = False
    with contextlib.suppress(OSError, ValueError, AttributeError):
        seekable = bool(arg.seekable())
    if seekable:
        # A buffered reader reads ahead: start the descriptor where the
        # object's position is.
        os.lseek(fd, arg.tell(), os.SEEK_SET)
    try:
        yield fd
    finally:
        if seekable:
            # Leave the object where the call left the descriptor (its
            # buffer is dropped by a seek outside it).
            with contextlib.suppress(OSError, ValueError):
                arg.seek(os.lseek(fd, 0, os.SEEK_CUR))


def _options(
    *,
    block_len: Optional[int] = None,
    strong_len: Optional[int] = None,
    strong_hash: str = "blake3",
    format: str = "rha",
    threads: int = 0,
    max_output: Optional[int] = None,
) -> Any:
    hashes = {"blake3": lib.RHA_STRONG_HASH_BLAKE3, "xxh3": lib.RHA_STRONG_HASH_XXH3}
    formats = {"rha": lib.RHA_DELTA_FORMAT_RHA, "rdiff": lib.RHA_DELTA_FORMAT_RDIFF}
    if strong_hash not in hashes:
        raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown strong hash {strong_hash!r}")
    if format not in formats:
        raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown delta format {format!r}")
    for name, value in (("block_len", block_len), ("strong_len", strong_len)):
        if value is not None and not 0 < value < 1 << 32:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"{name} {value} is out of range")
    if not 0 <= threads < 1 << 32:
        raise_code(lib.RHA_INVALID_ARGUMENT, f"threads {threads} is out of range")
    o = ffi.new("rha_file_options *")
    lib.rha_file_options_init(o)
    o.block_len = block_len or 0
    o.strong_len = strong_len or 0
    o.strong_hash = hashes[strong_hash]
    o.format = formats[format]
    o.threads = threads
    if max_output is not None:
        if not 0 <= max_output < 1 << 64:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"max_output {max_output} is out of range")
        o.max_output = max_output
    return o


def signature_file(
    basis: FileArg,
    sig_out: FileArg,
    *,
    block_len: Optional[int] = None,
    strong_len: Optional[int] = None,
    strong_hash: str = "blake3",
    threads: int = 0,
) -> None:
    """Writes the block signature of ``basis`` (to its end) to ``sig_out``.

    ``basis`` may be a pipe: input whose length is not known in advance
    works. Input that ends within its first 4 MiB gets the parameters of its
    length (so the same signature as the file); longer input of unknown
    length gets 32 KiB blocks and a strong hash long enough for 1 TiB
    unless ``block_len``/``strong_len`` say otherwise.

    Args:
        basis: The file to describe.
        sig_out: Where the signature goes.
        block_len: Block length; None: about the square root of the length.
        strong_len: Bytes of strong hash per block; None: enough for a false
            match below 2^-64.
        strong_hash: ``"blake3"`` (default) or ``"xxh3"``.
        threads: Hashing threads; 0: one per core.

    Raises:
        RhaIOError (with ``errno``), InvalidArgumentError, InputLengthError.
    """
    o = _options(block_len=block_len, strong_len=strong_len, strong_hash=strong_hash, threads=threads)
    with _fd(basis, False, "basis") as b, _fd(sig_out, True, "sig_out") as s:
        call(lib.rha_signature_file, b, s, o)


def delta_file(sig: FileArg, new: FileArg, delta_out: FileArg, *, format: str = "rha", threads: int = 0) -> None:
    """Writes to ``delta_out`` the delta that turns the file ``sig``
    describes (an rha or ``rdiff`` signature) into ``new`` (which may be a
    pipe).

    Args:
        format: ``"rha"`` (default) or ``"rdiff"`` (for ``rdiff patch``).
        threads: 0: one per core.

    Raises:
        RhaIOError, InvalidArgumentError, CorruptSignatureError,
        UnsupportedSignatureError, SignatureTooLargeError.
    """
    o = _options(format=format, threads=threads)
    with _fd(sig, False, "sig") as s, _fd(new, False, "new") as n, _fd(delta_out, True, "delta_out") as d:
        call(lib.rha_delta_file, s, n, d, o)


def patch_file(basis: FileArg, delta: FileArg, out: FileArg, *, max_output: Optional[int] = None) -> None:
    """Applies ``delta`` to ``basis``, writing the new file to ``out``.

    ``basis`` is read at random from its start (a regular file or block
    device, not a pipe); ``delta`` and ``out`` may be pipes. After an error,
    discard what was written to ``out``.

    Raises:
        RhaIOError, InvalidArgumentError, CorruptDeltaError,
        DeltaOutOfRangeError, HashMismatchError, WrongBasisError,
        PatchTooLargeError.
    """
    o = _options(max_output=max_output)
    with _fd(basis, False, "basis") as b, _fd(delta, False, "delta") as d, _fd(out, True, "out") as w:
        call(lib.rha_patch_file, b, d, w, o)
