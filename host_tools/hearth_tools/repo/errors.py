"""The repository's one error type: a one-line message that says what to do."""


class RepoError(Exception):
    """An expected failure. usage: the caller named something unreadable or
    wrong (exit 2 on the command line) rather than an operation failing."""

    def __init__(self, message, usage=False):
        super().__init__(message)
        self.usage = usage
