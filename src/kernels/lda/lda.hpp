// Collapsed Gibbs sampling for LDA: a sparse sampler (exact document bucket over the document's
// topics + alias tables for the smoothing bucket) and an O(1)-per-token Metropolis-Hastings
// sampler (LightLDA-style word and document proposals); the word-major sampler is warp.hpp's.
// docs/lda.md says which the estimator uses when, and why.
//
// Corpus layout (what every kernel reads): CSR of token word ids per document,
//   doc_ptr[n_docs + 1] (int64), words[doc_ptr[n_docs]] (int32, sorted within each document),
//   topics[...] (int32, one assignment per token, updated in place).
// Model layout: word_topic is row-major words x n_topics int32 counts, so a contiguous range of
// rows is a word slice that the Python layer can rotate between ranks; topic_totals is int64.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::lda {

struct Priors {
  double alpha = 0.1;        // symmetric doc-topic prior
  double beta = 0.01;        // symmetric topic-word prior
  int64_t n_words_total = 0; // vocabulary size V (the beta * V normaliser)
};

// What a word row costs beyond its tokens, in tokens per topic: every sampling call builds the
// alias tables of all the rows of its slice (O(K) each) and a rare word's row misses the cache.
// The kernel splits its slice between threads, and topic/_steps.py the vocabulary between
// ranks, into parts of about equal tokens + kRowCostPerTopic K per word with any (binding:
// lda.ROW_COST_PER_TOPIC). By tokens alone, on a frequency-sorted vocabulary (20news: 49,209
// of 61,188 words in the last of four slices, 122 in the first) the part of the rare words took
// 1.5x the others and the rest waited for it at every round. 20news in 30-40-token pieces,
// K = 100: 2 ranks waited 26-31 ms an iteration with 0, 12-15 with 0.08, 16-19 with 0.16 and
// 30-36 with 0.3 (sweeps 96-107 -> 90-101 ms); 2 threads, 101.6-104.1 -> 89.5-94.0 ms a sweep
// (0.04: 98.4-103.7, 0.12: 95.2-98.9); KOS (vocabulary not so sorted) unchanged.
inline constexpr double kRowCostPerTopic = 0.08;

// One Gibbs sweep over the tokens of a block of documents whose word lies in the slice
// [word_begin, word_end). `word_topic` holds only the slice's rows ((word_end - word_begin) x K).
// Threads: documents are split into n_threads blocks and the slice into n_threads sub-slices;
// n_threads rounds run so that thread t works on documents block t and sub-slice (t + r) mod T,
// hence no two threads ever write the same word-topic row; topic totals are thread-local during
// a round and summed after it. Random numbers are keyed by (seed, iteration, first_doc_id + d,
// token index), so results depend only on the seed and the thread count.
// mh_steps >= 1: the Metropolis-Hastings sampler with that many (word proposal, doc proposal)
// pairs per token; mh_steps == 0: the sparse sampler (exact document bucket over the document's
// non-zero topics + the smoothing bucket from the word's alias table, built once per call).
// Timer-bounded steps (Harp's dynamic rotation): time_limit_s > 0 stops the sweep once that many
// seconds have passed since the call began (checked before each document; the tokens not reached
// keep their topics, so counts stay exact); doc_offset rotates where each thread starts in its
// document block (circularly) so that different documents are left out at different calls.
// Returns the number of tokens sampled (all the block's tokens in the slice when not bounded).
// time_limit_s <= 0 and doc_offset = 0 give the plain sweep, identical to the unbounded call.
template <class T>
int64_t sample_block(const int64_t* doc_ptr, const int32_t* words, int32_t* topics, int64_t n_docs,
                     int64_t first_doc_id, int32_t* word_topic, int64_t word_begin,
                     int64_t word_end, int64_t* topic_totals, int32_t n_topics,
                     const Priors& priors, uint64_t seed, int64_t iteration, int mh_steps,
                     int n_threads, double time_limit_s = 0.0, int64_t doc_offset = 0);

// Fold-in: sample topics for new documents against a fixed model (word_topic for all
// n_words_total words, topic_totals), n_sweeps sweeps per document; doc_topic (n_docs x K, may be
// null) receives the doc-topic counts summed over the sweeps after `burn_in`. mh_steps == 0: an
// exact sampler (p(k) ~ (n_dk + alpha) phi_wk with phi fixed: a document bucket over the
// document's topics and a smoothing bucket from per-word prefix rows built for the documents'
// words); mh_steps >= 1: Metropolis-Hastings with that many (word proposal from a per-word alias
// table over phi_w, doc proposal from the document's tokens) pairs per token and sweep, O(1) per
// step (K > 65536 folds in with the exact sampler: the tables hold 16-bit topic ids). Random numbers are keyed by (seed,
// sweep, first_doc_id + d, token): results do not depend on the thread count or on how the
// documents are split into calls (documents are independent given the model).
template <class T>
void fold_in(const int64_t* doc_ptr, const int32_t* words, int32_t* topics, int64_t n_docs,
             int64_t first_doc_id, const int32_t* word_topic, const int64_t* topic_totals,
             int32_t n_topics, const Priors& priors, uint64_t seed, int n_sweeps, int burn_in,
             int mh_steps, T* doc_topic, int n_threads);

// Sum over documents of [sum_k lgamma(n_dk + alpha) - lgamma(n_d + K alpha)] + n_docs *
// [lgamma(K alpha) - K lgamma(alpha)]: the log p(z) part of MALLET's / Harp's model likelihood.
double doc_log_likelihood(const int64_t* doc_ptr, const int32_t* topics, int64_t n_docs,
                          int32_t n_topics, double alpha, int n_threads);

// Sum over rows and topics of [lgamma(n_wk + beta) - lgamma(beta)]: the word part of
// log p(w | z); the topic part K lgamma(V beta) - sum_k lgamma(n_k + V beta) is added by the caller.
double word_log_likelihood(const int32_t* word_topic, int64_t n_rows, int32_t n_topics,
                           double beta, int n_threads);

// word_topic[w, k] += number of tokens of word w (in [word_begin, word_end)) with topic k, and
// topic_totals[k] += ... for the same tokens (counts are added, not overwritten).
void accumulate_counts(const int32_t* words, const int32_t* topics, int64_t n_tokens,
                       int32_t* word_topic, int64_t word_begin, int64_t word_end,
                       int64_t* topic_totals, int32_t n_topics);

}  // namespace harpdaal::kernels::lda
