"""Batch top-N by blocked GEMM and a partial selection, shared by the recommenders.

Scores of a block of queries against every candidate row come from one matrix product
(numpy's BLAS, threaded); each row's best n come from the native selection
``_core.common.top_k_rows`` (one pass per row against the current n-th best, then a sort of
the n kept; score descending, ties by the lower id; rows on the estimator's threads). Queries go
in blocks of ``BLOCK_ROWS``, so the score block stays bounded (1024 x n_items) whatever the
number of users.
"""
from __future__ import annotations

import numpy as np

from .. import _core

FILTERED = -np.finfo(np.float32).max  # the score of a filtered candidate (ranked last)
BLOCK_ROWS = 1024


def top_n(queries, table, N, *, norms=None, filter_rows=None, filter_ids=None, candidates=None,
          item_offset=None, dtype=np.float32, filtered=FILTERED, n_threads=0):
    """(ids, scores), each (len(queries), n): the best n = min(N, candidates) rows of `table`
    by dot product (plus `item_offset` per row of `table`; divided by `norms` when given), one
    block of queries at a time. ids index `candidates` when given, else `table`. Entries of
    `filter_rows` (CSR, one row per query, over candidate positions) and `filter_ids`
    (candidate positions) score `filtered` and rank last."""
    cand = table if candidates is None else table[candidates]
    sel = (lambda a: None if a is None else (a if candidates is None else a[candidates]))
    cand_norms, offset = sel(norms), sel(item_offset)
    n_cand = cand.shape[0]
    n = min(int(N), n_cand)
    m = queries.shape[0]
    ids = np.empty((m, n), np.int32)
    scores = np.empty((m, n), dtype)
    select = (_core.common.top_k_rows_f32 if np.dtype(dtype) == np.float32
              else _core.common.top_k_rows_f64)
    if n == 0:
        return ids, scores
    cand_t = np.ascontiguousarray(cand.T)
    for b in range(0, m, BLOCK_ROWS):
        e = min(m, b + BLOCK_ROWS)
        s = (queries[b:e] @ cand_t).astype(dtype, copy=False)
        if offset is not None:
            s += offset
        if cand_norms is not None:
            s /= cand_norms
        if filter_rows is not None:
            blk = filter_rows[b:e]
            s[np.repeat(np.arange(e - b), np.diff(blk.indptr)), blk.indices] = filtered
        if filter_ids is not None:
            s[:, filter_ids] = filtered
        select(np.ascontiguousarray(s), ids[b:e], scores[b:e], n_threads)
    return ids, scores
