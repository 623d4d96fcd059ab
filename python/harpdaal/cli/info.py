"""``harpdaal info``: versions, ISA levels, MKL/TBB/MPI."""
from .._config import show_config


def add_parser(sub):
    p = sub.add_parser("info", help="print versions, ISA levels, MKL/TBB/MPI")
    p.set_defaults(func=run)


def run(_args) -> int:
    show_config()
    return 0
