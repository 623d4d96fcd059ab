#include "kernels/common/sparse.hpp"

#include <algorithm>
#include <vector>

namespace harpdaal::kernels::common {

void transpose_csr(const int64_t* indptr, const int32_t* indices, const float* values,
                   int64_t n_rows, int64_t n_cols, int32_t first, int64_t* out_indptr,
                   int32_t* out_ids, float* out_values) {
  const int64_t nnz = indptr[n_rows] - indptr[0];
  std::fill(out_indptr, out_indptr + n_cols + 1, int64_t(0));
  for (int64_t e = indptr[0]; e < indptr[0] + nnz; ++e) ++out_indptr[indices[e] + 1];
  for (int64_t c = 0; c < n_cols; ++c) out_indptr[c + 1] += out_indptr[c];
  std::vector<int64_t> fill(out_indptr, out_indptr + n_cols);
  for (int64_t r = 0; r < n_rows; ++r) {
    const int32_t id = first + int32_t(r);
    for (int64_t e = indptr[r]; e < indptr[r + 1]; ++e) {
      const int64_t at = fill[indices[e]]++;
      out_ids[at] = id;
      out_values[at] = values[e];
    }
  }
}

void merge_csr_parts(const int64_t* lengths, int64_t n_parts, int64_t n_rows, const int32_t* ids,
                     const float* values, int64_t* out_indptr, int32_t* out_ids,
                     float* out_values) {
  out_indptr[0] = 0;
  for (int64_t r = 0; r < n_rows; ++r) {
    int64_t n = 0;
    for (int64_t p = 0; p < n_parts; ++p) n += lengths[p * n_rows + r];
    out_indptr[r + 1] = out_indptr[r] + n;
  }
  std::vector<int64_t> fill(out_indptr, out_indptr + n_rows);
  int64_t e = 0;
  for (int64_t p = 0; p < n_parts; ++p) {
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t n = lengths[p * n_rows + r];
      std::copy(ids + e, ids + e + n, out_ids + fill[r]);
      std::copy(values + e, values + e + n, out_values + fill[r]);
      fill[r] += n;
      e += n;
    }
  }
}

}  // namespace harpdaal::kernels::common
