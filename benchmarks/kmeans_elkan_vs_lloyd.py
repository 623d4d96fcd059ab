"""harpdaal KMeans, algorithm="lloyd" against "elkan" (the bound-based step), time to convergence
at scikit-learn's default tol from the same k-means++ centers, on fashion-mnist and synthetic
shapes without cluster structure (uniform, normal) and with it (blobs). The best of 2 runs each,
alternating; docs/kmeans.md's `"auto"` rule rests on this table.

    python benchmarks/kmeans_elkan_vs_lloyd.py THREADS [substring of the shape names ...]
    (fashion-mnist from $HARPDAAL_DATA/fashion-mnist)
"""
import argparse
import os
import time

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.datasets import make_blobs

from harpdaal.bench.machine import cpu_model
from harpdaal.cluster import KMeans
from harpdaal.datasets.idx import load_idx


def fashion_mnist():
    d = os.path.join(os.environ["HARPDAAL_DATA"], "fashion-mnist")
    parts = [load_idx(os.path.join(d, f)) for f in ("train-images-idx3-ubyte.gz",
                                                     "t10k-images-idx3-ubyte.gz")]
    return np.concatenate(parts).reshape(70000, -1).astype(np.float32) / 255


def shapes(rng):
    """name -> (a function making the data, k)."""
    def blobs(n, k):
        return lambda: make_blobs(n, 16, centers=k, random_state=0)[0].astype(np.float32)

    return {
        "fmnist k10": (fashion_mnist, 10),
        "uniform 100k d8 k100": (lambda: rng.random((100000, 8), dtype=np.float32), 100),
        "uniform 100k d64 k100": (lambda: rng.random((100000, 64), dtype=np.float32), 100),
        "uniform 200k d2 k10": (lambda: rng.random((200000, 2), dtype=np.float32), 10),
        "normal 100k d32 k100": (lambda: rng.standard_normal((100000, 32), dtype=np.float32),
                                 100),
        "blobs 100k d16 k100": (blobs(100000, 100), 100),
        "blobs 50k d16 k1000": (blobs(50000, 1000), 1000),
        "uniform 50k d16 k1000": (lambda: rng.random((50000, 16), dtype=np.float32), 1000),
        "uniform 20k d784 k10": (lambda: rng.random((20000, 784), dtype=np.float32), 10),
        "uniform 20k d784 k100": (lambda: rng.random((20000, 784), dtype=np.float32), 100),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("threads", type=int)
    ap.add_argument("only", nargs="*", help="substrings of the shape names to run")
    args = ap.parse_args()
    print("cpu:", cpu_model(), flush=True)
    for name, (make, k) in shapes(np.random.default_rng(0)).items():
        if args.only and not any(o in name for o in args.only):
            continue
        X = make()
        init, _ = kmeans_plusplus(X, k, random_state=0)
        seconds, iters = {"lloyd": [], "elkan": []}, {}
        for _ in range(2):
            for alg in ("lloyd", "elkan"):
                t = time.perf_counter()
                km = KMeans(k, init=init, n_init=1, algorithm=alg, n_jobs=args.threads,
                            max_iter=300).fit(X)
                seconds[alg].append(time.perf_counter() - t)
                iters[alg] = km.n_iter_
        lloyd, elkan = min(seconds["lloyd"]), min(seconds["elkan"])
        print(f"{name}: lloyd {lloyd:.2f}s ({iters['lloyd']} it, "
              f"{lloyd / iters['lloyd'] * 1e3:.1f} ms/it) elkan {elkan:.2f}s "
              f"({iters['elkan']} it, {elkan / iters['elkan'] * 1e3:.1f} ms/it) "
              f"speedup {lloyd / elkan:.2f}", flush=True)


if __name__ == "__main__":
    main()
