"""The replication session (``rha.Session``): two sides wired in memory,
over a real socket pair in two threads, and shared between threads."""

from __future__ import annotations

import io
import socket
import threading
from typing import List, Tuple

import pytest

import rha

MS = 1_000_000
SEC = 1000 * MS
SCENARIO = bytes(range(16))


def make(role: str, stored: int, window: int = 1 << 20, now: int = 0, **kw) -> rha.Session:
    return rha.Session(
        role,
        node=bytes([1 if role == "master" else 2]) * 16,
        scenario=SCENARIO,
        now=now,
        generations=rha.Generations(current=1),
        stored=(1, stored),
        heartbeat_ms=1000,
        timeout_ms=5000,
        window=window,
        name="alpha" if role == "master" else "beta",
        **kw,
    )


def exchange(a: rha.Session, b: rha.Session, now: int, chunk: int = 7) -> None:
    """Delivers both ways until neither side has anything to send."""
    while True:
        ab, ba = a.take_output(), b.take_output()
        if not ab and not ba:
            return
        for i in range(0, len(ab), chunk):
            b.receive(ab[i : i + chunk], now)
        a.receive(ba, now)


def pair(window: int = 1 << 20) -> Tuple[rha.Session, rha.Session]:
    m, r = make("master", 10), make("replica", 4, window)
    exchange(m, r, MS)
    assert isinstance(m.poll_event(), rha.Connected)
    assert isinstance(r.poll_event(), rha.Connected)
    return m, r


def test_handshake_and_the_peers_hello():
    with make("master", 10) as m, make("replica", 4, 1000) as r:
        assert m.peer is None and not m.connected and not m.ended
        assert m.pending > 8 and m.deadline == 1 * SEC
        exchange(m, r, MS)
        for side in (m, r):
            (e,) = side.drain_events()
            assert isinstance(e, rha.Connected)
            assert (e.version, e.resume_after, e.sync_needed) == (1, rha.SessionPoint(1, 4), False)
            assert side.connected and side.last_seq == 4
        assert m.window == 1000
        peer = m.peer
        assert peer is not None
        assert (peer.role, peer.name, peer.window, peer.stored) == ("replica", "beta", 1000, rha.SessionPoint(1, 4))
        assert peer.node == b"\x02" * 16 and peer.scenario == SCENARIO
        assert peer.generations == rha.Generations(current=1)
        e = r.peer
        assert e is not None and (e.role, e.name, e.heartbeat_ms) == ("master", "alpha", 1000)


def test_an_empty_replica_needs_a_sync():
    m = make("master", 10)
    r = rha.Session("replica", node=b"r" * 16, scenario=SCENARIO, now=0)
    exchange(m, r, 0)
    (e,) = r.drain_events()
    assert isinstance(e, rha.Connected) and e.sync_needed and e.resume_after == rha.SessionPoint(1, 0)


def journal_frames(first_seq: int, n: int) -> bytes:
    """Real journal frames for records first_seq.. (the journal without its
    16-byte stream header)."""
    out = io.BytesIO()
    rha.write_journal(out, [rha.Write("f", i, bytes([65 + i]) * 100) for i in range(n)], first_seq=first_seq)
    return out.getvalue()[16:]


def test_journal_frames_arrive_byte_exact():
    m, r = pair()
    frames = journal_frames(5, 3)
    assert m.send_journal(5, 7, frames)
    assert m.last_seq == 7
    exchange(m, r, 2 * MS)
    (e,) = r.drain_events()
    assert isinstance(e, rha.JournalFrames)
    assert (e.epoch, e.first, e.last, e.frames) == (1, 5, 7, frames)
    assert r.last_seq == 7
    with pytest.raises(rha.OutOfOrderError, match="continue at sequence number 8"):
        m.send_journal(9, 9, b"x")
    with pytest.raises(rha.InvalidArgumentError, match="empty"):
        m.send_journal(8, 8, b"")
    with pytest.raises(rha.WrongRoleError):
        r.send_journal(8, 8, b"x")


def test_a_full_window_waits_for_a_grant():
    m, r = pair(window=100)
    assert m.send_journal(5, 5, b"a" * 60)
    assert m.window == 40
    assert not m.send_journal(6, 6, b"b" * 60)  # blocked: nothing sent
    assert m.last_seq == 5
    exchange(m, r, 2 * MS)
    assert isinstance(r.poll_event(), rha.JournalFrames)
    with pytest.raises(rha.WrongRoleError):
        m.grant(100)
    r.grant(100)
    exchange(m, r, 3 * MS)
    assert m.window == 140
    assert m.send_journal(6, 6, b"b" * 60)


def test_frames_larger_than_a_message_are_refused():
    m = make("master", 10, max_body=4096)  # the least a hello may announce
    r = make("replica", 4)
    exchange(m, r, MS)
    assert m.connected
    with pytest.raises(rha.MessageTooLargeError, match="4073 bytes"):
        m.send_journal(5, 5, b"x" * 4073)
    assert m.send_journal(5, 5, b"x" * 4072)


def test_the_peers_smaller_body_limit_bounds_what_is_sent():
    m = make("master", 10)
    r = make("replica", 4, max_body=4096)
    exchange(m, r, MS)
    assert m.connected
    with pytest.raises(rha.MessageTooLargeError, match="4073 bytes"):
        m.send_journal(5, 5, b"x" * 4073)
    assert m.send_journal(5, 5, b"x" * 4072)


def test_acknowledgements():
    m, r = pair()
    m.send_journal(5, 8, b"frames")
    exchange(m, r, 2 * MS)
    r.drain_events()
    r.ack("stored", 1, 6)
    with pytest.raises(rha.BadAckError, match="beyond the last record received"):
        r.ack("stored", 1, 9)
    with pytest.raises(rha.BadAckError, match="applied beyond stored"):
        r.ack("applied", 1, 7)
    r.ack("stored", 1, 8)
    with pytest.raises(rha.BadAckError, match="behind"):
        r.ack("stored", 1, 7)
    r.ack("applied", 1, 6)
    with pytest.raises(rha.InvalidArgumentError):
        r.ack("durable", 1, 6)
    exchange(m, r, 3 * MS)
    assert m.drain_events() == [
        rha.Acked("stored", rha.SessionPoint(1, 6)),
        rha.Acked("stored", rha.SessionPoint(1, 8)),
        rha.Acked("applied", rha.SessionPoint(1, 6)),
    ]


def test_control_requests():
    m, r = pair()
    m.pause()
    m.bookmark("before upgrade", (1, 4))
    m.resume()
    with pytest.raises(rha.WrongRoleError):
        r.pause()
    exchange(m, r, 2 * MS)
    assert r.drain_events() == [
        rha.ControlRequest("pause"),
        rha.ControlRequest("bookmark", rha.SessionPoint(1, 4), "before upgrade"),
        rha.ControlRequest("resume"),
    ]


def test_silence_ends_the_session_on_both_sides():
    m, r = pair()
    ticks = 0
    while r.deadline is not None and ticks < 100:
        last = r.deadline
        r.tick(last)
        ticks += 1
    assert last == 5 * SEC + MS
    events = r.drain_events()
    assert isinstance(events[0], rha.Silent)
    closed = events[1]
    assert isinstance(closed, rha.Closed) and closed.reason == "timeout" and not closed.by_peer
    assert r.ended and not r.connected
    with pytest.raises(rha.SessionNotConnectedError):
        r.grant(1)
    m.take_output()
    m.receive(r.take_output(), 6 * SEC)
    (e,) = m.drain_events()
    assert isinstance(e, rha.Closed) and e.reason == "timeout" and e.by_peer


def test_end_with_a_reason_and_text():
    m, r = pair()
    with pytest.raises(rha.InvalidArgumentError):
        m.end("bored")
    m.end("done", "operator shutdown")
    assert m.drain_events() == [rha.Closed("done", "operator shutdown", False, 0)]
    with pytest.raises(rha.SessionNotConnectedError):
        m.send_journal(5, 5, b"x")
    exchange(m, r, 2 * MS)
    assert r.drain_events() == [rha.Closed("done", "operator shutdown", True, 0)]


def test_garbage_from_the_peer_closes_with_protocol():
    r = make("replica", 4)
    r.receive(b"GET / HTTP/1.1\r\n\r\n", MS)
    (e,) = r.drain_events()
    assert isinstance(e, rha.Closed) and e.reason == "protocol" and e.code == 5
    assert "preface" in e.text and not e.by_peer
    m = make("master", 10)
    m.receive(r.take_output(), 2 * MS)
    events = m.drain_events()
    assert isinstance(events[-1], rha.Closed) and events[-1].by_peer and events[-1].reason == "protocol"


def test_bad_arguments():
    with pytest.raises(rha.InvalidArgumentError, match="role"):
        rha.Session("observer", node=b"n" * 16, scenario=SCENARIO, now=0)
    with pytest.raises(rha.InvalidArgumentError, match="16 bytes"):
        rha.Session("master", node=b"short", scenario=SCENARIO, now=0)
    with pytest.raises(rha.InvalidArgumentError, match="timeout_ms"):
        rha.Session("master", node=b"n" * 16, scenario=SCENARIO, now=0, timeout_ms=0)
    with pytest.raises(rha.SessionNotConnectedError):
        make("master", 1).pause()
    s = make("master", 1)
    s.close()
    assert s.closed
    with pytest.raises(rha.InvalidStateError, match="closed"):
        s.take_output()


def test_errors_are_in_the_session_family():
    for cls in (rha.SessionNotConnectedError, rha.WrongRoleError, rha.OutOfOrderError, rha.MessageTooLargeError, rha.BadAckError):
        assert issubclass(cls, rha.SessionError) and issubclass(cls, rha.RhaError)


def run_side(s: rha.Session, sock: socket.socket, script, log: List[rha.SessionEvent]) -> None:
    """Drives `s` over `sock` until it ends, calling `script(s, event)` for
    each event, with the real monotonic clock."""
    sock.settimeout(0.05)
    while True:
        out = s.take_output()
        if out:
            sock.sendall(out)
        if s.ended:
            return
        try:
            data = sock.recv(65536)
        except socket.timeout:
            data = b""
        else:
            if not data:  # the peer hung up
                return
        now = rha.monotonic_ns()
        s.receive(data, now)
        deadline = s.deadline
        if deadline is not None and now >= deadline:
            s.tick(now)
        for e in s.events():
            log.append(e)
            script(s, e)


def test_two_sessions_over_a_socketpair_in_two_threads():
    a, b = socket.socketpair()
    now = rha.monotonic_ns()
    frames = [journal_frames(5 + i, 1) for i in range(20)]
    master = make("master", 24, window=0, now=now)
    replica = make("replica", 4, window=3 * len(frames[0]), now=now)
    got: List[bytes] = []
    mlog: List[rha.SessionEvent] = []
    rlog: List[rha.SessionEvent] = []
    state = {"next": 0}

    def master_script(s: rha.Session, e: rha.SessionEvent) -> None:
        if isinstance(e, (rha.Connected, rha.Acked)):
            while state["next"] < len(frames):
                i = state["next"]
                if not s.send_journal(5 + i, 5 + i, frames[i]):
                    break  # wait for a grant (the replica acks as it grants)
                state["next"] += 1
        if isinstance(e, rha.Acked) and e.kind == "applied" and e.at.seq == 24:
            s.end("done", "all sent")

    def replica_script(s: rha.Session, e: rha.SessionEvent) -> None:
        if isinstance(e, rha.JournalFrames):
            got.append(e.frames)
            s.ack("stored", e.epoch, e.last)
            s.ack("applied", e.epoch, e.last)
            s.grant(len(e.frames))

    threads = [
        threading.Thread(target=run_side, args=(master, a, master_script, mlog)),
        threading.Thread(target=run_side, args=(replica, b, replica_script, rlog)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()
    a.close()
    b.close()
    assert got == frames
    assert isinstance(rlog[-1], rha.Closed) and rlog[-1].by_peer and rlog[-1].text == "all sent"
    assert isinstance(mlog[-1], rha.Closed) and not mlog[-1].by_peer
    master.close()
    replica.close()


def test_a_session_shared_by_threads_never_crashes():
    m, r = pair(window=1 << 30)
    errors: List[BaseException] = []
    barrier = threading.Barrier(4)

    def hammer(k: int) -> None:
        try:
            barrier.wait()
            for i in range(300):
                if k == 0:
                    try:
                        m.send_journal(m.last_seq + 1, m.last_seq + 1, b"x" * 10)
                    except rha.OutOfOrderError:
                        pass  # another thread moved last_seq between the two calls
                elif k == 1:
                    r.receive(m.take_output(), 2 * MS + i)
                elif k == 2:
                    r.drain_events()
                    _ = (r.window, r.last_seq, r.peer, r.deadline, m.pending)
                else:
                    m.tick(2 * MS + i)
                    m.drain_events()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    r.receive(m.take_output(), 3 * MS)
    r.drain_events()
    assert r.connected
    assert r.last_seq == m.last_seq
    m.close()
    with pytest.raises(rha.InvalidStateError, match="session is closed"):
        _ = m.pending
    r.close()
