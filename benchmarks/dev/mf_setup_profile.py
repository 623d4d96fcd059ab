"""Per-stage set-up timings of a MatrixFactorization SGD fit (W-MF synthetic data by default).

    python benchmarks/dev/mf_setup_profile.py --threads 1 2 --repeat 3 [--size full] [--k 32]
    python benchmarks/dev/mf_setup_profile.py --threads 2 --repeat 1 --cprofile

Wraps the stages of fit() (input checks, id mapping, model init, bucketing, accumulators,
the epochs, unpermuting, finish) with timers by patching the module functions fit() calls, then
prints the median seconds per stage over --repeat fits for every thread count (fits for the
thread counts interleaved, so machine load hits them alike). "other" is the fit's wall time not
covered by a named stage.
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import pstats
import statistics
import time

import numpy as np

from harpdaal import _core
from harpdaal.bench.cases import mf as cases
from harpdaal.recommend import _mf, _ratings as R

TIMES: dict[str, float] = collections.defaultdict(float)


def _timed(name, fn):
    def wrapper(*a, **kw):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **kw)
        finally:
            TIMES[name] += time.perf_counter() - t0
            TIMES[name + " [CPU]"] += time.process_time() - c0  # all threads
    return wrapper


def _patch():
    R.as_triplets = _timed("input checks (as_triplets)", R.as_triplets)
    R.map_ids = _timed("id mapping (map_ids)", R.map_ids)
    cls = _mf.MatrixFactorization
    cls._setup_model = _timed("model init (_setup_model)", cls._setup_model)
    orig_init = R.Bucketed.__init__
    R.Bucketed.__init__ = _timed("bucketing total (Bucketed)", orig_init)
    _core.mf.bucket_relabel = _timed("  of which bucket_relabel (C++)", _core.mf.bucket_relabel)
    _core.mf.sgd_train_grid = _timed("epochs (sgd_train_grid)", _core.mf.sgd_train_grid)
    cls._unpermute_rows = staticmethod(_timed("unpermute rows", cls._unpermute_rows))
    cls._finish = _timed("finish (rescale)", cls._finish)
    cls._train_loop = _timed("train loop total", cls._train_loop)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="full", choices=("small", "full"))
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=None, help="default: the case's")
    ap.add_argument("--cprofile", action="store_true", help="print a cProfile of the last fit")
    ap.add_argument("--json", help="append the per-fit stage seconds to this JSON-lines file")
    ap.add_argument("--label", default="", help="label of this run in --json")
    args = ap.parse_args()
    case = next(c for c in cases.cases(args.size, None) if c["params"]["k"] == 32)
    p = dict(case["params"], k=args.k)
    (train, _test) = cases._load(p)
    epochs = args.epochs or p["epochs"]
    _patch()
    per = {nt: collections.defaultdict(list) for nt in args.threads}
    # one short fit first: the process's first fit also pays for first-touching its heap
    _mf.MatrixFactorization(n_factors=p["k"], n_epochs=1, random_state=0, early_stopping=False,
                            n_jobs=args.threads[0]).fit(train)
    for rep in range(args.repeat):
        for nt in args.threads:
            TIMES.clear()
            est = _mf.MatrixFactorization(n_factors=p["k"], n_epochs=epochs, random_state=0,
                                          early_stopping=False, n_jobs=nt)
            prof = cProfile.Profile() if args.cprofile and rep == args.repeat - 1 else None
            t0, c0 = time.perf_counter(), time.process_time()
            if prof:
                prof.enable()
            est.fit(train)
            if prof:
                prof.disable()
            wall = time.perf_counter() - t0
            named = sum(v for k, v in TIMES.items() if not k.startswith("  ")
                        and not k.startswith("train loop total") and not k.endswith("[CPU]"))
            loop_other = TIMES["train loop total"] - TIMES["epochs (sgd_train_grid)"]
            rec = dict(TIMES)
            rec["train loop minus kernel"] = loop_other
            rec["set-up (fit - train loop)"] = wall - TIMES["train loop total"]
            cpu = time.process_time() - c0
            rec["set-up (fit - train loop) [CPU]"] = cpu - TIMES["train loop total [CPU]"]
            rec["other (unnamed)"] = wall - named - loop_other
            rec["fit wall"] = wall
            rec["fit [CPU]"] = cpu
            for k, v in rec.items():
                per[nt][k].append(v)
            if prof:
                print(f"--- cProfile, {nt} thread(s)")
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    if args.json:
        import json

        with open(args.json, "a") as fh:
            for nt in args.threads:
                fh.write(json.dumps({"label": args.label, "threads": nt, "k": p["k"],
                                     "epochs": epochs, "stages": per[nt]}) + "\n")
    keys = list(per[args.threads[0]])
    print(f"\nmedian seconds over {args.repeat} fit(s); {p['nnz']} ratings x 0.9, k={p['k']}, "
          f"{epochs} epochs")
    print("| stage | " + " | ".join(f"{nt} thr" for nt in args.threads) + " |")
    print("|---|" + "---|" * len(args.threads))
    for k in keys:
        if k.startswith("train loop total"):
            continue
        cells = [f"{statistics.median(per[nt][k]):.3f}" for nt in args.threads]
        print(f"| {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
