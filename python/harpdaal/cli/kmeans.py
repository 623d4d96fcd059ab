"""``harpdaal kmeans``: fit K-means on a file (csv, npy or idx[.gz]), optionally on N MPI ranks.

Each rank reads the file and keeps its contiguous share of the rows; rank 0 writes the model
(``KMeans.save``: a model file that ``harpdaal predict`` and ``KMeans.load`` read) and a short
JSON report.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from .._config import active_isa
from ..comm import current_communicator
from ..datasets import load_idx
from .launch import ranks_mismatch, relaunch_if_needed


def add_parser(sub):
    p = sub.add_parser("kmeans", help="fit K-means on a data file (csv/npy/idx), --ranks N for MPI")
    p.add_argument("--data", required=True, help="data file: .csv, .npy, .idx or .idx*.gz (MNIST)")
    p.add_argument("--format", choices=["auto", "csv", "npy", "idx"], default="auto")
    p.add_argument("--n-clusters", type=int, default=8)
    p.add_argument("--init", choices=["k-means++", "random"], default="k-means++")
    p.add_argument("--n-init", default="auto")
    p.add_argument("--max-iter", type=int, default=300)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--random-state", type=int, default=None)
    p.add_argument("--n-jobs", type=int, default=None, help="threads per rank (default: all)")
    p.add_argument("--collective", default="allreduce",
                   choices=["allreduce", "bcast_reduce", "regroup_allgather", "push_pull", "rotate"])
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--scale", type=float, default=None, help="divide the data by this (e.g. 255)")
    p.add_argument("--ranks", type=int, default=1, help="MPI ranks (relaunches under mpiexec)")
    p.add_argument("--out", default="kmeans_model.npz", help="model file written by rank 0")
    p.add_argument("--report", default=None, help="JSON report (default: <out>.json)")
    p.add_argument("--verbose", "-v", action="store_true", help="print progress per iteration")
    p.set_defaults(func=run)


def load(path: str, fmt: str = "auto"):
    """The rows of a csv / npy / idx(.gz) file as a 2-d array."""
    if not os.path.isfile(path):
        raise ValueError(f"--data: no such file: {path}")
    name = path.lower()
    if fmt == "auto":
        if name.endswith(".npy"):
            fmt = "npy"
        elif ".idx" in name or name.endswith("-ubyte") or name.endswith("-ubyte.gz"):
            fmt = "idx"
        elif name.endswith(".csv") or name.endswith(".csv.gz") or name.endswith(".txt"):
            fmt = "csv"
        else:
            raise ValueError(f"--data: cannot tell the format of {path}; pass --format")
    if fmt == "npy":
        X = np.load(path, allow_pickle=False)
    elif fmt == "csv":
        X = np.loadtxt(path, delimiter=",", ndmin=2)
    else:
        X = load_idx(path)
        X = X.reshape(len(X), int(np.prod(X.shape[1:], dtype=np.int64)))
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"--data: expected a 2-d table, got shape {X.shape}")
    return X


def run(args) -> int:
    rc = relaunch_if_needed(args)
    if rc is not None:
        return rc

    from ..cluster import KMeans  # scikit-learn: not for the parser or a relaunching parent

    try:
        comm = current_communicator()
    except RuntimeError as exc:
        print(f"harpdaal kmeans: {exc}", file=sys.stderr)
        return 2
    rc = ranks_mismatch(args, comm)
    if rc is not None:
        return rc
    try:
        X = load(args.data, args.format)
    except ValueError as exc:
        print(f"harpdaal kmeans: {exc}", file=sys.stderr)
        return 2
    n_total, d = X.shape
    lo, hi = n_total * comm.rank // comm.size, n_total * (comm.rank + 1) // comm.size
    X = np.ascontiguousarray(X[lo:hi], dtype=args.dtype)
    if args.scale:
        X /= args.scale
    n_init = args.n_init if args.n_init == "auto" else int(args.n_init)
    est = KMeans(args.n_clusters, init=args.init, n_init=n_init, max_iter=args.max_iter,
                 tol=args.tol, random_state=args.random_state, n_jobs=args.n_jobs,
                 collective=args.collective, verbose=int(args.verbose and comm.rank == 0))
    if comm.rank == 0 and args.verbose:
        print(f"harpdaal kmeans: {n_total} x {d} {args.dtype}, k={args.n_clusters}, "
              f"{comm.size} rank(s), ISA {active_isa()}", flush=True)
    t0 = time.perf_counter()
    try:
        est.fit(X)
    except ValueError as exc:
        print(f"harpdaal kmeans: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    est.save(args.out)  # rank 0 writes (a model file `harpdaal predict` and KMeans.load read)
    if comm.rank == 0:
        report = {
            "data": os.path.abspath(args.data), "n_samples": n_total, "n_features": d,
            "n_clusters": args.n_clusters, "dtype": args.dtype, "ranks": comm.size,
            "n_jobs": args.n_jobs, "collective": args.collective, "isa": active_isa(),
            "inertia": est.inertia_, "n_iter": est.n_iter_, "fit_seconds": seconds,
            "seconds_per_iter": seconds / max(est.n_iter_, 1), "breakdown": est.timings_,
            "model": os.path.abspath(args.out),
        }
        path = args.report or os.path.splitext(args.out)[0] + ".json"
        with open(path, "w") as f:
            json.dump(report, f, indent=2)
        print(f"harpdaal kmeans: inertia {est.inertia_:.6g} after {est.n_iter_} iterations in "
              f"{seconds:.3f} s; model -> {args.out}, report -> {path}")
    return 0
