"""12 back-to-back calls of lloyd_partial or assign (fused, 100k x 64, k=100, 1 thread), GFLOP/s by
thread CPU time each, optionally after an OpenBLAS sgemm 2048^3 (mm) or a 200k x 16 x 1000 sgemm
(big) before every call: python benchmarks/kmeans_back_to_back.py lloyd|assign 0 none|mm|big"""
import sys, time, resource, numpy as np
from harpdaal import _core
K = _core.kmeans
rng = np.random.default_rng(0)
n, d, k = 100000, 64, 100
X = rng.standard_normal((n, d), dtype=np.float32); C = X[:k].copy()
lab = np.empty(n, np.int32); s = np.empty((k, d)); w = np.empty(k)
big = [np.ones((200000, 1000), np.float32) for _ in range(int(sys.argv[2]))]  # optional memory churn
out = []
A = rng.standard_normal((2048, 2048), dtype=np.float32); Bm = A.T.copy(); Cm = np.empty_like(A)
G = np.empty((200000, 1000), np.float32); Xb = rng.standard_normal((200000, 16), dtype=np.float32); Ctb = Xb[:1000].T.copy()
for r in range(12):
    if sys.argv[3] == "mm": np.matmul(A, Bm, out=Cm)
    if sys.argv[3] == "big": np.matmul(Xb, Ctb, out=G)
    c = time.thread_time()
    if sys.argv[1] == "lloyd": K.lloyd_partial_f32(X, None, C, lab, s, w, 1, "fused")
    else: K.assign_f32(X, C, lab, None, 1, "fused")
    out.append(round(2.0 * n * k * d / (time.thread_time() - c) / 1e9))
print(sys.argv[1:], out)
