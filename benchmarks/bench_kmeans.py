#!/usr/bin/env python
"""W-KM benchmark: harpdaal.cluster.KMeans against scikit-learn, scikit-learn-intelex and faiss.

    python benchmarks/bench_kmeans.py --size full --threads 1 2 --repeat 3 --out results.json
    python benchmarks/bench_kmeans.py --size full --threads 1 --ranks 2 --tools harpdaal

Runs harpdaal.bench.cases.kmeans for every case x tool x thread count, writes JSON (machine,
ISA, git SHA, every run) and prints a markdown table. --ranks N relaunches itself under mpiexec
(harpdaal only: the peers are single-process). Also records the best single-core sgemm of the
machine's BLASes (numpy's OpenBLAS; MKL through harpdaal's gemm path) for the "% of sgemm" column.
Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in the benchmark command only (see docs/bench.md).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

from harpdaal.bench.machine import cpu_model, git_sha as _git_sha


def git_sha() -> str | None:
    return _git_sha(os.path.dirname(os.path.abspath(__file__)))["sha"]


def sgemm_numpy(n=2048, repeat=5):
    """Best single-thread sgemm GFLOP/s of numpy's BLAS (OpenBLAS), n x n x n."""
    from threadpoolctl import threadpool_info, threadpool_limits

    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = a.T.copy()
    c = np.empty_like(a)
    best = float("inf")
    with threadpool_limits(limits=1):
        for _ in range(repeat):
            t = time.perf_counter()
            np.matmul(a, b, out=c)
            best = min(best, time.perf_counter() - t)
    arch = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return {"gflops": 2.0 * n ** 3 / best / 1e9, "kernel": arch, "n": n}


def sgemm_mkl(n=2048, repeat=5):
    """Best single-thread MKL sgemm GFLOP/s (static sequential MKL inside harpdaal._core): the
    gemm method of assign computes -2 X C^T + |c|^2 for k = n centers, i.e. one n x n x n sgemm
    plus an O(n^2) argmin."""
    from harpdaal import _core

    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    labels = np.empty(n, np.int32)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        _core.kmeans.assign_f32(a, a, labels, None, 1, "gemm")
        best = min(best, time.perf_counter() - t)
    return {"gflops": 2.0 * n ** 3 / best / 1e9, "n": n, "note": "includes the argmin pass"}


def fused_kernel(params, threads, repeat=3):
    """GFLOP/s of one native Lloyd step alone (the distance part + accumulate)."""
    from harpdaal import _core
    from harpdaal.bench.cases import kmeans as case

    X, init = case.data(params)
    n, d = X.shape
    k = len(init)
    labels = np.empty(n, np.int32)
    sums, weights = np.empty((k, d)), np.empty(k)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        _core.kmeans.lloyd_partial_f32(X, None, init, labels, sums, weights, threads, "auto")
        best = min(best, time.perf_counter() - t)
    return 2.0 * n * k * d / best / 1e9


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=["smoke", "small", "full"], default="small")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--tools", nargs="+", default=None)
    p.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"))
    p.add_argument("--only", default=None, help="substring of the case names to run")
    p.add_argument("--out", default=None, help="JSON results file")
    args = p.parse_args(argv)

    from harpdaal.cli.launch import find_mpiexec, under_mpi

    if args.ranks > 1 and not under_mpi():
        cmd = [find_mpiexec(), "-n", str(args.ranks), sys.executable, os.path.abspath(__file__)]
        cmd += [a for a in (argv if argv is not None else sys.argv[1:])]
        return subprocess.call(cmd)

    import harpdaal
    from harpdaal.bench.cases import kmeans as case
    from harpdaal.bench.errors import PeerUnavailable
    from harpdaal.comm import current_communicator

    world = current_communicator()
    ranks = world.size
    tools = args.tools or (case.DISTRIBUTED_TOOLS if ranks > 1 else case.TOOLS)
    results = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "isa": harpdaal.active_isa(),
                           "python": platform.python_version()},
               "git_sha": git_sha(), "size": args.size, "ranks": ranks, "runs": []}
    if world.rank == 0 and ranks == 1:
        results["sgemm_1thread"] = {"numpy_openblas": sgemm_numpy(), "mkl": sgemm_mkl()}
    for c in case.cases(args.size, args.data_dir):
        if args.only and args.only not in c["name"]:
            continue
        for threads in args.threads:
            if ranks == 1 and "harpdaal" in tools:
                results["runs"].append({"case": c["name"], "tool": "harpdaal-kernel",
                                        "threads": threads, "ranks": 1,
                                        "throughput": fused_kernel(c["params"], threads)})
            for tool in tools:
                row = {"case": c["name"], "tool": tool, "threads": threads, "ranks": ranks}
                try:
                    row.update(case.run(c, tool, threads, args.repeat))
                except PeerUnavailable as exc:
                    row["skipped"] = str(exc)
                if world.rank == 0:
                    print(f"# {c['name']} {tool} threads={threads} ranks={ranks}: "
                          f"{row.get('seconds_per_iter', row.get('skipped'))}", file=sys.stderr, flush=True)
                results["runs"].append(row)
    if world.rank != 0:
        return 0
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    print(table(results))
    return 0


def table(results):
    lines = []
    if "sgemm_1thread" in results:
        s = results["sgemm_1thread"]
        lines.append(f"Best 1-thread sgemm: numpy/OpenBLAS {s['numpy_openblas']['gflops']:.1f} GFLOP/s "
                     f"({s['numpy_openblas']['kernel']}), MKL {s['mkl']['gflops']:.1f} GFLOP/s\n")
    lines.append("| case | tool | threads | ranks | s/iter (median) | s/iter (best) | GFLOP/s (median) | vs sklearn (median) | inertia | breakdown compute/comm/glue (s/iter) |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    sk = {(r["case"], r["threads"]): statistics.median(r["seconds_per_iter"])
          for r in results["runs"] if r["tool"] == "sklearn" and "seconds_per_iter" in r}
    for r in results["runs"]:
        if "skipped" in r:
            lines.append(f"| {r['case']} | {r['tool']} | {r['threads']} | {r['ranks']} | skipped: {r['skipped']} | | | | | |")
            continue
        if r["tool"] == "harpdaal-kernel":
            lines.append(f"| {r['case']} | harpdaal native step only (best) | {r['threads']} | 1 | | | {r['throughput']:.1f} | | | |")
            continue
        med = statistics.median(r["seconds_per_iter"])
        ref = sk.get((r["case"], r["threads"]))
        ratio = f"{ref / med:.2f}x" if ref else ""
        bd = r.get("breakdown")
        bds = f"{bd['compute']:.4f}/{bd['comm']:.4f}/{bd['glue']:.4f}" if bd else ""
        lines.append(f"| {r['case']} | {r['tool']} | {r['threads']} | {r['ranks']} | {med:.4f} | {min(r['seconds_per_iter']):.4f} | "
                     f"{r['throughput']:.1f} | {ratio} | {r['quality']:.6g} | {bds} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
