"""Per-iteration cost curve of the LDA sweep kernel (CPU ns/token for every sweep, and the mean
number of non-zero topics per document K_d) against tomotopy's per-iteration CPU time on the same
corpus, interleaved sweep by sweep (harpdaal sweep i, then tomotopy train(1)) so that the shared
machine's load hits both alike. Writes JSON with --out.

    python benchmarks/dev/lda_curve.py --k 1000 --iters 50 [--mh 0] [--out curve.json]
"""
import json
import os
import sys
import time

import numpy as np

from harpdaal import _core

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _corpus  # noqa: E402
from harpdaal.bench.cases.lda import loglik_per_token

p = _corpus.parser(__doc__)
p.add_argument("--mh", type=int, default=0)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--no-tomotopy", action="store_true")
p.add_argument("--out")
a = p.parse_args()
X, doc_ptr, words = _corpus.tokens(a.docs)
D, V = X.shape
K = a.k
N = len(words)
topics = np.random.default_rng(a.seed).integers(0, K, N).astype(np.int32)
wt = np.zeros((V, K), np.int32)
np.add.at(wt, (words, topics), 1)
tot = wt.sum(axis=0).astype(np.int64)
doc_of = np.repeat(np.arange(D), np.diff(doc_ptr))
mdl = None
if not a.no_tomotopy:
    import tomotopy as tp
    mdl = tp.LDAModel(k=K, alpha=0.1, eta=0.01, seed=a.seed)
    for d in range(D):
        mdl.add_doc([str(w) for w in words[doc_ptr[d]:doc_ptr[d + 1]]])
    mdl.optim_interval = 0
    mdl.train(0, workers=a.threads)
rows = []
for it in range(a.iters):
    c0 = time.process_time()
    _core.lda.sample_block(doc_ptr, words, topics, 0, wt, 0, tot, 0.1, 0.01, V, a.seed, it,
                           a.mh, a.threads)
    h = (time.process_time() - c0) / N * 1e9
    kd = np.count_nonzero(np.bincount(doc_of * K + topics, minlength=D * K)) / D
    row = {"iter": it + 1, "harpdaal_ns": h, "K_d": kd}
    if mdl is not None:
        c0 = time.process_time()
        mdl.train(1, workers=a.threads, parallel=tp.ParallelScheme.PARTITION)
        row["tomotopy_ns"] = (time.process_time() - c0) / N * 1e9
    rows.append(row)
    print(json.dumps(row), flush=True)
dt = np.bincount(doc_of * K + topics, minlength=D * K).reshape(D, K)
out = {"K": K, "threads": a.threads, "docs": D, "tokens": N, "mh": a.mh, "rows": rows,
       "harpdaal_ll": loglik_per_token(wt, dt, 0.1, 0.01, V)}
if mdl is not None:
    out["tomotopy_ll"] = _corpus.tomotopy_loglik_per_token(mdl, K, V)
print(f"LL/token harpdaal {out['harpdaal_ll']:.4f} tomotopy {out.get('tomotopy_ll', float('nan')):.4f}")
last = rows[len(rows) // 2:]
print("median ns/token over the second half: harpdaal %.1f tomotopy %s" % (
    np.median([r["harpdaal_ns"] for r in last]),
    "%.1f" % np.median([r["tomotopy_ns"] for r in last]) if mdl is not None else "-"))
if a.out:
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
