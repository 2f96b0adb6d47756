"""Minimal test runner for MicroPython and CPython: run(modules) -> (passed, failed)."""


def run(names, out=print, only=None):
    passed = 0
    failed = 0
    for name in names:
        mod = __import__(name)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            if only is not None and (name + "." + attr) not in only:
                continue
            fn = getattr(mod, attr)
            try:
                fn()
            except Exception as e:      # AssertionError included
                failed += 1
                out("FAIL %s.%s: %s %s" % (name, attr, type(e).__name__, e))
            else:
                passed += 1
                out("PASS %s.%s" % (name, attr))
    out("%d passed, %d failed" % (passed, failed))
    return passed, failed


MODULES = ["ct_modes", "ct_governor", "ct_controller", "ct_alarm", "ct_shell", "ct_metrics",
           "ct_audiohealth", "ct_appliance", "ct_quality"]
