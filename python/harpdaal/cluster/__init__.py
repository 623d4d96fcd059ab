"""Clustering estimators: :class:`KMeans` (Lloyd with a fused native kernel, MPI-aware)."""
from ._kmeans import KMeans

__all__ = ["KMeans"]
