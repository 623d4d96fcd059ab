// Rearranging sparse rows: the CSR transpose (a stable counting sort by column) and the merge
// of row-aligned CSR parts, both O(nnz) with no sort, entries of a row kept in input order.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::common {

// The transpose of an n_rows x n_cols CSR matrix whose row r is numbered `first + r`: out_indptr
// (n_cols + 1), out_ids / out_values (nnz). Each column's entries come out in row order. Column
// ids must lie in [0, n_cols) (the caller checks).
void transpose_csr(const int64_t* indptr, const int32_t* indices, const float* values,
                   int64_t n_rows, int64_t n_cols, int32_t first, int64_t* out_indptr,
                   int32_t* out_ids, float* out_values);

// Merge n_parts CSR parts over the same n_rows rows: part p's row r has lengths[p * n_rows + r]
// entries; the parts' entries are concatenated in part order (ids, values). Row r of the result
// holds part 0's entries of row r, then part 1's, ...
void merge_csr_parts(const int64_t* lengths, int64_t n_parts, int64_t n_rows, const int32_t* ids,
                     const float* values, int64_t* out_indptr, int32_t* out_ids,
                     float* out_values);

}  // namespace harpdaal::kernels::common
