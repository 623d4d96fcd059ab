"""W-COMM rotation: how much of a model rotation hides behind computation, and what it costs.

    mpiexec -n 2 python benchmarks/bench_rotate.py [--kernel work|spin|sleep] [--mbytes 64]
                                                   [--repeats 5] [--json out.json]

The model (``--mbytes`` in total, float32) is split over the ranks; each rank rotates its share
(one slice) to the next rank while computing. Per configuration TRANSPORT:PROGRESS
('messages:thread': the data moves by MPI messages and harpdaal's progress thread polls MPI
while the kernel runs; 'messages:none': MPI only progresses inside get(); 'shared:none': the
slices live in node-shared memory and a rotation hands a slice over, no data moves):
  transfer   rotate(0) + get(0) with no compute in between             -> T_x
  compute    a GIL-released kernel calibrated to last T_x                 -> T_c
  overlapped rotate(0); kernel; get(0)                                  -> T_o
  hidden = (T_x + T_c - T_o) / T_x   (1.0: the transfer is entirely hidden)
Kernels: 'work' a fixed amount of single-threaded sgemm work (a real compute step: CPU taken by
the transfer lengthens it), 'spin' a busy loop until a wall-clock deadline (keeps the core busy
but ends on time whatever CPU it lost), 'sleep' an idle wait (what progress alone achieves).

CPU accounting (per rank, the largest over ranks, medians): ``overlap_extra_cpu_s``, the
process CPU of the overlapped step minus that of the kernel alone (what the rotation took from
the computation; unlike wall times it does not depend on other processes' load), the CPU time
(getrusage) of a bare transfer, and the CPU the progress thread alone spends moving one slice
while the main thread sleeps (``transfer_cpu_progress_s``): the CPU the transfer needs. With a
fixed-work kernel and at most one core per rank, the overlapped step lasts at least
T_c + that CPU, so hidden <= 1 - cpu / T_x (``hidden_bound``).
For 'shared', T_x is a hand-over (microseconds) and the hidden fraction of it means little:
``hidden_of_messages`` = 1 - (T_o - T_c) / T_x(messages) is the share of the message transfer
time that the overlapped step no longer pays.
Medians of --repeats, each timed as the slowest rank; configurations interleaved in the same run.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from comm_common import finish  # noqa: E402


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _work_kernel():
    """A fixed amount of compute: ``n`` single-threaded 384x384 sgemm (GIL released in BLAS,
    cache resident). Returns (run(n), seconds of one unit measured alone)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((384, 384), dtype=np.float32)
    b = rng.standard_normal((384, 384), dtype=np.float32)
    c = np.empty_like(a)
    limiter = threadpool_limits(1)  # one thread per rank: ranks already fill the cores

    def run(n):
        for _ in range(n):
            np.dot(a, b, out=c)

    run(20)
    t0 = time.perf_counter()
    run(50)
    return run, (time.perf_counter() - t0) / 50, limiter


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mbytes", type=float, default=64.0, help="whole model size in MB (10^6 B)")
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--configs", default="messages:none,messages:thread,shared:none",
                   help="TRANSPORT:PROGRESS configurations to compare (shared needs one node)")
    p.add_argument("--poll-interval", type=float, default=2e-4, help="progress thread period (s)")
    p.add_argument("--kernel", choices=["work", "spin", "sleep"], default="work",
                   help="work: fixed single-threaded sgemm work (default); spin: busy loop to a "
                        "wall-clock deadline; sleep: idle wait")
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
    load_start = os.getloadavg()[0]
    n_local = int(args.mbytes * 1e6) // 4 // size
    model = np.ones(n_local, np.float32)
    modes = args.configs.split(",")
    rotators = {}
    for m in modes:
        transport, _, progress = m.partition(":")
        rotators[m] = ModelRotator(model, comm=comm, slices_per_rank=1, transport=transport,
                                   progress=progress or "auto", poll_interval=args.poll_interval)

    def timed(fn):
        """(wall seconds of the slowest rank, largest process CPU seconds over ranks)."""
        world.Barrier()
        c0 = _cpu()
        t0 = time.perf_counter()
        fn()
        wall = time.perf_counter() - t0
        cpu = _cpu() - c0
        return world.allreduce(wall, op=MPI.MAX), world.allreduce(cpu, op=MPI.MAX)

    def transfer(rot):
        rot.get(0)
        rot.rotate(0)
        rot.get(0)

    # T_x: the bare rotation (warm up first: first touches, connection set-up)
    tx = {m: [] for m in modes}
    cx = {m: [] for m in modes}
    for rep in range(2 + args.repeats):
        for m in modes:
            wall, cpu = timed(lambda: transfer(rotators[m]))
            if rep >= 2:
                tx[m].append(wall)
                cx[m].append(cpu)
    t_transfer = {m: statistics.median(v) for m, v in tx.items()}
    # one compute length for every configuration: the slowest bare transfer
    t_kernel = max(t_transfer.values())

    # the CPU the transfer needs: moved by the progress thread alone while this thread sleeps
    progress_cpu = {}
    for m in modes:
        rot = rotators[m]
        if rot._progress_thread is None:
            continue
        samples = []
        for _ in range(args.repeats):
            rot.get(0)
            world.Barrier()
            c0 = rot.progress_cpu_seconds
            rot.rotate(0)
            time.sleep(1.5 * t_kernel)  # includes ~1.5 T_x of idle polls: an upper bound
            rot.get(0)
            samples.append(world.allreduce(rot.progress_cpu_seconds - c0, op=MPI.MAX))
        progress_cpu[m] = statistics.median(samples)

    limiter = None
    if args.kernel == "work":
        run, unit, limiter = _work_kernel()
        units = max(1, round(t_kernel / unit))
        units = world.allreduce(units, op=MPI.MAX)

        def kernel():
            run(units)
    elif args.kernel == "spin":
        def kernel():
            _core.testing.sleep_without_gil(t_kernel)
    else:
        def kernel():
            time.sleep(t_kernel)
    def overlapped(rot):
        rot.get(0)
        rot.rotate(0)
        kernel()
        rot.get(0)

    # the kernel alone and each overlapped configuration, interleaved: load changes hit all
    timed(kernel)
    tc = []
    to = {m: [] for m in modes}
    co = {m: [] for m in modes}
    for _ in range(args.repeats):
        tc.append(timed(kernel))
        for m in modes:
            wall, cpu = timed(lambda: overlapped(rotators[m]))
            to[m].append(wall)
            co[m].append(cpu)
    t_compute = statistics.median(w for w, _ in tc)
    c_compute = statistics.median(c for _, c in tc)
    for rot in rotators.values():
        rot.close()
    if limiter is not None:
        limiter.restore_original_limits()

    if comm.rank == 0:
        res = {}
        cores_per_rank = (os.cpu_count() or 1) / size
        for m in modes:
            t_o = statistics.median(to[m])
            t_x = t_transfer[m]
            r = res[m] = {
                "transfer_s": t_x, "compute_s": t_compute, "overlapped_s": t_o,
                "hidden_fraction": (t_x + t_compute - t_o) / t_x,
                "transfer_gbps": n_local * 4 / t_x / 1e9,
                "transfer_cpu_s": statistics.median(cx[m]),
                "compute_cpu_s": c_compute,
                "overlapped_cpu_s": statistics.median(co[m]),
                "times": {"transfer": tx[m], "overlapped": to[m], "compute": [w for w, _ in tc]}}
            if m in progress_cpu:
                r["transfer_cpu_progress_s"] = progress_cpu[m]
                if args.kernel == "work" and cores_per_rank <= 1:
                    r["hidden_bound"] = 1 - progress_cpu[m] / t_x
            # the CPU the overlapped step spends beyond the kernel alone: what the transfer took
            # from the computation (robust to other processes' load, unlike wall times)
            r["overlap_extra_cpu_s"] = r["overlapped_cpu_s"] - c_compute
            msg = [c for c in modes if c.startswith("messages")]
            if msg:
                t_msg = max(t_transfer[c] for c in msg)
                r["hidden_of_messages"] = 1 - (t_o - t_compute) / t_msg
            print(f"{m:16s} ranks={size} slice {n_local * 4 / 1e6:.1f} MB: transfer "
                  f"{t_x * 1e3:7.2f} ms (cpu {r['transfer_cpu_s'] * 1e3:6.2f} ms"
                  + (f", progress thread alone {progress_cpu[m] * 1e3:6.2f} ms" if m in progress_cpu
                     else "")
                  + f")  compute {t_compute * 1e3:7.2f} ms  overlapped {t_o * 1e3:7.2f} ms  "
                  f"hidden {100 * r['hidden_fraction']:5.1f}%"
                  + (f" (bound {100 * r['hidden_bound']:.0f}%)" if "hidden_bound" in r else "")
                  + (f"; of the message transfer {100 * r['hidden_of_messages']:5.1f}%"
                     if "hidden_of_messages" in r else ""))
        finish({"benchmark": "W-COMM rotate overlap", "model_bytes": n_local * 4 * size,
                "ranks": size, "kernel": args.kernel, "repeats": args.repeats,
                "poll_interval_s": args.poll_interval, "loadavg_1min_start": load_start,
                "results": res}, MPI, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
