"""Replicas from Python: apply journals with rewind, bookmarks, rewind, undo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rha

S = 1_000_000_000


def journal(path: Path, first: int, ops: list) -> Path:
    with rha.JournalWriter.open(path, first_seq=first) as w:
        for i, op in enumerate(ops):
            w.append(op, timestamp_ns=(first + i) * S)
    return path


@pytest.fixture
def replica_dir(tmp_path: Path) -> Path:
    root = tmp_path / "replica"
    root.mkdir()
    return root


def test_apply_bookmark_rewind_undo(tmp_path: Path, replica_dir: Path) -> None:
    j1 = journal(tmp_path / "one.rhaj", 1, [
        rha.Mkdir("docs", 0o755),
        rha.Create("docs/a.txt", 0o644),
        rha.Write("docs/a.txt", 0, b"first"),
        rha.Bookmark("nightly", app_consistent=True),
    ])
    j2 = journal(tmp_path / "two.rhaj", 5, [
        rha.Write("docs/a.txt", 0, b"SECOND"),
        rha.Rename("docs/a.txt", "docs/b.txt"),
    ])
    a, b = replica_dir / "docs/a.txt", replica_dir / "docs/b.txt"
    with rha.Replica(replica_dir) as r:
        report = r.apply_journal(j1)
        assert (report.applied, report.skipped, report.point) == (4, 0, 4)
        r.set_bookmark("operator", timestamp_ns=4 * S + 1)
        assert r.apply_journal(j2).point == 6
        assert r.apply_journal(j2).skipped == 2
        assert not a.exists() and b.read_bytes() == b"SECOND"

        info = r.info()
        assert (info.rewind, info.current, info.points, info.bookmarks, info.rewound) == (
            True, 6, 7, 2, False)
        points = r.points()
        assert points[0] == rha.RewindPoint(0, None)
        assert points[-1] == rha.RewindPoint(6, 6 * S)
        marks = r.bookmarks()
        assert [(m.name, m.seq, m.app_consistent) for m in marks] == [
            ("nightly", 4, True), ("operator", 4, False)]

        plan = r.rewind(bookmark="operator", dry_run=True)
        assert (plan.from_point, plan.to_point, plan.records) == (6, 4, 2)
        assert b.exists(), "a dry run changes nothing"
        r.rewind(bookmark="nightly")
        assert a.read_bytes() == b"first" and not b.exists()
        r.rewind(time_ns=2 * S + 5)
        assert a.read_bytes() == b"" and not b.exists()
        assert r.info().rewound
        assert r.undo_rewind() == 6
        assert b.read_bytes() == b"SECOND"
        with pytest.raises(rha.NothingToUndoError):
            r.undo_rewind()

        r.rewind(seq=3)
        r.apply(rha.Record(4, 10 * S, rha.Write("docs/a.txt", 0, b"NEW")))
        r.sync()
        assert a.read_bytes() == b"NEWst"


def test_open_refuses_a_missing_root_unless_create(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    with pytest.raises(rha.RhaIOError, match="not-yet.*RHA_REPLICA_CREATE"):
        rha.Replica(missing)
    assert not missing.exists()
    with rha.Replica(missing, create=True):
        assert missing.is_dir()


def test_errors(tmp_path: Path, replica_dir: Path) -> None:
    j = journal(tmp_path / "j.rhaj", 1, [rha.Create("f", 0o644)])
    with rha.Replica(replica_dir) as r:
        with pytest.raises(rha.NoPointError):
            r.rewind(seq=0)
        with pytest.raises(rha.ReplicaBusyError, match="busy: another handle in this process"):
            rha.Replica(replica_dir)
        r.apply_journal(j)
        with pytest.raises(rha.UnknownBookmarkError, match="unknown bookmark 'nope'") as e:
            r.rewind(bookmark="nope")
        assert isinstance(e.value, KeyError) and e.value.code_name == "RHA_REWIND_UNKNOWN_BOOKMARK"
        with pytest.raises(rha.NoPointError, match="after the current point"):
            r.rewind(seq=7)
        with pytest.raises(TypeError):
            r.rewind()
        os.symlink(tmp_path, replica_dir / "up")
        with pytest.raises(rha.ApplyFailedError, match="refused"):
            r.apply(rha.Record(2, 0, rha.Create("up/escaped", 0o644)))
        assert not (tmp_path / "escaped").exists()
        with pytest.raises(rha.ApplyFailedError, match="spool"):
            r.apply(rha.Record(2, 0, rha.Create(".rha/evil", 0o644)))
        with pytest.raises(rha.SequenceError):
            r.apply(rha.Record(1, 0, rha.Create("g", 0o644)))
    with pytest.raises(rha.InvalidStateError):
        r.sync()


def test_without_rewind(tmp_path: Path, replica_dir: Path) -> None:
    spool = tmp_path / "spool"
    j = journal(tmp_path / "j.rhaj", 1, [rha.Create("f", 0o600), rha.Write("f", 0, b"x")])
    with rha.Replica(replica_dir, spool=spool, rewind=False) as r:
        assert r.apply_journal(j).applied == 2
        assert not r.info().rewind
        with pytest.raises(rha.RewindDisabledError):
            r.set_bookmark("x")
    assert (replica_dir / "f").read_bytes() == b"x" and not (replica_dir / ".rha").exists()


def test_a_gap_or_a_restart_raises_sequence_gap(tmp_path: Path, replica_dir: Path) -> None:
    first = journal(tmp_path / "first.rhaj", 1, [rha.Mkdir(f"d{i}", 0o755) for i in range(4)])
    late = journal(tmp_path / "late.rhaj", 20, [rha.Mkdir("late", 0o755)])
    again = journal(tmp_path / "again.rhaj", 1, [rha.Mkdir("other", 0o755)])
    with rha.Replica(replica_dir, rewind=False) as r:
        assert r.apply_journal(first).point == 4
        with pytest.raises(rha.SequenceGapError, match="expects record 5 next.*record 20") as e:
            r.apply_journal(late)
        assert e.value.code_name == "RHA_REPLICA_SEQUENCE_GAP"
        with pytest.raises(rha.SequenceGapError, match="restarts numbering"):
            r.apply_journal(again)
        with pytest.raises(rha.SequenceGapError):
            r.apply(rha.Record(9, 0, rha.Mkdir("nine", 0o755)))
    assert not (replica_dir / "late").exists() and not (replica_dir / "other").exists()
    # The point is durable without rewind: the same journal again is all present.
    with rha.Replica(replica_dir, rewind=False) as r:
        report = r.apply_journal(first)
        assert (report.applied, report.skipped, report.point) == (0, 4, 4)


def test_a_transaction_across_journals_and_a_corrupt_journal(tmp_path: Path, replica_dir: Path) -> None:
    j1 = journal(tmp_path / "j1.rhaj", 1, [
        rha.Create("f", 0o644), rha.TxBegin(5), rha.Write("f", 0, b"one")])
    j2 = journal(tmp_path / "j2.rhaj", 4, [rha.Write("f", 3, b"two"), rha.TxCommit(5)])
    with rha.Replica(replica_dir, rewind=False) as r:
        assert r.apply_journal(j1).uncommitted == 2
    assert (replica_dir / "f").read_bytes() == b""
    with rha.Replica(replica_dir, rewind=False) as r:
        assert r.apply_journal(j2).point == 5
    assert (replica_dir / "f").read_bytes() == b"onetwo"

    bad = journal(tmp_path / "bad.rhaj", 6, [rha.Mkdir("d", 0o755), rha.Mkdir("e", 0o755)])
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with rha.Replica(replica_dir, rewind=False) as r:
        with pytest.raises(rha.CorruptJournalError, match="records before the damage were applied"):
            r.apply_journal(bad)
