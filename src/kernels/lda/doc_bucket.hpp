// The document bucket of the sparse sampler, per ISA: for the document's non-zero topics
// nz[0..n), v[j] = coef[j] (nw[k] + beta) with k = nz[j] and coef[j] = n_dk / (n_k + V beta)
// kept up to date by the sampler in the same (position) order as nz; block_sums[b] = sum of
// v[16 b .. 16 b + 16); returns the sum of block_sums in order. The AVX2 / AVX-512 versions
// gather only the word row nw; all levels round differently, so samples are deterministic per seed,
// thread count and ISA level.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::lda {

inline constexpr int kBucketBlock = 16;

using DocBucketFn = float (*)(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw,
                              float beta, float* v, float* block_sums);

#define HARPDAAL_LDA_DECLARE_BUCKET(NS)                                                       \
  namespace NS {                                                                              \
  float doc_bucket(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw,        \
                   float beta, float* v, float* block_sums);                                  \
  }
HARPDAAL_LDA_DECLARE_BUCKET(generic)
HARPDAAL_LDA_DECLARE_BUCKET(avx2)
HARPDAAL_LDA_DECLARE_BUCKET(avx512)
#undef HARPDAAL_LDA_DECLARE_BUCKET

// The position j with prefix(v)[j] > u, scanning block sums first (u in [0, total)).
inline int32_t find_in_bucket(const float* v, const float* block_sums, int32_t n, float u) {
  const int32_t n_blocks = (n + kBucketBlock - 1) / kBucketBlock;
  int32_t b = 0;
  while (b < n_blocks - 1 && u >= block_sums[b]) u -= block_sums[b++];
  int32_t j = b * kBucketBlock;
  const int32_t end = j + kBucketBlock < n ? j + kBucketBlock : n;
  while (j < end - 1 && u >= v[j]) u -= v[j++];
  return j;
}

}  // namespace harpdaal::kernels::lda
