"""k-means|| initialisation (harpdaal.cluster._init.kmeans_parallel): inertia after convergence
(median over seeds) within 1% of k-means++, on blobs and fashion-mnist; edge cases; bad arguments."""
import numpy as np
import pytest
import scipy.sparse as sp

from harpdaal.cluster import KMeans
from harpdaal.cluster._init import kmeans_parallel
from harpdaal.cluster._kmeans import _Data
from harpdaal.comm import LocalCommunicator
from harpdaal.datasets import load_idx


def init(X, k, seed, w=None, **kw):
    w = np.ones(X.shape[0], X.dtype) if w is None else w.astype(X.dtype)
    return kmeans_parallel(LocalCommunicator(), _Data(X, w, 1, "auto"), k,
                           np.random.RandomState(seed), **kw)


def converged_inertia(X, k, seeds, parallel):
    """The median over seeds (a seed sometimes lands either method in a local optimum that
    merges two clusters: a mean would measure that luck)."""
    out = []
    for seed in seeds:
        start = init(X, k, seed) if parallel else "k-means++"
        out.append(KMeans(k, init=start, n_init=1, random_state=seed, n_jobs=1).fit(X).inertia_)
    return float(np.median(out))


def assert_within_one_percent(X, k, seeds=(0, 1, 2)):
    ours = converged_inertia(X, k, seeds, True)
    ref = converged_inertia(X, k, seeds, False)
    assert ours <= 1.01 * ref, f"k-means|| {ours:.6g} vs k-means++ {ref:.6g}"


@pytest.mark.slow
@pytest.mark.parametrize("k", [8, 30])
def test_blobs_inertia_within_one_percent_of_kmeanspp(k):
    rng = np.random.default_rng(k)
    means = rng.uniform(-10, 10, (k, 6))
    X = means[rng.integers(0, k, 4000)] + rng.normal(size=(4000, 6))
    assert_within_one_percent(X, k, seeds=range(8))


@pytest.mark.data
@pytest.mark.parametrize("k", [10, 100])
def test_fashion_mnist_inertia_within_one_percent_of_kmeanspp(data_file, k):
    X = load_idx(data_file("fashion-mnist/t10k-images-idx3-ubyte.gz"))
    X = X.reshape(len(X), -1).astype(np.float32)
    assert_within_one_percent(X, k)


def test_shape_dtype_and_determinism():
    X = np.random.default_rng(0).normal(size=(500, 4)).astype(np.float32)
    a, b = init(X, 7, 3), init(X, 7, 3)
    assert a.shape == (7, 4) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, init(X, 7, 4))


def test_fewer_distinct_rows_than_clusters():
    X = np.repeat(np.eye(3), 10, axis=0)
    C = init(X, 5, 0)
    assert C.shape == (5, 3)
    assert {tuple(r) for r in C} == {tuple(r) for r in np.eye(3)}


def test_zero_weight_rows_are_never_centers():
    X = np.vstack([np.zeros((50, 2)), np.full((5, 2), 100.0)])
    w = np.r_[np.ones(50), np.zeros(5)]
    C = init(X, 2, 0, w=w)
    assert np.all(np.abs(C) < 1e-9)


def test_sparse_input():
    X = sp.random(300, 20, density=0.2, random_state=1, format="csr")
    C = init(X, 4, 0)
    assert C.shape == (4, 20) and np.all(np.isfinite(C))


def test_bad_arguments():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="oversampling"):
        init(X, 3, 0, oversampling=0)
    with pytest.raises(ValueError, match="n_rounds"):
        init(X, 3, 0, n_rounds=0)
    with pytest.raises(ValueError, match="every sample weight is zero"):
        init(X, 3, 0, w=np.zeros(20))
