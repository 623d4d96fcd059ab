"""Array collectives: zero-copy fast paths over the numpy memory itself.

Their cross-rank agreement is one 3-integer allreduce (a hash of shape, dtype, op, root);
``check=False`` skips it in a hot loop whose layout was agreed once.
"""
from __future__ import annotations

import numbers
import os

import numpy as np

from ._agreement import _capture

OPS = ("sum", "min", "max")


def check_array(a, name: str, writable: bool = False) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(a).__name__}")
    if a.dtype.hasobject or a.dtype.kind not in "iufc":
        raise TypeError(f"{name}: expected a numeric dtype, got {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: array is not C-contiguous (pass numpy.ascontiguousarray(...) once)")
    if writable and not a.flags.writeable:
        raise ValueError(f"{name}: array is read-only")
    return a


def check_op(op, a: np.ndarray | None = None) -> str:
    if not isinstance(op, str) or op not in OPS:
        raise ValueError(f"op: expected one of {OPS}, got {op!r}")
    if a is not None and op != "sum" and a.dtype.kind == "c":
        raise TypeError(f"op: {op!r} is not defined for complex dtype {a.dtype}")
    return op


class RotateHandle:
    """A ring shift in flight: ``wait()`` blocks until ``recv`` holds the data, ``test()`` polls."""

    def __init__(self, requests=None, on_done=None):
        self._requests = requests
        self._on_done = on_done
        self._done = requests is None

    def _finish(self):
        self._done = True
        self._requests = None
        if self._on_done is not None:
            self._on_done()

    def wait(self) -> None:
        if not self._done:
            # requests exist only on an MPICommunicator, so mpi4py is already loaded here
            from mpi4py import MPI  # noqa: PLC0415

            if not MPI.Request.Testall(self._requests):  # see ModelRotator.get
                MPI.Request.Waitall(self._requests)
            self._finish()

    def test(self) -> bool:
        if not self._done:
            from mpi4py import MPI  # noqa: PLC0415

            if MPI.Request.Testall(self._requests):
                self._finish()
        return self._done


class ArrayCollectives:
    """Collectives on numpy arrays; mixed into ``Communicator`` (uses its buffer primitives and
    the ``Agreement`` methods)."""

    def allreduce_array(self, a: np.ndarray, op: str = "sum", *, check: bool = True) -> np.ndarray:
        """Element-wise reduction across ranks, in place; returns ``a``.

        ``check=False`` skips the cross-rank agreement (one tiny allreduce) in loops that
        agreed on the layout once; a mismatch is then undefined behaviour, as in raw MPI."""
        self._agreed("allreduce_array", check, lambda: (
            check_array(a, "a", writable=True).shape, a.dtype.str, check_op(op, a)))
        self._allreduce_buf(a, op)
        return a

    def reduce_array(self, a: np.ndarray, op: str = "sum", root: int = 0, *,
                     check: bool = True) -> np.ndarray:
        """Element-wise reduction into ``a`` on ``root`` (other ranks' ``a`` unchanged)."""
        self._agreed("reduce_array", check, lambda: (
            check_array(a, "a", writable=True).shape, a.dtype.str, check_op(op, a),
            self._check_root(root)))
        self._reduce_buf(a, op, root)
        return a

    def broadcast_array(self, a: np.ndarray, root: int = 0, *, check: bool = True) -> np.ndarray:
        """Copy root's ``a`` into every rank's ``a`` (same shape and dtype everywhere)."""
        self._agreed("broadcast_array", check, lambda: (
            check_array(a, "a", writable=True).shape, a.dtype.str, self._check_root(root)))
        self._bcast_buf(a, root)
        return a

    def allgather_array(self, a: np.ndarray, *, check: bool = True) -> np.ndarray:
        """Stack every rank's ``a`` (same shape and dtype): shape (size, *a.shape)."""
        self._agreed("allgather_array", check, lambda: (check_array(a, "a").shape, a.dtype.str))
        out = np.empty((self.size, *a.shape), dtype=a.dtype)
        self._allgather_buf(a, out)
        return out

    def allgatherv_rows(self, a: np.ndarray) -> np.ndarray:
        """Concatenate every rank's rows in rank order (trailing shape and dtype must agree)."""
        def local():
            check_array(a, "a")
            if a.ndim < 1:
                raise ValueError("a: expected at least 1 dimension, got a 0-d array")
            return (a.shape[1:], a.dtype.str)
        meta, err = _capture(local)
        rows = self._agree("allgatherv_rows", same=meta, extra=a.shape[0] if err is None else 0,
                           error=err)
        row_size = int(np.prod(a.shape[1:], dtype=np.int64))
        counts = [int(n) * row_size for n in rows]
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()
        out = np.empty((int(sum(rows)), *a.shape[1:]), dtype=a.dtype)
        self._allgatherv_buf(a, out, counts, displs)
        return out

    def allgatherv_rows_into(self, full: np.ndarray, bounds, *, check: bool = True) -> np.ndarray:
        """In place: rank ``r`` owns rows ``[bounds[r], bounds[r + 1])`` of ``full`` and receives
        every other rank's rows; returns ``full``. Nothing is copied on this side
        (``MPI_IN_PLACE``). ``bounds``: ``size + 1`` non-decreasing row indices from 0 to
        ``len(full)``, the same on every rank. ``check=False`` skips the cross-rank agreement on
        shape, dtype and bounds in loops that checked them once."""
        def local():
            check_array(full, "full", writable=True)
            if full.ndim < 1:
                raise ValueError("full: expected at least 1 dimension, got a 0-d array")
            b = [int(x) for x in bounds]
            if len(b) != self.size + 1 or b[0] != 0 or b[-1] != full.shape[0] or any(
                    x > y for x, y in zip(b[:-1], b[1:])):
                raise ValueError(f"bounds: expected {self.size + 1} non-decreasing row indices "
                                 f"from 0 to {full.shape[0]}, got {b}")
            return (full.shape, full.dtype.str, b)
        self._agreed("allgatherv_rows_into", check, local)
        row_size = int(np.prod(full.shape[1:], dtype=np.int64))
        counts = [(int(b) - int(a)) * row_size for a, b in zip(bounds[:-1], bounds[1:])]
        displs = [int(a) * row_size for a in bounds[:-1]]
        self._allgatherv_inplace_buf(full, counts, displs)
        return full

    def shared_rows(self, shape, dtype) -> "SharedRows":
        """A row table of ``shape`` and ``dtype`` for the pattern of `allgatherv_rows_into`
        (each rank writes its own rows, then every rank reads all of them), in memory that all
        ranks share when they run on one node: an MPI-3 shared window (``MPI_Win_allocate_shared``
        on the node's communicator), where ``sync`` is a barrier and nothing is copied. Ranks on
        several nodes, one rank, a failed allocation, or ``HARPDAAL_SHARED_TABLES=0`` get a
        private array per rank, where ``sync`` is the in-place allgather. Collective; the table
        starts zeroed. ``close()`` (collective) releases the window once nobody reads it."""
        def local():
            dims = shape if isinstance(shape, (tuple, list)) else (shape,)
            if not dims or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool)
                                   and n >= 0 for n in dims):
                raise ValueError(f"shape: expected non-negative ints, got {shape!r}")
            dt = np.dtype(dtype)
            if dt.hasobject or dt.kind not in "iufc":
                raise TypeError(f"dtype: expected a numeric dtype, got {dt}")
            return (tuple(int(n) for n in dims), dt.str)
        meta, err = _capture(local)
        self._agree_same("shared_rows", same=meta, error=err)
        shape, dtype = meta[0], np.dtype(meta[1])
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        handle = None
        if self.size > 1 and nbytes > 0 and os.environ.get("HARPDAAL_SHARED_TABLES", "1") != "0":
            handle = self._shared_alloc(nbytes)
        if handle is None:
            return SharedRows(self, np.zeros(shape, dtype), None)
        array = np.frombuffer(handle.buffer, dtype=dtype,
                              count=nbytes // dtype.itemsize).reshape(shape)
        flat = array.reshape(-1)  # each rank zeroes (and first-touches) an equal share
        flat[flat.size * self.rank // self.size:flat.size * (self.rank + 1) // self.size] = 0
        handle.sync()
        return SharedRows(self, array, handle)

    def irotate_array(self, send: np.ndarray, recv: np.ndarray, shift: int = 1,
                      check: bool = True) -> RotateHandle:
        """Non-blocking ring shift: ``send`` goes to rank+shift, ``recv`` fills from rank-shift.

        With ``check`` (default) the ranks first agree that each ``recv`` matches the ``send`` it
        will receive (one small allgather); pass ``check=False`` in a loop whose layouts were
        checked once. Do not touch ``send``/``recv`` until ``wait()`` (or ``test()``) says done.
        """
        def local():
            check_array(send, "send")
            check_array(recv, "recv", writable=True)
            if isinstance(shift, (bool, np.bool_)) or not isinstance(shift, numbers.Integral):
                raise TypeError(f"shift: expected an int, got {type(shift).__name__}")
            if np.may_share_memory(send, recv):
                raise ValueError("recv: must not overlap send")
            return (send.shape, send.dtype.str, recv.shape, recv.dtype.str)
        if check:
            meta, err = _capture(local)
            metas = self._agree("irotate_array", same=shift if err is None else None,
                                extra=meta, error=err)
            for r in range(self.size):
                s = metas[(r - shift) % self.size]
                if (s[0], s[1]) != (metas[r][2], metas[r][3]):
                    raise ValueError(
                        f"irotate_array: rank {r} receives shape {s[0]} dtype {s[1]} from rank "
                        f"{(r - shift) % self.size} into recv of shape {metas[r][2]} dtype "
                        f"{metas[r][3]}")
        dest = (self.rank + shift) % self.size
        source = (self.rank - shift) % self.size
        return self._irotate(send, dest, recv, source)


class SharedRows:
    """A row table from `ArrayCollectives.shared_rows`: ``array``, ``shared`` (one node's
    shared memory, or a private array per rank), ``sync(bounds)`` after each rank wrote its rows
    ``[bounds[rank], bounds[rank + 1])`` (collective; afterwards every rank reads every row) and
    ``close()``. Writes to rows another rank owns are races on shared memory: write your own."""

    def __init__(self, comm, array, handle):
        self.comm, self.array, self._handle = comm, array, handle

    @property
    def shared(self) -> bool:
        return self._handle is not None

    def sync(self, bounds) -> None:
        if self._handle is None:
            self.comm.allgatherv_rows_into(self.array, bounds, check=False)
        else:
            self._handle.sync()

    def close(self) -> None:
        """Releases the shared window (collective); ``array`` must no longer be used."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self.array = None
            handle.free()
