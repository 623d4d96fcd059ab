"""Reader for rating files: ``user item rating`` triples, as text or CSV (MovieLens)."""
from __future__ import annotations

import gzip
import os
import warnings
import zlib

import numpy as np


def load_ratings(path):
    """(users, items, ratings) from a ratings file: whitespace-separated ``user item rating``
    (extra columns ignored) or CSV, with or without a header line (MovieLens
    ``userId,movieId,rating,timestamp``); ``.gz`` is read transparently.

    users and items are int64 ids in [0, 2**63), ratings float64. Raises ValueError naming the
    problem for an empty file, a file without ratings, ids that are not non-negative integers,
    or ratings that are not finite numbers."""
    path = os.fspath(path)
    try:
        return _load(path)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # a corrupt or truncated .gz
        raise ValueError(f"{path}: not a readable gzip file ({exc})") from None


def _load(path: str):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        first = fh.readline()
    if not first:
        raise ValueError(f"{path}: empty file")
    delim = "," if "," in first else None
    try:
        [float(x) for x in first.replace(",", " ").split()[:3]]
        skip = 0
    except ValueError:
        skip = 1  # a header
    try:
        with warnings.catch_warnings():
            # a file of only a header: reported below as "no ratings"
            warnings.filterwarnings("ignore", "loadtxt: input contained no data")
            data = np.loadtxt(path, delimiter=delim, skiprows=skip, usecols=(0, 1, 2), ndmin=2)
    except ValueError as exc:  # too few columns, a field that is not a number
        raise ValueError(f"{path}: {exc}") from None
    if data.shape[0] == 0:
        raise ValueError(f"{path}: no ratings")
    ids = data[:, :2]
    bad = ~(np.isfinite(ids) & (ids == np.floor(ids)) & (ids >= 0) & (ids < 2.0**63))
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"{path}: rating {row + 1}: ids must be integers in [0, 2**63), "
                         f"got {ids[row].tolist()}")
    if not np.all(np.isfinite(data[:, 2])):
        raise ValueError(f"{path}: ratings must be finite numbers")
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2]
