"""harpdaal.cluster.MiniBatchKMeans: scikit-learn's mini-batch K-means (Sculley 2010, with
scikit-learn's per-center counts, early stopping and random reassignment of small clusters) on
the native K-means kernels, through the shared fit driver, and distributed under MPI.

One step: the batch rows are assigned and summed per center by the fused Lloyd kernel
(``lloyd_partial``: labels, float64 weighted sums and weights, inertia), those statistics are
allreduced over ranks, and every center that received rows moves to the weighted mean of all the
rows it has ever received, ``c <- (c * count + batch_sum) / (count + batch_weight)``, its count
growing by the batch weight (:func:`update_centers`). Every ``10 * n_clusters`` rows (or when a
center has never received a row) the centers whose count is below ``reassignment_ratio`` times
the largest are moved onto rows of the batch (:func:`reassign_centers`).

Batches are drawn from ``(seed, step, rank)`` only (:func:`batch_shares`, :func:`draw_rows`):
the global batch is split over the ranks by drawing each of its rows' rank with probability
proportional to the rank's total sample weight, then every rank draws its share from its own rows
with probability proportional to the weight (with replacement, as scikit-learn's batches). So a
fit depends on the seed, the thread count and the ranks, never on timing or on the history of a
random generator; a resumed fit draws the same batches.
"""
from __future__ import annotations

import numbers
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._checkpoint import for_estimator
from .._driver import FitLoop, Step, agree, fit_communicator
from .._persist import attribute, check, require
from .._threads import resolve_n_jobs
from ._kmeans import _K, _Data, _KMeansBase, _offsets, _suffix, validate_data
from ._prune import weighted_sum

_SEED_HIGH = 2 ** 63 - 1


# ---- the random scheme ---------------------------------------------------------------------------
SHARES, REASSIGN, ROWS = 0, 1, 2


class StepStreams:
    """The random streams of one seed: ``streams(step, lane)`` is Philox with key ``seed`` and
    counter words ``(0, lane, step, 0)``. Lanes: ``SHARES`` (the batch split over ranks) and
    ``REASSIGN`` (the rows centers are moved onto) are common to all ranks, ``ROWS + r`` is
    rank r's (its batch rows). Streams of different (step, lane) are 2**64 blocks apart. One
    generator per lane is kept and its counter set at each call (a new Philox draws OS entropy
    it does not use: 17 us a stream), so a lane's previous stream ends when the lane is asked
    for again."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._key = np.array([self.seed, 0], dtype=np.uint64)
        self._lanes: dict = {}

    def __call__(self, step: int, lane: int) -> np.random.Generator:
        gen = self._lanes.get(lane)
        if gen is None:
            gen = self._lanes[lane] = np.random.Generator(np.random.Philox(key=self.seed))
        gen.bit_generator.state = {
            "bit_generator": "Philox",
            "state": {"counter": np.array([0, lane, step, 0], dtype=np.uint64),
                      "key": self._key},
            "buffer": np.zeros(4, dtype=np.uint64), "buffer_pos": 4, "has_uint32": 0,
            "uinteger": 0}
        return gen


def _draw(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn with probability proportional to the increments of ``cdf`` for uniforms
    ``u`` in [0, 1): ``searchsorted(cdf, u * cdf[-1], 'right')``, so a zero increment is never
    drawn (rounding at the top end is folded onto the last positive increment)."""
    idx = np.searchsorted(cdf, u * cdf[-1], side="right")
    last = int(np.searchsorted(cdf, cdf[-1], side="left"))  # the last positive increment
    return np.minimum(idx, last)


def batch_shares(common: np.random.Generator, batch_size: int, rank_cdf: np.ndarray):
    """Rows of the global batch each rank draws: every batch row's rank is drawn with
    probability proportional to the rank's total sample weight (``rank_cdf``: their cumulative
    sums). Uses ``batch_size`` uniforms of the common stream."""
    return np.bincount(_draw(rank_cdf, common.random(batch_size)), minlength=len(rank_cdf))


def draw_rows(own: np.random.Generator, share: int, row_cdf: np.ndarray,
              unit: bool = False) -> np.ndarray:
    """This rank's ``share`` batch rows: indices of its rows drawn with replacement with
    probability proportional to the sample weight (``row_cdf``: cumulative sums), in
    increasing order (the uniforms are sorted: the gather of the rows then goes through memory
    in order). ``unit``: every weight is 1, so ``row_cdf[i] = i + 1`` exactly and the search is
    ``floor(u * n)``, the same indices (a 1024-row batch from 200k rows: 4 us instead of 53)."""
    if share == 0:
        return np.empty(0, dtype=np.intp)
    u = np.sort(own.random(share))
    if unit:
        return np.minimum((u * row_cdf[-1]).astype(np.intp), len(row_cdf) - 1)
    return _draw(row_cdf, u)


# ---- the update (k x d, native) ------------------------------------------------------------------
def update_centers(centers, counts, sums, weights):
    """scikit-learn's per-center learning rate, in place (native ``minibatch_update``): each
    center with batch weight > 0 becomes ``(c * count + sum) / (count + weight)`` (float64,
    then the centers' dtype) and its count grows by the weight; the others stay. (The same
    bits as the NumPy expression, 5-18x faster on k x d = 10 x 784 to 1000 x 784.)"""
    getattr(_K, "minibatch_update" + _suffix(centers.dtype))(centers, counts, sums, weights)


def reassign_centers(comm, batch, centers, counts, ratio, shares, common):
    """scikit-learn's random reassignment, in place: the centers whose count is below
    ``ratio * max(count)`` (at most half the global batch, the smallest counts first) move onto
    rows of the global batch drawn uniformly without replacement from the common stream (the
    owner of each row sends it: one allreduce), and their counts become the smallest count of the
    centers kept. Returns how many moved."""
    b_total = int(shares.sum())
    to = counts < ratio * counts.max()
    if to.sum() > 0.5 * b_total:
        to[np.argsort(counts, kind="stable")[int(0.5 * b_total):]] = False
    n_moved = int(to.sum())
    if n_moved:
        picks = common.choice(b_total, size=n_moved, replace=False)
        offs = np.concatenate([[0], np.cumsum(shares)])
        rows = np.zeros((n_moved, centers.shape[1]), dtype=np.float64)
        mine = np.flatnonzero((picks >= offs[comm.rank]) & (picks < offs[comm.rank + 1]))
        if len(mine):
            rows[mine] = batch.rows(picks[mine] - offs[comm.rank])
        if comm.size > 1:
            comm.allreduce_array(rows, op="sum")
        centers[to] = rows
    if (~to).any():  # not too small, so they are not reassigned at once again
        counts[to] = counts[~to].min()
    return n_moved


class IndexedRows:
    """The batch rows ``idx`` of dense data (a ``_Data``) with weights ``w``, as
    :func:`minibatch_step` takes a batch, without a copy: ``lloyd_partial`` gathers them block
    by block into its L1 buffer (the bits of a step on ``X[idx]``; 1024 rows of fashion-mnist:
    0.78 ms against 1.04 ms for ``np.take`` and the step on the copy)."""

    def __init__(self, data, idx, w):
        self.data, self.idx, self.w, self.n = data, idx, w, len(idx)

    def lloyd(self, centers, labels, sums, weights):
        data = self.data
        return getattr(_K, "lloyd_partial" + data.sfx)(
            data.X, self.w, centers, labels, sums, weights, data.n_threads, data.method,
            self.idx)

    def rows(self, positions):
        return np.asarray(self.data.X[self.idx[positions]])


def minibatch_step(comm, batch, centers, counts, *, reassign, ratio, shares, common):
    """One mini-batch step on this rank's batch rows (a ``_Data`` or :class:`IndexedRows`):
    labels and per-center sums by ``lloyd_partial``, allreduced, then :func:`update_centers`
    and, when ``reassign``, :func:`reassign_centers`. Returns (new centers, global batch inertia before the update,
    centers reassigned, compute seconds, comm seconds). ``counts`` is updated in place."""
    k, d = centers.shape
    t0 = time.perf_counter()
    sums = np.zeros((k, d), dtype=np.float64)
    weights = np.zeros(k, dtype=np.float64)
    inertia = 0.0
    if batch.n:
        labels = np.empty(batch.n, dtype=np.int32)
        inertia = batch.lloyd(centers, labels, sums, weights)
    t1 = time.perf_counter()
    if comm.size > 1:
        buf = np.concatenate([sums.ravel(), weights, [inertia]])
        comm.allreduce_array(buf, op="sum")
        sums, weights, inertia = buf[:k * d].reshape(k, d), buf[k * d:k * d + k], buf[-1]
    t2 = time.perf_counter()
    new = centers.copy()
    update_centers(new, counts, sums, weights)
    moved = 0
    if reassign and ratio > 0:
        moved = reassign_centers(comm, batch, new, counts, ratio, shares, common)
    t3 = time.perf_counter()
    return new, float(inertia), moved, (t1 - t0) + (t3 - t2), t2 - t1


def reassign_due(n_since, counts, batch_size, n_clusters):
    """scikit-learn's schedule, decided before a step: reassign once ``10 * n_clusters`` rows
    have gone by since the last time, or whenever a center has never received a row. Returns
    (rows since the last reassignment, whether to reassign now)."""
    n_since += batch_size
    if (counts == 0).any() or n_since >= 10 * n_clusters:
        return 0, True
    return n_since, False


def _check_int(value, name, low, none=False):
    if none and value is None:
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}{' or None' if none else ''}, got "
                         f"{value!r}")


class MiniBatchKMeans(_KMeansBase):
    """Mini-batch K-means, scikit-learn compatible, on harpdaal's K-means kernels, optionally
    distributed over MPI.

    Parameters follow :class:`sklearn.cluster.MiniBatchKMeans` (``max_iter`` counts passes
    over the data: the fit does at most ``max_iter * n_samples // batch_size`` steps). In
    addition ``n_jobs`` (threads per process; None = all cores), ``method`` ('auto', 'fused',
    'gemm': how the dense distances are computed), ``checkpoint_dir`` / ``checkpoint_every``
    (as :class:`KMeans`; ``fit(X, resume=True)`` continues a killed fit).

    Under ``mpiexec`` each rank passes its own rows; the communicator comes from
    ``harpdaal._driver.fit_communicator()``. Each step every rank draws its share of the global
    batch from its rows (from the seed, the step and its rank) and the per-center sums and
    weights are allreduced, so every rank holds the same centers; ``labels_`` are the local
    rows' labels, ``inertia_`` the global inertia. With ``partial_fit`` each rank's X is its part
    of the batch.

    Same ``random_state``, ``n_jobs`` and ranks give the same bits.
    """

    def __init__(self, n_clusters=8, *, init="k-means++", max_iter=100, batch_size=1024,
                 verbose=0, compute_labels=True, random_state=None, tol=0.0,
                 max_no_improvement=10, init_size=None, n_init="auto", reassignment_ratio=0.01,
                 n_jobs=None, method="auto", checkpoint_dir=None, checkpoint_every=1):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.n_jobs = n_jobs
        self.method = method
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    # ---- parameter checks ---------------------------------------------------------------------
    def _check_params(self, n_features):
        _check_int(self.n_clusters, "n_clusters", 1)
        _check_int(self.max_iter, "max_iter", 1)
        _check_int(self.batch_size, "batch_size", 1)
        _check_int(self.max_no_improvement, "max_no_improvement", 0, none=True)
        _check_int(self.init_size, "init_size", 1, none=True)
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool) or not self.tol >= 0:
            raise ValueError(f"tol must be a float >= 0, got {self.tol!r}")
        ratio = self.reassignment_ratio
        if not isinstance(ratio, numbers.Real) or isinstance(ratio, bool) or not ratio >= 0:
            raise ValueError(f"reassignment_ratio must be a float >= 0, got {ratio!r}")
        if not isinstance(self.compute_labels, (bool, np.bool_)):
            raise ValueError(f"compute_labels must be a bool, got {self.compute_labels!r}")
        if self.method not in ("auto", "fused", "gemm"):
            raise ValueError(f"method must be 'auto', 'fused' or 'gemm', got {self.method!r}")
        return self._check_init(n_features, default_n_init=3)

    def _sizes(self, n_total):
        """scikit-learn's ``_batch_size`` and ``_init_size`` for n_total rows."""
        k = self.n_clusters
        if n_total < k:
            raise ValueError(f"n_samples={n_total} should be >= n_clusters={k}.")
        self._batch_size = min(self.batch_size, n_total)
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * self._batch_size
            if init_size < k:
                init_size = 3 * k
        elif init_size < k:
            warnings.warn(f"init_size={init_size} should be larger than n_clusters={k}. "
                          f"Setting it to min(3*n_clusters, n_samples)", RuntimeWarning,
                          stacklevel=3)
            init_size = 3 * k
        self._init_size = min(init_size, n_total)

    def _validate(self, comm, X, sample_weight, reset):
        """Checked input on every rank (a bad input on one rank raises on all): X, weights,
        thread count, number of inits (None when not reset)."""

        def check():
            Xv = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                               order="C", copy=False, accept_large_sparse=False, reset=reset,
                               ensure_min_samples=1 if comm.size == 1 else 0)
            n_init = self._check_params(Xv.shape[1]) if reset else None
            if Xv.shape[0] == 0 and sample_weight is None:  # a rank without rows (MPI)
                w = np.empty(0, dtype=Xv.dtype)
            else:
                w = _check_sample_weight(sample_weight, Xv, dtype=Xv.dtype)
            if np.any(w < 0):
                raise ValueError("sample_weight must be non-negative")
            return Xv, w, resolve_n_jobs(self.n_jobs), n_init

        X, w, n_threads, n_init = agree(comm, check)
        comm.check_same(int(X.shape[1]), what="n_features")
        comm.check_same(str(X.dtype), what="dtype")
        totals = np.array([X.shape[0]], dtype=np.int64)
        comm.allreduce_array(totals, op="sum")
        if totals[0] == 0:
            raise ValueError("Found array with 0 sample(s) on every rank; a minimum of 1 is "
                             "required.")
        return X, w, n_threads, n_init, int(totals[0])

    def _shared_random_state(self, comm):
        """check_random_state(random_state); under MPI rank 0's stream on every rank."""
        rs = check_random_state(self.random_state)
        if comm.size > 1:  # one stream, rank 0's
            state = comm.bcast_object(rs.get_state(), root=0)
            rs = np.random.RandomState()
            rs.set_state(state)
        return rs

    def _initial_centers(self, comm, data, init, random_state, n_total, offsets):
        """One initialisation on ``_init_size`` rows drawn uniformly over all ranks' rows (as
        scikit-learn's ``_init_centroids`` with ``init_size``), by harpdaal's global init."""
        sub, n_sub = data, n_total
        if self._init_size < n_total:
            idx = random_state.randint(0, n_total, self._init_size)
            lo, hi = offsets[comm.rank], offsets[comm.rank + 1]
            local = idx[(idx >= lo) & (idx < hi)] - lo
            sub = _Data(data.X[local], data.w[local], data.n_threads, data.method)
            n_sub = self._init_size
        return self._init_centers(comm, sub, init, random_state, n_sub, None)

    def _inertia(self, comm, data, centers, labels=None):
        """Global weighted inertia of ``data`` against ``centers`` (labels written if given)."""
        if labels is None:
            labels = np.empty(data.n, dtype=np.int32)
        total = np.zeros(1)
        if data.n:
            data.assign(centers, labels)
            total[0] = weighted_sum(data.assigned_sq_dist(centers, labels), data.w)
        comm.allreduce_array(total, op="sum")
        return float(total[0])

    def _init_array(self, X):
        init = self.init
        if not isinstance(init, str) and not callable(init):
            init = np.array(init, dtype=X.dtype, order="C")  # a copy: never the caller's
            if not np.all(np.isfinite(init)):
                raise ValueError("init: the array contains NaN or infinity")
        return init

    # ---- fit ----------------------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None, resume=False):
        """Compute the centers on X (this rank's rows under MPI) by mini-batches.
        ``resume=True`` continues from the last checkpoint in ``checkpoint_dir``."""
        comm = fit_communicator()
        X, sample_weight, n_threads, n_init, n_total = self._validate(comm, X, sample_weight,
                                                                      reset=True)
        self._n_init = n_init
        self._sizes(n_total)
        k, d, b = self.n_clusters, X.shape[1], self._batch_size
        ck, saved = for_estimator(
            self, "MiniBatchKMeans", resume=resume, comm=comm if comm.size > 1 else None,
            data=(X.data, X.indices, X.indptr, sample_weight) if sp.issparse(X)
            else (X, sample_weight))
        tol = self._tolerance(comm, X, n_total)
        data = _Data(X, sample_weight, n_threads, self.method)
        if self.method == "auto" and not data.sparse:
            data.method = _K.choose_method(d, k, X.dtype == np.float64)
        random_state = self._shared_random_state(comm)
        offsets = _offsets(comm, data.n)
        init = self._init_array(X)

        centers, seed = np.zeros((k, d), dtype=X.dtype), 0
        if saved is None:
            # scikit-learn's order of draws: the validation rows, then each init
            valid = random_state.randint(0, n_total, self._init_size)
            lo, hi = offsets[comm.rank], offsets[comm.rank + 1]
            local = valid[(valid >= lo) & (valid < hi)] - lo
            valid_data = _Data(data.X[local], data.w[local], n_threads, data.method)
            best = None
            for run in range(n_init):
                if self.verbose and comm.rank == 0:
                    print(f"Init {run + 1}/{n_init} with method {init}")
                c = self._initial_centers(comm, data, init, random_state, n_total, offsets)
                c = np.ascontiguousarray(c, dtype=X.dtype)
                inertia = self._inertia(comm, valid_data, c)
                if self.verbose and comm.rank == 0:
                    print(f"Inertia for init {run + 1}/{n_init}: {inertia}")
                if best is None or inertia < best:
                    centers, best = c, inertia
            seed = int(random_state.randint(0, _SEED_HIGH, dtype=np.int64))

        rank_w = np.asarray(comm.allgather_object(float(sample_weight.sum(dtype=np.float64))))
        n_steps = (self.max_iter * n_total) // b
        step = _MiniBatchStep(self, comm, data, centers, seed, b, n_total, np.cumsum(rank_w),
                              tol, n_steps)
        patience = self.max_no_improvement
        try:
            loop = FitLoop(max_iter=n_steps, comm=comm, verbose=self.verbose,
                           desc="MiniBatchKMeans", log=step.log_line, stream=sys.stdout,
                           monitor="ewa_inertia", early_stopping=patience is not None,
                           patience=patience or 0, restore_best=False, checkpointer=ck,
                           saved=saved)
            result = loop.run(step)
        finally:
            step.close()
        if result.stopped == "early_stopping" and self.verbose and comm.rank == 0:
            print(f"Converged (lack of improvement in inertia) at step "
                  f"{result.n_iter}/{n_steps}")

        self.cluster_centers_ = step.centers
        self._n_features_out = k
        self._counts = step.counts
        self._n_since_last_reassign = step.n_since_last_reassign
        self._seed = step.seed
        self.n_steps_ = int(result.n_iter)
        self.n_iter_ = int(-(-(self.n_steps_ * b) // n_total))
        if self.compute_labels:
            self.labels_ = np.empty(data.n, dtype=np.int32)
            self.inertia_ = self._inertia(comm, data, step.centers, self.labels_)
        else:
            ewa = step.ewa if step.ewa is not None else step.last_batch_inertia
            self.inertia_ = float(ewa * float(np.sum(rank_w)))
        self.timings_ = dict(result.timings, iterations=self.n_steps_)
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One mini-batch step on X (under MPI: this rank's part of the batch). The first call
        initialises the centers from X."""
        comm = fit_communicator()
        fitted = hasattr(self, "cluster_centers_")
        X, sample_weight, n_threads, n_init, n_total = self._validate(
            comm, X, sample_weight, reset=not fitted)
        if not fitted:
            self._n_init = n_init
            self._sizes(n_total)
            random_state = self._shared_random_state(comm)
            data = _Data(X, sample_weight, n_threads, self.method)
            init = self._init_array(X)
            self.cluster_centers_ = np.ascontiguousarray(
                self._initial_centers(comm, data, init, random_state, n_total,
                                      _offsets(comm, data.n)), dtype=X.dtype)
            self._counts = np.zeros(self.n_clusters, dtype=np.float64)
            self._n_since_last_reassign = 0
            self._seed = int(random_state.randint(0, _SEED_HIGH, dtype=np.int64))
            self.n_steps_ = 0
        elif X.dtype != self.cluster_centers_.dtype:
            X = X.astype(self.cluster_centers_.dtype)
            sample_weight = sample_weight.astype(X.dtype)
        method = self.method
        if method == "auto" and not sp.issparse(X):
            method = _K.choose_method(X.shape[1], self.n_clusters, X.dtype == np.float64)
        batch = _Data(X, sample_weight, n_threads, method)
        shares = np.asarray(comm.allgather_object(int(X.shape[0])), dtype=np.int64) \
            if comm.size > 1 else np.array([X.shape[0]], dtype=np.int64)
        # scikit-learn counts the first call's batch size (_batch_size) for every call
        self._n_since_last_reassign, reassign = reassign_due(
            self._n_since_last_reassign, self._counts, self._batch_size, self.n_clusters)
        centers, _, moved, _, _ = minibatch_step(
            comm, batch, np.ascontiguousarray(self.cluster_centers_), self._counts,
            reassign=reassign, ratio=self.reassignment_ratio, shares=shares,
            common=StepStreams(self._seed)(self.n_steps_, REASSIGN))
        if moved and self.verbose and comm.rank == 0:
            print(f"[MiniBatchKMeans] Reassigning {moved} cluster centers.")
        self.cluster_centers_ = centers
        if self.compute_labels:
            self.labels_ = np.empty(batch.n, dtype=np.int32)
            self.inertia_ = self._inertia(comm, batch, centers, self.labels_)
        self.n_steps_ += 1
        self._n_features_out = self.n_clusters
        return self

    # ---- model files --------------------------------------------------------------------------
    # Besides the centers, the counts and the step state, so that partial_fit continues a loaded
    # model exactly as it would have continued the saved one.
    def _model_arrays(self):
        check_is_fitted(self)
        attributes = {"n_steps_": int(self.n_steps_), "seed": int(self._seed),
                      "n_since_last_reassign": int(self._n_since_last_reassign),
                      "batch_size": int(self._batch_size), "init_size": int(self._init_size)}
        for name, kind in (("inertia_", float), ("n_iter_", int)):  # absent after partial_fit
            if hasattr(self, name):                                # with compute_labels=False
                attributes[name] = kind(getattr(self, name))
        return {"cluster_centers": self.cluster_centers_, "counts": self._counts}, attributes

    @classmethod
    def _from_model(cls, est, header, arrays, where):
        cls._centers_from_model(est, arrays, where)
        est._counts = np.array(require(arrays, "counts", where, ndim=1,
                                       shape=(est.n_clusters,), low=0), dtype=np.float64)
        est.n_steps_ = attribute(header, "n_steps_", where, int, low=0)
        est._seed = attribute(header, "seed", where, int, low=0)
        est._n_since_last_reassign = attribute(header, "n_since_last_reassign", where, int,
                                               low=0)
        est._batch_size = attribute(header, "batch_size", where, int, low=1)
        est._init_size = attribute(header, "init_size", where, int, low=1)
        if "inertia_" in header["attributes"]:
            est.inertia_ = attribute(header, "inertia_", where, float)
            check(np.isfinite(est.inertia_) and est.inertia_ >= 0, where,
                  f"inertia_ must be finite and >= 0, got {est.inertia_!r}")
        if "n_iter_" in header["attributes"]:
            est.n_iter_ = attribute(header, "n_iter_", where, int, low=0)


class _MiniBatchStep(Step):
    """The steps of one fit, as the fit loop drives them: one mini-batch step per ``run``
    (batch drawn from (seed, step, rank), :func:`minibatch_step`), with scikit-learn's
    convergence monitoring: the mean batch inertia, its exponentially weighted average
    (``ewa_inertia``, from the second step; the loop's early stopping watches it) and the
    ``tol`` test on the squared center change."""

    def __init__(self, est, comm, data, centers, seed, batch_size, n_total, rank_cdf, tol,
                 n_steps):
        self.comm, self.data = comm, data
        self.k, self.d = est.n_clusters, data.d
        self.ratio = float(est.reassignment_ratio)
        self.verbose = bool(est.verbose)
        self.centers = np.array(centers, dtype=data.dtype, order="C")
        self.counts = np.zeros(self.k, dtype=np.float64)
        self.seed, self.b, self.n_total, self.tol = int(seed), batch_size, n_total, float(tol)
        self.streams = StepStreams(self.seed)
        self.rank_cdf = rank_cdf
        self.row_cdf = np.cumsum(data.w, dtype=np.float64)
        self.unit_weights = bool(np.all(data.w == 1))
        self.n_steps = n_steps
        self.done = 0
        self.ewa = None
        self.last_batch_inertia = 0.0
        self.n_since_last_reassign = 0
        self.alpha = min(batch_size * 2.0 / (n_total + 1), 1.0)
        self.unit = np.ones(batch_size, dtype=data.dtype)
        self.compute_s = self.comm_s = 0.0

    def log_line(self, iteration, metrics):
        line = f"Minibatch step {iteration}/{self.n_steps}: mean batch inertia: " \
               f"{metrics['batch_inertia']}"
        if "ewa_inertia" in metrics:
            line += f", ewa inertia: {metrics['ewa_inertia']}"
        return line

    def batch(self, step):
        """This rank's batch of ``step``: (its rows with unit weights, shares)."""
        rank = self.comm.rank
        if self.comm.size == 1:  # every row's rank is 0 whatever the uniforms
            shares = np.array([self.b], dtype=np.int64)
        else:
            shares = batch_shares(self.streams(step, SHARES), self.b, self.rank_cdf)
        idx = draw_rows(self.streams(step, ROWS + rank), int(shares[rank]), self.row_cdf,
                        self.unit_weights)
        m, data = len(idx), self.data
        if data.sparse:
            return _Data(data.X[idx], self.unit[:m], data.n_threads, data.method), shares
        return IndexedRows(data, idx.astype(np.int64, copy=False), self.unit[:m]), shares

    def run(self, n):
        step = self.done
        t0 = time.perf_counter()
        batch, shares = self.batch(step)
        self.n_since_last_reassign, reassign = reassign_due(
            self.n_since_last_reassign, self.counts, self.b, self.k)
        self.compute_s += time.perf_counter() - t0
        new, inertia, moved, compute, comm_s = minibatch_step(
            self.comm, batch, self.centers, self.counts, reassign=reassign, ratio=self.ratio,
            shares=shares, common=self.streams(step, REASSIGN))
        self.compute_s += compute
        self.comm_s += comm_s
        diff = float(((new.astype(np.float64) - self.centers) ** 2).sum()) if self.tol > 0 \
            else 0.0
        self.centers = new
        self.done += 1
        batch_inertia = inertia / self.b
        self.last_batch_inertia = batch_inertia
        record = {"batch_inertia": batch_inertia}
        messages = []
        if moved and self.verbose:
            messages.append(f"[MiniBatchKMeans] Reassigning {moved} cluster centers.")
        if self.done > 1:  # the first step's inertia is the initialisation's
            self.ewa = batch_inertia if self.ewa is None \
                else self.ewa * (1 - self.alpha) + batch_inertia * self.alpha
            record["ewa_inertia"] = self.ewa
            if self.tol > 0 and diff <= self.tol:
                record["converged"] = True
                messages.append(f"Converged (small centers change) at step "
                                f"{self.done}/{self.n_steps}")
        if messages:
            record["message"] = "\n".join(messages)
        return [record]

    def state(self):
        arrays = {"centers": self.centers, "counts": self.counts}
        extra = {"step": self.done, "seed": self.seed, "ewa": self.ewa,
                 "last_batch_inertia": self.last_batch_inertia,
                 "n_since_last_reassign": self.n_since_last_reassign}
        return arrays, extra

    def load_state(self, arrays, extra):
        centers = np.ascontiguousarray(arrays["centers"], dtype=self.data.dtype)
        counts = np.ascontiguousarray(arrays["counts"], dtype=np.float64)
        if centers.shape != (self.k, self.d) or counts.shape != (self.k,):
            raise ValueError(f"the checkpoint's centers {centers.shape} / counts "
                             f"{counts.shape} do not fit this fit ({self.k}, {self.d})")
        self.centers, self.counts = centers.copy(), counts.copy()
        self.done, self.seed = int(extra["step"]), int(extra["seed"])
        self.streams = StepStreams(self.seed)
        self.ewa = None if extra["ewa"] is None else float(extra["ewa"])
        self.last_batch_inertia = float(extra["last_batch_inertia"])
        self.n_since_last_reassign = int(extra["n_since_last_reassign"])
