#include "kernels/kmeans/prune.hpp"

#include "kernels/kmeans/kmeans.hpp"
#include "kernels/kmeans/kmeans_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <oneapi/tbb/enumerable_thread_specific.h>

#include "kernels/common/isa.hpp"
#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::kmeans {

#define HARPDAAL_PRUNE_DECLARE(NS)                                                     \
  namespace prune::NS {                                                                \
  template <class T>                                                                   \
  int lanes();                                                                         \
  template <class T>                                                                   \
  void score_block(const T* const*, int64_t, int64_t, const T*, int64_t, T*, int64_t); \
  template <class T>                                                                   \
  T sq_norm(const T*, int64_t);                                                        \
  template <class T>                                                                   \
  T sq_dist_shift(const T*, const T*, const T*, int64_t, T*);                          \
  template <class T>                                                                   \
  T sq_dist(const T*, const T*, int64_t);                                              \
  }
HARPDAAL_PRUNE_DECLARE(generic)
HARPDAAL_PRUNE_DECLARE(avx2)
HARPDAAL_PRUNE_DECLARE(avx512f)
HARPDAAL_PRUNE_DECLARE(avx512)
#undef HARPDAAL_PRUNE_DECLARE

int64_t prune_groups(int64_t k) { return k < 20 ? 1 : k / 10; }

namespace {

template <class T>
struct PruneOps {
  int (*lanes)();
  void (*score)(const T* const*, int64_t, int64_t, const T*, int64_t, T*, int64_t);
  T (*sq_norm)(const T*, int64_t);
  T (*sq_dist)(const T*, const T*, int64_t);
  T (*sq_dist_shift)(const T*, const T*, const T*, int64_t, T*);
};

#define HARPDAAL_PRUNE_OPS(NS)                                                         \
  PruneOps<T> {                                                                             \
    &prune::NS::lanes<T>, &prune::NS::score_block<T>,                                \
        &prune::NS::sq_norm<T>, &prune::NS::sq_dist<T>, &prune::NS::sq_dist_shift<T>   \
  }
template <class T>
PruneOps<T> active_ops() {
  // (the score tile uses AVX-512 F instructions only: Knights Landing runs its own copy)
  return dispatch<PruneOps<T>>(HARPDAAL_PRUNE_OPS(generic), HARPDAAL_PRUNE_OPS(avx2),
                          HARPDAAL_PRUNE_OPS(avx512f), HARPDAAL_PRUNE_OPS(avx512));
}
#undef HARPDAAL_PRUNE_OPS

constexpr int64_t kBlockRows = 256;  // rows per parallel block (candidates: at most this many)
// How far ahead in its list of active rows the tightening pass prefetches X (step 2 of
// prune_step). fashion-mnist, 2 threads, seconds to convergence, alternated, without -> with:
// "auto" k = 100 1.46-1.56 -> 1.29-1.37 (1, 2 and 4 rows ahead alike, 2 the best by a little);
// "elkan" k = 10 0.84-0.88 -> 0.74-0.78; "auto" k = 1000 4.24-4.29 -> 4.09-4.17. Blobs at
// d = 32 (rows of two lines), k = 200: unchanged at 1-8 rows ahead.
constexpr int64_t kTightenPrefetchRows = 2;

// A double rounded to T: up (upper bounds) or down (lower bounds), so a bound stays a bound.
// One step to the next T is a step of the bit pattern for finite non-zero values; written with
// selects, not branches (the rounding direction is a coin flip per value, and these run
// n x (t + 1) times per step).
template <class T>
T step_toward(T t, bool up) {
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  U bits;
  std::memcpy(&bits, &t, sizeof bits);
  const bool away = (t > 0) == up;  // away from zero: the magnitude grows
  bits = away ? bits + 1 : bits - 1;
  T r;
  std::memcpy(&r, &bits, sizeof r);
  const T tiny = std::numeric_limits<T>::denorm_min();
  return t == 0 ? (up ? tiny : -tiny) : r;
}
template <class T>
T round_up(double v) {
  const T t = T(v);
  return double(t) < v ? step_toward(t, true) : t;
}
template <class T>
T round_down(double v) {
  const T t = T(v);
  return double(t) > v ? step_toward(t, false) : t;
}

// The groups' centers, packed per group for score_block; members in index order. Group t (one
// past the last) is every center in index order, packed densely: a row that needs most groups
// is scored against it in one tile call instead of group by group (fewer idle lanes: a group
// of 10 centers fills 10 of 16).
template <class T>
struct Groups {
  std::vector<int64_t> start;    // n_groups + 1: members[start[g] .. start[g+1])
  std::vector<int32_t> members;  // center ids, ascending within a group
  std::vector<int64_t> offset;   // into packed, per group
  std::vector<int64_t> n_vec;    // packed vectors per group
  std::vector<T> packed;
};

// sq_norm[j] = ||center j||^2 (float64, summed in feature order), computed once by the caller
// for both of a center's copies. The tiles are filled in parallel, feature by feature across
// their W lanes (contiguous stores). Packing is a small part of a step (fashion-mnist,
// k = 1000: 1-2% of an iteration gained by this layout).
template <class T>
Groups<T> pack_groups(const T* centers, const double* sq_norm, int64_t k, int64_t d,
                      const int32_t* group_of, int64_t t, int W, int n_threads) {
  Groups<T> g;
  g.start.assign(size_t(t + 1), 0);
  for (int64_t j = 0; j < k; ++j) ++g.start[size_t(group_of[j]) + 1];
  for (int64_t q = 0; q < t; ++q) g.start[size_t(q + 1)] += g.start[size_t(q)];
  g.members.resize(size_t(2 * k));
  std::vector<int64_t> fill(g.start.begin(), g.start.end() - 1);
  for (int64_t j = 0; j < k; ++j) g.members[size_t(fill[size_t(group_of[j])]++)] = int32_t(j);
  for (int64_t j = 0; j < k; ++j) g.members[size_t(k + j)] = int32_t(j);
  g.start.push_back(2 * k);
  g.offset.resize(size_t(t + 1));
  g.n_vec.resize(size_t(t + 1));
  int64_t total = 0;
  std::vector<std::pair<int64_t, int64_t>> tiles;  // (group, vector) of every tile
  for (int64_t q = 0; q <= t; ++q) {
    const int64_t m = g.start[size_t(q + 1)] - g.start[size_t(q)];
    g.n_vec[size_t(q)] = (m + W - 1) / W;
    g.offset[size_t(q)] = total;
    total += g.n_vec[size_t(q)] * (d + 1) * W;
    for (int64_t v = 0; v < g.n_vec[size_t(q)]; ++v) tiles.emplace_back(q, v);
  }
  g.packed.resize(size_t(total));
  const int64_t n_tiles = int64_t(tiles.size());
  parallel_for(n_tiles * d * W > (1 << 16) ? n_threads : 1, n_tiles, 1,
               [&](int64_t i0, int64_t i1) {
    std::vector<const T*> rows(static_cast<size_t>(W));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t q = tiles[size_t(i)].first, v = tiles[size_t(i)].second;
      T* tile = g.packed.data() + g.offset[size_t(q)] + v * (d + 1) * W;
      const int64_t m = g.start[size_t(q + 1)] - g.start[size_t(q)];
      const int lanes = int(std::min<int64_t>(W, m - v * W));
      for (int l = 0; l < lanes; ++l) {
        const int32_t id = g.members[size_t(g.start[size_t(q)] + v * W + l)];
        rows[size_t(l)] = centers + int64_t(id) * d;
        tile[l] = T(-0.5 * sq_norm[id]);
      }
      for (int l = lanes; l < W; ++l) tile[l] = -std::numeric_limits<T>::infinity();
      for (int64_t f = 0; f < d; ++f) {
        T* out = tile + (f + 1) * W;
        for (int l = 0; l < lanes; ++l) out[l] = rows[size_t(l)][f];
        for (int l = lanes; l < W; ++l) out[l] = T(0);
      }
    }
  });
  return g;
}

// Keeps the best two (smallest) values seen and the index of the best; ties keep the earlier
// index (the scans visit centers in ascending index order).
inline void keep_two(double v, int32_t id, double& v1, double& v2, int32_t& a1) {
  if (v < v1) {
    v2 = v1;
    v1 = v;
    a1 = id;
  } else if (v < v2) {
    v2 = v;
  }
}

struct Change {
  int64_t row;
  int32_t from;  // -1: none (a fresh start)
  int32_t to;
};

// Scratch of one thread: the candidate rows (centred when shifted), per-row and per-(row, group)
// state of a block.
template <class T>
struct Scratch {
  std::vector<T> xb, scores;
  std::vector<const T*> ptrs;
  std::vector<double> xn, glb, top1, top2;
  std::vector<int64_t> active, rows;
  std::vector<int32_t> arg1;
  std::vector<uint8_t> need;
  std::vector<int64_t> dense;
  PruneCounts counts;
};

// The chunks lloyd_partial adds its per-cluster sums over (its row blocks of `rb` rows,
// `per_chunk` blocks per chunk, chunks reduced in order), for the same method and n_threads:
// the row blocks come from lloyd_block_rows, the rule make_assigner uses.
struct SumsLayout {
  Method method;  // resolved (never automatic)
  int64_t rb, n_blocks, n_chunks, per_chunk, stride;
  int64_t partials() const { return n_chunks * stride; }  // values of the chunks' partial sums
};
SumsLayout sums_layout(int64_t n, int64_t d, int64_t k, int n_threads, Method method,
                       bool f64) {
  if (method == Method::automatic) method = choose_method(d, k, f64);
  SumsLayout l;
  l.method = method;
  l.rb = lloyd_block_rows(method, d, k, f64 ? 8 : 4);
  l.n_blocks = (n + l.rb - 1) / l.rb;
  l.n_chunks = lloyd_chunks(n, l.n_blocks, k, n_threads);
  l.per_chunk = (l.n_blocks + l.n_chunks - 1) / l.n_chunks;
  l.stride = k * d + k;
  return l;
}

// The per-cluster sums and weights of labels exactly as lloyd_partial accumulates them (its
// chunks, its per-ISA accumulate, chunks reduced in order), so that centers computed from them
// are the Lloyd step's bits (tests/kernels/test_kmeans_prune.py compares the centers with
// lloyd_iterations' bit for bit). `part` holds the chunks' partial sums (n_chunks x stride).
// With `dirty` (k flags per chunk) only the flagged (chunk, cluster) partials are recomputed —
// from the rows of the chunk with that label, in row order: accumulate adds each row on its
// own (s + w x per row) or into its cluster's float32 group (RowGroups: the groups of one
// cluster depend on its rows alone), so skipping the other rows leaves the bits — and only
// clusters flagged in some chunk are reduced again; sums/weights of the others are kept.
template <class T>
void lloyd_order_sums(const T* x, int64_t n, int64_t d, const T* sample_weight, const T* shift,
                      const int32_t* labels, int64_t k, const SumsLayout& l, double* part,
                      const uint8_t* dirty, double* sums, double* weights, int n_threads) {
  const kmeans::Ops<T> kops =
      dispatch(&generic::ops<T>, &avx2::ops<T>, &avx512f::ops<T>, &avx512::ops<T>)();
  const bool fused = l.method == Method::fused;
  const bool grouped = fused && kops.groups_rows(d, k);  // (lloyd_step's rule)
  oneapi::tbb::enumerable_thread_specific<RowGroupStore> group_store;
  parallel_for(n_threads, l.n_chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double* ps = part + c * l.stride;
      double* pw = ps + k * d;
      const int64_t row_begin = c * l.per_chunk * l.rb;
      const int64_t row_end = std::min(n, (c + 1) * l.per_chunk * l.rb);
      RowGroups groups{};
      if (grouped) groups = group_store.local().open(k, d);
      RowGroups* const g = grouped ? &groups : nullptr;
      if (!dirty) {
        std::fill(ps, ps + l.stride, 0.0);
        for (int64_t b = row_begin; b < row_end; b += l.rb) {
          const int64_t e = std::min(row_end, b + l.rb);
          // (with a shift, accumulate centres each row as it loads it: the centred copy's bits)
          kops.accumulate(x + b * d, e - b, d, sample_weight ? sample_weight + b : nullptr,
                          labels + b, nullptr, fused, ps, pw, nullptr, shift, g);
        }
        if (g) flush_groups(*g, k, d, ps);
        continue;
      }
      const uint8_t* dc = dirty + c * k;
      bool any = false;
      for (int64_t j = 0; j < k; ++j)
        if (dc[j]) {
          any = true;
          std::fill(ps + j * d, ps + (j + 1) * d, 0.0);
          pw[j] = 0.0;
        }
      if (!any) continue;
      for (int64_t i = row_begin; i < row_end;) {  // runs of rows with a flagged label
        if (!dc[labels[i]]) {
          ++i;
          continue;
        }
        int64_t e = i + 1;
        while (e < row_end && dc[labels[e]]) ++e;
        kops.accumulate(x + i * d, e - i, d, sample_weight ? sample_weight + i : nullptr,
                        labels + i, nullptr, fused, ps, pw, nullptr, shift, g);
        i = e;
      }
      if (g) flush_groups(*g, k, d, ps);  // (only the flagged clusters have rows in groups)
    }
  });
  std::vector<uint8_t> redo(static_cast<size_t>(k), dirty ? 0 : 1);
  if (dirty)
    for (int64_t c = 0; c < l.n_chunks; ++c)
      for (int64_t j = 0; j < k; ++j) redo[size_t(j)] |= dirty[c * k + j];
  parallel_for(n_threads, k, 4, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      if (!redo[size_t(j)]) continue;
      double* s = sums + j * d;
      std::fill(s, s + d, 0.0);
      double wsum = 0.0;
      for (int64_t c = 0; c < l.n_chunks; ++c) {
        const double* ps = part + c * l.stride + j * d;
        for (int64_t f = 0; f < d; ++f) s[f] += ps[f];
        wsum += part[c * l.stride + k * d + j];
      }
      weights[j] = wsum;
    }
  });
}

template <class T>
void apply_changes(const T* x, int64_t d, const T* sample_weight, const T* shift, int64_t k,
                   bool fresh, const std::vector<std::vector<Change>>& changes, double* sums,
                   double* weights, int64_t* counts, int n_threads) {
  if (fresh) {
    std::fill(sums, sums + k * d, 0.0);
    std::fill(weights, weights + k, 0.0);
    std::fill(counts, counts + k, int64_t{0});
  }
  std::vector<Change> all;
  for (const auto& c : changes) all.insert(all.end(), c.begin(), c.end());
  const int64_t feat_grain = std::max<int64_t>(1, 64);
  parallel_for(all.size() * size_t(d) > (1u << 16) ? n_threads : 1, d, feat_grain,
               [&](int64_t f0, int64_t f1) {
                 for (const Change& c : all) {
                   const double w = sample_weight ? double(sample_weight[c.row]) : 1.0;
                   const T* row = x + c.row * d;
                   for (int64_t f = f0; f < f1; ++f) {
                     const T v = shift ? T(row[f] - shift[f]) : row[f];
                     const double xw = w * double(v);
                     if (c.from >= 0) sums[int64_t(c.from) * d + f] -= xw;
                     sums[int64_t(c.to) * d + f] += xw;
                   }
                 }
               });
  for (const Change& c : all) {
    const double w = sample_weight ? double(sample_weight[c.row]) : 1.0;
    if (c.from >= 0) {
      weights[c.from] -= w;
      if (w > 0) --counts[c.from];
    }
    weights[c.to] += w;
    if (w > 0) ++counts[c.to];
  }
  for (const Change& c : all)  // a cluster left without weight: exactly zero, as Lloyd's sums
    if (c.from >= 0 && counts[c.from] == 0) {
      std::fill(sums + int64_t(c.from) * d, sums + int64_t(c.from + 1) * d, 0.0);
      weights[c.from] = 0.0;
    }

}

void check_args(int64_t n, int64_t d, int64_t k, int64_t t, const int32_t* group_of) {
  if (n < 0 || d < 1 || k < 1)
    throw std::invalid_argument("kmeans prune: need n >= 0, d >= 1, k >= 1");
  if (k > (int64_t(1) << 24) || n > (int64_t(1) << 31) - 1)
    throw std::invalid_argument("kmeans prune: sizes out of range (k <= 2^24, n < 2^31)");
  if (t < 1 || t > k)
    throw std::invalid_argument("kmeans prune: n_groups must lie in [1, k], got " +
                                std::to_string(t));
  std::vector<char> seen(static_cast<size_t>(t), 0);
  for (int64_t j = 0; j < k; ++j) {
    if (group_of[j] < 0 || group_of[j] >= t)
      throw std::invalid_argument("kmeans prune: group_of[" + std::to_string(j) +
                                  "] = " + std::to_string(group_of[j]) + " outside [0, " +
                                  std::to_string(t) + ")");
    seen[size_t(group_of[j])] = 1;
  }
  for (int64_t q = 0; q < t; ++q)
    if (!seen[size_t(q)])
      throw std::invalid_argument("kmeans prune: group " + std::to_string(q) + " has no center");
}

}  // namespace

int64_t prune_partials_size(int64_t n, int64_t d, int64_t k, int n_threads, Method method,
                            bool f64) {
  return sums_layout(n, d, k, n_threads, method, f64).partials();
}

template <class T>
PruneCounts prune_step(const T* x, int64_t n, int64_t d, const T* sample_weight, const T* shift,
                       const T* centers, const T* prev_centers, int64_t k,
                       const int32_t* group_of, int64_t t, int32_t* labels, T* upper, T* lower,
                       double* sums, double* weights, int64_t* counts, int n_threads,
                       bool lloyd_sums, Method method, double* partials, int64_t n_partials,
                       bool reuse_partials) {
  check_args(n, d, k, t, group_of);
  const SumsLayout layout = sums_layout(n, d, k, n_threads, method, std::is_same_v<T, double>);
  if (partials && lloyd_sums && n_partials != layout.partials())
    throw std::invalid_argument("kmeans prune: partials must hold " +
                                std::to_string(layout.partials()) + " values, got " +
                                std::to_string(n_partials));
  const bool fresh = prev_centers == nullptr;
  if (!fresh)
    for (int64_t i = 0; i < n; ++i)
      if (labels[i] < 0 || labels[i] >= k)
        throw std::invalid_argument("kmeans prune: label out of range (restart with no "
                                    "prev_centers)");
  const PruneOps<T> ops = active_ops<T>();
  const int W = ops.lanes();
  const double inf = std::numeric_limits<double>::infinity();

  // Each center's squared norm and how far each center and group moved (float64, rounded up by
  // a few ulps); centers in parallel.
  std::vector<double> cnorm(static_cast<size_t>(k)), drift(static_cast<size_t>(k), 0.0);
  std::vector<double> gdrift(static_cast<size_t>(t), 0.0);
  parallel_for(k * d > (1 << 16) ? n_threads : 1, k, 4, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      double nrm = 0, mv = 0;
      for (int64_t f = 0; f < d; ++f) {
        const double c = double(centers[j * d + f]);
        nrm += c * c;
        if (!fresh) {
          const double diff = c - double(prev_centers[j * d + f]);
          mv += diff * diff;
        }
      }
      cnorm[size_t(j)] = nrm;
      drift[size_t(j)] = std::sqrt(mv) * (1 + 8 * std::numeric_limits<double>::epsilon());
    }
  });
  double max_cn = 0;
  for (int64_t j = 0; j < k; ++j) {
    max_cn = std::max(max_cn, cnorm[size_t(j)]);
    gdrift[size_t(group_of[j])] = std::max(gdrift[size_t(group_of[j])], drift[size_t(j)]);
  }
  const Groups<T> groups = pack_groups(centers, cnorm.data(), k, d, group_of, t, W, n_threads);
  // |computed - exact| of a squared distance <= gamma * (||x||^2 + max ||c||^2): the d-term
  // dot product, the norms and the final subtraction, each within (d + 8) eps relative to
  // those norms.
  const double gamma = double(d + 8) * double(std::numeric_limits<T>::epsilon());

  const int64_t n_blocks = (n + kBlockRows - 1) / kBlockRows;
  std::vector<std::vector<Change>> changes(static_cast<size_t>(n_blocks));
  const int64_t stride_max = [&] {
    int64_t s = 0;
    for (int64_t q = 0; q <= t; ++q) s = std::max(s, groups.n_vec[size_t(q)] * W);
    return s;
  }();
  oneapi::tbb::enumerable_thread_specific<Scratch<T>> scratch([&] {
    Scratch<T> s;
    s.xb.resize(size_t(kBlockRows * d));
    s.ptrs.resize(size_t(kBlockRows));
    s.scores.resize(size_t(kBlockRows * stride_max));
    s.xn.resize(size_t(kBlockRows));
    s.glb.resize(size_t(kBlockRows));
    s.top1.resize(size_t(kBlockRows * t));
    s.top2.resize(size_t(kBlockRows * t));
    s.arg1.resize(size_t(kBlockRows * t));
    s.need.resize(size_t(kBlockRows * t));
    s.dense.reserve(size_t(kBlockRows));
    s.active.reserve(size_t(kBlockRows));
    s.rows.reserve(size_t(kBlockRows));
    return s;
  });

  parallel_for(n_threads, n_blocks, 1, [&](int64_t b0, int64_t b1) {
    Scratch<T>& s = scratch.local();
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t b = blk * kBlockRows, e = std::min(n, b + kBlockRows);
      std::vector<Change>& ch = changes[size_t(blk)];
      ch.clear();
      // 1. Widen the bounds by the drift; the rows the global filter cannot skip.
      s.active.clear();
      for (int64_t i = b; i < e; ++i) {
        if (fresh) {
          s.active.push_back(i);
          continue;
        }
        const int32_t a = labels[i];
        const T ub = round_up<T>(double(upper[i]) + drift[size_t(a)]);
        upper[i] = ub;
        double glb = inf;
        T* lo = lower + i * t;
        for (int64_t q = 0; q < t; ++q) {
          const T l = std::max(T(0), round_down<T>(double(lo[q]) - gdrift[size_t(q)]));
          lo[q] = l;
          glb = std::min(glb, double(l));
        }
        if (double(ub) < glb) {
          ++s.counts.skipped;
          continue;
        }
        s.glb[size_t(s.active.size())] = glb;
        s.active.push_back(i);
      }
      if (s.active.empty()) continue;
      // 2. Tighten the upper bound with the exact distance to the own center (read from x
      //    once: with a shift the same pass writes the centred row, the bits of shift_rows);
      //    keep the candidates that still need groups (centred when shift is given).
      //    The rows left after the global filter are scattered (on fashion-mnist at k = 100
      //    about a third of them), so the hardware prefetcher does not follow them: each row
      //    prefetches the one kTightenPrefetchRows later in the list.
      int64_t m = 0;
      const int64_t row_bytes = d * int64_t(sizeof(T));
      for (size_t r = 0; r < s.active.size(); ++r) {
        const int64_t i = s.active[r];
        const T* src = x + i * d;
        if (r + size_t(kTightenPrefetchRows) < s.active.size()) {
          const char* nx =
              reinterpret_cast<const char*>(x + s.active[r + size_t(kTightenPrefetchRows)] * d);
          for (int64_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(nx + o, 0, 3);
        }
        T* dst = s.xb.data() + m * d;  // (the next candidate's slot: rewritten if settled)
        if (!fresh) {
          const T* c = centers + int64_t(labels[i]) * d;
          const double d2 = double(shift ? ops.sq_dist_shift(src, shift, c, d, dst)
                                         : ops.sq_dist(src, c, d));
          ++s.counts.distances;
          const T ub = round_up<T>(std::sqrt(d2 * (1 + gamma)));
          upper[i] = ub;
          if (double(ub) < s.glb[r]) {
            ++s.counts.tightened;
            continue;
          }
          if (!shift) std::copy(src, src + d, dst);
        } else if (shift) {
          shift_rows(src, 1, d, shift, dst);
        } else {
          std::copy(src, src + d, dst);
        }
        s.active[size_t(m)] = i;
        s.xn[size_t(m)] = double(ops.sq_norm(dst, d));
        ++m;
      }
      if (m == 0) continue;
      // 3. The groups each candidate needs: every group whose lower bound does not exceed
      //    its upper bound, and its own center's group (so that every candidate is compared
      //    by the same computation: exact ties go to the lower index, as in Lloyd). A row
      //    whose groups would take as many tile vectors as all centers packed densely is
      //    scored against all of them (`dense`; every group's bound is then recomputed).
      const int64_t nv_all = groups.n_vec[size_t(t)];
      s.dense.clear();
      for (int64_t r = 0; r < m; ++r) {
        const int64_t i = s.active[size_t(r)];
        uint8_t* nd = s.need.data() + r * t;
        int64_t cost = 0;
        if (fresh) {
          cost = nv_all;
        } else {
          const T* lo = lower + i * t;
          for (int64_t q = 0; q < t; ++q) {
            nd[q] = lo[q] <= upper[i];
            cost += nd[q] * groups.n_vec[size_t(q)];
          }
          const int32_t own = group_of[labels[i]];
          cost += (1 - nd[own]) * groups.n_vec[size_t(own)];
          nd[own] = 1;
        }
        if (cost >= nv_all) {
          std::fill(nd, nd + t, uint8_t(2));
          s.dense.push_back(r);
        }
      }
      // 4. Score the rows against the centers they need in tile calls (the dense rows against
      //    all centers, the others group by group; a center's score has the same bits in
      //    either packing: the same FMAs in its lane), keep the best two per (row, group).
      const auto top2 = [&](int64_t mq, const int64_t* rows, int64_t q, int64_t stride) {
        const bool all = q == t;
        const int64_t g0 = groups.start[size_t(q)], gm = groups.start[size_t(q + 1)] - g0;
        s.counts.distances += mq * gm;
        for (int64_t j = 0; j < mq; ++j) {
          const int64_t r = rows[j];
          const double xn = s.xn[size_t(r)];
          const T* sc = s.scores.data() + j * stride;
          if (all) {  // centers in index order: the best two of each group
            double* v1 = s.top1.data() + r * t;
            double* v2 = s.top2.data() + r * t;
            int32_t* a1 = s.arg1.data() + r * t;
            std::fill(v1, v1 + t, inf);
            std::fill(v2, v2 + t, inf);
            std::fill(a1, a1 + t, -1);
            for (int64_t l = 0; l < gm; ++l) {
              const int32_t q2 = group_of[l];
              keep_two(std::max(0.0, xn - 2.0 * double(sc[l])), int32_t(l), v1[q2], v2[q2],
                       a1[q2]);
            }
            continue;
          }
          double v1 = inf, v2 = inf;
          int32_t a1 = -1;
          for (int64_t l = 0; l < gm; ++l)
            keep_two(std::max(0.0, xn - 2.0 * double(sc[l])), groups.members[size_t(g0 + l)], v1,
                     v2, a1);
          s.top1[size_t(r * t + q)] = v1;
          s.top2[size_t(r * t + q)] = v2;
          s.arg1[size_t(r * t + q)] = a1;
        }
      };
      for (int64_t q = t; q >= 0; --q) {  // (q = t: the dense rows, all centers)
        s.rows.clear();
        if (q == t)
          s.rows.assign(s.dense.begin(), s.dense.end());
        else
          for (int64_t r = 0; r < m; ++r)
            if (s.need[size_t(r * t + q)] == 1) s.rows.push_back(r);
        const int64_t mq = int64_t(s.rows.size());
        if (mq == 0) continue;
        for (int64_t j = 0; j < mq; ++j)
          s.ptrs[size_t(j)] = s.xb.data() + s.rows[size_t(j)] * d;
        const int64_t nv = groups.n_vec[size_t(q)];
        const int64_t stride = nv * W;
        ops.score(s.ptrs.data(), mq, d, groups.packed.data() + groups.offset[size_t(q)], nv,
                  s.scores.data(), stride);
        top2(mq, s.rows.data(), q, stride);
      }
      // 5. The new label (the best of the groups computed; ties to the lower index) and the
      //    bounds, with the rounding margin.
      for (int64_t r = 0; r < m; ++r) {
        const int64_t i = s.active[size_t(r)];
        const uint8_t* nd = s.need.data() + r * t;
        double best = inf;
        int32_t arg = -1;
        for (int64_t q = 0; q < t; ++q) {
          if (!nd[q]) continue;
          const double v = s.top1[size_t(r * t + q)];
          const int32_t a = s.arg1[size_t(r * t + q)];
          if (v < best || (v == best && a < arg)) {
            best = v;
            arg = a;
          }
        }
        const double margin = gamma * (s.xn[size_t(r)] + max_cn);
        upper[i] = round_up<T>(std::sqrt(best + margin));
        T* lo = lower + i * t;
        for (int64_t q = 0; q < t; ++q) {
          if (!nd[q]) continue;
          const double v = s.arg1[size_t(r * t + q)] == arg ? s.top2[size_t(r * t + q)]
                                                            : s.top1[size_t(r * t + q)];
          lo[q] = v == inf ? std::numeric_limits<T>::infinity()
                           : round_down<T>(std::sqrt(std::max(0.0, v - margin)));
        }
        const int32_t old = labels[i];
        if (fresh) {
          ch.push_back({i, -1, arg});
          if (old != arg) ++s.counts.changed;
        } else if (old != arg) {
          ch.push_back({i, old, arg});
          ++s.counts.changed;
        }
        labels[i] = arg;
      }
    }
  });

  // 6. The sums, weights and counts: recomputed as Lloyd's step does (lloyd_sums), or
  //    following the rows that moved, applied in row order (deterministic for any n_threads;
  //    features split over threads).
  if (lloyd_sums) {
    const SumsLayout& l = layout;
    std::vector<double> own;
    if (!partials) {
      own.resize(size_t(l.partials()));
      partials = own.data();
    }
    std::vector<uint8_t> dirty;
    if (reuse_partials && !fresh) {  // the (chunk, cluster) pairs a changed row belongs to
      dirty.assign(size_t(l.n_chunks * k), 0);
      const int64_t chunk_rows = l.per_chunk * l.rb;
      for (const auto& blk : changes)
        for (const Change& c : blk) {
          uint8_t* dc = dirty.data() + (c.row / chunk_rows) * k;
          dc[c.to] = 1;
          if (c.from >= 0) dc[c.from] = 1;
        }
    }
    lloyd_order_sums(x, n, d, sample_weight, shift, labels, k, l, partials,
                     dirty.empty() ? nullptr : dirty.data(), sums, weights, n_threads);
    std::fill(counts, counts + k, int64_t{0});
    for (int64_t i = 0; i < n; ++i)
      if (!sample_weight || sample_weight[i] > 0) ++counts[labels[i]];
  } else {
    apply_changes(x, d, sample_weight, shift, k, fresh, changes, sums, weights, counts, n_threads);
  }
  PruneCounts total;
  for (const Scratch<T>& s : scratch) {
    total.distances += s.counts.distances;
    total.skipped += s.counts.skipped;
    total.tightened += s.counts.tightened;
    total.changed += s.counts.changed;
  }
  return total;
}

template PruneCounts prune_step<float>(const float*, int64_t, int64_t, const float*,
                                       const float*, const float*, const float*, int64_t,
                                       const int32_t*, int64_t, int32_t*, float*, float*,
                                       double*, double*, int64_t*, int, bool, Method, double*,
                                       int64_t, bool);
template PruneCounts prune_step<double>(const double*, int64_t, int64_t, const double*,
                                        const double*, const double*, const double*, int64_t,
                                        const int32_t*, int64_t, int32_t*, double*, double*,
                                        double*, double*, int64_t*, int, bool, Method, double*,
                                       int64_t, bool);

}  // namespace harpdaal::kernels::kmeans
