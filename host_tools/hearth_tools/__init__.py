"""Hearth host tools: the `hearth` CLI and the libraries behind each command."""
import hearth as _hearth  # noqa: F401  (single-threaded BLAS before numpy loads: see hearth/__init__.py)

__version__ = "0.1.0"
