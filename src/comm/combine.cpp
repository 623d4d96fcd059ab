#include "comm/combine.hpp"

#include <stdexcept>

#include "kernels/common/isa.hpp"
#include "kernels/common/parallel.hpp"

namespace harpdaal::comm {

#define HARPDAAL_DECLARE_COMBINE(NS)                                           \
  namespace NS {                                                               \
  template <class T>                                                           \
  void combine_range(CombineOp op, T* dst, const T* src, int64_t n);           \
  }
HARPDAAL_DECLARE_COMBINE(generic)
HARPDAAL_DECLARE_COMBINE(avx2)
HARPDAAL_DECLARE_COMBINE(avx512f)
HARPDAAL_DECLARE_COMBINE(avx512)
#undef HARPDAAL_DECLARE_COMBINE

CombineOp parse_combine_op(const std::string& name) {
  if (name == "sum") return CombineOp::sum;
  if (name == "min") return CombineOp::min;
  if (name == "max") return CombineOp::max;
  throw std::invalid_argument("unknown combiner '" + name + "' (expected 'sum', 'min' or 'max')");
}

const char* combine_op_name(CombineOp op) {
  switch (op) {
    case CombineOp::sum: return "sum";
    case CombineOp::min: return "min";
    case CombineOp::max: return "max";
  }
  return "?";
}

template <class T>
void combine(CombineOp op, T* dst, const T* src, int64_t n, int n_threads) {
  using Range = void (*)(CombineOp, T*, const T*, int64_t);
  Range range = kernels::dispatch<Range>(&generic::combine_range<T>, &avx2::combine_range<T>,
                                         &avx512f::combine_range<T>, &avx512::combine_range<T>);
  // Memory bound: threads only pay off on large partitions.
  constexpr int64_t grain = int64_t{1} << 16;
  kernels::parallel_for(n_threads, n, grain,
                        [&](int64_t b, int64_t e) { range(op, dst + b, src + b, e - b); });
}

template void combine<float>(CombineOp, float*, const float*, int64_t, int);
template void combine<double>(CombineOp, double*, const double*, int64_t, int);
template void combine<int32_t>(CombineOp, int32_t*, const int32_t*, int64_t, int);
template void combine<int64_t>(CombineOp, int64_t*, const int64_t*, int64_t, int);

}  // namespace harpdaal::comm
