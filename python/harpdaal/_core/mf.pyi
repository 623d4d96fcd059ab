"""
matrix factorisation kernels (MF-SGD, CCD++), float32
"""
from __future__ import annotations
import typing
__all__: list[str] = ['bucket', 'bucket_relabel', 'ccd_dist_add_rank_one', 'ccd_dist_item_bias_step', 'ccd_dist_item_residual_sums', 'ccd_dist_item_sums', 'ccd_dist_shift_residual', 'ccd_dist_update_user_biases', 'ccd_dist_update_users', 'ccd_epoch', 'dense_rank', 'group_by_row', 'mean_std', 'normal_rows', 'permute_rows', 'seen_lists', 'sgd_predict', 'sgd_train_grid', 'sum_squared_error']
def bucket(users: typing.Any, items: typing.Any, ratings: typing.Any, n_users: typing.SupportsInt | typing.SupportsIndex, n_items: typing.SupportsInt | typing.SupportsIndex, grid: typing.SupportsInt | typing.SupportsIndex, out_users: typing.Any, out_items: typing.Any, out_ratings: typing.Any, block_ptr: typing.Any, ways: typing.SupportsInt | typing.SupportsIndex = 1, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
    """
    Order ratings by grid block, user, item for sgd_train_grid; returns the number of repeated (user, item) pairs.
    """
def bucket_relabel(users: typing.Any, items: typing.Any, ratings: typing.Any, user_perm: typing.Any, item_perm: typing.Any, shift: typing.SupportsFloat | typing.SupportsIndex, scale: typing.SupportsFloat | typing.SupportsIndex, grid: typing.SupportsInt | typing.SupportsIndex, out_users: typing.Any, out_items: typing.Any, out_ratings: typing.Any, block_ptr: typing.Any, ways: typing.SupportsInt | typing.SupportsIndex = 1, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
    """
    bucket() of (user_perm[users], item_perm[items], float32((ratings - shift) / scale)) without materialising them; ratings float64. Returns the number of repeated pairs.
    """
def ccd_dist_add_rank_one(row_ptr: typing.Any, col_idx: typing.Any, residual: typing.Any, user_factors: typing.Any, item_factors: typing.Any, t: typing.SupportsInt | typing.SupportsIndex, sign: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    residual[x] += sign * P[u, t] * Q[col_idx[x], t] over the CSR rows (in place).
    """
def ccd_dist_item_bias_step(sums: typing.Any, counts: typing.Any, total: typing.SupportsFloat | typing.SupportsIndex, n_total: typing.SupportsFloat | typing.SupportsIndex, item_bias: typing.Any, global_offset: typing.Any, reg_bias: typing.SupportsFloat | typing.SupportsIndex, shift: typing.Any) -> None:
    """
    From reduced residual sums and rating counts: g += total / n_total; item_bias[i] = (sums[i] - counts[i] dg + counts[i] b_i) / (counts[i] + reg_bias); shift[i] = dg + db_i (in place; shift may be sums).
    """
def ccd_dist_item_residual_sums(col_ptr: typing.Any, csc_to_csr: typing.Any, residual: typing.Any, sums: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
    """
    sums[i] = sum of the residuals of item i's ratings (float64); returns their sum in item order.
    """
def ccd_dist_item_sums(col_ptr: typing.Any, row_idx: typing.Any, csc_to_csr: typing.Any, residual: typing.Any, user_factors: typing.Any, t: typing.SupportsInt | typing.SupportsIndex, num: typing.Any, den: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Per item (CSC column): num = sum residual * P[u, t], den = sum P[u, t]^2 (float64).
    """
def ccd_dist_shift_residual(row_ptr: typing.Any, col_idx: typing.Any, residual: typing.Any, shift: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    residual[x] -= shift[col_idx[x]] over the CSR rows (in place).
    """
def ccd_dist_update_user_biases(row_ptr: typing.Any, residual: typing.Any, user_bias: typing.Any, reg_bias: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    user_bias[u] = (sum residual + n_u b_u) / (n_u + reg_bias); residual -= the change (in place).
    """
def ccd_dist_update_users(row_ptr: typing.Any, col_idx: typing.Any, residual: typing.Any, user_factors: typing.Any, item_factors: typing.Any, t: typing.SupportsInt | typing.SupportsIndex, reg_user: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    P[u, t] = sum residual * Q[i, t] / (reg_user * n_u + sum Q[i, t]^2) (in place).
    """
def ccd_epoch(row_ptr: typing.Any, col_idx: typing.Any, col_ptr: typing.Any, row_idx: typing.Any, csc_to_csr: typing.Any, residual: typing.Any, user_factors: typing.Any, item_factors: typing.Any, n_factors: typing.SupportsInt | typing.SupportsIndex, reg_user: typing.SupportsFloat | typing.SupportsIndex, reg_item: typing.SupportsFloat | typing.SupportsIndex, inner_iters: typing.SupportsInt | typing.SupportsIndex = 1, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, user_bias: typing.Any = None, item_bias: typing.Any = None, global_offset: typing.Any = None, reg_bias: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    One CCD++ sweep (in place on residual, factors and, if given, biases): with biases, one pass over the global offset (1 value), item and user biases first, each b = sum residual / (n + reg_bias) with b added back; then the rank-one factor updates.
    """
def dense_rank(ids: typing.Any, table: typing.Any, index: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
    """
    Rank int64 ids through a lookup table: table[v] = rank of v among the distinct ids (ascending) or -1 if absent, index[e] = table[ids[e]]. Returns the number of distinct ids, or -1 (outputs unspecified) if an id lies outside [0, len(table)).
    """
def group_by_row(rows: typing.Any, cols: typing.Any, n_rows: typing.SupportsInt | typing.SupportsIndex, row_ptr: typing.Any, out_cols: typing.Any) -> None:
    """
    CSR grouping of (row, col) pairs.
    """
def mean_std(x: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    (mean, population standard deviation) of float64 x; the same for any thread count.
    """
def normal_rows(out: typing.Any, n_factors: typing.SupportsInt | typing.SupportsIndex, stddev: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex = 0, first_row: typing.SupportsInt | typing.SupportsIndex = 0, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[r, :n_factors] = stddev * N(0, 1) from a counter-based generator keyed by (seed, stream, first_row + r): the same for any thread count; out[r, n_factors:] = 0.
    """
def permute_rows(rows: typing.Any, perm: typing.Any, scale: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    rows[x] = scale * rows[perm[x]] for every x, in place (float32 rows; one row of scratch, no copy of the table); ValueError, rows untouched, if perm is not a permutation.
    """
def seen_lists(users: typing.Any, items: typing.Any, user_perm: typing.Any, item_inverse: typing.Any, row_ptr: typing.Any, out_items: typing.Any) -> None:
    """
    Items rated by each internal user (CSR) from bucketed work-id ratings.
    """
def sgd_predict(users: typing.Any, items: typing.Any, user_factors: typing.Any, item_factors: typing.Any, user_bias: typing.Any, item_bias: typing.Any, n_factors: typing.SupportsInt | typing.SupportsIndex, global_mean: typing.SupportsFloat | typing.SupportsIndex, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[e] = mu + b_u + b_i + p_u . q_i
    """
def sgd_train_grid(users: typing.Any, items: typing.Any, ratings: typing.Any, block_ptr: typing.Any, col_order: typing.Any, user_factors: typing.Any, item_factors: typing.Any, user_acc: typing.Any, item_acc: typing.Any, user_bias: typing.Any, item_bias: typing.Any, n_factors: typing.SupportsInt | typing.SupportsIndex, learning_rate: typing.SupportsFloat | typing.SupportsIndex, reg_user: typing.SupportsFloat | typing.SupportsIndex, reg_item: typing.SupportsFloat | typing.SupportsIndex, reg_bias: typing.SupportsFloat | typing.SupportsIndex, global_mean: typing.SupportsFloat | typing.SupportsIndex, adaptive: bool = True, dynamic: bool = False, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, check_ids: bool = True) -> None:
    """
    One SGD epoch over ratings bucketed into a grid x grid block array (in place). check_ids=False skips the O(n) scan of users/items against the factor tables: only for ids the caller produced and checked itself (e.g. bucket() output already passed to a checked call, unchanged since).
    """
def sum_squared_error(users: typing.Any, items: typing.Any, ratings: typing.Any, user_factors: typing.Any, item_factors: typing.Any, user_bias: typing.Any, item_bias: typing.Any, n_factors: typing.SupportsInt | typing.SupportsIndex, global_mean: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
    """
    Sum of squared prediction errors (float64).
    """
