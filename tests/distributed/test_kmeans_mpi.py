"""Gold tests: KMeans fitted on shards under mpiexec equals one process fitting the whole data,
for each of Harp's five collectives. Under plain pytest (one rank) they skip."""
import numpy as np
import pytest

import harpdaal
from harpdaal.cluster import KMeans

comm_mod = pytest.importorskip("harpdaal.comm", reason="the comm layer is not in this build")

pytestmark = [pytest.mark.mpi, pytest.mark.timeout(120)]

COLLECTIVES = ["allreduce", "bcast_reduce", "regroup_allgather", "push_pull", "rotate"]


def whole_data(seed=0, n=1200, d=5, k=7, dtype=np.float64):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-8, 8, (k, d))
    X = means[rng.integers(0, k, n)] + rng.standard_normal((n, d))
    return X.astype(dtype)


def shard(X, comm):
    # uneven shards on purpose: rank r gets a slice proportional to r + 1
    cuts = np.cumsum([0] + [r + 1 for r in range(comm.size)])
    bounds = (cuts * len(X) // cuts[-1]).astype(int)
    return X[bounds[comm.rank]:bounds[comm.rank + 1]], bounds


def single_process(est, X, **fit_kw):
    with harpdaal.config_context(comm=comm_mod.LocalCommunicator()):
        return est.fit(X, **fit_kw)


@pytest.mark.parametrize("collective", COLLECTIVES)
@pytest.mark.parametrize("init", ["array", "k-means++", "random"])
def test_shards_equal_whole(comm, collective, init):
    X = whole_data()
    local, bounds = shard(X, comm)
    init_arg = X[:7].copy() if init == "array" else init
    params = dict(n_clusters=7, init=init_arg, random_state=3, n_init=2 if init == "random" else 1)
    ref = single_process(KMeans(**params), X)
    ours = KMeans(**params, collective=collective).fit(local)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert np.array_equal(ours.labels_, ref.labels_[bounds[comm.rank]:bounds[comm.rank + 1]])
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    assert ours.n_iter_ == ref.n_iter_


def test_sample_weight_and_float32(comm):
    X = whole_data(seed=1, dtype=np.float32)
    w = np.random.default_rng(2).uniform(0.5, 2, len(X)).astype(np.float32)
    local, b = shard(X, comm)
    ref = single_process(KMeans(7, random_state=0), X, sample_weight=w)
    ours = KMeans(7, random_state=0).fit(local, sample_weight=w[b[comm.rank]:b[comm.rank + 1]])
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-4, atol=1e-4)


def test_n_features_mismatch_raises_on_every_rank(comm):
    X = np.random.default_rng(0).standard_normal((50, 3 if comm.rank == 0 else 4))
    with pytest.raises(ValueError):
        KMeans(2, random_state=0).fit(X)


def test_dtype_mismatch_raises_on_every_rank(comm):
    X = np.random.default_rng(0).standard_normal((50, 3))
    X = X.astype(np.float32) if comm.rank == 0 else X
    with pytest.raises(ValueError):
        KMeans(2, random_state=0).fit(X)


def test_nan_on_one_rank_raises_on_every_rank(comm):
    X = np.random.default_rng(0).standard_normal((50, 3))
    if comm.rank == comm.size - 1:
        X[3, 1] = np.nan
    with pytest.raises(ValueError):
        KMeans(2, random_state=0).fit(X)


def test_rotate_goes_through_model_rotator(comm, monkeypatch):
    """collective='rotate' moves the centers with ModelRotator (one per run), never with the
    table collective comm.rotate, and still gives the one-process result."""
    from harpdaal.cluster import _kmeans

    made = []

    class Counting(comm_mod.ModelRotator):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    def no_table_rotate(*args, **kwargs):
        raise AssertionError("comm.rotate(table) called")

    monkeypatch.setattr(_kmeans, "ModelRotator", Counting)
    monkeypatch.setattr(type(comm), "rotate", no_table_rotate)
    X = whole_data(seed=4)
    local, bounds = shard(X, comm)
    ref = single_process(KMeans(7, random_state=1, n_init=3, init="random"), X)
    ours = KMeans(7, random_state=1, n_init=3, init="random", collective="rotate").fit(local)
    assert len(made) == 3
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert np.array_equal(ours.labels_, ref.labels_[bounds[comm.rank]:bounds[comm.rank + 1]])
