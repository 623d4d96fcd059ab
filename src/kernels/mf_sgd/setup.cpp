#include "kernels/mf_sgd/setup.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "kernels/common/mix64.hpp"
#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::mf_sgd {

namespace {
constexpr int64_t kChunk = 1 << 16;  // fixed chunks: sums independent of the thread count

int64_t n_chunks(int64_t n) { return (n + kChunk - 1) / kChunk; }
}  // namespace

int64_t dense_rank(const int64_t* ids, int64_t n, int64_t table_size, int32_t* table,
                   int32_t* index, int n_threads) {
  if (table_size <= 0) return n == 0 ? 0 : -1;
  parallel_for(n_threads, table_size, kChunk, [&](int64_t b, int64_t e) {
    std::fill(table + b, table + e, int32_t{0});
  });
  std::atomic<bool> out_of_range{false};
  const uint64_t limit = static_cast<uint64_t>(table_size);
  parallel_for(n_threads, n, kChunk, [&](int64_t b, int64_t e) {
    bool bad = false;
    for (int64_t x = b; x < e; ++x) {
      const uint64_t v = static_cast<uint64_t>(ids[x]);  // negative ids wrap above the limit
      if (v >= limit) {
        bad = true;
        continue;
      }
      // every writer stores the same value; relaxed atomics make the race well-defined. Load
      // first: popular ids would otherwise have both threads writing (and bouncing) the same
      // cache lines on every rating (measured 2 threads slower than 1 without the test)
      if (!__atomic_load_n(table + v, __ATOMIC_RELAXED))
        __atomic_store_n(table + v, int32_t{1}, __ATOMIC_RELAXED);
    }
    if (bad) out_of_range.store(true, std::memory_order_relaxed);
  });
  if (out_of_range.load()) return -1;
  int32_t rank = 0;
  for (int64_t v = 0; v < table_size; ++v) table[v] = table[v] ? rank++ : -1;
  parallel_for(n_threads, n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t x = b; x < e; ++x) index[x] = table[ids[x]];
  });
  return rank;
}

void normal_rows(float* out, int64_t rows, int64_t ld, int64_t k, float stddev, uint64_t seed,
                 uint64_t stream, int64_t first_row, int n_threads) {
  const uint64_t key = mix64(seed ^ mix64(stream + 0x9E3779B97F4A7C15ULL));
  const double two_pi = 6.283185307179586476925286766559;
  const double inv32 = 1.0 / 4294967296.0;
  parallel_for(n_threads, rows, 256, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float* row = out + r * ld;
      const uint64_t row_key = mix64(key + static_cast<uint64_t>(first_row + r) *
                                               0xD1B54A32D192ED03ULL);
      for (int64_t j = 0; j < k; j += 2) {
        const uint64_t bits = mix64(row_key + static_cast<uint64_t>(j / 2) *
                                                  0x9E3779B97F4A7C15ULL);
        // u1 in (0, 1] (log finite), u2 in [0, 1)
        const double u1 = (static_cast<double>(bits >> 32) + 1.0) * inv32;
        const double u2 = static_cast<double>(bits & 0xFFFFFFFFULL) * inv32;
        const double rad = std::sqrt(-2.0 * std::log(u1)) * stddev;
        row[j] = static_cast<float>(rad * std::cos(two_pi * u2));
        if (j + 1 < k) row[j + 1] = static_cast<float>(rad * std::sin(two_pi * u2));
      }
      std::fill(row + k, row + ld, 0.f);
    }
  });
}

void mean_std(const double* x, int64_t n, double* mean, double* stddev, int n_threads) {
  *mean = *stddev = 0.0;
  if (n <= 0) return;
  const int64_t nc = n_chunks(n);
  std::vector<double> part(static_cast<size_t>(nc));
  auto chunked = [&](auto term) {
    parallel_for(n_threads, nc, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double s = 0.0;
        for (int64_t e = c * kChunk, end = std::min(n, (c + 1) * kChunk); e < end; ++e)
          s += term(x[e]);
        part[c] = s;
      }
    });
    double total = 0.0;
    for (double v : part) total += v;
    return total;
  };
  const double mu = chunked([](double v) { return v; }) / static_cast<double>(n);
  const double var = chunked([mu](double v) { return (v - mu) * (v - mu); }) /
                     static_cast<double>(n);
  *mean = mu;
  *stddev = std::sqrt(var);
}

void gather_rows(const float* src, const int32_t* rows, int64_t n, int64_t ld, float scale,
                 float* out, int n_threads) {
  parallel_for(n_threads, n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t x = b; x < e; ++x) {
      const float* from = src + int64_t(rows[x]) * ld;
      float* to = out + x * ld;
      for (int64_t j = 0; j < ld; ++j) to[j] = from[j] * scale;
    }
  });
}

}  // namespace harpdaal::kernels::mf_sgd
