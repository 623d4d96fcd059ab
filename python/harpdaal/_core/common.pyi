"""
shared dense kernels
"""
from __future__ import annotations
import typing
__all__: list[str] = ['row_sq_norms_f32', 'row_sq_norms_f64']
def row_sq_norms_f32(x: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[i] = ||x[i]||^2 (float32, writes into out).
    """
def row_sq_norms_f64(x: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[i] = ||x[i]||^2 (float64, writes into out).
    """
