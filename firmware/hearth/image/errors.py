"""The one exception image parsing and verification raise."""


class ImageError(ValueError):
    """An image or bundle was refused.

    `code` is a short stable identifier (tests and the launcher's status use it);
    str(err) is a one-line reason a person can act on.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    def __str__(self):
        return "%s: %s" % (self.code, self.args[0])
