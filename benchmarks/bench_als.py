"""W-ALS benchmark: harpdaal ImplicitALS vs the `implicit` library's AlternatingLeastSquares.

    python benchmarks/bench_als.py --case pinterest --data-dir "$HARPDAAL_DATA" --factors 64 128
    python benchmarks/bench_als.py --case powerlaw --size full --threads 1 2 --repeat 3
    python benchmarks/bench_als.py --size smoke          # a quick check that everything runs
    mpiexec -n 2 python benchmarks/bench_als.py --case powerlaw --threads 1 --tools harpdaal
        (each rank a contiguous block of users with ~1/size of the interactions)

Both fit the same model (implicit's confidence convention: c = alpha * r for an interaction,
1 elsewhere) with the same factors, regularization, alpha, iterations and CG steps; only the
random initial factors differ. pinterest-20: NCF's leave-one-out split, HR@10 and NDCG@10 of the
held-out item among its 99 sampled negatives. powerlaw: a synthetic power-law interaction set
(full: 500k users, 50k items, 36M draws: 20.3M distinct interactions) for speed. Repeats alternate between the tools
so that load on a shared machine hits both alike; the table gives medians, JSON (--out) has
every run and the machine. BLAS threads are pinned to 1 (implicit warns otherwise).
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

SIZES = {"smoke": (2_000, 500, 40_000), "small": (50_000, 10_000, 2_000_000),
         "full": (500_000, 50_000, 36_000_000)}
TOOLS = ("harpdaal", "implicit")


def powerlaw(n_users, n_items, nnz, seed=0):
    """Users and items drawn with Zipf-like popularity (exponent ~1.1 for items, ~0.8 for
    users), binary interactions (repeated pairs merged)."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1) ** 1.1
    user_p = 1.0 / np.arange(1, n_users + 1) ** 0.8
    items = rng.choice(n_items, nnz, p=item_p / item_p.sum())
    users = rng.choice(n_users, nnz, p=user_p / user_p.sum())
    R = sp.csr_matrix((np.ones(nnz, np.float32), (users, items)), shape=(n_users, n_items))
    R.sum_duplicates()
    R.data[:] = 1.0
    return R


def flops_per_iteration(R, k, cg_steps):
    """CG half-steps: Gram matrix (n_other k^2), per row (cg_steps + 1) dense products with
    YᵀY (2k^2) and per entry (cg_steps + 1) dot + axpy (4k); both sides."""
    total = 0.0
    for rows, other in ((R.shape[0], R.shape[1]), (R.shape[1], R.shape[0])):
        total += other * k * k + (cg_steps + 1) * (rows * 2 * k * k + R.nnz * 4 * k)
    return total


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def fit(tool, R, k, threads, args):
    common = dict(factors=k, regularization=args.regularization, alpha=args.alpha,
                  iterations=args.iterations, random_state=0)
    if tool == "harpdaal":
        from harpdaal.recommend import ImplicitALS

        model = ImplicitALS(n_jobs=threads, cg_steps=args.cg_steps, **common)
        t, c = time.perf_counter(), cpu_seconds()
        model.fit(R)
        wall, cpu = time.perf_counter() - t, cpu_seconds() - c
        return wall, cpu, model.user_factors_, model.item_factors_
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError as exc:
        raise RuntimeError(f"implicit is not installed ({exc})") from None
    model = AlternatingLeastSquares(num_threads=threads, use_cg=True, use_native=True,
                                    calculate_training_loss=False, **common)
    model.cg_steps = args.cg_steps
    t, c = time.perf_counter(), cpu_seconds()
    model.fit(R, show_progress=False)
    wall, cpu = time.perf_counter() - t, cpu_seconds() - c
    return wall, cpu, model.user_factors, model.item_factors


def load_pinterest(data_dir):
    from harpdaal.cli.als import interactions_matrix
    from harpdaal.datasets import load_ncf_negatives

    base = os.path.join(data_dir, "pinterest-20", "pinterest-20")
    return interactions_matrix(base + ".train.rating.gz"), load_ncf_negatives(
        base + ".test.negative.gz")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=("pinterest", "powerlaw", "both"), default="both")
    ap.add_argument("--size", choices=tuple(SIZES), default="smoke",
                    help="powerlaw size; smoke also shortens pinterest to 2 iterations")
    ap.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"))
    ap.add_argument("--factors", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--regularization", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--cg-steps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    ap.add_argument("--out", default=None, help="JSON results file")
    args = ap.parse_args(argv)
    if args.size == "smoke":
        args.iterations = min(args.iterations, 2)

    from harpdaal.bench.machine import machine_info
    from harpdaal.cli.als import hit_ratio_ndcg
    from harpdaal.comm import current_communicator

    comm = current_communicator()
    tools = [t for t in args.tools if comm.size == 1 or t == "harpdaal"]
    cases = []
    if args.case in ("pinterest", "both"):
        if not args.data_dir:
            raise SystemExit("pinterest needs --data-dir (or HARPDAAL_DATA)")
        cases.append(("pinterest-20", *load_pinterest(args.data_dir)))
    if args.case in ("powerlaw", "both"):
        cases.append((f"powerlaw-{args.size}", powerlaw(*SIZES[args.size]), None))
    rows = []
    if comm.rank == 0:
        print("| case | tool | factors | threads | ranks | fit s (median) | CPU s | GFLOP/s | "
              "HR@10 | NDCG@10 | load avg |\n|---|---|---|---|---|---|---|---|---|---|---|",
              flush=True)
    for name, R, negatives in cases:
        # each rank reads a contiguous block of users holding ~1/size of the interactions (as
        # shards of a file cut by size); ImplicitALS rebalances the solves itself either way
        cum = np.asarray(R.indptr, dtype=np.int64)
        bounds = [int(np.searchsorted(cum, cum[-1] * r // comm.size)) for r in range(comm.size)]
        bounds.append(R.shape[0])
        local = R[bounds[comm.rank]:bounds[comm.rank + 1]]
        for k in args.factors:
            flops = flops_per_iteration(R, k, args.cg_steps) * args.iterations
            for nt in args.threads:
                runs = {t: [] for t in tools}
                absent = {}
                for _ in range(args.repeat):
                    for tool in tools:
                        if tool in absent:
                            continue
                        try:
                            wall, cpu, X, Y = fit(tool, local if tool == "harpdaal" else R, k,
                                                  nt, args)
                        except RuntimeError as exc:
                            absent[tool] = str(exc)
                            continue
                        rec = {"wall_s": wall, "cpu_s": cpu, "loadavg": os.getloadavg()[0]}
                        if negatives is not None:
                            rec["hr@10"], rec["ndcg@10"] = hit_ratio_ndcg(X, Y, negatives)
                        runs[tool].append(rec)
                for tool in tools:
                    base = {"case": name, "tool": tool, "factors": k, "threads": nt,
                            "ranks": comm.size, "iterations": args.iterations}
                    if tool in absent:
                        rows.append({**base, "status": "absent", "reason": absent[tool]})
                        if comm.rank == 0:
                            print(f"| {name} | {tool} | {k} | {nt} | {comm.size} | absent: "
                                  f"{absent[tool]} | | | | | |", flush=True)
                        continue
                    med = statistics.median(r["wall_s"] for r in runs[tool])
                    rec = {**base, "status": "ok", "runs": runs[tool], "median_wall_s": med,
                           "gflops": flops / med / 1e9}
                    rows.append(rec)
                    if comm.rank == 0:
                        q = runs[tool][-1]
                        hr = f"{q['hr@10']:.4f}" if "hr@10" in q else ""
                        nd = f"{q['ndcg@10']:.4f}" if "ndcg@10" in q else ""
                        cpu = statistics.median(r["cpu_s"] for r in runs[tool])
                        print(f"| {name} | {tool} | {k} | {nt} | {comm.size} | {med:.3f} | "
                              f"{cpu:.2f} | {rec['gflops']:.1f} | {hr} | {nd} | "
                              f"{q['loadavg']:.2f} |", flush=True)
    if comm.rank == 0 and args.out:
        with open(args.out, "w") as fh:
            json.dump({"machine": machine_info(), "settings": vars(args), "results": rows},
                      fh, indent=2)


if __name__ == "__main__":
    main()
