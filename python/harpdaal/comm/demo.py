"""A short, self-checking tour of the collectives for ``harpdaal demo`` (any number of ranks).

``run_demo(comm)`` runs each collective on deterministic per-rank data, checks every result
against numpy, and returns one line per collective (rank 0 prints them in the CLI).
"""
from __future__ import annotations

import time

import numpy as np

from .base import Communicator
from .rotator import ModelRotator
from .table import Partition, Table


def _data(rank: int, shape, salt: int) -> np.ndarray:
    return np.random.default_rng([salt, rank]).integers(-50, 50, size=shape).astype(np.float64)


def run_demo(comm: Communicator) -> list[str]:
    """Run and check allreduce, broadcast, allgather, regroup, push/pull, rotate and a model
    rotation; raises AssertionError on a wrong result."""
    size, rank = comm.size, comm.rank
    lines = []

    def step(name, fn):
        comm.barrier()
        t0 = time.perf_counter()
        fn()
        dt = comm.allgather_object(time.perf_counter() - t0)
        lines.append(f"{name:34s} ok  {1e3 * max(dt):8.2f} ms  ({size} rank{'s' * (size > 1)})")

    def allreduce_array():
        a = _data(rank, (1000, 16), 1)
        comm.allreduce_array(a)
        want = sum(_data(r, (1000, 16), 1) for r in range(size))
        assert np.allclose(a, want)

    def table_allreduce():
        t = Table("max")
        for pid in range(4):
            t.add(Partition(pid, _data(rank, (64,), 10 + pid)))
        comm.allreduce(t)
        for pid in range(4):
            assert np.array_equal(t[pid], np.max([_data(r, (64,), 10 + pid) for r in range(size)], 0))

    def broadcast_allgather():
        t = Table()
        t.add(Partition(rank, _data(rank, (8,), 20)))
        comm.allgather(t)
        assert t.ids() == list(range(size))
        b = Table()
        b.add(Partition(100 + rank, _data(rank, (3,), 21)))
        comm.broadcast(b, root=size - 1)
        assert b.ids() == [100 + size - 1]

    def regroup_push_pull():
        t = Table()
        for pid in range(2 * size):
            t.add(Partition(pid, _data(rank, (5,), 30 + pid)))
        comm.regroup(t)
        for pid in t.ids():
            assert pid % size == rank
            assert np.allclose(t[pid], sum(_data(r, (5,), 30 + pid) for r in range(size)))
        local = Table()
        local.add(Partition(0, np.ones(5)))
        comm.push(local, t)
        mine = Table()
        mine.add(Partition(0, np.zeros(5)))
        comm.pull(t, mine)
        assert np.allclose(mine[0], sum(_data(r, (5,), 30) for r in range(size)) + size)

    def rotate():
        t = Table()
        t.add(Partition(rank, _data(rank, (4,), 40)))
        comm.rotate(t)
        src = (rank - 1) % size
        assert t.ids() == [src] and np.array_equal(t[src], _data(src, (4,), 40))

    def model_rotation():
        model = _data(rank, (100 + rank, 8), 50)
        whole = np.concatenate([_data(r, (100 + r, 8), 50) for r in range(size)])
        with ModelRotator(model, comm=comm, slices_per_rank=2) as rot:
            for _ in range(size):
                for k in range(2):
                    rot.get(k)[...] += 1.0
                    rot.rotate(k)
            assert np.array_equal(rot.assemble(), whole + size)

    step("allreduce_array (1000x16 float64)", allreduce_array)
    step("table allreduce (max, 4 parts)", table_allreduce)
    step("allgather + broadcast (tables)", broadcast_allgather)
    step("regroup + push + pull", regroup_push_pull)
    step("rotate (ring)", rotate)
    step("ModelRotator (2 slices/rank)", model_rotation)
    return lines
