# The native extension (hearth._native) is built by cffi in API mode from
# native/; everything else is declared in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["native/ffi/build_ffi.py:ffibuilder"])
