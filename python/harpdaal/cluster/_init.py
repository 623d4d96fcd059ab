"""K-means initialisation by k-means|| (Bahmani et al., "Scalable K-Means++", VLDB 2012), over
the rows of every rank.

Rounds of oversampling replace k-means++'s k sequential passes: the first center is one row
drawn with probability proportional to its weight; then, each round, every row is kept as a
candidate independently with probability ``min(1, l * w_i * D(x_i)^2 / phi)`` (``D`` the
distance to the nearest candidate so far, ``phi`` the weighted cost, ``l`` the oversampling
factor, 2k by default), so about ``l`` rows join per round. The candidates are weighted by the
weight of the rows nearest to them, and reclustered into k centers by weighted k-means++
followed by weighted Lloyd iterations on the candidates (as Spark MLlib does).

Distributed without gathering per-row data: the random number of a row is a hash of (seed,
round, global row index), so the same rows are drawn whatever the split of rows over ranks;
only the candidates' rows (about ``l`` per round), one cost per round and the k-sized candidate
weights cross ranks. The first center is drawn by an exponential race (the smallest
``-log(u_i) / w_i``), which needs no cumulative sum over the ranks' weights.
"""
from __future__ import annotations

import numpy as np

from .. import _core
from ._prune import weighted_sum

_MASK = 0xFFFFFFFFFFFFFFFF


def _mix(z):
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _uniform(seed, stream, global_index):
    """A uniform [0, 1) per global row index, the same on every rank and for every split."""
    key = int(_mix(np.array([(seed * 0x9E3779B97F4A7C15 + stream) & _MASK], dtype=np.uint64))[0])
    z = global_index.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key)
    return (_mix(z) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _gather(comm, rows, d):
    """Every rank's rows (float64), concatenated in rank order, on every rank."""
    rows = np.ascontiguousarray(rows, dtype=np.float64).reshape(-1, d)
    return comm.allgatherv_rows(rows) if comm.size > 1 else rows


def kmeans_parallel(comm, data, n_clusters, random_state, *, oversampling=2.0, n_rounds=5,
                    n_refine=30):
    """k-means|| centers (``n_clusters x d``, in ``data``'s dtype and frame).

    ``data`` holds this rank's rows as the estimator keeps them (``n``, ``d``, ``dtype``,
    ``w``, ``n_threads``, ``assign(centers, labels, sq_dist)``, ``rows(idx)``; dense or
    sparse). ``random_state`` (a ``numpy.random.RandomState`` in the same state on every
    rank) gives the seed. ``oversampling`` is ``l / k``; ``n_rounds`` the rounds (the paper
    finds 5 enough with ``l = 2k``; more are run, up to 10 extra, while there are fewer than k
    candidates); ``n_refine`` the weighted Lloyd iterations on the candidates. Collective.
    """
    k, d = int(n_clusters), data.d
    if k < 1:
        raise ValueError(f"n_clusters must be >= 1, got {k}")
    if not oversampling > 0:
        raise ValueError(f"oversampling must be > 0, got {oversampling!r}")
    if int(n_rounds) < 1:
        raise ValueError(f"n_rounds must be >= 1, got {n_rounds!r}")
    seed = int(random_state.randint(0, 2**31 - 1)) << 31 | int(random_state.randint(0, 2**31 - 1))
    refine_seed = int(random_state.randint(0, 2**31 - 1))
    sizes = np.asarray(comm.allgather_object(int(data.n)) if comm.size > 1 else [data.n])
    start = int(np.concatenate([[0], np.cumsum(sizes)])[comm.rank])
    gidx = np.arange(start, start + data.n, dtype=np.int64)
    w = np.asarray(data.w, dtype=np.float64)

    # the first center: the row with the smallest -log(u) / w (drawn with probability ~ w)
    with np.errstate(divide="ignore"):
        race = np.where(w > 0, -np.log1p(-_uniform(seed, 0, gidx)) / w, np.inf)
    best = (float(race.min()), int(gidx[race.argmin()])) if data.n else (np.inf, -1)
    offers = comm.allgather_object(best) if comm.size > 1 else [best]
    winner = min(offers)
    if not np.isfinite(winner[0]):
        raise ValueError("k-means||: every sample weight is zero")
    mine = winner[1] - start if start <= winner[1] < start + data.n else None
    first = data.rows(np.asarray([mine])) if mine is not None else np.zeros((0, d))
    candidates = _gather(comm, first, d)

    closest = np.full(data.n, np.inf)
    labels = np.empty(data.n, dtype=np.int32)
    sq = np.empty(data.n, dtype=data.dtype)

    def nearer(rows):  # closest = min(closest, squared distance to the new candidates)
        data.assign(np.ascontiguousarray(rows, dtype=data.dtype), labels, sq)
        np.minimum(closest, sq.astype(np.float64), out=closest)

    nearer(candidates)
    rounds = 0
    while True:
        rounds += 1
        phi = np.array([weighted_sum(closest, w)])
        if comm.size > 1:
            comm.allreduce_array(phi, op="sum")
        if phi[0] <= 0:  # every row is a candidate (or a duplicate of one)
            break
        p = oversampling * k * w * closest / phi[0]
        picked = np.flatnonzero(_uniform(seed, rounds, gidx) < p)
        new = _gather(comm, data.rows(picked) if len(picked) else np.zeros((0, d)), d)
        candidates = np.vstack([candidates, new])
        if rounds >= n_rounds and (len(candidates) >= k or rounds >= n_rounds + 10):
            break
        if len(new):
            nearer(new)

    # candidate weights: the weight of the rows nearest to each (allreduced: k-sized)
    m = len(candidates)
    data.assign(np.ascontiguousarray(candidates, dtype=data.dtype), labels)
    cw = np.bincount(labels, weights=w, minlength=m).astype(np.float64)
    if comm.size > 1:
        comm.allreduce_array(cw, op="sum")
    if m < k:  # fewer distinct rows than clusters: repeat candidates (Lloyd empties them)
        reps = np.resize(np.arange(m), k)
        candidates, cw = candidates[reps], cw[reps]
        m = k
    return _recluster(candidates, cw, k, refine_seed, n_refine, data).astype(data.dtype)


def _sq_dists(A, B, n_threads):
    out = np.empty((len(A), len(B)))
    _core.kmeans.distances_f64(A, np.ascontiguousarray(B), out, True, int(n_threads))
    return out


def _recluster(candidates, cw, k, seed, n_refine, data):
    """Weighted greedy k-means++ on the candidates (scikit-learn's variant: 2 + log k trials
    per center, the one that lowers the weighted cost most), then weighted Lloyd iterations;
    identical on every rank (the same inputs and seed)."""
    C = np.ascontiguousarray(candidates, dtype=np.float64)
    cw = np.ascontiguousarray(cw, dtype=np.float64)
    if cw.sum() <= 0:
        cw = np.ones_like(cw)
    m, nt = len(C), data.n_threads
    rng = np.random.RandomState(seed)
    n_trials = 2 + int(np.log(k))
    chosen = [int(rng.choice(m, p=cw / cw.sum()))]
    closest = _sq_dists(C, C[chosen], nt)[:, 0]
    pot = weighted_sum(closest, cw)
    for _ in range(1, k):
        cum = np.cumsum(cw * closest)
        if pot <= 0:  # every candidate coincides with a chosen one: take any other
            trial = np.setdiff1d(np.arange(m), chosen)[:1]
        else:
            trial = np.minimum(np.searchsorted(cum, rng.uniform(size=n_trials) * cum[-1]), m - 1)
        dist = np.minimum(closest[:, None], _sq_dists(C, C[trial], nt))
        pots = weighted_sum(dist, cw)
        b = int(np.argmin(pots))
        chosen.append(int(trial[b]))
        closest, pot = dist[:, b], float(pots[b])
    seeds = np.ascontiguousarray(C[chosen])
    if n_refine <= 0 or k >= m:
        return seeds
    centers = seeds.copy()
    labels = np.empty(m, dtype=np.int32)
    _core.kmeans.lloyd_fit_f64(C, cw, centers, labels, int(n_refine), 0.0, int(nt))
    # a cluster the refinement left without weight (duplicate candidates) keeps its seed
    # rather than Lloyd's zero center
    empty = np.bincount(labels, weights=cw, minlength=k) == 0
    centers[empty] = seeds[empty]
    return centers
