#!/usr/bin/env python3
"""Turn a `harpdaal bench` results.json into the markdown block for README's performance section.

    harpdaal bench --size full --threads 1,2 --ranks 1,2 --out results/readme
    python benchmarks/make_readme_table.py results/readme/results.json > perf.md

The block names the machine, the command and the git SHA it was measured with; paste it under
README's performance heading (the lead owns README.md).
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", help="results.json written by harpdaal bench")
    p.add_argument("--full", action="store_true", help="the full per-tool table instead of the compact one")
    args = p.parse_args(argv)

    from harpdaal.bench.report import markdown, readme_block
    from harpdaal.bench.schema import validate

    with open(args.results, encoding="utf-8") as f:
        doc = json.load(f)
    validate(doc)
    sys.stdout.write(markdown(doc) if args.full else readme_block(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
