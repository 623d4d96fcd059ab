"""The Communicator: Harp's collectives over tables, and array fast paths.

Every collective first exchanges a little metadata (layouts, dtypes, roots, local validation
errors) with one ``allgather`` of small objects, so that a bad argument or a mismatch on any rank
raises the same exception on every rank before any array moves (no rank is left waiting in a
collective). Array payloads then move through the subclass's buffer primitives only.

Subclasses (LocalCommunicator, MPICommunicator) implement the ``_``-prefixed transport
primitives; everything else — validation, packing, plans, folding — lives here, so both backends
behave identically.
"""
from __future__ import annotations

import collections
import hashlib
import numbers
import time
from typing import NamedTuple

import numpy as np

from .. import _core
from . import _packing
from .table import Table, combine_into

OPS = ("sum", "min", "max")
_NATIVE = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64)}


def _capture(fn):
    """(result, None) or (None, (exception type name, message)) for a local validation."""
    try:
        return fn(), None
    except (TypeError, ValueError) as exc:
        return None, (type(exc).__name__, str(exc))


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


def _combiner_key(table: Table):
    c = table.combiner
    return c if isinstance(c, str) else "<callable>"


def _check_table(t, name: str = "table") -> Table:
    if not isinstance(t, Table):
        raise TypeError(f"{name}: expected a harpdaal.comm.Table, got {type(t).__name__}")
    return t


class Event(NamedTuple):
    """A control message between workers: who sent it and what (a small picklable object)."""

    source: int
    payload: object


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


class Communicator:
    """Harp's collectives; see docs/COMM_API.md. Subclasses set ``rank`` and ``size``."""

    rank: int = 0
    size: int = 1

    # ---- transport primitives (subclasses) -----------------------------------------------
    def _barrier(self): raise NotImplementedError
    def _allgather_obj(self, obj): raise NotImplementedError
    def _bcast_obj(self, obj, root): raise NotImplementedError
    def _allreduce_buf(self, a, op): raise NotImplementedError
    def _reduce_buf(self, a, op, root): raise NotImplementedError
    def _bcast_buf(self, a, root): raise NotImplementedError
    def _allgather_buf(self, a, out): raise NotImplementedError
    def _allgatherv_buf(self, a, out, counts, displs): raise NotImplementedError
    def _gatherv_buf(self, a, out, counts, displs, root): raise NotImplementedError
    def _alltoallv_buf(self, send, scounts, sdispls, recv, rcounts, rdispls): raise NotImplementedError
    def _sendrecv_buf(self, send, dest, recv, source): raise NotImplementedError
    def _irotate(self, send, dest, recv, source) -> RotateHandle: raise NotImplementedError
    def _send_event_to(self, payload, dest): raise NotImplementedError
    def _poll_event(self): raise NotImplementedError  # -> Event | None (remote events)

    # ---- agreement -----------------------------------------------------------------------
    def _agree(self, what: str, same=None, extra=None, error=None) -> list:
        """Allgather (error, same, extra); raise on every rank if any rank had an error or
        ``same`` differs; return every rank's ``extra``."""
        rows = self._allgather_obj((error, same, extra))
        for r, (err, _, _) in enumerate(rows):
            if err is not None:
                kind, msg = err
                exc = TypeError if kind == "TypeError" else ValueError
                if r == self.rank:
                    raise exc(f"{what}: {msg}")
                raise exc(f"{what}: rank {r}: {msg}")
        first = rows[0][1]
        for r, (_, s, _) in enumerate(rows):
            if s != first:
                raise ValueError(f"{what}: ranks disagree: rank 0 has {first!r}, rank {r} has {s!r}")
        return [e for _, _, e in rows]

    def _agree_same(self, what: str, same, error=None) -> None:
        """``_agree`` without extras, in one tiny buffer Allreduce: (error flag, h, -h) with MAX
        equals (0, h, -h) only if no rank failed and every rank's ``same`` hashes alike. Any
        doubt falls back to ``_agree`` (all ranks see the same reduced vector, so all of them
        take the same branch) which raises the detailed error."""
        digest = hashlib.blake2b(repr(same).encode(), digest_size=7).digest()
        code = int.from_bytes(digest, "little")
        v = np.array([error is not None, code, -code], dtype=np.int64)
        self._allreduce_buf(v, "max")
        if v[0] == 0 and v[1] == -v[2]:
            return
        self._agree(what, same=same, error=error)

    def _check_root(self, root) -> int:
        if isinstance(root, (bool, np.bool_)) or not isinstance(root, numbers.Integral):
            raise TypeError(f"root: expected an int, got {type(root).__name__}")
        if not 0 <= int(root) < self.size:
            raise ValueError(f"root: {root} is not a rank of this communicator (size {self.size})")
        return int(root)

    # ---- small objects (pickled; never array payloads) -------------------------------------
    def barrier(self) -> None:
        self._barrier()

    def bcast_object(self, obj, root: int = 0):
        _, err = _capture(lambda: self._check_root(root))
        self._agree("bcast_object", same=root if err is None else None, error=err)
        return self._bcast_obj(obj, root)

    def allgather_object(self, obj) -> list:
        return self._allgather_obj(obj)

    def check_same(self, value, what: str = "value"):
        """Raise ValueError on every rank unless ``value`` is equal on all ranks."""
        values = self._allgather_obj(value)
        for r, v in enumerate(values):
            if v != values[0]:
                raise ValueError(f"{what} differs across ranks: rank 0 has {values[0]!r}, "
                                 f"rank {r} has {v!r}")
        return value

    # ---- events (Harp's control messages; point to point, never collective) ---------------
    # Payloads are small picklable objects (flags, counters, ids), not array data.
    @property
    def _event_queue(self):
        q = self.__dict__.get("_events_to_self")
        if q is None:
            q = self.__dict__["_events_to_self"] = collections.deque()
        return q

    def send_event(self, payload, dest: int) -> None:
        """Send ``payload`` to worker ``dest`` (may be this rank); returns at once."""
        if isinstance(dest, (bool, np.bool_)) or not isinstance(dest, numbers.Integral):
            raise TypeError(f"dest: expected an int, got {type(dest).__name__}")
        if not 0 <= int(dest) < self.size:
            raise ValueError(f"dest: {dest} is not a rank of this communicator (size {self.size})")
        if int(dest) == self.rank:
            self._event_queue.append(Event(self.rank, payload))
        else:
            self._send_event_to(payload, int(dest))

    def broadcast_event(self, payload) -> None:
        """Send ``payload`` to every other worker; returns at once."""
        for r in range(self.size):
            if r != self.rank:
                self._send_event_to(payload, r)

    def get_event(self):
        """The next event for this rank (an ``Event(source, payload)``), or None if none has
        arrived. Never blocks. Events from one sender arrive in the order they were sent."""
        if self._event_queue:
            return self._event_queue.popleft()
        return self._poll_event() if self.size > 1 else None

    def wait_event(self, timeout: float | None = None):
        """Block until an event arrives and return it; TimeoutError after ``timeout`` s."""
        if timeout is not None and (not isinstance(timeout, numbers.Real) or timeout < 0):
            raise ValueError(f"timeout: expected seconds >= 0 or None, got {timeout!r}")
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 1e-5
        while True:
            ev = self.get_event()
            if ev is not None:
                return ev
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"wait_event: no event within {timeout} s on rank {self.rank}")
            if self.size == 1 and deadline is None:
                raise TimeoutError("wait_event: a single rank with no pending event would "
                                   "wait forever")
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)

    # ---- array fast paths (zero-copy) ------------------------------------------------------
    def _agreed(self, what, check, local):
        """Run the local validation; with ``check`` agree across ranks (raising everywhere),
        without it raise locally only (for hot loops whose layout was agreed once)."""
        meta, err = _capture(local)
        if check:
            self._agree_same(what, same=meta, error=err)
        elif err is not None:
            raise (TypeError if err[0] == "TypeError" else ValueError)(f"{what}: {err[1]}")

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

    # ---- tables ---------------------------------------------------------------------------
    @staticmethod
    def _layouts_consistent(what: str, layouts_by_rank) -> None:
        """The same id must have the same shape and dtype wherever it appears."""
        seen = {}
        for r, layout in enumerate(layouts_by_rank):
            for pid, shape, dt in layout:
                first = seen.setdefault(pid, (r, shape, dt))
                if (first[1], first[2]) != (shape, dt):
                    raise ValueError(
                        f"{what}: partition {pid} has shape {first[1]} dtype {np.dtype(first[2])} "
                        f"on rank {first[0]} but shape {shape} dtype {np.dtype(dt)} on rank {r}")

    def _fast_reduce_ok(self, table: Table, layouts) -> np.dtype | None:
        """The dtype for a single packed-buffer reduction, or None if the general path is needed:
        a built-in combiner, identical layouts everywhere, one native dtype."""
        if not isinstance(table.combiner, str):
            return None
        if any(lay != layouts[0] for lay in layouts):
            return None
        dtypes = {dt for _, _, dt in layouts[0]}
        if len(dtypes) != 1:
            return None
        dtype = np.dtype(dtypes.pop())
        return dtype if dtype in _NATIVE else None

    def _table_plan(self, table, what):
        def local():
            _check_table(table)
            return _packing.layout_of(table._items())
        layout, err = _capture(local)
        key = _combiner_key(table) if err is None else None
        return layout, err, key

    def _fold(self, combiner, sources) -> dict:
        out = {}
        for pid, arr in sources:
            if pid in out:
                out[pid] = combine_into(combiner, out[pid], arr, pid)
            else:
                out[pid] = arr
        return out

    def _gathered_sources(self, layouts, recv, displs):
        for r, layout in enumerate(layouts):
            for (pid, _, _), view in zip(layout, _packing.views(recv, layout, base=displs[r])):
                yield pid, view

    def allreduce(self, table: Table, *, in_place: bool = False) -> Table:
        """Every rank ends with the union of all ranks' partitions, same ids combined.

        By default the table's arrays are never written: the partitions are packed (one copy)
        and replaced by views of the reduced buffer. ``in_place=True`` reduces each partition's
        own memory instead (no copy; the table keeps its array objects, now holding the
        results): every rank must hold the same ids, shapes and dtypes with a built-in
        combiner, and every array must be writable and C-contiguous, else it raises on every
        rank. Partitions lying back to back in one buffer (``Table.arena``, ``consolidate()``)
        are reduced by one MPI call per run; others by one call each."""
        if not isinstance(in_place, (bool, np.bool_)):
            raise TypeError(f"in_place: expected a bool, got {type(in_place).__name__}")
        if in_place:
            return self._allreduce_in_place(table)
        layout, err, key = self._table_plan(table, "allreduce")
        layouts = self._agree("allreduce", same=key, extra=layout, error=err)
        self._layouts_consistent("allreduce", layouts)
        dtype = self._fast_reduce_ok(table, layouts)
        if dtype is not None:
            items = table._items()
            buf, offsets = _packing.pack([a for _, a in items])
            self._allreduce_buf(buf.view(dtype), table.combiner)
            table._set({pid: v for (pid, _), v in zip(items, _packing.views(buf, layout, offsets))})
            return table
        return self._allgather_fold(table, layouts)

    def _allreduce_in_place(self, table: Table) -> Table:
        what = "allreduce(in_place=True)"

        def local():
            _check_table(table)
            if not isinstance(table.combiner, str):
                raise TypeError("table: an in-place reduction needs a built-in combiner "
                                f"{OPS}, not a callable (use in_place=False)")
            items = table._items()
            for pid, a in items:
                check_array(a, f"partition {pid}", writable=True)
                check_op(table.combiner, a)
            return _packing.layout_of(items), _packing.contiguous_runs(items)
        plan, err = _capture(local)
        # One tiny allreduce when every rank has the same layout and the same runs (the common
        # case); otherwise every rank learns every rank's plan and raises, or (same layout,
        # runs differing only because the memory differs) uses the runs valid everywhere.
        same = (table.combiner, plan) if err is None else None
        digest = hashlib.blake2b(repr(same).encode(), digest_size=7).digest()
        code = int.from_bytes(digest, "little")
        v = np.array([err is not None, code, -code], dtype=np.int64)
        self._allreduce_buf(v, "max")
        items = table._items()
        if v[0] == 0 and v[1] == -v[2]:
            runs = plan[1]
        else:
            plans = self._agree(what, same=(table.combiner, plan[0]) if err is None else None,
                                extra=plan[1] if err is None else None, error=err)
            breaks = set()
            for rank_runs in plans:
                for first, stop in rank_runs:
                    breaks.update((first, stop))
            edges = sorted(breaks)
            runs = [(a, b) for a, b in zip(edges, edges[1:])
                    if any(a >= f and b <= s for f, s in plan[1])]
        for run in runs:
            self._allreduce_buf(_packing.run_view(items, run), table.combiner)
        return table

    def allgather(self, table: Table) -> Table:
        """Every rank ends with every rank's partitions (same ids combined, in rank order)."""
        layout, err, key = self._table_plan(table, "allgather")
        layouts = self._agree("allgather", same=key, extra=layout, error=err)
        self._layouts_consistent("allgather", layouts)
        return self._allgather_fold(table, layouts)

    def _allgather_fold(self, table: Table, layouts) -> Table:
        buf, _ = _packing.pack([a for _, a in table._items()])
        counts = [int(_packing.offsets_of(lay)[-1]) for lay in layouts]
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()
        recv = _packing.empty_bytes(int(sum(counts)))
        self._allgatherv_buf(buf, recv, counts, displs)
        table._set(self._fold(table.combiner, self._gathered_sources(layouts, recv, displs)))
        return table

    def reduce(self, table: Table, root: int = 0) -> Table:
        """Root ends with the combined union of all partitions; other tables are unchanged."""
        def local():
            _check_table(table)
            self._check_root(root)
            return _packing.layout_of(table._items())
        layout, err = _capture(local)
        same = (_combiner_key(table), root) if err is None else None
        layouts = self._agree("reduce", same=same, extra=layout, error=err)
        self._layouts_consistent("reduce", layouts)
        dtype = self._fast_reduce_ok(table, layouts)
        items = table._items()
        buf, offsets = _packing.pack([a for _, a in items])
        if dtype is not None:
            self._reduce_buf(buf.view(dtype), table.combiner, root)
            if self.rank == root:
                table._set({pid: v for (pid, _), v in
                            zip(items, _packing.views(buf, layout, offsets))})
            return table
        counts = [int(_packing.offsets_of(lay)[-1]) for lay in layouts]
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()
        recv = _packing.empty_bytes(int(sum(counts)) if self.rank == root else 0)
        self._gatherv_buf(buf, recv, counts, displs, root)
        if self.rank == root:
            table._set(self._fold(table.combiner, self._gathered_sources(layouts, recv, displs)))
        return table

    def broadcast(self, table: Table, root: int = 0) -> Table:
        """Every rank's table becomes a copy of root's."""
        def local():
            _check_table(table)
            self._check_root(root)
            return _packing.layout_of(table._items()) if self.rank == root else None
        layout, err = _capture(local)
        layouts = self._agree("broadcast", same=root if err is None else None, extra=layout,
                              error=err)
        root_layout = layouts[root]
        offsets = _packing.offsets_of(root_layout)
        if self.rank == root:
            buf, _ = _packing.pack([a for _, a in table._items()], offsets)
        else:
            buf = _packing.empty_bytes(int(offsets[-1]))
        self._bcast_buf(buf, root)
        if self.rank != root:
            table._set({pid: v for (pid, _, _), v in
                        zip(root_layout, _packing.views(buf, root_layout, offsets))})
        return table

    def _destinations(self, ids, partitioner, name="partitioner") -> list[int]:
        if partitioner is None:
            dest = np.empty(len(ids), dtype=np.int64)
            _core.comm.default_destinations(np.asarray(ids, dtype=np.int64), self.size, dest)
            return dest.tolist()
        if not callable(partitioner):
            raise TypeError(f"{name}: expected a callable id -> rank, got "
                            f"{type(partitioner).__name__}")
        out = []
        for pid in ids:
            r = partitioner(pid)
            if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Integral):
                raise TypeError(f"{name}: returned {type(r).__name__} for id {pid}, expected an int")
            if not 0 <= int(r) < self.size:
                raise ValueError(f"{name}: returned rank {r} for id {pid}, outside [0, {self.size})")
            out.append(int(r))
        return out

    def _exchange(self, send_items, send_dest, recv_layouts_by_source):
        """All-to-all of partitions: send_items[i] goes to rank send_dest[i]; from each source s
        we receive the partitions of recv_layouts_by_source[s], in that order. Returns
        [(id, view)] in source-rank order."""
        nbytes = _packing.nbytes_of(_packing.layout_of(send_items))
        order = np.empty(len(send_items), dtype=np.int64)
        counts = np.empty(self.size, dtype=np.int64)
        scounts = np.empty(self.size, dtype=np.int64)
        sdispls = np.empty(self.size, dtype=np.int64)
        _core.comm.regroup_plan(np.asarray(send_dest, dtype=np.int64), nbytes, self.size, order,
                                counts, scounts, sdispls)
        send_buf, _ = _packing.pack([send_items[i][1] for i in order])
        rcounts = [int(_packing.offsets_of(lay)[-1]) for lay in recv_layouts_by_source]
        rdispls = np.concatenate([[0], np.cumsum(rcounts)[:-1]]).astype(np.int64).tolist()
        recv = _packing.empty_bytes(int(sum(rcounts)))
        self._alltoallv_buf(send_buf, scounts.tolist(), sdispls.tolist(), recv, rcounts, rdispls)
        return list(self._gathered_sources(recv_layouts_by_source, recv, rdispls))

    def regroup(self, table: Table, partitioner=None) -> Table:
        """Move each partition to rank ``partitioner(id)`` (default ``id % size``); partitions
        arriving with the same id are combined (in source-rank order)."""
        def local():
            _check_table(table)
            layout = _packing.layout_of(table._items())
            return layout, self._destinations([pid for pid, _, _ in layout], partitioner)
        plan, err = _capture(local)
        key = _combiner_key(table) if err is None else None
        plans = self._agree("regroup", same=key, extra=plan, error=err)
        self._layouts_consistent("regroup", [p[0] for p in plans])
        items = table._items()
        recv_layouts = [[m for m, d in zip(lay, dest) if d == self.rank] for lay, dest in plans]
        received = self._exchange(items, plan[1], recv_layouts)
        table._set(self._fold(table.combiner, received))
        return table

    @staticmethod
    def _owners(what: str, global_layouts) -> dict:
        owner = {}
        for r, layout in enumerate(global_layouts):
            for pid, _, _ in layout:
                if pid in owner:
                    raise ValueError(f"{what}: partition {pid} of the global table is on ranks "
                                     f"{owner[pid]} and {r}; a global table holds each id once")
                owner[pid] = r
        return owner

    def push(self, local_table: Table, global_table: Table, partitioner=None) -> Table:
        """Send local partitions to the rank owning that id in the distributed ``global_table``
        (or ``partitioner(id)``; ids no rank holds go to ``id % size``) and combine them there
        with the global table's combiner. Returns ``global_table``."""
        def local():
            _check_table(local_table, "local_table")
            _check_table(global_table, "global_table")
            lay = _packing.layout_of(local_table._items())
            dest = (self._destinations([p for p, _, _ in lay], partitioner)
                    if partitioner is not None else None)
            return lay, _packing.layout_of(global_table._items()), dest
        plan, err = _capture(local)
        key = _combiner_key(global_table) if err is None else None
        plans = self._agree("push", same=key, extra=plan, error=err)
        self._layouts_consistent("push", [p[0] for p in plans] + [p[1] for p in plans])
        if partitioner is None:
            owner = self._owners("push", [p[1] for p in plans])
            dests = [[owner.get(pid, pid % self.size) for pid, _, _ in p[0]] for p in plans]
        else:
            dests = [p[2] for p in plans]
        recv_layouts = [[m for m, d in zip(p[0], dest) if d == self.rank]
                        for p, dest in zip(plans, dests)]
        received = self._exchange(local_table._items(), dests[self.rank], recv_layouts)
        merged = {}
        for pid, arr in received:
            if pid in merged:
                merged[pid] = combine_into(global_table.combiner, merged[pid], arr, pid)
            elif pid in global_table:
                merged[pid] = combine_into(global_table.combiner, global_table[pid].copy(), arr, pid)
            else:
                merged[pid] = arr
        parts = dict(global_table._items())
        parts.update(merged)
        global_table._set(parts)
        return global_table

    def pull(self, global_table: Table, local_table: Table) -> Table:
        """Replace each partition of ``local_table`` with the global table's partition of that
        id, wherever it lives. Returns ``local_table``."""
        def local():
            _check_table(global_table, "global_table")
            _check_table(local_table, "local_table")
            return _packing.layout_of(global_table._items()), local_table.ids()
        plan, err = _capture(local)
        plans = self._agree("pull", extra=plan, error=err)
        owner = self._owners("pull", [p[0] for p in plans])
        for r, (_, wanted) in enumerate(plans):
            for pid in wanted:
                if pid not in owner:
                    raise ValueError(f"pull: rank {r} asks for partition {pid}, which no rank "
                                     "holds in the global table")
        mine = dict(global_table._items())
        send_items, send_dest = [], []
        for r, (_, wanted) in enumerate(plans):
            for pid in wanted:
                if owner[pid] == self.rank:
                    send_items.append((pid, mine[pid]))
                    send_dest.append(r)
        meta = {pid: (pid, shape, dt) for p in plans for pid, shape, dt in p[0]}
        wanted_here = plans[self.rank][1]
        recv_layouts = [[meta[pid] for pid in wanted_here if owner[pid] == s]
                        for s in range(self.size)]
        received = self._exchange(send_items, send_dest, recv_layouts)
        parts = dict(local_table._items())
        parts.update(dict(received))
        local_table._set(parts)
        return local_table

    def _targets(self, mapping) -> list[int]:
        targets = np.arange(self.size, dtype=np.int64)
        if mapping is None:
            _core.comm.ring_targets(self.size, 1, targets)
        else:
            if not isinstance(mapping, dict):
                raise TypeError(f"mapping: expected a dict {{src_rank: dst_rank}}, got "
                                f"{type(mapping).__name__}")
            for src, dst in mapping.items():
                for v in (src, dst):
                    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
                        raise TypeError(f"mapping: ranks are ints, got {type(v).__name__}")
                    if not 0 <= int(v) < self.size:
                        raise ValueError(f"mapping: rank {v} outside [0, {self.size})")
                targets[int(src)] = int(dst)
            sources = np.empty_like(targets)
            _core.comm.rotation_sources(targets, sources)  # not a permutation -> ValueError
        return targets.tolist()

    def rotate(self, table: Table, mapping: dict | None = None) -> Table:
        """Send the whole table to rank+1 (ring) or to ``mapping[rank]`` (a permutation given as
        {src_rank: dst_rank}; ranks not listed keep their table) and receive in its place."""
        def local():
            _check_table(table)
            return self._targets(mapping), _packing.layout_of(table._items())
        plan, err = _capture(local)
        plans = self._agree("rotate", same=plan[0] if err is None else None,
                            extra=plan[1] if err is None else None, error=err)
        targets = plan[0]
        dest = targets[self.rank]
        if dest == self.rank:
            return table
        source = targets.index(self.rank)
        buf, _ = _packing.pack([a for _, a in table._items()])
        src_layout = plans[source]
        offsets = _packing.offsets_of(src_layout)
        recv = _packing.empty_bytes(int(offsets[-1]))
        self._sendrecv_buf(buf, dest, recv, source)
        table._set({pid: v for (pid, _, _), v in
                    zip(src_layout, _packing.views(recv, src_layout, offsets))})
        return table

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"
