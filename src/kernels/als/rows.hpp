// Arguments shared by the per-ISA row kernels of als.cpp (internal to the ALS kernels).
#pragma once
#include <cstdint>

namespace harpdaal::kernels::als {

template <class T>
struct RowsArgs {
  const int64_t* indptr;
  const int32_t* indices;
  const T* values;
  const T* Y;
  const T* gram;          // YᵀY
  const T* gram_reg;      // YᵀY + reg I (cg)
  const double* gram_reg_d;  // YᵀY + reg I in double (cholesky)
  int64_t k;
  T reg, alpha;
  int cg_steps;
  T* X;
  bool mkl_block_product;  // the CG blocks' dense product by MKL sgemm (else our tile)
};

#define HARPDAAL_ALS_DECLARE_ROWS(NS)                                                         \
  namespace NS {                                                                          \
  template <class T>                                                                      \
  void cg_rows(const RowsArgs<T>& a, int64_t begin, int64_t end, T* scratch);             \
  template <class T>                                                                      \
  double loss_rows(const RowsArgs<T>& a, int64_t begin, int64_t end, T* scratch);         \
  }
HARPDAAL_ALS_DECLARE_ROWS(generic)
HARPDAAL_ALS_DECLARE_ROWS(avx2)
HARPDAAL_ALS_DECLARE_ROWS(avx512f)
HARPDAAL_ALS_DECLARE_ROWS(avx512)
#undef HARPDAAL_ALS_DECLARE_ROWS

using CgRowsFn = void (*)(const RowsArgs<float>&, int64_t, int64_t, float*);
namespace avx512 {
// cg_avx512.cpp: CG rows with the vectors in registers, for float and k <= 128 (else nullptr).
CgRowsFn cg_rows_registers(int64_t k);
}

}  // namespace harpdaal::kernels::als
