#include "kernels/common/row_norms.hpp"

#include <algorithm>

#include "kernels/common/isa.hpp"
#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::common {

#define HARPDAAL_DECLARE_ROWS(NS)                                                       \
  namespace NS {                                                                        \
  template <class T>                                                                    \
  void row_sq_norms_rows(const T* x, int64_t begin, int64_t end, int64_t d, T* out);    \
  }
HARPDAAL_DECLARE_ROWS(generic)
HARPDAAL_DECLARE_ROWS(avx2)
HARPDAAL_DECLARE_ROWS(avx512f)
HARPDAAL_DECLARE_ROWS(avx512)
#undef HARPDAAL_DECLARE_ROWS

template <class T>
void row_sq_norms(const T* x, int64_t n, int64_t d, T* out, int n_threads) {
  using Rows = void (*)(const T*, int64_t, int64_t, int64_t, T*);
  Rows rows = dispatch<Rows>(&generic::row_sq_norms_rows<T>, &avx2::row_sq_norms_rows<T>,
                             &avx512f::row_sq_norms_rows<T>, &avx512::row_sq_norms_rows<T>);
  int64_t grain = d > 0 ? std::max<int64_t>(1, 16384 / d) : n;
  parallel_for(n_threads, n, grain, [&](int64_t b, int64_t e) { rows(x, b, e, d, out); });
}

template void row_sq_norms<float>(const float*, int64_t, int64_t, float*, int);
template void row_sq_norms<double>(const double*, int64_t, int64_t, double*, int);

}  // namespace harpdaal::kernels::common
