"""Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008; Harp-DAAL's ALS),
with the API of the `implicit` library's ``AlternatingLeastSquares``.

Model: minimise ``sum c_ui (p_ui - x_u . y_i)^2 + regularization (|X|^2 + |Y|^2)`` over all
user-item pairs, where an entry ``r_ui > 0`` of ``user_items`` means preference ``p_ui = 1``
with confidence ``c_ui = alpha * r_ui``, and every absent pair ``p_ui = 0`` with ``c_ui = 1``
(``implicit``'s convention, so the same parameters fit the same model; the paper's confidence
``1 + a * r`` is ``alpha = a`` on ``r + 1 / a``). Alternating exact-or-CG half-steps, see
``src/kernels/als/als.hpp``.

Distributed fits (more than one rank): each rank passes its own users' rows (a CSR matrix of
its users x all items; users are numbered in rank order, rank 0's first). Scheme:

- item factors Y are replicated; every rank computes YᵀY itself (no communication) and solves
  its own users;
- the new user factors are allgathered (every rank then holds X), every rank computes XᵀX
  itself and solves one contiguous slice of the items, whose (item, user, value) entries were
  regrouped to it once before the first iteration; the item slices are allgathered.

Every row solve sees exactly the operands of the one-process fit (same Gram matrix bits, same
entry order), so shards give the same factors as one process, bit for bit, at any number of
ranks and threads.
"""
from __future__ import annotations

import numbers
import time
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .. import _core
from .._driver import FitLoop, Step, agree, fit_communicator
from .._persist import PersistMixin, attribute, check, require
from .._threads import resolve_n_jobs
from ._topn import top_n

_als = _core.als
_SOLVERS = ("cg", "cholesky")


class ParameterWarning(UserWarning):
    """An argument was accepted but converted (e.g. a non-CSR matrix to CSR)."""


# ---- input checks ---------------------------------------------------------------------------
def _as_csr(m, name: str, *, convert: bool) -> sp.csr_matrix:
    """`m` as a canonical float32 CSR matrix with int32 column ids and int64 row pointers.
    Non-CSR input is converted with a ParameterWarning when `convert`, else rejected."""
    if isinstance(m, (sp.csr_matrix, sp.csr_array)):
        csr = sp.csr_matrix(m)
    elif convert and (sp.issparse(m) or isinstance(m, np.ndarray)):
        warnings.warn(f"{name}: expected a scipy.sparse CSR matrix, got "
                      f"{type(m).__name__}; converting it to CSR", ParameterWarning,
                      stacklevel=3)
        if isinstance(m, np.ndarray) and m.ndim != 2:
            raise ValueError(f"{name}: expected a 2-d matrix, got {m.ndim}-d")
        csr = sp.csr_matrix(m)
    else:
        raise ValueError(f"{name}: expected a scipy.sparse CSR matrix, got {type(m).__name__}")
    if csr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numeric values, got dtype {csr.dtype}")
    data = csr.data
    if data.size and not np.isfinite(data).all():
        raise ValueError(f"{name}: values must be finite (found NaN or inf)")
    if data.size and data.min() < 0:
        raise ValueError(f"{name}: values are interaction strengths and must be >= 0, "
                         f"found {data.min()!r}")
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    if data.size and (data == 0).any():  # r = 0 is "no interaction" (p = 0, c = 1)
        csr = csr.copy()
        csr.eliminate_zeros()
    return csr


class _Rows(NamedTuple):
    """A CSR matrix in the kernels' types (scipy may narrow indptr to int32)."""

    indptr: np.ndarray   # int64
    indices: np.ndarray  # int32
    data: np.ndarray     # float32
    shape: tuple

    @classmethod
    def of(cls, csr) -> "_Rows":
        return cls(np.ascontiguousarray(csr.indptr, dtype=np.int64),
                   np.ascontiguousarray(csr.indices, dtype=np.int32),
                   np.ascontiguousarray(csr.data, dtype=np.float32), tuple(csr.shape))


def _check_ids(ids, limit: int, name: str, *, scalar_ok: bool = True) -> np.ndarray:
    a = np.asarray(ids)
    if a.dtype.kind not in "iu" or (a.ndim == 0 and not scalar_ok) or a.ndim > 1:
        raise ValueError(f"{name}: expected {'an int or ' if scalar_ok else ''}a 1-d array of "
                         f"ints, got {a.dtype} array of shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() >= limit):
        raise IndexError(f"{name}: ids must lie in [0, {limit}), got range "
                         f"[{a.min()}, {a.max()}]")
    return a.astype(np.int64, copy=False)


def _check_params(est) -> dict:
    def integer(name, lo):
        v = getattr(est, name)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < lo:
            raise ValueError(f"{name} must be >= {lo}, got {v}")
        return int(v)

    def real(name):
        v = getattr(est, name)
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a number, got {type(v).__name__}")
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {v}")
        return float(v)

    if est.solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {est.solver!r}")
    return {"factors": integer("factors", 1), "iterations": integer("iterations", 0),
            "cg_steps": integer("cg_steps", 1), "regularization": real("regularization"),
            "alpha": real("alpha"), "threads": resolve_n_jobs(est.n_jobs)}


def _generator(random_state) -> np.random.Generator:
    """A numpy Generator from an int, None, a RandomState or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    return np.random.default_rng(check_random_state(random_state).randint(0, 2**31 - 1))


def _initial_factors(rng, n: int, k: int) -> np.ndarray:
    """implicit's initialisation: uniform in [0, 0.01)."""
    out = rng.random((n, k), dtype=np.float32)
    out *= np.float32(0.01)
    return out


def _solve_cost(row_nnz: np.ndarray, weighted: np.ndarray, k: int, n_other: int) -> np.ndarray:
    """Modelled seconds (x 1e9) of each row's CG solve, from per-row and per-entry timings of the
    kernel at k = 64 (one thread, 12M-entry power-law set, AMD Zen 4): a row costs ~0.45 us for
    its products with the Gram matrix (grows as k^2). An entry of a `weighted` row (one with an
    entry of confidence other than 1: four passes over its entries) costs ~25 ns (grows as k)
    while the other side's factor table stays in cache (<= 32 MiB), else ~47 ns, ~67 ns once the
    row's own factor rows exceed 512 KiB (they no longer stay in L2 across the passes) and ~115
    ns beyond 8 MiB; an entry of any other row (one pass, no dot product) ~9 ns in cache, ~32 ns
    from memory."""
    scale = k / 64.0
    row_bytes = row_nnz.astype(np.float64) * k * 4
    if n_other * k * 4 <= 32 << 20:
        per_entry = np.where(weighted, 25.0, 9.0)
    else:
        per_entry = np.where(weighted, np.select(
            [row_bytes <= 512 << 10, row_bytes <= 8 << 20], [47.0, 67.0], 115.0), 32.0)
    return scale * per_entry * row_nnz + 450.0 * scale * scale


def _initial_tables(random_state, n_users: int, n_items: int, k: int, lo: int, hi: int):
    """The one-process initialisation (X then Y from one stream) where this rank needs only
    users [lo, hi) of X: the other rows are zero here until the first allgather. With numpy's
    PCG64 (two float32 draws per 64-bit output) the stream skips the other ranks' users instead
    of drawing them; other bit generators draw everything."""
    rng = _generator(random_state)
    bg = rng.bit_generator
    if (lo, hi) == (0, n_users) or type(bg).__name__ != "PCG64":
        return _initial_factors(rng, n_users, k), _initial_factors(rng, n_items, k)
    start = bg.state

    def skip(count):  # as if `count` float32 values had been drawn
        if count == 0:
            return  # (advance(0) would drop a buffered half)
        if bg.state["has_uint32"]:
            rng.random(1, dtype=np.float32)  # the buffered half of the last output
            count -= 1
        bg.advance(count // 2)  # whole outputs (this also empties the buffer)
        if count % 2:
            rng.random(1, dtype=np.float32)

    X = np.zeros((n_users, k), np.float32)
    skip(lo * k)
    X[lo:hi] = _initial_factors(rng, hi - lo, k)
    bg.state = start
    skip(n_users * k)
    return X, _initial_factors(rng, n_items, k)


def _balanced_bounds(cost: np.ndarray, parts: int) -> list[int]:
    """Bounds of ``parts`` contiguous row slices of about equal total ``cost``. Power-law data
    sorted by popularity puts most entries in the first rows: equal row counts would leave one
    rank with most of the work."""
    total = np.cumsum(cost)
    end = float(total[-1]) if total.size else 0.0
    inner = [int(np.searchsorted(total, end * r / parts, side="right")) for r in range(1, parts)]
    return [0, *inner, int(cost.size)]


def _regroup_rows(comm, rows: _Rows, first: int, bounds, n_cols: int, *,
                  disjoint: bool = False) -> _Rows:
    """Move CSR rows to the ranks that solve them. This rank holds global rows
    ``[first, first + rows.shape[0])``; rank ``r`` receives rows ``[bounds[r], bounds[r + 1])``.
    A row held by several ranks (an item's entries, one part per rank's users) gets its parts in
    rank order, so every row's entries keep the order of the one-process matrix. ``disjoint``:
    every row is held by one rank (user rows), so the parts are concatenated."""
    from ..comm import Partition, Table

    size, me = comm.size, comm.rank
    lo, hi = bounds[me], bounds[me + 1]
    table = Table("sum")  # ids are unique: nothing is combined
    kept = None
    for dest in range(size):
        a = max(bounds[dest], first) - first
        b = min(bounds[dest + 1], first + rows.shape[0]) - first
        if a >= b:
            continue
        e0, e1 = int(rows.indptr[a]), int(rows.indptr[b])
        lengths = np.zeros(bounds[dest + 1] - bounds[dest], np.int64)
        lengths[a + first - bounds[dest]:b + first - bounds[dest]] = np.diff(rows.indptr[a:b + 1])
        part = (lengths, rows.indices[e0:e1], rows.data[e0:e1])
        if dest == me:
            kept = part  # stays here: not copied through the exchange
            continue
        base = (dest * size + me) * 3
        for j, arr in enumerate(part):
            table.add(Partition(base + j, arr))
    comm.regroup(table, partitioner=lambda pid: pid // (3 * size))
    parts = []
    for src in range(size):  # ascending source rank
        base = (me * size + src) * 3
        if src == me:
            if kept is not None:
                parts.append(kept)
        elif base in table.ids():
            parts.append((table[base], table[base + 1], table[base + 2]))
    if not parts:
        parts = [(np.zeros(hi - lo, np.int64), np.empty(0, np.int32), np.empty(0, np.float32))]
    lengths = np.stack([p[0] for p in parts])
    ids = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
    values = parts[0][2] if len(parts) == 1 else np.concatenate([p[2] for p in parts])
    if disjoint:  # every row from one part, the parts in row order: the concatenation
        indptr = np.zeros(hi - lo + 1, np.int64)
        np.cumsum(lengths.sum(axis=0), out=indptr[1:])
        return _Rows(indptr, ids, values, (hi - lo, n_cols))
    nnz = int(ids.size)
    out = _Rows(np.empty(hi - lo + 1, np.int64), np.empty(nnz, np.int32),
                np.empty(nnz, np.float32), (hi - lo, n_cols))
    _core.common.merge_csr_parts(lengths, ids, values, out.indptr, out.indices, out.data)
    return out


def _transpose(rows: _Rows, first: int, n_users: int) -> _Rows:
    """The items x users CSR of these user rows (user ids offset by ``first``), each item's
    entries in ascending user order."""
    n_items = rows.shape[1]
    out = _Rows(np.empty(n_items + 1, np.int64), np.empty(rows.indices.size, np.int32),
                np.empty(rows.indices.size, np.float32), (n_items, n_users))
    _core.common.transpose_csr(rows.indptr, rows.indices, rows.data, n_items, first, out.indptr,
                               out.indices, out.data)
    return out


def _partition(comm, rows: _Rows, user_offset: int, n_items: int, k: int, alpha: float):
    """The users and items this rank solves: contiguous slices of equal cost (see
    `_balanced_bounds`), their rows regrouped here. One process: the rows as given and their
    transpose."""
    if comm.size == 1:
        n_users = rows.shape[0]
        return rows, [0, n_users], _transpose(rows, 0, n_users), [0, n_items], None, None
    # entries of confidence other than 1 (as the kernel computes it, alpha * r in float32)
    other = (np.float32(alpha) * rows.data) != np.float32(1)
    running = np.concatenate([[0], np.cumsum(other, dtype=np.int64)])
    counts = np.stack([np.diff(rows.indptr),
                       running[rows.indptr[1:]] - running[rows.indptr[:-1]]], axis=1)
    user_nnz, user_weighted = comm.allgatherv_rows(counts.astype(np.int64)).T
    items = np.stack([np.bincount(rows.indices, minlength=n_items),
                      np.bincount(rows.indices[other], minlength=n_items)]).astype(np.int64)
    comm.allreduce_array(items)
    item_nnz, item_weighted = items
    user_cost = _solve_cost(user_nnz, user_weighted > 0, k, n_items)
    item_cost = _solve_cost(item_nnz, item_weighted > 0, k, user_nnz.size)
    user_bounds = _balanced_bounds(user_cost, comm.size)
    item_bounds = _balanced_bounds(item_cost, comm.size)
    user_rows = _regroup_rows(comm, rows, user_offset, user_bounds, n_items, disjoint=True)
    item_rows = _regroup_rows(comm, _transpose(rows, user_offset, user_nnz.size), 0, item_bounds,
                              user_nnz.size)
    return user_rows, user_bounds, item_rows, item_bounds, user_cost, item_cost


def _rebalanced_bounds(cost: np.ndarray, bounds, seconds, parts: int):
    """Bounds of equal *measured* cost: each slice's modelled ``cost`` rescaled by the seconds
    its rank took (``seconds[r]`` for rows ``[bounds[r], bounds[r + 1])``), then cut as
    `_balanced_bounds` cuts. Returns (bounds, the slowest rank's predicted seconds) — the model's
    per-row and per-entry constants were measured on one CPU; this corrects them on the one the
    fit runs on."""
    sums = np.array([cost[bounds[r]:bounds[r + 1]].sum() for r in range(parts)])
    measured = np.asarray(seconds, np.float64)
    ok = sums > 0
    mean_scale = measured[ok].sum() / sums[ok].sum() if ok.any() else 1.0
    scale = np.where(ok, measured / np.where(ok, sums, 1.0), mean_scale)
    scaled = cost * np.repeat(scale, np.diff(bounds))
    new = _balanced_bounds(scaled, parts)
    return new, max(float(scaled[new[r]:new[r + 1]].sum()) for r in range(parts))


def _shared_tables(comm, X, Y, user_bounds, item_bounds):
    """The factor tables in memory shared by all ranks (`Communicator.shared_rows`), filled with
    this rank's slices of ``X`` and ``Y``, or None where the ranks do not share a node (or one
    rank). Shared, each half-step's allgather (the whole table to every rank: 128 MB per
    iteration for 500k users at k = 64) becomes a barrier."""
    if comm.size == 1:
        return None
    xs = comm.shared_rows(X.shape, X.dtype)
    ys = comm.shared_rows(Y.shape, Y.dtype)
    if not (xs.shared and ys.shared):
        xs.close()
        ys.close()
        return None
    for table, src, bounds in ((xs, X, user_bounds), (ys, Y, item_bounds)):
        lo, hi = bounds[comm.rank], bounds[comm.rank + 1]
        table.array[lo:hi] = src[lo:hi]
        table.sync(bounds)
    return xs, ys


# ---- the step the fit loop drives -------------------------------------------------------------
class _ALSStep(Step):
    """One iteration = the user half-step then the item half-step (implicit's order)."""

    #: iterations after which the slices may be re-cut by measured time (see `_rebalance`)
    REBALANCE_AFTER = 2
    #: re-cut only when the slowest rank's predicted half-step time drops by this share
    REBALANCE_GAIN = 0.03

    def __init__(self, p, comm, user_rows, user_bounds, item_rows, item_bounds, X, Y,
                 weight_total, loss, costs=(None, None), shared=None):
        """``user_rows`` / ``item_rows``: the rows this rank solves, global users
        ``[user_bounds[rank], user_bounds[rank + 1])`` and items likewise. ``costs``: the
        modelled cost of every user and every item row (several ranks), for `_rebalance`.
        ``shared``: X's and Y's `SharedRows` where the ranks share them (`_shared_tables`)."""
        self.shared = shared
        self.p, self.comm = p, comm
        self.user_rows, self.item_rows = user_rows, item_rows
        self._set_bounds(user_bounds, item_bounds)
        self.costs = costs
        self._rebalances_left = self.REBALANCE_AFTER if comm.size > 1 else 0
        self._solve_s = [0.0, 0.0]  # this iteration's row-solve seconds: users, items
        self.X, self.Y = X, Y
        self.weight_total, self.want_loss = weight_total, loss
        k = Y.shape[1]
        self.gram = np.empty((k, k), np.float32)
        self._partials = {}  # Gram block partials by block count (users, items)
        self.compute_s = self.comm_s = 0.0

    def _gram(self, other):
        """YᵀY into self.gram. Distributed: each rank sums a share of the fixed row blocks, the
        block partials are allgathered (k² floats a block) and every rank adds them in block
        order — the one-process bits, without every rank doing all the work."""
        p = self.p
        if self.comm.size == 1:
            _als.gram(other, self.gram, p["threads"])
            return
        n_blocks = _als.gram_blocks(other.shape[0])
        k = other.shape[1]
        parts = self._partials.get(n_blocks)
        if parts is None:
            parts = self._partials[n_blocks] = np.empty((n_blocks, k, k), np.float32)
        bounds = [(n_blocks * r) // self.comm.size for r in range(self.comm.size + 1)]
        me = self.comm.rank
        _als.gram_partials(other, bounds[me], bounds[me + 1], parts, p["threads"])
        t = time.perf_counter()
        self.comm.allgatherv_rows_into(parts, bounds, check=False)
        self.comm_s += time.perf_counter() - t
        _als.gram_sum(parts, self.gram, p["threads"])

    def _set_bounds(self, user_bounds, item_bounds):
        self.user_bounds, self.item_bounds = list(user_bounds), list(item_bounds)
        self.user_lo, self.user_hi = user_bounds[self.comm.rank], user_bounds[self.comm.rank + 1]
        self.item_lo, self.item_hi = item_bounds[self.comm.rank], item_bounds[self.comm.rank + 1]

    def _solve(self, rows, factors, other):
        p = self.p
        self._gram(other)
        t = time.perf_counter()
        _als.solve_rows(rows.indptr, rows.indices, rows.data, other, self.gram, factors,
                        p["regularization"], p["alpha"], p["solver"], p["cg_steps"], p["threads"])
        self._solve_s[0 if rows is self.user_rows else 1] = time.perf_counter() - t

    def _rebalance(self):
        """Re-cuts the user and item slices so that the row solves the ranks just timed take
        equal time, and moves the rows that change owner. The slices start from the cost model
        of `_solve_cost`, whose constants were measured on one CPU; another CPU (cache sizes,
        memory latency, the block product's speed) weighs long and short rows differently, and
        one slow rank makes every other one wait twice an iteration. Every rank gets the same
        timings and computes the same cut; the factors do not depend on who solves a row."""
        t = time.perf_counter()
        comm = self.comm
        seconds = comm.allgatherv_rows(np.array([self._solve_s], np.float64))
        sides = [("user", self.user_bounds, self.costs[0], seconds[:, 0]),
                 ("item", self.item_bounds, self.costs[1], seconds[:, 1])]
        new = {}
        for side, bounds, cost, measured in sides:
            cut, predicted = _rebalanced_bounds(cost, bounds, measured, comm.size)
            if cut != bounds and predicted < (1 - self.REBALANCE_GAIN) * float(measured.max()):
                new[side] = cut
        if "user" in new:
            self.user_rows = _regroup_rows(comm, self.user_rows, self.user_lo, new["user"],
                                           self.Y.shape[0], disjoint=True)
        if "item" in new:
            self.item_rows = _regroup_rows(comm, self.item_rows, self.item_lo, new["item"],
                                           self.X.shape[0], disjoint=True)
        self._set_bounds(new.get("user", self.user_bounds), new.get("item", self.item_bounds))
        self.comm_s += time.perf_counter() - t

    def _gather(self, full, bounds):
        if self.comm.size == 1:
            return
        t = time.perf_counter()
        if self.shared is not None:  # the rows are in place: wait until every rank wrote its own
            self.shared[0 if full is self.X else 1].sync(bounds)
        else:
            self.comm.allgatherv_rows_into(full, bounds, check=False)
        self.comm_s += time.perf_counter() - t

    def _computed(self, fn, *args):
        """Runs fn, adding its seconds to compute_s less the communication it timed itself."""
        t, comm_before = time.perf_counter(), self.comm_s
        out = fn(*args)
        self.compute_s += time.perf_counter() - t - (self.comm_s - comm_before)
        return out

    def run(self, n):
        records = []
        for _ in range(n):
            self._computed(self._solve, self.user_rows, self.X[self.user_lo:self.user_hi], self.Y)
            self._gather(self.X, self.user_bounds)
            self._computed(self._solve, self.item_rows, self.Y[self.item_lo:self.item_hi], self.X)
            self._gather(self.Y, self.item_bounds)
            records.append({"loss": self._loss()} if self.want_loss else {})
            if self._rebalances_left and self.costs[0] is not None:
                self._rebalances_left -= 1
                self._rebalance()
        return records

    def _local_loss(self):
        p = self.p
        self._gram(self.Y)
        r = self.user_rows
        return _als.loss(r.indptr, r.indices, r.data, self.X[self.user_lo:self.user_hi], self.Y,
                         self.gram, p["regularization"], p["alpha"], p["threads"])

    def _loss(self):
        p = self.p
        local = self._computed(self._local_loss)
        if self.comm.size > 1:
            t = time.perf_counter()
            local = float(self.comm.allreduce_array(np.array([local]))[0])
            self.comm_s += time.perf_counter() - t
        y = self.Y.astype(np.float64)
        total = local + p["regularization"] * float(np.einsum("ij,ij->", y, y))
        return total / self.weight_total

    def state(self):
        return ({"user_factors": self.X[self.user_lo:self.user_hi].copy(),
                 "item_factors": self.Y.copy()}, {"user_bounds": self.user_bounds})

    def load_state(self, arrays, extra):
        x, y = arrays.get("user_factors"), arrays.get("item_factors")
        # the user slices the checkpoint was cut by (re-cut by measured time during that fit)
        bounds = extra.get("user_bounds", self.user_bounds) if isinstance(extra, dict) else None
        n_users, size = self.X.shape[0], self.comm.size
        if (not isinstance(bounds, list) or len(bounds) != size + 1
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
                or bounds[0] != 0 or bounds[-1] != n_users
                or any(b > c for b, c in zip(bounds, bounds[1:]))):
            raise ValueError("the checkpoint's user slices do not fit this data and ranks")
        lo, hi = bounds[self.comm.rank], bounds[self.comm.rank + 1]
        want_x = (hi - lo, self.X.shape[1])
        if x is None or y is None or x.shape != want_x or y.shape != self.Y.shape:
            raise ValueError("the checkpoint's factor tables do not fit this data and factors")
        self.X[lo:hi] = x
        if self.shared is None:
            self.Y[:] = y
        else:  # shared: each rank writes its own rows only
            self.Y[self.item_lo:self.item_hi] = y[self.item_lo:self.item_hi]
            self._gather(self.Y, self.item_bounds)
        if size > 1:  # the item step needs every user's factors
            self._gather(self.X, bounds)


# ---- the estimator ---------------------------------------------------------------------------
class ImplicitALS(PersistMixin, BaseEstimator):
    """Implicit-feedback matrix factorisation by alternating least squares, a drop-in for
    ``implicit.als.AlternatingLeastSquares`` (CPU).

    Parameters
    ----------
    factors : int, default 100
        Number of latent factors.
    regularization : float, default 0.01
        L2 penalty on both factor tables.
    alpha : float, default 1.0
        Confidence of an interaction of strength ``r``: ``c = alpha * r`` (absent pairs: 1), as
        in ``implicit``.
    iterations : int, default 15
        ALS iterations (each one user and one item half-step).
    random_state : int, RandomState or None
        Seeds the initial factors (uniform in [0, 0.01), as ``implicit``).
    n_jobs : int or None
        Threads (None or -1: all cores).
    solver : {"cg", "cholesky"}, default "cg"
        Row solver: ``cg_steps`` warm-started conjugate-gradient steps, or the exact solve.
    cg_steps : int, default 3
        Conjugate-gradient steps per row and half-step.
    calculate_training_loss : bool, default False
        Record the training loss (weighted squared error plus penalty, divided by the total
        confidence) per iteration in ``history_``.
    verbose : int, default 0
        Progress per iteration (``fit(show_progress=...)`` overrides it for one fit).
    checkpoint_dir : path or None
        Folder for checkpoints; ``fit(..., resume=True)`` continues from the last one.
    checkpoint_every : int or str, default 1
        Iterations between checkpoints, or seconds as a string ('30s').

    Attributes
    ----------
    user_factors_, item_factors_ : float32 arrays (users x factors, items x factors);
        ``user_factors`` / ``item_factors`` are the same arrays under ``implicit``'s names.
    n_iter_, history_, timings_ : iterations done, per-iteration metrics, seconds by kind.
    """

    def __init__(self, factors=100, regularization=0.01, alpha=1.0, iterations=15,
                 random_state=None, n_jobs=None, solver="cg", cg_steps=3,
                 calculate_training_loss=False, verbose=0, checkpoint_dir=None,
                 checkpoint_every=1):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.solver = solver
        self.cg_steps = cg_steps
        self.calculate_training_loss = calculate_training_loss
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    # implicit's attribute names
    @property
    def user_factors(self):
        return getattr(self, "user_factors_", None)

    @property
    def item_factors(self):
        return getattr(self, "item_factors_", None)

    # ---- fit ----------------------------------------------------------------------------------
    def fit(self, user_items, y=None, show_progress=None, callback=None, resume=False):
        """Factorise ``user_items`` (scipy.sparse CSR, users x items, interaction strengths
        >= 0). Under MPI each rank passes its own users' rows (see the module docstring).
        ``callback(iteration, seconds, loss)`` is called after every iteration (implicit's
        signature; a true return value stops the fit). ``show_progress`` overrides
        ``verbose`` for this fit. Returns self."""
        comm = fit_communicator()

        def local():
            p = _check_params(self)
            p["solver"] = self.solver
            if callback is not None and not callable(callback):
                raise TypeError(f"callback must be callable, got {type(callback).__name__}")
            rows = _as_csr(user_items, "user_items", convert=True)
            if rows.shape[1] == 0:
                raise ValueError("user_items has no items (0 columns)")
            return p, _Rows.of(rows)

        p, rows = agree(comm, local)
        n_items = comm.check_same(int(rows.shape[1]), "the number of items (columns)")
        counts = comm.allgather_object((int(rows.shape[0]), int(rows.indices.size),
                                        float(rows.data.sum(dtype=np.float64))))
        n_users = sum(c[0] for c in counts)
        nnz = sum(c[1] for c in counts)
        if n_users == 0:
            raise ValueError("user_items has no users (0 rows on every rank)")
        if nnz == 0:
            raise ValueError("user_items holds no interactions (all values are zero)")
        user_offset = sum(c[0] for c in counts[:comm.rank])
        # total confidence: 1 per absent pair, alpha * r per entry (implicit's loss divisor)
        weight_total = float(n_users) * n_items - nnz + p["alpha"] * sum(c[2] for c in counts)

        from .._checkpoint import for_estimator

        ck, saved = for_estimator(self, "ImplicitALS", resume=resume,
                                  data=(rows.indptr, rows.indices, rows.data), comm=comm)
        k = p["factors"]
        user_rows, user_bounds, item_rows, item_bounds, user_cost, item_cost = _partition(
            comm, rows, user_offset, n_items, k, p["alpha"])
        me = comm.rank
        X, Y = _initial_tables(self.random_state, n_users, n_items, k, user_bounds[me],
                               user_bounds[me + 1])
        shared = _shared_tables(comm, X, Y, user_bounds, item_bounds)
        if shared is not None:
            X, Y = shared[0].array, shared[1].array
        step = _ALSStep(p, comm, user_rows, user_bounds, item_rows, item_bounds, X, Y,
                        weight_total, bool(self.calculate_training_loss),
                        costs=(user_cost, item_cost), shared=shared)
        callbacks = []
        if callback is not None:
            callbacks.append(lambda info: bool(callback(info.iteration - 1, info.elapsed,
                                                        info.metrics.get("loss"))))
        verbose = self.verbose if show_progress is None else bool(show_progress)
        loop = FitLoop(max_iter=p["iterations"], comm=comm, verbose=verbose, desc="ImplicitALS",
                       checkpointer=ck, saved=saved, callbacks=callbacks)
        result = loop.run(step)
        if shared is not None:  # the estimator keeps private copies; the windows are released
            X, Y = X.copy(), Y.copy()
            step.X = step.Y = step.shared = None  # nothing may read the windows' memory after
            for table in shared:
                table.close()
        self.user_factors_, self.item_factors_ = X, Y
        self.n_iter_ = result.n_iter
        self.history_ = result.history
        self.timings_ = result.timings
        self._norms = {}
        return self

    # ---- folding in rows ----------------------------------------------------------------------
    def _fitted(self):
        if getattr(self, "item_factors_", None) is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this ImplicitALS is not fitted yet: call fit first")

    def _solve_exact(self, rows: _Rows, other: np.ndarray) -> np.ndarray:
        p = _check_params(self)
        gram = np.empty((other.shape[1],) * 2, np.float32)
        _als.gram(other, gram, p["threads"])
        out = np.zeros((rows.shape[0], other.shape[1]), np.float32)
        _als.solve_rows(rows.indptr, rows.indices, rows.data, other, gram, out,
                        p["regularization"], p["alpha"], "cholesky", 1, p["threads"])
        return out

    def _rows_for(self, ids, matrix, name, width):
        rows = _as_csr(matrix, name, convert=False)
        count = 1 if np.ndim(ids) == 0 else len(ids)
        if rows.shape[0] != count:
            raise ValueError(f"{name} must hold one row for every id ({count}), got "
                             f"{rows.shape[0]}")
        if rows.shape[1] != width:
            raise ValueError(f"{name} must have {width} columns, got {rows.shape[1]}")
        return rows

    def _kernel_rows(self, ids, matrix, name, width) -> _Rows:
        return _Rows.of(self._rows_for(ids, matrix, name, width))

    def recalculate_user(self, userid, user_items):
        """Factors of the users whose rows are ``user_items`` (exact solve against the item
        factors), without storing them."""
        self._fitted()
        rows = self._kernel_rows(userid, user_items, "user_items", self.item_factors_.shape[0])
        out = self._solve_exact(rows, self.item_factors_)
        return out[0] if np.ndim(userid) == 0 else out

    def recalculate_item(self, itemid, item_users):
        """Factors of the items whose rows (items x users) are ``item_users``, not stored."""
        self._fitted()
        rows = self._kernel_rows(itemid, item_users, "item_users", self.user_factors_.shape[0])
        out = self._solve_exact(rows, self.user_factors_)
        return out[0] if np.ndim(itemid) == 0 else out

    def _partial_fit(self, ids, matrix, name, attr, other):
        self._fitted()
        ids = np.asarray(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(f"{name[:-1] if name.endswith('s') else name}ids: expected a 1-d "
                             f"array of ints")
        if ids.size and ids.min() < 0:
            raise IndexError(f"ids must be >= 0, got {ids.min()}")
        new = self._solve_exact(self._kernel_rows(ids, matrix, name, other.shape[0]), other)
        table = getattr(self, attr)
        if ids.size and ids.max() >= table.shape[0]:
            grown = np.zeros((int(ids.max()) + 1, table.shape[1]), np.float32)
            grown[:table.shape[0]] = table
            table = grown
        table[ids] = new
        setattr(self, attr, table)
        self._norms = {}

    def partial_fit_users(self, userids, user_items):
        """Recompute (and store) the factors of ``userids`` from their rows ``user_items``
        (users x items); new ids grow the table."""
        self._fitted()
        self._partial_fit(userids, user_items, "user_items", "user_factors_",
                          self.item_factors_)

    def partial_fit_items(self, itemids, item_users):
        """Recompute (and store) the factors of ``itemids`` from their rows ``item_users``
        (items x users); new ids grow the table."""
        self._fitted()
        self._partial_fit(itemids, item_users, "item_users", "item_factors_",
                          self.user_factors_)

    # ---- top-N --------------------------------------------------------------------------------
    def _topk(self, queries, table, N, norms=None, filter_rows=None, filter_ids=None,
              candidates=None):
        return top_n(queries, table, N, norms=norms, filter_rows=filter_rows,
                     filter_ids=filter_ids, candidates=candidates,
                     n_threads=resolve_n_jobs(self.n_jobs))

    def recommend(self, userid, user_items, N=10, filter_already_liked_items=True,
                  filter_items=None, recalculate_user=False, items=None):
        """Top-``N`` items for ``userid`` (an int: 1-d results; an array: 2-d, one row per
        user), as ``(ids, scores)``. ``user_items`` holds the users' rows (CSR, one per user),
        needed to filter what they already liked or to recalculate their factors.
        ``filter_items``: ids never recommended; ``items``: rank only these ids. Filtered items
        rank last with score ``-FLT_MAX`` (as in ``implicit``)."""
        self._fitted()
        n_items = self.item_factors_.shape[0]
        scalar = np.ndim(userid) == 0
        ids = _check_ids(userid, self.user_factors_.shape[0] if not recalculate_user
                         else np.iinfo(np.int64).max, "userid")
        rows = None
        if filter_already_liked_items or recalculate_user:
            rows = self._rows_for(userid, user_items, "user_items", n_items)
        if recalculate_user:
            q = self._solve_exact(_Rows.of(rows), self.item_factors_)
        else:
            q = self.user_factors_[np.atleast_1d(ids)]
        cand = None
        if items is not None:
            if filter_items is not None and len(filter_items):
                raise ValueError("items and filter_items cannot both be given")
            cand = np.sort(np.asarray(items).ravel())
            if cand.dtype.kind not in "iu":
                raise ValueError(f"items: expected ints, got {cand.dtype}")
            if cand.size and (cand.min() < 0 or cand.max() >= n_items):
                raise IndexError(f"items: ids must lie in [0, {n_items}), got range "
                                 f"[{cand.min()}, {cand.max()}]")
        if rows is not None and filter_already_liked_items and cand is not None:
            rows = _restrict(rows, cand)
        if filter_items is not None:
            filter_items = _check_ids(np.asarray(filter_items).ravel(), n_items, "filter_items")
        out_ids, out_scores = self._topk(q, self.item_factors_, N,
                                         filter_rows=rows if filter_already_liked_items else None,
                                         filter_ids=filter_items, candidates=cand)
        if cand is not None:
            out_ids = cand[out_ids].astype(np.int32)
        return (out_ids[0], out_scores[0]) if scalar else (out_ids, out_scores)

    def _norms_of(self, attr):
        norms = self.__dict__.setdefault("_norms", {})
        if attr not in norms:
            n = np.linalg.norm(getattr(self, attr), axis=1)
            n[n == 0] = 1e-10
            norms[attr] = n.astype(np.float32)
        return norms[attr]

    def _similar(self, attr, qid, N, filter_ids, subset, factor=None):
        table = getattr(self, attr)
        norms = self._norms_of(attr)
        scalar = np.ndim(qid) == 0
        if factor is None:
            qids = _check_ids(qid, table.shape[0], "id")
            q = table[np.atleast_1d(qids)]
            qn = norms[np.atleast_1d(qids)]
        else:
            q = np.atleast_2d(factor).astype(np.float32)
            qn = np.linalg.norm(q, axis=1)
            qn[qn == 0] = 1e-10
        cand = None
        if subset is not None:
            if filter_ids is not None and len(filter_ids):
                raise ValueError("a subset and a filter cannot both be given")
            cand = np.asarray(subset).ravel()
            if cand.dtype.kind not in "iu":
                raise ValueError(f"subset: expected ints, got {cand.dtype}")
            if cand.size and (cand.min() < 0 or cand.max() >= table.shape[0]):
                raise IndexError(f"ids must lie in [0, {table.shape[0]}), got range "
                                 f"[{cand.min()}, {cand.max()}]")
        if filter_ids is not None:
            filter_ids = _check_ids(np.asarray(filter_ids).ravel(), table.shape[0], "filter")
        ids, scores = self._topk(q, table, N, norms=norms, filter_ids=filter_ids,
                                 candidates=cand)
        scores /= qn[:, None]
        if cand is not None:
            ids = cand[ids].astype(np.int32)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    def similar_items(self, itemid, N=10, recalculate_item=False, item_users=None,
                      filter_items=None, items=None):
        """The ``N`` items most similar to ``itemid`` by cosine of their factors (the item
        itself first), as ``(ids, scores)``; ``recalculate_item`` uses factors solved from
        ``item_users`` instead of the stored ones."""
        self._fitted()
        factor = self.recalculate_item(itemid, item_users) if recalculate_item else None
        return self._similar("item_factors_", itemid, N, filter_items, items, factor)

    def similar_users(self, userid, N=10, filter_users=None, users=None):
        """The ``N`` users most similar to ``userid`` by cosine of their factors."""
        self._fitted()
        return self._similar("user_factors_", userid, N, filter_users, users)

    # ---- save / load (harpdaal._persist's model files) ----------------------------------------
    def _model_arrays(self):
        if getattr(self, "item_factors_", None) is None:  # implicit saves unfitted models too
            return {}, {"fitted": False}
        return ({"user_factors": self.user_factors_, "item_factors": self.item_factors_},
                {"fitted": True, "n_iter_": int(getattr(self, "n_iter_", 0))})

    @classmethod
    def _from_model(cls, est, header, arrays, where):
        if not attribute(header, "fitted", where, bool):
            check(not arrays, where, "an unfitted model holds no arrays")
            return
        k = est.factors
        check(isinstance(k, int) and k >= 1, where, f"factors is {k!r}")
        for name in ("user_factors", "item_factors"):
            a = require(arrays, name, where, ndim=2, shape=(None, k))
            check(a.dtype == np.float32, where, f"array {name!r} has dtype {a.dtype}, "
                  "expected float32")
        est.user_factors_ = np.ascontiguousarray(arrays["user_factors"])
        est.item_factors_ = np.ascontiguousarray(arrays["item_factors"])
        est.n_iter_ = attribute(header, "n_iter_", where, int, low=0)


def _restrict(rows: sp.csr_matrix, cand: np.ndarray) -> sp.csr_matrix:
    """`rows`' entries mapped to positions in the sorted candidate list (others dropped)."""
    coo = rows.tocoo()
    pos = np.clip(np.searchsorted(cand, coo.col), 0, max(len(cand) - 1, 0))
    keep = (cand[pos] == coo.col) if len(cand) else np.zeros(coo.nnz, bool)
    out = sp.csr_matrix((coo.data[keep], (coo.row[keep], pos[keep])),
                        shape=(rows.shape[0], len(cand)))
    return out
