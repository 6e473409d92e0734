#!/usr/bin/env python3
"""ncu_summary.py - per-kernel time from an Nsight Compute CSV (issue 8 profiling).

    ncu --clock-control none --metrics gpu__time_duration.sum --csv PROGRAM ... > run.csv
    tools/device/ncu_summary.py run.csv [TOP]

Groups the launches by kernel name (template arguments kept, parameter list dropped) and
grid (the CSV's "Grid Size": the same kernel serves matrices of several shapes, the grid
tells them apart), and prints count, total and mean duration, largest
total first, and the sum over all launches. Durations are each kernel's own time on the GPU
(ncu serialises launches), so launch gaps and the overlap of programmatic dependent launch
are not in them: a decode step's kernels sum to more than the step takes in its graph.
"""
import csv
import re
import sys
from collections import defaultdict


def short(name):
    name = re.sub(r"\(.*$", "", name)          # drop the parameter list
    name = re.sub(r"^void ", "", name)
    return name[:80]


# Metric units as ncu writes them (older versions spell them out) in microseconds.
UNIT_US = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3,
           "s": 1e6, "second": 1e6}


def launches(path):
    """(kernel name, grid or "", duration in us) per launch, in the order of the CSV."""
    with open(path, newline="") as f:
        lines = [ln for ln in f if ln.startswith('"')]
    by_id = {}
    for row in csv.DictReader(lines):
        rec = by_id.setdefault(row["ID"], {"name": short(row["Kernel Name"]), "grid": ""})
        metric = row.get("Metric Name")
        if metric == "gpu__time_duration.sum":
            unit = row.get("Metric Unit", "")
            v = float(row["Metric Value"].replace(",", ""))
            rec["us"] = v * UNIT_US.get(unit, 1.0)
        if row.get("Grid Size"):
            rec["grid"] = re.sub(r"[() ]", "", row["Grid Size"]).replace(",1,1", "")
    return [(r["name"], r["grid"], r["us"]) for r in by_id.values() if "us" in r]


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: ncu_summary.py run.csv [TOP]")
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    total = defaultdict(float)
    count = defaultdict(int)
    for name, grid, us in launches(sys.argv[1]):
        k = f"{name} [grid {grid}]" if grid else name
        total[k] += us
        count[k] += 1
    grand = sum(total.values())
    print(f"{'kernel':95s} {'n':>5s} {'total us':>10s} {'mean us':>9s}")
    for k in sorted(total, key=total.get, reverse=True)[:top]:
        print(f"{k:95s} {count[k]:5d} {total[k]:10.1f} {total[k] / count[k]:9.2f}")
    print(f"all kernels: {sum(count.values())} launches, {grand:.1f} us")


if __name__ == "__main__":
    main()
