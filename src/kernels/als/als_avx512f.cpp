#define HARPDAAL_ISA_NS avx512f
#include "kernels/als/als_impl.hpp"
