"""hearth.nn - run int8 .tflite models on Hearth's C99 runtime (bit-exact with TFLM).

    from hearth import nn
    m = nn.load("models/okay_nabu.tflite")
    y = m.invoke(x)          # one streaming step; x: bytes or int8/uint8 array
    m.reset()                # back to the initial state

Memory: the model bytes are copied once into an aligned buffer the runtime reads
in place; the arena holds everything else and is exactly `m.arena_bytes` long.
"""
import os

import numpy as np

from ._native import ffi, lib
from .native_errors import NNError, check, detail_text

__all__ = ["NNError", "Model", "TensorInfo", "load", "arena_bytes"]

_ndarray = np.ndarray
_memmove = ffi.memmove

PRESERVE_ALL = lib.HNN_PRESERVE_ALL

_DTYPES = {lib.HNN_FLOAT32: np.float32, lib.HNN_INT32: np.int32, lib.HNN_UINT8: np.uint8,
           lib.HNN_INT64: np.int64, lib.HNN_BOOL: np.bool_, lib.HNN_INT16: np.int16,
           lib.HNN_INT8: np.int8}
_TYPE_NAMES = {lib.HNN_FLOAT32: "float32", lib.HNN_INT32: "int32", lib.HNN_UINT8: "uint8",
               lib.HNN_INT64: "int64", lib.HNN_BOOL: "bool", lib.HNN_INT16: "int16",
               lib.HNN_INT8: "int8", lib.HNN_RESOURCE: "resource"}


class TensorInfo:
    """Shape, dtype and quantization of one tensor of the main subgraph."""

    __slots__ = ("index", "shape", "dtype", "type_name", "scale", "zero_point", "nbytes")

    def __init__(self, index, info):
        self.index = index
        self.shape = tuple(info.dims[i] for i in range(info.ndim))
        self.dtype = _DTYPES.get(info.type)
        self.type_name = _TYPE_NAMES.get(info.type, str(info.type))
        self.scale = float(info.scale)
        self.zero_point = int(info.zero_point)
        self.nbytes = int(info.bytes)

    def __repr__(self):
        return "TensorInfo(index=%d, shape=%s, dtype=%s, scale=%g, zero_point=%d)" % (
            self.index, self.shape, self.type_name, self.scale, self.zero_point)


_LINE = 64   # cache line: vector loads of weights and activations never straddle one needlessly


def _aligned(nbytes):
    """(owner, pointer) to nbytes of zeroed memory aligned to a cache line."""
    owner = ffi.new("uint8_t[]", nbytes + _LINE)
    addr = int(ffi.cast("uintptr_t", owner))
    return owner, ffi.cast("uint8_t *", owner) + (-addr % _LINE)


def _aligned_copy(data):
    owner, ptr = _aligned(len(data) or 1)
    ffi.memmove(ptr, data, len(data))
    return owner, ptr


def _init(model_ptr, n, size, flags):
    """(arena owner, hnn_model *) of a model loaded into a new arena of size bytes."""
    owner, arena = _aligned(size or 1)
    out = ffi.new("hnn_model **")
    check(lib.hnn_init(out, model_ptr, n, arena, size, flags),
          lambda: detail_text(lib.hnn_init_detail, arena, size))
    return owner, out[0]


def arena_bytes(model_ptr, n, flags=0):
    """The exact arena a model needs (model_ptr: n bytes, 4-byte aligned): the
    runtime's bound from the model alone, grown while a kernel with unusual op
    data needs more, then loaded once to read hnn_arena_used(). hearth.nn and
    hearth.detect both size their arenas here."""
    bound = ffi.new("size_t *")
    check(lib.hnn_arena_bytes(model_ptr, n, flags, bound))
    size = bound[0]
    while True:
        try:
            _, m = _init(model_ptr, n, size, flags)
            return int(lib.hnn_arena_used(m))
        except NNError as e:
            if e.code != lib.HNN_E_ARENA or size > (1 << 30):
                raise
            size *= 2


class Model:
    """One independent instance of a model (its own arena and state)."""

    def __init__(self, data, preserve_all=False):
        if isinstance(data, (str, os.PathLike)):
            with open(data, "rb") as f:
                data = f.read()
        data = bytes(data)
        if not data:
            raise NNError(lib.HNN_E_TRUNCATED, "empty model")
        self._model_buf, ptr = _aligned_copy(data)
        self._model_ptr = ffi.cast("const uint8_t *", ptr)
        self._len = len(data)
        self._flags = PRESERVE_ALL if preserve_all else 0
        used = arena_bytes(self._model_ptr, self._len, self._flags)
        self._arena, self._m = _init(self._model_ptr, self._len, used, self._flags)
        self.arena_bytes = used
        n_in, n_out = lib.hnn_num_inputs(self._m), lib.hnn_num_outputs(self._m)
        self.inputs = [self._info(self._check(lib.hnn_input(self._m, i))) for i in range(n_in)]
        self.outputs = [self._info(self._check(lib.hnn_output(self._m, i))) for i in range(n_out)]
        self._in_ptrs = [lib.hnn_tensor_data(self._m, t.index) for t in self.inputs]
        self._out_bufs = [ffi.buffer(lib.hnn_tensor_data(self._m, t.index), t.nbytes)
                          for t in self.outputs]
        # numpy views straight onto the arena: copying into / out of them is
        # the whole per-step cost on the Python side
        self._in_views = [self._view(t) for t in self.inputs]
        self._out_views = [self._view(t) for t in self.outputs]
        # what invoke() copies out: the arena views, or fixed empty arrays for
        # zero-size outputs (which have no memory)
        self._outs = [v if v is not None else np.zeros(t.shape, t.dtype)
                      for v, t in zip(self._out_views, self.outputs)]
        self._invoke = lib.hnn_invoke
        t0 = self.inputs[0] if len(self.inputs) == 1 else None
        self._fast_in = (np.dtype(t0.dtype), t0.nbytes, self._in_ptrs[0]) \
            if t0 is not None and t0.dtype is not None and t0.nbytes else None
        self._one_out = self._outs[0] if len(self._outs) == 1 else None

    def _view(self, t):
        ptr = lib.hnn_tensor_data(self._m, t.index)
        if ptr == ffi.NULL or t.dtype is None:
            return None
        return np.frombuffer(ffi.buffer(ptr, t.nbytes), dtype=t.dtype).reshape(t.shape)

    def _check(self, rc):
        return check(rc, lambda: detail_text(lib.hnn_detail, self._m))

    def _info(self, t):
        info = ffi.new("hnn_tensor_info *")
        self._check(lib.hnn_tensor_info_get(self._m, t, info))
        return TensorInfo(t, info)

    @property
    def num_tensors(self):
        return lib.hnn_num_tensors(self._m)

    def tensor_info(self, i):
        return self._info(i)

    def set_input(self, x, i=0):
        t = self.inputs[i]
        if (type(x) is np.ndarray and x.dtype == t.dtype and x.nbytes == t.nbytes and
                x.flags.c_contiguous and t.nbytes):
            ffi.memmove(self._in_ptrs[i], x, t.nbytes)   # the common case, fast
            return
        if isinstance(x, np.ndarray):
            if x.dtype != t.dtype:
                raise TypeError("input %d wants %s, got %s" % (i, t.type_name, x.dtype))
            if x.size * x.itemsize != t.nbytes:
                raise ValueError("input %d wants %d bytes, got %d" % (i, t.nbytes, x.nbytes))
            if t.nbytes:   # zero-size tensors have no memory
                self._in_views[i].reshape(-1)[:] = x.reshape(-1)
        else:
            if len(x) != t.nbytes:
                raise ValueError("input %d wants %d bytes, got %d" % (i, t.nbytes, len(x)))
            if t.nbytes:
                ffi.memmove(self._in_ptrs[i], x, t.nbytes)

    def invoke(self, *xs):
        """Set the inputs (if given), run one step, return the outputs (copies)."""
        # The streaming case (one array of the right type and size) is kept to
        # a handful of Python operations: it runs every 30 ms per model.
        fast = self._fast_in
        if fast is not None and len(xs) == 1:
            x = xs[0]
            if type(x) is _ndarray and x.dtype is fast[0] and x.nbytes == fast[1]:
                try:
                    _memmove(fast[2], x, fast[1])
                except (BufferError, TypeError, ValueError):   # not contiguous
                    self.set_input(x)
            else:
                self.set_input(x)
        else:
            for i, x in enumerate(xs):
                self.set_input(x, i)
        rc = self._invoke(self._m)
        if rc:
            self._check(rc)
        if self._one_out is not None:
            return [self._one_out.copy()]
        return [v.copy() for v in self._outs]

    def invoke_raw(self, x):
        """Fast path for streaming: one input as bytes-like, first output as bytes."""
        n = self.inputs[0].nbytes
        got = len(x) if type(x) is bytes else memoryview(x).nbytes
        if got != n:   # memmove would read past a short buffer
            raise ValueError("input 0 wants %d bytes, got %d" % (n, got))
        ffi.memmove(self._in_ptrs[0], x, n)
        rc = lib.hnn_invoke(self._m)
        if rc:
            self._check(rc)
        return self._out_bufs[0][:]

    def reset(self):
        self._check(lib.hnn_reset(self._m))

    def tensor(self, i):
        """Current contents of tensor i of the main subgraph (None if it has no data)."""
        info = self._info(i)
        ptr = lib.hnn_tensor_data(self._m, i)
        if ptr == ffi.NULL or info.dtype is None:
            return None
        return np.frombuffer(ffi.buffer(ptr, info.nbytes), dtype=info.dtype).reshape(info.shape).copy()


def load(path_or_bytes, preserve_all=False):
    """Load a .tflite model (path or bytes) into a new runtime instance."""
    return Model(path_or_bytes, preserve_all=preserve_all)
