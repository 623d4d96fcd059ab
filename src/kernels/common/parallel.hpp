// Thread control for kernels: every kernel takes n_threads and runs inside its own TBB arena,
// so harpdaal never uses more threads than asked for (n_threads <= 0 means all cores).
#pragma once
#include <cstdint>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

namespace harpdaal::kernels {

inline int resolve_threads(int n_threads) {
  int hw = oneapi::tbb::info::default_concurrency();
  if (n_threads <= 0 || n_threads > 4096) return hw;
  return n_threads;
}

// Run fn(begin, end) over [0, n) in chunks of at least `grain`, on n_threads threads.
template <class Fn>
void parallel_for(int n_threads, int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  int nt = resolve_threads(n_threads);
  if (nt == 1 || n <= grain) {
    fn(int64_t{0}, n);
    return;
  }
  oneapi::tbb::task_arena arena(nt);
  arena.execute([&] {
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<int64_t>(0, n, grain > 0 ? grain : 1),
        [&](const oneapi::tbb::blocked_range<int64_t>& r) { fn(r.begin(), r.end()); });
  });
}

}  // namespace harpdaal::kernels
