"""Every handle type shared by several threads: no crash, no RHA_PANIC, no
false corruption.

cffi releases the GIL during C calls, so threads sharing one Python object
are inside the library on the same C handle at once unless the binding
serialises them. Each scenario below hammers one shared handle from
``THREADS`` threads with valid input, so any library error is a false one;
the only error allowed is ``InvalidStateError`` for a call that meets a
handle another thread closed. Each scenario runs in a child interpreter so
that a crash (SIGSEGV, "double free") fails that test instead of killing
the whole run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import rha
from rha._closeable import Closeable

THREADS = 4
ROUNDS = 40
CHUNK = bytes(range(256)) * 64  # 16 KiB, the same for every thread
SEED_DATA = bytes((i * 7919) % 251 for i in range(1 << 17))


def hammer(*workers: Callable[[], None]) -> None:
    """Runs the workers on threads started together; re-raises the first
    error any of them raised."""
    errors: List[BaseException] = []
    start = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def same(work: Callable[[], None]) -> "tuple[Callable[[], None], ...]":
    return tuple(work for _ in range(THREADS))


def closed_ok(work: Callable[[], None]) -> Callable[[], None]:
    """``work``, where meeting a closed handle ends it (that is the clear
    exception a call racing a close gets)."""

    def run() -> None:
        try:
            work()
        except rha.InvalidStateError as e:
            assert "closed" in str(e), e

    return run


# ----- scenarios: each raises on failure; run in a child interpreter -----


def signature_job() -> None:
    big = CHUNK * 16  # large chunks: long C calls, many overlaps
    total = THREADS * ROUNDS * len(big)
    job = rha.SignatureJob(total)
    out: List[bytes] = []
    hammer(*same(lambda: [out.append(job.update(big)) for _ in range(ROUNDS)]))
    out.append(job.finish())
    expected = rha.signature(big * THREADS * ROUNDS)
    assert len(b"".join(out)) == len(expected)


def delta_job() -> None:
    sig = rha.signature(CHUNK * 8, block_len=4096)
    job = rha.DeltaJob(sig)
    out: List[bytes] = []

    def feed() -> None:
        for _ in range(ROUNDS):
            out.append(job.update(CHUNK))
            job.stats

    hammer(*same(feed))
    out.append(job.finish())
    new = CHUNK * THREADS * ROUNDS
    # Every thread fed the same bytes, so the input, and the delta, are
    # those of one thread feeding them all in a row.
    assert len(b"".join(out)) == len(rha.delta(sig, new))


def patch_job() -> None:
    basis = SEED_DATA
    new = SEED_DATA[1000:] + b"tail" * 5000
    d = rha.delta(rha.signature(basis, block_len=1024), new)
    job = rha.PatchJob(basis)
    out: List[bytes] = []
    done = threading.Event()

    def feeder() -> None:
        for i in range(0, len(d), 97):
            out.append(job.update(d[i : i + 97]))
        out.append(job.finish())
        done.set()

    def poker() -> None:
        while not done.is_set():
            try:
                assert job.update(b"") == b""
            except rha.InvalidStateError as e:
                # The feeder finished the job (or closed it) meanwhile: a
                # clear refusal, not a crash.
                assert "closed" in str(e) or "finished" in str(e), e
                return
            job.done
            # The handle's lock is not fair: a poker that takes it again at
            # once can starve the feeder for minutes. Yield between calls.
            time.sleep(0.0002)

    hammer(feeder, *(poker for _ in range(THREADS - 1)))
    # The pokers fed nothing, so they got nothing; the feeder got it all.
    assert b"".join(out) == new


def block_signature_and_plan() -> None:
    replica = SEED_DATA
    master = bytearray(SEED_DATA)
    master[5000] ^= 0xFF
    master[90000] ^= 0xFF
    rsig = rha.Signature.load(rha.signature(replica, block_len=4096))
    msig = rha.Signature.load(rha.signature(bytes(master), block_len=4096))
    plan = rha.compare_fixed(rsig, msig)
    expected = rha.fixed_delta(bytes(master), plan)

    def use() -> None:
        for _ in range(ROUNDS):
            assert rsig.block_count == len(replica) // 4096
            with rha.compare_fixed(rsig, msig) as p:
                assert [r.first_block for r in p.ranges] == [1, 21]
            assert plan.needed_bytes == 2 * 4096
            assert rha.fixed_delta(bytes(master), plan) == expected

    def close_midway() -> None:
        time.sleep(0.05)
        rsig.close()
        plan.close()

    hammer(*(closed_ok(use) for _ in range(THREADS)), close_midway)


def fixed_delta_job() -> None:
    replica = SEED_DATA
    master = bytes(b ^ 1 for b in SEED_DATA)
    plan = rha.compare_fixed(rha.signature(replica, block_len=1024),
                             rha.signature(master, block_len=1024))
    expected = rha.fixed_delta(master, plan)
    job = rha.FixedDeltaJob(master, plan)
    pieces: List[bytes] = []
    hammer(*same(lambda: pieces.extend(job)))
    assert sum(map(len, pieces)) == len(expected)


def journal_writer() -> None:
    w = rha.JournalWriter(batch_bytes=1024)
    drained: List[bytes] = []

    def append() -> None:
        for i in range(ROUNDS):
            w.append(rha.Write("f", i, b"x" * 100), timestamp_ns=i)
            w.pending
            w.next_seq

    hammer(*same(append))
    w.flush()
    drained.append(w.drain())
    w.close()
    seqs = [r.seq for r in rha.read_journal(b"".join(drained))]
    assert seqs == list(range(1, THREADS * ROUNDS + 1))


def journal(n: int) -> bytes:
    with rha.JournalWriter(batch_bytes=512) as w:
        for i in range(n):
            w.append(rha.Write("f", i, b"y" * 64), timestamp_ns=i)
        w.flush()
        return w.drain()


def journal_reader() -> None:
    n = THREADS * ROUNDS
    data = journal(n)
    r = rha.JournalReader()
    seqs: List[int] = []
    chunks = iter(range(0, len(data), 300))
    take = threading.Lock()  # hands each chunk to one thread, in order

    def read() -> None:
        while True:
            # Feeding in order is the caller's business; the race under
            # test is decoding (and feeding) while other threads decode.
            with take:
                start = next(chunks, None)
                if start is None:
                    return
                r.feed(data[start : start + 300])
            for rec in r:
                seqs.append(rec.seq)
            r.offset

    hammer(*same(read))
    seqs.extend(rec.seq for rec in r)
    assert r.finish().clean
    assert sorted(seqs) == list(range(1, n + 1))


def record_stream() -> None:
    n = THREADS * ROUNDS
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, "j")
        path.write_bytes(journal(n))
        stream = rha.read_journal(path, chunk_size=200)
        seqs: List[int] = []
        hammer(*same(lambda: seqs.extend(r.seq for r in stream)))
        assert sorted(seqs) == list(range(1, n + 1))
        assert stream.end is not None and stream.end.clean


def spool_and_reader() -> None:
    with tempfile.TemporaryDirectory() as d:
        spool = rha.Spool(d, min_free_bytes=0, segment_bytes=4096)
        hammer(*same(lambda: [spool.append(rha.Write("f", i, b"z" * 50)) for i in range(ROUNDS)]))
        n = THREADS * ROUNDS
        reader = spool.read(1)
        seqs: List[int] = []

        def read() -> None:
            for rec in reader:
                seqs.append(rec.seq)
                reader.position
                spool.usage()
                spool.events()

        hammer(*same(read))
        assert sorted(seqs) == list(range(1, n + 1)), "each record read exactly once"
        reader.close()

        # Appends, reads and acks racing a close: only "closed" errors.
        reader2 = spool.read(1)

        def more() -> None:
            for i in range(ROUNDS):
                spool.append(rha.Write("g", i, b"w" * 50), durable=False)
                list(reader2)

        def close_midway() -> None:
            time.sleep(0.02)
            spool.close()
            reader2.close()

        hammer(*(closed_ok(more) for _ in range(THREADS)), close_midway)


def replica() -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d, "replica")
        root.mkdir()
        rep = rha.Replica(root)
        done = threading.Event()

        def apply() -> None:
            rep.apply(rha.Record(1, 0, rha.Create("f", 0o644)))
            for i in range(2, ROUNDS + 2):
                rep.apply(rha.Record(i, 0, rha.Write("f", 0, bytes([i % 256]) * 10)))
                if i % 10 == 0:
                    rep.set_bookmark(f"b{i}")
            rep.sync()
            done.set()

        def look() -> None:
            while not done.is_set():
                rep.info()
                rep.points()
                rep.bookmarks()
                time.sleep(0.0002)  # as in patch_job: let the writer in

        hammer(apply, *(look for _ in range(THREADS - 1)))
        assert rep.info().current == ROUNDS + 1
        rep.close()


def scenario() -> None:
    s = rha.Scenario(("alpha", "10.0.0.1", 24), ("beta", "10.0.0.2", 24))
    s.start(0)

    def use() -> None:
        for i in range(ROUNDS):
            s.status
            list(s.actions())
            list(s.events())
            s.tick(i)
            s.save()

    hammer(*same(use))
    s.close()


def session() -> None:
    ids = bytes(range(16))
    m = rha.Session("master", b"m" * 16, ids, now=0, stored=(1, 0), generations=rha.Generations(1))
    r = rha.Session("replica", b"r" * 16, ids, now=0, stored=(1, 0), generations=rha.Generations(1), window=1 << 30)
    for _ in range(3):
        r.receive(m.take_output(), 0)
        m.receive(r.take_output(), 0)
    assert m.connected and r.connected

    def send() -> None:
        for _ in range(ROUNDS):
            try:
                m.send_journal(m.last_seq + 1, m.last_seq + 1, CHUNK[:64])
            except rha.OutOfOrderError:
                pass  # another thread sent between last_seq and the send

    wire = threading.Lock()  # the transport keeps the bytes in order

    def carry() -> None:
        for i in range(ROUNDS):
            with wire:
                r.receive(m.take_output(), i)
            list(r.events())
            list(m.events())
            m.tick(i)
            _ = (m.window, r.last_seq, r.peer, m.deadline, r.pending)

    hammer(send, send, carry, carry)
    r.receive(m.take_output(), ROUNDS)
    assert r.last_seq == m.last_seq and r.connected
    m.close()
    r.close()


def tree_iterators() -> None:
    with tempfile.TemporaryDirectory() as d:
        master = Path(d, "m")
        (master / "sub").mkdir(parents=True)
        for i in range(200):
            (master / "sub" / f"f{i}").write_bytes(b"a" * i)
        replica = Path(d, "r")
        replica.mkdir()
        sig = rha.scan(master)
        empty = rha.scan(replica)
        expected_entries = len(list(rha.read_signature(sig)))
        expected_steps = len(list(rha.compare(sig, empty)))

        entries = rha.read_signature(sig)
        got: List[Any] = []
        hammer(*same(lambda: got.extend(entries)))
        assert len(got) == expected_entries

        steps = rha.compare(sig, empty)
        got = []
        hammer(*same(lambda: got.extend(steps)))
        assert len(got) == expected_steps

        basis = SEED_DATA
        new = SEED_DATA[::-1]
        d_bytes = rha.delta(rha.signature(basis, block_len=1024), new)
        ops = rha.iter_delta_ops(basis, d_bytes, "f")
        got = []
        hammer(*same(lambda: got.extend(ops)))
        assert got and isinstance(got[-1], rha.SetLen)
        assert len(got) == len(rha.delta_to_ops(basis, d_bytes, "f"))


SCENARIOS: Dict[str, Callable[[], None]] = {
    f.__name__: f
    for f in (
        signature_job,
        delta_job,
        patch_job,
        block_signature_and_plan,
        fixed_delta_job,
        journal_writer,
        journal_reader,
        record_stream,
        spool_and_reader,
        replica,
        scenario,
        session,
        tree_iterators,
    )
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_shared_handle(name: str) -> None:
    """One shared handle per type, several threads: the child must exit
    cleanly (no signal, no abort) after checking its results."""
    for attempt in range(3):  # races are probabilistic: try a few times
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), name],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, (
            f"{name} (attempt {attempt + 1}) exited with {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
        assert "panicked" not in proc.stderr, proc.stderr


class _Fake(Closeable):
    """A handle type whose "C calls" are Python, to watch the rules."""

    _what = "fake"

    def __init__(self, concurrent: bool) -> None:
        self._concurrent = concurrent
        self.freed: List[object] = []
        self.inside = 0
        self.most_inside = 0
        self._own(object(), self.freed.append)

    def call(self) -> None:
        with self._use():
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            time.sleep(0.01)
            assert not self.freed, "freed during a call"
            self.inside -= 1


@pytest.mark.parametrize("concurrent", [False, True])
def test_calls_are_serialised_or_concurrent_and_close_waits(concurrent: bool) -> None:
    fake = _Fake(concurrent)

    def calls() -> None:
        for _ in range(5):
            fake.call()

    def close_midway() -> None:
        time.sleep(0.015)
        fake.close()

    hammer(*(closed_ok(calls) for _ in range(THREADS)), close_midway)
    assert fake.freed and fake.closed
    assert (fake.most_inside > 1) == concurrent
    with pytest.raises(rha.InvalidStateError, match="the fake is closed"):
        fake.call()
    fake.close()  # idempotent
    assert len(fake.freed) == 1


def test_a_call_cannot_close_its_own_handle() -> None:
    """Closing a handle from inside a call on it (a callback closing the
    job that runs it) is refused, not a use after free."""
    fake = _Fake(False)
    with fake._use():  # noqa: SLF001 - standing in for a running C call
        with pytest.raises(rha.InvalidStateError, match="inside a call"):
            fake.close()
        assert not fake.freed
    fake.close()
    assert fake.freed


def test_a_failed_constructor_leaves_nothing_to_free() -> None:
    with pytest.raises(rha.InvalidArgumentError):
        rha.SignatureJob(10, strong_hash="md5")


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
