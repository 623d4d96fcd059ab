"""Reader for NCF's test-negatives files (He et al., Neural Collaborative Filtering, WWW 2017):
one line per test user, ``(user,item)`` then that user's sampled negative items, tab-separated
(pinterest-20, ml-1m in NCF's ``Data/``)."""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np


def load_ncf_negatives(path) -> dict:
    """{user: (held-out item, negatives as an int64 array)} from a ``.test.negative`` file
    (``.gz`` read transparently). Raises ValueError naming the line for a malformed line, a
    negative id or a user listed twice, and for a file with no lines."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    out = {}
    try:
        with opener(path, "rt") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                head, *rest = line.rstrip("\n").split("\t")
                try:
                    user, item = (int(x) for x in head.strip().strip("()").split(","))
                    neg = np.array([int(x) for x in rest if x.strip()], dtype=np.int64)
                    if not (0 <= user < 2**63 and 0 <= item < 2**63):
                        raise OverflowError
                except OverflowError:
                    raise ValueError(f"{path}: line {n}: ids must lie in [0, 2**63)") from None
                except ValueError:
                    raise ValueError(f"{path}: line {n}: expected '(user,item)' and negative "
                                     "item ids, tab-separated") from None
                if neg.size and neg.min() < 0:
                    raise ValueError(f"{path}: line {n}: ids must lie in [0, 2**63)")
                if user in out:
                    raise ValueError(f"{path}: line {n}: user {user} listed twice")
                out[user] = (item, neg)
    except (gzip.BadGzipFile, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable text or gzip file ({exc})") from None
    if not out:
        raise ValueError(f"{path}: no test users")
    return out
