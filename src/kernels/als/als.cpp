#include "kernels/als/als.hpp"

#include <mkl.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/als/rows.hpp"
#include "kernels/common/isa.hpp"
#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::als {

namespace {

// Rows per task of the row solves (rows vary widely in length; small tasks balance them).
constexpr int64_t kRowGrain = 32;
// Rows per lockstep block of the AVX-512 CG body (cg_avx512.cpp): sizes its scratch.
constexpr int64_t kCgBlock = 32;
// Rows per partial sum of the loss (fixed, as for the Gram blocks).
constexpr int64_t kLossBlock = 1024;

// The dense product of the AVX-512 CG blocks: MKL's sgemm where MKL runs its own AVX-512 code
// (Intel CPUs; 2.4x our first tile at k = 128 on a Xeon), our register tile elsewhere (on AMD
// Zen 4 MKL's sgemm runs its generic path). HARPDAAL_ALS_PRODUCT=mkl|tile overrides.
bool block_product_by_mkl() {
  static const bool by_mkl = intel_path("HARPDAAL_ALS_PRODUCT", "mkl", "tile");
  return by_mkl;
}

// A zero-filled buffer whose data start on a 64-byte boundary (MKL's results may depend on the
// alignment of its operands; the CG blocks need the same alignment on every call).
template <class T>
class Aligned {
 public:
  explicit Aligned(size_t n) : buf_(n + 64 / sizeof(T), T(0)) {
    const auto p = reinterpret_cast<uintptr_t>(buf_.data());
    data_ = reinterpret_cast<T*>((p + 63) & ~uintptr_t(63));
  }
  T* data() { return data_; }

 private:
  std::vector<T> buf_;
  T* data_;
};

inline void syrk(const float* Y, int64_t n, int64_t k, float* C) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, MKL_INT(k), MKL_INT(n), 1.0f, Y,
              MKL_INT(k), 0.0f, C, MKL_INT(k));
}
inline void syrk(const double* Y, int64_t n, int64_t k, double* C) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, MKL_INT(k), MKL_INT(n), 1.0, Y, MKL_INT(k),
              0.0, C, MKL_INT(k));
}

// Entries per rank-k update of the exact solve (bounds the gathered block per thread).
constexpr int64_t kCholChunk = 256;

// Exact rows: A = YᵀY + reg I + Zwᵀ Z (Z the row's factor rows gathered in double, Zw = (c-1) Z)
// by MKL dgemm per chunk of entries, then MKL's Cholesky (potrf/potrs, column-major calls on the
// symmetric A: no transposition copies). scratch: k*k + k + 2*kCholChunk*k doubles.
// Measured against rank-1 updates and a row-oriented Cholesky of our own (pinterest-20, k = 64,
// one thread): 373 vs 766 ms for the item rows and 580 vs 2160 ms for the user rows.
template <class T>
void cholesky_rows_mkl(const RowsArgs<T>& a, int64_t begin, int64_t end, double* scratch) {
  const int64_t k = a.k;
  double* A = scratch;
  double* b = A + k * k;
  double* Z = b + k;
  double* Zw = Z + kCholChunk * k;
  for (int64_t u = begin; u < end; ++u) {
    const int64_t lo = a.indptr[u], hi = a.indptr[u + 1];
    T* x = a.X + u * k;
    if (lo == hi) {
      std::fill(x, x + k, T(0));
      continue;
    }
    std::copy(a.gram_reg_d, a.gram_reg_d + k * k, A);
    std::fill(b, b + k, 0.0);
    for (int64_t e0 = lo; e0 < hi; e0 += kCholChunk) {
      const int64_t n = std::min(hi - e0, kCholChunk);
      for (int64_t j = 0; j < n; ++j) {
        const T* y = a.Y + int64_t(a.indices[e0 + j]) * k;
        const double c = double(a.alpha) * double(a.values[e0 + j]);
        double* z = Z + j * k;
        double* zw = Zw + j * k;
        for (int64_t t = 0; t < k; ++t) {
          z[t] = double(y[t]);
          zw[t] = (c - 1.0) * z[t];
          b[t] += c * z[t];
        }
      }
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, MKL_INT(k), MKL_INT(k), MKL_INT(n),
                  1.0, Zw, MKL_INT(k), Z, MKL_INT(k), 1.0, A, MKL_INT(k));
    }
    // A is symmetric: its row-major storage is its column-major storage.
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', lapack_int(k), A, lapack_int(k)) != 0)
      continue;  // not positive definite (reg = 0 and rank-deficient factors): keep the row
    LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', lapack_int(k), 1, A, lapack_int(k), b,
                        lapack_int(k));
    for (int64_t j = 0; j < k; ++j) x[j] = T(b[j]);
  }
}

}  // namespace

int64_t gram_blocks(int64_t n) { return std::max<int64_t>(1, (n + kGramBlock - 1) / kGramBlock); }

template <class T>
void gram_partials(const T* Y, int64_t n, int64_t k, int64_t block_lo, int64_t block_hi,
                   T* partials, int n_threads) {
  if (k <= 0 || block_hi <= block_lo) return;
  const int64_t kk = k * k;
  parallel_for(n_threads, block_hi - block_lo, 1, [&](int64_t b, int64_t e) {
    for (int64_t blk = block_lo + b; blk < block_lo + e; ++blk) {
      T* part = partials + blk * kk;
      const int64_t lo = blk * kGramBlock, hi = std::min(n, lo + kGramBlock);
      if (hi > lo) syrk(Y + lo * k, hi - lo, k, part);
      else std::fill(part, part + kk, T(0));  // no rows (n = 0): a zero block
    }
  });
}

template <class T>
void gram_sum(const T* partials, int64_t n_blocks, int64_t k, T* out, int n_threads) {
  const int64_t kk = k * k;
  // Upper triangle summed in double in block order, then mirrored.
  parallel_for(n_threads, k, 8, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      for (int64_t c = r; c < k; ++c) {
        double s = 0;
        for (int64_t blk = 0; blk < n_blocks; ++blk) s += double(partials[blk * kk + r * k + c]);
        out[r * k + c] = T(s);
        out[c * k + r] = T(s);
      }
    }
  });
}

template <class T>
void gram(const T* Y, int64_t n, int64_t k, T* out, int n_threads) {
  if (k <= 0) return;
  const int64_t n_blocks = gram_blocks(n);
  std::vector<T> partial(static_cast<size_t>(n_blocks * k * k));
  gram_partials(Y, n, k, 0, n_blocks, partial.data(), n_threads);
  gram_sum(partial.data(), n_blocks, k, out, n_threads);
}

template <class T>
void solve_rows(const int64_t* indptr, const int32_t* indices, const T* values, int64_t n_rows,
                const T* Y, const T* gram_in, int64_t k, T reg, T alpha, Solver solver,
                int cg_steps, T* X, int n_threads) {
  if (n_rows <= 0 || k <= 0) return;
  Aligned<T> gram_reg(static_cast<size_t>(k * k));
  std::copy(gram_in, gram_in + k * k, gram_reg.data());
  for (int64_t j = 0; j < k; ++j) gram_reg.data()[j * k + j] += reg;
  std::vector<double> gram_reg_d;
  if (solver == Solver::cholesky) gram_reg_d.assign(gram_reg.data(), gram_reg.data() + k * k);
  const RowsArgs<T> a{indptr, indices, values, Y, gram_in, gram_reg.data(),
                      gram_reg_d.data(), k, reg, alpha, cg_steps, X, block_product_by_mkl()};
  if (solver == Solver::cg) {
    using Fn = void (*)(const RowsArgs<T>&, int64_t, int64_t, T*);
    Fn rows = dispatch<Fn>(&generic::cg_rows<T>, &avx2::cg_rows<T>, &avx512f::cg_rows<T>,
                           &avx512::cg_rows<T>);
    if constexpr (std::is_same_v<T, float>) {
      if (active_isa() == Isa::avx512) {
        if (Fn wide = avx512::cg_rows_registers(k)) rows = wide;
      }
    }
    parallel_for(n_threads, n_rows, kRowGrain, [&](int64_t b, int64_t e) {
      Aligned<T> scratch(static_cast<size_t>(4 * kCgBlock * k));
      rows(a, b, e, scratch.data());
    });
  } else {
    parallel_for(n_threads, n_rows, kRowGrain, [&](int64_t b, int64_t e) {
      std::vector<double> scratch(static_cast<size_t>(k * k + k + 2 * kCholChunk * k));
      cholesky_rows_mkl<T>(a, b, e, scratch.data());
    });
  }
}

template <class T>
double loss(const int64_t* indptr, const int32_t* indices, const T* values, int64_t n_rows,
            const T* X, const T* Y, const T* gram_in, int64_t k, T reg, T alpha,
            int n_threads) {
  if (n_rows <= 0 || k <= 0) return 0.0;
  const RowsArgs<T> a{indptr, indices, values, Y, gram_in, nullptr, nullptr, k, reg, alpha, 0,
                      const_cast<T*>(X), false};  // loss_rows only reads X
  using Fn = double (*)(const RowsArgs<T>&, int64_t, int64_t, T*);
  Fn rows = dispatch<Fn>(&generic::loss_rows<T>, &avx2::loss_rows<T>, &avx512f::loss_rows<T>,
                         &avx512::loss_rows<T>);
  const int64_t n_blocks = (n_rows + kLossBlock - 1) / kLossBlock;
  std::vector<double> partial(static_cast<size_t>(n_blocks), 0.0);
  parallel_for(n_threads, n_blocks, 1, [&](int64_t b, int64_t e) {
    std::vector<T> scratch(static_cast<size_t>(k));
    for (int64_t blk = b; blk < e; ++blk)
      partial[blk] = rows(a, blk * kLossBlock, std::min(n_rows, (blk + 1) * kLossBlock),
                          scratch.data());
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

template void gram<float>(const float*, int64_t, int64_t, float*, int);
template void gram_partials<float>(const float*, int64_t, int64_t, int64_t, int64_t, float*, int);
template void gram_partials<double>(const double*, int64_t, int64_t, int64_t, int64_t, double*,
                                    int);
template void gram_sum<float>(const float*, int64_t, int64_t, float*, int);
template void gram_sum<double>(const double*, int64_t, int64_t, double*, int);
template void gram<double>(const double*, int64_t, int64_t, double*, int);
template void solve_rows<float>(const int64_t*, const int32_t*, const float*, int64_t,
                                const float*, const float*, int64_t, float, float, Solver, int,
                                float*, int);
template void solve_rows<double>(const int64_t*, const int32_t*, const double*, int64_t,
                                 const double*, const double*, int64_t, double, double, Solver,
                                 int, double*, int);
template double loss<float>(const int64_t*, const int32_t*, const float*, int64_t, const float*,
                            const float*, const float*, int64_t, float, float, int);
template double loss<double>(const int64_t*, const int32_t*, const double*, int64_t,
                             const double*, const double*, const double*, int64_t, double,
                             double, int);

}  // namespace harpdaal::kernels::als
