"""The ready agents (``rha.MasterAgent``, ``rha.ReplicaAgent``) and node
identities: a journal replicated end to end over loopback TLS, a master
with a root directory syncing its replica over the session (whole files,
then changed blocks) before the journal, a master pinned to the wrong
fingerprint that gets nothing through, context managers that stop the
agents, and the 9xx errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Dict

import pytest

import rha

WAIT = 30.0


def journal(first: int, name: str, text: bytes) -> bytes:
    with rha.JournalWriter(first_seq=first) as w:
        w.append(rha.Create(name, 0o644), timestamp_ns=1)
        w.append(rha.Write(name, 0, text), timestamp_ns=2)
        w.flush()
        return w.drain()


def wait_for(what: Callable[[], bool]) -> bool:
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        if what():
            return True
        time.sleep(0.02)
    return what()


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    base = tmp_path_factory.mktemp("ids")
    out = {}
    for who in ("master", "replica", "stranger"):
        out[who] = rha.generate_identity(str(base / who))
        out[who + "_dir"] = str(base / who)
    return out


def replica_agent(root: Path, ids: Dict[str, str], **kw) -> rha.ReplicaAgent:
    root.mkdir()
    return rha.ReplicaAgent(
        root, identity=ids["replica_dir"], allow=[ids["master"]], heartbeat_ms=200, timeout_ms=10000, **kw
    )


def master_agent(state: Path, port: int, peer: str, ids: Dict[str, str], **kw) -> rha.MasterAgent:
    settings = dict(heartbeat_ms=200, timeout_ms=10000, retry_min_ms=50, retry_max_ms=300)
    settings.update(kw)
    return rha.MasterAgent(state, identity=ids["master_dir"], replica=f"127.0.0.1:{port}", peer=peer, **settings)


def test_identities(tmp_path: Path):
    fp = rha.generate_identity(tmp_path / "id")
    assert fp.startswith("sha256:") and len(fp) == 71
    assert rha.identity_fingerprint(tmp_path / "id") == fp
    with pytest.raises(rha.IdentityExistsError, match="refusing to overwrite"):
        rha.generate_identity(tmp_path / "id")
    assert rha.identity_fingerprint(str(tmp_path / "id")) == fp
    again = rha.generate_identity(tmp_path / "id", force=True)
    assert again != fp and rha.identity_fingerprint(tmp_path / "id") == again
    with pytest.raises(rha.IdentityMissingError):
        rha.identity_fingerprint(tmp_path)
    (tmp_path / "id" / "cert.pem").write_text("not a certificate")
    with pytest.raises(rha.IdentityInvalidError):
        rha.identity_fingerprint(tmp_path / "id")


@pytest.mark.parametrize("zstd", [False, True])
def test_a_journal_replicates_end_to_end(tmp_path: Path, ids: Dict[str, str], zstd: bool):
    root = tmp_path / "replica"
    with replica_agent(root, ids) as replica:
        assert replica.port > 0
        with master_agent(tmp_path / "master", replica.port, ids["replica"], ids, zstd=zstd) as master:
            last = master.append_journal(journal(1, "a.txt", b"first"))
            assert last == 2
            assert wait_for(lambda: master.status().acked_applied >= 2)
            st = master.status()
            assert (st.role, st.link, st.sessions) == ("master", "connected", 1)
            assert st.acked_stored == 2 and st.epoch != 0
            assert wait_for(lambda: master.status().last_seq == 2)
            assert (root / "a.txt").read_bytes() == b"first"
            # The records must continue the spool.
            with pytest.raises(rha.SequenceError):
                master.append_journal(journal(1, "b.txt", b"again"))
            assert master.append_journal(journal(3, "b.txt", b"second")) == 4
            assert wait_for(lambda: master.status().acked_applied >= 4)
            assert (root / "b.txt").read_bytes() == b"second"
            assert wait_for(lambda: replica.status().acked_applied == 4)
            rs = replica.status()
            assert (rs.role, rs.link, rs.last_seq, rs.paused, rs.apply_failed) == (
                "replica",
                "connected",
                4,
                False,
                False,
            )
        # The context manager stopped the master: the replica hears "done".
        assert master.closed
        assert master.stop().link == "stopped"
        assert wait_for(lambda: replica.status().link != "connected")
    assert replica.closed
    assert replica.stop().acked_applied == 4
    with pytest.raises(rha.InvalidStateError):
        replica.status()


def test_control_pauses_and_resumes_the_replica(tmp_path: Path, ids: Dict[str, str]):
    root = tmp_path / "replica"
    with replica_agent(root, ids, rewind=True) as replica:
        with master_agent(tmp_path / "master", replica.port, ids["replica"], ids) as master:
            master.append_journal(journal(1, "a.txt", b"one"))
            assert wait_for(lambda: master.status().acked_applied >= 2)
            master.control("bookmark", "after-a")
            master.control("pause")
            assert wait_for(lambda: replica.status().paused)
            master.append_journal(journal(3, "b.txt", b"two"))
            assert wait_for(lambda: replica.status().last_seq == 4)
            time.sleep(0.3)
            assert not (root / "b.txt").exists()
            master.control("resume")
            assert wait_for(lambda: (root / "b.txt").exists() and not replica.status().paused)
            with pytest.raises(rha.InvalidArgumentError, match="unknown control"):
                master.control("rewind")
            with pytest.raises(rha.InvalidArgumentError, match="1 to 1024"):
                master.control("bookmark", "")


def test_a_master_pinned_to_another_fingerprint_gets_nothing_through(tmp_path: Path, ids: Dict[str, str]):
    root = tmp_path / "replica"
    with replica_agent(root, ids) as replica:
        with master_agent(tmp_path / "master", replica.port, ids["stranger"], ids) as master:
            master.append_journal(journal(1, "a.txt", b"secret"))
            assert wait_for(lambda: master.status().last_end != "")
            time.sleep(0.5)
            st = master.status()
            assert st.link in ("down", "connecting")
            assert (st.sessions, st.acked_stored, st.acked_applied) == (0, 0, 0)
            assert "not among the allowed fingerprints" in st.last_end
            assert ids["replica"] in st.last_end
            assert replica.status().last_end == ""
            assert replica.status().sessions == 0
        assert not (root / "a.txt").exists()


def test_status_from_many_threads_while_stopping(tmp_path: Path, ids: Dict[str, str]):
    root = tmp_path / "replica"
    replica = replica_agent(root, ids)
    master = master_agent(tmp_path / "master", replica.port, ids["replica"], ids)
    errors = []

    def poll() -> None:
        try:
            while True:
                master.status()
                replica.status()
                time.sleep(0.001)
        except rha.InvalidStateError:
            pass
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    master.append_journal(journal(1, "a.txt", b"x"))
    assert wait_for(lambda: master.status().acked_applied >= 2)
    master.stop()
    replica.stop()
    for t in threads:
        t.join()
    assert errors == []


def pattern(size: int, salt: int) -> bytes:
    """``size`` bytes that differ from block to block (and by ``salt``)."""
    return bytes((i * 7919 + salt + (i >> 12)) & 0xFF for i in range(size))


def tree(root: Path) -> Dict[str, bytes]:
    """Every file under ``root`` but the agents' ``.rha``, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".rha" not in p.relative_to(root).parts
    }


def synced(agent: rha.MasterAgent) -> rha.SyncStatus:
    """Waits for the master's sync to end and returns its status."""
    assert wait_for(lambda: (s := agent.status().sync) is not None and s.phase in ("done", "failed"))
    sync = agent.status().sync
    assert sync is not None
    return sync


def test_a_master_syncs_a_tree_then_the_journal(tmp_path: Path, ids: Dict[str, str]):
    source = tmp_path / "source"
    (source / "sub" / "deeper").mkdir(parents=True)
    big = pattern(2 << 20, 1)
    (source / "big.bin").write_bytes(big)
    (source / "a.txt").write_bytes(b"alpha")
    (source / "sub" / "b.txt").write_bytes(b"beta")
    (source / "sub" / "deeper" / "c.txt").write_bytes(b"")
    root = tmp_path / "replica"
    with replica_agent(root, ids) as replica:
        with master_agent(tmp_path / "master", replica.port, ids["replica"], ids, root=source) as master:
            sync = synced(master)
            assert (sync.phase, sync.mode, sync.error) == ("done", "file", "")
            assert sync.id > 0 and sync.sent_bytes >= len(big) and sync.sent_entries >= 6
            assert sync.scanned_entries >= 6 and sync.matched_bytes == 0 and sync.resent == 0
            assert sync.finished_unix_ms is not None and sync.finished_unix_ms >= sync.started_unix_ms
            assert tree(root) == tree(source)
            assert (root / "sub" / "deeper").is_dir()
            last = master.append_journal(journal(1, "after.txt", b"after the sync"))
            assert wait_for(lambda: master.status().acked_applied >= last)
            assert (root / "after.txt").read_bytes() == b"after the sync"
            assert not master.status().resync_needed
            assert wait_for(lambda: (s := replica.status().sync) is not None and s.phase == "done")
            rs = replica.status().sync
            assert rs is not None and rs.id == sync.id and rs.applied_bytes >= len(big)
        assert master.stop().sync == sync
    assert tree(root) == {**tree(source), "after.txt": b"after the sync"}


def test_block_mode_sends_only_the_changed_blocks(tmp_path: Path, ids: Dict[str, str]):
    source = tmp_path / "source"
    source.mkdir()
    block = 16 << 10
    big = pattern(2 << 20, 2)
    (source / "big.bin").write_bytes(big)
    (source / "new.txt").write_bytes(b"new")
    # The replica holds an older copy: two blocks differ.
    stale = bytearray(big)
    stale[5 * block + 10] ^= 0xFF
    stale[100 * block] ^= 0xFF
    root = tmp_path / "replica"
    root.mkdir()
    (root / "big.bin").write_bytes(bytes(stale))
    with rha.ReplicaAgent(
        root, identity=ids["replica_dir"], allow=[ids["master"]], heartbeat_ms=200, timeout_ms=10000
    ) as replica:
        with master_agent(
            tmp_path / "master",
            replica.port,
            ids["replica"],
            ids,
            root=source,
            sync_mode="block",
            sync_block_size=block,
        ) as master:
            sync = synced(master)
            assert (sync.phase, sync.mode, sync.error) == ("done", "block", "")
            assert sync.matched_bytes == len(big) - 2 * block
            assert sync.sent_bytes == 2 * block + len(b"new")
            assert tree(root) == tree(source)
            last = master.append_journal(journal(1, "after.txt", b"journal"))
            assert wait_for(lambda: master.status().acked_applied >= last)
    assert tree(root) == {**tree(source), "after.txt": b"journal"}
    assert replica.stop().sync is not None


def test_bad_arguments_raise_their_classes(tmp_path: Path, ids: Dict[str, str]):
    with pytest.raises(rha.BadFingerprintError, match="peer_fingerprint") as info:
        master_agent(tmp_path / "m", 1, "sha256:12", ids)
    assert isinstance(info.value, ValueError) and isinstance(info.value, rha.AgentError)
    with pytest.raises(rha.InvalidArgumentError, match="retry_min_ms"):
        master_agent(tmp_path / "m", 1, ids["replica"], ids, retry_min_ms=500, retry_max_ms=100)
    with pytest.raises(rha.IdentityMissingError):
        rha.MasterAgent(tmp_path / "m", identity=tmp_path, replica="127.0.0.1:1", peer=ids["replica"])
    with pytest.raises(ValueError, match="unknown sync_mode 'blocks'"):
        master_agent(tmp_path / "m", 1, ids["replica"], ids, root=tmp_path, sync_mode="blocks")
    for bad in (1000, 12288, 32 << 20, -1, 1 << 40):
        with pytest.raises(rha.InvalidArgumentError, match="sync_block_size"):
            master_agent(tmp_path / "m", 1, ids["replica"], ids, root=tmp_path, sync_block_size=bad)
    with master_agent(tmp_path / "m", 1, ids["replica"], ids):
        with pytest.raises(rha.SpoolLockedError):
            master_agent(tmp_path / "m", 1, ids["replica"], ids)
    (tmp_path / "r").mkdir()
    with pytest.raises(rha.InvalidArgumentError, match="scenario_name"):
        rha.ReplicaAgent(tmp_path / "r", identity=ids["replica_dir"], allow=[ids["master"], ids["stranger"]])
    with pytest.raises(rha.InvalidArgumentError, match="allowed_count"):
        rha.ReplicaAgent(tmp_path / "r", identity=ids["replica_dir"], allow=[])
    with pytest.raises(rha.BadFingerprintError, match=r"allowed\[0\]"):
        rha.ReplicaAgent(tmp_path / "r", identity=ids["replica_dir"], allow=["nope"])
    with pytest.raises(rha.ListenError):
        rha.ReplicaAgent(tmp_path / "r", identity=ids["replica_dir"], allow=ids["master"], listen="192.0.2.1:0")
    with rha.ReplicaAgent(tmp_path / "r", identity=ids["replica_dir"], allow=ids["master"]) as r:
        with pytest.raises(rha.ReplicaBusyError):
            rha.ReplicaAgent(tmp_path / "r", identity=ids["replica_dir"], allow=ids["master"])
        assert r.port > 0
