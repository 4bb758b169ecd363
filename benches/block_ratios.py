#!/usr/bin/env python3
"""Print the block benchmarks (benches/signature.rs) as ratios, and check
the targets of issue 3.

Reads the last run's criterion estimates ($CARGO_TARGET_DIR or ./target,
then criterion/) for the groups `block/*`, prints each tool's throughput and
rha's speed relative to fast_rsync, rdiff, memcpy and a plain read of the
data (the memory-bandwidth ceiling of a signature), then the targets:
signature >= 2x fast_rsync and >= 10x rdiff; rolling delta on 1%-changed
data >= 3x fast_rsync and on unrelated data >= 1x; a delta in rdiff's
format from rdiff's signature >= 2x the `rdiff delta` process (issue 13;
in memory against a process, so kinder to rha than benches/process.py);
fixed-offset comparison
>= 5 GB/s; patch >= 0.80 of memcpy. With benches/sparse.rs run too, also
the sync of a 1 TiB sparse file (`block/sparse-sync`) as a ratio of its
time to copying just its data (issue 12; no target, lower is better).

    RHA_BENCH_MB=64 cargo bench -p rha-benches --bench signature
    cargo bench -p rha-benches --bench sparse
    python3 benches/block_ratios.py
"""

import json
import os
import sys
from pathlib import Path


def load(root):
    groups = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        if not meta["group_id"].startswith("block/"):
            continue
        est = json.loads((bench.parent / "estimates.json").read_text())
        nbytes = (meta.get("throughput") or {}).get("Bytes", 0)
        ns = est["mean"]["point_estimate"]
        groups.setdefault(meta["group_id"], {})[meta["function_id"]] = nbytes / (ns * 1e-9)
    return groups


def main():
    root = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    groups = load(root)
    if not groups:
        print(f"no block/* results under {root}; run the bench first", file=sys.stderr)
        return 1
    for name in sorted(groups):
        print(name)
        for fn, rate in sorted(groups[name].items()):
            print(f"  {fn:<20} {rate / 1e9:8.3f} GB/s")
    checks = [
        ("block/signature", "rha", "fast_rsync", 2.0),
        ("block/signature", "rha", "rdiff", 10.0),
        ("block/delta-1pct", "rha", "fast_rsync", 3.0),
        ("block/delta-unrelated", "rha", "fast_rsync", 1.0),
        ("block/delta-rdiff", "rha", "rdiff", 2.0),
        ("block/patch", "rha", "memcpy", 0.8),
    ]
    failed = 0
    print("targets")
    for group, ours, ref, want in checks:
        g = groups.get(group, {})
        if ours not in g or ref not in g:
            print(f"  {group}: {ours}/{ref} not measured")
            continue
        ratio = g[ours] / g[ref]
        ok = ratio >= want
        failed += not ok
        print(f"  {group}: {ours} / {ref} = {ratio:.2f} (target >= {want}) {'ok' if ok else 'MISSED'}")
    print("other rha variants (no target)")
    for group in ("block/signature", "block/delta-1pct", "block/delta-unrelated"):
        g = groups.get(group, {})
        for ours in ("rha-blake3", "rha-1thread"):
            for ref in ("fast_rsync", "rdiff"):
                if ours in g and ref in g:
                    print(f"  {group}: {ours} / {ref} = {g[ours] / g[ref]:.2f}")
    g = groups.get("block/signature", {})
    for ours, ref in (("rha", "read"), ("rha-1thread", "read-1thread"), ("read", "fast_rsync")):
        if ours in g and ref in g:
            print(f"  block/signature: {ours} / {ref} = {g[ours] / g[ref]:.2f}")
    g = groups.get("block/fixed-compare", {})
    if "rha-compare" in g:
        ok = g["rha-compare"] >= 5e9
        failed += not ok
        print(f"  block/fixed-compare: {g['rha-compare'] / 1e9:.1f} GB/s (target >= 5) {'ok' if ok else 'MISSED'}")
    g = groups.get("block/sparse-sync", {})
    if g:
        print("1 TiB sparse file: sync time / time to copy its data (lower is better)")
        for ours in ("rha-missing", "rha-one-region", "rha-identical"):
            for ref in ("cp-sparse", "cp-sparse-fsync", "read-data"):
                if ours in g and ref in g:
                    # Rates are of the same bytes: the time ratio is their inverse.
                    print(f"  {ours} / {ref} = {g[ref] / g[ours]:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
