"""W-COMM rotation: how much of a model rotation hides behind computation.

    mpiexec -n 2 python benchmarks/bench_rotate.py [--mbytes 64] [--repeats 5] [--json out.json]

The model (``--mbytes`` in total, float32) is split over the ranks; each rank rotates its share
(one slice) to the next rank while computing. Per progress mode ('thread': harpdaal's progress
thread polls MPI while the kernel runs; 'none': MPI only progresses inside get()):
  transfer   rotate(0) + get(0) with no compute in between             -> T_x
  compute    a GIL-released kernel calibrated to last T_x                 -> T_c
  overlapped rotate(0); kernel; get(0)                                  -> T_o
  hidden = (T_x + T_c - T_o) / T_x   (1.0: the transfer is entirely hidden)
Medians of --repeats, each timed as the slowest rank; modes interleaved in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_comm import cpu_model, git_sha  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mbytes", type=float, default=64.0, help="whole model size in MB (10^6 B)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--modes", default="none,thread", help="progress modes to compare")
    p.add_argument("--poll-interval", type=float, default=2e-4, help="progress thread period (s)")
    p.add_argument("--kernel", choices=["spin", "sleep"], default="spin",
                   help="spin: a GIL-released busy kernel (uses a core, like real compute); "
                        "sleep: idle wait (shows what progress alone achieves)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.repeats < 3:
        p.error("--repeats must be >= 3")

    from mpi4py import MPI

    from harpdaal import _core
    from harpdaal.comm import MPICommunicator, ModelRotator

    world = MPI.COMM_WORLD
    comm = MPICommunicator(world)
    size = comm.size
    n_local = int(args.mbytes * 1e6) // 4 // size
    model = np.ones(n_local, np.float32)
    modes = args.modes.split(",")
    rotators = {m: ModelRotator(model, comm=comm, slices_per_rank=1, progress=m,
                                poll_interval=args.poll_interval) for m in modes}

    def timed(fn):
        world.Barrier()
        t0 = time.perf_counter()
        fn()
        return world.allreduce(time.perf_counter() - t0, op=MPI.MAX)

    def transfer(rot):
        rot.get(0)
        rot.rotate(0)
        rot.get(0)

    # T_x: the bare rotation (warm up first: first touches, connection set-up)
    tx = {m: [] for m in modes}
    for rep in range(2 + args.repeats):
        for m in modes:
            t = timed(lambda: transfer(rotators[m]))
            if rep >= 2:
                tx[m].append(t)
    t_transfer = {m: statistics.median(v) for m, v in tx.items()}
    # one compute length for every mode: the slowest bare transfer
    t_kernel = max(t_transfer.values())
    kernel = _core.testing.sleep_without_gil if args.kernel == "spin" else time.sleep
    tc = [timed(lambda: kernel(t_kernel)) for _ in range(args.repeats)]
    t_compute = statistics.median(tc)

    def overlapped(rot):
        rot.get(0)
        rot.rotate(0)
        kernel(t_kernel)
        rot.get(0)

    to = {m: [] for m in modes}
    for _ in range(args.repeats):
        for m in modes:
            to[m].append(timed(lambda: overlapped(rotators[m])))
    for rot in rotators.values():
        rot.close()

    if comm.rank == 0:
        res = {}
        for m in modes:
            t_o = statistics.median(to[m])
            res[m] = {"transfer_s": t_transfer[m], "compute_s": t_compute, "overlapped_s": t_o,
                      "hidden_fraction": (t_transfer[m] + t_compute - t_o) / t_transfer[m],
                      "transfer_gbps": n_local * 4 / t_transfer[m] / 1e9,
                      "times": {"transfer": tx[m], "overlapped": to[m]}}
            r = res[m]
            print(f"progress={m:6s} ranks={size} slice {n_local * 4 / 1e6:.1f} MB: transfer "
                  f"{r['transfer_s'] * 1e3:7.2f} ms  compute {t_compute * 1e3:7.2f} ms  overlapped "
                  f"{t_o * 1e3:7.2f} ms  hidden {100 * r['hidden_fraction']:5.1f}%")
        out = {"benchmark": "W-COMM rotate overlap", "model_bytes": n_local * 4 * size,
               "ranks": size, "kernel": args.kernel, "repeats": args.repeats, "poll_interval_s": args.poll_interval,
               "cpu": cpu_model(), "cores": os.cpu_count(), "git_sha": git_sha(),
               "loadavg_1min": os.getloadavg()[0],
               "mpi": " ".join(MPI.Get_library_version().split())[:80], "results": res}
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
