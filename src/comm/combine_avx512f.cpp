#define HARPDAAL_ISA_NS avx512f
#include "comm/combine_impl.hpp"
