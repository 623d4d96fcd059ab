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


def test_one_n_jobs_rule_for_every_estimator():
    import os

    from harpdaal._threads import resolve_n_jobs
    cores = os.cpu_count() or 1
    assert resolve_n_jobs(None) == 0 and resolve_n_jobs(-1) == 0  # 0: every core
    assert resolve_n_jobs(3) == 3
    assert resolve_n_jobs(-2) == max(1, cores - 1)
    assert resolve_n_jobs(-10 * cores) == 1


@pytest.mark.parametrize("which", range(3))
@pytest.mark.parametrize("bad, err", [(0, ValueError), (1.5, TypeError), (True, TypeError),
                                      ("2", TypeError)])
def test_bad_n_jobs_is_the_same_error_everywhere(which, bad, err):
    with pytest.raises(err, match="n_jobs"):
        _fits()[which](bad)


@pytest.mark.parametrize("which", range(3))
def test_negative_n_jobs_counts_back_from_the_cores(which):
    _fits()[which](-2)  # every core but one, at least one: accepted by every estimator
