// The per-ISA K-means bodies as one table of function pointers: kmeans_impl.hpp fills it once per
// level (ops<T>() in each ISA namespace) and kmeans.cpp picks the active level's table with
// kernels::dispatch once per kernel call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace harpdaal::kernels::kmeans {

// The fused step's two tiles: with fewer than 16 centers and at least 16 features per center,
// the row-dot tile (lanes along the features, one horizontal sum per row and center);
// otherwise the center tile (lanes along the centers, some idle at k < 16). The row-dot tile
// pays per (row, center) for its horizontal sum and scalar tail, the center tile per row for
// its idle lanes: one Lloyd step, 1 thread, random data, ms (row-dot / center tile):
// d = 8, k = 10: 17.2 / 4.4; d = 64, k = 3: 8.2 / 11.5; d = 64, k = 10: 13.8 / 11.1;
// d = 160, k = 10: 14.6 / 15.3; d = 784, k = 10: 23.7 / 31.7 (docs/kmeans.md has the grid).
inline constexpr int64_t kRowDotFeaturesPerCenter = 16;
inline bool uses_row_dot(int64_t d, int64_t k) {
  return k < 16 && d >= kRowDotFeaturesPerCenter * k;
}

// out[i*d + f] = x[i*d + f] - shift[f], rounded to T: the values of a centred copy.
template <class T>
inline void shift_rows(const T* x, int64_t rows, int64_t d, const T* shift, T* out) {
  for (int64_t i = 0; i < rows; ++i)
#pragma GCC ivdep
    for (int64_t f = 0; f < d; ++f) out[i * d + f] = x[i * d + f] - shift[f];
}

// The float32 M-step of the row-dot tile at d >= kGroupMinFeatures (ops.groups_rows): each
// cluster's rows, in row order within a chunk, are summed in float32 in groups of kGroupRows
// (each row's w x added with one FMA into its group, which starts at zero), and each group's
// sum is added into the chunk's float64 sums. The float32 -> float64 conversion and the float64
// FMAs were as much of a k = 3, d = 784 row as its distances (vcvtps2pd at ~2 cycles per 8
// values on Zen 5); a group converts once for kGroupRows rows. A group depends on its cluster's
// rows in the chunk alone, so a pass over a subset of the clusters (prune's dirty clusters)
// forms the same groups. Error: at most kGroupRows float32 additions before each float64 one.
inline constexpr int32_t kGroupRows = 16;
inline constexpr int64_t kGroupMinFeatures = 112;

struct RowGroups {
  float* sums;      // k x d, the open groups' float32 sums (zero for an empty group)
  int32_t* counts;  // k, rows in each cluster's open group
};

// sums[j*d ..] += cluster j's open group (float64, one rounding per value); the group is emptied
// (zeroed: a row is added to its group with no test for the first).
inline void flush_group(RowGroups& g, int64_t j, int64_t d, double* sums) {
  float* gs = g.sums + j * d;
  double* s = sums + j * d;
  for (int64_t f = 0; f < d; ++f) {
    s[f] += double(gs[f]);
    gs[f] = 0.0f;
  }
  g.counts[j] = 0;
}
inline void flush_groups(RowGroups& g, int64_t k, int64_t d, double* sums) {
  for (int64_t j = 0; j < k; ++j)
    if (g.counts[j]) flush_group(g, j, d, sums);
}

// The storage of one thread's RowGroups, kept across chunks (every group is flushed, so
// emptied, at the end of each chunk).
struct RowGroupStore {
  std::vector<float> sums;
  std::vector<int32_t> counts;
  int64_t k = 0, d = 0;
  RowGroups open(int64_t k_, int64_t d_) {
    if (k_ != k || d_ != d) {
      k = k_;
      d = d_;
      sums.assign(std::size_t(k * d), 0.0f);
      counts.assign(std::size_t(k), 0);
    }
    return RowGroups{sums.data(), counts.data()};
  }
};

template <class T>
struct Ops {
  int64_t (*tile_width)();
  // (centers, k, d, packed, t0, t1): tiles [t0, t1) of pack_centers' layout
  void (*pack)(const T*, int64_t, int64_t, T*, int64_t, int64_t);
  int64_t (*scratch)(int64_t, int64_t);
  // (..., pf, shift): shift null, or (fused_takes_shift only) the rows are used as x - shift
  void (*fused)(const T*, int64_t, int64_t, const T*, int64_t, int32_t*, T*, T*, const T*,
                const T*);
  void (*argmin)(const T*, int64_t, int64_t, int32_t*, T*);
  // (..., inertia, shift, groups): shift null, or the rows are used as x - shift; groups null
  // (per-row float64 sums), or (only where groups_rows) the chunk's open float32 groups
  void (*accumulate)(const T*, int64_t, int64_t, const T*, const int32_t*, const T*, bool,
                     double*, double*, double*, const T*, RowGroups*);
  void (*assigned)(const T*, int64_t, int64_t, int64_t, const T*, const int32_t*, T*);
  // (d, k): whether `fused` takes a shift for this shape
  bool (*fused_takes_shift)(int64_t, int64_t);
  // (d, k): whether the fused step's accumulate sums this shape's rows in float32 groups
  bool (*groups_rows)(int64_t, int64_t);
};

namespace generic {
template <class T>
Ops<T> ops();
}
namespace avx2 {
template <class T>
Ops<T> ops();
}
namespace avx512f {
template <class T>
Ops<T> ops();
}
namespace avx512 {
template <class T>
Ops<T> ops();
}

}  // namespace harpdaal::kernels::kmeans
