"""Exit codes of every Hearth entry point: `hearth` on the host, and
`python -m hearth.boot` and `python -m hearth` on the device.

One table, so a script or a supervisor reads a status the same way whoever
returned it. docs/CLI.md shows it; tests/test_cli.py checks that it does.
"""

OK = 0
FAILURE = 1            # the operation ran and failed: verification failed, the launcher refused
USAGE = 2              # bad arguments or unreadable input: fix the command line or the file
RECOVERY = 3           # launcher: no bootable image (the recovery console was left or not opened)
TRIAL_UNHEALTHY = 4    # application: a trial image gave up on its health check
REBOOT = 6             # application: an update is staged; the supervisor starts the launcher, which boots it
DEVICE = 5             # host: device or transport unreachable
INTERNAL = 70          # a bug (sysexits EX_SOFTWARE): rerun with --debug and report the traceback
INTERRUPTED = 130      # Ctrl-C (128 + SIGINT, as a shell reports it)
BROKEN_PIPE = 141      # the reader of stdout went away, e.g. `| head` (128 + SIGPIPE, as a shell reports it)

# (code, name, meaning) in the order docs/CLI.md lists them
TABLE = (
    (OK, "OK", "success"),
    (FAILURE, "FAILURE", "the operation ran and failed (verification failed, the launcher refused)"),
    (USAGE, "USAGE", "bad arguments or unreadable input files"),
    (RECOVERY, "RECOVERY", "launcher: no bootable image"),
    (TRIAL_UNHEALTHY, "TRIAL_UNHEALTHY", "application: a trial image gave up on its health check"),
    (DEVICE, "DEVICE", "device or transport unreachable"),
    (REBOOT, "REBOOT", "application: an update is staged; restart the launcher to boot it as a trial"),
    (INTERNAL, "INTERNAL", "internal error (a bug): rerun with `--debug`"),
    (INTERRUPTED, "INTERRUPTED", "interrupted (Ctrl-C)"),
    (BROKEN_PIPE, "BROKEN_PIPE", "stdout was closed early (e.g. `| head`): nothing else went wrong"),
)


def name(code):
    """The table's name of an exit code ("OK", "USAGE", ...), or None."""
    for c, n, _meaning in TABLE:
        if c == code:
            return n
    return None
