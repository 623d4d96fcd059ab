#define HARPDAAL_ISA_NS generic
#include "comm/combine_impl.hpp"
