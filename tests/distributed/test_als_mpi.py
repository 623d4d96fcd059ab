"""Gold tests: ImplicitALS fitted on users' shards under mpiexec gives the factors of one process
fitting all users, bit for bit (every row solve sees the same operands). Under plain pytest (one
rank) they skip."""
import numpy as np
import pytest
import scipy.sparse as sp

import harpdaal
from harpdaal.recommend import ImplicitALS

comm_mod = pytest.importorskip("harpdaal.comm", reason="the comm layer is not in this build")

pytestmark = [pytest.mark.mpi, pytest.mark.timeout(120)]


def whole_data(seed=0, n_users=400, n_items=150, nnz=5000):
    rng = np.random.default_rng(seed)
    items = np.minimum(rng.zipf(1.5, nnz) - 1, n_items - 1)
    users = rng.integers(0, n_users, nnz)
    r = sp.coo_matrix((rng.integers(1, 6, nnz).astype(np.float32), (users, items)),
                      shape=(n_users, n_items)).tocsr()
    r.sum_duplicates()
    return r


def shard(R, comm):
    # uneven shards on purpose: rank r gets a block of users proportional to r + 1
    cuts = np.cumsum([0] + [r + 1 for r in range(comm.size)])
    bounds = (cuts * R.shape[0] // cuts[-1]).astype(int)
    return R[bounds[comm.rank]:bounds[comm.rank + 1]], bounds


def single_process(est, R, **fit_kw):
    with harpdaal.config_context(comm=comm_mod.LocalCommunicator()):
        return est.fit(R, **fit_kw)


@pytest.mark.parametrize("solver,factors", [("cg", 8), ("cg", 64), ("cg", 100),
                                            ("cholesky", 8)])
def test_shards_equal_whole(comm, solver, factors):
    R = whole_data()
    local, bounds = shard(R, comm)
    params = dict(factors=factors, regularization=0.05, alpha=4.0, iterations=5, random_state=7,
                  solver=solver, calculate_training_loss=True)
    ref = single_process(ImplicitALS(**params), R)
    ours = ImplicitALS(**params).fit(local)
    assert np.array_equal(ours.user_factors_, ref.user_factors_)
    assert np.array_equal(ours.item_factors_, ref.item_factors_)
    assert ours.history_[-1]["loss"] == pytest.approx(ref.history_[-1]["loss"], rel=1e-9)


def test_empty_shard_and_threads(comm):
    R = whole_data(1)
    bounds = [0] + [R.shape[0]] * comm.size  # rank 0 has every user, the others none
    local = R[bounds[comm.rank]:bounds[comm.rank + 1]]
    params = dict(factors=6, iterations=3, random_state=2, n_jobs=1 + comm.rank % 2)
    ref = single_process(ImplicitALS(**params), R)
    ours = ImplicitALS(**params).fit(local)
    assert np.array_equal(ours.item_factors_, ref.item_factors_)


def check_resume_equals_whole(comm, folder_factory, seed, **params):
    """A fit stopped after its third iteration and resumed from the checkpoint gives the
    uninterrupted fit's factors."""
    R = whole_data(seed)
    local, _ = shard(R, comm)
    folder = comm.bcast_object(str(folder_factory.mktemp("als_ck")) if comm.rank == 0
                               else None)
    params = dict(iterations=5, n_jobs=1, **params)
    whole = ImplicitALS(**params).fit(local)
    ImplicitALS(checkpoint_dir=folder, **params).fit(local, callback=lambda it, *_: it == 2)
    resumed = ImplicitALS(checkpoint_dir=folder, **params).fit(local, resume=True)
    assert np.array_equal(resumed.item_factors_, whole.item_factors_)
    assert np.array_equal(resumed.user_factors_, whole.user_factors_)


def test_checkpoint_resume_across_ranks(comm, tmp_path_factory):
    check_resume_equals_whole(comm, tmp_path_factory, 2, factors=4, random_state=3)


def test_bad_input_on_one_rank_raises_on_every_rank(comm):
    R = whole_data(3)
    local, _ = shard(R, comm)
    if comm.rank == comm.size - 1:
        local = local.copy()
        local.data[0] = -1.0
    with pytest.raises(ValueError, match=">= 0"):
        ImplicitALS(factors=2, iterations=1).fit(local)


def test_mismatched_item_count_raises_on_every_rank(comm):
    R = whole_data(4)
    local, _ = shard(R, comm)
    if comm.rank == 0:
        local = sp.csr_matrix((local.data, local.indices, local.indptr),
                              shape=(local.shape[0], R.shape[1] + 1))
    with pytest.raises(ValueError, match="number of items"):
        ImplicitALS(factors=2, iterations=1).fit(local)


def test_power_law_data_split_by_cost(comm):
    # popular users and items first: equal row counts would give rank 0 most of the entries; the
    # ranks solve slices of equal modelled cost instead, and still give one process's bits
    rng = np.random.default_rng(5)
    n_users, n_items, nnz = 600, 300, 12000
    users = np.minimum(rng.zipf(1.3, nnz) - 1, n_users - 1)
    items = np.minimum(rng.zipf(1.2, nnz) - 1, n_items - 1)
    R = sp.csr_matrix((np.ones(nnz, np.float32), (users, items)), shape=(n_users, n_items))
    R.sum_duplicates()
    local, _ = shard(R, comm)
    params = dict(factors=16, iterations=3, random_state=4, n_jobs=1)
    ref = single_process(ImplicitALS(**params), R)
    ours = ImplicitALS(**params).fit(local)
    assert np.array_equal(ours.user_factors_, ref.user_factors_)
    assert np.array_equal(ours.item_factors_, ref.item_factors_)


@pytest.mark.parametrize("buffered", [False, True])
def test_generator_seed_gives_one_process_factors(comm, buffered):
    # each rank draws only its users' initial factors from the stream (skipping the others'),
    # also from a Generator that holds half of a 64-bit output in its buffer
    def seed():
        rng = np.random.default_rng(11)
        if buffered:
            rng.random(1, dtype=np.float32)
        return rng

    R = whole_data(3)
    local, _ = shard(R, comm)
    params = dict(factors=7, iterations=2, n_jobs=1)
    ref = single_process(ImplicitALS(random_state=seed(), **params), R)
    ours = ImplicitALS(random_state=seed(), **params).fit(local)
    assert np.array_equal(ours.user_factors_, ref.user_factors_)
    assert np.array_equal(ours.item_factors_, ref.item_factors_)


@pytest.fixture
def skewed_timings(monkeypatch):
    """Makes every rank report row-solve seconds far from what the cost model predicts (rank r
    as if its rows were 1 + 3 r times dearer), so that the slices are re-cut and rows move."""
    from harpdaal.recommend import _als

    cuts = []
    original = _als._ALSStep._rebalance

    def rebalance(self):
        factor = 1.0 + 3.0 * self.comm.rank
        self._solve_s = [factor * (self.user_hi - self.user_lo + 1),
                         factor * (self.item_hi - self.item_lo + 1)]
        before = (list(self.user_bounds), list(self.item_bounds))
        original(self)
        cuts.append((before, (list(self.user_bounds), list(self.item_bounds))))

    monkeypatch.setattr(_als._ALSStep, "_rebalance", rebalance)
    return cuts


@pytest.mark.parametrize("shared", ["1", "0"])
def test_recut_slices_keep_one_process_bits(comm, skewed_timings, shared, monkeypatch):
    # rows change owner after the first and second iterations (timed slices), with the factor
    # tables in shared memory or allgathered: the factors stay one process's bits
    monkeypatch.setenv("HARPDAAL_SHARED_TABLES", shared)
    R = whole_data(6)
    local, _ = shard(R, comm)
    params = dict(factors=8, iterations=4, random_state=5, n_jobs=1,
                  calculate_training_loss=True)
    ref = single_process(ImplicitALS(**params), R)
    ours = ImplicitALS(**params).fit(local)
    assert len(skewed_timings) == 2
    (u0, i0), (u1, i1) = skewed_timings[0]
    assert u1 != u0 and i1 != i0  # rows moved on both sides
    assert u1[1] > u0[1]  # rank 0 (the fast one) took more users
    assert np.array_equal(ours.user_factors_, ref.user_factors_)
    assert np.array_equal(ours.item_factors_, ref.item_factors_)
    assert ours.history_[-1]["loss"] == pytest.approx(ref.history_[-1]["loss"], rel=1e-9)
    assert ours.user_factors_.flags.owndata or ours.user_factors_.base is not None
    ours.user_factors_[0, 0] += 1  # private, writable copies after the fit


def test_resume_after_recut_slices(comm, skewed_timings, tmp_path_factory):
    # the checkpoint holds this rank's users of the re-cut slices; a resumed fit starts from
    # the modelled slices and still continues with the right rows
    check_resume_equals_whole(comm, tmp_path_factory, 7, factors=5, random_state=8)
    assert len(skewed_timings) == 6  # two re-cuts in each fit: whole, stopped, resumed
