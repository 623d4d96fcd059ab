#define HARPDAAL_ISA_NS avx2
#include "kernels/mf_sgd/mf_sgd_impl.hpp"
