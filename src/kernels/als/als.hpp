// Implicit-feedback alternating least squares (Hu, Koren & Volinsky, ICDM 2008).
//
// For one half-step the factors Y of the other side are fixed; every row u (a user, or an item
// on the item half-step) then minimises
//     sum_i c_ui (p_ui - x_u . y_i)^2 + reg |x_u|^2
// over all columns i, with preference p_ui = 1 and confidence c_ui = alpha r_ui for the entries
// of row u (r_ui > 0, the interaction strength), p_ui = 0 and c_ui = 1 elsewhere (the `implicit`
// library's convention; the paper's 1 + alpha' r is alpha r with r' = r + 1/alpha'). This is the
// linear system
//     A_u x_u = b_u,   A_u = YᵀY + reg I + sum_{i in row u} (c_ui - 1) y_i y_iᵀ,
//                      b_u = sum_{i in row u} c_ui y_i.
// The Gram trick: YᵀY is computed once per half-step (`gram`), so a row costs O(nnz_u k^2) for
// the exact solve and O(nnz_u k + k^2) per conjugate-gradient step instead of O(n_cols k^2).
//
// Solvers:
//   cg        `cg_steps` conjugate-gradient steps per row, warm-started from the row's current
//             x_u (Takács, Pilászy & Tikk, RecSys 2011; as the `implicit` library does). A·p is
//             computed as YᵀY·p + reg p + sum (c_ui - 1)(y_i·p) y_i without forming A. float
//             arithmetic (the dot products are short, k terms).
//   cholesky  A_u formed in double (the sparse part as one MKL dgemm per block of entries) and
//             factorised by MKL's potrf (A_u is symmetric positive definite when reg > 0 or YᵀY
//             has full rank; a row whose A_u is not keeps its x_u); x_u = the exact solution.
//
// A row without entries has b = 0 and the exact solution 0, which both solvers write.
// Rows are independent: the result does not depend on the thread count. `gram` sums fixed
// blocks of rows in a fixed order, so it does not depend on the thread count either.
#pragma once
#include <cstdint>

namespace harpdaal::kernels::als {

enum class Solver : int { cg = 0, cholesky = 1 };

// out (k x k, row-major, both triangles) = YᵀY for Y (n x k, row-major). Blocks of rows go
// through MKL's syrk (sequential MKL, blocks in parallel on n_threads), the block partials are
// added in double in block order.
template <class T>
void gram(const T* Y, int64_t n, int64_t k, T* out, int n_threads);

// `gram` in two steps, for ranks that share the blocks: rows per block (fixed, so the sum is
// the same at any thread count and any split of the blocks), the number of blocks of n rows
// (at least 1), the upper triangles of blocks [block_lo, block_hi) into partials (n_blocks x
// k x k; a block past the rows is zero), and the sum of all blocks' upper triangles in double in
// block order into out (both triangles) — the same bits as `gram`.
inline constexpr int64_t kGramBlock = 4096;
int64_t gram_blocks(int64_t n);
template <class T>
void gram_partials(const T* Y, int64_t n, int64_t k, int64_t block_lo, int64_t block_hi,
                   T* partials, int n_threads);
template <class T>
void gram_sum(const T* partials, int64_t n_blocks, int64_t k, T* out, int n_threads);

// Updates X (n_rows x k) in place, row u from the CSR row indptr[u]..indptr[u+1] (column ids
// `indices` into Y (n_cols x k), raw interaction strengths `values` >= 0). `gram` is YᵀY
// (k x k, from `gram` above; the regularisation is added here). Ids are not checked here.
template <class T>
void solve_rows(const int64_t* indptr, const int32_t* indices, const T* values, int64_t n_rows,
                const T* Y, const T* gram, int64_t k, T reg, T alpha, Solver solver,
                int cg_steps, T* X, int n_threads);

// The objective above summed over the rows of X (each over all n_cols columns, by the Gram
// trick: x_uᵀ YᵀY x_u + sum_{i in row u} [c_ui (1 - s_ui)^2 - s_ui^2], s_ui = x_u . y_i) plus
// reg |X|^2, in double. The caller adds reg |Y|^2 once (rows may be split over processes).
template <class T>
double loss(const int64_t* indptr, const int32_t* indices, const T* values, int64_t n_rows,
            const T* X, const T* Y, const T* gram, int64_t k, T reg, T alpha, int n_threads);

}  // namespace harpdaal::kernels::als
