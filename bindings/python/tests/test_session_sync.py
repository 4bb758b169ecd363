"""A sync over the replication session (``rha.Session``): a master that can
sync and an empty replica wired in memory; the master syncs the replica,
the replica answers, both go on to the journal; refused sync messages."""

from __future__ import annotations

import io
from typing import List, Tuple

import pytest

import rha

MS = 1_000_000
SCENARIO = bytes(range(16))


def make(role: str, **kw) -> rha.Session:
    if role == "master":
        kw.setdefault("generations", rha.Generations(current=1))
        kw.setdefault("stored", (1, 10))
    return rha.Session(role, node=bytes([len(role)]) * 16, scenario=SCENARIO, now=0, **kw)


def exchange(a: rha.Session, b: rha.Session, now: int, chunk: int = 5) -> None:
    """Delivers both ways until neither side has anything to send."""
    while True:
        ab, ba = a.take_output(), b.take_output()
        if not ab and not ba:
            return
        for i in range(0, len(ab), chunk):
            b.receive(ab[i : i + chunk], now)
        a.receive(ba, now)


def sync_pair(**kw) -> Tuple[rha.Session, rha.Session]:
    """A master that can sync (holding records up to 10) and an empty
    replica, connected: a sync comes first."""
    m, r = make("master", can_sync=True, first_held=1, **kw), make("replica", **kw)
    exchange(m, r, MS)
    for side in (m, r):
        (e,) = side.drain_events()
        assert isinstance(e, rha.Connected)
        assert e.sync_needed and e.sync and e.resume_after == rha.SessionPoint(1, 10)
    return m, r


def sync_frames(ops: List[rha.Op]) -> bytes:
    """Journal frames of `ops` numbered from 1, without the stream header."""
    out = io.BytesIO()
    rha.write_journal(out, ops, first_seq=1)
    return out.getvalue()[16:]


def test_a_master_syncs_a_replica_then_the_journal_follows():
    m, r = sync_pair()

    m.send_sync(rha.SyncBegin(42, "file", ignore_same=True))
    exchange(m, r, 2 * MS)
    assert r.drain_events() == [rha.SyncBegin(42, "file", True, 64 << 10)]

    r.send_sync_reply(rha.SyncTree(42, b"first piece"))
    r.send_sync_reply(rha.SyncTree(42, b"last piece", last=True))
    exchange(m, r, 3 * MS)
    assert m.drain_events() == [rha.SyncTree(42, b"first piece"), rha.SyncTree(42, b"last piece", True)]

    ops: List[rha.Op] = [rha.Mkdir("dir", 0o755), rha.Create("dir/f", 0o644), rha.Write("dir/f", 0, b"hello")]
    frames = sync_frames(ops)
    digest = bytes(range(32))
    m.send_sync(rha.SyncRecords(42, frames))
    m.send_sync(rha.SyncCheck(42, "dir/f", 5, digest))
    m.send_sync(rha.SyncFinish(42, replay_to=10, entries=2, nbytes=5))
    exchange(m, r, 4 * MS)
    records, check, end = r.drain_events()
    assert records == rha.SyncRecords(42, frames)
    assert isinstance(records, rha.SyncRecords)
    # The frames are the journal's: they read back as the operations sent.
    got = list(rha.read_journal(records.frames, stream_header=False, first_seq=1))
    assert [rec.op for rec in got] == ops and [rec.seq for rec in got] == [1, 2, 3]
    assert check == rha.SyncCheck(42, "dir/f", 5, digest, by_blocks=False)
    assert end == rha.SyncFinish(42, 10, 2, 5)

    r.send_sync_reply(rha.SyncProgress(42, records=3, nbytes=5))
    r.send_sync_reply(rha.SyncDone(42))
    exchange(m, r, 5 * MS)
    assert m.drain_events() == [rha.SyncProgress(42, 3, 5), rha.SyncDone(42)]

    # The journal follows the master's point.
    assert m.last_seq == r.last_seq == 10
    assert m.send_journal(11, 11, b"a journal frame")
    exchange(m, r, 6 * MS)
    (j,) = r.drain_events()
    assert isinstance(j, rha.JournalFrames) and (j.first, j.last) == (11, 11)
    r.ack("stored", 1, 11)
    exchange(m, r, 7 * MS)
    (a,) = m.drain_events()
    assert isinstance(a, rha.Acked) and a.at == rha.SessionPoint(1, 11)
    m.close()
    r.close()


def test_block_requests_hashes_and_mismatches():
    m, r = sync_pair()
    m.send_sync(rha.SyncBegin(5, "block", ignore_same=False, block_size=4096))
    m.send_sync(rha.SyncBlocksRequest(5, 9, "big.img"))
    m.send_sync(rha.SyncCheck(5, "big.img", 8192, b"\x01" * 32, by_blocks=True))
    exchange(m, r, 2 * MS)
    assert r.drain_events() == [
        rha.SyncBegin(5, "block", False, 4096),
        rha.SyncBlocksRequest(5, 9, "big.img"),
        rha.SyncCheck(5, "big.img", 8192, b"\x01" * 32, True),
    ]
    r.send_sync_reply(rha.SyncBlockHashes(5, 9, b"\x03" * 32, last=True))
    r.send_sync_reply(rha.SyncMismatch(5, "big.img"))
    exchange(m, r, 3 * MS)
    assert m.drain_events() == [rha.SyncBlockHashes(5, 9, b"\x03" * 32, True), rha.SyncMismatch(5, "big.img")]
    # A name that is not UTF-8 round-trips (surrogateescape).
    odd = b"caf\xe9".decode("utf-8", "surrogateescape")
    r.send_sync_reply(rha.SyncMismatch(5, odd))
    exchange(m, r, 4 * MS)
    assert m.drain_events() == [rha.SyncMismatch(5, odd)]


def test_a_run_narrowed_to_dirty_paths_carries_them():
    m, r = sync_pair()
    m.send_sync(rha.SyncBegin(6, "file", scope=("logs", "db/data")))
    exchange(m, r, 2 * MS)
    assert r.drain_events() == [rha.SyncBegin(6, "file", True, 64 << 10, ("logs", "db/data"))]
    with pytest.raises(rha.InvalidArgumentError, match="scope"):
        m.send_sync(rha.SyncBegin(7, "file", scope=("../up",)))


def test_without_can_sync_no_sync_comes_first():
    m, r = make("master"), make("replica")
    exchange(m, r, MS)
    (e,) = r.drain_events()
    assert isinstance(e, rha.Connected) and e.sync_needed and not e.sync
    # A master told to resync syncs even a replica at its point.
    m = make("master", can_sync=True, resync=True)
    r = make("replica", generations=rha.Generations(current=1), stored=(1, 10))
    exchange(m, r, MS)
    (e,) = m.drain_events()
    assert isinstance(e, rha.Connected) and e.sync_needed and e.sync


def test_invalid_sync_messages_are_refused():
    m, r = sync_pair(max_body=4096)
    with pytest.raises(rha.InvalidArgumentError, match="not SyncDone"):
        m.send_sync(rha.SyncDone(1))  # type: ignore[arg-type]
    with pytest.raises(rha.InvalidArgumentError, match="not SyncBegin"):
        r.send_sync_reply(rha.SyncBegin(1))  # type: ignore[arg-type]
    with pytest.raises(rha.InvalidArgumentError, match="unknown sync mode 'fast'"):
        m.send_sync(rha.SyncBegin(1, "fast"))
    with pytest.raises(rha.InvalidArgumentError, match="block_size` is 5000"):
        m.send_sync(rha.SyncBegin(1, "block", block_size=5000))
    with pytest.raises(rha.InvalidArgumentError, match="at least one frame"):
        m.send_sync(rha.SyncRecords(1, b""))
    with pytest.raises(rha.InvalidArgumentError, match="path"):
        m.send_sync(rha.SyncBlocksRequest(1, 2, "../up"))
    with pytest.raises(rha.InvalidArgumentError, match="32 bytes, not 3"):
        m.send_sync(rha.SyncCheck(1, "f", 1, b"abc"))
    with pytest.raises(rha.InvalidArgumentError, match="16 bytes each"):
        r.send_sync_reply(rha.SyncBlockHashes(1, 2, b"x" * 15))
    with pytest.raises(rha.WrongRoleError):
        r.send_sync(rha.SyncFinish(1))
    with pytest.raises(rha.WrongRoleError):
        m.send_sync_reply(rha.SyncDone(1))
    # Each kind's data fits within max_body less its fields.
    assert m.max_body == r.max_body == 4096
    room = m.max_body - rha.SYNC_RECORDS_FIELDS
    with pytest.raises(rha.MessageTooLargeError, match="4097 bytes"):
        m.send_sync(rha.SyncRecords(1, b"x" * (room + 1)))
    assert m.pending == 0  # nothing was sent
    m.send_sync(rha.SyncRecords(1, b"x" * room))
    room = r.max_body - rha.SYNC_TREE_FIELDS
    with pytest.raises(rha.MessageTooLargeError):
        r.send_sync_reply(rha.SyncTree(1, b"x" * (room + 1)))
    r.send_sync_reply(rha.SyncTree(1, b"x" * room))
    room = (r.max_body - rha.SYNC_BLOCKS_FIELDS) // 16 * 16
    with pytest.raises(rha.MessageTooLargeError):
        r.send_sync_reply(rha.SyncBlockHashes(1, 2, b"x" * (room + 16)))
    r.send_sync_reply(rha.SyncBlockHashes(1, 2, b"x" * room))
    fresh = make("master", can_sync=True)
    assert fresh.max_body == 16 << 20
    with pytest.raises(rha.SessionNotConnectedError):
        fresh.send_sync(rha.SyncFinish(1))
