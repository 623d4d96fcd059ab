"""
harpdaal native kernels (see harpdaal.show_config())
"""
from __future__ import annotations
import typing
from . import common
from . import testing
from . import comm
from . import kmeans
from . import kmeans_prune
from . import mf
from . import als
from . import lda
__all__: list[str] = ['active_isa', 'als', 'build_info', 'comm', 'common', 'detected_isa', 'kmeans', 'kmeans_prune', 'lda', 'mf', 'set_isa', 'set_thread_limit', 'testing', 'thread_limit']
def active_isa() -> str:
    """
    ISA level the kernels currently dispatch to.
    """
def build_info() -> dict:
    """
    Versions of harpdaal, MKL and oneTBB, and the ISA levels.
    """
def detected_isa() -> str:
    """
    Highest ISA level this CPU can run: 'avx512', 'avx512f', 'avx2' or 'generic'.
    """
def set_isa(isa: str) -> None:
    """
    Force the ISA level ('avx512', 'avx512f', 'avx2', 'generic').
    """
def set_thread_limit(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Cap oneTBB's threads process-wide at n (0 removes harpdaal's cap).
    """
def thread_limit() -> int:
    """
    oneTBB's process-wide thread limit now in force (another library in the process, such as daal4py.daalinit(), may have lowered it).
    """
