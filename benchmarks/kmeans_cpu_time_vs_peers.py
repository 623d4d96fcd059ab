"""W-KM at 1 thread by process CPU time, harpdaal vs scikit-learn vs scikit-learn-intelex
(in-process peers only; faiss runs in a child process in bench_kmeans.py and is left out).
On a shared, oversubscribed machine CPU time is the load-robust figure for single-threaded
runs; wall time is printed too. Same data, init and settings as bench_kmeans.py (10 Lloyd
iterations, tol=0, final E-step included), fits interleaved, median of --repeat.

    python benchmarks/kmeans_cpu_time_vs_peers.py [--shape 500000 64 100] [--repeat 3] [--out f.json]
"""
import argparse
import json
import os
import statistics
import time

from harpdaal.bench.cases import kmeans as case


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shape", type=int, nargs=3, default=[500000, 64, 100])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out")
    a = p.parse_args()
    n, d, k = a.shape
    X, init = case.data({"data": "blobs", "n": n, "d": d, "k": k, "iters": 10,
                         "dtype": "float32", "seed": 0})
    fits = {"harpdaal": case._fit_harpdaal, "sklearn": case._fit_sklearn,
            "sklearnex": case._fit_sklearnex}
    res = {t: {"cpu": [], "wall": []} for t in fits}
    load = [os.getloadavg()]
    for _ in range(a.repeat):
        for tool, fit in fits.items():
            c = time.process_time()
            _, wall, n_iter, _ = fit(X, init, 10, 1)
            res[tool]["cpu"].append((time.process_time() - c) / n_iter)
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


if __name__ == "__main__":
    main()
