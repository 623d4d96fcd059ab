// AVX-512 conjugate-gradient rows for float factors with k <= 128: a row's x, r, p and A·p live
// in registers (k/16 zmm each) for all its CG steps, the sparse correction reads each y_i once
// per pass (dot with p, then the scaled add into A·p) with the next rows prefetched, and
// YᵀY·p is a sum of broadcast-scaled rows of YᵀY. The portable body (als_impl.hpp) keeps its
// vectors in memory and reduces every dot product through the stack; this one was measured
// 3-4x faster per half-step on pinterest-20 at k = 64.
#include <immintrin.h>

// GCC 12's AVX-512 headers build shuffles on _mm*_undefined_*(), which -Wmaybe-uninitialized
// flags where they inline here (a false positive: GCC PR 105593). Silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

#include "kernels/als/rows.hpp"

namespace harpdaal::kernels::als::avx512 {

namespace {

constexpr int64_t kPrefetchAhead = 4;  // entries

template <int NC>
struct Vec {
  __m512 v[NC];
};

template <int NC>
struct Row {
  __mmask16 tail;  // lanes of the last 16-float chunk that lie inside k

  __m512 load(const float* p, int c) const {
    return c == NC - 1 ? _mm512_maskz_loadu_ps(tail, p + 16 * c) : _mm512_loadu_ps(p + 16 * c);
  }
  void store(float* p, int c, __m512 v) const {
    if (c == NC - 1) _mm512_mask_storeu_ps(p + 16 * c, tail, v);
    else _mm512_storeu_ps(p + 16 * c, v);
  }
  Vec<NC> load(const float* p) const {
    Vec<NC> out;
    for (int c = 0; c < NC; ++c) out.v[c] = load(p, c);
    return out;
  }
  void store(float* p, const Vec<NC>& a) const {
    for (int c = 0; c < NC; ++c) store(p, c, a.v[c]);
  }
  static float dot(const Vec<NC>& a, const Vec<NC>& b) {
    __m512 s0 = _mm512_mul_ps(a.v[0], b.v[0]);
    __m512 s1 = _mm512_setzero_ps();
    for (int c = 1; c < NC; ++c) {
      if (c % 2) s1 = _mm512_fmadd_ps(a.v[c], b.v[c], s1);
      else s0 = _mm512_fmadd_ps(a.v[c], b.v[c], s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  }
  // y (from memory) . a
  float dot(const float* y, const Vec<NC>& a) const {
    __m512 s0 = _mm512_mul_ps(load(y, 0), a.v[0]);
    __m512 s1 = _mm512_setzero_ps();
    for (int c = 1; c < NC; ++c) {
      if (c % 2) s1 = _mm512_fmadd_ps(load(y, c), a.v[c], s1);
      else s0 = _mm512_fmadd_ps(load(y, c), a.v[c], s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  }
  // acc += s * y (y from memory)
  void axpy(float s, const float* y, Vec<NC>& acc) const {
    const __m512 sv = _mm512_set1_ps(s);
    for (int c = 0; c < NC; ++c) acc.v[c] = _mm512_fmadd_ps(sv, load(y, c), acc.v[c]);
  }
  // out = sign * G v, G symmetric k x k; v also in memory at vmem (for the broadcasts)
  Vec<NC> symv(const float* G, int64_t k, const float* vmem, float sign) const {
    Vec<NC> out;
    for (int c = 0; c < NC; ++c) out.v[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < k; ++b) {
      const __m512 vb = _mm512_set1_ps(sign * vmem[b]);
      for (int c = 0; c < NC; ++c) out.v[c] = _mm512_fmadd_ps(vb, load(G + b * k, c), out.v[c]);
    }
    return out;
  }
};

inline void prefetch_row(const float* y, int64_t k) {
  const char* p = reinterpret_cast<const char*>(y);
  for (int64_t off = 0; off < k * int64_t(sizeof(float)); off += 64)
    _mm_prefetch(p + off, _MM_HINT_T0);
}

template <int NC>
void cg_rows_nc(const RowsArgs<float>& a, int64_t begin, int64_t end, float* scratch) {
  const int64_t k = a.k;
  const Row<NC> R{static_cast<__mmask16>(k % 16 ? (1u << (k % 16)) - 1u : 0xFFFFu)};
  float* pmem = scratch;
  for (int64_t u = begin; u < end; ++u) {
    float* xmem = a.X + u * k;
    const int64_t lo = a.indptr[u], hi = a.indptr[u + 1];
    if (lo == hi) {  // b = 0: the exact solution is 0
      for (int c = 0; c < NC; ++c) R.store(xmem, c, _mm512_setzero_ps());
      continue;
    }
    const int32_t* idx = a.indices;
    const float* val = a.values;
    Vec<NC> x = R.load(xmem);
    // r = b - A x
    Vec<NC> r = R.symv(a.gram_reg, k, xmem, -1.0f);
    for (int64_t e = lo; e < hi; ++e) {
      if (e + kPrefetchAhead < hi) prefetch_row(a.Y + int64_t(idx[e + kPrefetchAhead]) * k, k);
      const float* y = a.Y + int64_t(idx[e]) * k;
      const float c = a.alpha * val[e];
      R.axpy(c - (c - 1.0f) * R.dot(y, x), y, r);
    }
    Vec<NC> p = r;
    float rs_old = Row<NC>::dot(r, r);
    if (rs_old < 1e-20f) continue;
    for (int step = 0; step < a.cg_steps; ++step) {
      R.store(pmem, p);
      Vec<NC> ap = R.symv(a.gram_reg, k, pmem, 1.0f);
      for (int64_t e = lo; e < hi; ++e) {
        if (e + kPrefetchAhead < hi) prefetch_row(a.Y + int64_t(idx[e + kPrefetchAhead]) * k, k);
        const float* y = a.Y + int64_t(idx[e]) * k;
        R.axpy((a.alpha * val[e] - 1.0f) * R.dot(y, p), y, ap);
      }
      const __m512 step_len = _mm512_set1_ps(rs_old / Row<NC>::dot(p, ap));
      for (int c = 0; c < NC; ++c) {
        x.v[c] = _mm512_fmadd_ps(step_len, p.v[c], x.v[c]);
        r.v[c] = _mm512_fnmadd_ps(step_len, ap.v[c], r.v[c]);
      }
      const float rs_new = Row<NC>::dot(r, r);
      if (rs_new < 1e-20f) break;
      const __m512 beta = _mm512_set1_ps(rs_new / rs_old);
      for (int c = 0; c < NC; ++c) p.v[c] = _mm512_fmadd_ps(beta, p.v[c], r.v[c]);
      rs_old = rs_new;
    }
    R.store(xmem, x);
  }
}

}  // namespace

// The register-resident body for k <= 128 (nullptr otherwise: the caller uses cg_rows).
CgRowsFn cg_rows_registers(int64_t k) {
  switch ((k + 15) / 16) {
    case 1: return &cg_rows_nc<1>;
    case 2: return &cg_rows_nc<2>;
    case 3: return &cg_rows_nc<3>;
    case 4: return &cg_rows_nc<4>;
    case 5: return &cg_rows_nc<5>;
    case 6: return &cg_rows_nc<6>;
    case 7: return &cg_rows_nc<7>;
    case 8: return &cg_rows_nc<8>;
    default: return nullptr;
  }
}

}  // namespace harpdaal::kernels::als::avx512
