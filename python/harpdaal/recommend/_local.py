"""One-process MatrixFactorization steps for the fit driver: SGD over a grid of rating blocks and
CCD++. Each step owns the model arrays it trains (in standardised units: ratings centred by the
global mean and divided by their standard deviation) and reports the training and validation
RMSE per epoch, in rating units."""
from __future__ import annotations

import time

import numpy as np

from .. import _core
from .._driver import Step
from . import _ratings as R


def predict_pairs(u, i, P, Q, bu, bi, k, global_mean, n_threads, scale=None, shift=0.0):
    """float32 predictions for internal ids (-1 = unseen: the global mean plus the known side's
    bias). scale None: a model in rating units. scale s: a model in standardised units (plus a
    learnt offset `shift`, CCD++'s g), whose predictions are brought back to rating units
    (prediction * s + global_mean)."""
    scaled = scale is not None
    n = u.size
    out = np.empty(n, np.float32)
    known = (u >= 0) & (i >= 0)
    offset = shift if scaled else global_mean
    if known.all():
        _core.mf.sgd_predict(u, i, P, Q, bu, bi, k, offset, out, n_threads)
    else:
        ku, ki = np.ascontiguousarray(u[known]), np.ascontiguousarray(i[known])
        tmp = np.empty(ku.size, np.float32)
        _core.mf.sgd_predict(ku, ki, P, Q, bu, bi, k, offset, tmp, n_threads)
        out[known] = tmp
        fb = np.full(n, offset if scaled else 0.0, np.float64)
        if bu is not None:
            fb += np.where(u >= 0, bu[np.maximum(u, 0)], 0.0)
            fb += np.where(i >= 0, bi[np.maximum(i, 0)], 0.0)
        out[~known] = fb[~known] if scaled else fb[~known] + global_mean
    if scaled:
        out = out * np.float32(scale) + np.float32(global_mean)
    return out


class Scorer:
    """Training and validation RMSE (rating units) of a model in standardised units."""

    def __init__(self, p, train, val, global_mean, scale):
        self.k, self.nt = p["k"], p["threads"]
        self.train, self.mean, self.scale = train, global_mean, scale
        self.val = None
        if val is not None:
            u, i, r = val
            known = (u >= 0) & (i >= 0)
            # cold-start pairs are predicted by the fallback rule; score them separately
            self.val = (np.ascontiguousarray(u[known]), np.ascontiguousarray(i[known]),
                        ((r[known] - global_mean) / scale).astype(np.float32), val)

    def _rmse(self, u, i, r_scaled, model, shift):
        if u.size == 0:
            return float("nan")
        sse = _core.mf.sum_squared_error(u, i, r_scaled, *model, self.k, shift, self.nt)
        return float(np.sqrt(sse / u.size)) * self.scale

    def record(self, epoch, seconds, model, verbose, shift=0.0):
        """The epoch's history entry; model = (P, Q, user bias, item bias), shift: a learnt
        offset added to every prediction (standardised units)."""
        rec = {"epoch": epoch, "seconds": seconds}
        if verbose:
            rec["train_rmse"] = self._rmse(*self.train, model, shift)
        if self.val is not None:
            u, i, rs, full = self.val
            if u.size == full[0].size:
                rec["val_rmse"] = self._rmse(u, i, rs, model, shift)
            else:  # some validation pairs are cold-start: predict them all in rating units
                pred = predict_pairs(full[0], full[1], *model, self.k, self.mean, self.nt,
                                     scale=self.scale, shift=shift)
                rec["val_rmse"] = float(np.sqrt(np.mean((pred.astype(np.float64) - full[2]) ** 2)))
        return rec


def _aligned_copy(a):
    out = R.aligned_empty(a.shape, a.dtype, fill=None)
    out[...] = a
    return out


class _LocalStep(Step):
    """What both one-process solvers share: the epoch count, the per-epoch record, checkpoint
    state (the arrays an epoch updates in place) and early stopping's snapshot of the model.
    The model arrays are trained in place (standardised units)."""

    # a learnt global offset (CCD++ with biases): a 1-value float32 array, else None
    offset = None

    def __init__(self, P, Q, bu, bi, scorer, verbose):
        self.P, self.Q, self.bu, self.bi = P, Q, bu, bi
        self.scorer, self.verbose = scorer, bool(verbose)
        self.epoch = 0
        self.compute_s = 0.0

    def _epoch(self):
        raise NotImplementedError

    def run(self, n):
        records = []
        for _ in range(n):
            t0 = time.perf_counter()
            self._epoch()
            seconds = time.perf_counter() - t0
            self.compute_s += seconds
            self.epoch += 1
            records.append(self.scorer.record(self.epoch, seconds, self.model(), self.verbose,
                                              self.shift()))
        return records

    def model(self):
        return self.P, self.Q, self.bu, self.bi

    def shift(self):
        """The learnt global offset (standardised units); 0 without one."""
        return 0.0 if self.offset is None else float(self.offset[0])

    def _arrays(self):
        raise NotImplementedError

    def state(self):
        return self._arrays(), {"epoch": self.epoch}

    def load_state(self, arrays, extra):
        for name, a in self._arrays().items():
            if name not in arrays:  # e.g. a CCD++ checkpoint of a release without its biases
                from .._checkpoint import CheckpointError

                raise CheckpointError(f"checkpoint holds no {name!r}: it was written by a fit "
                                      "of another model (or harpdaal release); start afresh")
            np.copyto(a, arrays[name])
        self.epoch = int(extra["epoch"])

    def snapshot(self):
        snap = {"P": _aligned_copy(self.P), "Q": _aligned_copy(self.Q)}
        if self.bu is not None:
            snap.update(bu=self.bu.copy(), bi=self.bi.copy())
        if self.offset is not None:
            snap.update(offset=self.offset.copy())
        return snap

    def restore(self, arrays):
        for name in ("P", "Q", "bu", "bi", "offset"):
            if getattr(self, name) is not None:
                np.copyto(getattr(self, name), arrays[name])


class SGDStep(_LocalStep):
    """One epoch = one pass of the blocked SGD kernel over the grid, in a column order drawn
    from the fit's generator (saved with checkpoints). data: the bucketed ratings
    (_ratings.Bucketed), in the kernel's relabelled ids, as are P, Q, bu, bi and val's ids."""

    def __init__(self, p, data, P, Q, bu, bi, rng, val, global_mean, scale, verbose):
        scorer = Scorer(p, (data.users, data.items, data.ratings), val, global_mean, scale)
        super().__init__(P, Q, bu, bi, scorer, verbose)
        self.p, self.data, self.rng = p, data, rng
        self.uacc = np.ones(P.shape[0], np.float32) if p["adaptive"] else None
        self.iacc = np.ones(Q.shape[0], np.float32) if p["adaptive"] else None

    def _epoch(self):
        p, d = self.p, self.data
        order = self.rng.permutation(d.grid).astype(np.int32)
        # check_ids=False: bucket_relabel wrote d.users / d.items through the permutations it
        # checked, so they lie in [0, nu) / [0, ni) (no serial O(n) scan per epoch)
        _core.mf.sgd_train_grid(d.users, d.items, d.ratings, d.block_ptr, order, self.P, self.Q,
                                self.uacc, self.iacc, self.bu, self.bi, p["k"], p["lr"],
                                p["reg_user"], p["reg_item"], p["reg_bias"], 0.0, p["adaptive"],
                                p["dynamic"], p["threads"], False)

    def _arrays(self):
        named = {"P": self.P, "Q": self.Q, "uacc": self.uacc, "iacc": self.iacc, "bu": self.bu,
                 "bi": self.bi}
        return {k: v for k, v in named.items() if v is not None}


class CCDStep(_LocalStep):
    """One epoch = one CCD++ sweep over the k rank-one terms (CSR and CSC views of the ratings,
    residuals kept in CSR order), after one pass over the biases when bu, bi are given (then the
    step also learns a global offset, ``offset``). ratings_scaled: standardised float32 ratings
    of (u, i)."""

    def __init__(self, p, u, i, ratings_scaled, P, Q, bu, bi, val, global_mean, scale, verbose):
        import scipy.sparse as sp

        self.p = p
        nu, ni = P.shape[0], Q.shape[0]
        rs = ratings_scaled
        csr = sp.csr_matrix((np.arange(rs.size, dtype=np.float64) + 1, (u, i)), shape=(nu, ni))
        csr.sort_indices()
        src = csr.data.astype(np.int64) - 1  # original position of each CSR entry
        self.row_ptr = csr.indptr.astype(np.int64)
        self.col_idx = csr.indices.astype(np.int32)
        csc = sp.csc_matrix((np.arange(src.size, dtype=np.float64) + 1, (u[src], i[src])),
                            shape=(nu, ni))
        csc.sort_indices()
        self.csc_to_csr = csc.data.astype(np.int64) - 1
        self.col_ptr = csc.indptr.astype(np.int64)
        self.row_idx = csc.indices.astype(np.int32)
        self.residual = np.ascontiguousarray(rs[src])
        # the training RMSE is scored on the ratings in CSR order
        train = (np.repeat(np.arange(nu, dtype=np.int32), np.diff(self.row_ptr)), self.col_idx,
                 rs[src].copy())
        super().__init__(P, Q, bu, bi, Scorer(p, train, val, global_mean, scale), verbose)
        if bu is not None:
            self.offset = np.zeros(1, np.float32)

    def _epoch(self):
        p = self.p
        _core.mf.ccd_epoch(self.row_ptr, self.col_idx, self.col_ptr, self.row_idx,
                           self.csc_to_csr, self.residual, self.P, self.Q, p["k"], p["reg_user"],
                           p["reg_item"], p["inner"], p["threads"], self.bu, self.bi,
                           self.offset, p["reg_bias"])

    def _arrays(self):
        named = {"P": self.P, "Q": self.Q, "residual": self.residual, "bu": self.bu,
                 "bi": self.bi, "offset": self.offset}
        return {k: v for k, v in named.items() if v is not None}
