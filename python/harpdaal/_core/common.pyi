"""
shared dense kernels
"""
from __future__ import annotations
import typing
__all__: list[str] = ['merge_csr_parts', 'row_sq_norms_f32', 'row_sq_norms_f64', 'top_k_rows_f32', 'top_k_rows_f64', 'transpose_csr']
def merge_csr_parts(lengths: typing.Any, ids: typing.Any, values: typing.Any, out_indptr: typing.Any, out_ids: typing.Any, out_values: typing.Any) -> None:
    """
    Merge CSR parts over the same rows (lengths: parts x rows; entries concatenated in part order): row r gets part 0's entries of r, then part 1's, ...
    """
def row_sq_norms_f32(x: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[i] = ||x[i]||^2 (float32, writes into out).
    """
def row_sq_norms_f64(x: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[i] = ||x[i]||^2 (float64, writes into out).
    """
def top_k_rows_f32(scores: typing.Any, ids: typing.Any, best: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Each row's k = ids.shape[1] largest scores, best first (ties: the lower column).
    """
def top_k_rows_f64(scores: typing.Any, ids: typing.Any, best: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Each row's k = ids.shape[1] largest scores, best first (ties: the lower column).
    """
def transpose_csr(indptr: typing.Any, indices: typing.Any, values: typing.Any, n_cols: typing.SupportsInt | typing.SupportsIndex, first: typing.SupportsInt | typing.SupportsIndex, out_indptr: typing.Any, out_ids: typing.Any, out_values: typing.Any) -> None:
    """
    The transpose of a CSR matrix whose rows are numbered from `first` (float32 values), each column's entries in row order, into the out arrays.
    """
