#define HARPDAAL_ISA_NS avx512
#include "kernels/kmeans/prune_impl.hpp"
