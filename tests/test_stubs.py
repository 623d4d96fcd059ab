"""The shipped type stubs (python/harpdaal/_core/*.pyi) name every function of harpdaal._core."""
import pathlib
import re
import types

import harpdaal
from harpdaal import _core

STUBS = pathlib.Path(harpdaal.__file__).parent / "_core"


def _public(module):
    for name in dir(module):
        if not name.startswith("_"):
            yield name, getattr(module, name)


def test_every_core_function_has_a_stub():
    assert STUBS.is_dir(), f"no stubs at {STUBS}"
    missing = []
    for sub_name, sub in [("__init__", _core)] + [
            (n, m) for n, m in _public(_core) if isinstance(m, types.ModuleType)]:
        stub = STUBS / f"{sub_name}.pyi"
        text = stub.read_text() if stub.exists() else ""
        declared = set(re.findall(r"^\s*def (\w+)\(", text, re.M)) | set(
            re.findall(r"^class (\w+)", text, re.M))
        for name, obj in _public(sub):
            if callable(obj) and not isinstance(obj, types.ModuleType) and name not in declared:
                missing.append(f"{sub_name}.{name}")
    assert not missing, f"regenerate stubs with scripts/gen_stubs.sh; missing: {missing}"
