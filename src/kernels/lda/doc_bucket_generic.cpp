#define HARPDAAL_ISA_NS generic
#include "kernels/lda/doc_bucket_impl.hpp"
