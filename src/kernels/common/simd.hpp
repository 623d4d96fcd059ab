// Small SIMD helpers shared by the per-ISA kernel bodies (horizontal sums, lane butterflies,
// tail masks, prefetch, lane compares). Include it from a *_impl.hpp after HARPDAAL_ISA_NS is
// defined: the helpers live in harpdaal::kernels::simd::HARPDAAL_ISA_NS, so the copies built with
// different flags never merge at link time. What a helper offers depends on the flags of the
// including file: the 256-bit ones need AVX2 (avx2 and both AVX-512 levels), the 512-bit ones
// AVX-512 F only (avx512f and avx512: nothing here needs BW, DQ or VL, so Knights Landing runs
// all of it). Every reduction adds in one fixed order whatever the level, so a kernel that
// calls it gets the same bits at avx512f and avx512.
//
// Some of GCC 12's AVX-512 intrinsics start from _mm*_undefined_*() and then trip
// -Wmaybe-uninitialized once inlined (GCC PR 105593); the 512-bit shuffles below therefore use
// their masked forms with an explicit zero source and an all-ones mask, which GCC folds back to
// the plain instruction.
#pragma once
#include <cstdint>

#ifndef HARPDAAL_ISA_NS
#error "define HARPDAAL_ISA_NS (generic, avx2, avx512f or avx512) before including simd.hpp"
#endif

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace harpdaal::kernels::simd::HARPDAAL_ISA_NS {

// Software prefetch into L1 (t0) or L2 (t1); nothing on the generic level (its bodies never
// prefetched). An address past the end of an array is fine: a prefetch never faults.
inline void prefetch_t0(const void* p) {
#if defined(__AVX512F__) || defined(__AVX2__)
  _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
#else
  (void)p;
#endif
}
inline void prefetch_t1(const void* p) {
#if defined(__AVX512F__) || defined(__AVX2__)
  _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1);
#else
  (void)p;
#endif
}
inline void prefetch_t0(uintptr_t p) { prefetch_t0(reinterpret_cast<const void*>(p)); }
inline void prefetch_t1(uintptr_t p) { prefetch_t1(reinterpret_cast<const void*>(p)); }

#if defined(__AVX512F__) || defined(__AVX2__)
// Sum of the lanes: halves added pairwise down to one lane, ((l0+l2)+(l1+l3)) at the end.
inline float hsum(__m128 h) {
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}
inline float hsum(__m256 a) {
  return hsum(_mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1)));
}
// The lane sums of four vectors, (sum a, sum b, sum c, sum d), by one transpose-and-add (three
// hadds and one add for all four): the same addition tree for each of them.
inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}
inline double hsum(__m256d a) {
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

// Bit l set where p[l] <= u, for the 16 floats at p (a count of them: __builtin_popcount).
inline uint32_t le_bits16(const float* p, float u) {
#if defined(__AVX512F__)
  return static_cast<uint32_t>(
      _mm512_cmp_ps_mask(_mm512_loadu_ps(p), _mm512_set1_ps(u), _CMP_LE_OQ));
#else
  const __m256 vu = _mm256_set1_ps(u);
  const uint32_t lo =
      static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p), vu, _CMP_LE_OQ)));
  const uint32_t hi = static_cast<uint32_t>(
      _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + 8), vu, _CMP_LE_OQ)));
  return lo | (hi << 8);
#endif
}
#endif

#if defined(__AVX512F__)
// The first n lanes (n >= the width: all of them).
inline __mmask16 first_lanes16(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}
inline __mmask8 first_lanes8(int64_t n) {
  return n >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << n) - 1u);
}

// The 256-bit halves (vextractf64x4: AVX-512 F; the 32x8 form would need DQ). The low half too
// goes through the masked extract (GCC 12 builds _mm512_cast*512_*256 on the plain one); it
// folds to a register alias.
template <int Half>
inline __m256d half256(__m512d a) {
  return _mm512_mask_extractf64x4_pd(_mm256_setzero_pd(), __mmask8(0xFF), a, Half);
}
inline __m256d lo256(__m512d a) { return half256<0>(a); }
inline __m256d hi256(__m512d a) { return half256<1>(a); }
inline __m256 lo256(__m512 a) { return _mm256_castpd_ps(half256<0>(_mm512_castps_pd(a))); }
inline __m256 hi256(__m512 a) { return _mm256_castpd_ps(half256<1>(_mm512_castps_pd(a))); }
// Sum of the lanes, halves first: the same order as _mm512_reduce_add_ps/pd.
inline float hsum(__m512 a) { return hsum(_mm256_add_ps(lo256(a), hi256(a))); }
inline double hsum(__m512d a) { return hsum(_mm256_add_pd(lo256(a), hi256(a))); }
// The same sums (the same bits) through a stack slot: one store and two loads instead of the
// 512-bit extract, one shuffle-port µop fewer. Better where many independent sums run back to
// back (K-means' dot tile); hsum has the shorter latency (a single sum on a dependency chain).
inline float hsum_store(__m512 a) {
  alignas(64) float t[16];
  _mm512_store_ps(t, a);
  return hsum(_mm256_add_ps(_mm256_load_ps(t), _mm256_load_ps(t + 8)));
}
inline double hsum_store(__m512d a) {
  alignas(64) double t[8];
  _mm512_store_pd(t, a);
  return hsum(_mm256_add_pd(_mm256_load_pd(t), _mm256_load_pd(t + 4)));
}

// Shuffles, masked forms with an explicit source (see the top of the file).
template <int Imm>
inline __m512 shuf128(__m512 a, __m512 b) {  // vshuff32x4
  return _mm512_mask_shuffle_f32x4(_mm512_setzero_ps(), __mmask16(0xFFFF), a, b, Imm);
}
template <int Imm>
inline __m512 shuf32(__m512 a, __m512 b) {  // vshufps within each 128-bit block
  return _mm512_mask_shuffle_ps(_mm512_setzero_ps(), __mmask16(0xFFFF), a, b, Imm);
}
template <int Imm>
inline __m512 permute32(__m512 a) {  // vpermilps within each 128-bit block
  return _mm512_mask_permute_ps(a, __mmask16(0xFFFF), a, Imm);
}
inline __m512 unpack_lo(__m512 a, __m512 b) {
  return _mm512_mask_unpacklo_ps(_mm512_setzero_ps(), __mmask16(0xFFFF), a, b);
}
inline __m512 unpack_hi(__m512 a, __m512 b) {
  return _mm512_mask_unpackhi_ps(_mm512_setzero_ps(), __mmask16(0xFFFF), a, b);
}

// Every lane <- op over the 16 lanes, by a butterfly (128-bit blocks swapped by 2 then by 1,
// then lanes by 2 then by 1): the result is the same in every lane, no broadcast needed.
template <class Op>
inline __m512 butterfly(__m512 v, Op op) {
  v = op(v, shuf128<0x4E>(v, v));
  v = op(v, shuf128<0xB1>(v, v));
  v = op(v, permute32<0x4E>(v));
  return op(v, permute32<0xB1>(v));
}
inline __m512 allsum(__m512 v) {
  return butterfly(v, [](__m512 a, __m512 b) { return _mm512_add_ps(a, b); });
}
// (max / min exact: no rounding, so the order does not matter for these)
inline __m512 allmax(__m512 v) {
  return butterfly(v, [](__m512 a, __m512 b) {
    return _mm512_mask_max_ps(a, __mmask16(0xFFFF), a, b);
  });
}
inline __m512 allmin(__m512 v) {
  return butterfly(v, [](__m512 a, __m512 b) {
    return _mm512_mask_min_ps(a, __mmask16(0xFFFF), a, b);
  });
}
#endif

}  // namespace harpdaal::kernels::simd::HARPDAAL_ISA_NS
