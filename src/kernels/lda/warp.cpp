#include "kernels/lda/warp.hpp"

#include <algorithm>
#include <vector>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "kernels/common/mix64.hpp"
#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::lda {

namespace {

// One stream per (phase key, token position), started by the splitmix64 hash: a token's draws do
// not depend on which thread samples it. Its draws are wyrand's step (Wang Yi; one 64 x 64 ->
// 128-bit multiply, BigCrush-clean), half the instructions of a splitmix64 draw.
struct Stream {
  uint64_t x;
  inline uint64_t next() {
    x += 0xA0761D6478BD642FULL;
    const __uint128_t t = static_cast<__uint128_t>(x) * (x ^ 0xE7037ED1A0B428DBULL);
    return static_cast<uint64_t>(t >> 64) ^ static_cast<uint64_t>(t);
  }
};

inline uint64_t phase_key(uint64_t seed, int64_t iteration, int phase, uint64_t stream) {
  return mix64(seed ^ mix64(static_cast<uint64_t>(iteration) * 4 + static_cast<uint64_t>(phase) +
                            0x5851F42D4C957F2DULL) ^
               mix64(stream * 0x8CB92BA72F3D8DD7ULL + 7));
}

inline Stream token_stream(uint64_t key, int64_t pos) {
  return Stream{mix64(key ^ (static_cast<uint64_t>(pos) * 0xA0761D6478BD642FULL))};
}

// the low 24 bits as a float in [0, 1)
inline float unit24(uint64_t r) {
  return static_cast<float>(static_cast<int32_t>(r & 0xFFFFFF)) * (1.0f / 16777216.0f);
}

// a draw's bits 32-55 as a float in [0, 1) (the second acceptance uniform of a draw)
inline float unit24_high(uint64_t r) { return unit24(r >> 32); }

// the high 32 bits scaled to [0, n)
inline uint32_t below(uint64_t r, uint32_t n) {
  return static_cast<uint32_t>(((r >> 32) * static_cast<uint64_t>(n)) >> 32);
}

// c ? a : b without a branch (the condition is a coin flip; compilers turn the ternary into a
// jump here)
inline int32_t select(bool c, int32_t a, int32_t b) {
  return b ^ ((a ^ b) & -static_cast<int32_t>(c));
}

// One token's mh_steps Metropolis-Hastings steps over its proposals `prop`, from its topic z0;
// returns the topic it ends at. The target's exact side is `counts + prior` (the document's or
// the word's row, which still holds the token at z0: the token is left out by the (k == z0)
// terms), times 1 / (n_k + V b) from the phase's fixed weights `nkv`; the proposal's own side
// cancels the target's. `g` (several ranks, document phase; else null): the word side's global /
// local ratio of z0 (g[0]) and of each proposal. The current topic's factors ride along with it,
// so a step's chain is a few multiplies, a compare and the selects: no load, no store, no
// branch. Two acceptance uniforms per draw of `rng`.
inline int32_t mh_steps_of(Stream& rng, int32_t z0, const int32_t* prop, int M,
                           const int32_t* counts, float prior, const float* nkv, const float* g) {
  int32_t z = z0;
  float cz = static_cast<float>(counts[z0] - 1) + prior, tz = nkv[z0] - 1.0f;
  float gz = g ? g[0] : 1.0f;
  uint64_t r = 0;
  for (int m = 0; m < M; ++m) {
    const int32_t k = prop[m];
    if (!(m & 1)) r = rng.next();
    const float u = m & 1 ? unit24_high(r) : unit24(r);
    const float ck = static_cast<float>(counts[k] - (k == z0)) + prior;
    const float tk = nkv[k] - static_cast<float>(k == z0);
    const float gk = g ? g[1 + m] : 1.0f;
    const bool a = u * (cz * tk * gz) < ck * tz * gk;
    z = a ? k : z;
    cz = a ? ck : cz;
    tz = a ? tk : tz;
    gz = a ? gk : gz;
  }
  return z;
}

// M proposals for the token at position `self` of a group (a document's or a word's tokens,
// whose topics are `group`): another token's topic with probability `other` = (L - 1) /
// (L - 1 + K prior), else a uniform topic, so q ~ count + prior with the token left out. One
// draw each: the low 24 bits choose the branch, the high 32 the token or the topic.
inline void draw_proposals(Stream& rng, int32_t* out, int M, const int32_t* group, int64_t self,
                           uint32_t n_other, float other, int32_t K) {
  for (int m = 0; m < M; ++m) {
    const uint64_t r = rng.next();
    int64_t j = below(r, n_other);
    j += (j >= self) & (n_other > 0);  // skip the token itself
    const int32_t from_group = group[j];
    const int32_t uniform = static_cast<int32_t>(below(r, static_cast<uint32_t>(K)));
    out[m] = select(unit24(r) < other, from_group, uniform);
  }
}

// parts + 1 bounds into [0, n) splitting the cumulative cost cum[0..n] evenly
std::vector<int64_t> even_bounds(const int64_t* cum, int64_t n, int64_t parts) {
  std::vector<int64_t> b(static_cast<size_t>(parts) + 1, 0);
  const int64_t total = cum[n] - cum[0];
  for (int64_t p = 1; p < parts; ++p) {
    const int64_t target = cum[0] + total * p / parts;
    b[p] = std::clamp<int64_t>(std::lower_bound(cum, cum + n + 1, target) - cum, b[p - 1], n);
  }
  b[parts] = n;
  return b;
}

// fn(block, slot) for every block on up to nt threads; slot in [0, nt) is the calling thread's
// (its scratch and its topic-total moves).
template <class Fn>
void for_blocks(int nt, int64_t n_blocks, Fn&& fn) {
  if (nt <= 1 || n_blocks <= 1) {
    for (int64_t b = 0; b < n_blocks; ++b) fn(b, 0);
    return;
  }
  oneapi::tbb::task_arena arena(nt);
  arena.execute([&] {
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<int64_t>(0, n_blocks, 1),
        [&](const oneapi::tbb::blocked_range<int64_t>& r) {
          int slot = oneapi::tbb::this_task_arena::current_thread_index();
          if (slot < 0 || slot >= nt) slot = 0;  // not expected inside the arena
          for (int64_t b = r.begin(); b < r.end(); ++b) fn(b, slot);
        },
        oneapi::tbb::simple_partitioner());
  });
}

// Per-thread moves of the topic totals, added to the totals after the phase (integer sums: the
// result does not depend on which thread moved what).
struct TotalMoves {
  std::vector<int64_t> d;
  int32_t K;
  TotalMoves(int nt, int32_t k) : d(static_cast<size_t>(nt) * k, 0), K(k) {}
  int64_t* slot(int s) { return d.data() + static_cast<size_t>(s) * K; }
  void add_to(int64_t* totals, int nt) const {
    for (int s = 0; s < nt; ++s)
      for (int32_t k = 0; k < K; ++k) totals[k] += d[static_cast<size_t>(s) * K + k];
  }
};

// n_k + V beta as floats for the phase
std::vector<float> total_weights(const int64_t* totals, int32_t K, double vbeta) {
  std::vector<float> w(K);
  for (int32_t k = 0; k < K; ++k) w[k] = static_cast<float>(static_cast<double>(totals[k]) + vbeta);
  return w;
}

constexpr int kBlocksPerThread = 8;

// What both phases set up and finish alike: the threads, the fixed topic weights, the phase's
// random key, blocks of items (documents or words) balanced by tokens, and the moves.
struct Phase {
  int nt;
  std::vector<float> nkv;
  uint64_t key;
  int64_t n_blocks;
  std::vector<int64_t> bounds;
  TotalMoves moves;
  std::vector<int64_t> accepted;

  // cum: n_items + 1 cumulative token offsets of the items
  Phase(const int64_t* cum, int64_t n_items, const int64_t* topic_totals, int32_t K,
        const Priors& priors, uint64_t seed, int64_t iteration, int phase, uint64_t stream,
        int n_threads)
      : nt(resolve_threads(n_threads)),
        nkv(total_weights(topic_totals, K,
                          priors.beta * static_cast<double>(priors.n_words_total))),
        key(phase_key(seed, iteration, phase, stream)),
        n_blocks(std::min<int64_t>(n_items, static_cast<int64_t>(nt) * kBlocksPerThread)),
        bounds(even_bounds(cum, n_items, n_blocks)),
        moves(nt, K),
        accepted(static_cast<size_t>(n_blocks), 0) {}

  // adds the moves to the totals; returns the accepted moves
  int64_t finish(int64_t* topic_totals) const {
    moves.add_to(topic_totals, nt);
    int64_t total = 0;
    for (int64_t a : accepted) total += a;
    return total;
  }
};

}  // namespace

void word_order(const int32_t* words, int64_t n_tokens, int64_t n_words, int64_t* word_ptr,
                int64_t* order) {
  std::fill(word_ptr, word_ptr + n_words + 1, 0);
  for (int64_t i = 0; i < n_tokens; ++i) ++word_ptr[words[i] + 1];
  for (int64_t w = 0; w < n_words; ++w) word_ptr[w + 1] += word_ptr[w];
  std::vector<int64_t> next(word_ptr, word_ptr + n_words);
  for (int64_t i = 0; i < n_tokens; ++i) order[next[words[i]]++] = i;
}

int64_t warp_doc_phase(const int64_t* doc_ptr, int32_t* topics, int64_t n_docs, int32_t* props,
                       const float* corr, bool accept, int64_t* topic_totals, int32_t n_topics,
                       const Priors& priors, uint64_t seed, int64_t iteration, uint64_t stream,
                       int mh_steps, int n_threads) {
  const int32_t K = n_topics;
  const int M = mh_steps;
  if (n_docs <= 0 || K <= 0 || M <= 0) return 0;
  Phase ph(doc_ptr, n_docs, topic_totals, K, priors, seed, iteration, 0, stream, n_threads);
  const int nt = ph.nt;
  const std::vector<float>& nkv = ph.nkv;
  const std::vector<int64_t>& bounds = ph.bounds;
  const uint64_t key = ph.key;
  const float alpha = static_cast<float>(priors.alpha);
  const float kalpha = static_cast<float>(priors.alpha * K);
  std::vector<int32_t> scratch(static_cast<size_t>(nt) * K, 0);

  for_blocks(nt, ph.n_blocks, [&, M, K, alpha, kalpha, key, accept](int64_t b, int slot) {
    int32_t* cd = scratch.data() + static_cast<size_t>(slot) * K;
    int64_t* tmoves = ph.moves.slot(slot);
    int64_t acc = 0;
    for (int64_t d = bounds[b]; d < bounds[b + 1]; ++d) {
      const int64_t p0 = doc_ptr[d], p1 = doc_ptr[d + 1];
      const int64_t L = p1 - p0;
      if (L == 0) continue;
      for (int64_t i = p0; i < p1; ++i) ++cd[topics[i]];
      if (accept) {
        for (int64_t i = p0; i < p1; ++i) {
          // the word proposals against the document's row (the counts hold the token at z0
          // until its steps are done)
          Stream rng = token_stream(key, i);
          const int32_t z0 = topics[i];
          const int32_t z = mh_steps_of(rng, z0, props + i * 2 * M + M, M, cd, alpha, nkv.data(),
                                        corr ? corr + i * (M + 1) : nullptr);
          const int32_t moved = z != z0;
          cd[z0] -= moved;
          cd[z] += moved;
          tmoves[z0] -= moved;
          tmoves[z] += moved;
          acc += moved;
          topics[i] = z;
        }
      }
      // document proposals (q ~ n_dk + a with the token left out)
      const float other = static_cast<float>(L - 1) / (static_cast<float>(L - 1) + kalpha);
      const uint32_t n_other = static_cast<uint32_t>(L - 1);
      for (int64_t i = p0; i < p1; ++i) {
        Stream rng = token_stream(key ^ 0x2545F4914F6CDD1DULL, i);
        draw_proposals(rng, props + i * 2 * M, M, topics + p0, i - p0, n_other, other, K);
      }
      for (int64_t i = p0; i < p1; ++i) cd[topics[i]] = 0;
    }
    ph.accepted[size_t(b)] = acc;
  });
  return ph.finish(topic_totals);
}

int64_t warp_word_phase(const int64_t* word_ptr, const int64_t* order, int32_t* topics,
                        int32_t* topics_by_word, int32_t* props, float* corr, int32_t* word_topic,
                        int64_t word_begin, int64_t word_end, int64_t* topic_totals,
                        int32_t n_topics, const Priors& priors, uint64_t seed, int64_t iteration,
                        uint64_t stream, int mh_steps, int n_threads) {
  const int32_t K = n_topics;
  const int M = mh_steps;
  const int64_t n_rows = word_end - word_begin;
  if (n_rows <= 0 || K <= 0 || M <= 0) return 0;
  Phase ph(word_ptr + word_begin, n_rows, topic_totals, K, priors, seed, iteration, 1, stream,
           n_threads);
  const int nt = ph.nt;
  const std::vector<float>& nkv = ph.nkv;
  const std::vector<int64_t>& bounds = ph.bounds;
  const uint64_t key = ph.key;
  const float beta = static_cast<float>(priors.beta);
  const float kbeta = static_cast<float>(priors.beta * K);
  // several ranks: this rank's counts of the word, per thread
  std::vector<int32_t> local(corr ? static_cast<size_t>(nt) * K : 0, 0);
  constexpr int64_t kAhead = 8;  // tokens whose scattered state is prefetched ahead

  for_blocks(nt, ph.n_blocks, [&, M, K, beta, kbeta, key, word_begin](int64_t b, int slot) {
    int64_t* tmoves = ph.moves.slot(slot);
    int64_t acc = 0;
    for (int64_t r = bounds[b]; r < bounds[b + 1]; ++r) {
      const int64_t j0 = word_ptr[word_begin + r], j1 = word_ptr[word_begin + r + 1];
      const int64_t L = j1 - j0;
      if (L == 0) continue;
      int32_t* row = word_topic + r * K;
      // the document phase's moves of this word's tokens
      for (int64_t j = j0; j < j1; ++j) {
        // two-level prefetch: a token's topic 2 kAhead ahead, the row entry it names kAhead
        // ahead (a K = 1000 row is 4 KB, 64 lines that a rare word's tokens hit at random)
        if (j + 2 * kAhead < j1) __builtin_prefetch(topics + order[j + 2 * kAhead]);
        if (j + kAhead < j1) __builtin_prefetch(row + topics[order[j + kAhead]]);
        const int32_t zn = topics[order[j]], zo = topics_by_word[j];
        if (zn != zo) {
          --row[zo];
          ++row[zn];
          topics_by_word[j] = zn;
        }
      }
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t i = order[j];
        if (j + 2 * kAhead < j1) __builtin_prefetch(props + order[j + 2 * kAhead] * 2 * M);
        if (j + kAhead < j1) {
          const int32_t* q = props + order[j + kAhead] * 2 * M;
          for (int m = 0; m < M; ++m) __builtin_prefetch(row + q[m]);
        }
        // the document proposals against the word's row
        Stream rng = token_stream(key, i);
        const int32_t z0 = topics_by_word[j];
        const int32_t z =
            mh_steps_of(rng, z0, props + i * 2 * M, M, row, beta, nkv.data(), nullptr);
        if (z != z0) {
          --row[z0];
          ++row[z];
          --tmoves[z0];
          ++tmoves[z];
          ++acc;
          topics_by_word[j] = z;
          topics[i] = z;
        }
      }
      // word proposals (q ~ n_wk + b with the token left out; this rank's tokens only)
      const float other = static_cast<float>(L - 1) / (static_cast<float>(L - 1) + kbeta);
      const uint32_t n_other = static_cast<uint32_t>(L - 1);
      int32_t* cl = corr ? local.data() + static_cast<size_t>(slot) * K : nullptr;
      if (cl)
        for (int64_t j = j0; j < j1; ++j) ++cl[topics_by_word[j]];
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t i = order[j];
        Stream rng = token_stream(key ^ 0x2545F4914F6CDD1DULL, i);
        int32_t* wp = props + i * 2 * M + M;
        draw_proposals(rng, wp, M, topics_by_word + j0, j - j0, n_other, other, K);
        if (cl) {
          // g(k) = (n_wk + b) / (m_wk + b), the token left out of the global and local counts
          const int32_t z = topics_by_word[j];
          float* g = corr + i * (M + 1);
          auto ratio = [&](int32_t k) {
            const int32_t self = k == z;
            return (static_cast<float>(row[k] - self) + beta) /
                   (static_cast<float>(cl[k] - self) + beta);
          };
          g[0] = ratio(z);
          for (int m = 0; m < M; ++m) g[1 + m] = ratio(wp[m]);
        }
      }
      if (cl)
        for (int64_t j = j0; j < j1; ++j) cl[topics_by_word[j]] = 0;
    }
    ph.accepted[size_t(b)] = acc;
  });
  return ph.finish(topic_totals);
}

}  // namespace harpdaal::kernels::lda
