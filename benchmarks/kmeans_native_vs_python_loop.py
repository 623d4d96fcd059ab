"""Interleaved, 1 thread, same build: a whole 10-iteration fit with the native step (one
lloyd_iterations call for the 10 iterations) vs the one-iteration step around lloyd_partial
(the step sparse and distributed fits take; chosen here by replacing _kmeans._make_step).
Prints the median wall and process-CPU seconds per iteration of each (CPU time is the robust
figure on a shared, oversubscribed machine) and the native fit's share of wall time spent
inside lloyd_partial (timings_['compute']).

    python benchmarks/kmeans_native_vs_python_loop.py [out.json]
"""
import time, statistics, sys, json, os
import numpy as np
from harpdaal.bench.cases import kmeans as case
from harpdaal.cluster import KMeans, _kmeans
out = {}
native_step = _kmeans._make_step
synced_step = lambda est, comm, data, *args: _kmeans._SyncedLloyd(est, comm, data, *args)
for n, d, k in [(50000, 64, 100), (100000, 16, 1000), (500000, 64, 100)]:
    X, init = case.data({"data": "blobs", "n": n, "d": d, "k": k, "iters": 10, "dtype": "float32", "seed": 0})
    res = {"native": [], "python": [], "native_cpu": [], "python_cpu": [], "native_step_share": []}
    for rep in range(3):
        for mode in ("native", "python"):
            _kmeans._make_step = native_step if mode == "native" else synced_step
            est = KMeans(k, init=init, n_init=1, max_iter=10, tol=0.0, n_jobs=1)
            c = time.process_time(); t = time.perf_counter(); est.fit(X); wall = time.perf_counter() - t
            res[mode + "_cpu"].append((time.process_time() - c) / est.n_iter_)
            res[mode].append(wall / est.n_iter_)
            if mode == "native":
                res["native_step_share"].append(est.timings_["compute"] / wall)
    _kmeans._make_step = native_step
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
