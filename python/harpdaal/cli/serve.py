"""Serving from a saved model: ``harpdaal predict`` (K-means labels or distances),
``harpdaal transform`` (LDA topic proportions of new documents) and ``harpdaal recommend``
(top-N items for a list of users). Each streams its input in chunks (bounded memory), shows a
progress bar on a terminal (``--progress`` / ``--no-progress`` to choose) and writes .npy or
.csv. Under ``mpiexec`` rank 0 serves and the other ranks return at once.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from . import _stream


def _common(p, chunk_name, chunk_default):
    p.add_argument("--model", required=True, help="a model file written by the estimator's save()")
    p.add_argument("--out", required=True, help="output file: .npy or .csv")
    p.add_argument(f"--{chunk_name}", type=int, default=chunk_default,
                   help=f"rows per chunk (bounds memory; default {chunk_default})")
    p.add_argument("--n-jobs", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")


def add_parser(sub):
    p = sub.add_parser("predict", help="K-means labels (or distances) for a data file, from a "
                                       "saved model")
    p.add_argument("--data", required=True, help=".csv, .npy or idx[.gz] rows")
    p.add_argument("--format", choices=["auto", "csv", "npy", "idx"], default="auto")
    p.add_argument("--scale", type=float, default=None, help="divide the data by this (e.g. 255)")
    p.add_argument("--output", choices=["labels", "distances"], default="labels",
                   help="labels (n,) or distances to every center (n, k)")
    _common(p, "chunk-rows", 65536)
    p.set_defaults(func=run_predict)

    p = sub.add_parser("transform", help="LDA topic proportions of a corpus, from a saved model")
    p.add_argument("--data", required=True, help="UCI docword.*.txt[.gz] or lda-c corpus")
    p.add_argument("--sampler", choices=["mh", "exact"], default=None,
                   help="fold-in sampler (default: the model's transform_sampler)")
    _common(p, "chunk-docs", 20000)
    p.set_defaults(func=run_transform)

    p = sub.add_parser("recommend", help="top-N items for users, from a saved recommender")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", help="file of user ids (one per line, or .npy)")
    who.add_argument("--user", type=int, nargs="+", help="user ids")
    p.add_argument("-n", "--n-items", type=int, default=10, help="items per user")
    p.add_argument("--include-seen", action="store_true",
                   help="also recommend items the user rated in training")
    p.add_argument("--filter-items", default=None, help="file of item ids never to recommend")
    p.add_argument("--interactions", default=None,
                   help="ImplicitALS: the users' interactions file (user item value), whose "
                        "items are left out unless --include-seen (the model does not store "
                        "them)")
    p.add_argument("--scores-out", default=None, help="also write the scores (.npy / .csv)")
    _common(p, "chunk-users", 4096)
    p.set_defaults(func=run_recommend)


def _other_rank() -> bool:
    """Started by mpiexec: rank 0 serves, the other ranks have nothing to do (one output file)."""
    from ..comm import current_communicator

    return current_communicator().rank != 0


def _fail(cmd, exc) -> int:
    print(f"harpdaal {cmd}: {exc}", file=sys.stderr)
    return 2


def _load_model(cls, path):
    if not os.path.isfile(path):
        raise ValueError(f"--model: no such file: {path}")
    return cls.load(path)


def run_predict(args) -> int:
    if _other_rank():
        return 0
    from ..cluster import KMeans

    try:
        model = _load_model(KMeans, args.model)
        if args.n_jobs is not None:
            model.set_params(n_jobs=args.n_jobs)
        n, d, chunks = _stream.row_chunks(args.data, args.format, args.chunk_rows)
        if d != model.n_features_in_:
            raise ValueError(f"--data has {d} columns, the model {model.n_features_in_}")
        k = model.cluster_centers_.shape[0]
        dtype = model.cluster_centers_.dtype
        out = _stream.Output(args.out, n, None if args.output == "labels" else k,
                             np.int32 if args.output == "labels" else dtype)
        t0 = time.perf_counter()
        with _stream.progress(n, "predict", args.progress) as bar:
            try:
                for block in chunks:
                    X = np.ascontiguousarray(block, dtype=dtype)
                    if args.scale:
                        X /= args.scale
                    out.write(model.predict(X) if args.output == "labels" else model.transform(X))
                    bar.update(len(X))
            finally:
                out.close()
    except ValueError as exc:
        return _fail("predict", exc)
    secs = time.perf_counter() - t0
    print(f"harpdaal predict: {n} rows in {secs:.3f} s ({n / max(secs, 1e-9):.0f} rows/s) -> "
          f"{args.out}", file=sys.stderr)
    return 0


def run_transform(args) -> int:
    if _other_rank():
        return 0
    from ..topic import LatentDirichletAllocation

    try:
        model = _load_model(LatentDirichletAllocation, args.model)
        if args.n_jobs is not None:
            model.set_params(n_jobs=args.n_jobs)
        if args.sampler is not None:
            model.set_params(transform_sampler=args.sampler)
        n, chunks = _stream.bow_chunks(args.data, model.n_features_in_, args.chunk_docs)
        out = _stream.Output(args.out, n, model.n_components, np.float64)
        t0 = time.perf_counter()
        with _stream.progress(n, "transform", args.progress) as bar:
            try:
                for theta in model.transform_stream(chunks):
                    out.write(theta)
                    bar.update(theta.shape[0])
            finally:
                out.close()
        if out.done != n:
            raise ValueError(f"--data: the corpus header says {n} documents, it holds {out.done}")
    except ValueError as exc:
        return _fail("transform", exc)
    secs = time.perf_counter() - t0
    print(f"harpdaal transform: {n} documents in {secs:.3f} s -> {args.out}", file=sys.stderr)
    return 0


def _ids(path, what):
    if not os.path.isfile(path):
        raise ValueError(f"{what}: no such file: {path}")
    if path.lower().endswith(".npy"):
        ids = np.load(path, allow_pickle=False)
    else:
        try:
            ids = np.loadtxt(path, dtype=np.int64, ndmin=1)
        except ValueError as exc:
            raise ValueError(f"{what}: {path}: expected one integer id per line ({exc})") from exc
    ids = np.asarray(ids).ravel()
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{what}: {path}: ids must be integers, got {ids.dtype}")
    return ids.astype(np.int64)


def _interactions(path, model):
    """users x items CSR of an interactions file, shaped like the ALS model."""
    import scipy.sparse as sp

    from ..datasets import load_ratings

    u, i, v = load_ratings(path)
    nu, ni = model.user_factors_.shape[0], model.item_factors_.shape[0]
    if u.size and (u.max() >= nu or i.max() >= ni):
        raise ValueError(f"--interactions: {path}: ids beyond the model's {nu} users x {ni} items")
    return sp.csr_matrix((v.astype(np.float32), (u, i)), shape=(nu, ni))


def _recommender(path):
    """The saved recommender in `path`, whichever estimator wrote it."""
    import json
    import zipfile

    from ..recommend import MatrixFactorization

    classes = {"MatrixFactorization": MatrixFactorization}
    try:
        from ..recommend import ImplicitALS

        classes["ImplicitALS"] = ImplicitALS
    except ImportError:
        pass
    try:
        with np.load(path, allow_pickle=False) as z:
            name = json.loads(z["header"].tobytes()).get("estimator")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, AttributeError) as exc:
        raise ValueError(f"--model: {path}: not a harpdaal model file ({exc})") from exc
    if name not in classes:
        raise ValueError(f"--model: {path}: a {name!r} model is not a recommender")
    return _load_model(classes[name], path)


def _top_n(model, users, n, exclude_seen, blocked, interactions):
    """(ids, scores) of shape (len(users), n) for a block of users by the model's batch
    recommend; rows padded with -1 / NaN where fewer items remain."""
    if hasattr(model, "user_factors_") and hasattr(model, "similar_users"):  # ImplicitALS
        if users.size and (users.min() < 0 or users.max() >= model.user_factors_.shape[0]):
            bad = users[(users < 0) | (users >= model.user_factors_.shape[0])][0]
            raise ValueError(f"user {int(bad)} is not a user of the model (0 .. "
                             f"{model.user_factors_.shape[0] - 1})")
        rows = None if interactions is None else interactions[users]
        ids, scores = model.recommend(users, rows, N=n, filter_already_liked_items=exclude_seen,
                                      filter_items=blocked)
        scores = scores.astype(np.float64)
        gone = scores <= np.finfo(np.float32).min
    else:
        ids, scores = model.recommend(users, n=n, exclude_seen=exclude_seen,
                                      filter_items=blocked)
        gone = ~np.isfinite(scores)
    ids = np.where(gone, -1, ids).astype(np.int64)
    scores = np.where(gone, np.nan, scores)
    if ids.shape[1] < n:  # fewer items than n
        pad = n - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=np.nan)
    return ids, scores


def run_recommend(args) -> int:
    if _other_rank():
        return 0
    try:
        if args.n_items < 1:
            raise ValueError(f"-n must be >= 1, got {args.n_items}")
        model = _recommender(args.model)
        if args.n_jobs is not None:
            model.set_params(n_jobs=args.n_jobs)
        users = np.asarray(args.user, np.int64) if args.user else _ids(args.users, "--users")
        blocked = None if args.filter_items is None else _ids(args.filter_items, "--filter-items")
        interactions = None
        is_als = type(model).__name__ == "ImplicitALS"
        if is_als and not args.include_seen:
            if args.interactions is None:
                raise ValueError("an ImplicitALS model does not store the users' interactions: "
                                 "pass --interactions FILE, or --include-seen")
            interactions = _interactions(args.interactions, model)
        n = args.n_items
        out = _stream.Output(args.out, users.size, n, np.int64)
        scores_out = (None if args.scores_out is None
                      else _stream.Output(args.scores_out, users.size, n, np.float64))
        t0 = time.perf_counter()
        with _stream.progress(users.size, "recommend", args.progress) as bar:
            try:
                for lo in range(0, users.size, args.chunk_users):
                    block = users[lo:lo + args.chunk_users]
                    ids, scores = _top_n(model, block, n, not args.include_seen, blocked,
                                         interactions)
                    out.write(ids)
                    if scores_out is not None:
                        scores_out.write(scores)
                    bar.update(block.size)
            finally:
                out.close()
                if scores_out is not None:
                    scores_out.close()
    except ValueError as exc:
        return _fail("recommend", exc)
    secs = time.perf_counter() - t0
    print(f"harpdaal recommend: {users.size} users in {secs:.3f} s -> {args.out}",
          file=sys.stderr)
    return 0
