"""Hearth device firmware: portable core (hearth.core), platform ports, native runtime."""
import os as _os

__version__ = "0.1.0"

# The appliance loop is one cooperative thread. numpy's OpenBLAS would
# otherwise start a worker per core at import, and those workers spin for a
# while after start-up and after every BLAS call: CPU taken from the detector
# on a small board (and counted against the loop in `hearth bench soak`).
# Only effective before numpy's first import, so it is set here, first.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
del _var
