"""Packing a table's partitions into one byte buffer (C++ copy, GIL released) and views back."""
from __future__ import annotations

import numpy as np

from .. import _core

ALIGN = int(_core.comm.pack_alignment)


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


def pack(arrays, offsets: np.ndarray | None = None):
    """One contiguous uint8 buffer holding every array at an aligned offset; returns
    (buffer, offsets). Non-contiguous arrays are made contiguous first (one copy)."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    if offsets is None:
        offsets = offsets_of(layout_of(enumerate(arrays)))
    buf = np.empty(int(offsets[-1]), dtype=np.uint8)
    _core.comm.pack(arrays, offsets, buf)
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
