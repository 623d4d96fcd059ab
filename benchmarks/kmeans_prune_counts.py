#!/usr/bin/env python
"""Distance computations of the bound-based K-means step (Yinyang / Hamerly) against Lloyd's
n * k per iteration: machine-independent figures behind the group-count rule in docs/kmeans.md.

    HARPDAAL_DATA=/path/to/data python benchmarks/kmeans_prune_counts.py --out counts.json

Each case runs PruneStep to convergence (scikit-learn's default tol, k-means++ centers from a
fixed seed, one thread) for every group count asked, and records the iterations, the distances
computed per iteration, the bound updates (n * groups per iteration: the O(n t) pass that every
iteration pays) and, for orientation only, the process CPU seconds (not a speed figure: a
shared machine). Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import numpy as np
from sklearn.cluster import kmeans_plusplus

from harpdaal.cluster._prune import PruneStep
from harpdaal.datasets import load_idx


def fashion_mnist(root):
    parts = [load_idx(pathlib.Path(root) / "fashion-mnist" / name)
             for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")]
    return np.vstack([p.reshape(len(p), -1) for p in parts]).astype(np.float32)


def blobs(n, d, k, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 4
    return (centers[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)


def uniform(n, d, seed):
    return np.random.default_rng(seed).uniform(size=(n, d)).astype(np.float32)


def run_case(name, X, k, groups, max_iter, seed):
    X = np.ascontiguousarray(X - X.mean(0), dtype=np.float32)
    n = len(X)
    tol = 1e-4 * float(np.mean(X.var(0)))
    C0, _ = kmeans_plusplus(X, k, random_state=seed)
    rows = []
    for t in groups:
        if t > k:
            continue
        step = PruneStep(X, np.ones(n, np.float32), C0, tol, n_threads=1, n_groups=t)
        c0 = time.process_time()
        recs = step.run(max_iter)
        cpu = time.process_time() - c0
        dist = [h["distances"] for h in step.history]
        it = len(dist)
        rows.append({"case": name, "n": n, "d": X.shape[1], "k": k, "groups": step.n_groups,
                     "iterations": it, "distances": dist,
                     "fraction": sum(dist) / (n * k * it),
                     "fraction_after_5": (sum(dist[5:]) / (n * k * (it - 5))) if it > 5 else None,
                     "bound_updates_per_row": step.n_groups + 1,
                     "converged": bool(recs[-1].get("converged")), "cpu_s": cpu})
        r = rows[-1]
        late = "" if r["fraction_after_5"] is None else f"{100 * r['fraction_after_5']:.1f}%"
        print(f"| {name} | {n}x{X.shape[1]} | {k} | {r['groups']} | {it} | "
              f"{100 * r['fraction']:.1f}% | {late} | {cpu:.1f} |", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None)
    ap.add_argument("--max-iter", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", nargs="*",
                    default=["fashion10", "fashion100", "blobs100", "blobs1000", "uniform100"])
    args = ap.parse_args()
    print("| case | n x d | k | groups | iterations | distances / Lloyd's | after iteration 5 "
          "| CPU s (orientation only) |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    data = os.environ.get("HARPDAAL_DATA")
    for case in args.cases:
        if case.startswith("fashion"):
            if not data:
                print(f"skipping {case}: HARPDAAL_DATA is not set")
                continue
            k = int(case[len("fashion"):])
            X = fashion_mnist(data)
            groups = [1, 2, 5] if k == 10 else [1, k // 20, k // 10, k // 5]
            rows += run_case("fashion-mnist", X, k, groups, args.max_iter, args.seed)
        elif case.startswith("blobs"):
            k = int(case[len("blobs"):])
            n = 100_000 if k <= 100 else 50_000
            groups = [1, k // 20, k // 10, k // 5]
            rows += run_case("blobs", blobs(n, 16, k, args.seed), k, groups, args.max_iter,
                             args.seed)
        elif case.startswith("uniform"):
            k = int(case[len("uniform"):])
            rows += run_case("uniform", uniform(50_000, 8, args.seed), k, [1, k // 10],
                             args.max_iter, args.seed)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
