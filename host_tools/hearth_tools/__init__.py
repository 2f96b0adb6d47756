"""Hearth host tools: the `hearth` CLI and the libraries behind each command."""
__version__ = "0.1.0"
