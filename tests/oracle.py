"""TFLite Micro (the `tflite-micro` wheel) as the reference for parity tests.

run_tflm(buf, inputs) runs one model invoke through TFLM and returns its
outputs; run_tflm_steps runs several invokes on one interpreter (streaming
models keep their state between them).
"""
import numpy as np

from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

__all__ = ["run_tflm", "run_tflm_steps", "informative", "MIN_ELEMENTS", "MIN_DISTINCT"]


def _interpreter(buf, arena_size):
    if arena_size is None:
        arena_size = max(64 * 1024, len(buf) * 10)
    return runtime.Interpreter.from_bytes(bytes(buf), arena_size=arena_size,
                                          intrepreter_config=runtime.InterpreterConfig.kAllocationRecording)


def run_tflm(buf, inputs, arena_size=None):
    """One invoke. inputs: arrays in model input order; returns the outputs."""
    return run_tflm_steps(buf, [inputs], arena_size)[0]


def run_tflm_steps(buf, steps, arena_size=None):
    """Several invokes on one interpreter (state carries over): steps is a
    list of input lists; returns one list of outputs per step."""
    n_out = fb.Model.GetRootAs(bytes(buf), 0).Subgraphs(0).OutputsLength()
    interp = _interpreter(buf, arena_size)
    results = []
    for inputs in steps:
        for i, x in enumerate(inputs):
            interp.set_input(np.require(np.asarray(x), requirements="C"), i)
        interp.invoke()
        results.append([np.array(interp.get_output(i), copy=True) for i in range(n_out)])
    return results


MIN_ELEMENTS = 8      # output values a counted random case must have ...
MIN_DISTINCT = 3      # ... of at least this many different ones (2 for bool)


def informative(outputs):
    """Whether a random case's reference outputs can tell kernels apart: a
    constant, two-level or three-element output agrees with many wrong
    kernels, so such cases run but do not count towards a test's N."""
    flat = [np.ravel(np.asarray(o)) for o in outputs]
    if sum(f.size for f in flat) < MIN_ELEMENTS:
        return False
    values = set()
    for f in flat:
        values.update(np.unique(f.view(np.uint8) if f.dtype == np.bool_ else f).tolist())
    floor = 2 if all(f.dtype == np.bool_ for f in flat) else MIN_DISTINCT
    return len(values) >= floor
