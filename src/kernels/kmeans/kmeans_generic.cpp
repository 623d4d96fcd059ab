#define HARPDAAL_ISA_NS generic
#include "kernels/kmeans/kmeans_impl.hpp"
