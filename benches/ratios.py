#!/usr/bin/env python3
"""Print criterion results as ratios to the baseline of each group.

Reads the last run's estimates from the criterion output directory
($CARGO_TARGET_DIR or ./target, then criterion/) and, for every group that has
a `memcpy+crc32c` benchmark (or, for the HA groups, a `baseline` one),
prints each benchmark's mean time, throughput and speed relative to that
baseline (above 1.0: faster than the baseline). Then it checks the journal
targets of issue 2 for every codec: 1 MiB writes encode and decode at >= 0.80
of the baseline, 64-byte writes at >= 10 million records/s each way.

    cargo bench -p rha-benches --bench journal
    python3 benches/ratios.py
"""

import json
import os
import sys
from pathlib import Path

BASELINE = "memcpy+crc32c"
# The floors of the tree benchmarks (benches/tree.rs).
OTHER_BASELINES = ("walk", "decode-both", "baseline", "rewind-off")


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
                if name == "rewind/apply-4KiB":
                    checks.append((f"{name} {fid} >= 0.50x rewind off", ratio >= 0.50, f"{ratio:.2f}x"))
                elif "1MiB" in name:
                    checks.append((f"{name} {fid} >= 0.80x baseline", ratio >= 0.80, f"{ratio:.2f}x"))
                elif "64B" in name and unit == "M/s":
                    checks.append((f"{name} {fid} >= 10 M records/s", amount >= 10, f"{amount:.1f} M/s"))
    if checks:
        print("targets")
        for what, ok, value in checks:
            print(f"  {'met   ' if ok else 'MISSED'} {what}: {value}")


if __name__ == "__main__":
    main()
