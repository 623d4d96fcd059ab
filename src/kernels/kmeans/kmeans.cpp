#include "kernels/kmeans/kmeans.hpp"

#include <mkl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <oneapi/tbb/enumerable_thread_specific.h>

#include "kernels/common/isa.hpp"
#include "kernels/common/parallel.hpp"
#include "kernels/kmeans/kmeans_ops.hpp"

namespace harpdaal::kernels::kmeans {

namespace {

// The active ISA's bodies, chosen once per kernel call.
template <class T>
Ops<T> active_ops() {
  return dispatch(&generic::ops<T>, &avx2::ops<T>, &avx512f::ops<T>, &avx512::ops<T>)();
}

constexpr int64_t kFusedRows = 60;  // rows per parallel block (fused): a multiple of 6 and 4
constexpr int64_t kSmallKBlockBytes = 24 * 1024;  // row block of the row-dot tile (uses_row_dot)
constexpr int64_t kGemmScratchElems = 1 << 15;   // rows x k values per gemm block (~128 KB f32)

int64_t gemm_rows(int64_t k) {
  return std::clamp<int64_t>(kGemmScratchElems / std::max<int64_t>(k, 1), 8, 512);
}

}  // namespace

// The row-dot tile (k < 16, wide rows): a fused block small enough to stay in L1 between the
// distance pass and the accumulate pass (a multiple of 4 rows, the dot tile's height).
int64_t lloyd_block_rows(Method method, int64_t d, int64_t k, int64_t elem_bytes) {
  if (method != Method::fused) return gemm_rows(k);
  if (!uses_row_dot(d, k)) return kFusedRows;
  return std::clamp<int64_t>(kSmallKBlockBytes / (std::max<int64_t>(d, 1) * elem_bytes) / 4 * 4,
                             4, kFusedRows);
}

int64_t lloyd_chunks(int64_t n, int64_t n_blocks, int64_t k, int n_threads) {
  const int64_t nt = resolve_threads(n_threads);
  const int64_t by_rows = n / (8 * std::max<int64_t>(k, 1));
  const int64_t c = std::min<int64_t>({n_blocks, 16 * nt, std::max<int64_t>(nt, by_rows)});
  return std::max<int64_t>(1, c);
}

namespace {

// MKL is linked sequential and statically; the int sizes are lp64.
void gemm_nt(int64_t m, int64_t n, int64_t kk, float alpha, const float* a, const float* b,
             float beta, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(kk), alpha, a,
              int(kk), b, int(kk), beta, c, int(n));
}
void gemm_nt(int64_t m, int64_t n, int64_t kk, double alpha, const double* a, const double* b,
             double beta, double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(kk), alpha, a,
              int(kk), b, int(kk), beta, c, int(n));
}

template <class T>
std::vector<T> center_sq_norms(const T* centers, int64_t k, int64_t d) {
  std::vector<T> cn(size_t(k), T(0));
  for (int64_t j = 0; j < k; ++j) {
    T acc = 0;
    for (int64_t f = 0; f < d; ++f) acc += centers[j * d + f] * centers[j * d + f];
    cn[size_t(j)] = acc;
  }
  return cn;
}

void check_sizes(int64_t n, int64_t d, int64_t k) {
  if (n < 0 || d < 1 || k < 1) throw std::invalid_argument("kmeans: need n >= 0, d >= 1, k >= 1");
  if (k > (int64_t(1) << 24) || d > (int64_t(1) << 30) || n > (int64_t(1) << 31) - 1)
    throw std::invalid_argument("kmeans: sizes out of range (k <= 2^24, n < 2^31)");
}

// Labels and the per-row "gap" of one row block, by the chosen method. gap_is_half: see
// accumulate_rows. Shared by lloyd_partial and assign.
template <class T>
struct Assigner {
  const Ops<T>& ops;
  Method method;
  const T* x;
  int64_t n;
  int64_t d;
  const T* centers;
  int64_t k;
  const T* packed;     // fused
  const T* cn;         // gemm
  int64_t block_rows;  // rows per parallel block
  const T* shift;      // null, or x is used as x - shift (centred block by block)
  const int64_t* index = nullptr;  // null, or row i is x[index[i]] (gathered block by block)
  // A tile that takes a shift (ops.fused_takes_shift: the row-dot tile, or AVX-512's lane rows),
  // a shift and no index, for a caller that passes the shift on to accumulate as well: the tile
  // and accumulate read x and subtract the shift as they load it
  // (the same values as the centred buffer), so no block is copied. Fashion-mnist, k = 10,
  // 1 thread: 73 ms per Lloyd step with the buffer against 44 ms without a shift at all; the
  // copy's stores and the buffer's share of L1 (with 31 KB of centers) cost the difference.
  bool inline_shift = false;

  bool buffered() const { return (shift && !inline_shift) || index; }

  int64_t work_size() const {
    return method == Method::fused ? ops.scratch(block_rows, d) : block_rows * k;
  }
  // [gap: block_rows][rows: block_rows * d, only with a shift or an index][work]
  int64_t scratch_size() const {
    return block_rows + (buffered() ? block_rows * d : 0) + work_size();
  }
  // The rows [b, e) as the kernels see them: x itself, or x - shift written into scratch
  // (the same values as a centred copy of x, one L1-sized block at a time), or the indexed
  // rows gathered into scratch (the values of a gathered copy).
  const T* rows(int64_t b, int64_t e, T* scratch) const {
    if (!buffered()) return x + b * d;
    T* xs = scratch + block_rows;
    if (!index) {
      shift_rows(x + b * d, e - b, d, shift, xs);
      return xs;
    }
    for (int64_t i = b; i < e; ++i) {
      const T* src = x + index[i] * d;
      T* dst = xs + (i - b) * d;
      if (shift)
        shift_rows(src, 1, d, shift, dst);
      else
        std::copy(src, src + d, dst);
    }
    return xs;
  }
  // Rows [b, e) (e - b <= block_rows), xb = rows(b, e, scratch). Returns gap in
  // scratch[0 .. e-b). With a shift, xb is the centred L1 buffer: the fused tile then
  // prefetches the raw rows of the next block (from e on) while it computes this one.
  const T* run(const T* xb, int64_t b, int64_t e, int32_t* labels, T* scratch) const {
    // (The address only: it may lie past the end of x.) Row-dot tile: two blocks ahead (its blocks
    // are ~12 KB; 1 thread, fashion-mnist fit compute 0.035-0.040 s/iter vs 0.038-0.042 one
    // block ahead and 0.042-0.043 without); otherwise the next block (200k x 64, k=100:
    // 0.031 vs 0.035 without, 0.036-0.044 two ahead), by CPU time, interleaved.
    const int64_t ahead = (uses_row_dot(d, k) ? 1 : 0) * block_rows;
    const T* pf = shift && !index && !inline_shift && e < n
                      ? reinterpret_cast<const T*>(reinterpret_cast<uintptr_t>(x + e * d) +
                                                   uintptr_t(ahead * d * int64_t(sizeof(T))))
                      : nullptr;
    const int64_t rows = e - b;
    T* gap = scratch;
    T* work = scratch + block_rows + (buffered() ? block_rows * d : 0);
    if (method == Method::fused) {
      ops.fused(xb, rows, d, packed, k, labels + b, gap, work, pf, inline_shift ? shift : nullptr);
    } else {
      for (int64_t i = 0; i < rows; ++i) std::copy(cn, cn + k, work + i * k);
      gemm_nt(rows, k, d, T(-2), xb, centers, T(1), work);
      ops.argmin(work, rows, k, labels + b, gap);
    }
    return gap;
  }
};

template <class T>
Method resolve(Method m, int64_t d, int64_t k) {
  if (m == Method::automatic) return choose_method(d, k, std::is_same_v<T, double>);
  if (m != Method::fused && m != Method::gemm) throw std::invalid_argument("kmeans: bad method");
  return m;
}

template <class T>
struct AssignerStorage {
  std::vector<T> packed, cn;
  int64_t k = -1, d = -1;  // of the packed layout
};

// What one Lloyd step allocates, kept by lloyd_iterations from step to step: the packed centers
// and the chunks' float64 partials (k (d + 1) values per chunk: 2 x 16 MB at k = 1000,
// d = 2048, above glibc's largest mmap threshold, so every step mapped, faulted in and
// unmapped them again).
template <class T>
struct StepWork {
  AssignerStorage<T> storage;
  std::unique_ptr<double[]> part;
  size_t part_size = 0;
  double* partials(size_t size) {
    if (size > part_size) {
      part.reset();
      part.reset(new double[size]);
      part_size = size;
    }
    return part.get();
  }
};

// The centers in the fused tile's layout, tile ranges packed in parallel where there is enough
// of them (a transposition: at k = 1000, d = 2048 it is 8 MB, ~2 ms on one core, a step's
// worth of serial time between two parallel passes).
template <class T>
void pack_parallel(const Ops<T>& ops, const T* centers, int64_t k, int64_t d, T* packed,
                   int n_threads) {
  const int64_t nr = ops.tile_width();
  const int64_t units = uses_row_dot(d, k) ? 1 : (k + nr - 1) / nr;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / (nr * (d + 1)));
  parallel_for(n_threads, units, grain,
               [&](int64_t t0, int64_t t1) { ops.pack(centers, k, d, packed, t0, t1); });
}

// st may come from a previous call with the same k and d (lloyd_iterations keeps one for all
// its steps): the packed buffer is then reused as it is, since pack writes every value of the
// layout except the unused rows of a dot-last tile, which stay the zeros of the first call.
template <class T>
Assigner<T> make_assigner(const Ops<T>& ops, Method method, const T* x, int64_t n, int64_t d,
                          const T* centers, int64_t k, AssignerStorage<T>& st,
                          const T* shift, const int64_t* index = nullptr,
                          bool allow_inline_shift = false, int n_threads = 1) {
  Assigner<T> a{ops, method, x, n, d, centers, k, nullptr, nullptr, 0, shift, index};
  a.inline_shift =
      allow_inline_shift && method == Method::fused && shift && !index && ops.fused_takes_shift(d, k);
  if (method == Method::fused) {
    const int64_t nr = ops.tile_width();
    const size_t size = size_t(((k + nr - 1) / nr) * nr * (d + 1));
    if (st.packed.size() != size || st.k != k || st.d != d) st.packed.assign(size, T(0));
    st.k = k;
    st.d = d;
    pack_parallel(ops, centers, k, d, st.packed.data(), n_threads);
    a.packed = st.packed.data();
    // The row-dot tile (k < 16, wide rows): a block small enough to stay in L1 between the
    // distance pass and the accumulate pass (a multiple of 4 rows, the dot tile's height).
    a.block_rows = lloyd_block_rows(Method::fused, d, k, int64_t(sizeof(T)));
  } else {
    st.cn = center_sq_norms(centers, k, d);
    a.cn = st.cn.data();
    a.block_rows = lloyd_block_rows(Method::gemm, d, k, int64_t(sizeof(T)));
  }
  return a;
}

}  // namespace

Method choose_method(int64_t d, int64_t k, bool is_double) {
  (void)d;
  (void)is_double;
  (void)k;
  if (active_isa() == Isa::generic) return Method::gemm;
  return Method::fused;
}

namespace {
template <class T>
void lloyd_step(const T* x, int64_t n, int64_t d, const T* sample_weight, const T* centers,
                int64_t k, int32_t* labels, double* sums, double* weights, double* inertia,
                int n_threads, Method method, const T* shift, const int64_t* row_index,
                StepWork<T>& work) {
  const Ops<T> ops = active_ops<T>();
  const Assigner<T> assigner = make_assigner(ops, method, x, n, d, centers, k, work.storage,
                                             shift, row_index, true, n_threads);
  // One partial per fixed chunk of rows (not per thread), reduced in chunk order: the result
  // is bitwise identical from run to run for a given n_threads.
  const int64_t rb = assigner.block_rows;
  const int64_t n_blocks = (n + rb - 1) / rb;
  const int64_t n_chunks = lloyd_chunks(n, n_blocks, k, n_threads);
  const int64_t per_chunk = (n_blocks + n_chunks - 1) / n_chunks;
  // All the partials in one block, [chunk][k * d sums, then k weights], not one vector per
  // chunk: sixteen 51 KB vectors per call were freed to the top of the heap and trimmed, so
  // every call (every lloyd_fit iteration) page-faulted ~0.8 MB back in (clear_page was ~6%
  // of a 100k x 64, k=100 step). One allocation this size is reused by malloc from call to
  // call. Each chunk zeroes its own partial (uninitialised here, touched by its thread).
  const int64_t stride = k * d + k;
  double* const part = work.partials(size_t(n_chunks * stride));
  std::vector<double> part_inertia(static_cast<size_t>(n_chunks), 0.0);
  oneapi::tbb::enumerable_thread_specific<std::vector<T>> scratch(
      [&] { return std::vector<T>(size_t(assigner.scratch_size())); });
  const bool grouped = method == Method::fused && ops.groups_rows(d, k);
  oneapi::tbb::enumerable_thread_specific<RowGroupStore> group_store;
  parallel_for(n_threads, n_chunks, 1, [&](int64_t c0, int64_t c1) {
    std::vector<T>& s = scratch.local();
    for (int64_t c = c0; c < c1; ++c) {
      double* ps = part + c * stride;
      double* pw = ps + k * d;
      std::fill(ps, ps + stride, 0.0);
      RowGroups groups{};
      if (grouped) groups = group_store.local().open(k, d);
      const int64_t blk_end = std::min(n_blocks, (c + 1) * per_chunk);
      for (int64_t blk = c * per_chunk; blk < blk_end; ++blk) {
        const int64_t b = blk * rb, e = std::min(n, b + rb);
        const T* xb = assigner.rows(b, e, s.data());
        const T* gap = assigner.run(xb, b, e, labels, s.data());
        ops.accumulate(xb, e - b, d, sample_weight ? sample_weight + b : nullptr,
                       labels + b, gap, method == Method::fused, ps, pw,
                       inertia ? &part_inertia[size_t(c)] : nullptr,
                       assigner.inline_shift ? shift : nullptr, grouped ? &groups : nullptr);
      }
      if (grouped) flush_groups(groups, k, d, ps);
    }
  });
  // The chunks' sums in chunk order, element ranges in parallel (each value is 0 + chunk 0 +
  // chunk 1 + ..., the same bits whatever the ranges). Serial, the reduction and the zeroing
  // were ~3 ms of a 40 ms step at k = 1000, d = 2048 (2 x 16 MB of partials) with one core idle.
  parallel_for(n_threads, stride, int64_t(1) << 15, [&](int64_t i0, int64_t i1) {
    // out[i - base] for the partials' values i in [j0, j1)
    auto add_up = [&](double* out, int64_t base, int64_t j0, int64_t j1) {
      if (j1 <= j0) return;
      double* o = out + (j0 - base);
      const int64_t m = j1 - j0;
      std::fill(o, o + m, 0.0);
      for (int64_t c = 0; c < n_chunks; ++c) {
        const double* ps = part + c * stride + j0;
        for (int64_t i = 0; i < m; ++i) o[i] += ps[i];
      }
    };
    const int64_t kd = k * d;
    add_up(sums, 0, i0, std::min(i1, kd));
    add_up(weights, kd, std::max(i0, kd), i1);
  });
  double total = 0;
  for (int64_t c = 0; c < n_chunks; ++c) total += part_inertia[size_t(c)];
  if (inertia) *inertia = total;
}
}  // namespace

template <class T>
void lloyd_partial(const T* x, int64_t n, int64_t d, const T* sample_weight, const T* centers,
                   int64_t k, int32_t* labels, double* sums, double* weights, double* inertia,
                   int n_threads, Method method, const T* shift, const int64_t* row_index) {
  check_sizes(n, d, k);
  method = resolve<T>(method, d, k);
  StepWork<T> work;
  lloyd_step<T>(x, n, d, sample_weight, centers, k, labels, sums, weights, inertia, n_threads,
                method, shift, row_index, work);
}

namespace {
// assign; with `exact`, sq_dist[i] is the direct ||x_i - c||^2 of assigned_sq_dist (the same
// kernel and values), computed while the row block is still in L1: no second pass over x.
template <class T>
void assign_impl(const T* x, int64_t n, int64_t d, const T* centers, int64_t k, int32_t* labels,
                 T* sq_dist, int n_threads, Method method, const T* shift, bool exact) {
  check_sizes(n, d, k);
  const Ops<T> ops = active_ops<T>();
  method = resolve<T>(method, d, k);
  AssignerStorage<T> storage;
  const Assigner<T> assigner =
      make_assigner(ops, method, x, n, d, centers, k, storage, shift, nullptr, false, n_threads);
  oneapi::tbb::enumerable_thread_specific<std::vector<T>> scratch(
      [&] { return std::vector<T>(size_t(assigner.scratch_size())); });
  const int64_t rb = assigner.block_rows;
  const int64_t n_blocks = (n + rb - 1) / rb;
  parallel_for(n_threads, n_blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<T>& s = scratch.local();
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t b = blk * rb, e = std::min(n, b + rb);
      const T* xb = assigner.rows(b, e, s.data());
      const T* gap = assigner.run(xb, b, e, labels, s.data());
      if (!sq_dist) continue;
      if (exact) {
        ops.assigned(xb, 0, e - b, d, centers, labels + b, sq_dist + b);
        continue;
      }
      for (int64_t i = b; i < e; ++i) {
        const T* row = xb + (i - b) * d;
        T nrm = 0;
        for (int64_t f = 0; f < d; ++f) nrm += row[f] * row[f];
        T dist = method == Method::fused ? nrm - T(2) * gap[i - b] : nrm + gap[i - b];
        sq_dist[i] = dist > 0 ? dist : T(0);
      }
    }
  });
}
}  // namespace

template <class T>
void assign(const T* x, int64_t n, int64_t d, const T* centers, int64_t k, int32_t* labels,
            T* sq_dist, int n_threads, Method method, const T* shift) {
  assign_impl<T>(x, n, d, centers, k, labels, sq_dist, n_threads, method, shift, false);
}

// In double whatever T (as scikit-learn's euclidean_distances upcasts float32 in chunks):
// ||x||^2 - 2 x.c + ||c||^2 in float loses the small distances to cancellation (a point near a
// center came out 2e-3 from it in float32 against ~0 in float64).
template <class T>
void distances(const T* x, int64_t n, int64_t d, const T* centers, int64_t k, T* out,
               bool squared, int n_threads) {
  check_sizes(n, d, k);
  constexpr bool upcast = !std::is_same_v<T, double>;  // double data is read where it lies
  std::vector<double> c_up;
  const double* c64 = nullptr;
  if constexpr (upcast) {
    c_up.assign(centers, centers + k * d);
    c64 = c_up.data();
  } else {
    c64 = centers;
  }
  const std::vector<double> cn = center_sq_norms(c64, k, d);
  const int64_t rb = gemm_rows(k);
  const int64_t n_blocks = (n + rb - 1) / rb;
  parallel_for(n_threads, n_blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> xb(upcast ? static_cast<size_t>(rb * d) : 0);
    std::vector<double> ob(static_cast<size_t>(rb * k));
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t b = blk * rb, e = std::min(n, b + rb);
      const double* xd = nullptr;
      if constexpr (upcast) {
        std::copy(x + b * d, x + e * d, xb.begin());
        xd = xb.data();
      } else {
        xd = x + b * d;
      }
      for (int64_t i = b; i < e; ++i) std::copy(cn.begin(), cn.end(), ob.begin() + (i - b) * k);
      gemm_nt(e - b, k, d, -2.0, xd, c64, 1.0, ob.data());
      for (int64_t i = b; i < e; ++i) {
        const double* row = xd + (i - b) * d;
        double nrm = 0;
        for (int64_t f = 0; f < d; ++f) nrm += row[f] * row[f];
        const double* orow = ob.data() + (i - b) * k;
        T* o = out + i * k;
        for (int64_t j = 0; j < k; ++j) {
          double v = orow[j] + nrm;
          v = v > 0 ? v : 0.0;
          o[j] = T(squared ? v : std::sqrt(v));
        }
      }
    }
  });
}

template <class T>
void assigned_sq_dist(const T* x, int64_t n, int64_t d, const T* centers, int64_t k,
                      const int32_t* labels, T* out, int n_threads, const T* shift) {
  check_sizes(n, d, k);
  for (int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= k) throw std::invalid_argument("kmeans: label out of range");
  const Ops<T> ops = active_ops<T>();
  const int64_t grain = std::max<int64_t>(1, 16384 / d);
  if (!shift) {
    parallel_for(n_threads, n, grain,
                 [&](int64_t b, int64_t e) { ops.assigned(x, b, e, d, centers, labels, out); });
    return;
  }
  // Centred in blocks of rows (x - shift, then the same kernel on the block).
  const int64_t rb = std::max<int64_t>(1, std::min<int64_t>(grain, 64));
  const int64_t n_blocks = (n + rb - 1) / rb;
  oneapi::tbb::enumerable_thread_specific<std::vector<T>> scratch(
      [&] { return std::vector<T>(size_t(rb * d)); });
  parallel_for(n_threads, n_blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<T>& s = scratch.local();
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t b = blk * rb, e = std::min(n, b + rb);
      shift_rows(x + b * d, e - b, d, shift, s.data());
      ops.assigned(s.data(), 0, e - b, d, centers, labels + b, out + b);
    }
  });
}

template <class T>
void center(const T* x, int64_t n, int64_t d, T* out, T* mean, double* col_stats,
            int n_threads) {
  if (n < 1 || d < 1) throw std::invalid_argument("kmeans: center needs n >= 1, d >= 1");
  // out may be null: the mean and col_stats only (the kernels then take x with a shift).
  // At most 64 chunks (each with its own 2*d float64 partials), at least ~64 KB of f32 rows
  // each; the cut depends on n and d only, never on n_threads.
  const int64_t rows = std::max<int64_t>({int64_t(1), (int64_t(1) << 14) / d, (n + 63) / 64});
  const int64_t n_chunks = (n + rows - 1) / rows;
  std::vector<double> part(static_cast<size_t>(n_chunks * 2 * d), 0.0);
  parallel_for(n_threads, n_chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double* p = part.data() + c * 2 * d;
      for (int64_t i = c * rows, e = std::min(n, (c + 1) * rows); i < e; ++i)
#pragma GCC ivdep
        for (int64_t f = 0; f < d; ++f) p[f] += double(x[i * d + f]);
    }
  });
  std::vector<double> sum(static_cast<size_t>(d), 0.0);
  for (int64_t c = 0; c < n_chunks; ++c)
    for (int64_t f = 0; f < d; ++f) sum[size_t(f)] += part[size_t(c * 2 * d + f)];
  for (int64_t f = 0; f < d; ++f) mean[f] = T(sum[size_t(f)] / double(n));
  if (!out && !col_stats) return;  // the mean only (tol = 0 and no copy): one pass over x
  std::fill(part.begin(), part.end(), 0.0);
  parallel_for(n_threads, n_chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double* p = part.data() + c * 2 * d;
      double* q = p + d;
      for (int64_t i = c * rows, e = std::min(n, (c + 1) * rows); i < e; ++i) {
        T* o = out ? out + i * d : nullptr;
        const T* r = x + i * d;
#pragma GCC ivdep
        for (int64_t f = 0; f < d; ++f) {
          const T v = r[f] - mean[f];
          if (o) o[f] = v;
          if (col_stats) {
            p[f] += double(v);
            q[f] += double(v) * double(v);
          }
        }
      }
    }
  });
  if (!col_stats) return;
  std::fill(col_stats, col_stats + 2 * d, 0.0);
  for (int64_t c = 0; c < n_chunks; ++c)
    for (int64_t f = 0; f < 2 * d; ++f) col_stats[f] += part[size_t(c * 2 * d + f)];
}

template <class T>
IterationsResult lloyd_iterations(const T* x, int64_t n, int64_t d, const T* sample_weight,
                                  T* centers, int64_t k, int max_iter, double tol,
                                  int32_t* labels, int n_threads, Method method, const T* shift,
                                  double* inertia) {
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  check_sizes(n, d, k);
  if (n < 1) throw std::invalid_argument("kmeans: lloyd_iterations needs n >= 1");
  if (max_iter < 1) throw std::invalid_argument("kmeans: max_iter must be >= 1");
  if (!sample_weight) throw std::invalid_argument("kmeans: lloyd_iterations needs sample_weight");
  for (int64_t i = 0; i < n; ++i)
    if (labels[i] < -1 || labels[i] >= k)
      throw std::invalid_argument("kmeans: labels must be -1 or in [0, k)");
  method = resolve<T>(method, d, k);
  const auto t_start = clock::now();
  IterationsResult res;
  std::vector<int32_t> labels_old(labels, labels + n);
  std::vector<double> sums(static_cast<size_t>(k * d)), weights(static_cast<size_t>(k));
  std::vector<double> shift_of(static_cast<size_t>(k));  // each center's squared move
  std::vector<T> dist;  // farthest-point search
  std::vector<int64_t> order;
  StepWork<T> work;
  int it = 0;
  for (it = 0; it < max_iter; ++it) {
    const auto t0 = clock::now();
    lloyd_step<T>(x, n, d, sample_weight, centers, k, labels, sums.data(), weights.data(),
                  inertia ? inertia + it : nullptr, n_threads, method, shift, nullptr, work);
    res.compute_s += secs(t0, clock::now());
    const bool changed = !std::equal(labels, labels + n, labels_old.begin());
    // Empty clusters: the farthest points (scikit-learn's rule, as _relocate in Python).
    std::vector<int64_t> empty;
    for (int64_t j = 0; j < k; ++j)
      if (weights[size_t(j)] == 0) empty.push_back(j);
    if (!empty.empty()) {
      dist.resize(size_t(n));
      assigned_sq_dist<T>(x, n, d, centers, k, labels, dist.data(), n_threads, shift);
      const int64_t m = std::min<int64_t>(int64_t(empty.size()), n);
      order.resize(size_t(n));
      for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
      std::partial_sort(order.begin(), order.begin() + m, order.end(), [&](int64_t a, int64_t b) {
        return dist[size_t(a)] > dist[size_t(b)] || (dist[size_t(a)] == dist[size_t(b)] && a < b);
      });
      if (dist[size_t(order[0])] != 0) {
        for (int64_t e = 0; e < m; ++e) {
          const int64_t g = order[size_t(e)], new_id = empty[size_t(e)];
          const int64_t old = labels[g];
          const double w = double(sample_weight[g]);
          for (int64_t f = 0; f < d; ++f) {
            const T xv = shift ? T(x[g * d + f] - shift[f]) : x[g * d + f];
            const double xw = double(xv) * w;
            sums[size_t(old * d + f)] -= xw;
            sums[size_t(new_id * d + f)] = xw;
          }
          weights[size_t(old)] -= w;
          weights[size_t(new_id)] = w;
        }
      }
    }
    // A cluster still empty (no point left to move: duplicates) is placed on the center of the
    // heaviest cluster (the first one), as scikit-learn does, not at the origin.
    const int64_t heaviest = std::max_element(weights.begin(), weights.end()) - weights.begin();
    const double w_heaviest = weights[size_t(heaviest)];
    // New centers, clusters in parallel (k d divisions: ~2 ms on one core at k = 1000,
    // d = 2048). The squared shift is summed per center in 8 interleaved partial sums, then
    // over the centers in order: the same value for any thread count.
    parallel_for(n_threads, k, std::max<int64_t>(1, 8192 / std::max<int64_t>(d, 1)),
                 [&](int64_t j0, int64_t j1) {
                   for (int64_t j = j0; j < j1; ++j) {
                     const double wj = weights[size_t(j)];
                     const int64_t src = wj > 0 ? j : heaviest;
                     const double ws = wj > 0 ? wj : w_heaviest;
                     const double* sj = sums.data() + src * d;
                     T* cj = centers + j * d;
                     double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                     for (int64_t f = 0; f < d; ++f) {
                       const T c = ws > 0 ? T(sj[f] / ws) : T(0);
                       const double diff = double(c) - double(cj[f]);
                       part[f & 7] += diff * diff;
                       cj[f] = c;
                     }
                     shift_of[size_t(j)] = ((part[0] + part[1]) + (part[2] + part[3])) +
                                           ((part[4] + part[5]) + (part[6] + part[7]));
                   }
                 });
    double center_shift = 0;
    for (int64_t j = 0; j < k; ++j) center_shift += shift_of[size_t(j)];
    res.center_shift = center_shift;
    if (!changed) {
      res.stop = Stop::strict;
      break;
    }
    if (center_shift <= tol) {
      res.stop = Stop::tolerance;
      break;
    }
    std::copy(labels, labels + n, labels_old.begin());
  }
  res.n_iter = it < max_iter ? it + 1 : max_iter;
  res.other_s = secs(t_start, clock::now()) - res.compute_s;
  return res;
}

template <class T>
void lloyd_finish(const T* x, int64_t n, int64_t d, const T* centers, int64_t k,
                  int32_t* labels, bool reassign, T* sq_dist, int n_threads, Method method,
                  const T* shift) {
  method = resolve<T>(method, d, k);
  if (reassign)
    assign_impl<T>(x, n, d, centers, k, labels, sq_dist, n_threads, method, shift, true);
  else if (sq_dist)
    assigned_sq_dist<T>(x, n, d, centers, k, labels, sq_dist, n_threads, shift);
}

template <class T>
FitResult lloyd_fit(const T* x, int64_t n, int64_t d, const T* sample_weight, T* centers,
                    int64_t k, int max_iter, double tol, int32_t* labels, int n_threads,
                    Method method, const T* shift, T* sq_dist) {
  using clock = std::chrono::steady_clock;
  check_sizes(n, d, k);
  if (n < 1) throw std::invalid_argument("kmeans: lloyd_fit needs n >= 1");
  if (max_iter < 1) throw std::invalid_argument("kmeans: max_iter must be >= 1");
  if (!sample_weight) throw std::invalid_argument("kmeans: lloyd_fit needs sample_weight");
  std::fill(labels, labels + n, -1);
  const IterationsResult r = lloyd_iterations<T>(x, n, d, sample_weight, centers, k, max_iter,
                                                 tol, labels, n_threads, method, shift, nullptr);
  const auto t0 = clock::now();
  lloyd_finish<T>(x, n, d, centers, k, labels, r.stop != Stop::strict, sq_dist, n_threads,
                  method, shift);
  FitResult res;
  res.n_iter = r.n_iter;
  res.compute_s = r.compute_s;
  res.other_s = r.other_s + std::chrono::duration<double>(clock::now() - t0).count();
  return res;
}

// ---- CSR ---------------------------------------------------------------------------------------
namespace {

template <class T>
void check_csr(const int32_t* indices, const int64_t* indptr, int64_t n, int64_t d) {
  if (indptr[0] != 0) throw std::invalid_argument("kmeans: indptr[0] must be 0");
  for (int64_t i = 0; i < n; ++i)
    if (indptr[i + 1] < indptr[i]) throw std::invalid_argument("kmeans: indptr must not decrease");
  for (int64_t z = 0; z < indptr[n]; ++z)
    if (indices[z] < 0 || indices[z] >= d)
      throw std::invalid_argument("kmeans: CSR column index out of range");
}

// dots[j] = x_i . c_j for one sparse row against centers transposed (d x k).
template <class T>
void csr_row_dots(const T* data, const int32_t* indices, int64_t z0, int64_t z1, const T* ct,
                  int64_t k, T* dots) {
  std::fill(dots, dots + k, T(0));
  for (int64_t z = z0; z < z1; ++z) {
    const T v = data[z];
    const T* c = ct + int64_t(indices[z]) * k;
#pragma GCC ivdep
    for (int64_t j = 0; j < k; ++j) dots[j] += v * c[j];
  }
}

// argmin_j cn_j - 2 dots_j (first on ties); returns that value.
template <class T>
T csr_best(const T* dots, const T* cn, int64_t k, int32_t* label) {
  T best = std::numeric_limits<T>::infinity();
  int32_t bi = 0;
  for (int64_t j = 0; j < k; ++j) {
    T v = cn[j] - T(2) * dots[j];
    if (v < best) {
      best = v;
      bi = int32_t(j);
    }
  }
  *label = bi;
  return best;
}

template <class T>
std::vector<T> transpose(const T* centers, int64_t k, int64_t d) {
  std::vector<T> ct(size_t(k * d));
  for (int64_t j = 0; j < k; ++j)
    for (int64_t f = 0; f < d; ++f) ct[size_t(f * k + j)] = centers[j * d + f];
  return ct;
}

}  // namespace

template <class T>
void lloyd_partial_csr(const T* data, const int32_t* indices, const int64_t* indptr, int64_t n,
                       int64_t d, const T* sample_weight, const T* centers, int64_t k,
                       int32_t* labels, double* sums, double* weights, double* inertia,
                       int n_threads) {
  check_sizes(n, d, k);
  check_csr<T>(indices, indptr, n, d);
  const std::vector<T> ct = transpose(centers, k, d), cn = center_sq_norms(centers, k, d);
  // As lloyd_partial: one partial per fixed chunk of rows (not per thread), reduced in chunk
  // order, so the sums are bitwise identical from run to run for a given n_threads (per-thread
  // partials summed whatever rows the scheduler gave each thread). One thread: one chunk.
  constexpr int64_t kRowBlock = 64;
  const int nt = resolve_threads(n_threads);
  const int64_t n_blocks = (n + kRowBlock - 1) / kRowBlock;
  const int64_t n_chunks = nt == 1 ? 1 : lloyd_chunks(n, n_blocks, k, nt);
  const int64_t per_chunk = ((n_blocks + n_chunks - 1) / n_chunks) * kRowBlock;
  const int64_t stride = k * d + k;
  std::unique_ptr<double[]> part(new double[size_t(n_chunks * stride)]);
  std::vector<double> part_inertia(static_cast<size_t>(n_chunks), 0.0);
  oneapi::tbb::enumerable_thread_specific<std::vector<T>> dots(
      [&] { return std::vector<T>(size_t(k)); });
  parallel_for(n_threads, n_chunks, 1, [&](int64_t c0, int64_t c1) {
    std::vector<T>& dt = dots.local();
    for (int64_t c = c0; c < c1; ++c) {
      double* ps = part.get() + c * stride;
      double* pw = ps + k * d;
      std::fill(ps, ps + stride, 0.0);
      double pin = 0;
      const int64_t e = std::min(n, (c + 1) * per_chunk);
      for (int64_t i = c * per_chunk; i < e; ++i) {
        csr_row_dots(data, indices, indptr[i], indptr[i + 1], ct.data(), k, dt.data());
        const T gap = csr_best(dt.data(), cn.data(), k, labels + i);
        const double w = sample_weight ? double(sample_weight[i]) : 1.0;
        double* s = ps + int64_t(labels[i]) * d;
        T nrm = 0;
        for (int64_t z = indptr[i]; z < indptr[i + 1]; ++z) {
          nrm += data[z] * data[z];
          s[indices[z]] += w * double(data[z]);
        }
        pw[labels[i]] += w;
        const double dist = double(nrm) + double(gap);
        pin += w * (dist > 0 ? dist : 0.0);
      }
      part_inertia[size_t(c)] = pin;
    }
  });
  std::fill(sums, sums + k * d, 0.0);
  std::fill(weights, weights + k, 0.0);
  double total = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    const double* ps = part.get() + c * stride;
    for (int64_t i = 0; i < k * d; ++i) sums[i] += ps[i];
    for (int64_t j = 0; j < k; ++j) weights[j] += ps[k * d + j];
    total += part_inertia[size_t(c)];
  }
  *inertia = total;
}

template <class T>
void assign_csr(const T* data, const int32_t* indices, const int64_t* indptr, int64_t n,
                int64_t d, const T* centers, int64_t k, int32_t* labels, T* sq_dist,
                int n_threads) {
  check_sizes(n, d, k);
  check_csr<T>(indices, indptr, n, d);
  const std::vector<T> ct = transpose(centers, k, d), cn = center_sq_norms(centers, k, d);
  oneapi::tbb::enumerable_thread_specific<std::vector<T>> dots(
      [&] { return std::vector<T>(size_t(k)); });
  parallel_for(n_threads, n, 64, [&](int64_t b, int64_t e) {
    std::vector<T>& dt = dots.local();
    for (int64_t i = b; i < e; ++i) {
      csr_row_dots(data, indices, indptr[i], indptr[i + 1], ct.data(), k, dt.data());
      const T gap = csr_best(dt.data(), cn.data(), k, labels + i);
      if (sq_dist) {
        T nrm = 0;
        for (int64_t z = indptr[i]; z < indptr[i + 1]; ++z) nrm += data[z] * data[z];
        const T dist = nrm + gap;
        sq_dist[i] = dist > 0 ? dist : T(0);
      }
    }
  });
}

template <class T>
void minibatch_update(T* centers, int64_t k, int64_t d, double* counts, const double* sums,
                      const double* weights) {
  if (k < 0 || d < 0) throw std::invalid_argument("minibatch_update: negative size");
  for (int64_t j = 0; j < k; ++j) {
    if (!(weights[j] > 0)) continue;
    const double old = counts[j];
    const double total = old + weights[j];
    T* c = centers + j * d;
    const double* s = sums + j * d;
    for (int64_t f = 0; f < d; ++f) c[f] = T((double(c[f]) * old + s[f]) / total);
    counts[j] = total;
  }
}

#define HARPDAAL_KMEANS_API(T)                                                                 \
  template void lloyd_partial<T>(const T*, int64_t, int64_t, const T*, const T*, int64_t,      \
                                 int32_t*, double*, double*, double*, int, Method, const T*,   \
                                 const int64_t*);                                              \
  template void center<T>(const T*, int64_t, int64_t, T*, T*, double*, int);                  \
  template FitResult lloyd_fit<T>(const T*, int64_t, int64_t, const T*, T*, int64_t, int,      \
                                  double, int32_t*, int, Method, const T*, T*);                \
  template IterationsResult lloyd_iterations<T>(const T*, int64_t, int64_t, const T*, T*,      \
                                                int64_t, int, double, int32_t*, int, Method,   \
                                                const T*, double*);                            \
  template void lloyd_finish<T>(const T*, int64_t, int64_t, const T*, int64_t, int32_t*, bool, \
                                T*, int, Method, const T*);                                    \
  template void assign<T>(const T*, int64_t, int64_t, const T*, int64_t, int32_t*, T*, int,    \
                          Method, const T*);                                                   \
  template void distances<T>(const T*, int64_t, int64_t, const T*, int64_t, T*, bool, int);    \
  template void assigned_sq_dist<T>(const T*, int64_t, int64_t, const T*, int64_t,             \
                                    const int32_t*, T*, int, const T*);                        \
  template void lloyd_partial_csr<T>(const T*, const int32_t*, const int64_t*, int64_t,        \
                                     int64_t, const T*, const T*, int64_t, int32_t*, double*,  \
                                     double*, double*, int);                                   \
  template void assign_csr<T>(const T*, const int32_t*, const int64_t*, int64_t, int64_t,      \
                              const T*, int64_t, int32_t*, T*, int);                           \
  template void minibatch_update<T>(T*, int64_t, int64_t, double*, const double*, const double*);
HARPDAAL_KMEANS_API(float)
HARPDAAL_KMEANS_API(double)
#undef HARPDAAL_KMEANS_API

}  // namespace harpdaal::kernels::kmeans
