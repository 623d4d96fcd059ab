#!/usr/bin/env python
"""Mini-batch K-means: harpdaal.cluster.MiniBatchKMeans against scikit-learn's MiniBatchKMeans.

    python benchmarks/bench_minibatch.py --threads 1 --repeat 5 --out minibatch.json
    python benchmarks/bench_minibatch.py --data-dir $HARPDAAL_DATA --only fashion

Two figures per case, both tools with the same parameters (batch_size 1024, float32):

- time per batch step: fits of 1 and of 5 passes (``max_iter``) with early stopping off and
  ``compute_labels=False``; (time of 5 - time of 1) / (steps of 5 - steps of 1), so the
  initialisation and everything outside the steps cancel. Process CPU time (the figure on a
  shared machine: other processes' load does not count; with ``--threads 1`` it is the one
  thread's time) and wall time. Median over ``--repeat`` pairs, the tools interleaved.
- quality: a default fit (early stopping, ``compute_labels=True``) for random_state 0 ..
  repeat-1: final ``inertia_`` (over all rows), steps done, wall seconds; the table gives the
  medians and harpdaal / scikit-learn ratios.

scikit-learn runs under ``threadpool_limits(threads)``, harpdaal with ``n_jobs=threads``.
Writes JSON (machine, ISA, threads, git SHA, the load average with every figure, every run) and
prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np


def blobs(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, (k, d))
    return (means[rng.integers(0, k, n)] + rng.standard_normal((n, d))).astype(np.float32)


def cases(data_dir):
    yield "blobs-200k-16-k100", lambda: blobs(200_000, 16, 100), 100
    yield "blobs-200k-64-k100", lambda: blobs(200_000, 64, 100), 100
    if data_dir:
        def fashion():
            from harpdaal.datasets import load_idx

            parts = [load_idx(os.path.join(data_dir, "fashion-mnist", f))
                     for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")]
            X = np.vstack([p.reshape(len(p), -1) for p in parts])
            return X.astype(np.float32) / 255.0
        yield "fashion-mnist-k10", fashion, 10


def make(tool, k, threads, **kw):
    if tool == "harpdaal":
        from harpdaal.cluster import MiniBatchKMeans

        return MiniBatchKMeans(k, n_jobs=threads, **kw)
    from sklearn.cluster import MiniBatchKMeans

    return MiniBatchKMeans(k, **kw)


def timed_fit(tool, k, threads, X, **kw):
    from threadpoolctl import threadpool_limits

    est = make(tool, k, threads, **kw)
    with threadpool_limits(limits=threads):
        t, c = time.perf_counter(), time.process_time()
        est.fit(X)
        return time.perf_counter() - t, time.process_time() - c, est


def load():
    return os.getloadavg()[0]


def step_time(tool, k, threads, X, seed):
    """(CPU seconds, wall seconds) per batch step."""
    kw = dict(random_state=seed, max_no_improvement=None, tol=0.0, compute_labels=False)
    w1, c1, e1 = timed_fit(tool, k, threads, X, max_iter=1, **kw)
    w5, c5, e5 = timed_fit(tool, k, threads, X, max_iter=5, **kw)
    steps = e5.n_steps_ - e1.n_steps_
    return (c5 - c1) / steps, (w5 - w1) / steps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"))
    p.add_argument("--only", default=None, help="substring of the case names to run")
    p.add_argument("--out", default=None, help="JSON results file")
    args = p.parse_args(argv)

    import sklearn

    import harpdaal
    from harpdaal.bench.machine import cpu_model, git_sha

    tools = ["harpdaal", "sklearn"]
    results = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                           "isa": harpdaal.active_isa(), "python": platform.python_version()},
               "versions": {"sklearn": sklearn.__version__},
               "git_sha": git_sha(os.path.dirname(os.path.abspath(__file__)))["sha"],
               "runs": []}
    for name, data, k in cases(args.data_dir):
        if args.only and args.only not in name:
            continue
        X = data()
        for threads in args.threads:
            steps = {t: [] for t in tools}
            for r in range(args.repeat):  # interleaved
                for tool in tools:
                    steps[tool].append((step_time(tool, k, threads, X, r), load()))
            for tool in tools:
                fits = []
                for seed in range(args.repeat):
                    seconds, cpu, est = timed_fit(tool, k, threads, X, random_state=seed)
                    fits.append({"seed": seed, "seconds": seconds, "cpu_seconds": cpu,
                                 "inertia": est.inertia_,
                                 "n_steps": int(est.n_steps_), "load": load()})
                row = {"case": name, "tool": tool, "threads": threads, "n": X.shape[0],
                       "d": X.shape[1], "k": k, "batch_size": 1024,
                       "step_cpu_seconds": [s[0] for s, _ in steps[tool]],
                       "step_wall_seconds": [s[1] for s, _ in steps[tool]],
                       "step_loads": [ld for _, ld in steps[tool]],
                       "step_median": statistics.median(s[0] for s, _ in steps[tool]),
                       "step_wall_median": statistics.median(s[1] for s, _ in steps[tool]),
                       "fits": fits}
                print(f"# {name} {tool} threads={threads}: "
                      f"{row['step_median'] * 1e6:.0f} us/step (CPU)", file=sys.stderr,
                      flush=True)
                results["runs"].append(row)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    print(table(results))
    return 0


def table(results):
    m = results["machine"]
    lines = [f"{m['cpu']}, {m['isa']}, git {str(results['git_sha'])[:10]}", "",
             "| case | threads | tool | us / step (CPU) | step speed-up | us / step (wall) | "
             "inertia (median) | inertia / sklearn | steps (median) | fit s (median, CPU) | "
             "load |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["case"], r["threads"], r["tool"]): r for r in results["runs"]}
    for (case, threads, tool), r in by.items():
        ref = by.get((case, threads, "sklearn"))
        inertia = statistics.median(f["inertia"] for f in r["fits"])
        ref_inertia = statistics.median(f["inertia"] for f in ref["fits"]) if ref else None
        loads = r["step_loads"] + [f["load"] for f in r["fits"]]
        lines.append(
            f"| {case} | {threads} | {tool} | {r['step_median'] * 1e6:.0f} | "
            f"{ref['step_median'] / r['step_median']:.2f} | "
            f"{r['step_wall_median'] * 1e6:.0f} | {inertia:.6g} | "
            f"{inertia / ref_inertia:.4f} | "
            f"{statistics.median(f['n_steps'] for f in r['fits']):.0f} | "
            f"{statistics.median(f['cpu_seconds'] for f in r['fits']):.2f} | "
            f"{min(loads):.1f}-{max(loads):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
