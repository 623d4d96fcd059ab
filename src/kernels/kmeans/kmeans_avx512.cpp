#define HARPDAAL_ISA_NS avx512
#include "kernels/kmeans/kmeans_impl.hpp"
