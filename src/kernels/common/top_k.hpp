// Per-row top-k selection: the k largest entries of each row of a dense score matrix, best
// first, ties broken by the lower column. The selection behind batch recommend: one pass over
// each row against the current k-th best (a bounded heap), then a sort of the k kept.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::common {

// scores: m x n (row-major); ids, best: m x k outputs, k <= n. Rows in parallel.
template <class T>
void top_k_rows(const T* scores, int64_t m, int64_t n, int64_t k, int32_t* ids, T* best,
                int n_threads);

}  // namespace harpdaal::kernels::common
