// Body of row_sq_norms, compiled once per ISA. HARPDAAL_ISA_NS names a namespace unique to the
// including file so the per-ISA copies never merge at link time (ODR).
//
// AVX-512 (avx512f and avx512: the same F-only code, the same bits) uses explicit intrinsics: the
// auto-vectorised loop spills its accumulator to the stack for the horizontal sum of every row
// (store-forwarding stalls made it slower than the portable build). Two accumulators, a masked
// tail, one in-register reduction per row. The other levels use the auto-vectorised loop.
#include <cstdint>

#include "kernels/common/simd.hpp"

namespace harpdaal::kernels::common::HARPDAAL_ISA_NS {

#if defined(__AVX512F__)
namespace vx = ::harpdaal::kernels::simd::HARPDAAL_ISA_NS;

// The float and double kernels differ only in these lane operations.
template <class T>
struct Lanes;

template <>
struct Lanes<float> {
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int64_t kWidth = 16;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static Reg load_masked(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Mask first(int64_t n) { return vx::first_lanes16(n); }
  static float sum(Reg a, Reg b) { return vx::hsum(_mm512_add_ps(a, b)); }
};

template <>
struct Lanes<double> {
  using Reg = __m512d;
  using Mask = __mmask8;
  static constexpr int64_t kWidth = 8;
  static Reg zero() { return _mm512_setzero_pd(); }
  static Reg load(const double* p) { return _mm512_loadu_pd(p); }
  static Reg load_masked(Mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  static Mask first(int64_t n) { return vx::first_lanes8(n); }
  static double sum(Reg a, Reg b) { return vx::hsum(_mm512_add_pd(a, b)); }
};

template <class T>
void row_sq_norms_rows(const T* x, int64_t begin, int64_t end, int64_t d, T* out) {
  using L = Lanes<T>;
  constexpr int64_t w = L::kWidth;
  const int64_t body = d - d % w;
  const auto tail = L::first(d % w);
  for (int64_t i = begin; i < end; ++i) {
    const T* row = x + i * d;
    typename L::Reg a0 = L::zero(), a1 = L::zero();
    int64_t j = 0;
    for (; j + 2 * w <= body; j += 2 * w) {
      const typename L::Reg v0 = L::load(row + j), v1 = L::load(row + j + w);
      a0 = L::fma(v0, v0, a0);
      a1 = L::fma(v1, v1, a1);
    }
    for (; j < body; j += w) {
      const typename L::Reg v = L::load(row + j);
      a0 = L::fma(v, v, a0);
    }
    if (tail) {
      const typename L::Reg v = L::load_masked(tail, row + body);
      a1 = L::fma(v, v, a1);
    }
    out[i] = L::sum(a0, a1);
  }
}
#else
template <class T>
void row_sq_norms_rows(const T* x, int64_t begin, int64_t end, int64_t d, T* out) {
  for (int64_t i = begin; i < end; ++i) {
    const T* row = x + i * d;
    T acc = 0;
// Vectorized reduction (reassociation allowed for this loop only, via -fopenmp-simd).
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < d; ++j) acc += row[j] * row[j];
    out[i] = acc;
  }
}
#endif

template void row_sq_norms_rows<float>(const float*, int64_t, int64_t, int64_t, float*);
template void row_sq_norms_rows<double>(const double*, int64_t, int64_t, int64_t, double*);

}  // namespace harpdaal::kernels::common::HARPDAAL_ISA_NS
