"""The spool from Python: append, read, ack, reopen, limits, overflow, damage."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import rha


def write(i: int, size: int = 100) -> rha.Write:
    return rha.Write(f"dir/f{i % 3}", i * 4096, bytes([i % 256]) * size)


def test_append_read_ack_reopen(tmp_path: Path) -> None:
    with rha.Spool(tmp_path, min_free_bytes=0, segment_bytes=2048) as spool:
        assert spool.recovery.created
        seqs = [spool.append(write(i), timestamp_ns=i) for i in range(50)]
        assert seqs == list(range(1, 51))
        records = list(spool.read(1))
        assert [r.seq for r in records] == seqs
        assert records[7].op == write(7)
        assert records[7].timestamp_ns == 7
        spool.ack(30)
        usage = spool.usage()
        assert (usage.resume_seq, usage.next_seq, usage.mode) == (31, 51, "normal")
        assert usage.max_bytes is None and usage.segments >= 1
        assert [r.seq for r in spool] == list(range(31, 51))
    with pytest.raises(rha.InvalidStateError):
        spool.append(write(0))

    with rha.Spool(tmp_path, min_free_bytes=0, segment_bytes=2048) as spool:
        assert (spool.recovery.resume_seq, spool.recovery.next_seq) == (31, 51)
        assert not spool.recovery.torn
        with pytest.raises(rha.ReclaimedError):
            spool.read(1)
        with pytest.raises(rha.NotDurableError):
            spool.ack(100)


def test_reader_follows_new_records(tmp_path: Path) -> None:
    with rha.Spool(tmp_path, min_free_bytes=0) as spool:
        with spool.read(1) as reader:
            assert list(reader) == []
            spool.append(write(1), durable=False)
            assert list(reader) == []  # not durable yet
            spool.sync()
            assert [r.seq for r in reader] == [1]
            assert reader.position == 2


def test_threads_append_concurrently(tmp_path: Path) -> None:
    with rha.Spool(tmp_path, min_free_bytes=0) as spool:
        got: list = []

        def produce(t: int) -> None:
            got.extend(spool.append(write(t * 1000 + i, 32)) for i in range(100))

        threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == list(range(1, 401))
        assert [r.seq for r in spool.read(1)] == list(range(1, 401))


def test_full_spool_fails_blocks_and_stops(tmp_path: Path) -> None:
    with rha.Spool(tmp_path, min_free_bytes=0, max_bytes=4096, segment_bytes=1024) as spool:
        with pytest.raises(rha.SpoolFullError) as full:
            for i in range(1000):
                spool.append(write(i, 200), when_full="fail")
        assert "spool full" in str(full.value)
        with pytest.raises(rha.SpoolFullError):
            spool.append(write(0, 200), when_full=0.02)
        with pytest.raises(rha.SpoolStoppedError):
            spool.append(write(0, 200))
        usage = spool.usage()
        assert usage.mode == "stopped" and usage.overflow_seq == usage.next_seq
        kinds = [e.kind for e in spool.events()]
        assert "usage" in kinds and "overflow" in kinds
        assert spool.events() == []
        spool.reset(usage.next_seq)
        assert spool.append(write(0)) == usage.next_seq


def test_degrade_policy_tracks_regions(tmp_path: Path) -> None:
    with rha.Spool(
        tmp_path, min_free_bytes=0, max_bytes=4096, segment_bytes=1024, overflow="degrade"
    ) as spool:
        results = [spool.append(write(i, 200)) for i in range(40)]
        assert None in results and results[0] == 1
        usage = spool.usage()
        assert usage.mode == "degraded"
        assert usage.dirty_ranges == results.count(None)
    with rha.Spool(tmp_path, min_free_bytes=0) as spool:
        assert spool.usage().mode == "degraded"


def test_corruption_is_reported_and_salvage_keeps_the_prefix(tmp_path: Path) -> None:
    with rha.Spool(tmp_path, min_free_bytes=0) as spool:
        for i in range(10):
            spool.append(write(i, 50))
    seg = tmp_path / "seg-00000000000000000001.rhaj"
    data = bytearray(seg.read_bytes())
    frame = (len(data) - 16) // 10
    data[16 + 4 * frame + 40] ^= 0xFF
    seg.write_bytes(bytes(data))
    with pytest.raises(rha.CorruptSpoolError) as err:
        rha.Spool(tmp_path, min_free_bytes=0)
    assert seg.name in str(err.value)
    assert err.value.offset == 16 + 4 * frame
    assert err.value.last_seq == 4
    assert isinstance(err.value, rha.SpoolError)
    with rha.Spool(tmp_path, min_free_bytes=0, salvage=True) as spool:
        assert spool.recovery.salvaged
        assert [r.seq for r in spool.read(1)] == [1, 2, 3, 4]


def test_locked_and_bad_arguments(tmp_path: Path) -> None:
    with rha.Spool(tmp_path, min_free_bytes=0):
        with pytest.raises(rha.SpoolLockedError):
            rha.Spool(tmp_path, min_free_bytes=0)
    with pytest.raises(rha.InvalidArgumentError):
        rha.Spool(tmp_path, overflow="explode")
    with rha.Spool(tmp_path, min_free_bytes=0) as spool:
        with pytest.raises(rha.InvalidArgumentError):
            spool.append(write(0), when_full="later")
