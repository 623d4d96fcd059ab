"""Exact bound-based K-means iterations (Yinyang; Hamerly with one group) as a fit-driver step.

:class:`PruneStep` does what the Lloyd step does — an assignment, empty clusters relocated to
the farthest points, new centers = weighted means, strict convergence when no label changed,
else convergence when the squared center shift is at most ``tol`` — with the same labels at
every iteration up to floating-point ties, but the assignment runs on
``harpdaal._core.kmeans_prune.prune_step``: per-row bounds carried from one iteration to the
next let it skip most distance computations. One process, dense input.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import _core
from .._driver import Step


def weighted_sum(values, weights):
    """Sum over rows of values * weights in float64 without BLAS: a float for 1-D values, one
    sum per column for 2-D. numpy's dot of a float64 vector with a float32 one takes the BLAS
    path behind a cast (~1.1 ms at 200,000 rows against ~0.1 ms here), and OpenBLAS's worker
    then spins for ~100 ms, taking a core from the next TBB-parallel step (docs/kmeans.md)."""
    s = np.einsum("i,i...->...", weights, values, dtype=np.float64)
    return float(s) if s.ndim == 0 else s

_P = _core.kmeans_prune
_K = _core.kmeans


def _suffix(dtype):
    return "_f32" if dtype == np.float32 else "_f64"


def center_groups(centers, n_groups, n_threads=1):
    """``group_of`` (int32, one group id per center) for the Yinyang bounds: the centers
    clustered into ``n_groups`` groups by five Lloyd iterations (Ding et al. 2015), started from
    evenly spaced centers (deterministic). Empty groups are dropped, so the ids are
    ``0 .. n_used - 1``; returns ``(group_of, n_used)``."""
    k = centers.shape[0]
    if n_groups <= 1:
        return np.zeros(k, dtype=np.int32), 1
    c = np.ascontiguousarray(centers, dtype=np.float64)
    init = np.ascontiguousarray(c[np.linspace(0, k - 1, n_groups).astype(np.int64)])
    labels = np.empty(k, dtype=np.int32)
    _K.lloyd_fit_f64(c, np.ones(k), init, labels, 5, 0.0, int(n_threads))
    used, group_of = np.unique(labels, return_inverse=True)
    return group_of.astype(np.int32), len(used)


# ---- the cost model behind algorithm="auto" ---------------------------------------------------
# Nanoseconds per iteration, least squares (relative error) over the timed iterations of 18
# shapes (fashion-mnist raw and PCA-50; 20news LSA at d = 100 and 300; uniform, normal and
# blobs at d = 8-784, k = 10-1000), 2 threads, AVX-512 Xeon (`benchmarks/kmeans_auto.py
# --fit`). The bound-based step pays per element of the rows it reads to tighten an upper
# bound, per element of the distances that survive, per bound it updates, per element of the
# rows the Lloyd-order sums add again (the (chunk, cluster) pairs a changed row touches) and a
# fixed cost; the Lloyd step per element of its n k distances and of the pass over X. Only the
# ratio of the two is used.
_PRUNE_NS = {"read": 0.689, "distance": 0.0396, "bound": 5.3, "summed": 0.133, "fixed": 4.06e5}
_LLOYD_NS = {"distance": 0.0132, "pass": 0.308}


def lloyd_cost(n, d, k):
    """Modelled nanoseconds of one Lloyd iteration (n rows, d features, k centers)."""
    return _LLOYD_NS["distance"] * n * k * d + _LLOYD_NS["pass"] * n * d


def summed_rows(n, k, n_chunks, changed):
    """Expected rows the Lloyd-order sums add again when ``changed`` labels change: those of
    the (chunk, cluster) pairs the changed rows touch (each row two pairs, spread evenly)."""
    return n * -math.expm1(-2.0 * changed / max(1, n_chunks * k))


def prune_cost(n, d, k, n_groups, n_chunks, read, distances, changed):
    """Modelled nanoseconds of one bound-based iteration that reads ``read`` rows, computes
    ``distances`` distances and changes ``changed`` labels (n rows, d features, k centers,
    ``n_groups`` bound groups, the Lloyd sums' ``n_chunks`` chunks)."""
    summed = summed_rows(n, k, n_chunks, changed)
    c = _PRUNE_NS
    return (c["read"] * read * d + c["distance"] * distances * d + c["bound"] * n * (n_groups + 1)
            + c["summed"] * summed * d + c["fixed"])


class PruneStep(Step):
    """K-means iterations on the bound-based kernel (exact: Lloyd's labels up to ties).

    Parameters
    ----------
    X : (n, d) float32/float64, C-contiguous; used as ``X - shift`` when ``shift`` is given
        (the estimator's centring without a copy).
    sample_weight : (n,) of X's dtype, non-negative.
    centers : (k, d) initial centers, in the centred frame when ``shift`` is given.
    tol : the absolute tolerance on the squared center shift (the estimator's
        ``tol * mean feature variance``).
    n_groups : center groups for the bounds (default ``prune_groups(k)``: 1 — Hamerly — below
        k = 20, else k // 10).
    compute_inertia : report each iteration's inertia (one more pass over X per iteration; the
        estimator asks for it when verbose).
    run, best : the estimator's init index and best run so far (kept in checkpoints, as the
        Lloyd steps do).
    lloyd_sums, method : with ``lloyd_sums`` (default) the per-cluster sums are recomputed each
        iteration exactly as the Lloyd step adds them (``method`` and ``n_threads`` as the
        Lloyd step's), so with the same labels the centers are the Lloyd step's bits; one pass
        over X per iteration. Without, the sums follow only the rows that moved (rows the
        bounds settle are never read; the centers then differ from Lloyd's in the last bits).

    sample : the rows are a sample that only counts what the step would do (the shadow of
        ``algorithm="auto"``): fewer rows than centers are allowed.

    After the loop, :meth:`finish` does the final assignment (when the fit did not converge
    strictly) and returns ``(labels, inertia)`` as the Lloyd steps do; the model is
    ``step.centers``. ``history`` holds, per assignment, the kernel's counts: distances
    computed (Lloyd computes ``n * k``), rows skipped, rows settled by one distance, labels
    changed.
    """

    def __init__(self, X, sample_weight, centers, tol, *, shift=None, n_threads=0,
                 n_groups=None, compute_inertia=False, run=0, best=None, lloyd_sums=True,
                 method="auto", sample=False):
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype not in (np.float32, np.float64):
            raise TypeError(f"X: expected a 2-d float32 or float64 array, got {X.dtype} "
                            f"with {X.ndim} dimensions")
        self.X = np.ascontiguousarray(X)
        self.dtype = X.dtype
        self.n, self.d = X.shape
        self.w = np.ascontiguousarray(sample_weight, dtype=self.dtype)
        if self.w.shape != (self.n,):
            raise ValueError(f"sample_weight: expected shape ({self.n},), got {self.w.shape}")
        self.shift = None if shift is None else np.ascontiguousarray(shift, dtype=self.dtype)
        self.centers = np.array(centers, dtype=self.dtype, order="C")
        if self.centers.ndim != 2 or self.centers.shape[1] != self.d:
            raise ValueError(f"centers: expected shape (k, {self.d}), got {self.centers.shape}")
        self.k = self.centers.shape[0]
        if self.k < 1 or self.n < 1 or (self.k > self.n and not sample):
            raise ValueError(f"n_clusters={self.k} must lie in [1, n_samples={self.n}]")
        self.tol = float(tol)
        self.n_threads = int(n_threads)
        self.lloyd_sums, self.method = bool(lloyd_sums), str(method)
        self.compute_inertia = bool(compute_inertia)
        t = _P.prune_groups(self.k) if n_groups is None else int(n_groups)
        if not 1 <= t <= self.k:
            raise ValueError(f"n_groups must lie in [1, n_clusters={self.k}], got {t}")
        self.group_of, self.n_groups = center_groups(self.centers, t, self.n_threads)
        self._kernel = getattr(_P, "prune_step" + _suffix(self.dtype))
        self.labels = np.full(self.n, -1, dtype=np.int32)
        self.upper = np.empty(self.n, dtype=self.dtype)
        self.lower = np.empty((self.n, self.n_groups), dtype=self.dtype)
        self.sums = np.zeros((self.k, self.d), dtype=np.float64)
        # the Lloyd step's per-chunk partial sums, kept so that a step recomputes only those a
        # changed row touches (lloyd_sums); invalid after a relocation edits the labels
        self.partials = None if not self.lloyd_sums else np.empty(
            _P.prune_partials_size(self.n, self.d, self.k, self.n_threads, self.method,
                                   self.dtype), dtype=np.float64)
        self.partials_valid = False
        self.weights = np.zeros(self.k, dtype=np.float64)
        self.counts = np.zeros(self.k, dtype=np.int64)
        self.prev = None           # the centers of the last assignment (None: start afresh)
        self.relocated = False     # labels were moved by a relocation since the last assignment
        self.done = 0              # iterations of this run
        self.strict = False
        self.history = []          # per iteration: the kernel's counts
        self.run_index, self.best = run, best  # for checkpoints (the estimator's n_init loop)
        self.compute_s = self.comm_s = 0.0

    # ---- one iteration ------------------------------------------------------------------------
    def _assign(self):
        t0 = time.perf_counter()
        r = self._kernel(self.X, self.w, self.shift, self.centers, self.prev, self.group_of,
                         self.labels, self.upper, self.lower, self.sums, self.weights,
                         self.counts, self.n_threads, self.lloyd_sums, self.method,
                         self.partials, self.partials_valid and self.prev is not None)
        self.partials_valid = True
        self.prev = self.centers.copy()
        self.compute_s += time.perf_counter() - t0
        return r

    def _sq_dist(self, centers, labels):
        out = np.empty(self.n, dtype=self.dtype)
        getattr(_K, "assigned_sq_dist" + _suffix(self.dtype))(
            self.X, centers, labels, out, self.n_threads, self.shift)
        return out

    def _relocate(self):
        """Empty clusters take the farthest points (the Lloyd step's rule, the same arithmetic
        on sums/weights); the moved rows get their new label and unknown bounds."""
        empty = np.flatnonzero(self.weights == 0)
        dist = self._sq_dist(self.centers, self.labels).astype(np.float64)
        m = min(len(empty), self.n)
        if 0 < m < self.n:
            thr = np.partition(dist, self.n - m)[self.n - m]
            cand = np.flatnonzero(dist >= thr)
            top = cand[np.argsort(-dist[cand], kind="stable")][:m]
        else:
            top = np.argsort(-dist, kind="stable")[:m]
        if m == 0 or dist[top[0]] == 0:
            return
        for g, new_id in zip(top, empty[:m]):
            row = self.X[g].astype(np.float64) if self.shift is None else \
                (self.X[g] - self.shift).astype(self.dtype).astype(np.float64)
            w = float(self.w[g])
            old = int(self.labels[g])
            self.sums[old] -= row * w
            self.weights[old] -= w
            self.sums[new_id] = row * w
            self.weights[new_id] = w
            self.counts[old] -= int(w > 0)
            self.counts[new_id] = int(w > 0)
            self.labels[g] = new_id
            self.upper[g] = np.inf
            self.lower[g] = 0
        self.relocated = True
        self.partials_valid = False

    def run(self, n):
        records = []
        for _ in range(n):
            i = self.done
            r = self._assign()
            changed = r["changed"] > 0 or self.relocated
            self.relocated = False
            self.history.append(r)
            rec = {}
            if self.compute_inertia:
                rec["inertia"] = weighted_sum(self._sq_dist(self.centers, self.labels), self.w)
            t0 = time.perf_counter()
            if np.any(self.weights == 0):
                self._relocate()
            nz = self.weights > 0
            new = np.zeros((self.k, self.d), dtype=np.float64)
            new[nz] = self.sums[nz] / self.weights[nz, None]
            if not nz.all():  # still empty (duplicates): on the heaviest cluster's center
                new[~nz] = new[np.argmax(self.weights)]
            new = new.astype(self.dtype)
            shift = float(((new.astype(np.float64) - self.centers) ** 2).sum())
            self.centers = new
            self.compute_s += time.perf_counter() - t0
            self.done += 1
            if not changed:
                self.strict = True
                rec.update(converged=True, message=f"Converged at iteration {i}: strict "
                           f"convergence.")
            elif shift <= self.tol:
                rec.update(converged=True, message=f"Converged at iteration {i}: center shift "
                           f"{shift} within tolerance {self.tol}.")
            records.append(rec)
            if rec.get("converged"):
                break
        return records

    def finish(self):
        """The final assignment when the loop did not converge strictly (as the Lloyd steps'
        final E-step), then ``(labels, inertia)``: inertia from the direct squared distances,
        weighted."""
        if not self.strict:
            self._assign()
        inertia = weighted_sum(self._sq_dist(self.centers, self.labels), self.w)
        return self.labels, inertia

    # ---- checkpoints and early stopping -------------------------------------------------------
    _BOUNDS = ("upper", "lower", "sums", "weights", "counts", "group_of")

    def state(self):
        arrays = {"centers": self.centers, "labels": self.labels, "upper": self.upper,
                  "lower": self.lower, "sums": self.sums, "weights": self.weights,
                  "counts": self.counts, "group_of": self.group_of}
        if self.prev is not None:
            arrays["prev_centers"] = self.prev
        extra = {"run": self.run_index, "iteration": self.done, "relocated": self.relocated}
        if self.best is not None:
            arrays.update(best_labels=self.best[0], best_centers=self.best[2])
            extra.update(best_inertia=float(self.best[1]), best_n_iter=int(self.best[3]))
        return arrays, extra

    def load_state(self, arrays, extra):
        """Continue from :meth:`state`; a checkpoint with the centers and labels only (a Lloyd
        step's) restarts the bounds from those centers."""
        centers = np.array(arrays["centers"], dtype=self.dtype, order="C")
        labels = np.array(arrays["labels"], dtype=np.int32)
        if centers.shape != (self.k, self.d) or labels.shape != (self.n,):
            raise ValueError(f"the checkpoint's centers {centers.shape} / labels "
                             f"{labels.shape} do not fit this fit ({self.k}, {self.d}) / "
                             f"({self.n},)")
        self.centers, self.labels = centers, labels
        self.done = int(extra["iteration"])
        self.relocated = bool(extra.get("relocated", False))
        self.partials_valid = False  # (not in checkpoints: the next step adds every row)
        if not all(name in arrays for name in self._BOUNDS) or "prev_centers" not in arrays:
            self.prev = None  # the next assignment computes every distance (and compares the
            return            # labels with these, as the Lloyd steps do)
        self.upper = np.array(arrays["upper"], dtype=self.dtype)
        self.lower = np.array(arrays["lower"], dtype=self.dtype, order="C")
        self.sums = np.array(arrays["sums"], dtype=np.float64, order="C")
        self.weights = np.array(arrays["weights"], dtype=np.float64)
        self.counts = np.array(arrays["counts"], dtype=np.int64)
        self.group_of = np.array(arrays["group_of"], dtype=np.int32)
        self.n_groups = self.lower.shape[1]
        self.prev = np.array(arrays["prev_centers"], dtype=self.dtype, order="C")

    def snapshot(self):
        return {"centers": self.centers.copy(), "labels": self.labels.copy()}

    def restore(self, arrays):
        self.centers = np.array(arrays["centers"], dtype=self.dtype, order="C")
        self.labels = np.array(arrays["labels"], dtype=np.int32)
        self.prev = None  # the bounds belong to other centers: the next assignment starts afresh


def make_prune_step(est, comm, data, centers, tol, run, best):
    """The ``algorithm="elkan"`` step of :class:`harpdaal.cluster.KMeans`, with the signature
    of the estimator's ``_make_step`` (one process, dense rows: call it when
    ``comm.size == 1 and not data.sparse``).

    ``data`` is the estimator's ``_Data`` (the caller's X with ``shift`` = the column means, or
    a centred copy; ``w`` the sample weights; ``n_threads``), ``centers`` the initial centers in
    the same (centred) frame, ``tol`` the absolute tolerance of the Lloyd steps, ``run`` /
    ``best`` the init index and best run so far (for checkpoints). Each record holds
    ``"inertia"`` when ``est.verbose``; the convergence messages are the Lloyd steps'. After
    ``FitLoop(...).run(step)``: ``labels, inertia = step.finish()``; the centers are
    ``step.centers``.
    """
    if data.sparse or comm.size != 1:
        raise ValueError("the bound-based step runs on dense rows in one process")
    X, shift = data._native_input()
    return PruneStep(X, data.w, centers, tol, shift=shift, n_threads=data.n_threads,
                     compute_inertia=bool(est.verbose), run=run, best=best, method=data.method)
