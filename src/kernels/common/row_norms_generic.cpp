#define HARPDAAL_ISA_NS generic
#include "kernels/common/row_norms_impl.hpp"
