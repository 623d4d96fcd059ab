"""1 vs 2 threads of one lloyd_fit (200k x 64, k=100, 10 iterations): wall and process CPU time.
On a shared machine with sched_autogroup the process gets one fair share whatever its thread
count, which this shows: equal CPU time, longer wall time for 2 threads.

    python benchmarks/kmeans_threads_cpu_time.py
"""
import time

import numpy as np

from harpdaal import _core
from harpdaal.bench.cases import kmeans as case
n,d,k = 200000, 64, 100
X, init = case.data({"data": "blobs", "n": n, "d": d, "k": k, "iters": 10, "dtype": "float32", "seed": 0})
w = np.ones(n, np.float32)
for rep in range(3):
    for th in (1,2):
        C = init.copy(); l=np.empty(n,np.int32)
        t=time.perf_counter(); c0=time.process_time(); r=_core.kmeans.lloyd_fit_f32(X,w,C,l,10,0.0,th,"fused")
        print(th, f"wall {time.perf_counter()-t:.3f} cpu {time.process_time()-c0:.3f}", r)
