"""harpdaal: Harp-DAAL for Python.

Native C++ kernels (K-means, MF-SGD, LDA) behind zero-copy pybind11 bindings, Harp's collective
communication and model rotation over MPI (mpi4py, imported lazily), and scikit-learn-style
estimators. ``import harpdaal`` never needs MPI.
"""
from ._config import active_isa, available_isas, detected_isa, set_isa, show_config
from ._context import config_context, get_config, set_config
from ._threads import ThreadLimitWarning, set_thread_limit, thread_limit
from ._version import __version__

__all__ = [
    "__version__",
    "active_isa",
    "available_isas",
    "config_context",
    "detected_isa",
    "get_config",
    "set_config",
    "set_isa",
    "set_thread_limit",
    "show_config",
    "thread_limit",
    "ThreadLimitWarning",
]
