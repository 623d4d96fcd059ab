"""LL/token after 100 iterations for several seeds (W-LDA full, K=100, 1 thread): harpdaal vs
tomotopy (optim_interval=0), to see the chain-to-chain spread behind the single-fit LL figures."""
import json
import sys

import numpy as np

from harpdaal.bench.cases import lda as C

case = [c for c in C.cases("full", None) if c["name"] == "lda-synth-k100"][0]
p = dict(case["params"], iterations=100)
X = C.load_corpus(p)
out = {"harpdaal": [], "tomotopy": []}
for seed in (10, 11):
    for tool in ("harpdaal", "tomotopy"):
        # the case runners seed with the repeat index: call the tools directly with this seed
        if tool == "harpdaal":
            from harpdaal.topic import LatentDirichletAllocation
            m = LatentDirichletAllocation(100, doc_topic_prior=0.1, topic_word_prior=0.01,
                                          max_iter=100, random_state=seed, n_jobs=1,
                                          evaluate_every=0).fit(X)
            ll = m.loglik_per_token_
        else:
            import tomotopy as tp
            Xc = X.tocsr()
            mdl = tp.LDAModel(k=100, alpha=0.1, eta=0.01, seed=seed)
            mdl.optim_interval = 0
            for d in range(X.shape[0]):
                lo, hi = Xc.indptr[d], Xc.indptr[d + 1]
                doc = [str(w) for w in np.repeat(Xc.indices[lo:hi], Xc.data[lo:hi])]
                if doc:
                    mdl.add_doc(doc)
            mdl.train(100, workers=1)
            w = np.concatenate([np.asarray(d.words, np.int64) for d in mdl.docs])
            t = np.concatenate([np.asarray(d.topics, np.int64) for d in mdl.docs])
            ln = np.array([len(d.words) for d in mdl.docs])
            wt = np.bincount(w * 100 + t, minlength=len(mdl.used_vocabs) * 100).reshape(-1, 100)
            dt = np.bincount(np.repeat(np.arange(len(ln)), ln) * 100 + t,
                             minlength=len(ln) * 100).reshape(-1, 100)
            ll = C.loglik_per_token(wt, dt, 0.1, 0.01, X.shape[1])
        out[tool].append((seed, ll))
        print(tool, seed, ll, flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
