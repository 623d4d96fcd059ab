"""Rating input handling for MatrixFactorization: validation, id mapping, duplicates, bucketing."""
from __future__ import annotations

import numbers

import numpy as np

DUPLICATE_POLICIES = ("error", "mean", "last")


def aligned_empty(shape, dtype=np.float32, align=64, fill=0.0):
    """A C-contiguous array whose data starts on an `align`-byte boundary, filled with `fill`
    (None: left uninitialised, for a caller that writes every entry)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    buf = np.empty(n + align, dtype=np.uint8)
    off = (-buf.ctypes.data) % align
    out = buf[off : off + n].view(dtype).reshape(shape)
    if fill is not None:
        out.fill(fill)
    return out


def normal_factors(rows, k, std, seed, stream, n_threads=1):
    """(rows, padded_width(k)) aligned float32 factors: std * N(0, 1) in the first k columns
    (row r drawn from a counter-based generator keyed by (seed, stream, r), so the same for any
    thread count and any process that draws it), zeros after."""
    from .. import _core

    out = aligned_empty((rows, padded_width(k)), fill=None)
    _core.mf.normal_rows(out, k, float(std), int(seed), int(stream), 0, n_threads)
    return out


def init_seed(rng):
    """The one draw from a fit's Generator that keys its initial factors."""
    return int(rng.integers(0, 2**63))


def padded_width(k: int) -> int:
    """Row stride for k factors: a multiple of 16 floats (one 64-byte cache line / zmm)."""
    return max(16, -(-int(k) // 16) * 16)


def _as_id_array(a, name):
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array of ids, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise TypeError(f"{name}: ids must be integers, got dtype {a.dtype}")
    a = a.astype(np.int64, copy=False)
    if a.size and a.min() < 0:
        raise ValueError(f"{name}: ids must be >= 0, got {int(a.min())}")
    return a


def as_triplets(X, y=None, allow_empty=False):
    """(users, items, ratings) from

    - a rating matrix, rows = users and columns = items: scipy.sparse (every stored entry is a
      rating) or a dense 2-d array (NaN = not rated); y is ignored, as scikit-learn ignores it
      in every fit without a target (so a Pipeline may pass one);
    - a (users, items, ratings) tuple (y must be None);
    - an (n, 2) array of (user, item) ids with the ratings in y.

    Returns int64, int64, float64 arrays and the matrix shape (None for ids). allow_empty: no
    ratings is fine (one rank's part of a distributed fit)."""
    import scipy.sparse as sp

    shape = None
    if sp.issparse(X):
        from sklearn.utils import check_array

        # complex and object values, and a matrix without columns, get scikit-learn's messages
        X = check_array(X, accept_sparse="coo", dtype=None, ensure_all_finite=False,
                        ensure_min_samples=0, ensure_non_negative=False, input_name="X")
        coo = sp.coo_matrix(X)  # keeps duplicate entries (the policy decides)
        users, items, ratings = coo.row, coo.col, coo.data
        shape = coo.shape
    elif isinstance(X, tuple) and len(X) == 3:
        if y is not None:
            raise ValueError("y must be None when X is a (users, items, ratings) tuple")
        users, items, ratings = X
    elif y is not None and np.ndim(X) == 2 and np.shape(X)[1] == 2:
        X = np.asarray(X)
        users, items, ratings = X[:, 0], X[:, 1], y
    elif isinstance(X, tuple):
        raise TypeError(
            "X: expected a rating matrix (scipy.sparse, or a dense 2-d array with NaN where "
            "not rated), a (users, items, ratings) tuple, or an (n, 2) id array with ratings y")
    else:
        from sklearn.utils import check_array

        # NaN marks "not rated"; infinity, complex and object values get scikit-learn's errors
        X = check_array(X, dtype="numeric", ensure_all_finite="allow-nan",
                        ensure_min_samples=0 if allow_empty else 1, input_name="X")
        users, items = np.nonzero(~np.isnan(X))
        ratings = X[users, items]
        shape = X.shape
    users = _as_id_array(users, "users")
    items = _as_id_array(items, "items")
    ratings = np.asarray(ratings)
    if ratings.ndim != 1:
        raise ValueError(f"ratings: expected a 1-d array, got shape {ratings.shape}")
    if ratings.size and not (np.issubdtype(ratings.dtype, np.number) and not np.iscomplexobj(ratings)):
        raise TypeError(f"ratings: expected real numbers, got dtype {ratings.dtype}")
    ratings = ratings.astype(np.float64, copy=False)
    if not (users.shape == items.shape == ratings.shape):
        raise ValueError(f"users, items and ratings must have the same length, got "
                         f"{users.shape[0]}, {items.shape[0]}, {ratings.shape[0]}")
    if ratings.size == 0 and not allow_empty:
        raise ValueError("no ratings: the rating matrix is empty")
    # a finite sum means no NaN or inf (either would propagate); only when the sum is not
    # finite (a bad value, or finite values overflowing) is every value tested: no full-size
    # boolean temporary on the common path
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(ratings)
    if not np.isfinite(total) and not np.all(np.isfinite(ratings)):
        bad = int(np.count_nonzero(~np.isfinite(ratings)))
        raise ValueError(f"ratings: {bad} value(s) are NaN or infinite")
    return users, items, ratings, shape


def resolve_duplicates(users, items, ratings, policy):
    """Apply the duplicate (user, item) policy: 'error' raises, 'mean' averages, 'last' keeps
    the last occurrence in input order."""
    if policy not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {policy!r}")
    if users.size == 0:
        return users, items, ratings
    key = users * (int(items.max()) + 1) + items
    order = np.argsort(key, kind="stable")
    ks = key[order]
    dup = ks[1:] == ks[:-1]
    if not dup.any():
        return users, items, ratings
    if policy == "error":
        j = int(np.flatnonzero(dup)[0])
        e = order[j + 1]
        raise ValueError(
            f"duplicate rating for (user {int(users[e])}, item {int(items[e])}) "
            f"({int(dup.sum())} duplicate pair(s)); pass duplicates='mean' or 'last'")
    starts = np.flatnonzero(np.r_[True, ~dup])
    if policy == "last":
        ends = np.r_[starts[1:], ks.size] - 1
        keep = order[ends]
        return users[keep], items[keep], ratings[keep]
    sums = np.add.reduceat(ratings[order], starts)
    counts = np.diff(np.r_[starts, ks.size])
    first = order[starts]
    return users[first], items[first], sums / counts


def dense_id_limit(n):
    """Largest id + 1 for which map_ids of n ids takes the lookup-table path."""
    return 4 * int(n) + (1 << 20)


def map_ids(ids, n_threads=1):
    """(sorted unique ids, int32 index of each id into them).

    Dense path: non-negative int64 ids whose maximum is below dense_id_limit(len(ids)) are
    ranked through a lookup table in C++ (O(n + max id), parallel over n_threads, the same
    result for any thread count). Anything else (other dtypes, negative ids, a larger maximum)
    falls back to np.unique (a sort), which gives the same answer."""
    if ids.size == 0:
        return ids.copy(), np.zeros(0, np.int32)
    top = int(ids.max())
    if ids.dtype == np.int64 and ids.flags.c_contiguous and 0 <= top < dense_id_limit(ids.size):
        from .. import _core

        table = np.empty(top + 1, np.int32)
        index = np.empty(ids.size, np.int32)
        if _core.mf.dense_rank(ids, table, index, n_threads) >= 0:
            return np.flatnonzero(table >= 0), index
        # a negative id: the general path below
    unique, inverse = np.unique(ids, return_inverse=True)
    return unique, inverse.astype(np.int32).reshape(-1)


def map_known(known, ids):
    """Position of each id in the sorted array `known`, -1 for an id not there (int32)."""
    pos = np.searchsorted(known, ids)
    pos = np.minimum(pos, max(known.size - 1, 0))
    found = (known[pos] == ids) if known.size else np.zeros(np.shape(ids), bool)
    return np.where(found, pos, -1).astype(np.int32)


# Slots that the users of a block are dealt onto, one rating per slot per round (see
# mf_sgd.hpp's bucket): consecutive updates then belong to different users, so they do not wait
# on each other and the kernel can run four of them in lockstep.
INTERLEAVE = 4


def index_of(known, ids):
    """Position of each id in the sorted array `known` (every id must be there); O(n) through a
    lookup table when the ids are dense enough, else a binary search."""
    if known.size and int(known[-1]) < 4 * ids.size + (1 << 20):
        table = np.zeros(int(known[-1]) + 1, np.int32)
        table[known] = np.arange(known.size, dtype=np.int32)
        return table[ids]
    return np.searchsorted(known, ids).astype(np.int32)


def compact(index, size):
    """(sorted distinct values of `index` (< size), position of each entry among them)."""
    present = np.zeros(size, np.bool_)
    present[index] = True
    rank = np.cumsum(present, dtype=np.int64).astype(np.int32) - 1
    return np.flatnonzero(present), rank[index]


class Bucketed:
    """Ratings ordered for the SGD kernel over relabelled ids: work id of internal user x is
    user_perm[x] (random, so blocks balance; a block's rows are contiguous, so threads never
    share cache lines of factors, accumulators or biases)."""

    def __init__(self, users, items, ratings, n_users, n_items, grid, rng, n_threads,
                 ways=INTERLEAVE, shift=0.0, scale=1.0):
        """users/items: internal int32 ids; ratings: raw values, trained as
        float32((ratings - shift) / scale) (relabelling and scaling happen inside the C++
        bucketing, no full-size temporaries)."""
        from .. import _core

        self.grid = grid
        self.user_perm = rng.permutation(n_users).astype(np.int32)
        self.item_perm = rng.permutation(n_items).astype(np.int32)
        n = ratings.size
        self.users = np.empty(n, np.int32)
        self.items = np.empty(n, np.int32)
        self.ratings = np.empty(n, np.float32)
        self.block_ptr = np.empty(grid * grid + 1, np.int64)
        self.n_items = n_items
        self.n_duplicates = _core.mf.bucket_relabel(
            np.ascontiguousarray(users, dtype=np.int32), np.ascontiguousarray(items, dtype=np.int32),
            np.ascontiguousarray(ratings, dtype=np.float64), self.user_perm, self.item_perm,
            float(shift), float(scale), grid, self.users, self.items, self.ratings,
            self.block_ptr, ways, n_threads)

    def seen_lists(self):
        """(row_ptr, items) CSR of the items each internal user rated."""
        return seen_lists(self.users, self.items, self.user_perm, self.item_perm)

    def first_duplicate(self):
        """(work user, work item) of a repeated pair."""
        key = np.sort(self.users.astype(np.int64) * self.n_items + self.items)
        k = int(key[np.flatnonzero(key[1:] == key[:-1])[0]])
        return k // self.n_items, k % self.n_items


def seen_lists(users, items, user_perm, item_perm):
    """(row_ptr, items) CSR, in internal ids, of bucketed work-id ratings."""
    from .. import _core

    inv_i = np.empty(item_perm.size, np.int32)
    inv_i[item_perm] = np.arange(item_perm.size, dtype=np.int32)
    ptr = np.empty(user_perm.size + 1, np.int64)
    out = np.empty(users.size, np.int32)
    _core.mf.seen_lists(users, items, user_perm, inv_i, ptr, out)
    return ptr, out


def bucket(users, items, ratings, n_users, n_items, grid, n_threads=0, ways=INTERLEAVE):
    """Kernel-ready (users, items, ratings, block_ptr) in the caller's ids (no relabelling),
    block of user u = u * grid // n_users. For tests and the distributed path."""
    from .. import _core

    n = ratings.size
    out = (np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float32),
           np.empty(grid * grid + 1, np.int64))
    _core.mf.bucket(np.ascontiguousarray(users, dtype=np.int32),
                    np.ascontiguousarray(items, dtype=np.int32),
                    np.ascontiguousarray(ratings, dtype=np.float32), max(n_users, 1),
                    max(n_items, 1), grid, *out, ways, n_threads)
    return out


def check_int(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {rng}, got {value}")
    return int(value)


def check_float(value, name, low=0.0, strict=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or (v <= low if strict else v < low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low} and finite, got {value}")
    return v
