"""Write tests/golden/models/: real-model streams with TFLM's outputs, for the C tests.

For each microWakeWord model: <name>.in (N steps of int8 input windows from real
speech features) and <name>.out (TFLM's output byte after each step). The C test
native/tests/test_models_golden.c replays them natively and under qemu-user, so
the ARM builds are checked against TFLM without Python. Regenerate with
    .venv/bin/python tests/make_golden_models.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import (ROOT, WAKE_MODELS, microfeatures, model_manifest, model_path,  # noqa: E402
                      quantized_windows, speech_corpus)

STEPS = 600


def main():
    from tflite_micro.python.tflite_micro import runtime
    out_dir = os.path.join(ROOT, "tests", "golden", "models")
    os.makedirs(out_dir, exist_ok=True)
    feats = microfeatures(speech_corpus(seconds=20.0, seed=5))
    for name in WAKE_MODELS:
        io = model_manifest(name)["io"]
        windows = quantized_windows(feats, io["input_scale"], io["input_zero_point"])[:STEPS]
        ref = runtime.Interpreter.from_file(model_path(name))
        outs = bytearray()
        for x in windows:
            ref.set_input(x, 0)
            ref.invoke()
            outs += ref.get_output(0).tobytes()
        with open(os.path.join(out_dir, name + ".in"), "wb") as f:
            f.write(windows.tobytes())
        with open(os.path.join(out_dir, name + ".out"), "wb") as f:
            f.write(bytes(outs))
        print("%s: %d steps, %d distinct outputs" % (name, len(windows), len(set(outs))))


if __name__ == "__main__":
    main()
