"""The ready agents over rha's TLS transport (``rha_master_agent``,
``rha_replica_agent``) and the node identities that authenticate them
(``rha_identity_*``); see ``docs/agents.md``.

A :class:`ReplicaAgent` listens, stores what its master sends, and applies
it to the replica directory; a :class:`MasterAgent` sends the journal
appended to its spool, reconnecting with backoff. Both run on threads of
their own until :meth:`stop` (or the end of a ``with`` block)::

    master_fp = rha.generate_identity("/etc/rha/master-id")
    replica_fp = rha.generate_identity("/etc/rha/replica-id")
    with rha.ReplicaAgent("/srv/replica", identity="/etc/rha/replica-id",
                          listen="127.0.0.1:0", allow=[master_fp]) as replica, \\
         rha.MasterAgent("/var/lib/rha/master", identity="/etc/rha/master-id",
                         replica=f"127.0.0.1:{replica.port}", peer=replica_fp) as master:
        last = master.append_journal(journal_bytes)
        while master.status().acked_applied < last:
            time.sleep(0.05)

Calls on one agent may come from several threads at once; :meth:`stop`
waits for them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple, Union

from ._closeable import Closeable
from ._errors import InvalidStateError, call, code_name, raise_code
from ._native import c_str, ffi, lib

__all__ = [
    "AgentStatus",
    "MasterAgent",
    "ReplicaAgent",
    "generate_identity",
    "identity_fingerprint",
]

PathArg = Union[str, "os.PathLike[str]"]

_LINKS = {
    lib.RHA_AGENT_LINK_DOWN: "down",
    lib.RHA_AGENT_LINK_CONNECTING: "connecting",
    lib.RHA_AGENT_LINK_CONNECTED: "connected",
    lib.RHA_AGENT_LINK_STOPPED: "stopped",
}
_ROLES = {lib.RHA_AGENT_MASTER: "master", lib.RHA_AGENT_REPLICA: "replica"}
_CONTROLS = {
    "pause": lib.RHA_SESSION_CONTROL_PAUSE,
    "resume": lib.RHA_SESSION_CONTROL_RESUME,
    "bookmark": lib.RHA_SESSION_CONTROL_BOOKMARK,
}


@dataclass(frozen=True)
class AgentStatus:
    """A snapshot of an agent.

    ``link`` is ``"down"`` (a master retries after its backoff; a refused
    handshake leaves it here), ``"connecting"``, ``"connected"`` or
    ``"stopped"``. ``last_seq``: a master's last durable record, a replica's
    last record stored. ``acked_stored`` / ``acked_applied``: what the
    replica acknowledged. ``lag_records``: a master's records not yet
    stored on the replica, a replica's records not yet applied.
    ``last_end``: why the last session ended, or a master's last connection
    attempt failed (such as a replica presenting a certificate that is not
    the pinned one); empty before any, and in the status :meth:`stop`
    returns."""

    role: str
    link: str
    sessions: int
    epoch: int
    last_seq: int
    acked_stored: int
    acked_applied: int
    lag_records: int
    lag_bytes: int
    lag_seconds: float
    spool_used_bytes: int
    spool_capacity_bytes: int
    paused: bool
    apply_failed: bool
    updated_unix_ms: int
    last_end: str = ""


def _path(p: PathArg) -> Any:
    return ffi.new("char[]", os.fsencode(p))


def _bytes(value: str, keep: List[Any]) -> Tuple[Any, int]:
    """An ``rha_bytes`` initialiser for ``value``; ``keep`` holds the memory."""
    data = value.encode("utf-8")
    if not data:
        return (ffi.NULL, 0)
    buf = ffi.new("uint8_t[]", data)
    keep.append(buf)
    return (buf, len(data))


def _new_status() -> Any:
    st = ffi.new("rha_agent_status *")
    st.struct_size = ffi.sizeof("rha_agent_status")
    return st


def _last_end(fn: Any, handle: Any) -> str:
    """The agent's last end, through ``fn`` (``rha_*_agent_last_end``)."""
    size = 512
    while True:
        buf = ffi.new("char[]", size)
        length = ffi.new("size_t *")
        call(fn, handle, buf, size, length)
        if int(length[0]) < size:
            return c_str(buf)
        size = int(length[0]) + 1


def _status(st: Any, last_end: str = "") -> AgentStatus:
    link = int(st.link)
    role = int(st.role)
    return AgentStatus(
        role=_ROLES.get(role, f"role {role}"),
        link=_LINKS.get(link, f"link {link}"),
        sessions=int(st.sessions),
        epoch=int(st.epoch),
        last_seq=int(st.last_seq),
        acked_stored=int(st.acked_stored),
        acked_applied=int(st.acked_applied),
        lag_records=int(st.lag_records),
        lag_bytes=int(st.lag_bytes),
        lag_seconds=float(st.lag_seconds),
        spool_used_bytes=int(st.spool_used_bytes),
        spool_capacity_bytes=int(st.spool_capacity_bytes),
        paused=bool(st.paused),
        apply_failed=bool(st.apply_failed),
        updated_unix_ms=int(st.updated_unix_ms),
        last_end=last_end,
    )


def generate_identity(dir: PathArg, force: bool = False) -> str:
    """Makes a node identity in ``dir`` as ``rha keygen DIR`` does (an
    Ed25519 key in ``key.pem``, a self-signed certificate in ``cert.pem``;
    ``dir`` is created if missing) and returns its fingerprint, the text
    peers pin it by.

    Raises:
        IdentityExistsError: ``dir`` holds an identity and ``force`` is False.
        RhaIOError: a file cannot be written.
    """
    out = ffi.new("char[]", lib.RHA_FINGERPRINT_SIZE)
    call(lib.rha_identity_generate, _path(dir), bool(force), out, lib.RHA_FINGERPRINT_SIZE)
    return c_str(out)


def identity_fingerprint(dir: PathArg) -> str:
    """The fingerprint of the identity in ``dir`` (``sha256:`` and 64
    hexadecimal digits), after checking that its key and certificate belong
    together.

    Raises:
        IdentityMissingError, IdentityInvalidError, RhaIOError.
    """
    out = ffi.new("char[]", lib.RHA_FINGERPRINT_SIZE)
    call(lib.rha_identity_fingerprint, _path(dir), out, lib.RHA_FINGERPRINT_SIZE)
    return c_str(out)


class _Agent(Closeable):
    """What both agents share: the handle, its stop and the final status."""

    _concurrent = True
    _stop_fn: Any = None
    _last_end_fn: Any = None
    _status_fn: Any = None
    _final: Optional[AgentStatus] = None

    def _release(self, handle: Any) -> None:
        st = _new_status()
        call(type(self)._stop_fn, handle, st)
        self._final = _status(st)

    def status(self) -> AgentStatus:
        """A snapshot of the agent (see :class:`AgentStatus`)."""
        st = _new_status()
        with self._use() as h:
            call(type(self)._status_fn, h, st)
            return _status(st, _last_end(type(self)._last_end_fn, h))

    def stop(self) -> AgentStatus:
        """Stops the agent (its session ends in order; a master makes its
        spool durable, a replica checkpoints what it applied) and returns
        its final status. Later calls return the same status.

        Raises:
            AgentFailedError: a thread of the agent had failed.
        """
        self.close()
        if self._final is None:
            code = lib.RHA_INVALID_STATE
            raise InvalidStateError(code, code_name(code), f"the {self._what} did not start")
        return self._final


class MasterAgent(_Agent):
    """A master agent (``rha_master_agent``): sends the journal appended to
    its spool to the replica at ``replica`` over TLS, as ``rha replicate``
    does. A replica that cannot be reached, or that refuses the handshake,
    is not an error: the agent retries with backoff and :meth:`status` says
    so.

    Args:
        state_dir: Its state directory (created if missing): state, status
            and spool, locked while the agent runs.
        identity: This master's identity directory (:func:`generate_identity`).
        replica: The replica's ``host:port``.
        peer: The replica's fingerprint, the only replica accepted.
        scenario: The scenario's name, the same on both sides (default:
            derived from both fingerprints).
        name: A name for the replica's logs.
        heartbeat_ms: Milliseconds between heartbeats [3000].
        timeout_ms: Silence that ends a session [30000].
        batch_bytes: Journal bytes per message, about [1 MiB].
        zstd: Compress each message's frames.
        retry_min_ms: The first wait before reconnecting [200].
        retry_max_ms: The longest [30000].

    Raises:
        BadFingerprintError: ``peer`` is not a fingerprint.
        IdentityMissingError, IdentityInvalidError: the identity.
        SpoolLockedError: another agent runs on ``state_dir``.
        OtherScenarioError: ``state_dir`` serves another scenario.
        InvalidArgumentError: an empty address, a zero interval, ...
    """

    _what = "master agent"
    _stop_fn = lib.rha_master_agent_stop
    _status_fn = lib.rha_master_agent_status
    _last_end_fn = lib.rha_master_agent_last_end

    def __init__(
        self,
        state_dir: PathArg,
        *,
        identity: PathArg,
        replica: str,
        peer: str,
        scenario: Optional[str] = None,
        name: str = "",
        heartbeat_ms: int = 3000,
        timeout_ms: int = 30000,
        batch_bytes: int = 1 << 20,
        zstd: bool = False,
        retry_min_ms: int = 200,
        retry_max_ms: int = 30000,
    ) -> None:
        keep: List[Any] = []
        c = ffi.new("rha_master_agent_config *")
        lib.rha_master_agent_config_init(c)
        state_arg, identity_arg = _path(state_dir), _path(identity)
        c.state_dir = state_arg
        c.identity_dir = identity_arg
        c.replica_address = _bytes(replica, keep)
        c.peer_fingerprint = _bytes(peer, keep)
        c.scenario_name = _bytes(scenario or "", keep)
        c.name = _bytes(name, keep)
        c.heartbeat_ms = heartbeat_ms
        c.timeout_ms = timeout_ms
        c.batch_bytes = batch_bytes
        c.zstd = 1 if zstd else 0
        c.retry_min_ms = retry_min_ms
        c.retry_max_ms = retry_max_ms
        out = ffi.new("rha_master_agent **")
        call(lib.rha_master_agent_start, c, out)
        self._own(out[0], lib.rha_master_agent_free)

    def append_journal(self, journal: bytes) -> int:
        """Appends the records of ``journal`` (bytes a :class:`JournalWriter`
        wrote) to the spool, durably, and returns the last one's sequence
        number: the replica holds them once ``status().acked_applied``
        reaches it. The records must continue the spool (the first is
        ``status().last_seq + 1``); all or nothing.

        Raises:
            SequenceError: the records do not continue the spool.
            CorruptJournalError: the bytes do not decode.
            SpoolStoppedError, SpoolFailedError, RhaIOError.
        """
        data = bytes(journal)
        last = ffi.new("uint64_t *")
        with self._use() as h:
            call(
                lib.rha_master_agent_append_journal,
                h,
                ffi.from_buffer(data) if data else ffi.NULL,
                len(data),
                last,
            )
        return int(last[0])

    def control(self, op: str, name: str = "") -> None:
        """Asks the replica to ``"pause"`` application (it keeps storing),
        ``"resume"`` it, or set a ``"bookmark"`` named ``name`` after the
        spool's last record now; sent in order once the session is up.

        Raises:
            InvalidArgumentError: an unknown ``op``, or a bookmark name that
                is empty or longer than 1024 bytes.
        """
        if op not in _CONTROLS:
            raise_code(lib.RHA_INVALID_ARGUMENT, f"unknown control {op!r}: 'pause', 'resume' or 'bookmark'")
        data = name.encode("utf-8")
        with self._use() as h:
            call(
                lib.rha_master_agent_control,
                h,
                _CONTROLS[op],
                ffi.from_buffer(data) if data else ffi.NULL,
                len(data),
            )


class ReplicaAgent(_Agent):
    """A replica agent (``rha_replica_agent``): listens on ``listen`` for
    the masters whose fingerprints are in ``allow``, stores what arrives
    durably and applies it in order to ``root``, as ``rha serve`` does.

    Args:
        root: The replica directory (it must exist); the agent keeps its
            state in ``root/.rha`` and locks it.
        identity: This replica's identity directory.
        listen: ``host:port`` to listen on; port 0 takes a free port
            (:attr:`port`).
        allow: The fingerprints of the masters allowed, at least one.
        scenario: The scenario's name (required with several masters).
        rewind: Keep a rewind log (rewind points and bookmarks).
        name: A name for the master's logs.
        window: Bytes a master may send ahead of acknowledgements [8 MiB].
        heartbeat_ms: Milliseconds between heartbeats [3000].
        timeout_ms: Silence that ends a session [30000].

    Raises:
        BadFingerprintError: an entry of ``allow`` is not a fingerprint.
        IdentityMissingError, IdentityInvalidError: the identity.
        ReplicaBusyError: another agent holds the replica.
        ListenError: the address is in use or not local.
        InvalidArgumentError: no master allowed, several without a scenario
            name, a zero interval, ...
    """

    _what = "replica agent"
    _stop_fn = lib.rha_replica_agent_stop
    _status_fn = lib.rha_replica_agent_status
    _last_end_fn = lib.rha_replica_agent_last_end

    def __init__(
        self,
        root: PathArg,
        *,
        identity: PathArg,
        allow: Sequence[str],
        listen: str = "127.0.0.1:0",
        scenario: Optional[str] = None,
        rewind: bool = False,
        name: str = "",
        window: int = 8 << 20,
        heartbeat_ms: int = 3000,
        timeout_ms: int = 30000,
    ) -> None:
        if isinstance(allow, str):
            allow = [allow]
        keep: List[Any] = []
        c = ffi.new("rha_replica_agent_config *")
        lib.rha_replica_agent_config_init(c)
        root_arg, identity_arg = _path(root), _path(identity)
        c.root = root_arg
        c.identity_dir = identity_arg
        c.listen_address = _bytes(listen, keep)
        views = ffi.new("rha_bytes[]", max(len(allow), 1))
        for i, fp in enumerate(allow):
            views[i] = _bytes(fp, keep)
        c.allowed = views
        c.allowed_count = len(allow)
        c.scenario_name = _bytes(scenario or "", keep)
        c.name = _bytes(name, keep)
        c.rewind = 1 if rewind else 0
        c.window = window
        c.heartbeat_ms = heartbeat_ms
        c.timeout_ms = timeout_ms
        out = ffi.new("rha_replica_agent **")
        call(lib.rha_replica_agent_start, c, out)
        self._own(out[0], lib.rha_replica_agent_free)

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen for port 0)."""
        with self._use() as h:
            return int(lib.rha_replica_agent_local_port(h))
