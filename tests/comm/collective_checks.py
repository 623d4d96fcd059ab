"""The collective contract, written once as a mixin and run on every backend.

Each rank contributes deterministic data (tests/comm/_data.py), so each rank computes the
expected result of every collective with numpy from all ranks' contributions, at any size.
"""
from __future__ import annotations

import numpy as np
import pytest

from harpdaal.comm import Partition, Table

from ._data import contribution

DTYPES = [np.float32, np.float64, np.int32, np.int64]
NP_OPS = {"sum": np.add, "min": np.minimum, "max": np.maximum}


def expected_reduce(size, shape, dtype, op, salt):
    out = contribution(0, shape, dtype, salt).copy()
    for r in range(1, size):
        out = NP_OPS[op](out, contribution(r, shape, dtype, salt))
    return out


def _on_one_node(comm) -> bool:
    """Whether every rank of an MPI communicator shares one node's memory (as MPI sees it:
    ranks in separate network namespaces are separate hosts)."""
    mpi = getattr(comm, "mpi_comm", None)
    if mpi is None:
        return False
    from mpi4py import MPI

    node = mpi.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return mpi.allreduce(node.Get_size() == comm.size, op=MPI.LAND)
    finally:
        node.Free()


def assert_close(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-5 if want.dtype == np.float32 else 1e-12,
                                   atol=1e-5)
    else:
        np.testing.assert_array_equal(got, want)


class CollectiveChecks:
    """Subclasses provide ``comm`` (a fixture-made Communicator)."""

    # ---- arrays ---------------------------------------------------------------------------
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("op", ["sum", "min", "max"])
    def test_allreduce_array(self, comm, dtype, op):
        a = contribution(comm.rank, (5, 3), dtype, salt=1).copy()
        addr = a.__array_interface__["data"][0]
        out = comm.allreduce_array(a, op=op)
        assert out is a and a.__array_interface__["data"][0] == addr  # in place
        assert_close(a, expected_reduce(comm.size, (5, 3), dtype, op, salt=1))

    def test_array_paths_without_agreement(self, comm):
        a = contribution(comm.rank, (9,), np.float32, salt=8).copy()
        comm.allreduce_array(a, op="max", check=False)
        assert_close(a, expected_reduce(comm.size, (9,), np.float32, "max", salt=8))
        b = np.full(2, float(comm.rank))
        comm.broadcast_array(b, root=0, check=False)
        assert_close(b, np.zeros(2))
        assert comm.allgather_array(np.array([comm.rank]), check=False).ravel().tolist() == \
            list(range(comm.size))
        with pytest.raises(ValueError, match="read-only"):   # local checks still run
            ro = np.zeros(2)
            ro.flags.writeable = False
            comm.allreduce_array(ro, check=False)

    def test_reduce_array(self, comm):
        root = comm.size - 1
        a = contribution(comm.rank, (7,), np.float64, salt=2).copy()
        comm.reduce_array(a, op="max", root=root)
        if comm.rank == root:
            assert_close(a, expected_reduce(comm.size, (7,), np.float64, "max", salt=2))
        else:
            assert_close(a, contribution(comm.rank, (7,), np.float64, salt=2))

    def test_broadcast_array(self, comm):
        root = comm.size - 1
        a = contribution(comm.rank, (4, 2), np.int32, salt=3).copy()
        comm.broadcast_array(a, root=root)
        assert_close(a, contribution(root, (4, 2), np.int32, salt=3))

    def test_allgather_array(self, comm):
        a = contribution(comm.rank, (3,), np.float32, salt=4)
        out = comm.allgather_array(a)
        assert out.shape == (comm.size, 3)
        for r in range(comm.size):
            assert_close(out[r], contribution(r, (3,), np.float32, salt=4))

    def test_allgatherv_rows(self, comm):
        # rank r contributes r rows (rank 0 none): uneven and empty blocks
        a = contribution(comm.rank, (comm.rank, 2), np.float64, salt=5)
        out = comm.allgatherv_rows(a)
        want = np.concatenate([contribution(r, (r, 2), np.float64, salt=5)
                               for r in range(comm.size)])
        assert_close(out, want)

    @pytest.mark.parametrize("check", [True, False])
    def test_allgatherv_rows_into(self, comm, check):
        # rank r owns r rows (rank 0 none) of one shared table; everything else is overwritten
        bounds = np.concatenate([[0], np.cumsum(np.arange(comm.size))]).tolist()
        want = np.concatenate([contribution(r, (r, 3), np.float32, salt=8)
                               for r in range(comm.size)]).reshape(-1, 3)
        full = np.full((bounds[-1], 3), -7.0, np.float32)
        lo, hi = bounds[comm.rank], bounds[comm.rank + 1]
        full[lo:hi] = want[lo:hi]
        before = full.__array_interface__["data"][0]
        out = comm.allgatherv_rows_into(full, bounds, check=check)
        assert out is full and full.__array_interface__["data"][0] == before
        assert_close(full, want)

    def test_allgatherv_rows_into_rejects_bad_bounds(self, comm):
        full = np.zeros((comm.size + 1, 2))
        with pytest.raises(ValueError, match="bounds"):
            comm.allgatherv_rows_into(full, [0] * (comm.size + 1))  # does not reach the end
        with pytest.raises(ValueError, match="bounds"):
            comm.allgatherv_rows_into(full, [0] * comm.size)  # one bound too few
        with pytest.raises(ValueError, match="full"):
            comm.allgatherv_rows_into(np.zeros(3)[::2], [0] * comm.size + [2])

    @pytest.mark.parametrize("enabled", ["1", "0"])
    def test_shared_rows(self, comm, enabled, monkeypatch):
        # each rank writes its own rows; after sync every rank reads all of them, twice over
        # (the second round overwrites the first), in shared memory or by the allgather
        monkeypatch.setenv("HARPDAAL_SHARED_TABLES", enabled)
        bounds = np.concatenate([[0], np.cumsum(np.arange(1, comm.size + 1))]).tolist()
        table = comm.shared_rows((bounds[-1], 3), np.float32)
        try:
            assert table.array.shape == (bounds[-1], 3) and table.array.dtype == np.float32
            assert not table.array.any()  # starts zeroed
            assert table.shared == (comm.size > 1 and enabled == "1" and _on_one_node(comm))
            lo, hi = bounds[comm.rank], bounds[comm.rank + 1]
            for salt in (9, 10):
                want = np.concatenate([contribution(r, (r + 1, 3), np.float32, salt=salt)
                                       for r in range(comm.size)])
                table.array[lo:hi] = want[lo:hi]
                table.sync(bounds)
                assert_close(table.array, want)
                comm.barrier()  # nobody writes the next round while another rank still reads
        finally:
            table.close()
        assert table.array is None or not table.shared

    def test_shared_rows_rejects_mismatched_shapes(self, comm):
        if comm.size == 1:
            pytest.skip("needs several ranks")
        with pytest.raises(ValueError, match="shared_rows"):
            comm.shared_rows((4 + comm.rank, 2), np.float32)

    @pytest.mark.parametrize("shift", [1, -1, 2])
    def test_irotate_array(self, comm, shift):
        send = contribution(comm.rank, (6,), np.float32, salt=6)
        recv = np.zeros(6, np.float32)
        h = comm.irotate_array(send, recv, shift=shift)
        h.wait()
        assert h.test()
        assert_close(recv, contribution((comm.rank - shift) % comm.size, (6,), np.float32, salt=6))

    def test_objects(self, comm):
        assert comm.bcast_object({"r": comm.rank}, root=0) == {"r": 0}
        assert comm.allgather_object(comm.rank * 2) == [2 * r for r in range(comm.size)]
        assert comm.check_same(17, what="n_features") == 17
        comm.barrier()

    # ---- tables ---------------------------------------------------------------------------
    def _table(self, comm, ids, combiner="sum", dtype=np.float32, salt=10, shape=(3, 2)):
        t = Table(combiner)
        for pid in ids:
            t.add(Partition(pid, contribution(comm.rank, shape, dtype, salt + pid)))
        return t

    @pytest.mark.parametrize("op", ["sum", "min", "max"])
    def test_table_allreduce_same_layout(self, comm, op):
        t = self._table(comm, [0, 2, 5], combiner=op)
        before = {p.id: p.array.copy() for p in t}
        originals = {p.id: p.array for p in t}
        comm.allreduce(t)
        assert t.ids() == [0, 2, 5]
        for pid in t.ids():
            assert_close(t[pid], expected_reduce(comm.size, (3, 2), np.float32, op, 10 + pid))
            np.testing.assert_array_equal(originals[pid], before[pid])  # inputs never written

    @pytest.mark.parametrize("op", ["sum", "min", "max"])
    @pytest.mark.parametrize("layout", ["arena", "separate", "mixed"])
    def test_table_allreduce_in_place(self, comm, op, layout):
        shapes = {0: (3, 2), 2: (5,), 5: (0,), 7: (4, 1)}
        if layout == "arena":
            t = Table.arena(shapes, np.float64, combiner=op)
        else:
            t = Table(op)
            for pid, shape in shapes.items():
                t.add(Partition(pid, np.zeros(shape)))
        if layout == "mixed" and comm.rank % 2 == 1:
            t.consolidate()  # runs differ between ranks: the runs valid everywhere are used
        for pid in t.ids():
            t[pid][...] = contribution(comm.rank, shapes[pid], np.float64, 20 + pid)
        arrays = {pid: t[pid] for pid in t.ids()}
        assert comm.allreduce(t, in_place=True) is t
        for pid in t.ids():
            assert t[pid] is arrays[pid]  # the same memory now holds the result: no copy
            assert_close(t[pid], expected_reduce(comm.size, shapes[pid], np.float64, op, 20 + pid))

    def test_table_allreduce_in_place_refuses(self, comm):
        t = Table(lambda a, b: a + b)
        t.add(Partition(0, np.zeros(2)))
        with pytest.raises(TypeError, match="built-in combiner"):
            comm.allreduce(t, in_place=True)
        x = np.zeros(4)
        t = Table("sum")
        t.add(Partition(0, x[0:3]))
        t.add(Partition(1, x[2:4]))
        with pytest.raises(ValueError, match="share memory"):
            comm.allreduce(t, in_place=True)
        ro = np.zeros(2)
        ro.flags.writeable = False
        t = Table("sum")
        t.add(Partition(3, ro if comm.rank == comm.size - 1 else np.zeros(2)))
        with pytest.raises(ValueError, match="partition 3: array is read-only"):
            comm.allreduce(t, in_place=True)
        t = Table("max")
        t.add(Partition(0, np.zeros((4, 4))[:, 0] if comm.rank == 0 else np.zeros(4)))
        with pytest.raises(ValueError, match="C-contiguous"):
            comm.allreduce(t, in_place=True)
        with pytest.raises(TypeError, match="in_place"):
            comm.allreduce(Table(), in_place="yes")
        if comm.size > 1:  # ids or shapes differing between ranks: raised everywhere, no hang
            t = Table("sum")
            t.add(Partition(comm.rank % 2, np.zeros(2)))
            with pytest.raises(ValueError, match="disagree"):
                comm.allreduce(t, in_place=True)
            t = Table.arena({0: 2 + comm.rank % 2})
            with pytest.raises(ValueError, match="disagree"):
                comm.allreduce(t, in_place=True)
        assert_close(comm.allreduce_array(np.ones(2)), np.full(2, float(comm.size)))

    def test_table_allreduce_different_ids_callable(self, comm):
        # rank r holds ids {r, 100}; a callable combiner takes the general path
        t = self._table(comm, [comm.rank, 100], combiner=lambda a, b: a + 2 * b,
                        dtype=np.float64)
        comm.allreduce(t)
        assert t.ids() == sorted(set(range(comm.size)) | {100})
        for r in range(comm.size):
            assert_close(t[r], contribution(r, (3, 2), np.float64, 10 + r))
        want = contribution(0, (3, 2), np.float64, 110)
        for r in range(1, comm.size):
            want = want + 2 * contribution(r, (3, 2), np.float64, 110)
        assert_close(t[100], want)

    def test_table_reduce(self, comm):
        root = comm.size - 1
        t = self._table(comm, [1, 4], combiner="sum", dtype=np.int64)
        comm.reduce(t, root=root)
        for pid in (1, 4):
            if comm.rank == root:
                assert_close(t[pid], expected_reduce(comm.size, (3, 2), np.int64, "sum", 10 + pid))
            else:
                assert_close(t[pid], contribution(comm.rank, (3, 2), np.int64, 10 + pid))

    def test_table_reduce_general(self, comm):
        t = self._table(comm, [comm.rank], combiner="max", dtype=np.float64)
        comm.reduce(t, root=0)
        if comm.rank == 0:
            assert t.ids() == list(range(comm.size))
            for r in range(comm.size):
                assert_close(t[r], contribution(r, (3, 2), np.float64, 10 + r))

    def test_table_broadcast(self, comm):
        root = comm.size - 1
        t = self._table(comm, [comm.rank, 50], dtype=np.int32)
        comm.broadcast(t, root=root)
        assert t.ids() == sorted({root, 50})
        for pid in t.ids():
            assert_close(t[pid], contribution(root, (3, 2), np.int32, 10 + pid))

    def test_table_allgather(self, comm):
        t = self._table(comm, [10 * comm.rank, 10 * comm.rank + 1], dtype=np.float64)
        comm.allgather(t)
        assert t.ids() == sorted([10 * r for r in range(comm.size)] +
                                 [10 * r + 1 for r in range(comm.size)])
        for r in range(comm.size):
            assert_close(t[10 * r + 1], contribution(r, (3, 2), np.float64, 10 + 10 * r + 1))

    def test_table_regroup_default(self, comm):
        t = self._table(comm, range(6), dtype=np.float64)
        comm.regroup(t)
        assert t.ids() == [pid for pid in range(6) if pid % comm.size == comm.rank]
        for pid in t.ids():
            assert_close(t[pid], expected_reduce(comm.size, (3, 2), np.float64, "sum", 10 + pid))

    def test_table_regroup_partitioner(self, comm):
        t = self._table(comm, [3, 7, 8], combiner="min", dtype=np.int32)
        comm.regroup(t, partitioner=lambda pid: (pid + 1) % comm.size)
        assert t.ids() == [pid for pid in (3, 7, 8) if (pid + 1) % comm.size == comm.rank]
        for pid in t.ids():
            assert_close(t[pid], expected_reduce(comm.size, (3, 2), np.int32, "min", 10 + pid))

    def test_push_pull(self, comm):
        # global table: ids 0..7 spread by id % size, value = id everywhere
        g = Table("sum")
        for pid in range(8):
            if pid % comm.size == comm.rank:
                g.add(Partition(pid, np.full((2, 2), float(pid))))
        local = self._table(comm, [0, 3, 5], dtype=np.float64, shape=(2, 2))
        comm.push(local, g)
        assert g.ids() == [pid for pid in range(8) if pid % comm.size == comm.rank]
        for pid in g.ids():
            want = np.full((2, 2), float(pid))
            if pid in (0, 3, 5):
                want = want + expected_reduce(comm.size, (2, 2), np.float64, "sum", 10 + pid)
            assert_close(g[pid], want)
        want_ids = [1, 3, 7]
        mine = Table("sum")
        for pid in want_ids:
            mine.add(Partition(pid, np.zeros((2, 2))))
        comm.pull(g, mine)
        assert mine.ids() == want_ids
        for pid in want_ids:
            want = np.full((2, 2), float(pid))
            if pid == 3:
                want = want + expected_reduce(comm.size, (2, 2), np.float64, "sum", 13)
            assert_close(mine[pid], want)

    def test_rotate_ring(self, comm):
        t = self._table(comm, [comm.rank], dtype=np.float32, shape=(comm.rank + 1, 2))
        comm.rotate(t)
        src = (comm.rank - 1) % comm.size
        assert t.ids() == [src]
        assert_close(t[src], contribution(src, (src + 1, 2), np.float32, 10 + src))

    def test_rotate_mapping(self, comm):
        mapping = {r: comm.size - 1 - r for r in range(comm.size)}
        t = self._table(comm, [comm.rank, 99], dtype=np.int64)
        comm.rotate(t, mapping=mapping)
        src = comm.size - 1 - comm.rank
        assert t.ids() == sorted({src, 99})
        assert_close(t[99], contribution(src, (3, 2), np.int64, 109))

    def test_results_survive_later_collectives(self, comm):
        # large enough for the recycled-buffer pool: a result still referenced must never be
        # handed out again as the next collective's buffer
        shape = (200, 100)
        t1 = self._table(comm, [0, 1], dtype=np.float64, shape=shape, salt=20)
        comm.allreduce(t1)
        keep = t1[1]
        del t1
        want = expected_reduce(comm.size, shape, np.float64, "sum", 21)
        for salt in (30, 40, 50):
            t2 = self._table(comm, [0, 1], dtype=np.float64, shape=shape, salt=salt)
            comm.allreduce(t2)
            comm.rotate(t2)
            assert_close(keep, want)

    def test_empty_table(self, comm):
        t = Table("sum")
        comm.allreduce(t)
        comm.rotate(t)
        comm.regroup(t)
        assert len(t) == 0

    # ---- validation: raised on every rank, and the communicator still works after ---------
    def test_bad_arguments_raise_everywhere(self, comm):
        a = np.zeros(4, np.float32)
        with pytest.raises(ValueError, match="op"):
            comm.allreduce_array(a, op="prod")
        with pytest.raises(TypeError, match="a: expected a numpy.ndarray"):
            comm.allreduce_array([1.0, 2.0])
        ro = np.zeros(4, np.float32)
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            comm.allreduce_array(ro)
        with pytest.raises(ValueError, match="C-contiguous"):
            comm.broadcast_array(np.zeros((4, 4))[:, 1])
        with pytest.raises(ValueError, match="root"):
            comm.broadcast_array(a, root=comm.size)
        with pytest.raises(ValueError, match="outside"):
            comm.rotate(Table(), mapping={0: comm.size})
        if comm.size > 1:
            with pytest.raises(ValueError, match="permutation"):
                comm.rotate(Table(), mapping={0: 0, 1: 0})
        with pytest.raises(ValueError, match="partitioner"):
            comm.regroup(self._table(comm, [1]), partitioner=lambda pid: comm.size)
        with pytest.raises(TypeError, match="table"):
            comm.allreduce({"not": "a table"})
        with pytest.raises(ValueError, match="no rank holds"):
            comm.pull(Table(), self._table(comm, [5]))
        assert_close(comm.allreduce_array(np.ones(3), op="sum"), np.full(3, float(comm.size)))

    def test_one_rank_bad_argument_raises_everywhere(self, comm):
        # only the last rank passes a non-contiguous array: every rank must raise
        x = np.zeros((4, 4), np.float64)
        a = x[:, 0] if comm.rank == comm.size - 1 else np.zeros(4)
        with pytest.raises(ValueError, match="C-contiguous"):
            comm.allreduce_array(a)
        assert_close(comm.allreduce_array(np.ones(2)), np.full(2, float(comm.size)))

    def test_mismatch_raises_everywhere(self, comm):
        if comm.size == 1:
            pytest.skip("a mismatch across ranks needs more than one rank")
        a = np.zeros(3 if comm.rank == 0 else 4, np.float32)
        with pytest.raises(ValueError, match="disagree"):
            comm.allreduce_array(a)
        b = np.zeros(3, np.float32 if comm.rank == 0 else np.float64)
        with pytest.raises(ValueError, match="disagree"):
            comm.broadcast_array(b)
        t = Table("sum")
        t.add(Partition(0, np.zeros(2 if comm.rank == 0 else 3)))
        with pytest.raises(ValueError, match="partition 0"):
            comm.allreduce(t)
        with pytest.raises(ValueError, match="disagree"):
            comm.broadcast_array(np.zeros(3), root=comm.rank)
        with pytest.raises(ValueError, match="disagree"):
            comm.allgather_array(np.zeros(comm.rank + 1))
        with pytest.raises(ValueError, match="differs"):
            comm.check_same(comm.rank, what="rank")
        # the communicator is still usable: nobody was left inside a collective
        assert_close(comm.allreduce_array(np.ones(2)), np.full(2, float(comm.size)))
