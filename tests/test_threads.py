"""oneTBB's process-wide thread cap: harpdaal.thread_limit / set_thread_limit, and the warning
an estimator gives when another library (e.g. daal4py.daalinit(1)) lowered the cap below n_jobs
(found in the K-means benchmark: its 2-thread runs after sklearnex's 1-thread run used 1 thread)."""
import numpy as np
import pytest

import harpdaal
from harpdaal.cluster import KMeans
from harpdaal.recommend import MatrixFactorization
from harpdaal.topic import LatentDirichletAllocation


@pytest.fixture
def capped():
    harpdaal.set_thread_limit(1)
    try:
        yield
    finally:
        harpdaal.set_thread_limit(0)


def test_limit_set_and_removed():
    default = harpdaal.thread_limit()
    assert default >= 1
    harpdaal.set_thread_limit(1)
    try:
        assert harpdaal.thread_limit() == 1
    finally:
        harpdaal.set_thread_limit(0)
    assert harpdaal.thread_limit() == default


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_limit(bad):
    with pytest.raises((TypeError, ValueError), match="set_thread_limit"):
        harpdaal.set_thread_limit(bad)


def _fits():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    users, items = np.nonzero(rng.random((20, 10)) < 0.5)
    ratings = rng.random(users.size)
    docs = rng.integers(0, 3, (10, 8))
    return [lambda nj: KMeans(2, n_init=1, random_state=0, n_jobs=nj).fit(X),
            lambda nj: MatrixFactorization(n_factors=2, n_epochs=1, n_jobs=nj,
                                           random_state=0).fit((users, items, ratings)),
            lambda nj: LatentDirichletAllocation(n_components=2, max_iter=1, n_jobs=nj,
                                                 random_state=0).fit(docs)]


@pytest.mark.skipif(harpdaal.thread_limit() < 2, reason="needs 2 cores to lower the cap below")
@pytest.mark.parametrize("which", range(3))
def test_estimators_warn_when_the_cap_is_below_n_jobs(capped, which):
    with pytest.warns(harpdaal.ThreadLimitWarning, match="process-wide limit is 1"):
        _fits()[which](2)


@pytest.mark.parametrize("which", range(3))
def test_no_warning_without_a_cap(which):
    # n_jobs above the core count is oneTBB's normal cap, not a lowered one: no warning
    _fits()[which](harpdaal.thread_limit() + 2)
    _fits()[which](1)
