"""MatrixFactorization: Harp-DAAL's MF-SGD and Harp's MF-CCD (CCD++) as a scikit-learn
estimator. The estimator validates, maps ids, standardises the ratings and sets the fitted
attributes; the epochs run in the fit driver (harpdaal._driver.FitLoop: early stopping,
checkpoints, progress, callbacks, timings) over a step per solver: one process
(recommend._local) or distributed over MPI ranks (recommend._rotation: Harp's model rotation of
item factors for SGD, reduced item statistics for CCD++)."""
from __future__ import annotations

import functools
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from .. import _core
from .._checkpoint import for_estimator
from .._driver import FitLoop, agree, fit_communicator
from .._persist import PersistMixin, attribute, check, require
from .._threads import resolve_n_jobs
from . import _ratings as R
from ._local import CCDStep, SGDStep, predict_pairs
from ._topn import top_n

_SOLVERS = ("sgd", "ccd")
_SCHEDULES = ("adaptive", "constant")
# Without a held-out split to choose on (early_stopping=False, or an eval_set): tuned together
# on ml-latest-small, jester5k (k=40) and synthetic W-MF (k=32); docs/mf.md.
_DEFAULT_REG_USER = 0.04
_DEFAULT_REG_ITEM = 0.05
# With one (the defaults): the regularisations tried, each early-stopped on the internal
# validation split; chosen leave-one-data-set-out against LIBMF's best (docs/mf.md, "Defaults").
REG_GRID = {"sgd": (0.03, 0.06, 0.12), "ccd": (0.02, 0.05, 0.1, 0.2, 0.4)}
# L2 on the biases (reg_bias=None): SGD's is per rating (lambda_b b^2 for every rating of the
# row); CCD++'s once per user / item, b = sum e / (n + reg_bias) (docs/mf.md, "CCD++").
_DEFAULT_REG_BIAS = {"sgd": 0.02, "ccd": 5.0}


def _resolve_jobs(n_jobs):
    return resolve_n_jobs(n_jobs, check=False)  # 0: all cores (the kernels' TBB default)


def _threads(n_jobs):
    nt = resolve_n_jobs(n_jobs)
    return nt if nt > 0 else (os.cpu_count() or 1)


def _log_line(epoch, rec):
    """The progress line of one epoch (verbose, not on a terminal)."""
    msg = f"epoch {epoch:3d}"
    if "train_rmse" in rec:
        msg += f"  train RMSE {rec['train_rmse']:.4f}"
    if "val_rmse" in rec:
        msg += f"  validation RMSE {rec['val_rmse']:.4f}"
    return msg + f"  ({rec['seconds']:.3f} s)"


class MatrixFactorization(PersistMixin, BaseEstimator):
    """Low-rank matrix factorisation of explicit ratings, r_ui ~ mu + b_u + b_i + p_u . q_i.

    Parameters
    ----------
    n_factors : int, default 40
        Rank k of the factorisation.
    solver : {'sgd', 'ccd'}, default 'sgd'
        'sgd': blocked parallel SGD (LIBMF's FPSGD / Harp-DAAL MF-SGD) with the per-row
        adaptive learning rate of LIBMF. 'ccd': CCD++ rank-one coordinate descent (biases
        and a global offset learnt in closed form at the start of every sweep).
    learning_rate : float, default 0.1
        SGD step (the initial step of the adaptive schedule). Ratings are standardised internally
        (centred by the global mean, divided by their standard deviation), so the same value
        suits 1-5 stars and Jester's -10..10.
    reg : float or None, default None
        L2 regularisation per rating for both user and item factors (unless reg_user /
        reg_item are given). None (and reg_user, reg_item None): with early stopping on an
        internal validation split (the default), the best of ``REG_GRID[solver]`` ((0.03,
        0.06, 0.12) for SGD) by that split's RMSE; otherwise reg_user=0.04, reg_item=0.05.
    reg_user, reg_item : float or None
        Separate L2 for user and item factors (default: reg).
    reg_bias : float or None, default None
        L2 on the biases. None: 0.02 for SGD, where it weighs b^2 once per rating of the user
        or item; 5.0 for CCD++, where it weighs b^2 once per user or item (each bias is the
        mean residual of its ratings shrunk as sum / (n + reg_bias)).
    use_bias : bool, default True
        Learn user and item biases (CCD++ also learns an offset to the global mean). False:
        factors around the global mean only.
    n_epochs : int, default 100
        Passes over the ratings; with early stopping, an upper bound.
    learning_rate_schedule : {'adaptive', 'constant'}, default 'adaptive'
        'adaptive': LIBMF's per-row rate eta / sqrt(G), G accumulating mean squared gradients.
    init_std : float, default 0.01
        Standard deviation of the initial factors (in standardised units).
    early_stopping : bool, default True
        Watch the validation RMSE after every epoch, stop when it has not improved by tol for
        n_iter_no_change epochs and keep the best epoch's model. The validation ratings are
        ``eval_set`` when fit is given one, else validation_fraction of the ratings held out
        (an internal split; then see reg and refit).
    validation_fraction : float, default 0.1
        Share of the ratings held out by early stopping when there is no eval_set.
    n_iter_no_change : int, default 5
        Epochs without improvement before early stopping ends the fit.
    tol : float, default 1e-4
        The improvement of the validation RMSE that counts as one.
    refit : bool, default True
        With early stopping on an internal split: once the best epoch count (and, with reg
        None, the regularisation) is known, fit again on all the ratings for that many epochs
        without early stopping; that fit is the model. Ignored without early stopping or with
        an eval_set.

    The defaults (early stopping on 10% of the ratings, patience 5, at most 100 epochs, a
    regularisation searched over three values, refit on all the ratings; learning_rate 0.1,
    init_std 0.01) were chosen leave-one-data-set-out against LIBMF's best-of-grid test RMSE on
    ten real, cut and synthetic rating sets; see docs/mf.md ("Defaults"). early_stopping=False,
    n_epochs=20 and reg=None give the single fit of earlier releases (reg_user 0.04, reg_item
    0.05).
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
        > 0 shows the training (and validation) RMSE per epoch: a progress bar on a terminal,
        else one line per epoch on stderr (rank 0 only under MPI).

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
    Every rank ends with the whole model. Early stopping's internal split is drawn per rank.

    Fitted attributes beyond the model: ``n_epochs_`` (epochs the model was trained),
    ``best_epoch_``, ``history_`` (per epoch of the model's fit), ``reg_user_`` / ``reg_item_``
    (the regularisation used), ``reg_search_`` (with early stopping on an internal split: one
    entry per regularisation tried, ``{"reg_user", "reg_item", "val_rmse", "best_epoch",
    "n_epochs"}``, in the order tried), ``fit_time_`` and ``timings_`` (the whole fit, search
    included).

    Input: a rating matrix (rows = users, columns = items: scipy.sparse, every stored entry a
    rating, or a dense array with NaN where not rated), a (users, items, ratings) tuple, or
    (user, item) id pairs X of shape (n, 2) with the ratings y. A dense X of two columns with a
    y is read as id pairs; with a rating matrix y is ignored (scikit-learn's convention for fits
    without a target, so the estimator works inside a Pipeline).

    Ids: any non-negative integers; they are mapped internally. predict() on an id never seen in
    fit uses what is known: the global mean plus the known side's bias (its factors count as 0).
    """

    def __init__(self, n_factors=40, solver="sgd", learning_rate=0.1, reg=None, reg_user=None,
                 reg_item=None, reg_bias=None, use_bias=True, n_epochs=100,
                 learning_rate_schedule="adaptive", init_std=0.01, early_stopping=True,
                 validation_fraction=0.1, n_iter_no_change=5, tol=1e-4, refit=True,
                 duplicates="error",
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
        self.refit = refit
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
        p["reg_user"], p["reg_item"] = self._regs()
        if not isinstance(self.refit, (bool, np.bool_)):
            raise TypeError("refit must be a bool")
        p["reg_bias"] = (_DEFAULT_REG_BIAS[self.solver] if self.reg_bias is None
                         else R.check_float(self.reg_bias, "reg_bias"))
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
        p["early_stopping"] = bool(self.early_stopping)
        p["use_bias"] = bool(self.use_bias)
        p["adaptive"] = self.learning_rate_schedule == "adaptive"
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

    def _regs(self):
        """(reg_user, reg_item) of one fit: the given ones, else reg, else the fixed defaults."""
        reg = None if self.reg is None else R.check_float(self.reg, "reg")
        reg_user = (R.check_float(self.reg_user, "reg_user") if self.reg_user is not None
                    else _DEFAULT_REG_USER if reg is None else reg)
        reg_item = (R.check_float(self.reg_item, "reg_item") if self.reg_item is not None
                    else _DEFAULT_REG_ITEM if reg is None else reg)
        return reg_user, reg_item

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X, y=None, eval_set=None, resume=False, callbacks=None):
        """Fit on ratings: a rating matrix (rows = users, columns = items; scipy.sparse with
        the ratings as stored entries, or a dense 2-d array with NaN where not rated; y is
        ignored), a (users, items, ratings) tuple, or an (n, 2) array of (user, item) ids with
        the ratings in y. eval_set: optional (users, items, ratings) reported per epoch (and
        used for early stopping instead of a held-out part). resume: continue from the last
        checkpoint in checkpoint_dir. callbacks: callables ``cb(info) -> bool`` called after
        every epoch with a ``harpdaal._driver.IterationInfo`` (``info.iteration``,
        ``info.metrics``: this epoch's history entry); a true return value stops the fit.

        With early stopping on an internal split and refit or a regularisation search (the
        defaults), fit runs several fits (see ``_fit_selected``): verbose and callbacks follow
        each of them; only the last one, the model's, writes checkpoints and resumes."""
        comm = fit_communicator()
        distributed = comm.size > 1
        p = agree(comm, self._validated)
        self.__dict__.pop("reg_search_", None)
        if p["early_stopping"] and eval_set is None and (self.refit or self._searches_reg()):
            return self._fit_selected(comm, distributed, X, y, resume, callbacks)
        return self._fit(comm, distributed, X, y, eval_set, resume, callbacks)

    def _searches_reg(self):
        return self.reg is None and self.reg_user is None and self.reg_item is None

    def _fit_selected(self, comm, distributed, X, y, resume, callbacks):
        """Early stopping on the internal split for each regularisation tried (REG_GRID with
        reg None, else the given one), all on the same split; then, with refit, a fit on all the
        ratings for the winner's best epoch count, else the winner itself. Each fit is a clone
        of this estimator run by ``_fit`` (distributed under MPI); only the model's fit uses
        checkpoint_dir."""
        t0 = time.perf_counter()
        seed = self.random_state
        # what the model's fit would refuse, refused before the search
        if resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir: the folder an earlier fit wrote "
                             "its checkpoints to")
        if self.checkpoint_dir is not None and seed is None:
            raise ValueError("checkpoint_dir needs random_state to be an int (got None), so that "
                             "a resumed fit continues the same random stream")
        if seed is None:  # one split for every regularisation tried, the same on every rank
            seed = int(np.random.SeedSequence().entropy % (2**63))
            if distributed:
                seed = comm.bcast_object(seed, root=0)
        tried = ([{"reg": r} for r in REG_GRID[self.solver]] if self._searches_reg() else [{}])
        fits, search = [], []
        say = self.verbose and comm.rank == 0
        for params in tried:
            sub = clone(self).set_params(random_state=seed, refit=False, checkpoint_dir=None,
                                         **params)
            if say:
                print("MatrixFactorization: early stopping on {:g} of the ratings, reg_user {:g},"
                      " reg_item {:g}".format(self.validation_fraction, *sub._regs()),
                      file=sys.stderr, flush=True)
            sub._fit(comm, distributed, X, y, None, False, callbacks)
            fits.append(sub)
            search.append({"reg_user": sub.reg_user_, "reg_item": sub.reg_item_,
                           "val_rmse": sub.history_[sub.best_epoch_ - 1]["val_rmse"],
                           "best_epoch": sub.best_epoch_, "n_epochs": sub.n_epochs_})
        # the first of equals: the smallest regularisation
        won = min(range(len(fits)), key=lambda j: search[j]["val_rmse"])
        if self.refit:
            final = clone(self).set_params(early_stopping=False,
                                           n_epochs=search[won]["best_epoch"], **tried[won])
        elif self.checkpoint_dir is not None or resume:
            final = clone(self).set_params(**tried[won])  # the winner again, checkpointed
        else:
            final = None
        if final is not None:
            if say:
                what = "all the ratings" if self.refit else "the same split"
                print("MatrixFactorization: fit on {}, reg_user {:g}, reg_item {:g}, {} epochs"
                      .format(what, *final._regs(), final.n_epochs), file=sys.stderr, flush=True)
            final._fit(comm, distributed, X, y, None, resume, callbacks)
            fits.append(final)
        model = fits[-1] if final is not None else fits[won]
        params = self.get_params(deep=False)
        for name, value in vars(model).items():
            if name not in params:
                setattr(self, name, value)
        self.reg_search_ = search
        self.fit_time_ = time.perf_counter() - t0
        timings = {}
        for f in fits:
            for name, value in f.timings_.items():
                if name not in ("glue", "total"):
                    timings[name] = timings.get(name, 0.0) + value
        timings["glue"] = max(self.fit_time_ - timings["compute"] - timings["comm"], 0.0)
        timings["total"] = self.fit_time_
        self.timings_ = timings
        return self

    def _fit(self, comm, distributed, X, y=None, eval_set=None, resume=False, callbacks=None):
        """fit on `comm`: the one-process steps, or the distributed ones (the ratings split by
        user over the ranks; in one process, the same code path on a LocalCommunicator)."""
        t0 = time.perf_counter()
        if distributed:
            from ._rotation import fit_distributed

            self._set_distributed(fit_distributed(self, comm, X, y, eval_set, resume, callbacks))
        else:
            self._fit_local(comm, X, y, eval_set, resume, callbacks)
        self.reg_user_, self.reg_item_ = self._regs()
        self.fit_time_ = time.perf_counter() - t0
        tm = self.timings_
        tm["glue"] = max(self.fit_time_ - tm["compute"] - tm["comm"], 0.0)
        tm["total"] = self.fit_time_
        return self

    def _loop(self, p, comm, ck, saved, callbacks, rng=None):
        """The fit driver's loop with this estimator's early stopping, progress and checkpoints."""
        return FitLoop(max_iter=p["epochs"], comm=comm, verbose=self.verbose,
                       desc="MatrixFactorization", log=_log_line,
                       monitor="val_rmse" if p["early_stopping"] else None,
                       early_stopping=p["early_stopping"], patience=p["patience"],
                       min_delta=p["tol"], checkpointer=ck, saved=saved, rng=rng,
                       callbacks=callbacks)

    def _set_result(self, result):
        self.n_epochs_ = result.n_iter
        self.best_epoch_ = result.best_iter if self.early_stopping else result.n_iter
        self.history_ = result.history
        self.timings_ = {"compute": result.timings["compute"], "comm": result.timings["comm"]}

    def _fit_local(self, comm, X, y, eval_set, resume, callbacks):
        p = self._validated()
        users, items, ratings, _ = R.as_triplets(X, y)
        ck, saved = for_estimator(self, "MatrixFactorization", resume=resume,
                                  data=(users, items, ratings))
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
                raise ValueError("early_stopping: too few ratings to hold out a validation set; "
                                 "pass early_stopping=False")
            vi, ti = perm[:n_val], perm[n_val:]
            val = (u[vi], i[vi], ratings[vi].astype(np.float32))
            u, i, ratings = u[ti], i[ti], ratings[ti]
        self._setup_model(p, ratings, rng)
        if self.solver == "sgd":
            self._fit_sgd(p, comm, ck, saved, callbacks, u, i, ratings, val, rng)
        else:
            self._fit_ccd(p, comm, ck, saved, callbacks, u, i, ratings, val)
            self._finish(u, i)

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
        use_bias = bool(self.use_bias)
        self._bu = np.zeros(nu, np.float32) if use_bias else None
        self._bi = np.zeros(ni, np.float32) if use_bias else None

    def _eval_arrays(self, eval_set):
        if not (isinstance(eval_set, tuple) and len(eval_set) == 3):
            raise TypeError("eval_set must be a (users, items, ratings) tuple")
        eu, ei, er, _ = R.as_triplets(eval_set)
        return self._map_known(eu, ei) + (er.astype(np.float32),)

    def _map_known(self, users, items):
        """Internal ids, with -1 for ids unseen in fit."""
        return R.map_known(self.user_ids_, users), R.map_known(self.item_ids_, items)

    def _fit_sgd(self, p, comm, ck, saved, callbacks, u, i, ratings, val, rng):
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
        self.grid_ = grid
        if val is not None:  # validation ids in the kernel's relabelled space
            vu, vi, vr = val
            val = (np.where(vu >= 0, data.user_perm[np.maximum(vu, 0)], -1).astype(np.int32),
                   np.where(vi >= 0, data.item_perm[np.maximum(vi, 0)], -1).astype(np.int32), vr)
        step = SGDStep(p, data, self._P, self._Q, self._bu, self._bi, rng, val, self.global_mean_,
                       self._scale, self.verbose)
        result = self._loop(p, comm, ck, saved, callbacks, rng={"rng": rng}).run(step)
        self._set_result(result)
        # back from the kernel's relabelled rows to the internal (sorted-id) order, and to
        # rating units (_finish's factor rescaling, in the same pass), in place: no second table
        root = np.float32(np.sqrt(self._scale))
        _core.mf.permute_rows(step.P, data.user_perm, float(root))
        _core.mf.permute_rows(step.Q, data.item_perm, float(root))
        self._P, self._Q = step.P, step.Q
        if self._bu is not None:
            self._bu = step.bu[data.user_perm]
            self._bi = step.bi[data.item_perm]
        # the seen-item lists are grouped on first use (recommend / save), not in fit
        self._finish(seen=functools.partial(R.seen_lists, data.users, data.items, data.user_perm,
                                            data.item_perm), factors_scaled=True)

    def _fit_ccd(self, p, comm, ck, saved, callbacks, u, i, ratings, val):
        rs = ((ratings - self.global_mean_) / self._scale).astype(np.float32)
        step = CCDStep(p, u, i, rs, self._P, self._Q, self._bu, self._bi, val, self.global_mean_,
                       self._scale, self.verbose)
        result = self._loop(p, comm, ck, saved, callbacks).run(step)
        self._set_result(result)
        self._P, self._Q, self._bu, self._bi = step.P, step.Q, step.bu, step.bi
        self.global_mean_ += step.shift() * self._scale  # the learnt offset, in rating units

    def _set_distributed(self, fitted):
        """The estimator's fitted attributes from fit_distributed's result."""
        self.user_ids_, self.item_ids_ = fitted.user_ids, fitted.item_ids
        self.n_factors_, self.grid_ = fitted.n_factors, fitted.grid
        self.global_mean_, self._scale = fitted.global_mean, fitted.scale
        self.global_mean_ += fitted.shift * fitted.scale  # CCD++'s learnt offset (else 0)
        self._P, self._Q, self._bu, self._bi = fitted.P, fitted.Q, fitted.user_bias, fitted.item_bias
        self._set_result(fitted.result)
        self.timings_.update(fitted.timings)
        if fitted.rotation_timer is not None:
            self.rotation_timer_ = fitted.rotation_timer
        self._finish(*fitted.seen)  # seen items: this rank's users; recommend() on others sees none

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

    def _predict_internal(self, u, i):
        """Predictions for internal ids (-1 = unknown) in rating units."""
        return predict_pairs(u, i, self._P, self._Q, self._bu, self._bi, self.n_factors_,
                             self.global_mean_, _resolve_jobs(self.n_jobs))

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

    def _internal_items(self, ids, name):
        """Internal positions of original item ids (ids never seen in fit are refused)."""
        ids = R._as_id_array(np.atleast_1d(np.asarray(ids)).ravel(), name)
        pos = np.searchsorted(self.item_ids_, ids)
        pos = np.minimum(pos, max(self.item_ids_.size - 1, 0))
        known = self.item_ids_.size > 0 and bool(np.all(self.item_ids_[pos] == ids))
        if not known:
            bad = ids[self.item_ids_[pos] != ids] if self.item_ids_.size else ids
            raise ValueError(f"{name}: item id {int(bad[0])} was not in the training ratings")
        return pos

    def recommend(self, user, n=10, exclude_seen=True, filter_items=None, items=None):
        """The n best items for `user` (an original id, or an array of them), as
        ``(item_ids, scores)`` in rating units, best first (ties: the lower internal item id).

        One user: 1-d arrays without the excluded items (fewer than n when fewer remain).
        An array of users: 2-d arrays, one row per user, scored by one blocked matrix product
        per 1024 users; excluded items rank last with score -inf. ``exclude_seen``: leave out
        the items the user rated in fit (under MPI: the items of this rank's users).
        ``filter_items``: item ids never recommended. ``items``: rank only these item ids.
        A user never seen in fit gets the items by global mean + item bias."""
        self._check_fitted()
        n = R.check_int(n, "n", 1)
        scalar = np.ndim(user) == 0
        uid = R._as_id_array(np.atleast_1d(np.asarray(user)).ravel(), "user")
        if not scalar and np.ndim(user) != 1:
            raise ValueError(f"user: expected an id or a 1-d array of ids, got shape "
                             f"{np.shape(user)}")
        u, _ = self._map_known(uid, np.zeros(uid.size, np.int64))
        cand = None
        if items is not None:
            if filter_items is not None:
                raise ValueError("items and filter_items cannot both be given")
            cand = np.unique(self._internal_items(items, "items"))
        blocked = None
        if filter_items is not None:
            blocked = np.unique(self._internal_items(filter_items, "filter_items"))
        k = self.n_factors_
        # score = mean + b_u + b_i + p_u . q_i: the item bias rides along the product, the
        # user's constant is added after the selection (it does not change the order)
        known = u >= 0
        queries = np.zeros((uid.size, k), np.float64)
        queries[known] = self._P[u[known], :k]
        user_const = np.full(uid.size, self.global_mean_, np.float64)
        if self._bu is not None:
            user_const[known] += self._bu[u[known]]
        seen_rows = None
        if exclude_seen:
            ptr, seen = self._seen_csr()
            if ptr is not None:
                rows = np.where(known, u, 0)
                starts, ends = ptr[rows], ptr[rows + 1]
                lengths = np.where(known, ends - starts, 0)
                take = np.concatenate([np.arange(a, a + c) for a, c in zip(starts, lengths)]) \
                    if lengths.sum() else np.zeros(0, np.int64)
                cols = seen[take].astype(np.int64)
                if cand is not None:  # positions among the candidates
                    at = np.searchsorted(cand, cols)
                    at = np.minimum(at, max(cand.size - 1, 0))
                    ok = cand.size > 0 and (cand[at] == cols)
                    rows_of = np.repeat(np.arange(uid.size), lengths)
                    cols, rows_of = at[ok], rows_of[ok]
                    lengths = np.bincount(rows_of, minlength=uid.size)
                indptr = np.concatenate([[0], np.cumsum(lengths)])
                seen_rows = sp.csr_matrix((np.ones(cols.size, np.int8), cols, indptr),
                                          shape=(uid.size, self.item_ids_.size if cand is None
                                                 else cand.size))
        if blocked is not None and cand is None:
            filter_pos = blocked
        else:
            filter_pos = None
        ids, scores = top_n(queries, self._Q[:, :k].astype(np.float64, copy=False), n,
                            filter_rows=seen_rows, filter_ids=filter_pos, candidates=cand,
                            item_offset=self._bi, dtype=np.float64, filtered=-np.inf,
                            n_threads=_resolve_jobs(self.n_jobs))
        scores += user_const[:, None]
        pos = ids if cand is None else cand[ids]
        out_ids = self.item_ids_[pos]
        if scalar:
            keep = np.isfinite(scores[0])
            return out_ids[0][keep], scores[0][keep]
        return out_ids, scores

    def similar_items(self, item, n=10):
        """The n items whose factors are closest in cosine to `item`'s (an original id, or an
        array of them; the item itself first), as ``(item_ids, scores)``: 1-d for one item,
        2-d for an array."""
        self._check_fitted()
        n = R.check_int(n, "n", 1)
        scalar = np.ndim(item) == 0
        pos = self._internal_items(item, "item")
        k = self.n_factors_
        Q = self._Q[:, :k].astype(np.float64)
        norms = np.linalg.norm(Q, axis=1)
        norms[norms == 0] = 1e-30
        ids, scores = top_n(Q[pos] / norms[pos, None], Q, n, norms=norms, dtype=np.float64,
                            n_threads=_resolve_jobs(self.n_jobs))
        out = self.item_ids_[ids]
        return (out[0], scores[0]) if scalar else (out, scores)

    # -- model files (npz + JSON header, no pickle: harpdaal._persist) -------------------------
    def _model_arrays(self):
        self._check_fitted()
        ptr, seen = self._seen_csr()
        if ptr is None:  # a distributed fit whose rank holds no users
            ptr, seen = np.zeros(self.user_ids_.size + 1, np.int64), np.zeros(0, np.int32)
        comm = fit_communicator()
        if comm.size > 1:  # each rank knows the items its own users rated: one file has all
            rows = np.repeat(np.arange(ptr.size - 1, dtype=np.int32), np.diff(ptr))
            rows = comm.allgatherv_rows(np.ascontiguousarray(rows))
            items = comm.allgatherv_rows(np.ascontiguousarray(seen, dtype=np.int32))
            ptr = np.empty(self.user_ids_.size + 1, np.int64)
            seen = np.empty(items.size, np.int32)
            _core.mf.group_by_row(rows, items, self.user_ids_.size, ptr, seen)
        arrays = {"user_ids": self.user_ids_, "item_ids": self.item_ids_,
                  "user_factors": self.user_factors_, "item_factors": self.item_factors_,
                  "seen_ptr": ptr, "seen_items": seen}
        if self._bu is not None:
            arrays["user_bias"], arrays["item_bias"] = self._bu, self._bi
        attributes = {"n_factors_": int(self.n_factors_), "global_mean_": float(self.global_mean_),
                      "n_epochs_": int(getattr(self, "n_epochs_", 0)),
                      "best_epoch_": int(getattr(self, "best_epoch_", 0)),
                      "history_": getattr(self, "history_", [])}
        return arrays, attributes

    @classmethod
    def _from_model(cls, est, header, arrays, where):
        k = attribute(header, "n_factors_", where, int, low=1)
        mean = attribute(header, "global_mean_", where, float)
        check(np.isfinite(mean), where, "global_mean_ is not finite")
        user_ids = require(arrays, "user_ids", where, kind="i", ndim=1, low=0)
        item_ids = require(arrays, "item_ids", where, kind="i", ndim=1, low=0)
        nu, ni = user_ids.size, item_ids.size
        for name, ids in (("user_ids", user_ids), ("item_ids", item_ids)):
            check(ids.size == 0 or bool(np.all(np.diff(ids) > 0)), where,
                  f"{name} must be sorted and unique")
        P = require(arrays, "user_factors", where, shape=(nu, k))
        Q = require(arrays, "item_factors", where, shape=(ni, k))
        ptr = require(arrays, "seen_ptr", where, kind="i", shape=(nu + 1,), low=0)
        seen = require(arrays, "seen_items", where, kind="i", ndim=1, low=0, high=max(ni, 1))
        check(ptr[0] == 0 and ptr[-1] == seen.size and bool(np.all(np.diff(ptr) >= 0)), where,
              "seen_ptr is not a row pointer over seen_items")
        has_bias = "user_bias" in arrays or "item_bias" in arrays
        if has_bias:
            bu = require(arrays, "user_bias", where, shape=(nu,))
            bi = require(arrays, "item_bias", where, shape=(ni,))
        est.n_factors_, est.global_mean_, est._scale = k, mean, 1.0
        est.n_epochs_ = attribute(header, "n_epochs_", where, int, low=0)
        est.best_epoch_ = attribute(header, "best_epoch_", where, int, low=0)
        est.history_ = attribute(header, "history_", where, list)
        est.user_ids_, est.item_ids_ = user_ids.astype(np.int64), item_ids.astype(np.int64)
        ld = R.padded_width(k)
        est._P = R.aligned_empty((nu, ld))
        est._P[:, :k] = P
        est._Q = R.aligned_empty((ni, ld))
        est._Q[:, :k] = Q
        est._bu = bu.astype(np.float32) if has_bias else None
        est._bi = bi.astype(np.float32) if has_bias else None
        est._seen_ptr = ptr.astype(np.int64)
        est._seen_items = seen.astype(np.int32)
        est._seen_lazy = None
