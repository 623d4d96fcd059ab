"""Paired A/B timing of the sweep kernel under a noisy machine: variants (environment settings
read by an experimental build of the kernel) run interleaved, one sweep each in turn, each on its
own chain; CPU time per token summed. The committed kernel reads no such settings (the measured
choices are fixed in it); with one variant, e.g. `BASE=1`, it times the kernel as built.

    python benchmarks/dev/lda_ab.py --k 100 --iters 20 HARPDAAL_LDA_PF=0 HARPDAAL_LDA_PF=2
"""
import sys
import os
import time

import numpy as np

from harpdaal import _core

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _corpus  # noqa: E402
from harpdaal.bench.cases.lda import loglik_per_token

p = _corpus.parser(__doc__)
p.add_argument("variants", nargs="+")
a = p.parse_args()
X, doc_ptr, words = _corpus.tokens(a.docs)
D, V = X.shape
K = a.k
N = len(words)
topics0 = np.random.default_rng(0).integers(0, K, N).astype(np.int32)
state = []
for v in a.variants:
    t = topics0.copy()
    wt = np.zeros((V, K), np.int32)
    np.add.at(wt, (words, t), 1)
    state.append([v, t, wt, wt.sum(axis=0).astype(np.int64), 0.0, 0.0, []])
clock = time.process_time if a.threads == 1 else time.perf_counter
for it in range(a.iters):
    for s in state:
        env = dict(kv.split("=", 1) for kv in s[0].split(",") if "=" in kv)
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        t0 = clock()
        w0 = time.perf_counter()
        _core.lda.sample_block(doc_ptr, words, s[1], 0, s[2], 0, s[3], 0.1, 0.01, V, 0, it, 0,
                               a.threads)
        s[4] += clock() - t0
        s[5] += time.perf_counter() - w0
        s[6].append(clock() - t0)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
doc_of = np.repeat(np.arange(D), np.diff(doc_ptr))
for v, t, wt, tot, c, w, its in state:
    dt = np.bincount(doc_of * K + t, minlength=D * K).reshape(D, K)
    print(f"{v:40s} K={K} T={a.threads}: {c / a.iters / N * 1e9:7.1f} ns/token cpu "
          f"(last-5 {np.mean(its[-5:]) / N * 1e9:6.1f}), wall {w / a.iters / N * 1e9:7.1f}, "
          f"LL/token {loglik_per_token(wt, dt, 0.1, 0.01, V):.4f}")
