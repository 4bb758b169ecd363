"""The Python API's conventions: I/O errors are OSErrors, paths have one
type, replicas apply records, the scenario clock says what it is."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

import rha


def test_io_errors_are_os_errors_with_errno(tmp_path: Path):
    with pytest.raises(OSError) as e:
        rha.scan(tmp_path / "missing")
    assert isinstance(e.value, rha.RhaIOError) and isinstance(e.value, rha.RhaError)
    assert e.value.errno == errno.ENOENT
    assert e.value.strerror == e.value.message == str(e.value)
    # The number comes from the C error (rha_error_os_code), and survives
    # pickling.
    import pickle  # noqa: PLC0415
    again = pickle.loads(pickle.dumps(e.value))
    assert isinstance(again, rha.RhaIOError) and again.errno == errno.ENOENT


def test_paths_have_one_type(tmp_path: Path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_bytes(b"x")
    entry, = [e for e in rha.read_signature(rha.scan(tmp_path / "tree")) if e.kind == "file"]
    ops = [rha.Create(Path("a.txt"), 0o644), rha.Write(b"b\xff", 0, b"x"), rha.Rename("a.txt", "c")]
    journal = tmp_path / "j.rhaj"
    rha.write_journal(journal, ops)
    read = [r.op for r in rha.read_journal(journal)]
    assert read == ops
    assert {type(entry.path), type(ops[0].path), type(read[1].path), type(read[2].dst)} == {str}
    assert read[0].path == entry.path == "a.txt"
    assert read[1].path == os.fsdecode(b"b\xff")  # undecodable bytes round-trip


def test_replica_apply_takes_a_record(tmp_path: Path):
    journal = tmp_path / "j.rhaj"
    rha.write_journal(journal, [rha.Mkdir("d", 0o755), rha.Create("d/f", 0o644)])
    (tmp_path / "replica").mkdir()
    with rha.Replica(tmp_path / "replica", rewind=False) as replica:
        for record in rha.read_journal(journal):
            replica.apply(record)
        with pytest.raises(TypeError, match="Record"):
            replica.apply(rha.Delete("d/f"))  # type: ignore[arg-type]
        replica.sync()
    assert (tmp_path / "replica" / "d" / "f").is_file()


def test_the_scenario_clock_is_named_for_what_it_is():
    assert not hasattr(rha, "now_ns")
    before = time.monotonic_ns()
    assert before <= rha.monotonic_ns() <= time.monotonic_ns()
