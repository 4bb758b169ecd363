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
    "SyncStatus",
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
_SYNC_MODES = {"file": lib.RHA_SYNC_FILE, "block": lib.RHA_SYNC_BLOCK}
_SYNC_MODE_NAMES = {v: k for k, v in _SYNC_MODES.items()}
_SYNC_PHASES = {
    lib.RHA_AGENT_SYNC_SCANNING: "scanning",
    lib.RHA_AGENT_SYNC_SENDING: "sending",
    lib.RHA_AGENT_SYNC_FINISHING: "finishing",
    lib.RHA_AGENT_SYNC_DONE: "done",
    lib.RHA_AGENT_SYNC_FAILED: "failed",
}
_CONTROLS = {
    "pause": lib.RHA_SESSION_CONTROL_PAUSE,
    "resume": lib.RHA_SESSION_CONTROL_RESUME,
    "bookmark": lib.RHA_SESSION_CONTROL_BOOKMARK,
}


@dataclass(frozen=True)
class SyncStatus:
    """An agent's last sync over the session (``docs/agents.md``, "Sync"),
    under way or ended, as :attr:`AgentStatus.sync` shows it.

    ``phase`` is ``"scanning"``, ``"sending"``, ``"finishing"``, ``"done"``
    or ``"failed"`` (``error`` says why); ``mode`` is ``"file"`` or
    ``"block"``. A master counts what it ``compared``, sent
    (``sent_entries``, ``sent_bytes``), found the replica already had
    (``matched_bytes``, block mode) and ``skipped``; both sides count what
    they scanned, and what the replica applied (``applied_records``,
    ``applied_bytes``). ``finished_unix_ms`` is None while under way.
    ``error`` is empty in the status :meth:`~MasterAgent.stop` returns, as
    ``last_end`` is."""

    id: int
    phase: str
    mode: str
    scanned_entries: int
    scanned_bytes: int
    compared: int
    sent_entries: int
    sent_bytes: int
    matched_bytes: int
    applied_records: int
    applied_bytes: int
    resent: int
    skipped: int
    started_unix_ms: int
    finished_unix_ms: Optional[int]
    error: str = ""


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
    returns. ``sync``: the last sync over the session (None before the
    first); ``resync_needed``: a master's replica needs one before it can
    follow again (after an overflow)."""

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
    sync: Optional[SyncStatus] = None
    resync_needed: bool = False


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


def _text(fn: Any, handle: Any) -> str:
    """The text ``fn`` writes into a caller buffer (``rha_*_agent_last_end``,
    ``rha_*_agent_sync_error``), in a buffer grown until it fits."""
    size = 512
    while True:
        buf = ffi.new("char[]", size)
        length = ffi.new("size_t *")
        call(fn, handle, buf, size, length)
        if int(length[0]) < size:
            return c_str(buf)
        size = int(length[0]) + 1


def _sync(st: Any, error: str) -> Optional[SyncStatus]:
    phase = int(st.sync_phase)
    if phase == lib.RHA_AGENT_SYNC_NONE:
        return None
    mode = int(st.sync_mode)
    finished = int(st.sync_finished_unix_ms)
    return SyncStatus(
        id=int(st.sync_id),
        phase=_SYNC_PHASES.get(phase, f"phase {phase}"),
        mode=_SYNC_MODE_NAMES.get(mode, f"mode {mode}"),
        scanned_entries=int(st.sync_scanned_entries),
        scanned_bytes=int(st.sync_scanned_bytes),
        compared=int(st.sync_compared),
        sent_entries=int(st.sync_sent_entries),
        sent_bytes=int(st.sync_sent_bytes),
        matched_bytes=int(st.sync_matched_bytes),
        applied_records=int(st.sync_applied_records),
        applied_bytes=int(st.sync_applied_bytes),
        resent=int(st.sync_resent),
        skipped=int(st.sync_skipped),
        started_unix_ms=int(st.sync_started_unix_ms),
        finished_unix_ms=finished if finished else None,
        error=error,
    )


def _status(st: Any, last_end: str = "", sync_error: str = "") -> AgentStatus:
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
        sync=_sync(st, sync_error),
        resync_needed=bool(st.resync_needed),
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
    _sync_error_fn: Any = None
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
            failed = int(st.sync_phase) == lib.RHA_AGENT_SYNC_FAILED
            why = _text(type(self)._sync_error_fn, h) if failed else ""
            return _status(st, _text(type(self)._last_end_fn, h), why)

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
        root: The master directory a replica that needs it (a fresh one, one
            of another epoch or behind the spool, after an overflow) is
            synchronised from over the session before it follows the
            journal; None: no sync (such a replica is refused).
        sync_mode: ``"file"`` (whole files) or ``"block"`` (only the
            changed blocks of files on both sides) [``"file"``].
        ignore_same: Files of equal size and modification time count as
            equal; False compares them by content [True].
        sync_block_size: Block size of a block-level comparison, a power of
            two from 4096 to 16 MiB [None: 64 KiB].

    Raises:
        BadFingerprintError: ``peer`` is not a fingerprint.
        IdentityMissingError, IdentityInvalidError: the identity.
        SpoolLockedError: another agent runs on ``state_dir``.
        OtherScenarioError: ``state_dir`` serves another scenario.
        InvalidArgumentError: an empty address, a zero interval, a bad
            ``sync_block_size``, ...
        ValueError: ``sync_mode`` is neither ``"file"`` nor ``"block"``.
    """

    _what = "master agent"
    _stop_fn = lib.rha_master_agent_stop
    _status_fn = lib.rha_master_agent_status
    _last_end_fn = lib.rha_master_agent_last_end
    _sync_error_fn = lib.rha_master_agent_sync_error

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
        root: Optional[PathArg] = None,
        sync_mode: str = "file",
        ignore_same: bool = True,
        sync_block_size: Optional[int] = None,
    ) -> None:
        if sync_mode not in _SYNC_MODES:
            raise ValueError(f"unknown sync_mode {sync_mode!r}: 'file' or 'block'")
        block_size = 0 if sync_block_size is None else int(sync_block_size)
        if not 0 < block_size < 1 << 32 and sync_block_size is not None:
            raise_code(
                lib.RHA_INVALID_ARGUMENT,
                f"sync_block_size is {block_size}: a power of two from 4096 to 16 MiB",
            )
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
        root_arg = ffi.NULL if root is None else _path(root)
        c.root_dir = root_arg
        c.sync_mode = _SYNC_MODES[sync_mode]
        c.ignore_same = 1 if ignore_same else 0
        c.sync_block_size = block_size
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
    _sync_error_fn = lib.rha_replica_agent_sync_error

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
