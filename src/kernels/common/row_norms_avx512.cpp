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

template <class T>
void row_sq_norms_rows(const T* x, int64_t begin, int64_t end, int64_t d, T* out);


template <>
void row_sq_norms_rows<float>(const float* x, int64_t begin, int64_t end, int64_t d, float* out) {
  const int64_t body = d & ~int64_t{15};
  const __mmask16 tail = static_cast<__mmask16>((1u << (d & 15)) - 1u);
  for (int64_t i = begin; i < end; ++i) {
    const float* row = x + i * d;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 32 <= body; j += 32) {
      __m512 v0 = _mm512_loadu_ps(row + j), v1 = _mm512_loadu_ps(row + j + 16);
      a0 = _mm512_fmadd_ps(v0, v0, a0);
      a1 = _mm512_fmadd_ps(v1, v1, a1);
    }
    for (; j < body; j += 16) {
      __m512 v = _mm512_loadu_ps(row + j);
      a0 = _mm512_fmadd_ps(v, v, a0);
    }
    if (tail) {
      __m512 v = _mm512_maskz_loadu_ps(tail, row + body);
      a1 = _mm512_fmadd_ps(v, v, a1);
    }
    out[i] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  }
}

template <>
void row_sq_norms_rows<double>(const double* x, int64_t begin, int64_t end, int64_t d,
                               double* out) {
  const int64_t body = d & ~int64_t{7};
  const __mmask8 tail = static_cast<__mmask8>((1u << (d & 7)) - 1u);
  for (int64_t i = begin; i < end; ++i) {
    const double* row = x + i * d;
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    int64_t j = 0;
    for (; j + 16 <= body; j += 16) {
      __m512d v0 = _mm512_loadu_pd(row + j), v1 = _mm512_loadu_pd(row + j + 8);
      a0 = _mm512_fmadd_pd(v0, v0, a0);
      a1 = _mm512_fmadd_pd(v1, v1, a1);
    }
    for (; j < body; j += 8) {
      __m512d v = _mm512_loadu_pd(row + j);
      a0 = _mm512_fmadd_pd(v, v, a0);
    }
    if (tail) {
      __m512d v = _mm512_maskz_loadu_pd(tail, row + body);
      a1 = _mm512_fmadd_pd(v, v, a1);
    }
    out[i] = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
  }
}

}  // namespace harpdaal::kernels::common::avx512
