// Exact bound-based K-means (Yinyang; Ding et al., ICML 2015): one iteration's assignment step
// that gives Lloyd's labels (up to floating-point ties) while skipping most distance
// computations. With one group it is Hamerly's algorithm (2010).
//
// Per row the caller keeps, from one call to the next:
//   labels[i]            the assigned center a(i),
//   upper[i]             >= ||x_i - c_a(i)||                       (a distance, not squared),
//   lower[i*t + g]       <= min over c in group g, c != a(i), of ||x_i - c||,
// and per cluster sums (float64, k x d), weights (float64, k) and counts (rows of positive
// weight), maintained incrementally: only rows whose label changes touch them. The centers move
// between calls; the call widens every bound by how far the centers moved (from
// `prev_centers`), skips a row whose upper bound is below every group's lower bound, else
// tightens the upper bound with one exact distance and recomputes only the groups whose lower
// bound still lies below it. The distances that survive are computed in blocks: the rows of a
// block that need a group are multiplied against that group's packed centers (or, when they need
// most groups, against all centers packed densely) by a register-blocked tile (prune_impl.hpp),
// as the fused Lloyd tile does for all centers.
//
// Exactness: every bound carries a margin for the rounding of the distances it comes from
// (|error of ||x-c||^2| <= (d + 8) eps (||x||^2 + max ||c||^2)), and the filters are
// non-strict, so a center is skipped only when it is farther than the chosen one by more than
// rounding can explain; the candidates that survive are compared by one computation (the
// same tile for every center), ties to the lower index. So labels differ from Lloyd's only
// where two centers are equally near up to rounding.
#pragma once
#include <cstdint>

#include "kernels/kmeans/kmeans.hpp"

namespace harpdaal::kernels::kmeans {

// The number of center groups the estimator uses for k centers (see docs/kmeans.md): 1 (Hamerly)
// below k = 20, else k / 10.
int64_t prune_groups(int64_t k);

// What one call did; `distances` counts center distances computed (Lloyd computes n * k per
// iteration), `skipped` rows that needed no distance at all, `tightened` rows that needed only
// the exact distance to their own center, `changed` rows whose label changed.
struct PruneCounts {
  int64_t distances = 0;
  int64_t skipped = 0;
  int64_t tightened = 0;
  int64_t changed = 0;
};

// One assignment step over rows [0, n) of x (n x d, row-major; used as x - shift when shift is
// non-null, d values) against centers (k x d).
//   prev_centers null: start (or restart) — every distance is computed, labels/upper/lower are
//     written from scratch, sums/weights/counts recomputed; `changed` counts rows whose label
//     differs from labels[] on entry (entries outside [0, k) always count).
//   prev_centers non-null: the centers of the previous call; labels/upper/lower/sums/weights/
//     counts must be what the previous call left (a caller may edit them consistently: e.g.
//     relocating row i to cluster j sets labels[i] = j, upper[i] = +inf, lower[i, :] = 0 and
//     moves its weight in sums/weights/counts).
// group_of (k values in [0, n_groups), every group non-empty) groups the centers; lower holds
// n x n_groups values. sample_weight may be null (all ones).
// lloyd_sums: sums/weights are recomputed every call exactly as lloyd_partial(..., method,
//   shift, n_threads) accumulates them (the same bits, so centers computed from them are the
//   Lloyd step's: one pass over x per call); else they follow only the rows whose label
//   changed, applied in row order (a cluster whose count drops to 0 gets exactly zero sums and
//   weight; rows that keep their bounds are never read). Deterministic: labels and bounds are
//   the same for every n_threads, incremental sums too.
// partials (lloyd_sums only; may be null): n_partials = prune_partials_size(...) float64 values
//   the caller keeps between calls: the Lloyd step's per-chunk partial sums. reuse_partials
//   (with prev_centers non-null) says they are what the previous call left for the labels on
//   entry: then only the (chunk, cluster) partials a changed row touches are recomputed, from
//   the rows of that chunk and cluster (same bits: the Lloyd step adds each row on its own),
//   instead of a pass over all of x. A caller that edits labels between calls (relocation)
//   passes reuse_partials = false.
template <class T>
PruneCounts prune_step(const T* x, int64_t n, int64_t d, const T* sample_weight, const T* shift,
                       const T* centers, const T* prev_centers, int64_t k,
                       const int32_t* group_of, int64_t n_groups, int32_t* labels, T* upper,
                       T* lower, double* sums, double* weights, int64_t* counts, int n_threads,
                       bool lloyd_sums = false, Method method = Method::automatic,
                       double* partials = nullptr, int64_t n_partials = 0,
                       bool reuse_partials = false);

// The float64 values prune_step's `partials` holds for these arguments (lloyd_sums): the Lloyd
// step's chunk count times k (d + 1).
int64_t prune_partials_size(int64_t n, int64_t d, int64_t k, int n_threads, Method method,
                            bool f64);

}  // namespace harpdaal::kernels::kmeans
