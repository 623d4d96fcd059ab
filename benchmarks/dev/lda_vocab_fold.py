"""Cache share of the sweep cost: the same documents with word ids folded mod V (V = 10,000 /
1,000 / 200) so the word-topic table shrinks until it fits in L2; ns/token (CPU) of the 15th sweep
and the mean topics per document K_d.

    python benchmarks/dev/lda_vocab_fold.py 100      # K
"""
import os
import sys
import time

import numpy as np

from harpdaal import _core

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _corpus  # noqa: E402

X, doc_ptr, words0 = _corpus.tokens(5000)
K = int(sys.argv[1])
for V in [10000, 1000, 200]:
    words = (words0 % V).astype(np.int32)
    # keep words sorted within documents
    for d in range(len(doc_ptr) - 1):
        words[doc_ptr[d]:doc_ptr[d+1]].sort()
    N = len(words)
    topics = np.random.default_rng(0).integers(0, K, N).astype(np.int32)
    wt = np.zeros((V, K), np.int32); np.add.at(wt, (words, topics), 1)
    tot = wt.sum(axis=0).astype(np.int64)
    for it in range(15):
        c0 = time.process_time()
        _core.lda.sample_block(doc_ptr, words, topics, 0, wt, 0, tot, 0.1, 0.01, V, 0, it, 0, 1)
        c = time.process_time() - c0
    doc_of = np.repeat(np.arange(len(doc_ptr)-1), np.diff(doc_ptr))
    kd = np.count_nonzero(np.bincount(doc_of * K + topics)) / (len(doc_ptr)-1)
    print(f"V={V} K={K}: last sweep {c/N*1e9:.1f} ns/token, K_d {kd:.1f}")
