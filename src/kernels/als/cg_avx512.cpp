// AVX-512 conjugate-gradient rows for float factors with k <= 128: per row, p and A·p held in
// registers (k/16 zmm each) through the sparse correction, each y_i read once per pass (dot
// with p, then the scaled add) and the next entries' rows prefetched; YᵀY·p for blocks of short
// rows by MKL sgemm (see cg_rows_nc). The portable body (als_impl.hpp) keeps its vectors in
// memory and reduces every dot product through the stack.
#include <immintrin.h>

// GCC 12's AVX-512 headers build shuffles on _mm*_undefined_*(), which -Wmaybe-uninitialized
// and -Wuninitialized flag where they inline here (a false positive: GCC PR 105593). Silenced
// for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <mkl.h>

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

// Short rows (factor rows up to kShortBytes) are solved kBlock at a time in lockstep: YᵀY·p
// for the whole block is one dense product of a fixed shape (kBlock x k times k x k, 64-byte
// aligned operands, unused rows zero): MKL's sgemm on Intel CPUs, our register tile
// (block_product) elsewhere (see block_product_by_mkl in als.cpp). Each row
// keeps its own CG scalars and stops on its own. A row's result depends only on the row: the
// sgemm computes every row of its fixed-shape product with the same sequence of operations,
// whichever rows share the block (checked by the tests that shuffle rows, change thread counts
// and split rows over ranks). Long rows (popular items: thousands of entries) run one at a time
// with our own product, their entries staying in L2 across the CG passes.
constexpr int64_t kBlock = 32;
constexpr int64_t kShortBytes = 16 * 1024;

// O = sign * V G for one row (V, O: k floats), G symmetric k x k.
template <int NC>
void symv_row(const Row<NC>& R, const float* G, int64_t k, const float* V, float sign,
              float* O) {
  __m512 acc[NC];
  for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < k; ++b) {
    const __m512 vb = _mm512_set1_ps(sign * V[b]);
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_fmadd_ps(vb, R.load(G + b * k, c), acc[c]);
  }
  for (int c = 0; c < NC; ++c) R.store(O, c, acc[c]);
}

// O = sign * V G for a block of kBlock rows (V, O: kBlock x k, G: k x k), register-tiled:
// 8 rows x 2 chunks of 16 columns of accumulators (16 zmm), G's two row chunks loaded once per
// inner index for the 8 rows, V's entries broadcast. 8 x 2 ran at 107-114 GFLOP/s for k = 32 to
// 128 on AMD Zen 4 (one thread), 4 x 4 at 77-113 (77 at k = 64). Every row's result is the
// same sequence of operations whichever rows share the block.
constexpr int kTileRows = 8;

template <int NC, int NT>
void product_tile(const Row<NC>& R, const float* G, int64_t k, const float* V, float sign,
                  float* O, int c0) {
  const __m512 s = _mm512_set1_ps(sign);
  for (int64_t i0 = 0; i0 < kBlock; i0 += kTileRows) {
    __m512 acc[kTileRows][NT];
    for (int r = 0; r < kTileRows; ++r)
      for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_setzero_ps();
    const float* v = V + i0 * k;
    for (int64_t b = 0; b < k; ++b) {
      __m512 g[NT];
      for (int t = 0; t < NT; ++t) g[t] = R.load(G + b * k, c0 + t);
      for (int r = 0; r < kTileRows; ++r) {
        const __m512 vb = _mm512_set1_ps(v[r * k + b]);
        for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_fmadd_ps(vb, g[t], acc[r][t]);
      }
    }
    for (int r = 0; r < kTileRows; ++r)
      for (int t = 0; t < NT; ++t) R.store(O + (i0 + r) * k, c0 + t, _mm512_mul_ps(s, acc[r][t]));
  }
}

template <int NC>
void block_product(const Row<NC>& R, const float* G, int64_t k, const float* V, float sign,
                   float* O) {
  static_assert(kBlock % kTileRows == 0, "the tiles cover the block's rows");
  for (int c0 = 0; c0 < NC; c0 += 2) {
    if (NC - c0 >= 2) product_tile<NC, 2>(R, G, k, V, sign, O, c0);
    else product_tile<NC, 1>(R, G, k, V, sign, O, c0);
  }
}

// CG for the rows `rows[0..nb)` (nb == 1 or a short-row block); buffers of kBlock x k floats:
// Xs (their factors), Rs, P, AP. `blocked`: the dense products by the fixed-shape sgemm.
template <int NC>
void cg_block(const RowsArgs<float>& a, const Row<NC>& R, const int64_t* rows, int64_t nb,
              bool blocked, float* Xs, float* Rs, float* P, float* AP) {
  const int64_t k = a.k;
  const int32_t* idx = a.indices;
  const float* val = a.values;
  auto dense = [&](const float* V, float sign, float* O) {
    if (blocked && a.mkl_block_product)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, MKL_INT(kBlock), MKL_INT(k),
                  MKL_INT(k), sign, V, MKL_INT(k), a.gram_reg, MKL_INT(k), 0.0f, O, MKL_INT(k));
    else if (blocked)
      block_product(R, a.gram_reg, k, V, sign, O);
    else
      symv_row(R, a.gram_reg, k, V, sign, O);
  };
  float rs[kBlock];
  bool live[kBlock];
  // rows with an entry of confidence other than 1: the others' A p has no sparse part (alpha r
  // = 1 adds nothing to A), so their CG steps skip the entries
  bool weighted[kBlock];
  int n_live = 0;
  for (int64_t j = 0; j < nb; ++j)
    for (int c = 0; c < NC; ++c) R.store(Xs + j * k, c, R.load(a.X + rows[j] * k, c));
  dense(Xs, -1.0f, Rs);  // r = -(YᵀY + reg I) x
  for (int64_t j = 0; j < nb; ++j) {
    const int64_t lo = a.indptr[rows[j]], hi = a.indptr[rows[j] + 1];
    const Vec<NC> x = R.load(Xs + j * k);
    Vec<NC> r = R.load(Rs + j * k);
    bool w = false;
    for (int64_t e = lo; e < hi; ++e) {
      if (e + kPrefetchAhead < hi) prefetch_row(a.Y + int64_t(idx[e + kPrefetchAhead]) * k, k);
      const float* y = a.Y + int64_t(idx[e]) * k;
      const float c = a.alpha * val[e];
      const bool one = c == 1.0f;  // then c - (c - 1) y.x is 1: no dot product needed
      w |= !one;
      R.axpy(one ? 1.0f : c - (c - 1.0f) * R.dot(y, x), y, r);
    }
    weighted[j] = w;
    R.store(Rs + j * k, r);
    rs[j] = Row<NC>::dot(r, r);
    live[j] = !(rs[j] < 1e-20f);
    n_live += live[j];
    R.store(P + j * k, live[j] ? r : Vec<NC>{});
  }
  for (int step = 0; step < a.cg_steps && n_live > 0; ++step) {
    dense(P, 1.0f, AP);
    for (int64_t j = 0; j < nb; ++j) {
      if (!live[j]) continue;
      const int64_t lo = weighted[j] ? a.indptr[rows[j]] : a.indptr[rows[j] + 1];
      const int64_t hi = a.indptr[rows[j] + 1];
      Vec<NC> p = R.load(P + j * k);
      Vec<NC> ap = R.load(AP + j * k);
      for (int64_t e = lo; e < hi; ++e) {
        if (e + kPrefetchAhead < hi) prefetch_row(a.Y + int64_t(idx[e + kPrefetchAhead]) * k, k);
        const float* y = a.Y + int64_t(idx[e]) * k;
        R.axpy((a.alpha * val[e] - 1.0f) * R.dot(y, p), y, ap);
      }
      const __m512 step_len = _mm512_set1_ps(rs[j] / Row<NC>::dot(p, ap));
      Vec<NC> x = R.load(Xs + j * k);
      Vec<NC> r = R.load(Rs + j * k);
      for (int c = 0; c < NC; ++c) {
        x.v[c] = _mm512_fmadd_ps(step_len, p.v[c], x.v[c]);
        r.v[c] = _mm512_fnmadd_ps(step_len, ap.v[c], r.v[c]);
      }
      R.store(Xs + j * k, x);
      R.store(Rs + j * k, r);
      const float rs_new = Row<NC>::dot(r, r);
      if (rs_new < 1e-20f) {
        live[j] = false;
        --n_live;
        R.store(P + j * k, Vec<NC>{});
        continue;
      }
      const __m512 beta = _mm512_set1_ps(rs_new / rs[j]);
      for (int c = 0; c < NC; ++c) p.v[c] = _mm512_fmadd_ps(beta, p.v[c], r.v[c]);
      R.store(P + j * k, p);
      rs[j] = rs_new;
    }
  }
  for (int64_t j = 0; j < nb; ++j)
    for (int c = 0; c < NC; ++c) R.store(a.X + rows[j] * k, c, R.load(Xs + j * k, c));
}

// scratch: 64-byte aligned, 4 * kBlock * k floats.
template <int NC>
void cg_rows_nc(const RowsArgs<float>& a, int64_t begin, int64_t end, float* scratch) {
  const int64_t k = a.k;
  const Row<NC> R{static_cast<__mmask16>(k % 16 ? (1u << (k % 16)) - 1u : 0xFFFFu)};
  float* Xs = scratch;
  float* Rs = Xs + kBlock * k;
  float* P = Rs + kBlock * k;
  float* AP = P + kBlock * k;
  // rows of the sgemm beyond a block's rows must read zeros
  for (int64_t i = 0; i < 4 * kBlock * k; ++i) scratch[i] = 0.0f;
  int64_t rows[kBlock];
  int64_t nb = 0;
  auto flush = [&] {
    if (nb == 0) return;
    cg_block(a, R, rows, nb, true, Xs, Rs, P, AP);
    for (int64_t i = 0; i < nb * k; ++i) Xs[i] = P[i] = 0.0f;
    nb = 0;
  };
  for (int64_t u = begin; u < end; ++u) {
    const int64_t lo = a.indptr[u], hi = a.indptr[u + 1];
    if (lo == hi) {  // b = 0: the exact solution is 0
      for (int c = 0; c < NC; ++c) R.store(a.X + u * k, c, _mm512_setzero_ps());
    } else if ((hi - lo) * k * int64_t(sizeof(float)) > kShortBytes) {
      const int64_t one = u;
      cg_block(a, R, &one, 1, false, Xs + (kBlock - 1) * k, Rs + (kBlock - 1) * k,
               P + (kBlock - 1) * k, AP + (kBlock - 1) * k);
      for (int64_t i = (kBlock - 1) * k; i < kBlock * k; ++i) Xs[i] = P[i] = 0.0f;
    } else {
      rows[nb++] = u;
      if (nb == kBlock) flush();
    }
  }
  flush();
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
