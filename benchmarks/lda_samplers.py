"""harpdaal's LDA samplers against each other: time to a log-likelihood per token, one process.

Each (case, K, sampler, seed) is one fit from the same random topics, recording the
log-likelihood per token every `--every` iterations against the seconds spent so far, with the
evaluations themselves taken out of the clock (at K = 1000 on 20news one evaluation costs about
as much as a sweep). The targets are the median over seeds of the first sampler's (by default
"sparse") log-likelihood after each checkpoint iteration; a run's time to a target is
interpolated between the evaluations around its first crossing. The other samplers run `--extra`
times the iterations, so that a slower-mixing chain is timed rather than reported as not
reached. Samplers alternate seed by seed.

    python benchmarks/lda_samplers.py --data-dir DATA --out samplers.json \\
        [--cases lda-kos-k100:1000 lda-20news-k100:1000 lda-20news-short-k100:1000 ...] \\
        [--samplers sparse warp:4 warp:8] [--iterations 40] [--extra 2] [--every 5] \\
        [--targets 20 40]

    python benchmarks/lda_samplers.py --data-dir DATA --cost [--cases lda-kos-k100:100 ...]

`--cost` times the warp kernels alone instead: nanoseconds per token of a document phase plus a
word phase, sweeps 6-20 from random topics, for `--samplers warp:M ...`.

A case is a harness case name (harpdaal.bench.cases.lda) and the number of topics K; the
"-short" cases cut the documents into 30-40-token pieces as the harness does.
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

from harpdaal.bench.cases import lda as L
from harpdaal.topic import LatentDirichletAllocation, _steps

ALPHA, BETA = 0.1, 0.01


def load(case, data_dir):
    base = case.replace("-short", "")
    params = next(c for c in L.cases("full", data_dir) if c["name"] == base)["params"]
    X = L.load_corpus(params)
    if "-short" in case:
        X = L.short_documents(X, np.random.default_rng(0))
    return X


def fit(X, K, sampler, seed, threads, iterations, every):
    """One fit; returns [(iteration, seconds without evaluations, loglik per token)]."""
    name, _, steps = sampler.partition(":")
    spent = [0.0]
    original = _steps._Sweeps.loglik_per_token

    def timed(self):
        t0 = time.perf_counter()
        try:
            return original(self)
        finally:
            spent[0] += time.perf_counter() - t0

    stamps = []
    _steps._Sweeps.loglik_per_token = timed
    try:
        t0 = time.perf_counter()
        m = LatentDirichletAllocation(
            K, doc_topic_prior=ALPHA, topic_word_prior=BETA, max_iter=iterations,
            random_state=seed, n_jobs=threads, evaluate_every=every, sampler=name,
            mh_steps=int(steps or 4)).fit(
                X, callbacks=[lambda info: stamps.append(time.perf_counter() - spent[0]) and False])
    finally:
        _steps._Sweeps.loglik_per_token = original
    return [(i, stamps[i - 1] - t0, ll) for i, ll in m.loglik_history_]


def warp_cost(X, K, steps, threads, sweeps=20, skip=5):
    """ns per token of one document phase + one word phase (sweeps after `skip`)."""
    from harpdaal import _core
    from harpdaal.topic import as_token_corpus
    k = _core.lda
    c = as_token_corpus(X)
    topics = np.random.default_rng(0).integers(0, K, c.n_tokens, dtype=np.int32)
    word_ptr = np.empty(c.n_words + 1, np.int64)
    order = np.empty(c.n_tokens, np.int64)
    k.word_order(c.words, word_ptr, order)
    by_word = topics[order]
    props = np.zeros((c.n_tokens, 2 * steps), np.int32)
    wt = np.zeros((c.n_words, K), np.int32)
    totals = np.zeros(K, np.int64)
    k.accumulate_counts(c.words, topics, wt, 0, totals)
    spent = 0.0
    for it in range(sweeps):
        t0 = time.perf_counter()
        k.warp_doc_phase(c.doc_ptr, topics, props, it > 0, totals, ALPHA, BETA, c.n_words, 0, it,
                         0, threads)
        k.warp_word_phase(word_ptr, order, topics, by_word, props, wt, 0, totals, ALPHA, BETA,
                          c.n_words, 0, it, 0, threads)
        if it >= skip:
            spent += time.perf_counter() - t0
    return spent / (sweeps - skip) / c.n_tokens * 1e9


def time_to(trace, target):
    prev = (0, 0.0, -np.inf)
    for it, t, ll in trace:
        if ll >= target:
            if not np.isfinite(prev[2]):
                return t
            return prev[1] + (t - prev[1]) * (target - prev[2]) / (ll - prev[2])
        prev = (it, t, ll)
    return float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"))
    ap.add_argument("--cases", nargs="+",
                    default=["lda-kos-k100:100", "lda-kos-k100:1000", "lda-20news-k100:1000",
                             "lda-20news-short-k100:1000"])
    ap.add_argument("--samplers", nargs="+", default=["sparse", "warp:4", "warp:8"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--extra", type=float, default=2.0,
                    help="the other samplers' iterations as a multiple of --iterations")
    ap.add_argument("--targets", type=int, nargs="+", default=[20, 40],
                    help="iterations of the first sampler whose log-likelihood is a target")
    ap.add_argument("--cost", action="store_true",
                    help="time the warp kernels per token instead of fitting")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if not a.data_dir:
        sys.exit("--data-dir (or HARPDAAL_DATA) is needed")
    if a.cost:
        for spec in a.cases:
            case, _, K = spec.rpartition(":")
            X = load(case, a.data_dir)
            for sampler in a.samplers:
                name, _, steps = sampler.partition(":")
                if name == "warp":
                    ns = warp_cost(X, int(K), int(steps or 4), a.threads)
                    print(f"{case} K={K} {sampler}: {ns:.1f} ns/token per sweep", flush=True)
        return
    if not a.out:
        sys.exit("--out is needed")
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    records = []
    for spec in a.cases:
        case, _, K = spec.rpartition(":")
        X = load(case, a.data_dir)
        for seed in a.seeds:
            for sampler in a.samplers:
                n_iter = a.iterations if sampler == a.samplers[0] else int(a.iterations * a.extra)
                trace = fit(X, int(K), sampler, seed, a.threads, n_iter, a.every)
                records.append({"case": case, "K": int(K), "sampler": sampler, "seed": seed,
                                "threads": a.threads, "trace": trace})
                print(f"{case} K={K} {sampler} seed {seed}: " + " ".join(
                    f"{i}:{ll:.3f}@{t:.1f}s" for i, t, ll in trace), flush=True)
    rows = []
    for spec in a.cases:
        case, _, K = spec.rpartition(":")
        mine = [r for r in records if r["case"] == case and r["K"] == int(K)]
        ref = [r for r in mine if r["sampler"] == a.samplers[0]]
        for it in a.targets:
            target = statistics.median(ll for r in ref for i, _, ll in r["trace"] if i == it)
            times = {s: statistics.median(time_to(r["trace"], target) for r in mine
                                          if r["sampler"] == s) for s in a.samplers}
            rows.append({"case": case, "K": int(K), "target_iteration": it, "target": target,
                         "seconds": times})
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    out = {"cpu": cpu, "threads": a.threads, "load_before": load_before,
           "load_after": load_after, "samplers": a.samplers, "rows": rows, "runs": records}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nCPU: {cpu}; {a.threads} thread(s); load {' '.join(load_before)} -> "
          f"{' '.join(load_after)}; evaluations outside the clock\n")
    print("| corpus | K | target (LL/token of " + a.samplers[0] + " at iteration) | " +
          " | ".join(f"{s} s" for s in a.samplers) + " |")
    print("|---|---|---|" + "---|" * len(a.samplers))
    for r in rows:
        cells = " | ".join("not reached" if not np.isfinite(r["seconds"][s])
                           else f"{r['seconds'][s]:.2f}" for s in a.samplers)
        print(f"| {r['case']} | {r['K']} | {r['target']:.3f} (it {r['target_iteration']}) | "
              f"{cells} |")


if __name__ == "__main__":
    main()
