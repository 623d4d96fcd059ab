"""Implicit-ALS kernels against a plain NumPy reference, at every ISA level, both solvers."""
import numpy as np
import pytest
import scipy.sparse as sp

import harpdaal
from harpdaal._core import als


@pytest.fixture(params=harpdaal.available_isas())
def isa(request):
    before = harpdaal.active_isa()
    harpdaal.set_isa(request.param)
    yield request.param
    harpdaal.set_isa(before)


def _problem(seed=0, n_rows=60, n_cols=45, k=12, density=0.15):
    rng = np.random.default_rng(seed)
    R = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed,
                  dtype=np.float32)
    R.data = (1.0 + 4.0 * R.data).astype(np.float32)
    R.indptr = R.indptr.astype(np.int64)
    R.indices = R.indices.astype(np.int32)
    Y = (0.3 * rng.standard_normal((n_cols, k))).astype(np.float32)
    X = (0.3 * rng.standard_normal((n_rows, k))).astype(np.float32)
    return R, X, Y


# ---- NumPy reference (float64) ------------------------------------------------------------------

def ref_system(R, Y, u, reg, alpha):
    """A_u, b_u of row u (float64)."""
    Yd = Y.astype(np.float64)
    lo, hi = R.indptr[u], R.indptr[u + 1]
    idx, r = R.indices[lo:hi], R.data[lo:hi].astype(np.float64)
    c = alpha * r
    A = Yd.T @ Yd + reg * np.eye(Y.shape[1]) + (Yd[idx].T * (c - 1.0)) @ Yd[idx]
    b = Yd[idx].T @ c
    return A, b


def ref_exact(R, Y, reg, alpha):
    return np.stack([np.linalg.solve(*ref_system(R, Y, u, reg, alpha))
                     for u in range(R.shape[0])])


def ref_cg(R, X, Y, reg, alpha, steps):
    """implicit's conjugate-gradient update, warm-started from X, in float64."""
    out = X.astype(np.float64).copy()
    for u in range(R.shape[0]):
        A, b = ref_system(R, Y, u, reg, alpha)
        x = out[u]
        r = b - A @ x
        p = r.copy()
        rs_old = r @ r
        if rs_old < 1e-20:
            continue
        for _ in range(steps):
            Ap = A @ p
            a = rs_old / (p @ Ap)
            x += a * p
            r -= a * Ap
            rs_new = r @ r
            if rs_new < 1e-20:
                break
            p = r + (rs_new / rs_old) * p
            rs_old = rs_new
    return out


def ref_loss(R, X, Y, reg, alpha):
    Xd, Yd = X.astype(np.float64), Y.astype(np.float64)
    S = Xd @ Yd.T
    C = np.ones_like(S)
    P = np.zeros_like(S)
    D = R.toarray().astype(np.float64)
    C[D > 0] = alpha * D[D > 0]
    P[D > 0] = 1.0
    return float((C * (P - S) ** 2).sum() + reg * (Xd ** 2).sum())


# ---- tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,k", [(0, 4), (1, 1), (37, 5), (5000, 16), (9000, 33)])
def test_gram_matches_numpy(n, k):
    rng = np.random.default_rng(n + k)
    Y = rng.standard_normal((n, k)).astype(np.float32)
    out = np.full((k, k), np.nan, np.float32)
    als.gram(Y, out, n_threads=2)
    ref = Y.astype(np.float64).T @ Y.astype(np.float64)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)
    assert np.array_equal(out, out.T)


def test_gram_same_bits_at_any_thread_count():
    Y = np.random.default_rng(3).standard_normal((10000, 24)).astype(np.float32)
    outs = []
    for t in (1, 2, 3):
        o = np.empty((24, 24), np.float32)
        als.gram(Y, o, n_threads=t)
        outs.append(o)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


@pytest.mark.parametrize("n", [0, 5, 4096, 9000, 20000])
def test_gram_from_partials_in_any_split_has_grams_bits(n):
    # ranks compute shares of the fixed row blocks and add all partials in block order
    k = 20
    Y = np.random.default_rng(n).standard_normal((n, k)).astype(np.float32)
    want = np.empty((k, k), np.float32)
    als.gram(Y, want, n_threads=2)
    n_blocks = als.gram_blocks(n)
    assert n_blocks == max(1, -(-n // als.gram_block_rows))
    for parts in (1, 2, 3):
        partials = np.full((n_blocks, k, k), np.nan, np.float32)
        bounds = [(n_blocks * r) // parts for r in range(parts + 1)]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            als.gram_partials(Y, lo, hi, partials, n_threads=1 + lo % 2)
        got = np.empty((k, k), np.float32)
        als.gram_sum(partials, got, n_threads=2)
        assert np.array_equal(got, want)


def test_gram_partials_reject_bad_blocks():
    Y = np.zeros((10, 4), np.float32)
    partials = np.zeros((1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="blocks"):
        als.gram_partials(Y, 0, 2, partials)
    with pytest.raises(ValueError, match="partials"):
        als.gram_partials(Y, 0, 1, np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="partials"):
        als.gram_sum(np.zeros((2, 4, 3), np.float32), np.zeros((4, 4), np.float32))


@pytest.mark.parametrize("reg,alpha", [(0.1, 2.0), (1e-3, 40.0)])
def test_cholesky_equals_linalg_solve(isa, reg, alpha):
    R, X, Y = _problem(seed=1)
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    als.solve_rows(R.indptr, R.indices, R.data, Y, G, X, reg, alpha, "cholesky", n_threads=2)
    ref = ref_exact(R, Y, reg, alpha)
    np.testing.assert_allclose(X, ref, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("k", [12, 16, 33, 64, 100, 128, 130])
def test_cg_steps_match_reference(isa, steps, k):
    # k <= 128: the AVX-512 level keeps the vectors in registers (tail lanes masked); above, the
    # portable body runs at every level
    R, X, Y = _problem(seed=2, k=k)
    X0 = X.copy()
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    als.solve_rows(R.indptr, R.indices, R.data, Y, G, X, 0.05, 3.0, "cg", steps, n_threads=2)
    ref = ref_cg(R, X0, Y, 0.05, 3.0, steps)
    np.testing.assert_allclose(X, ref, rtol=2e-3, atol=3e-4)
    assert not np.allclose(X, X0)


def test_cholesky_long_rows():
    # rows of ~420 entries: the sparse part is added in several blocks of entries
    R, X, Y = _problem(seed=9, n_rows=6, n_cols=700, k=20, density=0.6)
    assert np.diff(R.indptr).min() > 256
    G = np.empty((20, 20), np.float32)
    als.gram(Y, G)
    als.solve_rows(R.indptr, R.indices, R.data, Y, G, X, 0.5, 0.7, "cholesky")
    np.testing.assert_allclose(X, ref_exact(R, Y, 0.5, 0.7), rtol=1e-4, atol=2e-5)


def test_cg_with_many_steps_converges_to_exact(isa):
    R, X, Y = _problem(seed=3)
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    for _ in range(4):
        als.solve_rows(R.indptr, R.indices, R.data, Y, G, X, 0.1, 2.0, "cg", 20)
    np.testing.assert_allclose(X, ref_exact(R, Y, 0.1, 2.0), rtol=1e-3, atol=1e-4)


def test_empty_rows():
    R, X, Y = _problem(seed=4, density=0.02)
    empty = np.flatnonzero(np.diff(R.indptr) == 0)
    assert empty.size > 0
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    Xc = X.copy()
    als.solve_rows(R.indptr, R.indices, R.data, Y, G, Xc, 0.1, 1.0, "cholesky")
    assert np.all(Xc[empty] == 0)
    X0 = X.copy()
    als.solve_rows(R.indptr, R.indices, R.data, Y, G, X, 0.1, 1.0, "cg", 3)
    assert np.all(X[empty] == 0)
    full = np.flatnonzero(np.diff(R.indptr) > 0)
    np.testing.assert_allclose(X[full], ref_cg(R, X0, Y, 0.1, 1.0, 3)[full], rtol=2e-3,
                               atol=2e-4)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_same_bits_at_any_thread_count(solver):
    R, X, Y = _problem(seed=5, n_rows=300)
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    outs = []
    for t in (1, 2, 4):
        Xt = X.copy()
        als.solve_rows(R.indptr, R.indices, R.data, Y, G, Xt, 0.1, 2.0, solver, 3, n_threads=t)
        outs.append(Xt)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


@pytest.mark.parametrize("k", [16, 40, 128])
def test_row_result_independent_of_its_neighbours(isa, k):
    # rows solved side by side (AVX-512 blocks) give each row the bits it gets alone
    R, X, Y = _problem(seed=10, n_rows=150, n_cols=80, k=k, density=0.1)
    G = np.empty((k, k), np.float32)
    als.gram(Y, G)
    whole = X.copy()
    als.solve_rows(R.indptr, R.indices, R.data, Y, G, whole, 0.1, 2.0, "cg", 3, n_threads=1)
    perm = np.random.default_rng(0).permutation(R.shape[0])
    Rp = R[perm]
    Rp.indptr = Rp.indptr.astype(np.int64)
    shuffled = X[perm].copy()
    als.solve_rows(Rp.indptr, Rp.indices, Rp.data, Y, G, shuffled, 0.1, 2.0, "cg", 3,
                   n_threads=2)
    assert np.array_equal(shuffled, whole[perm])
    for u in (0, 77, 149):
        one = X[u:u + 1].copy()
        Ru = R[u:u + 1]
        als.solve_rows(Ru.indptr.astype(np.int64), Ru.indices, Ru.data, Y, G, one, 0.1, 2.0,
                       "cg", 3)
        assert np.array_equal(one[0], whole[u])


def test_loss_matches_dense_reference(isa):
    R, X, Y = _problem(seed=6)
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    got = als.loss(R.indptr, R.indices, R.data, X, Y, G, 0.2, 5.0, n_threads=2)
    assert got == pytest.approx(ref_loss(R, X, Y, 0.2, 5.0), rel=1e-5)


def test_half_step_lowers_loss():
    R, X, Y = _problem(seed=7)
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    before = als.loss(R.indptr, R.indices, R.data, X, Y, G, 0.1, 2.0)
    als.solve_rows(R.indptr, R.indices, R.data, Y, G, X, 0.1, 2.0, "cg", 3)
    assert als.loss(R.indptr, R.indices, R.data, X, Y, G, 0.1, 2.0) < before


def test_bad_arguments_raise():
    R, X, Y = _problem(seed=8)
    G = np.empty((Y.shape[1],) * 2, np.float32)
    als.gram(Y, G)
    args = (R.indptr, R.indices, R.data, Y, G, X, 0.1, 1.0)
    with pytest.raises(ValueError, match="solver"):
        als.solve_rows(*args, "lu")
    with pytest.raises(ValueError, match="cg_steps"):
        als.solve_rows(*args, "cg", 0)
    bad = R.indices.copy()
    bad[3] = Y.shape[0]
    with pytest.raises(ValueError, match="indices: ids must lie in"):
        als.solve_rows(R.indptr, bad, R.data, Y, G, X, 0.1, 1.0)
    with pytest.raises(ValueError, match="indptr"):
        als.solve_rows(R.indptr[::-1].copy(), R.indices, R.data, Y, G, X, 0.1, 1.0)
    with pytest.raises(ValueError, match="factors: expected"):
        als.solve_rows(R.indptr, R.indices, R.data, Y, G, X[:, :3].copy(), 0.1, 1.0)
    with pytest.raises(TypeError, match="float32"):
        als.solve_rows(R.indptr, R.indices, R.data, Y.astype(np.float64), G, X, 0.1, 1.0)
    with pytest.raises(ValueError, match="read-only"):
        Xr = X.copy()
        Xr.flags.writeable = False
        als.solve_rows(*args[:5], Xr, 0.1, 1.0)
    with pytest.raises(ValueError, match="regularization"):
        als.solve_rows(*args[:6], -1.0, 1.0)


@pytest.mark.parametrize("product", ["mkl", "tile"])
def test_cg_block_product_choices_match_reference(product, tmp_path):
    # the AVX-512 CG blocks' dense product is MKL's sgemm on Intel CPUs and our register tile
    # elsewhere, chosen once per process: each choice is forced in a fresh interpreter
    import os
    import subprocess
    import sys

    if "avx512" not in harpdaal.available_isas():
        pytest.skip("the CG block product is the AVX-512 level's")
    for k in (8, 33, 64, 128):
        R, X, Y = _problem(seed=3, n_rows=90, k=k, density=0.05)  # short rows: blocked
        np.savez(tmp_path / f"in{k}.npz", indptr=R.indptr, indices=R.indices, data=R.data, X=X,
                 Y=Y)
    code = (
        "import numpy as np, sys, harpdaal\n"
        "from harpdaal._core import als\n"
        "harpdaal.set_isa('avx512')\n"
        "for k in (8, 33, 64, 128):\n"
        "    z = np.load(sys.argv[1] + f'/in{k}.npz')\n"
        "    X = z['X'].copy(); G = np.empty((k, k), np.float32); als.gram(z['Y'], G)\n"
        "    als.solve_rows(z['indptr'], z['indices'], z['data'], z['Y'], G, X, 0.05, 3.0, 'cg',"
        " 3, n_threads=2)\n"
        "    np.save(sys.argv[1] + f'/out{k}.npy', X)\n")
    env = dict(os.environ, HARPDAAL_ALS_PRODUCT=product)
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, check=True)
    for k in (8, 33, 64, 128):
        z = np.load(tmp_path / f"in{k}.npz")
        R = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(90, 45))
        got = np.load(tmp_path / f"out{k}.npy")
        ref = ref_cg(R, z["X"], z["Y"], 0.05, 3.0, 3)
        ref[np.diff(R.indptr) == 0] = 0.0  # no entries: b = 0, the exact solution is 0
        np.testing.assert_allclose(got, ref, rtol=2e-3, atol=3e-4)
        assert not np.allclose(got, z["X"])
