"""Session-wide counters (hypothesis examples per test, fuzz executions per target)."""
from __future__ import annotations

import collections


class _Counts:
    def __init__(self):
        self.hypothesis = collections.Counter()
        self.fuzz = {}

    def as_dict(self):
        return {"hypothesis_inputs": sum(self.hypothesis.values()),
                "hypothesis_per_test": dict(self.hypothesis),
                "fuzz_execs": dict(self.fuzz)}


COUNTS = _Counts()
