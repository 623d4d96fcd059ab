#define HARPDAAL_ISA_NS avx512
#include "kernels/common/row_norms_impl.hpp"
