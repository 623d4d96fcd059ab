#define HARPDAAL_ISA_NS generic
#include "kernels/kmeans/prune_impl.hpp"
