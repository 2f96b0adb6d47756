"""Errors the CLI turns into one line on stderr and a documented exit code."""

# Exit codes (documented in docs/CLI.md)
EXIT_OK = 0
EXIT_FAILURE = 1      # the operation ran and failed (verification failed, device said no)
EXIT_USAGE = 2        # bad arguments or input files
EXIT_DEVICE = 3       # device or transport unreachable
EXIT_INTERNAL = 70    # a bug: rerun with --debug and report the traceback


class HearthError(Exception):
    """An expected failure with a one-line message that says how to fix it."""

    exit_code = EXIT_FAILURE

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(HearthError):
    exit_code = EXIT_USAGE


class DeviceError(HearthError):
    exit_code = EXIT_DEVICE
