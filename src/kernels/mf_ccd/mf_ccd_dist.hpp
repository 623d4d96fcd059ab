// Pieces of one CCD++ rank-one update for a distributed fit (users split by rank, item columns
// reduced across ranks; python/harpdaal/recommend/_rotation.py). The one-process epoch is
// mf_ccd.hpp's ccd_epoch; these run the same updates one step at a time so that the item sums
// of all ranks can be added up (an allreduce) between the steps:
//   add_rank_one(+1)  residual += p_t q_t^T over this rank's ratings (CSR, local users)
//   item_sums         num_i = sum_u e_ui p_ut, den_i = sum_u p_ut^2 over this rank's raters
//   (allreduce; q_it = num_i / (reg_item n_i + den_i) on every rank)
//   update_users      p_ut = sum_i e_ui q_it / (reg_user n_u + sum_i q_it^2)
//   add_rank_one(-1)  residual -= p_t q_t^T
// Sums are accumulated in double. Rows and columns are independent: thread-count independent.
//
// The bias pass that starts a sweep with biases (the one-process ccd_epoch runs the same
// functions in the same order, as bias_sweep):
//   item_residual_sums  S_i = sum_u e_ui over this rank's raters; returns sum_i S_i (item order)
//   (allreduce of S_i and the total)
//   item_bias_step      g += S / N; b_i = (S_i - n_i dg + n_i b_i) / (n_i + reg); the shift
//                       dg + db_i every rating of item i loses (n_i, N: counts over all ranks)
//   shift_residual      e_ui -= shift_i
//   update_user_biases  b_u = (sum_i e_ui + n_u b_u) / (n_u + reg); e_ui -= db_u
#pragma once
#include <cstdint>

namespace harpdaal::kernels::mf_ccd {

template <class T>
void add_rank_one(int64_t n_rows, const int64_t* row_ptr, const int32_t* col_idx, T* residual,
                  const T* P, const T* Q, int64_t ld, int64_t t, T sign, int n_threads);

template <class T>
void item_sums(int64_t n_cols, const int64_t* col_ptr, const int32_t* row_idx,
               const int64_t* csc_to_csr, const T* residual, const T* P, int64_t ld, int64_t t,
               double* num, double* den, int n_threads);

template <class T>
void update_users(int64_t n_rows, const int64_t* row_ptr, const int32_t* col_idx,
                  const T* residual, T* P, const T* Q, int64_t ld, int64_t t, T reg_user,
                  int n_threads);

template <class T>
double item_residual_sums(int64_t n_cols, const int64_t* col_ptr, const int64_t* csc_to_csr,
                          const T* residual, double* sums, int n_threads);

template <class T>
void item_bias_step(int64_t n_cols, const double* sums, const double* counts, double total,
                    double n_total, T* item_bias, T* global, T reg, double* shift);

template <class T>
void shift_residual(int64_t n_rows, const int64_t* row_ptr, const int32_t* col_idx, T* residual,
                    const double* shift, int n_threads);

template <class T>
void update_user_biases(int64_t n_rows, const int64_t* row_ptr, T* residual, T* user_bias, T reg,
                        int n_threads);

// The whole bias pass on one process (n_cols: every item's raters are here).
template <class T>
void bias_sweep(int64_t n_rows, int64_t n_cols, const int64_t* row_ptr, const int32_t* col_idx,
                const int64_t* col_ptr, const int64_t* csc_to_csr, T* residual, T* user_bias,
                T* item_bias, T* global, T reg, int n_threads);

}  // namespace harpdaal::kernels::mf_ccd
