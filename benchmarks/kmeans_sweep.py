"""K-means per Lloyd iteration over a grid of shapes, harpdaal against the GEMM peers
(scikit-learn's `lloyd`, scikit-learn-intelex, faiss) in the same run: d in {2, 8, 16, 64, 256,
784, 2048} x k in {3, 10, 100, 1000}, float32 Gaussian blobs (harpdaal.bench.cases.kmeans),
the same initial centers for every tool, `--iters` iterations at tol = 0, whole `fit` wall
time / iterations (validation, centring and the final E-step included, for every tool).

    python benchmarks/kmeans_sweep.py --threads 2 --repeat 3 --out sweep.json
    python benchmarks/kmeans_sweep.py --d 784 --k 10 100      # a part of the grid

n per shape: 4 GFLOP per iteration (2 n d k), clamped to [5 k, 200,000] rows and to 400 MB of
data. Prints a markdown table (median ms per iteration; harpdaal's speed-up over the fastest
peer) and writes the JSON with the CPU, the ISA and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics

from harpdaal._config import active_isa
from harpdaal.bench.cases import kmeans as KC
from harpdaal.bench.errors import PeerUnavailable
from harpdaal.bench.machine import cpu_model

D = [2, 8, 16, 64, 256, 784, 2048]
K = [3, 10, 100, 1000]
TOOLS = ["harpdaal", "sklearn", "sklearnex", "faiss"]


def rows_for(d: int, k: int) -> int:
    n = int(4e9 / (2 * d * k))
    n = min(max(n, 5 * k), 200_000)
    return min(n, int(400e6 / (4 * d)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, nargs="+", default=D)
    ap.add_argument("--k", type=int, nargs="+", default=K)
    ap.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--out", default=None, help="JSON file for the results")
    args = ap.parse_args(argv)
    rows = []
    print("| d | k | n | " + " | ".join(f"{t} ms" for t in args.tools) +
          " | harpdaal vs best peer |")
    print("|---|---|---|" + "---|" * len(args.tools) + "---|", flush=True)
    for d in args.d:
        for k in args.k:
            n = rows_for(d, k)
            case = {"name": f"kmeans-sweep-n{n}-d{d}-k{k}",
                    "params": {"data": "blobs", "n": n, "d": d, "k": k, "iters": args.iters,
                               "dtype": "float32", "seed": 0}}
            rec = {"d": d, "k": k, "n": n, "threads": args.threads, "ms": {}, "all_ms": {},
                   "load_before": os.getloadavg()}
            for tool in args.tools:
                try:
                    res = KC.run(case, tool, args.threads, args.repeat)
                except PeerUnavailable as exc:
                    rec["ms"][tool] = None
                    rec.setdefault("skipped", {})[tool] = str(exc)
                    continue
                per = [1e3 * s for s in res["seconds_per_iter"]]
                rec["ms"][tool] = statistics.median(per)
                rec["all_ms"][tool] = per
            rec["load_after"] = os.getloadavg()
            peers = [v for t, v in rec["ms"].items() if t != "harpdaal" and v]
            ours = rec["ms"].get("harpdaal")
            rec["speedup_vs_best_peer"] = min(peers) / ours if peers and ours else None
            rows.append(rec)
            cells = " | ".join("-" if rec["ms"].get(t) is None else f"{rec['ms'][t]:.2f}"
                               for t in args.tools)
            sp = rec["speedup_vs_best_peer"]
            print(f"| {d} | {k} | {n} | {cells} | {'-' if sp is None else f'{sp:.2f}x'} |",
                  flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cpu": cpu_model(), "isa": active_isa(), "threads": args.threads,
                       "repeat": args.repeat, "iters": args.iters, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
