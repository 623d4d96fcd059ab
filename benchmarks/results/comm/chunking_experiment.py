import time, statistics, sys
import numpy as np
from mpi4py import MPI
w = MPI.COMM_WORLD
n = 16_000_000
a = np.ones(n, np.float32)
b = np.ones(n, np.float32)
def raw(): w.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
def chunked(c):
    def f():
        step = c // 4
        for s in range(0, n, step):
            w.Allreduce(MPI.IN_PLACE, a[s:s+step], op=MPI.SUM)
    return f
def pipelined(c):
    # pack (copy b->a chunk) then Iallreduce; overlap next pack with previous reduction
    def f():
        step = c // 4
        reqs = []
        for s in range(0, n, step):
            a[s:s+step] = b[s:s+step]
            reqs.append(w.Iallreduce(MPI.IN_PLACE, a[s:s+step], op=MPI.SUM))
        MPI.Request.Waitall(reqs)
    return f
def copy_then_raw():
    a[:] = b
    raw()
cases = {"raw": raw, "copy+raw": copy_then_raw}
for c in (1<<20, 4<<20, 8<<20, 16<<20):
    cases[f"chunk{c>>20}M"] = chunked(c)
    cases[f"pipe{c>>20}M"] = pipelined(c)
T = {k: [] for k in cases}
for rep in range(7):
    for k, f in cases.items():
        w.Barrier(); t0 = time.perf_counter(); f(); dt = w.allreduce(time.perf_counter()-t0, op=MPI.MAX)
        if rep >= 2: T[k].append(dt)
if w.rank == 0:
    r = statistics.median(T["raw"])
    for k, v in T.items():
        print(f"{k:12s} {statistics.median(v)*1e3:8.2f} ms  {r/statistics.median(v):.3f} of raw")
