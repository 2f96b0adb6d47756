"""Build small .tflite flatbuffers programmatically (test models, golden vectors).

    b = ModelBuilder()
    x = b.tensor("x", [1, 8, 8, 3], "int8", scale=0.05, zero_point=-3)
    w = b.tensor("w", [4, 3, 3, 3], "int8", scale=[...], zero_point=[0] * 4,
                 quantized_dimension=0, data=weights)
    y = b.tensor("y", [1, 8, 8, 4], "int8", scale=0.1, zero_point=2)
    b.op("CONV_2D", [x, w, -1], [y], {"padding": "SAME", "stride_w": 1, ...})
    b.inputs([x]); b.outputs([y])
    buf = b.build()

The schema comes from the object API generated into the `tflite-micro` wheel,
so the output is whatever TFLM itself parses. Option dicts use schema field
names (snake_case) and enum names as strings; the builder picks the options
table from the op. `b.subgraph()` gives a builder for a further subgraph (for
CALL_ONCE init graphs); `build()` on any of them serializes the whole model.
"""
import numpy as np
import flatbuffers

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

__all__ = ["ModelBuilder", "BuilderError", "DTYPES", "numpy_dtype"]

SCHEMA_VERSION = 3

# dtype name -> (schema TensorType, numpy dtype or None)
DTYPES = {
    "float32": (fb.TensorType.FLOAT32, np.float32),
    "float16": (fb.TensorType.FLOAT16, np.float16),
    "int32": (fb.TensorType.INT32, np.int32),
    "uint8": (fb.TensorType.UINT8, np.uint8),
    "int64": (fb.TensorType.INT64, np.int64),
    "bool": (fb.TensorType.BOOL, np.bool_),
    "int16": (fb.TensorType.INT16, np.int16),
    "int8": (fb.TensorType.INT8, np.int8),
    "float64": (fb.TensorType.FLOAT64, np.float64),
    "uint32": (fb.TensorType.UINT32, np.uint32),
    "uint16": (fb.TensorType.UINT16, np.uint16),
    "resource": (fb.TensorType.RESOURCE, None),
}

# Ops whose options table is not simply "<CamelName>Options".
_OPTIONS_FOR_OP = {
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions",
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions",
    "SPLIT_V": "SplitVOptions",
    "MAXIMUM": "MaximumMinimumOptions",
    "MINIMUM": "MaximumMinimumOptions",
    "LOGISTIC": None,
    "RELU": None,
    "RELU6": None,
    "TANH": None,
}

# Option fields holding an enum: field -> enum class (values given by name).
_ENUM_FIELDS = {
    "padding": fb.Padding,
    "fused_activation_function": fb.ActivationFunctionType,
    "weights_format": fb.FullyConnectedOptionsWeightsFormat,
    "quantized_bias_type": fb.TensorType,
}

# Strides of zero are never what a test means; the schema default is 0.
_CONVENIENCE_DEFAULTS = {
    "Conv2DOptions": {"stride_w": 1, "stride_h": 1},
    "DepthwiseConv2DOptions": {"stride_w": 1, "stride_h": 1, "depth_multiplier": 1},
    "Pool2DOptions": {"stride_w": 1, "stride_h": 1},
}


class BuilderError(ValueError):
    """A model description the builder cannot serialize."""


def numpy_dtype(dtype):
    """numpy dtype for a builder dtype name (None for resource)."""
    return DTYPES[dtype][1]


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _op_code(name):
    code = getattr(fb.BuiltinOperator, name, None)
    if code is None:
        raise BuilderError("unknown builtin operator %r" % name)
    return code


def _options_table(op_name):
    if op_name in _OPTIONS_FOR_OP:
        return _OPTIONS_FOR_OP[op_name]
    camel = "".join(p[:1] + p[1:].lower() for p in op_name.split("_")) + "Options"
    return camel if hasattr(fb.BuiltinOptions, camel) else None


def _enum_value(field, value):
    enum = _ENUM_FIELDS.get(field)
    if enum is None or not isinstance(value, str):
        return value
    for name in (value, value.upper()):
        if isinstance(getattr(enum, name, None), int):
            return getattr(enum, name)
    raise BuilderError("bad value %r for option %s" % (value, field))


def _make_options(op_name, options):
    """(BuiltinOptions type, options object) for an op, or (0, None)."""
    table = _options_table(op_name)
    if table is None:
        if options:
            raise BuilderError("%s takes no options (got %s)" % (op_name, sorted(options)))
        return 0, None
    obj = getattr(fb, table + "T")()
    merged = dict(_CONVENIENCE_DEFAULTS.get(table, {}))
    merged.update(options or {})
    for field, value in merged.items():
        attr = _camel(field)
        if not hasattr(obj, attr):
            raise BuilderError("%s has no field %r" % (table, field))
        setattr(obj, attr, _enum_value(field, value))
    return getattr(fb.BuiltinOptions, table), obj


class _Buffer(fb.BufferT):
    """A buffer whose data is 16-byte aligned in the file, as the converter
    does: int32 biases and int8 weights are read in place by the runtime."""

    def __init__(self, data=None):
        super().__init__()
        self.raw = data

    def Pack(self, builder):
        data = None
        if self.raw is not None and len(self.raw):
            n = len(self.raw)
            builder.StartVector(1, n, 16)
            builder.head = builder.head - n
            builder.Bytes[builder.head:builder.head + n] = self.raw
            data = builder.EndVector()
        fb.BufferStart(builder)
        if data is not None:
            fb.BufferAddData(builder, data)
        return fb.BufferEnd(builder)


class _Model:
    """State shared by all subgraph builders of one model."""

    def __init__(self, description):
        self.description = description
        self.buffers = [_Buffer()]          # buffer 0: the empty sentinel
        self.opcodes = {}                   # builtin code -> opcode index
        self.opcode_list = []
        self.graphs = []

    def opcode(self, name):
        code = _op_code(name)
        if code not in self.opcodes:
            oc = fb.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            self.opcodes[code] = len(self.opcode_list)
            self.opcode_list.append(oc)
        return self.opcodes[code]

    def build(self):
        m = fb.ModelT()
        m.version = SCHEMA_VERSION
        m.description = self.description
        m.operatorCodes = self.opcode_list
        m.buffers = self.buffers
        m.subgraphs = [g._pack_obj() for g in self.graphs]
        builder = flatbuffers.Builder(1024)
        builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


class ModelBuilder:
    """Builder of one subgraph (subgraph 0 when created directly)."""

    def __init__(self, description="hearth tflite_builder", _model=None):
        self._m = _model if _model is not None else _Model(description)
        self.index = len(self._m.graphs)
        self._m.graphs.append(self)
        self._tensors = []
        self._ops = []
        self._inputs = []
        self._outputs = []
        self.name = "main" if self.index == 0 else "subgraph%d" % self.index

    # -- model-level ---------------------------------------------------------
    def subgraph(self, name=None):
        """A builder for a new subgraph of the same model; `.index` is its
        subgraph index (e.g. for CALL_ONCE init_subgraph_index)."""
        g = ModelBuilder(_model=self._m)
        if name:
            g.name = name
        return g

    def build(self):
        """Serialize the whole model (all subgraphs) to .tflite bytes."""
        return self._m.build()

    # -- tensors -------------------------------------------------------------
    def tensor(self, name, shape, dtype="int8", scale=None, zero_point=None,
               quantized_dimension=0, data=None, is_variable=False,
               shape_signature=None):
        """Add a tensor and return its index in this subgraph.

        scale/zero_point: a number (per-tensor) or a list (per-channel along
        quantized_dimension). data makes the tensor a constant: an array
        (converted to dtype; must hold prod(shape) elements) or raw bytes.
        """
        if dtype not in DTYPES:
            raise BuilderError("unknown dtype %r" % (dtype,))
        ttype, npdt = DTYPES[dtype]
        shape = [int(d) for d in shape]
        t = fb.TensorT()
        t.name = name
        t.shape = shape
        t.type = ttype
        t.isVariable = bool(is_variable)
        if shape_signature is not None:
            t.shapeSignature = [int(d) for d in shape_signature]
        if scale is not None or zero_point is not None:
            q = fb.QuantizationParametersT()
            scales = scale if isinstance(scale, (list, tuple, np.ndarray)) else \
                ([] if scale is None else [scale])
            q.scale = [float(s) for s in scales]
            if zero_point is None:
                zps = [0] * len(q.scale)
            elif isinstance(zero_point, (list, tuple, np.ndarray)):
                zps = list(zero_point)
            else:
                zps = [zero_point]
            q.zeroPoint = [int(z) for z in zps]
            q.quantizedDimension = int(quantized_dimension)
            t.quantization = q
        t.buffer = 0
        if data is not None:
            if isinstance(data, (bytes, bytearray, memoryview)):
                raw = bytes(data)
            else:
                if npdt is None:
                    raise BuilderError("tensor %r: %s tensors cannot hold data" % (name, dtype))
                arr = np.asarray(data, dtype=npdt)
                if arr.size != int(np.prod(shape, dtype=np.int64)):
                    raise BuilderError("tensor %r: data has %d elements, shape %s needs %d"
                                       % (name, arr.size, shape, int(np.prod(shape))))
                raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
            t.buffer = len(self._m.buffers)
            self._m.buffers.append(_Buffer(raw))
        self._tensors.append(t)
        return len(self._tensors) - 1

    def const(self, name, data, dtype, shape=None, **quant):
        """Shorthand for a constant tensor whose shape is the data's shape."""
        arr = np.asarray(data, dtype=numpy_dtype(dtype))
        return self.tensor(name, list(arr.shape) if shape is None else shape, dtype,
                           data=arr, **quant)

    # -- operators -----------------------------------------------------------
    def op(self, name, inputs, outputs, options=None, intermediates=None):
        """Add a builtin operator. inputs may contain -1 (absent optional)."""
        o = fb.OperatorT()
        o.opcodeIndex = self._m.opcode(name)
        o.inputs = [int(i) for i in inputs]
        o.outputs = [int(i) for i in outputs]
        if options is not False:
            o.builtinOptionsType, o.builtinOptions = _make_options(name, options)
        if intermediates:
            o.intermediates = [int(i) for i in intermediates]
        self._ops.append(o)
        return len(self._ops) - 1

    def inputs(self, ids):
        self._inputs = [int(i) for i in ids]

    def outputs(self, ids):
        self._outputs = [int(i) for i in ids]

    def _pack_obj(self):
        g = fb.SubGraphT()
        g.tensors = self._tensors
        g.operators = self._ops
        g.inputs = self._inputs
        g.outputs = self._outputs
        g.name = self.name
        return g
