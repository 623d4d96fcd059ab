// Per-ISA bodies of the bound-based K-means step (prune.cpp), compiled once per level
// (prune_{generic,avx2,avx512}.cpp define HARPDAAL_ISA_NS first; the wide flags of the file
// pick the vector type below).
//
// score_block is the distance tile for the candidates that survive the bounds: rows given by
// pointers (up to kTileRows at a time, each feature broadcast) times one group's packed centers (W centers per
// vector, lanes over centers, [-||c||^2/2 for W lanes][d rows of W values]), accumulated by
// FMAs from -||c||^2/2 as the fused Lloyd tile does, so each lane ends at x.c - ||c||^2/2.
// Unlike the Lloyd tile it stores the accumulators instead of folding them into an argmax:
// the bounds need the two best centers of every group, not only the best.
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace harpdaal::kernels::kmeans::prune::HARPDAAL_ISA_NS {

template <class T>
struct Vec;

#if defined(__AVX512F__)
template <>
struct Vec<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
};
template <>
struct Vec<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(double a) { return _mm512_set1_pd(a); }
  static V zero() { return _mm512_setzero_pd(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
};
constexpr int kTileRows = 8;  // 8 x 3 accumulators + 3 center vectors: 27 of 32 zmm
constexpr int kTileVecs = 3;
#elif defined(__AVX2__)
template <>
struct Vec<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
};
template <>
struct Vec<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(double a) { return _mm256_set1_pd(a); }
  static V zero() { return _mm256_setzero_pd(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
};
constexpr int kTileRows = 8;  // 8 accumulators + the center vector + broadcasts: of 16 ymm
constexpr int kTileVecs = 1;
#else
template <class T>
struct VecGeneric {
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
  static V zero() { return set1(T(0)); }
  static V fma(V a, V b, V c) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] * b.v[l] + c.v[l];
    return r;
  }
  static V sub(V a, V b) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] - b.v[l];
    return r;
  }
};
template <>
struct Vec<float> : VecGeneric<float> {};
template <>
struct Vec<double> : VecGeneric<double> {};
constexpr int kTileRows = 4;
constexpr int kTileVecs = 1;
#endif

// Centers per packed vector (the tile's width).
template <class T>
int lanes() {
  return Vec<T>::W;
}

// Sum of the W lanes as a tree (the same order on every call).
template <class T>
T hsum(typename Vec<T>::V a) {
  constexpr int W = Vec<T>::W;
  alignas(64) T t[W];
  Vec<T>::store(t, a);
  for (int w = W / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) t[l] += t[l + w];
  return t[0];
}

// MR rows of the tile against NV packed vectors of centers (p: the first, each
// [-||c||^2/2][d rows of W], pstride values apart), features [f0, f1): the accumulators start
// from -||c||^2/2 at f0 = 0, else from out (a float stored and reloaded exactly: the same FMAs
// in the same order as one pass).
template <class T, int MR, int NV>
void score_rows(const T* const* rows, int64_t f0, int64_t f1, const T* p, int64_t pstride,
                T* out, int64_t stride) {
  using S = Vec<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  const T* xr[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) xr[r] = rows[r];
  V acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[r][v] = f0 == 0 ? S::load(p + v * pstride) : S::load(out + r * stride + v * W);
  const T* b = p + W + f0 * W;
  for (int64_t f = f0; f < f1; ++f, b += W) {
    V c[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) c[v] = S::load(b + v * pstride);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const V x = S::set1(xr[r][f]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = S::fma(x, c[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) S::store(out + r * stride + v * W, acc[r][v]);
}

// The rows of a tile: kTileRows at a time, then one tile of the rows left (no padding rows: a
// row's lanes get the same FMAs in any tile).
template <class T, int NV>
void score_panel(const T* const* rows, int64_t m, int64_t f0, int64_t f1, const T* p,
                 int64_t pstride, T* out, int64_t stride) {
  constexpr int MR = kTileRows;
  int64_t r0 = 0;
  for (; r0 + MR <= m; r0 += MR)
    score_rows<T, MR, NV>(rows + r0, f0, f1, p, pstride, out + r0 * stride, stride);
  const T* const* rr = rows + r0;
  T* o = out + r0 * stride;
  switch (m - r0) {
    case 1: score_rows<T, 1, NV>(rr, f0, f1, p, pstride, o, stride); break;
    case 2: score_rows<T, 2, NV>(rr, f0, f1, p, pstride, o, stride); break;
    case 3: score_rows<T, 3, NV>(rr, f0, f1, p, pstride, o, stride); break;
    case 4: score_rows<T, 4, NV>(rr, f0, f1, p, pstride, o, stride); break;
    case 5: score_rows<T, 5, NV>(rr, f0, f1, p, pstride, o, stride); break;
    case 6: score_rows<T, 6, NV>(rr, f0, f1, p, pstride, o, stride); break;
    case 7: score_rows<T, 7, NV>(rr, f0, f1, p, pstride, o, stride); break;
    default: break;
  }
}

// out[r * stride + v * W + l] = x_r . c_{v*W+l} - ||c||^2/2 for the m rows rows[0 .. m) (d
// values each, anywhere in memory: no gathered copy) and the group's n_vec packed vectors of
// centers, kTileVecs vectors per tile where the registers allow (8 rows x 3 vectors: 11 loads
// for 24 FMAs, against 9 for 8 with one vector). Features go in slices whose part of the
// tile's vectors (8 KB each) stays in L1 while every row tile uses it.
template <class T>
void score_block(const T* const* rows, int64_t m, int64_t d, const T* packed, int64_t n_vec,
                 T* out, int64_t stride) {
  constexpr int W = Vec<T>::W;
  constexpr int64_t kSlice = 8192 / (W * int64_t(sizeof(T)));
  const int64_t pstride = (d + 1) * W;
  for (int64_t v = 0; v < n_vec;) {
    const int64_t nv = n_vec - v < kTileVecs ? n_vec - v : kTileVecs;
    const T* p = packed + v * pstride;
    for (int64_t f0 = 0; f0 < d; f0 += kSlice) {
      const int64_t f1 = f0 + kSlice < d ? f0 + kSlice : d;
      if (nv == 3)
        score_panel<T, 3>(rows, m, f0, f1, p, pstride, out + v * W, stride);
      else if (nv == 2)
        score_panel<T, 2>(rows, m, f0, f1, p, pstride, out + v * W, stride);
      else
        score_panel<T, 1>(rows, m, f0, f1, p, pstride, out + v * W, stride);
    }
    v += nv;
  }
}

// ||a||^2 and (below) ||a - b||^2 (direct: no cancellation), lanes over the features.
template <class T>
T sq_norm(const T* a, int64_t d) {
  using S = Vec<T>;
  constexpr int W = S::W;
  const int64_t dv = d / W * W;
  typename S::V acc = S::zero();
  for (int64_t f = 0; f < dv; f += W) {
    const typename S::V v = S::load(a + f);
    acc = S::fma(v, v, acc);
  }
  T s = hsum<T>(acc);
  for (int64_t f = dv; f < d; ++f) s += a[f] * a[f];
  return s;
}
// ||a - b||^2; kShift: a is used as a - sh rounded to T first (the bits of the same function on
// a centred copy of a), and that centred copy is written to `centred` in the same pass.
template <class T, bool kShift>
T sq_dist_impl(const T* a, const T* sh, const T* b, int64_t d, T* centred) {
  using S = Vec<T>;
  constexpr int W = S::W;
  const int64_t dv = d / W * W;
  typename S::V acc = S::zero();
  for (int64_t f = 0; f < dv; f += W) {
    typename S::V c = S::load(a + f);
    if constexpr (kShift) {
      c = S::sub(c, S::load(sh + f));
      S::store(centred + f, c);
    }
    const typename S::V v = S::sub(c, S::load(b + f));
    acc = S::fma(v, v, acc);
  }
  T s = hsum<T>(acc);
  for (int64_t f = dv; f < d; ++f) {
    T c = a[f];
    if constexpr (kShift) {
      c = a[f] - sh[f];
      centred[f] = c;
    }
    s += (c - b[f]) * (c - b[f]);
  }
  return s;
}
template <class T>
T sq_dist(const T* a, const T* b, int64_t d) {
  return sq_dist_impl<T, false>(a, nullptr, b, d, nullptr);
}
template <class T>
T sq_dist_shift(const T* a, const T* sh, const T* b, int64_t d, T* centred) {
  return sq_dist_impl<T, true>(a, sh, b, d, centred);
}

#define HARPDAAL_PRUNE_INSTANTIATE(T)                                                      \
  template int lanes<T>();                                                                 \
  template void score_block<T>(const T* const*, int64_t, int64_t, const T*, int64_t, T*,    \
                               int64_t);                                                   \
  template T sq_dist_shift<T>(const T*, const T*, const T*, int64_t, T*);                  \
  template T sq_norm<T>(const T*, int64_t);                                                \
  template T sq_dist<T>(const T*, const T*, int64_t);
HARPDAAL_PRUNE_INSTANTIATE(float)
HARPDAAL_PRUNE_INSTANTIATE(double)
#undef HARPDAAL_PRUNE_INSTANTIATE

}  // namespace harpdaal::kernels::kmeans::prune::HARPDAAL_ISA_NS
