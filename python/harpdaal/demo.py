"""The main job's demo: Harp collectives and dispatched kernels, on one process or on MPI ranks.

Every step checks its own result (against numpy computed from what each rank contributed) and
the demo exits non-zero if any check fails, so it doubles as an end-to-end smoke test.
"""
from __future__ import annotations

import time

import numpy as np

from . import _core, active_isa, available_isas, set_isa


class DemoFailure(AssertionError):
    pass


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise DemoFailure(what)


def _say(comm, text: str) -> None:
    if comm.rank == 0:
        print(text, flush=True)


def demo_kernel(comm) -> None:
    rng = np.random.default_rng(comm.rank)
    x = rng.standard_normal((20_000, 64), dtype=np.float32)
    ref = np.einsum("ij,ij->i", x.astype(np.float64), x.astype(np.float64))
    start = active_isa()
    try:
        for isa in available_isas():
            set_isa(isa)
            out = np.empty(len(x), dtype=np.float32)
            t0 = time.perf_counter()
            _core.common.row_sq_norms_f32(x, out)
            dt = time.perf_counter() - t0
            err = float(np.max(np.abs(out - ref) / ref))
            _check(err < 1e-5, f"row_sq_norms at {isa}: max relative error {err:.2e}")
            _say(comm, f"  kernel row_sq_norms [{isa:7s}] 20000x64 float32: {dt * 1e3:6.2f} ms,"
                       f" max rel err {err:.1e}")
    finally:
        set_isa(start)


def demo_collectives(comm) -> None:
    from .comm import Partition, Table

    r, p = comm.rank, comm.size
    # allreduce of a table: partition j holds (j+1) * (rank+1) everywhere.
    t = Table(combiner="sum")
    for j in range(4):
        t.add(Partition(j, np.full(1000, (j + 1) * (r + 1), dtype=np.float64)))
    comm.allreduce(t)
    for j in range(4):
        _check(np.all(t[j] == (j + 1) * p * (p + 1) / 2), f"allreduce partition {j}")
    _say(comm, f"  allreduce  of 4 partitions over {p} rank(s): ok")

    t = Table(combiner="max")
    t.add(Partition(0, np.arange(10, dtype=np.int64) * (r + 1)))
    comm.allreduce(t)
    _check(np.array_equal(t[0], np.arange(10) * p), "allreduce max")
    _say(comm, "  allreduce  with the max combiner: ok")

    b = Table()
    if r == 0:
        b.add(Partition(7, np.linspace(0, 1, 16, dtype=np.float32)))
    comm.broadcast(b, root=0)
    _check(b.ids() == [7] and np.allclose(b[7], np.linspace(0, 1, 16)), "broadcast")
    _say(comm, "  broadcast  from rank 0: ok")

    g = Table()
    g.add(Partition(100 + r, np.full(3, r, dtype=np.int32)))
    comm.allgather(g)
    _check(sorted(g.ids()) == [100 + i for i in range(p)], "allgather ids")
    _check(all(np.all(g[100 + i] == i) for i in range(p)), "allgather values")
    _say(comm, f"  allgather  of one partition per rank: {len(g)} partitions everywhere: ok")

    # regroup: every rank holds partitions 0..2p-1 with value rank; after regroup the owner of
    # id (id % size) holds their sum.
    rg = Table(combiner="sum")
    for j in range(2 * p):
        rg.add(Partition(j, np.full(5, r + 1.0)))
    comm.regroup(rg)
    _check(all(j % p == r for j in rg.ids()) and len(rg) == 2, "regroup placement")
    _check(all(np.all(rg[j] == p * (p + 1) / 2) for j in rg.ids()), "regroup combine")
    _say(comm, "  regroup    by partition id (id % size), combining duplicates: ok")

    rt = Table()
    rt.add(Partition(r, np.full(4, r, dtype=np.float32)))
    comm.rotate(rt)
    src = (r - 1) % p
    _check(rt.ids() == [src] and np.all(rt[src] == src), "rotate")
    _say(comm, "  rotate     one step round the ring: ok")

    a = np.full(1 << 20, r + 1.0, dtype=np.float32)
    t0 = time.perf_counter()
    comm.allreduce_array(a)
    dt = time.perf_counter() - t0
    _check(np.all(a == p * (p + 1) / 2), "allreduce_array")
    _say(comm, f"  allreduce_array of 4 MB float32: {dt * 1e3:.2f} ms")


def demo_algorithms(comm) -> None:
    """Small fits of each algorithm present in this build (each checks its own quality)."""
    for name, fn in _ALGORITHM_DEMOS:
        t0 = time.perf_counter()
        summary = fn(comm)
        _say(comm, f"  {name:<10s} {summary} ({time.perf_counter() - t0:.2f} s)")


_ALGORITHM_DEMOS: list = []


def run_demo(ranks: int = 1) -> int:
    from .cli.launch import relaunch, under_mpi
    from .comm import current_communicator

    if ranks > 1 and not under_mpi():
        return relaunch(ranks, ["demo", "--ranks", str(ranks)])
    comm = current_communicator()
    if ranks > 1 and comm.size != ranks:
        raise RuntimeError(f"asked for {ranks} ranks but the communicator has {comm.size}")
    _say(comm, f"harpdaal demo on {comm.size} rank(s) ({type(comm).__name__}), "
               f"ISA {active_isa()}")
    _say(comm, "dispatched kernels:")
    demo_kernel(comm)
    _say(comm, "Harp collectives:")
    demo_collectives(comm)
    if _ALGORITHM_DEMOS:
        _say(comm, "algorithms:")
        demo_algorithms(comm)
    comm.barrier()
    _say(comm, "demo: all checks passed")
    return 0
