"""The workspace's version-1 golden journals, read and rewritten from Python."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import rha

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="needs the source checkout's tests/data")


def golden(name: str) -> bytes:
    return (DATA / f"journal-v1-{name}.rhaj").read_bytes()


def test_plain_and_zstd_hold_the_same_records():
    plain = rha.read_journal(DATA / "journal-v1-plain.rhaj", chunk_size=100)
    records = list(plain)
    assert records[0].seq == 100
    assert [r.seq for r in records] == list(range(100, 100 + len(records)))
    assert plain.end == rha.End(False, len(golden("plain")))
    assert list(rha.read_journal(golden("zstd"))) == records


def test_python_encodes_the_pinned_bytes():
    records = list(rha.read_journal(golden("plain")))
    out = io.BytesIO()
    rha.write_journal(out, records)
    assert out.getvalue() == golden("plain")


def test_torn_golden():
    stream = rha.read_journal(golden("torn"), chunk_size=1)
    assert len(list(stream)) == len(list(rha.read_journal(golden("plain")))) - 1
    assert stream.end.torn
    assert stream.end.offset + stream.end.tail_len == len(golden("torn"))


def test_corrupt_golden():
    with pytest.raises(rha.CorruptJournalError) as info:
        list(rha.read_journal(golden("corrupt")))
    assert info.value.offset <= 200
    assert info.value.last_seq >= 100
