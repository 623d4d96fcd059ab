// Metropolis-Hastings fold-in with 16 documents in AVX-512 lanes (see fold_mh.hpp).
#include <immintrin.h>

// GCC 12's AVX-512 headers build conversions and shifts on _mm*_undefined_*(), which
// -Wmaybe-uninitialized and -Wuninitialized flag where they inline here (a false positive: GCC
// PR 105593). Silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "kernels/common/mix64.hpp"
#include "kernels/lda/fold_mh.hpp"

namespace harpdaal::kernels::lda::avx512 {
namespace {

constexpr int kLanes = 16;

// mix64 (kernels/common/mix64.hpp) of 8 64-bit lanes
inline __m512i mix64_v(__m512i z) {
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                         _mm512_set1_epi64(static_cast<long long>(0xBF58476D1CE4E5B9ULL)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                         _mm512_set1_epi64(static_cast<long long>(0x94D049BB133111EBULL)));
  return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

// the low 32 bits of the 64-bit lanes of lo (lanes 0-7) and hi (lanes 8-15), as 16 lanes
inline __m512i low32(__m512i lo, __m512i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(lo)),
                            _mm512_cvtepi64_epi32(hi), 1);
}
inline __m512i shift_low32(__m512i lo, __m512i hi, int s) {
  return low32(_mm512_srli_epi64(lo, s), _mm512_srli_epi64(hi, s));
}

// base[idx] for the lanes in m (0 elsewhere)
inline __m512 gather_f(__mmask16 m, __m512i idx, const float* base) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base, 4);
}

// float in [0, 1) from 23 bits by the exponent trick (FoldMHSampler's unit_hi / u2)
inline __m512 unit23(__m512i bits23) {
  const __m512i bits = _mm512_or_si512(bits23, _mm512_set1_epi32(0x3F800000));
  return _mm512_sub_ps(_mm512_castsi512_ps(bits), _mm512_set1_ps(1.0f));
}

}  // namespace

void fold_mh_docs(const FoldMHArgs& A, const int64_t* docs, int64_t n_docs) {
  const int32_t K = A.K;
  const int64_t base = A.doc_ptr[0];  // token offsets below are relative to it
  int32_t* topics = A.topics + base;
  const int32_t* slots = A.slots + base;
  float* nd = A.nd;
  alignas(64) int32_t cur[kLanes], p0[kLanes], hi[kLanes], sweep[kLanes];
  alignas(64) int64_t doc[kLanes];
  alignas(64) uint64_t dkey[kLanes];
  alignas(64) float others[kLanes], mass[kLanes];
  int64_t next = 0;
  // lane l takes the next non-empty document: its counts into nd row l
  auto refill = [&](int l) -> bool {
    for (; next < n_docs; ++next) {
      const int64_t d = docs[next], q0 = A.doc_ptr[d], q1 = A.doc_ptr[d + 1];
      if (q0 == q1) continue;
      float* row = nd + static_cast<int64_t>(l) * K;
      for (int64_t i = q0; i < q1; ++i) row[A.topics[i]] += 1.0f;
      doc[l] = d;
      p0[l] = cur[l] = static_cast<int32_t>(q0 - base);
      hi[l] = static_cast<int32_t>(q1 - base);
      sweep[l] = 0;
      dkey[l] = fold_doc_key(A.seed, 0, A.first_doc_id + d);
      others[l] = static_cast<float>(q1 - q0 - 1);
      mass[l] = others[l] + A.k_alpha;
      ++next;
      return true;
    }
    return false;
  };
  uint32_t active = 0;
  for (int l = 0; l < kLanes; ++l)
    if (refill(l)) active |= 1u << l;
    else {
      cur[l] = p0[l] = 0;
      hi[l] = 1;
      dkey[l] = 0;
      others[l] = 0.0f;
      mass[l] = 1.0f;
    }

  const __m512i lane_row = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(K));
  const __m512i vK = _mm512_set1_epi32(K), vK1 = _mm512_set1_epi32(K - 1);
  const __m512i zero = _mm512_setzero_si512(), one_i = _mm512_set1_epi32(1);
  const __m512i low16 = _mm512_set1_epi32(0xFFFF), m23 = _mm512_set1_epi32(0x7FFFFF);
  const __m512 va = _mm512_set1_ps(A.alpha), vinv = _mm512_set1_ps(A.inv_alpha);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512i kTok = _mm512_set1_epi64(static_cast<long long>(0xA0761D6478BD642FULL));
  const __m512i kGold = _mm512_set1_epi64(static_cast<long long>(0x9E3779B97F4A7C15ULL));
  const __m512i kK64 = _mm512_set1_epi64(K);

  while (active) {
    const __mmask16 m = static_cast<__mmask16>(active);
    const __m512i vi = _mm512_load_si512(cur), vp0 = _mm512_load_si512(p0);
    const __m512i own = _mm512_sub_epi32(vi, vp0);
    const __m512i n = _mm512_sub_epi32(_mm512_load_si512(hi), vp0);
    // key = mix64(dkey ^ (i - p0) * C), lanes 0-7 and 8-15
    const __m512i own_lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(own));
    const __m512i own_hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(own, 1));
    const __m512i key_lo =
        mix64_v(_mm512_xor_si512(_mm512_load_si512(dkey), _mm512_mullo_epi64(own_lo, kTok)));
    const __m512i key_hi =
        mix64_v(_mm512_xor_si512(_mm512_load_si512(dkey + 8), _mm512_mullo_epi64(own_hi, kTok)));
    const __m512i slot = _mm512_mask_i32gather_epi32(zero, m, vi, slots, 4);
    const __m512i s0 = _mm512_mask_i32gather_epi32(zero, m, vi, topics, 4);
    const __m512i row = _mm512_mullo_epi32(slot, vK);
    // the token out of its document's counts
    const __m512i nd_s0 = _mm512_add_epi32(lane_row, s0);
    __m512 c = gather_f(m, nd_s0, nd);
    _mm512_mask_i32scatter_ps(nd, m, nd_s0, _mm512_sub_ps(c, one), 4);
    __m512i s = s0;
    const __m512 vothers = _mm512_load_ps(others), vmass = _mm512_load_ps(mass);
    for (int p = 0; p < A.pairs; ++p) {
      __m512i r1_lo = key_lo, r1_hi = key_hi;
      if (p > 0) {
        const __m512i add = _mm512_mullo_epi64(_mm512_set1_epi64(2 * p + 1), kGold);
        r1_lo = mix64_v(_mm512_add_epi64(key_lo, add));
        r1_hi = mix64_v(_mm512_add_epi64(key_hi, add));
      }
      const __m512i add2 = _mm512_mullo_epi64(_mm512_set1_epi64(2 * p + 2), kGold);
      const __m512i r2_lo = mix64_v(_mm512_add_epi64(key_lo, add2));
      const __m512i r2_hi = mix64_v(_mm512_add_epi64(key_hi, add2));
      // word proposal: (r1 & 0xFFFFFFFF) * K -> bucket j (high 32 bits), fraction (bits 16-31)
      const __m512i pick_lo = _mm512_mul_epu32(r1_lo, kK64);
      const __m512i pick_hi = _mm512_mul_epu32(r1_hi, kK64);
      const __m512i j = shift_low32(pick_lo, pick_hi, 32);
      const __m512i frac = _mm512_and_si512(shift_low32(pick_lo, pick_hi, 16), low16);
      const __m512i al = _mm512_mask_i32gather_epi32(zero, m, _mm512_add_epi32(row, j), A.alias, 4);
      const __mmask16 keep = _mm512_cmplt_epu32_mask(frac, _mm512_and_si512(al, low16));
      __m512i t = _mm512_mask_blend_epi32(keep, _mm512_srli_epi32(al, 16), j);
      const __m512 nds = gather_f(m, _mm512_add_epi32(lane_row, s), nd);
      const __m512 ndt = gather_f(m, _mm512_add_epi32(lane_row, t), nd);
      const __m512 u1 = unit23(shift_low32(r1_lo, r1_hi, 41));
      const __mmask16 acc1 = _mm512_cmp_ps_mask(_mm512_mul_ps(u1, _mm512_add_ps(nds, va)),
                                                _mm512_add_ps(ndt, va), _CMP_LT_OQ);
      s = _mm512_mask_blend_epi32(acc1, s, t);
      // doc proposal over the document's other tokens, or a uniform topic
      const __m512 ud = _mm512_mul_ps(unit23(shift_low32(r2_lo, r2_hi, 41)), vmass);
      __m512i pos = _mm512_cvttps_epi32(ud);
      pos = _mm512_min_epi32(pos, _mm512_sub_epi32(n, _mm512_set1_epi32(2)));
      pos = _mm512_max_epi32(pos, zero);
      pos = _mm512_mask_add_epi32(pos, _mm512_cmpge_epi32_mask(pos, own), pos, one_i);
      pos = _mm512_min_epi32(pos, _mm512_sub_epi32(n, one_i));
      const __m512i from_doc =
          _mm512_mask_i32gather_epi32(zero, m, _mm512_add_epi32(vp0, pos), topics, 4);
      __m512i uni = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_sub_ps(ud, vothers), vinv));
      uni = _mm512_max_epi32(_mm512_min_epi32(uni, vK1), zero);
      t = _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(ud, vothers, _CMP_LT_OQ), uni, from_doc);
      const __m512 u2 = unit23(_mm512_and_si512(low32(r2_lo, r2_hi), m23));
      const __m512 phs = gather_f(m, _mm512_add_epi32(row, s), A.phi);
      const __m512 pht = gather_f(m, _mm512_add_epi32(row, t), A.phi);
      const __mmask16 acc2 = _mm512_cmp_ps_mask(_mm512_mul_ps(u2, phs), pht, _CMP_LT_OQ);
      s = _mm512_mask_blend_epi32(acc2, s, t);
    }
    // the new topic in, the lanes advance
    _mm512_mask_i32scatter_epi32(topics, m, vi, s, 4);
    const __m512i nd_s = _mm512_add_epi32(lane_row, s);
    c = gather_f(m, nd_s, nd);
    _mm512_mask_i32scatter_ps(nd, m, nd_s, _mm512_add_ps(c, one), 4);
    const __m512i vnext = _mm512_mask_add_epi32(vi, m, vi, one_i);
    _mm512_store_si512(cur, vnext);
    // lanes at the end of a sweep: counts out, next sweep or next document
    uint32_t done = _mm512_mask_cmpge_epi32_mask(m, vnext, _mm512_load_si512(hi));
    while (done) {
      const int l = __builtin_ctz(done);
      done &= done - 1;
      const int64_t d = doc[l];
      float* nrow = nd + static_cast<int64_t>(l) * K;
      if (A.doc_topic && sweep[l] >= A.burn_in) {
        float* out = A.doc_topic + d * K;
        if (fold_counts_by_row(hi[l] - p0[l], K)) {
          for (int32_t k = 0; k < K; k += kLanes) {
            const int32_t w = K - k < kLanes ? K - k : kLanes;
            const __mmask16 km = static_cast<__mmask16>((1u << w) - 1);
            _mm512_mask_storeu_ps(out + k, km, _mm512_add_ps(_mm512_maskz_loadu_ps(km, out + k),
                                                             _mm512_maskz_loadu_ps(km, nrow + k)));
          }
        } else {
          for (int32_t i = p0[l]; i < hi[l]; ++i) out[topics[i]] += 1.0f;
        }
      }
      if (++sweep[l] < A.n_sweeps) {
        cur[l] = p0[l];
        dkey[l] = fold_doc_key(A.seed, sweep[l], A.first_doc_id + d);
        continue;
      }
      for (int32_t i = p0[l]; i < hi[l]; ++i) nrow[topics[i]] = 0.0f;
      if (!refill(l)) {
        active &= ~(1u << l);
        cur[l] = p0[l] = 0;
        hi[l] = 1;
      }
    }
  }
}

}  // namespace harpdaal::kernels::lda::avx512
