"""Block signatures, deltas and patches from Python."""

from __future__ import annotations

import io
import random
import shutil
import subprocess

import pytest

import rha


def noise(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


BASIS = noise(200_000, 1)
NEW = BASIS[:50_000] + b"inserted!" + BASIS[50_000:150_000] + b"x" * 300 + BASIS[150_300:]


def test_round_trip_from_bytes():
    sig = rha.signature(BASIS)
    d = rha.delta(sig, NEW)
    assert len(d) < 20_000
    assert rha.patch(BASIS, d) == NEW


def test_paths_and_files(tmp_path):
    basis = tmp_path / "basis"
    new = tmp_path / "new"
    basis.write_bytes(BASIS)
    new.write_bytes(NEW)
    sig = rha.signature(basis, block_len=2048)
    assert sig == rha.signature(io.BytesIO(BASIS), block_len=2048)
    d = rha.delta(sig, str(new))
    assert rha.patch(basis, io.BytesIO(d)) == NEW


def test_streaming_jobs_in_small_pieces():
    with rha.SignatureJob(len(BASIS), block_len=1024) as job:
        sig = b"".join(job.update(BASIS[i : i + 999]) for i in range(0, len(BASIS), 999))
        sig += job.finish()
    assert sig == rha.signature(BASIS, block_len=1024)
    dj = rha.DeltaJob(sig)
    d = b"".join(dj.update(NEW[i : i + 5000]) for i in range(0, len(NEW), 5000))
    literal, matched = dj.stats
    d += dj.finish()
    assert literal + matched <= len(NEW)
    pj = rha.PatchJob(BASIS)
    out = b"".join(pj.update(d[i : i + 7]) for i in range(0, len(d), 7)) + pj.finish()
    assert out == NEW
    assert pj.done


def test_rdiff_format_round_trip():
    d = rha.delta(rha.signature(BASIS), NEW, format="rdiff")
    assert d[:4] == bytes.fromhex("72730236")
    assert rha.patch(BASIS, d) == NEW


@pytest.mark.skipif(shutil.which("rdiff") is None, reason="needs rdiff")
def test_rdiff_interoperates(tmp_path):
    basis = tmp_path / "basis"
    basis.write_bytes(BASIS)
    sig = tmp_path / "sig"
    subprocess.run(["rdiff", "signature", str(basis), str(sig)], check=True)
    d = tmp_path / "delta"
    d.write_bytes(rha.delta(sig.read_bytes(), NEW, format="rdiff"))
    out = tmp_path / "out"
    subprocess.run(["rdiff", "patch", str(basis), str(d), str(out)], check=True)
    assert out.read_bytes() == NEW


def test_wrong_basis_raises_hash_mismatch():
    d = rha.delta(rha.signature(BASIS), NEW)
    other = bytearray(BASIS)
    other[120_000] ^= 1
    with pytest.raises(rha.HashMismatchError) as e:
        rha.patch(bytes(other), d)
    assert e.value.code_name == "RHA_PATCH_HASH_MISMATCH"
    assert isinstance(e.value, rha.BlockError)


def test_corrupt_inputs():
    sig = bytearray(rha.signature(BASIS))
    sig[40] ^= 1
    with pytest.raises(rha.CorruptSignatureError) as e:
        rha.delta(bytes(sig), NEW)
    assert e.value.offset == 32
    d = bytearray(rha.delta(rha.signature(BASIS), NEW))
    d[len(d) // 2] ^= 1
    with pytest.raises(rha.CorruptDeltaError) as e:
        rha.patch(BASIS, bytes(d))
    assert e.value.offset is not None and e.value.offset <= len(d) // 2
    with pytest.raises(rha.CorruptDeltaError, match="truncated"):
        rha.patch(BASIS, bytes(d[:10]))
    with pytest.raises(rha.PatchTooLargeError):
        rha.patch(BASIS, rha.delta(rha.signature(BASIS), NEW), max_output=1000)
    with pytest.raises(rha.DeltaOutOfRangeError):
        rha.patch(BASIS[:1000], rha.delta(rha.signature(BASIS), NEW))


def test_invalid_arguments():
    with pytest.raises(rha.InvalidArgumentError):
        rha.signature(BASIS, block_len=3)
    with pytest.raises(rha.InvalidArgumentError):
        rha.DeltaJob(rha.signature(BASIS), format="zip")
    with pytest.raises(rha.InputLengthError):
        rha.SignatureJob(10).finish(b"x" * 11)
    with pytest.raises(TypeError):
        rha.signature(12345)  # type: ignore[arg-type]
    job = rha.SignatureJob(0)
    job.close()
    with pytest.raises(rha.InvalidStateError):
        job.update(b"")


def test_xxh3_signatures_and_threads():
    basis = noise(600_000, 11)
    new = basis[:1000] + b"inserted" + basis[1000:]
    one = rha.signature(basis, strong_hash="xxh3")
    assert one[4] == 2  # format version 2: XXH3 block hashes
    assert rha.signature(basis, strong_hash="xxh3", threads=3) == one
    assert rha.signature(basis, threads=2) == rha.signature(basis)
    delta = rha.delta(one, new, threads=2)
    assert delta == rha.delta(one, new)
    assert rha.patch(basis, delta) == new
    with pytest.raises(rha.InvalidArgumentError, match="strong hash"):
        rha.SignatureJob(10, strong_hash="md5")
