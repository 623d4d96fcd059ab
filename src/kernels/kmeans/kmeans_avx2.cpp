#define HARPDAAL_ISA_NS avx2
#include "kernels/kmeans/kmeans_impl.hpp"
