// Body of lda::doc_bucket, compiled once per ISA (HARPDAAL_ISA_NS names the copy).
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() and trip -Wmaybe-uninitialized
// (a known false positive): silence it for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

#include "kernels/lda/doc_bucket.hpp"

namespace harpdaal::kernels::lda::HARPDAAL_ISA_NS {

float doc_bucket(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw, float beta,
                 float* v, float* block_sums) {
  int32_t j = 0;
  int32_t b = 0;
#if defined(__AVX512F__)
  // masked gathers with a zero source: GCC 12 warns (maybe-uninitialized) on the plain forms
  const __m512 vbeta = _mm512_set1_ps(beta);
  const __m512i zero_i = _mm512_setzero_si512();
  for (; j + 16 <= n; j += 16, ++b) {
    __m512i k = _mm512_loadu_si512(nz + j);
    __m512 w = _mm512_add_ps(
        _mm512_cvtepi32_ps(_mm512_mask_i32gather_epi32(zero_i, 0xFFFF, k, nw, 4)), vbeta);
    __m512 x = _mm512_mul_ps(w, _mm512_loadu_ps(coef + j));
    _mm512_storeu_ps(v + j, x);
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    block_sums[b] = _mm_cvtss_f32(s);
  }
#elif defined(__AVX2__)
  const __m256 vbeta = _mm256_set1_ps(beta);
  for (; j + 16 <= n; j += 16, ++b) {
    __m256 acc = _mm256_setzero_ps();
    for (int h = 0; h < 16; h += 8) {
      __m256i k = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nz + j + h));
      __m256 w = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_i32gather_epi32(nw, k, 4)), vbeta);
      __m256 x = _mm256_mul_ps(w, _mm256_loadu_ps(coef + j + h));
      _mm256_storeu_ps(v + j + h, x);
      acc = _mm256_add_ps(acc, x);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    block_sums[b] = _mm_cvtss_f32(s);
  }
#endif
  // remaining entries (all of them on the generic level), 16 at a time with 4 partial sums
  for (; j < n; ++b) {
    const int32_t end = j + kBucketBlock < n ? j + kBucketBlock : n;
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    for (int32_t q = 0; j < end; ++j, ++q) {
      const int32_t k = nz[j];
      const float x = (static_cast<float>(nw[k]) + beta) * coef[j];
      v[j] = x;
      acc[q & 3] += x;
    }
    block_sums[b] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }
  float total = 0.f;
  for (int32_t i = 0; i < b; ++i) total += block_sums[i];
  return total;
}

}  // namespace harpdaal::kernels::lda::HARPDAAL_ISA_NS
