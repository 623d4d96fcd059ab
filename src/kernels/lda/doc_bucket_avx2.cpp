#define HARPDAAL_ISA_NS avx2
#include "kernels/lda/doc_bucket_impl.hpp"
