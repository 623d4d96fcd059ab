#!/usr/bin/env bash
# 1- vs 2-thread runs taken at the end of session 2, when no other engineer was building or
# benchmarking on this 2-core VM (load average printed before each). Peers in the same run.
#   bash benchmarks/results/scaling/run.sh   (from the repo root, in a venv with the peers)
set -euo pipefail
OUT=benchmarks/results/scaling
export HARPDAAL_DATA="${HARPDAAL_DATA:-$(cd .. && pwd)/shared/data}"
uptime | tee "$OUT/load_mf.txt"
python benchmarks/bench_mf.py --size full --only k32 --threads 1 2 --repeat 3 \
  --tools harpdaal libmf-avx --out "$OUT/mf_k32.json" | tee "$OUT/mf_k32.md"
uptime | tee "$OUT/load_kmeans.txt"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_kmeans.py --size full \
  --threads 1 2 --repeat 3 --out "$OUT/kmeans.json" | tee "$OUT/kmeans.md"
uptime | tee "$OUT/load_lda.txt"
python benchmarks/bench_lda.py --size full --only lda-synth-k100 --threads 1,2 \
  --tools harpdaal,tomotopy --repeat 1 --iterations 30 --out "$OUT/lda.json" | tee "$OUT/lda.md"
uptime | tee "$OUT/load_end.txt"
