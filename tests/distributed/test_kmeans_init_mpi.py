"""k-means|| over ranks: the same centers as one process on the whole data (the random draw of a
row depends on its global index only). Under plain pytest (one rank) it skips."""
import numpy as np
import pytest

from harpdaal.cluster._init import kmeans_parallel
from harpdaal.cluster._kmeans import _Data

comm_mod = pytest.importorskip("harpdaal.comm", reason="the comm layer is not in this build")

pytestmark = [pytest.mark.mpi, pytest.mark.timeout(120)]


@pytest.mark.parametrize("k", [3, 12])
def test_shards_equal_whole(comm, k):
    rng = np.random.default_rng(k)
    means = rng.uniform(-8, 8, (k, 5))
    X = means[rng.integers(0, k, 1500)] + rng.standard_normal((1500, 5))
    cuts = np.cumsum([0] + [r + 1 for r in range(comm.size)])
    b = (cuts * len(X) // cuts[-1]).astype(int)
    local = np.ascontiguousarray(X[b[comm.rank]:b[comm.rank + 1]])
    ours = kmeans_parallel(comm, _Data(local, np.ones(len(local)), 1, "auto"), k,
                           np.random.RandomState(5))
    ref = kmeans_parallel(comm_mod.LocalCommunicator(), _Data(X, np.ones(len(X)), 1, "auto"), k,
                          np.random.RandomState(5))
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    every = comm.allgather_object(ours.tolist())
    assert all(np.array_equal(np.asarray(e), ours) for e in every)
