"""W-KM at 1 thread by process CPU time, harpdaal vs scikit-learn vs scikit-learn-intelex,
and faiss with --faiss (in a child process, as bench_kmeans.py runs it; the child reports the
process CPU time of its km.train alone, all its threads included, so a BLAS that runs more
threads than asked shows up as CPU time above wall time).
On a shared, oversubscribed machine CPU time is the load-robust figure for single-threaded
runs; wall time is printed too. Same data, init and settings as bench_kmeans.py (10 Lloyd
iterations, tol=0, final E-step included), fits interleaved, median of --repeat.

    python benchmarks/kmeans_cpu_time_vs_peers.py [--shape 500000 64 100 | --fashion DATA_DIR] [--repeat 3] [--faiss] [--out f.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from harpdaal.bench.cases import kmeans as case


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shape", type=int, nargs=3, default=[500000, 64, 100])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out")
    p.add_argument("--faiss", action="store_true", help="add faiss-cpu (child process)")
    p.add_argument("--fashion", metavar="DIR", help="fashion-mnist (k=10, as bench_kmeans.py) "
                   "from DIR/fashion-mnist instead of blobs of --shape")
    a = p.parse_args()
    n, d, k = a.shape
    if a.fashion:
        c = [c for c in case.cases("full", a.fashion) if "fashion" in c["name"]][0]
        X, init = case.data(c["params"])
        a.shape = [len(X), X.shape[1], len(init)]
    else:
        X, init = case.data({"data": "blobs", "n": n, "d": d, "k": k, "iters": 10,
                             "dtype": "float32", "seed": 0})
    fits = {"harpdaal": case._fit_harpdaal, "sklearn": case._fit_sklearn,
            "sklearnex": case._fit_sklearnex}
    tmp = None
    if a.faiss:
        tmp = tempfile.TemporaryDirectory()
        paths = [os.path.join(tmp.name, f) for f in ("x.npy", "init.npy", "out.npy")]
        np.save(paths[0], X)
        np.save(paths[1], init)
        fits["faiss"] = lambda X_, init_, iters, threads: _faiss(paths, iters, threads)
    res = {t: {"cpu": [], "wall": []} for t in fits}
    load = [os.getloadavg()]
    for _ in range(a.repeat):
        for tool, fit in fits.items():
            c = time.process_time()
            _, wall, n_iter, _ = fit(X, init, 10, 1)
            cpu = time.process_time() - c
            if tool == "faiss":
                cpu = _faiss.cpu
            res[tool]["cpu"].append(cpu / n_iter)
            res[tool]["wall"].append(wall / n_iter)
    load.append(os.getloadavg())
    med = {t: {m: statistics.median(v) for m, v in r.items()} for t, r in res.items()}
    for t, m in med.items():
        print(f"{t:10s} CPU s/iter {m['cpu']:.4f} (sklearn/this {med['sklearn']['cpu'] / m['cpu']:.2f}x)"
              f"   wall s/iter {m['wall']:.4f} (sklearn/this {med['sklearn']['wall'] / m['wall']:.2f}x)")
    print("load average before/after:", load)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"shape": a.shape, "runs": res, "median": med, "load": load}, f, indent=1)


_FAISS_WORKER = r"""
import sys, time, json, numpy as np, faiss
X = np.load(sys.argv[1]); init = np.load(sys.argv[2]); iters = int(sys.argv[3]); threads = int(sys.argv[4])
faiss.omp_set_num_threads(threads)
km = faiss.Kmeans(X.shape[1], len(init), niter=iters, verbose=False, seed=0,
                  min_points_per_centroid=1, max_points_per_centroid=len(X))
c = time.process_time(); t = time.perf_counter(); km.train(X, init_centroids=init)
wall = time.perf_counter() - t; cpu = time.process_time() - c
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def _faiss(paths, iters, threads):
    """faiss-cpu's Lloyd fit in a child process, with bench_kmeans.py's environment."""
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS=str(threads))
    env.pop("OPENBLAS_L2_SIZE", None)
    res = subprocess.run([sys.executable, "-c", _FAISS_WORKER, paths[0], paths[1], str(iters),
                          str(threads)], env=env, capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        raise RuntimeError(f"faiss worker failed: {res.stderr[-2000:]}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    _faiss.cpu = info["cpu"]
    return None, info["wall"], iters, None


if __name__ == "__main__":
    main()
