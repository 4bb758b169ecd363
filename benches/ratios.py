#!/usr/bin/env python3
"""Print criterion results as ratios to the baseline of each group.

Reads the last run's estimates from the criterion output directory
($CARGO_TARGET_DIR or ./target, then criterion/) and, for every group that has
a `memcpy+crc32c` benchmark (or, for the HA groups, a `baseline` one),
prints each benchmark's mean time, throughput and speed relative to that
baseline (above 1.0: faster than the baseline). Then it checks the journal
targets of issue 2 for every codec: 1 MiB writes encode and decode at >= 0.80
of the baseline, 64-byte writes at >= 10 million records/s each way; and the
rewind target of issue 13: 4 KiB overwrites applied with rewind on at >= 0.70
of the speed with rewind off, printed beside the floor (rewind off plus
logging the destroyed bytes, benchmark `floor`), which bounds what rewind on
can reach on the machine measured.

    cargo bench -p rha-benches --bench journal
    cargo bench -p rha-benches --bench rewind
    python3 benches/ratios.py

The criterion runs time rewind off and on one after the other; on a shared
machine `RHA_BENCH_PAIRED=9 cargo bench -p rha-benches --bench rewind`
interleaves them and prints the same ratio and floor itself.
"""

import json
import os
import sys
from pathlib import Path

BASELINE = "memcpy+crc32c"
# The floors of the tree benchmarks (benches/tree.rs).
OTHER_BASELINES = ("walk", "decode-both", "baseline", "rewind-off")
# Issue 13: rewind on at >= 0.70x the speed of rewind off for 4 KiB overwrites.
REWIND_GROUP = "rewind/apply-4KiB"
REWIND_TARGET = 0.70


def load(root):
    groups = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        groups.setdefault(meta["group_id"], {})[meta["function_id"]] = {
            "ns": est["mean"]["point_estimate"],
            "throughput": meta.get("throughput") or {},
        }
    return groups


def rate(result):
    """(amount per second, unit) from a result's throughput."""
    for kind, amount in result["throughput"].items():
        per_s = amount / (result["ns"] * 1e-9)
        if kind.startswith("Bytes"):
            return per_s / 2**30, "GiB/s"
        return per_s / 1e6, "M/s"
    return float("nan"), ""


def rewind_check(results):
    """Issue 13's check: rewind-on against rewind-off, the floor beside it."""
    what = f"{REWIND_GROUP} rewind-on >= {REWIND_TARGET:.2f}x rewind off"
    off, on = results.get("rewind-off"), results.get("rewind-on")
    if off is None or on is None:
        return (what, False, "no rewind-off/rewind-on result")
    ratio = off["ns"] / on["ns"]
    floor = results.get("floor")
    beside = f"floor {off['ns'] / floor['ns']:.2f}x" if floor else "floor not measured"
    return (what, ratio >= REWIND_TARGET, f"{ratio:.2f}x ({beside})")


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    root = target / "criterion"
    if not root.is_dir():
        sys.exit(f"no criterion results under {root}; run cargo bench first")
    groups = load(root)
    checks = []
    for name in sorted(groups):
        results = groups[name]
        base_id = next((b for b in (BASELINE,) + OTHER_BASELINES if b in results), None)
        if base_id is None:
            continue
        base = results[base_id]
        print(name)
        for fid in sorted(results, key=lambda f: (f != base_id, f)):
            r = results[fid]
            amount, unit = rate(r)
            ratio = base["ns"] / r["ns"]
            print(f"  {fid:<16} {r['ns'] / 1e6:9.3f} ms  {amount:8.2f} {unit:<6} {ratio:6.2f}x baseline")
            if fid != base_id:
                if name == REWIND_GROUP:
                    pass
                elif "1MiB" in name:
                    checks.append((f"{name} {fid} >= 0.80x baseline", ratio >= 0.80, f"{ratio:.2f}x"))
                elif "64B" in name and unit == "M/s":
                    checks.append((f"{name} {fid} >= 10 M records/s", amount >= 10, f"{amount:.1f} M/s"))
    if REWIND_GROUP in groups:
        checks.append(rewind_check(groups[REWIND_GROUP]))
    if checks:
        print("targets")
        for what, ok, value in checks:
            print(f"  {'met   ' if ok else 'MISSED'} {what}: {value}")


if __name__ == "__main__":
    main()
