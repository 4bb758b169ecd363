#!/usr/bin/env python3
"""Sync over the network: `rha replicate` against `rsync` over ssh.

Both tools move a tree (or a large file) from a master directory to a
replica directory through a loopback connection, each with its own secure
transport: rha's session over TLS 1.3 (`rha serve` on the replica side, the
daemon), rsync over OpenSSH (`sshd` on the replica side, the daemon). Each
timed run is one whole process on the master side, from its start to its
exit with the replica complete: `rha replicate ... --exit-after-sync` exits
once the replica has made the sync durable (it ends with a `syncfs`), rsync
when its receiver is done (without an fsync). The daemons run untimed. The
tools run interleaved, in an order flipped each round, with dirty pages
flushed before each timed run and the page cache warm; the script reports
the median wall time of each tool and the ratio rsync / rha (above 1: rha is
faster), checks every result, and prints the largest peak RSS of the
processes it ran (both rha agents among them).

    cargo build --release -p rha-capture
    python3 benches/netsync.py                         # all cases, 5 rounds
    python3 benches/netsync.py --rounds 3 --case net-full --tree /usr/share

Cases (names for --case):
  net-full       first copy of the tree into an empty replica:
                 rha replicate vs rsync -a --delete -e ssh (each after the
                 previous copies were deleted and the file system settled,
                 a minute per run; --no-settle skips that)
  net-nochange   the same again with nothing changed (rha with --resync:
                 a sync that compares and finds nothing to send)
  net-block-copy a 1 GiB file with 1% of its 64 KiB blocks changed:
                 rha replicate --sync-mode block vs rsync -a --no-whole-file
  net-block-inplace  the same vs rsync -a --no-whole-file --inplace

Needs rsync, ssh and sshd (Debian's openssh-server); the script starts its
own sshd on a loopback port with a throwaway host key and client key, as
root (rsync runs as root on both sides, as rha does). The tree (--tree,
default /usr/lib) is copied once into the scratch directory (--scratch).
"""

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from process import block_pair_dirs, changed_pair, measure, rha_binary, run, same_file, timed  # noqa: E402



class Sshd:
    """An sshd on a loopback port that lets root in with a throwaway key."""

    def __init__(self, dir):
        self.dir = dir
        dir.mkdir(parents=True, exist_ok=True)
        host = dir / "host_ed25519"
        self.key = dir / "client_ed25519"
        for k in (host, self.key):
            if not k.exists():
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(k)])
        auth = dir / "authorized_keys"
        auth.write_text((dir / "client_ed25519.pub").read_text())
        os.chmod(auth, 0o600)
        self.port = 20000 + os.getpid() % 20000
        config = dir / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host}\n"
            f"AuthorizedKeysFile {auth}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nUsePAM no\nStrictModes no\n"
            f"PidFile {dir / 'sshd.pid'}\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        self.proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)],
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while subprocess.run(self.ssh() + ["root@127.0.0.1", "true"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            if time.time() > deadline:
                sys.exit("sshd did not come up")
            time.sleep(0.1)

    def ssh(self):
        return ["ssh", "-p", str(self.port), "-i", str(self.key), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR"]

    def rsh(self):
        return " ".join(self.ssh())

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Rha:
    """Identities for both sides, and a `rha serve` per replica directory."""

    def __init__(self, exe, dir):
        self.exe = exe
        self.dir = dir
        self.mid, self.rid = dir / "id-master", dir / "id-replica"
        self.mfp = self.keygen(self.mid)
        self.rfp = self.keygen(self.rid)
        self.server = None

    def keygen(self, d):
        out = run([self.exe, "keygen", str(d), "--force", "--json"]).stdout.decode()
        return json.loads(out)["fingerprint"]

    def serve(self, replica):
        self.stop()
        p = subprocess.Popen([self.exe, "serve", str(replica), "--listen", "127.0.0.1:0",
                              "--identity", str(self.rid), "--allow", self.mfp,
                              "--scenario", "bench"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            sys.exit(f"rha serve: {line!r}")
        self.server = p
        return line.removeprefix("listening on ")

    def replicate(self, master, addr, spool, extra=()):
        return [self.exe, "replicate", str(master), addr, "--identity", str(self.mid),
                "--peer", self.rfp, "--spool", str(spool), "--scenario", "bench",
                "--exit-after-sync", *extra]

    def stop(self):
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait()
            self.server = None


SETTLE = True


def settle(master):
    """Leaves the file system as a fresh copy would find it (see
    `SyncCase.settle` in process.py: ext4 skips inodes freed in the last
    minute, so a copy right after a deletion pays for it, by an amount that
    varies from run to run). The master is read again to keep it cached."""
    os.sync()
    time.sleep(61)
    for p in master.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with open(p, "rb") as f:
                while f.read(1 << 20):
                    pass


class TreeCase:
    tools = ("rha", "ref")

    def __init__(self, rha, sshd, scratch, tree, kind):
        self.rha, self.sshd, self.kind = rha, sshd, kind
        self.name = f"net-{kind}"
        self.master = scratch / "master"
        self.replica = {t: scratch / f"net-replica-{t}" for t in self.tools}
        self.spool = scratch / "net-spool"
        if not self.master.exists():
            print(f"copying {tree} to the scratch directory ...", file=sys.stderr)
            run(["cp", "-a", "--", str(tree), str(self.master)])
        self.addr = None

    def prepare_round(self, i):
        if self.kind == "nochange":
            # Both replicas equal to the master, untimed, and on disk: the
            # reference's copy would otherwise still be written back while
            # the timed runs go, and rha's replica syncs its file system at
            # the end of a run (paying for the other tool's copy).
            for t in self.tools:
                self.prepare(t, fresh=True)
                run(self.command(t))
            self.rha.stop()
            os.sync()

    def prepare(self, tool, fresh=None):
        fresh = self.kind == "full" if fresh is None else fresh
        if fresh:
            for t in (self.tools if self.kind == "full" else (tool,)):
                shutil.rmtree(self.replica[t], ignore_errors=True)
            if tool == "rha":
                shutil.rmtree(self.spool, ignore_errors=True)
            if self.kind == "full" and SETTLE:
                settle(self.master)
        self.replica[tool].mkdir(exist_ok=True)
        if tool == "rha":
            self.addr = self.rha.serve(self.replica["rha"])

    def command(self, tool):
        if tool == "rha":
            extra = ("--resync",) if self.kind == "nochange" else ()
            return self.rha.replicate(self.master, self.addr, self.spool, extra)
        return ["rsync", "-a", "--delete", "-e", self.sshd.rsh(), f"{self.master}/",
                f"root@127.0.0.1:{self.replica[tool]}/"]

    def check(self, tool):
        self.rha.stop()
        r = subprocess.run(["diff", "-r", "--no-dereference", "-x", ".rha",
                            str(self.master), str(self.replica[tool])],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            sys.exit(f"{tool}'s replica differs from the master:\n"
                     f"{r.stdout.decode(errors='replace')[:2000]}")


class BlockCase:
    tools = ("rha", "ref")

    def __init__(self, rha, sshd, scratch, inplace):
        self.rha, self.sshd, self.inplace = rha, sshd, inplace
        self.name = "net-block-inplace" if inplace else "net-block-copy"
        block_pair_dirs(self, scratch / "netblock")
        self.spool = self.dir / "spool"
        self.addr = None

    def prepare_round(self, i):
        pass

    def prepare(self, tool):
        changed_pair(self.old, self.master[tool], self.replica[tool], self.round)
        self.round += 1
        if tool == "rha":
            shutil.rmtree(self.spool, ignore_errors=True)
            self.addr = self.rha.serve(self.replica[tool])

    def command(self, tool):
        m, r = self.master[tool], self.replica[tool]
        if tool == "rha":
            return self.rha.replicate(m, self.addr, self.spool, ("--sync-mode", "block"))
        cmd = ["rsync", "-a", "--no-whole-file", "-e", self.sshd.rsh()]
        if self.inplace:
            cmd.append("--inplace")
        return cmd + [f"{m}/", f"root@127.0.0.1:{r}/"]

    def check(self, tool):
        self.rha.stop()
        same_file(self.master[tool] / "f.img", self.replica[tool] / "f.img")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--case", action="append",
                    choices=["net-full", "net-nochange", "net-block-copy", "net-block-inplace"])
    ap.add_argument("--tree", type=Path, default=Path("/usr/lib"))
    ap.add_argument("--scratch", type=Path)
    ap.add_argument("--no-settle", action="store_true",
                    help="do not wait a minute before each first copy (quicker, noisier)")
    args = ap.parse_args()
    global SETTLE
    SETTLE = not args.no_settle
    cases = args.case or ["net-full", "net-nochange", "net-block-copy", "net-block-inplace"]
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="rha-netsync-"))
    scratch.mkdir(parents=True, exist_ok=True)
    rha = Rha(rha_binary(), scratch / "ids")
    sshd = Sshd(scratch / "sshd")
    try:
        print(f"{'case':20} {'rha s':>8} {'rsync s':>8} {'ratio':>7}  (rsync / rha, median of {args.rounds})")
        for name in cases:
            if name.startswith("net-block"):
                case = BlockCase(rha, sshd, scratch, name.endswith("inplace"))
            else:
                case = TreeCase(rha, sshd, scratch, args.tree, name.removeprefix("net-"))
            med, all_times = measure(case, args.rounds)
            print(f"{case.name:20} {med['rha']:8.3f} {med['ref']:8.3f} {med['ref'] / med['rha']:7.2f}x"
                  f"   rha {[round(t, 3) for t in all_times['rha']]} rsync {[round(t, 3) for t in all_times['ref']]}",
                  flush=True)
    finally:
        rha.stop()
        sshd.stop()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak RSS of any finished child (rha replicate, rha serve, rsync, ssh): {peak / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
