"""``harpdaal mf``: fit a MatrixFactorization from a ratings file, write the model and a report.

Files: text ``user item rating`` (whitespace, any extra columns ignored) or CSV with a header
(MovieLens ``userId,movieId,rating,timestamp``); ``.gz`` is read transparently. Without --test,
a seeded 90/10 split (numpy default_rng(split_seed).permutation) gives the test set.
"""
from __future__ import annotations

import json
import time

import numpy as np

from ..comm import current_communicator
from ..datasets import load_ratings
from .launch import relaunch_if_needed


def add_parser(sub):
    p = sub.add_parser("mf", help="matrix factorisation (MF-SGD / CCD++) of a ratings file",
                       description=__doc__)
    p.add_argument("--data", required=True, help="ratings file (text 'user item rating' or CSV)")
    p.add_argument("--test", help="test ratings file (default: hold out --test-fraction)")
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--split-seed", type=int, default=7)
    p.add_argument("--factors", type=int, default=40, help="rank k (default 40)")
    p.add_argument("--solver", choices=("sgd", "ccd"), default="sgd")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default: at most 100, early stopping ends the fit; 20 with "
                        "--no-early-stopping)")
    p.add_argument("--no-early-stopping", action="store_true",
                   help="train --epochs epochs, no held-out validation part, no refit")
    p.add_argument("--learning-rate", type=float, default=0.1)
    p.add_argument("--reg", type=float, default=None,
                   help="L2 for users and items (default: chosen on a held-out part of the "
                        "training ratings; 0.04/0.05 with --no-early-stopping)")
    p.add_argument("--reg-user", type=float, default=None)
    p.add_argument("--reg-item", type=float, default=None)
    p.add_argument("--no-bias", action="store_true", help="no user/item biases")
    p.add_argument("--duplicates", choices=("error", "mean", "last"), default="error")
    p.add_argument("--threads", type=int, default=None, help="threads per rank (default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="mf_model.npz", help="where to write the model")
    p.add_argument("--report", default="mf_report.json", help="where to write the JSON report")
    p.add_argument("--ranks", type=int, default=1, help="MPI ranks (relaunches under mpiexec)")
    p.add_argument("--slices-per-rank", type=int, default=2,
                   help="item-factor slices per rank rotating between ranks (SGD; default 2)")
    p.add_argument("--rotation-timer", type=float, default=None, metavar="FRACTION",
                   help="timer-bounded rotation steps: each step ends when its budget is spent, "
                        "the budget set so this fraction of the ratings is trained (SGD, MPI)")
    p.add_argument("--verbose", "-v", action="store_true", help="RMSE per epoch")
    p.set_defaults(func=run)


def run(args) -> int:
    rc = relaunch_if_needed(args)
    if rc is not None:
        return rc

    from ..recommend import MatrixFactorization  # scikit-learn: not for the parser

    comm = current_communicator()
    rank, size = comm.rank, comm.size
    t0 = time.perf_counter()
    users, items, ratings = load_ratings(args.data)
    if args.test:
        test = load_ratings(args.test)
        train = (users, items, ratings)
    else:
        if not 0.0 < args.test_fraction < 1.0:
            raise SystemExit("--test-fraction must be in (0, 1)")
        perm = np.random.default_rng(args.split_seed).permutation(ratings.size)
        cut = int(round((1.0 - args.test_fraction) * ratings.size))
        tr, te = perm[:cut], perm[cut:]
        train = (users[tr], items[tr], ratings[tr])
        test = (users[te], items[te], ratings[te])
    load_s = time.perf_counter() - t0
    if size > 1:  # model rotation: each rank keeps the ratings of its users
        mine = (train[0] % size) == rank
        train = tuple(a[mine] for a in train)
        tmine = (test[0] % size) == rank
        eval_set = tuple(a[tmine] for a in test)
    else:
        eval_set = test
    opts = {name: getattr(args, name) for name in ("reg", "reg_user", "reg_item")
            if getattr(args, name) is not None}
    early_stopping = not args.no_early_stopping
    if args.epochs is not None or not early_stopping:
        opts["n_epochs"] = args.epochs if args.epochs is not None else 20
    est = MatrixFactorization(
        n_factors=args.factors, solver=args.solver, early_stopping=early_stopping,
        learning_rate=args.learning_rate, use_bias=not args.no_bias, duplicates=args.duplicates,
        n_jobs=args.threads, random_state=args.seed, verbose=int(args.verbose),
        slices_per_rank=args.slices_per_rank, rotation_timer=args.rotation_timer, **opts)
    # the test set is shown per epoch only when it cannot steer the fit (early stopping watches
    # its own held-out part of the training ratings)
    est.fit(train, eval_set=eval_set if args.verbose and not early_stopping else None)
    test_rmse = est.rmse(test)
    n_train = int(train[2].size)
    if size > 1:
        counts = np.array([n_train], np.int64)
        comm.allreduce_array(counts)
        n_train = int(counts[0])
    # one fit of n_epochs_ epochs, unless the defaults' search and refit ran several
    ups = (n_train * est.n_epochs_ / max(est.fit_time_, 1e-12)
           if not hasattr(est, "reg_search_") else None)
    if rank == 0:
        est.save(args.model)
        report = {
            "data": str(args.data), "ranks": size, "threads": args.threads,
            "solver": args.solver, "n_factors": args.factors, "epochs": est.n_epochs_,
            "early_stopping": early_stopping, "reg_user": est.reg_user_,
            "reg_item": est.reg_item_, "reg_search": getattr(est, "reg_search_", None),
            "slices_per_rank": args.slices_per_rank, "rotation_timer": args.rotation_timer,
            "n_users": int(est.user_ids_.size), "n_items": int(est.item_ids_.size),
            "n_train": n_train, "n_test": int(test[2].size), "test_rmse": test_rmse,
            "fit_seconds": est.fit_time_, "load_seconds": load_s,
            "updates_per_second": ups,
            "timings": est.timings_, "history": est.history_, "model": str(args.model),
        }
        with open(args.report, "w") as fh:
            json.dump(report, fh, indent=2)
        speed = "" if ups is None else f", {ups / 1e6:.1f}M updates/s"
        print(f"test RMSE {test_rmse:.4f}  ({est.n_epochs_} epochs, reg_user {est.reg_user_:g}, "
              f"reg_item {est.reg_item_:g}, {est.fit_time_:.2f} s{speed})  model -> {args.model}"
              f"  report -> {args.report}")
    return 0
