"""The replication session (``rha_session``) from Python: sans-IO.

A :class:`Session` is one side (master or replica) of the protocol that
carries a scenario's journal (``docs/session-protocol.md``). It never
touches a socket or a clock: you bring the transport (a socket, a TLS
tunnel, a message queue) and the time (``now``, nanoseconds on your
monotonic clock, such as :func:`rha.monotonic_ns`)::

    with rha.Session("replica", node=my_id, scenario=scenario_id,
                     now=rha.monotonic_ns()) as s:
        sock.sendall(s.take_output())              # preface and hello
        while not s.ended:
            s.receive(sock.recv(65536), now=rha.monotonic_ns())
            for event in s.events():
                if isinstance(event, rha.JournalFrames):
                    store(event.frames)
                    s.ack("stored", event.epoch, event.last)
                    s.grant(len(event.frames))
            sock.sendall(s.take_output())

Call :meth:`Session.tick` when :attr:`Session.deadline` passes (heartbeats,
and the timeout that ends a silent session). Calls on one session are
serialised by a lock, so threads may share it; :meth:`Session.close` (or
leaving a ``with`` block) frees the C object, while :meth:`Session.end`
closes the *protocol* session (a close message to send, then
:class:`Closed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional, Tuple, Union

from ._closeable import Closeable
from ._errors import call, raise_code
from ._native import ffi, lib
from ._session_event import SessionEvent
from ._session_sync import (
    SyncReply,
    SyncRequest,
    reply_message,
    request_message,
    sync_event,
    sync_reply_event,
)

__all__ = [
    "Session",
    "SessionPoint",
    "Generations",
    "PeerHello",
    "SessionEvent",
    "Connected",
    "JournalFrames",
    "Acked",
    "ControlRequest",
    "Silent",
    "Closed",
    "CLOSE_REASONS",
]

_ROLES = {"master": lib.RHA_SESSION_MASTER, "replica": lib.RHA_SESSION_REPLICA}
_ROLE_NAMES = {v: k for k, v in _ROLES.items()}
_ACKS = {"stored": lib.RHA_SESSION_ACK_STORED, "applied": lib.RHA_SESSION_ACK_APPLIED}
_ACK_NAMES = {v: k for k, v in _ACKS.items()}
_CONTROL_NAMES = {
    lib.RHA_SESSION_CONTROL_PAUSE: "pause",
    lib.RHA_SESSION_CONTROL_RESUME: "resume",
    lib.RHA_SESSION_CONTROL_BOOKMARK: "bookmark",
}

CLOSE_REASONS = {
    "done": lib.RHA_SESSION_REASON_DONE,
    "version": lib.RHA_SESSION_REASON_VERSION,
    "scenario": lib.RHA_SESSION_REASON_SCENARIO,
    "role": lib.RHA_SESSION_REASON_ROLE,
    "generations": lib.RHA_SESSION_REASON_GENERATIONS,
    "protocol": lib.RHA_SESSION_REASON_PROTOCOL,
    "timeout": lib.RHA_SESSION_REASON_TIMEOUT,
    "full": lib.RHA_SESSION_REASON_FULL,
    "failure": lib.RHA_SESSION_REASON_FAILURE,
}
"""The protocol's close reasons by name, with their codes."""
_REASON_NAMES = {v: k for k, v in CLOSE_REASONS.items()}


@dataclass(frozen=True)
class SessionPoint:
    """A point in a scenario's journal: the epoch (which master's journal)
    and the last record covered (``seq``, 0 for none)."""

    epoch: int = 0
    seq: int = 0


PointLike = Union[SessionPoint, Tuple[int, int]]
"""A :class:`SessionPoint` or an ``(epoch, seq)`` tuple."""


@dataclass(frozen=True)
class Generations:
    """A node's data generations, which decide in the handshake who may be
    the source of the data: ``current`` (0: no data), ``bitmap`` (where
    difference tracking started, 0 none) and two older ones, newest first."""

    current: int = 0
    bitmap: int = 0
    history: Tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class PeerHello:
    """What the peer said about itself first (:attr:`Session.peer`)."""

    role: str
    node: bytes
    scenario: bytes
    generations: Generations
    stored: SessionPoint
    applied: SessionPoint
    heartbeat_ms: int
    window: int
    name: str
    version_min: int
    version_max: int


@dataclass(frozen=True)
class Connected(SessionEvent):
    """The handshake is done. The journal resumes after ``resume_after``;
    ``sync_needed``: the replica's data must be synchronised first (empty,
    older, of another epoch, behind what the master holds, or the master
    asked for a resync); ``sync``: a sync over this session comes first
    (the master was made with ``can_sync``): the master runs it with
    :meth:`Session.send_sync`, the replica answers with
    :meth:`Session.send_sync_reply`, and the journal continues after
    ``resume_after`` meanwhile (the replica applies it once the sync is
    done)."""

    version: int
    resume_after: SessionPoint
    sync_needed: bool
    peer: Optional[PeerHello] = None
    sync: bool = False


@dataclass(frozen=True)
class JournalFrames(SessionEvent):
    """A replica received the journal frames of records ``first..=last``
    of ``epoch``, the next in order (the journal's own encoding, without
    its stream header)."""

    epoch: int
    first: int
    last: int
    frames: bytes = field(repr=False)


@dataclass(frozen=True)
class Acked(SessionEvent):
    """A master heard that records up to ``at`` are ``"stored"`` (it may
    reclaim them) or ``"applied"`` on the replica."""

    kind: str
    at: SessionPoint


@dataclass(frozen=True)
class ControlRequest(SessionEvent):
    """A replica received ``"pause"``, ``"resume"`` or ``"bookmark"`` (then
    with ``at`` and ``name``)."""

    op: str
    at: SessionPoint = SessionPoint()
    name: str = ""


@dataclass(frozen=True)
class Silent(SessionEvent):
    """Nothing was heard from the peer within the timeout; a
    :class:`Closed` with reason ``"timeout"`` follows."""


@dataclass(frozen=True)
class Closed(SessionEvent):
    """The session ended: ``reason`` (a key of :data:`CLOSE_REASONS`, or
    ``"code N"`` for one a newer peer sent; ``code`` is the number), details
    in ``text``, and whether the peer ended it."""

    reason: str
    text: str
    by_peer: bool
    code: int = 0


def _point(p: PointLike) -> SessionPoint:
    return p if isinstance(p, SessionPoint) else SessionPoint(int(p[0]), int(p[1]))


def _c_point(p: Any) -> SessionPoint:
    return SessionPoint(int(p.epoch), int(p.seq))


def _view(b: Any) -> bytes:
    return bytes(ffi.buffer(b.ptr, b.len)) if b.len else b""


def _text(value: Union[str, bytes]) -> Tuple[Any, int]:
    """A pointer (which keeps the bytes alive) and length for C."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return (ffi.from_buffer(data) if data else ffi.NULL), len(data)


def _id(value: bytes, what: str) -> bytes:
    value = bytes(value)
    if len(value) != 16:
        raise_code(lib.RHA_INVALID_ARGUMENT, f"`{what}` must be 16 bytes, not {len(value)}")
    return value


class Session(Closeable):
    """One side of a replication session (``rha_session``).

    Args:
        role: ``"master"`` or ``"replica"``.
        node: This node's identity, 16 bytes.
        scenario: The scenario's identity, 16 bytes, the same on both sides.
        now: The time the session starts (ns, your monotonic clock; every
            ``now`` of this session is on that clock).
        generations: This node's data generations.
        stored: A master: the last record it holds; a replica: the last one
            durable in its spool (where the journal resumes).
        applied: A replica: the last record applied durably.
        heartbeat_ms: Milliseconds between heartbeats [3000].
        timeout_ms: Milliseconds of silence that end the session [30000].
        window: A replica: bytes of frames accepted before its first
            :meth:`grant` [8 MiB].
        max_body: The largest message body accepted [16 MiB].
        name: A name for the peer's logs.
        can_sync: A master: it can synchronise a replica over the session
            (it has a tree to sync from); a replica that needs a sync then
            gets one (:attr:`Connected.sync`) [False].
        first_held: A master: the first record it still holds (records
            before it were reclaimed); a replica that stored less needs a
            sync. 0 or 1: all [0].
        resync: A master: the replica needs a sync whatever its points say
            (this master's spool overflowed) [False].

    Raises:
        InvalidArgumentError: for an unknown role, identities that are not
            16 bytes, or a zero interval.
    """

    _what = "session"

    def __init__(
        self,
        role: str,
        node: bytes,
        scenario: bytes,
        *,
        now: int,
        generations: Generations = Generations(),
        stored: PointLike = SessionPoint(),
        applied: PointLike = SessionPoint(),
        heartbeat_ms: int = 3000,
        timeout_ms: int = 30000,
        window: int = 8 << 20,
        max_body: int = 16 << 20,
        name: str = "",
        can_sync: bool = False,
        first_held: int = 0,
        resync: bool = False,
    ) -> None:
        if role not in _ROLES:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown session role {role!r}: 'master' or 'replica'")
        c = ffi.new("rha_session_config *")
        lib.rha_session_config_init(c)
        c.role = _ROLES[role]
        ffi.memmove(c.node, _id(node, "node"), 16)
        ffi.memmove(c.scenario, _id(scenario, "scenario"), 16)
        c.generations.current = generations.current
        c.generations.bitmap = generations.bitmap
        c.generations.history = list(generations.history)
        for dst, src in ((c.stored, _point(stored)), (c.applied, _point(applied))):
            dst.epoch, dst.seq = src.epoch, src.seq
        c.heartbeat_ms = heartbeat_ms
        c.timeout_ms = timeout_ms
        c.window = window
        c.max_body = max_body
        ptr, length = _text(name)
        c.name = {"ptr": ptr, "len": length}
        c.can_sync = int(bool(can_sync))
        c.first_held = first_held
        c.resync = int(bool(resync))
        out = ffi.new("rha_session **")
        call(lib.rha_session_new, c, now, out)
        self._own(out[0], lib.rha_session_free)

    # ----- bytes and time -----

    def receive(self, data: bytes, now: int) -> None:
        """Feeds bytes received from the peer at ``now``, in any chunking.
        Bytes that break the protocol end the session (a :class:`Closed`
        event with reason ``"protocol"``), they raise nothing."""
        data = bytes(data)
        with self._use() as h:
            call(lib.rha_session_receive, h, ffi.from_buffer(data) if data else ffi.NULL, len(data), now)

    @property
    def pending(self) -> int:
        """Bytes waiting in :meth:`take_output`."""
        with self._use() as h:
            return int(lib.rha_session_pending(h))

    def take_output(self) -> bytes:
        """Everything waiting to be sent to the peer, in order (``b""`` if
        nothing). Call after every call on the session and send it all."""
        with self._use() as h:
            n = int(lib.rha_session_pending(h))
            if n == 0:
                return b""
            room = ffi.new("uint8_t[]", n)
            out = ffi.new("rha_out_buffer *", {"dst": room, "size": n, "pos": 0})
            call(lib.rha_session_take_output, h, out)
            return bytes(ffi.buffer(room, out.pos))

    @property
    def deadline(self) -> Optional[int]:
        """When :meth:`tick` must be called next (ns), or None once ended."""
        out = ffi.new("uint64_t *")
        with self._use() as h:
            return int(out[0]) if lib.rha_session_poll_timeout(h, out) else None

    def tick(self, now: int) -> None:
        """Lets time pass to ``now``: sends a heartbeat when due, ends a
        session whose peer was silent for the timeout."""
        with self._use() as h:
            call(lib.rha_session_handle_timeout, h, now)

    # ----- events -----

    def poll_event(self) -> Optional[SessionEvent]:
        """The next event, or None."""
        e = ffi.new("rha_session_event *")
        e.struct_size = ffi.sizeof("rha_session_event")
        with self._use() as h:
            if call(lib.rha_session_poll_event, h, e) == lib.RHA_DONE:
                return None
            kind = e.kind
            if kind == lib.RHA_SESSION_EVENT_CONNECTED:
                return Connected(
                    int(e.version), _c_point(e.resume_after), bool(e.sync_needed), self._peer(h), bool(e.sync)
                )
            if kind == lib.RHA_SESSION_EVENT_JOURNAL:
                return JournalFrames(int(e.epoch), int(e.first), int(e.last), _view(e.frames))
            if kind == lib.RHA_SESSION_EVENT_ACKED:
                return Acked(_ACK_NAMES.get(e.ack_kind, "unknown"), _c_point(e.at))
            if kind == lib.RHA_SESSION_EVENT_CONTROL:
                return ControlRequest(
                    _CONTROL_NAMES.get(e.control, "unknown"), _c_point(e.at), _view(e.name).decode("utf-8", "replace")
                )
            if kind == lib.RHA_SESSION_EVENT_SYNC:
                return sync_event(e)
            if kind == lib.RHA_SESSION_EVENT_SYNC_REPLY:
                return sync_reply_event(e)
            if kind == lib.RHA_SESSION_EVENT_SILENT:
                return Silent()
            if kind == lib.RHA_SESSION_EVENT_CLOSED:
                code = int(e.reason)
                return Closed(
                    _REASON_NAMES.get(code, f"code {code}"),
                    _view(e.text).decode("utf-8", "replace"),
                    bool(e.by_peer),
                    code,
                )
            return SessionEvent()  # a kind a newer library adds

    def events(self) -> Iterator[SessionEvent]:
        """Takes the queued events, oldest first."""
        while True:
            e = self.poll_event()
            if e is None:
                return
            yield e

    def drain_events(self) -> List[SessionEvent]:
        """The queued events as a list."""
        return list(self.events())

    # ----- requests -----

    def send_journal(self, first: int, last: int, frames: bytes) -> bool:
        """A master: sends the journal frames of records ``first..=last``
        (the next in order). Returns False, sending nothing, when the
        replica's window lacks room (:attr:`window`): send the same frames
        after its next grant.

        Raises:
            WrongRoleError, SessionNotConnectedError, OutOfOrderError,
            MessageTooLargeError; InvalidArgumentError for no frames.
        """
        frames = bytes(frames)
        with self._use() as h:
            ptr = ffi.from_buffer(frames) if frames else ffi.NULL
            return bool(call(lib.rha_session_send_journal, h, first, last, ptr, len(frames)) == lib.RHA_OK)

    def grant(self, nbytes: int) -> None:
        """A replica: grants the master ``nbytes`` more bytes of frames."""
        with self._use() as h:
            call(lib.rha_session_grant, h, nbytes)

    def ack(self, kind: str, epoch: int, seq: int) -> None:
        """A replica: records up to ``(epoch, seq)`` are ``"stored"`` or
        ``"applied"`` durably.

        Raises:
            BadAckError: going back, beyond what was received, another
                epoch, or applied beyond stored.
        """
        if kind not in _ACKS:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown acknowledgement {kind!r}: 'stored' or 'applied'")
        with self._use() as h:
            call(lib.rha_session_ack, h, _ACKS[kind], epoch, seq)

    def _control(self, kind: int, at: PointLike = (0, 0), name: str = "") -> None:
        p = _point(at)
        ptr, length = _text(name)
        with self._use() as h:
            call(lib.rha_session_control, h, kind, p.epoch, p.seq, ptr, length)

    def pause(self) -> None:
        """A master: asks the replica to stop applying (it keeps storing)."""
        self._control(lib.RHA_SESSION_CONTROL_PAUSE)

    def resume(self) -> None:
        """A master: asks the replica to apply again."""
        self._control(lib.RHA_SESSION_CONTROL_RESUME)

    def bookmark(self, name: str, at: PointLike) -> None:
        """A master: asks the replica to set bookmark ``name`` after ``at``."""
        self._control(lib.RHA_SESSION_CONTROL_BOOKMARK, at, name)

    def send_sync(self, request: SyncRequest) -> None:
        """A master: sends a message of a sync over the session
        (:class:`SyncBegin`, :class:`SyncRecords`,
        :class:`SyncBlocksRequest`, :class:`SyncCheck`,
        :class:`SyncFinish`). The session checks only the direction; the
        order of a run is yours to keep (``docs/session-protocol.md``,
        "Sync").

        Raises:
            InvalidArgumentError: not a sync request, an unknown mode, a
                block size that is neither 0 nor a power of two from 4 KiB to
                16 MiB, no frames, a path that is not a valid relative path,
                or a hash that is not 32 bytes.
            WrongRoleError, SessionNotConnectedError, MessageTooLargeError.
        """
        m = request_message(request)
        with self._use() as h:
            call(lib.rha_session_send_sync, h, m.c)

    def send_sync_reply(self, reply: SyncReply) -> None:
        """A replica: answers the master's sync (:class:`SyncTree`,
        :class:`SyncBlockHashes`, :class:`SyncMismatch`,
        :class:`SyncProgress`, :class:`SyncDone`).

        Raises:
            InvalidArgumentError: not a sync reply, block hashes that are not
                16 bytes each, or a path that is not a valid relative path.
            WrongRoleError, SessionNotConnectedError, MessageTooLargeError.
        """
        m = reply_message(reply)
        with self._use() as h:
            call(lib.rha_session_send_sync_reply, h, m.c)

    def end(self, reason: str = "done", text: str = "") -> None:
        """Ends the protocol session: a close message waits in
        :meth:`take_output` and a :class:`Closed` event follows. Does
        nothing once ended. (:meth:`close` frees the object.)"""
        if reason not in CLOSE_REASONS:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown close reason {reason!r}")
        ptr, length = _text(text)
        with self._use() as h:
            call(lib.rha_session_close, h, CLOSE_REASONS[reason], ptr, length)

    # ----- state -----

    @property
    def connected(self) -> bool:
        """Whether the handshake is done and the session not ended."""
        with self._use() as h:
            return bool(lib.rha_session_is_connected(h))

    @property
    def ended(self) -> bool:
        """Whether the session has ended (its last bytes may still wait)."""
        with self._use() as h:
            return bool(lib.rha_session_is_closed(h))

    @property
    def window(self) -> int:
        """A master: bytes of frames the replica accepts now."""
        with self._use() as h:
            return int(lib.rha_session_window(h))

    @property
    def max_body(self) -> int:
        """The largest message body both sides accept (this side's, and
        once the peer's hello was heard the lower of the two): a sync
        message's data fits in this less :data:`SYNC_RECORDS_FIELDS`,
        :data:`SYNC_TREE_FIELDS` or :data:`SYNC_BLOCKS_FIELDS` bytes."""
        with self._use() as h:
            return int(lib.rha_session_max_body(h))

    @property
    def last_seq(self) -> int:
        """The last record sent (master) or received (replica)."""
        with self._use() as h:
            return int(lib.rha_session_last_seq(h))

    @property
    def peer(self) -> Optional[PeerHello]:
        """The peer's hello, once heard."""
        with self._use() as h:
            return self._peer(h)

    @staticmethod
    def _peer(h: Any) -> Optional[PeerHello]:
        p = ffi.new("rha_session_hello *")
        p.struct_size = ffi.sizeof("rha_session_hello")
        if call(lib.rha_session_peer, h, p) == lib.RHA_BLOCKED:
            return None
        return PeerHello(
            role=_ROLE_NAMES.get(p.role, "unknown"),
            node=bytes(ffi.buffer(p.node, 16)),
            scenario=bytes(ffi.buffer(p.scenario, 16)),
            generations=Generations(
                int(p.generations.current),
                int(p.generations.bitmap),
                (int(p.generations.history[0]), int(p.generations.history[1])),
            ),
            stored=_c_point(p.stored),
            applied=_c_point(p.applied),
            heartbeat_ms=int(p.heartbeat_ms),
            window=int(p.window),
            name=_view(p.name).decode("utf-8", "replace"),
            version_min=int(p.version_min),
            version_max=int(p.version_max),
        )
