"""A small fit of one estimator, run as a script (single process or under mpiexec) by the
fault, determinism and resume tests:

    python _fitjob.py ALG OUT_PREFIX [--fault raise|kill|slow] [--at N] [--threads T]
                      [--checkpoint DIR] [--every E] [--resume] [--iters N] [--pause S]

ALG is kmeans, minibatch (MiniBatchKMeans), mf or lda. Each rank fits its own deterministic share of a small synthetic data
set and writes its fitted arrays to OUT_PREFIX.rank<r>.npz. --fault injects a fault on the
last rank at the N-th call of the estimator's native kernel (raise, kill -9, or sleep 9x the
kernel's time). --pause sleeps after each kernel call (to give a kill time to land mid-fit)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import numpy as np

from harpdaal import _core

# K-means: the one-iteration step (sparse / several ranks) and the native blocks (one process)
KERNELS = {"kmeans": [(_core.kmeans, "lloyd_partial_f64"), (_core.kmeans, "lloyd_iterations_f64")],
           "minibatch": [(_core.kmeans, "lloyd_partial_f64")],
           "mf": [(_core.mf, "sgd_train_grid")],
           "lda": [(_core.lda, "sample_block")]}


def patch_kernels(alg, rank, faulty_rank, fault, at, pause):
    calls = [0]
    for mod, name in KERNELS[alg]:
        real = getattr(mod, name)

        def patched(*args, _real=real):
            calls[0] += 1
            if rank == faulty_rank and calls[0] == at:
                if fault == "raise":
                    raise RuntimeError(f"injected fault on rank {rank} at kernel call {at}")
                if fault == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
            t0 = time.perf_counter()
            out = _real(*args)
            if fault == "slow" and rank == faulty_rank:
                time.sleep(9 * (time.perf_counter() - t0) + 0.002)
            if pause:
                time.sleep(pause)
            return out

        setattr(mod, name, patched)


def kmeans_data(rank, size):
    rng = np.random.default_rng(100 + rank)
    n = 600 // size
    centers = np.random.default_rng(0).normal(scale=3, size=(6, 5))
    return centers[rng.integers(0, 6, n)] + rng.standard_normal((n, 5))


def mf_data(rank, size):
    rng = np.random.default_rng(0)
    m, n, k = 120, 90, 3
    U, V = rng.normal(size=(m, k)), rng.normal(size=(n, k))
    u, i = np.nonzero(rng.random((m, n)) < 0.25)
    r = 3.0 + np.einsum("ij,ij->i", U[u], V[i]) + 0.1 * rng.normal(size=u.size)
    mine = (u % size) == rank  # users split over ranks
    return u[mine], i[mine], r[mine]


def lda_data(rank, size):
    from harpdaal.datasets.synthetic_lda import make_lda_corpus

    X, _ = make_lda_corpus(120, 200, 5, 40, 0.3, 0.05, seed=3)
    bounds = np.linspace(0, X.shape[0], size + 1).astype(int)
    return X[bounds[rank]:bounds[rank + 1]]


def make_estimator(alg, iters, threads, ck):
    if alg == "kmeans":
        from harpdaal.cluster import KMeans

        return KMeans(6, init="random", n_init=1, max_iter=iters, tol=0.0, random_state=0,
                      n_jobs=threads, **ck)
    if alg == "minibatch":  # iters passes of 10 steps (60-row batches of 600 rows)
        from harpdaal.cluster import MiniBatchKMeans

        return MiniBatchKMeans(6, batch_size=60, max_iter=iters, max_no_improvement=None,
                               random_state=0, n_jobs=threads, **ck)
    if alg == "mf":
        from harpdaal.recommend import MatrixFactorization

        return MatrixFactorization(n_factors=4, n_epochs=iters, random_state=0, n_jobs=threads,
                                   grid=4, duplicates="mean", **ck)
    from harpdaal.topic import LatentDirichletAllocation

    return LatentDirichletAllocation(5, max_iter=iters, random_state=0, n_jobs=threads,
                                     evaluate_every=5, **ck)


def fitted_arrays(alg, est):
    if alg == "kmeans":
        return {"centers": est.cluster_centers_, "labels": est.labels_,
                "inertia": np.array([est.inertia_]), "n_iter": np.array([est.n_iter_])}
    if alg == "minibatch":
        return {"centers": est.cluster_centers_, "labels": est.labels_,
                "inertia": np.array([est.inertia_]), "n_steps": np.array([est.n_steps_])}
    if alg == "mf":
        return {"user_factors": est.user_factors_, "item_factors": est.item_factors_,
                "user_bias": est.user_bias_, "item_bias": est.item_bias_,
                "pred": est.predict(np.arange(20), np.arange(20) % 7)}
    return {"word_topic": est.word_topic_, "topic_totals": est.topic_totals_,
            "topics": est.train_topics_, "loglik": np.array([est.loglik_per_token_])}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("alg", choices=sorted(KERNELS))
    ap.add_argument("out")
    ap.add_argument("--fault", choices=["raise", "kill", "slow"])
    ap.add_argument("--at", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=0)
    ap.add_argument("--checkpoint")
    ap.add_argument("--every", default="1")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--pause", type=float, default=0.0)
    a = ap.parse_args(argv)
    from harpdaal.comm import current_communicator

    comm = current_communicator()
    rank, size = comm.rank, comm.size
    patch_kernels(a.alg, rank, size - 1, a.fault, a.at, a.pause)
    data = {"kmeans": kmeans_data, "minibatch": kmeans_data, "mf": mf_data,
            "lda": lda_data}[a.alg](rank, size)
    iters = a.iters or {"kmeans": 25, "minibatch": 3, "mf": 12, "lda": 15}[a.alg]
    ck = {}
    if a.checkpoint:
        every = int(a.every) if a.every.isdigit() else a.every
        ck = {"checkpoint_dir": a.checkpoint, "checkpoint_every": every}
    est = make_estimator(a.alg, iters, a.threads, ck)
    kw = {"resume": True} if a.resume else {}
    est.fit(data, **kw)
    arrays = {k: v for k, v in fitted_arrays(a.alg, est).items() if v is not None}
    np.savez(f"{a.out}.rank{rank}.npz", **arrays)
    print(f"rank {rank} of {size}: {a.alg} fit done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
