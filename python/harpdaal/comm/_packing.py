"""Packing a table's partitions into one byte buffer (C++ copy, GIL released) and views back."""
from __future__ import annotations

import sys
import threading

import numpy as np

from .. import _core

ALIGN = int(_core.comm.pack_alignment)
# Copies are memory bound and MPI ranks usually fill the cores already: one thread per rank.
COPY_THREADS = 1


def layout_of(items) -> list[tuple[int, tuple, str]]:
    """[(id, shape, dtype.str)] of (id, array) pairs: the metadata ranks exchange."""
    return [(pid, tuple(a.shape), a.dtype.str) for pid, a in items]


def nbytes_of(layout) -> np.ndarray:
    return np.array([int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize
                     for _, shape, dt in layout], dtype=np.int64)


def offsets_of(layout) -> np.ndarray:
    nbytes = nbytes_of(layout)
    offsets = np.empty(len(layout) + 1, dtype=np.int64)
    _core.comm.packed_offsets(nbytes, offsets)
    return offsets


def padded(nbytes: int) -> int:
    return (nbytes + ALIGN - 1) // ALIGN * ALIGN


# Recycled byte buffers. A fresh 64 MB buffer costs page faults on first touch (about as much as
# the copy itself) on this side and inside MPI; collectives that run every iteration therefore
# reuse a buffer once nothing refers to it any more: results are views of their buffer, and every
# numpy view (and every buffer export, e.g. to MPI) holds a reference to it, so a refcount of
# "pool + argument" proves that no result and no transfer still uses it.
_POOL_SIZE = 4
_pool: list[np.ndarray] = []
_pool_lock = threading.Lock()
_probe = [np.empty(1)]
_FREE_REFS = sys.getrefcount(_probe[0])  # a buffer only its list refers to (same expression form)
del _probe


def empty_bytes(nbytes: int) -> np.ndarray:
    """An uninitialised uint8 buffer of ``nbytes``, recycled when a free one of that size exists."""
    nbytes = int(nbytes)
    if nbytes < (1 << 16):
        return np.empty(nbytes, dtype=np.uint8)
    with _pool_lock:
        for i in range(len(_pool)):
            if _pool[i].size == nbytes and sys.getrefcount(_pool[i]) <= _FREE_REFS:
                buf = _pool.pop(i)
                _pool.append(buf)  # most recently used last
                return buf
        buf = np.empty(nbytes, dtype=np.uint8)
        _pool.append(buf)
        if len(_pool) > _POOL_SIZE:
            # drop the least recently used (its holders, if any, keep it alive)
            _pool.pop(0)
        return buf


def pack(arrays, offsets: np.ndarray | None = None):
    """One contiguous uint8 buffer holding every array at an aligned offset; returns
    (buffer, offsets). Non-contiguous arrays are made contiguous first (one copy)."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    if offsets is None:
        offsets = offsets_of(layout_of(enumerate(arrays)))
    buf = empty_bytes(int(offsets[-1]))
    _core.comm.pack(arrays, offsets, buf, COPY_THREADS)
    return buf, offsets


def views(buf: np.ndarray, layout, offsets: np.ndarray | None = None, base: int = 0):
    """Arrays viewing ``buf`` per ``layout`` (no copy), starting at byte ``base``."""
    if offsets is None:
        offsets = offsets_of(layout)
    out = []
    for i, (_, shape, dt) in enumerate(layout):
        dtype = np.dtype(dt)
        start = base + int(offsets[i])
        n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        out.append(buf[start:start + n].view(dtype).reshape(shape))
    return out


def root_buffer(a: np.ndarray) -> np.ndarray:
    """The ndarray at the end of ``a``'s chain of views (the one owning, or exporting, the
    memory)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def contiguous_runs(items) -> list[tuple[int, int]]:
    """Group (id, array) pairs (C-contiguous arrays, in order) into runs of consecutive items
    that lie back to back in one buffer with one dtype: [(first, stop)] item index ranges, so a
    run can be handed to MPI as one array (no copy). Empty arrays form no run. Raises
    ValueError when two partitions share memory (an in-place reduction would combine the
    shared elements twice)."""
    spans = sorted((address(a), address(a) + a.nbytes, pid) for pid, a in items if a.nbytes)
    for (_, end0, pid0), (start1, _, pid1) in zip(spans, spans[1:]):
        if start1 < end0:
            raise ValueError(f"partitions {pid0} and {pid1} share memory; an in-place "
                             "collective needs disjoint arrays")
    runs: list[tuple[int, int]] = []
    prev = None  # (root, dtype, end address) of the open run
    for i, (_, a) in enumerate(items):
        if a.nbytes == 0:
            prev = None
            continue
        root = root_buffer(a)
        key = (root, a.dtype)
        if prev is not None and prev[0] is root and prev[1] == a.dtype and prev[2] == address(a) \
                and runs and runs[-1][1] == i and root.flags.c_contiguous and root.flags.writeable:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
        prev = (*key, address(a) + a.nbytes)
    return runs


def run_view(items, run: tuple[int, int]) -> np.ndarray:
    """A 1-D array over the memory of items[first:stop] (one run of ``contiguous_runs``)."""
    first, stop = run
    a = items[first][1]
    if stop - first == 1:
        return a.reshape(-1)
    root = root_buffer(a)
    count = sum(items[i][1].size for i in range(first, stop))
    if root.flags.c_contiguous and root.flags.writeable:
        return np.ndarray((count,), dtype=a.dtype, buffer=root,
                          offset=address(a) - address(root))
    raise ValueError("run_view: the partitions' buffer is not a writable C-contiguous array")
