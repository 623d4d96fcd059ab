"""Gold tests: MiniBatchKMeans fitted on shards under mpiexec equals the plain NumPy reference
(tests/_minibatch_reference.py) run on the same shards, i.e. the documented scheme: every rank
draws its share of each batch from its rows by (seed, step, rank), the per-center statistics
are allreduced, every rank holds the same centers. Under plain pytest (one rank) they skip."""
import numpy as np
import pytest
import scipy.sparse as sp
from _minibatch_reference import assign as reference_assign
from _minibatch_reference import fit as reference_fit
from _minibatch_reference import step as reference_step
from _minibatch_reference import stream as reference_stream

from harpdaal.cluster import MiniBatchKMeans

comm_mod = pytest.importorskip("harpdaal.comm", reason="the comm layer is not in this build")

pytestmark = [pytest.mark.mpi, pytest.mark.timeout(120)]


def whole_data(seed=0, n=1500, d=5, k=6, dtype=np.float64):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-8, 8, (k, d))
    X = means[rng.integers(0, k, n)] + rng.standard_normal((n, d))
    return X.astype(dtype)


def bounds_for(n, size, empty_last=False):
    # uneven shards on purpose: rank r gets a slice proportional to r + 1 (or none, the last)
    parts = [r + 1 for r in range(size)]
    if empty_last:
        parts[-1] = 0
    cuts = np.cumsum([0] + parts)
    return (cuts * n // cuts[-1]).astype(int)


def same_on_every_rank(comm, array):
    return len(set(comm.allgather_object(np.ascontiguousarray(array).tobytes()))) == 1


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("stop", ["max_iter", "ewa", "tol"])
def test_shards_equal_numpy_reference(comm, weighted, sparse, stop):
    X = whole_data()
    b = bounds_for(len(X), comm.size)
    w = np.random.default_rng(1).uniform(0.2, 3, len(X)) if weighted else np.ones(len(X))
    lo, hi = b[comm.rank], b[comm.rank + 1]
    init = X[:6].copy()
    tol = 1e-3 if stop == "tol" else 0.0
    patience = 3 if stop == "ewa" else None
    est = MiniBatchKMeans(6, init=init, batch_size=90, max_iter=4, random_state=7, tol=tol,
                          max_no_improvement=patience, reassignment_ratio=0.2)
    local = sp.csr_matrix(X[lo:hi]) if sparse else X[lo:hi]
    est.fit(local, sample_weight=w[lo:hi] if weighted else None)
    shards = [X[b[r]:b[r + 1]] for r in range(comm.size)]
    weights = [w[b[r]:b[r + 1]] for r in range(comm.size)]
    centers, counts, done, _ = reference_fit(
        shards, init, est._seed, batch_size=90, max_iter=4, weights=weights, ratio=0.2,
        tol=float(np.var(X, axis=0).mean() * tol), max_no_improvement=patience)
    assert est.n_steps_ == done
    assert (done == 4 * len(X) // 90) == (stop == "max_iter")
    assert same_on_every_rank(comm, est.cluster_centers_)
    np.testing.assert_allclose(est.cluster_centers_, centers, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(est._counts, counts, rtol=1e-12)
    labels, inertia = reference_assign(X, w, centers)
    assert np.array_equal(est.labels_, labels[lo:hi])
    assert est.inertia_ == pytest.approx(inertia, rel=1e-9)


def test_kmeans_plus_plus_float32_and_an_empty_rank(comm):
    X = whole_data(seed=2, dtype=np.float32)
    b = bounds_for(len(X), comm.size, empty_last=True)
    local = X[b[comm.rank]:b[comm.rank + 1]]
    est = MiniBatchKMeans(6, random_state=0, batch_size=100).fit(local)
    assert est.cluster_centers_.dtype == np.float32 and len(est.labels_) == len(local)
    assert same_on_every_rank(comm, est.cluster_centers_)
    # the same quality as one process on the whole data (different batches, so not the bits)
    with harpdaal_local():
        one = MiniBatchKMeans(6, random_state=0, batch_size=100).fit(X)
    assert est.inertia_ <= 1.05 * one.inertia_


def harpdaal_local():
    import harpdaal

    return harpdaal.config_context(comm=comm_mod.LocalCommunicator())


def test_partial_fit_on_shards_equals_reference(comm):
    X = whole_data(seed=3)
    init = X[:6].copy()
    est = MiniBatchKMeans(6, init=init, random_state=0, reassignment_ratio=0.3)
    centers, counts, n_since, first = init.copy(), np.zeros(6), 0, None
    for i, chunk in enumerate(np.array_split(X, 10)):
        b = bounds_for(len(chunk), comm.size)
        est.partial_fit(chunk[b[comm.rank]:b[comm.rank + 1]])
        first = len(chunk) if first is None else first
        n_since += first
        reassign = bool((counts == 0).any() or n_since >= 10 * 6)
        n_since = 0 if reassign else n_since
        parts = [chunk[b[r]:b[r + 1]] for r in range(comm.size)]
        centers, _ = reference_step(parts, [np.ones(len(p)) for p in parts], centers, counts,
                                    reassign, 0.3, reference_stream(est._seed, i, 1))
        assert same_on_every_rank(comm, est.cluster_centers_)
        np.testing.assert_allclose(est.cluster_centers_, centers, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(est._counts, counts, rtol=1e-12)


def test_nan_on_one_rank_raises_on_every_rank(comm):
    X = whole_data(seed=4)[:200].copy()
    if comm.rank == 1:
        X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MiniBatchKMeans(4, random_state=0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        MiniBatchKMeans(4, random_state=0).partial_fit(X)


def test_too_few_rows_over_all_ranks(comm):
    X = np.zeros((2, 3))
    with pytest.raises(ValueError, match=f"n_samples={2 * comm.size} should be >= "):
        MiniBatchKMeans(2 * comm.size + 1).fit(X)
