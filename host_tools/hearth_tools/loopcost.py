"""What one turn of the appliance loop costs, counted rather than timed.

    hearth loopcost              # cachegrind: needs valgrind
    hearth loopcost --opcodes    # Python bytecodes per block
    (python -m hearth_tools.loopcost is the same)

Wall-clock figures on a shared machine swing with its load; these counts do
not. The cachegrind mode runs the sim loop (four models, cooking) and the
lone detector on the same audio under cachegrind, with a 512 KiB last level
standing in for the L2, twice each (0 and BLOCKS blocks after a warm-up), and
prints per-block instructions and cache misses of each and their difference:
what the loop adds to the detector. The opcode mode traces one process and
prints the bytecodes executed per block by function.
"""
import os
import re
import subprocess
import sys
import tempfile

from .errors import HearthError

BLOCKS = 600
WARMUP = 200
EVENTS = ("I refs", "I1 misses", "D1 misses", "LL misses")


def _app(detector=True):
    from hearth import board as board_mod
    from hearth.app import build
    b = board_mod.load("sim", storage=tempfile.mkdtemp(prefix="hearth-loopcost-"))
    app = build(b, detector="auto" if detector else None, boot=None,
                models_dir=os.path.join(board_mod.ROOT, "models"))
    app.start()
    app.appliance.press("start", 0.0)
    return app


def child(mode, n):
    """The measured process: WARMUP + n blocks of the loop or the lone detector."""
    app = _app(detector=mode != "nodet")
    if mode == "lone":
        from hearth.ports.detector import open_detector
        port, _ = open_detector(app.model_specs, app.models_dir, None, app.rate)
        for _ in range(WARMUP + n):
            port.feed(app.audio.read(app.n), 0.0)
    else:
        for _ in range(WARMUP + n):
            app.step()


def _cachegrind(mode, n):
    with tempfile.TemporaryDirectory() as d:
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--LL=524288,8,64",
               "--cachegrind-out-file=" + os.path.join(d, "out"), sys.executable, "-m",
               "hearth_tools.loopcost", "--child", mode, str(n)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HearthError("cachegrind run failed: %s" % (proc.stderr.strip().splitlines() or ["no output"])[-1])
    got = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"==\d+==\s+(I\s+refs|I1\s+misses|D1\s+misses|LL misses):\s+([\d,]+)", line)
        if m:
            got[re.sub(r"\s+", " ", m.group(1))] = int(m.group(2).replace(",", ""))
    return got


def cachegrind(blocks=BLOCKS):
    """{mode: {event: per-block count}} for loop, lone and nodet."""
    try:
        subprocess.run(["valgrind", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise HearthError("valgrind is not installed: apt-get install valgrind (or use --opcodes)")
    out = {}
    for mode in ("loop", "lone", "nodet"):
        a, b = _cachegrind(mode, 0), _cachegrind(mode, blocks)
        out[mode] = {e: (b[e] - a[e]) / float(blocks) for e in EVENTS}
    return out


def opcodes(blocks=1000):
    """(total per block, {function: per block}) of one traced loop."""
    app = _app()
    for _ in range(WARMUP):
        app.step()
    counts = {}

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            co = frame.f_code
            key = "%s:%s" % (os.path.basename(co.co_filename), co.co_name)
            counts[key] = counts.get(key, 0) + 1
        return tracer
    sys.settrace(tracer)
    try:
        for _ in range(blocks):
            app.step()
    finally:
        sys.settrace(None)
    per = {k: v / float(blocks) for k, v in counts.items()}
    return sum(per.values()), per


DETECTOR_FILES = ("detect.py", "detector.py", "frontend.py")


if __name__ == "__main__":
    from .cli import run_as
    sys.exit(run_as("loopcost"))
