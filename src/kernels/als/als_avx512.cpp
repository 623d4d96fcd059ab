#define HARPDAAL_ISA_NS avx512
#include "kernels/als/als_impl.hpp"
