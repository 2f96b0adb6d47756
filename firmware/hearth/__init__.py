"""Hearth device firmware: portable core (hearth.core), platform ports, native runtime."""
__version__ = "0.1.0"


def _single_threaded_blas():
    # The appliance loop is one cooperative thread. numpy's OpenBLAS would
    # otherwise start a worker per core at import, and those workers spin for
    # a while after start-up and after every BLAS call: CPU taken from the
    # detector on a small board (and counted against the loop in `hearth
    # bench soak`). Only effective before numpy's first import, so it is set
    # here, first. (MicroPython, which runs hearth.core, has no os.environ.)
    try:
        import os
        env = os.environ
    except (ImportError, AttributeError):
        return
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        env.setdefault(var, "1")


_single_threaded_blas()
