// The machine's GEMM limit: MKL cblas_sgemm (sequential MKL, as linked into harpdaal) on 1 thread
// and on T threads by splitting the rows of C over a TBB arena of T threads.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "bench.hpp"
#include "mkl.h"

namespace {

void sgemm_rows(const float* a, const float* b, float* c, int64_t m0, int64_t m1, int64_t n, int64_t k) {
  if (m1 <= m0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<MKL_INT>(m1 - m0),
              static_cast<MKL_INT>(n), static_cast<MKL_INT>(k), 1.0f, a + m0 * k,
              static_cast<MKL_INT>(k), b, static_cast<MKL_INT>(n), 0.0f, c + m0 * n,
              static_cast<MKL_INT>(n));
}

void bench_sgemm(const hdbench::Options& opt, std::vector<hdbench::Record>& out) {
  std::vector<int64_t> sizes = opt.quick ? std::vector<int64_t>{256} : std::vector<int64_t>{1024, 2048, 4096};
  for (int64_t n : sizes) {
    std::vector<float> a(n * n), b(n * n), c(n * n);
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    for (int nt : opt.threads) {
      oneapi::tbb::task_arena arena(nt);
      double s = hdbench::best_seconds(opt.repeat, [&] {
        if (nt == 1) {
          sgemm_rows(a.data(), b.data(), c.data(), 0, n, n, n);
          return;
        }
        arena.execute([&] {
          oneapi::tbb::parallel_for(0, nt, [&](int part) {
            int64_t step = (n + nt - 1) / nt;
            sgemm_rows(a.data(), b.data(), c.data(), part * step, std::min(n, (part + 1) * step), n, n);
          });
        });
      });
      hdbench::keep(c[0]);
      out.push_back({"sgemm_mkl", {{"layout", "row-major NN, m=n=k"}},
                     {{"n", double(n)}, {"threads", double(nt)}, {"seconds", s},
                      {"gflops", 2.0 * double(n) * double(n) * double(n) / s / 1e9}}});
    }
  }
}

hdbench::Register reg("sgemm_mkl", &bench_sgemm);

}  // namespace
