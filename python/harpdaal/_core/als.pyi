"""
implicit-feedback ALS kernels (Gram matrix, row solves), float32
"""
from __future__ import annotations
import typing
__all__: list[str] = ['gram', 'gram_block_rows', 'gram_blocks', 'gram_partials', 'gram_sum', 'loss', 'solve_rows']
def gram(factors: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out = factorsᵀ factors (k x k, float32; blocks summed in double in a fixed order).
    """
def gram_blocks(n_rows: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Blocks of gram_block_rows rows that gram sums (at least 1).
    """
def gram_partials(factors: typing.Any, block_lo: typing.SupportsInt | typing.SupportsIndex, block_hi: typing.SupportsInt | typing.SupportsIndex, partials: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Upper triangles of the Gram blocks [block_lo, block_hi) of factors into partials (gram_blocks(n) x k x k).
    """
def gram_sum(partials: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out = the sum of the partials' upper triangles in double in block order, mirrored: gram's bits.
    """
def loss(indptr: typing.Any, indices: typing.Any, values: typing.Any, factors: typing.Any, other_factors: typing.Any, gram: typing.Any, regularization: typing.SupportsFloat | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
    """
    Weighted squared error of the CSR rows over all columns plus regularization * |factors|^2 (float64; add regularization * |other_factors|^2 once).
    """
def solve_rows(indptr: typing.Any, indices: typing.Any, values: typing.Any, other_factors: typing.Any, gram: typing.Any, factors: typing.Any, regularization: typing.SupportsFloat | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, solver: str = 'cg', cg_steps: typing.SupportsInt | typing.SupportsIndex = 3, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    One ALS half-step over the CSR rows (in place on factors): row u solves (gram + reg I + sum (alpha r - 1) y yᵀ) x = sum alpha r y over its entries, by cg_steps warm-started CG steps ('cg') or exactly ('cholesky').
    """
gram_block_rows: int = 4096
