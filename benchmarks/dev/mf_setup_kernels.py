"""1- vs 2-thread wall time of the MF set-up kernels on the W-MF k=32 training ratings
(9M): bucket_relabel, dense_rank (users, items), mean_std, normal_rows (P, Q), gather_rows.

    python benchmarks/dev/mf_setup_kernels.py [--repeat 7]

Thread counts alternate call by call (load on a shared machine hits both alike); medians.
"""
import argparse
import statistics
import time

import numpy as np

from harpdaal import _core
from harpdaal.bench.cases import mf as cases
from harpdaal.recommend import _ratings as R


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    p = cases.cases("full", None)[0]["params"]
    (u, i, r), _ = cases._load(p)
    n = r.size
    uu, lu = R.map_ids(u, 2)
    ui, li = R.map_ids(i, 2)
    nu, ni = uu.size, ui.size
    rng = np.random.default_rng(0)
    up, ip = rng.permutation(nu).astype(np.int32), rng.permutation(ni).astype(np.int32)
    grid, ld = 8, 32
    out = (np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float32),
           np.empty(grid * grid + 1, np.int64))
    P, Q = np.empty((nu, ld), np.float32), np.empty((ni, ld), np.float32)
    P2 = np.empty_like(P)
    tu, ti = np.empty(int(u.max()) + 1, np.int32), np.empty(int(i.max()) + 1, np.int32)
    iu, ii = np.empty(n, np.int32), np.empty(n, np.int32)
    kernels = {
        "bucket_relabel": lambda nt: _core.mf.bucket_relabel(lu, li, r, up, ip, 3.0, 1.0, grid,
                                                             *out, 4, nt),
        "dense_rank (users + items)": lambda nt: (_core.mf.dense_rank(u, tu, iu, nt),
                                                  _core.mf.dense_rank(i, ti, ii, nt)),
        "mean_std": lambda nt: _core.mf.mean_std(r, nt),
        "normal_rows (P + Q)": lambda nt: (_core.mf.normal_rows(P, 32, 0.01, 1, 0, 0, nt),
                                           _core.mf.normal_rows(Q, 32, 0.01, 1, 1, 0, nt)),
        "gather_rows (P)": lambda nt: _core.mf.gather_rows(P, up, 1.0, P2, nt),
    }
    print(f"median wall seconds of {args.repeat}, {n} ratings, {nu} users, {ni} items")
    print("| kernel | 1 thread | 2 threads | speed-up |\n|---|---|---|---|")
    for name, fn in kernels.items():
        t = {1: [], 2: []}
        for _ in range(args.repeat):
            for nt in (1, 2):
                t0 = time.perf_counter()
                fn(nt)
                t[nt].append(time.perf_counter() - t0)
        a, b = statistics.median(t[1]), statistics.median(t[2])
        print(f"| {name} | {a:.4f} | {b:.4f} | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
