"""Errors the CLI turns into one line on stderr and a documented exit code
(the table is hearth.exitcodes, shared with the device's entry points)."""
from hearth import exitcodes

EXIT_OK = exitcodes.OK
EXIT_FAILURE = exitcodes.FAILURE      # the operation ran and failed (verification failed, device said no)
EXIT_USAGE = exitcodes.USAGE          # bad arguments or input files
EXIT_DEVICE = exitcodes.DEVICE        # device or transport unreachable
EXIT_INTERNAL = exitcodes.INTERNAL    # a bug: rerun with --debug and report the traceback


class HearthError(Exception):
    """An expected failure with a one-line message that says how to fix it."""

    exit_code = EXIT_FAILURE

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(HearthError):
    exit_code = EXIT_USAGE


# "The device is unreachable" is hearth_tools.transport.DeviceUnreachable (EXIT_DEVICE);
# "the device answered with an error" is hearth_tools.device.DeviceError (EXIT_FAILURE).
