// Range of an id array, scanned in parallel over fixed chunks (the bindings' id checks).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels {

// Whether every one of n ids lies in [0, limit): one unsigned compare per id, OR-reduced (the
// compiler vectorises it), over the same fixed chunks in parallel. Measured on 4M ids: 1.2 ms
// against id_range's 7.7 ms on 1 thread, 0.34 against 3.7 on 2; so the bindings check with this
// and call id_range only to name the range found when the check fails.
inline bool ids_in_range(const int32_t* ids, int64_t n, int64_t limit, int n_threads) {
  if (n <= 0) return true;
  if (limit <= 0) return false;
  // ids are int32: a limit past INT32_MAX only rules out negative ids
  const uint32_t lim = limit > INT32_MAX ? 0x80000000u : static_cast<uint32_t>(limit);
  constexpr int64_t kChunk = 1 << 16;
  const int64_t nc = (n + kChunk - 1) / kChunk;
  std::vector<uint8_t> bad(static_cast<size_t>(nc), 0);
  parallel_for(n_threads, nc, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t e = std::min(n, (c + 1) * kChunk);
      uint32_t b = 0;
      for (int64_t i = c * kChunk; i < e; ++i) b |= static_cast<uint32_t>(ids[i]) >= lim;
      bad[c] = static_cast<uint8_t>(b);
    }
  });
  for (uint8_t b : bad)
    if (b) return false;
  return true;
}

// Smallest and largest of n ids; n <= 0 gives lo = 0, hi = -1 (an empty range).
inline void id_range(const int32_t* ids, int64_t n, int32_t* lo, int32_t* hi, int n_threads) {
  *lo = 0;
  *hi = -1;
  if (n <= 0) return;
  constexpr int64_t kChunk = 1 << 16;
  const int64_t nc = (n + kChunk - 1) / kChunk;
  std::vector<int32_t> los(static_cast<size_t>(nc)), his(static_cast<size_t>(nc));
  parallel_for(n_threads, nc, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      // std::minmax_element: measured faster than a plain min/max loop at the baseline ISA
      auto mm = std::minmax_element(ids + c * kChunk, ids + std::min(n, (c + 1) * kChunk));
      los[c] = *mm.first;
      his[c] = *mm.second;
    }
  });
  *lo = *std::min_element(los.begin(), los.end());
  *hi = *std::max_element(his.begin(), his.end());
}

}  // namespace harpdaal::kernels
