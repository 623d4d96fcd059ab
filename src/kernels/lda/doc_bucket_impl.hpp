// Body of lda::doc_bucket, compiled once per ISA (HARPDAAL_ISA_NS names the copy). avx512f and
// avx512 compile the same AVX-512 F code (gathers, alignr, permutexvar: no BW/DQ/VL): same bits.
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() and trip -Wmaybe-uninitialized
// (a known false positive): silence it for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

#include "kernels/common/simd.hpp"
#include "kernels/lda/doc_bucket.hpp"

namespace harpdaal::kernels::lda::HARPDAAL_ISA_NS {

namespace vx = ::harpdaal::kernels::simd::HARPDAAL_ISA_NS;

float doc_bucket(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw, float beta,
                 float* v, float* block_sums) {
  int32_t j = 0;
  int32_t b = 0;
#if defined(__AVX512F__)
  // masked gathers with a zero source: GCC 12 warns (maybe-uninitialized) on the plain forms
  const __m512 vbeta = _mm512_set1_ps(beta);
  const __m512i zero_i = _mm512_setzero_si512();  // the zero lanes shifted into the prefix sums
  // the last, partial block too, with masked loads: lanes past n read nothing and add 0
  for (; j < n; j += 16, ++b) {
    const __mmask16 m = vx::first_lanes16(n - j);
    __m512i k = _mm512_maskz_loadu_epi32(m, nz + j);
    __m512 w = _mm512_add_ps(
        _mm512_cvtepi32_ps(_mm512_mask_i32gather_epi32(zero_i, m, k, nw, 4)), vbeta);
    __m512 x = _mm512_mul_ps(w, _mm512_maskz_loadu_ps(m, coef + j));
    // inclusive prefix sum within the block (lane i += lane i - s for s = 1, 2, 4, 8)
    const __m512i xi0 = _mm512_castps_si512(x);
    x = _mm512_add_ps(x, _mm512_castsi512_ps(_mm512_alignr_epi32(xi0, zero_i, 15)));
    const __m512i xi1 = _mm512_castps_si512(x);
    x = _mm512_add_ps(x, _mm512_castsi512_ps(_mm512_alignr_epi32(xi1, zero_i, 14)));
    const __m512i xi2 = _mm512_castps_si512(x);
    x = _mm512_add_ps(x, _mm512_castsi512_ps(_mm512_alignr_epi32(xi2, zero_i, 12)));
    const __m512i xi3 = _mm512_castps_si512(x);
    x = _mm512_add_ps(x, _mm512_castsi512_ps(_mm512_alignr_epi32(xi3, zero_i, 8)));
    _mm512_storeu_ps(v + j, x);
    block_sums[b] = _mm_cvtss_f32(_mm512_castps512_ps128(
        _mm512_permutexvar_ps(_mm512_set1_epi32(15), x)));
  }
#elif defined(__AVX2__)
  const __m256 vbeta = _mm256_set1_ps(beta);
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i zero_i = _mm256_setzero_si256();
  // the last, partial block too, with masked loads: lanes past n read nothing and add 0
  for (; j < n; j += 16, ++b) {
    __m256 carry = _mm256_setzero_ps();  // the block's running total, in every lane
    for (int h = 0; h < 16; h += 8) {
      const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - j - h), iota);
      __m256i k = _mm256_maskload_epi32(nz + j + h, m);
      __m256 w = _mm256_add_ps(
          _mm256_cvtepi32_ps(_mm256_mask_i32gather_epi32(zero_i, nw, k, m, 4)), vbeta);
      __m256 x = _mm256_mul_ps(w, _mm256_maskload_ps(coef + j + h, m));
      // inclusive prefix within each 128-bit half, then the low half's total into the high one
      x = _mm256_add_ps(x, _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(x), 4)));
      x = _mm256_add_ps(x, _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(x), 8)));
      __m256 low_total = _mm256_permute_ps(x, 0xFF);
      x = _mm256_add_ps(x, _mm256_permute2f128_ps(low_total, low_total, 0x08));
      x = _mm256_add_ps(x, carry);
      _mm256_storeu_ps(v + j + h, x);
      carry = _mm256_permute2f128_ps(x, x, 0x11);
      carry = _mm256_permute_ps(carry, 0xFF);
    }
    block_sums[b] = _mm256_cvtss_f32(carry);
  }
#endif
  // remaining entries (all of them on the generic level), 16 at a time
  for (; j < n; ++b) {
    const int32_t end = j + kBucketBlock < n ? j + kBucketBlock : n;
    float acc = 0.f;
    for (; j < end; ++j) {
      const int32_t k = nz[j];
      acc += (static_cast<float>(nw[k]) + beta) * coef[j];
      v[j] = acc;
    }
    block_sums[b] = acc;
  }
  float total = 0.f;
  for (int32_t i = 0; i < b; ++i) total += block_sums[i];
  return total;
}

int32_t doc_bucket_draw(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw,
                        float beta, float smooth, float u01, float* v, float* block_sums) {
  const float z = doc_bucket(nz, n, coef, nw, beta, v, block_sums);
  float u = u01 * (z + smooth);
  if (!(u < z)) return -1;
#if defined(__AVX512F__) || defined(__AVX2__)
  int32_t len = 0;
  const int32_t j0 = find_block(block_sums, n, u, &len);
  // entries of the block whose prefix stays <= u, the last one excluded (it takes what is left)
  const uint32_t valid = (1u << (len - 1)) - 1u;
  return j0 + __builtin_popcount(vx::le_bits16(v + j0, u) & valid);
#else
  return find_in_bucket(v, block_sums, n, u);
#endif
}
}  // namespace harpdaal::kernels::lda::HARPDAAL_ISA_NS
