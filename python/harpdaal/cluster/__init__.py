"""Clustering estimators: :class:`KMeans` (Lloyd with a fused native kernel, MPI-aware) and
:class:`MiniBatchKMeans` (scikit-learn's mini-batch K-means on the same kernels)."""
from ._kmeans import KMeans
from ._minibatch import MiniBatchKMeans

__all__ = ["KMeans", "MiniBatchKMeans"]
