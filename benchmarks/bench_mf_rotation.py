"""Distributed MF: updates/s, test RMSE and the time split (compute / rotation wait / other
communication / glue) of harpdaal's MatrixFactorization on the W-MF synthetic ratings, for one
process or under mpiexec (ratings split by user).

    python benchmarks/bench_mf_rotation.py --size full --repeat 3
    mpiexec -n 2 python benchmarks/bench_mf_rotation.py --size full --repeat 3
    mpiexec -n 2 python benchmarks/bench_mf_rotation.py --size small --slices 1 2 4 --solver sgd ccd

Rank 0 prints one markdown row per setting (medians over --repeat fits; wall = slowest rank).
updates/s = training ratings x epochs / fit wall time (set-up included).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from harpdaal.bench.cases import mf as case_mf


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=("smoke", "small", "full"), default="small")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=None, help="default: the case's")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--slices", type=int, nargs="+", default=[2])
    ap.add_argument("--solver", nargs="+", default=["sgd"], choices=("sgd", "ccd"))
    ap.add_argument("--timer", type=float, default=None, help="rotation_timer fraction")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    from harpdaal.comm import current_communicator
    from harpdaal.recommend import MatrixFactorization

    comm = current_communicator()
    case = case_mf.cases(args.size, None)[0]
    p = dict(case["params"], k=args.k)
    if args.epochs:
        p["epochs"] = args.epochs
    train, test = case_mf.load(p) if hasattr(case_mf, "load") else case_mf._load(p)
    mine = (train[0] % comm.size) == comm.rank
    part = tuple(a[mine] for a in train)
    n_train = train[2].size
    if comm.rank == 0:
        print(f"W-MF {args.size}: {n_train} training ratings, k={p['k']}, {p['epochs']} epochs, "
              f"{comm.size} rank(s) x {args.threads} thread(s), load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("| solver | slices/rank | timer | s/epoch | updates/s | test RMSE | compute | "
              "rotation wait | other comm | glue |\n|---|---|---|---|---|---|---|---|---|---|")
    for solver in args.solver:
        for S in (args.slices if solver == "sgd" else [args.slices[0]]):
            walls, parts, rmse = [], [], None
            for _ in range(args.repeat):
                est = MatrixFactorization(n_factors=p["k"], n_epochs=p["epochs"], random_state=0,
                                          n_jobs=args.threads, solver=solver, slices_per_rank=S,
                                          rotation_timer=args.timer if solver == "sgd" else None,
                                          early_stopping=False, reg_user=0.04, reg_item=0.05)
                comm.barrier()
                t0 = time.perf_counter()
                est.fit(part)
                wall = max(comm.allgather_object(time.perf_counter() - t0))
                walls.append(wall)
                tm = est.timings_
                wait = tm.get("rotation_wait", 0.0)
                parts.append((tm["compute"], wait, tm["comm"] - wait, tm["glue"]))
                rmse = est.rmse(test)
            med = statistics.median(walls)
            # per-rank medians, then the mean over ranks
            split = np.mean(comm.allgather_object(
                [statistics.median(x[j] for x in parts) for j in range(4)]), axis=0)
            if comm.rank == 0:
                e = p["epochs"]
                slices = S if comm.size > 1 else "-"
                print(f"| {solver} | {slices} | {args.timer} | {med / e:.3f} | "
                      f"{n_train * e / med / 1e6:.1f}M | {rmse:.4f} | " +
                      " | ".join(f"{x / e:.3f}" for x in split) + " |", flush=True)


if __name__ == "__main__":
    main()
