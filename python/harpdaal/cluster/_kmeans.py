"""harpdaal.cluster.KMeans: Lloyd's algorithm on the fused native kernel, scikit-learn contract,
and Harp's five synchronisation schemes when run under MPI (each rank fits its own rows).

Each init runs through the shared fit driver (:class:`harpdaal._driver.FitLoop`) with a Lloyd
step: scikit-learn's ``_kmeans_single_lloyd`` iteration (labels, weighted per-cluster sums, a
model synchronisation across ranks, empty clusters relocated to the farthest points,
convergence when labels stop changing or the squared center shift falls to
``tol * mean(feature variances)``), then a final E-step. One process with dense rows runs blocks
of iterations in one native call (:class:`_NativeLloyd`); sparse rows or several ranks one
iteration per call (:class:`_SyncedLloyd`). Both give the same bits.
"""
from __future__ import annotations

import math
import numbers
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import (BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin,
                          TransformerMixin)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_array, check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6
    def validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)

from .. import _core
from .._checkpoint import for_estimator
from .._driver import FitLoop, Step, agree, fit_communicator
from .._persist import PersistMixin, attribute, check, require
from .._threads import resolve_n_jobs
from ..comm import LocalCommunicator, ModelRotator, Partition, Table
from ._init import kmeans_parallel
from ._prune import PruneStep, lloyd_cost, make_prune_step, prune_cost, weighted_sum

ALGORITHMS = ("lloyd", "elkan", "auto")
COLLECTIVES = ("allreduce", "bcast_reduce", "regroup_allgather", "push_pull", "rotate")
_K = _core.kmeans


def _suffix(dtype):
    return "_f32" if dtype == np.float32 else "_f64"


class _Data:
    """The local rows in the form the kernels take (dense C-contiguous or CSR parts)."""

    def __init__(self, X, sample_weight, n_threads, method, shift=None):
        self.sparse = sp.issparse(X)
        self.dtype = X.dtype
        self.n, self.d = X.shape
        self.n_threads = n_threads
        self.method = method
        self.sfx = _suffix(X.dtype)
        self.w = np.ascontiguousarray(sample_weight, dtype=X.dtype)
        if self.sparse:
            X = sp.csr_matrix(X)
            X.sort_indices()
            self.csr = (np.ascontiguousarray(X.data, dtype=X.dtype),
                        np.ascontiguousarray(X.indices, dtype=np.int32),
                        np.ascontiguousarray(X.indptr, dtype=np.int64))
        # Dense single-process fits: `raw` is the caller's X and `shift` its column means; the
        # native loop and the exact distances centre block by block inside the kernels, so no
        # centred copy is written unless something else needs it (k-means++, the Python loop):
        # then `X` makes it once (X - shift, the same values the kernels see).
        self.raw, self.shift = X, shift
        self._X = X if shift is None else None

    @property
    def X(self):
        if self._X is None:
            self._X = self.raw - self.shift
        return self._X

    def _native_input(self):
        """(array, shift) for the kernels: the centred copy when one exists, else raw + shift."""
        return (self._X, None) if self._X is not None else (self.raw, self.shift)

    def lloyd(self, centers, labels, sums, weights):
        if self.sparse:
            return getattr(_K, "lloyd_partial_csr" + self.sfx)(
                *self.csr, self.w, centers, labels, sums, weights, self.n_threads)
        return getattr(_K, "lloyd_partial" + self.sfx)(
            self.X, self.w, centers, labels, sums, weights, self.n_threads, self.method)

    def assign(self, centers, labels, sq_dist=None, method=None):
        if self.sparse:
            getattr(_K, "assign_csr" + self.sfx)(*self.csr, centers, labels, sq_dist, self.n_threads)
        else:
            getattr(_K, "assign" + self.sfx)(self.X, centers, labels, sq_dist, self.n_threads,
                                             method or self.method)

    def assigned_sq_dist(self, centers, labels):
        if self.sparse:
            diff = self.X - sp.csr_matrix(centers[labels])
            return np.asarray(diff.multiply(diff).sum(axis=1), dtype=self.dtype).ravel()
        out = np.empty(self.n, dtype=self.dtype)
        X, shift = self._native_input()
        getattr(_K, "assigned_sq_dist" + self.sfx)(X, centers, labels, out, self.n_threads, shift)
        return out

    def sq_dists(self, centers):
        """(n, m) squared distances to a few centers (k-means++ candidates)."""
        centers = np.ascontiguousarray(centers, dtype=self.dtype)
        if self.sparse:
            xn = np.asarray(self.X.multiply(self.X).sum(axis=1)).ravel()
            cn = (centers.astype(np.float64) ** 2).sum(axis=1)
            dots = np.asarray(self.X @ centers.T.astype(np.float64))
            return np.maximum(xn[:, None] - 2 * dots + cn[None, :], 0)
        out = np.empty((self.n, centers.shape[0]), dtype=self.dtype)
        getattr(_K, "distances" + self.sfx)(self.X, centers, out, True, self.n_threads)
        return out

    def rows(self, idx):
        if self._X is None:  # the same values as rows of the centred copy
            return np.asarray(self.raw[idx]) - self.shift
        r = self.X[idx]
        return r.toarray() if self.sparse else np.asarray(r)


class _KMeansBase(PersistMixin, ClassNamePrefixFeaturesOutMixin, ClusterMixin,
                  TransformerMixin, BaseEstimator):
    """What KMeans and MiniBatchKMeans share (scikit-learn's ``_BaseKMeans``): the
    initialisation over all ranks' rows, predict / transform / score on the native kernels,
    model files. A subclass stores ``n_clusters``, ``init``, ``tol``, ``n_jobs`` and ``method``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check_init(self, n_features, default_n_init):
        """Check ``init`` and ``n_init``; return the number of runs (scikit-learn's
        ``n_init="auto"``: ``default_n_init`` for 'random' and callables, else 1)."""
        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "k-means||", "random"):
                raise ValueError(f"init must be 'k-means++', 'k-means||', 'random', an array or "
                                 f"a callable, got {init!r}")
        elif not callable(init):
            arr = np.asarray(init)
            if arr.ndim != 2:
                raise ValueError(f"init: expected a 2-d array of initial centers, got an array "
                                 f"of shape {arr.shape}")
            _check_center_shape(arr.shape, self.n_clusters, n_features)
        if self.n_init == "auto":  # scikit-learn's rule: more runs for 'random' or a callable
            n_init = default_n_init if (isinstance(init, str) and init == "random") \
                or callable(init) else 1
        elif isinstance(self.n_init, numbers.Integral) and not isinstance(self.n_init, bool) \
                and self.n_init >= 1:
            n_init = int(self.n_init)
        else:
            raise ValueError(f"n_init must be 'auto' or an int >= 1, got {self.n_init!r}")
        if not isinstance(init, str) and not callable(init) and n_init != 1:
            warnings.warn(f"Explicit initial center position passed: performing only one init "
                          f"in {type(self).__name__} instead of n_init={n_init}.", RuntimeWarning,
                          stacklevel=4)
            n_init = 1
        return n_init

    def _tolerance(self, comm, X, n_total, col_stats=None):
        if self.tol == 0:
            return 0.0
        if col_stats is not None:  # from the native centring (single process)
            s1, s2 = col_stats[:X.shape[1]], col_stats[X.shape[1]:]
        elif sp.issparse(X):
            s1 = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
            s2 = np.asarray(X.multiply(X).sum(axis=0), dtype=np.float64).ravel()
        else:
            s1 = X.sum(axis=0, dtype=np.float64)
            s2 = np.einsum("ij,ij->j", X, X, dtype=np.float64)
        buf = np.concatenate([s1, s2])
        comm.allreduce_array(buf, op="sum")
        d = X.shape[1]
        mean = buf[:d] / n_total
        var = np.maximum(buf[d:] / n_total - mean * mean, 0)
        return float(np.mean(var) * self.tol)

    # ---- initialisation (global over ranks) ---------------------------------------------------
    def _gather_rows(self, comm, data, global_idx, offsets, dtype):
        """Rows with global indices `global_idx` (any rank's) on every rank, in that order."""
        out = np.zeros((len(global_idx), data.d), dtype=np.float64)
        lo, hi = offsets[comm.rank], offsets[comm.rank + 1]
        mine = [(j, g - lo) for j, g in enumerate(global_idx) if lo <= g < hi]
        if mine:
            js, ls = zip(*mine)
            out[list(js)] = data.rows(np.asarray(ls))
        comm.allreduce_array(out, op="sum")
        return out.astype(dtype)

    def _init_centers(self, comm, data, init, random_state, n_total, X_mean, k=None):
        k, dtype = k or self.n_clusters, data.dtype
        offsets = _offsets(comm, data.n)
        if isinstance(init, str) and init == "random":
            w = data.w.astype(np.float64)
            w_all = comm.allgatherv_rows(w) if comm.size > 1 else w
            seeds = random_state.choice(n_total, size=k, replace=False, p=w_all / w_all.sum())
            return self._gather_rows(comm, data, seeds, offsets, dtype)
        if isinstance(init, str) and init == "k-means||":
            return kmeans_parallel(comm, data, k, random_state)
        if isinstance(init, str):
            return self._kmeans_plusplus(comm, data, random_state, offsets, k)
        if callable(init):
            if comm.size > 1:
                raise ValueError("init: a callable init is not supported under MPI")
            if X_mean is None:
                X = data.X
            else:
                X = data.raw if data.shift is not None else data.X + X_mean
            centers = np.asarray(init(X, k, random_state=random_state), dtype=dtype)
            if centers.ndim != 2:
                raise ValueError(f"init: the callable returned an array of shape "
                                 f"{centers.shape}, expected (n_clusters, n_features)")
            _check_center_shape(centers.shape, k, data.d)
            return centers - X_mean if X_mean is not None else centers
        return np.ascontiguousarray(init, dtype=dtype)

    def _kmeans_plusplus(self, comm, data, random_state, offsets, k):
        """Greedy k-means++ exactly as scikit-learn's _kmeans_plusplus, over all ranks' rows."""
        dtype = data.dtype
        n_trials = 2 + int(np.log(k))
        w = data.w.astype(np.float64)
        w_all = comm.allgatherv_rows(w) if comm.size > 1 else w
        centers = np.empty((k, data.d), dtype=dtype)
        first = random_state.choice(offsets[-1], p=w_all / w_all.sum())
        centers[0] = self._gather_rows(comm, data, [first], offsets, dtype)[0]
        closest = data.sq_dists(centers[:1])[:, 0].astype(np.float64)
        pot = np.array([weighted_sum(closest, w)])
        comm.allreduce_array(pot, op="sum")
        current_pot = pot[0]
        for c in range(1, k):
            rand_vals = random_state.uniform(size=n_trials) * current_pot
            local_cum = np.cumsum(w * closest)
            # global cumulative sum: this rank's prefix is the total of the ranks before it
            totals = np.asarray(comm.allgather_object(float(local_cum[-1]) if len(local_cum) else 0.0))
            start = np.concatenate([[0.0], np.cumsum(totals)])[comm.rank]
            cand = np.zeros(n_trials, dtype=np.int64)
            for t, v in enumerate(rand_vals):
                owner = int(np.searchsorted(np.cumsum(totals), v, side="left"))
                owner = min(owner, comm.size - 1)
                if owner == comm.rank:
                    i = int(np.searchsorted(local_cum + start, v))
                    cand[t] = offsets[comm.rank] + min(i, data.n - 1)
            comm.allreduce_array(cand, op="sum")
            cand = np.minimum(cand, offsets[-1] - 1)
            cand_rows = self._gather_rows(comm, data, cand, offsets, dtype)
            dist = np.minimum(closest[:, None], data.sq_dists(cand_rows).astype(np.float64))
            pots = weighted_sum(dist, w)
            comm.allreduce_array(pots, op="sum")
            b = int(np.argmin(pots))
            current_pot = pots[b]
            closest = dist[:, b].copy()
            centers[c] = cand_rows[b]
        return centers

    def _init_centroids(self, X, x_squared_norms, init, random_state, sample_weight,
                        init_size=None, n_centroids=None):
        """scikit-learn's hook (same signature): ``n_centroids`` initial centers for X by
        ``init``, one process, from harpdaal's initialisation (``x_squared_norms`` is not needed
        and ``init_size`` subsamples as scikit-learn does)."""
        X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C")
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if init_size is not None and init_size < X.shape[0]:
            idx = random_state.randint(0, X.shape[0], init_size)
            X, sample_weight = X[idx], sample_weight[idx]
        k = self.n_clusters if n_centroids is None else n_centroids
        data = _Data(X, sample_weight, resolve_n_jobs(self.n_jobs), self.method)
        if not isinstance(init, str) and not callable(init):
            init = np.asarray(init, dtype=X.dtype)
        centers = self._init_centers(LocalCommunicator(), data, init, random_state, X.shape[0],
                                     None, k)
        _check_center_shape(centers.shape, k, X.shape[1])
        return centers

    # ---- model files (npz + JSON header, no pickle: harpdaal._persist) -------------------------
    def _model_arrays(self):
        check_is_fitted(self)
        return ({"cluster_centers": self.cluster_centers_},
                {"inertia_": float(self.inertia_), "n_iter_": int(self.n_iter_)})

    @classmethod
    def _from_model(cls, est, header, arrays, where):
        cls._centers_from_model(est, arrays, where)
        est.inertia_ = attribute(header, "inertia_", where, float)
        check(np.isfinite(est.inertia_) and est.inertia_ >= 0, where,
              f"inertia_ must be finite and >= 0, got {est.inertia_!r}")
        est.n_iter_ = attribute(header, "n_iter_", where, int, low=0)

    @staticmethod
    def _centers_from_model(est, arrays, where):
        centers = require(arrays, "cluster_centers", where, ndim=2,
                          shape=(est.n_clusters, None))
        check(centers.dtype in (np.float32, np.float64) and centers.shape[1] >= 1, where,
              f"cluster_centers must be float32 or float64 with >= 1 column, got "
              f"{centers.dtype} {list(centers.shape)}")
        est.cluster_centers_ = np.ascontiguousarray(centers)
        est.n_features_in_ = centers.shape[1]
        est._n_features_out = centers.shape[0]

    def _check_test_data(self, X):
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=[np.float64, np.float32], order="C", accept_large_sparse=False)
        return X

    def _centers_for(self, X):
        return np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)

    def predict(self, X):
        """Index of the closest center for each row of X."""
        check_is_fitted(self)
        X = self._check_test_data(X)
        labels = np.empty(X.shape[0], dtype=np.int32)
        data = _Data(X, np.ones(X.shape[0], X.dtype), resolve_n_jobs(self.n_jobs), self.method)
        data.assign(self._centers_for(X), labels)
        return labels

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distances from each row of X to every center, shape (n, n_clusters)."""
        check_is_fitted(self)
        same = X is self.cluster_centers_
        X = self._check_test_data(X)
        out = self._transform(X)
        if same:  # as scikit-learn's euclidean_distances(X, X): a center is at 0 from itself
            np.fill_diagonal(out, 0)
        return out

    def _transform(self, X):
        c = self._centers_for(X)
        if sp.issparse(X):
            # in float64 (as scikit-learn's euclidean_distances for float32): ||x||^2 - 2x.c +
            # ||c||^2 in float32 loses the small distances to cancellation
            X64 = X.astype(np.float64)
            c64 = c.astype(np.float64)
            xn = np.asarray(X64.multiply(X64).sum(axis=1)).ravel()
            sq = xn[:, None] - 2 * np.asarray(X64 @ c64.T) + (c64 ** 2).sum(axis=1)[None, :]
            return np.sqrt(np.maximum(sq, 0)).astype(X.dtype)
        out = np.empty((X.shape[0], c.shape[0]), dtype=X.dtype)
        getattr(_K, "distances" + _suffix(X.dtype))(X, c, out, False, resolve_n_jobs(self.n_jobs))
        return out

    def fit_transform(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight)._transform(self._check_test_data(X))

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the (weighted) inertia of X against the fitted centers."""
        check_is_fitted(self)
        X = self._check_test_data(X)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        data = _Data(X, sample_weight, resolve_n_jobs(self.n_jobs), self.method)
        c = self._centers_for(X)
        labels = np.empty(X.shape[0], dtype=np.int32)
        data.assign(c, labels)
        return -weighted_sum(data.assigned_sq_dist(c, labels), data.w)


class KMeans(_KMeansBase):
    """K-means clustering (Lloyd), scikit-learn compatible, optionally distributed over MPI.

    Parameters follow :class:`sklearn.cluster.KMeans`. ``algorithm`` takes scikit-learn's
    values: 'lloyd' (the default), 'elkan' (the exact bound-based step: Yinyang, Lloyd's labels up
    to floating-point ties; one process, dense input, else the Lloyd steps) and 'auto' (Lloyd
    iterations until a cost model fed by a sample of rows says the bound-based step costs at
    most 0.7 of one, then that step; the same fit as Lloyd's; docs/kmeans.md); with
    ``n_clusters=1``, 'elkan' warns as scikit-learn does. In addition ``n_jobs`` (threads per
    process; None = all cores),
    ``collective`` (how ranks synchronise the model under MPI, one of Harp's five: 'allreduce',
    'bcast_reduce', 'regroup_allgather', 'push_pull', 'rotate' (the centers travel the ring
    through :class:`harpdaal.comm.ModelRotator`)) and ``method`` ('auto', 'fused', 'gemm': how
    the dense distances are computed).

    Under ``mpiexec`` each rank passes its own rows to ``fit``; the communicator comes from
    ``harpdaal._driver.fit_communicator()`` (``harpdaal.config_context(comm=...)``, else
    ``COMM_WORLD`` under ``mpiexec``). The fitted centers equal those of one process fitting the
    concatenated rows; ``labels_`` holds the labels of the local rows, ``inertia_`` the global
    inertia.

    ``verbose`` prints scikit-learn's lines (a progress bar instead on a terminal);
    ``timings_`` holds the seconds in kernels (``compute``), collectives (``comm``), the rest
    (``glue``), their ``total`` and the ``iterations`` over all runs.

    ``checkpoint_dir`` (a folder shared by the ranks) and ``checkpoint_every`` (iterations, or
    seconds as '30s') save the fit's state; ``fit(X, resume=True)`` continues a killed fit from
    the last checkpoint and reaches the same result (needs an int random_state).
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True, algorithm="lloyd",
                 n_jobs=None, collective="allreduce", method="auto", checkpoint_dir=None,
                 checkpoint_every=1):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.n_jobs = n_jobs
        self.collective = collective
        self.method = method
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    # ---- parameter checks ---------------------------------------------------------------------
    def _check_params(self, n_features):
        if not isinstance(self.n_clusters, numbers.Integral) or isinstance(self.n_clusters, bool) \
                or self.n_clusters < 1:
            raise ValueError(f"n_clusters must be an int >= 1, got {self.n_clusters!r}")
        if not isinstance(self.max_iter, numbers.Integral) or isinstance(self.max_iter, bool) \
                or self.max_iter < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {self.max_iter!r}")
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool) or not self.tol >= 0:
            raise ValueError(f"tol must be a float >= 0, got {self.tol!r}")
        if self.collective not in COLLECTIVES:
            raise ValueError(f"collective must be one of {COLLECTIVES}, got {self.collective!r}")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        if self.algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn("algorithm='elkan' doesn't make sense for a single cluster. Using "
                          "'lloyd' instead.", RuntimeWarning, stacklevel=3)
        if self.method not in ("auto", "fused", "gemm"):
            raise ValueError(f"method must be 'auto', 'fused' or 'gemm', got {self.method!r}")
        return self._check_init(n_features, default_n_init=10)

    # ---- fit ----------------------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None, resume=False):
        """Compute the clustering of X (this rank's rows under MPI). ``resume=True``
        continues from the last checkpoint in ``checkpoint_dir``."""
        comm = fit_communicator()

        # Dense input in one process with copy_x is centred through the native mean below,
        # whose float64 column sums are finite exactly when X is (float32 sums cannot
        # overflow; a float64 overflow only sends X through the full check): that pass then
        # replaces scikit-learn's finiteness check, a whole single-threaded pass over X (38 of
        # 440 ms in a 10-step 2-thread fashion-mnist fit, k = 10).
        native_mean = comm.size == 1 and self.copy_x and not sp.issparse(X)

        def check():  # local; agree() makes a bad input on any rank raise on every rank
            Xv = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                               order="C", copy=False, accept_large_sparse=False,
                               ensure_min_samples=1 if comm.size == 1 else 0,
                               ensure_all_finite=not native_mean)
            n_init = self._check_params(Xv.shape[1])
            n_threads = resolve_n_jobs(self.n_jobs)
            w = _check_sample_weight(sample_weight, Xv, dtype=Xv.dtype)
            if np.any(w < 0):
                raise ValueError("sample_weight must be non-negative")
            return Xv, n_init, n_threads, w

        X, n_init, n_threads, sample_weight = agree(comm, check)
        self._n_init = n_init  # the number of runs (scikit-learn's attribute, for n_init="auto")
        comm.check_same(int(X.shape[1]), what="n_features")
        comm.check_same(str(X.dtype), what="dtype")
        counts = np.array([X.shape[0]], dtype=np.int64)
        comm.allreduce_array(counts, op="sum")
        n_total = int(counts[0])
        if n_total == 0:
            raise ValueError("Found array with 0 sample(s) on every rank; a minimum of 1 is required.")
        if n_total < self.n_clusters:
            raise ValueError(f"n_samples={n_total} should be >= n_clusters={self.n_clusters}.")
        k, d = self.n_clusters, X.shape[1]
        ck, saved = for_estimator(
            self, "KMeans", resume=resume, comm=comm if comm.size > 1 else None,
            data=(X.data, X.indices, X.indptr, sample_weight) if sp.issparse(X) else (X, sample_weight))

        # Center dense data (as scikit-learn does) so ||x||^2 - 2x.c + ||c||^2 keeps precision.
        X_mean = col_stats = None
        shift = None
        if native_mean:  # (validation keeps dense input dense and sparse input sparse)
            # one native call (threaded): the mean and the column sums behind tol; no centred
            # copy (the kernels take X with shift = mean; _Data makes a copy only if needed)
            X_mean = np.empty(d, dtype=X.dtype)
            # tol = 0 needs no variances: then X is read once, for the mean
            col_stats = np.empty(2 * d, dtype=np.float64) if self.tol != 0 else None
            getattr(_K, "center" + _suffix(X.dtype))(X, None, X_mean, col_stats, n_threads)
            if not np.all(np.isfinite(X_mean)):  # scikit-learn's error (NaN or infinity)
                check_array(X, accept_sparse=False, dtype=None, ensure_all_finite=True,
                            input_name="X", estimator=self)
            shift = X_mean
        elif not sp.issparse(X):
            col = X.sum(axis=0, dtype=np.float64)
            comm.allreduce_array(col, op="sum")
            X_mean = (col / n_total).astype(X.dtype)
            if self.copy_x:
                X = X - X_mean
            else:
                X -= X_mean
        tol = self._tolerance(comm, X, n_total, col_stats)
        data = _Data(X, sample_weight, n_threads, self.method, shift)
        if self.method == "auto" and not data.sparse:
            data.method = _K.choose_method(d, k, X.dtype == np.float64)
        random_state = check_random_state(self.random_state)
        if comm.size > 1:
            random_state = np.random.RandomState()
            random_state.set_state(comm.bcast_object(
                check_random_state(self.random_state).get_state(), root=0))
        init = self.init
        if not isinstance(init, str) and not callable(init):
            init = np.asarray(init, dtype=X.dtype)
            if not np.all(np.isfinite(init)):
                raise ValueError("init: the array contains NaN or infinity")
            init = init - X_mean if X_mean is not None else init.copy()

        best, first_run = None, 0
        if saved is not None:  # continue the run the checkpoint was taken in
            extra = saved.extra.get("step", {}) if isinstance(saved.extra, dict) else {}
            if "run" not in extra:
                raise ValueError("the checkpoint holds no K-means run state")
            first_run = int(extra["run"])
            if "best_centers" in saved.arrays:
                best = (saved.arrays["best_labels"], extra["best_inertia"],
                        saved.arrays["best_centers"], extra["best_n_iter"])
        timings = {"compute": 0.0, "comm": 0.0, "glue": 0.0, "total": 0.0, "iterations": 0}
        for run in range(first_run, n_init):
            resuming = saved is not None and run == first_run
            if resuming:  # the centers come from the checkpoint
                centers = np.zeros((k, d), dtype=X.dtype)
            else:
                centers = self._init_centers(comm, data, init, random_state, n_total, X_mean)
                if self.verbose and comm.rank == 0:
                    print("Initialization complete")
            step = _make_step(self, comm, data, centers, tol, run, best)
            try:
                loop = FitLoop(max_iter=self.max_iter, comm=comm, verbose=self.verbose,
                               desc="KMeans", log=_log_line, stream=sys.stdout,
                               checkpointer=ck, saved=saved if resuming else None,
                               rng={"random_state": random_state},
                               iteration_offset=run * self.max_iter)
                result = loop.run(step)
                t0 = time.perf_counter()
                labels, inertia = step.finish()
                finish_s = time.perf_counter() - t0
            finally:
                step.close()
            centers, n_iter = step.centers, result.n_iter
            for key in ("compute", "comm", "glue", "total"):
                timings[key] += result.timings[key]
            timings["glue"] += finish_s
            timings["total"] += finish_s
            timings["iterations"] += n_iter
            # as scikit-learn: a smaller inertia wins unless it is the same partition
            if best is None or (inertia < best[1] and
                                not _same_clustering(comm, labels, best[0], self.n_clusters)):
                best = (labels, inertia, centers, n_iter)
        labels, inertia, centers, n_iter = best
        if X_mean is not None:
            centers = centers + X_mean
            if not self.copy_x:
                X += X_mean
        n_distinct = (np.bincount(labels, minlength=k) > 0).astype(np.int64)
        comm.allreduce_array(n_distinct, op="max")
        if int(n_distinct.sum()) < k:
            warnings.warn(f"Number of distinct clusters ({int(n_distinct.sum())}) found smaller "
                          f"than n_clusters ({k}). Possibly due to duplicate points in X.",
                          ConvergenceWarning, stacklevel=2)
        self.cluster_centers_ = centers.astype(X.dtype, copy=False)
        self._n_features_out = k
        self.labels_ = labels.astype(np.int32, copy=False)
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.timings_ = timings
        return self


def _check_center_shape(shape, n_clusters, n_features):
    """scikit-learn's messages for initial centers of the wrong shape."""
    if shape[0] != n_clusters:
        raise ValueError(f"init: The shape of the initial centers {shape} does not match the "
                         f"number of clusters {n_clusters}.")
    if shape[1] != n_features:
        raise ValueError(f"init: The shape of the initial centers {shape} does not match the "
                         f"number of features of the data {n_features}.")


def _same_clustering(comm, a, b, k):
    """True when labels a and b are the same partition up to renaming (over all ranks)."""
    pairs = np.unique(a.astype(np.int64) * k + b)
    if comm.size > 1:
        pairs = np.unique(np.concatenate([np.asarray(p, dtype=np.int64)
                                          for p in comm.allgather_object(pairs.tolist())]))
    pa, pb = pairs // k, pairs % k
    return len(np.unique(pa)) == len(pa) and len(np.unique(pb)) == len(pb)


class _ModelSync:
    """Global sums/weights/scalars on every rank, by one of Harp's schemes."""

    def __init__(self, comm, collective, k, d):
        self.comm, self.collective, self.k, self.d = comm, collective, k, d
        self.blocks = np.linspace(0, k, max(comm.size, 1) + 1).astype(int)

    def __call__(self, sums, weights, scal):
        comm, k, d = self.comm, self.k, self.d
        if comm.size == 1:
            return sums, weights, scal
        packed = np.concatenate([sums, weights[:, None]], axis=1)  # (k, d + 1)
        if self.collective in ("allreduce", "rotate"):
            buf = np.concatenate([packed.ravel(), scal])
            comm.allreduce_array(buf, op="sum")
        elif self.collective == "bcast_reduce":
            buf = np.concatenate([packed.ravel(), scal])
            comm.reduce_array(buf, op="sum", root=0)
            comm.broadcast_array(buf, root=0)
        else:
            buf = self._tables(packed, scal)
        model = buf[: k * (d + 1)].reshape(k, d + 1)
        return (np.ascontiguousarray(model[:, :d]), np.ascontiguousarray(model[:, d]),
                buf[k * (d + 1):].copy())

    def _tables(self, packed, scal):
        comm, b = self.comm, self.blocks
        local = Table(combiner="sum")
        for pid in range(comm.size):
            local.add(Partition(pid, np.ascontiguousarray(packed[b[pid]:b[pid + 1]])))
        local.add(Partition(comm.size, np.ascontiguousarray(scal)))
        if self.collective == "regroup_allgather":
            comm.regroup(local)   # partition p combined (summed) on rank p % size
            comm.allgather(local)  # every rank gets every combined partition
            result = local
        else:  # push_pull
            glob = Table(combiner="sum")
            comm.push(local, glob)  # partition p summed on its owner (p % size)
            comm.pull(glob, local)  # every local partition replaced by the global one
            result = local
        parts = [np.asarray(result[pid]).ravel() for pid in range(comm.size)]
        return np.concatenate(parts + [np.asarray(result[comm.size]).ravel()])


def _offsets(comm, n_local):
    """Global row offsets of every rank's rows (size + 1 values)."""
    sizes = np.asarray(comm.allgather_object(int(n_local)), dtype=np.int64)
    return np.concatenate([[0], np.cumsum(sizes)])


def _log_line(iteration, metrics):
    """scikit-learn's verbose line (0-based iteration)."""
    return f"Iteration {iteration - 1}, inertia {metrics['inertia']}." if "inertia" in metrics \
        else None


# ---- the Lloyd steps (what the fit loop drives) -------------------------------------------------
def _make_step(est, comm, data, centers, tol, run, best):
    """One process and dense: blocks of iterations in native code; otherwise (sparse, or
    several ranks) one iteration per run() with the model synchronised across ranks."""
    if comm.size == 1 and not data.sparse:
        if est.algorithm == "elkan" and est.n_clusters > 1:  # exact bounds: Lloyd's centers
            return make_prune_step(est, comm, data, centers, tol, run, best)
        if est.algorithm == "auto" and est.n_clusters > 1 and \
                lloyd_cost(data.n, data.d, est.n_clusters) >= _AutoStep.MIN_LLOYD_NS:
            return _AutoStep(est, comm, data, centers, tol, run, best)
        return _NativeLloyd(est, comm, data, centers, tol, run, best)
    return _SyncedLloyd(est, comm, data, centers, tol, run, best)


class _Lloyd(Step):
    """Lloyd iterations of one run (one init), the loop of scikit-learn's
    ``_kmeans_single_lloyd``: a native step (labels, weighted per-cluster sums), empty clusters
    relocated to the farthest points, new centers, convergence when no label changed (strict)
    or when the squared center shift is <= tol; :meth:`finish` then runs the final E-step
    (without strict convergence) and the inertia.

    State: the centers (in the centred space of the fit), the labels of the last iteration (-1
    before the first), the number of iterations done in this run; for checkpoints also the run
    index and the best run so far (``best``: labels, inertia, centers, n_iter)."""

    def __init__(self, est, comm, data, centers, tol, run, best):
        self.comm, self.data, self.tol = comm, data, float(tol)
        self.k, self.d = est.n_clusters, data.d
        self.verbose = bool(est.verbose)
        self.centers = np.array(centers, dtype=data.dtype, order="C")  # updated in place
        self.labels = np.full(data.n, -1, dtype=np.int32)
        self.done = 0
        self.strict = False
        self.run_index, self.best = run, best
        self.compute_s = self.comm_s = 0.0

    def _converged(self, iteration, stop, center_shift):
        if stop == "strict":
            return {"converged": True,
                    "message": f"Converged at iteration {iteration}: strict convergence."}
        return {"converged": True, "message": f"Converged at iteration {iteration}: center shift "
                                              f"{center_shift} within tolerance {self.tol}."}

    def state(self):
        arrays = {"centers": self.centers, "labels": self.labels}
        extra = {"run": self.run_index, "iteration": self.done}
        if self.best is not None:
            arrays.update(best_labels=self.best[0], best_centers=self.best[2])
            extra.update(best_inertia=float(self.best[1]), best_n_iter=int(self.best[3]))
        return arrays, extra

    def load_state(self, arrays, extra):
        centers = np.ascontiguousarray(arrays["centers"], dtype=self.data.dtype)
        labels = np.ascontiguousarray(arrays["labels"], dtype=np.int32)
        if centers.shape != (self.k, self.d) or labels.shape != (self.data.n,):
            raise ValueError(f"the checkpoint's centers {centers.shape} / labels "
                             f"{labels.shape} do not fit this fit ({self.k}, {self.d}) / "
                             f"({self.data.n},)")
        self.centers, self.labels = centers.copy(), labels.copy()
        self.done = int(extra["iteration"])


class _NativeLloyd(_Lloyd):
    """One process, dense rows: ``run(n)`` does up to n iterations in one native call
    (``lloyd_iterations``, GIL released); calls continue one another exactly, so the fit loop
    may ask for one iteration at a time (verbose, checkpoints) or for all of them."""

    def run(self, n):
        data = self.data
        X, shift = data._native_input()
        inertia = np.empty(n, dtype=np.float64) if self.verbose else None
        n_done, stop, center_shift, compute, other = getattr(_K, "lloyd_iterations" + data.sfx)(
            X, data.w, self.centers, self.labels, int(n), self.tol, data.n_threads, data.method,
            shift, inertia)
        self.compute_s += compute
        first, self.done = self.done, self.done + n_done
        self.strict = stop == "strict"
        records = [{} if inertia is None else {"inertia": float(inertia[j])}
                   for j in range(n_done)]
        if stop:
            records[-1].update(self._converged(first + n_done - 1, stop, center_shift))
        return records

    def finish(self):
        data = self.data
        X, shift = data._native_input()
        dist = np.empty(data.n, dtype=data.dtype)  # the assigned distances, same pass
        getattr(_K, "lloyd_finish" + data.sfx)(X, self.centers, self.labels, not self.strict,
                                               dist, data.n_threads, data.method, shift)
        return self.labels, weighted_sum(dist, data.w)


class _AutoStep(Step):
    """``algorithm="auto"`` (one process, dense rows, a Lloyd iteration modelled at >= 5 ms):
    Lloyd iterations until the bound-based step is modelled to cost at most ``RATIO`` (0.7) of
    one, then the bound-based step (:class:`~harpdaal.cluster._prune.PruneStep`) to the end of
    the run.

    The model is fed by a shadow: the bound-based step on ``m`` evenly spaced rows
    (``max(128, n // 512)``, one thread, bounds of its own) run against the Lloyd step's
    centers after a Lloyd iteration. Its counts (rows read, distances, labels changed), scaled
    by ``n / m``, go into :func:`~harpdaal.cluster._prune.prune_cost`; the switch comes after
    ``PATIENCE`` (2) consecutive predictions at or below ``RATIO`` times :func:`lloyd_cost`.
    The shadow looks after every iteration while its last prediction is at most 1; above 1 it
    skips ``SPARSE - 2`` iterations and then looks twice, first from exact bounds (no
    prediction), then once more (bounds carried over several iterations of center drift would
    overstate the cost). The rule sees counts only, never clocks, so a fit makes the same
    choice on every run (same seed and threads: same result). The switch starts the
    bound-based step from the Lloyd labels, and that step adds the sums in the Lloyd step's
    order, so the fit is Lloyd's up to floating-point ties in the labels. ``switched_at`` is
    the iteration of the switch (None: Lloyd only)."""

    RATIO = 0.7
    PATIENCE = 2
    SPARSE = 6
    MIN_LLOYD_NS = 5e6

    def __init__(self, est, comm, data, centers, tol, run, best):
        self.est, self.comm, self.data, self.tol = est, comm, data, tol
        self.k = est.n_clusters
        self.lloyd = _NativeLloyd(est, comm, data, centers, tol, run, best)
        self.prune = None
        self.switched_at = None
        self.below = 0            # consecutive iterations modelled below RATIO
        self.ratio = math.inf     # the last modelled ratio
        self.wait = 0             # Lloyd iterations before the shadow looks again
        X, shift = data._native_input()
        n = data.n
        m = min(n, max(128, n // 512))
        self._rows = np.linspace(0, n - 1, m).round().astype(np.int64)
        self.shadow = self._new_shadow(X, shift, centers)
        n_part = _core.kmeans_prune.prune_partials_size(n, data.d, self.k, data.n_threads,
                                                        data.method, data.dtype)
        self._n_chunks = n_part // (self.k * (data.d + 1))
        self._lloyd_ns = lloyd_cost(n, data.d, self.k)
        self.shadow_s = 0.0       # seconds spent in the shadow (in compute_s)

    def _new_shadow(self, X, shift, centers):
        return PruneStep(X[self._rows], self.data.w[self._rows], centers, self.tol, shift=shift,
                         n_threads=1, lloyd_sums=False, method=self.data.method, sample=True)

    @property
    def active(self):
        return self.lloyd if self.prune is None else self.prune

    @property
    def centers(self):
        return self.active.centers

    @property
    def compute_s(self):
        return self.lloyd.compute_s + (0.0 if self.prune is None else self.prune.compute_s)

    @property
    def comm_s(self):
        return 0.0

    def modelled_ratio(self, counts):
        """The bound-based step's modelled cost over the Lloyd step's, from shadow counts."""
        n, m = self.data.n, len(self._rows)
        scale = n / m
        ns = prune_cost(n, self.data.d, self.k, self.shadow.n_groups, self._n_chunks,
                        (m - counts["skipped"]) * scale, counts["distances"] * scale,
                        counts["changed"] * scale)
        return ns / self._lloyd_ns

    def run(self, n):
        if self.prune is not None:
            return self.prune.run(n)
        records = []
        while len(records) < n and self.prune is None:
            if self.wait > 0:  # Lloyd iterations the shadow does not look at
                done = self.lloyd.run(min(n - len(records), self.wait))
                self.wait -= len(done)
                if self.wait == 0:
                    self.shadow.prev = None  # its next look starts from exact bounds
            else:
                done = self.lloyd.run(1)
                if not done[-1].get("converged"):
                    self._look()
            records += done
            if done[-1].get("converged"):
                break
        return records

    def _look(self):
        """The shadow assigns its rows to the Lloyd step's new centers; from its second look
        on, its counts feed the rule."""
        t0 = time.perf_counter()
        fresh = self.shadow.prev is None
        self.shadow.centers = self.lloyd.centers.copy()
        counts = self.shadow._assign()
        elapsed = time.perf_counter() - t0
        self.shadow_s += elapsed
        self.lloyd.compute_s += elapsed
        if not fresh:  # (a first assignment computes every distance: no prediction)
            self.ratio = self.modelled_ratio(counts)
            self.below = self.below + 1 if self.ratio <= self.RATIO else 0
            if self.ratio > 1.0:  # far from a switch: skip SPARSE - 2 iterations, then look
                self.wait = self.SPARSE - 2  # twice (exact bounds, then a prediction)
        if self.below >= self.PATIENCE:
            self._switch()

    def _switch(self, arrays=None, extra=None):
        lloyd = self.lloyd
        self.prune = make_prune_step(self.est, self.comm, self.data, lloyd.centers, self.tol,
                                     lloyd.run_index, lloyd.best)
        if arrays is not None:
            self.prune.load_state(arrays, extra)
        else:
            self.prune.labels[:] = lloyd.labels  # changes counted against Lloyd's labels
            self.prune.done = lloyd.done
        self.switched_at = self.prune.done
        self.shadow = None

    def finish(self):
        return self.active.finish()

    # ---- checkpoints: the active step's state, the shadow's while on Lloyd --------------------
    def state(self):
        arrays, extra = self.active.state()
        arrays, extra = dict(arrays), dict(extra)
        extra["auto_step"] = "lloyd" if self.prune is None else "bounds"
        extra["auto_switched_at"] = self.switched_at
        if self.prune is None:
            extra["auto_below"] = self.below
            extra["auto_wait"] = self.wait
            extra["auto_ratio"] = self.ratio if math.isfinite(self.ratio) else None
            sa, _ = self.shadow.state()
            arrays.update({"shadow_" + key: value for key, value in sa.items()})
        return arrays, extra

    def load_state(self, arrays, extra):
        mode = extra.get("auto_step", "lloyd")
        if mode not in ("lloyd", "bounds"):
            raise ValueError(f"the checkpoint's auto_step {mode!r} is neither 'lloyd' nor "
                             f"'bounds'")
        if mode == "bounds":
            self._switch(arrays, extra)
            self.switched_at = extra.get("auto_switched_at")
            return
        self.lloyd.load_state(arrays, extra)
        self.below = int(extra.get("auto_below", 0))
        self.wait = int(extra.get("auto_wait", 0))
        ratio = extra.get("auto_ratio")
        self.ratio = math.inf if ratio is None else float(ratio)
        X, shift = self.data._native_input()
        self.shadow = self._new_shadow(X, shift, self.lloyd.centers)
        shadow = {key[len("shadow_"):]: value for key, value in arrays.items()
                  if key.startswith("shadow_")}
        if shadow:
            self.shadow.load_state(shadow, {"iteration": 0})


class _SyncedLloyd(_Lloyd):
    """Sparse rows or several ranks: one iteration per ``run``: the native step on this rank's
    rows, the sums / weights / inertia synchronised by the estimator's collective (Harp's five;
    'rotate' moves the centers through ``ModelRotator`` for the E-step), then relocation and the
    center update, identical on every rank."""

    def __init__(self, est, comm, data, centers, tol, run, best):
        super().__init__(est, comm, data, centers, tol, run, best)
        self.labels_old = self.labels.copy()
        self.sums = np.empty((self.k, self.d), dtype=np.float64)
        self.weights = np.empty(self.k, dtype=np.float64)
        self.sync = _ModelSync(comm, est.collective, self.k, self.d)
        self.rotation = None
        if est.collective == "rotate" and comm.size > 1:
            self.rotation = _CenterRotation(comm, self.k, self.d, data.dtype)

    def load_state(self, arrays, extra):
        super().load_state(arrays, extra)
        self.labels_old = self.labels.copy()

    def run(self, n):
        comm, data, k, d = self.comm, self.data, self.k, self.d
        centers, labels = self.centers, self.labels
        t0 = time.perf_counter()
        if self.rotation is not None:
            inertia = self.rotation.step(data, centers, labels, self.sums, self.weights)
            self.compute_s += self.rotation.compute_s
            self.comm_s += self.rotation.comm_s
        else:
            inertia = data.lloyd(centers, labels, self.sums, self.weights)
            self.compute_s += time.perf_counter() - t0
        changed = float(np.any(labels != self.labels_old))
        t1 = time.perf_counter()
        self.sums, self.weights, scal = self.sync(self.sums, self.weights,
                                                  np.array([inertia, changed]))
        self.comm_s += time.perf_counter() - t1
        sums, weights = self.sums, self.weights
        if np.any(weights == 0):
            _relocate(comm, data, centers, labels, sums, weights)
        nz = weights > 0
        new = np.zeros((k, d), dtype=np.float64)
        new[nz] = sums[nz] / weights[nz, None]
        if not nz.all():  # still empty (duplicates): on the heaviest cluster's center
            new[~nz] = new[np.argmax(weights)]
        new = new.astype(data.dtype)
        center_shift = float(((new.astype(np.float64) - centers) ** 2).sum())
        self.centers = new
        iteration, self.done = self.done, self.done + 1
        record = {"inertia": float(scal[0])}
        if scal[1] == 0:
            self.strict = True
            record.update(self._converged(iteration, "strict", center_shift))
        elif center_shift <= self.tol:
            record.update(self._converged(iteration, "tolerance", center_shift))
        else:
            self.labels_old[:] = labels
        return [record]

    def finish(self):
        data = self.data
        if not self.strict:
            data.assign(self.centers, self.labels)
        inertia = np.array([weighted_sum(data.assigned_sq_dist(self.centers, self.labels), data.w)])
        self.comm.allreduce_array(inertia, op="sum")
        return self.labels, float(inertia[0])

    def close(self):
        if self.rotation is not None:
            self.rotation.close()
            self.rotation = None


class _CenterRotation:
    """Harp's rotation for the E-step: each rank holds a block of the centers; the blocks
    travel the ring through :class:`harpdaal.comm.ModelRotator` while every rank assigns its
    rows to the block it holds, keeping per row the nearest center seen (ties to the lower
    index, as in one process). After ``size`` rotations every rank holds its own block again,
    which the next iteration overwrites with the new centers."""

    def __init__(self, comm, k, d, dtype):
        self.comm = comm
        self.bounds = np.linspace(0, k, comm.size + 1).astype(int)
        lo, hi = self.bounds[comm.rank], self.bounds[comm.rank + 1]
        self.rotator = ModelRotator(np.zeros((hi - lo, d), dtype=dtype), comm=comm,
                                    slices_per_rank=1)
        self.compute_s = self.comm_s = 0.0

    def step(self, data, centers, labels, sums, weights):
        """Labels of this rank's rows against every center, the weighted sums and weights of
        its rows per cluster, and its inertia."""
        rot, rank = self.rotator, self.comm.rank
        self.compute_s = self.comm_s = 0.0
        t = time.perf_counter()
        own = rot.get(0)
        if rot.rows(0) != (self.bounds[rank], self.bounds[rank + 1]):
            raise RuntimeError("center rotation out of step: this rank does not hold its own "
                               "block at the start of an iteration")
        own[...] = centers[self.bounds[rank]:self.bounds[rank + 1]]
        self.comm_s += time.perf_counter() - t
        best = np.full(data.n, np.inf, dtype=data.dtype)
        dist = np.empty(data.n, dtype=data.dtype)
        lab = np.empty(data.n, dtype=np.int32)
        for _ in range(self.comm.size):
            t = time.perf_counter()
            block = np.array(rot.get(0), dtype=data.dtype, order="C")
            start = rot.rows(0)[0]
            t1 = time.perf_counter()
            if block.shape[0] > 0:
                data.assign(block, lab, dist)
                g = lab + start
                better = (dist < best) | ((dist == best) & (g < labels))
                best[better] = dist[better]
                labels[better] = g[better]
            t2 = time.perf_counter()
            rot.rotate(0)  # in flight while the next block (or the M-step) is computed
            self.comm_s += (t1 - t) + (time.perf_counter() - t2)
            self.compute_s += t2 - t1
        t = time.perf_counter()
        # the M-step partials for the final labels
        sums[:] = 0
        weights[:] = 0
        if data.sparse:
            coo = data.X.tocoo()
            np.add.at(sums, (labels[coo.row], coo.col), coo.data * data.w[coo.row])
        else:
            np.add.at(sums, labels, data.X.astype(np.float64) * data.w[:, None])
        np.add.at(weights, labels, data.w)
        self.compute_s += time.perf_counter() - t
        return weighted_sum(best, data.w)

    def close(self):
        self.rotator.close()


def _relocate(comm, data, centers, labels, sums, weights):
    """Empty clusters take the points farthest from their centers (scikit-learn's rule),
    chosen over all ranks; sums/weights are updated identically on every rank."""
    empty = np.flatnonzero(weights == 0)
    n_empty = len(empty)
    dist = data.assigned_sq_dist(centers, labels).astype(np.float64)
    offsets = _offsets(comm, data.n)
    # the n_empty largest distances, ties to the lower index (no full sort of n values)
    m = min(n_empty, len(dist))
    if 0 < m < len(dist):
        thr = np.partition(dist, len(dist) - m)[len(dist) - m]
        cand = np.flatnonzero(dist >= thr)
        top = cand[np.argsort(-dist[cand], kind="stable")][:m]
    else:
        top = np.argsort(-dist, kind="stable")[:m]
    cands = [(float(dist[i]), int(offsets[comm.rank] + i)) for i in top]
    allc = [c for part in comm.allgather_object(cands) for c in part]
    if not allc or max(c[0] for c in allc) == 0:
        return
    allc.sort(key=lambda c: (-c[0], c[1]))
    chosen = [g for _, g in allc[:n_empty]]
    # rows, weights and old labels of the chosen points, from their owners
    buf = np.zeros((len(chosen), data.d + 2), dtype=np.float64)
    lo, hi = offsets[comm.rank], offsets[comm.rank + 1]
    for j, g in enumerate(chosen):
        if lo <= g < hi:
            buf[j, :data.d] = data.rows(np.asarray([g - lo]))[0]
            buf[j, data.d] = data.w[g - lo]
            buf[j, data.d + 1] = labels[g - lo]
    comm.allreduce_array(buf, op="sum")
    for j, new_id in enumerate(empty[:len(chosen)]):
        x, w, old = buf[j, :data.d], buf[j, data.d], int(buf[j, data.d + 1])
        sums[old] -= x * w
        weights[old] -= w
        sums[new_id] = x * w
        weights[new_id] = w
