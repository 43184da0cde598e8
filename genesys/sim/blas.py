"""Run numpy's bundled OpenBLAS single-threaded while simulating.

The simulator issues many small matrix products; OpenBLAS threads them, which on a small shared machine
costs far more in synchronisation than it gains (measured: 35x slower on 2 busy cores). Best effort:
when the library or its symbols are not found, nothing changes.
"""

from __future__ import annotations

import ctypes
import glob
import os
from contextlib import contextmanager

import numpy as np

_SET = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")
_GET = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads")


def _find():
    root = os.path.dirname(os.path.dirname(np.__file__))
    for path in glob.glob(os.path.join(root, "numpy.libs", "*openblas*")) + \
            glob.glob(os.path.join(os.path.dirname(np.__file__), ".dylibs", "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for s, g in zip(_SET, _GET, strict=True):
            if hasattr(lib, s) and hasattr(lib, g):
                return getattr(lib, s), getattr(lib, g)
    return None


_FUNCS = _find()


@contextmanager
def single_thread():
    if _FUNCS is None:
        yield
        return
    set_threads, get_threads = _FUNCS
    before = int(get_threads())
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)
