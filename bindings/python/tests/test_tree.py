"""Tree signatures and sync plans from Python: scan, read, compare, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rha

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"


@pytest.fixture()
def trees(tmp_path: Path):
    master, replica = tmp_path / "m", tmp_path / "r"
    (master / "d").mkdir(parents=True)
    (master / "d" / "f").write_bytes(b"hello")
    (master / "top").write_bytes(b"12345678")
    os.link(master / "d" / "f", master / "d" / "h")
    os.symlink("d/f", master / "l")
    (replica / "d").mkdir(parents=True)
    (replica / "d" / "f").write_bytes(b"hello, longer")
    (replica / "old.tmp").write_bytes(b"x")
    (replica / "old").write_bytes(b"x")
    return master, replica


def test_scan_lists_every_entry_in_order(trees):
    master, _ = trees
    entries = list(rha.read_signature(rha.scan(master)))
    assert [e.path for e in entries] == ["d", "d/f", "d/h", "l", "top"]
    d, f, h, link, top = entries
    assert d.kind == "dir" and f.kind == "file" and link.kind == "symlink"
    assert f.size == 5 and f.link is not None and f.link == h.link
    assert link.target == "d/f"
    assert top.link is None and top.size == 8 and not top.sparse
    assert top.mtime_ns == os.lstat(master / "top").st_mtime_ns
    assert top.mode == os.lstat(master / "top").st_mode & 0o7777


def test_scan_to_file_matches_scan(trees, tmp_path):
    master, _ = trees
    sig = tmp_path / "m.rhatree"
    stats = rha.scan_to_file(master, sig)
    assert stats == rha.ScanStats(entries=5, files=3, bytes=18)
    assert sig.read_bytes() == rha.scan(master)
    assert [e.path for e in rha.read_signature(sig)] == ["d", "d/f", "d/h", "l", "top"]


def test_compare_gives_a_safe_plan(trees, tmp_path):
    master, replica = trees
    plan = list(rha.compare(rha.scan(master), rha.scan(replica), owners=False))
    assert [(s.op, s.path) for s in plan] == [
        ("update", "d/f"),
        ("link", "d/h"),
        ("attrs", "d"),
        ("symlink", "l"),
        ("delete", "old"),
        ("delete", "old.tmp"),
        ("create", "top"),
    ]
    assert plan[1].link_target == "d/f"
    assert "mtime" in plan[2].changes
    assert plan[3].entry.target == "d/f"
    assert plan[4].entry.kind == "file"
    # From signature files, with exclusions.
    ms, rs = tmp_path / "m.sig", tmp_path / "r.sig"
    rha.scan_to_file(master, ms)
    rha.scan_to_file(replica, rs)
    steps = [(s.op, s.path) for s in rha.compare(ms, rs, owners=False, exclude=["*.tmp", "/l"])]
    assert ("delete", "old.tmp") not in steps and ("symlink", "l") not in steps
    assert ("delete", "old") in steps


def test_ignore_same_and_check_contents(trees):
    master, _ = trees
    sig = rha.scan(master)
    assert list(rha.compare(sig, sig)) == []
    # Not trusting size and time: files are rewritten (and the hard link to
    # the rewritten file is made again), or checked by content.
    plan = list(rha.compare(sig, sig, ignore_same=False))
    assert {s.path for s in plan if s.op == "update"} == {"d/f", "top"}
    assert ("link", "d/h") in [(s.op, s.path) for s in plan]
    plan = list(rha.compare(sig, sig, ignore_same=False, check_contents=True))
    assert {s.path for s in plan if s.op == "check"} == {"d/f", "top"}
    assert "update" not in {s.op for s in plan}


def test_damage_and_bad_patterns_raise(trees):
    master, replica = trees
    sig = bytearray(rha.scan(master))
    sig[40] ^= 1
    with pytest.raises(rha.CorruptTreeSignatureError) as info:
        list(rha.read_signature(bytes(sig)))
    assert info.value.offset == 16 and "checksum" in str(info.value)
    with pytest.raises(rha.CorruptTreeSignatureError, match="master signature"):
        list(rha.compare(bytes(sig), rha.scan(replica)))
    with pytest.raises(rha.CorruptTreeSignatureError, match="truncated"):
        list(rha.read_signature(rha.scan(master)[:-3]))
    with pytest.raises(rha.BadGlobError, match="not closed"):
        rha.compare(b"", b"", exclude=["[x"])
    assert issubclass(rha.BadGlobError, ValueError)
    with pytest.raises(rha.InvalidArgumentError, match="not a directory"):
        rha.scan(master / "top")
    with pytest.raises(rha.RhaIOError):
        rha.scan(master / "missing")
    with pytest.raises(TypeError):
        rha.compare(b"", master)


@pytest.mark.skipif(not DATA.is_dir(), reason="needs the source checkout's tests/data")
def test_golden_signatures():
    entries = list(rha.read_signature(DATA / "tree-v1.rhatree"))
    assert [e.path for e in entries][:2] == ["docs", "docs/a.txt"]
    assert entries[5].sparse and entries[5].size == 5 << 30
    assert entries[1].link == entries[7].link == (0x803, 1_234_567)
    with pytest.raises(rha.CorruptTreeSignatureError) as info:
        list(rha.read_signature(DATA / "tree-v1-corrupt.rhatree"))
    assert info.value.offset == 16


def test_a_replicas_state_dir_is_left_out_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / ".rha").mkdir()
    (tmp_path / ".rha" / "lock").write_bytes(b"")
    paths = [e.path for e in rha.read_signature(rha.scan(tmp_path))]
    assert paths == ["a.txt"] or paths == [b"a.txt"]
    everything = [e.path for e in rha.read_signature(rha.scan(tmp_path, include_state_dir=True))]
    assert len(everything) == 3
