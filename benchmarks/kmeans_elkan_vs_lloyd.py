"""harpdaal KMeans, algorithm="lloyd" against "elkan" (the bound-based step), time to convergence
at scikit-learn's default tol from the same k-means++ centers, on fashion-mnist and synthetic
shapes without cluster structure (uniform, normal) and with it (blobs). The best of 2 runs each,
alternating; docs/kmeans.md's `"auto"` rule rests on this table.

    python benchmarks/kmeans_elkan_vs_lloyd.py THREADS [substring of the shape names ...]
    (fashion-mnist from $HARPDAAL_DATA/fashion-mnist)
"""
import os
import sys
import time

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.cluster import kmeans_plusplus
from harpdaal.cluster import KMeans
from harpdaal.datasets.idx import load_idx
from harpdaal.bench.machine import cpu_model  # noqa: E402

rng = np.random.default_rng(0)


def fm():
    d = os.path.join(os.environ["HARPDAAL_DATA"], "fashion-mnist", "")
    return np.concatenate([load_idx(d + "train-images-idx3-ubyte.gz"), load_idx(d + "t10k-images-idx3-ubyte.gz")]).reshape(70000, -1).astype(np.float32) / 255


shapes = {
  "fmnist k10": (fm, 10),
  "uniform 100k d8 k100": (lambda: rng.random((100000, 8), dtype=np.float32), 100),
  "uniform 100k d64 k100": (lambda: rng.random((100000, 64), dtype=np.float32), 100),
  "uniform 200k d2 k10": (lambda: rng.random((200000, 2), dtype=np.float32), 10),
  "normal 100k d32 k100": (lambda: rng.standard_normal((100000, 32), dtype=np.float32), 100),
  "blobs 100k d16 k100": (lambda: make_blobs(100000, 16, centers=100, random_state=0)[0].astype(np.float32), 100),
  "blobs 50k d16 k1000": (lambda: make_blobs(50000, 16, centers=1000, random_state=0)[0].astype(np.float32), 1000),
  "uniform 50k d16 k1000": (lambda: rng.random((50000, 16), dtype=np.float32), 1000),
}
print("cpu:", cpu_model(), flush=True)
only = sys.argv[2:]
nj = int(sys.argv[1])
for name, (make, k) in shapes.items():
    if only and not any(o in name for o in only): continue
    X = make()
    init, _ = kmeans_plusplus(X, k, random_state=0)
    t = {"lloyd": [], "elkan": []}; it = {}
    for rep in range(2):
        for alg in ("lloyd", "elkan"):
            s = time.perf_counter()
            km = KMeans(k, init=init, n_init=1, algorithm=alg, n_jobs=nj, max_iter=300).fit(X)
            t[alg].append(time.perf_counter() - s); it[alg] = km.n_iter_
    l, e = min(t["lloyd"]), min(t["elkan"])
    print(f"{name}: lloyd {l:.2f}s ({it['lloyd']} it, {l/it['lloyd']*1e3:.1f} ms/it) elkan {e:.2f}s ({it['elkan']} it, {e/it['elkan']*1e3:.1f} ms/it) speedup {l/e:.2f}", flush=True)
