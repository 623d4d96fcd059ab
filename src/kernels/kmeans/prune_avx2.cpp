#define HARPDAAL_ISA_NS avx2
#include "kernels/kmeans/prune_impl.hpp"
