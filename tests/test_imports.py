"""Every module of the package imports on its own, in a fresh interpreter (no import cycle, no
import-order dependence, no mpi4py needed), and the comm layer imports nothing from the CLI."""
from __future__ import annotations

import concurrent.futures
import importlib.util
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

_ROOT = pathlib.Path(importlib.util.find_spec("harpdaal").submodule_search_locations[0])
_LAUNCHER_VARIABLES = ("PMI_", "HYDRA_", "OMPI_", "PMIX_")


def _modules() -> list[str]:
    """Dotted names of every module of the package as it is installed (sources and _core)."""
    names = []
    for path in sorted(_ROOT.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(_ROOT.parent)
        if path.suffix == ".py":
            parts = rel.with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        elif path.suffix in (".so", ".pyd"):
            names.append(".".join((*rel.parent.parts, path.name.split(".")[0])))
    return names


MODULES = _modules()


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_VARIABLES)}
    return subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                          text=True, timeout=120, env=env)


_IMPORT_ALONE = textwrap.dedent("""
    import sys
    sys.modules["mpi4py"] = None  # any import of mpi4py raises ImportError
    import {name}
    assert "mpi4py.MPI" not in sys.modules
""")


@pytest.fixture(scope="module")
def import_results() -> dict:
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        procs = pool.map(lambda n: _run(_IMPORT_ALONE.format(name=n)), MODULES)
        return dict(zip(MODULES, procs))


def test_every_module_is_listed():
    for name in ("harpdaal", "harpdaal._core", "harpdaal.comm", "harpdaal.comm.base",
                 "harpdaal.cli.launch", "harpdaal.datasets.idx", "harpdaal.bench.runner"):
        assert name in MODULES, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_alone(import_results, name):
    proc = import_results[name]
    assert proc.returncode == 0, f"python -c 'import {name}' failed:\n{proc.stderr[-3000:]}"


_NO_CLI = textwrap.dedent("""
    import sys
    import harpdaal.comm
    {imports}
    loaded = sorted(m for m in sys.modules if m == "harpdaal.cli" or m.startswith("harpdaal.cli."))
    assert not loaded, loaded
    print("OK")
""")


def test_comm_imports_nothing_from_the_cli():
    comm = [m for m in MODULES if m.startswith("harpdaal.comm.")]
    assert "harpdaal.comm._current" in comm
    proc = _run(_NO_CLI.format(imports="\n".join(f"import {m}" for m in comm)))
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-3000:]


def test_package_imports_neither_cli_nor_estimators():
    proc = _run(textwrap.dedent("""
        import sys
        import harpdaal
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[:2] in (["harpdaal", "cli"], ["harpdaal", "cluster"],
                                                ["harpdaal", "recommend"], ["harpdaal", "topic"]))
        assert not loaded, loaded
        print("OK")
    """))
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-3000:]


def test_command_line_parser_does_not_load_scikit_learn():
    """Building the parser imports every command module; the estimators (scikit-learn) load
    only when a command runs, so ``harpdaal info`` and a --ranks relaunching parent start fast."""
    proc = _run(textwrap.dedent("""
        import sys
        from harpdaal.__main__ import build_parser
        build_parser()
        assert "harpdaal.cli.kmeans" in sys.modules and "harpdaal.cli.bench" in sys.modules
        assert "sklearn" not in sys.modules, "sklearn loaded"
        print("OK")
    """))
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-3000:]


def _package_imports(path: pathlib.Path, package: str) -> set[str]:
    """Absolute names of the harpdaal modules a source file imports (at any depth)."""
    import ast

    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "harpdaal")
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            if node.module:
                targets = [".".join(base + [node.module])]
            else:  # from .. import x: x is a module of the package
                targets = [".".join(base + [a.name]) for a in node.names]
            out.update(t for t in targets if t.split(".")[0] == "harpdaal")
    return out


def test_comm_layer_depends_only_on_core():
    """Layers: harpdaal.comm sits under estimators, the CLI and the settings (_context, which
    imports comm); from outside its own package it may use only the native module."""
    outside = {}
    for path in sorted((_ROOT / "comm").glob("*.py")):
        for target in _package_imports(path, "harpdaal.comm"):
            if not (target == "harpdaal.comm" or target.startswith("harpdaal.comm.")
                    or target == "harpdaal._core"):
                outside.setdefault(path.name, set()).add(target)
    assert not outside, outside
