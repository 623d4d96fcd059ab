"""The bound-based K-means step (Yinyang / Hamerly) against a plain NumPy Lloyd: the same labels
at every iteration (up to floating-point ties), valid bounds, exact running sums; on every ISA
level, both dtypes, real and adversarial data."""
import numpy as np
import pytest
import scipy.sparse as sp

import harpdaal
from harpdaal import _core
from harpdaal.datasets import load_idx
from harpdaal.cluster._prune import PruneStep, center_groups, make_prune_step

P = _core.kmeans_prune
K = _core.kmeans


@pytest.fixture(params=harpdaal.available_isas())
def isa(request):
    before = harpdaal.active_isa()
    harpdaal.set_isa(request.param)
    yield request.param
    harpdaal.set_isa(before)


def sq_dists(X, C):
    X = X.astype(np.float64)
    C = C.astype(np.float64)
    return np.maximum((X * X).sum(1)[:, None] - 2 * X @ C.T + (C * C).sum(1)[None], 0)


def kernel(dtype):
    return P.prune_step_f32 if dtype == np.float32 else P.prune_step_f64


class State:
    """The caller-kept arrays of prune_step."""

    def __init__(self, n, k, d, t, dtype):
        self.labels = np.full(n, -1, np.int32)
        self.upper = np.empty(n, dtype)
        self.lower = np.empty((n, t), dtype)
        self.sums = np.empty((k, d))
        self.weights = np.empty(k)
        self.counts = np.empty(k, np.int64)

    def args(self):
        return (self.labels, self.upper, self.lower, self.sums, self.weights, self.counts)


def check_iteration(X, w, C, group_of, st, dtype):
    """Labels are the nearest centers (mismatches only within rounding of a tie), the bounds
    hold, the running sums equal fresh sums. Returns the number of tie mismatches."""
    D = sq_dists(X, C)
    n = len(X)
    ref = D.argmin(1)
    lab = st.labels
    eps = np.finfo(dtype).eps * (X.shape[1] + 8)
    scale = (X.astype(np.float64) ** 2).sum(1) + (C.astype(np.float64) ** 2).sum(1).max()
    bad = np.flatnonzero(lab != ref)
    gap = D[bad, lab[bad]] - D[bad, ref[bad]]
    assert np.all(gap <= 4 * eps * scale[bad]), f"non-tie label mismatches: {gap}"
    own = np.sqrt(D[np.arange(n), lab])
    assert np.all(st.upper.astype(np.float64) >= own * (1 - 1e-12)), "an upper bound is below"
    for q in range(st.lower.shape[1]):
        members = np.flatnonzero(group_of == q)
        Dq = np.sqrt(D[:, members])
        Dq[members[None, :] == lab[:, None]] = np.inf
        assert np.all(st.lower[:, q].astype(np.float64) <= Dq.min(1) * (1 + 1e-12)), \
            f"a lower bound of group {q} is above"
    k, d = C.shape
    sums = np.zeros((k, d))
    np.add.at(sums, lab, X.astype(np.float64) * w[:, None])
    np.testing.assert_allclose(st.sums, sums, rtol=1e-9,
                               atol=1e-9 * max(1.0, float(np.abs(sums).max())))
    np.testing.assert_allclose(st.weights, np.bincount(lab, weights=w, minlength=k),
                               rtol=1e-12, atol=1e-9)
    assert np.array_equal(st.counts, np.bincount(lab[w > 0], minlength=k))
    return len(bad)


def lockstep(X, w, C, t, dtype, iters=100, n_threads=1):
    """prune_step iterations with every check; the centers follow the kernel's sums."""
    X = np.ascontiguousarray(X, dtype=dtype)
    w = np.ascontiguousarray(w, dtype=dtype)
    C = np.ascontiguousarray(C, dtype=dtype)
    n, d = X.shape
    k = len(C)
    group_of, t = center_groups(C, t)
    st = State(n, k, d, t, dtype)
    prev, done, distances, ties = None, 0, [], 0
    for _ in range(iters):
        r = kernel(dtype)(X, w, None, C, prev, group_of, *st.args(), n_threads)
        ties += check_iteration(X, w, C, group_of, st, dtype)
        distances.append(r["distances"])
        done += 1
        prev = C
        nz = st.weights > 0
        C = C.copy()
        C[nz] = (st.sums[nz] / st.weights[nz, None]).astype(dtype)
        if r["changed"] == 0:
            break
    return done, distances, ties, st


def numpy_lloyd(X, w, C, tol, max_iter):
    """Plain Lloyd in float64 (the estimator's loop: relocation of empty clusters to the
    farthest points, a cluster still empty placed on the heaviest one's center, strict
    convergence, center-shift tolerance). Returns the labels of every
    iteration and the final centers."""
    X = X.astype(np.float64)
    C = C.astype(np.float64).copy()
    k, d = C.shape
    old = np.full(len(X), -1)
    every = []
    for _ in range(max_iter):
        lab = sq_dists(X, C).argmin(1)
        every.append(lab)
        sums = np.zeros((k, d))
        np.add.at(sums, lab, X * w[:, None])
        weights = np.bincount(lab, weights=w, minlength=k)
        changed = np.any(lab != old)
        empty = np.flatnonzero(weights == 0)
        if len(empty):
            dist = ((X - C[lab]) ** 2).sum(1)
            top = np.argsort(-dist, kind="stable")[:len(empty)]
            if dist[top[0]] > 0:
                for g, e in zip(top, empty):
                    sums[lab[g]] -= X[g] * w[g]
                    weights[lab[g]] -= w[g]
                    sums[e] = X[g] * w[g]
                    weights[e] = w[g]
        new = np.zeros((k, d))
        nz = weights > 0
        new[nz] = sums[nz] / weights[nz, None]
        if not nz.all():  # still empty (duplicates): on the heaviest cluster's center
            new[~nz] = new[np.argmax(weights)]
        shift = ((new - C) ** 2).sum()
        C = new
        if not changed or shift <= tol:
            break
        old = lab
    return every, C


class Recording(PruneStep):
    """Keeps each assignment's labels (before a relocation moves some)."""

    def _assign(self):
        r = super()._assign()
        self.every = getattr(self, "every", []) + [self.labels.copy()]
        return r


def fit_step(X, w, C, tol=0.0, max_iter=100, **kw):
    step = Recording(X, w, C, tol, **kw)
    done = 0
    while done < max_iter:
        recs = step.run(max_iter - done)
        done += len(recs)
        if recs[-1].get("converged"):
            break
    return step, done


def assert_same_fit(X, w, C, tol=0.0, max_iter=100, **kw):
    """The step's labels equal NumPy Lloyd's at every iteration (float64: no near-ties here)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    step, done = fit_step(X, w.astype(np.float64), C, tol, max_iter, **kw)
    every, C_ref = numpy_lloyd(X, w, C, tol, max_iter)
    assert done == len(every)
    for i, (a, b) in enumerate(zip(step.every, every)):
        assert np.array_equal(a, b), f"iteration {i}: {np.sum(a != b)} labels differ"
    np.testing.assert_allclose(step.centers, C_ref, rtol=1e-9, atol=1e-9)
    return step


def blobs(n, d, k, seed, spread=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 4
    return centers[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * spread


# ---- the kernel, iteration by iteration ------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,k,t", [(600, 5, 12, 1), (500, 3, 40, 4), (400, 37, 30, 3),
                                     (333, 17, 64, 64), (257, 70, 25, 25), (120, 2, 7, 7)])
def test_lockstep_matches_numpy(isa, dtype, n, d, k, t):
    X = blobs(n, d, k, seed=n + d)
    rng = np.random.default_rng(k)
    w = rng.uniform(0.5, 2.0, n)
    C = X[rng.choice(n, k, replace=False)]
    done, distances, ties, _ = lockstep(X, w, C, t, dtype)
    assert ties <= 2
    assert done > 2
    assert distances[0] == n * k  # the first call computes everything
    if t < k:  # the bounds pay off once the centers settle
        assert distances[-1] < n * k / 2


def test_counts_and_zero_weights():
    X = blobs(300, 4, 6, seed=3)
    w = np.ones(300)
    w[::7] = 0  # rows of zero weight count in no cluster's weight or count
    _, _, _, st = lockstep(X, w, X[:6], 1, np.float64)
    assert st.counts.sum() == np.count_nonzero(w)


def test_threads_give_the_same_bits():
    X = blobs(3000, 9, 30, seed=5).astype(np.float32)
    w = np.random.default_rng(0).uniform(0.1, 3.0, 3000)
    runs = [lockstep(X, w, X[:30], 3, np.float32, n_threads=nt)[3] for nt in (1, 2, 3)]
    for st in runs[1:]:
        for a, b in zip(runs[0].args(), st.args()):
            assert np.array_equal(a, b)


def test_shift_equals_a_centred_copy():
    X = (blobs(500, 6, 8, seed=9) + 100).astype(np.float32)
    mean = X.mean(0).astype(np.float32)
    Xc = X - mean
    C = np.ascontiguousarray(Xc[:8])
    g = np.zeros(8, np.int32)
    a, b = State(500, 8, 6, 1, np.float32), State(500, 8, 6, 1, np.float32)
    P.prune_step_f32(X, None, mean, C, None, g, *a.args())
    P.prune_step_f32(Xc, None, None, C, None, g, *b.args())
    for u, v in zip(a.args(), b.args()):
        assert np.array_equal(u, v)


def test_bad_arguments():
    X = np.zeros((10, 3))
    C = np.zeros((4, 3))
    st = State(10, 4, 3, 2, np.float64)
    with pytest.raises(ValueError, match="group_of"):
        P.prune_step_f64(X, None, None, C, None, np.array([0, 1, 2, 0], np.int32), *st.args())
    with pytest.raises(ValueError, match="group 1 has no center"):
        P.prune_step_f64(X, None, None, C, None, np.zeros(4, np.int32), *st.args())
    with pytest.raises(ValueError, match="label out of range"):
        P.prune_step_f64(X, None, None, C, C, np.array([0, 1, 0, 1], np.int32), *st.args())
    with pytest.raises(TypeError, match="dtype float64"):
        P.prune_step_f64(X.astype(np.float32), None, None, C, None,
                         np.array([0, 1, 0, 1], np.int32), *st.args())
    with pytest.raises(ValueError, match="n_groups"):
        PruneStep(X, np.ones(10), C, 0.0, n_groups=5)


# ---- whole fits against NumPy Lloyd ----------------------------------------------------------
@pytest.mark.parametrize("n_groups", [None, 1, 2])
def test_fit_matches_numpy_lloyd(n_groups):
    X = blobs(800, 6, 25, seed=11, spread=2.0)
    w = np.random.default_rng(1).uniform(0.5, 1.5, 800)
    step = assert_same_fit(X, w, X[:25], tol=0.0, n_groups=n_groups)
    assert sum(r["distances"] for r in step.history) < 0.6 * 800 * 25 * len(step.history)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,k,weighted,shifted", [(3000, 8, 40, True, True),
                                                    (2500, 30, 12, False, True),
                                                    (1200, 3, 100, True, False),
                                                    (3000, 136, 4, True, True),
                                                    (2500, 128, 5, False, False)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_lloyd_sums_give_the_lloyd_steps_bits(isa, dtype, n, d, k, weighted, shifted, n_threads):
    """With lloyd_sums the whole fit (centers every iteration, labels, n_iter) is
    lloyd_iterations' bit for bit (no rounding tie in these data). The wide shapes (the
    float32 groups of the row-dot tile's M-step) take overlapping blobs, which need more than a
    few iterations."""
    X = blobs(n, d, k, seed=n + k, spread=1.0 if d < 64 else 10.0).astype(dtype)
    w = (np.random.default_rng(k).uniform(0.5, 2, n) if weighted else np.ones(n)).astype(dtype)
    shift = X.mean(0).astype(dtype) if shifted else None
    C0 = np.ascontiguousarray((X[:k] - shift) if shifted else X[:k], dtype=dtype)
    tol = 1e-7
    step = PruneStep(X, w, C0, tol, shift=shift, n_threads=n_threads)
    ref_c = C0.copy()
    ref_l = np.full(n, -1, np.int32)
    fn = K.lloyd_iterations_f32 if dtype == np.float32 else K.lloyd_iterations_f64
    for it in range(100):
        recs = step.run(1)
        n_done, stop, _, _, _ = fn(X, w, ref_c, ref_l, 1, tol, n_threads, "auto", shift, None)
        assert np.array_equal(step.centers, ref_c), f"iteration {it}: centers differ"
        assert bool(recs[-1].get("converged")) == bool(stop)
        if stop:
            break
    assert stop and it > 2
    labels, inertia = step.finish()
    dist = np.empty(n, dtype)
    (K.lloyd_finish_f32 if dtype == np.float32 else K.lloyd_finish_f64)(
        X, ref_c, ref_l, stop != "strict", dist, n_threads, "auto", shift)
    assert np.array_equal(labels, ref_l)



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,k,shifted", [(4000, 8, 40, True), (3000, 20, 12, False),
                                           (1500, 3, 100, True), (3000, 136, 4, True),
                                           (2500, 150, 6, False)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_reused_partials_give_a_full_recomputes_bits(isa, dtype, n, d, k, shifted, n_threads):
    """With partials kept between calls only the chunks' sums a changed row touches are
    recomputed: every call's sums and weights equal a full recompute's bit for bit, also after
    the caller moves rows (a relocation) and says so with reuse_partials=False; a partials
    array of the wrong size is refused."""
    X = blobs(n, d, k, seed=n + d).astype(dtype)
    rng = np.random.default_rng(d)
    w = rng.uniform(0.5, 2, n).astype(dtype)
    w[rng.choice(n, n // 20, replace=False)] = 0  # rows of zero weight count in no cluster
    shift = X.mean(0).astype(dtype) if shifted else None
    C = np.ascontiguousarray((X[:k] - shift) if shifted else X[:k], dtype=dtype)
    g, t = center_groups(C, P.prune_groups(k))
    a, b = State(n, k, d, t, dtype), State(n, k, d, t, dtype)
    partials = np.empty(P.prune_partials_size(n, d, k, n_threads, "auto", dtype))
    with pytest.raises(ValueError, match="partials must hold"):
        kernel(dtype)(X, w, shift, C, None, g, *a.args(), n_threads, True, "auto",
                      partials[:-1], False)
    prev, reuse, changed_total = None, False, 0
    for it in range(12):
        ra = kernel(dtype)(X, w, shift, C, prev, g, *a.args(), n_threads, True, "auto",
                           partials, reuse)
        kernel(dtype)(X, w, shift, C, prev, g, *b.args(), n_threads, True, "auto")
        assert np.array_equal(a.labels, b.labels)
        assert np.array_equal(a.sums, b.sums), f"iteration {it}: sums differ"
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.counts, b.counts)
        changed_total += ra["changed"] if it else 0
        prev, reuse = C, True
        C = np.where(a.weights[:, None] > 0, a.sums / np.maximum(a.weights, 1e-300)[:, None],
                     C).astype(dtype)
        if it == 4:  # the caller moves two rows (as a relocation does) and says so
            for st in (a, b):
                for i in (0, n - 1):
                    st.labels[i] = (st.labels[i] + 1) % k
                    st.upper[i] = np.inf
                    st.lower[i] = 0
            reuse = False
    assert changed_total > 0  # the reuse path ran with rows moving

def test_fit_equals_native_lloyd_fit():
    X = blobs(2000, 8, 40, seed=2)
    w = np.ones(2000)
    C0 = np.ascontiguousarray(X[:40])
    step, done = fit_step(X, w, C0, tol=1e-6, lloyd_sums=False)
    labels, _ = step.finish()
    centers = step.centers
    C = C0.copy()
    lab = np.empty(2000, np.int32)
    n_iter, _, _ = K.lloyd_fit_f64(X, w, C, lab, 100, 1e-6, 1)
    assert n_iter == done
    assert np.array_equal(labels, lab)
    np.testing.assert_allclose(centers, C, rtol=1e-12, atol=1e-12)


def test_duplicates_and_ties():
    # 12 distinct points (an integer grid) repeated: more clusters than distinct points, so
    # centers coincide, clusters empty out and every remaining distance is an exact tie
    rng = np.random.default_rng(4)
    base = np.array([[i, j] for i in range(4) for j in range(3)], dtype=np.float64)
    X = base[rng.integers(0, 12, 240)]
    assert_same_fit(X, np.ones(240), X[:15])


def test_exact_ties_go_to_the_lower_index():
    X = np.array([[1.0], [3.0], [1.0], [5.0]])
    C = np.array([[2.0], [0.0], [2.0], [4.0]])  # centers 0 and 2 coincide; x=1 ties 0 and 1
    step = assert_same_fit(X, np.ones(4), C)
    assert step.every[0].tolist() == [0, 0, 0, 3]


def test_cluster_going_empty_is_relocated():
    X = blobs(300, 3, 4, seed=6)
    C = np.vstack([X[:4], np.full((2, 3), 1e3)])  # two centers far from every point
    step = assert_same_fit(X, np.ones(300), C)
    assert np.all(np.bincount(step.labels, minlength=6) > 0)


@pytest.mark.parametrize("n,d,k", [(50, 1, 4), (40, 3, 1), (30, 4, 30), (25, 1, 25)])
def test_small_shapes(n, d, k):
    X = np.random.default_rng(n).normal(size=(n, d))
    step = assert_same_fit(X, np.ones(n), X[:k])
    if k == n:  # every point its own cluster at once
        assert len(step.every) == 1 and np.array_equal(step.every[0], np.arange(n))


def test_make_prune_step_takes_the_estimators_data():
    from harpdaal.cluster import KMeans
    from harpdaal.cluster._kmeans import _Data
    from harpdaal.comm import LocalCommunicator

    X = blobs(400, 5, 10, seed=8).astype(np.float32)
    mean = X.mean(0).astype(np.float32)
    data = _Data(X, np.ones(400, np.float32), 1, "auto", shift=mean)
    step = make_prune_step(KMeans(10, verbose=1), LocalCommunicator(), data, X[:10] - mean, 0.0,
                           0, None)
    recs = step.run(100)
    assert recs[-1]["converged"] and "inertia" in recs[0]
    assert recs[-1]["message"].startswith("Converged at iteration")
    labels, inertia = step.finish()
    assert inertia == pytest.approx(recs[-1]["inertia"], rel=1e-5)
    assert np.array_equal(labels, sq_dists(X - mean, step.centers).argmin(1))
    with pytest.raises(ValueError, match="dense rows in one process"):
        make_prune_step(KMeans(10), LocalCommunicator(),
                        _Data(sp.csr_matrix(X), np.ones(400, np.float32), 1, "auto"), X[:10],
                        0.0, 0, None)


def test_state_round_trip_continues_identically():
    X = blobs(1000, 4, 20, seed=12)
    w = np.ones(1000)
    a = PruneStep(X, w, X[:20], 0.0)
    a.run(3)
    arrays, extra = a.state()
    b = PruneStep(X, w, X[:20], 0.0)
    b.load_state({k: v.copy() for k, v in arrays.items()}, dict(extra))
    ra, rb = a.run(50), b.run(50)
    assert ra == rb and ra[-1]["converged"]
    assert np.array_equal(a.centers, b.centers) and np.array_equal(a.labels, b.labels)
    # from the centers and labels alone (a Lloyd step's checkpoint): the same fit, bounds rebuilt
    c = PruneStep(X, w, X[:20], 0.0)
    c.load_state({"centers": arrays["centers"].copy(), "labels": arrays["labels"].copy()},
                 {"iteration": extra["iteration"]})
    rc = c.run(50)
    assert len(rc) == len(ra) and np.array_equal(c.labels, a.labels)
    np.testing.assert_allclose(c.centers, a.centers, rtol=1e-12)


# ---- real data -------------------------------------------------------------------------------
@pytest.mark.data
@pytest.mark.parametrize("k", [10, 100])
def test_fashion_mnist_lockstep(data_file, isa, k):
    X = load_idx(data_file("fashion-mnist/t10k-images-idx3-ubyte.gz"))[:3000].reshape(3000, -1)
    X = X.astype(np.float32)
    X -= X.mean(0)
    C = X[np.random.default_rng(k).choice(len(X), k, replace=False)]
    done, distances, ties, _ = lockstep(X, np.ones(len(X)), C, P.prune_groups(k), np.float32,
                                        iters=40)
    assert done >= 10
    assert ties <= 3
    assert sum(distances) < 0.5 * len(X) * k * done


def test_fit_loop_runs_the_step_in_blocks_or_one_at_a_time():
    from harpdaal._driver import FitLoop
    from harpdaal.comm import LocalCommunicator

    X = blobs(1500, 5, 12, seed=14)
    results = []
    for block in (None, 1):
        step = PruneStep(X, np.ones(1500), X[:12], 1e-9)
        res = FitLoop(max_iter=200, comm=LocalCommunicator(), block=block).run(step)
        results.append((res.n_iter, res.stopped, *step.finish(), step.centers))
    (n1, s1, l1, i1, c1), (n2, s2, l2, i2, c2) = results
    assert (n1, s1) == (n2, s2) and s1 == "converged"
    assert np.array_equal(l1, l2) and i1 == i2 and np.array_equal(c1, c2)
