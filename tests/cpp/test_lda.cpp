// LDA kernel: count invariants after sweeps, determinism per seed and thread count, fold-in.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "harness.hpp"
#include "kernels/lda/lda.hpp"

namespace lda = harpdaal::kernels::lda;

namespace {

struct Corpus {
  std::vector<int64_t> doc_ptr{0};
  std::vector<int32_t> words, topics;
};

// Documents drawn from K well-separated topics (each topic owns V/K words), including empty docs.
Corpus make_corpus(int64_t n_docs, int32_t V, int32_t K, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Corpus c;
  for (int64_t d = 0; d < n_docs; ++d) {
    int len = d % 17 == 0 ? 0 : 20 + static_cast<int>(rng() % 60);
    std::vector<int32_t> doc;
    for (int i = 0; i < len; ++i) {
      int32_t topic = static_cast<int32_t>((d + (rng() % 3 == 0 ? rng() % K : 0)) % K);
      doc.push_back(static_cast<int32_t>(topic * (V / K) + rng() % (V / K)));
    }
    std::sort(doc.begin(), doc.end());
    for (int32_t w : doc) {
      c.words.push_back(w);
      c.topics.push_back(static_cast<int32_t>(rng() % K));
    }
    c.doc_ptr.push_back(static_cast<int64_t>(c.words.size()));
  }
  return c;
}

struct Model {
  std::vector<int32_t> word_topic;
  std::vector<int64_t> totals;
};

Model counts_of(const Corpus& c, int32_t V, int32_t K) {
  Model m{std::vector<int32_t>(static_cast<size_t>(V) * K, 0), std::vector<int64_t>(K, 0)};
  lda::accumulate_counts(c.words.data(), c.topics.data(), static_cast<int64_t>(c.words.size()),
                         m.word_topic.data(), 0, V, m.totals.data(), K);
  return m;
}

template <class T>
void run_sweeps(Corpus& c, Model& m, int32_t V, int32_t K, int threads, int iters, uint64_t seed,
                bool check_each, int mh_steps = 2) {
  lda::Priors pr{0.1, 0.01, V};
  const int64_t n_docs = static_cast<int64_t>(c.doc_ptr.size()) - 1;
  for (int it = 0; it < iters; ++it) {
    // two word slices per sweep, as a rotating caller would pass them
    int64_t half = V / 2;
    lda::sample_block<T>(c.doc_ptr.data(), c.words.data(), c.topics.data(), n_docs, 0,
                         m.word_topic.data(), 0, half, m.totals.data(), K, pr, seed, it, mh_steps, threads);
    lda::sample_block<T>(c.doc_ptr.data(), c.words.data(), c.topics.data(), n_docs, 0,
                         m.word_topic.data() + half * K, half, V, m.totals.data(), K, pr, seed, it,
                         mh_steps, threads);
    if (check_each) {
      Model fresh = counts_of(c, V, K);
      HD_CHECK(fresh.word_topic == m.word_topic);
      HD_CHECK(fresh.totals == m.totals);
      int64_t sum = 0;
      for (int64_t t : m.totals) {
        HD_CHECK(t >= 0);
        sum += t;
      }
      HD_CHECK(sum == static_cast<int64_t>(c.words.size()));
      for (int32_t v : m.word_topic) HD_CHECK(v >= 0);
      for (int32_t z : c.topics) HD_CHECK(z >= 0 && z < K);
    }
  }
}

double loglik_per_token(const Corpus& c, const Model& m, int32_t V, int32_t K) {
  const int64_t n_docs = static_cast<int64_t>(c.doc_ptr.size()) - 1;
  double ll = lda::doc_log_likelihood(c.doc_ptr.data(), c.topics.data(), n_docs, K, 0.1, 1) +
              lda::word_log_likelihood(m.word_topic.data(), V, K, 0.01, 1);
  for (int32_t k = 0; k < K; ++k) ll += std::lgamma(V * 0.01) - std::lgamma(m.totals[k] + V * 0.01);
  return ll / static_cast<double>(c.words.size());
}

}  // namespace

HD_TEST(lda_counts_stay_consistent_every_sweep) {
  for (int mh_steps : {0, 1, 3})
    for (int threads : {1, 2, 3}) {
      Corpus c = make_corpus(300, 200, 10, 7);
      Model m = counts_of(c, 200, 10);
      run_sweeps<float>(c, m, 200, 10, threads, 5, 11, true, mh_steps);
    }
  Corpus c = make_corpus(100, 60, 6, 3);
  Model m = counts_of(c, 60, 6);
  run_sweeps<double>(c, m, 60, 6, 2, 3, 5, true);
  // many topics for short documents: the stale-smoothing MH correction is active (K a / n_d > 0.1)
  for (int threads : {1, 2}) {
    Corpus cm = make_corpus(300, 240, 60, 9);
    Model mm = counts_of(cm, 240, 60);
    run_sweeps<float>(cm, mm, 240, 60, threads, 4, 13, true, 0);
  }
}

HD_TEST(lda_deterministic_per_seed_and_threads) {
  for (int threads : {1, 2}) {
    Corpus a = make_corpus(200, 100, 5, 1), b = a;
    Model ma = counts_of(a, 100, 5), mb = ma;
    run_sweeps<float>(a, ma, 100, 5, threads, 4, 99, false);
    run_sweeps<float>(b, mb, 100, 5, threads, 4, 99, false);
    HD_CHECK(a.topics == b.topics);
    Corpus c2 = make_corpus(200, 100, 5, 1);
    Model mc = counts_of(c2, 100, 5);
    run_sweeps<float>(c2, mc, 100, 5, threads, 4, 100, false);
    HD_CHECK(c2.topics != a.topics);
  }
}

HD_TEST(lda_loglik_improves_and_topics_separate) {
  const int32_t V = 200, K = 10;
  Corpus c = make_corpus(400, V, K, 21);
  Model m = counts_of(c, V, K);
  double before = loglik_per_token(c, m, V, K);
  run_sweeps<float>(c, m, V, K, 2, 100, 3, false);
  Corpus cs = make_corpus(400, V, K, 21);
  Model ms = counts_of(cs, V, K);
  run_sweeps<float>(cs, ms, V, K, 2, 30, 3, false, 0);
  HD_CHECK(loglik_per_token(cs, ms, V, K) > before + 0.5);
  double after = loglik_per_token(c, m, V, K);
  HD_CHECK(after > before + 0.5);
  // each true topic's words should concentrate in one learned topic
  int good = 0;
  for (int32_t t = 0; t < K; ++t) {
    std::vector<int64_t> mass(K, 0);
    int64_t total = 0;
    for (int32_t w = t * (V / K); w < (t + 1) * (V / K); ++w)
      for (int32_t k = 0; k < K; ++k) {
        mass[k] += m.word_topic[static_cast<size_t>(w) * K + k];
        total += m.word_topic[static_cast<size_t>(w) * K + k];
      }
    if (total > 0 && *std::max_element(mass.begin(), mass.end()) > 0.8 * total) ++good;
  }
  HD_CHECK(good >= K - 1);
}

HD_TEST(lda_fold_in_keeps_model_and_is_thread_independent) {
  const int32_t V = 200, K = 10;
  Corpus c = make_corpus(300, V, K, 5);
  Model m = counts_of(c, V, K);
  run_sweeps<float>(c, m, V, K, 2, 20, 3, false);
  Model saved = m;
  Corpus t1 = make_corpus(50, V, K, 77), t2 = t1;
  lda::Priors pr{0.1, 0.01, V};
  std::vector<float> dt1(50 * K, 0), dt2(50 * K, 0);
  lda::fold_in<float>(t1.doc_ptr.data(), t1.words.data(), t1.topics.data(), 50, 0,
                      m.word_topic.data(), m.totals.data(), K, pr, 9, 10, 5, 2, dt1.data(), 1);
  lda::fold_in<float>(t2.doc_ptr.data(), t2.words.data(), t2.topics.data(), 50, 0,
                      m.word_topic.data(), m.totals.data(), K, pr, 9, 10, 5, 2, dt2.data(), 2);
  HD_CHECK(m.word_topic == saved.word_topic);
  HD_CHECK(m.totals == saved.totals);
  HD_CHECK(t1.topics == t2.topics);
  HD_CHECK(dt1 == dt2);
  for (int64_t d = 0; d < 50; ++d) {
    double s = 0;
    for (int32_t k = 0; k < K; ++k) s += dt1[d * K + k];
    HD_CHECK_NEAR(s, 5.0 * (t1.doc_ptr[d + 1] - t1.doc_ptr[d]), 1e-9);
  }
}

#include "kernels/common/isa.hpp"
#include "kernels/lda/doc_bucket.hpp"

// The document bucket (in-block prefix sums, masked last block) and find_in_bucket at every ISA
// level the machine has, against a scalar reference: for every n from 0 to 70 (partial and whole
// blocks), v holds the prefix sums within blocks, block sums add up, and the position found for u
// is the first j whose global prefix exceeds u (up to float rounding at the block edges).
HD_TEST(lda_doc_bucket_and_find_match_a_scalar_reference) {
  using Fn = lda::DocBucketFn;
  using DrawFn = lda::DocBucketDrawFn;
  struct Level {
    const char* name;
    Fn fn;
    DrawFn draw;
  };
  std::vector<Level> levels{{"generic", &lda::generic::doc_bucket, &lda::generic::doc_bucket_draw}};
  const auto best = harpdaal::kernels::detected_isa();
  if (best >= harpdaal::kernels::Isa::avx2)
    levels.push_back({"avx2", &lda::avx2::doc_bucket, &lda::avx2::doc_bucket_draw});
  if (best >= harpdaal::kernels::Isa::avx512f)
    levels.push_back({"avx512f", &lda::avx512f::doc_bucket, &lda::avx512f::doc_bucket_draw});
  if (best >= harpdaal::kernels::Isa::avx512)
    levels.push_back({"avx512", &lda::avx512::doc_bucket, &lda::avx512::doc_bucket_draw});
  std::mt19937_64 rng(7);
  const int32_t K = 80;
  std::vector<int32_t> nw(K);
  for (auto& x : nw) x = static_cast<int32_t>(rng() % 50);
  for (const auto& [name, fn, draw] : levels) {
    for (int32_t n = 0; n <= 70; ++n) {
      std::vector<int32_t> nz(K);
      for (int32_t k = 0; k < K; ++k) nz[k] = k;
      std::shuffle(nz.begin(), nz.end(), rng);
      std::vector<float> coef(K + 16, 0.f), v(K + 16, -1.f), bs(K / 16 + 2, -1.f);
      for (int32_t j = 0; j < n; ++j) coef[j] = 0.001f + static_cast<float>(rng() % 1000) * 1e-4f;
      const float total = fn(nz.data(), n, coef.data(), nw.data(), 0.01f, v.data(), bs.data());
      std::vector<double> x(n), prefix(n + 1, 0.0);
      for (int32_t j = 0; j < n; ++j) {
        x[j] = (nw[nz[j]] + 0.01) * coef[j];
        prefix[j + 1] = prefix[j] + x[j];
      }
      HD_CHECK_NEAR(total, prefix[n], 1e-5);
      for (int32_t j = 0; j < n; ++j) {
        const int32_t b0 = j / 16 * 16;
        HD_CHECK_NEAR(v[j], prefix[j + 1] - prefix[b0], 1e-5);
      }
      for (int32_t b = 0; b * 16 < n; ++b) {
        const int32_t e = std::min(n, b * 16 + 16);
        HD_CHECK_NEAR(bs[b], prefix[e] - prefix[b * 16], 1e-5);
      }
      if (n == 0) continue;
      for (int q = 0; q < 200; ++q) {
        const float u = total * static_cast<float>(rng() % 1000000) * 1e-6f;
        const int32_t j = lda::find_in_bucket(v.data(), bs.data(), n, u);
        HD_CHECK(j >= 0 && j < n);
        // the fused bucket + draw (the level's vector search) picks the same position for the
        // same u, and -1 when u falls in the smoothing mass past the bucket's total
        const float smooth = 0.25f * total + 0.001f;
        const float u01 = u / (total + smooth);
        std::vector<float> v2(K + 16, -1.f), bs2(K / 16 + 2, -1.f);
        const int32_t jd = draw(nz.data(), n, coef.data(), nw.data(), 0.01f, smooth, u01, v2.data(),
                                bs2.data());
        const float ud = u01 * (total + smooth);
        if (ud < total) {
          HD_CHECK(jd == lda::find_in_bucket(v.data(), bs.data(), n, ud));
        } else {
          HD_CHECK(jd == -1);
        }
        const int32_t jm = draw(nz.data(), n, coef.data(), nw.data(), 0.01f, smooth, 0.99f,
                                v2.data(), bs2.data());
        HD_CHECK(jm == -1);  // the smoothing mass is >= 20% of the whole here
        int32_t ref = 0;
        while (ref < n - 1 && prefix[ref + 1] <= u) ++ref;
        // the same position, or a neighbour when u lies within rounding of a boundary
        if (j != ref) {
          const double edge = prefix[std::max(j, ref)];
          HD_CHECK(std::abs(j - ref) == 1 && std::fabs(edge - u) <= 1e-5 * (1.0 + total));
        }
      }
    }
  }
}
