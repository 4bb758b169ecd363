"""Fixed-offset sync, in-place patching, deltas as journal operations and
streamed signature loading, from Python."""

from __future__ import annotations

import io
import os
import random

import pytest

import rha

BLOCK = 4096
BLOCKS = 48


def noise(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


REPLICA = noise(BLOCK * BLOCKS, 1)


def changed(data: bytes, blocks: "list[int]") -> bytes:
    out = bytearray(data)
    for b in blocks:
        out[b * BLOCK + 17] ^= 0xFF
    return bytes(out)


MASTER = changed(REPLICA, [2, 3, 10, BLOCKS - 1])


def sig(data: bytes, block_len: int = BLOCK) -> bytes:
    return rha.signature(data, block_len=block_len)


class Chunked(io.RawIOBase):
    """A non-seekable stream handing out at most `step` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = data
        self.step = step
        self.pos = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        take = self.step if n < 0 else min(n, self.step)
        out = self.data[self.pos : self.pos + take]
        self.pos += len(out)
        return out

    def seekable(self) -> bool:
        return False


def test_plan_lists_exactly_the_changed_blocks():
    with rha.compare_fixed(sig(REPLICA), sig(MASTER)) as plan:
        assert plan.block_len == BLOCK
        assert plan.target_len == len(MASTER)
        assert plan.needed_bytes == 4 * BLOCK
        assert plan.same_bytes == len(MASTER) - 4 * BLOCK
        assert plan.block_count == 4
        assert plan.ranges == [
            rha.FixedRange(2 * BLOCK, 2 * BLOCK, 2, 2),
            rha.FixedRange(10 * BLOCK, BLOCK, 10, 1),
            rha.FixedRange((BLOCKS - 1) * BLOCK, BLOCK, BLOCKS - 1, 1),
        ]
        assert "needed_bytes=16384" in repr(plan)
    assert repr(plan) == "FixedPlan(<closed>)"
    with pytest.raises(rha.InvalidStateError):
        plan.ranges
    with rha.compare_fixed(sig(REPLICA), sig(REPLICA)) as same:
        assert same.ranges == [] and same.needed_bytes == 0


def test_fixed_delta_patched_in_place_bytearray_path_and_file(tmp_path):
    with rha.compare_fixed(sig(REPLICA), sig(MASTER)) as plan:
        d = rha.fixed_delta(MASTER, plan)
        master_file = tmp_path / "master.img"
        master_file.write_bytes(MASTER)
        assert rha.fixed_delta(master_file, plan) == d
        with open(master_file, "rb") as f:
            assert rha.fixed_delta(f, plan) == d
    assert 4 * BLOCK < len(d) < 4 * BLOCK + 1000

    target = bytearray(REPLICA)
    assert rha.patch_in_place(target, d) == 4 * BLOCK
    assert target == MASTER

    volume = tmp_path / "replica.img"
    volume.write_bytes(REPLICA)
    before = os.stat(volume).st_ino
    assert rha.patch_in_place(volume, io.BytesIO(d)) == 4 * BLOCK
    assert volume.read_bytes() == MASTER
    assert os.stat(volume).st_ino == before  # written in place, not replaced

    volume.write_bytes(REPLICA)
    with open(volume, "r+b") as f:
        rha.patch_in_place(f, Chunked(d, 100))
    assert volume.read_bytes() == MASTER

    # The same delta is an ordinary delta too.
    assert rha.patch(REPLICA, d) == MASTER


def test_fixed_delta_job_streams_and_grown_or_shrunk_masters():
    grown = REPLICA + noise(1000, 7)
    with rha.compare_fixed(sig(REPLICA), sig(grown)) as plan:
        assert plan.ranges == [rha.FixedRange(len(REPLICA), 1000, BLOCKS, 1)]
        with rha.FixedDeltaJob(grown, plan) as job:
            chunks = list(job)
    target = bytearray(REPLICA)
    rha.patch_in_place(target, b"".join(chunks))
    assert target == grown

    shrunk = REPLICA[: 5 * BLOCK + 9]
    with rha.compare_fixed(sig(REPLICA), sig(shrunk)) as plan:
        d = rha.fixed_delta(shrunk, plan)
    target = bytearray(REPLICA)
    rha.patch_in_place(target, d)
    assert target == shrunk


def test_in_place_refuses_rolling_deltas_and_wrong_targets():
    shifted = b"new bytes at the front" + REPLICA
    rolling = rha.delta(sig(REPLICA), shifted)
    target = bytearray(REPLICA)
    with pytest.raises(rha.NotInPlaceError) as e:
        rha.patch_in_place(target, rolling)
    assert "cannot be applied in place" in str(e.value)
    assert e.value.code_name == "RHA_PATCH_NOT_IN_PLACE"
    assert e.value.offset is not None and 0 < e.value.offset < len(rolling)
    assert isinstance(e.value, rha.BlockError)

    with rha.compare_fixed(sig(REPLICA), sig(MASTER)) as plan:
        d = rha.fixed_delta(MASTER, plan)
    # The delta names the replica it was made against: another target is
    # refused before anything is written, also through a file and as ops.
    wrong = bytearray(changed(REPLICA, [30]))
    before = bytes(wrong)
    with pytest.raises(rha.WrongBasisError) as e:
        rha.patch_in_place(wrong, d)
    assert e.value.code_name == "RHA_PATCH_WRONG_BASIS"
    assert "nothing was written" in str(e.value)
    assert isinstance(e.value, rha.BlockError)
    assert bytes(wrong) == before
    with pytest.raises(rha.WrongBasisError):
        rha.patch_in_place(bytearray(REPLICA[:-1]), d)
    with pytest.raises(rha.WrongBasisError):
        rha.delta_to_ops(bytes(wrong), d, "f")
    with pytest.raises(rha.PatchTooLargeError):
        rha.patch_in_place(bytearray(REPLICA), d, max_output=len(MASTER) - 1)
    with pytest.raises(rha.CorruptDeltaError) as e:
        rha.patch_in_place(bytearray(REPLICA), d[:-3])
    assert "truncated" in str(e.value)
    with pytest.raises(rha.CorruptDeltaError) as e:
        rha.patch_in_place(bytearray(REPLICA), d + b"\0")
    assert e.value.offset == len(d)
    with pytest.raises(TypeError):
        rha.patch_in_place(b"immutable bytes", d)  # type: ignore[arg-type]


def test_delta_to_ops_rebuilds_the_new_file():
    def apply(basis: bytes, ops: "list[rha.Op]") -> bytes:
        out = bytearray(basis)
        for op in ops:
            if isinstance(op, rha.Write):
                end = op.offset + len(op.data)
                if end > len(out):
                    out.extend(bytes(end - len(out)))
                out[op.offset : end] = bytes(op.data)
            else:
                assert isinstance(op, rha.SetLen)
                del out[op.length :]
                out.extend(bytes(op.length - len(out)))
        return bytes(out)

    with rha.compare_fixed(sig(REPLICA), sig(MASTER)) as plan:
        d = rha.fixed_delta(MASTER, plan)
    ops = rha.delta_to_ops(REPLICA, d, "vol/disk0.img")
    assert [type(op) for op in ops] == [rha.Write, rha.Write, rha.Write, rha.SetLen]
    assert ops[0] == rha.Write("vol/disk0.img", 2 * BLOCK, MASTER[2 * BLOCK : 4 * BLOCK])
    assert ops[-1] == rha.SetLen("vol/disk0.img", len(MASTER))
    assert apply(REPLICA, ops) == MASTER

    # A rolling delta with moved copies, fed from a stream in small pieces.
    new = REPLICA[:5000] + b"inserted" + REPLICA[5000:100_000] + noise(3000, 9)
    rolling = rha.delta(sig(REPLICA, 1024), new)
    ops = list(rha.iter_delta_ops(io.BytesIO(REPLICA), Chunked(rolling, 333), b"f"))
    assert all(op.path == "f" for op in ops)
    assert apply(REPLICA, ops) == new

    # The operations journal and read back unchanged.
    buf = io.BytesIO()
    rha.write_journal(buf, ops)
    assert [r.op for r in rha.read_journal(io.BytesIO(buf.getvalue()))] == ops

    with pytest.raises(rha.CorruptDeltaError):
        rha.delta_to_ops(REPLICA, rolling[:-1], "f")
    with pytest.raises(rha.CorruptDeltaError):
        rha.delta_to_ops(REPLICA, rolling + b"x", "f")
    with pytest.raises(rha.RhaIOError):
        rha.delta_to_ops(REPLICA[:100], rolling, "f")  # the basis ends early
    with pytest.raises(rha.InvalidArgumentError):
        rha.delta_to_ops(REPLICA, rolling, "/absolute")


def test_signature_streams_from_files_one_byte_at_a_time(tmp_path):
    raw = sig(REPLICA)
    whole = rha.Signature.load(raw)
    assert (whole.block_count, whole.block_len) == (BLOCKS, BLOCK)
    with rha.Signature.load(Chunked(raw, 1)) as streamed:
        assert streamed.block_count == BLOCKS
        with rha.compare_fixed(whole, streamed) as plan:
            assert plan.needed_bytes == 0
    with pytest.raises(rha.InvalidStateError):
        streamed.block_len
    path = tmp_path / "replica.sig"
    path.write_bytes(raw)
    with rha.Signature(path) as s, rha.compare_fixed(s, sig(MASTER)) as plan:
        assert plan.block_count == 4
    whole.close()
    whole.close()


def test_corrupt_truncated_and_mismatched_signatures():
    raw = bytearray(sig(REPLICA))
    with pytest.raises(rha.CorruptSignatureError) as e:
        rha.Signature.load(Chunked(bytes(raw[:-2]), 1000))
    assert "truncated" in str(e.value)
    raw[len(raw) // 2] ^= 1
    with pytest.raises(rha.CorruptSignatureError) as e:
        rha.Signature.load(Chunked(bytes(raw), 7))
    assert "checksum" in str(e.value)
    assert e.value.offset is not None and e.value.offset < len(raw) // 2
    with pytest.raises(rha.CorruptSignatureError) as e:
        rha.Signature.load(b"nope" + bytes(raw[4:]))
    assert e.value.offset == 0
    with pytest.raises(rha.SignatureTooLargeError):
        rha.Signature.load(sig(REPLICA), max_blocks=10)
    with pytest.raises(rha.InvalidArgumentError) as e:
        rha.compare_fixed(sig(REPLICA), sig(REPLICA, 2 * BLOCK))
    assert "block lengths differ" in str(e.value)
    with pytest.raises(TypeError):
        rha.Signature.load(12345)  # type: ignore[arg-type]
