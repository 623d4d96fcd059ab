#define HARPDAAL_ISA_NS generic
#include "kernels/als/als_impl.hpp"
