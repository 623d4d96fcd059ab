#include "kernels/mf_ccd/mf_ccd_dist.hpp"

#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::mf_ccd {

namespace {
constexpr int64_t kGrain = 64;
}

template <class T>
void add_rank_one(int64_t n_rows, const int64_t* row_ptr, const int32_t* col_idx, T* residual,
                  const T* P, const T* Q, int64_t ld, int64_t t, T sign, int n_threads) {
  parallel_for(n_threads, n_rows, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const T pu = sign * P[u * ld + t];
      for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x)
        residual[x] += pu * Q[int64_t(col_idx[x]) * ld + t];
    }
  });
}

template <class T>
void item_sums(int64_t n_cols, const int64_t* col_ptr, const int32_t* row_idx,
               const int64_t* csc_to_csr, const T* residual, const T* P, int64_t ld, int64_t t,
               double* num, double* den, int n_threads) {
  parallel_for(n_threads, n_cols, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double s = 0, d = 0;
      for (int64_t x = col_ptr[i]; x < col_ptr[i + 1]; ++x) {
        const double pu = P[int64_t(row_idx[x]) * ld + t];
        s += double(residual[csc_to_csr[x]]) * pu;
        d += pu * pu;
      }
      num[i] = s;
      den[i] = d;
    }
  });
}

template <class T>
void update_users(int64_t n_rows, const int64_t* row_ptr, const int32_t* col_idx,
                  const T* residual, T* P, const T* Q, int64_t ld, int64_t t, T reg_user,
                  int n_threads) {
  parallel_for(n_threads, n_rows, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      double s = 0, d = double(reg_user) * double(row_ptr[u + 1] - row_ptr[u]);
      for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x) {
        const double qi = Q[int64_t(col_idx[x]) * ld + t];
        s += double(residual[x]) * qi;
        d += qi * qi;
      }
      P[u * ld + t] = d > 0 ? T(s / d) : T(0);
    }
  });
}

template void add_rank_one<float>(int64_t, const int64_t*, const int32_t*, float*, const float*,
                                  const float*, int64_t, int64_t, float, int);
template void item_sums<float>(int64_t, const int64_t*, const int32_t*, const int64_t*,
                               const float*, const float*, int64_t, int64_t, double*, double*,
                               int);
template void update_users<float>(int64_t, const int64_t*, const int32_t*, const float*, float*,
                                  const float*, int64_t, int64_t, float, int);
template void add_rank_one<double>(int64_t, const int64_t*, const int32_t*, double*,
                                   const double*, const double*, int64_t, int64_t, double, int);
template void item_sums<double>(int64_t, const int64_t*, const int32_t*, const int64_t*,
                                const double*, const double*, int64_t, int64_t, double*, double*,
                                int);
template void update_users<double>(int64_t, const int64_t*, const int32_t*, const double*,
                                   double*, const double*, int64_t, int64_t, double, int);

}  // namespace harpdaal::kernels::mf_ccd
