"""Time to a log-likelihood: harpdaal's LDA against tomotopy, several seeds, several corpus shapes.

Each (corpus, tool, seed) is one fit from a fresh model, recording the joint log-likelihood per
token (MALLET's formula, `harpdaal.bench.cases.lda.loglik_per_token`) every `--every` iterations
against the seconds spent so far; harpdaal runs `--extra` times the iterations (default 1.5) so
that a chain that reaches the target a little later is timed rather than reported as not
reached. harpdaal's clock is its whole `fit` (conversion,
initialisation, the evaluations themselves); tomotopy's is its `train` calls (initialisation and
the evaluations outside the clock). The target of a corpus is the median over seeds of
tomotopy's log-likelihood after its last iteration; a run's time to target is interpolated
between the evaluations around its first crossing, and a tool's is the median over seeds (a
run that never reaches the target counts as infinitely slow).

    python benchmarks/lda_convergence.py run --data-dir DATA --out conv.jsonl \\
        [--cases lda-synth-k100 lda-kos-k1000 ...] [--seeds 0 1 2] [--threads 1] [--iterations 100]
    mpiexec -n 2 python benchmarks/lda_convergence.py run --tools harpdaal ... --out conv.jsonl
    python benchmarks/lda_convergence.py report conv.jsonl [--svg-dir DIR]

Under mpiexec harpdaal fits distributed (each rank the documents of its contiguous share, the
model rotated between the ranks) and rank 0 writes the records; the report compares harpdaal at
T threads x R ranks with tomotopy at T x R threads.

`run` appends one JSON line per fit as it finishes (an interrupted run keeps what it has; tools
alternate seed by seed). `report` prints the markdown table and writes one SVG plot per
(corpus, threads) into --svg-dir.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

from harpdaal.bench.cases import lda as L
from harpdaal.bench.machine import cpu_model
from harpdaal.comm import current_communicator
from harpdaal.topic import LatentDirichletAllocation

ALPHA, BETA = 0.1, 0.01


def case_params(name: str, data_dir: str | None, size: str = "full") -> dict:
    """Parameters of a harness case; `-k1000` / `-k10000` variants of the real corpora take the
    K=100 case's corpus."""
    base, _, k = name.rpartition("-k")
    found = {c["name"]: c["params"] for c in L.cases(size, data_dir)}
    if name in found:
        return dict(found[name])
    if base + "-k100" in found:
        return dict(found[base + "-k100"], n_topics=int(k))
    raise SystemExit(f"unknown case {name!r} (known: {sorted(found)}; real corpora need "
                     "--data-dir)")


def run_harpdaal(X, K, seed, threads, iterations, every):
    trace = []
    t0 = time.perf_counter()

    def cb(info):
        ll = info.metrics.get("loglik_per_token")
        if ll is not None:
            trace.append((info.iteration, time.perf_counter() - t0, float(ll)))
        return False

    m = LatentDirichletAllocation(K, doc_topic_prior=ALPHA, topic_word_prior=BETA,
                                  max_iter=iterations, random_state=seed, n_jobs=threads,
                                  evaluate_every=every)
    m.fit(X, callbacks=[cb])
    total = time.perf_counter() - t0
    if not trace or trace[-1][0] != iterations:
        trace.append((iterations, total, float(m.loglik_per_token_)))
    return trace, total


def run_tomotopy(docs, V, K, seed, threads, iterations, every):
    import tomotopy as tp

    mdl = tp.LDAModel(k=K, alpha=ALPHA, eta=BETA, seed=seed)
    mdl.optim_interval = 0  # fixed symmetric priors, as harpdaal's
    for doc in docs:
        if doc:
            mdl.add_doc(doc)
    mdl.train(0, workers=threads)
    trace, clock, done = [], 0.0, 0
    while done < iterations:
        n = min(every, iterations - done)
        t0 = time.perf_counter()
        mdl.train(n, workers=threads, parallel=tp.ParallelScheme.PARTITION)
        clock += time.perf_counter() - t0
        done += n
        trace.append((done, clock, L.tomotopy_loglik_per_token(mdl, V, ALPHA, BETA)))
    return trace, clock


def cmd_run(a):
    cpu = cpu_model()
    comm = current_communicator()
    if comm.size > 1 and a.tools != ["harpdaal"]:
        raise SystemExit("under mpiexec only harpdaal runs: pass --tools harpdaal")
    for name in a.cases:
        p = case_params(name, a.data_dir, a.size)
        X = L.load_corpus(p)
        K, V = p["n_topics"], X.shape[1]
        n_tokens = int(X.sum())
        D = X.shape[0]
        mine = X[D * comm.rank // comm.size: D * (comm.rank + 1) // comm.size]
        iters = a.iterations if a.iterations else p["iterations"]
        docs = L.tomotopy_docs(X) if "tomotopy" in a.tools else None
        for nt in a.threads:
            for seed in a.seeds:
                for tool in a.tools:
                    n_it = iters
                    if tool == "harpdaal":
                        n_it = int(round(iters * a.extra))
                        trace, total = run_harpdaal(mine, K, seed, nt, n_it, a.every)
                        if comm.size > 1:  # the slowest rank's clock
                            total = max(comm.allgather_object(total))
                    else:
                        trace, total = run_tomotopy(docs, V, K, seed, nt, iters, a.every)
                    if comm.rank != 0:
                        continue
                    rec = {"case": name, "tool": tool, "seed": seed, "threads": nt,
                           "ranks": comm.size,
                           "n_topics": K, "n_docs": X.shape[0], "n_tokens": n_tokens,
                           "iterations": n_it, "compare_at": iters, "seconds": total,
                           "trace": trace,
                           "load": os.getloadavg()[0], "cpu": cpu}
                    print(f"{name} {tool} seed={seed} t={nt}: {total:.1f}s LL {trace[-1][2]:.4f} "
                          f"load {rec['load']:.2f}", flush=True)
                    with open(a.out, "a") as f:
                        f.write(json.dumps(rec) + "\n")


def ll_at(rec, fraction=1.0):
    """The log-likelihood after the compared iteration count (tomotopy's), or after that
    fraction of it (the first evaluation at or past it)."""
    n = rec.get("compare_at", rec["iterations"]) * fraction
    return next(v for it, _, v in rec["trace"] if it >= n)


def time_to(trace, target):
    """Seconds at which the log-likelihood first reaches target, interpolated linearly between
    the two evaluations around the crossing (None: not reached)."""
    prev = None
    for _, sec, ll in trace:
        if ll >= target:
            if prev is None or ll == prev[1]:
                return sec
            return prev[0] + (target - prev[1]) / (ll - prev[1]) * (sec - prev[0])
        prev = (sec, ll)
    return None


def median_time(hits):
    """Median over runs of the time to target, a run that never reached it counting as
    infinitely slow (None when the median run did not reach it)."""
    m = statistics.median([h if h is not None else math.inf for h in hits])
    return None if math.isinf(m) else m


def svg_plot(path, title, series, target):
    """LL/token against seconds: one line per (tool, seed), a dashed line at the target
    (matplotlib, from the `bench` extra; text kept as text so the SVG stays small)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "harpdaal"})
    colors = {"harpdaal": "#d62728", "tomotopy": "#1f77b4"}
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    seen = set()
    for tool, seed, tr in series:
        ax.plot([s for _, s, _ in tr], [v for _, _, v in tr], color=colors.get(tool, "gray"),
                alpha=0.8, lw=1.2, label=None if tool in seen else tool)
        seen.add(tool)
    ax.axhline(target, color="black", ls="--", lw=0.8, label="target")
    # the first evaluations lie far below the rest: start at the lowest value a run has a
    # quarter of the way through its evaluations
    early = [tr[len(tr) // 4][2] for _, _, tr in series]
    top = max(v for _, _, tr in series for _, _, v in tr)
    top = max(top, target)
    ax.set_ylim(min(early), top + 0.05 * (top - min(early)))
    ax.set_xlim(left=0)
    ax.set_xlabel("seconds")
    ax.set_ylabel("log-likelihood per token")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def cmd_report(a):
    with open(a.file) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    # harpdaal at T threads x R ranks against tomotopy at T x R threads
    groups = {}
    for r in recs:
        if r["tool"] == "harpdaal":
            groups.setdefault((r["case"], r["threads"], r.get("ranks", 1)), []).append(r)
    for (case, nt, nr), ours in sorted(groups.items()):
        peer = [r for r in recs if r["tool"] == "tomotopy" and r["case"] == case
                and r["threads"] == nt * nr]
        if not peer:
            continue
        by = {"harpdaal": ours, "tomotopy": peer}
        target = statistics.median(ll_at(r) for r in by["tomotopy"])
        cells = []
        for t in ("harpdaal", "tomotopy"):
            lls = [ll_at(r) for r in by[t]]
            cells.append(f"{statistics.median(lls):.4f} ({min(lls):.4f}..{max(lls):.4f})")
        spi = [statistics.median(r["seconds"] / r["iterations"] for r in by[t])
               for t in ("harpdaal", "tomotopy")]
        tt = []
        for t in ("harpdaal", "tomotopy"):
            hits = [time_to(r["trace"], target) for r in by[t]]
            tt.append((median_time(hits), sum(h is not None for h in hits), len(hits)))
        fmt = lambda x: (f"{x[0]:.2f}" if x[0] is not None else "not reached") + (
            "" if x[1] == x[2] else f" ({x[1]}/{x[2]} runs reached)")
        ratio = f"{tt[1][0] / tt[0][0]:.2f}x" if tt[0][0] and tt[1][0] else "-"
        # the same at the target tomotopy's chains reach halfway (away from the plateau, where
        # the seeds' spread decides who reaches a level first)
        half = statistics.median(ll_at(r, 0.5) for r in by["tomotopy"])
        th = [median_time([time_to(r["trace"], half) for r in by[t]])
              for t in ("harpdaal", "tomotopy")]
        ratio_half = f"{th[1] / th[0]:.2f}x" if th[0] and th[1] else "-"
        K = ours[0]["n_topics"]
        n_cmp = by["tomotopy"][0].get("compare_at", by["tomotopy"][0]["iterations"])
        where = f"{nt}" if nr == 1 else f"{nt} x {nr} ranks"
        print(f"| {case} | {K} | {where} | {len(by['harpdaal'])}/{len(by['tomotopy'])} | {n_cmp} | "
              f"{target:.4f} | {cells[0]} | {cells[1]} | {spi[0]:.3f} / {spi[1]:.3f} | "
              f"{fmt(tt[0])} / {fmt(tt[1])} | {ratio} | {ratio_half} |")
        if a.svg_dir:
            os.makedirs(a.svg_dir, exist_ok=True)
            series = [(r["tool"], r["seed"], r["trace"]) for r in ours + peer]
            tag = f"t{nt}" if nr == 1 else f"t{nt}r{nr}"
            title = f"{case}, K={K}, {nt} thread{'s' if nt > 1 else ''}" + (
                f" x {nr} ranks (tomotopy {nt * nr} threads)" if nr > 1 else "")
            svg_plot(os.path.join(a.svg_dir, f"{case}-{tag}.svg"), title, series, target)
    cpus = sorted({r["cpu"] for r in recs})
    loads = [r["load"] for r in recs]
    print(f"\nCPU: {', '.join(cpus)}; load {min(loads):.2f}-{max(loads):.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--cases", nargs="+", default=["lda-synth-k100"])
    r.add_argument("--size", choices=("smoke", "small", "full"), default="full",
                   help="the harness cases' size (smoke: lda-synth-k10, for tests)")
    r.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"))
    r.add_argument("--tools", nargs="+", default=["harpdaal", "tomotopy"],
                   choices=["harpdaal", "tomotopy"])
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--threads", type=int, nargs="+", default=[1])
    r.add_argument("--iterations", type=int, default=0, help="0: the case's own count")
    r.add_argument("--every", type=int, default=5)
    r.add_argument("--extra", type=float, default=1.5,
                   help="harpdaal's iterations as a multiple of tomotopy's")
    r.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("file")
    p.add_argument("--svg-dir", default=None)
    a = ap.parse_args(argv)
    if a.cmd == "run":
        cmd_run(a)
    else:
        cmd_report(a)


if __name__ == "__main__":
    sys.exit(main())
