"""The HA scenario state machine (``rha_ha_scenario``) from Python.

The machine is sans-IO: it never reads a clock or touches the network.
Feed it operator commands, observations (what happened to the actions it
asked for, heartbeat results) and the time (``now``, nanoseconds on your
monotonic clock); take the :class:`Action` objects it emits (work for you)
and the :class:`Event` objects (for logs), and call :meth:`Scenario.tick`
when :attr:`Scenario.deadline` is reached::

    s = rha.Scenario(
        master=("alpha", "10.0.0.1", 24),
        replica=("beta", "10.0.0.2", 24),
        automatic=True,
        redirection=[{"method": "move_ip", "address": "10.0.0.100", "prefix_len": 24,
                      "master_interface": "eth0", "replica_interface": "eth0"}],
    )
    s.start(now=0)
    for action in s.actions():
        run(action)                        # your executor
        if action.awaits_report:
            s.complete(action.id, now=0)

Refused commands raise :class:`RefusedError` (the message names the state
and the reason) and leave the scenario unchanged; destructive commands (switchover,
failover, failback, cleanup) need the typed word, e.g.
``s.failover(now, confirm="FAILOVER")``, and raise
:class:`ConfirmationRequiredError` otherwise.

After :meth:`Scenario.restore` the first call given the time (``tick``)
restarts every timer from that time and re-issues the action the scenario
waited for (:attr:`Scenario.intent`); :meth:`Scenario.abandon_step`
gives it up instead.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

from ._closeable import Closeable
from ._errors import call
from ._native import c_str, ffi, lib

__all__ = ["Scenario", "Action", "Event", "Status", "HostSpec", "SCENARIO_TYPES", "monotonic_ns"]

HostSpec = Tuple[str, str, int]
"""A host as ``(name, address, prefix_len)``, e.g. ``("alpha", "10.0.0.1", 24)``."""

SCENARIO_TYPES: Dict[str, int] = {
    "file_server": lib.RHA_HA_FILE_SERVER,
    "sql_server": lib.RHA_HA_SQL_SERVER,
    "exchange": lib.RHA_HA_EXCHANGE,
    "iis": lib.RHA_HA_IIS,
    "oracle": lib.RHA_HA_ORACLE,
    "v_center": lib.RHA_HA_VCENTER,
    "hyper_v": lib.RHA_HA_HYPER_V,
    "full_system": lib.RHA_HA_FULL_SYSTEM,
}
"""Scenario types by the names the configuration JSON uses."""

_CHECKS = {"ping": lib.RHA_HA_CHECK_PING, "database": lib.RHA_HA_CHECK_DATABASE, "user": lib.RHA_HA_CHECK_USER}
_SIDES = {lib.RHA_HA_MASTER: "master", lib.RHA_HA_REPLICA: "replica"}


def monotonic_ns() -> int:
    """The clock :class:`Scenario` takes its ``now`` arguments from: the
    monotonic clock in nanoseconds (:func:`time.monotonic_ns`), which wall
    clock changes do not move. Not the clock of record timestamps, which
    are wall time (:func:`time.time_ns`)."""
    return time.monotonic_ns()


def _state_name(value: int) -> str:
    return c_str(lib.rha_ha_state_name(value))


@dataclass(frozen=True)
class Action:
    """Work the scenario asks for.

    Attributes:
        id: Report the outcome with :meth:`Scenario.complete` or
            :meth:`Scenario.fail` naming this id.
        kind: The action's name, such as ``"verify"``, ``"begin_sync"``,
            ``"redirect"``, ``"start_services"``, ``"check_alive"``.
        awaits_report: Whether the scenario waits for that report.
        params: Every parameter, as documented in
            ``docs/ha-state-machine.md`` (for a redirection step:
            ``step``, ``direction`` and ``params`` with the method's fields).
    """

    id: int
    kind: str
    awaits_report: bool
    params: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """Something that happened, for logs and user interfaces.

    Attributes:
        kind: The event's name, such as ``"state_changed"``,
            ``"active_unresponsive"``, ``"step_failed"``.
        data: Its fields (for a state change: ``from``, ``to``, ``trigger``).
    """

    kind: str
    data: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Status:
    """A scenario's state (``"replicating"``, ``"switched over"``, ...), the
    host serving clients (``"master"`` or ``"replica"``) and flags."""

    state: str
    active: str
    busy: bool
    replica_current: bool
    config_locked: bool
    replica_connected: bool = True
    failure_pending: bool = False
    awaiting_restart: bool = False


def _text(value: Union[str, bytes]) -> Tuple[Any, int]:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return ffi.from_buffer(data) if data else ffi.NULL, len(data)


class Scenario(Closeable):
    """One protection relationship's lifecycle (``rha_ha_scenario``).

    Args:
        master: ``(name, address, prefix_len)`` of the production host.
        replica: The same for the host holding the copy.
        name: The scenario's name (logs, script context).
        scenario_type: A key of :data:`SCENARIO_TYPES`.
        heartbeat_interval: Seconds between Is Alive checks [30].
        is_alive_timeout: Seconds every link must stay silent before the
            active host is declared dead [300].
        automatic: Switch over automatically on failure (else notify only).
        links: Is Alive links as ``(name, method)`` with method ``"ping"``,
            ``"database"`` or ``"user:<command>"``; default one ping link.
        redirection: Redirection steps as dicts (the JSON shapes of
            ``docs/ha-state-machine.md``), run in order on switchover.
        config: A whole configuration dict instead of the arguments above.

    Raises:
        InvalidConfigError: if the configuration breaks a rule (the message
            names the step or field and the rule).

    Calls on one scenario are serialised by a lock; :meth:`close` (or
    leaving a ``with`` block) frees the C object.
    """

    _what = "scenario"

    def __init__(
        self,
        master: Optional[HostSpec] = None,
        replica: Optional[HostSpec] = None,
        *,
        name: str = "scenario",
        scenario_type: str = "file_server",
        heartbeat_interval: float = 30.0,
        is_alive_timeout: float = 300.0,
        automatic: bool = False,
        links: Optional[Sequence[Tuple[str, str]]] = None,
        redirection: Optional[Sequence[Dict[str, Any]]] = None,
        config: Optional[Dict[str, Any]] = None,
        _handle: Any = None,
    ) -> None:
        if _handle is not None:
            self._own(_handle, lib.rha_ha_scenario_free)
            return
        b = lib.rha_ha_scenario_builder_new()
        try:
            if config is not None:
                raw = json.dumps(config).encode()
                call(lib.rha_ha_scenario_builder_set_config_json, b, ffi.from_buffer(raw), len(raw))
            else:
                if scenario_type not in SCENARIO_TYPES:
                    raise ValueError(f"unknown scenario type {scenario_type!r}")
                call(lib.rha_ha_scenario_builder_set_name, b, *_text(name))
                call(lib.rha_ha_scenario_builder_set_type, b, SCENARIO_TYPES[scenario_type])
                for side, host in ((lib.RHA_HA_MASTER, master), (lib.RHA_HA_REPLICA, replica)):
                    if host is not None:
                        hname, addr, prefix = host
                        call(lib.rha_ha_scenario_builder_set_side_host, b, side, *_text(hname), *_text(addr), prefix)
                call(
                    lib.rha_ha_scenario_builder_set_is_alive,
                    b,
                    int(heartbeat_interval * 1e9),
                    int(is_alive_timeout * 1e9),
                    automatic,
                )
                for link_name, method in links or ():
                    kind, _, command = method.partition(":")
                    if kind not in _CHECKS:
                        raise ValueError(f"unknown check method {method!r}")
                    call(lib.rha_ha_scenario_builder_add_link, b, *_text(link_name), _CHECKS[kind], 2_000_000_000, *_text(command))
                for step in redirection or ():
                    raw = json.dumps(step).encode()
                    call(lib.rha_ha_scenario_builder_add_redirect_json, b, ffi.from_buffer(raw), len(raw))
        except BaseException:
            lib.rha_ha_scenario_builder_free(b)
            raise
        out = ffi.new("rha_ha_scenario **")
        call(lib.rha_ha_scenario_build, b, out)  # consumes the builder
        self._own(out[0], lib.rha_ha_scenario_free)

    # ----- lifetime -----

    @classmethod
    def restore(cls, data: bytes) -> "Scenario":
        """A scenario from bytes made by :meth:`save` (after an agent restart).

        Raises:
            StateCorruptError: the bytes do not parse or contradict themselves.
            StateVersionError: a newer version of rha saved them.
        """
        data = bytes(data)
        out = ffi.new("rha_ha_scenario **")
        call(lib.rha_ha_scenario_restore, ffi.from_buffer(data) if data else ffi.NULL, len(data), out)
        return cls(_handle=out[0])

    def save(self) -> bytes:
        """The whole machine state (versioned JSON), queued output included."""
        with self._use() as h:
            view = ffi.new("rha_bytes *")
            call(lib.rha_ha_scenario_save, h, view)
            return bytes(ffi.buffer(view.ptr, view.len)) if view.len else b""

    # ----- commands -----

    def _command(self, kind: int, now: int, master_restored: bool = False, text: str = "") -> None:
        raw = text.encode("utf-8")
        keep = ffi.from_buffer(raw) if raw else ffi.NULL
        cmd = ffi.new(
            "rha_ha_command *",
            {"struct_size": ffi.sizeof("rha_ha_command"), "kind": kind, "master_restored": master_restored, "text": {"ptr": keep, "len": len(raw)}},
        )
        with self._use() as h:
            call(lib.rha_ha_scenario_command, h, cmd, now)

    def start(self, now: int) -> None:
        """Verify, synchronise, then replicate."""
        self._command(lib.RHA_HA_CMD_START, now)

    def stop(self, now: int) -> None:
        """Stop replication (or an unfinished start, or reverse replication)."""
        self._command(lib.RHA_HA_CMD_STOP, now)

    def pause(self, now: int) -> None:
        """Pause replication; the replica spools."""
        self._command(lib.RHA_HA_CMD_PAUSE, now)

    def resume(self, now: int) -> None:
        """Resume after a pause."""
        self._command(lib.RHA_HA_CMD_RESUME, now)

    def switchover(self, now: int, confirm: str = "") -> None:
        """Switch over to the replica now (manual switchover)."""
        self._command(lib.RHA_HA_CMD_SWITCHOVER, now, text=confirm)

    def switchback(self, now: int, master_restored: bool = False) -> None:
        """Reverse-replicate to the original master, then switch back."""
        self._command(lib.RHA_HA_CMD_SWITCHBACK, now, master_restored=master_restored)

    def start_reverse_replication(self, now: int, master_restored: bool = False) -> None:
        """Reverse-replicate only; :meth:`switchback` later swaps roles back."""
        self._command(lib.RHA_HA_CMD_START_REVERSE, now, master_restored=master_restored)

    def start_integrity_test(self, now: int) -> None:
        """Hold application on the replica and bring its data up for a test."""
        self._command(lib.RHA_HA_CMD_START_INTEGRITY_TEST, now)

    def stop_integrity_test(self, now: int) -> None:
        """Discard the test's changes and apply the spool (no resync)."""
        self._command(lib.RHA_HA_CMD_STOP_INTEGRITY_TEST, now)

    def test_failover(self, host: str, now: int) -> None:
        """Present a writable copy to ``host`` without stopping replication."""
        self._command(lib.RHA_HA_CMD_TEST_FAILOVER, now, text=host)

    def end_test_failover(self, now: int) -> None:
        """Remove the test failover's copy."""
        self._command(lib.RHA_HA_CMD_END_TEST_FAILOVER, now)

    def failover(self, now: int, confirm: str = "") -> None:
        """Stop replication and serve from the replica (``confirm="FAILOVER"``)."""
        self._command(lib.RHA_HA_CMD_FAILOVER, now, text=confirm)

    def sync_back(self, now: int) -> None:
        """Ship DR-side changes back as a new image (never auto-applied)."""
        self._command(lib.RHA_HA_CMD_SYNC_BACK, now)

    def failback(self, now: int, confirm: str = "") -> None:
        """Restore the original site from the newest image (``confirm="FAILBACK"``)."""
        self._command(lib.RHA_HA_CMD_FAILBACK, now, text=confirm)

    def abandon_step(self, now: int) -> None:
        """Give up the step the operation in progress waits for: it counts as
        failed and the operation follows its plan (undo or stop)."""
        self._command(lib.RHA_HA_CMD_ABANDON_STEP, now)

    def cleanup(self, now: int, confirm: str = "") -> None:
        """Remove failover artefacts left over by an earlier failback."""
        self._command(lib.RHA_HA_CMD_CLEANUP, now, text=confirm)

    def bookmark(self, name: str, now: int) -> None:
        """Set a named rewind point on the replica (needs a live replica)."""
        self._command(lib.RHA_HA_CMD_BOOKMARK, now, text=name)

    def update_config(self, config: Dict[str, Any], now: int) -> None:
        """Replace the configuration (refused while it is locked)."""
        raw = json.dumps(config).encode()
        with self._use() as h:
            call(lib.rha_ha_scenario_update_config_json, h, ffi.from_buffer(raw), len(raw), now)

    # ----- observations and time -----

    def _observe(self, kind: int, now: int, action_id: int = 0, link: int = 0, alive: bool = False, text: str = "") -> None:
        raw = text.encode("utf-8")
        keep = ffi.from_buffer(raw) if raw else ffi.NULL
        obs = ffi.new(
            "rha_ha_observation *",
            {"struct_size": ffi.sizeof("rha_ha_observation"), "kind": kind, "action_id": action_id, "link": link, "alive": alive, "text": {"ptr": keep, "len": len(raw)}},
        )
        with self._use() as h:
            call(lib.rha_ha_scenario_observe, h, obs, now)

    def complete(self, action_id: int, now: int) -> None:
        """Reports that the action succeeded (for a sync: it finished)."""
        self._observe(lib.RHA_HA_OBS_ACTION_COMPLETED, now, action_id=action_id)

    def fail(self, action_id: int, reason: str, now: int) -> None:
        """Reports that the action failed, and why."""
        self._observe(lib.RHA_HA_OBS_ACTION_FAILED, now, action_id=action_id, text=reason)

    def heartbeat(self, link: int, alive: bool, now: int) -> None:
        """Reports an Is Alive check result on ``link``."""
        self._observe(lib.RHA_HA_OBS_HEARTBEAT, now, link=link, alive=alive)

    def spool_full(self, now: int) -> None:
        """Reports that the replica's spool or disk is full."""
        self._observe(lib.RHA_HA_OBS_SPOOL_FULL, now)

    def replica_disconnected(self, now: int) -> None:
        """Reports that the replication link went down."""
        self._observe(lib.RHA_HA_OBS_REPLICA_DISCONNECTED, now)

    def replica_reconnected(self, now: int) -> None:
        """Reports that the replication link is back."""
        self._observe(lib.RHA_HA_OBS_REPLICA_RECONNECTED, now)

    def tick(self, now: int) -> None:
        """Lets time pass to ``now``; call when :attr:`deadline` is reached."""
        with self._use() as h:
            call(lib.rha_ha_scenario_handle_timeout, h, now)

    @property
    def deadline(self) -> Optional[int]:
        """When :meth:`tick` must be called next (ns), or None."""
        out = ffi.new("uint64_t *")
        with self._use() as h:
            return int(out[0]) if lib.rha_ha_scenario_poll_timeout(h, out) else None

    # ----- output -----

    def actions(self) -> Iterator[Action]:
        """Takes the queued actions, oldest first."""
        while True:
            a = ffi.new("rha_ha_action *")
            a.struct_size = ffi.sizeof("rha_ha_action")
            with self._use() as h:
                if call(lib.rha_ha_scenario_poll_action, h, a) == lib.RHA_DONE:
                    return
                data = json.loads(bytes(ffi.buffer(a.json.ptr, a.json.len)))
            kind = data.get("kind", {})
            yield Action(id=int(a.id), kind=kind.get("action", "unknown"), awaits_report=bool(a.awaits_report), params=kind)

    def events(self) -> Iterator[Event]:
        """Takes the queued events, oldest first."""
        while True:
            e = ffi.new("rha_ha_event *")
            e.struct_size = ffi.sizeof("rha_ha_event")
            with self._use() as h:
                if call(lib.rha_ha_scenario_poll_event, h, e) == lib.RHA_DONE:
                    return
                data = json.loads(bytes(ffi.buffer(e.json.ptr, e.json.len)))
            yield Event(kind=data.pop("event", "unknown"), data=data)

    @property
    def status(self) -> Status:
        """The state, the active host and flags."""
        st = ffi.new("rha_ha_status *")
        st.struct_size = ffi.sizeof("rha_ha_status")
        with self._use() as h:
            call(lib.rha_ha_scenario_status, h, st)
        return Status(
            state=_state_name(st.state),
            active=_SIDES.get(st.active, "unknown"),
            busy=bool(st.busy),
            replica_current=bool(st.replica_current),
            config_locked=bool(st.config_locked),
            replica_connected=bool(st.replica_connected),
            failure_pending=bool(st.failure_pending),
            awaiting_restart=bool(st.awaiting_restart),
        )

    @property
    def intent(self) -> Optional[Action]:
        """The action the operation in progress waits for (same id as when it
        was handed out; re-issued after a restore), or None."""
        a = ffi.new("rha_ha_action *")
        a.struct_size = ffi.sizeof("rha_ha_action")
        with self._use() as h:
            if call(lib.rha_ha_scenario_intent, h, a) == lib.RHA_DONE:
                return None
            data = json.loads(bytes(ffi.buffer(a.json.ptr, a.json.len)))
        kind = data.get("kind", {})
        return Action(id=int(a.id), kind=kind.get("action", "unknown"), awaits_report=True, params=kind)

    @property
    def state(self) -> str:
        """The current state's name, such as ``"replicating"``."""
        return self.status.state
