// AVX-512 row norms with explicit intrinsics: the auto-vectorised loop spills its accumulator to
// the stack for the horizontal sum of every row (store-forwarding stalls made it slower than the
// portable build). Two accumulators, a masked tail, one in-register reduction per row.
#include <immintrin.h>

// GCC 12's AVX-512 headers build shuffles on _mm*_undefined_*(), which -Wmaybe-uninitialized
// flags where they inline here (a false positive: GCC PR 105593). Silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

namespace harpdaal::kernels::common::avx512 {

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
  static float sum(Reg a, Reg b) { return _mm512_reduce_add_ps(_mm512_add_ps(a, b)); }
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
  static double sum(Reg a, Reg b) { return _mm512_reduce_add_pd(_mm512_add_pd(a, b)); }
};

template <class T>
void row_sq_norms_rows(const T* x, int64_t begin, int64_t end, int64_t d, T* out) {
  using L = Lanes<T>;
  constexpr int64_t w = L::kWidth;
  const int64_t body = d - d % w;
  const auto tail = static_cast<typename L::Mask>((1u << (d % w)) - 1u);
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

template void row_sq_norms_rows<float>(const float*, int64_t, int64_t, int64_t, float*);
template void row_sq_norms_rows<double>(const double*, int64_t, int64_t, int64_t, double*);

}  // namespace harpdaal::kernels::common::avx512
