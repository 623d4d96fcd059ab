#define HARPDAAL_ISA_NS avx512f
#include "kernels/kmeans/kmeans_impl.hpp"
