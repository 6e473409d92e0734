#!/usr/bin/env python3
"""ncu_summary.py - per-kernel time from an Nsight Compute CSV (issue 8 profiling).

    ncu --clock-control none --metrics gpu__time_duration.sum --csv PROGRAM ... > run.csv
    tools/device/ncu_summary.py run.csv [TOP]

Groups the launches by kernel name (template arguments shortened) and prints count, total
and mean duration, largest total first, and the sum over all launches. Durations are each
kernel's own time on the GPU (ncu serialises launches), so launch gaps are not in them.
"""
import csv
import re
import sys
from collections import defaultdict


def short(name):
    name = re.sub(r"\(.*$", "", name)          # drop the parameter list
    name = re.sub(r"^void ", "", name)
    return name[:90]


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    total = defaultdict(float)
    count = defaultdict(int)
    with open(path, newline="") as f:
        lines = [ln for ln in f if ln.startswith('"')]
    for row in csv.DictReader(lines):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = row.get("Metric Unit", "")
        v = float(row["Metric Value"].replace(",", ""))
        scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "second": 1e6}.get(unit, 1.0)
        k = short(row["Kernel Name"])
        total[k] += v * scale
        count[k] += 1
    grand = sum(total.values())
    print(f"{'kernel':90s} {'n':>6s} {'total us':>10s} {'mean us':>9s}")
    for k in sorted(total, key=total.get, reverse=True)[:top]:
        print(f"{k:90s} {count[k]:6d} {total[k]:10.1f} {total[k] / count[k]:9.2f}")
    print(f"all kernels: {sum(count.values())} launches, {grand:.1f} us")


if __name__ == "__main__":
    main()
