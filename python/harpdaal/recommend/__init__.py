"""Recommenders: matrix factorisation by SGD (Harp-DAAL MF-SGD) or CCD++ (Harp MF-CCD), and
implicit-feedback ALS (Harp-DAAL ALS, the `implicit` library's API)."""
from ._als import ImplicitALS, ParameterWarning
from ._mf import MatrixFactorization

__all__ = ["ImplicitALS", "MatrixFactorization", "ParameterWarning"]
