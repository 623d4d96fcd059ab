#define HARPDAAL_ISA_NS avx512
#include "comm/combine_impl.hpp"
