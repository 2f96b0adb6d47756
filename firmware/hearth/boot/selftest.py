"""python -m hearth.boot.selftest: the smallest application an image can run.

For board bring-up and update-pipeline tests before (or instead of) the
appliance: it reports where it runs from, loads the native extension if the
bundle has one, passes a zero-length health check (console = stdout, the
detector deliberately absent) and confirms a trial image. Prints one JSON line.
"""
import json
import sys


def main():
    import hearth
    from hearth.boot import contract
    from hearth.boot.health import HealthCheck
    launch = contract.parse()
    report = {
        "slot": launch.slot,
        "trial": launch.trial,
        "version": launch.version,
        "hearth_file": hearth.__file__,
        "run_dir": launch.run_dir,
        "native": None,
    }
    try:
        from hearth import _native
        report["native"] = _native.__file__
    except ImportError as e:
        report["native_error"] = str(e)
    storage = launch.storage
    if storage:
        hc = HealthCheck(storage, hold_s=0)
        hc.console_up()
        hc.detector("loaded" if report["native"] else "absent")
        report["health"] = hc.poll()
    sys.stdout.write(json.dumps(report, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
