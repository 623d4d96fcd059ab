// AVX-512 conjugate-gradient rows for float factors with k <= 128. Blocks of rows run their CG
// steps side by side: YᵀY·p for a tile of rows per pass over YᵀY (register-blocked, each YᵀY
// row loaded once per tile), then per row the sparse correction with p and A·p held in
// registers (k/16 zmm each), each y_i read once per pass (dot with p, then the scaled add) and
// the next entries' rows prefetched. The portable body (als_impl.hpp) keeps its vectors in
// memory and reduces every dot product through the stack.
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
};

inline void prefetch_row(const float* y, int64_t k) {
  const char* p = reinterpret_cast<const char*>(y);
  for (int64_t off = 0; off < k * int64_t(sizeof(float)); off += 64)
    _mm_prefetch(p + off, _MM_HINT_T0);
}

// Rows solved side by side (lockstep CG): YᵀY·p is then computed for several rows per pass over
// YᵀY (each of its rows loaded once for kTile rows), which is what the dense part needs at
// large k. Each row keeps its own CG scalars and stops on its own, so a row's result does not
// depend on the rows beside it (the per-row sums run in the same order), nor on the threads.
// A block ends after kBlock rows or once its rows' factor rows (entries x k floats) pass
// kBlockBytes: the CG passes of a block then re-read them from L2 (rows with many entries, as
// popular items have, thus run one at a time).
constexpr int64_t kBlock = 32;
constexpr int64_t kBlockBytes = 192 * 1024;

constexpr int tile_rows(int nc) { return nc <= 2 ? 8 : (nc <= 4 ? 4 : 2); }

// O[j] = sign * G V[j] for MR rows (row stride k).
template <int NC, int MR>
void symv_rows(const Row<NC>& R, const float* G, int64_t k, const float* V, float sign,
               float* O) {
  __m512 acc[MR][NC];
  for (int j = 0; j < MR; ++j)
    for (int c = 0; c < NC; ++c) acc[j][c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < k; ++b) {
    __m512 g[NC];
    for (int c = 0; c < NC; ++c) g[c] = R.load(G + b * k, c);
    for (int j = 0; j < MR; ++j) {
      const __m512 vb = _mm512_set1_ps(sign * V[j * k + b]);
      for (int c = 0; c < NC; ++c) acc[j][c] = _mm512_fmadd_ps(vb, g[c], acc[j][c]);
    }
  }
  for (int j = 0; j < MR; ++j)
    for (int c = 0; c < NC; ++c) R.store(O + j * k, c, acc[j][c]);
}

template <int NC>
void symv_block(const Row<NC>& R, const float* G, int64_t k, const float* V, int64_t n,
                float sign, float* O) {
  constexpr int MR = tile_rows(NC);
  int64_t j = 0;
  for (; j + MR <= n; j += MR) symv_rows<NC, MR>(R, G, k, V + j * k, sign, O + j * k);
  for (; j < n; ++j) symv_rows<NC, 1>(R, G, k, V + j * k, sign, O + j * k);
}

// scratch: 3 * kBlock * k floats.
template <int NC>
void cg_rows_nc(const RowsArgs<float>& a, int64_t begin, int64_t end, float* scratch) {
  const int64_t k = a.k;
  const Row<NC> R{static_cast<__mmask16>(k % 16 ? (1u << (k % 16)) - 1u : 0xFFFFu)};
  float* P = scratch;
  float* AP = P + kBlock * k;
  float* Rs = AP + kBlock * k;
  float rs[kBlock];
  bool live[kBlock];
  const int32_t* idx = a.indices;
  const float* val = a.values;
  for (int64_t b0 = begin, nb = 0; b0 < end; b0 += nb) {
    nb = 1;
    while (nb < kBlock && b0 + nb < end &&
           (a.indptr[b0 + nb + 1] - a.indptr[b0]) * k * int64_t(sizeof(float)) <= kBlockBytes)
      ++nb;
    float* Xb = a.X + b0 * k;
    int n_live = 0;
    symv_block(R, a.gram_reg, k, Xb, nb, -1.0f, Rs);  // r = -A_dense x
    for (int64_t j = 0; j < nb; ++j) {
      const int64_t lo = a.indptr[b0 + j], hi = a.indptr[b0 + j + 1];
      live[j] = false;
      if (lo == hi) {  // b = 0: the exact solution is 0
        for (int c = 0; c < NC; ++c) R.store(Xb + j * k, c, _mm512_setzero_ps());
        for (int c = 0; c < NC; ++c) R.store(P + j * k, c, _mm512_setzero_ps());
        continue;
      }
      const Vec<NC> x = R.load(Xb + j * k);
      Vec<NC> r = R.load(Rs + j * k);
      for (int64_t e = lo; e < hi; ++e) {
        if (e + kPrefetchAhead < hi) prefetch_row(a.Y + int64_t(idx[e + kPrefetchAhead]) * k, k);
        const float* y = a.Y + int64_t(idx[e]) * k;
        const float c = a.alpha * val[e];
        R.axpy(c - (c - 1.0f) * R.dot(y, x), y, r);
      }
      R.store(Rs + j * k, r);
      rs[j] = Row<NC>::dot(r, r);
      live[j] = !(rs[j] < 1e-20f);
      if (live[j]) {
        R.store(P + j * k, r);
        ++n_live;
      } else {
        for (int c = 0; c < NC; ++c) R.store(P + j * k, c, _mm512_setzero_ps());
      }
    }
    for (int step = 0; step < a.cg_steps && n_live > 0; ++step) {
      symv_block(R, a.gram_reg, k, P, nb, 1.0f, AP);
      for (int64_t j = 0; j < nb; ++j) {
        if (!live[j]) continue;
        const int64_t lo = a.indptr[b0 + j], hi = a.indptr[b0 + j + 1];
        Vec<NC> p = R.load(P + j * k);
        Vec<NC> ap = R.load(AP + j * k);
        for (int64_t e = lo; e < hi; ++e) {
          if (e + kPrefetchAhead < hi)
            prefetch_row(a.Y + int64_t(idx[e + kPrefetchAhead]) * k, k);
          const float* y = a.Y + int64_t(idx[e]) * k;
          R.axpy((a.alpha * val[e] - 1.0f) * R.dot(y, p), y, ap);
        }
        const __m512 step_len = _mm512_set1_ps(rs[j] / Row<NC>::dot(p, ap));
        Vec<NC> x = R.load(Xb + j * k);
        Vec<NC> r = R.load(Rs + j * k);
        for (int c = 0; c < NC; ++c) {
          x.v[c] = _mm512_fmadd_ps(step_len, p.v[c], x.v[c]);
          r.v[c] = _mm512_fnmadd_ps(step_len, ap.v[c], r.v[c]);
        }
        R.store(Xb + j * k, x);
        R.store(Rs + j * k, r);
        const float rs_new = Row<NC>::dot(r, r);
        if (rs_new < 1e-20f) {
          live[j] = false;
          --n_live;
          for (int c = 0; c < NC; ++c) R.store(P + j * k, c, _mm512_setzero_ps());
          continue;
        }
        const __m512 beta = _mm512_set1_ps(rs_new / rs[j]);
        for (int c = 0; c < NC; ++c) p.v[c] = _mm512_fmadd_ps(beta, p.v[c], r.v[c]);
        R.store(P + j * k, p);
        rs[j] = rs_new;
      }
    }
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
