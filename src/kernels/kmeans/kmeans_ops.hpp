// The per-ISA K-means bodies as one table of function pointers: kmeans_impl.hpp fills it once per
// level (ops<T>() in each ISA namespace) and kmeans.cpp picks the active level's table with
// kernels::dispatch once per kernel call.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::kmeans {

template <class T>
struct Ops {
  int64_t (*tile_width)();
  void (*pack)(const T*, int64_t, int64_t, T*);
  int64_t (*scratch)(int64_t, int64_t);
  // (..., pf, shift): shift null, or (k < 16 only) the rows are used as x - shift
  void (*fused)(const T*, int64_t, int64_t, const T*, int64_t, int32_t*, T*, T*, const T*,
                const T*);
  void (*argmin)(const T*, int64_t, int64_t, int32_t*, T*);
  // (..., inertia, shift): shift null, or the rows are used as x - shift
  void (*accumulate)(const T*, int64_t, int64_t, const T*, const int32_t*, const T*, bool,
                     double*, double*, double*, const T*);
  void (*assigned)(const T*, int64_t, int64_t, int64_t, const T*, const int32_t*, T*);
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
