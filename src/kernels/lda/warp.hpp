// Word-major Metropolis-Hastings sampling for LDA (WarpLDA, Chen et al. VLDB 2016): a sweep is
// a document phase and a word phase. Each phase visits the tokens grouped by one side (a
// document's tokens, a word's tokens), keeps that side's counts exact as tokens move, and
// accepts proposals that were drawn from the other side in the phase before:
//   document phase: word proposals q(k) ~ n_wk + beta, accepted by
//     (n_dk' + alpha)(n_z + V beta) / ((n_dz + alpha)(n_k' + V beta)), the token left out;
//   word phase: document proposals q(k) ~ n_dk + alpha, accepted by
//     (n_wk' + beta)(n_z + V beta) / ((n_wz + beta)(n_k' + V beta)), the token left out.
// Proposals come from the other tokens of the same document (word) with probability
// (L - 1) / (L - 1 + K prior), else a uniform topic, so q is that side's counts with the token
// left out. The other side's factor cancels up to the moves of one phase (WarpLDA's delayed
// counts). The cost per token is O(mh_steps), independent of K: no alias table, no O(K) work
// per word or document, and every count a token reads is in its word's or document's row.
// Topic totals are fixed within a phase (the caller adds the moves after it), so a phase's
// result does not depend on the thread count.
//
// Several ranks: a rank's word phase sees only its own tokens of a word, so its word proposals
// follow the local counts, q(k) ~ m_wk + beta, not the global n_wk + beta that the document
// phase's acceptance assumes. The word phase then stores, per token, g(k) = (n_wk + beta) /
// (m_wk + beta) (the token left out of both) for its topic and for each proposal (`corr`,
// mh_steps + 1 floats), and the document phase multiplies the acceptance ratio by
// g(k') / g(z). One process passes no `corr` (g = 1).
//
// Arrays: `topics` in document order (the corpus layout of lda.hpp); `order` lists the token
// positions grouped by word (word_ptr[w] .. word_ptr[w + 1], document order within a word) and
// `topics_by_word[j] = topics[order[j]]` as of the end of the last word phase; `props` holds per
// token (document order) mh_steps document proposals then mh_steps word proposals.
#pragma once
#include <cstdint>

#include "kernels/lda/lda.hpp"

namespace harpdaal::kernels::lda {

// Counting sort of the token positions by word: word_ptr[n_words + 1], order[n_tokens].
void word_order(const int32_t* words, int64_t n_tokens, int64_t n_words, int64_t* word_ptr,
                int64_t* order);

// Document phase over documents [0, n_docs) (tokens doc_ptr[0] .. doc_ptr[n_docs]): accepts the
// word proposals in `props` (skipped where accept is false: before the first word phase), then
// draws new document proposals. topic_totals gets the phase's moves added at its end. Random
// numbers are keyed by (seed, iteration, stream, token position). Returns the accepted moves.
int64_t warp_doc_phase(const int64_t* doc_ptr, int32_t* topics, int64_t n_docs, int32_t* props,
                       const float* corr, bool accept, int64_t* topic_totals, int32_t n_topics,
                       const Priors& priors, uint64_t seed, int64_t iteration, uint64_t stream,
                       int mh_steps, int n_threads);

// Word phase over the words [word_begin, word_end), whose rows `word_topic` holds
// ((word_end - word_begin) x K, counts over every rank): first adds the moves of the document
// phase (topics against topics_by_word) to the rows, then accepts the document proposals and
// draws new word proposals. Updates topics, topics_by_word, word_topic and topic_totals.
// Returns the accepted moves.
int64_t warp_word_phase(const int64_t* word_ptr, const int64_t* order, int32_t* topics,
                        int32_t* topics_by_word, int32_t* props, float* corr, int32_t* word_topic,
                        int64_t word_begin, int64_t word_end, int64_t* topic_totals,
                        int32_t n_topics, const Priors& priors, uint64_t seed, int64_t iteration,
                        uint64_t stream, int mh_steps, int n_threads);

}  // namespace harpdaal::kernels::lda
