"""Compare two harpdaal checkouts on the headline workloads: speed (interleaved runs, medians)
and results (bit for bit).

Each checkout is a source tree whose ``python/`` folder holds the package with a built
``_core`` module (``scripts/dev_build.sh`` puts it there). Every fit runs in a fresh process
with that checkout first on ``PYTHONPATH``; runs of A and B alternate, so a change in machine
load hits both. Results are compared through a SHA-256 of the fitted arrays.

    python benchmarks/compare_builds.py --a ../old-checkout --b . --repeat 3 --threads 2 \
        --out compare.json

Workloads (W-KM, W-MF and W-LDA of docs/bench.md at full size unless ``--small``): K-means on Gaussian
blobs 500k x 64, k=100 and 1M x 16, k=1000 (same initial centers, 10 iterations, float32); MF-SGD
on 10M power-law ratings, k=32, 20 epochs; LDA on the 4M-token synthetic corpus, K=100, 100
iterations.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

WORKLOADS = ("kmeans-500k-d64-k100", "kmeans-1m-d16-k1000", "mf-10m-k32", "lda-4m-k100")


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


# ---- data (made once, shared by both checkouts) ----------------------------------------------
def _make_data(name: str, small: bool, folder: str) -> str:
    path = os.path.join(folder, f"{name}{'-small' if small else ''}.npz")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(0)
    if name.startswith("kmeans"):
        n, d, k = {"kmeans-500k-d64-k100": (500_000, 64, 100),
                   "kmeans-1m-d16-k1000": (1_000_000, 16, 1000)}[name]
        if small:
            n //= 20
        means = rng.uniform(-10, 10, (k, d)).astype(np.float32)
        X = means[rng.integers(0, k, n)] + rng.standard_normal((n, d), dtype=np.float32)
        init = X[rng.choice(n, k, replace=False)].copy()
        np.savez(path, X=X, init=init)
    elif name.startswith("mf"):
        m, n_items, nnz = (100_000, 20_000, 10_000_000)
        if small:
            m, n_items, nnz = 10_000, 2_000, 500_000
        w_u = 1.0 / np.arange(1, m + 1) ** 0.8
        w_i = 1.0 / np.arange(1, n_items + 1) ** 0.8
        u = rng.permutation(m)[np.searchsorted(np.cumsum(w_u / w_u.sum()), rng.random(2 * nnz))]
        i = rng.permutation(n_items)[np.searchsorted(np.cumsum(w_i / w_i.sum()),
                                                     rng.random(2 * nnz))]
        keys = u.astype(np.int64) * n_items + np.minimum(i, n_items - 1)
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)][:nnz]
        u, i = keys // n_items, keys % n_items
        U = rng.normal(0, 0.5, (m, 16)).astype(np.float32)
        V = rng.normal(0, 0.5, (n_items, 16)).astype(np.float32)
        r = 3.0 + np.einsum("ij,ij->i", U[u], V[i]) + 0.5 * rng.normal(size=u.size)
        np.savez(path, u=u, i=i, r=r)
    else:
        n_docs, n_words, K, length = (20_000, 10_000, 100, 200)
        if small:
            n_docs = 2_000
        topics = rng.dirichlet(np.full(n_words, 0.01), K)
        theta = rng.dirichlet(np.full(K, 0.1), n_docs)
        doc = np.repeat(np.arange(n_docs), length)
        cum = np.cumsum(theta, axis=1)
        u = rng.random(doc.size)
        z = np.concatenate([  # inverse CDF of each document's topic mix, 1000 documents at a time
            (cum[doc[s:s + 1000 * length]] < u[s:s + 1000 * length, None]).sum(axis=1)
            for s in range(0, doc.size, 1000 * length)])
        z = np.minimum(z, K - 1)
        word = np.empty(doc.size, np.int64)
        for t in range(K):
            sel = np.flatnonzero(z == t)
            word[sel] = rng.choice(n_words, size=sel.size, p=topics[t])
        keys, counts = np.unique(doc * n_words + word, return_counts=True)
        np.savez(path, rows=keys // n_words, cols=keys % n_words, vals=counts,
                 shape=np.array([n_docs, n_words]))
    return path


# ---- one fit (worker process) -----------------------------------------------------------------
def _fit(name: str, path: str, threads: int) -> dict:
    z = np.load(path)
    if name.startswith("kmeans"):
        from harpdaal.cluster import KMeans

        X, init = z["X"], z["init"]
        est = KMeans(len(init), init=init, n_init=1, max_iter=10, tol=0.0, n_jobs=threads)
        t = time.perf_counter()
        est.fit(X)
        secs = time.perf_counter() - t
        digest = _digest(est.cluster_centers_, est.labels_, np.float64(est.inertia_),
                         np.int64(est.n_iter_))
    elif name.startswith("mf"):
        from harpdaal.recommend import MatrixFactorization

        est = MatrixFactorization(n_factors=32, n_epochs=20, random_state=0, n_jobs=threads,
                                  early_stopping=False, reg_user=0.04, reg_item=0.05)
        data = (z["u"], z["i"], z["r"])
        t = time.perf_counter()
        est.fit(data)
        secs = time.perf_counter() - t
        digest = _digest(est.user_factors_, est.item_factors_)
    else:
        import scipy.sparse as sp

        from harpdaal.topic import LatentDirichletAllocation

        X = sp.csr_matrix((z["vals"], (z["rows"], z["cols"])), shape=tuple(z["shape"]))
        kw = dict(doc_topic_prior=0.1, topic_word_prior=0.01, max_iter=100, random_state=0,
                  n_jobs=threads)
        if "evaluate_every" in inspect.signature(LatentDirichletAllocation).parameters:
            kw["evaluate_every"] = 0
        est = LatentDirichletAllocation(100, **kw)
        t = time.perf_counter()
        est.fit(X)
        secs = time.perf_counter() - t
        digest = _digest(est.components_)
    return {"seconds": secs, "digest": digest}


def _run(checkout: str, name: str, path: str, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.abspath(checkout), "python"))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", name, path,
                          str(threads)], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{checkout} {name}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", help="checkout A (the reference)")
    ap.add_argument("--b", help="checkout B (the change)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", choices=WORKLOADS, default=list(WORKLOADS))
    ap.add_argument("--small", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "harpdaal-ab"))
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_fit(args.worker[0], args.worker[1], int(args.worker[2]))))
        return 0
    if not (args.a and args.b):
        ap.error("--a and --b are required")
    os.makedirs(args.data_dir, exist_ok=True)
    rows, same_everywhere = [], True
    print(f"| workload | A median s | B median s | B/A | results |\n|---|---|---|---|---|")
    for name in args.only:
        path = _make_data(name, args.small, args.data_dir)
        runs = {"a": [], "b": []}
        for r in range(args.repeat):
            for side in (("a", "b") if r % 2 == 0 else ("b", "a")):
                runs[side].append(_run(getattr(args, side), name, path, args.threads))
        med = {s: statistics.median(x["seconds"] for x in runs[s]) for s in runs}
        digests = {x["digest"] for s in runs for x in runs[s]}
        same = len(digests) == 1
        same_everywhere &= same
        rows.append({"workload": name, "threads": args.threads, "load": os.getloadavg(),
                     "a": runs["a"], "b": runs["b"], "median_a": med["a"], "median_b": med["b"],
                     "ratio": med["b"] / med["a"], "bit_identical": same})
        print(f"| {name} | {med['a']:.3f} | {med['b']:.3f} | {med['b'] / med['a']:.3f} | "
              f"{'identical' if same else 'DIFFER'} |", flush=True)
    if args.out:
        from harpdaal.bench.machine import machine_info  # noqa: PLC0415

        with open(args.out, "w") as f:
            json.dump({"machine": machine_info(), "rows": rows}, f, indent=1, default=str)
    return 0 if same_everywhere else 1


if __name__ == "__main__":
    sys.exit(main())
