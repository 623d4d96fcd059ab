#!/usr/bin/env bash
# Session 3's closing measurements, taken when no other engineer was building or benchmarking
# on this 2-core VM (uptime logged before each step in load.txt). Peers in the same run.
#   bash benchmarks/results/quiet3/run.sh   (from the repo root, in a venv with the peers and
#   build/libmf-avx built by benchmarks/libmf_avx.py)
set -euo pipefail
OUT=benchmarks/results/quiet3
export HARPDAAL_DATA="${HARPDAAL_DATA:-$(cd .. && pwd)/shared/data}"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
step() { echo "== $1: $(uptime)" | tee -a "$OUT/load.txt"; }
: > "$OUT/load.txt"
step "mf k32"
python benchmarks/bench_mf.py --size full --only k32 --threads 1 2 --repeat 3 \
  --tools harpdaal libmf-avx --out "$OUT/mf_k32.json" | tee "$OUT/mf_k32.md"
for c in k128 ml-latest; do
  step "mf $c"
  python benchmarks/bench_mf.py --size full --only $c --threads 1 2 --repeat 3 --data-dir "$HARPDAAL_DATA" \
    --tools harpdaal libmf-avx --out "$OUT/mf_$c.json" | tee "$OUT/mf_$c.md"
done
step "kmeans kernel vs sgemm"
python benchmarks/kmeans_kernel_vs_sgemm_cpu.py --repeat 15 --out "$OUT/kmeans_vs_sgemm.json" \
  | tee "$OUT/kmeans_vs_sgemm.txt"
for c in n500000 n1000000 fashion; do
  step "kmeans $c 1t/2t/2 ranks"
  python benchmarks/kmeans_ranks_vs_peers.py --only $c --repeat 3 --out "$OUT/kmeans_$c.json" \
    | tee "$OUT/kmeans_$c.md"
done
step "kmeans fashion"
python benchmarks/kmeans_cpu_time_vs_peers.py --fashion "$HARPDAAL_DATA" --repeat 5 --faiss \
  --out "$OUT/kmeans_fashion_cpu.json" | tee "$OUT/kmeans_fashion_cpu.txt"
step "lda k100"
python benchmarks/bench_lda.py --size full --only lda-synth-k100 --threads 1,2 \
  --tools harpdaal,tomotopy --repeat 3 --iterations 100 --out "$OUT/lda_k100.json" | tee "$OUT/lda_k100.md"
step "end"
