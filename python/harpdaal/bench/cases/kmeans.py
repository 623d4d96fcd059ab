"""W-KM: K-means Lloyd iterations from the same initial centers, harpdaal against scikit-learn,
scikit-learn-intelex (oneDAL) and faiss-cpu.

Every tool starts from the same centers and runs `iters` Lloyd iterations (tol=0; scikit-learn
style estimators may stop earlier on strict convergence, so time is per iteration actually run).
seconds_per_iter = wall time of the whole fit / iterations (setup and the final E-step
included: the conservative figure). throughput = 2 n k d per iteration / the median
seconds_per_iter.
quality = inertia of the tool's final centers on the data, computed the same way for every tool
(float64 sum of exact squared distances to the nearest center).
faiss runs in a child process with OPENBLAS_CORETYPE=SkylakeX (its bundled OpenBLAS must load
its AVX-512 kernels; the env var must be set before the library loads), and never subsamples
(max_points_per_centroid = n). faiss (1.9 and later) stops on its own once the objective no
longer changes; its time is divided by the iterations it ran (`iteration_stats`).
Under MPI (ranks > 1) only harpdaal runs: each rank fits its contiguous share of the rows; the
time is the slowest rank's.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from ...cluster import KMeans as HarpdaalKMeans
from ...comm import current_communicator
from ...datasets import load_idx
from ..errors import PeerUnavailable

TOOLS = ["harpdaal", "sklearn", "sklearnex", "faiss"]
DISTRIBUTED_TOOLS = ["harpdaal"]

_SHAPES = {
    "smoke": [(4000, 64, 20), (8000, 16, 100)],
    "small": [(50000, 64, 100), (100000, 16, 1000)],
    "full": [(500000, 64, 100), (1000000, 16, 1000)],
}
_ITERS = {"smoke": 3, "small": 10, "full": 10}
_cache: dict = {}


def cases(size: str, data_dir: str | None) -> list[dict]:
    if size not in _SHAPES:
        raise ValueError(f"size must be one of {sorted(_SHAPES)}, got {size!r}")
    out = [{"name": f"kmeans-blobs-n{n}-d{d}-k{k}",
            "params": {"data": "blobs", "n": n, "d": d, "k": k, "iters": _ITERS[size],
                       "dtype": "float32", "seed": 0}}
           for n, d, k in _SHAPES[size]]
    if size == "full" and data_dir:
        path = os.path.join(data_dir, "fashion-mnist", "train-images-idx3-ubyte.gz")
        if os.path.isfile(path):
            out.append({"name": "kmeans-fashion-mnist-k10",
                        "params": {"data": "fashion-mnist", "path": os.path.join(data_dir, "fashion-mnist"),
                                   "n": 70000, "d": 784, "k": 10, "iters": 10,
                                   "dtype": "float32", "seed": 0}})
    return out


def _images(path):
    X = load_idx(path)
    return X.reshape(len(X), -1)


def data(params):
    """(X, initial centers), cached per case."""
    key = json.dumps(params, sort_keys=True)
    if key not in _cache:
        _cache.clear()
        rng = np.random.default_rng(params["seed"])
        n, d, k = params["n"], params["d"], params["k"]
        if params["data"] == "blobs":
            means = rng.uniform(-10, 10, (k, d)).astype(np.float32)
            X = means[rng.integers(0, k, n)]
            X += rng.standard_normal((n, d), dtype=np.float32)
        else:
            X = np.vstack([_images(os.path.join(params["path"], f))
                           for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")])
            X = X.astype(np.float32) / 255.0
        X = np.ascontiguousarray(X, dtype=params["dtype"])
        init = X[rng.choice(len(X), k, replace=False)].copy()
        _cache[key] = (X, init)
    return _cache[key]


def inertia(X, centers):
    est = HarpdaalKMeans(len(centers), n_jobs=None)
    est.cluster_centers_ = np.ascontiguousarray(centers, dtype=X.dtype)
    est.n_features_in_ = X.shape[1]
    est._n_features_out = len(centers)
    return -est.score(X)


def _fit_harpdaal(X, init, iters, threads):
    world = current_communicator()
    lo, hi = len(X) * world.rank // world.size, len(X) * (world.rank + 1) // world.size
    local = X[lo:hi]
    est = HarpdaalKMeans(len(init), init=init, n_init=1, max_iter=iters, tol=0.0, n_jobs=threads)
    world.barrier()
    t = time.perf_counter()
    est.fit(local)
    wall = time.perf_counter() - t
    walls = world.allgather_object(wall)
    wall = max(walls)
    n_iter = est.n_iter_
    tm = est.timings_
    breakdown = {"compute": tm["compute"] / n_iter, "comm": tm["comm"] / n_iter}
    breakdown["glue"] = max(wall / n_iter - breakdown["compute"] - breakdown["comm"], 0.0)
    return est.cluster_centers_, wall, n_iter, breakdown


def _fit_lloyd(kmeans_class, X, init, iters, threads):
    """Time a scikit-learn-compatible Lloyd fit from `init` under a BLAS thread limit."""
    from threadpoolctl import threadpool_limits

    est = kmeans_class(len(init), init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd")
    with threadpool_limits(limits=threads):
        t = time.perf_counter()
        est.fit(X)
        wall = time.perf_counter() - t
    return est.cluster_centers_, wall, est.n_iter_, None


def _fit_sklearn(X, init, iters, threads):
    from sklearn.cluster import KMeans

    return _fit_lloyd(KMeans, X, init, iters, threads)


def _fit_sklearnex(X, init, iters, threads):
    try:
        import daal4py
        from sklearnex.cluster import KMeans
    except ImportError as exc:
        raise PeerUnavailable(f"scikit-learn-intelex is not installed ({exc})") from None
    # daalinit(n) caps oneTBB process-wide, and harpdaal shares that oneTBB: undo the cap after
    # the run, or every later harpdaal fit in this process runs on n threads (a 1-thread
    # sklearnex run made the 2-thread harpdaal cells of earlier benchmarks single-threaded)
    daal4py.daalinit(threads)
    try:
        return _fit_lloyd(KMeans, X, init, iters, threads)
    finally:
        daal4py.daalinit(os.cpu_count() or 1)


_FAISS_WORKER = r"""
import sys, time, json, numpy as np, faiss
from threadpoolctl import threadpool_info
X = np.load(sys.argv[1]); init = np.load(sys.argv[2]); iters = int(sys.argv[3]); threads = int(sys.argv[4])
faiss.omp_set_num_threads(threads)
km = faiss.Kmeans(X.shape[1], len(init), niter=iters, verbose=False, seed=0,
                  min_points_per_centroid=1, max_points_per_centroid=len(X))
t = time.perf_counter(); km.train(X, init_centroids=init); wall = time.perf_counter() - t
np.save(sys.argv[5], km.centroids)
blas = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"
        and "faiss" in i.get("filepath", "")]
# faiss >= 1.9 stops early once the objective no longer changes: count what ran
print(json.dumps({"wall": wall, "blas": blas, "iterations": len(km.iteration_stats)}))
"""


def _fit_faiss(X, init, iters, threads):
    try:
        import faiss  # noqa: F401
    except ImportError as exc:
        raise PeerUnavailable(f"faiss-cpu is not installed ({exc})") from None
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, f) for f in ("x.npy", "init.npy", "out.npy")]
        np.save(paths[0], X)
        np.save(paths[1], init)
        env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS=str(threads))
        env.pop("OPENBLAS_L2_SIZE", None)
        res = subprocess.run([sys.executable, "-c", _FAISS_WORKER, paths[0], paths[1], str(iters),
                              str(threads), paths[2]], env=env, capture_output=True, text=True,
                             timeout=1800)
        if res.returncode != 0:
            raise RuntimeError(f"faiss worker failed: {res.stderr[-2000:]}")
        info = json.loads(res.stdout.strip().splitlines()[-1])
        centers = np.load(paths[2])
    _fit_faiss.blas = info["blas"]
    return centers, info["wall"], int(info["iterations"]), None


_FITS = {"harpdaal": _fit_harpdaal, "sklearn": _fit_sklearn, "sklearnex": _fit_sklearnex,
         "faiss": _fit_faiss}


def run(case: dict, tool: str, threads: int, repeat: int) -> dict:
    if tool not in _FITS:
        raise ValueError(f"unknown tool {tool!r}")
    p = case["params"]
    X, init = data(p)
    flops = 2.0 * p["n"] * p["k"] * p["d"]
    per_iter, breakdowns, centers = [], [], None
    for _ in range(repeat):
        centers, wall, n_iter, breakdown = _FITS[tool](X, init, p["iters"], threads)
        per_iter.append(wall / max(int(n_iter), 1))
        if breakdown:
            breakdowns.append(breakdown)
    median = sorted(per_iter)[len(per_iter) // 2]
    out = {"seconds_per_iter": per_iter, "throughput": flops / median / 1e9,
           "throughput_unit": "GFLOP/s", "quality": float(inertia(X, centers)),
           "quality_name": "inertia", "iterations": int(n_iter)}
    if tool == "harpdaal":

        out["breakdown"] = {key: statistics.median(b[key] for b in breakdowns)
                            for key in ("compute", "comm", "glue")}
    if tool == "faiss":
        out["blas_kernel"] = getattr(_fit_faiss, "blas", None)
    return out
