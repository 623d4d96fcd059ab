"""Bounded atheris runs of every file-loader fuzz target in fuzz/ (15 s each by default,
$HARPDAAL_FUZZ_SECONDS to change). A target fails on any exception other than the loaders'
clean TypeError/ValueError refusals; the failing input is shown. Skips when atheris is not
installed (pip install atheris)."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from ._counts import COUNTS

ROOT = pathlib.Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fuzz"
TARGETS = sorted(p.stem[len("fuzz_"):] for p in FUZZ.glob("fuzz_*.py"))
SECONDS = int(os.environ.get("HARPDAAL_FUZZ_SECONDS", "15"))


def test_every_loader_has_a_target():
    assert {"uci_docword", "ldac", "ratings", "kmeans_reader", "idx"} <= set(TARGETS), TARGETS


@pytest.mark.timeout(SECONDS + 120)
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target(tmp_path, target):
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    corpus = tmp_path / "corpus"
    seeds = FUZZ / "seeds" / target
    if seeds.is_dir():
        shutil.copytree(seeds, corpus)
    else:
        corpus.mkdir()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    argv = [sys.executable, str(FUZZ / f"fuzz_{target}.py"), f"-max_total_time={SECONDS}",
            "-print_final_stats=1", "-seed=1", "-rss_limit_mb=3072", "-timeout=20",
            f"-artifact_prefix={artifacts}/", str(corpus)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=SECONDS + 90,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"fuzz_{target}: did not finish within {SECONDS + 90} s")
    out = proc.stdout + proc.stderr
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    execs = int(m.group(1)) if m else 0
    COUNTS.fuzz[target] = execs
    if proc.returncode != 0:
        crashes = sorted(artifacts.iterdir())
        shown = [f"{p.name}: {p.read_bytes()[:300]!r}" for p in crashes]
        tail = "\n".join(line for line in out.splitlines()
                         if not line.startswith("INFO: Instrumenting"))[-4000:]
        pytest.fail(f"fuzz_{target} found a failure after {execs} executions; inputs: {shown}"
                    f"\n{tail}")
    assert execs > 100, f"fuzz_{target}: only {execs} executions in {SECONDS} s\n{out[-2000:]}"
