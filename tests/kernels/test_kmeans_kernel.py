"""Native K-means kernels against a NumPy reference, on every ISA level and both dtypes."""
import numpy as np
import pytest
import scipy.sparse as sp

import harpdaal
from harpdaal import _core

K = _core.kmeans


def reference(X, C, w):
    d2 = ((X[:, None, :].astype(np.float64) - C[None].astype(np.float64)) ** 2).sum(-1)
    labels = d2.argmin(1)
    k, d = C.shape
    sums = np.zeros((k, d))
    np.add.at(sums, labels, X.astype(np.float64) * w[:, None])
    weights = np.bincount(labels, weights=w, minlength=k)
    return labels, sums, weights, float(d2[np.arange(len(X)), labels] @ w), d2


@pytest.fixture(params=harpdaal.available_isas())
def isa(request):
    before = harpdaal.active_isa()
    harpdaal.set_isa(request.param)
    yield request.param
    harpdaal.set_isa(before)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("method", ["fused", "gemm", "auto"])
@pytest.mark.parametrize("n,d,k", [(257, 7, 3), (300, 16, 41), (64, 33, 100), (131, 40, 10),
                                   (61, 35, 15), (37, 64, 1),
                                   # a last tile of 1-4 centers (the AVX-512 f32 dot tile),
                                   # rows not a multiple of 4, d not of 16
                                   (97, 19, 33), (203, 70, 36), (62, 16, 98), (125, 64, 100),
                                   # k < 16, d < 16 k: the center tile, one half-width tile
                                   (58, 17, 5), (93, 51, 6), (45, 33, 11), (40, 2, 3),
                                   # k < 16, d <= 16: one row per lane (AVX-512 f32), rows
                                   # not a multiple of 16; from d = 4 the vector M-step
                                   (37, 1, 2), (83, 4, 15), (50, 9, 7), (33, 16, 3), (75, 12, 1),
                                   # k < 16, d >= 16 k: the row-dot tile, centers in chunks of
                                   # up to 5 (AVX-512; 6 on AVX2): one chunk, 5 + 1, 5 + 5 + 1,
                                   # 5 + 5 + 4; rows not a multiple of 4, odd d, d over
                                   # several 16-wide vectors
                                   (58, 85, 5), (93, 97, 6), (45, 177, 11), (31, 785, 14),
                                   # d > 191: the tiles run in feature slices (2, 3 and 5),
                                   # with a half-width or a dot-tile last tile, tail rows
                                   (61, 200, 40), (67, 450, 100), (50, 900, 20)])
def test_lloyd_partial_matches_numpy(isa, dtype, rtol, method, n, d, k):
    rng = np.random.default_rng(n + d + k)
    X = rng.standard_normal((n, d)).astype(dtype)
    C = rng.standard_normal((k, d)).astype(dtype)
    w = rng.uniform(0.5, 2.0, n).astype(dtype)
    labels = np.full(n, -1, np.int32)
    sums = np.full((k, d), np.nan)
    weights = np.full(k, np.nan)
    sfx = "_f32" if dtype == np.float32 else "_f64"
    inertia = getattr(K, "lloyd_partial" + sfx)(X, w, C, labels, sums, weights, 2, method)
    rl, rs, rw, ri, _ = reference(X, C, w.astype(np.float64))
    assert np.array_equal(labels, rl)
    np.testing.assert_allclose(sums, rs, rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(weights, rw, rtol=1e-12)
    assert inertia == pytest.approx(ri, rel=rtol * 10)
    pl = np.empty(n, np.int32)
    dist = np.empty(n, dtype)
    getattr(K, "assign" + sfx)(X, C, pl, dist, 1, method)
    assert np.array_equal(pl, rl)
    out = np.empty((n, k), dtype)
    getattr(K, "distances" + sfx)(X, C, out, True, 2)
    np.testing.assert_allclose(out, reference(X, C, w.astype(np.float64))[4], rtol=1e-3 if dtype == np.float32 else 1e-9, atol=1e-3)


@pytest.mark.parametrize("k,tied", [(10, (3, 8, 9)), (14, (6, 11, 12)), (40, (9, 3, 20, 37)),
                                    (100, (35, 21, 98)), (1000, (517, 260, 999))])
def test_ties_pick_the_first_center_f32(isa, k, tied):
    """Several centers at exactly the best distance, in different vector lanes, tiles and
    center chunks: every kernel path picks the lowest index (as numpy's argmin)."""
    n, d = 23, 5
    X = np.ones((n, d), np.float32)
    C = np.full((k, d), 5.0, np.float32)
    C[list(tied)] = 1.0
    want = min(tied)
    for method in ("fused", "gemm"):
        labels = np.full(n, -1, np.int32)
        K.assign_f32(X, C, labels, None, 1, method)
        assert (labels == want).all(), (method, labels)
        sums, weights = np.empty((k, d)), np.empty(k)
        K.lloyd_partial_f32(X, None, C, labels, sums, weights, 2, method)
        assert (labels == want).all() and weights[want] == n, method


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csr_kernel_matches_dense(dtype):
    rng = np.random.default_rng(1)
    X = sp.random(120, 20, density=0.3, format="csr", random_state=2, dtype=dtype)
    C = rng.standard_normal((5, 20)).astype(dtype)
    labels = np.empty(120, np.int32)
    sums, weights = np.empty((5, 20)), np.empty(5)
    sfx = "_f32" if dtype == np.float32 else "_f64"
    getattr(K, "lloyd_partial_csr" + sfx)(X.data, X.indices.astype(np.int32), X.indptr.astype(np.int64), None, C, labels, sums, weights, 2)
    rl, rs, rw, _, _ = reference(X.toarray(), C, np.ones(120))
    assert np.array_equal(labels, rl)
    np.testing.assert_allclose(sums, rs, rtol=1e-5)


def test_kernel_rejects_wrong_dtype_and_shape():
    X = np.zeros((10, 3))
    C = np.zeros((2, 3))
    with pytest.raises(TypeError, match="X"):
        K.assign_f32(X, C.astype(np.float32), np.empty(10, np.int32))
    with pytest.raises(ValueError, match="centers"):
        K.assign_f64(X, np.zeros((2, 4)), np.empty(10, np.int32))
    with pytest.raises(ValueError, match="method"):
        K.assign_f64(X, C, np.empty(10, np.int32), None, 1, "bogus")
    with pytest.raises(ValueError, match="not C-contiguous"):
        K.assign_f64(np.asfortranarray(np.ones((10, 3))), C, np.empty(10, np.int32))


def test_kernel_reads_input_without_copy():
    X = np.random.default_rng(0).standard_normal((50, 4))
    assert _core.testing.input_address_f64(X) == X.__array_interface__["data"][0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_center_matches_numpy(dtype, n_threads):
    rng = np.random.default_rng(7)
    X = (rng.standard_normal((5000, 13)) * 3 + 100).astype(dtype)
    out, mean, stats = np.empty_like(X), np.empty(13, dtype), np.empty(26)
    getattr(K, "center" + ("_f32" if dtype == np.float32 else "_f64"))(X, out, mean, stats, n_threads)
    ref_mean = (X.sum(axis=0, dtype=np.float64) / len(X)).astype(dtype)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert np.array_equal(out, X - mean)
    np.testing.assert_allclose(stats[:13], out.sum(0, dtype=np.float64), atol=1e-6 * len(X))
    np.testing.assert_allclose(stats[13:], (out.astype(np.float64) ** 2).sum(0), rtol=1e-9)
    with pytest.raises(ValueError, match="out"):
        getattr(K, "center" + ("_f32" if dtype == np.float32 else "_f64"))(X, X, mean, stats, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [4, 13, 40])
@pytest.mark.parametrize("method", ["fused", "gemm"])
@pytest.mark.parametrize("d", [5, 12, 19, 784])
def test_shift_gives_the_centred_copys_bits(isa, dtype, k, method, d):
    """shift=mean == the kernels on X - mean: centred block by block into a buffer (k >= 16,
    gemm), or (k < 16, fused) subtracted as the row-dot tile and the M-step load each row."""
    sfx = "_f32" if dtype == np.float32 else "_f64"
    rng = np.random.default_rng(11)
    n = 997  # rows not a multiple of any block; d = 19: not of any vector width
    X = (rng.standard_normal((n, d)) * 2 + 50).astype(dtype)
    w = rng.uniform(0.5, 2, n).astype(dtype)
    mean, stats = np.empty(d, dtype), np.empty(2 * d)
    getattr(K, "center" + sfx)(X, None, mean, stats, 1)  # out=None: mean and stats only
    Xc, mean2, stats2 = np.empty_like(X), np.empty(d, dtype), np.empty(2 * d)
    getattr(K, "center" + sfx)(X, Xc, mean2, stats2, 1)
    assert np.array_equal(mean, mean2) and np.array_equal(stats, stats2)
    mean3 = np.full(d, np.nan, dtype)
    getattr(K, "center" + sfx)(X, None, mean3, None, 2)  # the mean only (tol = 0)
    assert np.array_equal(mean, mean3)
    init = Xc[rng.choice(n, k, replace=False)].copy()
    init[1] = init[0]  # an empty cluster: the relocation reads rows through the shift too
    for n_threads in (1, 2):
        c_ref, c_sh = init.copy(), init.copy()
        l_ref, l_sh = np.empty(n, np.int32), np.empty(n, np.int32)
        r_ref = getattr(K, "lloyd_fit" + sfx)(Xc, w, c_ref, l_ref, 7, 0.0, n_threads, method)
        r_sh = getattr(K, "lloyd_fit" + sfx)(X, w, c_sh, l_sh, 7, 0.0, n_threads, method, mean)
        assert r_ref[0] == r_sh[0]
        assert np.array_equal(c_ref, c_sh) and np.array_equal(l_ref, l_sh)
        d_ref, d_sh = np.empty(n, dtype), np.empty(n, dtype)
        getattr(K, "assigned_sq_dist" + sfx)(Xc, c_ref, l_ref, d_ref, n_threads)
        getattr(K, "assigned_sq_dist" + sfx)(X, c_ref, l_ref, d_sh, n_threads, mean)
        assert np.array_equal(d_ref, d_sh)
        # lloyd_fit's own sq_dist (taken in the final E-step): the same values
        for max_iter in (7, 200):  # the final E-step, and strict convergence (none)
            c_fit, l_fit, d_fit = init.copy(), np.empty(n, np.int32), np.full(n, np.nan, dtype)
            getattr(K, "lloyd_fit" + sfx)(X, w, c_fit, l_fit, max_iter, 0.0, n_threads, method,
                                          mean, d_fit)
            d_chk = np.empty(n, dtype)
            getattr(K, "assigned_sq_dist" + sfx)(X, c_fit, l_fit, d_chk, n_threads, mean)
            assert np.array_equal(d_fit, d_chk)
        a_ref, a_sh = np.empty(n, np.int32), np.empty(n, np.int32)
        q_ref, q_sh = np.empty(n, dtype), np.empty(n, dtype)
        getattr(K, "assign" + sfx)(Xc, c_ref, a_ref, q_ref, n_threads, method)
        getattr(K, "assign" + sfx)(X, c_ref, a_sh, q_sh, n_threads, method, mean)
        assert np.array_equal(a_ref, a_sh) and np.array_equal(q_ref, q_sh)
    with pytest.raises(ValueError, match="shift"):
        getattr(K, "assign" + sfx)(X, init, a_sh, None, 1, method, mean[:-1])


@pytest.mark.skipif(not {"avx2", "avx512"} <= set(harpdaal.available_isas()),
                    reason="needs the AVX2 and AVX-512 levels")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [2, 3, 5, 9, 16])
@pytest.mark.parametrize("k", [2, 3, 7, 15])
def test_lane_rows_give_the_center_tiles_bits(dtype, d, k):
    """AVX-512 runs k < 16 with d <= 16 one row per lane; AVX2 runs the center tile. Both take
    the same FMAs per (row, center) and the first index on ties, so the labels, the weights
    and (one FMA per row and feature into each label's sums, in row order) the sums are the
    same bits, on data full of exact ties."""
    sfx = "_f32" if dtype == np.float32 else "_f64"
    rng = np.random.default_rng(d * 100 + k)
    n = 1003
    X = (np.round(rng.standard_normal((n, d)) * 2) / 2).astype(dtype)
    C = (np.round(rng.standard_normal((k, d)) * 2) / 2).astype(dtype)
    C[k - 1] = C[0]  # a duplicated center: the lower index must win every tie
    w = rng.uniform(0.5, 2.0, n).astype(dtype)
    before = harpdaal.active_isa()
    out = {}
    try:
        for level in ("avx2", "avx512"):
            harpdaal.set_isa(level)
            labels, sums, weights = np.empty(n, np.int32), np.empty((k, d)), np.empty(k)
            getattr(K, "lloyd_partial" + sfx)(X, w, C, labels, sums, weights, 2, "fused")
            pl, dist = np.empty(n, np.int32), np.empty(n, dtype)
            getattr(K, "assign" + sfx)(X, C, pl, dist, 2, "fused")
            # lloyd_fit's steps take no inertia: float32 from d = 4 on, the vector M-step
            cf, lf = C.copy(), np.empty(n, np.int32)
            getattr(K, "lloyd_fit" + sfx)(X, w, cf, lf, 4, 0.0, 2, "fused")
            out[level] = (labels, sums, weights, pl, dist, cf, lf)
    finally:
        harpdaal.set_isa(before)
    for a, b in zip(out["avx2"], out["avx512"]):
        assert np.array_equal(a, b)
    assert not (out["avx512"][0] == k - 1).any()


@pytest.mark.parametrize("isa", harpdaal.available_isas())
@pytest.mark.parametrize("d,k", [(48, 1), (48, 3), (64, 2), (64, 3), (80, 2), (96, 2), (96, 3)])
def test_lloyd_fit_sums_are_lloyd_partials_bits(isa, d, k):
    """lloyd_fit's steps take no inertia, and with few labels and rows of 16 n features (AVX-512)
    keep the label sums in registers, one masked FMA per row and label; lloyd_partial (with its
    inertia) adds each row into memory. One step of each from the same centers: the centers
    lloyd_fit computes are lloyd_partial's sums / weights, bit for bit."""
    rng = np.random.default_rng(d * 10 + k)
    n = 1003
    X = (np.round(rng.standard_normal((n, d)) * 2) / 2
         + rng.standard_normal((n, d)) * 1e-3).astype(np.float32)
    C = X[:k].copy()
    w = rng.uniform(0.5, 2.0, n).astype(np.float32)
    before = harpdaal.active_isa()
    try:
        harpdaal.set_isa(isa)
        labels, sums, weights = np.empty(n, np.int32), np.empty((k, d)), np.empty(k)
        K.lloyd_partial_f32(X, w, C, labels, sums, weights, 2, "fused")
        cf, lf = C.copy(), np.empty(n, np.int32)
        K.lloyd_fit_f32(X, w, cf, lf, 1, 0.0, 2, "fused")
    finally:
        harpdaal.set_isa(before)
    assert (np.bincount(labels, minlength=k) > 0).all()
    assert np.array_equal(cf, (sums / weights[:, None]).astype(np.float32))


def minibatch_update_numpy(centers, counts, sums, weights):
    """The reference: scikit-learn's per-center learning rate in float64."""
    nz = np.flatnonzero(weights > 0)
    old = counts[nz].copy()
    counts[nz] = old + weights[nz]
    centers[nz] = (centers[nz].astype(np.float64) * old[:, None] + sums[nz]) / counts[nz, None]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,d", [(1, 1), (10, 784), (100, 16), (37, 5)])
def test_minibatch_update_matches_numpy(dtype, k, d):
    rng = np.random.default_rng(k * d)
    centers = rng.standard_normal((k, d)).astype(dtype)
    counts = rng.uniform(0, 50, k)
    counts[::3] = 0  # centers that never received a row take the batch mean
    weights = rng.integers(0, 4, k).astype(np.float64) * rng.uniform(0.5, 1.5, k)
    sums = rng.standard_normal((k, d)) * weights[:, None]
    ours, our_counts = centers.copy(), counts.copy()
    getattr(_core.kmeans, "minibatch_update" + ("_f32" if dtype == np.float32 else "_f64"))(
        ours, our_counts, sums, weights)
    ref, ref_counts = centers.copy(), counts.copy()
    minibatch_update_numpy(ref, ref_counts, sums, weights)
    # a serial loop of the same float64 operations (kmeans.cpp is built with baseline flags: no
    # fused multiply-add), so the same bits
    assert ours.tobytes() == ref.tobytes() and our_counts.tobytes() == ref_counts.tobytes()
    still = weights == 0
    assert np.array_equal(ours[still], centers[still]) and np.array_equal(our_counts[still],
                                                                          counts[still])


def test_minibatch_update_checks_its_arguments():
    c, counts = np.zeros((3, 2), np.float32), np.zeros(3)
    with pytest.raises(TypeError):  # float64 centers to the float32 kernel
        _core.kmeans.minibatch_update_f32(np.zeros((3, 2)), counts, np.zeros((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="sums"):
        _core.kmeans.minibatch_update_f32(c, counts, np.zeros((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="counts"):
        _core.kmeans.minibatch_update_f32(c, np.zeros(4), np.zeros((3, 2)), np.ones(3))
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="counts"):
        _core.kmeans.minibatch_update_f32(c, ro, np.zeros((3, 2)), np.ones(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["fused", "gemm"])
@pytest.mark.parametrize("n,d,k", [(1024, 16, 100), (300, 785, 10), (61, 35, 15), (5, 3, 2)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_lloyd_partial_on_indexed_rows_gives_the_gathered_copys_bits(isa, dtype, method, n, d, k,
                                                                     n_threads):
    rng = np.random.default_rng(n + d)
    X = rng.standard_normal((3 * n + 7, d)).astype(dtype)
    rows = np.sort(rng.integers(0, len(X), n)).astype(np.int64)  # with repeats
    C = rng.standard_normal((k, d)).astype(dtype)
    w = rng.uniform(0.5, 2.0, n).astype(dtype)
    sfx = "_f32" if dtype == np.float32 else "_f64"
    out = []
    for args in ((X[rows], w), (X, w, rows)):
        labels, sums, weights = np.empty(n, np.int32), np.empty((k, d)), np.empty(k)
        inertia = getattr(K, "lloyd_partial" + sfx)(args[0], args[1], C, labels, sums, weights,
                                                    n_threads, method, *args[2:])
        out.append((labels, sums.tobytes(), weights.tobytes(), inertia))
    assert np.array_equal(out[0][0], out[1][0]) and out[0][1:] == out[1][1:]


def test_lloyd_partial_rows_checked():
    X = np.zeros((10, 3), np.float32)
    C = np.zeros((2, 3), np.float32)
    args = (C, np.empty(4, np.int32), np.empty((2, 3)), np.empty(2), 1, "auto")
    with pytest.raises(ValueError, match="rows: out of range"):
        K.lloyd_partial_f32(X, None, *args, np.array([0, 1, 10, 2], np.int64))
    with pytest.raises(ValueError, match="rows: out of range"):
        K.lloyd_partial_f32(X, None, *args, np.array([0, -1, 3, 2], np.int64))
    with pytest.raises(TypeError):  # int32 indices are not converted (no hidden copy)
        K.lloyd_partial_f32(X, None, *args, np.array([0, 1, 3, 2], np.int32))
    with pytest.raises(ValueError, match="labels"):  # labels follow len(rows), not len(X)
        K.lloyd_partial_f32(X, None, C, np.empty(10, np.int32), np.empty((2, 3)), np.empty(2),
                            1, "auto", np.array([0, 1, 3, 2], np.int64))
