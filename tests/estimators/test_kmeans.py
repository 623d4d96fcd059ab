"""harpdaal.cluster.KMeans against scikit-learn's contract and its KMeans."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SKMeans
from sklearn.utils.estimator_checks import parametrize_with_checks

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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k,tol,n_jobs", [(4, 0.0, 1), (10, 1e-4, 2), (40, 0.0, 2)])
def test_native_loop_identical_to_python_loop(monkeypatch, dtype, k, tol, n_jobs):
    """The one-call native Lloyd loop (lloyd_fit) gives bit-identical results to the Python
    loop it replaces, empty-cluster relocation and sample weights included."""
    X = blobs(n=700, d=9, centers=5, seed=3).astype(dtype)
    w = np.random.default_rng(4).uniform(0.5, 2.0, len(X))
    init = np.vstack([X[:k - 1], X.mean(0) + 1e3]).astype(dtype)  # last center starts empty
    kw = dict(init=init, max_iter=30, tol=tol, n_jobs=n_jobs)
    native = KMeans(k, **kw).fit(X, sample_weight=w)
    monkeypatch.setattr(KMeans, "_native_loop", False)
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
    # the reference: the Python loop on the centred copy (the pre-shift path)
    monkeypatch.setattr(KMeans, "_native_loop", False)
    ref = KMeans(7, init=init_arg, n_init=1, random_state=0, max_iter=30).fit(X)
    assert np.array_equal(km.labels_, ref.labels_)
    assert np.array_equal(km.cluster_centers_, ref.cluster_centers_)
    assert km.inertia_ == ref.inertia_ and km.n_iter_ == ref.n_iter_
