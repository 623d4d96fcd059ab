"""``harpdaal als``: fit an ImplicitALS from an interactions file, write the model and a report.

Files: ``user item strength`` lines (harpdaal.datasets.load_ratings: whitespace or CSV, extra
columns ignored, 0-based integer ids; repeated pairs add up); ``.gz`` is read transparently. With --negatives (NCF's ``(user,item)\\tneg1\\tneg2...`` lines:
each test user's held-out item and its sampled negatives) the report gives HR@N and NDCG@N of
the held-out item ranked among its negatives (He et al., NCF, WWW 2017), e.g. for
``pinterest-20``. Under --ranks R each rank keeps one contiguous block of users.
"""
from __future__ import annotations

import json
import time

import numpy as np
import scipy.sparse as sp

from ..datasets import load_ncf_negatives, load_ratings


def add_parser(sub):
    p = sub.add_parser("als", help="implicit-feedback ALS of an interactions file",
                       description=__doc__)
    p.add_argument("--data", required=True, help="interactions file ('user item [strength]')")
    p.add_argument("--negatives", help="NCF test negatives file (held-out item + negatives)")
    p.add_argument("--top", type=int, default=10, help="N of HR@N / NDCG@N (default 10)")
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--regularization", type=float, default=0.01)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--solver", choices=("cg", "cholesky"), default="cg")
    p.add_argument("--cg-steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="threads per rank (default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="als_model.npz", help="where to write the model")
    p.add_argument("--report", default="als_report.json", help="where to write the JSON report")
    p.add_argument("--ranks", type=int, default=1, help="MPI ranks (relaunches under mpiexec)")
    p.add_argument("--verbose", "-v", action="store_true", help="training loss per iteration")
    p.set_defaults(func=run)


def interactions_matrix(path) -> sp.csr_matrix:
    """users x items CSR matrix (float32 strengths, repeated pairs summed) of a ``user item
    strength`` file read by :func:`harpdaal.datasets.load_ratings`."""
    users, items, strength = load_ratings(path)
    if users.max() >= 2**31 or items.max() >= 2**31:
        raise ValueError(f"{path}: ids must be < 2**31")
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    return sp.coo_matrix((strength.astype(np.float32), (users, items)), shape=shape).tocsr()


def hit_ratio_ndcg(user_factors, item_factors, negatives: dict, top: int = 10):
    """HR@top and NDCG@top of each held-out item among its sampled negatives (a negative
    ranks ahead only when it scores strictly higher), averaged over the users."""
    users = np.fromiter(negatives, dtype=np.int64)
    if users.size == 0:
        raise ValueError("no test users")
    hits = np.empty(users.size)
    gains = np.empty(users.size)
    for n, u in enumerate(users):
        item, neg = negatives[int(u)]
        q = user_factors[u]
        rank = int(np.count_nonzero(item_factors[neg] @ q > item_factors[item] @ q))
        hits[n] = rank < top
        gains[n] = 1.0 / np.log2(rank + 2) if rank < top else 0.0
    return float(hits.mean()), float(gains.mean())


def run(args) -> int:
    from .launch import relaunch_if_needed

    rc = relaunch_if_needed(args)
    if rc is not None:
        return rc

    from ..comm import current_communicator
    from ..recommend import ImplicitALS

    comm = current_communicator()
    t0 = time.perf_counter()
    R = interactions_matrix(args.data)
    load_s = time.perf_counter() - t0
    bounds = [(R.shape[0] * r) // comm.size for r in range(comm.size + 1)]
    local = R[bounds[comm.rank]:bounds[comm.rank + 1]]
    est = ImplicitALS(factors=args.factors, regularization=args.regularization,
                      alpha=args.alpha, iterations=args.iterations, solver=args.solver,
                      cg_steps=args.cg_steps, n_jobs=args.threads, random_state=args.seed,
                      calculate_training_loss=bool(args.verbose), verbose=int(args.verbose))
    t1 = time.perf_counter()
    est.fit(local)
    fit_s = time.perf_counter() - t1
    if comm.rank != 0:
        return 0
    report = {"data": str(args.data), "ranks": comm.size, "threads": args.threads,
              "n_users": int(R.shape[0]), "n_items": int(R.shape[1]), "nnz": int(R.nnz),
              "params": est.get_params(), "fit_seconds": fit_s, "load_seconds": load_s,
              "timings": est.timings_, "history": est.history_, "model": str(args.model)}
    line = f"fit {fit_s:.2f} s ({est.n_iter_} iterations)"
    if args.negatives:
        hr, ndcg = hit_ratio_ndcg(est.user_factors_, est.item_factors_,
                                  load_ncf_negatives(args.negatives), args.top)
        report.update({f"hr@{args.top}": hr, f"ndcg@{args.top}": ndcg})
        line += f"  HR@{args.top} {hr:.4f}  NDCG@{args.top} {ndcg:.4f}"
    est.save(args.model)
    with open(args.report, "w") as fh:
        json.dump(report, fh, indent=2)
    print(f"{line}  model -> {args.model}  report -> {args.report}")
    return 0
