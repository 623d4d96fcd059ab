"""harpdaal.cluster.KMeans against scikit-learn's contract and its KMeans."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from harpdaal import _core
from harpdaal.cluster import KMeans
from harpdaal.datasets import load_idx

# Every check scikit-learn's KMeans passes should pass here; the expected failures, with reasons:
_WEIGHT_REASON = ("the random initialisation draws rows with probability proportional to the "
                  "weight, so a weighted fit and a fit on repeated rows start from different "
                  "centers (scikit-learn's KMeans declares the same failure)")
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_REASON,
}


@parametrize_with_checks([KMeans(n_clusters=3, n_init=2, random_state=0, max_iter=20)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_contract(estimator, check):
    check(estimator)


def blobs(n=600, d=6, centers=5, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, (centers, d))
    return means[rng.integers(0, centers, n)] + rng.standard_normal((n, d))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("init", ["array", "k-means++", "random"])
def test_same_as_sklearn_float64(init, weighted):
    X = blobs()
    w = np.random.default_rng(1).uniform(0.1, 3, len(X)) if weighted else None
    init_arg = X[:5].copy() if init == "array" else init
    ours = KMeans(5, init=init_arg, random_state=7, tol=1e-6).fit(X, sample_weight=w)
    ref = SKMeans(5, init=init_arg, random_state=7, tol=1e-6).fit(X, sample_weight=w)
    assert np.array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-6, atol=1e-9)
    assert np.array_equal(ours.predict(X), ref.predict(X))
    assert ours.score(X) == pytest.approx(ref.score(X), rel=1e-6)


def test_float32_preserved_and_close_to_sklearn():
    X = blobs().astype(np.float32)
    init = X[:5].copy()
    ours = KMeans(5, init=init).fit(X)
    ref = SKMeans(5, init=init, n_init=1).fit(X)
    assert ours.cluster_centers_.dtype == np.float32
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-5)


def test_sparse_csr_matches_dense():
    X = blobs()
    X[np.abs(X) < 3] = 0
    init = X[:5].copy()
    dense = KMeans(5, init=init).fit(X)
    sparse = KMeans(5, init=init).fit(sp.csr_matrix(X))
    ref = SKMeans(5, init=init, n_init=1).fit(sp.csr_matrix(X))
    assert np.array_equal(sparse.labels_, dense.labels_)
    assert sparse.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


def test_empty_cluster_relocated_like_sklearn():
    X = blobs(n=200, centers=3)
    init = np.vstack([X[:3], X[:3].mean(0) + 1000])  # the last center attracts nobody
    ours = KMeans(4, init=init, max_iter=5).fit(X)
    ref = SKMeans(4, init=init, n_init=1, max_iter=5).fit(X)
    assert np.array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


def test_pickle_and_threads_agree():
    X = blobs()
    a = KMeans(5, random_state=0, n_jobs=1).fit(X)
    b = pickle.loads(pickle.dumps(KMeans(5, random_state=0, n_jobs=2))).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert set(a.timings_) >= {"compute", "comm", "glue"}


@pytest.mark.parametrize("collective", ["allreduce", "bcast_reduce", "regroup_allgather", "push_pull", "rotate"])
def test_collectives_identical_in_one_process(collective):
    X = blobs()
    a = KMeans(5, random_state=0).fit(X)
    b = KMeans(5, random_state=0, collective=collective).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


@pytest.mark.parametrize("kwargs,X,match", [
    ({}, np.array([[np.nan, 1.0]] * 10), "NaN"),
    ({}, np.array([[np.inf, 1.0]] * 10), "infinity"),
    ({}, np.empty((0, 3)), "0 sample"),
    ({"n_clusters": 20}, np.ones((5, 2)), "n_samples=5 should be >= n_clusters=20"),
    ({"init": np.zeros((3, 2))}, np.ones((10, 3)), "init"),
    ({"collective": "gossip"}, np.ones((10, 3)), "collective"),
    ({"n_clusters": 0}, np.ones((10, 3)), "n_clusters"),
    ({"tol": -1.0}, np.ones((10, 3)), "tol"),
    ({"n_jobs": 0}, np.ones((10, 3)), "n_jobs"),
])
def test_bad_input_raises_value_error(kwargs, X, match):
    with pytest.raises(ValueError, match=match):
        KMeans(**{"n_clusters": 2, **kwargs}).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad,match", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")])
@pytest.mark.parametrize("copy_x", [True, False])
def test_non_finite_x_raises_scikit_learns_error(dtype, bad, match, copy_x):
    """In one process the finiteness of dense X is read off the native column means (with
    copy_x); the error is scikit-learn's either way, and nothing is fitted."""
    X = blobs().astype(dtype)
    X[37, 2] = bad
    est = KMeans(3, random_state=0, copy_x=copy_x)
    with pytest.raises(ValueError, match=match) as err:
        est.fit(X)
    with pytest.raises(ValueError) as ref:
        SKMeans(3, random_state=0, copy_x=copy_x).fit(X)
    assert str(err.value) == str(ref.value)
    assert not hasattr(est, "cluster_centers_")
    both = blobs().astype(dtype)
    both[0, 0], both[1, 0] = np.inf, -np.inf  # inf + (-inf): a NaN column sum, still caught
    # (scikit-learn's own check sums X too: inf + (-inf) warns "invalid value" there)
    with pytest.raises(ValueError, match="infinity"), np.errstate(invalid="ignore"):
        KMeans(3, random_state=0, copy_x=copy_x).fit(both)


def read_idx_images(path):
    X = load_idx(path)
    return X.reshape(len(X), -1)


@pytest.mark.data
def test_fashion_mnist_inertia_matches_sklearn(data_file):
    X = np.vstack([read_idx_images(data_file("fashion-mnist/train-images-idx3-ubyte.gz")),
                   read_idx_images(data_file("fashion-mnist/t10k-images-idx3-ubyte.gz"))])
    X = X.astype(np.float32) / 255.0
    init = X[np.random.default_rng(0).choice(len(X), 10, replace=False)]
    ours = KMeans(10, init=init, max_iter=30).fit(X)
    ref = SKMeans(10, init=init, n_init=1, max_iter=30).fit(X)
    assert X.shape == (70000, 784)
    assert abs(ours.inertia_ - ref.inertia_) <= 1e-3 * ref.inertia_


def use_synced_step(monkeypatch):
    """Make one-process dense fits take the one-iteration step (the one sparse and
    distributed fits take) instead of the native blocks."""
    from harpdaal.cluster import _kmeans as mod

    monkeypatch.setattr(mod, "_make_step", lambda est, comm, data, *args:
                        mod._SyncedLloyd(est, comm, data, *args))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k,tol,n_jobs", [(4, 0.0, 1), (10, 1e-4, 2), (40, 0.0, 2)])
def test_native_loop_identical_to_python_loop(monkeypatch, dtype, k, tol, n_jobs):
    """The native blocks of iterations (lloyd_iterations) give bit-identical results to the
    one-iteration step around lloyd_partial, empty-cluster relocation and sample weights
    included."""
    X = blobs(n=700, d=9, centers=5, seed=3).astype(dtype)
    w = np.random.default_rng(4).uniform(0.5, 2.0, len(X))
    init = np.vstack([X[:k - 1], X.mean(0) + 1e3]).astype(dtype)  # last center starts empty
    kw = dict(init=init, max_iter=30, tol=tol, n_jobs=n_jobs)
    native = KMeans(k, **kw).fit(X, sample_weight=w)
    use_synced_step(monkeypatch)
    python = KMeans(k, **kw).fit(X, sample_weight=w)
    assert native.n_iter_ == python.n_iter_
    assert np.array_equal(native.labels_, python.labels_)
    assert native.cluster_centers_.tobytes() == python.cluster_centers_.tobytes()
    assert native.inertia_ == python.inertia_
    assert len(np.unique(native.labels_)) == k  # the empty cluster was relocated


@pytest.mark.parametrize("init", ["array", "random", "k-means++"])
def test_fit_without_centred_copy_matches_copy(init, monkeypatch):
    """A dense single-process fit centres inside the kernels (no copy of X) unless k-means++
    needs the copy; either way the result is the same as with an explicit centred copy."""
    from harpdaal.cluster import _kmeans as mod

    rng = np.random.default_rng(3)
    X = (rng.standard_normal((3000, 12)) + 20).astype(np.float32)
    init_arg = X[:7].copy() if init == "array" else init
    made = []
    orig = mod._Data.X.fget

    def spy(self):
        if self._X is None:
            made.append(True)
        return orig(self)

    monkeypatch.setattr(mod._Data, "X", property(spy))
    km = KMeans(7, init=init_arg, n_init=1, random_state=0, max_iter=30).fit(X)
    assert bool(made) == (init == "k-means++")
    monkeypatch.setattr(mod._Data, "X", property(orig))
    # the reference: the one-iteration step on the centred copy
    use_synced_step(monkeypatch)
    ref = KMeans(7, init=init_arg, n_init=1, random_state=0, max_iter=30).fit(X)
    assert np.array_equal(km.labels_, ref.labels_)
    assert np.array_equal(km.cluster_centers_, ref.cluster_centers_)
    assert km.inertia_ == ref.inertia_ and km.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("sparse", [False, True])
def test_same_bits_every_run_with_two_threads(sparse):
    """Same seed and thread count: the same bits on every run, sparse input included (the CSR
    step reduces its partial sums in a fixed order, not in the order threads finish)."""
    X = blobs(n=4000, d=10, centers=8, seed=2)
    X[np.abs(X) < 4] = 0
    if sparse:
        X = sp.csr_matrix(X)
    w = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    fits = [KMeans(8, random_state=1, n_jobs=2, tol=0, max_iter=15).fit(X, sample_weight=w)
            for _ in range(6)]
    for km in fits[1:]:
        assert km.cluster_centers_.tobytes() == fits[0].cluster_centers_.tobytes()
        assert km.inertia_ == fits[0].inertia_
        assert np.array_equal(km.labels_, fits[0].labels_)


@pytest.mark.parametrize("algorithm", ["elkan", "auto"])
@pytest.mark.parametrize("sparse", [False, True])
def test_algorithm_elkan_and_auto_run_lloyd(algorithm, sparse):
    """'elkan' and 'auto' give Lloyd's bits: sparse rows run the Lloyd steps, and on this small
    dense set 'auto' is Lloyd's step (below its size gate) and the bound-based step of 'elkan'
    adds the sums in Lloyd's order and finds the same labels."""
    X = blobs(n=900, d=7, centers=6, seed=5)
    if sparse:
        X[np.abs(X) < 3] = 0
        X = sp.csr_matrix(X)
    ref = KMeans(6, random_state=2, n_init=2, init="random").fit(X)
    km = KMeans(6, random_state=2, n_init=2, init="random", algorithm=algorithm).fit(X)
    assert km.cluster_centers_.tobytes() == ref.cluster_centers_.tobytes()
    assert np.array_equal(km.labels_, ref.labels_)
    assert km.inertia_ == ref.inertia_ and km.n_iter_ == ref.n_iter_


def test_algorithm_checked_and_elkan_single_cluster_warns():
    X = blobs(n=50)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        KMeans(2, algorithm="full").fit(X)
    with pytest.warns(RuntimeWarning, match="algorithm='elkan' doesn't make sense"):
        KMeans(1, algorithm="elkan").fit(X)


@pytest.mark.parametrize("init,expected", [("k-means++", 1), ("random", 10),
                                           (lambda X, k, random_state: X[:k], 10), ("array", 1)])
def test_n_init_auto_as_sklearn(init, expected):
    X = blobs(n=100)
    init = X[:3].copy() if isinstance(init, str) and init == "array" else init
    km = KMeans(3, init=init, n_init="auto", random_state=0).fit(X)
    ref = SKMeans(3, init=init, n_init="auto", random_state=0).fit(X)
    assert km._n_init == ref._n_init == expected


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_duplicates_leave_empty_cluster_on_heaviest_center(monkeypatch, native, sparse):
    """More clusters than distinct points: nothing can be relocated; the empty cluster sits on
    the heaviest cluster's center (scikit-learn's rule), so the fit stops after one iteration
    (the native loop and the Python loop alike)."""
    if not native:
        use_synced_step(monkeypatch)
    X = np.array([[0, 0], [1, 1], [1, 1], [1, 0], [0, 1]], dtype=np.float64)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(4\)"):
        km = KMeans(5, init=X).fit(sp.csr_matrix(X) if sparse else X)
    assert km.n_iter_ == 1
    np.testing.assert_allclose(km.cluster_centers_, X[[0, 1, 1, 3, 4]], atol=1e-12)


def test_feature_names_out_and_transform_of_centers():
    X = blobs(n=200)
    km = KMeans(4, random_state=0).fit(X)
    assert list(km.get_feature_names_out()) == [f"kmeans{i}" for i in range(4)]
    assert np.array_equal(np.diag(km.transform(km.cluster_centers_)), np.zeros(4))


def test_sparse_float32_transform_keeps_small_distances():
    """A point on its center is at ~0 in float32 as in float64 (no float32 cancellation)."""
    X = blobs(n=300, d=5, seed=9)
    X[np.abs(X) < 2] = 0
    X = np.vstack([X, X[:1] * 10]).astype(np.float32)  # a far point: its own cluster
    km = KMeans(6, random_state=0).fit(sp.csr_matrix(X))
    t = km.transform(sp.csr_matrix(X))
    assert t[-1].min() <= 1e-6 * np.abs(X[-1]).max()
    t64 = KMeans(6, random_state=0).fit(sp.csr_matrix(X.astype(np.float64))).transform(
        sp.csr_matrix(X.astype(np.float64)))
    np.testing.assert_allclose(t, t64, atol=1e-4 * t64.max())


def test_init_centroids_hook_uses_weights():
    """scikit-learn's _init_centroids hook runs harpdaal's init: zero-weight rows never drawn."""
    X = blobs(n=100, d=5, centers=5)
    w = np.random.default_rng(0).uniform(size=100)
    w[::2] = 0
    for init in ("k-means++", "random"):
        c = KMeans()._init_centroids(X, None, init, np.random.RandomState(0), w, n_centroids=10)
        assert c.shape == (10, 5)
        assert not np.any(np.all(np.isclose(X[::2, None, :], c[None]), axis=2))


@pytest.mark.parametrize("block", [1, 2, 5, None])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_steps_identical_in_any_blocks(block, dtype):
    """One loop semantics: the native step run in blocks of any size through the fit loop and
    the one-iteration step give the same centers, labels and iteration count, bit for bit."""
    from harpdaal._driver import FitLoop
    from harpdaal.cluster import _kmeans as mod
    from harpdaal.comm import LocalCommunicator

    X = blobs(n=1500, d=6, centers=7, seed=11).astype(dtype)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(X)).astype(dtype)
    est = KMeans(12, max_iter=40, tol=0.0, n_jobs=2)
    comm = LocalCommunicator()
    out = []
    for cls, blk in ((mod._NativeLloyd, block), (mod._SyncedLloyd, None)):
        data = mod._Data(X, w, 2, "auto")
        data.method = _core.kmeans.choose_method(X.shape[1], 12, dtype == np.float64)
        step = cls(est, comm, data, X[:12], 0.0, 0, None)
        result = FitLoop(max_iter=40, comm=comm, block=blk).run(step)
        labels, inertia = step.finish()
        out.append((result.n_iter, result.stopped, step.centers.tobytes(), labels.copy(), inertia))
    (n1, s1, c1, l1, i1), (n2, s2, c2, l2, i2) = out
    assert n1 == n2 and s1 == s2 and 1 < n1
    assert c1 == c2 and np.array_equal(l1, l2) and i1 == i2


def test_verbose_and_checkpointed_fits_give_the_plain_fit(tmp_path, capsys):
    """Verbose output and checkpoints make the loop ask for one (or a few) native iterations
    at a time; the result stays the plain fit's, bit for bit."""
    X = blobs(n=2000, d=8, centers=9, seed=4).astype(np.float32)
    kw = dict(n_clusters=9, random_state=5, tol=0, max_iter=25, n_init=2, init="random")
    plain = KMeans(**kw).fit(X)
    verbose = KMeans(**kw, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert out.count("Initialization complete") == 2
    assert "Iteration 0, inertia " in out and "Converged at iteration" in out
    ck = KMeans(**kw, checkpoint_dir=str(tmp_path), checkpoint_every=3).fit(X)
    for km in (verbose, ck):
        assert km.cluster_centers_.tobytes() == plain.cluster_centers_.tobytes()
        assert np.array_equal(km.labels_, plain.labels_)
        assert km.inertia_ == plain.inertia_ and km.n_iter_ == plain.n_iter_


def test_native_blocks_as_large_as_allowed(monkeypatch, tmp_path, capsys):
    """The loop keeps the native speed: a plain fit is one native call for all its iterations;
    verbose asks for one iteration per call; checkpoints every 4 for blocks of (at most) 4."""
    calls = []
    real = _core.kmeans.lloyd_iterations_f64

    def counting(X, w, centers, labels, max_iter, *args):
        out = real(X, w, centers, labels, max_iter, *args)
        calls.append((max_iter, out[0]))
        return out

    monkeypatch.setattr(_core.kmeans, "lloyd_iterations_f64", counting)
    X = blobs(n=3000, d=5, centers=12, seed=8)
    kw = dict(n_clusters=12, init="random", random_state=0, n_init=1, tol=0, max_iter=13)
    n_iter = KMeans(**kw).fit(X).n_iter_
    assert calls == [(13, n_iter)] and n_iter > 4
    calls.clear()
    KMeans(**kw, verbose=1).fit(X)
    capsys.readouterr()
    assert [c[0] for c in calls] == [1] * n_iter
    calls.clear()
    KMeans(**kw, checkpoint_dir=str(tmp_path), checkpoint_every=4).fit(X)
    assert [c[0] for c in calls][:2] == [4, 4] and sum(c[1] for c in calls) == n_iter


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elkan_gives_lloyds_fit(dtype):
    rng = np.random.default_rng(7)
    X = (rng.uniform(-6, 6, (30, 5))[rng.integers(0, 30, 3000)]
         + rng.standard_normal((3000, 5))).astype(dtype)
    init = X[:25].copy()
    a = KMeans(25, init=init, n_init=1, algorithm="lloyd", max_iter=15, tol=0, n_jobs=1).fit(X)
    b = KMeans(25, init=init, n_init=1, algorithm="elkan", max_iter=15, tol=0, n_jobs=1).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.n_iter_ == b.n_iter_ and a.inertia_ == b.inertia_


def test_kmeans_parallel_init_through_the_estimator():
    rng = np.random.default_rng(8)
    X = rng.uniform(-9, 9, (6, 4))[rng.integers(0, 6, 2000)] + rng.standard_normal((2000, 4))
    a = KMeans(6, init="k-means||", random_state=0, n_jobs=1).fit(X)
    b = KMeans(6, init="k-means++", random_state=0, n_jobs=1).fit(X)
    assert a._n_init == 1
    assert a.inertia_ <= 1.05 * b.inertia_
    np.testing.assert_array_equal(a.cluster_centers_,
                                  KMeans(6, init="k-means||", random_state=0,
                                         n_jobs=1).fit(X).cluster_centers_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weighted_sum_is_a_float64_dot(dtype):
    from harpdaal.cluster._prune import weighted_sum

    rng = np.random.default_rng(3)
    v = rng.random(100_003).astype(dtype) * 1e3
    w = rng.random(100_003).astype(dtype)
    ref = float(np.sum(v.astype(np.float64) * w.astype(np.float64)))
    assert weighted_sum(v, w) == pytest.approx(ref, rel=1e-12)
    assert weighted_sum(v[:0], w[:0]) == 0.0
    # 2-D values: one sum per column (the k-means++ candidates' potentials)
    m = np.stack([v, 2 * v], axis=1)
    np.testing.assert_allclose(weighted_sum(m, w), [ref, 2 * ref], rtol=1e-12)
    # the inertia of a fit is that sum over its rows' assigned squared distances
    X = rng.standard_normal((500, 4)).astype(dtype)
    km = KMeans(3, n_init=1, random_state=0).fit(X, sample_weight=w[:500])
    d = ((X.astype(np.float64) - km.cluster_centers_[km.labels_]) ** 2).sum(axis=1)
    assert km.inertia_ == pytest.approx(float(d @ w[:500].astype(np.float64)), rel=1e-5)
