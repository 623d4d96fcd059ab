// Metropolis-Hastings fold-in, 16 documents at once in AVX-512 lanes (one document per lane,
// a token of each per step, gathers for every table read). The chain of each document is the
// scalar FoldMHSampler's, operation for operation in float: the same seed gives the same bits on
// either path (tests/kernels/test_lda_kernel.py).
#pragma once
#include <cstdint>

namespace harpdaal::kernels::lda {

struct FoldMHArgs {
  const int64_t* doc_ptr;
  int32_t* topics;
  const int32_t* slots;  // the table row of each token's word
  const float* phi;      // rows of K: phi_wk
  const uint32_t* alias;  // rows of K: keep threshold (low 16 bits) | alias topic (high 16)
  float* nd;             // 16 x K scratch counts, zero on entry and on return
  int32_t K;
  float alpha, inv_alpha, k_alpha;
  int pairs;
  uint64_t seed;
  int64_t first_doc_id;
  int n_sweeps, burn_in;
  float* doc_topic;  // may be null
};

// The documents docs[0, n) for n_sweeps sweeps each, in that order (each document's chain is
// its own, so the order changes no bits). Token offsets are 32-bit from doc_ptr[0]: needs every
// token of the call and every table index below 2^31 (the caller checks).
using FoldMHDocsFn = void (*)(const FoldMHArgs&, const int64_t* docs, int64_t n);

namespace avx512 {
void fold_mh_docs(const FoldMHArgs& a, const int64_t* docs, int64_t n);
}

// How a document's counts go into doc_topic after a sweep: by its count row (K adds) when it
// has at least K / 4 tokens, else token by token. Every path uses this rule, so the sums are
// the same bits on every path (they are exact integers up to 2^24 either way).
inline bool fold_counts_by_row(int64_t n_tokens, int32_t K) {
  return 4 * n_tokens >= static_cast<int64_t>(K);
}

// The per-document key of the sweep's draws (shared with the scalar samplers).
uint64_t fold_doc_key(uint64_t seed, int64_t sweep, int64_t doc_id);

}  // namespace harpdaal::kernels::lda
