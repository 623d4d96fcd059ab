#include "kernels/mf_ccd/mf_ccd.hpp"

#include "kernels/common/parallel.hpp"
#include "kernels/mf_ccd/mf_ccd_dist.hpp"

namespace harpdaal::kernels::mf_ccd {

namespace {
constexpr int64_t kGrain = 64;
}

template <class T>
void ccd_epoch(int64_t n_users, int64_t n_items, const int64_t* row_ptr, const int32_t* col_idx,
               const int64_t* col_ptr, const int32_t* row_idx, const int64_t* csc_to_csr,
               T* residual, T* P, T* Q, int64_t ld, int64_t k, T reg_user, T reg_item,
               int inner_iters, int n_threads, const Biases<T>& biases) {
  if (biases.user != nullptr)
    bias_sweep(n_users, n_items, row_ptr, col_idx, col_ptr, csc_to_csr, residual, biases.user,
               biases.item, biases.global, biases.reg, n_threads);
  for (int64_t t = 0; t < k; ++t) {
    // residual += p_t q_t^T  (rows are independent)
    parallel_for(n_threads, n_users, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e; ++u) {
        const T pu = P[u * ld + t];
        for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x)
          residual[x] += pu * Q[int64_t(col_idx[x]) * ld + t];
      }
    });
    for (int it = 0; it < inner_iters; ++it) {
      parallel_for(n_threads, n_items, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          T num = 0, den = reg_item * T(col_ptr[i + 1] - col_ptr[i]);
          for (int64_t x = col_ptr[i]; x < col_ptr[i + 1]; ++x) {
            const T pu = P[int64_t(row_idx[x]) * ld + t];
            num += residual[csc_to_csr[x]] * pu;
            den += pu * pu;
          }
          Q[i * ld + t] = den > T(0) ? num / den : T(0);
        }
      });
      parallel_for(n_threads, n_users, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          T num = 0, den = reg_user * T(row_ptr[u + 1] - row_ptr[u]);
          for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x) {
            const T qi = Q[int64_t(col_idx[x]) * ld + t];
            num += residual[x] * qi;
            den += qi * qi;
          }
          P[u * ld + t] = den > T(0) ? num / den : T(0);
        }
      });
    }
    parallel_for(n_threads, n_users, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e; ++u) {
        const T pu = P[u * ld + t];
        for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x)
          residual[x] -= pu * Q[int64_t(col_idx[x]) * ld + t];
      }
    });
  }
}

template void ccd_epoch<float>(int64_t, int64_t, const int64_t*, const int32_t*, const int64_t*,
                               const int32_t*, const int64_t*, float*, float*, float*, int64_t,
                               int64_t, float, float, int, int,
                               const Biases<float>&);
template void ccd_epoch<double>(int64_t, int64_t, const int64_t*, const int32_t*, const int64_t*,
                                const int32_t*, const int64_t*, double*, double*, double*,
                                int64_t, int64_t, double, double, int, int,
                                const Biases<double>&);

}  // namespace harpdaal::kernels::mf_ccd
