"""The HA scenario machine from Python, including a simulation of a master
failure, the automatic switchover and the operator's switchback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional, Set

import pytest

import rha

SEC = 1_000_000_000
DATA = Path(__file__).resolve().parents[3] / "tests" / "data"

MOVE_IP = {
    "method": "move_ip",
    "address": "10.0.0.100",
    "prefix_len": 24,
    "master_interface": "eth0",
    "replica_interface": "eth0",
}
DNS = {
    "method": "dns_redirect",
    "server": "10.0.0.53:53",
    "zone": "example.test",
    "name": "files",
    "ttl": 60,
    "master_address": "10.0.0.1",
    "replica_address": "10.0.0.2",
}
SCRIPT = {"method": "script", "path": "/etc/rha/notify.sh", "args": ["--all"], "timeout": {"secs": 30, "nanos": 0}}


def scenario(**kw) -> rha.Scenario:
    kw.setdefault("master", ("alpha", "10.0.0.1", 24))
    kw.setdefault("replica", ("beta", "10.0.0.2", 24))
    kw.setdefault("name", "files")
    kw.setdefault("links", [("lan", "ping"), ("db", "database")])
    kw.setdefault("redirection", [MOVE_IP, DNS, SCRIPT])
    return rha.Scenario(**kw)


class World:
    """Two simulated hosts executing the scenario's actions on a virtual clock."""

    def __init__(self, s: rha.Scenario) -> None:
        self.s = s
        self.now = 0
        self.up = {"master": True, "replica": True}
        self.serving = {"master": True, "replica": False}
        self.links_up = [True, True]
        self.redirected: Set[int] = set()
        self.log: List[rha.Action] = []
        self.events: List[rha.Event] = []

    def execute(self, a: rha.Action) -> Optional[str]:
        p = a.params
        if a.kind == "stop_services":
            if self.up[p["host"]] or p["fence"]:
                self.serving[p["host"]] = False
                return None
            return f"{p['host']} unreachable"
        if a.kind == "start_services":
            if not self.up[p["host"]]:
                return f"{p['host']} is down"
            if not p["test"]:
                self.serving[p["host"]] = True
            return None
        if a.kind == "redirect":
            if p["direction"] == "do":
                self.redirected.add(p["step"])
            else:
                self.redirected.discard(p["step"])
        return None

    def drive(self) -> None:
        for _ in range(1000):
            actions = list(self.s.actions())
            if not actions:
                break
            for a in actions:
                self.log.append(a)
                if a.kind == "check_alive":
                    alive = self.links_up[a.params["link"]] and self.up["master"]
                    self.s.heartbeat(a.params["link"], alive, self.now)
                    continue
                if not a.awaits_report:
                    continue
                error = self.execute(a)
                if error is None:
                    self.s.complete(a.id, self.now)
                else:
                    self.s.fail(a.id, error, self.now)
        self.events.extend(self.s.events())
        assert not (self.serving["master"] and self.serving["replica"]), "two actives"

    def advance(self, seconds: float) -> None:
        end = self.now + int(seconds * SEC)
        self.drive()
        while True:
            deadline = self.s.deadline
            if deadline is None or deadline > end:
                break
            self.now = max(self.now, deadline)
            self.s.tick(self.now)
            self.drive()
        self.now = end
        self.s.tick(self.now)
        self.drive()


def test_master_failure_automatic_switchover_then_operator_switchback() -> None:
    w = World(scenario(automatic=True))
    w.s.start(w.now)
    w.drive()
    assert w.s.state == "replicating"
    w.advance(60)
    assert w.s.state == "replicating"

    # The master dies. Nothing happens until every link was silent 300 s.
    w.up["master"] = False
    w.serving["master"] = False
    died = w.now
    w.advance(240)
    assert w.s.state == "replicating"
    w.advance(90)
    assert w.s.state == "switched over"
    unresponsive = [e for e in w.events if e.kind == "active_unresponsive"]
    assert unresponsive and unresponsive[0].data["automatic"] is True
    assert w.serving == {"master": False, "replica": True}
    assert w.redirected == {0, 1, 2}
    assert w.s.status.active == "replica" and w.s.status.config_locked
    # The script step got the scenario context.
    script = next(a for a in w.log if a.kind == "redirect" and a.params["step"] == 2)
    env = dict(script.params["env"])
    assert env["RHA_SCENARIO"] == "files" and env["RHA_DIRECTION"] == "do"
    assert w.now - died >= 300 * SEC

    # No automatic switchback, however long we wait; the config is locked.
    w.up["master"] = True
    w.advance(3600)
    assert w.s.state == "switched over"
    config = json.loads(w.s.save())["scenario"]["config"]
    with pytest.raises(rha.RefusedError, match="locked while switched over"):
        w.s.update_config(config, w.now)
    with pytest.raises(rha.RefusedError, match="use switchback"):
        w.s.stop(w.now)

    # The operator switches back: reverse sync, undo plan, forward restart.
    w.s.switchback(w.now, master_restored=True)
    w.drive()
    assert w.s.state == "replicating"
    assert w.serving == {"master": True, "replica": False}
    assert w.redirected == set()
    reverse_sync = next(a for a in w.log if a.kind == "begin_sync" and a.params["flow"] == "reverse")
    assert reverse_sync.params["kind"] == "volume"
    undone = [(a.params["step"], a.params.get("half")) for a in w.log if a.kind == "redirect" and a.params["direction"] == "undo"]
    assert undone == [(2, None), (1, None), (0, "replica"), (0, "master")]
    states = [(e.data["from"], e.data["to"]) for e in w.events if e.kind == "state_changed"]
    assert ("switched_over", "reverse_replicating") in states
    assert ("switching_back", "synchronising") in states


def test_refusals_name_the_state_and_change_nothing() -> None:
    s = scenario()
    with pytest.raises(rha.RefusedError, match="resume refused in state stopped") as info:
        s.resume(0)
    assert info.value.code_name == "RHA_HA_REFUSED"
    assert isinstance(info.value, rha.HaError)
    s.start(0)
    w = World(s)
    w.drive()
    before = s.save()
    with pytest.raises(rha.ConfirmationRequiredError, match="type FAILOVER to confirm"):
        s.failover(1)
    with pytest.raises(rha.ConfirmationRequiredError, match="type FAILOVER to confirm"):
        s.failover(1, confirm="failover")
    with pytest.raises(rha.ConfirmationRequiredError, match="type SWITCHOVER to confirm"):
        s.switchover(1)
    with pytest.raises(rha.RefusedError, match="is the protected host"):
        s.test_failover("ALPHA", 1)
    with pytest.raises(rha.RefusedError, match="no integrity test is running"):
        s.stop_integrity_test(1)
    assert s.save() == before


def test_invalid_configuration_is_rejected_with_the_rule() -> None:
    with pytest.raises(rha.InvalidConfigError, match="move IP is not allowed for Hyper-V"):
        scenario(scenario_type="hyper_v")
    with pytest.raises(rha.InvalidConfigError, match="same network segment"):
        scenario(replica=("beta", "192.168.1.2", 24))
    with pytest.raises(ValueError):
        scenario(scenario_type="mainframe")
    with pytest.raises(rha.InvalidConfigError, match="master host is not set"):
        rha.Scenario(replica=("beta", "10.0.0.2", 24))


def test_switchover_step_failure_rolls_back_in_reverse() -> None:
    w = World(scenario())
    w.s.start(0)
    w.drive()
    w.s.switchover(0, confirm="SWITCHOVER")
    fail_step = 2
    for _ in range(100):
        actions = list(w.s.actions())
        if not actions:
            break
        for a in actions:
            w.log.append(a)
            if not a.awaits_report:
                continue
            if a.kind == "redirect" and a.params["step"] == fail_step and a.params["direction"] == "do":
                w.s.fail(a.id, "script exited 3", 0)
                continue
            assert w.execute(a) is None
            w.s.complete(a.id, 0)
    events = list(w.s.events())
    assert w.s.state == "replicating"
    assert w.redirected == set()
    steps = [(a.params["step"], a.params["direction"], a.params.get("half")) for a in w.log if a.kind == "redirect"]
    # Move IP is two-sided: the master releases, then the replica takes; only
    # the halves that were done are undone, the replica's first.
    assert steps == [
        (0, "do", "master"),
        (0, "do", "replica"),
        (1, "do", None),
        (2, "do", None),
        (1, "undo", None),
        (0, "undo", "replica"),
        (0, "undo", "master"),
    ]
    failed = [e for e in events if e.kind == "step_failed"]
    assert failed and failed[0].data["reason"] == "script exited 3"
    assert w.serving == {"master": True, "replica": False}


def test_appliance_flow() -> None:
    w = World(scenario())
    w.s.start(0)
    w.drive()
    w.s.test_failover("qa-host", 0)
    w.drive()
    assert w.s.state == "test failover"
    with pytest.raises(rha.RefusedError, match="at most one at a time"):
        w.s.test_failover("other", 0)
    w.s.end_test_failover(0)
    w.drive()
    w.s.failover(0, confirm="FAILOVER")
    w.drive()
    assert w.s.state == "failed over"
    for _ in range(3):
        w.s.sync_back(0)
        w.drive()
    images = [e.data["image"] for e in w.events if e.kind == "sync_back_image_ready"]
    assert images == [1, 2, 3]
    with pytest.raises(rha.ConfirmationRequiredError):
        w.s.failback(0)
    w.s.failback(0, confirm="FAILBACK")
    w.drive()
    assert w.s.state == "replicating"
    restore = next(a for a in w.log if a.kind == "restore_from_image")
    assert restore.params["image"] == 4  # the final sync-back, after the DR side stopped
    done = next(e for e in w.events if e.kind == "failback_completed")
    assert done.data["leftovers"] == []


def test_save_restore_and_old_state() -> None:
    s = scenario()
    s.start(0)
    data = s.save()
    r = rha.Scenario.restore(data)
    assert r.save() == data
    assert r.state == "verifying"
    assert [a.kind for a in r.actions()] == ["verify"]
    with pytest.raises(rha.StateCorruptError, match="line 1"):
        rha.Scenario.restore(data[: len(data) // 2])
    with pytest.raises(rha.StateVersionError, match="version 3"):
        rha.Scenario.restore(json.dumps({"version": 3}).encode())
    old = rha.Scenario.restore((DATA / "ha-state-v1.json").read_bytes())
    assert old.state == "switching over"
    r.close()
    with pytest.raises(rha.InvalidStateError):
        r.start(0)


def test_context_manager_and_status() -> None:
    with scenario() as s:
        st = s.status
        assert st == rha.Status("stopped", "master", False, False, False)
        assert st.replica_connected and not st.failure_pending and s.intent is None
        assert s.deadline is None
        with pytest.raises(rha.RefusedError, match="live replica session"):
            s.bookmark("nightly", 0)


def hyper_v_config() -> dict:
    return {
        "name": "vms",
        "scenario_type": "hyper_v",
        "master": {"name": "hv1", "address": "10.0.0.1", "prefix_len": 24},
        "replica": {"name": "hv2", "address": "10.0.9.2", "prefix_len": 24},
        "masters_on_replica": 1,
        "sync_kind": "block",
        "is_alive": {
            "heartbeat_interval": {"secs": 30, "nanos": 0},
            "timeout": {"secs": 300, "nanos": 0},
            "mode": "manual",
            "links": [{"name": "lan", "method": {"method": "database_connect"}}],
        },
        "redirection": [DNS],
        "stop_on_spool_full": True,
        "replica_vm_address": {"address": "192.168.50.10", "prefix_len": 24, "gateway": "192.168.50.1"},
    }


def test_whole_configuration_as_json_and_vm_readdressing() -> None:
    w = World(rha.Scenario(config=hyper_v_config()))
    w.s.start(0)
    w.drive()
    begin = next(a for a in w.log if a.kind == "begin_sync")
    assert begin.params["kind"] == "block"
    w.s.switchover(0, confirm="SWITCHOVER")
    w.drive()
    assert w.s.state == "switched over"
    kinds = [a.kind for a in w.log]
    assert kinds[-2:] == ["readdress_vm", "start_services"]
    vm = w.log[-2].params
    assert (vm["address"], vm["prefix_len"], vm["gateway"]) == ("192.168.50.10", 24, "192.168.50.1")

    bad = hyper_v_config()
    bad["redirection"] = [MOVE_IP]
    with pytest.raises(rha.InvalidConfigError, match="move IP is not allowed for Hyper-V"):
        rha.Scenario(config=bad)
    with pytest.raises(rha.InvalidConfigError, match="configuration"):
        rha.Scenario(config={"name": "x"})


def test_configuration_updates_while_replicating() -> None:
    w = World(rha.Scenario(config=hyper_v_config()))
    w.s.start(0)
    w.drive()
    new = hyper_v_config()
    new["is_alive"]["links"].append({"name": "wan", "method": {"method": "ping", "reply_limit": {"secs": 2, "nanos": 0}}})
    w.links_up = [True, True]
    w.s.update_config(new, 0)
    w.advance(31)
    links = {a.params["link"] for a in w.log if a.kind == "check_alive"}
    assert links == {0, 1}
    new["scenario_type"] = "file_server"
    with pytest.raises(rha.InvalidConfigError, match="replica_vm_address"):
        w.s.update_config(new, 0)


def test_a_restored_scenario_reissues_its_awaited_step_or_abandons_it() -> None:
    """A version 1 state saved mid-switchover: the restored scenario asks to
    be given the time at once, then re-issues the step it waited for."""
    s = rha.Scenario.restore((DATA / "ha-state-v1.json").read_bytes())
    st = s.status
    assert st.awaiting_restart
    intent = s.intent
    assert intent is not None and intent.kind == "redirect" and intent.params["step"] == 1
    assert s.deadline == 0
    s.tick(5 * SEC)
    events = list(s.events())
    assert any(e.kind == "restarted" and "redirection step 1" in e.data["reissued"] for e in events)
    again = [a for a in s.actions() if a.awaits_report]
    assert [a.id for a in again] == [intent.id]
    assert s.deadline is not None and s.deadline <= 5 * SEC + 600 * SEC
    s.abandon_step(6 * SEC)
    w = World(s)
    w.now = 6 * SEC
    w.redirected = {0}
    w.drive()
    assert any(e.kind == "step_abandoned" for e in w.events)
    assert s.state == "replicating"
    assert w.redirected == set()
    with pytest.raises(rha.RefusedError, match="no step is awaited"):
        s.abandon_step(7 * SEC)


def test_a_master_failing_during_an_integrity_test_is_switched_over_when_it_ends() -> None:
    w = World(scenario(automatic=True))
    w.s.start(0)
    w.drive()
    w.s.start_integrity_test(0)
    w.drive()
    w.up["master"] = False
    w.serving["master"] = False
    w.advance(400)
    assert w.s.state == "integrity testing"
    assert w.s.status.failure_pending
    w.s.stop_integrity_test(w.now)
    w.drive()
    assert w.s.state == "switched over"
