#include "kernels/mf_sgd/mf_sgd.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
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
HARPDAAL_DECLARE_MF(avx512f)
HARPDAAL_DECLARE_MF(avx512)
#undef HARPDAAL_DECLARE_MF

namespace {
template <class T>
using BlockFn = void (*)(const int32_t*, const int32_t*, const T*, int64_t, int64_t, Factors<T>,
                         Factors<T>, int64_t, int64_t, const Params<T>&);
template <class T>
BlockFn<T> block_fn() {
  return dispatch<BlockFn<T>>(&generic::train_block<T>, &avx2::train_block<T>,
                              &avx512f::train_block<T>, &avx512::train_block<T>);
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
  if (params.dynamic) {
    std::mutex mtx;
    std::condition_variable freed;
    std::vector<char> row_busy(grid, 0), col_busy(grid, 0), taken(grid * grid, 0);
    int64_t left = grid * grid;
    auto worker = [&] {
      std::unique_lock<std::mutex> lock(mtx);
      while (left > 0) {
        int64_t pick_t = -1, pick_i = -1;
        for (int64_t t = 0; t < grid && pick_t < 0; ++t)
          for (int64_t i = 0; i < grid; ++i) {
            const int64_t j = col_order[(i + t) % grid];
            if (!taken[i * grid + j] && !row_busy[i] && !col_busy[j]) {
              pick_t = t;
              pick_i = i;
              break;
            }
          }
        if (pick_t < 0) {
          freed.wait(lock);
          continue;
        }
        const int64_t j = col_order[(pick_i + pick_t) % grid];
        taken[pick_i * grid + j] = 1;
        row_busy[pick_i] = col_busy[j] = 1;
        --left;
        lock.unlock();
        run_block(pick_t, pick_i);
        lock.lock();
        row_busy[pick_i] = col_busy[j] = 0;
        freed.notify_all();
      }
    };
    std::vector<std::thread> pool;
    for (int w = 1; w < nt; ++w) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
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
                       &avx512f::predict_range<T>, &avx512::predict_range<T>);
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
  Fn fn = dispatch<Fn>(&generic::sse_range<T>, &avx2::sse_range<T>, &avx512f::sse_range<T>,
                       &avx512::sse_range<T>);
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

namespace {
// The bucketing behind bucket() and bucket_relabel(): user_of(e), item_of(e) and rating_of(e)
// give rating e's (work) user, item and training value.
template <class T, class UserOf, class ItemOf, class RatingOf>
int64_t bucket_impl(int64_t n, UserOf user_of, ItemOf item_of, RatingOf rating_of,
                    int64_t n_users, int64_t n_items, int64_t grid, int32_t* out_users,
                    int32_t* out_items, T* out_ratings, int64_t* block_ptr, int ways,
                    int n_threads) {
  const int64_t nb = grid * grid;
  std::fill(block_ptr, block_ptr + nb + 1, int64_t{0});
  if (n == 0) return 0;
  // block of each user / item, tabulated once (no divisions per rating)
  std::vector<int32_t> row_of(static_cast<size_t>(n_users)), col_of(static_cast<size_t>(n_items));
  for (int64_t u = 0; u < n_users; ++u) row_of[u] = int32_t(u * grid / n_users);
  for (int64_t i = 0; i < n_items; ++i) col_of[i] = int32_t(i * grid / n_items);
  const int32_t* rowp = row_of.data();
  const int32_t* colp = col_of.data();
  auto block_of = [&](int64_t e) { return int64_t(rowp[user_of(e)]) * grid + colp[item_of(e)]; };
  // pass 1: stable counting sort by block into scratch, in parallel over a fixed number of
  // input chunks (chunk c writes its part of every block after chunks < c: the same order as a
  // serial pass, whatever the thread count)
  const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(16, n / 65536));
  const int64_t chunk = (n + n_chunks - 1) / n_chunks;
  std::vector<int64_t> counts(static_cast<size_t>(n_chunks * nb), 0);
  parallel_for(n_threads, n_chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      int64_t* h = counts.data() + c * nb;
      for (int64_t e = c * chunk, end = std::min(n, (c + 1) * chunk); e < end; ++e) ++h[block_of(e)];
    }
  });
  {
    int64_t pos = 0;
    for (int64_t b = 0; b < nb; ++b) {
      block_ptr[b] = pos;
      for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t cnt = counts[c * nb + b];
        counts[c * nb + b] = pos;  // now: chunk c's next slot in block b
        pos += cnt;
      }
    }
    block_ptr[nb] = pos;
  }
  // pass 1 scatters straight into the outputs: pass 2 copies each block into block-local
  // scratch before writing the block's final order back over the same range, so no full-size
  // scratch is needed (it cost 12 bytes per rating of allocation, page faults and traffic).
  // The outputs must not overlap the inputs (the bindings check).
  int32_t* tu = out_users;
  int32_t* ti = out_items;
  T* tr = out_ratings;
  parallel_for(n_threads, n_chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      int64_t* next = counts.data() + c * nb;
      for (int64_t e = c * chunk, end = std::min(n, (c + 1) * chunk); e < end; ++e) {
        const int32_t u = user_of(e), i = item_of(e);
        const int64_t dst = next[int64_t(rowp[u]) * grid + colp[i]]++;
        tu[dst] = u;
        ti[dst] = i;
        tr[dst] = rating_of(e);
      }
    }
  });
  // pass 2, per block in parallel: a counting sort by item into block-local scratch, then a
  // counting sort by user (stable: each user's ratings stay in item order), then the block's
  // users are dealt onto `ways` slots and the slots emit one rating each per round, slot 0
  // first: a slot whose user runs out takes the next user (in user order) for the next round.
  // Consecutive updates then belong to different users (the CPU overlaps them, and the kernel
  // trains `ways` of them in lockstep) while only `ways` users' rows are live at a time. Runs
  // of w fixed users instead left 41% of consecutive W-MF ratings on the same user (power-law
  // counts: one heavy user outlives the rest of its run). ways = 1: plain (user, item) order.
  // Users of row block rb are the contiguous range [ufirst[rb], ufirst[rb + 1]) (items
  // likewise), so every table below is small and block-local. In item order a user's items
  // arrive non-decreasing, so a repeated pair is an item equal to the user's previous one.
  // The scratch holds (user, item, rating) records: each scattered rating writes one record
  // (one or two cache lines) instead of one entry in each of three arrays (three lines);
  // bucket_relabel on W-MF ran ~17% faster with them.
  auto firsts = [](int64_t count, int64_t g, const int32_t* part_of) {
    std::vector<int64_t> first(static_cast<size_t>(g) + 1, count);
    for (int64_t x = count - 1; x >= 0; --x) first[part_of[x]] = x;
    for (int64_t p = g - 1; p >= 0; --p) first[p] = std::min(first[p], first[p + 1]);
    return first;  // an empty part starts where the next one does
  };
  const std::vector<int64_t> ufirst = firsts(n_users, grid, rowp);
  const std::vector<int64_t> ifirst = firsts(n_items, grid, colp);
  const int64_t w = std::max<int64_t>(1, ways);
  struct Rec {
    int32_t u, i;
    T r;
  };
  std::vector<int64_t> dups(static_cast<size_t>(nb), 0);
  parallel_for(n_threads, nb, 1, [&](int64_t b0, int64_t b1) {
    std::vector<int64_t> hist, uptr, slot_next, slot_end;
    std::vector<Rec> tmp, rec;  // by item, then by user
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t beg = block_ptr[b], len = block_ptr[b + 1] - beg;
      if (len == 0) continue;
      const int64_t ulo = ufirst[b / grid], uw = ufirst[b / grid + 1] - ulo;
      const int64_t ilo = ifirst[b % grid], iw = ifirst[b % grid + 1] - ilo;
      rec.resize(static_cast<size_t>(len));
      tmp.resize(static_cast<size_t>(len));
      hist.assign(static_cast<size_t>(iw) + 1, 0);
      uptr.assign(static_cast<size_t>(uw) + 1, 0);
      for (int64_t x = beg; x < beg + len; ++x) {
        ++hist[ti[x] - ilo + 1];
        ++uptr[tu[x] - ulo + 1];
      }
      for (int64_t a = 0; a < iw; ++a) hist[a + 1] += hist[a];
      for (int64_t a = 0; a < uw; ++a) uptr[a + 1] += uptr[a];
      for (int64_t x = beg; x < beg + len; ++x)
        tmp[hist[ti[x] - ilo]++] = Rec{tu[x], ti[x], tr[x]};
      // from here on the block lives in scratch: out[beg, beg + len) may be overwritten
      for (int64_t x = 0; x < len; ++x) rec[uptr[tmp[x].u - ulo]++] = tmp[x];  // by user
      // uptr[a] is now the end of user a's run (the start of user a + 1's)
      int64_t block_dups = 0;
      for (int64_t d = 1; d < len; ++d)
        block_dups += rec[d].u == rec[d - 1].u && rec[d].i == rec[d - 1].i;
      dups[b] = block_dups;
      int64_t next_user = 0;  // next user (block-local) not yet dealt
      auto deal = [&](int64_t& at, int64_t& end) {
        while (next_user < uw) {
          const int64_t a = next_user++;
          const int64_t first = a == 0 ? 0 : uptr[a - 1];
          if (uptr[a] > first) {
            at = first;
            end = uptr[a];
            return;
          }
        }
        at = end = 0;  // no user left: the slot stays empty
      };
      slot_next.assign(static_cast<size_t>(w), 0);
      slot_end.assign(static_cast<size_t>(w), 0);
      for (int64_t s = 0; s < w; ++s) deal(slot_next[s], slot_end[s]);
      int64_t out = beg;
      while (out < beg + len) {
        for (int64_t s = 0; s < w; ++s) {
          if (slot_next[s] == slot_end[s]) continue;
          const Rec& v = rec[slot_next[s]++];
          out_users[out] = v.u;
          out_items[out] = v.i;
          out_ratings[out] = v.r;
          ++out;
          if (slot_next[s] == slot_end[s]) deal(slot_next[s], slot_end[s]);
        }
      }
    }
  });
  int64_t total = 0;
  for (int64_t d : dups) total += d;
  return total;
}
}  // namespace

template <class T>
int64_t bucket(const int32_t* users, const int32_t* items, const T* ratings, int64_t n,
               int64_t n_users, int64_t n_items, int64_t grid, int32_t* out_users,
               int32_t* out_items, T* out_ratings, int64_t* block_ptr, int ways,
               int n_threads) {
  return bucket_impl<T>(
      n, [users](int64_t e) { return users[e]; }, [items](int64_t e) { return items[e]; },
      [ratings](int64_t e) { return ratings[e]; }, n_users, n_items, grid, out_users, out_items,
      out_ratings, block_ptr, ways, n_threads);
}

int64_t bucket_relabel(const int32_t* users, const int32_t* items, const double* ratings,
                       int64_t n, const int32_t* user_perm, const int32_t* item_perm,
                       int64_t n_users, int64_t n_items, double shift, double scale,
                       int64_t grid, int32_t* out_users, int32_t* out_items, float* out_ratings,
                       int64_t* block_ptr, int ways, int n_threads) {
  return bucket_impl<float>(
      n, [=](int64_t e) { return user_perm[users[e]]; },
      [=](int64_t e) { return item_perm[items[e]]; },
      [=](int64_t e) { return float((ratings[e] - shift) / scale); }, n_users, n_items, grid,
      out_users, out_items, out_ratings, block_ptr, ways, n_threads);
}

void seen_lists(const int32_t* users, const int32_t* items, int64_t n, const int32_t* user_perm,
                const int32_t* item_inverse, int64_t n_users, int64_t* row_ptr,
                int32_t* out_items) {
  // group by work user first (bucketed ratings are grouped by row block, i.e. by ranges of
  // work users, so these writes stay within one row block's range), then move each work
  // user's list to its internal user's place
  std::vector<int64_t> wptr(static_cast<size_t>(n_users) + 1, 0);
  for (int64_t e = 0; e < n; ++e) ++wptr[users[e] + 1];
  for (int64_t u = 0; u < n_users; ++u) wptr[u + 1] += wptr[u];
  std::vector<int32_t> grouped(static_cast<size_t>(n));
  {
    std::vector<int64_t> next(wptr.begin(), wptr.end() - 1);
    for (int64_t e = 0; e < n; ++e) grouped[next[users[e]]++] = item_inverse[items[e]];
  }
  row_ptr[0] = 0;
  for (int64_t x = 0; x < n_users; ++x) {
    const int64_t w = user_perm[x];
    row_ptr[x + 1] = row_ptr[x] + (wptr[w + 1] - wptr[w]);
  }
  for (int64_t x = 0; x < n_users; ++x) {
    const int64_t w = user_perm[x];
    std::copy(grouped.begin() + wptr[w], grouped.begin() + wptr[w + 1], out_items + row_ptr[x]);
  }
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
