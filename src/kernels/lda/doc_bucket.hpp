// The document bucket of the sparse sampler, per ISA: for the document's non-zero topics
// nz[0..n), x[j] = coef[j] (nw[k] + beta) with k = nz[j] and coef[j] = n_dk / (n_k + V beta)
// kept up to date by the sampler in the same (position) order as nz; v[j] = the inclusive prefix
// sum of x within j's block of 16 (v[16 b .. 16 b + 16)), block_sums[b] = the block's total; returns
// the sum of block_sums in order. v must have room for n rounded up to 16 (the last block is
// stored and read whole). The AVX2 / AVX-512 versions gather only the word row nw (the last,
// partial block with masked loads); all levels round differently, so samples are deterministic per
// seed, thread count and ISA level.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::lda {

inline constexpr int kBucketBlock = 16;

using DocBucketFn = float (*)(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw,
                              float beta, float* v, float* block_sums);

// The document bucket and the draw in one call: with z = doc_bucket(...), the position j whose
// prefix first exceeds u = u01 (z + smooth) when u < z (as find_in_bucket finds it, with the
// level's vector compares), else -1 (the draw falls in the smoothing bucket of mass smooth).
using DocBucketDrawFn = int32_t (*)(const int32_t* nz, int32_t n, const float* coef,
                                    const int32_t* nw, float beta, float smooth, float u01,
                                    float* v, float* block_sums);

#define HARPDAAL_LDA_DECLARE_BUCKET(NS)                                                       \
  namespace NS {                                                                              \
  float doc_bucket(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw,        \
                   float beta, float* v, float* block_sums);                                  \
  int32_t doc_bucket_draw(const int32_t* nz, int32_t n, const float* coef, const int32_t* nw, \
                          float beta, float smooth, float u01, float* v, float* block_sums);  \
  }
HARPDAAL_LDA_DECLARE_BUCKET(generic)
HARPDAAL_LDA_DECLARE_BUCKET(avx2)
HARPDAAL_LDA_DECLARE_BUCKET(avx512f)
HARPDAAL_LDA_DECLARE_BUCKET(avx512)
#undef HARPDAAL_LDA_DECLARE_BUCKET

// The block of a bucket (prefix sums within blocks of 16, block totals block_sums) in which u
// (in [0, total)) falls: counts the blocks whose running total stays <= u, without a
// data-dependent branch; u becomes the offset within that block. Returns the block's first
// position; *len receives how many of the n entries it holds.
inline int32_t find_block(const float* block_sums, int32_t n, float& u, int32_t* len) {
  const int32_t n_blocks = (n + kBucketBlock - 1) / kBucketBlock;
  int32_t b = 0;
  float run = 0.f, before = 0.f;
  for (int32_t i = 0; i < n_blocks - 1; ++i) {
    run += block_sums[i];
    const bool past = run <= u;
    b += past;
    before = past ? run : before;
  }
  u -= before;
  const int32_t j0 = b * kBucketBlock;
  *len = n - j0 < kBucketBlock ? n - j0 : kBucketBlock;
  return j0;
}

// The position j with prefix(v)[j] > u (u in [0, total)), v holding prefix sums within blocks of
// 16. Branch-free apart from the loop bounds: the block (find_block), then the entries of that
// block whose prefix stays <= u (a scan with a data-dependent exit mispredicts about once per
// token; these loops do not).
inline int32_t find_in_bucket(const float* v, const float* block_sums, int32_t n, float u) {
  int32_t len = 0;
  const int32_t j0 = find_block(block_sums, n, u, &len);
  int32_t c = 0;
  for (int32_t q = 0; q < kBucketBlock; ++q) c += (q < len - 1) & (v[j0 + q] <= u);
  return j0 + c;
}

}  // namespace harpdaal::kernels::lda
