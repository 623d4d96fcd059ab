// M-step micro-benchmark: accumulate_rows alone over row blocks of 60 (rows and sums warm in
// L1/L2), best thread CPU time of 15 x 200 passes, ns per row. A/B: build against a copy of
// kmeans_impl.hpp (-I that folder first), as kmeans_tile_bench.cpp.
//   g++ -O3 -std=c++17 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mbmi2
//       -mprefer-vector-width=512 -Isrc -o /tmp/km_acc benchmarks/kmeans_mstep_bench.cpp
//   /tmp/km_acc D K N INERTIA     (e.g. /tmp/km_acc 64 100 600 1)
#define HARPDAAL_ISA_NS avx512
#include "kernels/kmeans/kmeans_impl.hpp"
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>
#include <algorithm>
using namespace harpdaal::kernels::kmeans::avx512;
static double now() { timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s D K N INERTIA\n", argv[0]);
    return 2;
  }
  int64_t d = atoi(argv[1]), k = atoi(argv[2]), n = atoi(argv[3]); int inr = atoi(argv[4]);
  std::vector<float> x(n * d), gap(n); std::vector<int32_t> lab(n);
  std::mt19937 g(1); std::normal_distribution<float> nd; for (auto& v : x) v = nd(g);
  for (auto& v : gap) v = nd(g);
  for (auto& l : lab) l = int32_t(g() % uint32_t(k));
  std::vector<double> sums(k * d), w(k); double in = 0;
  double best = 1e30;
  for (int r = 0; r < 15; ++r) {
    double t0 = now();
    for (int it = 0; it < 200; ++it)
      for (int64_t b = 0; b < n; b += 60)
        accumulate_rows<float>(x.data() + b * d, std::min<int64_t>(60, n - b), d, nullptr, lab.data() + b, gap.data() + b, true, sums.data(), w.data(), inr ? &in : nullptr);
    best = std::min(best, now() - t0);
  }
  double cs = 0; for (double v : sums) cs += v;
  printf("d=%ld k=%ld n=%ld inertia=%d: %.2f ns/row (check %.6g %.6g)\n", d, k, n, inr, best / (200.0 * n) * 1e9, cs, in);
}
