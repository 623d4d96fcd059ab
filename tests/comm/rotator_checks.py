"""ModelRotator contract, run on every backend (see test_rotator.py)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from harpdaal.comm import ModelRotator, Partition, Table

from ._data import contribution


def local_model(rank, rows=None, cols=3):
    rows = 5 + rank if rows is None else rows
    # integer-valued floats: repeated += 1 stays exact
    return contribution(rank, (rows, cols), np.int64, salt=77).astype(np.float64)


class RotatorChecks:
    @pytest.mark.parametrize("order", ["ring", "random"])
    @pytest.mark.parametrize("slices", [1, 2, 3])
    def test_every_rank_sees_every_slice_once_per_epoch(self, comm, order, slices):
        model = local_model(comm.rank)
        everything = np.concatenate([local_model(r) for r in range(comm.size)])
        with ModelRotator(model, comm=comm, slices_per_rank=slices, order=order, seed=5) as rot:
            assert rot.steps_per_epoch == comm.size * slices
            for epoch in range(2):
                seen = []
                for _ in range(comm.size):
                    for k in range(slices):
                        block = rot.get(k)
                        a, b = rot.rows(k)
                        # every visit adds 1; all slices have had the same number of visits
                        # at the start of an epoch, then one more per slice seen this epoch
                        if block.size:
                            offset = block[0, 0] - everything[a, 0]
                            assert offset == round(offset)
                            assert epoch * comm.size <= offset < (epoch + 1) * comm.size
                            np.testing.assert_array_equal(block, everything[a:b] + offset)
                        seen.append(rot.slice_id(k))
                        block += 1.0
                        rot.rotate(k)
                assert sorted(seen) == list(range(comm.size * slices))
            full = rot.assemble()
        # each slice was visited 2 * size times, once per rank per epoch
        np.testing.assert_array_equal(full, everything + 2 * comm.size)

    def test_model_is_copied_not_rotated_in_place(self, comm):
        model = local_model(comm.rank)
        before = model.copy()
        with ModelRotator(model, comm=comm, slices_per_rank=2) as rot:
            rot.get(0)[...] = -1
            rot.rotate(0)
            rot.get(0)
        np.testing.assert_array_equal(model, before)

    def test_values_follow_the_ring(self, comm):
        model = local_model(comm.rank, rows=4)
        with ModelRotator(model, comm=comm, slices_per_rank=1) as rot:
            np.testing.assert_array_equal(rot.get(0), model)
            rot.rotate(0)
            src = (comm.rank - 1) % comm.size
            np.testing.assert_array_equal(rot.get(0), local_model(src, rows=4))
            assert rot.slice_id(0) == src
            assert rot.rows(0) == (4 * src, 4 * src + 4)

    def test_more_slices_than_rows(self, comm):
        model = local_model(comm.rank, rows=comm.rank % 2)  # 0 or 1 rows: empty slices
        with ModelRotator(model, comm=comm, slices_per_rank=2) as rot:
            for _ in range(comm.size):
                for k in range(2):
                    rot.get(k)
                    rot.rotate(k)
            full = rot.assemble()
        np.testing.assert_array_equal(
            full, np.concatenate([local_model(r, rows=r % 2) for r in range(comm.size)]))

    def test_table_model(self, comm):
        t = Table("sum")
        for pid in range(3):
            t.add(Partition(10 * comm.rank + pid, contribution(comm.rank, (2, 2), np.int32, pid).astype(np.float32)))
        with ModelRotator(t, comm=comm, slices_per_rank=2) as rot:
            ids = []
            for _ in range(comm.size):
                for k in range(2):
                    part = rot.get(k)
                    assert isinstance(part, Table)
                    ids += part.ids()
                    for p in part:
                        p.array += 1
                    rot.rotate(k)
            assert sorted(ids) == sorted(10 * r + p for r in range(comm.size) for p in range(3))
            full = rot.assemble()
        assert full.ids() == sorted(ids)
        for r in range(comm.size):
            for pid in range(3):
                np.testing.assert_array_equal(
                    full[10 * r + pid],
                    contribution(r, (2, 2), np.int32, pid).astype(np.float32) + comm.size)

    def test_bad_arguments(self, comm):
        model = local_model(comm.rank)
        with pytest.raises(ValueError, match="slices_per_rank"):
            ModelRotator(model, comm=comm, slices_per_rank=0)
        with pytest.raises(ValueError, match="order"):
            ModelRotator(model, comm=comm, order="spiral")
        with pytest.raises(TypeError, match="model"):
            ModelRotator([1, 2, 3], comm=comm)
        with ModelRotator(model, comm=comm) as rot:
            with pytest.raises(ValueError, match="k"):
                rot.get(2)
            rot.rotate(0)
            with pytest.raises(ValueError, match="twice"):
                rot.rotate(0)
            rot.get(0)

    def test_mismatched_layout_raises_everywhere(self, comm):
        if comm.size == 1:
            pytest.skip("needs more than one rank")
        model = np.zeros((3, 2 if comm.rank == 0 else 4))
        with pytest.raises(ValueError, match="disagree"):
            ModelRotator(model, comm=comm)

    def test_transfer_progresses_while_kernel_runs(self, comm):
        """The proof of overlap: with the progress thread, a rotation started before a kernel
        (here an idle GIL-free wait, so nothing competes for the CPU) has completed when the
        kernel ends, while without it the transfer only starts in get()."""
        if comm.size == 1:
            pytest.skip("needs more than one rank")
        model = np.ones(2_000_000 // comm.size, np.float32)  # 8 MB in total: rendezvous size
        waits = {}
        for mode in ("none", "thread"):
            with ModelRotator(model, comm=comm, slices_per_rank=1, progress=mode) as rot:
                got = []
                for _ in range(3):
                    rot.get(0)
                    comm.barrier()
                    rot.rotate(0)
                    time.sleep(0.2)   # GIL released, no MPI call from this thread
                    t0 = time.perf_counter()
                    rot.get(0)
                    got.append(time.perf_counter() - t0)
                waits[mode] = comm.allgather_object(sorted(got)[1])
        worst_thread = max(waits["thread"])
        assert worst_thread < 0.005 or worst_thread < 0.5 * min(waits["none"]), waits

    def test_unclosed_rotator_is_collected_and_its_thread_stops(self, comm):
        import gc
        import threading
        import weakref

        def progress_threads():
            return sum(t.name == "harpdaal-mpi-progress" for t in threading.enumerate())

        before = progress_threads()
        rot = ModelRotator(local_model(comm.rank), comm=comm)
        ref = weakref.ref(rot)
        del rot
        gc.collect()
        assert ref() is None
        deadline = time.monotonic() + 5
        while progress_threads() > before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert progress_threads() == before

    def test_transport_choice(self, comm):
        model = local_model(comm.rank)
        with pytest.raises(ValueError, match="transport"):
            ModelRotator(model, comm=comm, transport="carrier-pigeon")
        with ModelRotator(model, comm=comm, transport="messages") as rot:
            assert rot.transport == ("local" if comm.size == 1 else "messages")
        if comm.size == 1:
            return
        from mpi4py import MPI

        node = comm.mpi_comm.Split_type(MPI.COMM_TYPE_SHARED)
        one_node = comm.allgather_object(node.Get_size() == comm.size)
        node.Free()
        if all(one_node):
            with ModelRotator(model, comm=comm, transport="shared", progress="auto") as rot:
                assert rot.transport == "shared"
                # nothing to progress: no thread; a rotation is a hand-over, not a copy
                assert rot._progress_thread is None
                block = rot.get(0)
                block += 0.5
                rot.rotate(0)
                got = rot.get(0)
                src = (comm.rank - 1) % comm.size
                want = local_model(src)[:got.shape[0]] + 0.5
                np.testing.assert_array_equal(got, want)
        else:
            with pytest.raises(ValueError, match="not possible"):
                ModelRotator(model, comm=comm, transport="shared")
