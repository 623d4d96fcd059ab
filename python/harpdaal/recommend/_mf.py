"""MatrixFactorization: Harp-DAAL's MF-SGD and Harp's MF-CCD (CCD++) behind a scikit-learn-style
estimator. The Python loop runs one compiled epoch at a time (harpdaal._core.mf) and handles ids,
scaling, validation, early stopping and (under MPI) Harp's model rotation of item factors."""
from __future__ import annotations

import functools
import json
import os
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from .. import _core
from .._threads import resolve_n_jobs
from . import _ratings as R

_SOLVERS = ("sgd", "ccd")
_SCHEDULES = ("adaptive", "constant")
# Tuned together on ml-latest-small, jester5k (k=40) and synthetic W-MF (k=32); docs/mf.md.
_DEFAULT_REG_USER = 0.04
_DEFAULT_REG_ITEM = 0.05
_FORMAT = "harpdaal.MatrixFactorization/1"


def _resolve_jobs(n_jobs):
    return resolve_n_jobs(n_jobs, check=False)  # 0: all cores (the kernels' TBB default)


def _threads(n_jobs):
    nt = resolve_n_jobs(n_jobs)
    return nt if nt > 0 else (os.cpu_count() or 1)


def _communicator():
    """harpdaal.comm's current communicator, or None when the comm layer is absent/size 1."""
    try:
        from ..comm import current_communicator
    except ImportError:
        return None
    comm = current_communicator()
    return comm if comm.size > 1 else None


class MatrixFactorization(BaseEstimator):
    """Low-rank matrix factorisation of explicit ratings, r_ui ~ mu + b_u + b_i + p_u . q_i.

    Parameters
    ----------
    n_factors : int, default 40
        Rank k of the factorisation.
    solver : {'sgd', 'ccd'}, default 'sgd'
        'sgd': blocked parallel SGD (LIBMF's FPSGD / Harp-DAAL MF-SGD) with the per-row
        adaptive learning rate of LIBMF. 'ccd': CCD++ rank-one coordinate descent (no biases).
    learning_rate : float, default 0.1
        SGD step (the initial step of the adaptive schedule). Ratings are standardised internally
        (centred by the global mean, divided by their standard deviation), so the same value
        suits 1-5 stars and Jester's -10..10.
    reg : float or None
        L2 regularisation per rating for both user and item factors (unless reg_user /
        reg_item are given).
    reg_user, reg_item : float or None
        Separate L2 for user and item factors (default: reg; with reg None too, the tuned
        defaults reg_user=0.04, reg_item=0.05).
    reg_bias : float, default 0.02
        L2 on the biases.
    use_bias : bool, default True
        Learn user and item biases (SGD only; CCD++ learns factors around the global mean).
    n_epochs : int, default 20
        Passes over the ratings (upper bound when early stopping).
    learning_rate_schedule : {'adaptive', 'constant'}, default 'adaptive'
        'adaptive': LIBMF's per-row rate eta / sqrt(G), G accumulating mean squared gradients.
    init_std : float, default 0.01
        Standard deviation of the initial factors (in standardised units).

    The defaults (learning_rate 0.1, reg_user 0.04, reg_item 0.05, init_std 0.01, 20 epochs) were chosen on
    ml-latest-small, jester5k (k=40) and the synthetic W-MF ratings (k=32) together; see
    docs/mf.md.
    early_stopping : bool, default False
        Hold out validation_fraction of the ratings; stop when the validation RMSE has not
        improved by tol for n_iter_no_change epochs and keep the best epoch's model.
    validation_fraction, n_iter_no_change, tol : see early_stopping.
    duplicates : {'error', 'mean', 'last'}, default 'error'
        What to do with repeated (user, item) pairs.
    grid : int or None
        Blocks per side of the SGD grid (default max(8, 4 * threads)). Results are
        deterministic for a given random_state and grid, whatever the thread count.
    schedule : {'rounds', 'dynamic'}, default 'rounds'
        SGD block schedule. 'rounds': grid rounds of independent blocks with a barrier after
        each; reproducible for a given random_state and grid. 'dynamic': LIBMF's free-block
        scheduling (no barriers; tolerates preempted threads on a busy machine) whose update
        order, hence result, varies from run to run with more than one thread.
    ccd_inner_iters : int, default 1
        Inner alternations per rank-one subproblem for CCD++.
    random_state : int or None
    n_jobs : int or None
        Threads (None or -1: all cores).
    verbose : int
        > 0 prints train (and validation) RMSE per epoch.

    checkpoint_dir : path or None
        Folder for checkpoints (shared by all ranks under MPI); ``fit(X, y, resume=True)``
        continues a killed fit from the last one and reaches the same model bitwise (needs an
        int random_state, and the same number of ranks under MPI).
    checkpoint_every : int or str, default 1
        Epochs between checkpoints, or seconds as a string ('30s').
    slices_per_rank : int, default 2
        Distributed SGD only: item-factor slices per rank in Harp's model rotation. With >= 2
        one slice travels to the next rank while another is trained (1 turns the overlap off).
    rotation_timer : float or None, default None
        Distributed SGD only: Harp's timer-bounded rotation. None trains every rating every
        epoch (deterministic). A fraction f in (0, 1]: every rotation step of every rank lasts
        the same time budget, re-solved each epoch (``harpdaal.comm.RotationTimer``) so that the
        job completes a fraction f of all ratings per epoch; a slow rank leaves part of its
        ratings for later epochs instead of making the others wait. Not deterministic (depends
        on timing). See docs/mf.md.

    Under MPI (``mpiexec``, or ``harpdaal.config_context(comm=...)`` with size > 1) each rank
    passes its own ratings, split by user; eval_set may be split any way (e.g. all on rank 0).
    Every rank ends with the whole model.

    Input: a rating matrix (rows = users, columns = items: scipy.sparse, every stored entry a
    rating, or a dense array with NaN where not rated), a (users, items, ratings) tuple, or
    (user, item) id pairs X of shape (n, 2) with the ratings y. A dense X of two columns with a
    y is read as id pairs; with a rating matrix y is ignored (scikit-learn's convention for fits
    without a target, so the estimator works inside a Pipeline).

    Ids: any non-negative integers; they are mapped internally. predict() on an id never seen in
    fit uses what is known: the global mean plus the known side's bias (its factors count as 0).
    """

    def __init__(self, n_factors=40, solver="sgd", learning_rate=0.1, reg=None, reg_user=None,
                 reg_item=None, reg_bias=0.02, use_bias=True, n_epochs=20,
                 learning_rate_schedule="adaptive", init_std=0.01, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=3, tol=1e-4, duplicates="error",
                 grid=None, schedule="rounds", ccd_inner_iters=1, random_state=None, n_jobs=None,
                 verbose=0, checkpoint_dir=None,
                 checkpoint_every=1, slices_per_rank=2, rotation_timer=None):
        self.n_factors = n_factors
        self.solver = solver
        self.learning_rate = learning_rate
        self.reg = reg
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.reg_bias = reg_bias
        self.use_bias = use_bias
        self.n_epochs = n_epochs
        self.learning_rate_schedule = learning_rate_schedule
        self.init_std = init_std
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.duplicates = duplicates
        self.grid = grid
        self.schedule = schedule
        self.ccd_inner_iters = ccd_inner_iters
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.slices_per_rank = slices_per_rank
        self.rotation_timer = rotation_timer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True      # a sparse rating matrix: stored entries are rated
        tags.input_tags.allow_nan = True   # a dense rating matrix: NaN marks "not rated"
        tags.target_tags.required = False  # y only with the (n, 2) id-pair form
        return tags

    # -- validation -----------------------------------------------------------------------------
    def _validated(self):
        p = {}
        p["k"] = R.check_int(self.n_factors, "n_factors", 1, 4096)
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS}, got {self.solver!r}")
        if self.learning_rate_schedule not in _SCHEDULES:
            raise ValueError(f"learning_rate_schedule must be one of {_SCHEDULES}, "
                             f"got {self.learning_rate_schedule!r}")
        p["lr"] = R.check_float(self.learning_rate, "learning_rate", 0.0, strict=True)
        reg = None if self.reg is None else R.check_float(self.reg, "reg")
        p["reg_user"] = (R.check_float(self.reg_user, "reg_user") if self.reg_user is not None
                         else _DEFAULT_REG_USER if reg is None else reg)
        p["reg_item"] = (R.check_float(self.reg_item, "reg_item") if self.reg_item is not None
                         else _DEFAULT_REG_ITEM if reg is None else reg)
        p["reg_bias"] = R.check_float(self.reg_bias, "reg_bias")
        p["epochs"] = R.check_int(self.n_epochs, "n_epochs", 1)
        p["init_std"] = R.check_float(self.init_std, "init_std", 0.0, strict=True)
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise TypeError("early_stopping must be a bool")
        if not isinstance(self.use_bias, (bool, np.bool_)):
            raise TypeError("use_bias must be a bool")
        vf = R.check_float(self.validation_fraction, "validation_fraction", 0.0, strict=True)
        if vf >= 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {vf}")
        p["vf"] = vf
        p["patience"] = R.check_int(self.n_iter_no_change, "n_iter_no_change", 1)
        p["tol"] = R.check_float(self.tol, "tol")
        p["threads"] = _resolve_jobs(self.n_jobs)
        p["grid"] = (max(8, 4 * _threads(self.n_jobs)) if self.grid is None
                     else R.check_int(self.grid, "grid", 1, 4096))
        p["inner"] = R.check_int(self.ccd_inner_iters, "ccd_inner_iters", 1)
        if self.schedule not in ("rounds", "dynamic"):
            raise ValueError(f"schedule must be 'rounds' or 'dynamic', got {self.schedule!r}")
        p["dynamic"] = self.schedule == "dynamic"
        if self.duplicates not in R.DUPLICATE_POLICIES:
            raise ValueError(f"duplicates must be one of {R.DUPLICATE_POLICIES}, "
                             f"got {self.duplicates!r}")
        p["slices_per_rank"] = R.check_int(self.slices_per_rank, "slices_per_rank", 1, 1024)
        p["timer"] = None
        if self.rotation_timer is not None:
            f = R.check_float(self.rotation_timer, "rotation_timer", 0.0, strict=True)
            if f > 1.0:
                hint = f" (a fraction: did you mean {f / 100:g}?)" if f <= 100 else ""
                raise ValueError(
                    f"rotation_timer must be a fraction in (0, 1], got {f}{hint}")
            if self.solver != "sgd":
                raise ValueError("rotation_timer applies to solver='sgd' (the rotated model)")
            p["timer"] = f
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, np.integer))):
            raise TypeError("random_state must be None or an int")
        return p

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X, y=None, eval_set=None, resume=False):
        """Fit on ratings: a rating matrix (rows = users, columns = items; scipy.sparse with
        the ratings as stored entries, or a dense 2-d array with NaN where not rated; y is
        ignored), a (users, items, ratings) tuple, or an (n, 2) array of (user, item) ids with
        the ratings in y. eval_set: optional (users, items, ratings) reported per epoch (and
        used for early stopping instead of a held-out part)."""
        comm = _communicator()
        if comm is not None:
            from ._rotation import fit_distributed

            return fit_distributed(self, comm, X, y, eval_set, resume)
        p = self._validated()
        users, items, ratings, _ = R.as_triplets(X, y)
        from .._checkpoint import for_estimator

        self._ck = for_estimator(self, "MatrixFactorization", resume=resume,
                                 data=(users, items, ratings))
        t0 = time.perf_counter()
        rng = np.random.default_rng(self.random_state)
        if self.early_stopping or self.solver == "ccd":
            # the held-out part must not split a repeated pair; CCD++ needs unique pairs
            users, items, ratings = R.resolve_duplicates(users, items, ratings, self.duplicates)
        self.user_ids_, u = R.map_ids(users, p["threads"])
        self.item_ids_, i = R.map_ids(items, p["threads"])
        del users, items
        val = None
        if eval_set is not None:
            val = self._eval_arrays(eval_set)
        elif self.early_stopping:
            perm = rng.permutation(ratings.size)
            n_val = max(1, int(round(p["vf"] * ratings.size)))
            if n_val >= ratings.size:
                raise ValueError("early_stopping: too few ratings to hold out a validation set")
            vi, ti = perm[:n_val], perm[n_val:]
            val = (u[vi], i[vi], ratings[vi].astype(np.float32))
            u, i, ratings = u[ti], i[ti], ratings[ti]
        self._setup_model(p, ratings, rng)
        if self.solver == "sgd":
            self._fit_sgd(p, u, i, ratings, val, rng)
        else:
            self._fit_ccd(p, u, i, ratings, val)
            self._finish(u, i)
        self.fit_time_ = time.perf_counter() - t0
        compute = float(sum(h["seconds"] for h in self.history_))
        self.timings_ = {"compute": compute, "comm": 0.0, "glue": self.fit_time_ - compute}
        return self

    def _setup_model(self, p, ratings, rng):
        k, ld, nt = p["k"], R.padded_width(p["k"]), p["threads"]
        self.n_factors_ = k
        mean, std = _core.mf.mean_std(np.ascontiguousarray(ratings, dtype=np.float64), nt)
        self.global_mean_ = float(mean)
        self._scale = float(max(std, 1e-4))
        nu, ni = self.user_ids_.size, self.item_ids_.size
        # factors drawn per row from a counter-based generator keyed by one seed from rng: the
        # same for any n_jobs (and under MPI, where _rotation draws the same rows), in parallel
        seed = R.init_seed(rng)
        self._P = R.normal_factors(nu, k, p["init_std"], seed, 0, nt)
        if self.solver == "sgd":
            self._Q = R.normal_factors(ni, k, p["init_std"], seed, 1, nt)
        else:  # CCD++ starts from Q = 0 and updates items first (Yu et al.)
            self._Q = R.aligned_empty((ni, ld))
        use_bias = bool(self.use_bias) and self.solver == "sgd"
        self._bu = np.zeros(nu, np.float32) if use_bias else None
        self._bi = np.zeros(ni, np.float32) if use_bias else None
        self.history_ = []

    def _eval_arrays(self, eval_set):
        if not (isinstance(eval_set, tuple) and len(eval_set) == 3):
            raise TypeError("eval_set must be a (users, items, ratings) tuple")
        eu, ei, er, _ = R.as_triplets(eval_set)
        return self._map_known(eu, ei) + (er.astype(np.float32),)

    def _map_known(self, users, items):
        """Internal ids, with -1 for ids unseen in fit."""
        def look(ids, known):
            pos = np.searchsorted(known, ids)
            pos = np.minimum(pos, max(known.size - 1, 0))
            ok = known.size > 0
            found = (known[pos] == ids) if ok else np.zeros(ids.shape, bool)
            return np.where(found, pos, -1).astype(np.int32)
        return look(users, self.user_ids_), look(items, self.item_ids_)

    def _scaled_rmse(self, u, i, r_scaled, nt):
        if u.size == 0:
            return float("nan")
        sse = _core.mf.sum_squared_error(u, i, r_scaled, self._P, self._Q, self._bu, self._bi,
                                         self.n_factors_, 0.0, nt)
        return float(np.sqrt(sse / u.size)) * self._scale

    def _val_scaled(self, val):
        if val is None:
            return None
        u, i, r = val
        known = (u >= 0) & (i >= 0)
        # cold-start pairs are predicted by the fallback rule; score them separately
        return (np.ascontiguousarray(u[known]), np.ascontiguousarray(i[known]),
                ((r[known] - self.global_mean_) / self._scale).astype(np.float32), val)

    def _epoch_report(self, epoch, p, train, val_s, seconds, val_rmse):
        rec = {"epoch": epoch, "seconds": seconds}
        if self.verbose:
            rec["train_rmse"] = self._scaled_rmse(*train, p["threads"])
        if val_rmse is not None:
            rec["val_rmse"] = val_rmse
        self.history_.append(rec)
        if self.verbose:
            msg = f"epoch {epoch:3d}  train RMSE {rec['train_rmse']:.4f}"
            if val_rmse is not None:
                msg += f"  validation RMSE {val_rmse:.4f}"
            print(msg + f"  ({seconds:.3f} s)", file=sys.stderr, flush=True)

    def _val_rmse(self, val_s, p):
        if val_s is None:
            return None
        u, i, rs, full = val_s
        if u.size == full[0].size:
            return self._scaled_rmse(u, i, rs, p["threads"])
        # some validation pairs are cold-start: predict them all in original units
        pred = self._predict_internal(full[0], full[1], scaled=True)
        return float(np.sqrt(np.mean((pred.astype(np.float64) - full[2]) ** 2)))

    def _train_loop(self, p, epoch_fn, train, val, state=None, rng=None):
        """`state`: the arrays an epoch updates in place (saved in checkpoints)."""
        val_s = self._val_scaled(val)
        best, best_state, stale = np.inf, None, 0
        ck, saved = getattr(self, "_ck", (None, None))
        self._ck = (None, None)
        first = 1
        if saved is not None:
            for name, a in state.items():
                np.copyto(a, saved.arrays[name])
            if rng is not None:
                from .._checkpoint import restore_rng

                restore_rng(rng, saved.rng["rng"])
            first = saved.iteration + 1
            best, stale = saved.extra["best"], saved.extra["stale"]
            self.history_ = saved.extra["history"]
            self.n_epochs_ = saved.iteration
            if "best_P" in saved.arrays:
                best_state = {"epoch": saved.extra["best_epoch"]}
                for x in ("P", "Q", "bu", "bi"):
                    best_state[x] = saved.arrays.get("best_" + x)
        for epoch in range(first, p["epochs"] + 1):
            t0 = time.perf_counter()
            epoch_fn(epoch)
            seconds = time.perf_counter() - t0
            vr = self._val_rmse(val_s, p)
            self._epoch_report(epoch, p, train, val_s, seconds, vr)
            self.n_epochs_ = epoch
            if vr is not None:
                if vr < best - p["tol"]:
                    best, stale = vr, 0
                    if self.early_stopping:
                        best_state = self._state_copy(epoch)
                else:
                    stale += 1
                    if self.early_stopping and stale >= p["patience"]:
                        break
            if ck is not None and epoch < p["epochs"] and ck.due(epoch):
                arrays = dict(state)
                extra = {"best": best, "stale": stale, "history": self.history_}
                if best_state is not None:
                    arrays.update({"best_" + x: best_state[x] for x in ("P", "Q", "bu", "bi")
                                   if best_state[x] is not None})
                    extra["best_epoch"] = best_state["epoch"]
                ck.save(epoch, arrays, rng=None if rng is None else {"rng": rng}, extra=extra)
        if best_state is not None and best_state["epoch"] != self.n_epochs_:
            self._P, self._Q, self._bu, self._bi = (best_state[x] for x in ("P", "Q", "bu", "bi"))
            self.best_epoch_ = best_state["epoch"]
        else:
            self.best_epoch_ = self.n_epochs_

    def _state_copy(self, epoch):
        cp = (lambda a: None if a is None else a.copy())
        P = R.aligned_empty(self._P.shape)
        P[...] = self._P
        Q = R.aligned_empty(self._Q.shape)
        Q[...] = self._Q
        return {"epoch": epoch, "P": P, "Q": Q, "bu": cp(self._bu), "bi": cp(self._bi)}

    def _fit_sgd(self, p, u, i, ratings, val, rng):
        grid = p["grid"]
        nu, ni = self.user_ids_.size, self.item_ids_.size
        data = R.Bucketed(u, i, ratings, nu, ni, grid, rng, p["threads"],
                          shift=self.global_mean_, scale=self._scale)
        if data.n_duplicates:
            if self.duplicates == "error":
                wu, wi = data.first_duplicate()
                ou = self.user_ids_[np.flatnonzero(data.user_perm == wu)[0]]
                oi = self.item_ids_[np.flatnonzero(data.item_perm == wi)[0]]
                raise ValueError(
                    f"duplicate rating for (user {ou}, item {oi}) ({data.n_duplicates} "
                    "duplicate pair(s)); pass duplicates='mean' or 'last'")
            u, i, ratings = R.resolve_duplicates(u, i, ratings, self.duplicates)
            self._setup_model(p, ratings, rng)
            data = R.Bucketed(u, i, ratings, nu, ni, grid, rng, p["threads"],
                              shift=self.global_mean_, scale=self._scale)
        del u, i, ratings
        adaptive = self.learning_rate_schedule == "adaptive"
        uacc = np.ones(nu, np.float32) if adaptive else None
        iacc = np.ones(ni, np.float32) if adaptive else None
        self.grid_ = grid
        if val is not None:  # validation ids in the kernel's relabelled space
            vu, vi, vr = val
            val = (np.where(vu >= 0, data.user_perm[np.maximum(vu, 0)], -1).astype(np.int32),
                   np.where(vi >= 0, data.item_perm[np.maximum(vi, 0)], -1).astype(np.int32), vr)

        # check_ids=False: bucket_relabel wrote data.users / data.items through the permutations
        # it checked, so they lie in [0, nu) / [0, ni) (no serial O(n) scan before epoch 1)
        def epoch_fn(_epoch):
            order = rng.permutation(grid).astype(np.int32)
            _core.mf.sgd_train_grid(data.users, data.items, data.ratings, data.block_ptr, order,
                                    self._P, self._Q, uacc, iacc, self._bu, self._bi, p["k"],
                                    p["lr"], p["reg_user"], p["reg_item"], p["reg_bias"], 0.0,
                                    adaptive, p["dynamic"], p["threads"], False)

        state = {"P": self._P, "Q": self._Q}
        state.update({k: v for k, v in (("uacc", uacc), ("iacc", iacc), ("bu", self._bu),
                                        ("bi", self._bi)) if v is not None})
        self._train_loop(p, epoch_fn, (data.users, data.items, data.ratings), val, state, rng)
        # back from the kernel's relabelled rows to the internal (sorted-id) order, and to
        # rating units (_finish's factor rescaling, fused into the same parallel pass)
        root = np.float32(np.sqrt(self._scale))
        self._P = self._unpermute_rows(self._P, data.user_perm, root, p["threads"])
        self._Q = self._unpermute_rows(self._Q, data.item_perm, root, p["threads"])
        if self._bu is not None:
            self._bu = self._bu[data.user_perm]
            self._bi = self._bi[data.item_perm]
        # the seen-item lists are grouped on first use (recommend / save), not in fit
        self._finish(seen=functools.partial(R.seen_lists, data.users, data.items, data.user_perm,
                                            data.item_perm), factors_scaled=True)

    @staticmethod
    def _unpermute_rows(work, perm, scale, n_threads):
        out = R.aligned_empty(work.shape, fill=None)
        _core.mf.gather_rows(work, perm, float(scale), out, n_threads)
        return out

    def _fit_ccd(self, p, u, i, ratings, val):
        import scipy.sparse as sp

        nu, ni = self.user_ids_.size, self.item_ids_.size
        rs = ((ratings - self.global_mean_) / self._scale).astype(np.float32)
        csr = sp.csr_matrix((np.arange(rs.size, dtype=np.float64) + 1, (u, i)), shape=(nu, ni))
        csr.sort_indices()
        src = csr.data.astype(np.int64) - 1  # original position of each CSR entry
        row_ptr = csr.indptr.astype(np.int64)
        col_idx = csr.indices.astype(np.int32)
        csc = sp.csc_matrix((np.arange(src.size, dtype=np.float64) + 1, (u[src], i[src])),
                            shape=(nu, ni))
        csc.sort_indices()
        csc_to_csr = csc.data.astype(np.int64) - 1
        col_ptr = csc.indptr.astype(np.int64)
        row_idx = csc.indices.astype(np.int32)
        residual = np.ascontiguousarray(rs[src])
        train = (np.repeat(np.arange(nu, dtype=np.int32), np.diff(row_ptr)), col_idx,
                 rs[src].copy())

        def epoch_fn(_epoch):
            _core.mf.ccd_epoch(row_ptr, col_idx, col_ptr, row_idx, csc_to_csr, residual, self._P,
                               self._Q, p["k"], p["reg_user"], p["reg_item"], p["inner"],
                               p["threads"])

        self._train_loop(p, epoch_fn, train, val,
                         {"P": self._P, "Q": self._Q, "residual": residual})

    def _finish(self, u=None, i=None, seen=None, factors_scaled=False):
        """Back to rating units (factors_scaled: P and Q already are); keep the items each user
        rated (for recommend): grouped now from (u, i), or later by `seen()` -> (row_ptr,
        items) on first use."""
        if not factors_scaled:
            root = np.float32(np.sqrt(self._scale))
            self._P *= root
            self._Q *= root
        if self._bu is not None:
            self._bu *= np.float32(self._scale)
            self._bi *= np.float32(self._scale)
        self._scale = 1.0
        if seen is not None:
            self._seen_ptr = self._seen_items = None
            self._seen_lazy = seen
            return
        self._seen_lazy = None
        self._seen_ptr = np.empty(self.user_ids_.size + 1, np.int64)
        self._seen_items = np.empty(u.size, np.int32)
        _core.mf.group_by_row(np.ascontiguousarray(u, dtype=np.int32),
                              np.ascontiguousarray(i, dtype=np.int32), self.user_ids_.size,
                              self._seen_ptr, self._seen_items)

    def _seen_csr(self):
        """(row_ptr, items) of the items each internal user rated, grouped on first use."""
        if self._seen_ptr is None and getattr(self, "_seen_lazy", None) is not None:
            self._seen_ptr, self._seen_items = self._seen_lazy()
            self._seen_lazy = None
        return self._seen_ptr, self._seen_items

    # -- inference ------------------------------------------------------------------------------
    @property
    def user_factors_(self):
        self._check_fitted()
        return np.ascontiguousarray(self._P[:, : self.n_factors_])

    @property
    def item_factors_(self):
        self._check_fitted()
        return np.ascontiguousarray(self._Q[:, : self.n_factors_])

    @property
    def user_bias_(self):
        self._check_fitted()
        return None if self._bu is None else self._bu.copy()

    @property
    def item_bias_(self):
        self._check_fitted()
        return None if self._bi is None else self._bi.copy()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_P")

    def _check_fitted(self):
        if not hasattr(self, "_P"):
            raise NotFittedError("this MatrixFactorization is not fitted yet: call fit first")

    def _predict_internal(self, u, i, scaled=False):
        """Predictions for internal ids (-1 = unknown) in rating units (or standardised units
        during training when scaled=True)."""
        n = u.size
        out = np.empty(n, np.float32)
        known = (u >= 0) & (i >= 0)
        nt = _resolve_jobs(self.n_jobs)
        if known.all():
            _core.mf.sgd_predict(u, i, self._P, self._Q, self._bu, self._bi, self.n_factors_,
                                 0.0 if scaled else self.global_mean_, out, nt)
        else:
            ku, ki = np.ascontiguousarray(u[known]), np.ascontiguousarray(i[known])
            tmp = np.empty(ku.size, np.float32)
            _core.mf.sgd_predict(ku, ki, self._P, self._Q, self._bu, self._bi, self.n_factors_,
                                 0.0 if scaled else self.global_mean_, tmp, nt)
            out[known] = tmp
            fb = np.zeros(n, np.float64)
            if self._bu is not None:
                fb += np.where(u >= 0, self._bu[np.maximum(u, 0)], 0.0)
                fb += np.where(i >= 0, self._bi[np.maximum(i, 0)], 0.0)
            out[~known] = fb[~known] if scaled else fb[~known] + self.global_mean_
        if scaled:
            out = out * np.float32(self._scale) + np.float32(self.global_mean_)
        return out

    def predict(self, users, items=None):
        """Predicted ratings.

        ``predict(users, items)``: for the pairs (users[e], items[e]) of 1-d id arrays;
        ``predict(X)`` with X an (n, 2) array of (user, item) ids: the same, one per row;
        ``predict(R)`` with R a rating matrix (rows = users, columns = items; scipy.sparse, or a
        dense array of another width than 2): the predictions at the entries R rates, in R's
        form (the same sparse structure, or a float32 array with NaN where R has NaN).
        Ids unseen in fit get the global mean plus the known side's bias."""
        import scipy.sparse as sp

        self._check_fitted()
        if items is None:
            if sp.issparse(users):
                return self._predict_matrix(users, sparse=True)
            if np.ndim(users) != 2 or np.shape(users)[1] != 2:
                return self._predict_matrix(users, sparse=False)
            X = np.asarray(users)
            users, items = X[:, 0], X[:, 1]
        users = R._as_id_array(np.atleast_1d(users), "users")
        items = R._as_id_array(np.atleast_1d(items), "items")
        if users.shape != items.shape:
            raise ValueError("users and items must have the same length")
        u, i = self._map_known(users, items)
        return self._predict_internal(u, i)

    def _predict_matrix(self, X, sparse):
        import scipy.sparse as sp
        from sklearn.utils import check_array

        if sparse:
            coo = check_array(X, accept_sparse="coo", dtype=None, ensure_min_samples=0,
                              input_name="X").tocoo(copy=True)
            coo.sum_duplicates()
            rows, cols = coo.row, coo.col
        else:
            X = check_array(X, dtype="numeric", ensure_all_finite="allow-nan",
                            ensure_min_samples=0, input_name="X")
            rows, cols = np.nonzero(~np.isnan(X))
        u, i = self._map_known(rows.astype(np.int64), cols.astype(np.int64))
        pred = self._predict_internal(u, i)
        if sparse:
            kind = sp.coo_array if isinstance(X, sp.sparray) else sp.coo_matrix
            return kind((pred, (rows, cols)), shape=coo.shape).asformat(X.format)
        out = np.full(X.shape, np.nan, np.float32)
        out[rows, cols] = pred
        return out

    def score(self, X, y=None):
        """Negative RMSE (higher is better, as scikit-learn expects) on ratings in any form
        ``fit`` takes: a rating matrix (y ignored), a (users, items, ratings) tuple, or (user,
        item) id pairs X with ratings y."""
        users, items, ratings, _ = R.as_triplets(X, y)
        pred = self.predict(users, items).astype(np.float64)
        return -float(np.sqrt(np.mean((pred - ratings) ** 2)))

    def rmse(self, X, y=None):
        return -self.score(X, y)

    def recommend(self, user, n=10, exclude_seen=True):
        """The n best items for `user` (an original id): (item_ids, scores), best first."""
        self._check_fitted()
        n = R.check_int(n, "n", 1)
        uid = R._as_id_array(np.atleast_1d(user), "user")
        if uid.size != 1:
            raise ValueError("recommend: pass one user id")
        (u,), _ = self._map_known(uid, uid)
        k = self.n_factors_
        if u < 0:
            scores = np.full(self.item_ids_.size, self.global_mean_, np.float64)
            if self._bi is not None:
                scores += self._bi
        else:
            scores = self._Q[:, :k].astype(np.float64) @ self._P[u, :k] + self.global_mean_
            if self._bi is not None:
                scores += self._bi + self._bu[u]
        if exclude_seen and u >= 0:
            ptr, seen = self._seen_csr()
            scores[seen[ptr[u] : ptr[u + 1]]] = -np.inf
        n_valid = int(np.isfinite(scores).sum())
        n = min(n, n_valid)
        top = np.argpartition(-scores, n - 1)[:n] if n > 0 else np.zeros(0, np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return self.item_ids_[top], scores[top]

    # -- persistence (npz + JSON, no pickle) ----------------------------------------------------
    def save(self, path):
        """Write the fitted model to `path` (a .npz holding arrays and a JSON header)."""
        self._check_fitted()
        meta = {"format": _FORMAT, "params": self.get_params(), "n_factors_": self.n_factors_,
                "global_mean_": self.global_mean_, "n_epochs_": getattr(self, "n_epochs_", 0),
                "history_": getattr(self, "history_", [])}
        arrays = {"user_ids": self.user_ids_, "item_ids": self.item_ids_,
                  "user_factors": self.user_factors_, "item_factors": self.item_factors_,
                  "seen_ptr": self._seen_csr()[0], "seen_items": self._seen_csr()[1]}
        if self._bu is not None:
            arrays["user_bias"], arrays["item_bias"] = self._bu, self._bi
        meta_bytes = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with open(path, "wb") as fh:
            np.savez(fh, meta=meta_bytes, **arrays)

    @classmethod
    def load(cls, path):
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path}: not a harpdaal MatrixFactorization file")
            est = cls(**meta["params"])
            k = int(meta["n_factors_"])
            est.n_factors_ = k
            est.global_mean_ = float(meta["global_mean_"])
            est.n_epochs_ = int(meta["n_epochs_"])
            est.history_ = meta["history_"]
            est._scale = 1.0
            est.user_ids_ = z["user_ids"]
            est.item_ids_ = z["item_ids"]
            ld = R.padded_width(k)
            est._P = R.aligned_empty((est.user_ids_.size, ld))
            est._P[:, :k] = z["user_factors"]
            est._Q = R.aligned_empty((est.item_ids_.size, ld))
            est._Q[:, :k] = z["item_factors"]
            est._bu = z["user_bias"].astype(np.float32) if "user_bias" in z else None
            est._bi = z["item_bias"].astype(np.float32) if "item_bias" in z else None
            est._seen_ptr = z["seen_ptr"]
            est._seen_items = z["seen_items"]
            est._seen_lazy = None
        return est
