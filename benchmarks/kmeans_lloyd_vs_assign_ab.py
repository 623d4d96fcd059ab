"""lloyd_partial vs assign (fused, 1 thread) by thread CPU time in one process, for the build in
/tmp/kmNAME (see kmeans_ab.py): python benchmarks/kmeans_lloyd_vs_assign_ab.py REPS NAME"""
import sys
if len(sys.argv) > 2 and sys.argv[2] in ("old", "new"):
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower() and "skbc" not in repr(f).lower()]
    sys.path.insert(0, "/tmp/km" + sys.argv[2])
import time, statistics, numpy as np
from harpdaal import _core
K = _core.kmeans
print("#", _core.__file__, file=sys.stderr)
rng = np.random.default_rng(0)
res = {}
shapes = [(100000, 64, 100), (200000, 16, 1000)]
data = []
for (n, d, k) in shapes:
    X = rng.standard_normal((n, d), dtype=np.float32); C = X[:k].copy()
    data.append((n, d, k, X, C, np.empty(n, np.int32), np.empty((k, d)), np.empty(k)))
for r in range(int(sys.argv[1])):
    for (n, d, k, X, C, lab, s, w) in data:
        fl = 2.0 * n * k * d
        for key, fn in [("assign", lambda: K.assign_f32(X, C, lab, None, 1, "fused")),
                        ("lloyd", lambda: K.lloyd_partial_f32(X, None, C, lab, s, w, 1, "fused"))]:
            c = time.thread_time(); fn(); c = time.thread_time() - c
            res.setdefault((d, k, key), []).append(fl / c / 1e9)
h = hash((s.tobytes(), w.tobytes()))
for key, v in res.items(): print(sys.argv[2] if len(sys.argv) > 2 else "new", key, "median %.1f max %.1f" % (statistics.median(v), max(v)))
print("sums/weights hash (last shape)", h)
