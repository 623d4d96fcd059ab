// Standalone micro-benchmark of the AVX-512 fused tile (no Python, no TBB): fused_block +
// accumulate_rows over row blocks of 60, as lloyd_partial runs them on 1 thread; best thread
// CPU time of `reps`. Used for A/B runs of kmeans_impl.hpp variants (copy the header to a
// folder, edit it, build against that folder with -I, run both binaries interleaved).
//
//   g++ -O3 -std=c++17 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mbmi2
//       -mprefer-vector-width=512 -Isrc -o build/km_tile benchmarks/kmeans_tile_bench.cpp
//   [N=rows] [RB=block rows] [GROUPS=1] [W=1] [SH=1] build/km_tile D K REPS ACC
//   (e.g. build/km_tile 64 100 8 1; ACC=0: no M-step; GROUPS=1: float32 groups; W=1: sample
//   weights of one; SH=1: a shift)
#define HARPDAAL_ISA_NS avx512
#include "kernels/kmeans/kmeans_impl.hpp"
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>
#include <cstdlib>
#include <ctime>
using namespace harpdaal::kernels::kmeans::avx512;
using harpdaal::kernels::kmeans::RowGroupStore;
using harpdaal::kernels::kmeans::RowGroups;
using harpdaal::kernels::kmeans::flush_groups;
int main(int argc, char** argv) {
  int64_t n = getenv("N") ? atol(getenv("N")) : 100000, d = argc > 1 ? atoi(argv[1]) : 64, k = argc > 2 ? atoi(argv[2]) : 100;
  int reps = argc > 3 ? atoi(argv[3]) : 10;
  const int acc = argc > 4 ? atoi(argv[4]) : 1;  // 0: no M-step, 1: M-step, 2: and the inertia
  double inertia = 0;
  std::vector<float> x(n * d), c(k * d);
  std::mt19937 g(0); std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(g);
  for (int64_t i = 0; i < k * d; ++i) c[i] = x[i];
  const int64_t nr = tile_width<float>();
  std::vector<float> packed(((k + nr - 1) / nr) * nr * (d + 1));
  // PF=b: pass fused_block the rows b blocks ahead to prefetch (as lloyd_partial does with a
  // shift); PF=0 (default): null, the tile's own prefetch.
  const int64_t pf_blocks = getenv("PF") ? atol(getenv("PF")) : 0;
  const int64_t rb = getenv("RB") ? atol(getenv("RB")) : 60;  // lloyd_partial: 60 (k >= 16)
  std::vector<float> scratch(fused_scratch_size<float>(rb, d)), gap(rb);
  std::vector<int32_t> lab(n);
  std::vector<double> sums(k * d), w(k);
  std::vector<float> ones(n, 1.0f), shv(d, 0.25f);  // W=1: sample weights of one; SH=1: a shift
  // GROUPS=1: the M-step sums the rows in float32 groups (as lloyd_partial where groups_rows)
  const bool grouped = getenv("GROUPS") && atoi(getenv("GROUPS")) > 0;
  const bool weighted = getenv("W") != nullptr, shifted = getenv("SH") != nullptr;
  RowGroupStore group_store;
  RowGroups groups = group_store.open(k, d);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    timespec t0, t1; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    pack_centers<float>(c.data(), k, d, packed.data());
    std::fill(sums.begin(), sums.end(), 0.0); std::fill(w.begin(), w.end(), 0.0);
    for (int64_t b = 0; b < n; b += rb) {
      int64_t e = std::min(n, b + rb);
      fused_block<float>(x.data() + b * d, e - b, d, packed.data(), k, lab.data() + b, gap.data(), scratch.data(),
                        pf_blocks > 0 && e < n ? x.data() + (e + (pf_blocks - 1) * rb) * d : nullptr);
      if (acc) accumulate_rows<float>(x.data() + b * d, e - b, d, weighted ? ones.data() + b : nullptr, lab.data() + b, gap.data(), true, sums.data(), w.data(), acc > 1 ? &inertia : nullptr, shifted ? shv.data() : nullptr, grouped ? &groups : nullptr);
    }
    if (grouped) flush_groups(groups, k, d, sums.data());
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    best = std::min(best, s);
  }
  long h = 0; for (auto l : lab) h = h * 31 + l;
  printf("d=%ld k=%ld acc=%d: %.1f GFLOP/s (best thread-CPU of %d) labels hash %ld\n", d, k, int(acc), 2.0 * n * k * d / best / 1e9, reps, h);
}
