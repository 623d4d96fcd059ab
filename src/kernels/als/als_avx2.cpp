#define HARPDAAL_ISA_NS avx2
#include "kernels/als/als_impl.hpp"
