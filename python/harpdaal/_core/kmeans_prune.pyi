"""
Bound-based (Yinyang / Hamerly) K-means step
"""
from __future__ import annotations
import typing
__all__: list[str] = ['prune_groups', 'prune_partials_size', 'prune_step_f32', 'prune_step_f64']
def prune_groups(k: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    How many center groups the estimator uses for k centers (1: Hamerly).
    """
def prune_partials_size(n: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex, method: str, dtype: typing.Any) -> int:
    """
    Float64 values prune_step's partials holds (the Lloyd step's chunk count times k (d + 1)).
    """
def prune_step_f32(X: typing.Any, sample_weight: typing.Any, shift: typing.Any, centers: typing.Any, prev_centers: typing.Any, group_of: typing.Any, labels: typing.Any, upper: typing.Any, lower: typing.Any, sums: typing.Any, weights: typing.Any, counts: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, lloyd_sums: bool = False, method: str = 'auto', partials: typing.Any = None, reuse_partials: bool = False) -> dict:
    """
    One Yinyang assignment step (exact: Lloyd's labels up to floating-point ties). prev_centers None starts from scratch; else the state arrays (labels, upper, lower (n, n_groups), sums, weights, counts) are what the previous call left and are updated in place. lloyd_sums: sums/weights recomputed as lloyd_partial(method, n_threads) adds them (the Lloyd step's bits; one pass over X), else updated from the rows that moved. partials (float64, prune_partials_size values, kept by the caller) with reuse_partials: only the Lloyd chunks' partial sums that a changed row touches are recomputed (the same bits, without the pass over X). Returns counts: distances computed, rows skipped, rows settled by one distance (tightened), labels changed.
    """
def prune_step_f64(X: typing.Any, sample_weight: typing.Any, shift: typing.Any, centers: typing.Any, prev_centers: typing.Any, group_of: typing.Any, labels: typing.Any, upper: typing.Any, lower: typing.Any, sums: typing.Any, weights: typing.Any, counts: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, lloyd_sums: bool = False, method: str = 'auto', partials: typing.Any = None, reuse_partials: bool = False) -> dict:
    """
    One Yinyang assignment step (exact: Lloyd's labels up to floating-point ties). prev_centers None starts from scratch; else the state arrays (labels, upper, lower (n, n_groups), sums, weights, counts) are what the previous call left and are updated in place. lloyd_sums: sums/weights recomputed as lloyd_partial(method, n_threads) adds them (the Lloyd step's bits; one pass over X), else updated from the rows that moved. partials (float64, prune_partials_size values, kept by the caller) with reuse_partials: only the Lloyd chunks' partial sums that a changed row touches are recomputed (the same bits, without the pass over X). Returns counts: distances computed, rows skipped, rows settled by one distance (tightened), labels changed.
    """
