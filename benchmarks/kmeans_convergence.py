"""K-means time to convergence against the peers: every tool starts from the same k-means++
centers and runs to scikit-learn's default `tol` (1e-4, relative to the mean feature variance; `max_iter` 300) on
real data, in the same run, repeats interleaved tool by tool.

    python benchmarks/kmeans_convergence.py --threads 2 --repeat 2 --out conv.json
    python benchmarks/kmeans_convergence.py --only 'fashion-mnist k=100'

Data ($HARPDAAL_DATA): fashion-mnist (70,000 x 784, pixels / 255) at k = 10, 100, 1000, and
20 Newsgroups train + test as LSA vectors (TF-IDF, then a 100-component truncated SVD, as
scikit-learn's document-clustering example does; 18,774 x 100) at k = 100 and 1000. float32.

Tools: harpdaal `lloyd`, `elkan` and `auto`; scikit-learn `lloyd` and `elkan`; scikit-learn-intelex
(its Lloyd); faiss (no tolerance: it runs at most as many iterations as harpdaal's Lloyd needed, fewer
where its objective stops changing, and its time is its own `train`). Whole `fit` wall time. Also recorded: each tool's iterations and
inertia, and how many of harpdaal's `elkan` and `auto` labels differ from its `lloyd` labels
(the exactness claim: equal up to floating-point ties). The speed-ups are the fastest peer's
median time over harpdaal `elkan`'s and `auto`'s.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import statistics
import time

import numpy as np

from harpdaal._config import active_isa
from harpdaal.bench.cases import kmeans as KC
from harpdaal.bench.errors import PeerUnavailable
from harpdaal.bench.machine import cpu_model
from harpdaal.bench.runner import TOOL_PAUSE_S

TOOLS = ["harpdaal-lloyd", "harpdaal-elkan", "harpdaal-auto", "sklearn-lloyd", "sklearn-elkan",
         "sklearnex", "faiss"]


def fashion_mnist(root):
    from harpdaal.datasets.idx import load_idx

    d = os.path.join(root, "fashion-mnist")
    parts = [load_idx(os.path.join(d, f)) for f in ("train-images-idx3-ubyte.gz",
                                                     "t10k-images-idx3-ubyte.gz")]
    return np.concatenate(parts).reshape(70000, -1).astype(np.float32) / 255


def news_lsa(root):
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import Normalizer

    from harpdaal.datasets import load_20news

    d = os.path.join(root, "20news")
    train, _ = load_20news(d, "train")
    test, _ = load_20news(d, "test")
    v = max(train.shape[1], test.shape[1])
    counts = sp.vstack([sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], v))
                        for m in (train, test)]).tocsr()
    tfidf = TfidfTransformer().fit_transform(counts)
    lsa = TruncatedSVD(100, random_state=0).fit_transform(tfidf)
    return Normalizer(copy=False).fit_transform(lsa).astype(np.float32)


SETS = {"fashion-mnist": (fashion_mnist, [10, 100, 1000]), "20news-lsa": (news_lsa, [100, 1000])}


def _sk_fit(cls, X, init, threads, **kw):
    from threadpoolctl import threadpool_limits

    est = cls(len(init), init=init, n_init=1, max_iter=300, tol=1e-4, **kw)
    with threadpool_limits(limits=threads):
        t = time.perf_counter()
        est.fit(X)
        wall = time.perf_counter() - t
    return wall, est


def fit(tool, X, init, threads, lloyd_iters):
    """(wall seconds, iterations, inertia, labels or None)."""
    if tool.startswith("harpdaal"):
        from harpdaal.cluster import KMeans

        est = KMeans(len(init), init=init, n_init=1, max_iter=300, tol=1e-4, n_jobs=threads,
                     algorithm=tool.split("-")[1])
        t = time.perf_counter()
        est.fit(X)
        return time.perf_counter() - t, est.n_iter_, est.inertia_, est.labels_
    if tool.startswith("sklearn-"):
        from sklearn.cluster import KMeans

        wall, est = _sk_fit(KMeans, X, init, threads, algorithm=tool.split("-")[1])
        return wall, est.n_iter_, est.inertia_, None
    if tool == "sklearnex":
        try:
            import daal4py
            from sklearnex.cluster import KMeans
        except ImportError as exc:
            raise PeerUnavailable(f"scikit-learn-intelex is not installed ({exc})") from None
        daal4py.daalinit(threads)  # (undone after the run: harpdaal shares the process's oneTBB)
        try:
            wall, est = _sk_fit(KMeans, X, init, threads, algorithm="lloyd")
        finally:
            daal4py.daalinit(os.cpu_count() or 1)
        return wall, est.n_iter_, est.inertia_, None
    if tool == "faiss":
        centers, wall, n_iter, _ = KC._fit_faiss(X, init, lloyd_iters, threads)
        return wall, n_iter, float(KC.inertia(X, centers)), None
    raise ValueError(tool)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    ap.add_argument("--only", nargs="+", default=None,
                    help="glob patterns of case names ('fashion-mnist k=100', '20news-lsa*')")
    ap.add_argument("--out", default=None, help="JSON file for the results")
    args = ap.parse_args(argv)
    root = os.environ.get("HARPDAAL_DATA")
    if not root:
        raise SystemExit("set HARPDAAL_DATA to the folder with fashion-mnist/ and 20news/")
    from sklearn.cluster import kmeans_plusplus

    print(f"cpu: {cpu_model()}, isa {active_isa()}, {args.threads} threads, "
          f"load {os.getloadavg()}", flush=True)
    print("| case | " + " | ".join(f"{t} s (iterations)" for t in args.tools) +
          " | labels differing from lloyd (elkan, auto) | elkan vs best peer | auto vs best peer |")
    print("|---|" + "---|" * len(args.tools) + "---|---|---|", flush=True)
    rows = []
    for name, (load, ks) in SETS.items():
        cases = [f"{name} k={k}" for k in ks]
        if args.only:
            cases = [c for c in cases if any(fnmatch.fnmatch(c, p) for p in args.only)]
        if not cases:
            continue
        X = load(root)
        for case in cases:
            k = int(case.split("k=")[1])
            init, _ = kmeans_plusplus(X, k, random_state=0)
            rec = {"case": case, "n": X.shape[0], "d": X.shape[1], "k": k,
                   "threads": args.threads, "load_before": os.getloadavg(), "seconds": {},
                   "iterations": {}, "inertia": {}}
            labels = {}
            lloyd_iters = None
            for _ in range(args.repeat):
                for tool in args.tools:
                    if tool in rec.get("skipped", {}):
                        continue
                    time.sleep(TOOL_PAUSE_S["full"])  # the previous tool's threads spin a while
                    try:
                        wall, n_iter, inertia, lab = fit(tool, X, init, args.threads,
                                                         lloyd_iters or 100)
                    except PeerUnavailable as exc:
                        rec.setdefault("skipped", {})[tool] = str(exc)
                        continue
                    rec["seconds"].setdefault(tool, []).append(wall)
                    rec["iterations"][tool] = int(n_iter)
                    rec["inertia"][tool] = float(inertia)
                    if tool == "harpdaal-lloyd":
                        lloyd_iters = int(n_iter)
                    if lab is not None:
                        labels[tool] = lab
            rec["load_after"] = os.getloadavg()
            med = {t: statistics.median(v) for t, v in rec["seconds"].items()}
            rec["median_s"] = med
            for alg in ("elkan", "auto"):
                if "harpdaal-lloyd" in labels and f"harpdaal-{alg}" in labels:
                    rec[f"{alg}_label_mismatches"] = int(
                        (labels["harpdaal-lloyd"] != labels[f"harpdaal-{alg}"]).sum())
            peers = [v for t, v in med.items() if not t.startswith("harpdaal")]
            for alg in ("elkan", "auto"):
                ours = med.get(f"harpdaal-{alg}")
                rec[f"{alg}_vs_best_peer"] = min(peers) / ours if peers and ours else None
            rows.append(rec)
            cells = " | ".join(f"{med[t]:.2f} ({rec['iterations'][t]})" if t in med else "-"
                               for t in args.tools)
            mism = ", ".join(str(rec.get(f"{alg}_label_mismatches", "-"))
                             for alg in ("elkan", "auto"))
            sp = " | ".join("-" if rec[f"{alg}_vs_best_peer"] is None
                            else f"{rec[f'{alg}_vs_best_peer']:.2f}x" for alg in ("elkan", "auto"))
            print(f"| {case} | {cells} | {mism} | {sp} |", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cpu": cpu_model(), "isa": active_isa(), "threads": args.threads,
                       "repeat": args.repeat, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
