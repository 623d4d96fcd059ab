"""Distributed MatrixFactorization: ratings split by user across ranks.

solver='sgd' -- Harp's model rotation (Harp-DAAL MF-SGD, computation model B)
    Item factors are cut into ``slices_per_rank`` (S) slices per rank, S * size in all; a slice
    is one float32 row of a ``harpdaal.comm.ModelRotator`` model (factor rows, AdaGrad
    accumulators, biases). Each step a rank trains its users' ratings against the slice of one
    slot, then ``rotate(k)`` sends it on (non-blocking) while the next slot's slice, which
    arrived meanwhile, is trained: with S >= 2 one slice is always in flight while another is
    computed. After ``size`` rounds of S steps every rank has trained every slice once (an
    epoch) and every slice is back on its first rank. No two ranks ever hold the same slice and
    users never leave their rank, so updates never conflict.

    ``rotation_timer=f`` (a fraction in (0, 1]): Harp's dynamic rotation control with
    ``harpdaal.comm.RotationTimer``. Every step of every rank lasts the same time budget B; a rank
    trains chunks of its block until B is spent and leaves the rest for its next visit of that
    slice (a per-slice cursor, so every rating is trained in turn). B is re-solved each epoch from
    the ranks' measured rates so that the job completes a fraction f of all ratings per epoch:
    a slow rank no longer holds the others back (they keep working, all ranks reach each rotation
    together). The first epoch runs untimed to measure the rates.

solver='ccd' -- CCD++ with reduced item statistics (Harp's MF-CCD, users split by rank)
    Each rank keeps its users' factors and the residuals of its ratings. For each rank-one term t
    the item update q_it = sum_u e_ui p_ut / (reg n_i + sum_u p_ut^2) needs sums over every
    rater of item i, which live on all ranks: each rank computes its partial numerators and
    denominators and one allreduce of 2 x n_items values gives every rank the same new item
    column; the user update then needs only local data. This is the exact one-process algorithm
    (same updates in the same order; only the summation order differs). Rotating item factors
    instead would need ``size`` sequential rotation steps per rank-one update (the item sums
    are only complete after the slice has visited every rank), i.e. k * size latency-bound steps
    per epoch, while the reduction moves 2 * n_items numbers per update in one collective and
    keeps the per-rank memory of a replicated item table (n_items x k floats) that CCD++ needs
    anyway for the user updates.

    With biases, every sweep starts with their pass: each rank sums the residuals of its
    ratings per item; one allreduce of n_items + 1 values (the item sums and their total) gives
    every rank the same new global offset and item biases; the user biases need only local data.

Both solvers are steps of the fit driver (``harpdaal._driver.FitLoop``), which owns the epochs,
early stopping, checkpoints, progress and callbacks. Their validation RMSE (``eval_set`` or
``early_stopping``) combines the squared errors and counts of all ranks by an allreduce, so every
rank sees the same value and stops at the same epoch. ``fit_distributed`` returns the whole model
to the estimator (every rank ends with it).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import _core
from .._checkpoint import for_estimator
from .._driver import LoopResult, Step, agree
from . import _ratings as R

_TIMER_CHUNKS = 8       # pieces of each (rank, slice) block under the rotation timer


def _global_ids(comm, local_ids):
    local_unique, _ = R.map_ids(local_ids)
    gathered = comm.allgatherv_rows(np.ascontiguousarray(local_unique, dtype=np.int64))
    return np.unique(gathered)


def _order(seed, *key, grid):
    """The grid column order for one kernel call: a function of the seed and the call's place
    (rank, epoch, step, chunk), so a resumed fit draws the same orders without saved RNG state."""
    return np.random.default_rng([seed, *key]).permutation(grid).astype(np.int32)


class _Data:
    """This rank's share: its users (compact rows), global items, standardised ratings, and the
    validation ratings of its users."""

    def __init__(self, p, comm, users, items, ratings, eval_set, seed):
        rank = comm.rank
        self.user_ids = _global_ids(comm, users)
        self.item_ids = _global_ids(comm, items)
        self.nu, self.ni = self.user_ids.size, self.item_ids.size
        u = R.index_of(self.user_ids, users)
        i = R.index_of(self.item_ids, items)
        self.seen = (u, i)  # every local rating, for recommend()'s seen items
        self.my_users, lu = R.compact(u, self.nu)
        owners = np.zeros(self.nu, np.int32)
        owners[self.my_users] = 1
        comm.allreduce_array(owners, op="sum")
        if owners.max() > 1:
            bad = self.user_ids[int(np.argmax(owners))]
            raise ValueError(f"ratings of user {bad} are on more than one rank: split the "
                             "ratings by user across ranks")
        val = None
        if eval_set is not None:
            val = self._route_eval(comm, eval_set)
        elif p["early_stopping"]:
            # each rank holds out its own share (a rank-specific stream, so the parts differ)
            perm = np.random.default_rng([seed, 2, rank]).permutation(ratings.size)
            n_val = int(round(p["vf"] * ratings.size))
            counts = np.array([n_val, ratings.size - n_val], np.int64)
            comm.allreduce_array(counts)
            if counts[0] < 1 or counts[1] < 1:
                raise ValueError("early_stopping: too few ratings to hold out a validation set; "
                                 "pass early_stopping=False")
            vi, ti = perm[:n_val], perm[n_val:]
            val = (lu[vi].astype(np.int32), i[vi].astype(np.int32), ratings[vi].copy())
            lu, i, ratings = lu[ti], i[ti], ratings[ti]
        stats = np.array([ratings.sum(), float(ratings.size)], np.float64)
        comm.allreduce_array(stats)
        mu = stats[0] / stats[1]
        var = np.array([np.sum((ratings - mu) ** 2)], np.float64)
        comm.allreduce_array(var)
        self.global_mean = float(mu)
        self.scale = float(max(np.sqrt(var[0] / stats[1]), 1e-4))
        self.lu = lu.astype(np.int32)
        self.gi = i.astype(np.int32)
        self.rs = ((ratings - mu) / self.scale).astype(np.float32)
        self.val = val

    def _route_eval(self, comm, eval_set):
        """eval_set: each rank passes its part (any split, e.g. all on rank 0). Every rating is
        scored on the rank that trains its user; ratings of users nobody trains on rank 0."""
        eu, ei, er = eval_set
        eu = comm.allgatherv_rows(np.ascontiguousarray(eu))
        ei = comm.allgatherv_rows(np.ascontiguousarray(ei))
        er = comm.allgatherv_rows(np.ascontiguousarray(er))
        gu, gi = R.map_known(self.user_ids, eu), R.map_known(self.item_ids, ei)
        row = np.full(gu.size, -1, np.int64)
        if self.my_users.size:
            pos = np.minimum(np.searchsorted(self.my_users, np.maximum(gu, 0)),
                             self.my_users.size - 1)
            hit = (gu >= 0) & (self.my_users[pos] == gu)
            row[hit] = pos[hit]
        keep = row >= 0
        if comm.rank == 0:
            keep |= gu < 0
        return (row[keep].astype(np.int32), gi[keep].astype(np.int32), er[keep].copy())


def _unique_pairs(users, items, ratings, policy, n_threads):
    """The duplicates policy, applied only when there are repeated (user, item) pairs: they are
    counted by the kernel's O(n) bucketing (one block) instead of sorting every rating."""
    if users.size == 0:
        return users, items, ratings
    uu, lu = R.map_ids(users, n_threads)
    ui, li = R.map_ids(items, n_threads)
    n = ratings.size
    scratch = (np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float32),
               np.empty(2, np.int64))
    n_dup = _core.mf.bucket(lu, li, np.zeros(n, np.float32), uu.size, ui.size, 1, *scratch, 1,
                            n_threads)
    if n_dup == 0:
        return users, items, ratings
    return R.resolve_duplicates(users, items, ratings, policy)


def _eval_triplets(eval_set):
    if not (isinstance(eval_set, tuple) and len(eval_set) == 3):
        raise TypeError("eval_set must be a (users, items, ratings) tuple")
    return R.as_triplets(eval_set, allow_empty=True)[:3]


def _sums(data, P, ub, Q, qb, k, nt, want_train, shift=0.0):
    """[train SSE, train n, validation SSE, validation n] of this rank, in rating units.
    shift: a learnt offset added to every prediction (standardised units)."""
    out = np.zeros(4, np.float64)
    if want_train and data.lu.size:
        sse = _core.mf.sum_squared_error(data.lu, data.gi, data.rs, P, Q, ub, qb, k, shift, nt)
        out[0], out[1] = sse * data.scale ** 2, data.lu.size
    if data.val is not None:
        vrow, vi, vr = data.val
        pred = np.full(vrow.size, shift, np.float32)
        both = (vrow >= 0) & (vi >= 0)
        if both.any():
            tmp = np.empty(int(both.sum()), np.float32)
            _core.mf.sgd_predict(np.ascontiguousarray(vrow[both]), np.ascontiguousarray(vi[both]),
                                 P, Q, ub, qb, k, shift, tmp, nt)
            pred[both] = tmp
        if ub is not None:  # the fallback rule: mean plus the known side's bias
            only_u = (vrow >= 0) & (vi < 0)
            pred[only_u] += ub[vrow[only_u]]
            only_i = (vrow < 0) & (vi >= 0)
            pred[only_i] += qb[vi[only_i]]
        pred = pred.astype(np.float64) * data.scale + data.global_mean
        out[2], out[3] = np.sum((pred - vr) ** 2), vrow.size
    return out


class _DistStep(Step):
    """What both distributed solvers share: the epoch count, the per-epoch record with the
    RMSEs combined across ranks (bitwise the same on every rank, so every rank takes the same
    early-stopping decision), early stopping's snapshot of the whole model, and the final model.
    A solver supplies run_epoch(epoch), users(), items(), state() / load_state(), close(),
    and shift() when it learns a global offset."""

    def _setup(self, p, comm, data, verbose):
        self.p, self.comm, self.data, self.verbose = p, comm, data, bool(verbose)
        self.epoch = 0
        self.compute_s = self.comm_s = 0.0
        self._scored = None   # (P, user bias, Q, item bias, [offset]) last scored
        self._best = None     # the snapshot early stopping restored

    def run(self, n):
        records = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.run_epoch(self.epoch + 1)
            seconds = time.perf_counter() - t0
            self.epoch += 1
            records.append(self._record(seconds))
        return records

    def _record(self, seconds):
        rec = {"epoch": self.epoch, "seconds": seconds}
        self._scored = None
        if self.verbose or self.data.val is not None:
            P, ub = self.users()
            Q, qb = self.items()
            self._scored = (P, ub, Q, qb, np.array([self.shift()], np.float32))
            sums = _sums(self.data, P, ub, Q, qb, self.p["k"], self.p["threads"], self.verbose,
                         self.shift())
            self.comm.allreduce_array(sums)
            self.comm.broadcast_array(sums, root=0)  # bitwise the same decision on every rank
            if self.verbose:
                rec["train_rmse"] = float(np.sqrt(sums[0] / max(sums[1], 1)))
            if self.data.val is not None:
                rec["val_rmse"] = float(np.sqrt(sums[2] / max(sums[3], 1)))
        return rec

    def shift(self):
        """The learnt global offset (standardised units); 0 without one."""
        return 0.0

    def snapshot(self):
        return {name: a.copy() for name, a in zip(("P", "ubias", "Q", "qbias", "shift"),
                                                   self._scored) if a is not None}

    def restore(self, arrays):
        self._best = arrays

    def model(self):
        """(this rank's user factors, their biases, item factors, item biases, global offset):
        the restored snapshot, else the current model (collective)."""
        if self._best is not None:
            b = self._best
            return b["P"], b.get("ubias"), b["Q"], b.get("qbias"), float(b["shift"][0])
        P, ub = self.users()
        Q, qb = self.items()
        return P, ub, Q, qb, self.shift()


class _SGDRotation(_DistStep):
    """Distributed MF-SGD over a ModelRotator of item slices (see the module docstring)."""

    def __init__(self, p, comm, data, rng, seed, verbose):
        from ..comm import ModelRotator, RotationTimer

        self._setup(p, comm, data, verbose)
        self.seed = seed
        rank, size = comm.rank, comm.size
        k, ld = p["k"], R.padded_width(p["k"])
        self.k, self.ld = k, ld
        nu, ni = data.nu, data.ni
        self.adaptive = p["adaptive"]
        use_bias = p["use_bias"]
        # the initial factors of a one-process fit (same seed draw, same rows), so every rank
        # starts from the same model
        seed0 = R.init_seed(rng)
        nt = p["threads"]
        P_all = R.normal_factors(nu, k, p["init_std"], seed0, 0, nt)
        Q_all = R.normal_factors(ni, k, p["init_std"], seed0, 1, nt)[:, :k]
        nmy = data.my_users.size
        self.P = R.aligned_empty((nmy, ld), fill=None)
        np.take(P_all, data.my_users, axis=0, out=self.P)
        self.uacc = np.ones(nmy, np.float32) if self.adaptive else None
        self.ubias = np.zeros(nmy, np.float32) if use_bias else None
        del P_all

        S = p["slices_per_rank"]
        G = S * size                                   # global slices; slice g starts on g // S
        self.S = S
        slice_of = rng.permutation(ni) * G // max(ni, 1)
        self.members = [np.flatnonzero(slice_of == g) for g in range(G)]
        cap = max(1, max(m.size for m in self.members))
        self.cap = cap
        pos = np.empty(ni, np.int64)
        for m in self.members:
            pos[m] = np.arange(m.size)
        self.buf_len = -(-(cap * ld + 2 * cap) // 16) * 16   # rows | acc | bias
        model = np.zeros((S, self.buf_len), np.float32)
        for s in range(S):
            m = self.members[rank * S + s]
            Qs, acc, _ = self._views(model[s])
            Qs[: m.size, :k] = Q_all[m]
            acc[:] = 1.0
        del Q_all

        # this rank's ratings per global slice, bucketed for the kernel's threads; under the
        # timer each block is cut into chunks trained one after the other until the budget ends
        self.timed = p["timer"] is not None
        n_chunks = _TIMER_CHUNKS if self.timed else 1
        chunk_rng = np.random.default_rng([seed, 3, rank])
        sl = slice_of[data.gi]
        grid = p["grid"]
        self.blocks = []
        for g in range(G):
            sel = np.flatnonzero(sl == g)
            if n_chunks > 1:
                sel = chunk_rng.permutation(sel)
            parts = [c for c in np.array_split(sel, min(n_chunks, max(sel.size, 1))) if c.size] \
                or [sel]
            self.blocks.append([R.bucket(data.lu[c], pos[data.gi[c]], data.rs[c], nmy, cap, grid,
                                         p["threads"]) for c in parts])
        self.block_sizes = [[c[2].size for c in b] for b in self.blocks]
        self.cursor = np.zeros(G, np.int64)
        self.rot = ModelRotator(model, comm=comm, slices_per_rank=S)
        self.timer = RotationTimer(comm, target_fraction=p["timer"]) if self.timed else None
        self.timer_ready = False
        self.wait = 0.0
        self.done = self.total = 0

    def _views(self, row):
        cap, ld = self.cap, self.ld
        Q = row[: cap * ld].reshape(cap, ld)
        return Q, row[cap * ld : cap * ld + cap], row[cap * ld + cap : cap * ld + 2 * cap]

    def run_epoch(self, epoch):
        p, k, rank = self.p, self.k, self.comm.rank
        use_timer = self.timed and self.timer_ready
        busy_max = 0.0
        for rnd in range(self.comm.size):
            for s in range(self.S):
                w0 = time.perf_counter()
                row = self.rot.get(s)[0]           # waits for the slice (it travelled meanwhile)
                g = self.rot.slice_id(s)
                c0 = time.perf_counter()
                self.wait += c0 - w0
                self.comm_s += c0 - w0
                Q, acc, bias = self._views(row)
                chunks, sizes = self.blocks[g], self.block_sizes[g]
                n = len(chunks)
                if self.timed:
                    self.timer.start()
                done = n_done = 0
                for c in range(n):
                    if use_timer and self.timer.expired():
                        break
                    j = (int(self.cursor[g]) + c) % n
                    su, si, sr, ptr = chunks[j]
                    order = _order(self.seed, 4, rank, epoch, rnd * self.S + s, j, grid=p["grid"])
                    _core.mf.sgd_train_grid(
                        su, si, sr, ptr, order, self.P, Q, self.uacc,
                        acc if self.adaptive else None, self.ubias,
                        bias if self.ubias is not None else None, k, p["lr"], p["reg_user"],
                        p["reg_item"], p["reg_bias"], 0.0, self.adaptive, p["dynamic"],
                        p["threads"])
                    done += sizes[j]
                    n_done += 1
                self.cursor[g] = (self.cursor[g] + n_done) % n
                if self.timed:
                    self.timer.stop(work_done=done, work_total=sum(sizes))
                c1 = time.perf_counter()
                busy_max = max(busy_max, c1 - c0)
                self.compute_s += c1 - c0
                self.done += done
                self.total += sum(sizes)
                self.rot.rotate(s)                 # non-blocking: on to the next rank
        if self.timed:
            t0 = time.perf_counter()
            if not self.timer_ready:
                # the untimed first epoch measured the rates: start from the slowest step
                top = np.array([busy_max], np.float64)
                self.comm.allreduce_array(top, op="max")
                self.timer.budget = max(float(top[0]), self.timer.min_budget)
                self.timer_ready = True
            self.timer.adapt()
            self.comm_s += time.perf_counter() - t0

    def items(self):
        """(item factors (n_items, ld), item biases or None) on every rank (collective)."""
        t0 = time.perf_counter()
        every = self.rot.assemble()
        self.comm_s += time.perf_counter() - t0
        ni = sum(m.size for m in self.members)
        Q = R.aligned_empty((ni, self.ld))
        qb = np.zeros(ni, np.float32)
        for g, m in enumerate(self.members):
            q, _, b = self._views(every[g])
            Q[m] = q[: m.size]
            qb[m] = b[: m.size]
        return Q, (qb if self.ubias is not None else None)

    def users(self):
        return self.P, self.ubias

    def state(self):
        self.rot.wait_all()
        ids = [self.rot.slice_id(s) for s in range(self.S)]
        arrays = {"P": self.P, "slices": np.stack([self.rot.get(s)[0] for s in range(self.S)]),
                  "slice_ids": np.array(ids, np.int64), "cursor": self.cursor}
        if self.uacc is not None:
            arrays["uacc"] = self.uacc
        if self.ubias is not None:
            arrays["ubias"] = self.ubias
        extra = {"epoch": self.epoch,
                 "timer_budget": self.timer.budget if self.timer_ready else None}
        return arrays, extra

    def load_state(self, arrays, extra):
        self.rot.wait_all()
        ids = [self.rot.slice_id(s) for s in range(self.S)]
        if list(arrays["slice_ids"]) != ids:
            from .._checkpoint import CheckpointError

            raise CheckpointError(f"checkpoint holds item slices {list(arrays['slice_ids'])}, "
                                  f"this rank starts with {ids}")
        for s in range(self.S):
            self.rot.get(s)[0][...] = arrays["slices"][s]
        self.P[...] = arrays["P"]
        self.cursor[...] = arrays["cursor"]
        for name in ("uacc", "ubias"):
            if getattr(self, name) is not None:
                getattr(self, name)[...] = arrays[name]
        self.epoch = int(extra["epoch"])
        if extra.get("timer_budget") is not None and self.timed:
            self.timer.budget = float(extra["timer_budget"])
            self.timer_ready = True

    def close(self):
        self.rot.close()

    def rotation_timer(self):
        """What the timer did (rotation_timer_), or None without one."""
        if not self.timed:
            return None
        return {"budget_s": self.timer.budget, "done_fraction": self.done / max(self.total, 1),
                "history": self.timer.history}


class _CCDReduce(_DistStep):
    """Distributed CCD++ with allreduced item statistics (see the module docstring)."""

    def __init__(self, p, comm, data, rng, verbose):
        import scipy.sparse as sp

        self._setup(p, comm, data, verbose)
        k, ld = p["k"], R.padded_width(p["k"])
        self.k = k
        nmy, ni = data.my_users.size, data.ni
        P_all = R.normal_factors(data.nu, k, p["init_std"], R.init_seed(rng), 0, p["threads"])
        self.P = R.aligned_empty((nmy, ld), fill=None)
        np.take(P_all, data.my_users, axis=0, out=self.P)
        del P_all
        self.Q = R.aligned_empty((ni, ld))        # replicated; CCD++ starts from Q = 0
        # this rank's ratings as CSR (local users x global items) and a CSC view of them
        n = data.rs.size
        csr = sp.csr_matrix((np.arange(n, dtype=np.float64) + 1, (data.lu, data.gi)),
                            shape=(nmy, ni))
        csr.sort_indices()
        src = csr.data.astype(np.int64) - 1
        self.row_ptr = csr.indptr.astype(np.int64)
        self.col_idx = csr.indices.astype(np.int32)
        csc = sp.csc_matrix((np.arange(n, dtype=np.float64) + 1,
                             (data.lu[src], data.gi[src])), shape=(nmy, ni))
        csc.sort_indices()
        self.csc_to_csr = csc.data.astype(np.int64) - 1
        self.col_ptr = csc.indptr.astype(np.int64)
        self.row_idx = csc.indices.astype(np.int32)
        self.residual = np.ascontiguousarray(data.rs[src])   # CSR order
        self.reg_n_i = p["reg_item"] * np.diff(self.col_ptr).astype(np.float64)
        self.ubias = self.qbias = self.offset = None
        if p["use_bias"]:
            self.ubias = np.zeros(nmy, np.float32)
            self.qbias = np.zeros(ni, np.float32)
            self.offset = np.zeros(1, np.float32)
            # ratings per item and in all, over every rank
            counts = np.append(np.diff(self.col_ptr), n).astype(np.float64)
            comm.allreduce_array(counts, op="sum")
            self.item_counts, self.n_total = counts[:ni].copy(), float(counts[ni])

    def _bias_pass(self):
        """g, then every b_i (from residual sums allreduced over the ranks), then every b_u."""
        K, res, nt = _core.mf, self.residual, self.p["threads"]
        ni = self.data.ni
        sums = np.empty(ni + 1, np.float64)
        sums[ni] = K.ccd_dist_item_residual_sums(self.col_ptr, self.csc_to_csr, res, sums[:ni],
                                                 nt)
        c1 = time.perf_counter()
        self.comm.allreduce_array(sums, op="sum")
        self.comm_s += time.perf_counter() - c1
        shift = sums[:ni]
        K.ccd_dist_item_bias_step(shift, self.item_counts, float(sums[ni]), self.n_total,
                                  self.qbias, self.offset, self.p["reg_bias"], shift)
        K.ccd_dist_shift_residual(self.row_ptr, self.col_idx, res, shift, nt)
        K.ccd_dist_update_user_biases(self.row_ptr, res, self.ubias, self.p["reg_bias"], nt)

    def run_epoch(self, epoch):
        K = _core.mf
        P, Q, res, nt = self.P, self.Q, self.residual, self.p["threads"]
        rows = (self.row_ptr, self.col_idx)
        stats = np.empty((2, self.data.ni), np.float64)
        reg_user = self.p["reg_user"]
        if self.ubias is not None:
            c0, comm0 = time.perf_counter(), self.comm_s
            self._bias_pass()
            self.compute_s += time.perf_counter() - c0 - (self.comm_s - comm0)
        for t in range(self.k):
            c0 = time.perf_counter()
            K.ccd_dist_add_rank_one(*rows, res, P, Q, t, 1.0, nt)
            for _ in range(self.p["inner"]):
                K.ccd_dist_item_sums(self.col_ptr, self.row_idx, self.csc_to_csr, res, P, t,
                                     stats[0], stats[1], nt)
                stats[1] += self.reg_n_i
                c1 = time.perf_counter()
                self.comm.allreduce_array(stats, op="sum")   # every rank's raters of each item
                c2 = time.perf_counter()
                self.comm_s += c2 - c1
                c0 += c2 - c1                   # compute time excludes the allreduce
                num, den = stats
                Q[:, t] = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
                K.ccd_dist_update_users(*rows, res, P, Q, t, reg_user, nt)
            K.ccd_dist_add_rank_one(*rows, res, P, Q, t, -1.0, nt)
            self.compute_s += time.perf_counter() - c0

    def items(self):
        # every rank computed Q (and the item biases, the offset) from the same allreduced sums;
        # rank 0's copy is the reference
        t0 = time.perf_counter()
        self.comm.broadcast_array(self.Q, root=0)
        if self.qbias is not None:
            self.comm.broadcast_array(self.qbias, root=0)
            self.comm.broadcast_array(self.offset, root=0)
        self.comm_s += time.perf_counter() - t0
        return self.Q, self.qbias

    def users(self):
        return self.P, self.ubias

    def shift(self):
        return 0.0 if self.offset is None else float(self.offset[0])

    def _named(self):
        named = {"P": self.P, "Q": self.Q, "residual": self.residual, "ubias": self.ubias,
                 "qbias": self.qbias, "offset": self.offset}
        return {k: v for k, v in named.items() if v is not None}

    def state(self):
        return self._named(), {"epoch": self.epoch}

    def load_state(self, arrays, extra):
        for name, a in self._named().items():
            if name not in arrays:
                from .._checkpoint import CheckpointError

                raise CheckpointError(f"checkpoint holds no {name!r}: it was written by a fit "
                                      "of another model (or harpdaal release); start afresh")
            a[...] = arrays[name]
        self.epoch = int(extra["epoch"])

    def rotation_timer(self):
        return None


@dataclass
class DistributedFit:
    """What a distributed fit hands back to the estimator: the whole model on every rank (in
    standardised units: factors times sqrt(scale), biases times scale give rating units), and
    the loop's result."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    n_factors: int
    grid: int
    global_mean: float
    scale: float
    P: np.ndarray
    Q: np.ndarray
    user_bias: np.ndarray | None
    item_bias: np.ndarray | None
    shift: float             # a learnt offset to global_mean (standardised units; CCD++)
    seen: tuple              # this rank's (internal users, internal items) rated
    result: LoopResult
    timings: dict            # compute / comm of the whole fit (rotation_wait for SGD)
    rotation_timer: dict | None


def fit_distributed(est, comm, X, y=None, eval_set=None, resume=False, callbacks=None):
    """Fit `est`'s parameters on this rank's ratings `X` (users split by rank; one rank may have
    none). Collective; returns a DistributedFit, the same whole model on every rank."""
    p = agree(comm, est._validated)
    comm.check_same(est.get_params(), what="MatrixFactorization parameters")
    users, items, ratings, _ = agree(comm, lambda: R.as_triplets(X, y, allow_empty=True))
    total = np.array([ratings.size], np.int64)
    comm.allreduce_array(total)
    if total[0] == 0:
        raise ValueError("no ratings: the rating matrix is empty on every rank")
    if eval_set is not None:
        eval_set = agree(comm, lambda: _eval_triplets(eval_set))
    ck, saved = for_estimator(est, "MatrixFactorization", resume=resume,
                              data=(users, items, ratings), comm=comm)
    users, items, ratings = agree(
        comm, lambda: _unique_pairs(users, items, ratings, est.duplicates, p["threads"]))
    seed = est.random_state
    if seed is None:
        seed = comm.bcast_object(int(np.random.SeedSequence().entropy % (2**63)), root=0)
    seed = int(seed)
    rng = np.random.default_rng(seed)  # identical stream on every rank
    data = _Data(p, comm, users, items, ratings, eval_set, seed)
    del users, items, ratings
    if est.solver == "sgd":
        step = _SGDRotation(p, comm, data, rng, seed, est.verbose)
    else:
        step = _CCDReduce(p, comm, data, rng, est.verbose)
    try:
        loop = est._loop(p, comm, ck, saved, callbacks)
        result = loop.run(step)
        P, ub, Q, qb, shift = step.model()
    finally:
        step.close()
    # every rank ends with the whole model
    t0 = time.perf_counter()
    ids = comm.allgatherv_rows(data.my_users.astype(np.int64))
    rows = comm.allgatherv_rows(np.ascontiguousarray(P))
    P_all = R.aligned_empty((data.nu, P.shape[1]))
    P_all[ids] = rows
    bu = None
    if ub is not None:
        bu = np.zeros(data.nu, np.float32)
        bu[ids] = comm.allgatherv_rows(np.ascontiguousarray(ub))
    gather = time.perf_counter() - t0
    timings = {"compute": step.compute_s, "comm": step.comm_s + gather}
    if est.solver == "sgd":
        timings["rotation_wait"] = step.wait
    return DistributedFit(
        user_ids=data.user_ids, item_ids=data.item_ids, n_factors=p["k"], grid=p["grid"],
        global_mean=data.global_mean, scale=data.scale, P=P_all, Q=Q, user_bias=bu,
        item_bias=qb if ub is not None else None, shift=shift, seen=data.seen, result=result,
        timings=timings, rotation_timer=step.rotation_timer())
