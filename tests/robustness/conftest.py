"""Counts for the closing report: faults injected, hypothesis inputs tried, fuzz executions.
Printed at the end of the session (and written as JSON to $HARPDAAL_ROBUSTNESS_REPORT)."""
from __future__ import annotations

import json
import os

from . import _jobs
from ._counts import COUNTS


def pytest_terminal_summary(terminalreporter):
    report = {"faults_injected": dict(_jobs.FAULTS), **COUNTS.as_dict()}
    if not any(report["faults_injected"].values()) and not report["hypothesis_inputs"] \
            and not report["fuzz_execs"]:
        return
    tr = terminalreporter
    tr.section("harpdaal robustness counts")
    tr.write_line(f"faults injected: {sum(report['faults_injected'].values())} "
                  f"{report['faults_injected']}")
    tr.write_line(f"hypothesis inputs tried: {report['hypothesis_inputs']} "
                  f"(per test: {report['hypothesis_per_test']})")
    tr.write_line(f"fuzz executions: {sum(report['fuzz_execs'].values())} {report['fuzz_execs']}")
    path = os.environ.get("HARPDAAL_ROBUSTNESS_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True)
