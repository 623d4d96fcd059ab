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
    from .comm.demo import run_demo as run_collectives

    for line in run_collectives(comm):
        _say(comm, "  " + line)


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
