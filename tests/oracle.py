"""TFLite Micro (the `tflite-micro` wheel) as the reference for parity tests.

run_tflm(buf, inputs) runs one model invoke (or several, for streaming
models) through TFLM and returns its outputs and, with preserve_all, every
tensor of subgraph 0 that TFLM can show (RESOURCE tensors are skipped:
GetTensor cannot read them).
"""
import numpy as np

from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

__all__ = ["TflmResult", "tflm_interpreter", "run_tflm", "run_tflm_steps"]


class TflmResult:
    def __init__(self, outputs, tensors):
        self.outputs = outputs      # list of np.ndarray
        self.tensors = tensors      # {tensor index: np.ndarray} (subgraph 0)

    def __iter__(self):             # `outs, tensors = run_tflm(...)`
        return iter((self.outputs, self.tensors))


def _subgraph0_tensor_info(buf):
    model = fb.Model.GetRootAs(buf, 0)
    sg = model.Subgraphs(0)
    return [(sg.Tensors(i).Type()) for i in range(sg.TensorsLength())], sg.OutputsLength()


def tflm_interpreter(buf, preserve_all=True, arena_size=None):
    cfg = (runtime.InterpreterConfig.kPreserveAllTensors if preserve_all
           else runtime.InterpreterConfig.kAllocationRecording)
    if arena_size is None:
        arena_size = max(64 * 1024, len(buf) * 10)
    return runtime.Interpreter.from_bytes(bytes(buf), arena_size=arena_size,
                                          intrepreter_config=cfg)


def _collect(interp, types, n_out, preserve_all):
    outs = [np.array(interp.get_output(i), copy=True) for i in range(n_out)]
    tensors = {}
    if preserve_all:
        for i, t in enumerate(types):
            if t == fb.TensorType.RESOURCE:
                continue
            tensors[i] = np.array(interp.GetTensor(i, 0), copy=True)
    return TflmResult(outs, tensors)


def run_tflm(buf, inputs, preserve_all=True, arena_size=None):
    """One invoke. inputs: list of arrays in model input order."""
    return run_tflm_steps(buf, [inputs], preserve_all, arena_size)[0]


def run_tflm_steps(buf, steps, preserve_all=True, arena_size=None):
    """Several invokes on one interpreter (state carries over): steps is a
    list of input lists; returns one TflmResult per step."""
    types, n_out = _subgraph0_tensor_info(bytes(buf))
    interp = tflm_interpreter(buf, preserve_all, arena_size)
    results = []
    for inputs in steps:
        for i, x in enumerate(inputs):
            interp.set_input(np.require(np.asarray(x), requirements="C"), i)
        interp.invoke()
        results.append(_collect(interp, types, n_out, preserve_all))
    return results
