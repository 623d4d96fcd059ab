"""K-means per Lloyd iteration over a grid of shapes, harpdaal against the GEMM peers
(scikit-learn's `lloyd`, scikit-learn-intelex, faiss) in the same run: d in {2, 8, 16, 64, 256,
784, 2048} x k in {3, 10, 100, 1000}, float32 standard normal data (no cluster structure, so
no tool converges early and every tool runs the same `--iters` iterations at tol = 0; the
iterations each tool ran are recorded), the same initial centers (random rows) for every tool,
whole `fit` wall time / iterations (validation, centring and the final E-step included, for
every tool; faiss's own `train` time). For k < 16 it also gives the rate of harpdaal's
streaming pass alone, one Lloyd iteration without the fit's fixed passes over X: the
difference of a 3 x `--iters` fit and an `--iters` fit over the difference of their
iterations (median of `--repeat` alternated pairs).

    python benchmarks/kmeans_sweep.py --threads 2 --repeat 3 --out sweep.json
    python benchmarks/kmeans_sweep.py --d 784 --k 10 100      # a part of the grid

n per shape: 4 GFLOP per iteration (2 n d k), clamped to [5 k, 200,000] rows and to 400 MB of
data. Prints a markdown table (median ms per iteration; harpdaal's speed-up over the fastest
peer; for k < 16, harpdaal's rate of reading X per iteration of the whole fit and of the
pass alone against the machine's read bandwidth, measured in the same run as a BLAS sgemv over
512 MB with the same threads) and
writes the JSON with the CPU, the ISA and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from harpdaal._config import active_isa
from harpdaal.bench.cases import kmeans as KC
from harpdaal.bench.errors import PeerUnavailable
from harpdaal.bench.machine import cpu_model
from harpdaal.bench.runner import TOOL_PAUSE_S

D = [2, 8, 16, 64, 256, 784, 2048]
K = [3, 10, 100, 1000]
TOOLS = ["harpdaal", "sklearn", "sklearnex", "faiss"]


def rows_for(d: int, k: int) -> int:
    n = int(4e9 / (2 * d * k))
    n = min(max(n, 5 * k), 200_000)
    return min(n, int(400e6 / (4 * d)))


def read_bandwidth(threads: int, repeat: int = 5) -> float:
    """GB/s of a BLAS sgemv over a 512 MB matrix (each byte read once) on `threads` threads."""
    from threadpoolctl import threadpool_limits

    import time

    # random values, so that no two pages are alike (a host may merge identical pages)
    A = np.random.default_rng(0).random((8192, 16384), dtype=np.float32)
    v = np.ones(16384, np.float32)
    best = float("inf")
    with threadpool_limits(limits=threads):
        for _ in range(repeat):
            t = time.perf_counter()
            A @ v
            best = min(best, time.perf_counter() - t)
    return A.nbytes / best / 1e9


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
    bw = read_bandwidth(args.threads)
    print(f"read bandwidth ({args.threads} threads, sgemv over 512 MB): {bw:.1f} GB/s")
    print("| d | k | n | " + " | ".join(f"{t} ms" for t in args.tools) +
          " | harpdaal vs best peer | harpdaal GB/s (k < 16) | harpdaal pass GB/s (k < 16) |")
    print("|---|---|---|" + "---|" * len(args.tools) + "---|---|---|", flush=True)
    for d in args.d:
        for k in args.k:
            n = rows_for(d, k)
            rng = np.random.default_rng(d * 10007 + k)
            X = rng.standard_normal((n, d), dtype=np.float32)
            init = X[rng.choice(n, k, replace=False)].copy()
            rec = {"d": d, "k": k, "n": n, "threads": args.threads, "ms": {}, "all_ms": {},
                   "iterations": {}, "load_before": os.getloadavg()}
            for tool in args.tools:
                per, its = [], []
                time.sleep(TOOL_PAUSE_S["full"])  # the previous tool's threads spin a while
                try:
                    for _ in range(args.repeat):
                        _, wall, n_iter, _ = KC._FITS[tool](X, init, args.iters, args.threads)
                        per.append(1e3 * wall / max(int(n_iter), 1))
                        its.append(int(n_iter))
                except PeerUnavailable as exc:
                    rec["ms"][tool] = None
                    rec.setdefault("skipped", {})[tool] = str(exc)
                    continue
                rec["ms"][tool] = statistics.median(per)
                rec["all_ms"][tool] = per
                rec["iterations"][tool] = its
            if k < 16 and rec["ms"].get("harpdaal"):
                # the pass alone: what a fit of 3 x iters costs more than one of iters
                marg = []
                for _ in range(args.repeat):
                    time.sleep(TOOL_PAUSE_S["full"])
                    _, w1, n1, _ = KC._FITS["harpdaal"](X, init, args.iters, args.threads)
                    _, w3, n3, _ = KC._FITS["harpdaal"](X, init, 3 * args.iters, args.threads)
                    if int(n3) > int(n1):
                        marg.append(1e3 * (w3 - w1) / (int(n3) - int(n1)))
                if marg:
                    rec["pass_ms"] = statistics.median(marg)
                    rec["all_pass_ms"] = marg
            rec["load_after"] = os.getloadavg()
            peers = [v for t, v in rec["ms"].items() if t != "harpdaal" and v]
            ours = rec["ms"].get("harpdaal")
            rec["speedup_vs_best_peer"] = min(peers) / ours if peers and ours else None
            rows.append(rec)
            cells = " | ".join("-" if rec["ms"].get(t) is None else f"{rec['ms'][t]:.2f}"
                               for t in args.tools)
            sp = rec["speedup_vs_best_peer"]
            rate = ""
            if k < 16 and ours:
                rec["read_gbps"] = 4 * n * d / (ours / 1e3) / 1e9
                rate = f"{rec['read_gbps']:.1f} ({100 * rec['read_gbps'] / bw:.0f}%)"
            pass_rate = ""
            if rec.get("pass_ms"):
                rec["pass_read_gbps"] = 4 * n * d / (rec["pass_ms"] / 1e3) / 1e9
                pass_rate = (f"{rec['pass_read_gbps']:.1f} "
                             f"({100 * rec['pass_read_gbps'] / bw:.0f}%)")
            print(f"| {d} | {k} | {n} | {cells} | {'-' if sp is None else f'{sp:.2f}x'} | "
                  f"{rate} | {pass_rate} |", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cpu": cpu_model(), "isa": active_isa(), "threads": args.threads,
                       "read_gbps": bw,
                       "repeat": args.repeat, "iters": args.iters, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
