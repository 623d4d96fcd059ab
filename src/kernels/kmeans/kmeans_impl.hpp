// Per-ISA bodies of the K-means kernels, compiled once per level
// (kmeans_{generic,avx2,avx512f,avx512}.cpp define HARPDAAL_ISA_NS first; the wide flags of the
// file pick the SIMD wrapper below). avx512f and avx512 compile the same AVX-512 F code (nothing
// here needs BW/DQ/VL), so they give the same bits.
//
// The fused micro-kernel: a tile of MR rows x NR = 2 vectors of centers. For every tile the
// accumulators start at -||c||^2/2 and receive x.c by FMAs over all d features, so they end
// at x.c - ||c||^2/2, whose argmax over c is argmin ||x - c||^2. The accumulators never leave
// registers: each tile folds into a per-row running (max, index) pair held lane-wise, so the
// n x k distance matrix is never written anywhere. Centers are packed tile by tile
// ([-||c||^2/2 for NR centers][d rows of NR values]) so a tile streams from L1; centers are
// processed in chunks sized for L1 while the row block's lane state waits in a small buffer.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kernels/common/simd.hpp"
#include "kernels/kmeans/kmeans_ops.hpp"

namespace harpdaal::kernels::kmeans::HARPDAAL_ISA_NS {

namespace vx = ::harpdaal::kernels::simd::HARPDAAL_ISA_NS;

template <class T>
struct Simd;

#if defined(__AVX512F__)
template <>
struct Simd<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static float hsum(V a) { return vx::hsum_store(a); }
  // idx = val > best ? cand : idx; best = max(best, val)  (strict: earlier centers win ties)
  static void update(V& best, V& idx, V val, V cand) {
    __mmask16 m = _mm512_cmp_ps_mask(val, best, _CMP_GT_OQ);
    best = _mm512_mask_mov_ps(best, m, val);
    idx = _mm512_mask_mov_ps(idx, m, cand);
  }
  static V iota(float base) {
    return _mm512_add_ps(_mm512_set1_ps(base), _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                               11, 12, 13, 14, 15));
  }
};
template <>
struct Simd<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(double a) { return _mm512_set1_pd(a); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static double hsum(V a) { return vx::hsum_store(a); }
  static void update(V& best, V& idx, V val, V cand) {
    __mmask8 m = _mm512_cmp_pd_mask(val, best, _CMP_GT_OQ);
    best = _mm512_mask_mov_pd(best, m, val);
    idx = _mm512_mask_mov_pd(idx, m, cand);
  }
  static V iota(double base) {
    return _mm512_add_pd(_mm512_set1_pd(base), _mm512_setr_pd(0, 1, 2, 3, 4, 5, 6, 7));
  }
};
constexpr int kRowsPerTile = 6;  // 6 rows x 2 zmm = 12 accumulators + 12 state + 5 temps
constexpr int kDotRows = 4;      // small-k tile: 4 rows x up to 5 centers = 20 zmm accumulators
constexpr int kDotCols = 5;
#elif defined(__AVX2__)
template <>
struct Simd<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static float hsum(V a) { return vx::hsum(a); }
  static void update(V& best, V& idx, V val, V cand) {
    V m = _mm256_cmp_ps(val, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, val, m);
    idx = _mm256_blendv_ps(idx, cand, m);
  }
  static V iota(float base) {
    return _mm256_add_ps(_mm256_set1_ps(base), _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
  }
};
template <>
struct Simd<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(double a) { return _mm256_set1_pd(a); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static double hsum(V a) { return vx::hsum(a); }
  static void update(V& best, V& idx, V val, V cand) {
    V m = _mm256_cmp_pd(val, best, _CMP_GT_OQ);
    best = _mm256_blendv_pd(best, val, m);
    idx = _mm256_blendv_pd(idx, cand, m);
  }
  static V iota(double base) {
    return _mm256_add_pd(_mm256_set1_pd(base), _mm256_setr_pd(0, 1, 2, 3));
  }
};
constexpr int kRowsPerTile = 4;  // 16 ymm registers: 8 accumulators, state spills to L1
constexpr int kDotRows = 2;      // small-k tile: 2 rows x up to 6 centers = 12 ymm accumulators
constexpr int kDotCols = 6;
#else
template <class T>
struct SimdGeneric {
  static constexpr int W = 4;
  struct V {
    T v[W];
  };
  static V load(const T* p) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = p[l];
    return r;
  }
  static void store(T* p, V a) {
    for (int l = 0; l < W; ++l) p[l] = a.v[l];
  }
  static V set1(T a) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a;
    return r;
  }
  static V fma(V a, V b, V c) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] * b.v[l] + c.v[l];
    return r;
  }
  static V add(V a, V b) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] + b.v[l];
    return r;
  }
  static V sub(V a, V b) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] - b.v[l];
    return r;
  }
  static T hsum(V a) {
    T r = a.v[0];
    for (int l = 1; l < W; ++l) r += a.v[l];
    return r;
  }
  static void update(V& best, V& idx, V val, V cand) {
    for (int l = 0; l < W; ++l)
      if (val.v[l] > best.v[l]) {
        best.v[l] = val.v[l];
        idx.v[l] = cand.v[l];
      }
  }
  static V iota(T base) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = base + T(l);
    return r;
  }
};
template <>
struct Simd<float> : SimdGeneric<float> {};
template <>
struct Simd<double> : SimdGeneric<double> {};
constexpr int kRowsPerTile = 4;
constexpr int kDotRows = 2;
constexpr int kDotCols = 4;
#endif

constexpr int kVecsPerTile = 2;
constexpr int64_t kL1Budget = 24 * 1024;  // bytes of packed centers per chunk

template <class T>
int64_t tile_width() {
  return int64_t{kVecsPerTile} * Simd<T>::W;
}
template <class T>
int64_t rows_per_tile() {
  return kRowsPerTile;
}

// Below this many centers (and from 16 features per center on: uses_row_dot) the fused kernel
// uses the row-dot tile (dot_tile): a 2-vector tile of centers would waste most of its lanes.
constexpr int64_t kSmallK = 16;

// Few centers and at most 16 features (AVX-512): one row per lane (lane_rows) instead
// of the center tile, which would compute 16 or 32 center lanes per row and write and reduce a
// 16-lane state per row. Whole fits, 200,000 rows, 2 threads, ms per Lloyd iteration (center
// tile / lane rows): d = 2, k = 3: 1.05 / 0.50; d = 8, k = 3: 1.46 / 0.58; d = 16, k = 3:
// 1.42 / 0.56; d = 4, k = 15: 1.01 / 0.55; d = 16, k = 15: 1.44 / 0.84; float64 (with
// accumulate_short) d = 2, k = 3: 2.12 / 0.71; d = 16, k = 15: 3.46 / 1.55
// (docs/kmeans.md).
inline bool uses_lane_rows(int64_t d, int64_t k) {
  return k < kSmallK && d <= 16 && !uses_row_dot(d, k);
}

// A last tile with at most kDotLast real centers (float32, AVX-512: k = 100 is 3 x 32 + 4)
// is not run as a 16-lane tile with 12 padding lanes: it is packed row-wise and handled by
// last_dot (dot products along the features, 4 rows x 4 centers, one butterfly reduction).
constexpr int64_t kDotLast = 4;
template <class T>
bool use_dot_last(int64_t k) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    const int64_t nr = tile_width<T>();
    return k >= kSmallK && k - (k - 1) / nr * nr <= kDotLast;
  }
#endif
  (void)k;
  return false;
}

// The M-step prefetches the row max(this, the block's rows) ahead of the one it adds (the same
// row of the next block, or 8 rows on), one line per 16 features, so that X keeps streaming
// while it runs. With the row-dot tile (k < 16, wide rows) the E-step of a block is the only
// other place X is prefetched, and the stream stopped during each M-step: kmeans_tile_bench,
// k = 3, 1 thread, rows from memory, GFLOP/s without -> with: d = 784 (4-row blocks)
// 29.7-31.0 -> 40.2-41.0, d = 2048 26.1-27.3 -> 31.9-33.3, d = 256 (24-row blocks) 25.1-26.5
// -> 41.9-45.0 (8 rows ahead there: 26.1-28.9); 12 or 16 rows, or into L2, no better.
// Only for blocks of at most 32 KB (the row-dot tile's): the center tile's 60-row blocks are
// prefetched by the tile itself, and the next one of them (188 KB at d = 784) brought into L1
// made a d = 784, k = 100 step 6% slower.
constexpr int64_t kAccumulatePrefetchRows = 8;
constexpr int64_t kAccumulatePrefetchBlockBytes = 32 * 1024;
inline int64_t accumulate_prefetch_rows(int64_t rows, int64_t d, int64_t elem_bytes) {
  return rows * d * elem_bytes <= kAccumulatePrefetchBlockBytes
             ? std::max(kAccumulatePrefetchRows, rows)
             : 0;
}

// packed: n_tiles * (d + 1) * NR values; padding centers get -inf so they never win.
// With use_dot_last(k) the last tile is [-||c||^2/2 for its L <= 4 centers, padded to 4 with
// -inf][L rows of d values, row-major] instead (never more than the tiled size).
// For the row-dot tile (uses_row_dot): [-||c_j||^2/2 for j < k][the k x d centers as given]
// (k * (d + 1) values, never more than the tiled size).
// pack_center_tiles packs tiles [t0, t1) only (the row-dot layout: all of it when t0 == 0,
// nothing otherwise), so that callers may pack disjoint tile ranges in parallel.
template <class T>
void pack_center_tiles(const T* centers, int64_t k, int64_t d, T* packed, int64_t t0,
                       int64_t t1) {
  if (uses_row_dot(d, k)) {
    if (t0 > 0 || t1 <= t0) return;
    for (int64_t j = 0; j < k; ++j) {
      const T* row = centers + j * d;
      T norm = 0;
      for (int64_t f = 0; f < d; ++f) norm += row[f] * row[f];
      packed[j] = T(-0.5) * norm;
    }
    std::memcpy(packed + k, centers, size_t(k * d) * sizeof(T));
    return;
  }
  const int64_t nr = tile_width<T>();
  const int64_t n_tiles = (k + nr - 1) / nr;
  const bool dot_last = use_dot_last<T>(k);
  for (int64_t t = t0; t < t1 && t < n_tiles; ++t) {
    T* tile = packed + t * (d + 1) * nr;
    if (dot_last && t == n_tiles - 1) {
      for (int64_t c = 0; c < kDotLast; ++c) {
        const int64_t j = t * nr + c;
        if (j < k) {
          const T* row = centers + j * d;
          T norm = 0;
          for (int64_t f = 0; f < d; ++f) norm += row[f] * row[f];
          tile[c] = T(-0.5) * norm;
          std::memcpy(tile + kDotLast + c * d, row, size_t(d) * sizeof(T));
        } else {
          tile[c] = -std::numeric_limits<T>::infinity();
        }
      }
      continue;
    }
    for (int64_t c = 0; c < nr; ++c) {
      int64_t j = t * nr + c;
      if (j < k) {
        const T* row = centers + j * d;
        T norm = 0;
        for (int64_t f = 0; f < d; ++f) norm += row[f] * row[f];
        tile[c] = T(-0.5) * norm;
        for (int64_t f = 0; f < d; ++f) tile[(f + 1) * nr + c] = row[f];
      } else {
        tile[c] = -std::numeric_limits<T>::infinity();
        for (int64_t f = 0; f < d; ++f) tile[(f + 1) * nr + c] = 0;
      }
    }
  }
}

template <class T>
void pack_centers(const T* centers, int64_t k, int64_t d, T* packed) {
  pack_center_tiles<T>(centers, k, d, packed, 0, k > 0 ? k : 1);  // k >= the tile count
}

// The accumulators of MR rows against one tile (NV vectors of centers): start at the tile's
// -||c||^2/2, then acc[r] += x[r][f] * (the panel's row f) for f in [f0, f1), in f order.
// Shared by micro_tile and micro_tile_part, so both give the same bits.
template <class T, int MR, int NV>
__attribute__((always_inline)) inline void tile_start(const T* tile, typename Simd<T>::V* acc0,
                                                      typename Simd<T>::V* acc1) {
  using S = Simd<T>;
  constexpr int W = S::W;
  const typename S::V h0 = S::load(tile);
  const typename S::V h1 = NV == 2 ? S::load(tile + W) : h0;
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    acc0[r] = h0;
    if constexpr (NV == 2) acc1[r] = h1;
  }
}
template <class T, int MR, int NV>
__attribute__((always_inline)) inline void tile_fma(const T* xr, int64_t d, const T* tile,
                                                    int64_t f0, int64_t f1,
                                                    typename Simd<T>::V* acc0,
                                                    typename Simd<T>::V* acc1) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NR = kVecsPerTile * W;
  const T* b = tile + NR + f0 * NR;
  for (int64_t f = f0; f < f1; ++f, b += NR) {
    const V b0 = S::load(b);
    const V b1 = NV == 2 ? S::load(b + W) : b0;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const V a = S::set1(xr[r * d + f]);
      acc0[r] = S::fma(a, b0, acc0[r]);
      if constexpr (NV == 2) acc1[r] = S::fma(a, b1, acc1[r]);
    }
  }
}

// MR rows (stride d) against tiles [t0, t1): folds into the lane state st_best/st_idx (MR*W).
// NV = 1 serves a last tile holding at most W real centers (half the FMAs of a full tile).
template <class T, int MR, int NV>
inline void micro_tile(const T* xr, int64_t d, const T* packed, int64_t t0, int64_t t1,
                       T* st_best, T* st_idx) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NR = kVecsPerTile * W;
  const int64_t stride = (d + 1) * NR;
  V best[MR], idx[MR];
  for (int r = 0; r < MR; ++r) {
    best[r] = S::load(st_best + r * W);
    idx[r] = S::load(st_idx + r * W);
  }
  V cand0 = S::iota(T(t0 * NR));
  V cand1 = S::iota(T(t0 * NR + W));
  const V step = S::set1(T(NR));
  for (int64_t t = t0; t < t1; ++t) {
    const T* tile = packed + t * stride;
    V acc0[MR], acc1[NV == 2 ? MR : 1];
    tile_start<T, MR, NV>(tile, acc0, acc1);
    tile_fma<T, MR, NV>(xr, d, tile, 0, d, acc0, acc1);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      S::update(best[r], idx[r], acc0[r], cand0);
      if constexpr (NV == 2) S::update(best[r], idx[r], acc1[r], cand1);
    }
    cand0 = S::add(cand0, step);
    cand1 = S::add(cand1, step);
  }
  for (int r = 0; r < MR; ++r) {
    S::store(st_best + r * W, best[r]);
    S::store(st_idx + r * W, idx[r]);
  }
}

// micro_tile for one tile t and its features [f0, f1) only (wide rows: the tile's d x NR panel
// would not fit L1, so the caller walks the features in L1-sized slices and every micro-tile of
// the block reuses a slice). The accumulators start at -||c||^2/2 (f0 == 0) or at the partial
// sums in part (MR x NR values), take the FMAs of micro_tile in the same order, and go back to
// part, or (last) fold into the lane state as micro_tile does: the same bits.
template <class T, int MR, int NV>
inline void micro_tile_part(const T* xr, int64_t d, const T* tile, int64_t t, int64_t f0,
                            int64_t f1, bool last, T* part, T* st_best, T* st_idx) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NR = kVecsPerTile * W;
  V acc0[MR], acc1[NV == 2 ? MR : 1];
  if (f0 == 0) {
    tile_start<T, MR, NV>(tile, acc0, acc1);
  } else {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      acc0[r] = S::load(part + r * NR);
      if constexpr (NV == 2) acc1[r] = S::load(part + r * NR + W);
    }
  }
  tile_fma<T, MR, NV>(xr, d, tile, f0, f1, acc0, acc1);
  if (!last) {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      S::store(part + r * NR, acc0[r]);
      if constexpr (NV == 2) S::store(part + r * NR + W, acc1[r]);
    }
    return;
  }
  const V cand0 = S::iota(T(t * NR));
  const V cand1 = S::iota(T(t * NR + W));
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    V bst = S::load(st_best + r * W), idx = S::load(st_idx + r * W);
    S::update(bst, idx, acc0[r], cand0);
    if constexpr (NV == 2) S::update(bst, idx, acc1[r], cand1);
    S::store(st_best + r * W, bst);
    S::store(st_idx + r * W, idx);
  }
}

// Small k: MR rows x KC centers, dot products along the features (vector lanes over f), then
// one horizontal sum per (row, center). out[r * KC + j] = x_r.c_j - ||c_j||^2/2.
// sh: null, or the rows are used as xr - sh (each value rounded to T as in a centred copy: the
// same bits as the tile run on that copy).
template <class T, int MR, int KC>
inline void dot_tile(const T* xr, int64_t d, const T* c, const T* half, T* out, uintptr_t pf,
                     const T* sh) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  const int64_t dv = d / W * W;
  V acc[MR][KC];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < KC; ++j) acc[r][j] = S::set1(T(0));
  for (int64_t f = 0; f < dv; f += W) {
    V a[MR];
    const V sv = sh ? S::load(sh + f) : S::set1(T(0));
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      a[r] = S::load(xr + r * d + f);
      if (sh) a[r] = S::sub(a[r], sv);
      // Row r's line f of the rows to prefetch (pf, 0 = none: see dot_rows). Wide rows and
      // few centers stream X (fashion-mnist: 20 flops per float). (None on the generic level.)
      if (pf) vx::prefetch_t0(pf + uintptr_t((r * d + f) * int64_t(sizeof(T))));
    }
#pragma GCC unroll 16
    for (int j = 0; j < KC; ++j) {
      const V b = S::load(c + j * d + f);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) acc[r][j] = S::fma(a[r], b, acc[r][j]);
    }
  }
  // The horizontal sums fully unrolled, so the accumulators stay in registers (a loop over
  // (r, j) around the scalar tail kept them in a stack array: a 512-bit store and two 256-bit
  // reloads per sum, on the chain to the label).
  T hs[MR][KC];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < KC; ++j) hs[r][j] = S::hsum(acc[r][j]);
  if (dv < d) {
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < KC; ++j) {
        T s = hs[r][j];
        for (int64_t f = dv; f < d; ++f) {
          const T xv = sh ? T(xr[r * d + f] - sh[f]) : xr[r * d + f];
          s += xv * c[j * d + f];
        }
        hs[r][j] = s;
      }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < KC; ++j) out[r * KC + j] = hs[r][j] + half[j];
}

// MR rows against all k < kSmallK centers (packed for the row-dot tile): running max, first
// index on ties (centers are visited in order with a strict comparison). The centers go in
// chunks of up to kDotCols (k = 10: one chunk), so each row vector loaded feeds every center:
// per vector step MR + KC loads for MR * KC FMAs. Every (row, center) dot product is summed in
// the same order whatever MR and KC are (lanes over f, hsum, then the scalar tail).
// pf: the address of MR rows (stride d) to prefetch into L1 during the first chunk (the rows
// this block's caller reads next), or 0.
template <class T, int MR>
inline void dot_rows(const T* xr, int64_t d, const T* packed, int64_t k, T* best, int32_t* lab,
                     uintptr_t pf, const T* sh) {
  const T* half = packed;
  const T* c = packed + k;
  for (int r = 0; r < MR; ++r) {
    best[r] = -std::numeric_limits<T>::infinity();
    lab[r] = 0;
  }
  alignas(64) T out[MR * kDotCols];
  for (int64_t j0 = 0; j0 < k; j0 += kDotCols) {
    const int kc = k - j0 < kDotCols ? int(k - j0) : kDotCols;
    const T* cj = c + j0 * d;
    const T* hj = half + j0;
    const uintptr_t pfc = j0 == 0 ? pf : 0;
    switch (kc) {
#if defined(__AVX512F__)
      case 12: dot_tile<T, MR, 12>(xr, d, cj, hj, out, pfc, sh); break;
      case 11: dot_tile<T, MR, 11>(xr, d, cj, hj, out, pfc, sh); break;
      case 10: dot_tile<T, MR, 10>(xr, d, cj, hj, out, pfc, sh); break;
      case 9: dot_tile<T, MR, 9>(xr, d, cj, hj, out, pfc, sh); break;
      case 8: dot_tile<T, MR, 8>(xr, d, cj, hj, out, pfc, sh); break;
      case 7: dot_tile<T, MR, 7>(xr, d, cj, hj, out, pfc, sh); break;
#endif
#if defined(__AVX512F__) || defined(__AVX2__)
      case 6: dot_tile<T, MR, 6>(xr, d, cj, hj, out, pfc, sh); break;
      case 5: dot_tile<T, MR, 5>(xr, d, cj, hj, out, pfc, sh); break;
#endif
      case 4: dot_tile<T, MR, 4>(xr, d, cj, hj, out, pfc, sh); break;
      case 3: dot_tile<T, MR, 3>(xr, d, cj, hj, out, pfc, sh); break;
      case 2: dot_tile<T, MR, 2>(xr, d, cj, hj, out, pfc, sh); break;
      default: dot_tile<T, MR, 1>(xr, d, cj, hj, out, pfc, sh); break;
    }
    // Branch-free (a max and a conditional move): on data without cluster structure which
    // center wins is a coin toss, and the branch of `if (v > b)` mispredicted about once a
    // row (d = 64, k = 3, rows in L2: 42 -> ~30 cycles a row).
    for (int r = 0; r < MR; ++r) {
      T b = best[r];
      int32_t l = lab[r];
      for (int j = 0; j < kc; ++j) {
        const T v = out[r * kc + j];
        const bool gt = v > b;
        l = gt ? int32_t(j0 + j) : l;
        b = gt ? v : b;
      }
      best[r] = b;
      lab[r] = l;
    }
  }
}

#if defined(__AVX512F__)
using vx::shuf128;
using vx::shuf32;
using vx::unpack_lo;
using vx::unpack_hi;

// 4 rows (stride d) x the last tile's L <= 4 centers (packed row-wise by pack_centers): the
// 16 dot products x_r.c_j, lanes along the features, then one butterfly reduction
// (lane 4j + r of the result = x_r.c_j), folded into lanes 0..3 of each row's state (center
// indices base + j; later than every full tile, so the strict update keeps first-index ties).
inline void last_dot(const float* xr, int64_t d, const float* tile, int64_t base, float* st_best,
                     float* st_idx) {
  const float* c = tile + kDotLast;
  const int64_t dv = d / 16 * 16;
  const __mmask16 tail_mask = vx::first_lanes16(d - dv);
  __m512 acc[4][4];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_ps();
  auto step = [&](int64_t f, __mmask16 m) {
    __m512 a[4], b[4];
    for (int r = 0; r < 4; ++r) a[r] = _mm512_maskz_loadu_ps(m, xr + r * d + f);
    for (int j = 0; j < 4; ++j) b[j] = _mm512_maskz_loadu_ps(m, c + j * d + f);
    for (int r = 0; r < 4; ++r)
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_fmadd_ps(a[r], b[j], acc[r][j]);
  };
  for (int64_t f = 0; f < dv; f += 16) step(f, __mmask16(0xFFFF));
  if (dv < d) step(dv, tail_mask);
  // per row r: v[r] has, in 128-bit block j, 4 partial sums of x_r.c_j
  __m512 v[4];
  for (int r = 0; r < 4; ++r) {
    const __m512 u01 = _mm512_add_ps(shuf128<0x44>(acc[r][0], acc[r][1]),
                                     shuf128<0xEE>(acc[r][0], acc[r][1]));
    const __m512 u23 = _mm512_add_ps(shuf128<0x44>(acc[r][2], acc[r][3]),
                                     shuf128<0xEE>(acc[r][2], acc[r][3]));
    v[r] = _mm512_add_ps(shuf128<0x88>(u01, u23),
                         shuf128<0xDD>(u01, u23));
  }
  const __m512 w01 = _mm512_add_ps(unpack_lo(v[0], v[1]), unpack_hi(v[0], v[1]));
  const __m512 w23 = _mm512_add_ps(unpack_lo(v[2], v[3]), unpack_hi(v[2], v[3]));
  // block j of z: [x_0.c_j, x_1.c_j, x_2.c_j, x_3.c_j]
  __m512 z = _mm512_add_ps(shuf32<0x44>(w01, w23), shuf32<0xEE>(w01, w23));
  const __m512 half = _mm512_mask_permutexvar_ps(
      _mm512_setzero_ps(), __mmask16(0xFFFF),
      _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), _mm512_loadu_ps(tile));
  z = _mm512_add_ps(z, half);
  const __m512 cand = _mm512_add_ps(_mm512_set1_ps(float(base)),
                                    _mm512_setr_ps(0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  for (int r = 0; r < 4; ++r) {
    // lanes 0..3 <- z lanes r, 4 + r, 8 + r, 12 + r; the other lanes never win (-inf)
    const __m512i sel = _mm512_add_epi32(_mm512_set1_epi32(r),
                                         _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    const __m512 val = _mm512_mask_permutexvar_ps(
        _mm512_set1_ps(-std::numeric_limits<float>::infinity()), __mmask16(0x000F), sel, z);
    __m512 best = _mm512_loadu_ps(st_best + r * 16), idx = _mm512_loadu_ps(st_idx + r * 16);
    Simd<float>::update(best, idx, val, cand);
    _mm512_storeu_ps(st_best + r * 16, best);
    _mm512_storeu_ps(st_idx + r * 16, idx);
  }
}
#endif

#if defined(__AVX512F__)
// The 4 x 4 transpose of 128-bit lanes: o_L = [p.L, q.L, u.L, v.L] (the last two stages of
// transpose16 and transpose8; a lane move, so the same for floats and doubles).
inline void transpose_lanes(__m512 p, __m512 q, __m512 u, __m512 v, __m512& o0, __m512& o1,
                            __m512& o2, __m512& o3) {
  // (maskz with all lanes: GCC 12 warns inside the unmasked shuffles)
  const __mmask16 all = 0xFFFF;
  const __m512 a = _mm512_maskz_shuffle_f32x4(all, p, q, _MM_SHUFFLE(1, 0, 1, 0));
  const __m512 b = _mm512_maskz_shuffle_f32x4(all, p, q, _MM_SHUFFLE(3, 2, 3, 2));
  const __m512 c = _mm512_maskz_shuffle_f32x4(all, u, v, _MM_SHUFFLE(1, 0, 1, 0));
  const __m512 e = _mm512_maskz_shuffle_f32x4(all, u, v, _MM_SHUFFLE(3, 2, 3, 2));
  o0 = _mm512_maskz_shuffle_f32x4(all, a, c, _MM_SHUFFLE(2, 0, 2, 0));
  o1 = _mm512_maskz_shuffle_f32x4(all, a, c, _MM_SHUFFLE(3, 1, 3, 1));
  o2 = _mm512_maskz_shuffle_f32x4(all, b, e, _MM_SHUFFLE(2, 0, 2, 0));
  o3 = _mm512_maskz_shuffle_f32x4(all, b, e, _MM_SHUFFLE(3, 1, 3, 1));
}

// 16 rows of 16 floats to 16 feature vectors (r[f] lane l = row l's feature f): two unpack
// stages within 128-bit lanes, then two 128-bit shuffles (64 shuffles in all).
inline void transpose16(__m512* r) {
  // (maskz with all lanes: GCC 12 warns inside the unmasked unpacks)
  const __mmask16 all = 0xFFFF;
  const __mmask8 all8 = 0xFF;
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(all, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(all, r[2 * i], r[2 * i + 1]);
  }
  // r[4i + j], 128-bit lane L: feature 4L + j of rows 4i .. 4i + 3
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 1]), e = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, a, b));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, a, b));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, c, e));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, c, e));
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j)
    transpose_lanes(r[j], r[4 + j], r[8 + j], r[12 + j], t[j], t[4 + j], t[8 + j], t[12 + j]);
#pragma GCC unroll 16
  for (int f = 0; f < 16; ++f) r[f] = t[f];
}

// One group of W rows (lanes) against the k centers of the packed center tile: xf holds the D
// feature vectors (the means subtracted here when sh is not null), scores in feature order,
// first index on ties; the group's m live labels and best values are stored.
template <class T, int D>
inline void lane_argmax(typename Simd<T>::V* xf, const T* packed, int64_t k, int64_t m,
                        const T* sh, int32_t* labels, T* best) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int64_t nr = kVecsPerTile * S::W;
  if (sh)
#pragma GCC unroll 16
    for (int f = 0; f < D; ++f) xf[f] = S::sub(xf[f], S::set1(sh[f]));  // a centred copy's bits
  V bst = S::set1(-std::numeric_limits<T>::infinity());
  __m512i idx = _mm512_setzero_si512();
  for (int64_t j = 0; j < k; ++j) {
    V acc = S::set1(packed[j]);
#pragma GCC unroll 16
    for (int f = 0; f < D; ++f) acc = S::fma(xf[f], S::set1(packed[(f + 1) * nr + j]), acc);
    if constexpr (std::is_same_v<T, float>) {
      const __mmask16 gt = _mm512_cmp_ps_mask(acc, bst, _CMP_GT_OQ);
      bst = _mm512_mask_mov_ps(bst, gt, acc);
      idx = _mm512_mask_mov_epi32(idx, gt, _mm512_set1_epi32(int32_t(j)));
    } else {
      const __mmask8 gt = _mm512_cmp_pd_mask(acc, bst, _CMP_GT_OQ);
      bst = _mm512_mask_mov_pd(bst, gt, acc);
      idx = _mm512_mask_mov_epi32(idx, __mmask16(gt), _mm512_set1_epi32(int32_t(j)));
    }
  }
  const __mmask16 live = __mmask16(m == 16 ? 0xFFFFu : (1u << m) - 1);
  _mm512_mask_storeu_epi32(labels, live, idx);
  if constexpr (std::is_same_v<T, float>)
    _mm512_mask_storeu_ps(best, live, bst);
  else
    _mm512_mask_storeu_pd(best, __mmask8(live), bst);
}

// Few centers and short rows (uses_lane_rows), float32: one row per lane, 16 rows per vector.
// 16 rows (each loaded as one masked vector of D features) are transposed into feature
// vectors (lane l of vector f = x[l][f]; 16 gathers instead made d = 16, k = 3 fits 1.6x
// slower, d = 8 1.35x, d = 4 1.1x, d <= 3 about equal), each
// center's score starts at its packed -||c||^2/2 and takes one FMA per feature in feature
// order, x_f * c_f + acc as the center tile computes it, so every (row, center) score has the
// center tile's bits; centers are visited in order with a strict comparison (first index on
// ties), the center tile's rule. No lane state goes through memory: the center tile writes and
// reduces 16 (best, index) pairs per row, 128 bytes against a row of 8 at d = 2.
template <int D>
inline void lane_rows_d(const float* x, int64_t rows, const float* packed, int64_t k,
                        int32_t* labels, float* best, const float* sh) {
  const __mmask16 mrow = __mmask16(D == 16 ? 0xFFFF : (1u << D) - 1);
  for (int64_t i = 0; i < rows; i += 16) {
    const int64_t m = rows - i < 16 ? rows - i : 16;
    const float* xb = x + i * D;
    __m512 xf[16];
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r)
      xf[r] = r < m ? _mm512_maskz_loadu_ps(mrow, xb + r * D) : _mm512_setzero_ps();
    transpose16(xf);
    lane_argmax<float, D>(xf, packed, k, m, sh, labels + i, best + i);
  }
}

// The float64 form: 8 rows per vector, each row one or two masked vectors of up to 8 features,
// transposed 8 x 8 (transpose8); the packed tile is 16 doubles wide. The same FMAs and tie rule
// as the float64 center tile, so the same bits.
inline void transpose8(__m512d* r) {
  // (maskz with all lanes: GCC 12 warns inside the unmasked unpacks)
  const __mmask8 all = 0xFF;
  __m512d t[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_pd(all, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_pd(all, r[2 * i], r[2 * i + 1]);
  }
  // t[2p + b], 128-bit lane L: feature 2L + b of rows 2p, 2p + 1
#pragma GCC unroll 2
  for (int b = 0; b < 2; ++b) {
    __m512 o[4];
    transpose_lanes(_mm512_castpd_ps(t[b]), _mm512_castpd_ps(t[2 + b]),
                    _mm512_castpd_ps(t[4 + b]), _mm512_castpd_ps(t[6 + b]), o[0], o[1], o[2],
                    o[3]);
#pragma GCC unroll 4
    for (int L = 0; L < 4; ++L) r[2 * L + b] = _mm512_castps_pd(o[L]);
  }
}

template <int D>
inline void lane_rows_d(const double* x, int64_t rows, const double* packed, int64_t k,
                        int32_t* labels, double* best, const double* sh) {
  constexpr int DL = D < 8 ? D : 8, DH = D - DL;
  const __mmask8 mlo = __mmask8(DL == 8 ? 0xFF : (1u << DL) - 1);
  const __mmask8 mhi = __mmask8(DH == 8 ? 0xFF : (1u << DH) - 1);
  for (int64_t i = 0; i < rows; i += 8) {
    const int64_t m = rows - i < 8 ? rows - i : 8;
    const double* xb = x + i * D;
    __m512d xf[16];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r)
      xf[r] = r < m ? _mm512_maskz_loadu_pd(mlo, xb + r * D) : _mm512_setzero_pd();
    transpose8(xf);
    if constexpr (DH > 0) {
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r)
        xf[8 + r] = r < m ? _mm512_maskz_loadu_pd(mhi, xb + r * D + 8) : _mm512_setzero_pd();
      transpose8(xf + 8);
    }
    lane_argmax<double, D>(xf, packed, k, m, sh, labels + i, best + i);
  }
}

template <class T>
inline void lane_rows(const T* x, int64_t rows, int64_t d, const T* packed, int64_t k,
                      int32_t* labels, T* best, const T* sh) {
  switch (d) {
#define HARPDAAL_LANE_D(D) \
  case D: lane_rows_d<D>(x, rows, packed, k, labels, best, sh); return;
    HARPDAAL_LANE_D(1) HARPDAAL_LANE_D(2) HARPDAAL_LANE_D(3) HARPDAAL_LANE_D(4)
    HARPDAAL_LANE_D(5) HARPDAAL_LANE_D(6) HARPDAAL_LANE_D(7) HARPDAAL_LANE_D(8)
    HARPDAAL_LANE_D(9) HARPDAAL_LANE_D(10) HARPDAAL_LANE_D(11) HARPDAAL_LANE_D(12)
    HARPDAAL_LANE_D(13) HARPDAAL_LANE_D(14) HARPDAAL_LANE_D(15) HARPDAAL_LANE_D(16)
#undef HARPDAAL_LANE_D
    default: throw std::logic_error("kmeans: lane_rows takes 1 to 16 features");
  }
}
#endif

// Scratch the caller provides to fused_block: rows*W*2 (lane state) + MR*d (tail rows) +
// (rows + MR)*NR (partial sums of the feature-sliced tiles) values.
template <class T>
int64_t fused_scratch_size(int64_t rows, int64_t d) {
  return rows * Simd<T>::W * 2 + int64_t{kRowsPerTile} * d +
         (rows + kRowsPerTile) * kVecsPerTile * Simd<T>::W;
}

// Rows [0, rows) of x: labels and best[i] = max_c (x.c - ||c||^2/2).
// pf: null, or the rows the caller reads next (pf + i * d for row i of this block, as an
// address only: it may lie past the end of an array), prefetched into L1 during the first
// pass over this block. The caller passes the next block's raw rows when it feeds x from a
// centred L1 buffer (shift): there the buffer is what the tile reads and the raw stream is what
// misses. With null the tile prefetches rows of x itself, a little ahead.
template <class T>
void fused_block(const T* x, int64_t rows, int64_t d, const T* packed, int64_t k,
                 int32_t* labels, T* best, T* scratch, const T* pf, const T* shift = nullptr) {
  using S = Simd<T>;
  constexpr int W = S::W;
  constexpr int MR = kRowsPerTile;
  const int64_t nr = tile_width<T>();
  const int64_t n_tiles = (k + nr - 1) / nr;
  const int64_t tile_bytes = (d + 1) * nr * int64_t(sizeof(T));
  const int64_t chunk = tile_bytes >= kL1Budget ? 1 : kL1Budget / tile_bytes;
  T* st_best = scratch;
  T* st_idx = scratch + rows * W;
  T* tail = scratch + 2 * rows * W;
  const int64_t row_bytes = d * int64_t(sizeof(T));
  if (uses_row_dot(d, k)) {
    constexpr int DR = kDotRows;
    // Without pf: the rows two tiles ahead (near the end of x past it: a prefetch never faults).
    const uintptr_t pf0 = pf ? reinterpret_cast<uintptr_t>(pf)
                             : reinterpret_cast<uintptr_t>(x) + uintptr_t(2 * DR * row_bytes);
    const int64_t dfull = rows / DR * DR;
    for (int64_t i = 0; i < dfull; i += DR)
      dot_rows<T, DR>(x + i * d, d, packed, k, best + i, labels + i, pf0 + uintptr_t(i * row_bytes),
                      shift);
    if (rows > dfull) {
      const int64_t drest = rows - dfull;
      if (shift)  // the tail rows centred as they are copied (the padding stays zero)
        shift_rows(x + dfull * d, drest, d, shift, tail);
      else
        std::memcpy(tail, x + dfull * d, size_t(drest * d) * sizeof(T));
      std::memset(tail + drest * d, 0, size_t((DR - drest) * d) * sizeof(T));
      T tb[DR];
      int32_t tl[DR];
      dot_rows<T, DR>(tail, d, packed, k, tb, tl, 0, nullptr);
      for (int64_t r = 0; r < drest; ++r) {
        best[dfull + r] = tb[r];
        labels[dfull + r] = tl[r];
      }
    }
    return;
  }
#if defined(__AVX512F__)
  if (uses_lane_rows(d, k)) {
    lane_rows<T>(x, rows, d, packed, k, labels, best, shift);
    return;
  }
#endif
  // (the callers centre the center tile's rows into a buffer themselves)
  if (shift) throw std::logic_error("kmeans: fused_block takes a shift only where fused_takes_shift");
  for (int64_t i = 0; i < rows * W; ++i) {
    st_best[i] = -std::numeric_limits<T>::infinity();
    st_idx[i] = 0;
  }
  const int64_t full = rows / MR * MR;
  const int64_t rest = rows - full;
  if (rest) {
    std::memcpy(tail, x + full * d, size_t(rest * d) * sizeof(T));
    std::memset(tail + rest * d, 0, size_t((MR - rest) * d) * sizeof(T));
  }
  // The tail block computes MR rows; its state rows beyond `rest` land in the padding below.
  alignas(64) T pad_best[MR * W], pad_idx[MR * W];
  const bool dot_last = use_dot_last<T>(k);
  const int64_t n_main = dot_last ? n_tiles - 1 : n_tiles;  // tiles run by micro_tile
  const bool half_last = !dot_last && k - (n_tiles - 1) * nr <= W;
  // Wide rows: a tile's panel (d x NR values) exceeds the L1 budget, so no chunk of whole
  // tiles fits L1 and every micro-tile would stream the panel from L2. Then each tile is run
  // in feature slices of kL1Budget bytes of panel, every micro-tile of the block reusing the
  // slice, with the accumulators kept in `part` between slices (the same FMAs in the same
  // order: the same bits).
  const int64_t fslice = kL1Budget / (nr * int64_t(sizeof(T)));
  const bool sliced = tile_bytes > kL1Budget && d > fslice;
  // The tail micro-tile's lane state: its `rest` real rows in, padding rows that never win.
  auto pad_in = [&] {
    std::memcpy(pad_best, st_best + full * W, size_t(rest * W) * sizeof(T));
    std::memcpy(pad_idx, st_idx + full * W, size_t(rest * W) * sizeof(T));
    for (int64_t l = rest * W; l < MR * W; ++l) {
      pad_best[l] = -std::numeric_limits<T>::infinity();
      pad_idx[l] = 0;
    }
  };
  auto pad_out = [&] {
    std::memcpy(st_best + full * W, pad_best, size_t(rest * W) * sizeof(T));
    std::memcpy(st_idx + full * W, pad_idx, size_t(rest * W) * sizeof(T));
  };
  if (sliced) {
    T* part = tail + MR * d;
    const int64_t stride = (d + 1) * nr;
    for (int64_t t = 0; t < n_main; ++t) {
      const T* tile = packed + t * stride;
      const bool half = half_last && t == n_tiles - 1;
      for (int64_t f0 = 0; f0 < d; f0 += fslice) {
        const int64_t f1 = f0 + fslice < d ? f0 + fslice : d;
        const bool last = f1 == d;
        auto part_run = [&](const T* xr, T* pt, T* sb, T* si) {
          if (half)
            micro_tile_part<T, MR, 1>(xr, d, tile, t, f0, f1, last, pt, sb, si);
          else
            micro_tile_part<T, MR, 2>(xr, d, tile, t, f0, f1, last, pt, sb, si);
        };
        for (int64_t i = 0; i < full; i += MR)
          part_run(x + i * d, part + i * nr, st_best + i * W, st_idx + i * W);
        if (rest) {
          if (last) pad_in();
          part_run(tail, part + full * nr, pad_best, pad_idx);
          if (last) pad_out();
        }
      }
    }
  }
  auto run = [&](const T* xr, int64_t t0, int64_t t1, T* sb, T* si) {
    if (t1 <= t0) return;
    if (half_last && t1 == n_tiles) {
      if (t1 - 1 > t0) micro_tile<T, MR, 2>(xr, d, packed, t0, t1 - 1, sb, si);
      micro_tile<T, MR, 1>(xr, d, packed, t1 - 1, t1, sb, si);
    } else {
      micro_tile<T, MR, 2>(xr, d, packed, t0, t1, sb, si);
    }
  };
  for (int64_t t0 = 0; !sliced && t0 < n_main; t0 += chunk) {
    const int64_t t1 = t0 + chunk < n_main ? t0 + chunk : n_main;
    for (int64_t i = 0; i < full; i += MR) {
#if defined(__AVX512F__) || defined(__AVX2__)
      // First pass over the block: the next micro-tile's rows into L1 while this one runs
      // (at d=64, k=100: 102 vs 96 GFLOP/s by CPU time; the hardware prefetchers alone
      // leave the interleaved row streams waiting on L3).
      if (t0 == 0 && (pf || i + 2 * MR <= rows)) {
        const uintptr_t p = pf ? reinterpret_cast<uintptr_t>(pf) + uintptr_t(i * row_bytes)
                               : reinterpret_cast<uintptr_t>(x + (i + MR) * d);
        for (int64_t o = 0; o < MR * row_bytes; o += 64) vx::prefetch_t0(p + uintptr_t(o));
      }
      // ... and, reading x itself, the same micro-tile of the next block into L2 (an address
      // past the end of x is never touched: a prefetch does not fault). At d=64, k=100 with
      // acc=2 (kmeans_tile_bench, best of 10, 3 interleaved rounds): 110-115 vs 108-111 GFLOP/s.
      if (t0 == 0 && !pf) {
        const uintptr_t p2 = reinterpret_cast<uintptr_t>(x) + uintptr_t((rows + i) * row_bytes);
        for (int64_t o = 0; o < MR * row_bytes; o += 64) vx::prefetch_t1(p2 + uintptr_t(o));
      }
#endif
      run(x + i * d, t0, t1, st_best + i * W, st_idx + i * W);
    }
    if (rest) {
      pad_in();
      run(tail, t0, t1, pad_best, pad_idx);
      pad_out();
    }
  }
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (dot_last) {
      const float* tile = packed + (n_tiles - 1) * (d + 1) * nr;
      const int64_t base = (n_tiles - 1) * nr;
      const int64_t full4 = rows / 4 * 4;
      for (int64_t i = 0; i < full4; i += 4)
        last_dot(x + i * d, d, tile, base, st_best + i * W, st_idx + i * W);
      if (rows > full4) {  // the last rows, zero-padded to 4 in `tail` and the pad state
        const int64_t r4 = rows - full4;
        std::memcpy(tail, x + full4 * d, size_t(r4 * d) * sizeof(T));
        std::memset(tail + r4 * d, 0, size_t((4 - r4) * d) * sizeof(T));
        std::memcpy(pad_best, st_best + full4 * W, size_t(r4 * W) * sizeof(T));
        std::memcpy(pad_idx, st_idx + full4 * W, size_t(r4 * W) * sizeof(T));
        last_dot(tail, d, tile, base, pad_best, pad_idx);
        std::memcpy(st_best + full4 * W, pad_best, size_t(r4 * W) * sizeof(T));
        std::memcpy(st_idx + full4 * W, pad_idx, size_t(r4 * W) * sizeof(T));
      }
    }
  }
#endif
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    // The same (max, first index of the max) per row, by vector reductions: a scalar pass over
    // the 16 lanes cost about as much as the 4-center dot tile.
    for (int64_t i = 0; i < rows; ++i) {
      const __m512 b = _mm512_loadu_ps(st_best + i * W);
      const __m512 bmax = vx::allmax(b);
      const __mmask16 at = _mm512_cmp_ps_mask(b, bmax, _CMP_EQ_OQ);
      const __m512 id = _mm512_mask_mov_ps(
          _mm512_set1_ps(std::numeric_limits<float>::infinity()), at, _mm512_loadu_ps(st_idx + i * W));
      labels[i] = int32_t(_mm512_cvtss_f32(vx::allmin(id)));
      best[i] = _mm512_cvtss_f32(bmax);
    }
    return;
  }
#endif
  for (int64_t i = 0; i < rows; ++i) {
    const T* b = st_best + i * W;
    const T* id = st_idx + i * W;
    T bv = b[0], bi = id[0];
    for (int l = 1; l < W; ++l)
      if (b[l] > bv || (b[l] == bv && id[l] < bi)) {
        bv = b[l];
        bi = id[l];
      }
    labels[i] = int32_t(bi);
    best[i] = bv;
  }
}

// gemm path: g holds rows x k values cn_j - 2 x.c_j; labels and minval[i] = min_j.
template <class T>
void argmin_rows(const T* g, int64_t rows, int64_t k, int32_t* labels, T* minval) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  const int64_t kv = k / W * W;
  alignas(64) T lb[W], li[W];
  for (int64_t i = 0; i < rows; ++i) {
    const T* row = g + i * k;
    // maximise the negated value so the same strict update keeps the first index
    V best = S::set1(-std::numeric_limits<T>::infinity()), idx = S::set1(0);
    V cand = S::iota(T(0));
    const V step = S::set1(T(W)), neg = S::set1(T(-1));
    for (int64_t j = 0; j < kv; j += W) {
      V v = S::fma(S::load(row + j), neg, S::set1(T(0)));
      S::update(best, idx, v, cand);
      cand = S::add(cand, step);
    }
    S::store(lb, best);
    S::store(li, idx);
    T bv = lb[0], bi = li[0];
    for (int l = 1; l < W; ++l)
      if (lb[l] > bv || (lb[l] == bv && li[l] < bi)) {
        bv = lb[l];
        bi = li[l];
      }
    for (int64_t j = kv; j < k; ++j)
      if (-row[j] > bv) {
        bv = -row[j];
        bi = T(j);
      }
    labels[i] = int32_t(bi);
    minval[i] = -bv;
  }
}

// Per-thread M-step partials: sums[l] += w x_i, weights[l] += w, inertia += w * dist_i where
// dist_i = ||x_i||^2 + 2 * half_gap[i] * sign; `best_is_half` says whether gap holds
// x.c - |c|^2/2 (fused) or |c|^2 - 2x.c (gemm).
template <class T>
T sq_norm(const T* row, int64_t d) {
  using S = Simd<T>;
  constexpr int W = S::W;
  const int64_t dv = d / W * W;
  typename S::V acc = S::set1(T(0));
  for (int64_t f = 0; f < dv; f += W) {
    const typename S::V v = S::load(row + f);
    acc = S::fma(v, v, acc);
  }
  T nrm = S::hsum(acc);  // a tree, not a serial chain of W dependent adds
  for (int64_t f = dv; f < d; ++f) nrm += row[f] * row[f];
  return nrm;
}

#if defined(__AVX512F__)
// float32 rows, AVX-512: one pass over each row for its float64 sums (16 features at a time:
// one load, two conversions, two FMAs into the sums row) and, kInertia, its ||x_i||^2 from the
// same loaded vector, with the operations of sq_norm (the same 16-lane FMA chain and hsum
// tree: the same bits). The separate sq_norm pass cost more than the sums themselves at
// d=64. The sums are s + w * x with one rounding (FMA) in both variants, so lloyd_fit (no
// inertia) and lloyd_partial (inertia) add the same bits.
// sh: null, or the rows are used as x - sh (rounded to float as in a centred copy: the same
// bits as this function run on that copy).
// g: null, or the rows go into the open float32 groups of their clusters (kGroupRows rows each,
// see RowGroups): each row adds w x with one FMA into its group (zero when opened, so the first
// row is w x rounded once), and a full group is added into sums as float64.
template <bool kInertia>
void accumulate_rows_f32(const float* x, int64_t rows, int64_t d, const float* w,
                         const int32_t* labels, const float* gap, bool gap_is_half,
                         double* sums, double* weights, double* inertia, const float* sh,
                         RowGroups* g) {
  using S = Simd<float>;
  const int64_t dv = d / 16 * 16;
  const int64_t ahead = accumulate_prefetch_rows(rows, d, int64_t(sizeof(float)));
  double acc_inertia = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * d;
    const double wi = w ? double(w[i]) : 1.0;
    // (an address only: it may lie past the end of x; a prefetch never faults)
    const uintptr_t pfr = reinterpret_cast<uintptr_t>(row) +
                          uintptr_t(ahead * d * int64_t(sizeof(float)));
    const int64_t l = labels[i];
    float nrm = 0.0f;
    if (g) {
      float* gs = g->sums + l * d;  // (zero when the group is empty: RowGroupStore, flush_group)
      const float wf = w ? w[i] : 1.0f;
      const __m512 vwf = _mm512_set1_ps(wf);
      __m512 nacc = _mm512_setzero_ps();
      for (int64_t f = 0; f < dv; f += 16) {
        if (ahead) vx::prefetch_t0(pfr + uintptr_t(f * int64_t(sizeof(float))));
        __m512 v = _mm512_loadu_ps(row + f);
        if (sh) v = _mm512_sub_ps(v, _mm512_loadu_ps(sh + f));
        if constexpr (kInertia) nacc = _mm512_fmadd_ps(v, v, nacc);
        const __m512 o = _mm512_loadu_ps(gs + f);
        _mm512_storeu_ps(gs + f, w ? _mm512_fmadd_ps(vwf, v, o) : _mm512_add_ps(v, o));
      }
      if constexpr (kInertia) nrm = S::hsum(nacc);
      for (int64_t f = dv; f < d; ++f) {
        const float xv = sh ? row[f] - sh[f] : row[f];
        gs[f] = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(wf), _mm_set_ss(xv), _mm_set_ss(gs[f])));
        if constexpr (kInertia)
          nrm = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(xv), _mm_set_ss(xv), _mm_set_ss(nrm)));
      }
      if (++g->counts[l] == kGroupRows) flush_group(*g, l, d, sums);
    } else {
      double* s = sums + l * d;
      const __m512d vw = _mm512_set1_pd(wi);
      __m512 nacc = _mm512_setzero_ps();
      for (int64_t f = 0; f < dv; f += 16) {
        if (ahead) vx::prefetch_t0(pfr + uintptr_t(f * int64_t(sizeof(float))));
        __m256 vlo, vhi;
        if (sh) {
          const __m512 v = _mm512_sub_ps(_mm512_loadu_ps(row + f), _mm512_loadu_ps(sh + f));
          if constexpr (kInertia) nacc = _mm512_fmadd_ps(v, v, nacc);
          vlo = vx::lo256(v);
          vhi = vx::hi256(v);
        } else {
          if constexpr (kInertia) {
            const __m512 v = _mm512_loadu_ps(row + f);
            nacc = _mm512_fmadd_ps(v, v, nacc);
          }
          vlo = _mm256_loadu_ps(row + f);
          vhi = _mm256_loadu_ps(row + f + 8);
        }
        // (maskz with all lanes: GCC 12 warns inside the unmasked cvtps_pd and the casts)
        const __m512d lo = _mm512_maskz_cvtps_pd(__mmask8(0xFF), vlo);
        const __m512d hi = _mm512_maskz_cvtps_pd(__mmask8(0xFF), vhi);
        _mm512_storeu_pd(s + f, _mm512_fmadd_pd(vw, lo, _mm512_loadu_pd(s + f)));
        _mm512_storeu_pd(s + f + 8, _mm512_fmadd_pd(vw, hi, _mm512_loadu_pd(s + f + 8)));
      }
      if constexpr (kInertia) nrm = S::hsum(nacc);
      for (int64_t f = dv; f < d; ++f) {
        const float xv = sh ? row[f] - sh[f] : row[f];
        const __m128d t = _mm_fmadd_sd(_mm_set_sd(wi), _mm_set_sd(double(xv)), _mm_set_sd(s[f]));
        s[f] = _mm_cvtsd_f64(t);
        if constexpr (kInertia)
          nrm = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(xv), _mm_set_ss(xv), _mm_set_ss(nrm)));
      }
    }
    weights[l] += wi;
    if constexpr (kInertia) {
      const double dist =
          gap_is_half ? double(nrm) - 2.0 * double(gap[i]) : double(nrm) + double(gap[i]);
      acc_inertia += wi * (dist > 0 ? dist : 0.0);
    }
  }
  if constexpr (kInertia) *inertia += acc_inertia;
}
#endif

#if defined(__AVX512F__)
// Rows of at most 16 features, no inertia: each row's float64 w * x goes into its label's sums
// as one or two 8-lane FMAs (lane f: s_f + w x_f, one rounding: the bits of the scalar paths,
// accumulate_rows_f32's tail and the generic loop's contracted s += w * x) on a local copy of
// the sums with 16 lanes per label, written back at the end; a row shorter than 8 or than 16
// features carries 1.0 in lane d, so that lane gathers the weight (w * 1 + s is
// weights[l] += w). Each label's sums still take its rows one by one in row order. Returns
// false (nothing done) when a label is kShortLabels or more.
// float32 uses it from kShortMinFeatures features on: whole fits, 200,000 rows, 2 threads, ms
// per Lloyd iteration with the scalar tail / this: d = 8, k = 3: 0.89-0.96 / 0.68-0.71;
// d = 12, k = 5: 1.12 / 0.88-0.91; d = 16, k = 3: 1.03-1.06 / 0.91-1.02; d = 4: 0.51-0.56 /
// 0.49-0.56; d = 3: 0.58 / 0.61 and d = 2 slower too (the per-label chain through the local
// sums, one 64-byte store-to-load forward per row, costs more than two scalar ones). float64
// uses it at every d <= 16: the generic loop (a centred copy of each row, a loop of d
// iterations) was ~3x the time of the lane tile at d = 2.
constexpr int64_t kShortLabels = 64;
constexpr int64_t kShortMinFeatures = 4;

// One row of d <= 16 features (minus sh when not null: a centred copy's bits) as float64
// halves, features 0-7 in lo and 8-15 in hi (hi only when d > 8).
template <class T>
struct ShortRows;
template <>
struct ShortRows<float> {
  __mmask16 m;
  __m512 sh;
  ShortRows(int64_t d, const float* s)
      : m(__mmask16(d >= 16 ? 0xFFFF : (1u << d) - 1)),
        sh(s ? _mm512_maskz_loadu_ps(m, s) : _mm512_setzero_ps()) {}
  void load(const float* row, bool centred, bool two, __m512d& lo, __m512d& hi) const {
    __m512 v = _mm512_maskz_loadu_ps(m, row);
    if (centred) v = _mm512_sub_ps(v, sh);
    lo = _mm512_maskz_cvtps_pd(__mmask8(0xFF), vx::lo256(v));
    if (two) hi = _mm512_maskz_cvtps_pd(__mmask8(0xFF), vx::hi256(v));
  }
};
template <>
struct ShortRows<double> {
  __mmask8 m0, m1;
  __m512d sh0, sh1;
  ShortRows(int64_t d, const double* s)
      : m0(__mmask8(d >= 8 ? 0xFF : (1u << d) - 1)),
        m1(__mmask8(d >= 16 ? 0xFF : d > 8 ? (1u << (d - 8)) - 1 : 0)),
        sh0(s ? _mm512_maskz_loadu_pd(m0, s) : _mm512_setzero_pd()),
        sh1(s && d > 8 ? _mm512_maskz_loadu_pd(m1, s + 8) : _mm512_setzero_pd()) {}
  void load(const double* row, bool centred, bool two, __m512d& lo, __m512d& hi) const {
    lo = _mm512_maskz_loadu_pd(m0, row);
    if (centred) lo = _mm512_sub_pd(lo, sh0);
    if (two) {
      hi = _mm512_maskz_loadu_pd(m1, row + 8);
      if (centred) hi = _mm512_sub_pd(hi, sh1);
    }
  }
};

// The largest label of a block (0 for none): the M-steps that keep a local copy of the sums
// size it by this.
inline int32_t max_label(const int32_t* labels, int64_t rows) {
  int32_t top = 0;
  for (int64_t i = 0; i < rows; ++i) top = labels[i] > top ? labels[i] : top;
  return top;
}

template <class T>
inline bool accumulate_short(const T* x, int64_t rows, int64_t d, const T* w,
                             const int32_t* labels, double* sums, double* weights, const T* sh) {
  const int32_t top = max_label(labels, rows);
  if (top >= kShortLabels || d > 16) return false;
  const int64_t nl = int64_t(top) + 1;
  const bool two = d > 8;
  const __mmask8 m0 = __mmask8(d >= 8 ? 0xFF : (1u << d) - 1);
  const __mmask8 m1 = __mmask8(d >= 16 ? 0xFF : two ? (1u << (d - 8)) - 1 : 0);
  const bool wlane = d != 8 && d != 16;
  const __mmask8 w0 = __mmask8(wlane && !two ? 1u << d : 0u);
  const __mmask8 w1 = __mmask8(wlane && two ? 1u << (d - 8) : 0u);
  alignas(64) double acc[kShortLabels * 16];
  for (int64_t l = 0; l < nl; ++l) {
    _mm512_store_pd(acc + l * 16, _mm512_maskz_loadu_pd(m0, sums + l * d));
    if (two) _mm512_store_pd(acc + l * 16 + 8, _mm512_maskz_loadu_pd(m1, sums + l * d + 8));
    if (wlane) acc[l * 16 + d] = weights[l];
  }
  const ShortRows<T> in(d, sh);
  const __m512d one = _mm512_set1_pd(1.0);
  for (int64_t i = 0; i < rows; ++i) {
    const double wi = w ? double(w[i]) : 1.0;
    const __m512d vw = _mm512_set1_pd(wi);
    double* a = acc + int64_t(labels[i]) * 16;
    __m512d lo, hi;
    in.load(x + i * d, sh != nullptr, two, lo, hi);
    lo = _mm512_mask_mov_pd(lo, w0, one);
    _mm512_store_pd(a, _mm512_fmadd_pd(vw, lo, _mm512_load_pd(a)));
    if (two) {
      hi = _mm512_mask_mov_pd(hi, w1, one);
      _mm512_store_pd(a + 8, _mm512_fmadd_pd(vw, hi, _mm512_load_pd(a + 8)));
    }
    if (!wlane) weights[labels[i]] += wi;
  }
  for (int64_t l = 0; l < nl; ++l) {
    if (wlane) weights[l] = acc[l * 16 + d];
    _mm512_mask_storeu_pd(sums + l * d, m0, _mm512_load_pd(acc + l * 16));
    if (two) _mm512_mask_storeu_pd(sums + l * d + 8, m1, _mm512_load_pd(acc + l * 16 + 8));
  }
  return true;
}
#endif

#if defined(__AVX512F__)
// Few labels, float32 rows of 16 DV features, no inertia: the sums rows of the block's K labels
// live in 2 K DV registers for the whole block instead of being loaded and stored for every
// row (consecutive rows of a label then waited on each other through memory). Each row updates
// every label's sums with a masked FMA (mask: its own label), so label j's sums still take
// s + w * x for its rows in row order with one rounding each, and the weights are added in the
// lanes of one register the same way: the bits of accumulate_rows_f32. labels < K.
template <int K, int DV>
void accumulate_few(const float* x, int64_t rows, const float* w, const int32_t* labels,
                    double* sums, double* weights, const float* sh) {
  constexpr int64_t d = 16 * DV;
  __m512d s[K][2 * DV];
#pragma GCC unroll 4
  for (int j = 0; j < K; ++j)
#pragma GCC unroll 16
    for (int v = 0; v < 2 * DV; ++v) s[j][v] = _mm512_loadu_pd(sums + j * d + 8 * v);
  const __mmask8 kmask = __mmask8((1u << K) - 1);
  __m512d wsum = _mm512_maskz_loadu_pd(kmask, weights);
  const int64_t ahead = accumulate_prefetch_rows(rows, d, int64_t(sizeof(float)));
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * d;
    const int lab = labels[i];
    const __m512d vw = _mm512_set1_pd(w ? double(w[i]) : 1.0);
    __mmask8 m[K];
#pragma GCC unroll 4
    for (int j = 0; j < K; ++j) m[j] = __mmask8(-int(lab == j));
    // as accumulate_rows_f32: keep X streaming (an address only)
    const uintptr_t pfr = reinterpret_cast<uintptr_t>(row) +
                          uintptr_t(ahead * d * int64_t(sizeof(float)));
#pragma GCC unroll 16
    for (int v = 0; v < DV; ++v) {
      if (ahead) vx::prefetch_t0(pfr + uintptr_t(64 * v));
      __m256 vlo, vhi;
      if (sh) {
        const __m512 t = _mm512_sub_ps(_mm512_loadu_ps(row + 16 * v), _mm512_loadu_ps(sh + 16 * v));
        vlo = vx::lo256(t);
        vhi = vx::hi256(t);
      } else {
        vlo = _mm256_loadu_ps(row + 16 * v);
        vhi = _mm256_loadu_ps(row + 16 * v + 8);
      }
      const __m512d lo = _mm512_maskz_cvtps_pd(__mmask8(0xFF), vlo);
      const __m512d hi = _mm512_maskz_cvtps_pd(__mmask8(0xFF), vhi);
#pragma GCC unroll 4
      for (int j = 0; j < K; ++j) {
        s[j][2 * v] = _mm512_mask3_fmadd_pd(vw, lo, s[j][2 * v], m[j]);
        s[j][2 * v + 1] = _mm512_mask3_fmadd_pd(vw, hi, s[j][2 * v + 1], m[j]);
      }
    }
    wsum = _mm512_mask_add_pd(wsum, __mmask8(1u << lab), wsum, vw);
  }
#pragma GCC unroll 4
  for (int j = 0; j < K; ++j)
#pragma GCC unroll 16
    for (int v = 0; v < 2 * DV; ++v) _mm512_storeu_pd(sums + j * d + 8 * v, s[j][v]);
  _mm512_mask_storeu_pd(weights, kmask, wsum);
}

// accumulate_few for the block when its labels and d allow (2 K DV <= 24 registers of sums).
// Widest rows it takes: K = 2, DV = 6. Its sums (float64 per row) must not meet the float32
// groups' for one cluster, so groups_rows starts above it.
constexpr int64_t kFewMaxFeatures = 96;
static_assert(kGroupMinFeatures > kFewMaxFeatures, "accumulate_few and the float32 groups overlap");
inline bool accumulate_few_rows(const float* x, int64_t rows, int64_t d, const float* w,
                                const int32_t* labels, double* sums, double* weights,
                                const float* sh) {
  if (d % 16 != 0 || rows <= 0) return false;
  const int64_t key = int64_t(max_label(labels, rows) + 1) * 100 + d / 16;
  switch (key) {
    case 103: accumulate_few<1, 3>(x, rows, w, labels, sums, weights, sh); return true;
    case 104: accumulate_few<1, 4>(x, rows, w, labels, sums, weights, sh); return true;
    case 203: accumulate_few<2, 3>(x, rows, w, labels, sums, weights, sh); return true;
    case 204: accumulate_few<2, 4>(x, rows, w, labels, sums, weights, sh); return true;
    case 205: accumulate_few<2, 5>(x, rows, w, labels, sums, weights, sh); return true;
    case 206: accumulate_few<2, 6>(x, rows, w, labels, sums, weights, sh); return true;
    case 303: accumulate_few<3, 3>(x, rows, w, labels, sums, weights, sh); return true;
    case 304: accumulate_few<3, 4>(x, rows, w, labels, sums, weights, sh); return true;
    default: return false;
  }
}
#endif

// shift: null, or the rows are used as x - shift (the bits of a centred copy).
template <class T>
void accumulate_rows(const T* x, int64_t rows, int64_t d, const T* w, const int32_t* labels,
                     const T* gap, bool gap_is_half, double* sums, double* weights,
                     double* inertia, const T* shift = nullptr, RowGroups* groups = nullptr) {
  (void)groups;  // (only the AVX-512 float32 path groups: groups_rows)
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (groups) {  // (groups_rows: d >= kGroupMinFeatures, never the short or few paths)
      if (inertia)
        accumulate_rows_f32<true>(x, rows, d, w, labels, gap, gap_is_half, sums, weights,
                                  inertia, shift, groups);
      else
        accumulate_rows_f32<false>(x, rows, d, w, labels, gap, gap_is_half, sums, weights,
                                   inertia, shift, groups);
      return;
    }
    if (!inertia && d >= kShortMinFeatures && d <= 16 &&
        accumulate_short<float>(x, rows, d, w, labels, sums, weights, shift))
      return;
    if (!inertia && accumulate_few_rows(x, rows, d, w, labels, sums, weights, shift)) return;
    if (inertia)
      accumulate_rows_f32<true>(x, rows, d, w, labels, gap, gap_is_half, sums, weights, inertia,
                                shift, nullptr);
    else
      accumulate_rows_f32<false>(x, rows, d, w, labels, gap, gap_is_half, sums, weights,
                                 inertia, shift, nullptr);
    return;
  }
  if constexpr (std::is_same_v<T, double>) {
    if (!inertia && d <= 16 &&
        accumulate_short<double>(x, rows, d, w, labels, sums, weights, shift))
      return;
  }
#endif
  std::vector<T> centred(shift ? size_t(d) : 0);
  double acc_inertia = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const T* row = x + i * d;
#if defined(__AVX512F__) || defined(__AVX2__)
    if (const int64_t ahead = accumulate_prefetch_rows(rows, d, int64_t(sizeof(T)))) {
      // as accumulate_rows_f32 (an address only)
      const uintptr_t pfr = reinterpret_cast<uintptr_t>(row) +
                            uintptr_t(ahead * d * int64_t(sizeof(T)));
      for (int64_t o = 0; o < d * int64_t(sizeof(T)); o += 64) vx::prefetch_t0(pfr + uintptr_t(o));
    }
#endif
    if (shift) {
      shift_rows(row, 1, d, shift, centred.data());
      row = centred.data();
    }
    const double wi = w ? double(w[i]) : 1.0;
    double* s = sums + int64_t(labels[i]) * d;
#pragma GCC ivdep
    for (int64_t f = 0; f < d; ++f) s[f] += wi * double(row[f]);
    weights[labels[i]] += wi;
    if (!inertia) continue;  // (lloyd_fit does not need the per-step inertia)
    const T nrm = sq_norm(row, d);
    double dist = gap_is_half ? double(nrm) - 2.0 * double(gap[i]) : double(nrm) + double(gap[i]);
    acc_inertia += wi * (dist > 0 ? dist : 0.0);
  }
  if (inertia) *inertia += acc_inertia;
}

template <class T>
void assigned_sq_dist_rows(const T* x, int64_t begin, int64_t end, int64_t d, const T* centers,
                           const int32_t* labels, T* out) {
  for (int64_t i = begin; i < end; ++i) {
    const T* row = x + i * d;
    const T* c = centers + int64_t(labels[i]) * d;
    using S = Simd<T>;
    constexpr int W = S::W;
    const int64_t dv = d / W * W;
    typename S::V acc = S::set1(T(0));
    for (int64_t f = 0; f < dv; f += W) {
      const typename S::V diff = S::sub(S::load(row + f), S::load(c + f));
      acc = S::fma(diff, diff, acc);
    }
    T sum = S::hsum(acc);
    for (int64_t f = dv; f < d; ++f) {
      T diff = row[f] - c[f];
      sum += diff * diff;
    }
    out[i] = sum;
  }
}

// Whether the fused step's accumulate sums this shape's rows in float32 groups (RowGroups):
// float32 on AVX-512, the row-dot tile's shapes from kGroupMinFeatures features on (where the
// M-step's float64 conversion was as much of a row as its distances; below, accumulate_few
// keeps the sums of up to 3 clusters in registers, faster still: d = 64, k = 3, 1 thread,
// 11.9-12.4 ms a step against 14.1-19.4 with the groups).
template <class T>
bool groups_rows(int64_t d, int64_t k) {
#if defined(__AVX512F__)
  return std::is_same_v<T, float> && uses_row_dot(d, k) && d >= kGroupMinFeatures;
#else
  (void)d;
  (void)k;
  return false;
#endif
}

// Whether fused_block takes a shift for this shape (the tile subtracts it as it loads the rows).
template <class T>
bool fused_takes_shift(int64_t d, int64_t k) {
  if (uses_row_dot(d, k)) return true;
#if defined(__AVX512F__)
  return uses_lane_rows(d, k);
#else
  return false;
#endif
}

template <class T>
Ops<T> ops() {
  return Ops<T>{&tile_width<T>,           &pack_center_tiles<T>, &fused_scratch_size<T>,
                &fused_block<T>,          &argmin_rows<T>,     &accumulate_rows<T>,
                &assigned_sq_dist_rows<T>, &fused_takes_shift<T>, &groups_rows<T>};
}

#define HARPDAAL_KMEANS_INSTANTIATE(T)                                                        \
  template int64_t tile_width<T>();                                                           \
  template int64_t rows_per_tile<T>();                                                        \
  template void pack_centers<T>(const T*, int64_t, int64_t, T*);                              \
  template void pack_center_tiles<T>(const T*, int64_t, int64_t, T*, int64_t, int64_t);       \
  template int64_t fused_scratch_size<T>(int64_t, int64_t);                                   \
  template void fused_block<T>(const T*, int64_t, int64_t, const T*, int64_t, int32_t*, T*,   \
                               T*, const T*, const T*);                                       \
  template void argmin_rows<T>(const T*, int64_t, int64_t, int32_t*, T*);                     \
  template void accumulate_rows<T>(const T*, int64_t, int64_t, const T*, const int32_t*,      \
                                   const T*, bool, double*, double*, double*, const T*,       \
                                   RowGroups*);                                               \
  template void assigned_sq_dist_rows<T>(const T*, int64_t, int64_t, int64_t, const T*,       \
                                         const int32_t*, T*);                                 \
  template bool groups_rows<T>(int64_t, int64_t);                                             \
  template Ops<T> ops<T>();
HARPDAAL_KMEANS_INSTANTIATE(float)
HARPDAAL_KMEANS_INSTANTIATE(double)
#undef HARPDAAL_KMEANS_INSTANTIATE

}  // namespace harpdaal::kernels::kmeans::HARPDAAL_ISA_NS
