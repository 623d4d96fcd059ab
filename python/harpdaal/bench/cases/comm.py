"""W-COMM: 64 MB float32 allreduce and ring rotation, harpdaal.comm against raw mpi4py.

Run on several ranks with ``harpdaal bench --only 'comm-*' --ranks 1,2``. On one rank both
collectives are local (allreduce is a no-op, rotation a self-send): the ranks=1 row measures the
per-call overhead only.

Each timed operation starts after a barrier and counts as the slowest rank's time. The array is
refilled outside the timed region, so every operation moves the same data and its result can be
checked (quality = max |error| over all ranks; 0 when the collective is right).
harpdaal's breakdown: comm = the raw mpi4py operation timed alternately in the same repeat,
glue = harpdaal's time above that (checks, metadata, Python), compute = 0.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from ...comm import current_communicator
from ..errors import PeerUnavailable

TOOLS = ["harpdaal", "mpi4py"]
DISTRIBUTED_TOOLS = ["harpdaal", "mpi4py"]

_MB = {"smoke": 1, "small": 16, "full": 64}
_OPS = {"smoke": 4, "small": 5, "full": 10}  # timed operations per repeat


def cases(size: str, data_dir: str | None) -> list[dict]:
    if size not in _MB:
        raise ValueError(f"size must be one of {sorted(_MB)}, got {size!r}")
    mb = _MB[size]
    n = mb * (1 << 20) // 4
    return [{"name": f"comm-{op}-{mb}MB", "params": {"op": op, "n": n, "dtype": "float32",
                                                      "megabytes": mb, "ops_per_repeat": _OPS[size]}}
            for op in ("allreduce", "rotate")]


class _Raw:
    """The peer: mpi4py upper-case buffer methods on COMM_WORLD, nothing else."""

    def __init__(self):
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise PeerUnavailable(f"mpi4py is not installed ({exc}); pip install 'harpdaal[mpi]'") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()

    def allreduce(self, a, _recv):
        self.comm.Allreduce(self.MPI.IN_PLACE, a, op=self.MPI.SUM)

    def rotate(self, a, recv):
        self.comm.Sendrecv(a, dest=(self.rank + 1) % self.size, recvbuf=recv,
                           source=(self.rank - 1) % self.size)

    def barrier(self):
        self.comm.Barrier()

    def max(self, value: float) -> float:
        return self.comm.allreduce(value, op=self.MPI.MAX)


class _Harpdaal:
    def __init__(self):
        self.comm = current_communicator()
        self.rank, self.size = self.comm.rank, self.comm.size

    def allreduce(self, a, _recv):
        self.comm.allreduce_array(a, op="sum")

    def rotate(self, a, recv):
        self.comm.irotate_array(a, recv, shift=1).wait()

    def barrier(self):
        self.comm.barrier()

    def max(self, value: float) -> float:
        return max(self.comm.allgather_object(value))


def _timed(backend, op: str, a, recv) -> float:
    a.fill(backend.rank + 1)
    backend.barrier()
    t0 = time.perf_counter()
    getattr(backend, op)(a, recv)
    return backend.max(time.perf_counter() - t0)


def _error(backend, op: str, a, recv) -> float:
    if op == "allreduce":
        err = float(np.max(np.abs(a - backend.size * (backend.size + 1) / 2)))
    else:
        err = float(np.max(np.abs(recv - ((backend.rank - 1) % backend.size + 1))))
    return backend.max(err)


def run(case: dict, tool: str, threads: int, repeat: int) -> dict:
    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
    p = case["params"]
    op, n, ops = p["op"], int(p["n"]), int(p["ops_per_repeat"])
    backend = _Harpdaal() if tool == "harpdaal" else _Raw()
    reference = None
    if tool == "harpdaal":
        try:
            reference = _Raw()
        except PeerUnavailable:
            reference = None  # breakdown then charges everything to comm
    a = np.empty(n, dtype=np.float32)
    recv = np.empty(n, dtype=np.float32)
    _timed(backend, op, a, recv)  # warm-up (connection set-up, page faults)
    if reference is not None:
        _timed(reference, op, a, recv)
    per_op, ref_per_op, worst = [], [], 0.0
    for _ in range(repeat):
        times, ref_times = [], []
        for _ in range(ops):
            times.append(_timed(backend, op, a, recv))
            worst = max(worst, _error(backend, op, a, recv))
            if reference is not None:
                ref_times.append(_timed(reference, op, a, recv))
        per_op.append(sum(times) / ops)
        if ref_times:
            ref_per_op.append(sum(ref_times) / ops)
    median = statistics.median(per_op)
    out = {"seconds_per_iter": per_op, "throughput": a.nbytes / median / 1e9,
           "throughput_unit": "GB/s", "quality": worst, "quality_name": "max_abs_error"}
    if tool == "harpdaal":
        raw = statistics.median(ref_per_op) if ref_per_op else median
        out["breakdown"] = {"compute": 0.0, "comm": min(raw, median), "glue": max(0.0, median - raw)}
    return out
