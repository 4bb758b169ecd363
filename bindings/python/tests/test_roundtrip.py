"""Writing and reading back every operation, in every way the API allows."""

from __future__ import annotations

import array
import io
import time

import pytest
from helpers import ALL_OPS, T0, decode, encode

import rha

COMPRESSION = [pytest.param({}, id="plain"), pytest.param({"compression": "zstd"}, id="zstd")]


def expected(ops, first_seq=1):
    return [rha.Record(first_seq + i, T0 + i, op) for i, op in enumerate(ops)]


@pytest.mark.parametrize("options", COMPRESSION)
@pytest.mark.parametrize("chunk", [None, 1, 7, 4096], ids=["whole", "1-byte", "7-byte", "4k"])
def test_every_op_round_trips(options, chunk):
    data = encode(ALL_OPS, **options)
    records, end = decode(data, chunk)
    assert records == expected(ALL_OPS)
    assert end == rha.End(torn=False, offset=len(data), tail_len=0)
    assert end.clean


def test_decoded_fields_have_python_types():
    records, _ = decode(encode(ALL_OPS))
    by_type = {}
    for r in records:
        by_type.setdefault(type(r.op), r.op)
    assert by_type[rha.Write].data == b"hello, journal"
    assert isinstance(by_type[rha.Write].data, bytes)
    assert by_type[rha.Create].path == "dir/file.txt"
    assert by_type[rha.Symlink].target == "../outside/target"
    assert by_type[rha.SetXattr].name == b"user.comment"
    assert isinstance(by_type[rha.Bookmark].name, str)
    assert by_type[rha.Bookmark].app_consistent is True
    assert by_type[rha.Mknod] == rha.Mknod("dev/sda1", 0o060660, 0x801)
    assert by_type[rha.ClearXattrs].path == "dir/file.txt"


def test_mknod_of_a_socket_or_regular_file_is_refused():
    for mode in (0o140644, 0o100644):
        with rha.JournalWriter() as w:
            with pytest.raises(rha.InvalidArgumentError, match="mknod mode"):
                w.append(rha.Mknod("n", mode), timestamp_ns=T0)


def test_set_attr_keeps_unset_fields_none():
    [rec] = decode(encode([rha.SetAttr("f", uid=0)]))[0]
    assert rec.op == rha.SetAttr(b"f", uid=0)
    assert rec.op.mode is None and rec.op.mtime_ns is None


@pytest.mark.parametrize("options", COMPRESSION)
def test_many_small_batches(options):
    ops = [rha.Write("f", i * 64, bytes([i % 256]) * 64) for i in range(500)]
    data = encode(ops, batch_bytes=1024, level=1, **options)
    assert decode(data, 333)[0] == expected(ops)


def test_zstd_compresses():
    ops = [rha.Write("f", 0, b"a" * 1000)] * 50
    assert len(encode(ops, compression="zstd")) < len(encode(ops)) // 5


@pytest.mark.parametrize(
    "payload",
    [
        bytearray(b"bytearray payload"),
        memoryview(b"--memoryview payload--")[2:-2],
        array.array("I", [1, 2, 3, 0xFFFFFFFF]),
        memoryview(bytearray(range(10))).cast("B"),
    ],
    ids=["bytearray", "memoryview-slice", "array", "cast"],
)
def test_payloads_accept_any_contiguous_buffer(payload):
    ops = [rha.Write("f", 0, payload), rha.BlockWrite(0, 0, payload), rha.SetXattr("f", "user.x", payload)]
    data = encode(ops)
    raw = memoryview(payload).tobytes()
    ops = [r.op for r in decode(data)[0]]
    assert ops == [rha.Write(b"f", 0, raw), rha.BlockWrite(0, 0, raw), rha.SetXattr(b"f", b"user.x", raw)]


def test_non_contiguous_payload_is_refused():
    with pytest.raises(BufferError):
        rha.Write("f", 0, memoryview(b"abcdef")[::2])


def test_str_payload_is_refused():
    with pytest.raises(TypeError):
        rha.Write("f", 0, "text")  # type: ignore[arg-type]


def test_paths_accept_str_bytes_and_pathlike():
    import pathlib

    ops = [
        rha.Delete("a/b"),
        rha.Delete(b"a/b"),
        rha.Delete(bytearray(b"a/b")),
        rha.Delete(memoryview(b"a/b")),
        rha.Delete(pathlib.PurePosixPath("a/b")),
    ]
    assert {op.path for op in ops} == {"a/b"}
    assert rha.Delete("caf\N{LATIN SMALL LETTER E WITH ACUTE}").path == "café"
    with pytest.raises(TypeError):
        rha.Delete(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "feed",
    [bytes, bytearray, memoryview, lambda b: array.array("B", b)],
    ids=["bytes", "bytearray", "memoryview", "array"],
)
def test_reader_feed_accepts_buffers(feed):
    data = encode(ALL_OPS[:5])
    r = rha.JournalReader()
    r.feed(feed(data))
    assert list(r) == expected(ALL_OPS[:5])
    assert r.finish().clean


def test_reader_holds_fed_buffer_without_copying_until_consumed():
    data = bytearray(encode(ALL_OPS[:3]))
    r = rha.JournalReader()
    r.feed(data)
    with pytest.raises(BufferError):  # the library reads this very buffer
        data.extend(b"x")
    assert len(list(r)) == 3
    data.extend(b"x")  # consumed and released: resizable again
    r.close()


def test_iteration_resumes_after_more_input():
    data = encode(ALL_OPS[:4])
    r = rha.JournalReader()
    half = len(data) // 2
    r.feed(data[:half])
    first = list(r)
    assert list(r) == []
    r.feed(data[half:])
    assert first + list(r) == expected(ALL_OPS[:4])
    assert r.next_record() is None
    assert r.offset == len(data)


def test_first_seq_and_stream_header_options():
    data = encode(ALL_OPS[:3], first_seq=1000)
    assert [r.seq for r in decode(data, first_seq=1000)[0]] == [1000, 1001, 1002]
    frames = data[16:]
    records, end = decode(frames, stream_header=False)
    assert [r.seq for r in records] == [1000, 1001, 1002]
    assert end.offset == len(frames)


def test_default_timestamp_is_now():
    before = time.time_ns()
    with rha.JournalWriter() as w:
        w.append(rha.TxBegin(1))
        w.flush()
        data = w.drain()
    after = time.time_ns()
    [rec] = decode(data)[0]
    assert before <= rec.timestamp_ns <= after


def test_writer_state_and_drain():
    w = rha.JournalWriter(first_seq=5)
    assert w.next_seq == 5
    assert w.append(rha.Delete("x"), 1) == 5
    assert w.append(rha.Delete("y"), 2) == 6
    assert w.next_seq == 7
    head = w.drain()  # the open batch is not ready before flush
    w.flush()
    assert w.pending > 0
    sink = io.BytesIO()
    n = w.write_to(sink)
    assert n == len(sink.getvalue()) and w.pending == 0
    assert w.bytes_written == n
    data = head + sink.getvalue()
    assert [r.seq for r in decode(data)[0]] == [5, 6]
    assert w.drain() == b""
    w.close()


def test_write_to_handles_short_writes():
    class Trickle(io.RawIOBase):
        def __init__(self):
            self.parts = []

        def writable(self):
            return True

        def write(self, b):
            self.parts.append(bytes(b[:3]))
            return min(3, len(b))

    w = rha.JournalWriter()
    w.append(rha.Write("f", 0, b"0123456789"), T0)
    w.flush()
    sink = Trickle()
    w.write_to(sink)
    assert decode(b"".join(sink.parts))[0] == [rha.Record(1, T0, rha.Write(b"f", 0, b"0123456789"))]


def test_write_and_read_journal_file(tmp_path):
    path = tmp_path / "j.rhaj"
    n = rha.write_journal(path, ALL_OPS, compression="zstd")
    assert n == path.stat().st_size
    stream = rha.read_journal(path, chunk_size=1000)
    assert stream.end is None
    assert [r.op for r in stream] == ALL_OPS
    assert stream.end == rha.End(False, n, 0)
    # str path, tiny chunks
    assert len(list(rha.read_journal(str(path), chunk_size=1))) == len(ALL_OPS)


def test_read_journal_from_file_objects(tmp_path):
    data = encode(ALL_OPS)
    with open(tmp_path / "j", "wb") as f:
        f.write(data)
    with open(tmp_path / "j", "rb") as f:
        stream = rha.read_journal(f, chunk_size=4096)
        assert list(stream) == expected(ALL_OPS)
        assert not f.closed  # a caller's file stays open
    assert stream.end.clean

    class ReadOnly:  # no readinto
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def read(self, n):
            return self.inner.read(n)

    stream = rha.read_journal(ReadOnly(data), chunk_size=100)
    assert list(stream) == expected(ALL_OPS)
    assert stream.end == rha.End(False, len(data), 0)


def test_read_journal_from_bytes_like():
    data = encode(ALL_OPS[:6])
    for source in (data, bytearray(data), memoryview(data)):
        stream = rha.read_journal(source)
        assert list(stream) == expected(ALL_OPS[:6])
        assert stream.end.offset == len(data)


def test_read_journal_refuses_text_files(tmp_path):
    (tmp_path / "t").write_text("x")
    with open(tmp_path / "t") as f, pytest.raises(TypeError, match="binary"):
        rha.read_journal(f)


def test_read_journal_close_early(tmp_path):
    path = tmp_path / "j"
    rha.write_journal(path, ALL_OPS)
    with rha.read_journal(path, chunk_size=64) as stream:
        assert next(stream).seq == 1
    assert stream.end is None
    assert stream._file.closed


def test_write_journal_keeps_records(tmp_path):
    records = [rha.Record(10 + i, 1000 + i, op) for i, op in enumerate(ALL_OPS[:4])]
    buf = io.BytesIO()
    rha.write_journal(buf, records)
    assert list(rha.read_journal(buf.getvalue())) == records


def test_writer_open_writes_as_batches_close(tmp_path):
    path = tmp_path / "j"
    with rha.JournalWriter.open(path, batch_bytes=4096) as w:
        for i in range(100):
            w.append(rha.Write("f", i * 100, b"x" * 100), T0 + i)
        during = w.bytes_written  # full batches went to the file already
    assert 0 < during < w.bytes_written == path.stat().st_size
    records, end = decode(path.read_bytes())
    assert len(records) == 100 and end.clean


def test_writer_open_sync(tmp_path):
    path = tmp_path / "j"
    w = rha.JournalWriter.open(path)
    w.append(rha.Mkdir("d", 0o700), T0)
    w.sync()
    assert decode(path.read_bytes())[0] == [rha.Record(1, T0, rha.Mkdir(b"d", 0o700))]
    w.close()
    w.close()  # idempotent


def test_context_managers_close():
    with rha.JournalWriter() as w:
        w.append(rha.Delete("x"), T0)
    assert w.closed
    with pytest.raises(rha.InvalidStateError, match="closed"):
        w.append(rha.Delete("x"), T0)
    with rha.JournalReader() as r:
        r.feed(b"\x00")
    assert r.closed
    with pytest.raises(rha.InvalidStateError):
        r.feed(b"more")


def test_one_writer_shared_by_threads():
    from concurrent.futures import ThreadPoolExecutor

    w = rha.JournalWriter(batch_bytes=512)
    ops = [rha.Write("f", i, b"t" * 50) for i in range(400)]
    with ThreadPoolExecutor(4) as pool:
        seqs = list(pool.map(lambda op: w.append(op, T0), ops))
    assert sorted(seqs) == list(range(1, 401))
    w.flush()
    records, end = decode(w.drain())
    assert sorted(r.op.offset for r in records) == list(range(400))
    assert end.clean
