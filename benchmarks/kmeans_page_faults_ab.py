"""Page faults and thread-CPU GFLOP/s per call, in the call pattern of kmeans_kernel_vs_sgemm_cpu.py,
for the build in /tmp/kmNAME (see kmeans_ab.py): python benchmarks/kmeans_page_faults_ab.py NAME"""
import sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower() and "skbc" not in repr(f).lower()]
sys.path.insert(0, "/tmp/km" + sys.argv[1])
import resource, time, numpy as np
from threadpoolctl import threadpool_limits
from harpdaal import _core
K = _core.kmeans
rng = np.random.default_rng(0)
A = rng.standard_normal((2048, 2048), dtype=np.float32); B = A.T.copy(); Cm = np.empty_like(A); lab2 = np.empty(2048, np.int32)
data = []
for (n, d, k) in [(100000, 64, 100), (200000, 16, 1000)]:
    X = rng.standard_normal((n, d), dtype=np.float32); C = X[:k].copy()
    data.append((n, d, k, X, C, C.T.copy(), np.empty(n, np.int32), np.empty((k, d)), np.empty(k), np.empty((n, k), np.float32)))
def flt(fn, fl):
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt; c = time.thread_time(); fn(); c = time.thread_time() - c
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0, 2.0 * fl / c / 1e9
with threadpool_limits(limits=1):
    for r in range(5):
        np.matmul(A, B, out=Cm); K.assign_f32(A, A, lab2, None, 1, "gemm")
        for (n, d, k, X, C, Ct, lab, s, w, G) in data:
            a = flt(lambda: K.lloyd_partial_f32(X, None, C, lab, s, w, 1, "fused"), n * k * d)
            b = flt(lambda: K.lloyd_partial_f32(X, None, C, lab, s, w, 1, "gemm"), n * k * d)
            c = flt(lambda: K.assign_f32(X, C, lab, None, 1, "fused"), n * k * d)
            np.matmul(X, Ct, out=G)
            print(sys.argv[1], f"d={d} k={k}", "lloyd_partial fused: %d faults %.0f GFLOP/s | lloyd_partial gemm: %d faults | assign: %d faults %.0f GFLOP/s" % (a[0], a[1], b[0], c[0], c[1]))
