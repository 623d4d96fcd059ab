"""scikit-learn's private ``_mini_batch_step`` (same signature), computed by harpdaal's step
(:func:`harpdaal.cluster._minibatch.minibatch_step`: the native ``lloyd_partial``, the
count-based update, the random reassignment), so that the suite's tests of that function
(``test_minibatch_update_consistency``, ``test_minibatch_reassign``) test harpdaal's."""
import numpy as np
import scipy.sparse as sp

from harpdaal.cluster._kmeans import _Data
from harpdaal.cluster._minibatch import minibatch_step
from harpdaal.comm import LocalCommunicator


def mini_batch_step(X, sample_weight, centers, centers_new, weight_sums, random_state,
                    random_reassign=False, reassignment_ratio=0.01, verbose=False, n_threads=1):
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        X = np.ascontiguousarray(X)
    dtype = X.dtype
    data = _Data(X, np.asarray(sample_weight, dtype=dtype), n_threads, "auto")
    counts = np.asarray(weight_sums, dtype=np.float64).copy()
    # a RandomState's choice(n, size, replace=False) is the common stream's only use here
    new, inertia, moved, _, _ = minibatch_step(
        LocalCommunicator(), data, np.ascontiguousarray(centers, dtype=dtype), counts,
        reassign=random_reassign, ratio=reassignment_ratio,
        shares=np.array([X.shape[0]], dtype=np.int64), common=random_state)
    if moved and verbose:
        print(f"[MiniBatchKMeans] Reassigning {moved} cluster centers.")
    centers_new[...] = new
    weight_sums[...] = counts
    return inertia
