"""Write the hostile .tflite models the native tests load (tests/golden/hostile).

    .venv/bin/python native/tests/make_hostile_models.py

Each model is structurally valid and small; what it declares is not:
  four_gib_plan      four int32 [2^28] tensors (1 GiB each), all live at once
                     (model inputs and outputs): 4 GiB of activations, a sum
                     that wraps to 0 in 32 bits
  three_gib_plan     three of them: 3 GiB, a plan whose offsets reach 2^31
  const_input        a model input that is a constant tensor (writing the
                     input would write into the model image)
The files are committed; re-run this after changing a case.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "host_tools"))

from hearth_tools.testing.tflite_builder import ModelBuilder  # noqa: E402

OUT = os.path.join(ROOT, "tests", "golden", "hostile")
GIB_INT32 = 1 << 28     # elements of a 1 GiB int32 tensor


def gib_plan(n):
    b = ModelBuilder("hostile: %d GiB of live activations" % n)
    ts = [b.tensor("t%d" % i, [GIB_INT32], "int32") for i in range(n)]
    b.inputs(ts)
    b.outputs(ts)
    return b.build()


def const_input():
    b = ModelBuilder("hostile: constant model input")
    x = b.const("x", [1, 2, 3, 4], "int8", scale=0.5, zero_point=0)
    y = b.tensor("y", [4], "int8", scale=0.5, zero_point=0)
    b.op("QUANTIZE", [x], [y], False)
    b.inputs([x])
    b.outputs([y])
    return b.build()


CASES = {
    "four_gib_plan": lambda: gib_plan(4),
    "three_gib_plan": lambda: gib_plan(3),
    "const_input": const_input,
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make in sorted(CASES.items()):
        data = make()
        with open(os.path.join(OUT, name + ".tflite"), "wb") as f:
            f.write(data)
        print("%s.tflite: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
