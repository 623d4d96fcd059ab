#define HARPDAAL_ISA_NS avx2
#include "comm/combine_impl.hpp"
