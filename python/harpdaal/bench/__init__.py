"""harpdaal's benchmark harness: ``harpdaal bench`` / ``python -m harpdaal.bench`` (docs/bench.md).

Case modules live in ``harpdaal.bench.cases``; ``harpdaal.bench.timing`` gives estimators the
compute / comm / glue breakdown. Nothing here is imported by ``import harpdaal``.
"""
