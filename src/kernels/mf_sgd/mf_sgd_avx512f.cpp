#define HARPDAAL_ISA_NS avx512f
#include "kernels/mf_sgd/mf_sgd_impl.hpp"
