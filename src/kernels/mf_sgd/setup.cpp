#include "kernels/mf_sgd/setup.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
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

namespace {
// Box-Muller in float with its own log and sine/cosine: glibc's double log and sincos were
// ~70 ns a pair (0.47 s of initial factors at k = 128 on W-MF); these are plain arithmetic in one
// translation unit built for the baseline ISA (no FMA to contract into), so every CPU running a
// build draws the same bits, and the loop over a row vectorises.

inline int32_t bits_of(float x) {
  int32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
inline float float_of(int32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// ln(x) for x in [2^-24, 1]: x = m 2^e with m in [sqrt(1/2), sqrt(2)) (e taken from the bits
// above sqrt(1/2)'s, no branch), ln m = 2 atanh(s) for s = (m - 1) / (m + 1), |s| <= 0.1716,
// by its series to s^9 (truncation < 3e-9).
inline float log_unit(float x) {
  const int32_t b = bits_of(x);
  const int32_t e = (b - 0x3F3504F3) >> 23;  // arithmetic shift: floor
  const float m = float_of(b - e * (1 << 23));
  const float s = (m - 1.f) / (m + 1.f), s2 = s * s;
  const float series =
      1.f + s2 * (1.f / 3.f + s2 * (1.f / 5.f + s2 * (1.f / 7.f + s2 * (1.f / 9.f))));
  return static_cast<float>(e) * 0.693147180559945309f + 2.f * s * series;
}

// cos and sin of 2 pi u for u in [0, 1): q = round(4u), theta = (4u - q) pi / 2 in
// [-pi/4, pi/4] (exact in float: u has 24 bits), Taylor series to theta^8 / theta^9
// (truncation < 3e-9), rotated by q quarter turns with bit selects (the loop vectorises).
inline void cos_sin_turn(float u, float& c, float& s) {
  const float t = 4.f * u;
  const int32_t q = static_cast<int32_t>(t + 0.5f);
  const float th = (t - static_cast<float>(q)) * 1.57079632679489662f, th2 = th * th;
  const float cs =
      1.f + th2 * (-1.f / 2.f + th2 * (1.f / 24.f + th2 * (-1.f / 720.f + th2 * (1.f / 40320.f))));
  const float sn =
      th * (1.f + th2 * (-1.f / 6.f + th2 * (1.f / 120.f +
                                              th2 * (-1.f / 5040.f + th2 * (1.f / 362880.f)))));
  // quarter turns 0..3: (cos, sin), (-sin, cos), (-cos, -sin), (sin, -cos)
  const int32_t odd = -(q & 1), half = (q >> 1) & 1;
  const int32_t a = (bits_of(cs) & ~odd) | (bits_of(sn) & odd);
  const int32_t b = (bits_of(sn) & ~odd) | (bits_of(cs) & odd);
  const uint32_t flip_c = static_cast<uint32_t>((q & 1) ^ half) << 31;
  const uint32_t flip_s = static_cast<uint32_t>(half) << 31;
  c = float_of(static_cast<int32_t>(static_cast<uint32_t>(a) ^ flip_c));
  s = float_of(static_cast<int32_t>(static_cast<uint32_t>(b) ^ flip_s));
}
}  // namespace

void normal_rows(float* out, int64_t rows, int64_t ld, int64_t k, float stddev, uint64_t seed,
                 uint64_t stream, int64_t first_row, int n_threads) {
  const uint64_t key = mix64(seed ^ mix64(stream + 0x9E3779B97F4A7C15ULL));
  parallel_for(n_threads, rows, 256, [=](int64_t b, int64_t e) {
    constexpr int64_t kPairs = 64;  // pairs drawn per batch: hashes first, then the floats
    const float sd = stddev, inv24 = 1.f / 16777216.f;
    alignas(64) int32_t hi[kPairs], lo[kPairs];
    alignas(64) float c[kPairs], s[kPairs];
    for (int64_t r = b; r < e; ++r) {
      float* row = out + r * ld;
      const uint64_t row_key = mix64(key + static_cast<uint64_t>(first_row + r) *
                                               0xD1B54A32D192ED03ULL);
      const int64_t pairs = (k + 1) / 2;  // an odd row keeps the cosine half of its last pair
      for (int64_t j0 = 0; j0 < pairs; j0 += kPairs) {
        const int64_t np = std::min(kPairs, pairs - j0);
        for (int64_t j = 0; j < np; ++j) {
          const uint64_t bits =
              mix64(row_key + static_cast<uint64_t>(j0 + j) * 0x9E3779B97F4A7C15ULL);
          hi[j] = static_cast<int32_t>(bits >> 40);        // u1 = (hi + 1) / 2^24 in (0, 1]
          lo[j] = static_cast<int32_t>(bits & 0xFFFFFFu);  // u2 = lo / 2^24 in [0, 1)
        }
#pragma omp simd
        for (int64_t j = 0; j < np; ++j) {
          const float u1 = static_cast<float>(hi[j] + 1) * inv24;
          const float u2 = static_cast<float>(lo[j]) * inv24;
          const float rad = std::sqrt(-2.f * log_unit(u1)) * sd;
          float cs, sn;
          cos_sin_turn(u2, cs, sn);
          c[j] = rad * cs;
          s[j] = rad * sn;
        }
        float* dst = row + 2 * j0;
        const int64_t n_out = std::min<int64_t>(2 * np, k - 2 * j0);
        for (int64_t x = 0; x < n_out; ++x) dst[x] = (x & 1) ? s[x >> 1] : c[x >> 1];
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

bool permute_rows(float* rows, const int32_t* perm, int64_t n, int64_t ld, float scale) {
  // pending[x]: row x not yet written; first the check that perm is a permutation
  std::vector<uint8_t> pending(static_cast<size_t>(n), 0);
  for (int64_t x = 0; x < n; ++x) {
    const int64_t v = perm[x];
    if (v < 0 || v >= n || pending[v]) return false;
    pending[v] = 1;
  }
  std::vector<float> tmp(static_cast<size_t>(ld));
  const int64_t row_bytes = ld * int64_t(sizeof(float));
  auto put = [&](float* to, const float* from) {
    for (int64_t j = 0; j < ld; ++j) to[j] = from[j] * scale;
  };
  // each cycle s -> perm[s] -> perm[perm[s]] -> ... once: row j takes row perm[j] (not yet
  // overwritten: it comes later in the cycle), the last one the saved first row. The rows a few
  // steps ahead on the cycle are prefetched (the cycle is known from perm alone).
  constexpr int kAhead = 8;
  for (int64_t s = 0; s < n; ++s) {
    if (!pending[s]) continue;
    float* first = rows + s * ld;
    std::copy(first, first + ld, tmp.data());
    int64_t ahead = s;
    for (int a = 0; a < kAhead && perm[ahead] != s; ++a) ahead = perm[ahead];
    int64_t j = s;
    for (;;) {
      pending[j] = 0;
      const int64_t k = perm[j];
      if (k == s) {
        put(rows + j * ld, tmp.data());
        break;
      }
      if (perm[ahead] != s) {
        ahead = perm[ahead];
        const char* line = reinterpret_cast<const char*>(rows + ahead * ld);
        for (int64_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(line + o, 1, 3);
      }
      put(rows + j * ld, rows + k * ld);
      j = k;
    }
  }
  return true;
}

}  // namespace harpdaal::kernels::mf_sgd
