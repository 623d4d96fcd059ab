#!/usr/bin/env python
"""W-KM "2 MPI ranks x 1 thread" row with its peers measured in the same run.

Each round runs, one after the other, bench_kmeans.py under `--ranks R` (harpdaal only: each rank
fits its contiguous half of the rows; the time is the slowest rank's wall time) and then the
single-process tools (harpdaal, scikit-learn, scikit-learn-intelex, faiss) at each of
--threads, all with --repeat 1 on the same case; the figure is the median over --repeat rounds
of wall seconds per iteration (a multi-process run has no single CPU-time figure comparable to a
1-thread one), and GFLOP/s = 2 n k d / that. The load average before and after is recorded:
on a shared 2-core machine the R-rank and 2-thread cells are only as good as the load allows.

    python benchmarks/kmeans_ranks_vs_peers.py --only n500000 [--ranks 2] [--threads 1 2]
        [--repeat 3] [--tools harpdaal sklearn sklearnex faiss] [--out f.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def bench(args, out):
    cmd = [sys.executable, os.path.join(HERE, "bench_kmeans.py"), "--size", "full", "--repeat", "1",
           "--out", out] + args
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)["runs"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", required=True, help="substring of a bench_kmeans.py case name")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--tools", nargs="+", default=["harpdaal", "sklearn", "sklearnex", "faiss"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out")
    a = p.parse_args()
    cells = {}  # (tool, threads, ranks) -> [s/iter]
    gflop = {}
    load = [os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        for _ in range(a.repeat):
            runs = bench(["--only", a.only, "--threads", "1", "--ranks", str(a.ranks),
                          "--tools", "harpdaal"], out)
            runs += bench(["--only", a.only, "--threads", *map(str, a.threads), "--tools", *a.tools], out)
            for r in runs:
                if "seconds_per_iter" not in r:
                    continue
                key = (r["tool"], r["threads"], r["ranks"])
                cells.setdefault(key, []).append(statistics.median(r["seconds_per_iter"]))
                gflop[key] = r["throughput"] * statistics.median(r["seconds_per_iter"])  # GFLOP/iter
    load.append(os.getloadavg())
    med = {k: statistics.median(v) for k, v in cells.items()}
    sk = {t: s for (tool, t, rk), s in med.items() if tool == "sklearn"}
    print(f"| {a.only} | tool | threads x ranks | wall s/iter (median of {a.repeat}) | GFLOP/s | sklearn 1 thread / this |")
    print("|---|---|---|---|---|---|")
    for (tool, t, rk), s in sorted(med.items(), key=lambda kv: (kv[0][1] * kv[0][2], kv[1])):
        ratio = f"{sk[1] / s:.2f}x" if 1 in sk else ""
        print(f"| | {tool} | {t} x {rk} | {s:.4f} | {gflop[(tool, t, rk)] / s:.1f} | {ratio} |")
    print("load average before/after:", load)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"case": a.only, "cells": {f"{k[0]} {k[1]}t x {k[2]}r": v for k, v in cells.items()},
                       "median": {f"{k[0]} {k[1]}t x {k[2]}r": v for k, v in med.items()},
                       "load": load}, f, indent=1)


if __name__ == "__main__":
    main()
