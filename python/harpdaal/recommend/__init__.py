"""Recommenders: matrix factorisation by SGD (Harp-DAAL MF-SGD) or CCD++ (Harp MF-CCD)."""
from ._als import ImplicitALS, ParameterWarning
from ._mf import MatrixFactorization

__all__ = ["ImplicitALS", "MatrixFactorization", "ParameterWarning"]
