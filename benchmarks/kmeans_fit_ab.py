"""KMeans.fit by thread CPU time for the build in /tmp/kmNAME (see kmeans_ab.py), fashion-mnist k=10
and 200k x 64 blobs k=100: python benchmarks/kmeans_fit_ab.py NAME REPS [fashion|blobs200k_d64_k100]"""
import sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower() and "skbc" not in repr(f).lower()]
sys.path.insert(0, "/tmp/km" + sys.argv[1])
import time, hashlib, numpy as np
from threadpoolctl import threadpool_limits
from harpdaal.bench.cases import kmeans as case
from harpdaal.cluster import KMeans
reps = int(sys.argv[2])
shapes = [("fashion", {"data": "fashion-mnist", "path": "/work/shared/data/fashion-mnist", "n": 70000, "d": 784, "k": 10, "iters": 10, "dtype": "float32", "seed": 0}),
          ("blobs200k_d64_k100", {"data": "blobs", "n": 200000, "d": 64, "k": 100, "iters": 10, "dtype": "float32", "seed": 0})]
with threadpool_limits(limits=1):
    for name, p in [s for s in shapes if len(sys.argv) < 4 or s[0] == sys.argv[3]]:
        X, init = case.data(p)
        ts, tc = [], []
        for r in range(reps):
            est = KMeans(p["k"], init=init, n_init=1, max_iter=10, tol=0.0, n_jobs=1)
            c = time.thread_time(); est.fit(X); c = time.thread_time() - c
            ts.append(c / 10); tc.append(est.timings_.get("compute", float("nan")) / 10)
        h = hashlib.sha1(est.cluster_centers_.tobytes()).hexdigest()[:12]
        print(sys.argv[1], name, "fit CPU s/iter", " ".join("%.4f" % t for t in ts), "| compute wall s/iter", " ".join("%.4f" % t for t in tc), "| centers", h)
