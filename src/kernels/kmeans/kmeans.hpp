// K-means kernels: one Lloyd step for a block of rows (cut where communication happens: the
// caller reduces `sums`/`weights`/`inertia` across ranks), assignment (predict) and distances
// (transform). Dense row-major float32/float64 and CSR inputs. No allocation visible to the
// caller: every output is caller-owned; internal scratch (packed centers, per-thread partial
// sums) is allocated once per call.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::kmeans {

// How x.c is computed for dense input.
//   automatic: the documented rule (choose_method) for this shape and CPU.
//   fused:     our register-blocked distance + argmax micro-kernel (tiles never leave registers,
//              no n x k matrix, not even per block).
//   gemm:      MKL ?gemm on a row block x all centers into a cache-sized scratch, then argmin.
enum class Method : int { automatic = 0, fused = 1, gemm = 2 };

// The rule used by Method::automatic (see docs/kmeans.md): fused on AVX-512/AVX2 (k < 16 with
// d >= 16 k uses its row-dot tile: uses_row_dot), gemm on the generic ISA (no hand-tuned tile).
Method choose_method(int64_t d, int64_t k, bool is_double);

// Rows per parallel block of the Lloyd step for a resolved method (fused or gemm) and an
// element size: the blocks and chunks the step's sums are accumulated over, so every kernel
// that must reproduce those sums bit for bit uses the same ones.
int64_t lloyd_block_rows(Method method, int64_t d, int64_t k, int64_t elem_bytes);

// Chunks of row blocks the step's float64 partial sums (k x (d + 1) each, zeroed and then
// reduced in chunk order) are kept for: up to 16 per thread for balance, but each chunk holds at
// least 8 rows per center on average (never fewer than one chunk per thread), so the partials
// stay small next to the rows they sum. Depends on n, d, k and the thread count only.
int64_t lloyd_chunks(int64_t n, int64_t n_blocks, int64_t k, int n_threads);

// One Lloyd step over rows [0, n) of x (n x d, row-major) against centers (k x d):
//   labels[i]          = argmin_j ||x_i - c_j||^2 (first index on ties)
//   sums[j*d + f]      = sum over i with labels[i]==j of w_i * x_i[f]     (overwritten)
//   weights[j]         = sum over i with labels[i]==j of w_i              (overwritten)
//   *inertia           = sum_i w_i * max(||x_i||^2 - 2 x_i.c + ||c||^2, 0) at the chosen c
// sample_weight may be null (all ones); inertia may be null (not computed). sums/weights/
// inertia accumulate in float64 (float32 rows where ops.groups_rows: each cluster's rows
// in float32 groups of kGroupRows first, see RowGroups).
// row_index (n values, may be null): row i of the step is x[row_index[i]] instead of x[i] (x
// holds at least max(row_index) + 1 rows; labels and sample_weight stay indexed by i). The rows
// are gathered block by block into the L1 buffer the kernel works in, with the block sizes of
// a step on a gathered copy, so the result is that step's, bit for bit, without the copy
// (mini-batch steps).
template <class T>
void lloyd_partial(const T* x, int64_t n, int64_t d, const T* sample_weight, const T* centers,
                   int64_t k, int32_t* labels, double* sums, double* weights, double* inertia,
                   int n_threads, Method method = Method::automatic, const T* shift = nullptr,
                   const int64_t* row_index = nullptr);

// `shift` (d values, may be null) everywhere below: the kernel works on x - shift (rounded to
// T) instead of x, centring one small block of rows at a time, so the results are those of a
// centred copy of x (the same bits) without writing one.

// Single-process Lloyd iterations, the loop of the estimator's one-process dense step (the
// same iteration as the Python step around lloyd_partial, scikit-learn's
// _kmeans_single_lloyd): up to max_iter steps of lloyd_partial from `centers` (k x d, updated
// in place) and `labels` (in: the previous iteration's labels, -1 before the first; out: the
// last step's labels); empty clusters take the farthest points (largest distance first, ties
// to the lower row index; not when every distance is 0), a cluster still empty is placed on
// the heaviest cluster's center; new centers = sums / weights, cast to T; stop at once when no
// label changed (Stop::strict) or when the squared center shift (summed in float64) is <= tol
// (Stop::tolerance). Calls continue one another exactly: n calls of one iteration give the
// bits of one call of n. sample_weight must be non-null. inertia (max_iter values, may be
// null): each step's inertia as lloyd_partial computes it (the sums are the same either way).
enum class Stop : int { none = 0, strict = 1, tolerance = 2 };
struct IterationsResult {
  int n_iter = 0;            // iterations done (<= max_iter)
  Stop stop = Stop::none;    // why it stopped before max_iter
  double center_shift = 0;   // the last iteration's squared center shift
  double compute_s = 0;      // time in lloyd_partial
  double other_s = 0;        // everything else (relocation, update)
};
template <class T>
IterationsResult lloyd_iterations(const T* x, int64_t n, int64_t d, const T* sample_weight,
                                  T* centers, int64_t k, int max_iter, double tol,
                                  int32_t* labels, int n_threads,
                                  Method method = Method::automatic, const T* shift = nullptr,
                                  double* inertia = nullptr);

// After the last iteration: with `reassign` (no strict convergence) the final E-step (labels
// of the final centers); sq_dist (n values, may be null) = ||x_i - c_{labels[i]}||^2 as
// assigned_sq_dist computes it, taken in that same pass (the caller's inertia is w . sq_dist).
template <class T>
void lloyd_finish(const T* x, int64_t n, int64_t d, const T* centers, int64_t k,
                  int32_t* labels, bool reassign, T* sq_dist, int n_threads,
                  Method method = Method::automatic, const T* shift = nullptr);

// A whole single-process Lloyd fit (C++ callers: tests, microbenchmarks): labels = -1,
// lloyd_iterations(max_iter), lloyd_finish.
struct FitResult {
  int n_iter = 0;
  double compute_s = 0;  // time in lloyd_partial
  double other_s = 0;    // everything else (relocation, update, final E-step)
};
template <class T>
FitResult lloyd_fit(const T* x, int64_t n, int64_t d, const T* sample_weight, T* centers,
                    int64_t k, int max_iter, double tol, int32_t* labels, int n_threads,
                    Method method = Method::automatic, const T* shift = nullptr,
                    T* sq_dist = nullptr);

// Centring (as the estimator does before fitting, for precision): mean[f] = T(sum_i x[i,f] / n)
// (float64 sums), out = x - mean (out may not alias x; null: not written), and col_stats = [sum_i out[i,f] for f]
// ++ [sum_i out[i,f]^2 for f] in float64 (the feature variances behind `tol`; col_stats may be
// null: not computed, and with out also null x is read once, for the mean only). Row chunks of a
// fixed size, reduced in order: the same result for every n_threads.
template <class T>
void center(const T* x, int64_t n, int64_t d, T* out, T* mean, double* col_stats, int n_threads);

// labels[i] = argmin_j ||x_i - c_j||^2; sq_dist[i] (may be null) = that distance (>= 0).
template <class T>
void assign(const T* x, int64_t n, int64_t d, const T* centers, int64_t k, int32_t* labels,
            T* sq_dist, int n_threads, Method method = Method::automatic,
            const T* shift = nullptr);

// out[i*k + j] = ||x_i - c_j|| (squared when `squared`), via norms + MKL gemm, clamped at 0.
template <class T>
void distances(const T* x, int64_t n, int64_t d, const T* centers, int64_t k, T* out,
               bool squared, int n_threads);

// out[i] = ||x_i - c_{labels[i]}||^2 computed directly (no cancellation): the exact inertia
// terms and the "farthest points" used to relocate empty clusters.
template <class T>
void assigned_sq_dist(const T* x, int64_t n, int64_t d, const T* centers, int64_t k,
                      const int32_t* labels, T* out, int n_threads, const T* shift = nullptr);

// Mini-batch center update (scikit-learn's MiniBatchKMeans: a per-center learning rate of
// 1 / count): for each center j with weights[j] > 0, in float64,
//   counts[j] += weights[j];  centers[j] = T((centers[j] * old_count + sums[j]) / counts[j])
// (the weighted mean of every row the center has received); the other centers stay. sums and
// weights are a step's batch statistics as lloyd_partial returns them (k x d and k). Serial:
// k x d is small next to the batch's assignment.
template <class T>
void minibatch_update(T* centers, int64_t k, int64_t d, double* counts, const double* sums,
                      const double* weights);

// CSR versions (indptr has n+1 entries; column indices < d). Same outputs as above.
template <class T>
void lloyd_partial_csr(const T* data, const int32_t* indices, const int64_t* indptr, int64_t n,
                       int64_t d, const T* sample_weight, const T* centers, int64_t k,
                       int32_t* labels, double* sums, double* weights, double* inertia,
                       int n_threads);
template <class T>
void assign_csr(const T* data, const int32_t* indices, const int64_t* indptr, int64_t n,
                int64_t d, const T* centers, int64_t k, int32_t* labels, T* sq_dist,
                int n_threads);

}  // namespace harpdaal::kernels::kmeans
