"""The distributed CCD++ steps (_core.mf.ccd_dist_*): run one step at a time on one rank they
make the same sweep as the one-process kernel ccd_epoch, and bad arguments raise clean errors."""
import numpy as np
import pytest
import scipy.sparse as sp

from harpdaal import _core
from harpdaal.recommend import _ratings as R

K = _core.mf


def problem(seed=0, m=60, n=40, k=5, density=0.3):
    rng = np.random.default_rng(seed)
    u, i = np.nonzero(rng.random((m, n)) < density)
    r = rng.normal(size=u.size).astype(np.float32)
    csr = sp.csr_matrix((np.arange(r.size) + 1.0, (u, i)), shape=(m, n))
    csr.sort_indices()
    src = csr.data.astype(np.int64) - 1
    csc = sp.csc_matrix((np.arange(r.size) + 1.0, (u[src], i[src])), shape=(m, n))
    csc.sort_indices()
    ld = R.padded_width(k)
    P = R.aligned_empty((m, ld))
    P[:, :k] = rng.normal(scale=0.1, size=(m, k))
    Q = R.aligned_empty((n, ld))
    return dict(row_ptr=csr.indptr.astype(np.int64), col_idx=csr.indices.astype(np.int32),
                col_ptr=csc.indptr.astype(np.int64), row_idx=csc.indices.astype(np.int32),
                csc_to_csr=csc.data.astype(np.int64) - 1, residual=np.ascontiguousarray(r[src]),
                P=P, Q=Q, k=k)


def stepwise_epoch(d, reg_user, reg_item, inner=1):
    P, Q, res = d["P"], d["Q"], d["residual"]
    rows = (d["row_ptr"], d["col_idx"])
    n_i = np.diff(d["col_ptr"]).astype(np.float64)
    num, den = np.empty(Q.shape[0]), np.empty(Q.shape[0])
    for t in range(d["k"]):
        K.ccd_dist_add_rank_one(*rows, res, P, Q, t, 1.0)
        for _ in range(inner):
            K.ccd_dist_item_sums(d["col_ptr"], d["row_idx"], d["csc_to_csr"], res, P, t, num, den)
            den += reg_item * n_i
            Q[:, t] = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
            K.ccd_dist_update_users(*rows, res, P, Q, t, reg_user)
        K.ccd_dist_add_rank_one(*rows, res, P, Q, t, -1.0)


@pytest.mark.parametrize("inner", [1, 2])
def test_steps_make_the_one_process_sweep(inner):
    a, b = problem(), problem()
    for _ in range(3):
        K.ccd_epoch(a["row_ptr"], a["col_idx"], a["col_ptr"], a["row_idx"], a["csc_to_csr"],
                    a["residual"], a["P"], a["Q"], a["k"], 0.05, 0.07, inner, 1)
        stepwise_epoch(b, 0.05, 0.07, inner)
    # float32 sums in ccd_epoch, float64 here: equal to float tolerance
    np.testing.assert_allclose(b["P"], a["P"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b["Q"], a["Q"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b["residual"], a["residual"], rtol=1e-4, atol=1e-5)
    assert np.abs(b["Q"][:, : b["k"]]).sum() > 0  # something was learnt


def stepwise_bias_pass(d, bu, bi, g, reg_bias):
    """The distributed bias pass on one rank (no allreduce needed)."""
    n_i = np.diff(d["col_ptr"]).astype(np.float64)
    sums = np.empty(n_i.size)
    total = K.ccd_dist_item_residual_sums(d["col_ptr"], d["csc_to_csr"], d["residual"], sums)
    K.ccd_dist_item_bias_step(sums, n_i, total, float(n_i.sum()), bi, g, reg_bias, sums)
    K.ccd_dist_shift_residual(d["row_ptr"], d["col_idx"], d["residual"], sums)
    K.ccd_dist_update_user_biases(d["row_ptr"], d["residual"], bu, reg_bias)


def test_steps_with_biases_make_the_one_process_sweep():
    a, b = problem(2), problem(2)
    for d in (a, b):
        d["residual"] += 0.7  # an offset for g to learn
    m, n = a["P"].shape[0], a["Q"].shape[0]
    ba = [np.zeros(m, np.float32), np.zeros(n, np.float32), np.zeros(1, np.float32)]
    bb = [x.copy() for x in ba]
    # the bias pass alone: the same functions in the same order, so the same bits
    K.ccd_epoch(a["row_ptr"], a["col_idx"], a["col_ptr"], a["row_idx"], a["csc_to_csr"],
                a["residual"], a["P"], a["Q"], a["k"], 0.05, 0.07, 1, 1, *ba, 2.0)
    stepwise_bias_pass(b, *bb, 2.0)
    stepwise_epoch(b, 0.05, 0.07)
    for _ in range(2):
        K.ccd_epoch(a["row_ptr"], a["col_idx"], a["col_ptr"], a["row_idx"], a["csc_to_csr"],
                    a["residual"], a["P"], a["Q"], a["k"], 0.05, 0.07, 1, 1, *ba, 2.0)
        stepwise_bias_pass(b, *bb, 2.0)
        stepwise_epoch(b, 0.05, 0.07)
    assert abs(ba[2][0]) > 0.3 and np.abs(ba[0]).max() > 0.05
    for x, y in zip(bb, ba):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b["P"], a["P"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b["Q"], a["Q"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b["residual"], a["residual"], rtol=1e-4, atol=1e-5)


def test_bias_pass_alone_is_bitwise_the_kernels():
    a, b = problem(3), problem(3)
    m, n = a["P"].shape[0], a["Q"].shape[0]
    ba = [np.zeros(m, np.float32), np.zeros(n, np.float32), np.zeros(1, np.float32)]
    bb = [x.copy() for x in ba]
    # k = 0 factors is not allowed; compare through a P of zeros so the factor part is a no-op
    a["P"][:] = 0
    K.ccd_epoch(a["row_ptr"], a["col_idx"], a["col_ptr"], a["row_idx"], a["csc_to_csr"],
                a["residual"], a["P"], a["Q"], 1, 0.05, 0.07, 1, 2, *ba, 1.0)
    stepwise_bias_pass(b, *bb, 1.0)
    assert a["residual"].tobytes() == b["residual"].tobytes()
    assert all(x.tobytes() == y.tobytes() for x, y in zip(ba, bb))


def test_thread_count_does_not_change_the_result():
    a, b = problem(1), problem(1)
    for d, nt in ((a, 1), (b, 2)):
        n_i = np.diff(d["col_ptr"]).astype(np.float64)
        num, den = np.empty(d["Q"].shape[0]), np.empty(d["Q"].shape[0])
        K.ccd_dist_item_sums(d["col_ptr"], d["row_idx"], d["csc_to_csr"], d["residual"], d["P"],
                             0, num, den, nt)
        d["Q"][:, 0] = num / (den + n_i + 1e-9)
        K.ccd_dist_update_users(d["row_ptr"], d["col_idx"], d["residual"], d["P"], d["Q"], 0,
                                0.1, nt)
    assert a["P"].tobytes() == b["P"].tobytes()


def test_bad_arguments_raise():
    d = problem()
    rows = (d["row_ptr"], d["col_idx"])
    with pytest.raises(ValueError, match="t must lie in"):
        K.ccd_dist_add_rank_one(*rows, d["residual"], d["P"], d["Q"], d["P"].shape[1], 1.0)
    with pytest.raises(ValueError, match="t must lie in"):
        K.ccd_dist_update_users(*rows, d["residual"], d["P"], d["Q"], -1, 0.1)
    bad_cols = d["col_idx"].copy()
    bad_cols[0] = d["Q"].shape[0]
    with pytest.raises(ValueError, match="col_idx: ids must lie in"):
        K.ccd_dist_add_rank_one(d["row_ptr"], bad_cols, d["residual"], d["P"], d["Q"], 0, 1.0)
    bad_ptr = d["row_ptr"].copy()
    bad_ptr[-1] -= 1
    with pytest.raises(ValueError, match="row_ptr must start at 0"):
        K.ccd_dist_update_users(bad_ptr, d["col_idx"], d["residual"], d["P"], d["Q"], 0, 0.1)
    bad_ptr = d["row_ptr"].copy()
    bad_ptr[1], bad_ptr[2] = bad_ptr[2] + 1, bad_ptr[1]
    with pytest.raises(ValueError, match="non-decreasing"):
        K.ccd_dist_add_rank_one(bad_ptr, d["col_idx"], d["residual"], d["P"], d["Q"], 0, 1.0)
    with pytest.raises(TypeError, match="residual"):
        K.ccd_dist_add_rank_one(*rows, d["residual"].astype(np.float64), d["P"], d["Q"], 0, 1.0)
    with pytest.raises(ValueError, match="read-only"):
        ro = d["residual"].copy()
        ro.flags.writeable = False
        K.ccd_dist_add_rank_one(*rows, ro, d["P"], d["Q"], 0, 1.0)
    num, den = np.empty(d["Q"].shape[0]), np.empty(d["Q"].shape[0])
    perm = d["csc_to_csr"].copy()
    perm[0] = -1
    with pytest.raises(ValueError, match="csc_to_csr out of range"):
        K.ccd_dist_item_sums(d["col_ptr"], d["row_idx"], perm, d["residual"], d["P"], 0, num, den)
    bad_rows = d["row_idx"].copy()
    bad_rows[-1] = d["P"].shape[0]
    with pytest.raises(ValueError, match="row_idx: ids must lie in"):
        K.ccd_dist_item_sums(d["col_ptr"], bad_rows, d["csc_to_csr"], d["residual"], d["P"], 0,
                             num, den)
    with pytest.raises(ValueError, match="den"):
        K.ccd_dist_item_sums(d["col_ptr"], d["row_idx"], d["csc_to_csr"], d["residual"], d["P"],
                             0, num, den[:-1].copy())
    with pytest.raises(ValueError, match="reg_user"):
        K.ccd_dist_update_users(*rows, d["residual"], d["P"], d["Q"], 0, -1.0)


def test_bias_steps_reject_bad_arguments():
    d = problem()
    m, n = d["P"].shape[0], d["Q"].shape[0]
    sums = np.empty(n)
    with pytest.raises(ValueError, match="col_ptr"):
        K.ccd_dist_item_residual_sums(d["col_ptr"], d["csc_to_csr"], d["residual"],
                                      sums[:-1].copy())
    perm = d["csc_to_csr"].copy()
    perm[-1] = perm.size
    with pytest.raises(ValueError, match="csc_to_csr out of range"):
        K.ccd_dist_item_residual_sums(d["col_ptr"], perm, d["residual"], sums)
    with pytest.raises(ValueError, match="item_bias"):
        K.ccd_dist_item_bias_step(sums, sums, 0.0, 1.0, np.zeros(n + 1, np.float32),
                                  np.zeros(1, np.float32), 1.0, sums)
    with pytest.raises(ValueError, match="global_offset"):
        K.ccd_dist_item_bias_step(sums, sums, 0.0, 1.0, np.zeros(n, np.float32),
                                  np.zeros(2, np.float32), 1.0, sums)
    with pytest.raises(ValueError, match="reg_bias"):
        K.ccd_dist_item_bias_step(sums, sums, 0.0, 1.0, np.zeros(n, np.float32),
                                  np.zeros(1, np.float32), -1.0, sums)
    with pytest.raises(ValueError, match="col_idx: ids must lie in"):
        K.ccd_dist_shift_residual(d["row_ptr"], d["col_idx"], d["residual"], sums[: n // 2].copy())
    with pytest.raises(ValueError, match="row_ptr"):
        K.ccd_dist_update_user_biases(d["row_ptr"], d["residual"], np.zeros(m + 1, np.float32), 1.0)
    with pytest.raises(ValueError, match="reg_bias"):
        K.ccd_dist_update_user_biases(d["row_ptr"], d["residual"], np.zeros(m, np.float32), -1.0)
