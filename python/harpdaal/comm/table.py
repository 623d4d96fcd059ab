"""Harp's data model: a ``Table`` of ``Partition`` s keyed by non-negative int ids, with a
combiner that merges two partitions of the same id (sum, min, max or a Python callable)."""
from __future__ import annotations

import numbers
from typing import Callable, Iterator, Union

import numpy as np

from .. import _core

BUILTIN_COMBINERS = ("sum", "min", "max")
# dtypes the C++ combiners handle; others fall back to numpy ufuncs (same results).
_NATIVE_COMBINE = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64)}
_UFUNCS = {"sum": np.add, "min": np.minimum, "max": np.maximum}

Combiner = Union[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def check_partition_id(pid, name: str = "id") -> int:
    if isinstance(pid, (bool, np.bool_)) or not isinstance(pid, numbers.Integral):
        raise TypeError(f"{name}: partition ids are ints, got {type(pid).__name__}")
    pid = int(pid)
    if pid < 0:
        raise ValueError(f"{name}: partition ids must be >= 0, got {pid}")
    return pid


def check_partition_array(array, name: str = "array") -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.hasobject or array.dtype.kind not in "biufc":
        raise TypeError(f"{name}: partitions hold numeric arrays, got dtype {array.dtype}")
    return array


class Partition:
    """One block of a table: an int id (>= 0) and a numpy array (not copied)."""

    __slots__ = ("id", "array")

    def __init__(self, id, array):  # noqa: A002 (Harp's name)
        self.id = check_partition_id(id)
        self.array = check_partition_array(array)

    def __repr__(self) -> str:
        return f"Partition(id={self.id}, shape={self.array.shape}, dtype={self.array.dtype})"


def check_combiner(combiner) -> Combiner:
    if isinstance(combiner, str):
        if combiner not in BUILTIN_COMBINERS:
            raise ValueError(f"combiner: expected one of {BUILTIN_COMBINERS} or a callable, "
                             f"got {combiner!r}")
        return combiner
    if callable(combiner):
        return combiner
    raise TypeError(f"combiner: expected a str or a callable, got {type(combiner).__name__}")


def combine_into(combiner: Combiner, dst: np.ndarray, src: np.ndarray, pid: int) -> np.ndarray:
    """Combine ``src`` into ``dst`` (which the caller owns and may be overwritten); return the
    result, which is ``dst`` itself for the built-in combiners."""
    if dst.shape != src.shape or dst.dtype != src.dtype:
        raise ValueError(f"partition {pid}: cannot combine shape {src.shape} dtype {src.dtype} "
                         f"into shape {dst.shape} dtype {dst.dtype}")
    if isinstance(combiner, str):
        if dst.dtype in _NATIVE_COMBINE and dst.flags.c_contiguous and src.flags.c_contiguous:
            _core.comm.combine(dst, src, combiner)
        else:
            _UFUNCS[combiner](dst, src, out=dst)
        return dst
    out = combiner(dst, src)
    if not isinstance(out, np.ndarray) or out.shape != dst.shape or out.dtype != dst.dtype:
        got = (f"shape {out.shape} dtype {out.dtype}" if isinstance(out, np.ndarray)
               else type(out).__name__)
        raise ValueError(f"combiner returned {got} for partition {pid}; expected an array of "
                         f"shape {dst.shape} dtype {dst.dtype}")
    return out


class Table:
    """Partitions keyed by id. ``add`` of an existing id combines with the combiner.

    Collectives (``comm.allreduce(t)`` etc.) replace the partitions' arrays with the results
    (views into the received buffer); the arrays that were in the table are never written.
    """

    def __init__(self, combiner: Combiner = "sum"):
        self._combiner = check_combiner(combiner)
        self._parts: dict[int, np.ndarray] = {}

    @classmethod
    def arena(cls, shapes, dtype=np.float32, combiner: Combiner = "sum") -> "Table":
        """A table of zero-filled partitions ``{id: shape}`` that are views into one contiguous
        buffer, back to back in id order: an in-place collective (``allreduce(t,
        in_place=True)``) then moves the whole table with one MPI call and no copy."""
        if not hasattr(shapes, "items"):
            raise TypeError(f"shapes: expected a mapping {{id: shape}}, got {type(shapes).__name__}")
        dtype = np.dtype(dtype)
        if dtype.hasobject or dtype.kind not in "biufc":
            raise TypeError(f"dtype: partitions hold numeric arrays, got {dtype}")
        table = cls(combiner)
        norm = {}
        for pid, shape in shapes.items():
            pid = check_partition_id(pid, "shapes")
            shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
            if any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0
                   for d in shape):
                raise ValueError(f"shapes: partition {pid}: expected a shape of ints >= 0, got "
                                 f"{shape!r}")
            norm[pid] = tuple(int(d) for d in shape)
        sizes = [int(np.prod(norm[pid], dtype=np.int64)) for pid in sorted(norm)]
        buf = np.zeros(int(sum(sizes)), dtype=dtype)
        start = 0
        for pid, n in zip(sorted(norm), sizes):
            table._parts[pid] = buf[start:start + n].reshape(norm[pid])
            start += n
        return table

    def consolidate(self) -> "Table":
        """Copy every partition once into one contiguous buffer (as ``Table.arena``), so that
        later in-place collectives need one MPI call and no copy; returns the table. The arrays
        that were in the table are not written. All partitions must have one dtype."""
        items = self._items()
        dtypes = {a.dtype for _, a in items}
        if len(dtypes) > 1:
            raise TypeError(f"consolidate: partitions have several dtypes {sorted(map(str, dtypes))}; "
                            "an arena holds one")
        if not items:
            return self
        fresh = Table.arena({pid: a.shape for pid, a in items}, dtypes.pop(), self._combiner)
        for pid, a in items:
            fresh._parts[pid][...] = a
        self._parts = fresh._parts
        return self

    @property
    def combiner(self) -> Combiner:
        return self._combiner

    def add(self, partition: Partition) -> None:
        if not isinstance(partition, Partition):
            raise TypeError(f"partition: expected a Partition, got {type(partition).__name__}")
        old = self._parts.get(partition.id)
        if old is None:
            self._parts[partition.id] = partition.array
        else:
            self._parts[partition.id] = combine_into(self._combiner, old.copy(),
                                                     partition.array, partition.id)

    def remove(self, id) -> np.ndarray:  # noqa: A002
        pid = check_partition_id(id)
        try:
            return self._parts.pop(pid)
        except KeyError:
            raise KeyError(f"no partition with id {pid}") from None

    def __getitem__(self, id) -> np.ndarray:  # noqa: A002
        pid = check_partition_id(id)
        try:
            return self._parts[pid]
        except KeyError:
            raise KeyError(f"no partition with id {pid}") from None

    def __contains__(self, id) -> bool:  # noqa: A002
        try:
            return check_partition_id(id) in self._parts
        except (TypeError, ValueError):
            return False

    def __len__(self) -> int:
        return len(self._parts)

    def __iter__(self) -> Iterator[Partition]:
        for pid in sorted(self._parts):
            yield Partition(pid, self._parts[pid])

    def ids(self) -> list[int]:
        return sorted(self._parts)

    def clear(self) -> None:
        self._parts.clear()

    def _set(self, parts: dict) -> None:
        self._parts = dict(parts)

    def _items(self) -> list[tuple[int, np.ndarray]]:
        return [(pid, self._parts[pid]) for pid in sorted(self._parts)]

    def __repr__(self) -> str:
        return f"Table(combiner={self._combiner!r}, ids={self.ids()})"
