"""The repository's one error type: a one-line message that says what to do."""


class RepoError(Exception):
    """An expected failure (bad directory, bad image, missing key)."""
