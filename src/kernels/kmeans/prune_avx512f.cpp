#define HARPDAAL_ISA_NS avx512f
#include "kernels/kmeans/prune_impl.hpp"
