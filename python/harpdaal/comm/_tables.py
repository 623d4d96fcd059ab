"""Table collectives: Harp's verbs over tables of partitions (allreduce, reduce, broadcast,
allgather, regroup, push, pull, rotate).

Each collective packs the partitions once (C++) and moves one buffer. Built-in combiners with
identical layouts on all ranks are one MPI reduction of the packed buffer; otherwise the packed
buffers are allgathered (gathered for ``reduce``) and folded locally in rank order, so every
rank computes identical results. See docs/comm.md.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _core
from . import _packing
from ._agreement import _capture
from ._arrays import OPS, check_array, check_op
from .table import Table, combine_into

_NATIVE = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64)}


def _combiner_key(table: Table):
    c = table.combiner
    return c if isinstance(c, str) else "<callable>"


def _check_table(t, name: str = "table") -> Table:
    if not isinstance(t, Table):
        raise TypeError(f"{name}: expected a harpdaal.comm.Table, got {type(t).__name__}")
    return t


class TableCollectives:
    """Collectives on ``Table`` objects; mixed into ``Communicator`` (uses its buffer primitives
    and the ``Agreement`` methods)."""

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
        quick = self._agreed_quickly(same, err)
        items = table._items()
        if quick:
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
