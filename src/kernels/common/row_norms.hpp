// Squared Euclidean norm of each row of a dense row-major matrix (K-means' ||x||^2 term).
#pragma once
#include <cstdint>

namespace harpdaal::kernels::common {

// out[i] = sum_j x[i*d + j]^2 for i < n. out must hold n values.
template <class T>
void row_sq_norms(const T* x, int64_t n, int64_t d, T* out, int n_threads);

}  // namespace harpdaal::kernels::common
