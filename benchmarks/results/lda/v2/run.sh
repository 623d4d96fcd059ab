#!/bin/bash
# The benchmark runs behind docs/lda.md's "Measured results (v2)" table, in this order, one at a
# time; load average logged before and after each (the machine is shared).
set -u
cd "$(dirname "$0")/../../../.."
PY=${PY:-/work/venvs/lda/bin/python}
OUT=benchmarks/results/lda/v2
export HARPDAAL_DATA=${HARPDAAL_DATA:-/work/shared/data}
run() {
  local name=$1; shift
  echo "== $name start $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT/load.log
  $PY benchmarks/bench_lda.py "$@" --out $OUT/$name.json > $OUT/$name.md 2>&1
  echo "== $name end   $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) rc=$?" >> $OUT/load.log
}
# W-LDA proper (20,000 docs, ~4M tokens, K=100, 100 iterations), 3 repeats, 1 and 2 threads
if [ -z "${PASS2_ONLY:-}" ]; then
[ -n "${SKIP_WLDA:-}" ] || run wlda_k100 --size full --only lda-synth-k100 --tools harpdaal,tomotopy --threads 1,2 --repeat 3 --iterations 100
# 20news train (UCI, 11,269 docs, 2.77M tokens), K=100, 50 iterations (time), 3 repeats
run news_k100 --size full --only lda-20news-k100 --tools harpdaal,tomotopy --threads 1,2 --repeat 3 --iterations 50
# K=1000 on the W-LDA corpus: 5 iterations, 1 repeat (time)
run wlda_k1000 --size full --only lda-synth-k1000 --tools harpdaal,tomotopy --threads 1,2 --repeat 1 --iterations 5
# the PyPI lda package (1 thread only), 2 iterations, W-LDA corpus
run wlda_k100_lda --size full --only lda-synth-k100 --tools lda --threads 1 --repeat 1 --iterations 2
echo "== all done $(date -u +%H:%M:%S)" >> $OUT/load.log
fi
# --- second pass (run after the first, lower load): tomotopy with its alpha re-estimation off
# (optim_interval=0: the fixed-prior model harpdaal samples; the default optim_interval=10 used
# in the first pass learns an asymmetric alpha), harpdaal again in the same window.
run news_k100_pass2 --size full --only lda-20news-k100 --tools harpdaal,tomotopy --threads 1,2 --repeat 3 --iterations 50
run wlda_k100_pass2 --size full --only lda-synth-k100 --tools harpdaal,tomotopy --threads 1 --repeat 1 --iterations 100
