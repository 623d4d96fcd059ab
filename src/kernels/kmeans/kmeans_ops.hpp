// The per-ISA K-means bodies as one table of function pointers: kmeans_impl.hpp fills it once per
// level (ops<T>() in each ISA namespace) and kmeans.cpp picks the active level's table with
// kernels::dispatch once per kernel call.
#pragma once
#include <cstdint>

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
  // (..., inertia, shift): shift null, or the rows are used as x - shift
  void (*accumulate)(const T*, int64_t, int64_t, const T*, const int32_t*, const T*, bool,
                     double*, double*, double*, const T*);
  void (*assigned)(const T*, int64_t, int64_t, int64_t, const T*, const int32_t*, T*);
  // (d, k): whether `fused` takes a shift for this shape
  bool (*fused_takes_shift)(int64_t, int64_t);
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
