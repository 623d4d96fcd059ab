#define HARPDAAL_ISA_NS avx512f
#include "kernels/common/row_norms_impl.hpp"
