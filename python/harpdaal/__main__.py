"""Command line: ``harpdaal info``, ``harpdaal demo`` (and ``python -m harpdaal ...``)."""
from __future__ import annotations

import argparse
import sys


def _cmd_info(_args) -> int:
    from . import show_config

    show_config()
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(ranks=args.ranks)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harpdaal", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print versions, ISA levels, MKL/TBB/MPI").set_defaults(
        func=_cmd_info)
    d = sub.add_parser("demo", help="exercise the collectives and a dispatched kernel")
    d.add_argument("--ranks", type=int, default=1,
                   help="number of MPI ranks (>1 launches itself under mpiexec)")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
