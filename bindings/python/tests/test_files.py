"""One-call signature, delta and patch over files and pipes."""

from __future__ import annotations

import errno
import os
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Tuple

import pytest

import rha


def _data(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def files(tmp_path: Path) -> Tuple[Path, Path, bytes]:
    basis = _data(300_000, 1)
    new = bytearray(basis)
    new[1000:1100] = _data(100, 2)
    new += _data(5000, 3)
    (tmp_path / "basis").write_bytes(basis)
    (tmp_path / "new").write_bytes(bytes(new))
    return tmp_path / "basis", tmp_path / "new", bytes(new)


def test_round_trip_over_paths(files: Tuple[Path, Path, bytes], tmp_path: Path) -> None:
    basis, new, want = files
    rha.signature_file(basis, tmp_path / "sig")
    rha.delta_file(str(tmp_path / "sig"), os.fsencode(new), tmp_path / "delta")
    rha.patch_file(basis, tmp_path / "delta", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == want
    assert (tmp_path / "delta").stat().st_size < 20_000
    # The one-call helpers agree with the in-memory functions.
    assert (tmp_path / "sig").read_bytes() == rha.signature(basis.read_bytes())


def test_options_and_file_objects(files: Tuple[Path, Path, bytes], tmp_path: Path) -> None:
    basis, new, want = files
    with open(basis, "rb") as b, open(tmp_path / "sig", "wb") as s:
        s.write(b"")  # buffered, flushed before the call
        rha.signature_file(b, s, block_len=512, strong_hash="xxh3", threads=2)
        assert not b.closed and not s.closed
    with open(tmp_path / "sig", "rb") as s, open(new, "rb") as n, open(tmp_path / "delta", "wb") as d:
        rha.delta_file(s, n, d, format="rdiff")
    with open(basis, "rb") as b, open(tmp_path / "delta", "rb") as d, open(tmp_path / "out", "wb") as o:
        rha.patch_file(b, d, o)
    assert (tmp_path / "out").read_bytes() == want
    with pytest.raises(rha.InvalidArgumentError, match="strong hash"):
        rha.signature_file(basis, tmp_path / "x", strong_hash="md5")
    with pytest.raises(rha.InvalidArgumentError, match="format"):
        rha.delta_file(tmp_path / "sig", new, tmp_path / "x", format="xdelta")
    with pytest.raises(TypeError, match="basis"):
        rha.signature_file(object(), tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(rha.PatchTooLargeError):
        rha.patch_file(basis, tmp_path / "delta", tmp_path / "x", max_output=10)


def test_a_buffered_reader_is_read_from_its_position(files: Tuple[Path, Path, bytes], tmp_path: Path) -> None:
    basis, _, _ = files
    with open(basis, "rb") as b:
        b.read(10)  # the buffer read ahead; the call starts at byte 10
        rha.signature_file(b, tmp_path / "sig")
    assert (tmp_path / "sig").read_bytes() == rha.signature(basis.read_bytes()[10:])


def test_signature_of_a_pipe_equals_the_file(files: Tuple[Path, Path, bytes], tmp_path: Path) -> None:
    basis, _, _ = files
    data = basis.read_bytes()
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "wb") as f:
            for i in range(0, len(data), 4096):
                f.write(data[i : i + 4096])

    t = threading.Thread(target=feed)
    t.start()
    with os.fdopen(r, "rb", buffering=0) as f:
        rha.signature_file(f, tmp_path / "sig-pipe")
    t.join()
    rha.signature_file(basis, tmp_path / "sig-file")
    assert (tmp_path / "sig-pipe").read_bytes() == (tmp_path / "sig-file").read_bytes()


def test_long_pipe_input_from_a_subprocess(tmp_path: Path) -> None:
    # Longer than the 4 MiB read ahead: the length is learnt at the end.
    n = 5 << 20
    code = f"import sys; sys.stdout.buffer.write(bytes(range(256)) * ({n} // 256))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    rha.signature_file(proc.stdout, tmp_path / "sig", block_len=4096, strong_len=16)
    assert proc.wait() == 0
    data = bytes(range(256)) * (n // 256)
    (tmp_path / "data").write_bytes(data)
    rha.signature_file(tmp_path / "data", tmp_path / "sig2", block_len=4096, strong_len=16)
    assert (tmp_path / "sig").read_bytes() == (tmp_path / "sig2").read_bytes()


def test_patch_into_a_pipe_and_from_a_delta_pipe(files: Tuple[Path, Path, bytes], tmp_path: Path) -> None:
    basis, new, want = files
    rha.signature_file(basis, tmp_path / "sig")
    rha.delta_file(tmp_path / "sig", new, tmp_path / "delta")
    out = bytearray()
    r, w = os.pipe()

    def drain() -> None:
        with os.fdopen(r, "rb") as f:
            out.extend(f.read())

    t = threading.Thread(target=drain)
    t.start()
    with open(tmp_path / "delta", "rb") as d, os.fdopen(w, "wb") as o:
        rha.patch_file(basis, d, o)
    t.join()
    assert bytes(out) == want


def test_errors(files: Tuple[Path, Path, bytes], tmp_path: Path) -> None:
    basis, new, _ = files
    rha.signature_file(basis, tmp_path / "sig")
    rha.delta_file(tmp_path / "sig", new, tmp_path / "delta")
    # A pipe as the basis of a patch.
    r, w = os.pipe()
    try:
        with os.fdopen(os.dup(r), "rb") as p, pytest.raises(rha.InvalidArgumentError, match="basis_fd"):
            rha.patch_file(p, tmp_path / "delta", tmp_path / "x")
    finally:
        os.close(r)
        os.close(w)
    # Another basis.
    (tmp_path / "other").write_bytes(_data(300_000, 9))
    with pytest.raises(rha.HashMismatchError):
        rha.patch_file(tmp_path / "other", tmp_path / "delta", tmp_path / "x")
    # A missing file is Python's own error.
    with pytest.raises(FileNotFoundError):
        rha.signature_file(tmp_path / "missing", tmp_path / "x")
    # A closed descriptor: RHA_IO with EBADF.
    f = open(basis, "rb")
    fd = f.fileno()

    class Closed:
        def fileno(self) -> int:
            return fd

        def seekable(self) -> bool:
            return False

    f.close()
    with pytest.raises(rha.RhaIOError) as e:
        rha.signature_file(Closed(), tmp_path / "x")  # type: ignore[arg-type]
    assert e.value.errno == errno.EBADF
