"""
shared dense kernels
"""
from __future__ import annotations
import typing
__all__: list[str] = ['row_sq_norms_f32', 'row_sq_norms_f64', 'top_k_rows_f32', 'top_k_rows_f64']
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
