"""Shared harness for the atheris fuzz targets: each input is written to a file (the loaders
take paths) and the loader is called; TypeError/ValueError are the clean refusals, anything
else is a bug that atheris reports with the input that triggered it.

Run one target:  python fuzz/fuzz_ldac.py -max_total_time=15 fuzz/seeds/ldac
"""
from __future__ import annotations

import atexit
import os
import sys
import tempfile
import warnings

import numpy  # noqa: F401  (imported before any target instruments: only harpdaal is)
import scipy.sparse  # noqa: F401

CLEAN = (TypeError, ValueError)


def input_path(suffix: str) -> str:
    """A temporary file (in /dev/shm where it can) for the inputs, removed at exit."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    fd, path = tempfile.mkstemp(prefix="harpdaal-fuzz-", suffix=suffix, dir=base)
    os.close(fd)
    atexit.register(os.unlink, path)
    return path


def load(path: str, data: bytes, loader, *args):
    """Write `data` to `path` and call `loader(path, *args)`; None when it refuses cleanly."""
    with open(path, "wb") as f:
        f.write(data)
    try:
        return loader(path, *args)
    except CLEAN:
        return None


def run(test_one_input, argv=None):
    import atheris

    warnings.simplefilter("ignore")  # a warning is not a failure here
    atheris.Setup(sys.argv if argv is None else argv, test_one_input)
    atheris.Fuzz()


def instrument(*modules):
    """Coverage instrumentation of the modules' functions. (instrument_imports cannot see
    harpdaal when it is installed editable: scikit-build-core's import hook loads it.)"""
    import inspect

    import atheris

    for mod in modules:
        for obj in list(vars(mod).values()):
            if inspect.isfunction(obj) and obj.__module__ == mod.__name__:
                atheris.instrument_func(obj)
            elif inspect.isclass(obj) and obj.__module__ == mod.__name__:
                for meth in vars(obj).values():
                    if inspect.isfunction(meth):
                        atheris.instrument_func(meth)
