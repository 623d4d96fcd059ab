#!/usr/bin/env python
# Interleaved 1-thread measurement: fused kernel vs sgemm (numpy OpenBLAS, MKL via gemm path).
import time, numpy as np
from threadpoolctl import threadpool_limits
from harpdaal import _core
K = _core.kmeans
rng = np.random.default_rng(0)
A = rng.standard_normal((2048, 2048), dtype=np.float32); B = A.T.copy(); Cm = np.empty_like(A)
lab2 = np.empty(2048, np.int32)
shapes = {"A d64 k100": (100000, 64, 100), "B d16 k1000": (200000, 16, 1000)}
data = {}
for name, (n, d, k) in shapes.items():
    X = rng.standard_normal((n, d), dtype=np.float32); C = X[:k].copy()
    data[name] = (X, C, np.empty(n, np.int32), np.empty((k, d)), np.empty(k), 2.0 * n * k * d)
best = {}
def rec(key, secs, flops):
    best[key] = max(best.get(key, 0), flops / secs / 1e9)
with threadpool_limits(limits=1):
    for rep in range(7):
        t = time.perf_counter(); np.matmul(A, B, out=Cm); rec("sgemm numpy/OpenBLAS 2048^3", time.perf_counter() - t, 2.0 * 2048**3)
        t = time.perf_counter(); K.assign_f32(A, A, lab2, None, 1, "gemm"); rec("sgemm MKL 2048^3 (+argmin)", time.perf_counter() - t, 2.0 * 2048**3)
        for name, (X, C, l, s, w, fl) in data.items():
            for m in ("fused", "gemm"):
                t = time.perf_counter(); K.lloyd_partial_f32(X, None, C, l, s, w, 1, m); rec(f"lloyd_partial {m} {name}", time.perf_counter() - t, fl)
            Ct = C.T.copy(); G = np.empty((len(X), len(C)), np.float32)
            t = time.perf_counter(); np.matmul(X, Ct, out=G); rec(f"numpy sgemm only {name}", time.perf_counter() - t, fl)
for k_, v in best.items():
    print(f"{k_:45s} {v:7.1f} GFLOP/s (best of 7, interleaved, 1 thread)")
