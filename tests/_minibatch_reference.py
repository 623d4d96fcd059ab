"""A plain NumPy mini-batch K-means for the tests: scikit-learn's update rule (count-based
learning rate, random reassignment of small clusters, EWA early stopping) on the batches of
harpdaal's documented scheme (docs/kmeans.md, "Mini-batch K-means"), written from the
documentation, not from harpdaal.cluster._minibatch, so that the estimator can be checked
against it. Ranks are simulated: ``shards`` is the list of the ranks' rows."""
from __future__ import annotations

import numpy as np


def stream(seed, step, lane):
    """Philox, key = seed, counter words (0, lane, step, 0). Lanes: 0 the batch split over
    ranks, 1 the reassignment, 2 + r rank r's batch rows."""
    return np.random.Generator(np.random.Philox(
        key=int(seed), counter=np.array([0, lane, step, 0], dtype=np.uint64)))


def _draw(cdf, u):
    idx = np.searchsorted(cdf, u * cdf[-1], side="right")
    return np.minimum(idx, np.searchsorted(cdf, cdf[-1], side="left"))


def assign(X, w, centers):
    """Labels (nearest center, first on ties) and the weighted inertia, exactly in float64."""
    X64, c64 = np.asarray(X, dtype=np.float64), np.asarray(centers, dtype=np.float64)
    d2 = ((X64[:, None, :] - c64[None, :, :]) ** 2).sum(axis=2)
    labels = np.argmin(d2, axis=1)
    return labels, float(np.asarray(w, dtype=np.float64) @ d2[np.arange(len(X)), labels])


def step(batches, batch_weights, centers, counts, reassign, ratio, common):
    """One step on the ranks' batch rows (rank-major order). Returns (new centers, inertia
    before the update); counts change in place."""
    k = len(centers)
    Xb = np.concatenate([np.asarray(b, dtype=np.float64) for b in batches])
    wb = np.concatenate([np.asarray(w, dtype=np.float64) for w in batch_weights])
    labels, inertia = assign(Xb, wb, centers)
    sums = np.zeros((k, Xb.shape[1]))
    np.add.at(sums, labels, Xb * wb[:, None])
    weights = np.bincount(labels, weights=wb, minlength=k)
    new = centers.copy()
    for j in range(k):
        if weights[j] > 0:
            total = counts[j] + weights[j]
            new[j] = (centers[j].astype(np.float64) * counts[j] + sums[j]) / total
            counts[j] = total
    if reassign and ratio > 0:
        to = counts < ratio * counts.max()
        if to.sum() > 0.5 * len(Xb):
            to[np.argsort(counts, kind="stable")[int(0.5 * len(Xb)):]] = False
        if to.sum():
            picks = common.choice(len(Xb), size=int(to.sum()), replace=False)
            new[to] = Xb[picks]
        if (~to).any():
            counts[to] = counts[~to].min()
    return new, inertia


def fit(shards, centers, seed, *, batch_size, max_iter, weights=None, ratio=0.01, tol=0.0,
        max_no_improvement=10):
    """The fit loop: ``max_iter * n // batch_size`` steps at most, scikit-learn's stopping
    rules. ``tol`` is absolute (the squared center change). Returns (centers, counts,
    steps done, ewa inertia)."""
    if weights is None:
        weights = [np.ones(len(s)) for s in shards]
    n = sum(len(s) for s in shards)
    k = len(centers)
    b = min(batch_size, n)
    rank_cdf = np.cumsum([np.sum(w, dtype=np.float64) for w in weights])
    row_cdfs = [np.cumsum(np.asarray(w, dtype=np.float64)) for w in weights]
    centers = np.array(centers)
    counts = np.zeros(k)
    n_steps = max_iter * n // b
    alpha = min(b * 2.0 / (n + 1), 1.0)
    ewa = ewa_min = None
    no_improvement = n_since = 0
    done = 0
    for i in range(n_steps):
        shares = np.bincount(_draw(rank_cdf, stream(seed, i, 0).random(b)),
                             minlength=len(shards))
        batches = []
        for r, X in enumerate(shards):
            idx = _draw(row_cdfs[r], np.sort(stream(seed, i, 2 + r).random(shares[r]))) \
                if shares[r] else np.empty(0, dtype=int)
            batches.append(np.asarray(X)[idx])
        n_since += b
        reassign = bool((counts == 0).any() or n_since >= 10 * k)
        if reassign:
            n_since = 0
        new, inertia = step(batches, [np.ones(len(x)) for x in batches], centers, counts,
                            reassign, ratio, stream(seed, i, 1))
        diff = ((new.astype(np.float64) - centers) ** 2).sum()
        centers = new.astype(centers.dtype)
        done = i + 1
        if done == 1:
            continue
        mean_inertia = inertia / b
        ewa = mean_inertia if ewa is None else ewa * (1 - alpha) + mean_inertia * alpha
        if tol > 0 and diff <= tol:
            break
        if ewa_min is None or ewa < ewa_min:
            no_improvement, ewa_min = 0, ewa
        else:
            no_improvement += 1
        if max_no_improvement is not None and no_improvement >= max_no_improvement:
            break
    return centers, counts, done, ewa
