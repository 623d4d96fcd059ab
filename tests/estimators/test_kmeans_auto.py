"""KMeans(algorithm="auto"): Lloyd iterations until the bound-based step is modelled cheaper
(shadow counts on a sample of rows), then the bound-based step; the fit is Lloyd's."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from harpdaal.cluster import KMeans, _kmeans
from harpdaal.cluster._prune import PruneStep, lloyd_cost


@pytest.fixture
def made(monkeypatch):
    """The steps the estimator makes, in order."""
    steps, make = [], _kmeans._make_step

    def spy(*args):
        steps.append(make(*args))
        return steps[-1]
    monkeypatch.setattr(_kmeans, "_make_step", spy)
    return steps


@pytest.fixture
def eager(monkeypatch):
    """The switch rule made unconditional: every problem size gets the auto step, which
    switches as soon as the shadow has made PATIENCE predictions (after Lloyd iteration 3)."""
    monkeypatch.setattr(_kmeans._AutoStep, "MIN_LLOYD_NS", 0.0)
    monkeypatch.setattr(_kmeans._AutoStep, "RATIO", np.inf)
    monkeypatch.setattr(_kmeans._AutoStep, "SPARSE", 1)


def assert_same_fit(a, b):
    assert np.array_equal(a.labels_, b.labels_)
    assert a.cluster_centers_.tobytes() == b.cluster_centers_.tobytes()
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.inertia_, b.inertia_, rtol=1e-6)


def small_blobs(dtype=np.float64, n=2000):
    return make_blobs(n, 8, centers=10, cluster_std=4.0, random_state=3)[0].astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_switch_keeps_lloyds_fit(made, eager, dtype):
    """The bound-based step adds the sums in the Lloyd step's order and starts from Lloyd's
    labels: after the switch the fit has Lloyd's bits (weighted rows too)."""
    X = small_blobs(dtype)
    w = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    kw = dict(n_clusters=10, random_state=0, n_init=1, tol=0, max_iter=40)
    ref = KMeans(algorithm="lloyd", **kw).fit(X, sample_weight=w)
    km = KMeans(algorithm="auto", **kw).fit(X, sample_weight=w)
    step = made[-1]
    assert isinstance(step, _kmeans._AutoStep)
    assert step.switched_at == 3 and isinstance(step.prune, PruneStep)
    assert ref.n_iter_ > 3
    assert_same_fit(km, ref)


def test_real_rule_switches_on_clustered_data(made):
    """The shipped rule on a shape above the size gate: clustered rows switch within a few
    iterations and keep Lloyd's fit; the same fit twice makes the same choice."""
    X = make_blobs(20000, 256, centers=64, cluster_std=4.0, random_state=0)[0].astype(np.float32)
    assert lloyd_cost(20000, 256, 64) >= _kmeans._AutoStep.MIN_LLOYD_NS
    ref = KMeans(64, random_state=0, n_init=1, algorithm="lloyd").fit(X)
    fits = [KMeans(64, random_state=0, n_init=1, algorithm="auto").fit(X) for _ in range(2)]
    switched = [step.switched_at for step in made[1:]]
    assert switched[0] is not None and 2 <= switched[0] < ref.n_iter_
    assert switched[0] == switched[1]
    for km in fits:
        assert_same_fit(km, ref)


def test_real_rule_stays_on_lloyd_without_structure(made):
    """Uniform rows: the bounds skip too little for the model, the fit stays on Lloyd."""
    X = np.random.default_rng(0).random((20000, 256), dtype=np.float32)
    ref = KMeans(64, random_state=0, n_init=1, algorithm="lloyd").fit(X)
    km = KMeans(64, random_state=0, n_init=1, algorithm="auto").fit(X)
    assert isinstance(made[-1], _kmeans._AutoStep) and made[-1].switched_at is None
    assert made[-1].ratio > _kmeans._AutoStep.RATIO
    assert_same_fit(km, ref)


def test_small_problems_run_the_native_lloyd_step(made):
    """Below the size gate (a Lloyd iteration modelled under 5 ms) "auto" is Lloyd's step
    itself: no shadow, no per-iteration calls."""
    X = small_blobs()
    KMeans(10, random_state=0, n_init=1, algorithm="auto").fit(X)
    assert type(made[-1]) is _kmeans._NativeLloyd


def test_shadow_rows_and_model(eager, made):
    X = small_blobs(n=3000)
    KMeans(10, random_state=0, n_init=1, algorithm="auto", max_iter=2, tol=0).fit(X)
    step = made[-1]
    rows = step._rows
    assert len(rows) == 128 and rows[0] == 0 and rows[-1] == 2999
    assert np.all(np.diff(rows) > 0)
    # the model's ratio grows with every count it is given
    base = dict(skipped=64, distances=600, changed=5)
    r0 = step.modelled_ratio(base)
    for key, more in (("skipped", 0), ("distances", 1200), ("changed", 50)):
        assert step.modelled_ratio({**base, key: more}) > r0, key


def test_verbose_numbers_iterations_through_the_switch(eager, capsys):
    X = small_blobs()
    km = KMeans(10, random_state=0, n_init=1, algorithm="auto", tol=0, max_iter=40,
                verbose=1).fit(X)
    out = capsys.readouterr().out
    numbers = [int(m) for m in re.findall(r"^Iteration (\d+), inertia", out, re.M)]
    assert numbers == list(range(km.n_iter_))
    assert "Converged at iteration" in out


@pytest.mark.parametrize("stop_after", [2, 5])  # runs of the step: before / after the switch
def test_checkpoint_resume_either_side_of_the_switch(eager, made, monkeypatch, tmp_path,
                                                     stop_after):
    X = small_blobs()
    kw = dict(n_clusters=10, random_state=0, n_init=1, tol=0, max_iter=40, algorithm="auto")
    ref = KMeans(**kw).fit(X)
    ck = dict(checkpoint_dir=tmp_path / "ck", checkpoint_every=1)
    real_run, calls = _kmeans._AutoStep.run, [0]

    def failing_run(self, n):
        calls[0] += 1
        if calls[0] > stop_after:
            raise RuntimeError("stopped")
        return real_run(self, n)
    monkeypatch.setattr(_kmeans._AutoStep, "run", failing_run)
    with pytest.raises(RuntimeError, match="stopped"):
        KMeans(**kw, **ck).fit(X)
    assert (made[-1].prune is None) == (stop_after < 3)
    monkeypatch.setattr(_kmeans._AutoStep, "run", real_run)
    km = KMeans(**kw, **ck).fit(X, resume=True)
    assert made[-1].switched_at == 3
    assert_same_fit(km, ref)


def test_auto_checkpoint_with_a_bad_mode_is_refused(eager, made):
    KMeans(10, random_state=0, n_init=1, algorithm="auto", max_iter=2, tol=0).fit(small_blobs())
    step = made[-1]
    arrays, extra = step.state()
    assert extra["auto_step"] == "lloyd" and any(k.startswith("shadow_") for k in arrays)
    with pytest.raises(ValueError, match="auto_step 'x' is neither"):
        step.load_state(arrays, {**extra, "auto_step": "x"})


def test_shadow_counts_track_the_full_step():
    """The rule's premise: the bound-based step on the evenly spaced sample rows skips, reads
    and computes the same shares as on all rows, iteration by iteration, given the same
    centers (the Lloyd step's)."""
    from harpdaal import _core

    X = make_blobs(20000, 32, centers=40, cluster_std=6.0, random_state=7)[0].astype(np.float32)
    X -= X.mean(0)
    n, k = len(X), 40
    w = np.ones(n, dtype=np.float32)
    rows = np.linspace(0, n - 1, 128).round().astype(np.int64)
    centers = X[np.random.default_rng(0).choice(n, k, replace=False)].copy()
    labels = np.full(n, -1, dtype=np.int32)
    full = PruneStep(X, w, centers, 0.0, n_threads=1, lloyd_sums=False)
    shadow = PruneStep(X[rows], w[rows], centers, 0.0, n_threads=1, lloyd_sums=False,
                       sample=True)
    gaps, shares = [], []
    for it in range(12):
        _core.kmeans.lloyd_iterations_f32(X, w, centers, labels, 1, 0.0, 1, "auto", None, None)
        for step in (full, shadow):
            step.centers = centers.copy()
        a, b = full._assign(), shadow._assign()
        if it == 0:
            continue
        shares.append((a["skipped"] / n, a["distances"] / (n * k)))
        gaps.append((a["skipped"] / n - b["skipped"] / 128,
                     a["distances"] / (n * k) - b["distances"] / (128 * k)))
    gaps, shares = np.abs(np.array(gaps)), np.array(shares)
    assert shares[:, 0].max() > 0.3 and shares[:, 1].min() < 0.5, shares  # not a trivial case
    assert gaps.max() < 0.15, gaps
    assert np.median(gaps, axis=0).max() < 0.06, gaps
