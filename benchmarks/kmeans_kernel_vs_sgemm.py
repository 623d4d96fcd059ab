#!/usr/bin/env python
"""The fused distance kernel against sgemm by CPU time (load-robust), 1 thread.

Each call is timed with the calling thread's CPU time (time.thread_time: every call here runs
on the calling thread, 1 thread) and the median of --repeat interleaved runs is reported, so
other load on the machine does not enter the figure (wall time would measure the scheduler). The fused step includes the M-step (sums, weights) and the inertia; sgemm does not.
`assign fused (no M-step)` is the distance part alone: the same fused tile and per-row
argmin (labels), no sums, no inertia.

    python benchmarks/kmeans_kernel_vs_sgemm.py [--repeat 7] [--out f.json]
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from harpdaal import _core

K = _core.kmeans


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--out")
    a = p.parse_args()
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2048, 2048), dtype=np.float32)
    B = A.T.copy()
    Cm = np.empty_like(A)
    lab2 = np.empty(2048, np.int32)
    shapes = {"A d64 k100": (100000, 64, 100), "B d16 k1000": (200000, 16, 1000)}
    data = {}
    for name, (n, d, k) in shapes.items():
        X = rng.standard_normal((n, d), dtype=np.float32)
        C = X[:k].copy()
        data[name] = (X, C, C.T.copy(), np.empty(n, np.int32), np.empty((k, d)), np.empty(k),
                      np.empty((n, k), np.float32), 2.0 * n * k * d)
    cpu, wall = {}, {}

    def timed(key, flops, fn):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        c, w = time.thread_time() - c, time.perf_counter() - w
        cpu.setdefault(key, []).append(flops / c / 1e9)
        wall.setdefault(key, []).append(flops / w / 1e9)

    load = [os.getloadavg()]
    with threadpool_limits(limits=1):
        for _ in range(a.repeat):
            timed("sgemm numpy/OpenBLAS 2048^3", 2.0 * 2048**3, lambda: np.matmul(A, B, out=Cm))
            timed("sgemm MKL 2048^3 (+argmin)", 2.0 * 2048**3,
                  lambda: K.assign_f32(A, A, lab2, None, 1, "gemm"))
            for name, (X, C, Ct, lab, s, w, G, fl) in data.items():
                for m in ("fused", "gemm"):
                    timed(f"lloyd_partial {m} {name}", fl,
                          lambda: K.lloyd_partial_f32(X, None, C, lab, s, w, 1, m))
                # the distance part alone: the same fused tile and argmin, no M-step
                timed(f"assign fused (no M-step) {name}", fl,
                      lambda: K.assign_f32(X, C, lab, None, 1, "fused"))
                timed(f"numpy sgemm only {name}", fl, lambda: np.matmul(X, Ct, out=G))
    load.append(os.getloadavg())
    med = {key: statistics.median(v) for key, v in cpu.items()}
    best_sgemm = max(med["sgemm numpy/OpenBLAS 2048^3"], med["sgemm MKL 2048^3 (+argmin)"])
    for key, v in med.items():
        print(f"{key:45s} {v:7.1f} GFLOP/s by CPU time (median of {a.repeat}); "
              f"{v / best_sgemm:5.1%} of best sgemm; best wall {max(wall[key]):6.1f}")
    print("load average before/after:", load)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"cpu_gflops": cpu, "wall_gflops": wall, "median_cpu": med,
                       "best_sgemm_cpu": best_sgemm, "load": load}, f, indent=1)


if __name__ == "__main__":
    main()
