#include "kernels/lda/lda.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <vector>
#ifdef HARPDAAL_LDA_ROUND_TIMES
#include <cstdio>
#endif

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include "kernels/common/isa.hpp"
#include "kernels/common/mix64.hpp"
#include "kernels/common/parallel.hpp"
#include "kernels/lda/doc_bucket.hpp"
#include "kernels/lda/fold_mh.hpp"

namespace harpdaal::kernels::lda {

namespace {

// ---- counter-based random numbers (mix64: kernels/common/mix64.hpp) ---------------------------
// splitmix64 stream whose start is a hash of (seed, iteration, document, token): the draws for a
// token never depend on which thread samples it or in which order.
// 24 random bits (the low 24 of r) as a number in [0, 1): converted through int32, one
// instruction (a uint64 -> float conversion is a dozen on x86 before AVX-512).
template <class T>
inline T unit24(uint64_t r) {
  return static_cast<T>(static_cast<int32_t>(r & 0xFFFFFF)) * static_cast<T>(1.0 / 16777216.0);
}

struct TokenRng {
  uint64_t x;
  inline uint64_t next() {
    x += 0x9E3779B97F4A7C15ULL;
    return mix64(x);
  }
  // uniform in [0, 1) with 24 random bits (the sampler works in float).
  template <class T>
  inline T uniform() { return unit24<T>(next() >> 40); }
};

inline uint64_t doc_key(uint64_t seed, int64_t iteration, int64_t doc_id) {
  return mix64(seed ^ mix64(static_cast<uint64_t>(iteration) * 0xD1B54A32D192ED03ULL + 0x632BE59BD9B4E019ULL) ^
               mix64(static_cast<uint64_t>(doc_id) * 0x8CB92BA72F3D8DD7ULL + 1));
}

}  // namespace

uint64_t fold_doc_key(uint64_t seed, int64_t sweep, int64_t doc_id) {
  return doc_key(seed, sweep, doc_id);
}

namespace {

inline TokenRng token_rng(uint64_t dkey, int64_t token) {
  return TokenRng{mix64(dkey ^ (static_cast<uint64_t>(token) * 0xA0761D6478BD642FULL))};
}

// ---- alias tables (Vose) ---------------------------------------------------------------------
template <class T>
struct AliasEntry {
  T prob;         // probability of keeping `topic` in this bucket
  int32_t topic;  // the bucket's own topic (ascending within a word's table)
  int32_t alias;  // the topic taken otherwise
  T weight;       // the proposal weight of `topic` itself, for Metropolis-Hastings corrections
};

// Builds n buckets for weights w[0..n) of topics ids[0..n) into out; small/large are scratch.
template <class T>
void build_alias(const double* w, const int32_t* ids, int32_t n, double total, AliasEntry<T>* out,
                 std::vector<int32_t>& small, std::vector<int32_t>& large, std::vector<double>& scaled) {
  small.clear();
  large.clear();
  scaled.resize(n);
  for (int32_t i = 0; i < n; ++i) {
    scaled[i] = total > 0 ? w[i] * n / total : 1.0;
    out[i].topic = ids[i];
    out[i].alias = ids[i];
    out[i].prob = T(1);
    out[i].weight = static_cast<T>(w[i]);
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  while (!small.empty() && !large.empty()) {
    int32_t s = small.back(), l = large.back();
    small.pop_back();
    out[s].prob = static_cast<T>(scaled[s]);
    out[s].alias = ids[l];
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // leftovers are exactly 1 up to rounding: keep their own topic
  for (int32_t i : small) out[i].prob = T(1);
  for (int32_t i : large) out[i].prob = T(1);
}

template <class T>
inline int32_t sample_alias(const AliasEntry<T>* table, int32_t n, T u) {
  T x = u * static_cast<T>(n);
  int32_t i = static_cast<int32_t>(x);
  if (i >= n) i = n - 1;
  const AliasEntry<T>& e = table[i];
  // a select, not a branch: which way it goes is a coin flip the predictor cannot learn
  const int32_t keep = -static_cast<int32_t>((x - static_cast<T>(i)) < e.prob);
  return (e.topic & keep) | (e.alias & ~keep);
}

// An array whose elements are left uninitialised (trivial types: written before read).
template <class E>
struct RawArray {
  std::unique_ptr<E[]> p;
  void resize(int64_t n) { p.reset(new E[static_cast<size_t>(n > 0 ? n : 1)]); }
  E* data() { return p.get(); }
  const E* data() const { return p.get(); }
};

// Word proposal q_w(k) ~ (n_wk + beta) / (n_k + V beta), as a mixture of a sparse alias table
// over the word's non-zero topics (mass word_mass[w]) and one dense table for beta / (n_k + V beta)
// shared by every word (mass dense_mass): memory stays O(non-zeros), not O(V K).
template <class T>
struct WordProposals {
  std::vector<int64_t> offsets;
  RawArray<AliasEntry<T>> entries;  // filled in parallel: no serial zeroing of the pages
  std::vector<T> word_mass;
  std::vector<AliasEntry<T>> dense;
  std::vector<T> stale_inv;  // 1 / (n_k + V beta) when the tables were built
  T dense_mass = 0;
  // With build(..., dense_stale): stale_weight of every (row, topic), row-major (n_rows x K),
  // so that a Metropolis-Hastings correction reads it with one load from a row the sampler
  // prefetched, not a binary search of the row's alias entries.
  RawArray<T> stale_rows;
  bool has_stale_rows = false;

  // stale_weight from stale_rows (build with dense_stale only): the same value.
  inline const T* stale_row(int64_t row, int32_t K) const {
    return stale_rows.data() + row * static_cast<int64_t>(K);
  }

  // The stale smoothing weight (n~_wk + beta) / (n~_k + V beta) of topic k for row `row`.
  inline T stale_weight(int64_t row, int32_t k, T beta) const {
    const AliasEntry<T>* base = entries.data() + offsets[row];
    const AliasEntry<T>* end = entries.data() + offsets[row + 1];
    int64_t len = end - base;
    const T w = beta * stale_inv[k];
    if (len == 0) return w;
    // Branch-free lower bound (topics ascend within a row's table): its comparisons are coin
    // flips that a branch would mispredict at about every other level.
    while (len > 1) {
      const int64_t half = len / 2;
      base += (base[half].topic < k) ? half : 0;
      len -= half;
    }
    base += base->topic < k;  // the first entry with topic >= k, or end
    const bool inside = base < end;
    const AliasEntry<T>* e = inside ? base : end - 1;
    return w + ((inside && e->topic == k) ? e->weight : T(0));
  }

  void build(const int32_t* word_topic, int64_t n_rows, int32_t K, const int64_t* topic_totals,
             const Priors& pr, int n_threads, bool dense_stale = false) {
    const double vbeta = pr.beta * static_cast<double>(pr.n_words_total);
    std::vector<double> inv_den(K);
    for (int32_t k = 0; k < K; ++k) inv_den[k] = 1.0 / (static_cast<double>(topic_totals[k]) + vbeta);
    stale_inv.resize(K);
    for (int32_t k = 0; k < K; ++k) stale_inv[k] = static_cast<T>(inv_den[k]);
    {
      std::vector<double> w(K);
      std::vector<int32_t> ids(K), small, large;
      std::vector<double> scaled;
      double total = 0;
      for (int32_t k = 0; k < K; ++k) {
        w[k] = pr.beta * inv_den[k];
        ids[k] = k;
        total += w[k];
      }
      dense.resize(K);
      build_alias<T>(w.data(), ids.data(), K, total, dense.data(), small, large, scaled);
      dense_mass = static_cast<T>(total);
    }
    offsets.assign(n_rows + 1, 0);
    word_mass.assign(n_rows, T(0));
    has_stale_rows = dense_stale;
    if (dense_stale) stale_rows.resize(n_rows * static_cast<int64_t>(K));
    // stale_weight's smoothing part beta / (n~_k + V beta) of every topic, for the dense rows
    std::vector<T> stale_base(dense_stale ? K : 0);
    for (int32_t k = 0; k < static_cast<int32_t>(stale_base.size()); ++k)
      stale_base[k] = static_cast<T>(pr.beta) * stale_inv[k];
    parallel_for(n_threads, n_rows, 256, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int32_t* row = word_topic + r * K;
        int64_t nnz = 0;
        for (int32_t k = 0; k < K; ++k) nnz += row[k] > 0;
        offsets[r + 1] = nnz;
      }
    });
    for (int64_t r = 0; r < n_rows; ++r) offsets[r + 1] += offsets[r];
    entries.resize(offsets[n_rows]);
    parallel_for(n_threads, n_rows, 256, [&](int64_t b, int64_t e) {
      std::vector<double> w(K);
      std::vector<int32_t> ids(K), small, large;
      std::vector<double> scaled;
      for (int64_t r = b; r < e; ++r) {
        const int32_t* row = word_topic + r * K;
        // the row's non-zero topics, compacted without a branch per topic (whether a count is
        // zero is a coin flip the predictor cannot learn)
        int32_t n = 0;
        double total = 0;
        for (int32_t k = 0; k < K; ++k) {
          const double v = row[k] * inv_den[k];
          w[n] = v;
          ids[n] = k;
          n += row[k] > 0;
          total += v;
        }
        word_mass[r] = static_cast<T>(total);
        if (n > 0)
          build_alias<T>(w.data(), ids.data(), n, total, entries.data() + offsets[r], small, large,
                         scaled);
        if (dense_stale) {  // stale_weight's arithmetic: beta / (n~_k + V beta) + the entry's weight
          T* sr = stale_rows.data() + r * static_cast<int64_t>(K);
          std::copy(stale_base.begin(), stale_base.end(), sr);
          for (int32_t q = 0; q < n; ++q) sr[ids[q]] = stale_base[ids[q]] + static_cast<T>(w[q]);
        }
      }
    });
  }

  inline int32_t propose(int64_t row, T u_mix, T u_pick, int32_t K) const {
    T a = word_mass[row];
    if (u_mix * (a + dense_mass) < a) {
      int64_t o = offsets[row];
      return sample_alias(entries.data() + o, static_cast<int32_t>(offsets[row + 1] - o), u_pick);
    }
    return sample_alias(dense.data(), K, u_pick);
  }
};

// Splits [0, n) (weights given by prefix sums cum[0..n]) into `parts` contiguous ranges of about
// equal weight; bounds has parts + 1 entries.
std::vector<int64_t> balanced_bounds(const int64_t* cum, int64_t n, int parts) {
  std::vector<int64_t> bounds(parts + 1, 0);
  int64_t total = cum[n] - cum[0];
  for (int p = 1; p < parts; ++p) {
    int64_t target = cum[0] + total * p / parts;
    bounds[p] = std::lower_bound(cum, cum + n + 1, target) - cum;
    bounds[p] = std::clamp<int64_t>(bounds[p], bounds[p - 1], n);
  }
  bounds[parts] = n;
  return bounds;
}

// Samples the tokens [lo, hi) of one document (all of whose words lie in the current slice).
// nd holds the document's topic counts over all its tokens; the model's counts are updated.
template <class T>
inline void sample_tokens(const int32_t* words, int32_t* topics, int64_t p0, int64_t p1,
                          int64_t lo, int64_t hi, uint64_t dkey, int32_t* nd, int32_t* wt,
                          int64_t word_begin, int64_t* nk, int32_t K, T alpha, T beta, T vbeta,
                          const WordProposals<T>& prop, int mh_steps) {
  const int64_t len = p1 - p0;
  const T len_t = static_cast<T>(len);
  const T doc_mass = len_t + alpha * static_cast<T>(K);
  for (int64_t i = lo; i < hi; ++i) {
    TokenRng rng = token_rng(dkey, i - p0);
    const int32_t s0 = topics[i];
    const int64_t row = words[i] - word_begin;
    int32_t* nw = wt + row * K;
    int32_t s = s0;
    --nd[s];
    --nw[s];
    --nk[s];
    for (int step = 0; step < mh_steps; ++step) {
      // word proposal: acceptance reduces to the doc factor (n_dt + a) / (n_ds + a)
      T u1 = rng.template uniform<T>(), u2 = rng.template uniform<T>();
      int32_t t = prop.propose(row, u1, u2, K);
      if (t != s) {
        T u = rng.template uniform<T>();
        if (u * (static_cast<T>(nd[s]) + alpha) < static_cast<T>(nd[t]) + alpha) s = t;
      }
      // doc proposal q(k) ~ n_dk + alpha (counts including this token's old topic s0):
      // pick the topic of a random token of the document, or a uniform topic.
      T ud = rng.template uniform<T>() * doc_mass;
      if (ud < len_t) {
        int64_t j = static_cast<int64_t>(ud);
        t = topics[p0 + (j < len ? j : len - 1)];
      } else {
        t = static_cast<int32_t>((ud - len_t) / alpha);
        if (t >= K) t = K - 1;
      }
      if (t != s) {
        T nds = static_cast<T>(nd[s]) + alpha, ndt = static_cast<T>(nd[t]) + alpha;
        T num = ndt * (static_cast<T>(nw[t]) + beta) * (static_cast<T>(nk[s]) + vbeta) *
                (nds + static_cast<T>(s == s0));
        T den = nds * (static_cast<T>(nw[s]) + beta) * (static_cast<T>(nk[t]) + vbeta) *
                (ndt + static_cast<T>(t == s0));
        T u = rng.template uniform<T>();
        if (u * den < num) s = t;
      }
    }
    topics[i] = s;
    ++nd[s];
    ++nw[s];
    ++nk[s];
  }
}


// State of one document being sampled by the sparse sampler: dense counts, the list of its
// non-zero topics (with positions, for O(1) removal) and, by position, coef = n_dk / (n_k + V b).
//
// The document bucket by the level's vector gathers on Intel CPUs, by the scalar loop elsewhere:
// AMD Zen 4's gathers are microcoded, and there the scalar bucket trained 20news (K = 100, one
// thread) at 11.6M tokens/s against 10.9M (AVX-512 gathers) and 10.0M (AVX2).
// HARPDAAL_LDA_BUCKET=gather|scalar overrides.
inline bool bucket_by_gathers() {
  static const bool gathers = intel_path("HARPDAAL_LDA_BUCKET", "gather", "scalar");
  return gathers;
}

template <class T>
struct DocState {
  std::vector<int32_t> nd, nz, pos;
  std::vector<T> cum;
  std::vector<T> coef;  // coef[j] = nd[nz[j]] * inv[nz[j]], by position like nz
  std::vector<T> block_sums;
  DocBucketDrawFn draw = nullptr;  // the ISA's document bucket and draw (float only)
  int32_t n_nz = 0;
  explicit DocState(int32_t K)
      : nd(K, 0), nz(K), pos(K), cum(K + kBucketBlock),  // + a block: the bucket stores whole blocks
        coef(K), block_sums(K / kBucketBlock + 1) {
    if constexpr (std::is_same_v<T, float>)
      draw = bucket_by_gathers()
                 ? dispatch<DocBucketDrawFn>(&generic::doc_bucket_draw, &avx2::doc_bucket_draw,
                                             &avx512f::doc_bucket_draw, &avx512::doc_bucket_draw)
                 : &generic::doc_bucket_draw;
  }
  void load(const int32_t* topics, int64_t p0, int64_t p1, const T* inv) {
    for (int64_t i = p0; i < p1; ++i) {
      int32_t k = topics[i];
      if (nd[k]++ == 0) {
        pos[k] = n_nz;
        nz[n_nz++] = k;
      }
    }
    for (int32_t j = 0; j < n_nz; ++j) coef[j] = static_cast<T>(nd[nz[j]]) * inv[nz[j]];
  }
  void clear() {
    for (int32_t j = 0; j < n_nz; ++j) nd[nz[j]] = 0;
    n_nz = 0;
  }
  // The non-zero (topic, count) pairs, in list order, into out[0, 2 n_nz): what restore() takes
  // back in a later round instead of a load() over every token of the document.
  void save(int32_t* out) const {
    for (int32_t j = 0; j < n_nz; ++j) {
      out[2 * j] = nz[j];
      out[2 * j + 1] = nd[nz[j]];
    }
  }
  void restore(const int32_t* in, int32_t n, const T* inv) {
    for (int32_t j = 0; j < n; ++j) {
      const int32_t k = in[2 * j];
      nd[k] = in[2 * j + 1];
      pos[k] = j;
      nz[j] = k;
      coef[j] = static_cast<T>(nd[k]) * inv[k];
    }
    n_nz = n;
  }
};

// 1 / (n_k + V beta) for every topic: shared by the documents one thread samples.
template <class T>
void set_inv(T* inv, const int64_t* nk, int32_t K, T vbeta) {
  for (int32_t k = 0; k < K; ++k) inv[k] = T(1) / (static_cast<T>(nk[k]) + vbeta);
}

// Sparse sampler: p(k) ~ n_dk (n_wk + b) / (n_k + V b)  +  a (n_wk + b) / (n_k + V b).
// The first (document) bucket is summed exactly over the document's non-zero topics (O(K_d));
// the second (smoothing) bucket is drawn from the word's alias tables built at the start of the
// call, i.e. from counts at most one sweep old (exact in fold-in, where the model is fixed).
// A Lane is one document in progress; step() samples its next token. A thread keeps up to two
// lanes (documents) and advances both by one token at a time, phase by phase (step_n): a token
// depends on the one before it in its own document (the counts it changed), hardly on the other
// lane's, so the core overlaps the two chains (docs/lda.md, "lanes"). The lanes share the thread's
// topic totals: a lane's coef of a topic whose n_k the other lane changed is stale until it
// touches that topic again (relative error about 1 / (n_k + V b) per change, far below the
// staleness between threads within a round).
inline constexpr int kMaxLanes = 2;
// The most memory sample_block spends on keeping document counts between rounds.
inline constexpr double kKeepBytes = 256.0 * 1024 * 1024;
// Documents sampled side by side by one thread in fold-in (no shared counts: exact). The
// Metropolis-Hastings fold-in takes one at a time: 2, 4 or 8 lanes ran 0-10% slower on 20news
// test (their documents' tables compete for L1/L2, and its steps have no branch to overlap).
inline constexpr int kFoldLanes = 4;
inline constexpr int kFoldMHLanes = 1;

template <class T, bool update_model>
struct SparseSampler {
  const int32_t* words;
  int32_t* topics;
  int32_t* wt;
  int64_t word_begin;
  int64_t* nk;
  T* inv;
  int32_t K;
  T alpha, beta, vbeta;
  const WordProposals<T>& prop;
  bool correct_stale;

  // Prefetch distance in tokens of a lane and the largest word row prefetched whole (measured on
  // the 2-core Sapphire Rapids VM: 2 tokens ahead takes ~12% off at K = 100 and ~20% at K = 1000;
  // rows over 1 KB are prefetched only at the document's topics, same speed, fewer instructions).
  static constexpr int pf = 2;
  static constexpr int64_t pf_row_limit = 1024;

  // Lanes per thread, measured on the 1M-token corpus (docs/lda.md): 2 where a word row is
  // prefetched whole (K <= 256: -26% per token at K = 100 stepped phase by phase, step_n; 3 or 4
  // lanes were no faster), 1 above (K = 1000: 2 lanes +2%, 3 lanes +11%: there the time goes to
  // the scattered lines of 4 KB rows, and more lanes' prefetches compete for the fill buffers).
  static int lanes_for(int32_t K) { return static_cast<int64_t>(K) * 4 <= pf_row_limit ? 2 : 1; }

  // The random draws of a token are made when it is prefetched (pf tokens ahead), so that the
  // alias entry its smoothing draw would read can be prefetched too; kept in a ring of 4.
  struct Draws {
    uint64_t r, r2;
    TokenRng rng;  // continues the token's stream (the Metropolis-Hastings draw)
  };
  struct Lane {
    DocState<T>* ds = nullptr;
    int64_t p0 = 0, i = 0, hi = 0;
    uint64_t dkey = 0;
    Draws ring[4];
  };

  inline void prepare(Lane& L, int64_t ip) const {
    Draws& d = L.ring[ip & 3];
    d.rng = token_rng(L.dkey, ip - L.p0);
    d.r = d.rng.x;  // the stream's start is itself a mix64 output: the first draw
    d.r2 = d.rng.next();
    // the word row of a later token, and its alias tables, are cache misses otherwise (the
    // V x K table does not fit in L2): start loading them now.
    const int64_t prow = words[ip] - word_begin;
    const int64_t row_bytes = static_cast<int64_t>(K) * 4;
    const char* pr = reinterpret_cast<const char*>(wt + prow * K);
    if (row_bytes <= pf_row_limit) {
#pragma GCC unroll 4
      for (int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(pr + b, 1, 3);
      if (correct_stale && prop.has_stale_rows) {  // the correction's stale weights of the row
        const char* ps = reinterpret_cast<const char*>(prop.stale_row(prow, K));
#pragma GCC unroll 4
        for (int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(ps + b, 0, 3);
      }
    } else {
      const int32_t* pnw = wt + prow * K;
      const int32_t* nz = L.ds->nz.data();
      for (int32_t j = 0; j < L.ds->n_nz; ++j) __builtin_prefetch(pnw + nz[j], 1, 3);
    }
    const int64_t o = prop.offsets[prow], n_w = prop.offsets[prow + 1] - o;
    const T u2 = unit24<T>(d.r2);
    int64_t e = static_cast<int64_t>(u2 * static_cast<T>(n_w));
    if (e >= n_w) e = n_w - 1;
    if (e > 0) __builtin_prefetch(prop.entries.data() + o + e, 0, 3);
    __builtin_prefetch(prop.entries.data() + o, 0, 3);
    __builtin_prefetch(prop.word_mass.data() + prow, 0, 3);
  }

  // Starts the tokens [lo, hi) of the document whose tokens begin at p0 (ds already loaded).
  inline void begin(Lane& L, DocState<T>* ds, int64_t p0, int64_t lo, int64_t hi, uint64_t dkey) const {
    L.ds = ds;
    L.p0 = p0;
    L.i = lo;
    L.hi = hi;
    L.dkey = dkey;
    for (int64_t ip = lo; ip < hi && ip < lo + pf; ++ip) prepare(L, ip);
  }

  // A token in flight: its position, old topic, word row, and the bucket's pick (j, or -1).
  struct Tok {
    int64_t i, row;
    int32_t s, j;
    int32_t* nw;
  };

  // Phase 1: prefetch ahead, take token L.i's old topic out of every count.
  inline void remove(Lane& L, Tok& x) const {
    x.i = L.i;
    if (x.i + pf < L.hi) prepare(L, x.i + pf);
    DocState<T>& ds = *L.ds;
    x.s = topics[x.i];
    x.row = words[x.i] - word_begin;
    x.nw = wt + x.row * K;
    const int32_t s = x.s;
    if (update_model) {
      --x.nw[s];
      --nk[s];
      inv[s] = T(1) / (static_cast<T>(nk[s]) + vbeta);
    }
    if (--ds.nd[s] == 0) {
      int32_t p = ds.pos[s], last = ds.nz[--ds.n_nz];
      ds.nz[p] = last;
      ds.pos[last] = p;
      ds.coef[p] = ds.coef[ds.n_nz];
    } else {
      ds.coef[ds.pos[s]] = static_cast<T>(ds.nd[s]) * inv[s];
    }
  }

  // Phase 2: the document bucket and the draw (j = the bucket's position, -1 = smoothing).
  inline void draw(Lane& L, Tok& x) const {
    DocState<T>& ds = *L.ds;
    const int32_t n_nz = ds.n_nz;
    const T smooth = alpha * (prop.word_mass[x.row] + prop.dense_mass);
    const T u01 = unit24<T>(L.ring[x.i & 3].r >> 40);
    if constexpr (std::is_same_v<T, float>) {
      x.j = ds.draw(ds.nz.data(), n_nz, ds.coef.data(), x.nw, beta, smooth, u01, ds.cum.data(),
                    ds.block_sums.data());
    } else {
      T* cum = ds.cum.data();
      T z = 0;
      for (int32_t q = 0; q < n_nz; ++q) {
        z += ds.coef[q] * (static_cast<T>(x.nw[ds.nz[q]]) + beta);
        cum[q] = z;
      }
      const T u = u01 * (z + smooth);
      x.j = -1;
      if (u < z) {
        int32_t j = 0;
        while (j < n_nz - 1 && cum[j] <= u) ++j;
        x.j = j;
      }
    }
  }

  // Phase 3: the new topic (from the smoothing bucket where the draw fell there, corrected where
  // the tables are stale), put back into every count; L advances.
  inline void finish(Lane& L, const Tok& x) const {
    DocState<T>& ds = *L.ds;
    int32_t* nd = ds.nd.data();
    Draws& dr = L.ring[x.i & 3];
    const int32_t s = x.s;
    int32_t* nw = x.nw;
    int32_t t;
    if (x.j >= 0) {
      t = ds.nz[x.j];
    } else {
      const uint64_t r2 = dr.r2;
      t = prop.propose(x.row, unit24<T>(r2 >> 40), unit24<T>(r2), K);
    }
    if (update_model && correct_stale && t != s) {
      // Independence Metropolis-Hastings against the exact conditional: the proposal used the
      // smoothing bucket from tables up to one sweep old (q = D + a W~), the target is
      // p = D + a W with current counts; accept t over the old topic s with p(t) q(s) / (p(s) q(t)).
      const T ws = (static_cast<T>(nw[s]) + beta) * inv[s];
      const T wt_ = (static_cast<T>(nw[t]) + beta) * inv[t];
      const T ds_ = static_cast<T>(nd[s]) * ws, dt_ = static_cast<T>(nd[t]) * wt_;
      const T p_s = ds_ + alpha * ws, p_t = dt_ + alpha * wt_;
      T sw_s, sw_t;
      if (prop.has_stale_rows) {
        const T* sr = prop.stale_row(x.row, K);
        sw_s = sr[s];
        sw_t = sr[t];
      } else {
        sw_s = prop.stale_weight(x.row, s, beta);
        sw_t = prop.stale_weight(x.row, t, beta);
      }
      const T q_s = ds_ + alpha * sw_s;
      const T q_t = dt_ + alpha * sw_t;
      const T ua = unit24<T>(dr.rng.next() >> 40);
      if (ua * (p_s * q_t) >= p_t * q_s) t = s;
    }
    topics[x.i] = t;
    if (nd[t]++ == 0) {
      ds.pos[t] = ds.n_nz;
      ds.nz[ds.n_nz++] = t;
    }
    if (update_model) {
      ++nw[t];
      ++nk[t];
      inv[t] = T(1) / (static_cast<T>(nk[t]) + vbeta);
    }
    ds.coef[ds.pos[t]] = static_cast<T>(nd[t]) * inv[t];
    L.i = x.i + 1;
  }

  // Samples token L.i and advances; the caller checks L.i < L.hi first.
  inline void step(Lane& L) const {
    Tok x;
    remove(L, x);
    draw(L, x);
    finish(L, x);
  }

  // One token of each of N lanes, phase by phase, so that the core works on all chains at
  // once (a whole token is more instructions than the reorder window holds). A lane's token is
  // taken out before the earlier lanes' are put back: its draw sees those tokens in neither
  // topic (a few of millions).
  template <int N>
  inline void step_n(Lane* lanes) const {
    Tok x[N];
    for (int l = 0; l < N; ++l) remove(lanes[l], x[l]);
    for (int l = 0; l < N; ++l) draw(lanes[l], x[l]);
    for (int l = 0; l < N; ++l) finish(lanes[l], x[l]);
  }
};

// The smallest j with cum[j] > u in an inclusive prefix sum cum[0..n) (n >= 1), n - 1 when u
// reaches past the end by rounding. Branch-free (the comparisons are coin flips): the step is
// masked arithmetic, not a conditional the compiler may turn into a jump.
template <class T>
inline int32_t upper_index(const T* cum, int32_t n, T u) {
  int32_t base = 0, len = n;
  while (len > 1) {
    const int32_t half = len / 2;
    base += half & -static_cast<int32_t>(cum[base + half - 1] <= u);
    len -= half;
  }
  return base;
}

// What both fold-in tables start from: the slot of each word of the documents (its rank among
// them; -1 for the others), the words by slot, and 1 / (n_k + V beta) per topic.
struct FoldRows {
  std::vector<int32_t> slot;
  std::vector<int64_t> word_of;
  std::vector<double> inv;
  FoldRows(int64_t V, int32_t K, const int64_t* topic_totals, const Priors& pr,
           const uint8_t* present)
      : slot(V, -1), inv(K) {
    const double vbeta = pr.beta * static_cast<double>(V);
    for (int32_t k = 0; k < K; ++k) inv[k] = 1.0 / (static_cast<double>(topic_totals[k]) + vbeta);
    for (int64_t w = 0; w < V; ++w)
      if (present[w]) {
        slot[w] = static_cast<int32_t>(word_of.size());
        word_of.push_back(w);
      }
  }
};

// What fold-in needs of the fixed model, built once per call for the words of its documents
// (slot s = the s-th present word by id): phi_wk = (n_wk + b) / (n_k + V b) for every topic and
// its inclusive prefix sum over k (the smoothing bucket a phi_wk, drawn by a binary search),
// both rows of K floats; mass[s] = sum_k phi_wk.
template <class T>
struct FoldTables {
  std::vector<int32_t> slot;  // V entries: the word's slot, -1 where absent
  RawArray<T> phi, cum;
  std::vector<T> mass;

  void build(const int32_t* word_topic, int64_t V, int32_t K, const int64_t* topic_totals,
             const Priors& pr, const uint8_t* present, int n_threads) {
    const FoldRows rows(V, K, topic_totals, pr, present);
    slot = rows.slot;
    const int64_t n = static_cast<int64_t>(rows.word_of.size());
    phi.resize(n * K);
    cum.resize(n * K);
    mass.resize(n);
    parallel_for(n_threads, n, 256, [&](int64_t b, int64_t e) {
      for (int64_t q = b; q < e; ++q) {
        const int32_t* row = word_topic + rows.word_of[q] * K;
        T* ph = phi.data() + q * K;
        T* cm = cum.data() + q * K;
        double run = 0;
        for (int32_t k = 0; k < K; ++k) {
          const double v = (row[k] + pr.beta) * rows.inv[k];
          run += v;
          ph[k] = static_cast<T>(v);
          cm[k] = static_cast<T>(run);
        }
        mass[q] = static_cast<T>(run);
      }
    });
  }
};

// A document in fold-in: its topic counts, the list of its non-zero topics (with positions, for
// O(1) removal) and, by position, the counts as T (the document bucket's weights).
template <class T>
struct FoldDoc {
  std::vector<int32_t> nd, nz, pos;
  std::vector<T> cnt, cum;
  int32_t n_nz = 0;
  explicit FoldDoc(int32_t K) : nd(K, 0), nz(K), pos(K), cnt(K), cum(K) {}
  void load(const int32_t* topics, int64_t p0, int64_t p1) {
    for (int64_t i = p0; i < p1; ++i) {
      const int32_t k = topics[i];
      if (nd[k]++ == 0) {
        pos[k] = n_nz;
        nz[n_nz++] = k;
      }
    }
    for (int32_t j = 0; j < n_nz; ++j) cnt[j] = static_cast<T>(nd[nz[j]]);
  }
  void clear() {
    for (int32_t j = 0; j < n_nz; ++j) nd[nz[j]] = 0;
    n_nz = 0;
  }
};

// Exact fold-in sampler: p(k) ~ n_dk phi_wk [the document bucket, summed over the document's
// non-zero topics: at most its length] + a phi_wk [the smoothing bucket: the word's prefix row].
// One 64-bit draw per token (keyed by the document's sweep key and the token): its high 24 bits
// pick the bucket (and the document's topic), its low 24 bits the smoothing topic.
template <class T>
struct FoldSampler {
  const int32_t* slots;  // the slot of each token's word
  int32_t* topics;
  int32_t K;
  T alpha;
  const FoldTables<T>& tab;

  struct Lane {
    FoldDoc<T>* ds = nullptr;
    int64_t p0 = 0, i = 0, hi = 0;
    uint64_t dkey = 0;
  };

  inline void begin(Lane& L, FoldDoc<T>* ds, int64_t p0, int64_t lo, int64_t hi, uint64_t dkey) const {
    L.ds = ds;
    L.p0 = p0;
    L.i = lo;
    L.hi = hi;
    L.dkey = dkey;
  }

  struct Tok {
    uint64_t r;
    int64_t slot;
    int32_t t;
  };

  // Phase 1: the token's draw; its old topic out of the document's counts.
  inline void remove(Lane& L, Tok& x) const {
    FoldDoc<T>& ds = *L.ds;
    const int64_t i = L.i;
    x.r = mix64(L.dkey ^ (static_cast<uint64_t>(i - L.p0) * 0xA0761D6478BD642FULL));
    x.slot = slots[i];
    const int32_t s = topics[i];
    if (--ds.nd[s] == 0) {
      const int32_t p = ds.pos[s], last = ds.nz[--ds.n_nz];
      ds.nz[p] = last;
      ds.pos[last] = p;
      ds.cnt[p] = ds.cnt[ds.n_nz];
    } else {
      ds.cnt[ds.pos[s]] -= T(1);
    }
  }

  // Phase 2: both buckets' picks, and the choice between them.
  inline void draw(Lane& L, Tok& x) const {
    FoldDoc<T>& ds = *L.ds;
    const T* ph = tab.phi.data() + x.slot * K;
    const int32_t n_nz = ds.n_nz;
    const int32_t* nz = ds.nz.data();
    const T* cnt = ds.cnt.data();
    T* c = ds.cum.data();
    T z = 0;
    for (int32_t q = 0; q < n_nz; ++q) {
      z += cnt[q] * ph[nz[q]];
      c[q] = z;
    }
    const T m = tab.mass[x.slot];
    const T u = unit24<T>(x.r >> 40) * (z + alpha * m);
    // the entries whose prefix stays <= u, the last one excluded (it takes what is left)
    int32_t j = 0;
    for (int32_t q = 0; q + 1 < n_nz; ++q) j += c[q] <= u;
    // a branch, not a select of both picks: searching the smoothing row for every token cost
    // more than the mispredictions (0.105 s against 0.094 s on the 5,000 short documents)
    x.t = u < z ? nz[j] : upper_index(tab.cum.data() + x.slot * K, K, unit24<T>(x.r) * m);
  }

  // Phase 3: the new topic into the document's counts; the lane advances.
  inline void finish(Lane& L, const Tok& x) const {
    FoldDoc<T>& ds = *L.ds;
    const int32_t t = x.t;
    topics[L.i] = t;
    if (ds.nd[t]++ == 0) {
      ds.pos[t] = ds.n_nz;
      ds.cnt[ds.n_nz] = T(1);
      ds.nz[ds.n_nz++] = t;
    } else {
      ds.cnt[ds.pos[t]] += T(1);
    }
    ++L.i;
  }

  inline void step(Lane& L) const {
    Tok x;
    remove(L, x);
    draw(L, x);
    finish(L, x);
  }

  // One token of each of N lanes, phase by phase (the lanes' documents are independent).
  template <int N>
  inline void step_n(Lane* lanes) const {
    Tok x[N];
    for (int l = 0; l < N; ++l) remove(lanes[l], x[l]);
    for (int l = 0; l < N; ++l) draw(lanes[l], x[l]);
    for (int l = 0; l < N; ++l) finish(lanes[l], x[l]);
  }
};


// ---- fold-in by Metropolis-Hastings ------------------------------------------------------------
inline float as_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// One bucket of a word's alias table over all K topics: keep the bucket's own topic when the
// draw's 32-bit fraction is below `keep`, else take `alias`.
struct FoldAlias {
  uint16_t keep;   // 16-bit threshold: a bucket's split is off by at most 2^-16 of a bucket
  uint16_t alias;  // (so K <= 65536 here; larger K folds in with the exact sampler)
};
// the vector path reads an entry as one 32-bit word: keep in the low half (little-endian x86)
static_assert(sizeof(FoldAlias) == 4);

// What the Metropolis-Hastings fold-in needs of the fixed model, for the words of its documents
// (slot s = the s-th present word by id): phi_wk = (n_wk + b) / (n_k + V b) for every topic (the
// doc proposal's acceptance) and a Vose alias table over the same row (the word proposal, O(1)).
template <class T>
struct FoldMHTables {
  std::vector<int32_t> slot;  // V entries: the word's slot, -1 where absent
  RawArray<T> phi;
  RawArray<FoldAlias> alias;

  void build(const int32_t* word_topic, int64_t V, int32_t K, const int64_t* topic_totals,
             const Priors& pr, const uint8_t* present, int n_threads) {
    const FoldRows rows(V, K, topic_totals, pr, present);
    slot = rows.slot;
    const int64_t n = static_cast<int64_t>(rows.word_of.size());
    phi.resize(n * K);
    alias.resize(n * K);
    parallel_for(n_threads, n, 256, [&](int64_t b, int64_t e) {
      std::vector<double> scaled(K);
      std::vector<int32_t> small(K), large(K);
      for (int64_t q = b; q < e; ++q) {
        const int32_t* row = word_topic + rows.word_of[q] * K;
        T* ph = phi.data() + q * K;
        FoldAlias* al = alias.data() + q * K;
        double mass = 0;
        for (int32_t k = 0; k < K; ++k) {
          const double v = (row[k] + pr.beta) * rows.inv[k];
          ph[k] = static_cast<T>(v);
          scaled[k] = v;
          mass += v;
        }
        // Vose: buckets below the mean are topped up by one above it
        const double to_unit = static_cast<double>(K) / mass;
        int32_t ns = 0, nl = 0;
        for (int32_t k = 0; k < K; ++k) {
          scaled[k] *= to_unit;
          if (scaled[k] < 1.0) small[ns++] = k;
          else large[nl++] = k;
        }
        while (ns > 0 && nl > 0) {
          const int32_t s = small[--ns], l = large[nl - 1];
          al[s].keep = static_cast<uint16_t>(std::clamp(scaled[s] * 65536.0, 0.0, 65535.0));
          al[s].alias = static_cast<uint16_t>(l);
          scaled[l] -= 1.0 - scaled[s];
          if (scaled[l] < 1.0) {
            --nl;
            small[ns++] = l;
          }
        }
        // what is left holds (up to rounding) a whole bucket: kept always
        for (int32_t j = 0; j < nl; ++j)
          al[large[j]] = FoldAlias{0xFFFF, static_cast<uint16_t>(large[j])};
        for (int32_t j = 0; j < ns; ++j)
          al[small[j]] = FoldAlias{0xFFFF, static_cast<uint16_t>(small[j])};
      }
    });
  }
};

// A document in Metropolis-Hastings fold-in: its topic counts only.
struct FoldMHDoc {
  std::vector<float> nd;  // counts as floats: no int-to-float conversion per read
  const int32_t* topics = nullptr;
  int64_t p0 = 0, p1 = 0;
  explicit FoldMHDoc(int32_t K) : nd(K, 0) {}
  void load(const int32_t* t, int64_t b, int64_t e) {
    topics = t;
    p0 = b;
    p1 = e;
    for (int64_t i = b; i < e; ++i) nd[t[i]] += 1.0f;
  }
  void clear() {
    for (int64_t i = p0; i < p1; ++i) nd[topics[i]] = 0.0f;
  }
};

// Metropolis-Hastings fold-in against a fixed model (target p(k) ~ (n_dk + a) phi_wk, n_d
// without the token): each of `pairs` steps is a word proposal q(k) ~ phi_wk from the word's
// alias table (accepted with (n_dt + a) / (n_ds + a)) followed by a doc proposal
// q(k) ~ n_dk + a (the topic of a random other token of the document, or a uniform topic;
// accepted with phi_wt / phi_ws). Neither proposal depends on the current state, so each step
// leaves the target invariant. O(1) per step, whatever K and the document's
// length. Two 64-bit draws per step, keyed by the document's sweep key, the token and the step.
template <class T>
struct FoldMHSampler {
  const int32_t* slots;
  int32_t* topics;
  int32_t K;
  T alpha, inv_alpha, k_alpha;
  int pairs;
  const FoldMHTables<T>& tab;

  struct Lane {
    FoldMHDoc* ds = nullptr;
    int64_t p0 = 0, i = 0, hi = 0;
    uint64_t dkey = 0;
    T len = 0, doc_mass = 0;
  };

  inline void begin(Lane& L, FoldMHDoc* ds, int64_t p0, int64_t lo, int64_t hi,
                    uint64_t dkey) const {
    L.ds = ds;
    L.p0 = p0;
    L.i = lo;
    L.hi = hi;
    L.dkey = dkey;
    L.len = static_cast<T>(ds->p1 - ds->p0 - 1);  // the document's other tokens
    L.doc_mass = L.len + k_alpha;
  }

  struct Tok {
    uint64_t key;
    int64_t slot;
    int32_t s0, s;
  };

  inline void remove(Lane& L, Tok& x) const {
    const int64_t i = L.i;
    x.key = mix64(L.dkey ^ (static_cast<uint64_t>(i - L.p0) * 0xA0761D6478BD642FULL));
    x.slot = slots[i];
    x.s0 = x.s = topics[i];
    L.ds->nd[x.s0] -= 1.0f;
  }

  // b ? x : y without a branch: every choice here is a coin flip that a branch would mispredict,
  // and a misprediction also throws away the other lanes' work in flight
  static inline int32_t pick_if(bool b, int32_t x, int32_t y) {
    const int32_t m = -static_cast<int32_t>(b);
    return (x & m) | (y & ~m);
  }

  // uniform in [0, 1) from the top 23 bits of r, by the exponent trick (no int-to-float
  // conversion, whose false dependency on its destination register chains the lanes)
  static inline float unit_hi(uint64_t r) {
    return as_float(0x3F800000u | static_cast<uint32_t>(r >> 41)) - 1.0f;
  }

  inline void step_pair(Lane& L, Tok& x, int m) const {
    const float* nd = L.ds->nd.data();
    const T* ph = tab.phi.data() + x.slot * K;
    const FoldAlias* al = tab.alias.data() + x.slot * K;
    // the token's key is itself a mix64 output: the first step's first draw
    const uint64_t r1 =
        m == 0 ? x.key : mix64(x.key + static_cast<uint64_t>(2 * m + 1) * 0x9E3779B97F4A7C15ULL);
    const uint64_t r2 = mix64(x.key + static_cast<uint64_t>(2 * m + 2) * 0x9E3779B97F4A7C15ULL);
    const float a_ = static_cast<float>(alpha);
    int32_t s = x.s;
    // word proposal: bucket and fraction from the low 32 bits, acceptance from the high 23
    const uint64_t pick = (r1 & 0xFFFFFFFFu) * static_cast<uint64_t>(K);
    const int32_t j = static_cast<int32_t>(pick >> 32);
    const FoldAlias a = al[j];
    int32_t t = pick_if((static_cast<uint32_t>(pick) >> 16) < a.keep, j, a.alias);
    s = pick_if(unit_hi(r1) * (nd[s] + a_) < nd[t] + a_, t, s);
    // doc proposal q(k) ~ n_dk + a over the document's other tokens (the token itself left
    // out, so that the proposal does not depend on the token's old topic: with it in, the
    // chain's law drifted from the target), accepted with phi_wt / phi_ws
    const float ud = unit_hi(r2) * static_cast<float>(L.doc_mass);
    const float others = static_cast<float>(L.len);
    const int64_t n = L.ds->p1 - L.p0, own = L.i - L.p0;
    int64_t pos = static_cast<int64_t>(ud);
    pos = pos < n - 2 ? pos : n - 2;
    pos = pos > 0 ? pos : 0;
    pos += pos >= own;
    pos = pos < n - 1 ? pos : n - 1;  // one-token documents: never used (the uniform part)
    const int32_t from_doc = topics[L.p0 + pos];
    int32_t uni = static_cast<int32_t>((ud - others) * static_cast<float>(inv_alpha));
    uni = uni < K - 1 ? uni : K - 1;
    uni = uni > 0 ? uni : 0;
    t = pick_if(ud < others, from_doc, uni);
    const float u2 = as_float(0x3F800000u | static_cast<uint32_t>(r2 & 0x7FFFFF)) - 1.0f;
    x.s = pick_if(u2 * static_cast<float>(ph[s]) < static_cast<float>(ph[t]), t, s);
  }

  inline void finish(Lane& L, const Tok& x) const {
    topics[L.i] = x.s;
    L.ds->nd[x.s] += 1.0f;
    ++L.i;
  }

  inline void step(Lane& L) const {
    Tok x;
    remove(L, x);
    for (int m = 0; m < pairs; ++m) step_pair(L, x, m);
    finish(L, x);
  }

  template <int N>
  inline void step_n(Lane* lanes) const {
    Tok x[N];
    for (int l = 0; l < N; ++l) remove(lanes[l], x[l]);
    for (int m = 0; m < pairs; ++m)
      for (int l = 0; l < N; ++l) step_pair(lanes[l], x[l], m);
    for (int l = 0; l < N; ++l) finish(lanes[l], x[l]);
  }
};

}  // namespace

template <class T>
int64_t sample_block(const int64_t* doc_ptr, const int32_t* words, int32_t* topics, int64_t n_docs,
                     int64_t first_doc_id, int32_t* word_topic, int64_t word_begin,
                     int64_t word_end, int64_t* topic_totals, int32_t n_topics,
                     const Priors& priors, uint64_t seed, int64_t iteration, int mh_steps,
                     int n_threads, double time_limit_s, int64_t doc_offset) {
  using clock = std::chrono::steady_clock;
  const auto t_begin = clock::now();
  const bool bounded = time_limit_s > 0 && std::isfinite(time_limit_s);
  const auto deadline =
      t_begin + std::chrono::duration_cast<clock::duration>(
                    std::chrono::duration<double>(bounded ? time_limit_s : 0.0));
  const int32_t K = n_topics;
  const int64_t n_rows = word_end - word_begin;
  if (n_docs <= 0 || n_rows <= 0 || K <= 0) return 0;
  const int nt = static_cast<int>(std::min<int64_t>(resolve_threads(n_threads), std::max<int64_t>(1, n_docs)));
  const T alpha = static_cast<T>(priors.alpha), beta = static_cast<T>(priors.beta);
  const T vbeta = static_cast<T>(priors.beta * static_cast<double>(priors.n_words_total));

  // The smoothing bucket comes from tables up to one sweep old. Its expected share of the mass
  // is K a / (n_d + K a): where it is large (many topics, short documents) the stale draw is
  // corrected by a Metropolis-Hastings step (exact conditional); where it is small (K = 100,
  // 200-token documents: 5%) the correction is not worth its cost.
  const double mean_len = static_cast<double>(doc_ptr[n_docs] - doc_ptr[0]) / static_cast<double>(n_docs);
  const double smooth_share = priors.alpha * K / (mean_len + priors.alpha * K);
  const bool correct_stale = smooth_share > 0.1;
  // Rows the sampler prefetches whole (K <= 256) keep a dense copy of the stale weights for the
  // correction: one load each for the old and the new topic instead of a binary search.
  const bool dense_stale =
      correct_stale && mh_steps == 0 &&
      static_cast<int64_t>(K) * 4 <= SparseSampler<T, true>::pf_row_limit;
  WordProposals<T> prop;
  prop.build(word_topic, n_rows, K, topic_totals, priors, nt, dense_stale);

  // documents split by tokens, the slice split by this block's tokens per word
  std::vector<int64_t> doc_bounds = balanced_bounds(doc_ptr, n_docs, nt);
  std::vector<int64_t> word_bounds(nt + 1, 0);
  word_bounds[nt] = n_rows;
  if (nt > 1) {
    // tokens per word of the slice, counted by the threads over their document blocks
    std::vector<int64_t> counts(static_cast<size_t>(nt) * n_rows, 0);
    parallel_for(nt, nt, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        int64_t* c = counts.data() + t * n_rows;
        for (int64_t i = doc_ptr[doc_bounds[t]]; i < doc_ptr[doc_bounds[t + 1]]; ++i) {
          const int64_t r = words[i] - word_begin;
          if (r >= 0 && r < n_rows) ++c[r];
        }
      }
    });
    // Sub-slices of about equal cost: a word's tokens here plus kRowCostPerTopic K for every
    // word with any (lda.hpp; the rule of the slices between ranks).
    const int64_t row_cost = static_cast<int64_t>(std::llround(kRowCostPerTopic * K));
    std::vector<int64_t> cum(n_rows + 1, 0);
    for (int64_t r = 0; r < n_rows; ++r) {
      int64_t c = 0;
      for (int t = 0; t < nt; ++t) c += counts[static_cast<size_t>(t) * n_rows + r];
      cum[r + 1] = cum[r] + c + (c > 0 ? row_cost : 0);
    }
    word_bounds = balanced_bounds(cum.data(), n_rows, nt);
  }

  // Documents sampled side by side by one thread (lanes, see SparseSampler): two where a word
  // row is prefetched whole, one where only the document's topics of it are (large K).
  const int n_lanes = mh_steps == 0 ? SparseSampler<T, true>::lanes_for(K) : 1;
  std::vector<std::vector<DocState<T>>> states(nt, std::vector<DocState<T>>(n_lanes, DocState<T>(K)));
  std::vector<std::vector<T>> invs(nt, std::vector<T>(K));
  std::vector<int64_t> sampled(nt, 0);
  std::atomic<bool> expired{false};
  std::vector<int64_t> nk_local(static_cast<size_t>(nt) * K);
  std::vector<int64_t> round_start(K);
  // With several rounds, a document's counts are kept between them as its (topic, count) pairs
  // (at most min(length, K) of them), so a later round restores O(topics of the document)
  // instead of reloading O(tokens of the document): each round visits every document of the
  // block, so reloads cost every thread all of its block's tokens per round, a term that does
  // not shrink with the thread count (docs/lda.md, "Threads"). Off where the pairs would take
  // more than kKeepBytes.
  std::vector<int64_t> keep_ptr;
  std::vector<int32_t> keep_pairs, keep_n;
  if (nt > 1 && mh_steps == 0) {
    keep_ptr.assign(static_cast<size_t>(n_docs) + 1, 0);
    for (int64_t d = 0; d < n_docs; ++d)
      keep_ptr[d + 1] = keep_ptr[d] + 2 * std::min<int64_t>(doc_ptr[d + 1] - doc_ptr[d], K);
    if (static_cast<double>(keep_ptr[n_docs]) * sizeof(int32_t) <= kKeepBytes) {
      keep_pairs.resize(static_cast<size_t>(keep_ptr[n_docs]));
      keep_n.assign(static_cast<size_t>(n_docs), -1);  // -1: not kept yet (load from tokens)
    } else {
      keep_ptr.clear();
    }
  }
  const bool keep = !keep_n.empty();

#ifdef HARPDAAL_LDA_ROUND_TIMES
  // seconds and tokens of each (round, thread), reported after the last round
  const double setup_s = std::chrono::duration<double>(clock::now() - t_begin).count();
  std::vector<double> round_s(static_cast<size_t>(nt) * nt, 0.0);
  std::vector<int64_t> round_n(static_cast<size_t>(nt) * nt, 0);
#endif
  auto work = [&](int t, int round) {
    int64_t* nk = nk_local.data() + static_cast<size_t>(t) * K;
    std::copy(round_start.begin(), round_start.end(), nk);
    int sub = (t + round) % nt;
    int32_t wlo = static_cast<int32_t>(word_begin + word_bounds[sub]);
    int32_t whi = static_cast<int32_t>(word_begin + word_bounds[sub + 1]);
    if (wlo >= whi) return;
    const int64_t b0 = doc_bounds[t], nb = doc_bounds[t + 1] - b0;
    const int64_t start = nb > 0 ? ((doc_offset % nb) + nb) % nb : 0;
    int64_t q = 0;
    // The next document of the block with tokens in the sub-slice: its token range [lo, hi) and
    // token start p0; false when the block is done or the time budget is spent.
    auto next_doc = [&](int64_t& d, int64_t& p0, int64_t& lo, int64_t& hi) -> bool {
      for (; q < nb; ++q) {
        if (bounded) {
          if (expired.load(std::memory_order_relaxed)) break;
          if (clock::now() >= deadline) {
            expired.store(true, std::memory_order_relaxed);
            break;
          }
        }
        d = b0 + (start + q < nb ? start + q : start + q - nb);
        p0 = doc_ptr[d];
        const int32_t* wb = words + p0;
        const int32_t* we = words + doc_ptr[d + 1];
        lo = std::lower_bound(wb, we, wlo) - words;
        hi = std::lower_bound(words + lo, we, whi) - words;
        if (lo >= hi) continue;
        sampled[t] += hi - lo;
        ++q;
        return true;
      }
      q = nb;
      return false;
    };
    int64_t d = 0, p0 = 0, lo = 0, hi = 0;
    if (mh_steps != 0) {
      DocState<T>& ds = states[t][0];
      while (next_doc(d, p0, lo, hi)) {
        const int64_t p1 = doc_ptr[d + 1];
        for (int64_t i = p0; i < p1; ++i) ++ds.nd[topics[i]];
        sample_tokens<T>(words, topics, p0, p1, lo, hi, doc_key(seed, iteration, first_doc_id + d),
                          ds.nd.data(), word_topic, word_begin, nk, K, alpha, beta, vbeta,
                          prop, mh_steps);
        for (int64_t i = p0; i < p1; ++i) ds.nd[topics[i]] = 0;
      }
      return;
    }
    T* inv = invs[t].data();
    set_inv(inv, nk, K, vbeta);
    using Sampler = SparseSampler<T, true>;
    const Sampler S{words, topics, word_topic, word_begin, nk, inv, K, alpha, beta, vbeta, prop,
                    correct_stale};
    typename Sampler::Lane lanes[kMaxLanes];
    int64_t lane_doc[kMaxLanes] = {};
    const bool save = keep && round + 1 < nt;  // the last round's counts are not needed again
    auto refill = [&](int l) -> bool {
      if (!next_doc(d, p0, lo, hi)) return false;
      DocState<T>& ds = states[t][l];
      if (keep && keep_n[d] >= 0) {
        ds.restore(keep_pairs.data() + keep_ptr[d], keep_n[d], inv);
#ifdef HARPDAAL_CHECKS
        std::vector<int32_t> recount(static_cast<size_t>(K), 0);
        for (int64_t i = p0; i < doc_ptr[d + 1]; ++i) ++recount[topics[i]];
        int32_t nonzero = 0;
        for (int32_t k = 0; k < K; ++k) {
          nonzero += recount[k] != 0;
          if (recount[k] != ds.nd[k] || (recount[k] != 0 && ds.nz[ds.pos[k]] != k))
            throw std::logic_error("lda: kept document counts differ from the tokens' topics");
        }
        if (nonzero != ds.n_nz)
          throw std::logic_error("lda: kept document topic list differs from the tokens' topics");
#endif
      } else {
        ds.load(topics, p0, doc_ptr[d + 1], inv);
      }
      lane_doc[l] = d;
      S.begin(lanes[l], &ds, p0, lo, hi, doc_key(seed, iteration, first_doc_id + d));
      return true;
    };
    int active = 0;
    for (int l = 0; l < n_lanes; ++l) active += refill(l);
    // a lane whose document is done takes the next one, or goes idle
    auto next_if_done = [&](int l) {
      if (lanes[l].i < lanes[l].hi) return;
      if (save) {
        const int64_t dl = lane_doc[l];
        lanes[l].ds->save(keep_pairs.data() + keep_ptr[dl]);
        keep_n[dl] = lanes[l].ds->n_nz;
      }
      lanes[l].ds->clear();
      if (!refill(l)) --active;
    };
    while (active > 0) {
      if (n_lanes == 2 && lanes[0].i < lanes[0].hi && lanes[1].i < lanes[1].hi) {
        S.template step_n<2>(lanes);
        next_if_done(0);
        next_if_done(1);
        continue;
      }
      // one lane left (or one lane per thread): token by token
      for (int l = 0; l < n_lanes; ++l) {
        if (lanes[l].i >= lanes[l].hi) continue;
        S.step(lanes[l]);
        next_if_done(l);
      }
    }
  };

  oneapi::tbb::task_arena arena(nt);
  // one thread's block of a round (timed in HARPDAAL_LDA_ROUND_TIMES builds)
  auto block = [&](int t, int round) {
#ifdef HARPDAAL_LDA_ROUND_TIMES
    const auto w0 = clock::now();
    const int64_t n0 = sampled[t];
    work(t, round);
    round_s[static_cast<size_t>(round) * nt + t] =
        std::chrono::duration<double>(clock::now() - w0).count();
    round_n[static_cast<size_t>(round) * nt + t] = sampled[t] - n0;
#else
    work(t, round);
#endif
  };
  for (int round = 0; round < nt; ++round) {
    std::copy(topic_totals, topic_totals + K, round_start.begin());
    if (nt == 1) {
      block(0, round);
    } else {
      arena.execute([&] {
        oneapi::tbb::parallel_for(0, nt, 1, [&](int t) { block(t, round); },
                                  oneapi::tbb::simple_partitioner());
      });
    }
    for (int t = 0; t < nt; ++t) {
      const int64_t* nk = nk_local.data() + static_cast<size_t>(t) * K;
      for (int32_t k = 0; k < K; ++k) topic_totals[k] += nk[k] - round_start[k];
    }
  }
  int64_t total = 0;
  for (int64_t n : sampled) total += n;
#ifdef HARPDAAL_LDA_ROUND_TIMES
  {
    // wall: the whole call; rounds: its rounds; slowest: the sum over rounds of the slowest
    // thread's time (what the barriers make the rounds take); busy: the mean over threads of
    // their summed round times; tokens_slowest: the sum over rounds of the most tokens a thread
    // sampled (balance by tokens)
    double slowest = 0, busy = 0;
    int64_t most = 0;
    for (int r = 0; r < nt; ++r) {
      double m = 0;
      int64_t mn = 0;
      for (int t = 0; t < nt; ++t) {
        m = std::max(m, round_s[static_cast<size_t>(r) * nt + t]);
        mn = std::max(mn, round_n[static_cast<size_t>(r) * nt + t]);
        busy += round_s[static_cast<size_t>(r) * nt + t];
      }
      slowest += m;
      most += mn;
    }
    const double wall = std::chrono::duration<double>(clock::now() - t_begin).count();
    std::fprintf(stderr,
                 "lda-rounds threads=%d K=%d tokens=%lld wall=%.4f setup=%.4f rounds=%.4f "
                 "slowest=%.4f busy=%.4f tokens_slowest=%lld tokens_mean=%lld\n",
                 nt, static_cast<int>(K), static_cast<long long>(total), wall, setup_s,
                 wall - setup_s, slowest, busy / nt, static_cast<long long>(most),
                 static_cast<long long>(total / nt));
  }
#endif
  return total;
}

namespace {
// Samples the documents [b, e) for n_sweeps sweeps each with sampler S, L documents side by side
// (a token of each in turn, step_n) so that the core overlaps their chains: each token depends
// on the one before it in its own document. The draws of a document depend only on (seed, sweep,
// first_doc_id + d, token), not on its lane. doc_topic (may be null) receives each document's
// counts after every sweep from burn_in on.
template <int L, class Sampler, class Doc, class T>
void fold_in_lanes(const Sampler& S, std::vector<Doc>& states, const int64_t* doc_ptr,
                   int32_t* topics, int64_t b, int64_t e, int64_t first_doc_id, uint64_t seed,
                   int n_sweeps, int burn_in, T* doc_topic, int32_t K) {
  typename Sampler::Lane lanes[L];
  int64_t lane_doc[L];
  int lane_sweep[L];
  for (int l = 0; l < L; ++l) lanes[l].ds = &states[l];
  int64_t next = b;
  auto refill = [&](int l) -> bool {
    for (; next < e; ++next) {
      const int64_t p0 = doc_ptr[next], p1 = doc_ptr[next + 1];
      if (p0 == p1) continue;
      lanes[l].ds->load(topics, p0, p1);
      lane_doc[l] = next;
      lane_sweep[l] = 0;
      S.begin(lanes[l], lanes[l].ds, p0, p0, p1, doc_key(seed, 0, first_doc_id + next));
      ++next;
      return true;
    }
    return false;
  };
  // true while lane l has a token to sample: at the end of a sweep its counts are kept and it
  // starts the next sweep, or the next document
  auto ready = [&](int l) -> bool {
    if (lanes[l].i < lanes[l].hi) return true;
    const int64_t d = lane_doc[l], p0 = doc_ptr[d], p1 = doc_ptr[d + 1];
    if (doc_topic && lane_sweep[l] >= burn_in) {
      T* out = doc_topic + d * K;
      if (fold_counts_by_row(p1 - p0, K)) {
        const auto& nd = lanes[l].ds->nd;
        for (int32_t k = 0; k < K; ++k) out[k] += static_cast<T>(nd[k]);
      } else {
        for (int64_t i = p0; i < p1; ++i) out[topics[i]] += T(1);
      }
    }
    if (++lane_sweep[l] < n_sweeps) {
      S.begin(lanes[l], lanes[l].ds, p0, p0, p1, doc_key(seed, lane_sweep[l], first_doc_id + d));
      return true;
    }
    lanes[l].ds->clear();
    return refill(l);
  };
  int active = 0;
  while (active < L && refill(active)) ++active;
  // whole rounds while every lane has a document
  while (active == L) {
    S.template step_n<L>(lanes);
    int alive = 0;
    for (int l = 0; l < L; ++l) {
      if (!ready(l)) continue;
      if constexpr (L > 1) {
        if (alive != l) {
          std::swap(lanes[alive], lanes[l]);
          std::swap(lane_doc[alive], lane_doc[l]);
          std::swap(lane_sweep[alive], lane_sweep[l]);
        }
      }
      ++alive;
    }
    active = alive;
  }
  // the last documents, one lane at a time
  for (int l = 0; l < active; ++l) {
    do {
      S.step(lanes[l]);
    } while (ready(l));
  }
}
}  // namespace

template <class T>
void fold_in(const int64_t* doc_ptr, const int32_t* words, int32_t* topics, int64_t n_docs,
             int64_t first_doc_id, const int32_t* word_topic, const int64_t* topic_totals,
             int32_t n_topics, const Priors& priors, uint64_t seed, int n_sweeps, int burn_in,
             int mh_steps, T* doc_topic, int n_threads) {
  const int32_t K = n_topics;
  const int64_t V = priors.n_words_total;
  if (n_docs <= 0 || K <= 0 || V <= 0) return;
  const T alpha = static_cast<T>(priors.alpha);
  // Tables for the words of these documents only: building them for the whole vocabulary cost
  // as much as several sweeps of a batch of short documents.
  std::vector<uint8_t> present(static_cast<size_t>(V), 0);
  for (int64_t i = doc_ptr[0]; i < doc_ptr[n_docs]; ++i) present[words[i]] = 1;
  FoldTables<T> tab;
  FoldMHTables<T> mh_tab;
  const std::vector<int32_t>* slot_of = &tab.slot;
  if (K > 65536) mh_steps = 0;  // the alias tables hold 16-bit topic ids
  if (mh_steps == 0) {
    tab.build(word_topic, V, K, topic_totals, priors, present.data(), n_threads);
  } else {
    mh_tab.build(word_topic, V, K, topic_totals, priors, present.data(), n_threads);
    slot_of = &mh_tab.slot;
  }
  std::vector<int32_t> slots(static_cast<size_t>(doc_ptr[n_docs]), 0);  // indexed like words
  for (int64_t i = doc_ptr[0]; i < doc_ptr[n_docs]; ++i) slots[i] = (*slot_of)[words[i]];
  // AVX-512: 16 documents per thread in vector lanes (float; token offsets and table indices
  // below 2^31)
  FoldMHDocsFn vec_mh = nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (mh_steps != 0 && static_cast<int64_t>(V) * K < (int64_t(1) << 31) &&
        doc_ptr[n_docs] - doc_ptr[0] < (int64_t(1) << 31))
      vec_mh = dispatch<FoldMHDocsFn>(nullptr, nullptr, nullptr, &avx512::fold_mh_docs);
  }
  const int nt = resolve_threads(n_threads);
  oneapi::tbb::task_arena arena(nt);
  if (vec_mh) {
    // The lanes of a vector run until its longest document is done, so the documents go in
    // longest first and in chunks of 64: each chunk's lengths are alike and lanes seldom idle
    // (simulated on 20news test: 99% of lane steps useful, against 58% for chunks in corpus
    // order). The order changes no bits: each document's chain is its own.
    std::vector<int64_t> order(static_cast<size_t>(n_docs));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const int64_t la = doc_ptr[a + 1] - doc_ptr[a], lb = doc_ptr[b + 1] - doc_ptr[b];
      return la != lb ? la > lb : a < b;
    });
    arena.execute([&] {
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<int64_t>(0, n_docs, 64),
          [&](const oneapi::tbb::blocked_range<int64_t>& r) {
            std::vector<float> nd(static_cast<size_t>(16) * K, 0.0f);
            const FoldMHArgs args{doc_ptr, topics, slots.data(),
                                  reinterpret_cast<const float*>(mh_tab.phi.data()),
                                  reinterpret_cast<const uint32_t*>(mh_tab.alias.data()),
                                  nd.data(), K, static_cast<float>(alpha),
                                  static_cast<float>(T(1) / alpha),
                                  static_cast<float>(alpha * static_cast<T>(K)), mh_steps, seed,
                                  first_doc_id, n_sweeps, burn_in,
                                  reinterpret_cast<float*>(doc_topic)};
            vec_mh(args, order.data() + r.begin(), static_cast<int64_t>(r.size()));
          },
          oneapi::tbb::simple_partitioner());
    });
    return;
  }
  arena.execute([&] {
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<int64_t>(0, n_docs, 16),
        [&](const oneapi::tbb::blocked_range<int64_t>& r) {
          constexpr int L = kFoldLanes;
          if (mh_steps == 0) {
            const FoldSampler<T> S{slots.data(), topics, K, alpha, tab};
            std::vector<FoldDoc<T>> states(L, FoldDoc<T>(K));
            fold_in_lanes<L>(S, states, doc_ptr, topics, r.begin(), r.end(), first_doc_id, seed,
                             n_sweeps, burn_in, doc_topic, K);
          } else {
            const FoldMHSampler<T> S{slots.data(), topics, K, alpha, T(1) / alpha,
                                     alpha * static_cast<T>(K), mh_steps, mh_tab};
            std::vector<FoldMHDoc> states(kFoldMHLanes, FoldMHDoc(K));
            fold_in_lanes<kFoldMHLanes>(S, states, doc_ptr, topics, r.begin(), r.end(),
                                        first_doc_id, seed, n_sweeps, burn_in, doc_topic, K);
          }
        });
  });
}

namespace {
// Fixed chunks summed in order: the result does not depend on the thread count.
template <class Fn>
double chunked_sum(int n_threads, int64_t n, Fn&& partial) {
  const int64_t n_chunks = std::min<int64_t>(n, 256);
  if (n_chunks <= 0) return 0.0;
  std::vector<double> parts(n_chunks, 0.0);
  parallel_for(n_threads, n_chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) parts[c] = partial(n * c / n_chunks, n * (c + 1) / n_chunks);
  });
  double s = 0;
  for (double p : parts) s += p;
  return s;
}
}  // namespace

double doc_log_likelihood(const int64_t* doc_ptr, const int32_t* topics, int64_t n_docs,
                          int32_t n_topics, double alpha, int n_threads) {
  const int32_t K = n_topics;
  const double lg_a = std::lgamma(alpha), lg_ka = std::lgamma(K * alpha);
  return chunked_sum(n_threads, n_docs, [&](int64_t b, int64_t e) {
    std::vector<int32_t> nd(K, 0);
    double s = 0;
    for (int64_t d = b; d < e; ++d) {
      const int64_t p0 = doc_ptr[d], p1 = doc_ptr[d + 1];
      for (int64_t i = p0; i < p1; ++i) ++nd[topics[i]];
      for (int64_t i = p0; i < p1; ++i) {
        int32_t k = topics[i];
        if (nd[k] > 0) {
          s += std::lgamma(nd[k] + alpha) - lg_a;
          nd[k] = 0;
        }
      }
      s += lg_ka - std::lgamma(static_cast<double>(p1 - p0) + K * alpha);
    }
    return s;
  });
}

double word_log_likelihood(const int32_t* word_topic, int64_t n_rows, int32_t n_topics,
                           double beta, int n_threads) {
  const int32_t K = n_topics;
  const double lg_b = std::lgamma(beta);
  constexpr int kTable = 512;
  std::vector<double> table(kTable);
  for (int n = 0; n < kTable; ++n) table[n] = std::lgamma(n + beta) - lg_b;
  return chunked_sum(n_threads, n_rows, [&](int64_t b, int64_t e) {
    double s = 0;
    for (int64_t r = b; r < e; ++r) {
      const int32_t* row = word_topic + r * K;
      for (int32_t k = 0; k < K; ++k) {
        int32_t n = row[k];
        if (n <= 0) continue;
        s += n < kTable ? table[n] : std::lgamma(n + beta) - lg_b;
      }
    }
    return s;
  });
}

void accumulate_counts(const int32_t* words, const int32_t* topics, int64_t n_tokens,
                       int32_t* word_topic, int64_t word_begin, int64_t word_end,
                       int64_t* topic_totals, int32_t n_topics) {
  for (int64_t i = 0; i < n_tokens; ++i) {
    int64_t w = words[i];
    if (w < word_begin || w >= word_end) continue;
    ++word_topic[(w - word_begin) * n_topics + topics[i]];
    ++topic_totals[topics[i]];
  }
}

#define HARPDAAL_LDA_INSTANTIATE(T)                                                              \
  template int64_t sample_block<T>(const int64_t*, const int32_t*, int32_t*, int64_t, int64_t,   \
                                   int32_t*, int64_t, int64_t, int64_t*, int32_t, const Priors&, \
                                   uint64_t, int64_t, int, int, double, int64_t);                \
  template void fold_in<T>(const int64_t*, const int32_t*, int32_t*, int64_t, int64_t,           \
                           const int32_t*, const int64_t*, int32_t, const Priors&, uint64_t, int, \
                           int, int, T*, int);
HARPDAAL_LDA_INSTANTIATE(float)
HARPDAAL_LDA_INSTANTIATE(double)
#undef HARPDAAL_LDA_INSTANTIATE

}  // namespace harpdaal::kernels::lda
