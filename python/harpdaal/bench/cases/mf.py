"""W-MF: matrix factorisation by SGD, harpdaal against LIBMF (AVX build and PyPI `libmf`) and
scikit-surprise.

Cases: synthetic power-law ratings from a rank-16 truth (90/10 split), k=32 (full: also k=128),
and ml-latest-small with k=40 when the data folder is given. Every tool runs the same number of
epochs; seconds_per_iter is the whole fit's wall time (set-up included) divided by the epochs,
throughput = training ratings x epochs / median fit time, quality = test RMSE.
cpu_seconds_per_iter (process CPU time / epochs) is also recorded: on a shared, overloaded
machine it is the load-robust figure for one-thread comparisons.

Peers:
- libmf: the PyPI `libmf` 0.9.2 bindings (an old, scalar LIBMF). Its predict() is wrong, so the
  test RMSE is computed from its P and Q factors. l2 regularisation 0.05 on synthetic data, 0.1 on
  ml-latest-small (LIBMF's best there, docs/mf.md), no L1, eta 0.1.
- libmf-avx: the same LIBMF mf.cpp (from the libmf 0.9.2 sdist) built with its AVX path
  (-DUSEAVX -mavx2 -mfma -O3, as LIBMF's Makefile does) by benchmarks/libmf_avx.py into
  build/libmf-avx/ and driven through ctypes; same settings as `libmf`, LIBMF's default 26 bins.
  Absent (with the reason) when the repository's benchmarks/ folder, the sdist or a compiler is
  missing.
- surprise: SVD (biased, its default lr 0.005 / reg 0.02), single-threaded; skipped (with the
  reason) where one fit would take minutes.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import pathlib
import statistics
import sys
import time

import numpy as np

from ..._config import active_isa
from ...comm import current_communicator
from ...datasets import load_ratings
from ...recommend import MatrixFactorization
from ..errors import PeerUnavailable

TOOLS = ["harpdaal", "libmf-avx", "libmf", "surprise"]
DISTRIBUTED_TOOLS = ["harpdaal"]

_SYNTH = {  # m users, n items, ratings, epochs
    "smoke": (2_000, 500, 60_000, 3),
    "small": (20_000, 4_000, 1_000_000, 10),
    "full": (100_000, 20_000, 10_000_000, 20),
}
_SURPRISE_MAX_UPDATES = 30_000_000  # ~30 s per fit at its ~1M updates/s


def cases(size: str, data_dir: str | None) -> list[dict]:
    if size not in _SYNTH:
        raise ValueError(f"size must be one of {sorted(_SYNTH)}, got {size!r}")
    m, n, nnz, epochs = _SYNTH[size]
    out = [{"name": f"mf-synthetic-{m}x{n}-k32", "params": {
        "data": "synthetic", "m": m, "n": n, "nnz": nnz, "k": 32, "epochs": epochs}}]
    if size == "smoke":
        out[0]["params"]["build_peers"] = False
    if size == "full":
        out.append({"name": f"mf-synthetic-{m}x{n}-k128", "params": {
            "data": "synthetic", "m": m, "n": n, "nnz": nnz, "k": 128, "epochs": epochs}})
    if data_dir is not None and size != "smoke":
        path = pathlib.Path(data_dir) / "ml-latest-small" / "ratings.csv"
        if path.is_file():
            out.append({"name": "mf-ml-latest-small-k40", "params": {
                "data": str(path), "k": 40, "epochs": 20}})
    return out


def synthetic(m, n, nnz, seed=0, rank=16, noise=0.5):
    """Power-law users and items (Zipf-like popularity, exponent 0.8), ratings u.v + noise from
    a rank-16 truth, unique pairs, split 90/10 by default_rng(7).permutation."""
    rng = np.random.default_rng(seed)

    def powerlaw(count, size):
        w = 1.0 / np.arange(1, count + 1) ** 0.8
        return rng.permutation(count)[np.searchsorted(np.cumsum(w / w.sum()), rng.random(size))]

    keys = np.zeros(0, np.int64)
    while keys.size < nnz:
        extra = int((nnz - keys.size) * 1.3) + 1000
        more = powerlaw(m, extra).astype(np.int64) * n + powerlaw(n, extra)
        keys = np.concatenate([keys, more])
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
    keys = keys[:nnz]
    u, i = keys // n, keys % n
    scale = rank ** -0.25
    U = rng.normal(0, scale, (m, rank)).astype(np.float32)
    V = rng.normal(0, scale, (n, rank)).astype(np.float32)
    r = 3.0 + np.einsum("ij,ij->i", U[u], V[i]) + noise * rng.normal(size=nnz)
    return u, i, r


def _load(p):
    if p["data"] == "synthetic":
        cache = pathlib.Path(os.environ.get("HARPDAAL_BENCH_CACHE",
                                            pathlib.Path.home() / ".cache" / "harpdaal-bench"))
        f = cache / f"mf_synth_{p['m']}_{p['n']}_{p['nnz']}.npz"
        if f.is_file():
            with np.load(f) as z:
                u, i, r = z["u"], z["i"], z["r"]
        else:
            u, i, r = synthetic(p["m"], p["n"], p["nnz"])
            cache.mkdir(parents=True, exist_ok=True)
            tmp = f.with_name(f"{f.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, u=u, i=i, r=r)
            os.replace(tmp, f)
    else:
        u, i, r = load_ratings(p["data"])
        # dense 0-based ids (LIBMF sizes its tables by the largest id)
        u = np.unique(u, return_inverse=True)[1]
        i = np.unique(i, return_inverse=True)[1]
    perm = np.random.default_rng(7).permutation(r.size)
    cut = int(0.9 * r.size)
    tr, te = perm[:cut], perm[cut:]
    return (u[tr], i[tr], r[tr]), (u[te], i[te], r[te])


def _rmse(pred, r):
    return float(np.sqrt(np.mean((np.asarray(pred, np.float64) - r) ** 2)))


def _run_harpdaal(train, test, p, threads, repeat):
    comm = current_communicator()
    if comm.size > 1:
        mine = (train[0] % comm.size) == comm.rank
        train = tuple(a[mine] for a in train)
    secs, cpu, comp, comm_t, rmse = [], [], [], [], None
    for _ in range(repeat):
        # a fixed amount of work per fit: no early stopping or search (the pre-search default
        # regularisation, so figures stay comparable across releases)
        est = MatrixFactorization(n_factors=p["k"], n_epochs=p["epochs"], random_state=0,
                                  n_jobs=threads, early_stopping=False, reg_user=0.04,
                                  reg_item=0.05)
        c0, t0 = time.process_time(), time.perf_counter()
        est.fit(train)
        wall = time.perf_counter() - t0
        cpu.append((time.process_time() - c0) / p["epochs"])
        if comm.size > 1:
            wall = max(comm.allgather_object(wall))
        secs.append(wall / p["epochs"])
        comp.append(est.timings_["compute"] / p["epochs"])
        comm_t.append(est.timings_["comm"] / p["epochs"])
        rmse = _rmse(est.predict(test[0], test[1]), test[2])
    med = statistics.median(secs)
    c, m = statistics.median(comp), statistics.median(comm_t)
    n_train = train[2].size if comm.size == 1 else sum(comm.allgather_object(train[2].size))
    return {"seconds_per_iter": secs, "throughput": n_train / med, "quality": rmse,
            "breakdown": {"compute": c, "comm": m, "glue": max(0.0, med - c - m)},
            "cpu_seconds_per_iter": cpu, "isa": active_isa()}


def _run_libmf(train, test, p, threads, repeat):
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from libmf import mf as libmf
    except Exception as exc:  # ImportError, or its .so failing to load
        raise PeerUnavailable(f"PyPI libmf not usable: {exc}") from None
    l2 = 0.1 if p["data"] != "synthetic" else 0.05
    X = np.column_stack([train[0], train[1], train[2]]).astype(np.float32)
    secs, cpu, rmse = [], [], None
    for _ in range(repeat):
        model = libmf.MF(k=p["k"], nr_threads=threads, nr_iters=p["epochs"], lambda_p1=0.0,
                         lambda_q1=0.0, lambda_p2=l2, lambda_q2=l2, eta=0.1, quiet=True)
        c0, t0 = time.process_time(), time.perf_counter()
        model.fit(X)
        secs.append((time.perf_counter() - t0) / p["epochs"])
        cpu.append((time.process_time() - c0) / p["epochs"])
        P, Q = model.p_factors(), model.q_factors()
        u, i = test[0], test[1]
        ok = (u < P.shape[0]) & (i < Q.shape[0])
        # rows of ids without training ratings come back NaN from this LIBMF: those pairs
        # (and ids beyond its tables) get the training mean
        pred = np.full(u.size, float(np.mean(train[2])), np.float64)
        pred[ok] = np.einsum("ij,ij->i", P[u[ok]].astype(np.float64), Q[i[ok]])
        pred[~np.isfinite(pred)] = float(np.mean(train[2]))
        rmse = _rmse(pred, test[2])
    return {"seconds_per_iter": secs, "throughput": train[2].size / statistics.median(secs),
            "quality": rmse, "cpu_seconds_per_iter": cpu}


def _libmf_avx_module():
    """benchmarks/libmf_avx.py of the source tree this package runs from (editable install)."""

    name = "harpdaal_bench_libmf_avx"
    if name in sys.modules:
        return sys.modules[name]
    here = pathlib.Path(__file__).resolve()
    script = next((d / "benchmarks" / "libmf_avx.py" for d in here.parents
                   if (d / "benchmarks" / "libmf_avx.py").is_file()), None)
    if script is None:
        raise PeerUnavailable("libmf-avx: benchmarks/libmf_avx.py not found (needs the source "
                              "tree, i.e. an editable install)")
    spec = importlib.util.spec_from_file_location(name, script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[name] = mod
    return mod


def _run_libmf_avx(train, test, p, threads, repeat):
    lm = _libmf_avx_module()
    try:
        # the smoke size never compiles it (CI time): it runs there only when already built
        lm.load(build=p.get("build_peers", True))
    except lm.BuildError as exc:
        raise PeerUnavailable(f"libmf-avx: {exc}") from None
    l2 = 0.1 if p["data"] != "synthetic" else 0.05
    secs, cpu, rmse = [], [], None
    m, n = int(max(train[0].max(), test[0].max())) + 1, int(max(train[1].max(), test[1].max())) + 1
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        model = lm.train(train[0], train[1], train[2], k=p["k"], nr_threads=threads,
                         nr_iters=p["epochs"], lambda_p2=l2, lambda_q2=l2, eta=0.1, m=m, n=n)
        secs.append((time.perf_counter() - t0) / p["epochs"])
        cpu.append((time.process_time() - c0) / p["epochs"])
        rmse = model.rmse(test[0], test[1], test[2])
    return {"seconds_per_iter": secs, "throughput": train[2].size / statistics.median(secs),
            "quality": rmse, "cpu_seconds_per_iter": cpu}


def _run_surprise(train, test, p, threads, repeat):
    try:
        import pandas as pd
        from surprise import SVD, Dataset, Reader
    except ImportError as exc:
        raise PeerUnavailable(f"scikit-surprise not installed ({exc})") from None
    if train[2].size * p["epochs"] > _SURPRISE_MAX_UPDATES:
        raise PeerUnavailable(
            f"skipped: {train[2].size * p['epochs'] / 1e6:.0f}M updates at scikit-surprise's "
            "~1M updates/s (single-threaded) is minutes per repeat; see the smaller cases")
    lo, hi = float(train[2].min()), float(train[2].max())
    df = pd.DataFrame({"u": train[0], "i": train[1], "r": train[2]})
    trainset = Dataset.load_from_df(df, Reader(rating_scale=(lo, hi))).build_full_trainset()
    secs, cpu, rmse = [], [], None
    for _ in range(repeat):
        algo = SVD(n_factors=p["k"], n_epochs=p["epochs"], random_state=0)
        c0, t0 = time.process_time(), time.perf_counter()
        algo.fit(trainset)
        secs.append((time.perf_counter() - t0) / p["epochs"])
        cpu.append((time.process_time() - c0) / p["epochs"])
        pred = [algo.predict(a, b, clip=False).est for a, b in zip(test[0], test[1])]
        rmse = _rmse(pred, test[2])
    return {"seconds_per_iter": secs, "throughput": train[2].size / statistics.median(secs),
            "quality": rmse, "cpu_seconds_per_iter": cpu}


def run(case: dict, tool: str, threads: int, repeat: int) -> dict:
    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
    p = case["params"]
    train, test = _load(p)
    fn = {"harpdaal": _run_harpdaal, "libmf-avx": _run_libmf_avx, "libmf": _run_libmf,
          "surprise": _run_surprise}[tool]
    out = fn(train, test, p, threads, repeat)
    out.update({"throughput_unit": "updates/s", "quality_name": "test_rmse"})
    out["throughput"] = float(out["throughput"])
    return out
