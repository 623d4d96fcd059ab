"""harpdaal._core.mf against plain NumPy references with the same update order, at every ISA."""
import numpy as np
import pytest
import scipy.sparse as sp

import harpdaal
from harpdaal import _core
from harpdaal.recommend._ratings import aligned_empty, bucket


@pytest.fixture(params=harpdaal.available_isas())
def isa(request):
    before = harpdaal.active_isa()
    harpdaal.set_isa(request.param)
    yield request.param
    harpdaal.set_isa(before)


def tiny_problem(seed=0, m=23, n=17, nnz=300, k=5):
    rng = np.random.default_rng(seed)
    key = rng.choice(m * n, size=nnz, replace=False)
    u, i = key // n, key % n
    r = rng.normal(0.0, 1.0, nnz)
    ld = 16
    P = aligned_empty((m, ld))
    Q = aligned_empty((n, ld))
    P[:, :k] = rng.normal(0, 0.3, (m, k))
    Q[:, :k] = rng.normal(0, 0.3, (n, k))
    return u, i, r, P, Q, k


def numpy_sgd_epoch(u, i, r, ptr, order, P, Q, Gp, Gq, bu, bi, k, eta, lp, lq, lb, mu, adaptive):
    """The documented update, rating by rating, in the kernel's block order (float64)."""
    grid = order.size
    for t in range(grid):
        for rb in range(grid):
            b = rb * grid + order[(rb + t) % grid]
            for e in range(ptr[b], ptr[b + 1]):
                p, q = P[u[e], :k], Q[i[e], :k]
                err = r[e] - (mu + bu[u[e]] + bi[i[e]] + p @ q)
                ep = eta / np.sqrt(Gp[u[e]]) if adaptive else eta
                eq = eta / np.sqrt(Gq[i[e]]) if adaptive else eta
                gp = lp * p - err * q
                gq = lq * q - err * p
                P[u[e], :k] = p - ep * gp
                Q[i[e], :k] = q - eq * gq
                bu[u[e]] -= ep * (lb * bu[u[e]] - err)
                bi[i[e]] -= eq * (lb * bi[i[e]] - err)
                if adaptive:
                    Gp[u[e]] += gp @ gp / k
                    Gq[i[e]] += gq @ gq / k


@pytest.mark.parametrize("adaptive", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
def test_sgd_grid_matches_numpy(isa, adaptive, threads):
    u, i, r, P, Q, k = tiny_problem()
    m, n = P.shape[0], Q.shape[0]
    grid = 3
    rng = np.random.default_rng(1)
    bu_, bi_, br_, ptr = bucket(u, i, r, m, n, grid)
    Gp, Gq = np.ones(m, np.float32), np.ones(n, np.float32)
    ub, ib = np.zeros(m, np.float32), np.zeros(n, np.float32)
    ref = [P[:, :k].astype(np.float64), Q[:, :k].astype(np.float64), np.ones(m), np.ones(n),
           np.zeros(m), np.zeros(n)]
    eta = 0.05 if adaptive else 0.02
    P_addr = P.ctypes.data
    for epoch in range(3):
        order = rng.permutation(grid).astype(np.int32)
        _core.mf.sgd_train_grid(bu_, bi_, br_, ptr, order, P, Q, Gp, Gq, ub, ib, k, eta, 0.02,
                                0.03, 0.01, 0.25, adaptive, False, threads)
        numpy_sgd_epoch(bu_, bi_, br_.astype(np.float64), ptr, order, *ref, k, eta, 0.02, 0.03,
                        0.01, 0.25, adaptive)
    assert P.ctypes.data == P_addr  # updated in place, zero-copy
    np.testing.assert_allclose(P[:, :k], ref[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(Q[:, :k], ref[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ub, ref[4], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ib, ref[5], rtol=1e-4, atol=1e-5)
    if adaptive:
        np.testing.assert_allclose(Gp, ref[2], rtol=1e-4)
    assert not P[:, k:].any() and not Q[:, k:].any()  # padding stays zero


def test_sse_and_predict_match_numpy(isa):
    u, i, r, P, Q, k = tiny_problem(seed=3)
    u32, i32, r32 = u.astype(np.int32), i.astype(np.int32), r.astype(np.float32)
    ub = np.linspace(-1, 1, P.shape[0]).astype(np.float32)
    ib = np.linspace(0, 1, Q.shape[0]).astype(np.float32)
    ref = 0.5 + ub[u] + ib[i] + np.einsum("ij,ij->i", P[u, :k].astype(np.float64), Q[i, :k])
    out = np.empty(u.size, np.float32)
    _core.mf.sgd_predict(u32, i32, P, Q, ub, ib, k, 0.5, out, 2)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    sse = _core.mf.sum_squared_error(u32, i32, r32, P, Q, ub, ib, k, 0.5, 2)
    assert sse == pytest.approx(np.sum((r32 - ref) ** 2), rel=1e-5)


def numpy_ccd_epoch(Rm, P, Q, k, lu, li):
    """CCD++ in NumPy/scipy on the residual matrix Rm (returns the new residual)."""
    rows, cols = Rm.nonzero()
    n_u = np.diff(Rm.indptr)
    n_i = np.bincount(cols, minlength=Q.shape[0])
    res = Rm.copy()
    for t in range(k):
        res.data += P[rows, t] * Q[cols, t]
        A = sp.csr_matrix((res.data, (rows, cols)), shape=Rm.shape)
        pat = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=Rm.shape)
        den_q = li * n_i + pat.T @ (P[:, t] ** 2)
        Q[:, t] = np.where(den_q > 0, (A.T @ P[:, t]) / np.where(den_q > 0, den_q, 1), 0)
        den_p = lu * n_u + pat @ (Q[:, t] ** 2)
        P[:, t] = np.where(den_p > 0, (A @ Q[:, t]) / np.where(den_p > 0, den_p, 1), 0)
        res.data -= P[rows, t] * Q[cols, t]
    return res


def test_ccd_matches_numpy(isa):
    u, i, r, P, Q, k = tiny_problem(seed=5)
    m, n = P.shape[0], Q.shape[0]
    Rm = sp.csr_matrix((r, (u, i)), shape=(m, n))
    Rm.sort_indices()
    csc = sp.csc_matrix((np.arange(Rm.nnz) + 1.0, Rm.nonzero()), shape=(m, n))
    csc.sort_indices()
    Q[:] = 0
    P64, Q64 = P[:, :k].astype(np.float64), np.zeros((n, k))
    residual = Rm.data.astype(np.float32)
    args = (Rm.indptr.astype(np.int64), Rm.indices.astype(np.int32), csc.indptr.astype(np.int64),
            csc.indices.astype(np.int32), csc.data.astype(np.int64) - 1)
    res_ref = Rm
    for _ in range(2):
        _core.mf.ccd_epoch(*args, residual, P, Q, k, 0.05, 0.1, 1, 2)
        res_ref = numpy_ccd_epoch(res_ref, P64, Q64, k, 0.05, 0.1)
    np.testing.assert_allclose(P[:, :k], P64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(Q[:, :k], Q64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(residual, res_ref.data, rtol=1e-3, atol=1e-4)


def numpy_bias_pass(Rm, bu, bi, g, reg_bias):
    """CCD++'s bias pass in NumPy on the residual matrix Rm: the global offset g (unregularised),
    then every item bias, then every user bias, each b = sum(e + b) / (n + reg_bias) with the
    residual updated after each group. Returns (residual, bu, bi, g)."""
    rows, cols = Rm.nonzero()
    e = Rm.data.copy()
    n_u = np.diff(Rm.indptr).astype(np.float64)
    n_i = np.bincount(cols, minlength=bi.size).astype(np.float64)
    g_new = g + e.mean()
    e -= g_new - g
    bi_new = np.bincount(cols, e + bi[cols], bi.size) / (n_i + reg_bias)
    e -= (bi_new - bi)[cols]
    bu_new = np.bincount(rows, e + bu[rows], bu.size) / (n_u + reg_bias)
    e -= (bu_new - bu)[rows]
    return sp.csr_matrix((e, (rows, cols)), shape=Rm.shape), bu_new, bi_new, g_new


@pytest.mark.parametrize("reg_bias", [0.0, 3.0])
def test_ccd_with_biases_matches_numpy(isa, reg_bias):
    """One sweep with biases = the NumPy bias pass, then the NumPy factor sweep."""
    u, i, r, P, Q, k = tiny_problem(seed=6)
    m, n = P.shape[0], Q.shape[0]
    r = r + 0.5 + 0.3 * (u % 3) - 0.4 * (i % 2)  # something for g and the biases to learn
    Rm = sp.csr_matrix((r, (u, i)), shape=(m, n))
    Rm.sort_indices()
    csc = sp.csc_matrix((np.arange(Rm.nnz) + 1.0, Rm.nonzero()), shape=(m, n))
    csc.sort_indices()
    Q[:] = 0
    P64, Q64 = P[:, :k].astype(np.float64), np.zeros((n, k))
    residual = Rm.data.astype(np.float32)
    bu, bi, g = np.zeros(m, np.float32), np.zeros(n, np.float32), np.zeros(1, np.float32)
    bu64, bi64, g64 = np.zeros(m), np.zeros(n), 0.0
    args = (Rm.indptr.astype(np.int64), Rm.indices.astype(np.int32), csc.indptr.astype(np.int64),
            csc.indices.astype(np.int32), csc.data.astype(np.int64) - 1)
    res_ref = Rm
    for _ in range(3):
        _core.mf.ccd_epoch(*args, residual, P, Q, k, 0.05, 0.1, 1, 2, bu, bi, g, reg_bias)
        res_ref, bu64, bi64, g64 = numpy_bias_pass(res_ref, bu64, bi64, g64, reg_bias)
        res_ref = numpy_ccd_epoch(res_ref, P64, Q64, k, 0.05, 0.1)
    assert abs(g64) > 0.1 and np.abs(bu64).max() > 0.1 and np.abs(bi64).max() > 0.1
    np.testing.assert_allclose(g[0], g64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bu, bu64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(bi, bi64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(P[:, :k], P64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(Q[:, :k], Q64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(residual, res_ref.data, rtol=1e-3, atol=1e-4)
    # the residual the kernel keeps is r - (g + b_u + b_i + p . q)
    rows, cols = Rm.nonzero()
    pred = g[0] + bu[rows] + bi[cols] + np.einsum("ij,ij->i", P[rows, :k], Q[cols, :k])
    np.testing.assert_allclose(residual, Rm.data - pred, rtol=1e-4, atol=1e-4)


def test_ccd_biases_thread_count_independent_and_none_means_none():
    u, i, r, P, Q, k = tiny_problem(seed=7, m=300, n=200, nnz=6000)
    m, n = P.shape[0], Q.shape[0]
    Rm = sp.csr_matrix((r + 1.0, (u, i)), shape=(m, n))
    Rm.sort_indices()
    csc = sp.csc_matrix((np.arange(Rm.nnz) + 1.0, Rm.nonzero()), shape=(m, n))
    csc.sort_indices()
    args = (Rm.indptr.astype(np.int64), Rm.indices.astype(np.int32), csc.indptr.astype(np.int64),
            csc.indices.astype(np.int32), csc.data.astype(np.int64) - 1)
    out = []
    for nt, biased in ((1, True), (2, True), (1, False), (2, False)):
        res, P1, Q1 = Rm.data.astype(np.float32), P.copy(), Q.copy()
        b = ((np.zeros(m, np.float32), np.zeros(n, np.float32), np.zeros(1, np.float32))
             if biased else (None, None, None))
        for _ in range(2):
            _core.mf.ccd_epoch(*args, res, P1, Q1, k, 0.05, 0.1, 1, nt, *b, 2.0)
        out.append(b"".join(a.tobytes() for a in (res, P1, Q1) + (b if biased else ())))
    assert out[0] == out[1] and out[2] == out[3] and out[0] != out[2]
    with pytest.raises(ValueError, match="all be given or all None"):
        _core.mf.ccd_epoch(*args, res, P1, Q1, k, 0.05, 0.1, 1, 1, np.zeros(m, np.float32))
    with pytest.raises(ValueError, match="reg_bias"):
        _core.mf.ccd_epoch(*args, res, P1, Q1, k, 0.05, 0.1, 1, 1, np.zeros(m, np.float32),
                           np.zeros(n, np.float32), np.zeros(1, np.float32), -1.0)
    with pytest.raises(ValueError, match="item_bias"):
        _core.mf.ccd_epoch(*args, res, P1, Q1, k, 0.05, 0.1, 1, 1, np.zeros(m, np.float32),
                           np.zeros(n + 1, np.float32), np.zeros(1, np.float32), 1.0)


def test_kernel_rejects_bad_arguments():
    u, i, r, P, Q, k = tiny_problem()
    bu_, bi_, br_, ptr = bucket(u, i, r, P.shape[0], Q.shape[0], 2)
    order = np.array([1, 0], np.int32)
    acc_u, acc_i = np.ones(P.shape[0], np.float32), np.ones(Q.shape[0], np.float32)
    call = lambda **kw: _core.mf.sgd_train_grid(  # noqa: E731
        **{**dict(users=bu_, items=bi_, ratings=br_, block_ptr=ptr, col_order=order,
                  user_factors=P, item_factors=Q, user_acc=acc_u, item_acc=acc_i,
                  user_bias=None, item_bias=None, n_factors=k, learning_rate=0.1, reg_user=0.1,
                  reg_item=0.1, reg_bias=0.0, global_mean=0.0), **kw})
    call()  # the good call works
    bad_items = bi_.copy()
    bad_items[0] = Q.shape[0]
    with pytest.raises(ValueError, match="items: ids must lie"):
        call(items=bad_items)
    with pytest.raises(TypeError, match="ratings: expected dtype float32"):
        call(ratings=br_.astype(np.float64))
    with pytest.raises(ValueError, match="multiple of 16"):
        call(user_factors=np.zeros((P.shape[0], 8), np.float32), item_factors=np.zeros((Q.shape[0], 8), np.float32))
    with pytest.raises(ValueError, match="permutation"):
        call(col_order=np.array([0, 0], np.int32))
    with pytest.raises(ValueError, match="block_ptr"):
        call(block_ptr=ptr[::-1].copy())
    with pytest.raises(ValueError, match="n_factors"):
        call(n_factors=17)
    with pytest.raises(ValueError, match="user_acc"):
        call(user_acc=None)
    with pytest.raises(ValueError, match="read-only"):
        ro = P.copy()
        ro.flags.writeable = False
        call(user_factors=ro)


def test_dynamic_schedule_one_thread_is_rounds_and_many_threads_converge():
    u, i, r, P0, Q0, k = tiny_problem(seed=7, m=60, n=50, nnz=1500)
    grid = 4
    bu_, bi_, br_, ptr = bucket(u, i, r, P0.shape[0], Q0.shape[0], grid)
    out = {}
    for dynamic, threads in ((False, 1), (True, 1), (True, 2)):
        P, Q = P0.copy(), Q0.copy()
        Gp, Gq = np.ones(P.shape[0], np.float32), np.ones(Q.shape[0], np.float32)
        rng = np.random.default_rng(3)
        for _ in range(5):
            order = rng.permutation(grid).astype(np.int32)
            _core.mf.sgd_train_grid(bu_, bi_, br_, ptr, order, P, Q, Gp, Gq, None, None, k, 0.1,
                                    0.01, 0.01, 0.0, 0.0, True, dynamic, threads)
        out[(dynamic, threads)] = (P, _core.mf.sum_squared_error(bu_, bi_, br_, P, Q, None, None,
                                                                  k, 0.0, 1))
    np.testing.assert_array_equal(out[(False, 1)][0], out[(True, 1)][0])
    assert out[(True, 2)][1] == pytest.approx(out[(False, 1)][1], rel=0.05)


def test_sgd_wide_rows_match_numpy(isa):
    """k = 40 in rows of 48 floats: 3 zmm / 6 ymm registers per row in the fixed kernels."""
    rng = np.random.default_rng(5)
    m, n, nnz, k, ld, grid = 19, 13, 150, 40, 48, 2
    key = rng.choice(m * n, size=nnz, replace=False)
    u, i = key // n, key % n
    r = rng.normal(0.0, 1.0, nnz)
    P, Q = aligned_empty((m, ld)), aligned_empty((n, ld))
    P[:, :k] = rng.normal(0, 0.2, (m, k))
    Q[:, :k] = rng.normal(0, 0.2, (n, k))
    bu_, bi_, br_, ptr = bucket(u, i, r, m, n, grid)
    Gp, Gq = np.ones(m, np.float32), np.ones(n, np.float32)
    ub, ib = np.zeros(m, np.float32), np.zeros(n, np.float32)
    ref = [P[:, :k].astype(np.float64), Q[:, :k].astype(np.float64), np.ones(m), np.ones(n),
           np.zeros(m), np.zeros(n)]
    for _ in range(2):
        order = rng.permutation(grid).astype(np.int32)
        _core.mf.sgd_train_grid(bu_, bi_, br_, ptr, order, P, Q, Gp, Gq, ub, ib, k, 0.05, 0.02,
                                0.03, 0.01, 0.1, True, False, 1)
        numpy_sgd_epoch(bu_, bi_, br_.astype(np.float64), ptr, order, *ref, k, 0.05, 0.02, 0.03,
                        0.01, 0.1, True)
    np.testing.assert_allclose(P[:, :k], ref[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(Q[:, :k], ref[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(Gp, ref[2], rtol=1e-4)
    np.testing.assert_allclose(ub, ref[4], rtol=1e-4, atol=1e-5)
    assert not P[:, k:].any() and not Q[:, k:].any()  # the padding stays zero


@pytest.mark.parametrize("k", [5, 20, 32, 100])
def test_sgd_grouping_does_not_change_bits(isa, k):
    """The fixed kernels run four ratings with distinct users and items in lockstep and the
    others one at a time: the same ratings split into calls at other offsets (so other groups
    form) give bitwise the same factors, biases and AdaGrad sums, and the lockstep path is taken
    (most windows of four bucketed ratings are independent)."""
    rng = np.random.default_rng(11)
    m, n, nnz = 60, 40, 1500
    key = rng.choice(m * n, size=nnz, replace=False)
    u, i = key // n, key % n
    r = rng.normal(0.0, 1.0, nnz)
    ld = -(-k // 16) * 16
    bu_, bi_, br_, ptr = bucket(u, i, r, m, n, 1, ways=4)
    windows = np.lib.stride_tricks.sliding_window_view
    wu, wi = windows(bu_, 4), windows(bi_, 4)
    distinct = np.ones(len(wu), bool)
    for a in range(4):
        for b in range(a + 1, 4):
            distinct &= (wu[:, a] != wu[:, b]) & (wi[:, a] != wi[:, b])
    assert distinct.mean() > 0.5
    P0, Q0 = aligned_empty((m, ld)), aligned_empty((n, ld))
    P0[:, :k] = rng.normal(0, 0.2, (m, k))
    Q0[:, :k] = rng.normal(0, 0.2, (n, k))
    results = []
    for cuts in ([], [1], [2, 7], [3, 500, 501]):
        P, Q = P0.copy(), Q0.copy()
        state = [np.ones(m, np.float32), np.ones(n, np.float32), np.zeros(m, np.float32),
                 np.zeros(n, np.float32)]
        bounds = [0, *cuts, nnz]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            _core.mf.sgd_train_grid(bu_[lo:hi], bi_[lo:hi], br_[lo:hi],
                                    np.array([0, hi - lo], np.int64), np.zeros(1, np.int32), P,
                                    Q, *state, k, 0.05, 0.02, 0.03, 0.01, 0.1, True, False, 1)
        results.append((P, Q, *state))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ways", [1, 4])
def test_bucket_relabel_equals_bucket_of_relabelled(ways, random_ratings):
    m, n, nnz, grid = 300, 120, 20000, 4
    u, i, r, up, ip = random_ratings(2, m, n, nnz)
    shift, scale = 3.1, 0.9
    want = bucket(up[u], ip[i], ((r - shift) / scale).astype(np.float32), m, n, grid, ways=ways)
    got = (np.empty(nnz, np.int32), np.empty(nnz, np.int32), np.empty(nnz, np.float32),
           np.empty(grid * grid + 1, np.int64))
    dups = _core.mf.bucket_relabel(u, i, r, up, ip, shift, scale, grid, *got, ways, 2)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    key = u.astype(np.int64) * n + i
    assert dups == key.size - np.unique(key).size > 0
    bad = up.copy()
    bad[0] = bad[1]
    with pytest.raises(ValueError, match="user_perm must be a permutation"):
        _core.mf.bucket_relabel(u, i, r, bad, ip, shift, scale, grid, *got, ways, 1)
    with pytest.raises(ValueError, match="scale"):
        _core.mf.bucket_relabel(u, i, r, up, ip, shift, 0.0, grid, *got, ways, 1)
    with pytest.raises(TypeError):
        _core.mf.bucket_relabel(u, i, r.astype(np.float32), up, ip, shift, scale, grid, *got,
                                ways, 1)
    with pytest.raises(ValueError, match="items: ids must lie"):
        _core.mf.bucket_relabel(u, np.where(i == 0, n, i).astype(np.int32), r, up, ip, shift,
                                scale, grid, *got, ways, 1)


def test_seen_lists_group_items_by_internal_user():
    rng = np.random.default_rng(4)
    m, n, nnz, grid = 200, 90, 5000, 3
    key = rng.choice(m * n, size=nnz, replace=False)
    u, i = (key // n).astype(np.int32), (key % n).astype(np.int32)
    up, ip = rng.permutation(m).astype(np.int32), rng.permutation(n).astype(np.int32)
    bu_, bi_, _, _ = bucket(up[u], ip[i], np.zeros(nnz), m, n, grid)
    inv_i = np.empty(n, np.int32)
    inv_i[ip] = np.arange(n, dtype=np.int32)
    ptr, items = np.empty(m + 1, np.int64), np.empty(nnz, np.int32)
    _core.mf.seen_lists(bu_, bi_, up, inv_i, ptr, items)
    np.testing.assert_array_equal(ptr, np.concatenate([[0], np.cumsum(np.bincount(u, minlength=m))]))
    for x in range(m):
        np.testing.assert_array_equal(np.sort(items[ptr[x]:ptr[x + 1]]), np.sort(i[u == x]))


def test_sgd_train_grid_check_ids_false_gives_the_same_epoch():
    u, i, r, P0, Q0, k = tiny_problem(seed=6)
    bu_, bi_, br_, ptr = bucket(u, i, r, P0.shape[0], Q0.shape[0], 2)
    order = np.array([1, 0], np.int32)
    out = []
    for check in (True, False):
        P, Q = P0.copy(), Q0.copy()
        Gp, Gq = np.ones(P.shape[0], np.float32), np.ones(Q.shape[0], np.float32)
        _core.mf.sgd_train_grid(bu_, bi_, br_, ptr, order, P, Q, Gp, Gq, None, None, k, 0.1,
                                0.01, 0.01, 0.0, 0.0, True, False, 1, check_ids=check)
        out.append(P)
    np.testing.assert_array_equal(out[0], out[1])
    assert not np.array_equal(out[0], P0)
    bad = bu_.copy()
    bad[0] = P0.shape[0]
    with pytest.raises(ValueError, match="users: ids must lie"):  # the default checks
        _core.mf.sgd_train_grid(bad, bi_, br_, ptr, order, P0.copy(), Q0.copy(), Gp, Gq, None,
                                None, k, 0.1, 0.01, 0.01, 0.0, 0.0, True, False, 1)
