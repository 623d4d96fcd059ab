"""The main job's demo: Harp collectives and dispatched kernels, on one process or on MPI ranks.

Every step checks its own result (against numpy computed from what each rank contributed) and
the demo exits non-zero if any check fails, so it doubles as an end-to-end smoke test.
"""
from __future__ import annotations

import time

import numpy as np

from . import _core
from ._config import active_isa, available_isas, set_isa
from .cli.launch import relaunch
from .cluster import KMeans
from .comm import current_communicator, under_mpi
from .comm.demo import run_demo as run_collectives
from .datasets.synthetic_lda import make_lda_corpus
from .recommend import MatrixFactorization
from .topic import LatentDirichletAllocation


class DemoFailure(AssertionError):
    pass


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise DemoFailure(what)


def _say(comm, text: str) -> None:
    if comm.rank == 0:
        print(text, flush=True)


def demo_kernel(comm) -> None:
    rng = np.random.default_rng(comm.rank)
    x = rng.standard_normal((20_000, 64), dtype=np.float32)
    ref = np.einsum("ij,ij->i", x.astype(np.float64), x.astype(np.float64))
    start = active_isa()
    try:
        for isa in available_isas():
            set_isa(isa)
            out = np.empty(len(x), dtype=np.float32)
            t0 = time.perf_counter()
            _core.common.row_sq_norms_f32(x, out)
            dt = time.perf_counter() - t0
            err = float(np.max(np.abs(out - ref) / ref))
            _check(err < 1e-5, f"row_sq_norms at {isa}: max relative error {err:.2e}")
            _say(comm, f"  kernel row_sq_norms [{isa:7s}] 20000x64 float32: {dt * 1e3:6.2f} ms,"
                       f" max rel err {err:.1e}")
    finally:
        set_isa(start)


def demo_collectives(comm) -> None:
    for line in run_collectives(comm):
        _say(comm, "  " + line)


def demo_algorithms(comm) -> None:
    """Small fits of each algorithm present in this build (each checks its own quality)."""
    for name, fn in _ALGORITHM_DEMOS:
        t0 = time.perf_counter()
        summary = fn(comm)
        _say(comm, f"  {name:<10s} {summary} ({time.perf_counter() - t0:.2f} s)")


def _demo_kmeans(comm) -> str:
    k, d = 8, 16
    true_centers = np.random.default_rng(0).uniform(-10, 10, size=(k, d))
    rng = np.random.default_rng(100 + comm.rank)  # each rank holds its own rows
    labels = rng.integers(0, k, size=20_000)
    X = (true_centers[labels] + rng.standard_normal((len(labels), d))).astype(np.float32)
    km = KMeans(n_clusters=k, random_state=0, n_init=1).fit(X)
    err = max(np.min(np.linalg.norm(km.cluster_centers_ - c, axis=1)) for c in true_centers)
    _check(err < 0.2, f"K-means: a true center is {err:.3f} from every fitted center")
    return (f"{comm.size * len(X)} points, k={k}: {km.n_iter_} iterations, every true center "
            f"recovered within {err:.3f}")


def _demo_lda(comm) -> str:
    X, true_topics = make_lda_corpus(n_docs=1000, n_words=500, n_topics=10, seed=0)
    X = X[comm.rank::comm.size]  # documents split across ranks
    lda = LatentDirichletAllocation(n_components=true_topics.shape[0], max_iter=60,
                                    random_state=0).fit(X)
    learned = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
    cos = (learned / np.linalg.norm(learned, axis=1, keepdims=True)) @ (
        true_topics / np.linalg.norm(true_topics, axis=1, keepdims=True)).T
    match = float(cos.max(axis=0).mean())
    _check(match > 0.8, f"LDA: mean best-match cosine to the true topics is {match:.3f}")
    n_tokens = sum(comm.allgather_object(int(X.sum())))
    return (f"{n_tokens} tokens, K={true_topics.shape[0]}: true topics found "
            f"(mean best-match cosine {match:.3f})")


def _demo_mf(comm) -> str:
    # rank-4 truth, 600 users x 200 items; each rank keeps its own users (ratings split by user)
    rng = np.random.default_rng(0)
    users_f, items_f = rng.standard_normal((600, 4)), rng.standard_normal((200, 4))
    u = rng.integers(0, 600, 40_000)
    i = rng.integers(0, 200, 40_000)
    r = np.einsum("ij,ij->i", users_f[u], items_f[i]) + 0.1 * rng.standard_normal(len(u))
    _, first = np.unique(u * 200 + i, return_index=True)  # one rating per (user, item)
    u, i, r = u[first], i[first], r[first].astype(np.float32)
    test = np.random.default_rng(1).random(len(u)) < 0.1
    mine = (u % comm.size) == comm.rank
    train = ~test & mine
    mf = MatrixFactorization(n_factors=8, n_epochs=30, random_state=0)
    mf.fit((u[train], i[train], r[train]))
    pred = mf.predict(u[test & mine], i[test & mine])
    sse = comm.allgather_object((float(np.sum((pred - r[test & mine]) ** 2)),
                                 int(np.sum(test & mine))))
    rmse = float(np.sqrt(sum(s for s, _ in sse) / sum(n for _, n in sse)))
    baseline = float(np.std(r))
    _check(rmse < 0.5 * baseline, f"MF: test RMSE {rmse:.3f} vs rating std {baseline:.3f}")
    return f"{len(u)} ratings, k=8: test RMSE {rmse:.3f} (rating std {baseline:.3f})"


_ALGORITHM_DEMOS: list = [("K-means", _demo_kmeans), ("MF-SGD", _demo_mf), ("LDA", _demo_lda)]


def run_demo(ranks: int = 1) -> int:
    if ranks > 1 and not under_mpi():
        return relaunch(ranks, ["demo", "--ranks", str(ranks)])
    comm = current_communicator()
    if ranks > 1 and comm.size != ranks:
        raise RuntimeError(f"asked for {ranks} ranks but the communicator has {comm.size}")
    _say(comm, f"harpdaal demo on {comm.size} rank(s) ({type(comm).__name__}), "
               f"ISA {active_isa()}")
    _say(comm, "dispatched kernels:")
    demo_kernel(comm)
    _say(comm, "Harp collectives:")
    demo_collectives(comm)
    if _ALGORITHM_DEMOS:
        _say(comm, "algorithms:")
        demo_algorithms(comm)
    comm.barrier()
    _say(comm, "demo: all checks passed")
    return 0
