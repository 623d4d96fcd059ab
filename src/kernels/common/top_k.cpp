#include "kernels/common/top_k.hpp"

#include <algorithm>
#include <vector>

#include "kernels/common/parallel.hpp"

namespace harpdaal::kernels::common {

namespace {

// (score, column) pairs ordered best first: higher score, then lower column.
template <class T>
struct Entry {
  T score;
  int32_t id;
};

template <class T>
inline bool better(const Entry<T>& a, const Entry<T>& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

template <class T>
void top_k_row(const T* s, int64_t n, int64_t k, Entry<T>* heap, int32_t* ids, T* best) {
  // A heap whose top is the worst of the kept entries (std heap with `better` as "less").
  auto cmp = [](const Entry<T>& a, const Entry<T>& b) { return better(a, b); };
  for (int64_t j = 0; j < k; ++j) heap[j] = {s[j], static_cast<int32_t>(j)};
  std::make_heap(heap, heap + k, cmp);
  T worst = heap[0].score;
  for (int64_t j = k; j < n; ++j) {
    // columns arrive in increasing order, so a tie with the worst never displaces it
    if (!(s[j] > worst)) continue;
    std::pop_heap(heap, heap + k, cmp);
    heap[k - 1] = {s[j], static_cast<int32_t>(j)};
    std::push_heap(heap, heap + k, cmp);
    worst = heap[0].score;
  }
  std::sort(heap, heap + k, cmp);
  for (int64_t j = 0; j < k; ++j) {
    ids[j] = heap[j].id;
    best[j] = heap[j].score;
  }
}

}  // namespace

template <class T>
void top_k_rows(const T* scores, int64_t m, int64_t n, int64_t k, int32_t* ids, T* best,
                int n_threads) {
  if (m <= 0 || k <= 0) return;
  parallel_for(n_threads, m, 16, [&](int64_t lo, int64_t hi) {
    std::vector<Entry<T>> heap(static_cast<size_t>(k));
    for (int64_t r = lo; r < hi; ++r)
      top_k_row(scores + r * n, n, k, heap.data(), ids + r * k, best + r * k);
  });
}

template void top_k_rows<float>(const float*, int64_t, int64_t, int64_t, int32_t*, float*, int);
template void top_k_rows<double>(const double*, int64_t, int64_t, int64_t, int32_t*, double*,
                                 int);

}  // namespace harpdaal::kernels::common
