#define HARPDAAL_ISA_NS generic
#include "kernels/mf_sgd/mf_sgd_impl.hpp"
