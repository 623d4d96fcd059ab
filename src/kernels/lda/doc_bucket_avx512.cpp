#define HARPDAAL_ISA_NS avx512
#include "kernels/lda/doc_bucket_impl.hpp"
