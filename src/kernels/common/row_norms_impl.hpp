// Body of row_sq_norms, compiled once per ISA. HARPDAAL_ISA_NS names a namespace unique to the
// including file so the per-ISA copies never merge at link time (ODR).
#include <cstdint>

namespace harpdaal::kernels::common::HARPDAAL_ISA_NS {

template <class T>
void row_sq_norms_rows(const T* x, int64_t begin, int64_t end, int64_t d, T* out) {
  for (int64_t i = begin; i < end; ++i) {
    const T* row = x + i * d;
    T acc = 0;
// Vectorized reduction (reassociation allowed for this loop only, via -fopenmp-simd).
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < d; ++j) acc += row[j] * row[j];
    out[i] = acc;
  }
}

template void row_sq_norms_rows<float>(const float*, int64_t, int64_t, int64_t, float*);
template void row_sq_norms_rows<double>(const double*, int64_t, int64_t, int64_t, double*);

}  // namespace harpdaal::kernels::common::HARPDAAL_ISA_NS
