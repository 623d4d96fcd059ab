"""Distributed MF-SGD by Harp's model rotation (computation model B).

Ratings are split by user across ranks (each user's ratings live on one rank). Item factors are
cut into S = 2 * size slices; a slice is a single float32 buffer (factor rows, AdaGrad
accumulators, biases, slice id) that travels around the ring rank -> rank + 1. Each rank
computes on one slice while the slice it finished before is in flight to the next rank and the
one it needs next arrives from the previous rank (comm.irotate_array, non-blocking): rank r
computes slice (2 * (r - t // 2) + t % 2) mod S at step t, so every slice is on exactly one rank
at a time and every (user, item) rating is visited once per epoch (S steps).
"""
from __future__ import annotations

import inspect
import sys
import time

import numpy as np

from .. import _core
from . import _ratings as R


def _global_ids(comm, local_ids):
    local_unique, _ = R.map_ids(local_ids)
    gathered = comm.allgatherv_rows(np.ascontiguousarray(local_unique, dtype=np.int64))
    return np.unique(gathered)


def slice_at(rank, step, size):
    n_slices = 2 * size
    return (2 * (rank - step // 2) + step % 2) % n_slices


def fit_distributed(est, p, comm, users, items, ratings, eval_set):
    if est.early_stopping:
        raise NotImplementedError("early_stopping is not supported in distributed fits; "
                                  "pass eval_set to watch the validation RMSE")
    t_start = time.perf_counter()
    rank, size = comm.rank, comm.size
    comm.check_same(est.get_params(), what="MatrixFactorization parameters")
    seed = est.random_state
    if seed is None:
        seed = comm.bcast_object(int(np.random.SeedSequence().entropy % (2**63)), root=0)
    rng = np.random.default_rng(seed)  # identical stream on every rank

    est.user_ids_ = _global_ids(comm, users)
    est.item_ids_ = _global_ids(comm, items)
    nu, ni = est.user_ids_.size, est.item_ids_.size
    u = R.index_of(est.user_ids_, users)
    i = R.index_of(est.item_ids_, items)
    # this rank's users, compact
    my_users, lu = R.compact(u, nu)
    owners = np.zeros(nu, np.int32)
    owners[my_users] = 1
    comm.allreduce_array(owners, op="sum")
    if owners.max() > 1:
        bad = est.user_ids_[int(np.argmax(owners))]
        raise ValueError(f"ratings of user {bad} are on more than one rank: split the ratings "
                         "by user across ranks")
    stats = np.array([ratings.sum(), float(ratings.size)], np.float64)
    comm.allreduce_array(stats)
    mu = stats[0] / stats[1]
    var = np.array([np.sum((ratings - mu) ** 2)], np.float64)
    comm.allreduce_array(var)
    est.global_mean_ = float(mu)
    est._scale = float(max(np.sqrt(var[0] / stats[1]), 1e-4))

    k, ld = p["k"], R.padded_width(p["k"])
    est.n_factors_ = k
    adaptive = est.learning_rate_schedule == "adaptive"
    use_bias = bool(est.use_bias)
    # the same draws as a one-process fit of the whole data, so the start point matches
    P_all = rng.normal(0.0, p["init_std"], size=(nu, k)).astype(np.float32)
    Q_all = rng.normal(0.0, p["init_std"], size=(ni, k)).astype(np.float32)

    P = R.aligned_empty((my_users.size, ld))
    P[:, :k] = P_all[my_users]
    uacc = np.ones(my_users.size, np.float32) if adaptive else None
    ubias = np.zeros(my_users.size, np.float32) if use_bias else None

    # item slices
    n_slices = 2 * size
    slice_of = rng.permutation(ni) * n_slices // max(ni, 1)
    members = [np.flatnonzero(slice_of == s) for s in range(n_slices)]  # global item ids
    cap = max(1, max(m.size for m in members))
    pos_in_slice = np.empty(ni, np.int64)
    for m in members:
        pos_in_slice[m] = np.arange(m.size)
    buf_len = cap * ld + 2 * cap + 16  # rows | acc | bias | id (padded to 64 bytes)

    def views(buf):
        Q = buf[: cap * ld].reshape(cap, ld)
        acc = buf[cap * ld : cap * ld + cap]
        bias = buf[cap * ld + cap : cap * ld + 2 * cap]
        return Q, acc, bias

    bufs = [R.aligned_empty((buf_len,)) for _ in range(3)]
    for slot, s in enumerate((2 * rank, 2 * rank + 1)):
        Q, acc, bias = views(bufs[slot])
        Q[: members[s].size, :k] = Q_all[members[s]]
        acc[:] = 1.0
        bufs[slot][-1] = s
    del P_all, Q_all

    # this rank's ratings, per slice, bucketed for the threads
    grid = p["grid"]
    rs = (ratings - mu) / est._scale
    sl = slice_of[i]
    per_slice = []
    for s in range(n_slices):
        sel = np.flatnonzero(sl == s)
        per_slice.append(R.bucket(lu[sel], pos_in_slice[i[sel]], rs[sel], my_users.size, cap,
                                  grid, p["threads"]))
    est.grid_ = grid
    val = _local_eval(est, eval_set)
    est.history_ = []
    t_compute = t_comm = 0.0
    handle = None
    fast_rotate = "check" in inspect.signature(comm.irotate_array).parameters
    n_steps = p["epochs"] * n_slices
    for t in range(n_steps):
        epoch = t // n_slices + 1
        if t % n_slices == 0:
            t_epoch = time.perf_counter()
        cur = bufs[t % 3]
        s = slice_at(rank, t, size)
        if int(cur[-1]) != s:
            raise RuntimeError(f"rotation out of step: rank {rank} expected slice {s}, "
                               f"holds {int(cur[-1])}")
        Q, acc, bias = views(cur)
        su, si, sr, ptr = per_slice[s]
        order = rng.permutation(grid).astype(np.int32)
        c0 = time.perf_counter()
        _core.mf.sgd_train_grid(su, si, sr, ptr, order, P, Q, uacc if adaptive else None,
                                acc if adaptive else None, ubias, bias if use_bias else None,
                                k, p["lr"], p["reg_user"], p["reg_item"], p["reg_bias"], 0.0,
                                adaptive, p["dynamic"], p["threads"])
        c1 = time.perf_counter()
        if handle is not None:
            handle.wait()  # the previous slice has reached the next rank
        c2 = time.perf_counter()
        t_compute += c1 - c0
        t_comm += c2 - c1
        last_of_epoch = (t + 1) % n_slices == 0
        if last_of_epoch and (est.verbose or val is not None or t == n_steps - 1):
            c3 = time.perf_counter()
            Q_full = _gather_items(comm, bufs, t, views, members, ni, ld, cap, k, use_bias, adaptive)
            t_comm += time.perf_counter() - c3
            _report(est, comm, epoch, time.perf_counter() - t_epoch, P, ubias, Q_full, my_users,
                    lu, i, rs, val, k, p["threads"])
        if t < n_steps - 1:
            # layouts agree by construction (checked on the first shift only, where supported)
            kw = {"check": False} if (t > 0 and fast_rotate) else {}
            handle = comm.irotate_array(cur, bufs[(t + 2) % 3], shift=1, **kw)
        est.n_epochs_ = epoch
    est.best_epoch_ = est.n_epochs_
    # every rank ends with the whole model
    Qg, qbias = Q_full
    c3 = time.perf_counter()
    ids = comm.allgatherv_rows(my_users.astype(np.int64))
    rows = comm.allgatherv_rows(np.ascontiguousarray(P))
    est._P = R.aligned_empty((nu, ld))
    est._P[ids] = rows
    est._Q = Qg
    if use_bias:
        est._bu = np.zeros(nu, np.float32)
        est._bu[ids] = comm.allgatherv_rows(ubias)
        est._bi = qbias
    else:
        est._bu = est._bi = None
    t_comm += time.perf_counter() - c3
    est.fit_time_ = time.perf_counter() - t_start
    est.timings_ = {"compute": t_compute, "comm": t_comm,
                    "glue": est.fit_time_ - t_compute - t_comm}
    est._finish(u, i)  # seen items: this rank's users only; recommend() on others sees none
    return est


def _gather_items(comm, bufs, t, views, members, ni, ld, cap, k, use_bias, adaptive):
    """The whole item table from the two slices each rank holds after step t."""
    held = np.stack([bufs[t % 3], bufs[(t + 1) % 3]])
    every = comm.allgather_array(held).reshape(-1, held.shape[1])
    Q = R.aligned_empty((ni, ld))
    bias = np.zeros(ni, np.float32)
    for buf in every:
        s = int(buf[-1])
        q, _, b = views(buf)
        m = members[s]
        Q[m] = q[: m.size]
        bias[m] = b[: m.size]
    return Q, bias


def _local_eval(est, eval_set):
    if eval_set is None:
        return None
    return est._eval_arrays(eval_set)


def _report(est, comm, epoch, seconds, P, ubias, Q_full, my_users, lu, gi, rs, val, k, nt):
    Q, qbias = Q_full
    qb = qbias if ubias is not None else None
    rec = {"epoch": epoch, "seconds": seconds}
    sums = np.zeros(4, np.float64)
    if est.verbose:
        sse = _core.mf.sum_squared_error(lu.astype(np.int32), gi.astype(np.int32),
                                         rs.astype(np.float32), P, Q, ubias, qb, k, 0.0, nt)
        sums[0], sums[1] = sse * est._scale**2, lu.size
    if val is not None:
        # eval_set ratings are scored on the rank that holds their user; a user trained on
        # another rank (or never seen) gets the fallback rule (global mean + known biases)
        vu, vi, vr = val
        row = np.searchsorted(my_users, np.maximum(vu, 0))
        row = np.minimum(row, max(my_users.size - 1, 0))
        mine = (vu >= 0) & (my_users.size > 0) & (my_users[row] == vu) if my_users.size else \
            np.zeros(vu.shape, bool)
        pred = np.zeros(vu.size, np.float32)
        both = mine & (vi >= 0)
        if both.any():
            out = np.empty(int(both.sum()), np.float32)
            _core.mf.sgd_predict(np.ascontiguousarray(row[both], dtype=np.int32),
                                 np.ascontiguousarray(vi[both]), P, Q, ubias, qb, k, 0.0, out, nt)
            pred[both] = out
        if ubias is not None:
            only_u = mine & (vi < 0)
            pred[only_u] = ubias[row[only_u]]
            only_i = ~mine & (vi >= 0)
            pred[only_i] = qbias[vi[only_i]]
        pred = pred.astype(np.float64) * est._scale + est.global_mean_
        sums[2], sums[3] = np.sum((pred - vr) ** 2), vu.size
    comm.allreduce_array(sums)
    if est.verbose:
        rec["train_rmse"] = float(np.sqrt(sums[0] / sums[1]))
    if val is not None:
        rec["val_rmse"] = float(np.sqrt(sums[2] / max(sums[3], 1)))
    est.history_.append(rec)
    if est.verbose and comm.rank == 0:
        msg = f"epoch {epoch:3d}  train RMSE {rec['train_rmse']:.4f}"
        if val is not None:
            msg += f"  validation RMSE {rec['val_rmse']:.4f}"
        print(msg + f"  ({seconds:.3f} s)", file=sys.stderr, flush=True)
