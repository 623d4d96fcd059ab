"""W-COMM: allreduce of a float32 array between MPI ranks, through harpdaal vs raw mpi4py.

    mpiexec -n 2 python benchmarks/bench_comm.py [--mbytes 64] [--repeats 7] [--json out.json]

Measures, in the same run and interleaved (so machine noise hits all alike):
  raw       mpi4py ``comm.Allreduce(MPI.IN_PLACE, a, MPI.SUM)``
  array     harpdaal ``comm.allreduce_array(a)`` (metadata agreement + the same Allreduce)
  array_nocheck  the same with ``check=False`` (no agreement round)
  table     harpdaal ``comm.allreduce(table)`` with the array in 4 partitions (pack + Allreduce)
Reports the median time of each and the bus throughput (bytes / time) in GB/s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from harpdaal.bench.machine import cpu_model, git_sha as _git_sha


def git_sha() -> str | None:
    return _git_sha(os.path.dirname(os.path.abspath(__file__)))["sha"]


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

    import harpdaal
    from harpdaal.comm import MPICommunicator, Partition, Table

    world = MPI.COMM_WORLD
    comm = MPICommunicator(world)
    n = int(args.mbytes * 1e6) // 4
    a = np.full(n, 1.0, np.float32)
    quarter = n // 4
    pieces = [np.ones(quarter if i < 3 else n - 3 * quarter, np.float32) for i in range(4)]

    def raw():
        world.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)

    def array():
        comm.allreduce_array(a, op="sum")

    def array_nocheck():
        comm.allreduce_array(a, op="sum", check=False)

    def table():
        t = Table("sum")
        for i, piece in enumerate(pieces):
            t.add(Partition(i, piece))
        comm.allreduce(t)

    cases = {"raw_mpi4py": raw, "harpdaal_array": array, "harpdaal_array_nocheck": array_nocheck,
             "harpdaal_table": table}
    times = {k: [] for k in cases}
    for rep in range(args.warmup + args.repeats):
        for name, fn in cases.items():
            a[:] = 1.0
            world.Barrier()
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            dt = world.allreduce(dt, op=MPI.MAX)  # the collective ends when the slowest rank does
            if rep >= args.warmup:
                times[name].append(dt)
    if world.Get_rank() == 0:
        nbytes = n * 4
        res = {name: {"median_s": statistics.median(ts), "min_s": min(ts),
                      "gbps": nbytes / statistics.median(ts) / 1e9, "times_s": ts}
               for name, ts in times.items()}
        for name in ("harpdaal_array", "harpdaal_array_nocheck", "harpdaal_table"):
            res[name]["ratio_to_raw"] = res["raw_mpi4py"]["median_s"] / res[name]["median_s"]
        out = {"benchmark": "W-COMM allreduce", "bytes": nbytes, "dtype": "float32",
               "ranks": world.Get_size(), "repeats": args.repeats,
               "mpi": " ".join(MPI.Get_library_version().split())[:80],
               "cpu": cpu_model(), "isa": harpdaal.active_isa(), "git_sha": git_sha(),
               "loadavg_1min": os.getloadavg()[0],
               "results": res}
        for name, r in res.items():
            extra = f"  ({r['ratio_to_raw']:.3f} of raw)" if "ratio_to_raw" in r else ""
            print(f"{name:23s} median {r['median_s'] * 1e3:8.2f} ms  {r['gbps']:6.2f} GB/s{extra}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
