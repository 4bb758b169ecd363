"""Journal bytes from memory: into a spool, and applied to a replica."""

from __future__ import annotations

import io
from pathlib import Path
from typing import List, Optional

import pytest

import rha


def encode(first: int, ops: List[rha.Op], compression: Optional[str] = None) -> bytes:
    buf = io.BytesIO()
    with rha.JournalWriter.open(buf, first_seq=first, compression=compression, batch_bytes=200) as w:
        for i, op in enumerate(ops):
            w.append(op, timestamp_ns=1_000 + first + i)
    return buf.getvalue()


def writes(n: int) -> List[rha.Op]:
    return [rha.Write(f"f{i % 3}", i * 10, bytes([i]) * 50) for i in range(n)]


def test_spool_append_journal(tmp_path: Path) -> None:
    with rha.Spool(tmp_path, min_free_bytes=0, segment_bytes=1024) as spool:
        assert spool.append_journal(encode(1, writes(5))) == range(1, 6)
        # Compressed, and without the stream header (16 bytes).
        assert spool.append_journal(encode(6, writes(4), "zstd")[16:], durable=False) == range(6, 10)
        assert spool.append_journal(b"") == range(0)
        spool.sync()
        with spool.read(1) as reader:
            got = list(reader)
        assert [r.seq for r in got] == list(range(1, 10))
        assert got[6].op == writes(4)[1] and got[6].timestamp_ns == 1_000 + 6 + 1

        good = encode(10, writes(3))
        damaged = bytearray(good)
        damaged[-5] ^= 1
        with pytest.raises(rha.CorruptJournalError, match="nothing was appended"):
            spool.append_journal(damaged)
        with pytest.raises(rha.CorruptJournalError, match="inside a frame"):
            spool.append_journal(good[:-1])
        with pytest.raises(rha.SequenceError, match="record seq 11 does not follow"):
            spool.append_journal(encode(11, writes(1)))
        assert spool.usage().next_seq == 10
        assert spool.append_journal(memoryview(good)) == range(10, 13)


def test_replica_apply_journal_bytes(tmp_path: Path) -> None:
    root = tmp_path / "replica"
    root.mkdir()
    one = encode(1, [rha.Create("a.txt", 0o644), rha.Write("a.txt", 0, b"first")])
    two = bytearray(encode(3, [rha.Write("a.txt", 0, b"SECOND"), rha.Write("a.txt", 0, b"third!")]))
    with rha.Replica(root) as r:
        rep = r.apply_journal_bytes(one)
        assert (rep.applied, rep.point) == (2, 2)
        assert (root / "a.txt").read_bytes() == b"first"
        rep = r.apply_journal_bytes(bytearray(one))
        assert (rep.applied, rep.skipped) == (0, 2)
        two[-3] ^= 1
        with pytest.raises(rha.CorruptJournalError, match="journal bytes"):
            r.apply_journal_bytes(two)
        assert (root / "a.txt").read_bytes() == b"SECOND"
        two[-3] ^= 1
        rep = r.apply_journal_bytes(two)
        assert (rep.applied, rep.skipped, rep.point) == (1, 1, 4)
        assert (root / "a.txt").read_bytes() == b"third!"
