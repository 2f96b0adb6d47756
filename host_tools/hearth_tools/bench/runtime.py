"""`hearth bench runtime`: per-step time and arena of the real models vs LiteRT and TFLM."""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from . import _util

NAME = "runtime"
HELP = "per-step time (Python and C) and arena bytes per real model vs LiteRT and TFLM"
MODELS = ["hey_jarvis", "hey_mycroft", "okay_nabu", "alexa"]


def add_arguments(p):
    p.add_argument("--steps", type=int, default=2000, help="steps per timed run")
    p.add_argument("--repeats", type=int, default=7, help="timed runs (the median is reported)")


def tflm_arena_total(path):
    """TFLM's own arena total (RecordingMicroAllocator), read in a child process:
    the wheel logs it to the process's stderr from C++."""
    code = ("from tflite_micro.python.tflite_micro import runtime;"
            "runtime.Interpreter.from_file(%r).print_allocations()" % path)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    text = proc.stdout + proc.stderr
    found = re.search(r"Arena allocation total (\d+) bytes", text)
    if not found:
        raise RuntimeError("TFLM printed no allocation total:\n" + text[-500:])
    return int(found.group(1))


def measure(name, steps, repeats):
    from ai_edge_litert.interpreter import Interpreter
    from tflite_micro.python.tflite_micro import runtime

    from hearth import nn

    path = os.path.join(_util.ROOT, "models", name + ".tflite")
    rng = np.random.default_rng(0)
    xs = rng.integers(-128, 128, size=(steps, 1, 3, 40), dtype=np.int8)

    ours = nn.load(path)

    def run_ours(n):
        inv = ours.invoke
        for i in range(n):
            inv(xs[i])

    lite = Interpreter(model_path=path)
    lite.allocate_tensors()
    li, lo = lite.get_input_details()[0]["index"], lite.get_output_details()[0]["index"]

    def run_lite(n):
        st, inv, gt = lite.set_tensor, lite.invoke, lite.get_tensor
        for i in range(n):
            st(li, xs[i])
            inv()
            gt(lo)

    tflm = runtime.Interpreter.from_file(path)

    def run_tflm(n):
        si, inv, go = tflm.set_input, tflm.invoke, tflm.get_output
        for i in range(n):
            si(xs[i], 0)
            inv()
            go(0)

    res = {"model": name}
    # the three peers take turns within each repeat, so a change in machine
    # load hits all of them alike; TFLM is ~10x slower and gets fewer calls
    t_ours, t_lite, t_tflm = _util.interleaved_medians(
        [(run_ours, steps), (run_lite, steps), (run_tflm, min(steps, max(steps // 4, 100)))], repeats)
    res["hearth_us"] = t_ours * 1e6
    res["litert_us"] = t_lite * 1e6
    res["tflm_us"] = t_tflm * 1e6

    exe = _util.build_native_tool("bench_invoke", os.path.join(_util.ROOT, "native", "bench", "bench_invoke.c"))
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(xs.tobytes())
        f.flush()
        out = subprocess.run([exe, path, f.name, str(repeats)], check=True, capture_output=True, text=True).stdout
    c = json.loads(out)
    res["c_us"] = c["ns_per_step_median"] / 1e3
    res["hearth_arena"] = ours.arena_bytes
    res["tflm_arena"] = tflm_arena_total(path)
    return res


def run(args, out):
    load_start = _util.load_average()
    rows = [measure(m, args.steps, args.repeats) for m in MODELS]
    lines = ["load average (1 min): %.2f at the start, %.2f at the end (2 cores shared)"
             % (load_start, _util.load_average()), ""]
    lines += ["%-12s %9s %9s %9s %9s %10s %10s %9s %9s" % (
        "model", "hearth", "LiteRT", "TFLM", "C only", "vs LiteRT", "vs TFLM", "arena", "TFLM arena")]
    lines.append("%-12s %9s %9s %9s %9s %10s %10s %9s %9s" % (
        "", "us/step", "us/step", "us/step", "us/step", "speedup", "speedup", "bytes", "bytes"))
    for r in rows:
        lines.append("%-12s %9.2f %9.2f %9.2f %9.2f %9.2fx %9.1fx %9d %9d  (%.0f%%)" % (
            r["model"], r["hearth_us"], r["litert_us"], r["tflm_us"], r["c_us"],
            r["litert_us"] / r["hearth_us"], r["tflm_us"] / r["hearth_us"],
            r["hearth_arena"], r["tflm_arena"], 100.0 * r["hearth_arena"] / r["tflm_arena"]))
    lines.append("")
    lines.append("Python per-step = set input + invoke + read output, median of %d runs of %d steps "
                 "(random int8 input), all three in this process, taking turns within every run; "
                 "C only = hnn_invoke in a C loop (native/bench/bench_invoke.c, -O3)."
                 % (args.repeats, args.steps))
    lines.append("arena = hearth's exact arena (hnn_arena_used) vs TFLM's RecordingMicroAllocator total.")
    try:
        from . import size
        size_rows = size.measure(os.path.join(_util.ROOT, "build", "cortex-m4-size"))
        rt = [r for r in size_rows if r["group"] == "runtime"]
        lines.append("Cortex-M4 (arm-none-eabi-gcc -Os -mthumb -mcpu=cortex-m4) runtime text: %d bytes "
                     "(reader + interpreter + planner + all kernels; `hearth bench size` lists modules)"
                     % sum(r["text"] for r in rt))
    except Exception as e:   # no cross compiler: say so instead of failing the benchmark
        lines.append("Cortex-M4 size: not measured (%s)" % e)
    text = "\n".join(lines)
    from ..benchdoc import emit_rows
    cmd = "hearth bench runtime" + ("" if (args.steps, args.repeats) == (2000, 7) else
                                    " --steps %d --repeats %d" % (args.steps, args.repeats))
    emit_rows(out, args, NAME, cmd + " --write-doc", rows, text)
    return rows
