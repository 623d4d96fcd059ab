// Set-up kernels of an MF fit, run once before the epochs: dense id ranking, factor
// initialisation and rating moments. Each is parallel and gives the same result for any thread
// count (fixed chunking, counter-based random numbers), so a fit's set-up never depends on
// n_jobs.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::mf_sgd {

// Rank the distinct ids through a lookup table of table_size entries: table[v] becomes the rank
// of v among the distinct ids (ascending) or -1 when v is absent, and index[e] = table[ids[e]].
// Returns the number of distinct ids, or -1 (table and index then unspecified) when some id lies
// outside [0, table_size).
int64_t dense_rank(const int64_t* ids, int64_t n, int64_t table_size, int32_t* table,
                   int32_t* index, int n_threads);

// rows x ld table: entry (r, j < k) = std * N(0, 1), a normal drawn by Box-Muller from a
// counter-based hash of (seed, stream, r, j / 2), so every row is the same whatever the thread
// count and whatever rows the table holds (row r of a table starting at global row first_row
// draws for first_row + r); entries j >= k are 0. The transform runs in float32 with its own
// log and sine/cosine polynomials (within 1e-6 std of the float64 formula; the same bits on
// every machine).
void normal_rows(float* out, int64_t rows, int64_t ld, int64_t k, float stddev, uint64_t seed,
                 uint64_t stream, int64_t first_row, int n_threads);

// Mean and population standard deviation of x (two passes, float64 sums over fixed chunks).
void mean_std(const double* x, int64_t n, double* mean, double* stddev, int n_threads);

// rows[x, :] <- scale * rows[perm[x], :] for x < n, in place (rows of ld floats): each cycle
// of perm is followed once with one row of scratch, so no second table is allocated. Returns
// false, with rows untouched, when perm is not a permutation of [0, n).
bool permute_rows(float* rows, const int32_t* perm, int64_t n, int64_t ld, float scale);

}  // namespace harpdaal::kernels::mf_sgd
