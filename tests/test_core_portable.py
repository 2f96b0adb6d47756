"""The portable core tests (tests/core_tests) on CPython; test_micropython.py runs them on MicroPython."""
import os
import sys

import pytest

HERE = os.path.join(os.path.dirname(__file__), "core_tests")
sys.path.insert(0, HERE)
import runner  # noqa: E402


def _cases():
    out = []
    for name in runner.MODULES:
        mod = __import__(name)
        out += [(name, a) for a in sorted(dir(mod)) if a.startswith("test_")]
    return out


@pytest.mark.parametrize("module,test", _cases(), ids=lambda x: x)
def test_core(module, test):
    getattr(__import__(module), test)()
