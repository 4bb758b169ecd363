"""Damage, sequence problems and invalid input: which exception, with what."""

from __future__ import annotations

import pickle

import pytest
from helpers import ALL_OPS, T0, decode, encode

import rha

OPS = [rha.Write("f", i, bytes([65 + i]) * 40) for i in range(4)]


def frame_ends(data: bytes, **options):
    """Stream offsets where each record's frame ends (uncompressed journals)."""
    r = rha.JournalReader(**options)
    r.feed(data)
    ends = []
    while r.next_record() is not None:
        ends.append(r.offset)
    return ends


def test_frame_offsets_follow_the_format():
    data = encode(OPS)
    ends = frame_ends(data)
    assert ends[-1] == len(data)
    # 16-byte stream header, then frames of equal size for equal records.
    sizes = [b - a for a, b in zip([16] + ends, ends)]
    assert len(set(sizes)) == 1 and sizes[0] > 32


@pytest.mark.parametrize("frame", [0, 2])
def test_flipped_bit_is_corruption_with_offset_and_last_seq(frame):
    data = encode(OPS)
    starts = [16] + frame_ends(data)
    damaged = bytearray(data)
    damaged[starts[frame] + 40] ^= 0x08  # inside the body
    r = rha.JournalReader()
    r.feed(damaged)
    good = []
    with pytest.raises(rha.CorruptJournalError) as info:
        for rec in r:
            good.append(rec.seq)
    e = info.value
    assert good == list(range(1, frame + 1))
    assert e.offset == starts[frame]
    assert e.last_seq == (frame if frame else None)
    assert e.code == 300 and e.code_name == "RHA_JOURNAL_CORRUPT"
    assert "checksum" in e.message and str(starts[frame]) in e.message
    assert isinstance(e, rha.JournalError) and isinstance(e, rha.RhaError)
    # The reader stays failed.
    with pytest.raises(rha.CorruptJournalError):
        r.next_record()
    with pytest.raises(rha.CorruptJournalError):
        r.finish()


@pytest.mark.parametrize("options", [{}, {"compression": "zstd"}], ids=["plain", "zstd"])
def test_no_single_bit_flip_is_silently_accepted(options):
    data = encode(ALL_OPS[:3], **options)
    original = decode(data)
    for bit in range(len(data) * 8):
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        try:
            result = decode(damaged)
        except rha.JournalError:
            continue
        assert result != original, f"flip of bit {bit} went unnoticed"


def test_corrupt_journal_through_read_journal():
    damaged = bytearray(encode(OPS))
    damaged[-5] ^= 0xFF
    stream = rha.read_journal(damaged, chunk_size=7)
    seqs = []
    with pytest.raises(rha.CorruptJournalError) as info:
        for rec in stream:
            seqs.append(rec.seq)
    assert seqs == [1, 2, 3]
    assert info.value.last_seq == 3
    assert stream.end is None


def test_bad_magic():
    with pytest.raises(rha.CorruptJournalError, match="magic") as info:
        decode(b"not a journal at all")
    assert info.value.offset == 0


def test_truncated_journal_ends_torn():
    data = encode(OPS)
    ends = frame_ends(data)
    cut = ends[1] + 10  # inside the third frame
    records, end = decode(data[:cut])
    assert [r.seq for r in records] == [1, 2]
    assert end.torn and not end.clean
    assert end.offset == ends[1]
    assert end.tail_len == 10
    # read_journal reports the same without raising.
    stream = rha.read_journal(data[:cut])
    assert len(list(stream)) == 2 and stream.end == end


def test_zero_filled_tail_is_torn_not_corrupt():
    # A preallocated file, or a crash after the length grew but before the data landed.
    data = encode(OPS)
    records, end = decode(data + bytes(100), chunk=50)
    assert len(records) == 4
    assert end == rha.End(torn=True, offset=len(data), tail_len=100)


@pytest.mark.parametrize("options", [{}, {"compression": "zstd"}], ids=["plain", "zstd"])
def test_every_truncation_keeps_the_intact_prefix(options):
    data = encode(ALL_OPS[:5], batch_bytes=200, **options)
    full, _ = decode(data)
    boundaries = [0, 16] + frame_ends(data)
    for cut in range(len(data) + 1):
        records, end = decode(data[:cut], chunk=13)
        assert records == full[: len(records)]
        intact = max(b for b in boundaries if b <= cut)
        assert end.offset == intact, cut
        assert end.torn == (cut != intact)
        assert end.tail_len == cut - intact


def test_sequence_gap():
    first = encode(OPS[:2])  # seqs 1, 2
    second = encode(OPS[2:], first_seq=4)  # seqs 4, 5: 3 is missing
    joined = first + second[16:]  # drop the second stream header
    r = rha.JournalReader()
    r.feed(joined)
    assert [rec.seq for rec in (r.next_record(), r.next_record())] == [1, 2]
    with pytest.raises(rha.SequenceError) as info:
        r.next_record()
    e = info.value
    assert e.code_name == "RHA_JOURNAL_SEQUENCE"
    assert e.offset == len(first) and e.last_seq == 2
    assert "expected 3" in e.message and "found 4" in e.message
    assert not isinstance(e, rha.CorruptJournalError)


def test_contiguous_journals_concatenate():
    joined = encode(OPS[:2]) + encode(OPS[2:], first_seq=3)[16:]
    assert [r.seq for r in decode(joined)[0]] == [1, 2, 3, 4]


def test_sequence_regression_and_expected_first_seq():
    joined = encode(OPS[:2]) + encode(OPS[2:], first_seq=2)[16:]
    with pytest.raises(rha.SequenceError):
        decode(joined)
    with pytest.raises(rha.SequenceError) as info:
        decode(encode(OPS), first_seq=9)
    assert info.value.last_seq is None and info.value.offset == 16


def test_record_too_large_for_reader():
    data = encode([rha.Write("f", 0, bytes(10_000))])
    with pytest.raises(rha.RecordTooLargeError) as info:
        decode(data, max_record_size=1000)
    assert info.value.offset == 16
    assert decode(data, max_record_size=20_000)[1].clean


def test_record_too_large_for_writer():
    with rha.JournalWriter(max_record_size=100) as w:
        with pytest.raises(rha.RecordTooLargeError, match="limit is 100"):
            w.append(rha.Write("f", 0, bytes(1000)), T0)
        assert w.append(rha.Write("f", 0, bytes(10)), T0) == 1


def test_write_journal_refuses_out_of_order_records(tmp_path):
    records = [rha.Record(1, T0, OPS[0]), rha.Record(3, T0, OPS[1])]
    with pytest.raises(rha.SequenceError, match="record seq 3"):
        rha.write_journal(tmp_path / "j", records)


@pytest.mark.parametrize(
    "path, words",
    [
        ("/etc/passwd", "absolute"),
        ("a/../b", ".."),
        ("a/./b", "'.'"),
        ("a//b", "empty component"),
        ("a/", "empty component"),
        ("", "empty"),
        ("a\0b", "nul"),
        ("x" * 5000, "long"),
    ],
)
def test_invalid_path_names_the_problem(path, words):
    w = rha.JournalWriter()
    with pytest.raises(rha.InvalidArgumentError) as info:
        w.append(rha.Create(path, 0o644), T0)
    e = info.value
    assert words in e.message.lower()
    assert e.code_name == "RHA_INVALID_ARGUMENT" and e.offset is None and e.last_seq is None
    assert isinstance(e, ValueError)
    # A refused record is not written and does not use up a sequence number.
    assert w.append(rha.Create("ok", 0o644), T0) == 1
    w.flush()
    assert [r.op for r in decode(w.drain())[0]] == [rha.Create(b"ok", 0o644)]


@pytest.mark.parametrize(
    "op",
    [
        rha.Rename("a", "/b"),
        rha.HardLink("../a", "b"),
        rha.SetXattr("f", "", b"v"),
        rha.SetXattr("f", "x" * 300, b"v"),
        rha.RemoveXattr("f", b"a\0b"),
        rha.Symlink("l", ""),
        rha.Bookmark(""),
    ],
)
def test_other_invalid_fields(op):
    with rha.JournalWriter() as w, pytest.raises(rha.InvalidArgumentError):
        w.append(op, T0)


@pytest.mark.parametrize(
    "options",
    [{"compression": "lz4"}, {"compression": "zstd", "level": 99}, {"batch_bytes": 0}],
)
def test_invalid_writer_options(options):
    with pytest.raises(rha.InvalidArgumentError):
        rha.JournalWriter(**options)


def test_out_of_range_integers_raise_overflow():
    with rha.JournalWriter() as w, pytest.raises(OverflowError):
        w.append(rha.Create("f", -1), T0)


def test_append_refuses_non_ops():
    with rha.JournalWriter() as w, pytest.raises(TypeError):
        w.append("create f", T0)  # type: ignore[arg-type]


def test_finish_before_reading_everything():
    r = rha.JournalReader()
    r.feed(encode(OPS))
    with pytest.raises(rha.InvalidStateError, match="unread"):
        r.finish()
    assert len(list(r)) == 4
    assert r.finish().clean


def test_hierarchy():
    families = {
        rha.UsageError: [
            rha.PanicError,
            rha.NullParameterError,
            rha.InvalidArgumentError,
            rha.InvalidStateError,
        ],
        rha.RhaIOError: [],
        rha.JournalError: [
            rha.CorruptJournalError,
            rha.UnsupportedVersionError,
            rha.RecordTooLargeError,
            rha.SequenceError,
        ],
    }
    for family, members in families.items():
        assert issubclass(family, rha.RhaError)
        for cls in members:
            assert issubclass(cls, family)
    assert issubclass(rha.RhaError, Exception)
    assert not issubclass(rha.SequenceError, rha.CorruptJournalError)


def test_error_attributes_survive_pickling():
    try:
        decode(b"\x89RHAJ\r\n\x1a" + bytes(8))
    except rha.CorruptJournalError as e:
        copy = pickle.loads(pickle.dumps(e))
        assert type(copy) is type(e)
        assert (copy.code, copy.code_name, copy.message, copy.offset, copy.last_seq) == (
            e.code,
            e.code_name,
            e.message,
            e.offset,
            e.last_seq,
        )
        assert repr(copy).startswith("CorruptJournalError(RHA_JOURNAL_CORRUPT")
    else:
        pytest.fail("a stream header with a bad checksum decoded")
