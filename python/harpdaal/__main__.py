"""harpdaal command line: ``harpdaal <command> ...`` (also ``python -m harpdaal ...``)."""
from __future__ import annotations

import argparse
import sys

from .cli import als, bench, demo, info, kmeans, lda, mf, serve

COMMANDS = (info, demo, kmeans, mf, lda, als, serve, bench)  # in the order --help lists them


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harpdaal", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command line as given, for relaunching under mpiexec (--ranks)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
