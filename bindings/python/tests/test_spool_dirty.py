"""A degraded spool's dirty regions from Python: exact ranges, durability,
snapshots, reset."""

from __future__ import annotations

from pathlib import Path

import pytest

import rha


def degrading(path: Path) -> rha.Spool:
    return rha.Spool(
        path, min_free_bytes=0, segment_bytes=1024, max_bytes=4096, overflow="degrade"
    )


def fill_until_degraded(spool: rha.Spool) -> int:
    """Appends 200-byte writes at k * 64 KiB of b"f" until one is only
    tracked; returns that k."""
    for k in range(100):
        if spool.append(rha.Write("f", k * 65536, b"x" * 200)) is None:
            return k
    raise AssertionError("the spool never overflowed")


def test_exact_ranges_after_a_degrading_overflow(tmp_path: Path) -> None:
    with degrading(tmp_path) as spool:
        assert spool.dirty_regions() == rha.DirtyRegions(4096, {}, {})
        assert not spool.dirty_regions()
        k = fill_until_degraded(spool)
        assert k > 0
        before = spool.dirty_regions()
        assert spool.append(rha.Write("f", 5000, b"y" * 10)) is None
        assert spool.append(rha.Write("f", 8192, b"y" * 100)) is None
        assert spool.append(rha.Write("a/b", 10, b"z" * 5000)) is None
        assert spool.append(rha.Delete("g")) is None
        assert spool.append(rha.BlockWrite(3, 1 << 20, b"\x07")) is None
        regions = spool.dirty_regions()
        at = k * 65536
        assert regions.granularity == 4096
        assert regions.files == {
            b"a/b": [(0, 8192)],
            b"f": [(4096, 12288), (at, at + 4096)],
            b"g": [(0, None)],
        }
        assert regions.volumes == {3: [(1 << 20, (1 << 20) + 4096)]}
        assert regions.range_count == 5 == spool.usage().dirty_ranges
        assert regions
        # A snapshot is a copy: the earlier one did not change.
        assert before.files == {b"f": [(at, at + 4096)]} and before.volumes == {}

    # Durable: the same regions after reopening.
    with degrading(tmp_path) as spool:
        assert spool.usage().mode == "degraded"
        assert spool.dirty_regions() == regions
        spool.reset(spool.usage().next_seq)
        assert spool.dirty_regions() == rha.DirtyRegions(4096, {}, {})
        assert spool.dirty_regions().range_count == 0


def test_a_closed_spool_refuses(tmp_path: Path) -> None:
    spool = degrading(tmp_path)
    spool.close()
    with pytest.raises(rha.InvalidStateError):
        spool.dirty_regions()


def test_non_utf8_paths_come_back_as_bytes(tmp_path: Path) -> None:
    with degrading(tmp_path) as spool:
        fill_until_degraded(spool)
        spool.append(rha.SetLen(b"caf\xe9", 10_000))
        assert spool.dirty_regions().files[b"caf\xe9"] == [(8192, None)]
