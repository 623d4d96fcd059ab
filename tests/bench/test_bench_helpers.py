"""harpdaal.bench.helpers: a missing peer is PeerUnavailable, a broken one is not."""
from __future__ import annotations

import sys

import pytest

from harpdaal.bench.errors import PeerUnavailable
from harpdaal.bench.helpers import require, timed
from harpdaal.bench.timing import record, section


def test_require_reports_missing_peer_with_install_hint():
    assert require("json").dumps([1]) == "[1]"
    with pytest.raises(PeerUnavailable, match=r"pip install faiss-cpu"):
        require("hd_no_such_peer_module", "faiss-cpu")


def test_require_lets_a_broken_peer_fail(tmp_path, monkeypatch):
    (tmp_path / "hd_broken_peer.py").write_text("import hd_missing_dependency_of_peer\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hd_broken_peer", raising=False)
    with pytest.raises(ModuleNotFoundError, match="hd_missing_dependency_of_peer"):
        require("hd_broken_peer")


def test_timed_returns_seconds_and_result():
    seconds, out = timed(sum, [1, 2, 3])
    assert out == 6 and 0 <= seconds < 1


def test_recorder_marked_only_after_a_section():
    with record() as rec:
        pass
    assert not rec.marked
    with record() as rec:
        with section("comm"):
            sum(range(1000))
    assert rec.marked and rec.totals()["comm"] > 0
