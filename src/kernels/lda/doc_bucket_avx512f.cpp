#define HARPDAAL_ISA_NS avx512f
#include "kernels/lda/doc_bucket_impl.hpp"
