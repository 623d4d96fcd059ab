"""W-COMM: allreduce of a float32 array between MPI ranks, through harpdaal vs raw mpi4py.

    mpiexec -n 2 python benchmarks/bench_comm.py [--mbytes 64] [--repeats 7] [--json out.json]

Measures, in the same run and interleaved (so machine noise hits all alike):
  raw       mpi4py ``comm.Allreduce(MPI.IN_PLACE, a, MPI.SUM)``
  raw_pieces  the same in 16 MiB pieces, as harpdaal reduces (see harpdaal/comm/mpi.py: a
            64 MB MPICH reduction page-faults a fresh 64 MB temporary each call): the fairest
            raw peer, reported as ratio_to_raw_pieces
  array     harpdaal ``comm.allreduce_array(a)`` (metadata agreement + the same Allreduce)
  array_nocheck  the same with ``check=False`` (no agreement round)
  table     harpdaal ``comm.allreduce(table)``, the array in 4 partitions (pack copy + Allreduce)
  table_in_place         ``comm.allreduce(table, in_place=True)`` on 4 separate arrays
                         (4 Allreduce calls on the partitions' own memory, no copy)
  table_arena_in_place   the same on a ``Table.arena`` (partitions back to back: one call)
Reports the median time of each and the bus throughput (bytes / time) in GB/s.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from comm_common import finish, summary  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mbytes", type=float, default=64.0, help="array size in MB (10^6 bytes)")
    p.add_argument("--repeats", type=int, default=7, help="timed repetitions (median taken)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--json", default=None, help="write the results here (rank 0)")
    args = p.parse_args(argv)
    if args.repeats < 5:
        p.error("--repeats must be >= 5")

    from mpi4py import MPI

    from harpdaal.comm import MPICommunicator, Partition, Table

    world = MPI.COMM_WORLD
    comm = MPICommunicator(world)
    load_start = os.getloadavg()[0]
    n = int(args.mbytes * 1e6) // 4
    a = np.full(n, 1.0, np.float32)
    quarter = n // 4
    pieces = [np.ones(quarter if i < 3 else n - 3 * quarter, np.float32) for i in range(4)]

    def raw():
        world.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)

    from harpdaal.comm.mpi import _REDUCE_PIECE_BYTES

    step = _REDUCE_PIECE_BYTES // 4

    def raw_pieces():
        for i in range(0, n, step):
            world.Allreduce(MPI.IN_PLACE, a[i:i + step], op=MPI.SUM)

    def array():
        comm.allreduce_array(a, op="sum")

    def array_nocheck():
        comm.allreduce_array(a, op="sum", check=False)

    def table():
        t = Table("sum")
        for i, piece in enumerate(pieces):
            t.add(Partition(i, piece))
        comm.allreduce(t)

    separate = Table("sum")
    for i, piece in enumerate(pieces):
        separate.add(Partition(i, piece))
    arena = Table.arena({i: piece.shape for i, piece in enumerate(pieces)}, np.float32)

    def table_in_place():
        comm.allreduce(separate, in_place=True)

    def table_arena_in_place():
        comm.allreduce(arena, in_place=True)

    def reset():
        a[:] = 1.0
        for piece in pieces:
            piece[:] = 1.0
        for p in arena:
            p.array[:] = 1.0

    cases = {"raw_mpi4py": raw, "raw_mpi4py_pieces": raw_pieces, "harpdaal_array": array, "harpdaal_array_nocheck": array_nocheck,
             "harpdaal_table": table, "harpdaal_table_in_place": table_in_place,
             "harpdaal_table_arena_in_place": table_arena_in_place}
    times = {k: [] for k in cases}
    for rep in range(args.warmup + args.repeats):
        for name, fn in cases.items():
            reset()
            world.Barrier()
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            dt = world.allreduce(dt, op=MPI.MAX)  # the collective ends when the slowest rank does
            if rep >= args.warmup:
                times[name].append(dt)
    if world.Get_rank() == 0:
        nbytes = n * 4
        res = {}
        for name, ts in times.items():
            res[name] = summary(ts)
            res[name]["gbps"] = nbytes / res[name]["median_s"] / 1e9
        for name in cases:
            if name != "raw_mpi4py":
                res[name]["ratio_to_raw"] = res["raw_mpi4py"]["median_s"] / res[name]["median_s"]
            if name.startswith("harpdaal"):
                res[name]["ratio_to_raw_pieces"] = (res["raw_mpi4py_pieces"]["median_s"]
                                                    / res[name]["median_s"])
        for name, r in res.items():
            extra = f"  ({r['ratio_to_raw']:.3f} of raw" if "ratio_to_raw" in r else ""
            if "ratio_to_raw_pieces" in r:
                extra += f", {r['ratio_to_raw_pieces']:.3f} of raw in pieces"
            extra += ")" if extra else ""
            print(f"{name:30s} median {r['median_s'] * 1e3:8.2f} ms  {r['gbps']:6.2f} GB/s{extra}")
        finish({"benchmark": "W-COMM allreduce", "bytes": nbytes, "dtype": "float32",
                "ranks": world.Get_size(), "repeats": args.repeats,
                "loadavg_1min_start": load_start, "results": res}, MPI, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
