#include "kernels/mf_sgd/mf_sgd.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "kernels/common/isa.hpp"
#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::mf_sgd {

#define HARPDAAL_DECLARE_MF(NS)                                                                 \
  namespace NS {                                                                                \
  template <class T>                                                                            \
  void train_block(const int32_t*, const int32_t*, const T*, int64_t, int64_t, Factors<T>,      \
                   Factors<T>, int64_t, int64_t, const Params<T>&);                             \
  template <class T>                                                                            \
  void predict_range(const int32_t*, const int32_t*, int64_t, int64_t, const T*, const T*,      \
                     const T*, const T*, int64_t, int64_t, T, T*);                              \
  template <class T>                                                                            \
  double sse_range(const int32_t*, const int32_t*, const T*, int64_t, int64_t, const T*,        \
                   const T*, const T*, const T*, int64_t, int64_t, T);                          \
  }
HARPDAAL_DECLARE_MF(generic)
HARPDAAL_DECLARE_MF(avx2)
HARPDAAL_DECLARE_MF(avx512)
#undef HARPDAAL_DECLARE_MF

namespace {
template <class T>
using BlockFn = void (*)(const int32_t*, const int32_t*, const T*, int64_t, int64_t, Factors<T>,
                         Factors<T>, int64_t, int64_t, const Params<T>&);
template <class T>
BlockFn<T> block_fn() {
  return dispatch<BlockFn<T>>(&generic::train_block<T>, &avx2::train_block<T>,
                              &avx512::train_block<T>);
}
constexpr int64_t kChunk = 8192;  // fixed reduction chunks: results independent of threads
}  // namespace

template <class T>
void train_block(const int32_t* users, const int32_t* items, const T* ratings, int64_t begin,
                 int64_t end, Factors<T> P, Factors<T> Q, int64_t ld, int64_t k,
                 const Params<T>& params) {
  block_fn<T>()(users, items, ratings, begin, end, P, Q, ld, k, params);
}

template <class T>
void train_grid(const int32_t* users, const int32_t* items, const T* ratings,
                const int64_t* block_ptr, int64_t grid, const int32_t* col_order, Factors<T> P,
                Factors<T> Q, int64_t ld, int64_t k, const Params<T>& params, int n_threads) {
  if (grid <= 0) return;
  if (params.adaptive && (P.acc == nullptr || Q.acc == nullptr))
    throw std::invalid_argument("train_grid: adaptive learning rate needs accumulators");
  auto fn = block_fn<T>();
  auto run_block = [&](int64_t round, int64_t i) {
    int64_t j = col_order[(i + round) % grid];
    int64_t b = i * grid + j;
    fn(users, items, ratings, block_ptr[b], block_ptr[b + 1], P, Q, ld, k, params);
  };
  int nt = resolve_threads(n_threads);
  if (nt == 1 || grid == 1) {
    for (int64_t t = 0; t < grid; ++t)
      for (int64_t i = 0; i < grid; ++i) run_block(t, i);
    return;
  }
  oneapi::tbb::task_arena arena(nt);
  arena.execute([&] {
    for (int64_t t = 0; t < grid; ++t) {
      // grain 1, simple partitioner: each block is one task; blocks of a round are independent.
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<int64_t>(0, grid, 1),
          [&](const oneapi::tbb::blocked_range<int64_t>& r) {
            for (int64_t i = r.begin(); i < r.end(); ++i) run_block(t, i);
          },
          oneapi::tbb::simple_partitioner());
    }
  });
}

template <class T>
void predict(const int32_t* users, const int32_t* items, int64_t n, const T* P, const T* Q,
             const T* user_bias, const T* item_bias, int64_t ld, int64_t k, T global_mean, T* out,
             int n_threads) {
  using Fn = void (*)(const int32_t*, const int32_t*, int64_t, int64_t, const T*, const T*,
                      const T*, const T*, int64_t, int64_t, T, T*);
  Fn fn = dispatch<Fn>(&generic::predict_range<T>, &avx2::predict_range<T>,
                       &avx512::predict_range<T>);
  parallel_for(n_threads, n, kChunk, [&](int64_t b, int64_t e) {
    fn(users, items, b, e, P, Q, user_bias, item_bias, ld, k, global_mean, out);
  });
}

template <class T>
double sum_squared_error(const int32_t* users, const int32_t* items, const T* ratings, int64_t n,
                         const T* P, const T* Q, const T* user_bias, const T* item_bias,
                         int64_t ld, int64_t k, T global_mean, int n_threads) {
  using Fn = double (*)(const int32_t*, const int32_t*, const T*, int64_t, int64_t, const T*,
                        const T*, const T*, const T*, int64_t, int64_t, T);
  Fn fn = dispatch<Fn>(&generic::sse_range<T>, &avx2::sse_range<T>, &avx512::sse_range<T>);
  int64_t n_chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(n_chunks, 1)), 0.0);
  parallel_for(n_threads, n_chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c)
      partial[c] = fn(users, items, ratings, c * kChunk, std::min(n, (c + 1) * kChunk), P, Q,
                      user_bias, item_bias, ld, k, global_mean);
  });
  double total = 0;
  for (double v : partial) total += v;
  return total;
}

template <class T>
int64_t bucket(const int32_t* users, const int32_t* items, const T* ratings, int64_t n,
               int64_t n_users, int64_t n_items, int64_t grid, int32_t* out_users,
               int32_t* out_items, T* out_ratings, int64_t* block_ptr, int ways,
               int n_threads) {
  const int64_t nb = grid * grid;
  std::fill(block_ptr, block_ptr + nb + 1, int64_t{0});
  if (n == 0) return 0;
  auto row_of = [&](int64_t u) { return u * grid / n_users; };
  auto col_of = [&](int64_t i) { return i * grid / n_items; };
  if (n_users * grid <= 4 * n + (int64_t{1} << 22)) {
    // one counting sort on the key (row block, column block, user): users of a row block are
    // contiguous, so key = first[rb] * grid + cb * count[rb] + (u - first[rb]) is dense.
    std::vector<int64_t> first(static_cast<size_t>(grid) + 1, n_users), count(grid, 0);
    for (int64_t u = n_users - 1; u >= 0; --u) first[row_of(u)] = u;
    for (int64_t rb = grid - 1; rb >= 0; --rb)  // an empty row block starts where the next does
      first[rb] = std::min(first[rb], first[rb + 1]);
    for (int64_t rb = 0; rb < grid; ++rb) count[rb] = first[rb + 1] - first[rb];
    auto key_of = [&](int64_t e) {
      const int64_t u = users[e], rb = row_of(u);
      return first[rb] * grid + col_of(items[e]) * count[rb] + (u - first[rb]);
    };
    std::vector<int64_t> next(static_cast<size_t>(n_users * grid) + 1, 0);
    for (int64_t e = 0; e < n; ++e) {
      ++next[key_of(e) + 1];
      ++block_ptr[row_of(users[e]) * grid + col_of(items[e]) + 1];
    }
    for (size_t x = 1; x < next.size(); ++x) next[x] += next[x - 1];
    for (int64_t b = 0; b < nb; ++b) block_ptr[b + 1] += block_ptr[b];
    for (int64_t e = 0; e < n; ++e) {
      const int64_t dst = next[key_of(e)]++;
      out_users[dst] = users[e];
      out_items[dst] = items[e];
      out_ratings[dst] = ratings[e];
    }
  } else {
    // very many users: counting sort by user, then a stable counting sort by block
    std::vector<int64_t> user_ptr(static_cast<size_t>(n_users) + 1, 0);
    for (int64_t e = 0; e < n; ++e) ++user_ptr[users[e] + 1];
    for (int64_t u = 0; u < n_users; ++u) user_ptr[u + 1] += user_ptr[u];
    std::vector<int64_t> by_user(static_cast<size_t>(n));
    {
      std::vector<int64_t> next(user_ptr.begin(), user_ptr.end() - 1);
      for (int64_t e = 0; e < n; ++e) by_user[next[users[e]]++] = e;
    }
    auto block_of = [&](int64_t e) { return row_of(users[e]) * grid + col_of(items[e]); };
    for (int64_t e = 0; e < n; ++e) ++block_ptr[block_of(e) + 1];
    for (int64_t b = 0; b < nb; ++b) block_ptr[b + 1] += block_ptr[b];
    std::vector<int64_t> next(block_ptr, block_ptr + nb);
    for (int64_t x = 0; x < n; ++x) {
      const int64_t e = by_user[x];
      const int64_t dst = next[block_of(e)]++;
      out_users[dst] = users[e];
      out_items[dst] = items[e];
      out_ratings[dst] = ratings[e];
    }
  }
  // pass 3: sort each user's run inside each block by item; count repeated pairs; then
  // interleave the runs of `ways` consecutive users (u1 r1, u2 r1, u1 r2, ...), so that the
  // next update rarely depends on the one before (the CPU overlaps independent chains).
  std::vector<int64_t> dups(static_cast<size_t>(nb), 0);
  const int64_t w = std::max<int64_t>(1, ways);
  parallel_for(n_threads, nb, 1, [&](int64_t b0, int64_t b1) {
    std::vector<std::pair<int32_t, T>> run;
    std::vector<int64_t> starts;
    std::vector<int32_t> tu, ti;
    std::vector<T> tr;
    for (int64_t b = b0; b < b1; ++b) {
      int64_t s = block_ptr[b];
      const int64_t end = block_ptr[b + 1];
      starts.clear();
      while (s < end) {
        starts.push_back(s);
        int64_t t = s + 1;
        while (t < end && out_users[t] == out_users[s]) ++t;
        run.clear();
        for (int64_t x = s; x < t; ++x) run.emplace_back(out_items[x], out_ratings[x]);
        std::stable_sort(run.begin(), run.end(),
                         [](const auto& a, const auto& c) { return a.first < c.first; });
        for (int64_t x = s; x < t; ++x) {
          out_items[x] = run[x - s].first;
          out_ratings[x] = run[x - s].second;
          if (x > s && out_items[x] == out_items[x - 1]) ++dups[b];
        }
        s = t;
      }
      if (w == 1 || starts.size() < 2) continue;
      starts.push_back(end);
      const int64_t len = end - block_ptr[b];
      tu.resize(len);
      ti.resize(len);
      tr.resize(len);
      int64_t o = 0;
      const int64_t n_runs = int64_t(starts.size()) - 1;
      for (int64_t g = 0; g < n_runs; g += w) {
        const int64_t ge = std::min(n_runs, g + w);
        int64_t longest = 0;
        for (int64_t q = g; q < ge; ++q) longest = std::max(longest, starts[q + 1] - starts[q]);
        for (int64_t step = 0; step < longest; ++step)
          for (int64_t q = g; q < ge; ++q) {
            const int64_t x = starts[q] + step;
            if (x < starts[q + 1]) {
              tu[o] = out_users[x];
              ti[o] = out_items[x];
              tr[o] = out_ratings[x];
              ++o;
            }
          }
      }
      std::copy(tu.begin(), tu.end(), out_users + block_ptr[b]);
      std::copy(ti.begin(), ti.end(), out_items + block_ptr[b]);
      std::copy(tr.begin(), tr.end(), out_ratings + block_ptr[b]);
    }
  });
  int64_t total = 0;
  for (int64_t d : dups) total += d;
  return total;
}

void group_by_row(const int32_t* rows, const int32_t* cols, int64_t n, int64_t n_rows,
                  int64_t* row_ptr, int32_t* out_cols) {
  std::fill(row_ptr, row_ptr + n_rows + 1, int64_t{0});
  for (int64_t e = 0; e < n; ++e) ++row_ptr[rows[e] + 1];
  for (int64_t r = 0; r < n_rows; ++r) row_ptr[r + 1] += row_ptr[r];
  std::vector<int64_t> next(row_ptr, row_ptr + n_rows);
  for (int64_t e = 0; e < n; ++e) out_cols[next[rows[e]]++] = cols[e];
}

#define HARPDAAL_MF_INST(T)                                                                     \
  template int64_t bucket<T>(const int32_t*, const int32_t*, const T*, int64_t, int64_t,        \
                             int64_t, int64_t, int32_t*, int32_t*, T*, int64_t*, int, int);           \
  template void train_block<T>(const int32_t*, const int32_t*, const T*, int64_t, int64_t,      \
                               Factors<T>, Factors<T>, int64_t, int64_t, const Params<T>&);      \
  template void train_grid<T>(const int32_t*, const int32_t*, const T*, const int64_t*, int64_t, \
                              const int32_t*, Factors<T>, Factors<T>, int64_t, int64_t,          \
                              const Params<T>&, int);                                            \
  template void predict<T>(const int32_t*, const int32_t*, int64_t, const T*, const T*,         \
                           const T*, const T*, int64_t, int64_t, T, T*, int);                    \
  template double sum_squared_error<T>(const int32_t*, const int32_t*, const T*, int64_t,       \
                                       const T*, const T*, const T*, const T*, int64_t, int64_t, \
                                       T, int);
HARPDAAL_MF_INST(float)
HARPDAAL_MF_INST(double)
#undef HARPDAAL_MF_INST

}  // namespace harpdaal::kernels::mf_sgd
