#!/bin/bash
# The benchmark runs behind docs/lda.md's "Measured results, v3" section, one at a time; load
# average logged before and after each (the machine is shared). harpdaal and tomotopy alternate
# fit by fit (interleaved.py), seeds 0..rounds-1 for both.
set -u
cd "$(dirname "$0")/../../../.."
PY=${PY:-/work/venvs/lda/bin/python}
MPIEXEC=${MPIEXEC:-$(dirname "$PY")/mpiexec}
OUT=benchmarks/results/lda/v3
log() { echo "== $1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT/load.log; }
run() {
  local name=$1; shift
  log "$name start"
  $PY $OUT/interleaved.py "$@" --out $OUT/$name.json > $OUT/$name.log 2>&1
  log "$name end rc=$?"
}
# W-LDA (20,000 docs, ~4M tokens), K=100, 100 iterations, 3 rounds, 1 and 2 threads
run wlda_k100_t1 --case lda-synth-k100 --threads 1 --rounds 3 --iterations 100
run wlda_k100_t2 --case lda-synth-k100 --threads 2 --rounds 3 --iterations 100
# the same at 30 iterations, 1 thread (the lead's quiet-machine setting; run after the others)
RUN_30IT=1
# K=1000 on the same corpus, 10 iterations (time), 2 rounds at 1 thread, 1 round at 2
run wlda_k1000_t1 --case lda-synth-k1000 --threads 1 --rounds 2 --iterations 10
run wlda_k1000_t2 --case lda-synth-k1000 --threads 2 --rounds 1 --iterations 10
# 2 MPI ranks (1 thread each), harpdaal only (the rotation), K=100, 100 iterations
log "wlda_k100_mpi2 start"
$MPIEXEC -n 2 $PY benchmarks/bench_lda.py --size full --only lda-synth-k100 --tools harpdaal \
  --threads 1 --repeat 1 --iterations 100 --out $OUT/wlda_k100_mpi2.json > $OUT/wlda_k100_mpi2.md 2>&1
log "wlda_k100_mpi2 end rc=$?"
[ -n "$RUN_30IT" ] && run wlda_k100_t1_30it --case lda-synth-k100 --threads 1 --rounds 3 --iterations 30
log "all done"
