"""Gold test for distributed MF-SGD (Harp's model rotation): ratings split by user over the ranks
reach the one-process test RMSE within 1% after the same epochs."""
import numpy as np
import pytest

from harpdaal.recommend import MatrixFactorization
from harpdaal.recommend._rotation import fit_distributed, slice_at


def ratings(seed=0, m=400, n=250, k=4, density=0.15):
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(m, k)), rng.normal(size=(n, k))
    u, i = np.nonzero(rng.random((m, n)) < density)
    r = 3.0 + np.einsum("ij,ij->i", U[u], V[i]) + 0.3 * rng.normal(size=u.size)
    perm = np.random.default_rng(1).permutation(r.size)
    cut = int(0.9 * r.size)
    tr, te = perm[:cut], perm[cut:]
    return (u[tr], i[tr], r[tr]), (u[te], i[te], r[te])


def test_rotation_schedule_visits_every_slice_once():
    for size in (1, 2, 3, 4, 7):
        n_slices = 2 * size
        for rank in range(size):
            assert sorted(slice_at(rank, t, size) for t in range(n_slices)) == list(range(n_slices))
        for t in range(n_slices):  # no slice on two ranks at the same step
            assert len({slice_at(r, t, size) for r in range(size)}) == size
        for rank in range(size):  # the slice computed at t+2 is the one the left neighbour did at t
            for t in range(3 * n_slices):
                assert slice_at(rank, t + 2, size) == slice_at((rank - 1) % size, t, size)


class _SelfComm:
    """A communicator of one rank (NumPy only) for running the rotation path in one process."""
    rank, size = 0, 1

    def check_same(self, value, what=""):
        pass

    def bcast_object(self, obj, root=0):
        return obj

    def allreduce_array(self, a, op="sum"):
        return a

    def allgather_array(self, a):
        return a[None].copy()

    def allgatherv_rows(self, a):
        return np.array(a, copy=True)

    def irotate_array(self, send, recv, shift=1):
        np.copyto(recv, send)

        class Done:
            def wait(self):
                pass
        return Done()


def test_rotation_path_in_one_process_matches_plain_fit():
    tr, te = ratings()
    kw = dict(n_factors=8, n_epochs=15, random_state=0)
    plain = MatrixFactorization(**kw).fit(tr)
    est = MatrixFactorization(**kw)
    rotated = fit_distributed(est, est._validated(), _SelfComm(), *tr, te)
    assert rotated.rmse(te) == pytest.approx(plain.rmse(te), rel=0.01)
    assert rotated.history_[-1]["val_rmse"] == pytest.approx(rotated.rmse(te), rel=1e-4)
    assert set(rotated.timings_) == {"compute", "comm", "glue"}


@pytest.mark.mpi
@pytest.mark.timeout(120)
def test_ranks_reach_one_process_rmse():
    comm_mod = pytest.importorskip("harpdaal.comm", reason="comm layer not available")
    import harpdaal

    comm = comm_mod.current_communicator()
    if comm.size == 1:
        pytest.skip("needs mpiexec with more than one rank")
    tr, te = ratings()
    kw = dict(n_factors=8, n_epochs=15, random_state=0, n_jobs=1)
    with harpdaal.config_context(comm=comm_mod.LocalCommunicator()):
        one = MatrixFactorization(**kw).fit(tr).rmse(te)
    mine = (tr[0] % comm.size) == comm.rank
    dist = MatrixFactorization(**kw).fit(tuple(a[mine] for a in tr))
    assert dist.user_factors_.shape[0] == np.unique(tr[0]).size  # every rank has the model
    assert dist.rmse(te) == pytest.approx(one, rel=0.01)
    # the ranks agree on the model
    got = comm.allgather_array(np.ascontiguousarray(dist.item_factors_))
    assert all(np.array_equal(got[0], g) for g in got)


@pytest.mark.mpi
@pytest.mark.timeout(60)
def test_user_split_across_ranks_is_rejected():
    comm_mod = pytest.importorskip("harpdaal.comm", reason="comm layer not available")
    comm = comm_mod.current_communicator()
    if comm.size == 1:
        pytest.skip("needs mpiexec with more than one rank")
    tr, _ = ratings()
    with pytest.raises(ValueError, match="more than one rank"):
        MatrixFactorization(n_epochs=1, random_state=0).fit(tr)  # every rank holds every user
