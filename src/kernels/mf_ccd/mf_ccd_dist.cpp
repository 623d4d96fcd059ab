#include "kernels/mf_ccd/mf_ccd_dist.hpp"

#include <vector>

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

template <class T>
double item_residual_sums(int64_t n_cols, const int64_t* col_ptr, const int64_t* csc_to_csr,
                          const T* residual, double* sums, int n_threads) {
  parallel_for(n_threads, n_cols, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double s = 0;
      for (int64_t x = col_ptr[i]; x < col_ptr[i + 1]; ++x) s += double(residual[csc_to_csr[x]]);
      sums[i] = s;
    }
  });
  double total = 0;  // in item order: the same for any thread count
  for (int64_t i = 0; i < n_cols; ++i) total += sums[i];
  return total;
}

template <class T>
void item_bias_step(int64_t n_cols, const double* sums, const double* counts, double total,
                    double n_total, T* item_bias, T* global, T reg, double* shift) {
  // g first (unregularised: the mean of the residual with g added back), then every b_i on the
  // residual less the change of g; shift may alias sums
  const T g_new = n_total > 0 ? T(double(*global) + total / n_total) : *global;
  const double dg = double(g_new) - double(*global);
  *global = g_new;
  for (int64_t i = 0; i < n_cols; ++i) {
    const double n = counts[i], den = n + double(reg);
    const double old = item_bias[i];
    const T b = den > 0 ? T((sums[i] - n * dg + n * old) / den) : T(0);
    item_bias[i] = b;
    shift[i] = dg + (double(b) - old);
  }
}

template <class T>
void shift_residual(int64_t n_rows, const int64_t* row_ptr, const int32_t* col_idx, T* residual,
                    const double* shift, int n_threads) {
  parallel_for(n_threads, n_rows, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u)
      for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x)
        residual[x] = T(double(residual[x]) - shift[col_idx[x]]);
  });
}

template <class T>
void update_user_biases(int64_t n_rows, const int64_t* row_ptr, T* residual, T* user_bias, T reg,
                        int n_threads) {
  parallel_for(n_threads, n_rows, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const double n = double(row_ptr[u + 1] - row_ptr[u]), den = n + double(reg);
      const double old = user_bias[u];
      double s = 0;
      for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x) s += double(residual[x]);
      const T bu = den > 0 ? T((s + n * old) / den) : T(0);
      user_bias[u] = bu;
      const double d = double(bu) - old;
      for (int64_t x = row_ptr[u]; x < row_ptr[u + 1]; ++x)
        residual[x] = T(double(residual[x]) - d);
    }
  });
}

template <class T>
void bias_sweep(int64_t n_rows, int64_t n_cols, const int64_t* row_ptr, const int32_t* col_idx,
                const int64_t* col_ptr, const int64_t* csc_to_csr, T* residual, T* user_bias,
                T* item_bias, T* global, T reg, int n_threads) {
  std::vector<double> sums(static_cast<size_t>(n_cols)), counts(static_cast<size_t>(n_cols));
  for (int64_t i = 0; i < n_cols; ++i) counts[size_t(i)] = double(col_ptr[i + 1] - col_ptr[i]);
  const double total =
      item_residual_sums(n_cols, col_ptr, csc_to_csr, residual, sums.data(), n_threads);
  item_bias_step(n_cols, sums.data(), counts.data(), total, double(row_ptr[n_rows]), item_bias,
                 global, reg, sums.data());
  shift_residual(n_rows, row_ptr, col_idx, residual, sums.data(), n_threads);
  update_user_biases(n_rows, row_ptr, residual, user_bias, reg, n_threads);
}

#define HD_CCD_BIAS(T)                                                                          \
  template double item_residual_sums<T>(int64_t, const int64_t*, const int64_t*, const T*,      \
                                        double*, int);                                          \
  template void item_bias_step<T>(int64_t, const double*, const double*, double, double, T*,    \
                                  T*, T, double*);                                              \
  template void shift_residual<T>(int64_t, const int64_t*, const int32_t*, T*, const double*,   \
                                  int);                                                         \
  template void update_user_biases<T>(int64_t, const int64_t*, T*, T*, T, int);                 \
  template void bias_sweep<T>(int64_t, int64_t, const int64_t*, const int32_t*, const int64_t*, \
                              const int64_t*, T*, T*, T*, T*, T, int);
HD_CCD_BIAS(float)
HD_CCD_BIAS(double)
#undef HD_CCD_BIAS

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
