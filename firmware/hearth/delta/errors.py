"""The one exception the delta applier raises."""


class DeltaError(ValueError):
    """A patch was refused or could not be applied.

    `code` is a short stable identifier (see docs/DELTA.md "Errors");
    str(err) is a one-line reason that says what to do.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    def __str__(self):
        return "%s: %s" % (self.code, self.args[0])
