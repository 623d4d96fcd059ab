// CCD++ (Yu, Hsieh, Si, Dhillon, ICDM 2012; Harp's MF-CCD): rank-one cyclic coordinate descent.
//
// The residual e_ui = r_ui - mu - p_u . q_i is kept in CSR order (`residual`, one value per
// rating); the CSC view reaches the same values through `csc_to_csr`. For each factor t the
// rank-one term p_{.t} q_{.t}^T is added back to the residual, then `inner_iters` alternating
// closed-form updates are made (items first, then users), each parallel over columns / rows:
//   q_it = sum_u e_ui p_ut / (reg_item * n_i + sum_u p_ut^2)   (u over the raters of i)
//   p_ut = sum_i e_ui q_it / (reg_user * n_u + sum_i q_it^2)
// and the new rank-one term is subtracted again. The regularisation is weighted by the number of
// ratings of the row/column, which is the objective that per-rating SGD with L2 minimises.
// Rows and columns are updated independently, so the result does not depend on the thread count.
//
// With biases (r_ui ~ g + b_u + b_i + p_u . q_i, the residual then also excludes g + b_u + b_i)
// each sweep starts with one exact coordinate-descent pass over them (mf_ccd_dist.hpp's
// bias_sweep: the global offset g, unregularised; then every b_i; then every b_u, each
// b = sum e / (n + reg_bias) on the residual with b added back). Without biases the sweep is the
// factor sweep alone, unchanged.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::mf_ccd {

// The bias terms of a CCD++ model; all null: no biases.
template <class T>
struct Biases {
  T* user = nullptr;    // n_users
  T* item = nullptr;    // n_items
  T* global = nullptr;  // one value: the learnt offset g
  T reg = 0;            // L2 on each bias: b = sum e / (n + reg)
};

template <class T>
void ccd_epoch(int64_t n_users, int64_t n_items, const int64_t* row_ptr, const int32_t* col_idx,
               const int64_t* col_ptr, const int32_t* row_idx, const int64_t* csc_to_csr,
               T* residual, T* P, T* Q, int64_t ld, int64_t k, T reg_user, T reg_item,
               int inner_iters, int n_threads, const Biases<T>& biases = {});

}  // namespace harpdaal::kernels::mf_ccd
