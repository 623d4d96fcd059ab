// Body of the combiners, compiled once per ISA (HARPDAAL_ISA_NS names the copy). Plain loops the
// compiler vectorises with the file's flags: avx512f and avx512 both get 512-bit vectors.
#include <cstdint>

#include "comm/combine.hpp"

namespace harpdaal::comm::HARPDAAL_ISA_NS {

template <class T>
void combine_range(CombineOp op, T* __restrict dst, const T* __restrict src, int64_t n) {
  switch (op) {
    case CombineOp::sum:
#pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
      break;
    case CombineOp::min:
#pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] < dst[i] ? src[i] : dst[i];
      break;
    case CombineOp::max:
#pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] > dst[i] ? src[i] : dst[i];
      break;
  }
}

template void combine_range<float>(CombineOp, float*, const float*, int64_t);
template void combine_range<double>(CombineOp, double*, const double*, int64_t);
template void combine_range<int32_t>(CombineOp, int32_t*, const int32_t*, int64_t);
template void combine_range<int64_t>(CombineOp, int64_t*, const int64_t*, int64_t);

}  // namespace harpdaal::comm::HARPDAAL_ISA_NS
