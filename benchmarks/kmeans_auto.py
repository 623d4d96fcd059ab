"""harpdaal KMeans, algorithm="lloyd", "auto" and "elkan" (the bound-based step), time to
convergence at scikit-learn's default tol from the same k-means++ centers, on real data
(fashion-mnist, raw and PCA-50; 20news TF-IDF reduced by truncated SVD to 100 and 300
dimensions) and on synthetic shapes without cluster structure (uniform, normal) and with it
(blobs). Median of --repeat runs, the three algorithms alternating. docs/kmeans.md's table of
the `"auto"` rule comes from this script.

    python benchmarks/kmeans_auto.py --threads 2 --repeat 3 [--only 'fmnist*' ...] [--json F]
    python benchmarks/kmeans_auto.py --fit [--only ...] [--json F]
    python benchmarks/kmeans_auto.py --simulate F   (F: a --fit JSON)

--fit times every iteration of the Lloyd step and of the bound-based step alone (no estimator)
on each shape and fits the per-iteration cost model of `harpdaal.cluster._prune`
(`_PRUNE_NS`, `_LLOYD_NS`) by least squares on the relative error; it prints the constants and
how well they predict each shape. --simulate replays a --fit run for switch thresholds 0.4-1.0:
the time "auto" would take (Lloyd's iterations up to the switch, the bound-based step's first
iteration, then its iterations after the switch; the full step's counts stand in for the
shadow's), over Lloyd's. fashion-mnist and 20news come from $HARPDAAL_DATA.
"""
import argparse
import fnmatch
import json
import os
import time

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.datasets import make_blobs

from harpdaal import _core
from harpdaal.bench.machine import cpu_model
from harpdaal.cluster import KMeans
from harpdaal.cluster import _kmeans
from harpdaal.cluster._prune import PruneStep, lloyd_cost, prune_cost, summed_rows


def fashion_mnist():
    from harpdaal.datasets.idx import load_idx

    d = os.path.join(os.environ["HARPDAAL_DATA"], "fashion-mnist")
    parts = [load_idx(os.path.join(d, f)) for f in ("train-images-idx3-ubyte.gz",
                                                     "t10k-images-idx3-ubyte.gz")]
    return np.concatenate(parts).reshape(70000, -1).astype(np.float32) / 255


def fashion_pca(dim):
    from sklearn.decomposition import PCA

    return lambda: PCA(dim, random_state=0).fit_transform(fashion_mnist()).astype(np.float32)


def news_lsa(dim):
    def make():
        import scipy.sparse as sp
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.preprocessing import Normalizer

        from harpdaal.datasets import load_20news

        d = os.path.join(os.environ["HARPDAAL_DATA"], "20news")
        parts = [load_20news(d, s)[0] for s in ("train", "test")]
        v = max(m.shape[1] for m in parts)
        counts = sp.vstack([sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], v))
                            for m in parts]).tocsr()
        lsa = TruncatedSVD(dim, random_state=0).fit_transform(
            TfidfTransformer().fit_transform(counts))
        return Normalizer(copy=False).fit_transform(lsa).astype(np.float32)
    return make


def shapes():
    """name -> (a function making the data, k). Every synthetic set has its own seed."""
    def uniform(n, d, seed):
        return lambda: np.random.default_rng(seed).random((n, d), dtype=np.float32)

    def normal(n, d, seed):
        return lambda: np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)

    def blobs(n, d, k, seed, std=1.0):
        return lambda: make_blobs(n, d, centers=k, cluster_std=std,
                                  random_state=seed)[0].astype(np.float32)

    return {
        "fmnist k10": (fashion_mnist, 10),
        "fmnist k100": (fashion_mnist, 100),
        "fmnist k1000": (fashion_mnist, 1000),
        "fmnist-pca50 k100": (fashion_pca(50), 100),
        "20news-lsa100 k100": (news_lsa(100), 100),
        "20news-lsa100 k1000": (news_lsa(100), 1000),
        "20news-lsa300 k100": (news_lsa(300), 100),
        "uniform 20k d784 k10": (uniform(20000, 784, 1), 10),
        "uniform 20k d784 k100": (uniform(20000, 784, 2), 100),
        "uniform 50k d128 k30": (uniform(50000, 128, 3), 30),
        "uniform 100k d64 k100": (uniform(100000, 64, 4), 100),
        "uniform 100k d8 k100": (uniform(100000, 8, 5), 100),
        "uniform 50k d16 k1000": (uniform(50000, 16, 6), 1000),
        "normal 50k d256 k100": (normal(50000, 256, 7), 100),
        "normal 100k d32 k100": (normal(100000, 32, 8), 100),
        "blobs 50k d256 k100": (blobs(50000, 256, 100, 9, std=4.0), 100),
        "blobs 100k d16 k100": (blobs(100000, 16, 100, 10), 100),
        "blobs 50k d16 k1000": (blobs(50000, 16, 1000, 11), 1000),
    }


MADE = []  # the steps the estimator made (to read the auto step's switch iteration)


def _spy_steps():
    make = _kmeans._make_step

    def spy(*args):
        MADE.append(make(*args))
        return MADE[-1]
    _kmeans._make_step = spy


def compare(name, X, k, threads, repeat):
    made = MADE
    init, _ = kmeans_plusplus(X, k, random_state=0)
    runs = {alg: [] for alg in ("lloyd", "auto", "elkan")}
    for _ in range(repeat):
        for alg in runs:
            t = time.perf_counter()
            km = KMeans(k, init=init, n_init=1, algorithm=alg, n_jobs=threads).fit(X)
            runs[alg].append((time.perf_counter() - t, km))
    out = {"shape": name, "n": X.shape[0], "d": X.shape[1], "k": k,
           "lloyd_model_ms": lloyd_cost(X.shape[0], X.shape[1], k) / 1e6,
           "auto_step": type(made[-2]).__name__, "switched_at": getattr(made[-2],
                                                                        "switched_at", None)}
    ref = runs["lloyd"][0][1]
    for alg, rs in runs.items():
        km = rs[0][1]
        out[alg] = {"seconds": [r[0] for r in rs], "median_s": float(np.median([r[0] for r in rs])),
                    "n_iter": int(km.n_iter_), "inertia": float(km.inertia_),
                    "labels_differ": int((km.labels_ != ref.labels_).sum())}
    out["auto_vs_lloyd"] = out["lloyd"]["median_s"] / out["auto"]["median_s"]
    out["elkan_vs_lloyd"] = out["lloyd"]["median_s"] / out["elkan"]["median_s"]
    return out


def time_iterations(X, k, threads, max_iter=300):
    """Per-iteration seconds of the Lloyd step and of the bound-based step with its counts."""
    K = _core.kmeans
    X = np.ascontiguousarray(X - X.mean(0))
    n, d = X.shape
    w = np.ones(n, dtype=X.dtype)
    init, _ = kmeans_plusplus(X, k, random_state=0)
    tol = 1e-4 * float(X.var(0).mean())
    centers, labels, lloyd = init.copy(), np.full(n, -1, np.int32), []
    for _ in range(max_iter):
        t = time.perf_counter()
        stop = K.lloyd_iterations_f32(X, w, centers, labels, 1, tol, threads, "auto", None,
                                      None)[1]
        lloyd.append(time.perf_counter() - t)
        if stop:
            break
    step, bounds = PruneStep(X, w, init, tol, n_threads=threads), []
    for _ in range(max_iter):
        t = time.perf_counter()
        rec = step.run(1)
        bounds.append(time.perf_counter() - t)
        if rec[-1].get("converged"):
            break
    chunks = _core.kmeans_prune.prune_partials_size(n, d, k, threads, "auto", X.dtype) \
        // (k * (d + 1))
    return {"n": n, "d": d, "k": k, "groups": step.n_groups, "chunks": chunks, "lloyd": lloyd,
            "bounds": bounds, "counts": step.history}


def fit_model(timed):
    """Least squares (relative error) of the cost model's terms; iteration 0 of the bound-based
    step (no bounds yet) and of the Lloyd step (first touch) left out."""
    A, y, B, z, names = [], [], [], [], []
    for name, r in timed.items():
        n, d, k = r["n"], r["d"], r["k"]
        for s in r["lloyd"][1:]:
            B.append([n * k * d, n * d])
            z.append(s * 1e9)
        for s, c in list(zip(r["bounds"], r["counts"]))[1:]:
            summed = summed_rows(n, k, r["chunks"], c["changed"])
            A.append([(n - c["skipped"]) * d, c["distances"] * d, n * (r["groups"] + 1),
                      summed * d, 1.0])
            y.append(s * 1e9)
            names.append(name)
    A, y, B, z = (np.asarray(v, dtype=np.float64) for v in (A, y, B, z))
    f = np.linalg.lstsq(A / y[:, None], np.ones(len(y)), rcond=None)[0]
    g = np.linalg.lstsq(B / z[:, None], np.ones(len(z)), rcond=None)[0]
    print("_PRUNE_NS = {" + ", ".join(f'"{key}": {v:.3g}' for key, v in zip(
        ("read", "distance", "bound", "summed", "fixed"), f)) + "}")
    print("_LLOYD_NS = {" + ", ".join(f'"{key}": {v:.3g}' for key, v in zip(
        ("distance", "pass"), g)) + "}")
    print("with the constants in harpdaal (modelled / measured per iteration):")
    names = np.asarray(names)
    for name, r in timed.items():
        n, d, k = r["n"], r["d"], r["k"]
        meas = np.asarray(r["bounds"][1:])
        model = np.array([prune_cost(n, d, k, r["groups"], r["chunks"], n - c["skipped"],
                                     c["distances"], c["changed"]) / 1e9
                          for c in r["counts"][1:]])
        lm = lloyd_cost(n, d, k) / 1e9 / np.median(r["lloyd"][1:])
        q = model / meas
        print(f"  {name}: bound step median {np.median(q):.2f} (p10 {np.percentile(q, 10):.2f},"
              f" p90 {np.percentile(q, 90):.2f}); Lloyd step {lm:.2f}")


def simulate(timed, thresholds=(0.4, 0.5, 0.6, 0.7, 0.8, 1.0), patience=2):
    print("| shape | gate | Lloyd s | elkan s | " + " | ".join(f"{t}" for t in thresholds) + " |")
    print("|---|---|---|---|" + "---|" * len(thresholds))
    for name, r in timed.items():
        n, d, k = r["n"], r["d"], r["k"]
        lloyd, bounds, counts = r["lloyd"], r["bounds"], r["counts"]
        its = min(len(lloyd), len(bounds))
        per_lloyd = lloyd_cost(n, d, k)
        ratio = [prune_cost(n, d, k, r["groups"], r["chunks"], n - c["skipped"],
                            c["distances"], c["changed"]) / per_lloyd for c in counts]
        cells = []
        for threshold in thresholds:
            below, switch = 0, None
            for i in range(1, its):
                below = below + 1 if ratio[i] <= threshold else 0
                if below >= patience:
                    switch = i + 1
                    break
            if switch is None or switch >= its:
                cells.append("1.00")
                continue
            total = sum(lloyd[:switch]) + bounds[0] + sum(bounds[switch + 1:its])
            cells.append(f"{total / sum(lloyd):.2f} @{switch}")
        gate = "yes" if per_lloyd >= _kmeans._AutoStep.MIN_LLOYD_NS else "no"
        print(f"| {name} | {gate} | {sum(lloyd):.2f} | {sum(bounds):.2f} | " + " | ".join(cells)
              + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=[], help="glob patterns of shape names")
    ap.add_argument("--fit", action="store_true", help="fit the cost model instead")
    ap.add_argument("--simulate", metavar="FIT_JSON", help="replay a --fit run (no timing)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if args.simulate:
        with open(args.simulate) as f:
            simulate(json.load(f)["results"])
        return
    print("cpu:", cpu_model(), "threads:", args.threads, "load:", os.getloadavg(), flush=True)
    results, timed = [], {}
    _spy_steps()
    for name, (make, k) in shapes().items():
        if args.only and not any(fnmatch.fnmatch(name, p) for p in args.only):
            continue
        X = make()
        if args.fit:
            timed[name] = time_iterations(X, k, args.threads)
            continue
        r = compare(name, X, k, args.threads, args.repeat)
        results.append(r)
        print(f"{name} (Lloyd modelled {r['lloyd_model_ms']:.1f} ms/it): "
              + " | ".join(f"{a} {r[a]['median_s']:.2f}s ({r[a]['n_iter']} it, "
                           f"{r[a]['labels_differ']} labels differ)"
                           for a in ("lloyd", "auto", "elkan"))
              + f" | auto {r['auto_step']} switched at {r['switched_at']}, lloyd/auto "
                f"{r['auto_vs_lloyd']:.2f}, lloyd/elkan {r['elkan_vs_lloyd']:.2f}", flush=True)
    if args.fit:
        fit_model(timed)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_model(), "threads": args.threads, "repeat": args.repeat,
                       "load_end": os.getloadavg(),
                       "results": results if not args.fit else timed}, f, indent=1)


if __name__ == "__main__":
    main()
