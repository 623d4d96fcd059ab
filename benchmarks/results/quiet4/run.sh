#!/usr/bin/env bash
# Session 4's closing LDA measurements (#5), taken with nothing else running on this 2-core VM
# (uptime logged before each step in load.txt). harpdaal and tomotopy alternate whole fits in one
# process (interleaved.py: same corpus, seeds 0..rounds-1 for both, wall and CPU time); the other
# peers (lda, gensim, scikit-learn) in one bench_lda run on 20news.
#   bash benchmarks/results/quiet4/run.sh   (from the repo root, in a venv with the peers)
set -euo pipefail
OUT=benchmarks/results/quiet4
IL=benchmarks/results/lda/v3/interleaved.py
PY=${PY:-python}
MPIEXEC=${MPIEXEC:-$(dirname "$(command -v "$PY")")/mpiexec}
export HARPDAAL_DATA="${HARPDAAL_DATA:-$(cd .. && pwd)/shared/data}"
step() { echo "== $1: $(uptime)" | tee -a "$OUT/load.txt"; }
: > "$OUT/load.txt"
for t in 1 2; do
  step "W-LDA k100 ${t}t"
  $PY $IL --case lda-synth-k100 --threads $t --rounds 3 --iterations 100 \
    --out "$OUT/wlda_k100_t$t.json" > "$OUT/wlda_k100_t$t.log" 2>&1
done
step "W-LDA k100 2 ranks"
$MPIEXEC -n 2 $PY benchmarks/bench_lda.py --size full --only lda-synth-k100 --tools harpdaal \
  --threads 1 --repeat 2 --iterations 100 --out "$OUT/wlda_k100_mpi2.json" > "$OUT/wlda_k100_mpi2.md" 2>&1
for t in 1 2; do
  step "W-LDA k1000 ${t}t"
  $PY $IL --case lda-synth-k1000 --threads $t --rounds 1 --iterations 20 \
    --out "$OUT/wlda_k1000_t$t.json" > "$OUT/wlda_k1000_t$t.log" 2>&1
done
for t in 1 2; do
  step "20news k100 ${t}t"
  $PY $IL --case lda-20news-k100 --threads $t --rounds 1 --iterations 100 \
    --out "$OUT/news_k100_t$t.json" > "$OUT/news_k100_t$t.log" 2>&1
done
step "20news k1000 1t"
$PY $IL --case lda-20news-k1000 --threads 1 --rounds 1 --iterations 20 \
  --out "$OUT/news_k1000_t1.json" > "$OUT/news_k1000_t1.log" 2>&1
step "20news k100, every peer, 1 thread"
$PY benchmarks/bench_lda.py --size full --only lda-20news-k100 --threads 1 \
  --tools harpdaal,tomotopy,lda,gensim,sklearn --repeat 1 --iterations 10 --data-dir "$HARPDAAL_DATA" \
  --out "$OUT/news_k100_peers.json" > "$OUT/news_k100_peers.md" 2>&1
for k in 100 1000; do
  step "kernel curve K=$k"
  $PY benchmarks/dev/lda_curve.py --k $k --iters 50 --out "$OUT/curve_k$k.json" > "$OUT/curve_k$k.log" 2>&1
done
step "end"
