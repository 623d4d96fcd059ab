"""The MF-SGD kernel alone (`sgd_train_grid`) on the W-MF ratings: updates per CPU second.

    python benchmarks/mf_sgd_kernel.py --size full --k 32 128 --threads 1 2 --epochs 5
    HARPDAAL_ISA=avx2 python benchmarks/mf_sgd_kernel.py --k 128 --threads 1
    python benchmarks/mf_sgd_kernel.py --size cache --k 32 128     # rows in L2/L3: the core alone

Set-up as in `MatrixFactorization(solver='sgd')` (relabelling, standardised ratings, grid
max(8, 4 x threads), biases, adaptive rates, reg 0.04 / 0.05), then `--epochs` epochs, each timed
by CPU time (the calling thread's for 1 thread, the process's for more) and wall time. Medians
over the epochs after the first (which warms the caches and the page tables). CPU time is the
figure to compare on a shared machine; for 2 threads it counts both threads, so
updates/CPU-second is per core. Prints one JSON line per (k, threads), with `uptime`'s load.
`--size cache`: 2M distinct uniform (user, item) pairs of 4,096 users x 1,024 items rated by a
rank-16 truth plus noise, so the factor tables (0.6 / 2.5 MB at k=32 / 128) stay in L2/L3 and
the figure is the core's, not the memory system's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from harpdaal import _core
from harpdaal._config import active_isa
from harpdaal.bench.cases import mf
from harpdaal.recommend import _ratings as R


def _cache_resident(m=4096, n=1024, nnz=2_000_000, rank=16, seed=0):
    rng = np.random.default_rng(seed)
    key = rng.choice(m * n, size=nnz, replace=False)
    u, i = key // n, key % n
    U = rng.normal(0, rank ** -0.25, (m, rank))
    V = rng.normal(0, rank ** -0.25, (n, rank))
    r = 3.0 + np.einsum("ij,ij->i", U[u], V[i]) + 0.5 * rng.normal(size=nnz)
    return u, i, r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=("smoke", "small", "full", "cache"), default="full")
    ap.add_argument("--k", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--ways", type=int, default=R.INTERLEAVE,
                    help="users interleaved in a block (default: the estimator's)")
    ap.add_argument("--grid", type=int, default=None,
                    help="blocks per side (default: the estimator's max(8, 4 x threads))")
    args = ap.parse_args(argv)
    if args.size == "cache":
        u, i, r = _cache_resident()
    else:
        m, n, nnz, _ = mf._SYNTH[args.size]
        (u, i, r), _ = mf._load({"data": "synthetic", "m": m, "n": n, "nnz": nnz})
    users, u = np.unique(u, return_inverse=True)
    items, i = np.unique(i, return_inverse=True)
    u, i = u.astype(np.int32), i.astype(np.int32)
    nu, ni = users.size, items.size
    mean, std = float(r.mean()), float(r.std())
    for k in args.k:
        for nt in args.threads:
            grid = args.grid or max(8, 4 * nt)
            rng = np.random.default_rng(0)
            data = R.Bucketed(u, i, r, nu, ni, grid, rng, nt, ways=args.ways, shift=mean,
                              scale=std)
            seed = R.init_seed(rng)
            P = R.normal_factors(nu, k, 0.01, seed, 0, nt)
            Q = R.normal_factors(ni, k, 0.01, seed, 1, nt)
            uacc, iacc = np.ones(nu, np.float32), np.ones(ni, np.float32)
            bu, bi = np.zeros(nu, np.float32), np.zeros(ni, np.float32)
            cpu, wall = [], []
            for _ in range(args.epochs):
                order = rng.permutation(grid).astype(np.int32)
                c0 = time.thread_time() if nt == 1 else time.process_time()
                t0 = time.perf_counter()
                _core.mf.sgd_train_grid(data.users, data.items, data.ratings, data.block_ptr,
                                        order, P, Q, uacc, iacc, bu, bi, k, 0.1, 0.04, 0.05,
                                        0.02, 0.0, True, False, nt, False)
                wall.append(time.perf_counter() - t0)
                cpu.append((time.thread_time() if nt == 1 else time.process_time()) - c0)
            train_sse = _core.mf.sum_squared_error(data.users, data.items, data.ratings, P, Q,
                                                   bu, bi, k, 0.0, nt)
            n_r = r.size
            rec = {"k": k, "threads": nt, "grid": grid, "ways": args.ways, "isa": active_isa(), "ratings": n_r,
                   "updates_per_cpu_s": n_r / statistics.median(cpu[1:] or cpu),
                   "updates_per_wall_s": n_r / statistics.median(wall[1:] or wall),
                   "cpu_s": cpu, "wall_s": wall,
                   "train_rmse_scaled": float(np.sqrt(train_sse / n_r)),
                   "loadavg": os.getloadavg()}
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
