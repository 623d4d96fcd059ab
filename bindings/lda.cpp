// Bindings of the LDA collapsed Gibbs kernels (harpdaal._core.lda). Checks only; no algorithm.
#include <cmath>
#include <string>

#include "arrays.hpp"
#include "kernels/common/parallel.hpp"
#include "kernels/lda/lda.hpp"
#include "kernels/lda/warp.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;
namespace lk = harpdaal::kernels::lda;

namespace {

// doc_ptr must be non-decreasing offsets into the token arrays; topics must lie in [0, K).
// These are O(D + N) scans (the token ones on n_threads threads, without the GIL), cheap next to
// a sweep, and keep a bad call from reading out of bounds.
void check_corpus(const int64_t* doc_ptr, int64_t n_docs, int64_t n_tokens, const int32_t* topics,
                  int32_t n_topics, int n_threads = 1) {
  if (n_docs < 0) throw py::value_error("doc_ptr: must have at least one entry");
  if (n_docs >= 0 && (doc_ptr[0] < 0 || doc_ptr[n_docs] > n_tokens))
    throw py::value_error("doc_ptr: offsets must lie in [0, len(words)]");
  bool decreasing = false;
  for (int64_t d = 0; d < n_docs; ++d) decreasing |= doc_ptr[d + 1] < doc_ptr[d];
  if (decreasing) throw py::value_error("doc_ptr: offsets must be non-decreasing");
  if (n_topics < 1) throw py::value_error("n_topics must be >= 1");
  check_ids(topics, n_tokens, n_topics, "topics", n_threads);
}

lk::Priors priors(double alpha, double beta, int64_t n_words_total) {
  if (!(alpha > 0)) throw py::value_error("alpha must be > 0");
  if (!(beta > 0)) throw py::value_error("beta must be > 0");
  if (n_words_total < 1) throw py::value_error("n_words_total must be >= 1");
  return lk::Priors{alpha, beta, n_words_total};
}

int64_t sample_block(const py::handle& doc_ptr_o, const py::handle& words_o,
                     const py::handle& topics_o, int64_t first_doc_id,
                     const py::handle& word_topic_o, int64_t word_begin,
                     const py::handle& topic_totals_o, double alpha, double beta,
                     int64_t n_words_total, uint64_t seed, int64_t iteration, int mh_steps,
                     int n_threads, double time_limit, int64_t doc_offset) {
  if (std::isnan(time_limit)) throw py::value_error("time_limit must be a number of seconds (0: none)");
  auto doc_ptr = checked_array<int64_t>(doc_ptr_o, "doc_ptr", {any_dim});
  auto words = checked_array<int32_t>(words_o, "words", {any_dim});
  auto topics = checked_array<int32_t>(topics_o, "topics", {words.shape(0)}, true);
  auto word_topic = checked_array<int32_t>(word_topic_o, "word_topic", {any_dim, any_dim}, true);
  const int32_t K = static_cast<int32_t>(word_topic.shape(1));
  auto totals = checked_array<int64_t>(topic_totals_o, "topic_totals", {K}, true);
  lk::Priors pr = priors(alpha, beta, n_words_total);
  const int64_t n_docs = doc_ptr.shape(0) - 1;
  const int64_t n_tok = words.shape(0);
  if (mh_steps < 0) throw py::value_error("mh_steps must be >= 0 (0: sparse sampler)");
  if (word_begin < 0 || word_begin + word_topic.shape(0) > n_words_total)
    throw py::value_error("word_topic: rows [word_begin, word_begin + len) must lie in [0, n_words_total)");
  check_corpus(in_ptr(doc_ptr), n_docs, n_tok, in_ptr(topics), K, n_threads);
  const int64_t* dp = in_ptr(doc_ptr);
  const int32_t* wp = in_ptr(words);
  int32_t* tp = out_ptr(topics);
  int32_t* wtp = out_ptr(word_topic);
  int64_t* ktp = out_ptr(totals);
  const int64_t word_end = word_begin + word_topic.shape(0);
  py::gil_scoped_release nogil;
  return lk::sample_block<float>(dp, wp, tp, n_docs, first_doc_id, wtp, word_begin, word_end, ktp,
                                 K, pr, seed, iteration, mh_steps, n_threads, time_limit,
                                 doc_offset);
}

void fold_in(const py::handle& doc_ptr_o, const py::handle& words_o, const py::handle& topics_o,
             int64_t first_doc_id, const py::handle& word_topic_o, const py::handle& topic_totals_o,
             double alpha, double beta, uint64_t seed, int n_sweeps, int burn_in, int mh_steps,
             const py::handle& doc_topic_o, int n_threads) {
  auto doc_ptr = checked_array<int64_t>(doc_ptr_o, "doc_ptr", {any_dim});
  auto words = checked_array<int32_t>(words_o, "words", {any_dim});
  auto topics = checked_array<int32_t>(topics_o, "topics", {words.shape(0)}, true);
  auto word_topic = checked_array<int32_t>(word_topic_o, "word_topic", {any_dim, any_dim});
  const int32_t K = static_cast<int32_t>(word_topic.shape(1));
  const int64_t V = word_topic.shape(0);
  auto totals = checked_array<int64_t>(topic_totals_o, "topic_totals", {K});
  const int64_t n_docs = doc_ptr.shape(0) - 1;
  auto doc_topic = checked_array<float>(doc_topic_o, "doc_topic", {n_docs, K}, true);
  lk::Priors pr = priors(alpha, beta, V);
  if (mh_steps < 0) throw py::value_error("mh_steps must be >= 0 (0: sparse sampler)");
  if (n_sweeps < 1 || burn_in < 0 || burn_in >= n_sweeps)
    throw py::value_error("need n_sweeps >= 1 and 0 <= burn_in < n_sweeps");
  const int64_t n_tok = words.shape(0);
  check_corpus(in_ptr(doc_ptr), n_docs, n_tok, in_ptr(topics), K, n_threads);
  check_ids(in_ptr(words), n_tok, V, "words", n_threads);
  const int64_t* dp = in_ptr(doc_ptr);
  const int32_t* wp = in_ptr(words);
  int32_t* tp = out_ptr(topics);
  const int32_t* wtp = in_ptr(word_topic);
  const int64_t* ktp = in_ptr(totals);
  float* dtp = out_ptr(doc_topic);
  py::gil_scoped_release nogil;
  lk::fold_in<float>(dp, wp, tp, n_docs, first_doc_id, wtp, ktp, K, pr, seed, n_sweeps, burn_in,
                     mh_steps, dtp, n_threads);
}

double doc_log_likelihood(const py::handle& doc_ptr_o, const py::handle& topics_o, int32_t n_topics,
                          double alpha, int n_threads) {
  auto doc_ptr = checked_array<int64_t>(doc_ptr_o, "doc_ptr", {any_dim});
  auto topics = checked_array<int32_t>(topics_o, "topics", {any_dim});
  const int64_t n_docs = doc_ptr.shape(0) - 1;
  if (!(alpha > 0)) throw py::value_error("alpha must be > 0");
  check_corpus(in_ptr(doc_ptr), n_docs, topics.shape(0), in_ptr(topics), n_topics);
  const int64_t* dp = in_ptr(doc_ptr);
  const int32_t* tp = in_ptr(topics);
  py::gil_scoped_release nogil;
  return lk::doc_log_likelihood(dp, tp, n_docs, n_topics, alpha, n_threads);
}

double word_log_likelihood(const py::handle& word_topic_o, double beta, int n_threads) {
  auto word_topic = checked_array<int32_t>(word_topic_o, "word_topic", {any_dim, any_dim});
  if (!(beta > 0)) throw py::value_error("beta must be > 0");
  const int32_t* wtp = in_ptr(word_topic);
  const int64_t rows = word_topic.shape(0);
  const int32_t K = static_cast<int32_t>(word_topic.shape(1));
  py::gil_scoped_release nogil;
  return lk::word_log_likelihood(wtp, rows, K, beta, n_threads);
}

void accumulate_counts(const py::handle& words_o, const py::handle& topics_o,
                       const py::handle& word_topic_o, int64_t word_begin,
                       const py::handle& topic_totals_o) {
  auto words = checked_array<int32_t>(words_o, "words", {any_dim});
  auto topics = checked_array<int32_t>(topics_o, "topics", {words.shape(0)});
  auto word_topic = checked_array<int32_t>(word_topic_o, "word_topic", {any_dim, any_dim}, true);
  const int32_t K = static_cast<int32_t>(word_topic.shape(1));
  auto totals = checked_array<int64_t>(topic_totals_o, "topic_totals", {K}, true);
  int64_t one[2] = {0, words.shape(0)};
  check_corpus(one, 1, words.shape(0), in_ptr(topics), K);
  const int32_t* wp = in_ptr(words);
  const int32_t* tp = in_ptr(topics);
  int32_t* wtp = out_ptr(word_topic);
  int64_t* ktp = out_ptr(totals);
  const int64_t n = words.shape(0), end = word_begin + word_topic.shape(0);
  py::gil_scoped_release nogil;
  lk::accumulate_counts(wp, tp, n, wtp, word_begin, end, ktp, K);
}

void word_order(const py::handle& words_o, const py::handle& word_ptr_o, const py::handle& order_o) {
  auto words = checked_array<int32_t>(words_o, "words", {any_dim});
  auto word_ptr = checked_array<int64_t>(word_ptr_o, "word_ptr", {any_dim}, true);
  const int64_t n = words.shape(0), V = word_ptr.shape(0) - 1;
  auto order = checked_array<int64_t>(order_o, "order", {n}, true);
  if (V < 1) throw py::value_error("word_ptr: needs n_words + 1 >= 2 entries");
  check_ids(in_ptr(words), n, V, "words");
  const int32_t* wp = in_ptr(words);
  int64_t* pp = out_ptr(word_ptr);
  int64_t* op = out_ptr(order);
  py::gil_scoped_release nogil;
  lk::word_order(wp, n, V, pp, op);
}

// props: (n_tokens, 2 mh_steps) int32, mh_steps document proposals then mh_steps word proposals
int props_steps(const py::array& props, int64_t n_tokens) {
  if (props.ndim() != 2 || props.shape(0) != n_tokens || props.shape(1) < 2 || props.shape(1) % 2)
    throw py::value_error("props: must have shape (n_tokens, 2 * mh_steps)");
  return static_cast<int>(props.shape(1) / 2);
}

// corr: None (one process) or (n_tokens, mh_steps + 1) float32 (several ranks; warp.hpp)
const float* corr_array(const py::handle& corr_o, int64_t n_tok, int M, bool writable,
                        py::object& keep) {
  if (corr_o.is_none()) return nullptr;
  auto corr = checked_array<float>(corr_o, "corr", {n_tok, M + 1}, writable);
  keep = corr;
  return corr.data();
}

int64_t warp_doc_phase(const py::handle& doc_ptr_o, const py::handle& topics_o,
                       const py::handle& props_o, bool accept, const py::handle& topic_totals_o,
                       double alpha, double beta, int64_t n_words_total, uint64_t seed,
                       int64_t iteration, uint64_t stream, int n_threads,
                       const py::handle& corr_o) {
  auto doc_ptr = checked_array<int64_t>(doc_ptr_o, "doc_ptr", {any_dim});
  auto topics = checked_array<int32_t>(topics_o, "topics", {any_dim}, true);
  const int64_t n_tok = topics.shape(0), n_docs = doc_ptr.shape(0) - 1;
  auto props = checked_array<int32_t>(props_o, "props", {n_tok, any_dim}, true);
  const int M = props_steps(props, n_tok);
  auto totals = checked_array<int64_t>(topic_totals_o, "topic_totals", {any_dim}, true);
  const int32_t K = static_cast<int32_t>(totals.shape(0));
  lk::Priors pr = priors(alpha, beta, n_words_total);
  check_corpus(in_ptr(doc_ptr), n_docs, n_tok, in_ptr(topics), K, n_threads);
  if (accept) check_ids(in_ptr(props), n_tok * 2 * M, K, "props", n_threads);
  py::object keep;
  const float* cp = corr_array(corr_o, n_tok, M, false, keep);
  if (cp && accept) {
    bool finite = true;
    for (int64_t i = 0; i < n_tok * (M + 1); ++i) finite &= std::isfinite(cp[i]) && cp[i] > 0;
    if (!finite) throw py::value_error("corr: ratios must be finite and > 0");
  }
  const int64_t* dp = in_ptr(doc_ptr);
  int32_t* tp = out_ptr(topics);
  int32_t* pp = out_ptr(props);
  int64_t* ktp = out_ptr(totals);
  py::gil_scoped_release nogil;
  return lk::warp_doc_phase(dp, tp, n_docs, pp, cp, accept, ktp, K, pr, seed, iteration, stream,
                            M, n_threads);
}

int64_t warp_word_phase(const py::handle& word_ptr_o, const py::handle& order_o,
                        const py::handle& topics_o, const py::handle& topics_by_word_o,
                        const py::handle& props_o, const py::handle& word_topic_o,
                        int64_t word_begin, const py::handle& topic_totals_o, double alpha,
                        double beta, int64_t n_words_total, uint64_t seed, int64_t iteration,
                        uint64_t stream, int n_threads, const py::handle& corr_o) {
  auto word_ptr = checked_array<int64_t>(word_ptr_o, "word_ptr", {n_words_total + 1});
  auto topics = checked_array<int32_t>(topics_o, "topics", {any_dim}, true);
  const int64_t n_tok = topics.shape(0);
  auto order = checked_array<int64_t>(order_o, "order", {n_tok});
  auto by_word = checked_array<int32_t>(topics_by_word_o, "topics_by_word", {n_tok}, true);
  auto props = checked_array<int32_t>(props_o, "props", {n_tok, any_dim}, true);
  const int M = props_steps(props, n_tok);
  auto word_topic = checked_array<int32_t>(word_topic_o, "word_topic", {any_dim, any_dim}, true);
  const int32_t K = static_cast<int32_t>(word_topic.shape(1));
  auto totals = checked_array<int64_t>(topic_totals_o, "topic_totals", {K}, true);
  lk::Priors pr = priors(alpha, beta, n_words_total);
  if (word_begin < 0 || word_begin + word_topic.shape(0) > n_words_total)
    throw py::value_error("word_topic: rows [word_begin, word_begin + len) must lie in [0, n_words_total)");
  const int64_t* wpp = in_ptr(word_ptr);
  bool ptr_ok = wpp[0] == 0 && wpp[n_words_total] == n_tok;
  for (int64_t w = 0; w < n_words_total && ptr_ok; ++w) ptr_ok = wpp[w] <= wpp[w + 1];
  if (!ptr_ok) throw py::value_error("word_ptr: must rise from 0 to len(topics) (word_order's output)");
  const int64_t* op = in_ptr(order);
  bool order_ok = true;
  for (int64_t j = 0; j < n_tok; ++j) order_ok &= op[j] >= 0 && op[j] < n_tok;
  if (!order_ok) throw py::value_error("order: token positions must lie in [0, len(topics))");
  check_ids(in_ptr(topics), n_tok, K, "topics", n_threads);
  check_ids(in_ptr(by_word), n_tok, K, "topics_by_word", n_threads);
  check_ids(in_ptr(props), n_tok * 2 * M, K, "props", n_threads);
  py::object keep;
  float* cp = const_cast<float*>(corr_array(corr_o, n_tok, M, true, keep));
  int32_t* tp = out_ptr(topics);
  int32_t* bp = out_ptr(by_word);
  int32_t* pp = out_ptr(props);
  int32_t* wtp = out_ptr(word_topic);
  int64_t* ktp = out_ptr(totals);
  const int64_t word_end = word_begin + word_topic.shape(0);
  py::gil_scoped_release nogil;
  return lk::warp_word_phase(wpp, op, tp, bp, pp, cp, wtp, word_begin, word_end, ktp, K, pr, seed,
                             iteration, stream, M, n_threads);
}

void register_lda(py::module_& m) {
  auto k = m.def_submodule("lda", "LDA collapsed Gibbs sampling kernels");
  // a word row's cost beyond its tokens, per topic (the thread sub-slices' and rank slices' rule)
  k.attr("ROW_COST_PER_TOPIC") = lk::kRowCostPerTopic;
  k.def("sample_block", &sample_block, py::arg("doc_ptr"), py::arg("words"), py::arg("topics"),
        py::arg("first_doc_id"), py::arg("word_topic"), py::arg("word_begin"),
        py::arg("topic_totals"), py::arg("alpha"), py::arg("beta"), py::arg("n_words_total"),
        py::arg("seed"), py::arg("iteration"), py::arg("mh_steps") = 2, py::arg("n_threads") = 0,
        py::arg("time_limit") = 0.0, py::arg("doc_offset") = 0,
        "One sweep over the tokens of a document block whose word lies in the word_topic slice "
        "[word_begin, word_begin + len(word_topic)); updates topics, word_topic, topic_totals. "
        "time_limit > 0 (seconds) ends the sweep early (timer-bounded step); doc_offset rotates "
        "each thread's starting document. Returns the number of tokens sampled.");
  k.def("fold_in", &fold_in, py::arg("doc_ptr"), py::arg("words"), py::arg("topics"),
        py::arg("first_doc_id"), py::arg("word_topic"), py::arg("topic_totals"), py::arg("alpha"),
        py::arg("beta"), py::arg("seed"), py::arg("n_sweeps"), py::arg("burn_in"),
        py::arg("mh_steps"), py::arg("doc_topic"), py::arg("n_threads") = 0,
        "Sample topics of new documents against a fixed model; doc_topic (float32) accumulates "
        "doc-topic counts over the sweeps after burn_in.");
  k.def("doc_log_likelihood", &doc_log_likelihood, py::arg("doc_ptr"), py::arg("topics"),
        py::arg("n_topics"), py::arg("alpha"), py::arg("n_threads") = 0);
  k.def("word_log_likelihood", &word_log_likelihood, py::arg("word_topic"), py::arg("beta"),
        py::arg("n_threads") = 0);
  k.def("accumulate_counts", &accumulate_counts, py::arg("words"), py::arg("topics"),
        py::arg("word_topic"), py::arg("word_begin"), py::arg("topic_totals"));
  k.def("word_order", &word_order, py::arg("words"), py::arg("word_ptr"), py::arg("order"),
        "Token positions grouped by word: fills word_ptr (n_words + 1) and order (n_tokens).");
  k.def("warp_doc_phase", &warp_doc_phase, py::arg("doc_ptr"), py::arg("topics"),
        py::arg("props"), py::arg("accept"), py::arg("topic_totals"), py::arg("alpha"),
        py::arg("beta"), py::arg("n_words_total"), py::arg("seed"), py::arg("iteration"),
        py::arg("stream"), py::arg("n_threads") = 0, py::arg("corr") = py::none(),
        "Word-major sampler, document phase: accepts the word proposals (accept=True), draws "
        "document proposals. Returns the accepted moves.");
  k.def("warp_word_phase", &warp_word_phase, py::arg("word_ptr"), py::arg("order"),
        py::arg("topics"), py::arg("topics_by_word"), py::arg("props"), py::arg("word_topic"),
        py::arg("word_begin"), py::arg("topic_totals"), py::arg("alpha"), py::arg("beta"),
        py::arg("n_words_total"), py::arg("seed"), py::arg("iteration"), py::arg("stream"),
        py::arg("n_threads") = 0, py::arg("corr") = py::none(),
        "Word-major sampler, word phase over the rows of word_topic: adds the document "
        "phase's moves, accepts the document proposals, draws word proposals.");
}

Register reg(50, &register_lda);

}  // namespace
