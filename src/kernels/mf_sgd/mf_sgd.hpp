// Matrix factorisation by stochastic gradient descent (Harp-DAAL's MF-SGD, LIBMF's FPSGD).
//
// Ratings are bucketed (by the caller) into a grid x grid array of blocks: block (i, j) holds the
// ratings whose user falls in row block i and whose item falls in column block j, stored
// contiguously and sorted by (user, item) inside the block for cache reuse. One epoch runs `grid`
// rounds; round t updates the blocks (i, col_order[(i + t) % grid]) for every i in parallel.
// Those blocks share no row block and no column block, so no two threads ever touch the same
// factor row, and the result depends only on the inputs (never on the number of threads or on
// timing). `col_order` is a permutation of the column blocks chosen by the caller per epoch.
//
// Factor rows are float rows of stride `ld` (a multiple of 16: 64 bytes; the entries k..ld-1 are
// zero and stay zero), so the AVX-512 / AVX2 loops need no tail.
//
// Update for one rating (u, i, r) with e = r - (mu + b_u + b_i + p_u . q_i):
//   g_p = reg_user * p_u - e * q_i,   g_q = reg_item * q_i - e * p_u
//   p_u -= eta_u * g_p,  q_i -= eta_i * g_q,  b_u -= eta_u * (reg_bias * b_u - e), same for b_i
// Learning-rate schedule (LIBMF, Chin et al. PAKDD 2015, per-row adaptive): with
// `adaptive`, eta_u = learning_rate / sqrt(G_u) where G_u (user_acc, initialised to 1 by the
// caller) accumulates the mean squared gradient coordinate of row u after each of its updates
// (G_u += |g_p|^2 / k); likewise G_i for items. Without `adaptive`, eta = learning_rate.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::mf_sgd {

template <class T>
struct Params {
  T learning_rate = T(0.1);
  T reg_user = T(0.05);
  T reg_item = T(0.05);
  T reg_bias = T(0.0);
  T global_mean = T(0);
  bool adaptive = true;
  // false: the deterministic rounds above. true: LIBMF's dynamic schedule: each thread takes the
  // next free block (row and column blocks not in use, not yet done this epoch, scanned in the
  // rounds' order), so no thread waits for a round to finish; the order then depends on timing
  // (with one thread it is exactly the rounds' order).
  bool dynamic = false;
};

// A view of a factor table: rows of stride ld, the first k entries used, plus optional per-row
// AdaGrad accumulator (needed when params.adaptive) and bias (nullptr: no bias).
template <class T>
struct Factors {
  T* rows = nullptr;
  T* acc = nullptr;
  T* bias = nullptr;
};

// Serial SGD over ratings [begin, end) in storage order. users/items index P/Q rows directly.
template <class T>
void train_block(const int32_t* users, const int32_t* items, const T* ratings, int64_t begin,
                 int64_t end, Factors<T> P, Factors<T> Q, int64_t ld, int64_t k,
                 const Params<T>& params);

// One epoch over the grid (see above). block_ptr has grid*grid + 1 offsets (row-major blocks).
template <class T>
void train_grid(const int32_t* users, const int32_t* items, const T* ratings,
                const int64_t* block_ptr, int64_t grid, const int32_t* col_order, Factors<T> P,
                Factors<T> Q, int64_t ld, int64_t k, const Params<T>& params, int n_threads);

// predictions out[e] = mu + b_u + b_i + p_u . q_i  (biases optional)
template <class T>
void predict(const int32_t* users, const int32_t* items, int64_t n, const T* P, const T* Q,
             const T* user_bias, const T* item_bias, int64_t ld, int64_t k, T global_mean, T* out,
             int n_threads);

// Sum of squared errors of the predictions above against ratings (double accumulation, fixed
// chunking: the same value for any thread count).
template <class T>
double sum_squared_error(const int32_t* users, const int32_t* items, const T* ratings, int64_t n,
                         const T* P, const T* Q, const T* user_bias, const T* item_bias,
                         int64_t ld, int64_t k, T global_mean, int n_threads);

// Arrange ratings for train_grid: row block of user u is u * grid / n_users, column block of item
// i is i * grid / n_items (callers relabel ids at random first so blocks balance and each
// block's rows are contiguous). Output is ordered by block; inside a block the users (in user
// order, each with its ratings in item order) are dealt onto `ways` slots that emit one rating
// each per round, slot 0 first, a slot taking the next user as soon as its user has no rating
// left (list scheduling: the next user takes the slot that frees first, the lower slot on a
// tie). ways = 1: plain (user, item) order. Consecutive updates thus touch different users' rows
// and the CPU can overlap them. block_ptr gets grid*grid + 1 offsets. Returns the number of
// ratings whose (user, item) pair repeats (0: no duplicates). The outputs must not overlap the
// inputs (they serve as the first pass's scratch).
template <class T>
int64_t bucket(const int32_t* users, const int32_t* items, const T* ratings, int64_t n,
               int64_t n_users, int64_t n_items, int64_t grid, int32_t* out_users,
               int32_t* out_items, T* out_ratings, int64_t* block_ptr, int ways, int n_threads);

// bucket() over relabelled ids and standardised ratings, without the caller making them first:
// rating e enters as (user_perm[users[e]], item_perm[items[e]], float((ratings[e] - shift) /
// scale)). Same output as bucket() on those arrays.
int64_t bucket_relabel(const int32_t* users, const int32_t* items, const double* ratings,
                       int64_t n, const int32_t* user_perm, const int32_t* item_perm,
                       int64_t n_users, int64_t n_items, double shift, double scale,
                       int64_t grid, int32_t* out_users, int32_t* out_items, float* out_ratings,
                       int64_t* block_ptr, int ways, int n_threads);

// The items each user rated, from bucketed (work-id) ratings: internal user x has work id
// user_perm[x], work item w is internal item item_inverse[w]. row_ptr gets n_users + 1
// offsets; each list is in bucketed order.
void seen_lists(const int32_t* users, const int32_t* items, int64_t n, const int32_t* user_perm,
                const int32_t* item_inverse, int64_t n_users, int64_t* row_ptr,
                int32_t* out_items);

// CSR of (row, col) pairs: row_ptr (n_rows + 1) and cols grouped by row in input order.
void group_by_row(const int32_t* rows, const int32_t* cols, int64_t n, int64_t n_rows,
                  int64_t* row_ptr, int32_t* out_cols);

}  // namespace harpdaal::kernels::mf_sgd
