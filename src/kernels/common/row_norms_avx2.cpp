#define HARPDAAL_ISA_NS avx2
#include "kernels/common/row_norms_impl.hpp"
