"""How MatrixFactorization's defaults generalise: leave-one-data-set-out against LIBMF's best.

For every explicit-ratings data set (the real ones in $HARPDAAL_DATA, smaller sets cut from
them, and synthetic power-law sets of several sizes), this script measures

- LIBMF's best test RMSE over a grid (k=40, lambda in {0.02, 0.05, 0.1}, eta in {0.05, 0.1},
  20 or 50 iterations; LIBMF's own AVX build, benchmarks/libmf_avx.py) — an oracle that tunes
  on the test set;
- harpdaal's test RMSE for each candidate default rule (a family of settings of
  MatrixFactorization), and for MatrixFactorization's implemented defaults (the candidate
  ``{"defaults": True}``: ``MatrixFactorization(n_factors=40, random_state=0)``, nothing else
  set).

Then, leaving each data set out in turn, it picks the candidate whose mean RMSE ratio to LIBMF's
best is lowest on the other data sets and reports that candidate's ratio on the left-out one:
the figure a user with unseen data should expect from the defaults. Quality only: timings are
not measured, so the machine's load does not matter.

    python benchmarks/mf_defaults.py --data-dir "$HARPDAAL_DATA" --solver sgd --out mf_defaults.json
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import pathlib
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

LIBMF_GRID = [dict(lam=lam, eta=eta, iters=it) for lam in (0.02, 0.05, 0.1)
              for eta in (0.05, 0.1) for it in (20, 50)]


# ---- data sets ---------------------------------------------------------------------------------
def _dense(ids):
    return np.unique(ids, return_inverse=True)[1].astype(np.int64)


def _split(u, i, r, seed=7, frac=0.9):
    perm = np.random.default_rng(seed).permutation(r.size)
    cut = int(frac * r.size)
    a, b = perm[:cut], perm[cut:]
    return (u[a], i[a], r[a]), (u[b], i[b], r[b])


def _cut(u, i, r, n, seed):
    keep = np.sort(np.random.default_rng(seed).choice(r.size, n, replace=False))
    return _dense(u[keep]), _dense(i[keep]), r[keep]


def _synthetic(m, n, nnz, seed, rank=16, noise=0.5):
    rng = np.random.default_rng(seed)

    def powerlaw(count, size):
        w = 1.0 / np.arange(1, count + 1) ** 0.8
        return rng.permutation(count)[np.searchsorted(np.cumsum(w / w.sum()), rng.random(size))]

    keys = np.unique(powerlaw(m, 2 * nnz).astype(np.int64) * n + powerlaw(n, 2 * nnz))
    keys = rng.permutation(keys)[:nnz]
    u, i = keys // n, keys % n
    U = rng.normal(0, rank ** -0.25, (m, rank))
    V = rng.normal(0, rank ** -0.25, (n, rank))
    r = 3.0 + np.einsum("ij,ij->i", U[u], V[i]) + noise * rng.normal(size=u.size)
    return _dense(u), _dense(i), r


def data_sets(data_dir, names=None):
    """name -> (train, test), each (users, items, ratings) with dense 0-based ids."""
    out = {}
    d = pathlib.Path(data_dir) if data_dir else None
    if d is not None and (d / "libmf-demo").is_dir():
        tr = np.loadtxt(d / "libmf-demo" / "real_matrix.tr.txt")
        te = np.loadtxt(d / "libmf-demo" / "real_matrix.te.txt")
        out["libmf-demo-5k"] = tuple((a[:, 0].astype(np.int64), a[:, 1].astype(np.int64),
                                      a[:, 2]) for a in (tr, te))
    if d is not None and (d / "ml-latest-small").is_dir():
        a = np.loadtxt(d / "ml-latest-small" / "ratings.csv", delimiter=",", skiprows=1,
                       usecols=(0, 1, 2))
        u, i, r = _dense(a[:, 0]), _dense(a[:, 1]), a[:, 2]
        out["ml-latest-small-100k"] = _split(u, i, r)
        out["ml-cut-50k"] = _split(*_cut(u, i, r, 50_000, 1))
        out["ml-cut-20k"] = _split(*_cut(u, i, r, 20_000, 2))
        # denser: the movies rated by >= 50 users (the shape of MovieLens-100k-like sets)
        pop = np.bincount(i)[i] >= 50
        out["ml-dense-items"] = _split(u[pop], _dense(i[pop]), r[pop])
        # half of the users, all their ratings
        half = np.random.default_rng(4).random(u.max() + 1)[u] < 0.5
        out["ml-half-users"] = _split(_dense(u[half]), _dense(i[half]), r[half])
    if d is not None and (d / "jester5k").is_dir():
        with gzip.open(d / "jester5k" / "ratings.txt.gz", "rt") as f:
            a = np.loadtxt(f)
        u, i, r = _dense(a[:, 0]), _dense(a[:, 1]), a[:, 2]
        out["jester5k-363k"] = _split(u, i, r)
        out["jester-cut-60k"] = _split(*_cut(u, i, r, 60_000, 3))
    out["synthetic-200k"] = _split(*_synthetic(20_000, 4_000, 200_000, 11))
    out["synthetic-2m"] = _split(*_synthetic(100_000, 20_000, 2_000_000, 12))
    if names:
        out = {k: v for k, v in out.items() if k in names}
    return out


def rmse(pred, r):
    return float(np.sqrt(np.mean((np.asarray(pred, np.float64) - r) ** 2)))


# ---- the two sides -----------------------------------------------------------------------------
def libmf_grid(train, test, threads):
    import libmf_avx

    m = int(max(train[0].max(), test[0].max())) + 1
    n = int(max(train[1].max(), test[1].max())) + 1
    out = []
    for g in LIBMF_GRID:
        mod = libmf_avx.train(*train, k=40, nr_threads=threads, nr_iters=g["iters"],
                              lambda_p2=g["lam"], lambda_q2=g["lam"], eta=g["eta"], m=m, n=n)
        out.append({**g, "rmse": mod.rmse(*test)})
    return out


def candidates(solver):
    """The family of default rules compared: each a dict of MatrixFactorization parameters over
    BASE (one fixed-length fit), plus 'refit' (refit on all ratings for the early-stopped epoch
    count) and 'reg_search' (early-stopped fits at these regularisations, the best by the
    internal validation RMSE); the last, {"defaults": True}, is the estimator's own defaults."""
    regs = (0.02, 0.04, 0.06, 0.1) if solver == "sgd" else (0.02, 0.05, 0.1, 0.2, 0.4)
    out = []
    for reg, mode in itertools.product(regs, ("fixed20", "es3", "es3-refit", "es5-refit",
                                              "es8-refit")):
        c = {"reg": reg}
        if mode == "fixed20":
            c.update(n_epochs=20)
        else:
            c.update(n_epochs=100, early_stopping=True, n_iter_no_change=int(mode[2]),
                     validation_fraction=0.1, refit=mode.endswith("refit"))
        out.append(c)
    # a small internal search: early-stopped fits at a few regularisations, the best on the
    # internal validation split refitted on all ratings
    grids = (((0.04, 0.1), (0.03, 0.06, 0.12), (0.02, 0.05, 0.1, 0.2)) if solver == "sgd" else
             ((0.05, 0.2), (0.03, 0.1, 0.3), (0.02, 0.05, 0.1, 0.2, 0.4)))
    for grid in grids:
        out.append({"reg_search": list(grid), "n_epochs": 100, "early_stopping": True,
                    "n_iter_no_change": 5, "validation_fraction": 0.1, "refit": True})
    if solver == "ccd":
        widest = out[-1]
        # the same rules without biases (use_bias=False), and without biases on ratings centred
        # by regularised user and item means first (fixed biases; not an estimator option)
        out += [{**c, "use_bias": False} for c in out]
        out.append({**widest, "use_bias": False, "center": 5.0})
        # the widest search at other bias regularisations (the estimator's CCD++ default: 5)
        out += [{**widest, "reg_bias": rb} for rb in (1.0, 10.0, 25.0)]
    out.append({"defaults": True})
    return out


def baseline(train, shrink):
    """Regularised means: b_i = sum(r - mu) / (n_i + shrink), then b_u on what is left;
    returns predict(users, items) -> mu + b_u + b_i (0 for ids without ratings)."""
    u, i, r = train
    mu = float(r.mean())
    nu, ni = int(u.max()) + 1, int(i.max()) + 1
    bi = np.bincount(i, r - mu, ni) / (np.bincount(i, minlength=ni) + shrink)
    bu = np.bincount(u, r - mu - bi[i], nu) / (np.bincount(u, minlength=nu) + shrink)

    def predict(uu, ii):
        known_u, known_i = uu < nu, ii < ni
        return (mu + np.where(known_u, bu[np.where(known_u, uu, 0)], 0.0)
                + np.where(known_i, bi[np.where(known_i, ii, 0)], 0.0))
    return predict


# the study's candidates are single fits over this base; search and refit are done here
BASE = dict(early_stopping=False, refit=False)


def harpdaal_fit(train, test, cand, solver, threads):
    from harpdaal.recommend import MatrixFactorization

    if cand.get("defaults"):
        est = MatrixFactorization(n_factors=40, solver=solver, random_state=0, n_jobs=threads)
        est.fit(train)
        return {"rmse": rmse(est.predict(test[0], test[1]), test[2]), "epochs": est.n_epochs_,
                "reg": [est.reg_user_, est.reg_item_], "search": getattr(est, "reg_search_", None)}
    params = {**BASE, **{k: v for k, v in cand.items()
                         if k not in ("refit", "reg_search", "center")}}
    offset = None
    if "center" in cand:
        offset = baseline(train, cand["center"])
        train = (train[0], train[1], train[2] - offset(train[0], train[1]))
    if "reg_search" in cand:
        best = None
        for reg in cand["reg_search"]:
            e = MatrixFactorization(n_factors=40, solver=solver, random_state=0,
                                    n_jobs=threads, reg=reg, **params).fit(train)
            val = min(h["val_rmse"] for h in e.history_)
            if best is None or val < best[0]:
                best = (val, reg, e)
        _, reg, est = best
        params["reg"] = reg
    else:
        est = MatrixFactorization(n_factors=40, solver=solver, random_state=0, n_jobs=threads,
                                  **params)
        est.fit(train)
    epochs = int(getattr(est, "best_epoch_", est.n_epochs_))
    if cand.get("refit"):
        params.update(early_stopping=False, n_epochs=max(epochs, 1))
        est = MatrixFactorization(n_factors=40, solver=solver, random_state=0, n_jobs=threads,
                                  **params).fit(train)
    pred = est.predict(test[0], test[1])
    if offset is not None:
        pred = pred + offset(test[0], test[1])
    return {"rmse": rmse(pred, test[2]), "epochs": epochs, "reg": params.get("reg")}


def _key(cand):
    return json.dumps(cand, sort_keys=True)


def leave_one_out(table, names, n_cand):
    """For each data set: the candidate chosen on the others and its ratio there."""
    ratio = np.array([[table[d]["harpdaal"][c]["rmse"] / table[d]["libmf_best"]
                       for c in range(n_cand)] for d in names])
    rows = []
    for j, d in enumerate(names):
        others = [i for i in range(len(names)) if i != j]
        c = int(np.argmin(ratio[others].mean(axis=0))) if others else int(np.argmin(ratio[j]))
        rows.append({"data": d, "chosen": c, "ratio": float(ratio[j, c])})
    overall = int(np.argmin(ratio.mean(axis=0)))
    return rows, overall, ratio


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"))
    ap.add_argument("--solver", choices=("sgd", "ccd"), default="sgd")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="data set names")
    ap.add_argument("--out", help="JSON results (reused as a cache of finished fits)")
    ap.add_argument("--refresh-defaults", action="store_true",
                    help="refit the 'defaults' candidate (after the estimator's defaults changed)")
    args = ap.parse_args(argv)
    sets = data_sets(args.data_dir, args.only)
    cands = candidates(args.solver)
    table = {}
    if args.out and os.path.exists(args.out):
        with open(args.out) as f:
            old = json.load(f)
        table = old.get("table", {})
        for row in table.values():  # results of older files: aligned with their candidates
            for c, h in zip(old.get("candidates", []), row.get("harpdaal", [])):
                h.setdefault("cand", c)
                if args.solver == "ccd" and not old.get("ccd_biases"):
                    # written when CCD++ ignored use_bias: those fits had no biases
                    h["cand"] = {**h["cand"], "use_bias": False}
    for name, (train, test) in sets.items():
        row = table.setdefault(name, {"n_train": int(train[2].size)})
        if "libmf" not in row:
            row["libmf"] = libmf_grid(train, test, args.threads)
            row["libmf_best"] = min(g["rmse"] for g in row["libmf"])
        # finished fits are reused per candidate
        done = {_key(h["cand"]): h for h in row.get("harpdaal", [])
                if not (args.refresh_defaults and h["cand"].get("defaults"))}
        row["harpdaal"] = [done.get(_key(c)) or {**harpdaal_fit(train, test, c, args.solver,
                                                                args.threads), "cand": c}
                           for c in cands]
        print(f"{name}: LIBMF best {row['libmf_best']:.4f}; harpdaal best "
              f"{min(h['rmse'] for h in row['harpdaal']):.4f}", flush=True)
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"solver": args.solver, "candidates": cands, "table": table,
                           "ccd_biases": True}, f, indent=1)
    names = list(sets)
    rows, overall, ratio = leave_one_out(table, names, len(cands))
    print(f"\nsolver={args.solver}; candidate chosen on all sets: {cands[overall]}\n")
    dj = next(c for c, cand in enumerate(cands) if cand.get("defaults"))
    print("| data set | train ratings | LIBMF best-of-grid | chosen on the others | harpdaal "
          "RMSE | ratio | all-sets choice ratio | defaults RMSE | defaults ratio | defaults "
          "reg, epochs |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r, j in zip(rows, range(len(names))):
        d = table[r["data"]]
        h = d["harpdaal"][dj]
        print(f"| {r['data']} | {d['n_train']} | {d['libmf_best']:.4f} | {cands[r['chosen']]} | "
              f"{d['harpdaal'][r['chosen']]['rmse']:.4f} | {r['ratio']:.4f} | "
              f"{ratio[j, overall]:.4f} | {h['rmse']:.4f} | {ratio[j, dj]:.4f} | "
              f"{h['reg'][0]:g}, {h['epochs']} |")
    print(f"\ndefaults: worst ratio {ratio[:, dj].max():.4f}, mean {ratio[:, dj].mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
