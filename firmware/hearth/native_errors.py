"""hearth.native_errors - the one place native status codes become Python exceptions.

Every native call that can fail returns a status (hearth/status.h): 0 or more
is success, a negative code names its module by its range (-1xx runtime,
-2xx detector, -3xx frontend, -4xx block DSP). check(rc) raises that module's
exception; the modules (hearth.nn, hearth.detect, hearth.frontend,
hearth.ports.dsp) call it and re-export their class.

    try:
        nn.load(path)
    except NativeError as e:          # any of them
        print(e.name, e.detail)       # "HNN_E_UNSUPPORTED_OP", "subgraph 0 op 3 TANH: ..."
"""
from ._native import ffi, lib

__all__ = ["NativeError", "NNError", "DetectorError", "FrontendError", "DspError",
           "check", "error"]


class NativeError(Exception):
    """A native error: .code (negative), .name (e.g. "HNN_E_ARENA"), .detail
    (where and why, may be empty). The message is one line: name, what it
    means and how to fix it, then the detail."""

    def __init__(self, code, detail=""):
        self.code = code
        self.name = ffi.string(lib.hearth_errname(code)).decode()
        self.detail = detail
        text = ffi.string(lib.hearth_strerror(code)).decode()
        super().__init__(text + (" (%s)" % detail if detail else ""))


class NNError(NativeError):
    """The inference runtime (hnn_status)."""


class DetectorError(NativeError, RuntimeError):
    """The wake-word detector (hdet_status)."""


class FrontendError(NativeError, ValueError):
    """The audio frontend (hfe_status)."""


class DspError(NativeError, ValueError):
    """The per-block audio work (hbd_status)."""


_BY_MODULE = {
    lib.HEARTH_STATUS_NN: NNError,
    lib.HEARTH_STATUS_DET: DetectorError,
    lib.HEARTH_STATUS_FE: FrontendError,
    lib.HEARTH_STATUS_BD: DspError,
}


def error(code, detail=""):
    """The exception for a negative status code (not raised)."""
    return _BY_MODULE.get(lib.hearth_status_module(code), NativeError)(code, detail)


def detail_text(fill, *args):
    """A native detail text: fill(*args, buf, n), e.g. lib.hnn_detail."""
    buf = ffi.new("char[]", lib.HNN_DETAIL_MAX)   # per call: threads never share it
    fill(*args, buf, lib.HNN_DETAIL_MAX)
    return ffi.string(buf).decode(errors="replace")


def check(rc, detail=None):
    """rc if it is not an error; else raise the module's exception. detail is
    a string, or a callable giving one (called only on failure)."""
    if rc < 0:
        raise error(rc, (detail() if callable(detail) else detail) or "")
    return rc
