// Per-row bodies of the ALS kernels, compiled once per ISA (als_generic.cpp, als_avx2.cpp,
// als_avx512.cpp). HARPDAAL_ISA_NS names a namespace unique to the including file so the per-ISA
// copies never merge at link time. The vector loops are written for the compiler's vectoriser
// (`omp simd`, enabled by -fopenmp-simd): with the wide flags of the including file they become
// AVX2 / AVX-512 code.
#include <cmath>
#include <cstdint>

#include "kernels/als/rows.hpp"

namespace harpdaal::kernels::als::HARPDAAL_ISA_NS {

namespace {

template <class T>
inline T dot(const T* a, const T* b, int64_t k) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < k; ++j) acc += a[j] * b[j];
  return acc;
}

template <class T>
inline void axpy(T a, const T* x, T* y, int64_t k) {
#pragma omp simd
  for (int64_t j = 0; j < k; ++j) y[j] += a * x[j];
}

// out = sign * G v for a symmetric k x k G, as a sum of scaled rows (no horizontal reductions).
template <class T>
inline void symv(const T* G, const T* v, T sign, T* out, int64_t k) {
#pragma omp simd
  for (int64_t j = 0; j < k; ++j) out[j] = 0;
  for (int64_t b = 0; b < k; ++b) axpy(sign * v[b], G + b * k, out, k);
}

}  // namespace

template <class T>
void cg_rows(const RowsArgs<T>& a, int64_t begin, int64_t end, T* scratch) {
  const int64_t k = a.k;
  T* r = scratch;
  T* p = scratch + k;
  T* ap = scratch + 2 * k;
  for (int64_t u = begin; u < end; ++u) {
    T* x = a.X + u * k;
    const int64_t lo = a.indptr[u], hi = a.indptr[u + 1];
    if (lo == hi) {  // b = 0: the exact solution is 0 (CG would only approach it)
      for (int64_t j = 0; j < k; ++j) x[j] = T(0);
      continue;
    }
    // r = b - A x
    symv(a.gram_reg, x, T(-1), r, k);
    // entries of confidence exactly 1 (alpha r = 1: binary data at alpha = 1) add nothing to A;
    // a row of only such entries skips the sparse part of A p in its CG steps
    bool weighted = false;
    for (int64_t e = lo; e < hi; ++e) {
      const T* y = a.Y + int64_t(a.indices[e]) * k;
      const T c = a.alpha * a.values[e];
      const bool one = c == T(1);  // then c - (c - 1) y.x is 1: no dot product needed
      weighted |= !one;
      axpy(one ? T(1) : c - (c - T(1)) * dot(y, x, k), y, r, k);
    }
#pragma omp simd
    for (int64_t j = 0; j < k; ++j) p[j] = r[j];
    T rs_old = dot(r, r, k);
    if (rs_old < T(1e-20)) continue;
    for (int step = 0; step < a.cg_steps; ++step) {
      symv(a.gram_reg, p, T(1), ap, k);
      for (int64_t e = weighted ? lo : hi; e < hi; ++e) {
        const T* y = a.Y + int64_t(a.indices[e]) * k;
        axpy((a.alpha * a.values[e] - T(1)) * dot(y, p, k), y, ap, k);
      }
      const T step_len = rs_old / dot(p, ap, k);
      axpy(step_len, p, x, k);
      axpy(-step_len, ap, r, k);
      const T rs_new = dot(r, r, k);
      if (rs_new < T(1e-20)) break;
      const T beta = rs_new / rs_old;
#pragma omp simd
      for (int64_t j = 0; j < k; ++j) p[j] = r[j] + beta * p[j];
      rs_old = rs_new;
    }
  }
}

template <class T>
double loss_rows(const RowsArgs<T>& a, int64_t begin, int64_t end, T* scratch) {
  const int64_t k = a.k;
  double total = 0;
  for (int64_t u = begin; u < end; ++u) {
    const T* x = a.X + u * k;
    symv(a.gram, x, T(1), scratch, k);
    double row = double(dot(x, scratch, k)) + double(a.reg) * double(dot(x, x, k));
    for (int64_t e = a.indptr[u]; e < a.indptr[u + 1]; ++e) {
      const double s = double(dot(x, a.Y + int64_t(a.indices[e]) * k, k));
      const double c = double(a.alpha) * double(a.values[e]);
      row += c * (1.0 - s) * (1.0 - s) - s * s;
    }
    total += row;
  }
  return total;
}

template void cg_rows<float>(const RowsArgs<float>&, int64_t, int64_t, float*);
template void cg_rows<double>(const RowsArgs<double>&, int64_t, int64_t, double*);
template double loss_rows<float>(const RowsArgs<float>&, int64_t, int64_t, float*);
template double loss_rows<double>(const RowsArgs<double>&, int64_t, int64_t, double*);

}  // namespace harpdaal::kernels::als::HARPDAAL_ISA_NS
