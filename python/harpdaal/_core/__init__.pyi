"""
harpdaal native kernels (see harpdaal.show_config())
"""
from __future__ import annotations
from . import common
from . import testing
from . import comm
from . import kmeans
from . import mf
from . import lda
__all__: list[str] = ['active_isa', 'build_info', 'comm', 'common', 'detected_isa', 'kmeans', 'lda', 'mf', 'set_isa', 'testing']
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
    Highest ISA level this CPU can run: 'avx512', 'avx2' or 'generic'.
    """
def set_isa(isa: str) -> None:
    """
    Force the ISA level ('avx512', 'avx2', 'generic').
    """
