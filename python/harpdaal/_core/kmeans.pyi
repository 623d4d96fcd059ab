"""
K-means kernels
"""
from __future__ import annotations
import typing
__all__: list[str] = ['assign_csr_f32', 'assign_csr_f64', 'assign_f32', 'assign_f64', 'assigned_sq_dist_f32', 'assigned_sq_dist_f64', 'center_f32', 'center_f64', 'choose_method', 'distances_f32', 'distances_f64', 'lloyd_finish_f32', 'lloyd_finish_f64', 'lloyd_fit_f32', 'lloyd_fit_f64', 'lloyd_iterations_f32', 'lloyd_iterations_f64', 'lloyd_partial_csr_f32', 'lloyd_partial_csr_f64', 'lloyd_partial_f32', 'lloyd_partial_f64', 'minibatch_update_f32', 'minibatch_update_f64']
def assign_csr_f32(data: typing.Any, indices: typing.Any, indptr: typing.Any, centers: typing.Any, labels: typing.Any, sq_dist: typing.Any = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    assign for CSR input.
    """
def assign_csr_f64(data: typing.Any, indices: typing.Any, indptr: typing.Any, centers: typing.Any, labels: typing.Any, sq_dist: typing.Any = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    assign for CSR input.
    """
def assign_f32(X: typing.Any, centers: typing.Any, labels: typing.Any, sq_dist: typing.Any = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None) -> None:
    """
    labels[i] = nearest center of X - shift; sq_dist[i] (optional) = its squared distance.
    """
def assign_f64(X: typing.Any, centers: typing.Any, labels: typing.Any, sq_dist: typing.Any = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None) -> None:
    """
    labels[i] = nearest center of X - shift; sq_dist[i] (optional) = its squared distance.
    """
def assigned_sq_dist_f32(X: typing.Any, centers: typing.Any, labels: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, shift: typing.Any = None) -> None:
    """
    out[i] = ||(X[i] - shift) - centers[labels[i]]||^2, computed directly.
    """
def assigned_sq_dist_f64(X: typing.Any, centers: typing.Any, labels: typing.Any, out: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, shift: typing.Any = None) -> None:
    """
    out[i] = ||(X[i] - shift) - centers[labels[i]]||^2, computed directly.
    """
def center_f32(X: typing.Any, out: typing.Any, mean: typing.Any, col_stats: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    mean = column means of X, out = X - mean (None: not written), col_stats (None: not computed) = [column sums of out, column sums of out**2] (float64).
    """
def center_f64(X: typing.Any, out: typing.Any, mean: typing.Any, col_stats: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    mean = column means of X, out = X - mean (None: not written), col_stats (None: not computed) = [column sums of out, column sums of out**2] (float64).
    """
def choose_method(d: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, is_double: bool) -> str:
    """
    The method 'auto' picks for this shape on the active ISA.
    """
def distances_f32(X: typing.Any, centers: typing.Any, out: typing.Any, squared: bool = False, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[i, j] = ||X[i] - centers[j]|| (squared if asked).
    """
def distances_f64(X: typing.Any, centers: typing.Any, out: typing.Any, squared: bool = False, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out[i, j] = ||X[i] - centers[j]|| (squared if asked).
    """
def lloyd_finish_f32(X: typing.Any, centers: typing.Any, labels: typing.Any, reassign: bool, sq_dist: typing.Any = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None) -> None:
    """
    After the last iteration: reassign=True runs the final E-step (labels of the final centers); sq_dist (optional, n values) = the assigned squared distances, as assigned_sq_dist computes them, in the same pass.
    """
def lloyd_finish_f64(X: typing.Any, centers: typing.Any, labels: typing.Any, reassign: bool, sq_dist: typing.Any = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None) -> None:
    """
    After the last iteration: reassign=True runs the final E-step (labels of the final centers); sq_dist (optional, n values) = the assigned squared distances, as assigned_sq_dist computes them, in the same pass.
    """
def lloyd_fit_f32(X: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None, sq_dist: typing.Any = None) -> tuple:
    """
    A whole single-process Lloyd fit in one call (GIL released): centers (in: initial, out: final) and labels are updated in place; returns (n_iter, compute_seconds, other_seconds). shift (optional, d values): fit X - shift without a centred copy. sq_dist (optional, n values): the final squared distances, as assigned_sq_dist.
    """
def lloyd_fit_f64(X: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None, sq_dist: typing.Any = None) -> tuple:
    """
    A whole single-process Lloyd fit in one call (GIL released): centers (in: initial, out: final) and labels are updated in place; returns (n_iter, compute_seconds, other_seconds). shift (optional, d values): fit X - shift without a centred copy. sq_dist (optional, n values): the final squared distances, as assigned_sq_dist.
    """
def lloyd_iterations_f32(X: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None, inertia: typing.Any = None) -> tuple:
    """
    Up to max_iter single-process Lloyd iterations in one call (GIL released): centers and labels (in: the previous iteration's labels, -1 before the first) are updated in place; calls continue one another exactly. Returns (n_iter, stop, center_shift, compute_seconds, other_seconds); stop is 'strict' (no label changed), 'tolerance' (squared center shift <= tol) or ''. shift (optional, d values): X - shift without a centred copy. inertia (optional, max_iter float64): each step's inertia.
    """
def lloyd_iterations_f64(X: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', shift: typing.Any = None, inertia: typing.Any = None) -> tuple:
    """
    Up to max_iter single-process Lloyd iterations in one call (GIL released): centers and labels (in: the previous iteration's labels, -1 before the first) are updated in place; calls continue one another exactly. Returns (n_iter, stop, center_shift, compute_seconds, other_seconds); stop is 'strict' (no label changed), 'tolerance' (squared center shift <= tol) or ''. shift (optional, d values): X - shift without a centred copy. inertia (optional, max_iter float64): each step's inertia.
    """
def lloyd_partial_csr_f32(data: typing.Any, indices: typing.Any, indptr: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, sums: typing.Any, weights: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
    """
    lloyd_partial for CSR input (indices int32, indptr int64).
    """
def lloyd_partial_csr_f64(data: typing.Any, indices: typing.Any, indptr: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, sums: typing.Any, weights: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
    """
    lloyd_partial for CSR input (indices int32, indptr int64).
    """
def lloyd_partial_f32(X: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, sums: typing.Any, weights: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', rows: typing.Any = None) -> float:
    """
    One Lloyd step: writes labels, per-cluster weighted sums (float64) and weights; returns the inertia. rows (optional, int64): the step's rows are X[rows] (labels and sample_weight have len(rows) entries), gathered inside the kernel (no copy), with the bits of the step on X[rows].
    """
def lloyd_partial_f64(X: typing.Any, sample_weight: typing.Any, centers: typing.Any, labels: typing.Any, sums: typing.Any, weights: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, method: str = 'auto', rows: typing.Any = None) -> float:
    """
    One Lloyd step: writes labels, per-cluster weighted sums (float64) and weights; returns the inertia. rows (optional, int64): the step's rows are X[rows] (labels and sample_weight have len(rows) entries), gathered inside the kernel (no copy), with the bits of the step on X[rows].
    """
def minibatch_update_f32(centers: typing.Any, counts: typing.Any, sums: typing.Any, weights: typing.Any) -> None:
    """
    Mini-batch center update in place (scikit-learn's per-center learning rate): each center with weights[j] > 0 becomes (c * counts[j] + sums[j]) / (counts[j] + weights[j]) in float64 and counts[j] grows by weights[j].
    """
def minibatch_update_f64(centers: typing.Any, counts: typing.Any, sums: typing.Any, weights: typing.Any) -> None:
    """
    Mini-batch center update in place (scikit-learn's per-center learning rate): each center with weights[j] > 0 becomes (c * counts[j] + sums[j]) / (counts[j] + weights[j]) in float64 and counts[j] grows by weights[j].
    """
