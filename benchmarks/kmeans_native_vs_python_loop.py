"""Interleaved, 1 thread, same build: a whole 10-iteration fit with the native loop
(lloyd_fit, one call) vs the Python loop around lloyd_partial (KMeans._native_loop = False).
Prints the median wall and process-CPU seconds per iteration of each (CPU time is the robust
figure on a shared, oversubscribed machine) and the native fit's share of wall time spent
inside lloyd_partial (timings_['compute']).

    python benchmarks/kmeans_native_vs_python_loop.py [out.json]
"""
import time, statistics, sys, json, os
import numpy as np
from harpdaal.bench.cases import kmeans as case
from harpdaal.cluster import KMeans
out = {}
for n, d, k in [(50000, 64, 100), (100000, 16, 1000), (500000, 64, 100)]:
    X, init = case.data({"data": "blobs", "n": n, "d": d, "k": k, "iters": 10, "dtype": "float32", "seed": 0})
    res = {"native": [], "python": [], "native_cpu": [], "python_cpu": [], "native_step_share": []}
    for rep in range(3):
        for mode in ("native", "python"):
            KMeans._native_loop = mode == "native"
            est = KMeans(k, init=init, n_init=1, max_iter=10, tol=0.0, n_jobs=1)
            c = time.process_time(); t = time.perf_counter(); est.fit(X); wall = time.perf_counter() - t
            res[mode + "_cpu"].append((time.process_time() - c) / est.n_iter_)
            res[mode].append(wall / est.n_iter_)
            if mode == "native":
                res["native_step_share"].append(est.timings_["compute"] / wall)
    KMeans._native_loop = True
    med = {m: statistics.median(v) for m, v in res.items()}
    med["python_over_native"] = med["python"] / med["native"]
    med["python_over_native_cpu"] = med["python_cpu"] / med["native_cpu"]
    out[f"n{n}-d{d}-k{k}"] = {"median_s_per_iter": med, "runs": res}
    print(f"n={n} d={d} k={k}: s/iter native {med['native']:.4f} python-loop {med['python']:.4f} "
          f"(python/native {med['python_over_native']:.2f}x); CPU s/iter native {med['native_cpu']:.4f} "
          f"python-loop {med['python_cpu']:.4f} ({med['python_over_native_cpu']:.2f}x); "
          f"native fit inside lloyd_partial: "
          f"{med['native_step_share']:.0%} of wall", flush=True)
out["load_average"] = os.getloadavg()
if len(sys.argv) > 1:
    json.dump(out, open(sys.argv[1], "w"), indent=1)
