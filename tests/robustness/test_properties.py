"""Bad-input sweep: hypothesis feeds every public entry point arrays of any dtype, shape (empty
included), layout (C, Fortran, strided, read-only) and values (NaN, inf, extremes, huge ids), and
loaders arbitrary text. Each call must either raise a clean TypeError/ValueError or return a
correct result; anything else (another exception, a crash of the process) fails.

Bounded for CI: profile ``harpdaal-ci`` (the default, derandomized, small max_examples) runs the
file in well under a minute; ``HARPDAAL_HYPOTHESIS_PROFILE=harpdaal-long`` tries 20x more.
The number of inputs tried is printed at the end of the session (tests/robustness/conftest.py).
"""
from __future__ import annotations

import functools
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from harpdaal import _core  # noqa: E402

from ._counts import COUNTS  # noqa: E402

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                      HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("harpdaal-ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("harpdaal-long", max_examples=800, **_COMMON)
PROFILE = settings.get_profile(os.environ.get("HARPDAAL_HYPOTHESIS_PROFILE", "harpdaal-ci"))


def sweep(max_examples=None, **strategies):
    """@given(**strategies) with the active profile's settings; counts the inputs tried."""
    def deco(fn):
        @functools.wraps(fn)
        def counted(*args, **kwargs):
            COUNTS.hypothesis[fn.__name__] += 1
            with warnings.catch_warnings():
                # a warning is a clean outcome here (the estimators warn on degenerate data)
                warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        n = PROFILE.max_examples if max_examples is None else \
            max(1, PROFILE.max_examples * max_examples // 40)
        return settings(PROFILE, max_examples=n, deadline=None)(given(**strategies)(counted))
    return deco


CLEAN = (TypeError, ValueError)


def clean_or(fn, *args, **kwargs):
    """fn's result, or None when it raised TypeError/ValueError (any other exception fails)."""
    try:
        return fn(*args, **kwargs)
    except CLEAN:
        return None


# ---- strategies ---------------------------------------------------------------------------------
FLOATS = [np.float64, np.float32]
ANY_DTYPE = FLOATS + [np.int32, np.int64, np.uint8, np.bool_, np.float16, np.complex128]
LAYOUTS = ["C", "C", "F", "strided", "readonly"]


def relayout(a: np.ndarray, layout: str) -> np.ndarray:
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided" and a.ndim >= 1:
        wide = np.repeat(a, 2, axis=-1)
        return wide[..., ::2]
    if layout == "readonly":
        a = a.copy()
        a.setflags(write=False)
    return a


@st.composite
def arrays(draw, dtypes=ANY_DTYPE, ndim=None, shape=None, min_side=0, max_side=6, elements=None,
           layouts=LAYOUTS):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    if shape is None:
        dims = draw(st.integers(0, 3)) if ndim is None else ndim
        shape = tuple(draw(st.lists(st.integers(min_side, max_side), min_size=dims,
                                    max_size=dims)))
    a = draw(hnp.arrays(dtype, shape, elements=elements))
    return relayout(a, draw(st.sampled_from(layouts)))


def finite_floats(dtype=np.float64, bound=1e3):
    return hnp.from_dtype(np.dtype(dtype), allow_nan=False, allow_infinity=False,
                          min_value=-bound, max_value=bound)


def well_formed(a, dtype=None, ndim=None):
    """True when `a` is what a kernel accepts as is: exact dtype, C-contiguous, writable."""
    return (isinstance(a, np.ndarray) and (dtype is None or a.dtype == dtype)
            and (ndim is None or a.ndim == ndim) and a.flags.c_contiguous)


# ---- estimators ---------------------------------------------------------------------------------
@sweep(X=arrays(ndim=2, max_side=8), k=st.integers(-1, 4), sparse=st.booleans())
def test_kmeans_fit_any_input(X, k, sparse):
    from harpdaal.cluster import KMeans

    if sparse and X.dtype.kind in "fiub" and X.dtype != np.float16:
        X = sp.csr_matrix(X)
    est = KMeans(k, n_init=1, max_iter=5, random_state=0, n_jobs=1)
    if clean_or(est.fit, X) is None:
        return
    Xd = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    assert np.all(np.isfinite(Xd)), "fit must refuse NaN/inf"
    n, d = Xd.shape
    assert est.cluster_centers_.shape == (k, d)
    assert est.labels_.shape == (n,) and est.labels_.min() >= 0 and est.labels_.max() < k
    # squared distances are computed in X's dtype: float32 data near 1e19 overflows to inf
    limit = np.sqrt(np.finfo(np.asarray(X.data if sp.issparse(X) else X).dtype
                             if X.dtype.kind == "f" else np.float64).max) / 4
    assert np.isfinite(est.inertia_) or np.abs(Xd).max() > limit


@pytest.fixture(scope="module")
def fitted_kmeans():
    from harpdaal.cluster import KMeans

    rng = np.random.default_rng(0)
    return KMeans(3, n_init=1, random_state=0, n_jobs=1).fit(rng.standard_normal((30, 4)))


@sweep(X=arrays(ndim=None, max_side=8))
def test_kmeans_predict_transform_any_input(fitted_kmeans, X):
    est = fitted_kmeans
    labels = clean_or(est.predict, X)
    dist = clean_or(est.transform, X)
    if labels is None:
        assert dist is None, "predict refused an input transform accepted"
        return
    Xd = np.asarray(X, dtype=np.float64)
    assert Xd.ndim == 2 and Xd.shape[1] == 4 and np.all(np.isfinite(Xd))
    assert labels.shape == (Xd.shape[0],) and dist.shape == (Xd.shape[0], 3)
    ref = np.sqrt(((Xd[:, None, :] - est.cluster_centers_[None]) ** 2).sum(-1))
    if np.all(np.abs(Xd) < 1e6):
        np.testing.assert_allclose(dist, ref, rtol=1e-3, atol=1e-3 * (1 + np.abs(Xd).max()))
        best = ref[np.arange(len(labels)), labels]
        assert np.all(best <= ref.min(axis=1) * (1 + 1e-5) + 1e-6)


ID = st.one_of(st.integers(0, 30), st.integers(-3, -1), st.integers(2**31 - 2, 2**31 + 2),
               st.integers(2**62, 2**63 - 1))


@st.composite
def ratings(draw):
    n = draw(st.integers(0, 40))
    kind = draw(st.sampled_from(["int", "huge", "float", "badfloat"]))
    if kind == "int":
        ids = st.integers(0, 12)
    elif kind == "huge":
        ids = ID
    else:
        ids = (st.floats(-2, 14) if kind == "float" else
               st.one_of(st.floats(-2, 14), st.sampled_from([np.nan, np.inf, -np.inf, 1e300])))
    u = np.array(draw(st.lists(ids, min_size=n, max_size=n)) or [], dtype=None)
    i = np.array(draw(st.lists(ids, min_size=n, max_size=n)) or [], dtype=None)
    r = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-10, 10) if
                        draw(st.booleans()) else None))
    return (relayout(u, draw(st.sampled_from(LAYOUTS))), relayout(i, "C"),
            relayout(r, draw(st.sampled_from(LAYOUTS))))


@sweep(max_examples=30, data=ratings(), solver=st.sampled_from(["sgd", "ccd"]))
def test_mf_fit_predict_any_ratings(data, solver):
    from harpdaal.recommend import MatrixFactorization

    est = MatrixFactorization(n_factors=3, n_epochs=2, solver=solver, random_state=0, n_jobs=1,
                              duplicates="mean", grid=2)
    if clean_or(est.fit, data) is None:
        return
    u, i, r = (np.asarray(a) for a in data)
    assert u.size and np.all(np.isfinite(r))
    assert np.all(u >= 0) and np.all(i >= 0)
    np.testing.assert_array_equal(est.user_ids_, np.unique(u.astype(np.int64)))
    pred = est.predict(u, i)
    # predictions are float32: ratings near float32's limit may overflow (a range limit)
    assert pred.shape == (u.size,) and (np.all(np.isfinite(pred)) or np.abs(r).max() > 1e30)
    # unseen (and huge) ids get a finite fallback, never an out-of-bounds read
    unseen = np.array([2**62 + 7, 0], dtype=np.int64)
    fallback = est.predict(unseen, unseen[::-1].copy())
    assert fallback.shape == (2,) and (np.all(np.isfinite(fallback)) or np.abs(r).max() > 1e30)
    assert clean_or(est.predict, np.array([-1]), np.array([0])) is None


def bounded_counts(dtype):
    """Counts / word ids that are small, or far past int32 (must be refused). Values in
    between are legal but ask for billions of tokens or vocabulary rows, which this shared
    test machine must not allocate."""
    dtype = np.dtype(dtype)
    if dtype.itemsize <= 2 or dtype.kind in "bc":
        return hnp.from_dtype(dtype)  # uint8, bool, float16 (<= 65504), complex (refused)
    huge = [v for v in (2**31, 2**62) if v <= (np.iinfo(dtype).max if dtype.kind in "iu"
                                               else 2**62)]
    specials = [np.nan, np.inf, -np.inf, 0.5] if dtype.kind == "f" else []
    if not huge + specials:
        return st.integers(-3, 50)
    return st.one_of(st.integers(-3, 50), st.sampled_from(huge + specials))


@st.composite
def count_arrays(draw, ndim):
    dtype = draw(st.sampled_from([np.int64, np.int32, np.float64, np.float32, np.uint8,
                                  np.bool_, np.float16, np.complex128]))
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=ndim, max_size=ndim)))
    a = draw(hnp.arrays(dtype, shape, elements=bounded_counts(dtype)))
    return relayout(a, draw(st.sampled_from(LAYOUTS)))


@st.composite
def bow(draw):
    kind = draw(st.sampled_from(["dense", "sparse", "docs"]))
    if kind == "docs":
        n = draw(st.integers(0, 5))
        return [draw(count_arrays(1)) for _ in range(n)]
    X = draw(count_arrays(2))
    if kind == "sparse" and X.dtype.kind in "fiub" and X.dtype != np.float16:
        return sp.csr_matrix(X)
    return X


@sweep(max_examples=30, X=bow())
def test_lda_fit_transform_any_corpus(X):
    from harpdaal.topic import LatentDirichletAllocation

    est = LatentDirichletAllocation(3, max_iter=2, random_state=0, n_jobs=1, transform_max_iter=3)
    if clean_or(est.fit, X) is None:
        return
    V = est.n_features_in_
    assert est.word_topic_.shape == (V, 3) and est.word_topic_.min() >= 0
    np.testing.assert_array_equal(est.word_topic_.sum(0), est.topic_totals_)
    theta = clean_or(est.transform, X)
    if theta is not None:
        assert np.all(np.isfinite(theta)) and np.allclose(theta.sum(1), 1.0)


@pytest.fixture(scope="module")
def fitted_lda():
    from harpdaal.topic import LatentDirichletAllocation

    rng = np.random.default_rng(1)
    return LatentDirichletAllocation(3, max_iter=3, random_state=0, n_jobs=1).fit(
        rng.integers(0, 4, (10, 7)))


@sweep(X=bow())
def test_lda_transform_any_input(fitted_lda, X):
    theta = clean_or(fitted_lda.transform, X)
    if theta is None:
        return
    assert theta.ndim == 2 and theta.shape[1] == 3
    assert np.all(np.isfinite(theta)) and np.allclose(theta.sum(1), 1.0)


# ---- comm collectives on LocalCommunicator --------------------------------------------------------
@pytest.fixture(scope="module")
def local_comm():
    from harpdaal.comm import LocalCommunicator

    return LocalCommunicator()


OPS = st.sampled_from(["sum", "min", "max", "prod", "avg", "", None, 3])


@sweep(a=arrays(max_side=5), op=OPS, root=st.sampled_from([0, 0, 1, -1]))
def test_local_collectives_any_array(local_comm, a, op, root):
    c = local_comm
    before = np.array(a, copy=True)
    # one rank: every collective returns the input's values (or refuses cleanly)
    out = clean_or(c.allreduce_array, a, op)
    if out is not None:
        np.testing.assert_array_equal(out, before)
    out = clean_or(c.reduce_array, a, op, root)
    if out is not None:
        assert root == 0
        np.testing.assert_array_equal(out, before)
    out = clean_or(c.broadcast_array, a, root)
    if out is not None:
        assert root == 0
        np.testing.assert_array_equal(out, before)
    out = clean_or(c.allgather_array, a)
    if out is not None:
        np.testing.assert_array_equal(out, before[None])
    out = clean_or(c.allgatherv_rows, a)
    if out is not None:
        np.testing.assert_array_equal(out, before)
    recv = np.empty_like(before) if before.flags.writeable else before
    h = clean_or(c.irotate_array, a, recv)
    if h is not None:
        h.wait()
        np.testing.assert_array_equal(recv, before)
    if not a.flags.writeable:
        np.testing.assert_array_equal(a, before)  # read-only inputs are never written


@st.composite
def tables(draw):
    from harpdaal.comm import Partition, Table

    combiner = draw(st.sampled_from(["sum", "min", "max", "bogus", lambda x, y: x + y]))
    try:
        t = Table(combiner=combiner)
    except CLEAN:
        return None
    for _ in range(draw(st.integers(0, 4))):
        pid = draw(st.one_of(ID, st.just(True), st.just(1.5)))
        arr = draw(arrays(max_side=4))
        try:
            t.add(Partition(pid, arr))
        except CLEAN:
            pass
    return t


@sweep(t=tables(), verb=st.sampled_from(["allreduce", "reduce", "broadcast", "allgather",
                                         "regroup", "rotate", "push_pull"]))
def test_local_table_collectives(local_comm, t, verb):
    from harpdaal.comm import Table

    if t is None:
        return
    before = {p.id: np.array(p.array, copy=True) for p in t}
    if verb == "push_pull":
        g = Table(combiner=t.combiner)
        if clean_or(local_comm.push, t, g) is None:
            return
        assert sorted(g.ids()) == sorted(before)
        if clean_or(local_comm.pull, g, t) is None:
            return
    elif clean_or(getattr(local_comm, verb), t) is None:
        return
    assert sorted(t.ids()) == sorted(before)
    for pid, arr in before.items():
        np.testing.assert_array_equal(t[pid], arr)


# ---- _core bindings ---------------------------------------------------------------------------------
def small_int_arrays(low, high, dtypes=(np.int32, np.int64, np.float64), max_side=8):
    return arrays(dtypes=list(dtypes), ndim=1, max_side=max_side,
                  elements=st.integers(low, high), layouts=["C", "C", "strided", "readonly"])


@sweep(X=arrays(dtypes=FLOATS, ndim=2, max_side=6), C=arrays(dtypes=FLOATS, ndim=2, max_side=4),
       n_out=st.integers(0, 7), threads=st.sampled_from([0, 1, 2, -1]),
       method=st.sampled_from(["auto", "fused", "gemm", "bogus"]))
def test_core_kmeans_kernels(X, C, n_out, threads, method):
    K = _core.kmeans
    sfx = "_f32" if X.dtype == np.float32 else "_f64"
    labels = np.full(n_out, -7, np.int32)
    sq = np.empty(n_out, X.dtype)
    if clean_or(getattr(K, "assign" + sfx), X, C, labels, sq, threads, method) is not None:
        assert well_formed(X) and well_formed(C, X.dtype) and n_out == X.shape[0]
        assert C.shape[1] == X.shape[1] and C.shape[0] >= 1
        with np.errstate(all="ignore"):
            d = ((X[:, None, :].astype(np.float64) - C[None].astype(np.float64)) ** 2).sum(-1)
        ok = np.all(np.isfinite(d), axis=1)
        assert np.all((labels[ok] >= 0) & (labels[ok] < C.shape[0]))
    sums = np.empty((C.shape[0], X.shape[1] if X.ndim == 2 else 0))
    weights = np.empty(C.shape[0])
    w = np.ones(n_out, X.dtype)
    clean_or(getattr(K, "lloyd_partial" + sfx), X, w, C, labels, sums, weights, threads, method)
    out = np.empty((n_out, C.shape[0]), X.dtype)
    if clean_or(getattr(K, "distances" + sfx), X, C, out, True, threads) is not None:
        with np.errstate(all="ignore"):
            ref = ((X[:, None, :].astype(np.float64) - C[None]) ** 2).sum(-1)
        fin = np.isfinite(ref) & (np.abs(ref) < 1e6)
        np.testing.assert_allclose(out[fin], ref[fin], rtol=1e-3, atol=1e-2)
    # labels out of [0, k) must be refused, never used as an index
    bad = np.full(n_out, C.shape[0] + 5, np.int32)
    outd = np.empty(n_out, X.dtype)
    assert clean_or(getattr(K, "assigned_sq_dist" + sfx), X, C, bad, outd, threads) is None \
        or n_out == 0


@sweep(data=arrays(dtypes=FLOATS, ndim=1, max_side=8),
       indices=small_int_arrays(-2, 6, dtypes=(np.int32, np.int64)),
       indptr=small_int_arrays(-1, 9, dtypes=(np.int64, np.int32), max_side=5),
       k=st.integers(0, 3), d=st.integers(0, 5))
def test_core_kmeans_csr(data, indices, indptr, k, d):
    K = _core.kmeans
    sfx = "_f32" if data.dtype == np.float32 else "_f64"
    n = max(indptr.size - 1, 0)
    C = np.zeros((k, d), data.dtype)
    labels = np.empty(n, np.int32)
    if clean_or(getattr(K, "assign_csr" + sfx), data, indices, indptr, C, labels, None, 1) \
            is not None:
        # accepted: then it is a valid CSR matrix and the labels are valid
        assert indptr.size >= 1 and indptr[0] == 0 and np.all(np.diff(indptr) >= 0)
        assert indptr[-1] <= min(data.size, indices.size)
        nnz = int(indptr[-1])
        assert np.all((indices[:nnz] >= 0) & (indices[:nnz] < d))
        assert n == 0 or np.all((labels >= 0) & (labels < k))


@sweep(users=small_int_arrays(-2, 6), items=small_int_arrays(-2, 6),
       nu=st.integers(0, 5), ni=st.integers(0, 5), k=st.integers(-1, 5),
       fdt=st.sampled_from([np.float32, np.float64]))
def test_core_mf_predict_and_sse(users, items, nu, ni, k, fdt):
    M = _core.mf
    P = np.ones((nu, 8), fdt)
    Q = np.ones((ni, 8), fdt)
    bu, bi = np.zeros(nu, np.float32), np.zeros(ni, np.float32)
    out = np.empty(users.size, np.float32)
    if clean_or(M.sgd_predict, users, items, P, Q, bu, bi, k, 3.0, out, 1) is not None:
        assert users.dtype == items.dtype == np.int32 and users.size == items.size
        assert np.all((users >= 0) & (users < nu)) and np.all((items >= 0) & (items < ni))
        np.testing.assert_allclose(out, 3.0 + k)
    r = np.zeros(users.size, np.float32)
    sse = clean_or(M.sum_squared_error, users, items, r, P, Q, bu, bi, k, 0.0, 1)
    if sse is not None:
        assert np.isclose(sse, users.size * float(k) ** 2)


@sweep(words=small_int_arrays(-1, 9, dtypes=(np.int32, np.int64)),
       doc_ptr=small_int_arrays(-1, 10, dtypes=(np.int64, np.int32), max_side=4),
       V=st.integers(0, 8), K=st.integers(0, 4), begin=st.integers(-1, 3),
       alpha=st.sampled_from([0.1, 0.0, -1.0, float("nan"), float("inf")]))
def test_core_lda_kernels(words, doc_ptr, V, K, begin, alpha):
    L = _core.lda
    topics = np.zeros(words.size, np.int32)
    wt = np.zeros((V, K), np.int32)
    totals = np.zeros(K, np.int64)
    if clean_or(L.accumulate_counts, words, topics, wt, begin, totals) is not None:
        assert words.dtype == np.int32 and K >= 1 and begin >= 0
        inside = (words >= begin) & (words < begin + V)
        assert wt.sum() == inside.sum()
    if clean_or(L.sample_block, doc_ptr, words, topics, 0, wt, max(begin, 0), totals, alpha, 0.1,
                max(V, 1), 1, 0, 0, 1) is not None:
        assert np.all((topics >= 0) & (topics < max(K, 1)))
        assert np.all(wt >= 0) and np.all(totals >= 0)
    ll = clean_or(L.doc_log_likelihood, doc_ptr, topics, K, alpha, 1)
    if ll is not None:
        # (the binding does not check alpha itself: the estimator validates it first)
        assert isinstance(ll, float)
        assert np.isfinite(ll) or not (alpha > 0 and np.isfinite(alpha)) or doc_ptr.size <= 1


@sweep(ids=small_int_arrays(-1, 2**40, dtypes=(np.int64,)),
       nbytes=small_int_arrays(-1, 64, dtypes=(np.int64,)), n_ranks=st.integers(-1, 4),
       shift=st.integers(-5, 5))
def test_core_comm_helpers(ids, nbytes, n_ranks, shift):
    Cc = _core.comm
    dest = np.empty(ids.size, np.int32)
    if clean_or(Cc.default_destinations, ids, n_ranks, dest) is not None:
        assert n_ranks >= 1 and np.all((dest >= 0) & (dest < n_ranks))
    offsets = np.empty(nbytes.size + 1, np.int64)
    total = clean_or(Cc.packed_offsets, nbytes, offsets)
    if total is not None:
        assert np.all(nbytes >= 0) and np.all(np.diff(offsets) >= nbytes) and total >= offsets[-1]
    targets = np.empty(max(n_ranks, 0), np.int32)
    if clean_or(Cc.ring_targets, n_ranks, shift, targets) is not None:
        assert sorted(targets.tolist()) == list(range(n_ranks))
        sources = np.empty_like(targets)
        Cc.rotation_sources(targets, sources)
        assert np.all(targets[sources] == np.arange(n_ranks))


# ---- file loaders --------------------------------------------------------------------------------
TOKENS = st.one_of(st.integers(-3, 12).map(str), st.sampled_from(
    ["0", "1", "2", "99999999999999999999", "-0", "1e3", "nan", "inf", "x", "", ":", "1:2",
     "3:-1", "a:b", "1:2:3", "2:0", "0:5", ",", "\t", "\u00e9", "\x00"]))
LINES = st.lists(st.lists(TOKENS, max_size=5).map(" ".join), max_size=8).map("\n".join)


def write(tmp_path_factory, text, name):
    d = tmp_path_factory.mktemp("in")
    p = d / name
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    return p


@sweep(text=LINES, header=st.lists(st.integers(-1, 6), min_size=0, max_size=3))
def test_uci_docword_loader(tmp_path_factory, text, header):
    from harpdaal.datasets.bow import load_bow, load_uci_docword

    content = "\n".join(map(str, header)) + "\n" + text
    p = write(tmp_path_factory, content, "docword.txt")
    got = clean_or(load_uci_docword, p)
    if got is not None:
        X, vocab = got
        lines = content.splitlines()
        D, W, nnz = (int(x) for x in lines[:3])  # the header the loader accepted
        assert sp.issparse(X) and X.shape == (D, W) and vocab is None
        assert X.nnz == 0 or X.data.min() >= 0
        entries = [line.split() for line in lines[3:] if line.split()]
        # with NNZ = 0 the loader reads no entries
        assert X.sum() == (nnz and sum(int(e[2]) for e in entries))
    clean_or(load_bow, p)


@sweep(text=LINES, n_words=st.sampled_from([None, 0, 3, 20]))
def test_ldac_loader(tmp_path_factory, text, n_words):
    from harpdaal.datasets.bow import load_ldac

    p = write(tmp_path_factory, text, "corpus.ldac")
    got = clean_or(load_ldac, p, None, n_words)
    if got is not None:
        X, _ = got
        assert sp.issparse(X) and X.nnz == 0 or X.data.min() >= 0
        assert X.shape[0] == sum(1 for line in text.splitlines() if line.split())


CSV = st.lists(st.lists(TOKENS, max_size=4).map(",".join), max_size=6).map("\n".join)


@sweep(text=st.one_of(CSV, LINES))
def test_rating_reader(tmp_path_factory, text):
    from harpdaal.datasets import load_ratings

    p = write(tmp_path_factory, text, "ratings.csv")
    got = clean_or(load_ratings, p)
    if got is not None:
        u, i, r = got
        assert u.shape == i.shape == r.shape and u.size >= 1


IDX_CODES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@sweep(code=st.sampled_from(sorted(IDX_CODES)), dims=st.lists(st.integers(0, 4), min_size=1,
                                                              max_size=3),
       cut=st.integers(-3, 3), compress=st.booleans(), seed=st.integers(0, 2**16))
def test_idx_reader(tmp_path_factory, code, dims, cut, compress, seed):
    """A well-formed idx file reads back exactly; one cut short or with bytes left over (cut !=
    0, when it changes the length) raises ValueError naming the problem."""
    import gzip

    from harpdaal.datasets import load_idx

    dtype = np.dtype(IDX_CODES[code])
    low = 0 if dtype.kind == "u" else -50
    X = np.random.default_rng(seed).integers(low, 50, dims).astype(dtype)
    raw = bytes([0, 0, code, len(dims)]) + b"".join(n.to_bytes(4, "big") for n in dims)
    values = X.tobytes()
    if cut > 0:
        values += bytes(cut)
    elif cut < 0:
        values = values[:max(0, len(values) + cut)]
    data = raw + values
    p = tmp_path_factory.mktemp("in") / "x-idx-ubyte"
    p.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    if len(values) == X.nbytes:
        got = load_idx(p)
        assert got.shape == tuple(dims) and got.dtype == dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, X)
    else:
        with pytest.raises(ValueError, match="truncated idx file" if cut < 0 else "bytes after"):
            load_idx(p)


@sweep(text=CSV, raw=st.binary(max_size=40), fmt=st.sampled_from(["csv", "idx", "npy"]))
def test_kmeans_cli_reader(tmp_path_factory, text, raw, fmt):
    from harpdaal.cli.kmeans import load

    d = tmp_path_factory.mktemp("in")
    if fmt == "csv":
        p = d / "x.csv"
        p.write_text(text)
    elif fmt == "idx":
        p = d / "x.idx"
        p.write_bytes(raw)
    else:
        p = d / "x.npy"
        p.write_bytes(b"\x93NUMPY" + raw)
    X = clean_or(load, str(p))
    if X is not None:
        assert isinstance(X, np.ndarray) and X.ndim == 2
