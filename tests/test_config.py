"""show_config, ISA control and the `harpdaal info` command."""
import io
import os
import subprocess
import sys

import pytest

import harpdaal


def _run(code, **env):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=60)


def test_show_config_names_every_component():
    buf = io.StringIO()
    harpdaal.show_config(file=buf)
    text = buf.getvalue()
    for word in ("harpdaal", "ISA", "MKL", "oneTBB", "MPI", harpdaal.active_isa()):
        assert word in text
    info = harpdaal._config.config()
    assert info["isa_active"] in info["isa_available"]
    assert info["isa_detected"] == info["isa_available"][-1]
    assert info["tbb_default_concurrency"] >= 1
    assert info["mkl_version"].split(".")[0].isdigit()


def test_every_available_isa_can_be_forced_and_restored():
    start = harpdaal.active_isa()
    try:
        for isa in harpdaal.available_isas():
            harpdaal.set_isa(isa)
            assert harpdaal.active_isa() == isa
    finally:
        harpdaal.set_isa(start)


def test_set_isa_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown ISA 'sse9'"):
        harpdaal.set_isa("sse9")
    with pytest.raises(TypeError, match="isa must be a str"):
        harpdaal.set_isa(3)


def test_env_forces_isa():
    r = _run("import harpdaal; print(harpdaal.active_isa())", HARPDAAL_ISA="generic")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "generic"


def test_env_with_bad_isa_fails_at_import_with_clear_message():
    r = _run("import harpdaal", HARPDAAL_ISA="avx1024")
    assert r.returncode != 0
    assert "HARPDAAL_ISA='avx1024'" in r.stderr and "unknown ISA" in r.stderr


def test_env_isa_beyond_cpu_is_refused():
    levels = ["generic", "avx2", "avx512f", "avx512"]
    top = levels.index(harpdaal.detected_isa())
    if top == len(levels) - 1:
        pytest.skip("this CPU runs every level, so no level is beyond it")
    r = _run("import harpdaal", HARPDAAL_ISA=levels[top + 1])
    assert r.returncode != 0 and "this CPU supports at most" in r.stderr


def test_cli_info():
    r = subprocess.run([sys.executable, "-m", "harpdaal", "info"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "ISA" in r.stdout and "oneTBB" in r.stdout


def test_avx512f_level_sits_between_avx2_and_avx512():
    detected = harpdaal.detected_isa()
    available = harpdaal.available_isas()
    assert detected in ("generic", "avx2", "avx512f", "avx512")
    if detected in ("avx512f", "avx512"):
        assert available[-2:] == (["avx2", "avx512f"] if detected == "avx512f"
                                  else ["avx512f", "avx512"])
        start = harpdaal.active_isa()
        try:
            harpdaal.set_isa("avx512f")
            assert harpdaal.active_isa() == "avx512f"
            buf = io.StringIO()
            harpdaal.show_config(file=buf)
            assert "active=avx512f" in buf.getvalue()
            assert "avx2,avx512f" in buf.getvalue()
        finally:
            harpdaal.set_isa(start)
    else:
        assert "avx512f" not in available
        with pytest.raises(ValueError, match="this CPU supports at most"):
            harpdaal.set_isa("avx512f")


def test_env_forces_avx512f():
    if "avx512f" not in harpdaal.available_isas():
        pytest.skip("this CPU has no AVX-512")
    r = _run("import harpdaal; print(harpdaal.active_isa())", HARPDAAL_ISA="avx512f")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "avx512f"


def test_unknown_isa_message_names_every_level():
    with pytest.raises(ValueError, match="avx512, avx512f, avx2, generic"):
        harpdaal.set_isa("avx512bw")
